"""CAE703 probe-stuck: the loss stays flat near the predict-the-mean level."""

from caedoctor.checks.probe_rule import LR_FIX, ProbeRule
from caedoctor.monitor.detectors.stuck import detect_stuck

RULE = ProbeRule(
    code="CAE703", name="probe-stuck", cause="learning_rate_too_high", severity="warning",
    summary="the loss stays flat near the predict-the-mean level",
    what=("The relative loss (loss / loss of predicting the mean image) stays near 1 and stops falling. The"
          " cause is read from the other traces: huge first updates (learning rate too high), dead ReLU "
          "units, saturated units, vanishing gradients, tiny updates (too low), else a bottleneck too "
          "narrow. When the LR range test's suggestion is more than 3x from the configured rate, a "
          "learning-rate finding in that direction is added too; the counterfactual probes decide."),
    why="A CAE stuck at the mean has learned nothing about individual images; more epochs do not help.",
    example="`preset:seed_hyper_bad` (Adam at 0.1): relative MSE about 3 after 500 steps.",
    fix=LR_FIX,
    symptom="stuck", detector=detect_stuck, lr_sensitive=True,
    thresholds=("STUCK_RELATIVE_LOW", "STUCK_MAX_DROP"),
)
