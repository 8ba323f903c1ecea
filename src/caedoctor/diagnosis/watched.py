"""Findings only the user's own fit can show, added to the diagnosis of that fit.

The diagnosis trains copies of the recorded set-up, without the user's callbacks. Some faults live exactly
there: a KL warm-up callback that assigns `model.beta` during fit, which the traced train step never sees
(`kl_weight_frozen`, CAE716). The monitor of the watched fit measured that counterfactual while the fit ran
(`reconstruction.weight_in_traced_step`: only the weight changed, from one state); this module turns such a
measurement into a `confirmed` finding of the fit's diagnosis, with the measured effect and the line to change.
"""

from __future__ import annotations

from caedoctor.checks.registry import PROBE_RULES_BY_SYMPTOM
from caedoctor.findings import Effect
from caedoctor.monitor.symptoms import DETECTORS

# Symptoms whose detector measures its own counterfactual on the watched fit, and that a probe of a copy
# (trained without the user's callbacks) cannot show.
WATCH_ONLY = ("kl_weight_frozen",)


def kl_weight_frozen(record) -> bool:
    """The watched fit's KL weight changed while its traced train step kept the first value (CAE716)."""
    return record is not None and DETECTORS["kl_weight_frozen"](record).present


def add_watched_findings(result, record) -> list:
    """Add to `result` (a `Diagnosis`) the findings the watched fit's `record` (a `MonitorRecord`) measured;
    returns the findings added."""
    added = []
    have = {f.cause for f in result.findings}
    for name in WATCH_ONLY:
        symptom = DETECTORS[name](record)
        if not symptom.present or symptom.cause in have:
            continue
        rule = PROBE_RULES_BY_SYMPTOM[name]
        finding = rule.symptom_finding(symptom.cause, symptom.to_dict(), None)
        evidence = symptom.evidence
        finding.status = "confirmed"
        finding.effect = Effect("traced train-step loss on the monitor batch", evidence["traced_loss_at_old"],
                                evidence["traced_loss_at_new"])
        finding.evidence = {**finding.evidence, "measured_in": (
            f"your fit, when model.{evidence['attribute']} first changed: only the weight changed, from one "
            "state (the traced step at the old and the new value, an eager step at the new one)")}
        result.findings.append(finding)
        result.symptoms = [s for s in result.symptoms if s.get("name") != name] + [symptom.to_dict()]
        added.append(finding)
    return added
