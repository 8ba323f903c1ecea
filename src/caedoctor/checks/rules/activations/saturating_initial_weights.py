"""CAE405: tanh/sigmoid hidden layers whose kernels start so large that their units start saturated."""

from caedoctor.checks.rule import Rule, num
from caedoctor.checks.rules.activations.large_initial_weights import _WHAT, MIN_GAIN, finding_for, saturating_hidden


def run(ctx):
    a = ctx.analysis
    if not saturating_hidden(a):
        return []
    return finding_for(RULE, a, "the tanh/sigmoid units sit in their flat tails and pass almost no gradient")


RULE = Rule(
    code="CAE405", name="saturating-initial-weights", cause="saturated_activation", severity="warning",
    summary="Kernels initialised far above He's scale feed tanh/sigmoid units: they start saturated.",
    what=_WHAT + " Only for models with tanh/sigmoid hidden activations (CAE404 covers the others).",
    why="tanh and sigmoid are flat beyond a few units. Pre-activations scaled up "
        f"{num(MIN_GAIN)}x or more land there: the units output +-1 (or 0/1) and their gradient is near zero.",
    example="`Conv2D(32, 3, activation='tanh', kernel_initializer=RandomNormal(stddev=1.0))`.",
    fix="Use the default initializer (`glorot_uniform`). Fix-as-data: `initializer`.",
    run=run,
)
