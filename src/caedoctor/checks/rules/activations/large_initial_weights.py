"""CAE404: kernels initialised far larger than the activations can take; activations grow layer by layer."""

import math

from caedoctor.models.analysis import SATURATING
from caedoctor.checks.rule import Rule, num
from caedoctor.findings import Fix

MIN_LAYER_RATIO = 2.0  # one layer's initial std at least 2x He's sqrt(2 / fan_in) ...
MIN_GAIN = 10.0  # ... and the hidden layers together scale the activations by 10x or more


def oversized_layers(a) -> tuple[list, float]:
    """Hidden weighted layers with their init ratio (initial std / He std), and the product over them."""
    hidden = [i for i in a.layers if i.weighted and i.name != a.output_name and i.init_ratio is not None]
    gain = math.prod(i.init_ratio for i in hidden) if hidden else 0.0
    return [(i.name, i.init_ratio) for i in hidden if i.init_ratio >= MIN_LAYER_RATIO], gain


def saturating_hidden(a) -> bool:
    return any(act in SATURATING for _, act in a.hidden_activations())


def finding_for(rule, a, what_happens: str):
    big, gain = oversized_layers(a)
    if not big or gain < MIN_GAIN:
        return []
    shown = ", ".join(f"{name} {num(r)}x" for name, r in big[:4]) + (" ..." if len(big) > 4 else "")
    return [rule.finding(
        f"{len(big)} hidden layer(s) start with weights far larger than He initialisation ({shown} its std); "
        f"together they scale the activations by about {num(gain)}x at the first step, so {what_happens}",
        {"layers": {name: r for name, r in big}, "activation_gain": gain, "min_layer_ratio": MIN_LAYER_RATIO},
        Fix("initializer", {"initializer": "glorot_uniform"},
            "initialise the kernels with Keras' default glorot_uniform (or he_normal for ReLU)"))]


def run(ctx):
    a = ctx.analysis
    if saturating_hidden(a):
        return []  # CAE405 describes what large weights do to tanh/sigmoid units
    return finding_for(RULE, a, "gradients and steps start huge and the loss jumps or diverges")


_WHAT = ("Reads each hidden conv/dense layer's kernel initializer (RandomNormal, RandomUniform, TruncatedNormal, "
         "Constant, the Glorot/He/LeCun family) and its fan-in, and compares the initial weight std with He's "
         f"sqrt(2 / fan_in), which keeps the activations' scale through ReLU layers. Fires when a layer is "
         f"{num(MIN_LAYER_RATIO)}x above it and the product over the hidden layers reaches {num(MIN_GAIN)}x.")

RULE = Rule(
    code="CAE404", name="large-initial-weights", cause="exploding_gradients", severity="warning",
    summary="Kernels initialised far above He's scale: activations and gradients explode from the first step.",
    what=_WHAT + " (With tanh/sigmoid hidden layers CAE405 fires instead.)",
    why="Every layer multiplies the activations' scale by its weights' std x sqrt(fan_in); at 6x He's scale, "
        "three layers make them 200x larger. The gradients scale alike: the first steps are huge, and a rate "
        "that suits a normal network diverges.",
    example="`Conv2D(64, 3, kernel_initializer=RandomNormal(stddev=0.5))` after a 32-channel layer: `... "
            "enc2 6x its std ...`.",
    fix="Use the default initializer (`glorot_uniform`) or `he_normal`. Fix-as-data: `initializer` with "
        "`initializer: glorot_uniform`; the probe with it confirms or refutes the cause.",
    run=run,
)
