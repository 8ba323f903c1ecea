"""CAE707 probe-dead-units: many ReLU units never activate."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.dead_units import detect_dead_units

RULE = ProbeRule(
    code="CAE707", name="probe-dead-units", cause="dead_relu", severity="warning",
    summary="many ReLU units never activate",
    what="The share of ReLU channels that are <= 0 for every sample of the monitor batch.",
    why="A dead unit has zero gradient and never recovers; a decoder of dead units cannot reconstruct.",
    example="Conv2D(..., activation='relu', bias_initializer=Constant(-3)).",
    fix=("Replace ReLU by LeakyReLU(0.1) in hidden layers (fix `hidden_activation`); the probe confirms or"
         " refutes it. The field notes' ReLU CAE has no dead units on bundled:patches32."),
    symptom="dead_units", detector=detect_dead_units, lr_sensitive=False,
    thresholds=("DEAD_LAYER_FRACTION",),
)
