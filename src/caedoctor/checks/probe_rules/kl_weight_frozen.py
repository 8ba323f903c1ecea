"""CAE716 probe-kl-weight-frozen: a VAE's KL weight changed during fit, and the traced train step never saw it."""

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.monitor.detectors.kl_weight_frozen import detect_kl_weight_frozen

RULE = ProbeRule(
    code="CAE716", name="probe-kl-weight-frozen", cause="kl_weight_frozen", severity="warning",
    summary="a VAE's KL weight is changed during fit, but the traced train step keeps its first value",
    what=("For a VAE with a plain-number KL weight (`self.beta`, `self.kl_weight`): its value at every probe of "
          "a watched fit. When it first changes, the counterfactual that changes only the weight is measured on "
          "the monitor batch from one state: the traced step at the old and the new value, and an eager step at "
          "the new value. Raised when the traced step's loss does not move and the eager one does."),
    why=("`fit` runs `train_step` as a `tf.function`, traced once; `self.beta` read inside it is a constant of "
         "the graph. A KL warm-up or annealing callback that assigns `model.beta = ...` then has no effect: the "
         "model trains with the first value throughout (keras-team/keras issue 13826), and a run meant to avoid "
         "posterior collapse collapses anyway."),
    example=("`self.beta = 0.0` in `__init__`, `total = reconstruction + self.beta * kl` in `train_step`, and a "
             "callback that sets `self.model.beta = min(1.0, epoch / 10)` at each epoch."),
    fix=("Make the weight a variable and assign to it: `self.beta = keras.Variable(0.0, trainable=False, "
         "name=\"beta\")` in `__init__`, and `self.model.beta.assign(min(1.0, epoch / 10))` in the callback "
         "(fix `kl_weight_variable`; or `run_eagerly=True`, much slower). A code change: caedoctor reports it "
         "with the measured counterfactual, and does not apply it."),
    symptom="kl_weight_frozen", detector=detect_kl_weight_frozen,
)
