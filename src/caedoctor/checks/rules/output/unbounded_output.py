"""CAE203: an unbounded (e.g. linear) output on bounded targets: folklore, reported as a suspicion."""

import math

from caedoctor.checks.rule import CONFIRM, Rule, range_text, span_text
from caedoctor.findings import Fix

BOUNDED = {"[0,1]": "sigmoid", "[-1,1]": "tanh"}


def run(ctx):
    a, t = ctx.analysis, ctx.target
    lo, hi = a.output_range
    if t.value_range not in BOUNDED or (math.isfinite(lo) and math.isfinite(hi)):
        return []
    new = BOUNDED[t.value_range]
    where = f" ({a.output_activation_layer or a.output_name})"
    return [RULE.finding(
        f"the output is {a.output_activation}{where} with range {range_text(a.output_range)} while the targets "
        f"lie in {span_text(t.min, t.max)}: predictions can overshoot the target range. This often does not "
        "hurt (MSE pulls them back; the field notes' linear-output CAE reached a lower validation loss on "
        f"bundled:patches32 than its sigmoid twin), so it is {CONFIRM} with a {new}-output probe",
        {"output_activation": a.output_activation, "output_range": list(a.output_range),
         "target_range": t.value_range, "target_min": t.min, "target_max": t.max},
        Fix("output_activation", {"activation": new}, f"try a {new} output layer"))]


RULE = Rule(
    code="CAE203", name="unbounded-output", cause="output_activation_range", severity="info", needs_data=True,
    summary="Unbounded output (linear, ReLU) on targets in [0, 1] or [-1, 1]: a suspicion, not a fault.",
    what="Fires when the targets lie in [0, 1] or [-1, 1] and the output's range is unbounded on at least one "
         "side (a linear last layer, ReLU, LeakyReLU, ELU).",
    why="Folklore says a bounded target needs a bounded output. In practice a linear output trained with MSE "
        "usually learns the range by itself, and avoids the vanishing gradient of a saturated sigmoid; we "
        "measured the field notes' linear-output CAE converging to a lower validation loss than the sigmoid "
        "version. So this is only information: `caedoctor diagnose` confirms or refutes it by training a "
        "probe with the bounded output.",
    example="`preset:seed_bad` on bundled:patches32: `the output is linear (dec_output) with range "
            "(-inf, inf) while the targets lie in [0, 1]: predictions can overshoot ...`.",
    fix="If diagnosis confirms it, use sigmoid for [0, 1] targets or tanh for [-1, 1]. Fix-as-data: "
        "`output_activation` with `activation: sigmoid` or `tanh`.",
    run=run,
)
