"""CAE715 probe-log-variance-overflow: a VAE's log-variance grows towards exp() overflow and NaN."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.log_variance_overflow import detect_log_variance_overflow

RULE = ProbeRule(
    code="CAE715", name="probe-log-variance-overflow", cause="log_variance_overflow", severity="warning",
    summary="a VAE's log-variance grows towards exp() overflow and NaN",
    what=("For a VAE whose encoder returns a mean and a log-variance: the largest log-variance on the monitor "
          "batch at any probe, against a level far below float32's exp overflow (88.7)."),
    why=("`exp(z_log_var)` in the KL term and `exp(0.5 * z_log_var)` in the sampling overflow to inf, and the "
         "loss turns NaN; a code with such a variance tells the decoder nothing even before that."),
    example="A VAE whose z_log_var Dense layer is driven by Adam at learning rate 0.05.",
    fix=("Bound the log-variance in the encoder (`z_log_var = ops.clip(z_log_var, -10, 10)`, or a tanh scaled to a "
         "range) and, when the LR range test says so, lower the learning rate (CAE501 tests that). The "
         "counterfactual (fix `bound_log_variance`) clips the output of the encoder's log-variance layer on a "
         "copy; an encoder that is not a functional model with that layer leaves the finding suspected, with "
         "this line."),
    symptom="log_variance_overflow", detector=detect_log_variance_overflow, lr_sensitive=True,
    thresholds=("LOG_VAR_LIMIT",),
)
