"""CAE101: NaN or Inf values in the inputs or targets."""

from caedoctor.checks.rule import Rule, num, sample_text
from caedoctor.findings import Fix


def run(ctx):
    findings = []
    for what, stats in (("inputs", ctx.profile.inputs), ("targets", ctx.profile.target)):
        if stats is None or stats.nan_count + stats.inf_count == 0:
            continue
        samples = [sample_text(i, ctx.profile.train_count) for i in stats.first_nonfinite]
        findings.append(RULE.finding(
            f"the {what} hold {num(stats.nan_count)} NaN and {num(stats.inf_count)} Inf value(s), first in "
            f"sample(s) {', '.join(samples)}: the first batch that holds one makes the loss and then every "
            "weight NaN",
            {"array": what, "nan_count": stats.nan_count, "inf_count": stats.inf_count,
             "first_samples": samples, "first_indices": list(stats.first_nonfinite)},
            Fix("data", {"action": "drop_nonfinite"},
                f"drop or repair the {what} samples that hold NaN/Inf (first: {', '.join(samples)})")))
    return findings


RULE = Rule(
    code="CAE101", name="nan-in-data", cause="nan_in_data", severity="error", needs_data=True,
    summary="NaN or Inf values in the inputs or targets (count and first samples).",
    what="Counts NaN and infinite values in the inputs and, when they differ, the targets, during the "
         "streaming profile, and names the first samples that hold them.",
    why="One non-finite value in a batch makes that batch's loss NaN; the gradient step then writes NaN into "
        "every weight it touches, and the model never recovers. Training is meaningless until the data is "
        "clean.",
    example="An .npz whose `x` holds 12 NaN pixels: `the inputs hold 12 NaN and 0 Inf value(s), first in "
            "sample(s) train[5], train[17]: ...`.",
    fix="Drop or repair the samples (`np.isfinite(x).all(axis=(1, 2, 3))` selects the clean ones). "
        "Fix-as-data: `data` with `action: drop_nonfinite`.",
    run=run,
    reads_graph=False,
)
