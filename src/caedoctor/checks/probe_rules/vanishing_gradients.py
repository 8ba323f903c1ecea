"""CAE709 probe-vanishing-gradients: almost no gradient reaches the layers."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.vanishing_gradients import detect_vanishing_gradients

RULE = ProbeRule(
    code="CAE709", name="probe-vanishing-gradients", cause="vanishing_gradients", severity="warning",
    summary="almost no gradient reaches the layers",
    what=("The ratio of first-layer to last-layer gradient norms, and their absolute size against the "
          "weights."),
    why="Layers that receive no gradient do not learn, however long you train.",
    example="Eight sigmoid hidden layers.",
    fix=("Add BatchNormalization (fix `add_batchnorm`) or non-saturating activations. When a ReLU layer's "
         "units are mostly dead, the finding names `dead_relu` instead (a dead unit passes no gradient) "
         "and tests LeakyReLU."),
    symptom="vanishing_gradients", detector=detect_vanishing_gradients, lr_sensitive=False,
    thresholds=("VANISHING_RATIO", "VANISHING_ABS", "VANISHING_MIN_RELATIVE"),
)
