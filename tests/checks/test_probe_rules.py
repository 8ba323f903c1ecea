"""The probe rules (CAE7xx): each one names a real detector and real thresholds, is found by `get_rule` in the
same code table as the static rules, and builds its own finding for a present symptom."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest

from caedoctor import thresholds as T
from caedoctor.checks import PROBE_RULES, RULES, get_rule, probe_rules
from caedoctor.monitor import DETECTORS


def test_every_probe_rule_names_its_detector_and_existing_thresholds():
    assert len(PROBE_RULES) >= 11 and all(r.code.startswith("CAE7") for r in PROBE_RULES)
    for rule in PROBE_RULES:
        assert DETECTORS[rule.symptom] is rule.detector, rule.code
        assert all(isinstance(rule.threshold(name), (int, float)) for name in rule.thresholds), rule.code
        assert get_rule(rule.code) is rule and get_rule(rule.code.lower()) is rule
    assert not {r.code for r in PROBE_RULES} & {r.code for r in RULES}


def test_each_probe_rule_sits_beside_its_detector_of_the_same_name():
    """`checks/probe_rules/<name>.py` holds the rule of symptom <name>, whose detector is `detect_<name>` in
    `monitor/detectors/<name>.py`: a reader of either file finds the other by its name."""
    names = [m.name for m in pkgutil.iter_modules(probe_rules.__path__) if not m.name.startswith("_")]
    assert len(names) == len(PROBE_RULES)
    for name in names:
        rule = importlib.import_module(f"{probe_rules.__name__}.{name}").RULE
        assert rule.symptom == name, rule.code
        assert rule.detector.__module__ == f"caedoctor.monitor.detectors.{name}", rule.code
        assert DETECTORS[name] is rule.detector, rule.code


def test_a_detector_without_a_rule_raises_no_finding_and_every_other_has_one():
    unruled = set(DETECTORS) - {r.symptom for r in PROBE_RULES}
    assert unruled == {"out_of_range"}  # evidence for the static output-range findings only


def test_a_probe_rule_refuses_a_wrong_detector_or_an_unknown_threshold():
    rule = get_rule("CAE703")
    with pytest.raises(ValueError, match="detect_stuck"):
        dataclasses.replace(rule, detector=DETECTORS["slow"])
    with pytest.raises(ValueError, match="NO_SUCH_THRESHOLD"):
        dataclasses.replace(rule, thresholds=("STUCK_RELATIVE_LOW", "NO_SUCH_THRESHOLD"))
    with pytest.raises(ValueError, match="CAE7xx"):
        dataclasses.replace(rule, code="CAE199")


def test_a_threshold_is_read_from_the_detector_module_first_then_from_thresholds(monkeypatch):
    """A threshold only one detector reads may live in its module (what adding a symptom needs: its detector
    and its rule, nothing else); a name in both reads the detector's own."""
    import sys

    rule = get_rule("CAE703")
    module = sys.modules[rule.detector.__module__]
    assert rule.threshold("STUCK_RELATIVE_LOW") == T.STUCK_RELATIVE_LOW
    monkeypatch.setattr(module, "STUCK_OWN_LIMIT", 0.25, raising=False)
    own = dataclasses.replace(rule, thresholds=("STUCK_RELATIVE_LOW", "STUCK_OWN_LIMIT"))
    assert own.threshold("STUCK_OWN_LIMIT") == 0.25 and "`STUCK_OWN_LIMIT`" in own.measured_by()
    monkeypatch.setattr(module, "STUCK_RELATIVE_LOW", 0.5, raising=False)
    assert own.threshold("STUCK_RELATIVE_LOW") == 0.5
    assert own.threshold("ORDER") is not None and own.threshold("detect_stuck") is None  # numbers only


def test_a_probe_rule_builds_its_finding_with_the_fix_of_the_cause_the_detector_named():
    rule = get_rule("CAE703")
    symptom = {"name": "stuck", "present": True, "cause": "dead_relu", "evidence": {"relative_end_loss": 1.0},
               "message": "the loss is flat"}
    finding = rule.symptom_finding("dead_relu", symptom, lr_suggestion=1e-3)
    assert (finding.code, finding.cause, finding.status, finding.doc) == (
        "CAE703", "dead_relu", "suspected", "caedoctor rule CAE703")
    assert finding.fix.kind == "hidden_activation"
    assert finding.evidence == {"symptom": "stuck", "relative_end_loss": 1.0}
    assert "why_this_cause" in rule.symptom_finding("learning_rate_too_low", symptom, 1e-3, note="n").evidence
