"""Findings raised by what the probe run showed (codes CAE7xx), as opposed to the static rules (CAE1xx-CAE5xx).

Each present symptom points at a cause; when the static checks did not already raise that cause, a
finding is added with a fix a counterfactual probe can test. The learning-rate direction is decided by
the LR range test's suggestion against the configured rate, not by guessing.
"""

from __future__ import annotations

from caedoctor.findings import Finding, Fix

# code, symptom name -> (cause, message template, fix kind, fix params)
_LR_HIGH = ("learning_rate_too_high", "learning_rate", {"learning_rate": None})
_LR_LOW = ("learning_rate_too_low", "learning_rate", {"learning_rate": None})

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


def _lr_direction(current: float | None, suggestion: float | None):
    """'high', 'low' or None when the suggestion is within 3x of the configured rate (or unknown)."""
    if not current or not suggestion:
        return None
    if suggestion < current / 3:
        return "high"
    if suggestion > current * 3:
        return "low"
    return None


def findings_from_symptoms(symptoms: list, existing: list, lr_suggestion: float | None,
                           current_lr: float | None = None) -> list:
    have = {f.cause for f in existing}
    out = []
    for s in symptoms:
        if not s.get("present"):
            continue
        name = s["name"]
        code = SYMPTOM_CODES.get(name, "CAE799")
        evidence = {"symptom": name, **s.get("evidence", {})}
        current = current_lr if current_lr is not None else s.get("evidence", {}).get("learning_rate")
        direction = _lr_direction(current, lr_suggestion)
        if name in ("nan_inf", "diverging", "oscillating", "exploding_gradients") or (
                name in ("stuck", "collapsed_to_mean", "slow") and direction is not None):
            if direction == "low" and name in ("stuck", "collapsed_to_mean", "slow"):
                cause = "learning_rate_too_low"
            else:
                cause = "learning_rate_too_high"
            if name == "exploding_gradients" and direction is None:
                cause = "exploding_gradients"
            fix = Fix("learning_rate", {"learning_rate": lr_suggestion},
                      "set the learning rate to the LR range test's suggestion"
                      + (f" ({lr_suggestion:.2g})" if lr_suggestion else "")) if cause != "exploding_gradients" \
                else Fix("add_batchnorm", {}, "add BatchNormalization after each hidden conv layer")
        elif name in ("stuck", "collapsed_to_mean"):
            cause, fix = "output_activation_range", None  # no LR evidence: leave it to static findings
            if "output_activation_range" in have or "learning_rate_too_high" in have:
                continue
            cause = "learning_rate_too_high"
            fix = Fix("learning_rate", {"learning_rate": lr_suggestion}, "lower the learning rate")
        elif name == "slow":
            cause, fix = "learning_rate_too_low", Fix("learning_rate", {"learning_rate": lr_suggestion},
                                                       "raise the learning rate to the LR range test's suggestion")
        elif name == "dead_units":
            cause, fix = "dead_relu", Fix("hidden_activation", {"from": "relu", "to": "leaky_relu"},
                                          "replace ReLU with LeakyReLU(0.1) in hidden layers")
        elif name == "saturation":
            cause, fix = "saturated_activation", Fix("add_batchnorm", {},
                                                     "add BatchNormalization after each hidden conv layer")
        elif name == "vanishing_gradients":
            cause, fix = "vanishing_gradients", Fix("add_batchnorm", {},
                                                    "add BatchNormalization after each hidden conv layer")
        elif name == "overfitting":
            cause, fix = "overfitting", Fix("data", {"action": "more_data"},
                                            "train on more (or augmented) data, or add dropout/weight decay")
        else:
            continue
        if cause in have:
            continue
        have.add(cause)
        out.append(Finding(code=code, cause=cause, severity="warning", status="suspected",
                           message=s.get("message") or f"the probe run shows {name.replace('_', ' ')}",
                           evidence=evidence, fix=fix, doc=f"caedoctor rule {code}"))
    return out
