"""joint.test_together: with scripted probe results (the logic, not the training), fixes that help only
together are confirmed by leaving each one out, a fix the joint does as well without stays refuted, and
nothing runs for a model that already learns or when one fix alone was confirmed."""

from __future__ import annotations

import pytest

from caedoctor.data import load_data
from caedoctor.diagnosis import Diagnosis, lr_finder
from caedoctor.probing import probes
from caedoctor.probing.budget import Budget
from caedoctor.diagnosis.joint import test_together as joint_stage
from caedoctor.diagnosis.judge import compare
from caedoctor.probing.probes import ProbeResult
from caedoctor.diagnosis.state import RunState
from caedoctor.findings import Effect, Finding, Fix
from caedoctor.models import load_model
from caedoctor.setup import Setup

from tiny import blobs, compiled, tiny_cae

OUT = Fix("output_activation", {"activation": "linear"}, "a linear output")
BN = Fix("add_batchnorm", {}, "add BatchNorm")
LEAKY = Fix("hidden_activation", {"from": "relu", "to": "leaky_relu"}, "LeakyReLU")


def _probe(label, rel):
    return ProbeResult(label=label, steps=100, steps_run=100, seconds=0.0, loss_curve=[rel],
                       metrics={"relative_mse": rel, "ssim": 0.5, "mse": rel})


def _run(monkeypatch, alone: dict, scripted: dict, baseline: float = 1.0, info: tuple = (), budget=None):
    """alone: fix kind -> relative MSE of its single probe; scripted: probe label -> relative MSE of the
    probes the joint stage runs (the seed-noise probe: 1.02, beside a baseline of 1.0)."""
    data = load_data(blobs(40))
    loaded = load_model(compiled(tiny_cae(), lr=1e-3), data.input_shape)
    base = _probe("baseline", baseline)
    findings, tested = [], {}
    for code, cause, fix in (("CAE203", "output_activation_range", OUT), ("CAE708", "saturated_activation", BN),
                             ("CAE401", "dead_relu", LEAKY)):
        if fix.kind not in alone:
            continue
        probe = _probe(fix.kind, alone[fix.kind])
        cmp = compare(base, probe, "relative_mse", 0.1)
        tested[fix.key] = (probe, cmp)
        findings.append(Finding(code=code, cause=cause, severity="info" if fix.kind in info else "warning",
                                status=cmp.status, message="m",
                                fix=fix, effect=Effect("relative_mse", cmp.before, cmp.after)))
    calls = []

    def fake_probe(_setup, *, steps, seed, label="", **_kw):
        calls.append(label)
        if "seed+1" in label:
            return _probe(label, baseline * 1.02)
        return _probe(label, scripted[label])

    monkeypatch.setattr(probes, "run_probe", fake_probe)
    monkeypatch.setattr(lr_finder, "retuned_lr", lambda *a, **k: 1e-3)
    result = Diagnosis(verdict="not_converging", findings=findings, probe=None, lr_find=None, elapsed_s=0.0)
    joint_stage(RunState(setup=Setup.of(loaded, data), result=result, steps=100, seed=0, say=lambda _m: None,
                         budget=budget or Budget(None), baseline=base, tested=tested))
    return {f.fix.kind: f for f in findings}, calls, result


def test_two_fixes_that_only_help_together_are_both_confirmed(monkeypatch):
    found, calls, result = _run(monkeypatch, {"output_activation": 1.0, "add_batchnorm": 0.98},
                                {"joint: add_batchnorm + output_activation": 0.05})
    assert found["output_activation"].status == found["add_batchnorm"].status == "confirmed"
    assert found["output_activation"].evidence["confirmed_jointly_with"] == ["CAE708"]
    assert found["add_batchnorm"].evidence["alone"]["after"] == pytest.approx(0.98)
    assert found["add_batchnorm"].effect.after == pytest.approx(0.05)
    # with two fixes, leaving one out is the other alone: no further probe than the joint and the noise
    assert calls == ["joint: add_batchnorm + output_activation", "baseline (seed+1)"]
    assert any(c.get("left_out_of") == "joint" for c in result.counterfactuals)
    # every counterfactual record has the shape reports and benchmarks read: a fix dict with a kind
    assert all(isinstance(c["fix"], dict) and c["fix"]["kind"] for c in result.counterfactuals)


def test_leave_one_out_keeps_only_the_fixes_the_gain_needs(monkeypatch):
    joint = "joint: add_batchnorm + hidden_activation + output_activation"
    found, calls, _ = _run(monkeypatch, {"output_activation": 1.0, "add_batchnorm": 0.97, "hidden_activation": 0.99},
                           {joint: 0.05, "joint without output_activation": 0.9,
                            "joint without add_batchnorm": 0.95, "joint without hidden_activation": 0.051})
    assert found["output_activation"].status == found["add_batchnorm"].status == "confirmed"
    assert found["hidden_activation"].status == "refuted"
    assert found["hidden_activation"].evidence["joint_without_it"]["after"] == pytest.approx(0.051)
    assert sorted(found["add_batchnorm"].evidence["confirmed_jointly_with"]) == ["CAE203", "CAE401"]
    assert len([c for c in calls if c.startswith("joint without")]) == 3


def test_a_joint_fix_that_does_not_help_leaves_every_finding_refuted_and_says_it_was_tried(monkeypatch):
    found, calls, _ = _run(monkeypatch, {"output_activation": 1.0, "add_batchnorm": 0.98},
                           {"joint: add_batchnorm + output_activation": 0.99})
    assert {f.status for f in found.values()} == {"refuted"}
    assert found["output_activation"].evidence["joint"]["status"] == "refuted"
    assert "joint without" not in " ".join(calls)


