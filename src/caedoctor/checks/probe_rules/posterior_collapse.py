"""CAE713 probe-posterior-collapse: no latent unit of a VAE carries anything about its input."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.posterior_collapse import detect_posterior_collapse

RULE = ProbeRule(
    code="CAE713", name="probe-posterior-collapse", cause="kl_weight_too_high", severity="warning",
    summary="no latent unit of a VAE carries anything about its input",
    what=("For a VAE whose encoder returns a mean and a log-variance (`z_mean, z_log_var, z`, as in the Keras "
          "example), the information its code carries about each input on the monitor batch: the KL divergence "
          "from the prior summed over latent dimensions (it bounds that information), and the active units (a "
          "unit is active when the mean of its code varies across inputs). Under two bits, or no active unit, "
          "at the end of the probe is posterior collapse."),
    why=("The decoder of a collapsed VAE gets the same code for every input and learns the mean image: the KL "
         "term won. Usual causes: a KL weight (beta) too high, or a KL summed over latent dimensions beside a "
         "reconstruction averaged over pixels (the KL then weighs hundreds of times more than meant)."),
    example="The Keras example VAE with beta = 20 on Fashion-MNIST: its 2-d code carries 1.2 bits per image after 705 steps (9 at beta = 1).",
    fix=("Weigh the KL term less (fix `kl_weight`: the model's `beta` or `kl_weight` attribute set to 1, the "
         "ELBO's weight, when it is above 1, else x 0.1); the "
         "counterfactual probe with the lower weight confirms or refutes it. A weight the model does not expose "
         "as an attribute is reported as not testable without a code change."),
    symptom="posterior_collapse", detector=detect_posterior_collapse,
    thresholds=("COLLAPSE_KL_BITS", "ACTIVE_UNIT_VARIANCE"),
)
