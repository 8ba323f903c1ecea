"""CAE204: binary cross-entropy with targets outside [0, 1]."""

from caedoctor.checks.rule import Rule, span_text
from caedoctor.findings import Fix

TOLERANCE = 1e-6


def targets_outside_unit(t) -> bool:
    """Whether the measured targets `t` (ArrayStats) leave [0, 1], beyond rounding."""
    return t.min < -TOLERANCE or t.max > 1 + TOLERANCE


def run(ctx):
    t = ctx.target
    if ctx.config.loss_name != "bce" or not targets_outside_unit(t):
        return []
    return [RULE.finding(
        f"binary cross-entropy needs targets in [0, 1], but the targets span {span_text(t.min, t.max)}: for a "
        "target y > 1 the loss -y log p - (1 - y) log(1 - p) has no minimum and falls without limit as the "
        "output saturates, so its value and gradient are meaningless",
        {"loss": "bce", "target_min": t.min, "target_max": t.max},
        Fix("loss", {"loss": "mse"}, "use MSE (or scale the targets into [0, 1] first)"))]


RULE = Rule(
    code="CAE204", name="bce-target-range", cause="loss_data_mismatch", severity="error", needs_data=True,
    summary="Binary cross-entropy with targets outside [0, 1].",
    what="Fires when the loss is binary cross-entropy and the measured targets leave [0, 1].",
    why="Binary cross-entropy treats each target as a probability. With y > 1 or y < 0 the per-pixel loss is "
        "unbounded below: it keeps decreasing as the prediction saturates, so the optimiser chases ever "
        "larger logits instead of the target. The loss curve may even go negative. Training is meaningless.",
    example="`model.compile(loss='binary_crossentropy')` on 0-255 images: `binary cross-entropy needs targets "
            "in [0, 1], but the targets span [0, 255]: ...`.",
    fix="Scale the targets into [0, 1], or use MSE/MAE. Fix-as-data: `loss` with `loss: mse`.",
    run=run,
    reads_graph=False,
)