def test_nothing_runs_for_a_model_that_learns(monkeypatch):
    found, calls, _ = _run(monkeypatch, {"output_activation": 0.1, "add_batchnorm": 0.1}, {}, baseline=0.1)
    assert calls == []
    assert {f.status for f in found.values()} == {"refuted"}


def test_nothing_runs_when_a_single_fix_was_confirmed(monkeypatch):
    found, calls, _ = _run(monkeypatch, {"output_activation": 0.3, "add_batchnorm": 1.0}, {})
    assert found["output_activation"].status == "confirmed"
    assert calls == []


def test_a_fix_that_did_harm_alone_is_not_tried_together(monkeypatch):
    # BatchNorm alone doubled the error: only one candidate is left, so no joint probe
    found, calls, _ = _run(monkeypatch, {"output_activation": 1.0, "add_batchnorm": 2.0}, {})
    assert calls == []


def test_a_fix_that_spoils_the_others_is_left_out_when_the_joint_does_not_help(monkeypatch):
    # dev-057: the joint of three ended worse than the baseline; without one of them the other two fix it
    joint = "joint: add_batchnorm + hidden_activation + output_activation"
    found, calls, result = _run(monkeypatch, {"output_activation": 1.0, "add_batchnorm": 0.98,
                                              "hidden_activation": 0.99},
                                {joint: 1.3, "joint without output_activation": 1.2,
                                 "joint without add_batchnorm": 1.0, "joint without hidden_activation": 0.05})
    assert found["output_activation"].status == found["add_batchnorm"].status == "confirmed"
    assert found["add_batchnorm"].evidence["confirmed_jointly_with"] == ["CAE203"]
    assert found["add_batchnorm"].effect.after == pytest.approx(0.05)
    assert found["hidden_activation"].status == "refuted"
    # the three subsets, then nothing more: with two fixes left, leaving one out is the other alone
    assert [c for c in calls if c.startswith("joint")] == [joint, "joint without add_batchnorm",
                                                           "joint without hidden_activation",
                                                           "joint without output_activation"]
    assert sum(c.get("cause") == "joint" for c in result.counterfactuals) == 4


def test_when_no_subset_helps_either_every_finding_stays_refuted(monkeypatch):
    joint = "joint: add_batchnorm + hidden_activation + output_activation"
    found, calls, _ = _run(monkeypatch, {"output_activation": 1.0, "add_batchnorm": 0.98, "hidden_activation": 0.99},
                           {joint: 1.3, "joint without output_activation": 1.2,
                            "joint without add_batchnorm": 1.0, "joint without hidden_activation": 0.99})
    assert {f.status for f in found.values()} == {"refuted"}
    assert found["output_activation"].evidence["joint"]["status"] == "refuted"
    assert len([c for c in calls if c.startswith("joint without")]) == 3


@pytest.mark.parametrize("joint_after, confirmed", [(0.5, True), (0.75, False)])
def test_an_info_suspicion_confirmed_jointly_needs_the_slow_cut(monkeypatch, joint_after, confirmed):
    # dev-028: a too-large kernel (info) refuted alone, confirmed only by a joint probe that cut the error 28%
    found, _, _ = _run(monkeypatch, {"output_activation": 1.0, "add_batchnorm": 0.98},
                       {"joint: add_batchnorm + output_activation": joint_after}, info=("output_activation",))
    assert found["add_batchnorm"].status == "confirmed"  # a warning: any gain beyond the noise
    assert found["output_activation"].status == ("confirmed" if confirmed else "refuted")
    assert ("minor_gain" in found["output_activation"].evidence) is not confirmed


def test_a_joint_test_the_budget_has_no_room_for_is_recorded_as_left_untested(monkeypatch):
    budget = Budget(120.0, say=lambda _m: None)
    monkeypatch.setattr(budget, "can_start", lambda steps, share: False)
    found, calls, _ = _run(monkeypatch, {"output_activation": 1.0, "add_batchnorm": 0.98}, {}, budget=budget)
    assert calls == []
    assert found["add_batchnorm"].evidence["joint"]["status"] == "not tested"
    assert {(u["code"], u["test"]) for u in budget.untested} == {("CAE203", "joint"), ("CAE708", "joint")}


def test_a_fix_held_back_behind_an_untested_upstream_cause_still_counts_as_one_that_helped(monkeypatch):
    """A held-back finding's fix helped alone: "no single fix helped" is false, so no joint probe runs."""
    data = load_data(blobs(40))
    loaded = load_model(compiled(tiny_cae(), lr=1e-3), data.input_shape)
    base = _probe("baseline", 1.0)
    findings, tested = [], {}
    for code, cause, fix, after in (("CAE203", "output_activation_range", OUT, 1.0),
                                    ("CAE401", "dead_relu", LEAKY, 0.99),
                                    ("CAE708", "saturated_activation", BN, 0.3)):
        probe = _probe(fix.kind, after)
        tested[fix.key] = (probe, compare(base, probe, "relative_mse", 0.1))
        findings.append(Finding(code=code, cause=cause, severity="warning", status="refuted", message="m", fix=fix,
                                effect=Effect("relative_mse", 1.0, after)))
    findings[2].status = "suspected"
    findings[2].evidence = {"symptom": "saturation",
                            "held_back": "its fix helped, but the learning rate was not tested"}
    calls = []
    monkeypatch.setattr(probes, "run_probe", lambda *_a, label="", **_k: calls.append(label) or _probe(label, 0.05))
    result = Diagnosis(verdict="not_converging", findings=findings, probe=None, lr_find=None, elapsed_s=0.0)
    joint_stage(RunState(setup=Setup.of(loaded, data), result=result, steps=100, seed=0, say=lambda _m: None,
                         budget=Budget(None), baseline=base, tested=tested))
    assert calls == [] and findings[2].status == "suspected"
