"""CAE103: many samples repeat earlier ones, exactly or nearly."""

from caedoctor.checks.rule import Rule, num
from caedoctor.findings import Fix

# Above this share of repeated samples the data set is effectively smaller than it looks (and repeats
# across the split inflate the validation score). Bundled patches32 has 0.19% near repeats.
MAX_DUPLICATE_FRACTION = 0.10


def run(ctx):
    stats = ctx.profile.inputs
    checked = stats.duplicates_checked
    if not checked:
        return []
    fraction = stats.near_duplicates / checked
    if fraction < MAX_DUPLICATE_FRACTION:
        return []
    unique = checked - stats.near_duplicates
    return [RULE.finding(
        f"{num(stats.near_duplicates)} of {num(checked)} samples ({fraction:.1%}) repeat an earlier sample "
        f"({num(stats.exact_duplicates)} exactly): the data holds about {num(unique)} distinct images, and "
        "repeats that fall into both splits make the validation loss look better than it is",
        {"near_duplicates": stats.near_duplicates, "exact_duplicates": stats.exact_duplicates,
         "checked": checked, "fraction": fraction, "distinct_estimate": unique,
         "max_fraction": MAX_DUPLICATE_FRACTION},
        Fix("data", {"action": "deduplicate"},
            "remove repeated images before splitting into training and validation"))]


RULE = Rule(
    code="CAE103", name="duplicate-samples", cause="insufficient_data", severity="warning", needs_data=True,
    summary=f"At least {MAX_DUPLICATE_FRACTION:.0%} of the samples repeat an earlier one.",
    what="The streaming profile hashes every input sample twice: its exact bytes, and a thumbnail (average "
         "pooled to at most 8x8, rounded to 1/32 of the value range). A sample whose hash was seen before "
         f"is a repeat; the rule fires when at least {MAX_DUPLICATE_FRACTION:.0%} of the samples are repeats. "
         "Memory is bounded: at most 200,000 hashes of each kind are kept.",
    why="Repeated images shrink the effective data set (so the model memorises sooner) and, when copies land "
        "in both the training and the validation split, the validation loss measures memory instead of "
        "reconstruction.",
    example="A folder where every image was saved twice: `2,000 of 4,000 samples (50.0%) repeat an earlier "
            "sample (2,000 exactly): the data holds about 2,000 distinct images, ...`.",
    fix="Deduplicate before splitting (hash the files or the arrays). Fix-as-data: `data` with "
        "`action: deduplicate`.",
    run=run,
    reads_graph=False,
)
