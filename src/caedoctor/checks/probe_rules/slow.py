"""CAE705 probe-slow: the loss falls, but far slower than it should."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.slow import detect_slow

RULE = ProbeRule(
    code="CAE705", name="probe-slow", cause="learning_rate_too_low", severity="warning",
    summary="the loss falls, but far slower than it should",
    what=("The loss is still falling at the end of the probe while the relative loss is still high. The "
          "cause is read from the other traces as for CAE703 (default: learning rate too low)."),
    why="A rate far too low converges eventually, at a cost of orders of magnitude more steps.",
    example="`preset:seed_better --lr 1e-6`.",
    fix="Raise the learning rate to the LR range test's suggestion.",
    symptom="slow", detector=detect_slow, lr_sensitive=True,
    thresholds=("SLOW_FRACTION", "SLOW_RELATIVE_END"),
)
