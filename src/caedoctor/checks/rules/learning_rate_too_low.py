"""CAE502: the learning rate is far below the usual range for its optimizer."""

from caedoctor.checks.rule import Rule, num
from caedoctor.checks.rules.learning_rate_too_high import USUAL_RANGE, usual_range_text
from caedoctor.config import DEFAULT_LEARNING_RATE
from caedoctor.findings import Fix


def run(ctx):
    c = ctx.config
    lo, hi = USUAL_RANGE.get(c.optimizer, (None, None))
    if lo is None or c.learning_rate >= lo:
        return []
    default = DEFAULT_LEARNING_RATE[c.optimizer]
    return [RULE.finding(
        f"{c.optimizer} at learning rate {num(c.learning_rate)} is {num(lo / c.learning_rate)}x below the usual "
        f"range {usual_range_text(c.optimizer)} (Keras' default {num(default)}): the weights move so little per "
        "step that the loss looks flat, which reads as non-convergence",
        {"optimizer": c.optimizer, "learning_rate": c.learning_rate, "usual_range": [lo, hi],
         "default_learning_rate": default, "factor_below": lo / c.learning_rate},
        Fix("learning_rate", {"learning_rate": None, "default_learning_rate": default},
            f"use `caedoctor lr-find`'s suggestion, or {c.optimizer}'s default {num(default)}"))]


RULE = Rule(
    code="CAE502", name="learning-rate-too-low", cause="learning_rate_too_low", severity="warning",
    summary="Learning rate below the usual range for its optimizer (e.g. SGD below 1e-4).",
    what="Compares the learning rate with the lower end of the usual range for its optimizer (see CAE501).",
    why="With a tiny learning rate every step changes the weights by a negligible amount; within any "
        "reasonable budget the loss barely moves, and the model looks stuck although nothing else is "
        "wrong.",
    example="`SGD(learning_rate=1e-6)`: `sgd at learning rate 1e-06 is 100x below the usual range 0.0001 to "
            "0.5 (Keras' default 0.01): ...`.",
    fix="Use the LR range test's suggestion or the optimizer's default. Fix-as-data: `learning_rate` with "
        "`learning_rate: null` and `default_learning_rate`.",
    run=run,
)
