"""CAE107: a denoising set-up whose targets carry the very noise of their inputs."""

from caedoctor.checks.rule import Rule, num
from caedoctor.findings import Fix

# Measured by `PairingCounter` (`caedoctor.data.pairing`) on 512 CIFAR-10 and 512 Fashion-MNIST training
# images with white noise of std 0.05-0.3 added (runs/calib_pairing.py, the numbers in docs/rules.md's
# example): the residual correlation of a clean target with its noisy input is 0.12-0.71, of a target with its
# own noise draw 0.01-0.50, of a target carrying the input's noise (clipped) 0.90-0.999.
MIN_NOISE_CORRELATION = 0.8
# The target's pixel noise over its own std: clean photographs read 0.08 (CIFAR-10) and 0.09 (Fashion-MNIST),
# as texture; noise of std 0.05 reads 0.16-0.17. Below this share the noise is too faint to set a loss floor.
MIN_NOISE_SHARE = 0.15
# A target within 1% of its input rescaled (the input itself, or x 255) is a plain autoencoder's: nothing says
# the user meant to denoise, and CAE105 reads a rescaling. Clipping noisy CIFAR-10 inputs to [0, 1] leaves
# targets 4-19% (noise std 0.1-0.3) away from them (the clipped pixels; Fashion-MNIST 13-30%).
MIN_AFFINE_RESIDUAL = 0.01


def run(ctx):
    y = ctx.profile.target
    if y is None or not y.pixel_pairs_checked or y.noise_correlation is None or y.target_noise_share is None:
        return []
    if y.noise_correlation < MIN_NOISE_CORRELATION or y.target_noise_share < MIN_NOISE_SHARE:
        return []
    if y.affine_residual is None or y.affine_residual < MIN_AFFINE_RESIDUAL:
        return []
    return [RULE.finding(
        f"the targets differ from their inputs but carry the inputs' own pixel noise: their finest-scale "
        f"residuals correlate by {num(y.noise_correlation)} (median of {y.pixel_pairs_checked} pairs; a clean "
        f"target's by at most 0.71 in our measurements), and the noise is {num(y.target_noise_share)} of a "
        f"target's spread (std {num(y.target_noise)}): the model is asked to reproduce white noise it cannot "
        "predict through its bottleneck, so its loss floors at the noise's variance; was the noise added before "
        "x and y were paired?",
        {"noise_correlation": y.noise_correlation, "target_noise": y.target_noise, "input_noise": y.input_noise,
         "target_noise_share": y.target_noise_share, "pairs_checked": y.pixel_pairs_checked,
         "affine_residual": y.affine_residual, "min_correlation": MIN_NOISE_CORRELATION,
         "min_share": MIN_NOISE_SHARE},
        Fix("smooth_targets", {}, "train on smoothed targets (5x5 binomial blur: the test of this cause; the "
            "proper fix is the clean image as the target)"))]


RULE = Rule(
    code="CAE107", name="target-carries-input-noise", cause="target_carries_input_noise", severity="warning",
    needs_data=True,
    summary="The targets carry the very pixel noise of their inputs.",
    what="When the data brings separate targets of the inputs' height and width, the profile estimates each "
         "image's pixel noise (Immerkaer's estimator on the channel mean) and correlates the finest-scale "
         "residuals of each input and its target, over the first 512 pairs "
         "(`caedoctor.data.pairing`). Fires when the median residual correlation is at least "
         f"{num(MIN_NOISE_CORRELATION)}, the targets' noise is at least {num(MIN_NOISE_SHARE)} of their "
         f"spread, and the targets are not their inputs rescaled (at least {num(100 * MIN_AFFINE_RESIDUAL)}% of "
         "a target's spread is not a linear map of its input's: a plain autoencoder's targets are left alone).",
    why="A denoising autoencoder learns to map a noisy image to its clean version. If the target carries the "
        "input's noise (noise added to the images before they became (input, target) pairs, or a target "
        "computed from the noisy input), there is nothing to denoise: the model is asked to reproduce white "
        "noise, which no bottleneck can carry, so the loss stops at the noise's variance and the output is a "
        "blurred copy of the noisy input at best.",
    example="`noisy = x + 0.2 * rng.standard_normal(x.shape); model.fit(noisy, np.clip(noisy, 0, 1))`, or "
            "`ds.map(add_noise).map(lambda im: (im, tf.image.adjust_contrast(im, 1.1)))`: residuals correlate "
            "by 0.98 (CIFAR-10 at noise 0.2).",
    fix="Pair each noisy input with its clean image: `fit(noisy, clean)`, or in tf.data "
        "`ds.map(lambda im: (add_noise(im), im))`. Fix-as-data: `smooth_targets` (the targets blurred, which "
        "removes most white noise; the test of this cause).",
    run=run,
    reads_graph=False,
)
