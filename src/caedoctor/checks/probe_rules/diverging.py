"""CAE702 probe-diverging: the probe's loss grows instead of falling."""

from caedoctor.checks.probe_rule import LR_FIX, ProbeRule
from caedoctor.monitor.detectors.diverging import detect_diverging

RULE = ProbeRule(
    code="CAE702", name="probe-diverging", cause="learning_rate_too_high", severity="warning",
    summary="the probe's loss grows instead of falling",
    what="The loss ends well above where it started (or above the predict-the-mean level and rising).",
    why="Each step overshoots the minimum by more than the last: the optimizer is unstable.",
    example="SGD at learning rate 5 on 0-255 data.",
    fix=LR_FIX,
    symptom="diverging", detector=detect_diverging, lr_sensitive=True,
    thresholds=("DIVERGE_RISE", "DIVERGE_MIN_RISE"),
)
