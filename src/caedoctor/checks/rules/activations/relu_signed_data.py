"""CAE401: ReLU is every hidden activation while the data or targets are signed."""

from caedoctor.checks.rule import CONFIRM, Rule, span_text
from caedoctor.findings import Fix

# Data counts as signed when its negative part reaches this share of its span.
MIN_NEGATIVE_SHARE = 0.05


def _signed(stats) -> bool:
    span = stats.max - stats.min
    return span > 0 and stats.min < 0 and -stats.min >= MIN_NEGATIVE_SHARE * span


def run(ctx):
    hidden = ctx.analysis.hidden_activations()
    if not hidden or any(act != "relu" for _, act in hidden):
        return []
    signed = [(what, s) for what, s in (("inputs", ctx.inputs), ("targets", ctx.profile.target)) if s is not None
              and _signed(s)]
    if not signed:
        return []
    what, s = signed[0]
    return [RULE.finding(
        f"all {len(hidden)} hidden activations are ReLU and the {what} are signed ({span_text(s.min, s.max)}): "
        "ReLU drops every negative pre-activation, and units that stay negative stop learning (dead ReLU). "
        f"Often harmless, since the convolutions can shift values positive; {CONFIRM} (dead-unit fraction "
        "and a LeakyReLU probe)",
        {"hidden_relu_layers": [name for name, _ in hidden], "signed": what, "min": s.min, "max": s.max},
        Fix("hidden_activation", {"from": "relu", "to": "leaky_relu"}, "use LeakyReLU(0.1) in the hidden layers"))]


RULE = Rule(
    code="CAE401", name="relu-with-signed-data", cause="dead_relu", severity="info", needs_data=True,
    summary="ReLU everywhere while the inputs or targets are signed: a suspicion of dead units.",
    what="Fires when every hidden nonlinearity is a plain ReLU and the inputs or targets have a negative part "
         f"of at least {MIN_NEGATIVE_SHARE:.0%} of their span (standardised or [-1, 1] data).",
    why="ReLU passes nothing below zero; a unit whose pre-activation stays negative gets no gradient and "
        "never recovers. Signed data makes that likelier in the first layers. But ReLU CAEs on signed data "
        "very often train well, so this is information; `caedoctor diagnose` measures the dead-unit fraction "
        "and compares a LeakyReLU probe.",
    example="A ReLU CAE on standardised images: `all 4 hidden activations are ReLU and the inputs are signed "
            "([-2.1, 2.6]): ...`.",
    fix="If confirmed, use LeakyReLU (or ELU) in the hidden layers. Fix-as-data: `hidden_activation` from "
        "`relu` to `leaky_relu`.",
    run=run,
)
