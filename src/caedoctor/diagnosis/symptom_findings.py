"""Findings raised by what the probe run showed (codes CAE7xx), as opposed to the static rules (CAE1xx-CAE5xx).

Each present symptom names the cause its detector read from the traces (`Symptom.cause`: a stuck run with
most ReLU units dead points at `dead_relu`, one whose first updates were huge at the learning rate, and so
on). A finding is added for that cause, with a fix a counterfactual probe can test, unless the static checks
(or an earlier symptom) already raised the cause. The LR range test adds its own evidence: when its
suggestion is far from the configured rate, a run that stalls, diverges or oscillates also gets a
learning-rate finding in the direction the test points, and the probes decide between them.
"""

from __future__ import annotations

from caedoctor.findings import Finding, Fix

SYMPTOM_CODES = {
    "nan_inf": "CAE701",
    "diverging": "CAE702",
    "stuck": "CAE703",
    "collapsed_to_mean": "CAE704",
    "slow": "CAE705",
    "oscillating": "CAE706",
    "dead_units": "CAE707",
    "saturation": "CAE708",
    "vanishing_gradients": "CAE709",
    "exploding_gradients": "CAE710",
    "overfitting": "CAE711",
}
# Symptoms of a run that fails to make progress, or makes it erratically: the learning rate is always a
# suspect for these when the LR range test disagrees with the configured rate.
_LR_SENSITIVE = ("nan_inf", "diverging", "stuck", "collapsed_to_mean", "slow", "oscillating", "exploding_gradients")
# Within this factor of the configured rate, the LR range test is no evidence either way (its suggestion
# varies about 2x between seeds on our data, bench/README.md).
LR_AGREEMENT_FACTOR = 3.0


def _lr_direction(current: float | None, suggestion: float | None):
    """'high', 'low' or None when the suggestion is within LR_AGREEMENT_FACTOR of the configured rate."""
    if not current or not suggestion:
        return None
    if suggestion < current / LR_AGREEMENT_FACTOR:
        return "high"
    if suggestion > current * LR_AGREEMENT_FACTOR:
        return "low"
    return None


def fix_for(cause: str, lr_suggestion: float | None = None) -> Fix | None:
    """The change a counterfactual probe makes to test `cause` (None: nothing caedoctor can change)."""
    lr = f" ({lr_suggestion:.2g})" if lr_suggestion else ""
    if cause == "learning_rate_too_high":
        return Fix("learning_rate", {"learning_rate": lr_suggestion},
                   f"lower the learning rate to the LR range test's suggestion{lr}")
    if cause == "learning_rate_too_low":
        return Fix("learning_rate", {"learning_rate": lr_suggestion},
                   f"raise the learning rate to the LR range test's suggestion{lr}")
    if cause == "dead_relu":
        return Fix("hidden_activation", {"from": "relu", "to": "leaky_relu"},
                   "replace ReLU with LeakyReLU(0.1) in hidden layers")
    if cause in ("saturated_activation", "vanishing_gradients"):
        return Fix("add_batchnorm", {}, "add BatchNormalization after each hidden conv layer")
    if cause == "exploding_gradients":
        return Fix("initializer", {"initializer": "glorot_uniform"},
                   "initialise every conv kernel with Keras' default (Glorot uniform)")
    if cause == "bottleneck_too_narrow":
        return Fix("bottleneck", {"factor": 4.0}, "make the bottleneck 4x wider")
    if cause == "data_not_normalized":
        return Fix("normalize_inputs", {"method": "minmax"}, "scale the inputs (and targets alike) to [0, 1]")
    if cause in ("overfitting", "insufficient_data"):
        return Fix("data", {"action": "more_data"},
                   "train on more (or augmented) images; dropout or weight decay may help too")
    if cause == "batch_size_too_large":
        return Fix("batch_size", {"batch_size": 32}, "use batches of 32")
    return None


def _finding(code: str, cause: str, name: str, symptom: dict, fix: Fix | None, note: str = "") -> Finding:
    evidence = {"symptom": name, **symptom.get("evidence", {})}
    if note:
        evidence["why_this_cause"] = note
    message = symptom.get("message") or f"the probe run shows {name.replace('_', ' ')}"
    return Finding(code=code, cause=cause, severity="warning", status="suspected", message=message,
                   evidence=evidence, fix=fix, doc=f"caedoctor rule {code}")


def findings_from_symptoms(symptoms: list, existing: list, lr_suggestion: float | None,
                           current_lr: float | None = None, analysis=None) -> list:
    """Findings (status `suspected`) for the causes the present symptoms point at, one per cause not in
    `existing`. `lr_suggestion` and `current_lr` add learning-rate findings as described above.

    `analysis` (the model reader's) keeps these findings consistent with the static ones: a stall is not
    blamed on a narrow bottleneck when the bottleneck does not compress or no layer sets its width
    (`caedoctor.checks.bottleneck`), where CAE302 says the model could copy its input."""
    have = {f.cause for f in existing}
    out = []
    narrowable = True
    if analysis is not None:
        from caedoctor.checks.bottleneck import bottleneck_of

        narrowable = bottleneck_of(analysis).narrowable

    def add(code, cause, name, symptom, note=""):
        if cause in have or (cause == "bottleneck_too_narrow" and not narrowable):
            return
        have.add(cause)
        out.append(_finding(code, cause, name, symptom, fix_for(cause, lr_suggestion), note))

    for s in symptoms:
        if not s.get("present"):
            continue
        name = s["name"]
        code = SYMPTOM_CODES.get(name)
        if code is None:  # e.g. out_of_range: evidence for static findings, no finding of its own
            continue
        current = current_lr if current_lr is not None else s.get("evidence", {}).get("learning_rate")
        direction = _lr_direction(current, lr_suggestion)
        cause = s.get("cause") or ""
        if cause in ("learning_rate_too_high", "learning_rate_too_low") and direction is not None:
            cause = f"learning_rate_too_{direction}"  # the range test measured the direction; trust it
        if cause and fix_for(cause, lr_suggestion) is not None:
            add(code, cause, name, s)
        if name in _LR_SENSITIVE and direction is not None:
            add(code, f"learning_rate_too_{direction}", name, s,
                note=f"the LR range test suggests {lr_suggestion:.2g}, against the configured {current:.2g}")
    return out
