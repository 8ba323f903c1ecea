"""CAE503: BatchNormalization with a batch too small for its statistics."""

from caedoctor.models.analysis import BATCH_NORM
from caedoctor.checks.rule import Rule
from caedoctor.findings import Fix

# Below this many samples per batch BatchNorm's batch mean and variance are noisy enough to hurt
# (Wu and He, "Group Normalization", 2018, show the error rising steeply below 8 per batch).
MIN_BATCH = 8


def run(ctx):
    bn = [i.name for i in ctx.analysis.layers if i.kind in BATCH_NORM]
    bs = ctx.config.batch_size
    if not bn or bs >= MIN_BATCH:
        return []
    return [RULE.finding(
        f"batch size {bs} with {len(bn)} BatchNormalization layer(s) ({', '.join(bn[:3])}"
        f"{', ...' if len(bn) > 3 else ''}): each normalises with the mean and variance of only {bs} "
        "sample(s), so training sees noisy statistics that differ from the running ones used at inference",
        {"batch_size": bs, "batchnorm_layers": bn, "min_batch": MIN_BATCH},
        Fix("batch_size", {"batch_size": 32}, "use a batch of 32 (or GroupNormalization for small batches)"))]


RULE = Rule(
    code="CAE503", name="batchnorm-small-batch", cause="batch_size_too_small", severity="warning",
    summary=f"BatchNormalization with fewer than {MIN_BATCH} samples per batch.",
    what=f"Fires when the model has BatchNormalization layers and the batch size is below {MIN_BATCH}.",
    why="BatchNorm normalises with statistics of the current batch during training and with running averages "
        "at inference. With a handful of samples the batch statistics are noisy, the training loss is noisy, "
        "and the validation loss (computed with the running statistics) can be far worse than training.",
    example="A CAE with BatchNormalization trained with `--batch-size 2`: `batch size 2 with 4 "
            "BatchNormalization layer(s) (...): each normalises with the mean and variance of only 2 "
            "sample(s), ...`.",
    fix="Use batches of 16-64, or GroupNormalization/LayerNormalization. Fix-as-data: `batch_size` with "
        "`batch_size: 32`.",
    run=run,
)
