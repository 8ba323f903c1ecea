"""A probe trained on (`probes.extend_probe`) is the longer probe, and `extend` follows an undecided pair."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caedoctor.data import load_data
from caedoctor.probing.checkpoints import CheckSet
from caedoctor.diagnosis.extend import FADES, HELPS_LATER, disagreement
from caedoctor.diagnosis.forecast import Forecast, HorizonComparison
from caedoctor.diagnosis.judge import Comparison
from caedoctor.probing.probes import extend_probe, run_probe
from caedoctor.probing.reuse import CompiledModels
from caedoctor.models import load_model
from caedoctor.setup import Setup

from tiny import blobs, compiled, stateful_cae, tiny_cae


@pytest.fixture(scope="module")
def setup():
    data = load_data(blobs(96))  # fewer samples than steps x batch: the batches repeat, reshuffled
    return Setup.of(load_model(stateful_cae(), data.input_shape), data)


@pytest.mark.parametrize("pooled", [False, True])
def test_a_probe_trained_on_is_the_longer_probe_step_for_step(setup, pooled):
    checks = CheckSet.of(setup.data, 1.0)
    models = CompiledModels(max_val=1.0) if pooled else None
    short = run_probe(setup, steps=50, seed=3, checks=checks, check_every=1, keep=True, models=models)
    longer = extend_probe(short, 125, checks=checks, check_every=1)
    fresh = run_probe(setup, steps=125, seed=3, checks=checks, check_every=1)
    assert (longer.steps, longer.steps_run) == (125, 125) and longer.complete
    np.testing.assert_allclose(longer.loss_curve, fresh.loss_curve, rtol=1e-5)
    assert [s for s, _ in longer.checkpoints] == [s for s, _ in fresh.checkpoints] == [25, 50, 75, 100, 125]
    for (_, a), (_, b) in zip(longer.checkpoints, fresh.checkpoints):
        assert a["relative_mse"] == pytest.approx(b["relative_mse"], rel=1e-5)
    assert longer.metrics["relative_mse"] == pytest.approx(fresh.metrics["relative_mse"], rel=1e-5)
    assert short.live is None and longer.live is not None  # the model moved on with the longer probe
    assert longer.seconds > short.seconds


def test_a_probe_not_kept_cannot_be_trained_on(setup):
    probe = run_probe(setup, steps=25, seed=0)
    assert probe.live is None
    with pytest.raises(ValueError, match="not kept"):
        extend_probe(probe, 50)


def _at(gain, width=0.5):
    f = Forecast(1500, 0.1, 0.05, 0.2, 500, 0.1, 0.3, {}, "ensemble")
    return HorizonComparison(f, f, gain, width)


def _cmp(status, gain):
    return Comparison(status, "relative_mse", 1.0, math.exp(-gain), 1 - math.exp(-gain), gain, 0.2)


def test_a_pair_is_undecided_only_when_where_it_ends_and_its_forecast_disagree():
    margin = 0.2
    assert disagreement(_cmp("refuted", -0.3), _at(0.5), margin) == HELPS_LATER
    assert disagreement(_cmp("confirmed", 0.5), _at(0.1), margin) == FADES
    assert disagreement(_cmp("confirmed", 0.5), _at(0.6), margin) is None
    assert disagreement(_cmp("refuted", 0.0), _at(0.1), margin) is None
    assert disagreement(_cmp("refuted", 0.0), None, margin) is None  # no curves: nothing to follow
    assert disagreement(_cmp("refuted", 0.0), _at(-math.inf), margin) is None


def _stuck_sgd(data):
    """SGD at a rate far too low: every change looks alike early, so the pairs are worth following."""
    return load_model(compiled(tiny_cae(output_activation="linear"), optimizer="sgd", lr=1e-4), data.input_shape)


@pytest.fixture(scope="module")
def followed(tmp_path_factory):
    """A diagnosis with every extendable pair followed to a horizon of 4x the probe (`CAEDOCTOR_FOLLOW_ALL`)."""
    import os

    import caedoctor

    data = load_data(blobs(128))
    os.environ["CAEDOCTOR_FOLLOW_ALL"] = "1"
    try:
        return caedoctor.diagnose(_stuck_sgd(data), data, steps=50, horizon_steps=200, budget_seconds=None)
    finally:
        del os.environ["CAEDOCTOR_FOLLOW_ALL"]


def test_a_followed_pair_is_judged_at_each_doubling_up_to_the_horizon(followed):
    records = [c for c in followed.counterfactuals if c.get("followed")]
    assert records, [c["finding"] for c in followed.counterfactuals]
    for c in records:
        trail = c["followed"]["trail"]
        assert [p["steps"] for p in trail][-2:] == [100, 200]
        assert trail[-1]["forecast_width"] == 0.0  # at the horizon the measurement is the answer
        assert c["probe"]["steps_run"] == 200 and c["comparison"]["log_gain"] == trail[-1]["log_gain"]
    finding = next(f for f in followed.findings if f.code == records[0]["finding"])
    assert "CAEDOCTOR_FOLLOW_ALL" in finding.evidence["followed"]
    # the baseline was trained on once per length, whatever the number of pairs
    trained_on = [p for p in followed.timings["probes"] if p["label"].startswith("baseline (trained on)")]
    assert [p["steps_run"] for p in trained_on] == [50, 100]
    assert f"baseline (200 steps)" in followed.probe_results


def test_a_pair_the_budget_cannot_follow_stays_suspected_and_the_diagnosis_says_partial(monkeypatch):
    import caedoctor
    from caedoctor.diagnosis import extend

    data = load_data(blobs(128))
    monkeypatch.setenv("CAEDOCTOR_FOLLOW_ALL", "1")
    monkeypatch.setattr(extend, "affordable", lambda state, steps: False)
    d = caedoctor.diagnose(_stuck_sgd(data), data, steps=50, horizon_steps=200, budget_seconds=None)
    stopped = [c for c in d.counterfactuals if (c.get("followed") or {}).get("undecided")]
    assert stopped
    codes = {c["finding"] for c in stopped}
    for f in d.findings:
        if f.code in codes and f.severity != "error":
            assert f.status == "suspected", f
            assert "undecided when the time budget ended" in f.evidence["followed"]
    assert d.partial and "not followed to the horizon" in d.partial_reason
