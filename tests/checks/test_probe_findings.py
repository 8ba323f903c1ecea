"""findings_from_symptoms: the cause comes from the symptom's evidence, the LR range test adds its direction."""

from __future__ import annotations

from caedoctor.checks.probe_findings import SYMPTOM_CODES, findings_from_symptoms
from caedoctor.checks.probe_rule import fix_for
from caedoctor.findings import CAUSES, Finding


def _s(name, cause, present=True, **evidence):
    return {"name": name, "present": present, "cause": cause, "evidence": evidence, "message": f"{name} seen"}


def _causes(findings):
    return [f.cause for f in findings]


def test_stuck_run_with_dead_units_points_at_dead_relu_not_the_learning_rate():
    found = findings_from_symptoms([_s("stuck", "dead_relu")], [], lr_suggestion=1.2e-3, current_lr=1e-3)
    assert _causes(found) == ["dead_relu"]
    assert found[0].code == SYMPTOM_CODES["stuck"]
    assert found[0].fix.kind == "hidden_activation"
    assert found[0].status == "suspected"


def test_range_test_far_above_the_rate_adds_learning_rate_too_low():
    found = findings_from_symptoms([_s("stuck", "dead_relu")], [], lr_suggestion=1e-3, current_lr=1e-5)
    assert _causes(found) == ["dead_relu", "learning_rate_too_low"]
    lr = found[1]
    assert lr.fix.kind == "learning_rate" and lr.fix.params["learning_rate"] == 1e-3
    assert "1e-05" in lr.evidence["why_this_cause"]


def test_range_test_overrides_the_guessed_learning_rate_direction():
    found = findings_from_symptoms([_s("slow", "learning_rate_too_low")], [], lr_suggestion=1e-4, current_lr=1e-2)
    assert _causes(found) == ["learning_rate_too_high"]


def test_no_duplicate_of_a_cause_the_static_checks_raised():
    static = [Finding(code="CAE104", cause="data_not_normalized", severity="warning", message="0-255")]
    found = findings_from_symptoms([_s("exploding_gradients", "data_not_normalized"), _s("nan_inf", "learning_rate_too_high")],
                                   static, lr_suggestion=None, current_lr=0.01)
    assert _causes(found) == ["learning_rate_too_high"]


def test_absent_symptoms_raise_nothing():
    assert findings_from_symptoms([_s("dead_units", "dead_relu", present=False)], [], 1e-3, 1e-3) == []


def test_every_cause_a_symptom_can_name_has_a_testable_fix_or_none_on_purpose():
    for cause in ("learning_rate_too_high", "learning_rate_too_low", "dead_relu", "saturated_activation",
                  "vanishing_gradients", "exploding_gradients", "bottleneck_too_narrow", "data_not_normalized",
                  "overfitting", "insufficient_data", "batch_size_too_large"):
        assert cause in CAUSES
        assert fix_for(cause, 1e-3) is not None, cause
