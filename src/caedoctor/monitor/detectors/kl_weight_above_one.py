"""The `kl_weight_above_one` symptom: a VAE trains with its KL term weighted above the ELBO's weight of 1.

Its probe rule, CAE717, is `caedoctor.checks.probe_rules.kl_weight_above_one`.
"""

from __future__ import annotations

import math

from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom

# After posterior_collapse (55) and kl_weight_frozen (56): a code that collapsed names the same cause with
# stronger evidence and claims it first; this one speaks where the code still carries something.
ORDER = 57
# The ELBO weighs its KL term 1 (with the reconstruction summed over each image's values, as the Keras example
# does); a beta-VAE's beta > 1 is a deliberate trade of reconstruction for a more regular code.
ELBO_KL_WEIGHT = 1.0


def detect_kl_weight_above_one(record: MonitorRecord) -> Symptom:
    """The KL weight the train step uses at the end of the probe is above 1.

    What: the VAE's KL-weight attribute (`beta`, `kl_weight`, ...) at the last probe, or, where a traced step
    never saw its changes (`kl_weight_frozen`), the value the step kept. Present above `ELBO_KL_WEIGHT`.
    Why: every unit of KL weight above the ELBO's buys a more regular code with reconstruction detail; at
    beta 20 or 50 the code keeps a few units and the outputs blur, without the total collapse CAE713 needs.
    Whether the weight is a cause here is a measurement, not a rule of thumb: the counterfactual trains the same
    model with the weight at 1 and is judged at the horizon.
    Threshold: `ELBO_KL_WEIGHT` (the ELBO's own weight, not tuned). A weight that is above 1 only because the
    reconstruction is averaged over pixels (or one below 1 that is too high for the same reason) is CAE714's.
    """
    test = record.kl_weight_test
    if test and test.get("frozen"):
        weight, how = float(test["old"]), "the traced train step keeps"
    elif record.kl_weights:
        weight, how = float(record.kl_weights[-1]), "the train step uses"
    else:
        weight, how = float(record.kl_weight), "the train step uses"
    if not math.isfinite(weight):
        return Symptom.skipped("kl_weight_above_one", "kl_weight_too_high",
                               "the model exposes no KL weight (a number named beta or kl_weight)")
    present = weight > ELBO_KL_WEIGHT
    evidence = {"kl_weight": weight, "thresholds": [ELBO_KL_WEIGHT]}
    return Symptom("kl_weight_above_one", present, evidence, "kl_weight_too_high", ("loss_reduction_mismatch",),
                   f"{how} a KL weight of {weight:g}, {weight / ELBO_KL_WEIGHT:g}x the ELBO's: a code more "
                   "regular than the data needs costs reconstruction detail" if present else "")
