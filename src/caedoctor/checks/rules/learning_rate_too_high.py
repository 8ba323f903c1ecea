"""CAE501: the learning rate is far above the usual range for its optimizer."""

from caedoctor.checks.rule import Rule, num
from caedoctor.config import DEFAULT_LEARNING_RATE
from caedoctor.findings import Fix

# Learning rates CAEs usually train with, per optimizer (Keras defaults sit inside). Outside these the
# run is more likely to diverge (above) or crawl (below) than not.
USUAL_RANGE = {
    "adam": (1e-5, 1e-2), "adamw": (1e-5, 1e-2), "nadam": (1e-5, 1e-2), "rmsprop": (1e-5, 1e-2),
    "sgd": (1e-4, 0.5), "adagrad": (1e-4, 0.5),
}


def usual_range_text(optimizer: str) -> str:
    lo, hi = USUAL_RANGE[optimizer]
    return f"{num(lo)} to {num(hi)}"


def run(ctx):
    c = ctx.config
    lo, hi = USUAL_RANGE.get(c.optimizer, (None, None))
    if hi is None or c.learning_rate <= hi:
        return []
    default = DEFAULT_LEARNING_RATE[c.optimizer]
    return [RULE.finding(
        f"{c.optimizer} at learning rate {num(c.learning_rate)} is {num(c.learning_rate / hi)}x above the usual "
        f"range {usual_range_text(c.optimizer)} ({num(c.learning_rate / default)}x Keras' default {num(default)}): "
        "steps this large overshoot, so the loss oscillates or diverges",
        {"optimizer": c.optimizer, "learning_rate": c.learning_rate, "usual_range": [lo, hi],
         "default_learning_rate": default, "factor_above": c.learning_rate / hi},
        Fix("learning_rate", {"learning_rate": None, "default_learning_rate": default},
            f"use `caedoctor lr-find`'s suggestion, or {c.optimizer}'s default {num(default)}"))]


RULE = Rule(
    code="CAE501", name="learning-rate-too-high", cause="learning_rate_too_high", severity="warning",
    summary="Learning rate above the usual range for its optimizer (e.g. Adam above 0.01).",
    what="Compares the learning rate with the range CAEs usually train in for that optimizer: "
         + "; ".join(f"{name} {usual_range_text(name)}" for name in USUAL_RANGE) + ".",
    why="Adam moves every weight by about the learning rate per step whatever the gradient's size, so at 0.1 "
        "each step changes weights initialised around 0.05 by more than their own size: the loss jumps, "
        "plateaus at the mean image or becomes NaN. Some set-ups survive a high rate, so this is a warning; "
        "`caedoctor lr-find` measures a good one.",
    example="`preset:seed_hyper_bad` (Adam(learning_rate=0.1)): `adam at learning rate 0.1 is 10x above the "
            "usual range 1e-05 to 0.01 (100x Keras' default 0.001): ...`.",
    fix="Use the LR range test's suggestion or the optimizer's default. Fix-as-data: `learning_rate` with "
        "`learning_rate: null` (use the range test) and the default as `default_learning_rate`.",
    run=run,
)
