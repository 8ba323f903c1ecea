"""CAE501: the learning rate is far above the usual range for its optimizer."""

from caedoctor.checks.rule import Rule, num
from caedoctor.findings import Fix

# Learning rates CAEs usually train with, per optimizer class (Keras' defaults sit inside, except Adadelta's:
# Keras defaults it to 0.001, but the method was designed for 1.0 (Zeiler 2012) and barely moves below 0.1).
# These are rules of thumb; the counterfactual probe decides. Adaptive optimizers (Adam and its kin,
# RMSprop, Adadelta, Adagrad) divide the gradient by its own running size, so a loss's scale hardly changes
# their step; SGD's step is the rate times the gradient, so a loss summed over pixels instead of averaged
# multiplies SGD's effective rate (see `effective_rate`).
USUAL_RANGE = {
    "adam": (1e-5, 1e-2), "adamw": (1e-5, 1e-2), "nadam": (1e-5, 1e-2), "adamax": (1e-5, 1e-2),
    "rmsprop": (1e-5, 1e-2), "lamb": (1e-5, 1e-2), "schedulefreeadamw": (1e-5, 1e-2), "lion": (1e-6, 1e-3),
    "adafactor": (1e-5, 1e-1), "muon": (1e-4, 1e-1), "sgd": (1e-4, 0.5), "adagrad": (1e-4, 0.5),
    "ftrl": (1e-4, 1.0), "adadelta": (0.1, 10.0),
}
# Optimizers whose step is proportional to the gradient (not normalised by it).
SCALE_SENSITIVE = ("sgd",)
# A loss whose gradients are more than this many times a mean squared error's (or less than its inverse)
# is reduced differently (a sum over pixels, say); below it the difference is the loss's own shape.
LOSS_SCALE_FACTOR = 10.0


def usual_range_text(optimizer: str) -> str:
    lo, hi = USUAL_RANGE[optimizer]
    return f"{num(lo)} to {num(hi)}"


def effective_rate(ctx) -> tuple[float, str]:
    """(rate to compare with the usual range, words explaining any difference from the configured rate)."""
    c = ctx.config
    scale = ctx.loss_scale
    if c.optimizer_name in SCALE_SENSITIVE and scale and not (1 / LOSS_SCALE_FACTOR <= scale <= LOSS_SCALE_FACTOR):
        return c.learning_rate * scale, (
            f" (the loss {c.loss.describe()} gives gradients {num(scale)}x a mean squared error's, so "
            f"{c.optimizer_name}'s step is that of rate {num(c.learning_rate * scale)} under a mean loss)")
    return c.learning_rate, ""


def rate_finding(rule, ctx, direction: str):
    c = ctx.config
    name = c.optimizer_name
    lo, hi = USUAL_RANGE.get(name, (None, None))
    if hi is None:
        return []
    rate, why = effective_rate(ctx)
    if (direction == "high" and rate <= hi) or (direction == "low" and rate >= lo):
        return []
    default = c.optimizer.default_learning_rate
    cls = c.optimizer.class_name
    if direction == "high":
        verdict = (f"{num(rate / hi)}x above the usual range {usual_range_text(name)}"
                   + (f" ({num(c.learning_rate / default)}x Keras' default {num(default)})" if default else "")
                   + ": steps this large overshoot, so the loss oscillates or diverges")
    else:
        verdict = (f"{num(lo / rate)}x below the usual range {usual_range_text(name)}"
                   + (f" (Keras' default {num(default)})" if default else "")
                   + ": the weights move so little per step that the loss looks flat, which reads as "
                     "non-convergence")
    evidence = {"optimizer": cls, "learning_rate": c.learning_rate, "effective_learning_rate": rate,
                "loss_scale": ctx.loss_scale, "usual_range": [lo, hi], "default_learning_rate": default,
                "factor": rate / hi if direction == "high" else lo / rate}
    return [rule.finding(
        f"{cls} at learning rate {num(c.learning_rate)}{why} is {verdict}", evidence,
        Fix("learning_rate", {"learning_rate": None},
            f"set {cls}'s learning rate to the LR range test's suggestion (`caedoctor lr-find`), keeping its "
            "other arguments"))]


def run(ctx):
    return rate_finding(RULE, ctx, "high")


RULE = Rule(
    code="CAE501", name="learning-rate-too-high", cause="learning_rate_too_high", severity="warning",
    summary="Learning rate above the usual range for its optimizer class (e.g. Adam above 0.01).",
    what="Compares the learning rate (a schedule's value at step 0) with the range CAEs usually train in for "
         "that optimizer class: " + "; ".join(f"{name} {usual_range_text(name)}" for name in USUAL_RANGE)
         + ". For SGD, whose step is the rate times the gradient, the rate is first multiplied by the loss's "
           "gradient scale against a mean squared error when that differs more than 10x (a loss summed over "
           "pixels).",
    why="Adam moves every weight by about the learning rate per step whatever the gradient's size, so at 0.1 "
        "each step changes weights initialised around 0.05 by more than their own size: the loss jumps, "
        "plateaus at the mean image or becomes NaN. Some set-ups survive a high rate, so this is a warning; "
        "`caedoctor lr-find` measures a good one for your optimizer and loss.",
    example="`preset:seed_hyper_bad` (Adam(learning_rate=0.1)): `Adam at learning rate 0.1 is 10x above the "
            "usual range 1e-05 to 0.01 (100x Keras' default 0.001): ...`.",
    fix="Set the rate of the same optimizer (class and other arguments kept; a schedule is scaled as a whole) "
        "to the LR range test's suggestion. Fix-as-data: `learning_rate` with `learning_rate: null`.",
    run=run,
    reads_graph=False,
)
