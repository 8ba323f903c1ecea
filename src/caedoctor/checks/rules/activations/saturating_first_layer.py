"""CAE403: large inputs into a first layer with tanh/sigmoid: units start saturated."""

import math

from caedoctor.models.analysis import ELEMENTWISE, NORM, SATURATING
from caedoctor.checks.rule import Rule, num, span_text
from caedoctor.findings import Fix

# tanh'(3) = 0.01, sigmoid'(6) = 0.0025: pre-activations with a spread beyond this start saturated.
MAX_PREACTIVATION_STD = 3.0


def _first_activation(a):
    """(first weighted layer, its nonlinearity, where it is applied), skipping element-wise layers."""
    first = next((i for i in a.layers if i.weighted), None)
    if first is None:
        return None, None, None
    if first.activation not in (None, "linear"):
        return first, first.activation, first.name
    children = {i.name: [c for c in a.layers if i.name in c.parents] for i in a.layers}
    node = first
    while len(children[node.name]) == 1 and children[node.name][0].kind in ELEMENTWISE:
        node = children[node.name][0]
        if node.kind in NORM:
            return first, None, None  # normalised before the nonlinearity: no saturation from scale
        if node.activation not in (None, "linear"):
            return first, node.activation, node.name
    return first, None, None


def run(ctx):
    a, s = ctx.analysis, ctx.inputs
    first, act, where = _first_activation(a)
    if first is None or act not in SATURATING:
        return []
    parent = a.layer(first.parents[0]) if first.parents else None
    c_in = parent.output_shape[-1] if parent is not None and parent.output_shape else 1
    c_out = first.output_shape[-1] if first.output_shape else 1
    area = math.prod(first.kernel) if first.kernel else 1
    fan_in, fan_out = area * c_in, area * c_out
    rms = math.sqrt(s.mean ** 2 + s.std ** 2)
    pre_std = math.sqrt(fan_in) * math.sqrt(2.0 / (fan_in + fan_out)) * rms  # Glorot-uniform weights
    if pre_std <= MAX_PREACTIVATION_STD:
        return []
    return [RULE.finding(
        f"the first nonlinearity, {act} in {where}, receives inputs in {span_text(s.min, s.max)}: with "
        f"Glorot-initialised weights its pre-activations have a spread of about {num(pre_std)}, where the "
        f"{act} is flat, so most of its units start saturated and pass almost no gradient",
        {"layer": where, "activation": act, "input_rms": rms, "preactivation_std_estimate": pre_std,
         "fan_in": fan_in, "fan_out": fan_out},
        Fix("normalize_inputs", {"method": "unit" if s.min >= 0 and s.max <= 255 else "standard"},
            "normalise the inputs to order 1 (or add BatchNormalization before the activation)"))]


RULE = Rule(
    code="CAE403", name="saturating-first-layer", cause="saturated_activation", severity="warning",
    needs_data=True,
    summary="Large inputs into a tanh/sigmoid first layer: its units start saturated.",
    what="Finds the first weighted layer's nonlinearity (its `activation=` or the Activation layer after it, "
         "unless a normalisation layer comes first). If it is tanh or sigmoid, estimates the spread of its "
         "pre-activations at initialisation, sqrt(fan_in) x Glorot std x the inputs' RMS, and fires above "
         f"{num(MAX_PREACTIVATION_STD)}.",
    why="tanh and sigmoid are flat beyond a few units. Inputs in the hundreds push the first layer's units "
        "there from the first step; their gradient is near zero and the encoder's first layer barely learns.",
    example="`Conv2D(32, 3, activation='tanh')` on raw 0-255 images: `the first nonlinearity, tanh in conv2d, "
            "receives inputs in [0, 255]: with Glorot-initialised weights its pre-activations have a spread "
            "of about 17.1, ...`.",
    fix="Normalise the inputs (or put BatchNormalization before the activation). Fix-as-data: "
        "`normalize_inputs` with `method: unit` or `standard`.",
    run=run,
)
