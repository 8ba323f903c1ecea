"""Sequential decisions (`sequential.early_rule`), the checkpoints they read, the time budget and the
timings a diagnosis records."""

from __future__ import annotations

import json
import math
import time

import keras
import numpy as np
import pytest

from caedoctor.data import load_data
from caedoctor.diagnosis import diagnose
from caedoctor.probing.budget import Budget
from caedoctor.probing.checkpoints import CheckSet, Checkpoints, ProbeClock
from caedoctor.probing.probes import run_probe
from caedoctor.diagnosis.sequential import early_rule
from caedoctor.models import load_model
from caedoctor.setup import Setup
from caedoctor.thresholds import EARLY_CONFIRM_LOG_GAIN, EARLY_MIN_STEP, EARLY_REFUTE_MIN_STEP

from tiny import blobs, compiled, stable_diagnosis, tiny_cae


def _points(values: dict, metric="relative_mse") -> list:
    return [(step, {metric: v}) for step, v in sorted(values.items())]


BASE = _points({step: 1.0 for step in range(50, 501, 50)})


def test_a_gain_beyond_the_confirm_threshold_at_two_checkpoints_in_a_row_confirms():
    decide = early_rule(BASE, "relative_mse")
    assert decide(100, _points({50: 0.5, 100: 0.2})) is None  # 50: below the threshold (log 2 < log 3)
    d = decide(150, _points({50: 0.5, 100: 0.2, 150: 0.1}))
    assert d is not None and d.status == "confirmed" and d.step == 150
    assert d.before == 1.0 and d.after == 0.1 and d.log_gain == pytest.approx(math.log(10))


def test_nothing_is_decided_before_the_minimum_step_or_from_one_checkpoint():
    decide = early_rule(BASE, "relative_mse")
    assert decide(50, _points({50: 0.01})) is None
    assert EARLY_MIN_STEP > 50
    assert decide(100, _points({100: 0.01})) is None  # one checkpoint only


def test_a_doubled_error_at_two_checkpoints_refutes_but_not_early_in_training():
    decide = early_rule(BASE, "relative_mse")
    assert decide(100, _points({50: 2.5, 100: 2.1})) is None  # a fix may start slower and end better
    assert EARLY_REFUTE_MIN_STEP > 100
    refuted = decide(300, _points({250: 2.5, 300: 2.1}))
    assert refuted is not None and refuted.status == "refuted"
    assert decide(300, _points({250: 0.9, 300: 0.5})) is None  # a gain, but not a decisive one
    assert decide(300, _points({250: 2.5, 300: 0.5})) is None  # not the same side twice


def test_a_measured_noise_margin_above_the_threshold_must_be_beaten_too():
    margin = EARLY_CONFIRM_LOG_GAIN + 1.0  # a chaotic baseline: its seeds land far apart
    decide = early_rule(BASE, "relative_mse", margins={"relative_mse": margin})
    assert decide(100, _points({50: 0.2, 100: 0.2})) is None  # log 5 < margin
    assert decide(100, _points({50: 0.05, 100: 0.05})).status == "confirmed"  # log 20 > margin


def test_no_decision_where_the_baseline_has_no_checkpoint_or_diverged():
    decide = early_rule(_points({50: 1.0}), "relative_mse")
    assert decide(100, _points({50: 0.01, 100: 0.01})) is None
    nan_base = early_rule(_points({50: math.inf, 100: math.inf}), "relative_mse")
    assert nan_base(100, _points({50: 0.5, 100: 0.5})).status == "confirmed"  # any finite probe beats NaN
    nan_probe = early_rule(BASE, "relative_mse")
    assert nan_probe(300, _points({250: math.inf, 300: math.inf})).status == "refuted"


@pytest.fixture(scope="module")
def data():
    return load_data(blobs(320))


def test_check_set_scores_relative_mse_and_dssim_like_the_final_scoring(data):
    model = compiled(tiny_cae())
    checks = CheckSet.of(data, max_val=1.0, samples=16)
    assert checks.x.shape[0] == 16 and CheckSet.of(data, 1.0, samples=10**6).x.shape[0] == data.val_count
    values = checks.score(model)
    assert set(values) == {"relative_mse", "dssim"} and all(math.isfinite(v) for v in values.values())
    # A model that outputs exactly the targets' mean image scores 1.0 relative MSE.
    mean = checks.y.mean(axis=0, keepdims=True)

    class Mean(keras.Model):
        def call(self, x):
            return keras.ops.broadcast_to(keras.ops.convert_to_tensor(mean), keras.ops.shape(x))

    assert Mean().__call__(checks.x).shape == checks.y.shape
    assert checks.score(Mean())["relative_mse"] == pytest.approx(1.0, rel=1e-5)


