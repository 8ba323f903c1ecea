"""CAE106: the targets do not belong to their inputs (shuffled apart or misaligned)."""

from caedoctor.checks.rule import Rule, num
from caedoctor.findings import Fix

# A target must correlate with its own input by at least this much more than with another sample's input.
# Measured by `PairingCounter` (absolute correlations) on the generated development cases (`bench/generated`):
# targets shuffled apart from their inputs (dev-053, dev-057, dev-064) correlate with their own inputs by 0.222,
# 0.186 and 0.198 against 0.231, 0.186 and 0.193 with earlier samples' (within 0.01); targets that belong to
# their inputs are far above: the input itself 1.0 against 0.18-0.22 (the same three data sets), targets
# 255x their inputs (dev-083) or inverted 1.0; noisy/clean pairs by the noise's share (tests/checks/test_rules.py).
MIN_PAIRING_GAP = 0.05


def run(ctx):
    y = ctx.profile.target
    if y is None or y.paired_correlation is None or y.pairs_checked < 2:
        return []
    paired, unpaired = y.paired_correlation, y.unpaired_correlation
    if paired - unpaired >= MIN_PAIRING_GAP:
        return []
    return [RULE.finding(
        f"each target correlates with its own input by {num(paired)} on average, and with an earlier sample's "
        f"input by {num(unpaired)} ({num(y.pairs_checked)} samples): the targets look no more like their inputs "
        "than like any other image, so there is nothing for the autoencoder to reconstruct; were x and y "
        "shuffled or filtered separately?",
        {"paired_correlation": paired, "unpaired_correlation": unpaired, "pairs_checked": y.pairs_checked,
         "min_gap": MIN_PAIRING_GAP},
        Fix("inputs_as_targets", {}, "train on each input as its own target (the test of this cause; the "
            "proper fix is to pair the targets with their inputs again, e.g. one permutation for x and y)"))]


RULE = Rule(
    code="CAE106", name="targets-not-paired", cause="target_input_mismatch", severity="warning",
    needs_data=True,
    summary="The targets look no more like their own inputs than like other samples' inputs.",
    what="When the data brings separate targets of the inputs' height and width, the profile measures each "
         "target's absolute correlation over pixels with its own input and with the input of a random earlier sample "
         "(on thumbnails: channels averaged, pooled to at most 32x32), over up to 20,000 samples. Fires when "
         f"the first exceeds the second by less than {num(MIN_PAIRING_GAP)}.",
    why="An autoencoder (denoising, inpainting, colouring included) learns a map from each input to its own "
        "target. If the targets were shuffled apart from the inputs (x and y permuted separately, a filter "
        "applied to one array only, an off-by-one join), no such map exists: the best the model can do is "
        "the mean image, and the loss stays near the data's variance however the model is tuned.",
    example="`np.random.shuffle(x); np.random.shuffle(y)` before `np.savez('pairs.npz', x=x, y=y)`: `each "
            "target correlates with its own input by 0.19 on average, and with an earlier sample's input by "
            "0.19 ...`.",
    fix="Keep inputs and targets aligned: shuffle them with one permutation (`idx = rng.permutation(n); "
        "x, y = x[idx], y[idx]`). Fix-as-data: `inputs_as_targets` (trains on each input as its own target; "
        "the test of this cause, and the repair when a plain autoencoder is what was meant).",
    run=run,
    reads_graph=False,
)
