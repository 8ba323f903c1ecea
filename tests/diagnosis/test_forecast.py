"""The horizon (`diagnosis.horizon`), the forecaster (`diagnosis.forecast`) and folklore judged at the horizon
(`judge.early_only`, `sequential.refute_only`)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caedoctor.diagnosis.forecast import Forecast, HorizonComparison, compare_at_horizon, forecast
from caedoctor.diagnosis.horizon import Horizon
from caedoctor.diagnosis.judge import SLOW_LOG_GAIN, Comparison, early_only
from caedoctor.probing.probes import ProbeResult
from caedoctor.diagnosis.sequential import EarlyDecision, refute_only
from caedoctor.errors import ConfigError
from caedoctor.thresholds import DEFAULT_HORIZON_STEPS


def _curve(fn, steps=range(50, 501, 50), noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return [(s, float(fn(s) * math.exp(noise * rng.standard_normal()))) for s in steps]


def _probe(points, label="p") -> ProbeResult:
    return ProbeResult(label=label, steps=points[-1][0], steps_run=points[-1][0], seconds=0.0, loss_curve=[],
                       metrics={"relative_mse": points[-1][1]},
                       checkpoints=[(s, {"relative_mse": v}) for s, v in points])


def test_a_saturating_curve_is_forecast_near_its_value_at_the_horizon_inside_the_interval():
    truth = lambda s: 0.05 + 2.0 * s ** -0.5  # noqa: E731
    for seed in range(3):
        f = forecast(_curve(truth, noise=0.02, seed=seed), 1500)
        assert f.method == "ensemble" and f.extrapolated
        assert f.low <= truth(1500) <= f.high
        # it extrapolates: the value at step 500 overstates the error at 1,500 by more than the forecast does
        assert abs(math.log(f.value / truth(1500))) < 0.5 * abs(math.log(truth(500) / truth(1500)))


def test_the_interval_widens_with_the_curve_s_scatter_and_with_how_far_it_reaches():
    truth = lambda s: 0.1 + 0.9 * math.exp(-s / 150)  # noqa: E731
    quiet, noisy = forecast(_curve(truth, noise=0.01), 1500), forecast(_curve(truth, noise=0.15), 1500)
    assert noisy.high / noisy.low > quiet.high / quiet.low
    near, far = forecast(_curve(truth, noise=0.05), 600), forecast(_curve(truth, noise=0.05), 5000)
    assert far.sigma > near.sigma


def test_a_diverged_curve_forecasts_infinity_and_short_or_finished_curves_say_what_they_did():
    assert forecast([(50, 0.5), (100, math.inf)], 1500).method == "diverged"
    assert math.isinf(forecast([(50, 0.5), (100, math.nan)], 1500).value)
    short = forecast([(50, 0.5), (100, 0.4), (150, 0.4)], 1500)  # too few points to extrapolate: its level
    assert short.method == "last value" and short.value == pytest.approx(0.4) and short.low < 0.4 < short.high
    done = forecast([(50, 0.5), (100, 0.4), (150, 0.3)], 150)  # at the horizon already: what it reached
    assert done.method == "observed" and done.value == done.low == done.high == pytest.approx(0.3)
    assert forecast([], 1500).method == "no curve"
    as_json = forecast(_curve(lambda s: 0.2 + 1 / s), 1500).to_dict()
    assert as_json["level"] == 0.8 and set(as_json) >= {"value", "low", "high", "horizon", "families"}


def test_two_probes_separate_at_the_horizon_only_when_their_forecasts_do():
    base = _probe(_curve(lambda s: 0.30 + 2 / s ** 0.5, noise=0.03, seed=1))
    better = _probe(_curve(lambda s: 0.05 + 2 / s ** 0.5, noise=0.03, seed=2))
    faster = _probe(_curve(lambda s: 0.30 + 0.6 / s ** 0.5, noise=0.03, seed=3))  # same floor, early gain
    assert compare_at_horizon(base, better, "relative_mse", 1500).separates
    assert compare_at_horizon(base, better, "relative_mse", 1500).log_gain > SLOW_LOG_GAIN
    early = compare_at_horizon(base, faster, "relative_mse", 1500)
    assert early.log_gain < SLOW_LOG_GAIN
    empty = ProbeResult("e", 500, 500, 0.0, [], {"relative_mse": 0.3})
    assert compare_at_horizon(base, empty, "relative_mse", 1500) is None


def _confirmed(gain=1.2) -> Comparison:
    return Comparison("confirmed", "relative_mse", 0.3, 0.3 * math.exp(-gain), 1 - math.exp(-gain), gain, 0.1)


def _at(gain: float, width: float) -> HorizonComparison:
    f = Forecast(1500, 0.2, 0.1, 0.3, 500, 0.3, 0.1)
    return HorizonComparison(f, f, gain, width)


def test_folklore_that_only_helps_early_is_not_a_cause_at_the_horizon():
    c = _confirmed()
    assert early_only(c, "info", _at(0.1, 0.2)) and c.status == "refuted"
    c = _confirmed()
    assert not early_only(c, "info", _at(1.0, 0.2)) and c.status == "confirmed"  # holds at the horizon
    c = _confirmed()
    assert early_only(c, "info", _at(1.0, 1.5)) and c.status == "refuted"  # within the forecasts' uncertainty
    for severity in ("warning", "error"):  # a rule that reads a defect is judged by the probe as before
        c = _confirmed()
        assert not early_only(c, severity, _at(0.0, 0.2)) and c.status == "confirmed"
    c = _confirmed()
    assert not early_only(c, "info", None) and c.status == "confirmed"  # no curves: nothing to judge by


def test_an_info_level_probe_is_never_confirmed_early_but_may_be_refuted_early():
    answers = {100: EarlyDecision("confirmed", 100, 1.0, 0.1, 2.3), 300: EarlyDecision("refuted", 300, 0.1, 1, -2.3)}
    decide = refute_only(lambda step, points: answers.get(step))
    assert decide(100, []) is None
    assert decide(300, []).status == "refuted"
    assert decide(200, []) is None


def test_the_horizon_is_the_default_a_flag_or_the_users_fit_and_says_which():
    assert Horizon.of(None) == Horizon(DEFAULT_HORIZON_STEPS, "default")
    assert Horizon.of(4000) == Horizon(4000, "flag")
    assert Horizon.of(Horizon(7, "your fit")) == Horizon(7, "your fit")
    for bad in (0, -3, 2.5, "500", True, math.inf):
        with pytest.raises(ConfigError, match="horizon_steps"):
            Horizon.of(bad)
    fit = Horizon.of_fit(epochs=10, steps_per_epoch=None, train_count=3000, batch_size=32)
    assert fit.steps == 10 * 94 and fit.source == "your fit"
    assert "10 epochs x 94 steps" in fit.describe()
    assert Horizon.of_fit(epochs=2, steps_per_epoch=50, train_count=3000, batch_size=32).steps == 100
    assert "1,500 training steps" in Horizon.of(None).describe()


def test_one_spiky_checkpoint_does_not_bend_the_forecast():
    truth = lambda s: 0.1 + 1.0 * s ** -0.5  # noqa: E731
    smooth = _curve(truth)
    for at in (300, 400, 450):
        spiky = [(s, v * (4.0 if s == at else 1.0)) for s, v in smooth]
        # the spike is 4x (1.39 on the log scale); the robust fit moves the forecast by a fraction of that
        assert abs(math.log(forecast(spiky, 1500).value / forecast(smooth, 1500).value)) < 0.25, at
