"""CAE712 probe-heavy-regularization: penalties or dropout dominate what training minimises."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.heavy_regularization import detect_heavy_regularization

RULE = ProbeRule(
    code="CAE712", name="probe-heavy-regularization", cause="over_regularization", severity="warning",
    summary="regularization penalties or dropout dominate the training loss",
    what=("On the monitor batch, the regularization penalties (`model.losses`) are a large share of the "
          "training loss, or the reconstruction loss with dropout on is much higher than without it, over "
          "the last part of the probe."),
    why=("The optimiser then trades reconstruction detail for small weights, sparse codes or robustness to "
         "dropped values: the output drifts towards the blurry mean image and the loss plateaus high. Unlike "
         "CAE309 it reads what the penalties cost during training, so it also sees custom regularizers and "
         "`add_loss` terms."),
    example="An L2 `kernel_regularizer` of 1e-2 on every conv layer: the penalty is most of the loss.",
    fix=("Weaken or remove the dropout and penalties (fix `reduce_regularization`); the counterfactual "
         "probe trains the same model without them."),
    symptom="heavy_regularization", detector=detect_heavy_regularization, lr_sensitive=False,
    thresholds=("PENALTY_SHARE_MAX", "DROPOUT_GAP_MAX"),
)
