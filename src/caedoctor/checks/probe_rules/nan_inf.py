"""CAE701 probe-nan-inf: the probe's loss turned NaN or Inf."""

from caedoctor.checks.probe_rule import LR_FIX, ProbeRule
from caedoctor.monitor.detectors.nan_inf import detect_nan_inf

RULE = ProbeRule(
    code="CAE701", name="probe-nan-inf", cause="learning_rate_too_high", severity="warning",
    summary="the probe's loss turned NaN or Inf",
    what="The training loss of the probe run becomes NaN or Inf.",
    why=("Once a weight is NaN every later step is NaN: the run is lost. With clean data the usual cause "
         "is a step size the loss surface cannot take."),
    example="`preset:seed_better --lr 50` on bundled:patches32.",
    fix=LR_FIX,
    symptom="nan_inf", detector=detect_nan_inf, lr_sensitive=True,
    thresholds=(),
)
