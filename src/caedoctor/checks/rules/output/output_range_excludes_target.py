"""CAE201: the output activation cannot produce most of the target's values."""

from caedoctor.checks.rule import Rule, num, range_text, span_text
from caedoctor.checks.rules.output._range import covering_activation, overshoot
from caedoctor.findings import Fix

# Out of reach: more than this share of the target's span, or the target's mean itself. Then the loss
# cannot approach zero whatever the weights: training is meaningless. Smaller overshoots are CAE202.
MAX_OUTSIDE = 0.10


def run(ctx):
    a, t = ctx.analysis, ctx.target
    lo, hi = a.output_range
    outside, _ = overshoot(a.output_range, t)
    mean_outside = not (lo <= t.mean <= hi)
    if outside <= MAX_OUTSIDE and not mean_outside:
        return []
    new = covering_activation(t)
    where = f" ({a.output_activation_layer})" if a.output_activation_layer else ""
    return [RULE.finding(
        f"{a.output_activation} output{where} can only produce {range_text(a.output_range)}, but the targets "
        f"span {span_text(t.min, t.max)} (mean {num(t.mean)}): {outside:.0%} of the target span is out of its "
        "reach, so the loss cannot approach zero",
        {"output_activation": a.output_activation, "output_layer": a.output_activation_layer,
         "output_range": list(a.output_range), "target_min": t.min, "target_max": t.max, "target_mean": t.mean,
         "outside_fraction": outside},
        Fix("output_activation", {"activation": new},
            f"use a {new} output (or scale the targets into {range_text(a.output_range)})"))]


RULE = Rule(
    code="CAE201", name="output-range-excludes-target", cause="output_activation_range", severity="error",
    needs_data=True,
    summary="The output activation cannot produce most of the target values (e.g. sigmoid vs 0-255).",
    what="Propagates the range of the model's output back through range-keeping layers to its last "
         "nonlinearity (sigmoid (0, 1), tanh (-1, 1), ReLU (0, inf), Rescaling applied) and compares it with "
         f"the targets' measured range. Fires when more than {MAX_OUTSIDE:.0%} of the target span, or the "
         "target mean, lies outside what the output can produce.",
    why="A sigmoid output cannot reach 255, a ReLU output cannot reach -1. Whatever the weights, the "
        "reconstruction error of those values stays large, so the loss plateaus far above zero and its "
        "gradient pushes the output into saturation. This is certain from the numbers, so it is an error.",
    example="A sigmoid CAE on raw 0-255 images: `sigmoid output (dec_output) can only produce (0, 1), but the "
            "targets span [0, 255] (mean 120.3): 100% of the target span is out of its reach, ...`.",
    fix="Scale the targets into the activation's range (divide 0-255 images by 255), or use an output "
        "activation that covers them. Fix-as-data: `output_activation` with `activation` sigmoid, tanh or "
        "linear, whichever covers the targets.",
    run=run,
)
