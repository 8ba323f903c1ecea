"""Upstream before downstream, with scripted probes (the logic, not the training): the field notes'
preset:seed_hyper_bad on a busy machine, where the budget allows one counterfactual probe. A learning rate
the LR range test backs is tested first; a symptom's fix that helped is held back as `suspected` while the
rate that can produce the symptom by itself is untested, and left alone once the rate was tested; and the
diagnosis says it is partial (`upstream`, `partial`)."""

from __future__ import annotations

import pytest

from caedoctor.data import load_data
from caedoctor.diagnosis import Diagnosis
from caedoctor.probing import probes
from caedoctor.probing.budget import Budget
from caedoctor.diagnosis.counterfactuals import test_findings as run_counterfactuals
from caedoctor.diagnosis.partial import partial_of
from caedoctor.probing.probes import ProbeResult
from caedoctor.diagnosis.state import RunState
from caedoctor.diagnosis.upstream import hold_back
from caedoctor.findings import Effect, Finding, Fix
from caedoctor.models import load_model
from caedoctor.setup import Setup

from tiny import blobs, compiled, tiny_cae

# What the field notes measured: the baseline at 3.14, the rate's fix 0.021, BatchNorm's 0.74.
SCRIPT = {"baseline": 3.14, "learning_rate": 0.021, "add_batchnorm": 0.74}


def _probe(label, rel):
    return ProbeResult(label=label, steps=100, steps_run=100, seconds=0.0, loss_curve=[rel],
                       metrics={"relative_mse": rel, "ssim": 0.5, "mse": rel})


def _hyper_bad_findings():
    rate = Finding("CAE501", "learning_rate_too_high", "warning", "Adam at learning rate 0.1 is 10x above ...",
                   fix=Fix("learning_rate", {"learning_rate": None}, "set the rate to the range test's suggestion"))
    bn = Fix("add_batchnorm", {}, "add BatchNormalization")
    saturated = Finding("CAE708", "saturated_activation", "warning", "100% of dec_output's units saturated",
                        evidence={"symptom": "saturation"}, fix=bn)
    vanishing = Finding("CAE709", "vanishing_gradients", "warning", "no gradient reaches any layer",
                        evidence={"symptom": "vanishing_gradients"}, fix=bn)
    return [saturated, vanishing, rate]


def _diagnose(monkeypatch, suggestion, probes_allowed, script=SCRIPT):
    """The counterfactual stage and the hold-back after it, on the hyper_bad findings: a budget of 120 s that
    has room for `probes_allowed` counterfactual probes of 100 steps at 0.1 s a step."""
    data = load_data(blobs(40))
    loaded = load_model(compiled(tiny_cae(), lr=0.1), data.input_shape)
    ran = []

    def fake_probe(_setup, *, label="", **_kw):
        ran.append(label)
        return _probe(label, script[label])

    monkeypatch.setattr(probes, "run_probe", fake_probe)
    budget = Budget(120.0, say=lambda _m: None)
    budget.step_seconds, budget.requested_steps, budget.planned_steps = 0.1, 100, 100
    monkeypatch.setattr(budget, "can_start", lambda steps, share: len(ran) < probes_allowed)
    findings = _hyper_bad_findings()
    result = Diagnosis(verdict="not_converging", findings=findings, probe=None, lr_find=None, elapsed_s=0.0)
    state = RunState(setup=Setup.of(loaded, data), result=result, steps=100, seed=0, say=lambda _m: None,
                     budget=budget, baseline=_probe("baseline", SCRIPT["baseline"]), suggestion=suggestion,
                     margins={"relative_mse": 0.1})
    run_counterfactuals(state)
    hold_back(findings)
    return {f.code: f for f in findings}, ran, state


