"""Turn the symptoms a probe run shows into findings (codes CAE7xx), through the probe rules.

Each present symptom names the cause its detector read from the traces (`Symptom.cause`: a stuck run with
most ReLU units dead points at `dead_relu`, one whose first updates were huge at the learning rate, and so
on). A finding is added for that cause, by the probe rule of that symptom (`caedoctor.checks.probe_rules`),
with a fix a counterfactual probe can test, unless the static checks (or an earlier symptom) already raised
the cause. The LR range test adds its own evidence: when its suggestion is far from the configured rate
(beyond `LR_AGREEMENT_FACTOR`), a run whose symptom is learning-rate sensitive (stalls, diverges,
oscillates) also gets a learning-rate finding in the direction the test points, and the probes decide
between them.
"""

from __future__ import annotations

from caedoctor.checks.registry import PROBE_RULES, PROBE_RULES_BY_SYMPTOM
from caedoctor.thresholds import LR_AGREEMENT_FACTOR

# symptom name -> code, e.g. "stuck" -> "CAE703"
SYMPTOM_CODES = {rule.symptom: rule.code for rule in PROBE_RULES}
_LR_CAUSES = ("learning_rate_too_high", "learning_rate_too_low")


def lr_direction(current: float | None, suggestion: float | None):
    """'high', 'low' or None when the suggestion is within LR_AGREEMENT_FACTOR of the configured rate."""
    if not current or not suggestion:
        return None
    if suggestion < current / LR_AGREEMENT_FACTOR:
        return "high"
    if suggestion > current * LR_AGREEMENT_FACTOR:
        return "low"
    return None


def findings_from_symptoms(symptoms: list, existing: list, lr_suggestion: float | None,
                           current_lr: float | None = None, analysis=None) -> list:
    """Findings (status `suspected`) for the causes the present symptoms point at, one per cause not in
    `existing`, in the order of `symptoms`. `lr_suggestion` and `current_lr` add learning-rate findings as
    described above. `symptoms` are `Symptom.to_dict()`s; one without a probe rule (e.g. `out_of_range`:
    evidence for static findings) raises nothing.

    `analysis` (the model reader's) keeps these findings consistent with the static ones: a stall is not
    blamed on a narrow bottleneck when the bottleneck does not compress or no layer sets its width
    (`caedoctor.checks.bottleneck`), where CAE302 says the model could copy its input."""
    have = {f.cause for f in existing}
    out = []
    narrowable = True
    if analysis is not None:
        from caedoctor.checks.bottleneck import bottleneck_of

        narrowable = bottleneck_of(analysis).narrowable

    def add(rule, cause, symptom, note=""):
        if cause in have or (cause == "bottleneck_too_narrow" and not narrowable):
            return
        have.add(cause)
        out.append(rule.symptom_finding(cause, symptom, lr_suggestion, note))

    for s in symptoms:
        rule = PROBE_RULES_BY_SYMPTOM.get(s["name"]) if s.get("present") else None
        if rule is None:
            continue
        current = current_lr if current_lr is not None else s.get("evidence", {}).get("learning_rate")
        direction = lr_direction(current, lr_suggestion)
        cause = s.get("cause") or ""
        if cause in _LR_CAUSES and direction is not None:
            cause = f"learning_rate_too_{direction}"  # the range test measured the direction; trust it
        if cause and rule.fix_for(cause, lr_suggestion) is not None:
            add(rule, cause, s)
        if rule.lr_sensitive and direction is not None:
            add(rule, f"learning_rate_too_{direction}", s,
                note=f"the LR range test suggests {lr_suggestion:.2g}, against the configured {current:.2g}")
    return out
