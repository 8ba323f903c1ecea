"""CAE708 probe-saturation: sigmoid/tanh units sit in their flat tails."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.saturation import detect_saturation

RULE = ProbeRule(
    code="CAE708", name="probe-saturation", cause="saturated_activation", severity="warning",
    summary="sigmoid/tanh units sit in their flat tails",
    what="The share of sigmoid/tanh units whose activations sit in the flat tails for most values.",
    why=("A saturated unit passes almost no gradient. A saturated sigmoid *output* is often a consequence "
         "of a rate far too high; the diagnosis retests this finding on top of the strongest fix."),
    example="A stack of sigmoid hidden layers, or Adam at 0.1 with a sigmoid output.",
    fix="Add BatchNormalization after hidden conv layers (fix `add_batchnorm`), or use (Leaky)ReLU.",
    symptom="saturation", detector=detect_saturation, lr_sensitive=False,
    thresholds=("SATURATED_LAYER_FRACTION",),
)
