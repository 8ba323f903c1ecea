"""CAE711 probe-overfitting: validation loss rises while training loss falls."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.overfitting import detect_overfitting

RULE = ProbeRule(
    code="CAE711", name="probe-overfitting", cause="insufficient_data", severity="warning",
    summary="validation loss rises while training loss falls",
    what="Over the recorded epochs, the validation loss rises while the training loss keeps falling.",
    why="The model memorises the training images instead of learning to reconstruct images in general.",
    example="64 training images and a large CAE trained for many epochs.",
    fix=("More (or augmented) data, dropout or weight decay; a change the user makes (fix `data`). The "
         "probe tests it in reverse: it trains on a quarter of the images, and confirms the cause when "
         "that is clearly worse (more images of the same kind would still help). What that measures is "
         "the amount of data, so the cause it confirms is `insufficient_data`: too few images for this "
         "model (the same defect as a model too large for its images)."),
    symptom="overfitting", detector=detect_overfitting, lr_sensitive=False,
    thresholds=("OVERFIT_MIN_EPOCHS", "OVERFIT_VAL_RISE", "OVERFIT_GAP"),
)