def test_a_probe_records_checkpoints_stops_at_a_decision_and_times_its_parts(data):
    setup = Setup.of(load_model(compiled(tiny_cae()), data.input_shape), data)
    checks = CheckSet.of(data, max_val=1.0, samples=64)
    full = run_probe(setup, steps=150, seed=0, checks=checks, check_every=2)
    assert [s for s, _ in full.checkpoints] == [50, 100, 150]
    assert full.complete and full.decided_at is None
    assert set(full.timing) == {"build", "tracing", "steps", "monitor", "validation", "checkpoints",
                               "scoring", "fit_other"}  # "transfer" only for a probe run elsewhere
    assert full.timing["steps"] > 0 and full.timing["checkpoints"] > 0

    stop_at_100 = run_probe(setup, steps=150, seed=0, checks=checks, check_every=2,
                            decide=lambda step, points: "decided" if step >= 100 else None)
    assert stop_at_100.decided_at == 100 and stop_at_100.steps_run == 100 and not stop_at_100.complete
    # Same seed, same batches: the first checkpoints agree with the full run's.
    assert stop_at_100.checkpoints[0][1]["relative_mse"] == pytest.approx(full.checkpoints[0][1]["relative_mse"],
                                                                          rel=1e-4)
    shadow = run_probe(setup, steps=150, seed=0, checks=checks, check_every=2, stop_on_decision=False,
                       decide=lambda step, points: "decided" if step >= 100 else None)
    assert shadow.decided_at == 100 and shadow.steps_run == 150  # recorded, not stopped


def test_a_deadline_stops_a_probe_at_the_next_chunk(data):
    setup = Setup.of(load_model(compiled(tiny_cae()), data.input_shape), data)
    probe = run_probe(setup, steps=2000, seed=0, deadline=time.perf_counter() + 0.5)
    assert probe.stopped == "out_of_time" and probe.steps_run < 2000


def _Clock(steps):
    """What a probe's clock reads after steps of these seconds (the first includes tracing)."""
    clock = ProbeClock()
    clock.steps = list(steps)
    return clock.reading()


def test_the_budget_shortens_every_probe_when_the_baseline_would_not_fit_and_says_so():
    said = []
    budget = Budget(10.0, start=time.perf_counter(), say=said.append)
    stop_at = budget.baseline_steps(500)
    assert stop_at(_Clock([1.0, 0.01, 0.01])) == 500  # two steps timed: no estimate yet
    steps = stop_at(_Clock([1.0] + [0.01] * 6))  # 10 ms a step: 500 steps = 5 s > 35% of 10 s
    assert 100 <= steps < 500 and steps % 50 == 0
    assert budget.step_seconds == pytest.approx(0.01) and budget.overhead_seconds == pytest.approx(0.99)
    assert said and f"{steps} steps instead of 500" in said[0] and "may not fit" not in said[0]
    assert stop_at(_Clock([1.0] + [0.001] * 6)) == steps  # planned once, then kept
    assert Budget(None).baseline_steps(500)(_Clock([1.0] + [0.01] * 6)) == 500


def test_a_model_too_slow_for_even_the_shortest_probe_is_told_so_at_once():
    said = []
    budget = Budget(10.0, start=time.perf_counter(), say=said.append)
    assert budget.baseline_steps(500)(_Clock([5.0] + [1.0] * 6)) == 100  # 1 s a step: 100 steps = 100 s
    assert "may not fit" in said[0] and "about 1000 ms" in said[0]


def test_a_probe_starts_only_when_enough_of_its_time_is_left():
    budget = Budget(1.0, start=time.perf_counter() - 0.9, say=lambda _m: None)
    assert budget.can_start(500, 0.4)  # nothing measured yet: no estimate to refuse on
    budget.step_seconds = 0.01
    assert not budget.can_start(500, 0.4)  # 5 s a probe, 0.1 s left
    assert Budget(None).can_start(10**9, 1.0)


def _tiny_diagnosis(data, **kw):
    loaded = load_model(compiled(tiny_cae(), lr=1.0), data.input_shape)  # a rate far too high
    return diagnose(loaded, data, steps=200, seed=0, lr_find_steps=60, **kw)


