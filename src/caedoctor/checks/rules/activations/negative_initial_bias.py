"""CAE406: ReLU layers whose biases start negative: many units output 0 for every input from the first step."""

from caedoctor.checks.rule import Rule, num
from caedoctor.findings import Fix

RELU_LIKE = {"relu", "relu6"}


def negative_bias_layers(a) -> list:
    """(name, mean initial bias) of the weighted hidden layers whose bias initializer draws a negative mean."""
    return [(i.name, i.init_bias) for i in a.layers
            if i.weighted and i.name != a.output_name and i.init_bias is not None and i.init_bias < 0]


def run(ctx):
    a = ctx.analysis
    if not any(act in RELU_LIKE for _, act in a.hidden_activations()):
        return []
    layers = negative_bias_layers(a)
    if not layers:
        return []
    shown = ", ".join(f"{name} {num(b)}" for name, b in layers[:4]) + (" ..." if len(layers) > 4 else "")
    return [RULE.finding(
        f"{len(layers)} hidden layer(s) start with negative biases ({shown}) in a ReLU network: a unit whose "
        "bias outweighs its input outputs 0 for every image, gets no gradient and may never recover",
        {"layers": dict(layers)},
        Fix("initializer", {"bias_initializer": "zeros"}, "initialise the biases with zeros (Keras' default)"))]


RULE = Rule(
    code="CAE406", name="negative-initial-bias", cause="dead_relu", severity="warning",
    summary="Negative initial biases in a ReLU network: units start dead.",
    what="Reads every hidden conv/dense layer's bias initializer (Zeros, Ones, Constant, RandomNormal, "
         "TruncatedNormal, RandomUniform) and fires when one draws a negative mean in a model with ReLU hidden "
         "activations.",
    why="A ReLU unit is 0, with zero gradient, wherever its pre-activation is negative. Starting every bias "
        "below zero pushes whole channels below zero for every input: they never fire, never learn, and the "
        "layers after them see fewer and fewer signals (the 'dying ReLU'). Keras' default bias is 0.",
    example="`Conv2D(16, 3, bias_initializer=Constant(-0.5))` followed by `ReLU()`: `1 hidden layer(s) start "
            "with negative biases (conv2d -0.5) ...`.",
    fix="Use the default zero bias (or a small positive one). Fix-as-data: `initializer` with "
        "`bias_initializer: zeros`; the probe with it confirms or refutes the cause.",
    run=run,
)
