"""CAE717 probe-kl-weight-above-one: a VAE trains with its KL term weighted above the ELBO's 1."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.kl_weight_above_one import detect_kl_weight_above_one


RULE = ProbeRule(
    code="CAE717", name="probe-kl-weight-above-one", cause="kl_weight_too_high", severity="warning",
    summary="a VAE's KL term is weighted above the ELBO's weight of 1",
    what=("For a VAE that exposes its KL weight (`self.beta`, `self.kl_weight`, a number or a scalar "
          "`keras.Variable`): the weight its train step uses at the end of the probe (for a watched fit, the "
          "weight the fit ended with, after any warm-up; where the traced step never saw a schedule, CAE716, "
          "the weight it kept). Raised above 1."),
    why=("The ELBO weighs the KL term 1 beside a reconstruction summed over each image's values. A beta above 1 "
         "(beta-VAE) is a deliberate trade: a more regular code for less reconstruction detail. At beta 20 or "
         "50 most latent units close and the outputs blur long before the code collapses outright (CAE713). "
         "Whether it costs this model anything at its horizon is measured, not assumed. A warning, not an info-level "
         "suggestion: the weight changes the objective itself (what is minimised trades reconstruction for KL), "
         "so its counterfactual is judged against the seed noise like CAE713's, not against the 40% cut asked "
         "of folklore that may only speed up the first steps (families dev-007: beta 20 -> 1 cut the error 22% "
         "and 43% in two seeds; the ground truth, 0.50-0.89 against 0.30, calls it real)."),
    example=("The Keras example VAE (8-d code, Fashion-MNIST) with a warm-up to beta = 20: relative MSE 0.50-0.89 "
             "over three seeds at the end of training, 0.30 with the warm-up to 1 (families dev-007)."),
    fix=("Weigh the KL term 1 (fix `kl_weight`, as for CAE713: a weight above 1 is set to 1 on a fresh copy); "
         "keep the higher weight only if you want its more regular code and accept the measured cost in "
         "reconstruction."),
    symptom="kl_weight_above_one", detector=detect_kl_weight_above_one,
    thresholds=("ELBO_KL_WEIGHT",),
)
