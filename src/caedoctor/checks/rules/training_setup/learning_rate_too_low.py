"""CAE502: the learning rate is far below the usual range for its optimizer."""

from caedoctor.checks.rule import Rule
from caedoctor.checks.rules.training_setup.learning_rate_too_high import rate_finding, usual_range_text


def run(ctx):
    return rate_finding(RULE, ctx, "low")


RULE = Rule(
    code="CAE502", name="learning-rate-too-low", cause="learning_rate_too_low", severity="warning",
    summary="Learning rate below the usual range for its optimizer class (e.g. SGD below 1e-4, Adadelta "
            "below 0.1).",
    what="Compares the learning rate with the lower end of the usual range for its optimizer class (see "
         "CAE501), the loss's gradient scale included for SGD.",
    why="With a tiny learning rate every step changes the weights by a negligible amount; within any "
        "reasonable budget the loss barely moves, and the model looks stuck although nothing else is "
        "wrong. A common case: `keras.optimizers.Adadelta()` defaults to 0.001, while Adadelta was designed "
        "for 1.0 (the Keras blog's autoencoder tutorial uses it).",
    example="`Adadelta()` (Keras' default rate): `Adadelta at learning rate 0.001 is 100x below the usual range "
            + usual_range_text("adadelta") + " (Keras' default 0.001): ...`.",
    fix="Set the rate of the same optimizer to the LR range test's suggestion. Fix-as-data: `learning_rate` "
        "with `learning_rate: null`.",
    run=run,
    reads_graph=False,
)
