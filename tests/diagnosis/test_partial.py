"""A diagnosis the time budget cut short says so at its top (`partial`): in `Diagnosis.partial` and
`partial_reason`, in the JSON and in the text, before the causes, with what was left untested and how long
the full diagnosis needs; a complete one says nothing."""

from __future__ import annotations

import json

import pytest

from caedoctor.data import load_data
from caedoctor.diagnosis import Diagnosis, diagnose
from caedoctor.probing.budget import Budget
from caedoctor.diagnosis.partial import partial_of, suggested_budget
from caedoctor.findings import Finding, Fix
from caedoctor.models import load_model

from tiny import blobs, compiled, rate_untested_and_saturation_held_back, tiny_cae


def _budget(seconds=120.0, step=0.1, requested=500, planned=500):
    budget = Budget(seconds, say=lambda _m: None)
    budget.step_seconds, budget.requested_steps, budget.planned_steps = step, requested, planned
    return budget


def _finding(code, cause, fix_kind="learning_rate"):
    return Finding(code, cause, "warning", "m", fix=Fix(fix_kind, {}))


def test_a_complete_diagnosis_is_not_partial():
    assert not partial_of(Budget(None), [], elapsed_s=300.0, probes_run=9).partial
    assert not partial_of(_budget(), [_finding("CAE501", "learning_rate_too_high")], 100.0, 4).partial
    d = Diagnosis(verdict="converging", findings=[], probe=None, lr_find=None, elapsed_s=1.0).to_dict()
    assert d["partial"] is False and d["partial_reason"] is None and d["untested"] == []


def test_untested_suspicions_make_it_partial_with_the_time_the_full_diagnosis_needs():
    budget = _budget()
    rate, bn = _finding("CAE501", "learning_rate_too_high"), _finding("CAE708", "saturated_activation", "add_batchnorm")
    budget.leave_untested(rate, "no time")
    budget.leave_untested(rate, "no time")  # a second call: the same probe, listed once
    budget.leave_untested(bn, "no time")
    partial = partial_of(budget, [rate, bn], elapsed_s=121.0, probes_run=3)
    assert [u["code"] for u in partial.untested] == ["CAE501", "CAE708"]
    assert partial.full_seconds == pytest.approx(121.0 + 2 * 50.0)  # two probes of 500 steps at 0.1 s
    assert partial.reason == ("the time budget (120 s) was spent: 2 suspicions not tested (learning_rate_too_high "
                              "CAE501, saturated_activation CAE708); the full diagnosis needs about 221 s: rerun "
                              "with --budget-seconds 270")
    assert suggested_budget(221.0) == 270 and suggested_budget(10.0) == 30


def test_probes_shortened_by_the_budget_make_it_partial_too():
    budget = _budget(step=0.1, requested=500, planned=150)
    partial = partial_of(budget, [], elapsed_s=100.0, probes_run=4)
    assert partial.partial and partial.untested == []
    assert "was too short for full-length probes: every probe ran 150 steps instead of 500" in partial.reason
    assert partial.full_seconds == pytest.approx(100.0 + 4 * 350 * 0.1)


def test_a_skipped_range_test_leaves_the_learning_rate_findings_untested():
    budget = _budget()
    budget.skip("the LR range test", 100)
    rate = _finding("CAE501", "learning_rate_too_high")
    rate.evidence = {"not_tested": "no learning rate given and no LR range test suggestion available"}
    partial = partial_of(budget, [rate], elapsed_s=120.0, probes_run=1)
    assert "the LR range test did not run" in partial.reason and "learning_rate_too_high CAE501" in partial.reason
    assert partial.full_seconds == pytest.approx(120.0 + 10.0 + 50.0)  # the range test, then the rate's probe


def test_a_diagnosis_cut_short_says_so_at_its_top_in_json_and_text():
    """A real tiny diagnosis with a budget far too small (a machine this slow): partial, and said first."""
    data = load_data(blobs(160))
    loaded = load_model(compiled(tiny_cae(), lr=1.0), data.input_shape)  # a rate far too high
    result = diagnose(loaded, data, steps=200, seed=0, lr_find_steps=60, budget_seconds=1.0)
    d = json.loads(json.dumps(result.to_dict()))
    assert d["partial"] is True and "the time budget (1 s)" in d["partial_reason"]
    assert "rerun with" in d["partial_reason"] and list(d)[:3] == ["verdict", "partial", "partial_reason"]
    text = str(result)
    lines = text.splitlines()
    assert lines[0].startswith("verdict:") and lines[1].startswith("PARTIAL: the time budget (1 s)")
    assert result.partial_reason in " ".join(text.split())


def test_the_text_says_partial_under_the_verdict_and_shows_a_held_back_finding_with_its_effect():
    rate, held = rate_untested_and_saturation_held_back()
    reason = "the time budget (120 s) was spent: 1 suspicion not tested (learning_rate_too_high CAE501)"
    d = Diagnosis(verdict="not_converging", findings=[rate, held], probe=None, lr_find=None, elapsed_s=119.0,
                  partial=True, partial_reason=reason)
    lines = str(d).splitlines()
    assert lines[1] == f"PARTIAL: {reason}"
    i = lines.index("suspected: the fix helped, but an untested cause can produce it by itself")
    assert lines[i + 1].startswith("  CAE708 saturated_activation") and "3.22 -> 0.74" in lines[i + 1]
    assert "CAE708" not in "\n".join(lines[lines.index("suspected, not tested"):])
