"""bench/sequential.py: how often an early decision differs from the decision at the probe's last step."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
_spec = importlib.util.spec_from_file_location("bench_sequential", ROOT / "bench" / "sequential.py")
Q = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(Q)


def cf(status, early=None, steps=500, on_top_of=None):
    return {"finding": "CAE501", "kind": "learning_rate", "status": status, "steps": steps, "steps_run": steps,
            "log_gain": 1.0, "margin": 0.3, "on_top_of": on_top_of,
            "early_rule": None if early is None else {"status": early[0], "step": early[1]}}


def test_agreements_disagreements_and_probes_never_decided_early_are_counted_apart():
    records = [{"id": "a", "full": {"counterfactuals": [cf("confirmed", ("confirmed", 100)),
                                                        cf("refuted", ("confirmed", 150)),
                                                        cf("refuted"),
                                                        cf("confirmed", ("confirmed", 500)),  # at the last step
                                                        cf("confirmed", ("refuted", 100), on_top_of="CAE501")]}},
               {"id": "b", "full": {"error": "crash", "findings": []}}]
    doc = Q.agreement(records)
    assert doc["probes"] == 4  # the stacked probe is not a counterfactual against the baseline
    assert doc["decided_early"] == 2 and doc["disagreements"] == 1
    assert doc["disagreement_rate"] == pytest.approx(0.5)
    assert doc["disagreeing"][0]["early"]["step"] == 150 and doc["disagreeing"][0]["final"] == "refuted"
    assert doc["steps_saved_share"] == pytest.approx((400 + 350) / 2000)
    lo, hi = doc["wilson95"]
    assert 0 < lo < 0.5 < hi < 1


def test_no_probe_decided_early_has_no_rate():
    doc = Q.agreement([{"id": "a", "full": {"counterfactuals": [cf("refuted")]}}])
    assert doc["decided_early"] == 0 and doc["disagreement_rate"] is None