@pytest.mark.e2e
def test_a_clear_counterfactual_is_decided_early_and_the_timings_say_where_the_time_went(data):
    result = _tiny_diagnosis(data)
    lr = [f for f in result.findings if f.cause == "learning_rate_too_high"]
    assert lr and lr[0].status == "confirmed"
    decided = [c for c in result.counterfactuals if c["comparison"]["decided_at"] is not None]
    for c in decided:
        assert c["probe"]["steps_run"] == c["comparison"]["decided_at"] <= 200
    lr_probe = next(c for c in decided if c["cause"] == "learning_rate_too_high")
    assert lr_probe["comparison"]["decided_at"] < 200  # 1.71 against 0.04 at step 100: no need to go on
    assert "decided_at" in lr[0].evidence
    t = result.to_dict()["timings"]
    json.dumps(t)
    assert {"loading model and data", "static checks", "baseline probe", "counterfactual probes"} <= set(t["stages"])
    assert t["probes"][0]["label"] == "baseline" and t["probes"][0]["steps"] > 0  # seconds of training steps
    assert t["probes"][0]["steps_planned"] == 200 and t["probes"][0]["steps_run"] == 200
    assert sum(t["stages"].values()) <= t["total"] + 1e-3 * len(t["stages"])  # each rounded to 1 ms
    assert "time (s):" in str(result)
    assert not result.partial and result.to_dict()["partial"] is False  # the default budget had room for all
    assert "PARTIAL" not in str(result)


@pytest.mark.e2e
def test_a_non_sequential_diagnosis_runs_every_probe_to_the_end_and_records_the_early_rule(data):
    result = _tiny_diagnosis(data, sequential=False)
    assert all(c["comparison"]["decided_at"] is None for c in result.counterfactuals)
    assert all(c["probe"]["steps_run"] in (200, c["probe"]["steps"]) or c["probe"]["stopped"]
               for c in result.counterfactuals)
    assert any("early_rule" in c for c in result.counterfactuals)


def test_a_tiny_budget_holds_and_leaves_the_untested_causes_suspected_with_the_reason(data):
    start = time.perf_counter()
    result = _tiny_diagnosis(data, budget_seconds=2.0)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0 + 8.0  # the deadline stops a running probe at its next chunk (plus loading, scoring)
    untested = [f for f in result.findings if "time budget" in f.evidence.get("not_tested", "")]
    assert all(f.status == "suspected" for f in untested)
    assert result.plan["budget_seconds"] == 2.0


@pytest.mark.e2e
def test_probes_side_by_side_give_the_same_diagnosis_as_one_after_the_other(data):
    alone = stable_diagnosis(_tiny_diagnosis(data).to_dict())
    side_by_side = stable_diagnosis(_tiny_diagnosis(data, jobs=2).to_dict())
    assert side_by_side["plan"].pop("jobs") == 2 and alone["plan"].pop("jobs") == 1
    alone["plan"].pop("reused_compiled"), side_by_side["plan"].pop("reused_compiled")  # who reuses depends on timing
    assert len(alone["counterfactuals"]) >= 2
    assert side_by_side == alone


def test_a_probe_of_changed_data_is_scored_on_its_own_data(data):
    """Scaled targets are scored against the scaled targets (at the scale the model learns), not the raw ones."""
    from caedoctor.findings import Fix
    from caedoctor.fixes import apply_fix

    x = blobs(320)
    raw = load_data((x, x * 255.0))  # the inputs in [0, 1], the targets in [0, 255]
    result = diagnose(load_model(compiled(tiny_cae(output_activation="linear")), raw.input_shape), raw, steps=100,
                      seed=0, lr_find_steps=0, quick=True)
    assert result.verdict != "invalid"
    from caedoctor.probing.budget import Budget
    from caedoctor.diagnosis.state import RunState

    setup = Setup.of(load_model(compiled(tiny_cae(output_activation="linear")), raw.input_shape), raw)
    scaled = apply_fix(setup, Fix("normalize_targets", {}))
    state = RunState(setup=setup, result=result, steps=100, seed=0, say=lambda _m: None, budget=Budget(None))
    state.checks = CheckSet.of(raw, max_val=255.0)
    state.evaluation = []
    checks, evaluation = state.scoring_for(scaled.data)
    assert checks is not state.checks and float(checks.y.max()) <= 1.0 + 1e-6 < float(state.checks.y.max())
    assert evaluation and float(max(y.max() for _, y in evaluation)) <= 1.0 + 1e-6
    assert state.scoring_for(setup.data) == (state.checks, state.evaluation)
    assert state.scoring_for(scaled.data)[0] is checks  # read once per data object
