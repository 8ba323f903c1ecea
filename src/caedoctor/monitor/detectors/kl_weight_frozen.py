"""The `kl_weight_frozen` symptom: a VAE's KL weight is changed during `fit` and the training step never sees it.

Its probe rule, CAE716, is `caedoctor.checks.probe_rules.kl_weight_frozen`.
"""

from __future__ import annotations

from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom

# After posterior_collapse (55): a schedule meant to prevent collapse that has no effect explains it.
ORDER = 56


def detect_kl_weight_frozen(record: MonitorRecord) -> Symptom:
    """The model's KL weight changed during fit, and the traced train step's loss did not move with it.

    What: the VAE's KL-weight attribute (`beta`, `kl_weight`, ...) at every probe; the first time it differs
    from its value at the first probe (after `fit` traced its step), the monitor runs the counterfactual that
    changes only the weight (`reconstruction.weight_in_traced_step`): from one state, a traced step at the
    old and at the new value, and an eager step at the new value.
    Why: `fit` runs `train_step` as a `tf.function` traced once; a Python number read inside it is a constant
    of the graph, so a warm-up or annealing schedule that assigns `model.beta = ...` trains with the first
    value throughout (keras-team/keras issue 13826). The user believes the KL weight moves; it does not.
    Threshold: none: present when the traced loss stays put (relative change under 1e-5) while the eager
    one moves.
    """
    test = record.kl_weight_test
    if not record.kl_weights:
        return Symptom.skipped("kl_weight_frozen", "kl_weight_frozen",
                               "the model exposes no KL weight (a number named beta or kl_weight)")
    if not test:
        return Symptom.skipped("kl_weight_frozen", "kl_weight_frozen",
                               f"the KL weight stayed at {record.kl_weights[0]:g} through the run: nothing to test")
    if "error" in test:
        return Symptom.skipped("kl_weight_frozen", "kl_weight_frozen",
                               f"the traced step could not be run alone to test it ({test['error']})")
    present = bool(test.get("frozen"))
    name = test.get("attribute", "beta")
    message = (f"model.{name} went from {test['old']:g} to {test['new']:g} during fit, but the traced train step "
               f"still uses {test['old']:g}: its loss on the monitor batch stays {test['traced_loss_at_new']:.6g} "
               f"(an eager step at {test['new']:g} gives {test['eager_loss_at_new']:.6g}); the schedule has no "
               "effect" if present else "")
    return Symptom("kl_weight_frozen", present, dict(test), "kl_weight_frozen", (), message)
