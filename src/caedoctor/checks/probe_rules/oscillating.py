"""CAE706 probe-oscillating: the loss jumps up and down."""

from caedoctor.checks.probe_rule import LR_FIX, ProbeRule
from caedoctor.monitor.detectors.oscillating import detect_oscillating

RULE = ProbeRule(
    code="CAE706", name="probe-oscillating", cause="learning_rate_too_high", severity="warning",
    summary="the loss jumps up and down",
    what="Step-to-step changes of the loss are large against its trend, with many sign changes.",
    why="An optimizer bouncing across a valley makes no progress along it.",
    example="Adam at 0.05 on small batches.",
    fix=LR_FIX,
    symptom="oscillating", detector=detect_oscillating, lr_sensitive=True,
    thresholds=("OSCILLATION_MIN_PROBES", "OSCILLATION_UP_SHARE", "OSCILLATION_MOVE_BASELINE", "OSCILLATION_MOVE_LOG"),
)