def test_the_rate_the_range_test_backs_is_tested_first_when_the_budget_allows_one_probe(monkeypatch):
    found, ran, state = _diagnose(monkeypatch, suggestion=0.0023, probes_allowed=1)
    assert ran == ["learning_rate"]
    assert found["CAE501"].status == "confirmed" and found["CAE501"].effect.after == pytest.approx(0.021)
    for code in ("CAE708", "CAE709"):  # not tested, and nothing confirmed in their place
        assert found[code].status == "suspected" and "time budget" in found[code].evidence["not_tested"]
    partial = partial_of(state.budget, list(found.values()), elapsed_s=118.0, probes_run=2)
    assert partial.partial and [u["code"] for u in partial.untested] == ["CAE708", "CAE709"]
    assert partial.full_seconds == pytest.approx(118.0 + 10.0)  # one BatchNorm probe of 100 steps at 0.1 s


def test_a_symptom_s_fix_is_held_back_while_the_rate_that_can_cause_it_is_untested(monkeypatch):
    # The range test does not back the rate (0.05 is within 3x of 0.1): the symptoms go first, as before.
    found, ran, state = _diagnose(monkeypatch, suggestion=0.05, probes_allowed=1)
    assert ran == ["add_batchnorm"]
    rate = found["CAE501"]
    assert rate.status == "suspected" and rate.effect is None and "time budget" in rate.evidence["not_tested"]
    for code in ("CAE708", "CAE709"):
        f = found[code]
        assert f.status == "suspected"  # its probe alone would have confirmed it
        assert (f.effect.before, f.effect.after) == pytest.approx((3.14, 0.74))  # the measured effect kept
        why = f.evidence["held_back"]
        assert "3.14 -> 0.74" in why and "CAE501" in why and "time budget (120 s)" in why
    partial = partial_of(state.budget, list(found.values()), elapsed_s=119.0, probes_run=2)
    assert partial.partial and [u["code"] for u in partial.untested] == ["CAE501"]
    assert "CAE708, CAE709 held back" in partial.reason


@pytest.mark.parametrize("rate_after", [0.021, 3.2])  # the rate's fix confirmed, or refuted
def test_nothing_is_held_back_once_the_rate_was_tested(monkeypatch, rate_after):
    found, ran, state = _diagnose(monkeypatch, suggestion=0.05, probes_allowed=2,
                                  script={**SCRIPT, "learning_rate": rate_after})
    assert ran == ["add_batchnorm", "learning_rate"]
    assert found["CAE501"].status == ("confirmed" if rate_after < 1 else "refuted")
    for code in ("CAE708", "CAE709"):
        assert found[code].status == "confirmed" and "held_back" not in found[code].evidence
    assert not partial_of(state.budget, list(found.values()), elapsed_s=60.0, probes_run=3).partial


def _confirmed(code, cause, symptom=None):
    f = Finding(code, cause, "warning", "m", evidence={"symptom": symptom} if symptom else {},
                fix=Fix("add_batchnorm", {}), status="confirmed")
    f.effect = Effect("relative_mse", 1.0, 0.3)
    return f


def _untested(code, cause):
    return Finding(code, cause, "warning", "m", fix=Fix("learning_rate", {}),
                   evidence={"not_tested": "the time budget (120 s) was spent"})


def test_which_findings_an_untested_upstream_cause_holds_back():
    collapsed = _confirmed("CAE704", "bottleneck_too_narrow", "collapsed_to_mean")  # a collapse a rate can cause
    exploding = _confirmed("CAE710", "exploding_gradients", "exploding_gradients")
    static = _confirmed("CAE401", "dead_relu")  # a static claim about the model, not a symptom
    rate_itself = _confirmed("CAE703", "learning_rate_too_low", "stuck")  # an upstream cause is no consequence
    findings = [collapsed, exploding, static, rate_itself, _untested("CAE104", "data_not_normalized")]
    assert hold_back(findings) == [exploding]  # unnormalised inputs blow up gradients; a collapse is not theirs
    findings.append(_untested("CAE501", "learning_rate_too_high"))
    assert hold_back(findings) == [collapsed]
    assert "a collapse to the mean image" in collapsed.evidence["held_back"]
    assert static.status == rate_itself.status == "confirmed"
