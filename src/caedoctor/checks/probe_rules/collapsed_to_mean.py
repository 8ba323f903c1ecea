"""CAE704 probe-collapsed-to-mean: every input gets nearly the same output image."""

from caedoctor.checks.probe_rule import LR_FIX, ProbeRule
from caedoctor.monitor.detectors.collapsed_to_mean import detect_collapsed_to_mean

RULE = ProbeRule(
    code="CAE704", name="probe-collapsed-to-mean", cause="learning_rate_too_high", severity="warning",
    summary="every input gets nearly the same output image",
    what=("The spread of outputs across the monitor batch, relative to the targets' spread, is near zero. "
          "The cause is read from the other traces as for CAE703."),
    why="Collapse to the mean image is the commonest CAE failure: a blurry average for every input.",
    example="`preset:seed_hyper_bad` outputs one flat colour for every patch.",
    fix=LR_FIX,
    symptom="collapsed_to_mean", detector=detect_collapsed_to_mean, lr_sensitive=True,
    thresholds=("COLLAPSE_SPREAD",),
)
