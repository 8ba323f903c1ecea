"""CAE108: inputs augmented (flipped, turned, shifted) differently from their targets."""

from caedoctor.checks.rule import Rule, num
from caedoctor.checks.rules.dataset.targets_not_paired import MIN_PAIRING_GAP
from caedoctor.data.profile import PairingCounter
from caedoctor.findings import Fix

# Measured by `PairingCounter` (`caedoctor.data.pairing`, a pair counts when a move raises its correlation by
# `PairingCounter.MIN_ALIGN_GAIN`) on 512 CIFAR-10 and 512 Fashion-MNIST training images
# (runs/calib_pairing.py): correct pairs, clean or noisy inputs, 0% of pairs; half the inputs flipped left-right
# 49% (CIFAR-10) and 34% (Fashion-MNIST, whose garments are often symmetric); random 4-pixel crops 86% and 96%.
MAX_MISALIGNED_FRACTION = 0.1


def run(ctx):
    y = ctx.profile.target
    if y is None or not y.pixel_pairs_checked or y.misaligned_fraction is None:
        return []
    if y.misaligned_fraction < MAX_MISALIGNED_FRACTION:
        return []
    if y.paired_correlation is not None and y.paired_correlation - y.unpaired_correlation < MIN_PAIRING_GAP:
        # targets that do not belong to their inputs at all (CAE106's): among 8 symmetries x 81 shifts of a
        # small image, some move matches an unrelated image by chance (generated dev cases dev-053, dev-057,
        # dev-064: shuffled 16x16 targets, 27-34% of pairs "misaligned")
        return []
    return [RULE.finding(
        f"{num(100 * y.misaligned_fraction)}% of {y.pixel_pairs_checked} targets match their own input clearly "
        f"better once moved (most often by a {y.misaligned_by}) than as given: the inputs were augmented "
        "(flipped, turned, cropped) and their targets not, or with different random draws; the model cannot "
        "know the move and learns the blurry average of the possibilities",
        {"misaligned_fraction": y.misaligned_fraction, "misaligned_by": y.misaligned_by,
         "pairs_checked": y.pixel_pairs_checked, "max_fraction": MAX_MISALIGNED_FRACTION,
         "min_gain": PairingCounter.MIN_ALIGN_GAIN},
        Fix("align_targets", {}, "move each target back onto its input (the test of this cause; the proper fix "
            "is one augmentation applied to the pair)"))]


RULE = Rule(
    code="CAE108", name="augmentation-not-paired", cause="augmentation_not_paired", severity="warning",
    needs_data=True,
    summary="Inputs and targets are augmented differently (flips, turns or shifts on one side only).",
    what="When the data brings separate targets of the inputs' height and width, the profile correlates each "
         "target with its input as given and after each flip and 90-degree turn combined with shifts of up to "
         "4 pixels (channel-mean thumbnails, all shifts at once by FFT), over the first 512 pairs "
         "(`caedoctor.data.pairing`). A pair is misaligned when a move raises the correlation by "
         f"{num(PairingCounter.MIN_ALIGN_GAIN)} or more; fires when at least "
         f"{num(100 * MAX_MISALIGNED_FRACTION)}% of the pairs are, unless the targets do not belong to their "
         "inputs at all (CAE106's case: some move of a small image matches an unrelated one by chance).",
    why="An augmented autoencoder learns each augmented input's augmented target. Augmentation that reaches "
        "the input but not the target (`ds.map(lambda im: (augment(im), im))`), or reaches both with separate "
        "random draws (`augment` called twice), asks the model to guess a flip or shift it cannot see: the "
        "best it can do is the average of the possibilities, a blurred or ghosted image, and the loss "
        "plateaus high however the model is tuned.",
    example="`ds.map(lambda im: (tf.image.random_flip_left_right(im), im))` on CIFAR-10: 49% of 512 targets "
            "match their input better flipped.",
    fix="Augment the pair together: draw the augmentation once and apply it to both (`stacked = "
        "tf.concat([x, y], -1); stacked = augment(stacked); x, y = stacked[..., :c], stacked[..., c:]`), or "
        "augment before adding the noise. Fix-as-data: `align_targets` (each target moved back onto its "
        "input; the test of this cause).",
    run=run,
    reads_graph=False,
)
