"""CAE202: the output activation cannot produce a small part of the target's values."""

from caedoctor.checks.rule import Rule, range_text, span_text
from caedoctor.checks.rules.output._range import covering_activation, overshoot
from caedoctor.checks.rules.output.output_range_excludes_target import MAX_OUTSIDE
from caedoctor.findings import Fix

# Overshoots below this share of the target span are rounding (e.g. 1.0000001 against sigmoid).
MIN_OUTSIDE = 0.005


def run(ctx):
    a, t = ctx.analysis, ctx.target
    lo, hi = a.output_range
    outside, _ = overshoot(a.output_range, t)
    if not (MIN_OUTSIDE < outside <= MAX_OUTSIDE) or not (lo <= t.mean <= hi):
        return []
    new = covering_activation(t)
    return [RULE.finding(
        f"{a.output_activation} output can only produce {range_text(a.output_range)}, and the targets span "
        f"{span_text(t.min, t.max)}: {outside:.1%} of the target span is out of reach, so the extreme "
        "values are clipped and their error never reaches zero",
        {"output_activation": a.output_activation, "output_range": list(a.output_range),
         "target_min": t.min, "target_max": t.max, "outside_fraction": outside},
        Fix("output_activation", {"activation": new},
            f"use a {new} output, or clip the targets into {range_text(a.output_range)}"))]


RULE = Rule(
    code="CAE202", name="output-range-clips-target", cause="output_activation_range", severity="warning",
    needs_data=True,
    summary="The output activation cannot produce the extremes of the targets (a small overshoot).",
    what=f"Like CAE201, but for overshoots between {MIN_OUTSIDE:.1%} and {MAX_OUTSIDE:.0%} of the target "
         "span with the target mean inside the output's range.",
    why="The values beyond the output's range keep a residual error and push the output units into "
        "saturation, where their gradient vanishes. Most of the image still trains, so this is a warning.",
    example="A tanh output on targets standardised to [-1.05, 1.08]: `tanh output can only produce (-1, 1), "
            "and the targets span [-1.05, 1.08]: 6.1% of the target span is out of reach, ...`.",
    fix="Clip or rescale the targets into the output's range, or use an activation that covers them. "
        "Fix-as-data: `output_activation` with the covering activation.",
    run=run,
)
