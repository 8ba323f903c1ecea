"""CAE714 probe-loss-reduction-mismatch: a VAE averages its reconstruction over pixels but not its KL term."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.loss_reduction_mismatch import detect_loss_reduction_mismatch

RULE = ProbeRule(
    code="CAE714", name="probe-loss-reduction-mismatch", cause="loss_reduction_mismatch", severity="warning",
    summary="a VAE averages its reconstruction term over pixels but weighs its KL term as a sum",
    what=("For a model that trains itself and reports its reconstruction and KL terms (the Keras example's "
          "`reconstruction_loss` and `kl_loss`): the reported reconstruction term compared with the "
          "reconstruction's error per value, which the monitor measures, and the effective KL weight "
          "((loss - reconstruction) / KL) times the values per image."),
    why=("The ELBO sums the reconstruction over pixels. `ops.mean(binary_crossentropy(x, x_hat))` averages it "
         "instead, and beside a KL summed over latent dimensions the KL then weighs as much more as an image has "
         "pixels (784x for 28x28): the code collapses and every output is the mean image (keras-team/keras "
         "PR 3383)."),
    example=("The Keras example VAE with `ops.mean(keras.losses.binary_crossentropy(data, reconstruction))` in "
             "place of the per-image sum."),
    fix=("Sum the reconstruction over the image (`ops.sum(..., axis=(1, 2))`, then the mean over the batch), or "
         "divide the KL weight by the values per image; the counterfactual divides the model's `beta` (or "
         "`kl_weight`) by that count on a copy (fix `kl_weight`, `per_target_value`). Without such an attribute it "
         "is not testable without a code change."),
    symptom="loss_reduction_mismatch", detector=detect_loss_reduction_mismatch,
    thresholds=("PER_VALUE_FACTOR", "IMBALANCE"),
)
