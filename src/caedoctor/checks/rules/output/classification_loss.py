"""CAE209: a classifier's loss (categorical cross-entropy, hinge, KL divergence) on a reconstruction."""

from caedoctor.checks.rule import Rule
from caedoctor.findings import Fix

# Keras losses that compare class distributions or margins, never pixel intensities (lower-case, with and
# without underscores).
CLASSIFIER_LOSSES = {
    "categorical_crossentropy", "categoricalcrossentropy", "sparse_categorical_crossentropy",
    "sparsecategoricalcrossentropy", "categorical_focal_crossentropy", "categoricalfocalcrossentropy",
    "categorical_hinge", "categoricalhinge", "hinge", "squared_hinge", "squaredhinge",
    "kl_divergence", "kldivergence", "kld", "kullback_leibler_divergence",
}


def run(ctx):
    name = str(ctx.config.loss_name).lower()
    if name not in CLASSIFIER_LOSSES:
        return []
    shape = ctx.analysis.output_shape if ctx.analysis is not None else None
    channels = shape[-1] if shape else None
    where = f"the output's {channels} channel{'s' if channels != 1 else ''}" if channels else "the output's channels"
    return [RULE.finding(
        f"the loss is {name}, a classifier's loss: it compares {where} as a distribution over classes (or as "
        "margins), not each pixel's intensity with its target, so a perfect reconstruction is not its minimum "
        "(with 1 channel, categorical cross-entropy is constant and nothing learns)",
        {"loss": name, "output_channels": channels},
        Fix("loss", {"loss": "mse"}, "use MSE (a reconstruction loss)"))]


RULE = Rule(
    code="CAE209", name="classification-loss", cause="loss_choice", severity="warning",
    summary="A classifier's loss (categorical cross-entropy, hinge, KL divergence) on a reconstruction.",
    what="Fires when the compiled loss is categorical or sparse categorical cross-entropy, categorical focal "
         "cross-entropy, (categorical or squared) hinge, or KL divergence.",
    why="These losses treat the last axis as class scores: categorical cross-entropy normalises the output's "
        "channels to sum to one and rewards the right proportions between them, not the right intensities "
        "(with a single channel it is constant: no gradient at all); hinge losses reward the sign of a "
        "margin. An autoencoder trained on them cannot reach its targets, however long it trains.",
    example="`model.compile(loss='categorical_crossentropy')` on RGB images: `the loss is "
            "categorical_crossentropy, a classifier's loss: ...`.",
    fix="Use a reconstruction loss: MSE, MAE, binary cross-entropy on [0, 1] targets with a sigmoid output, "
        "or SSIM. Fix-as-data: `loss` with `loss: mse`.",
    run=run,
    reads_graph=False,
)
