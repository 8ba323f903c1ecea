"""CAE710 probe-exploding-gradients: gradient norms grow without bound."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.exploding_gradients import detect_exploding_gradients

RULE = ProbeRule(
    code="CAE710", name="probe-exploding-gradients", cause="exploding_gradients", severity="warning",
    summary="gradient norms grow without bound",
    what="Gradient norms far above the weights' norms, or growing steadily over the probe.",
    why="Huge gradients make huge steps: the loss jumps, then turns NaN.",
    example="SGD at a high rate on 0-255 data.",
    fix=("Re-initialise the kernels with glorot_uniform (fix `initializer`); on 0-255 data the finding "
         "names `data_not_normalized` and tests scaling the inputs; a rate the LR range test finds too "
         "high adds a learning-rate finding."),
    symptom="exploding_gradients", detector=detect_exploding_gradients, lr_sensitive=True,
    thresholds=("EXPLODING_RATIO", "EXPLODING_ABS", "NORMALIZED_RANGE_MAX"),
)
