"""CAE504: a batch so large that an epoch holds only a few steps."""

import math

from caedoctor.checks.rule import Rule, num
from caedoctor.findings import Fix

MIN_STEPS_PER_EPOCH = 4


def run(ctx):
    n = ctx.profile.train_count
    bs = ctx.config.batch_size
    steps = math.ceil(n / bs)
    if steps >= MIN_STEPS_PER_EPOCH:
        return []
    new = max(1, 2 ** int(math.log2(max(1, n / 16))))
    return [RULE.finding(
        f"batch size {num(bs)} on {num(n)} training samples gives {steps} step(s) per epoch: the model gets "
        f"{steps} weight update(s) for each pass over the data, so the loss moves slowly per epoch",
        {"batch_size": bs, "train_count": n, "steps_per_epoch": steps, "min_steps": MIN_STEPS_PER_EPOCH},
        Fix("batch_size", {"batch_size": new}, f"use a batch size of {new} ({math.ceil(n / new)} steps per epoch)"))]


RULE = Rule(
    code="CAE504", name="batch-larger-than-data", cause="batch_size_too_large", severity="warning",
    needs_data=True,
    summary=f"The batch is so large that an epoch has fewer than {MIN_STEPS_PER_EPOCH} steps.",
    what=f"Divides the training samples by the batch size and fires below {MIN_STEPS_PER_EPOCH} steps per "
         "epoch (including a batch larger than the whole training set).",
    why="Progress is made per step, not per epoch. With one or two steps per epoch, ten epochs are ten or "
        "twenty updates, and the loss looks stuck. Large batches also average away the gradient noise that "
        "helps small data sets.",
    example="`--batch-size 256` on 300 images: `batch size 256 on 270 training samples gives 2 step(s) per "
            "epoch: ...`.",
    fix="Use a batch of about a sixteenth of the training set or less. Fix-as-data: `batch_size` with the "
        "proposed `batch_size`.",
    run=run,
    reads_graph=False,
)
