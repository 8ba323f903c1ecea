"""judge: the statistics every decision uses. Here: an info-level suspicion on a converging run must cut its
error as much as the `slow` verdict asks; a smaller confirmed gain is an improvement, not a cause."""

from __future__ import annotations

import math

import pytest

from caedoctor.diagnosis.judge import SLOW_LOG_GAIN, compare, minor_on_converging
from caedoctor.diagnosis.probes import ProbeResult
from caedoctor.thresholds import SLOW_GAIN


def _probe(rel):
    return ProbeResult(label="p", steps=100, steps_run=100, seconds=0.0, loss_curve=[rel],
                       metrics={"relative_mse": rel, "ssim": 0.5, "mse": rel})


@pytest.mark.parametrize("verdict, after, demoted", [
    ("converging", 0.16, True),   # a 20% cut of a converging run: tuning
    ("converging", 0.10, False),  # 50%: the run was slow, the verdict will say so
    ("not_converging", 0.16, False),  # any confirmed gain on a failing run is evidence
    ("slow", 0.16, False),
])
def test_a_converging_run_needs_the_slow_cut(verdict, after, demoted):
    comparison = compare(_probe(0.2), _probe(after), "relative_mse", 0.05)
    assert comparison.status == "confirmed"
    assert minor_on_converging(comparison, verdict) is demoted
    assert comparison.status == ("refuted" if demoted else "confirmed")


def test_warning_and_error_rules_are_confirmed_by_any_gain_beyond_the_noise():
    comparison = compare(_probe(0.0273), _probe(0.0206), "relative_mse", 0.05)  # dev-035's CAE201: -25%
    assert not minor_on_converging(comparison, "converging", "error")
    assert not minor_on_converging(comparison, "converging", "warning")
    assert minor_on_converging(comparison, "converging", "info")


def test_the_cut_is_the_slow_verdicts():
    assert SLOW_LOG_GAIN == pytest.approx(math.log(1 / SLOW_GAIN))
    exactly = compare(_probe(1.0), _probe(SLOW_GAIN * 0.999), "relative_mse", 0.05)
    assert not minor_on_converging(exactly, "converging")
