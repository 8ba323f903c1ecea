"""judge: the statistics every decision uses. Here: an info-level suspicion must cut its error as much as the
`slow` verdict asks, whatever the run's verdict; a smaller confirmed gain is an improvement, not a cause."""

from __future__ import annotations

import math

import pytest

from caedoctor.diagnosis.judge import (SLOW_LOG_GAIN, compare, judge, minor_gain, needs_second_seed,
                                       noise_margin)
from caedoctor.probing.probes import ProbeResult
from caedoctor.thresholds import SLOW_GAIN


def _probe(rel):
    return ProbeResult(label="p", steps=100, steps_run=100, seconds=0.0, loss_curve=[rel],
                       metrics={"relative_mse": rel, "ssim": 0.5, "mse": rel})


@pytest.mark.parametrize("before, after, demoted", [
    (0.2, 0.16, True),   # a 20% cut: tuning
    (0.2, 0.10, False),  # 50%: a cause (on a converging run the verdict becomes `slow`)
    (0.268, 0.168, True),  # dev-026, a healthy control whose probe read `unstable`: 37%
    (0.44, 0.347, True),  # dev-058, past its blocking shape error: 21%
    (7.579, 0.72, False),  # dev-045: 90%
])
def test_an_info_suspicion_needs_the_slow_cut_whatever_the_verdict(before, after, demoted):
    comparison = compare(_probe(before), _probe(after), "relative_mse", 0.05)
    assert comparison.status == "confirmed"
    assert minor_gain(comparison) is demoted
    assert comparison.status == ("refuted" if demoted else "confirmed")


def test_warning_and_error_rules_are_confirmed_by_any_gain_beyond_the_noise():
    comparison = compare(_probe(0.0273), _probe(0.0206), "relative_mse", 0.05)  # dev-035's CAE201: -25%
    assert not minor_gain(comparison, "error")
    assert not minor_gain(comparison, "warning")
    assert minor_gain(comparison, "info")


def test_the_cut_is_the_slow_verdicts():
    assert SLOW_LOG_GAIN == pytest.approx(math.log(1 / SLOW_GAIN))
    exactly = compare(_probe(1.0), _probe(SLOW_GAIN * 0.999), "relative_mse", 0.05)
    assert not minor_gain(exactly)


def _judged(base, change, base2, change2):
    """judge() of a first pair whose gain is ambiguous under the baseline seeds' margin, then its replicate."""
    margin = noise_margin(_probe(base), _probe(base2), "relative_mse")
    assert needs_second_seed(compare(_probe(base), _probe(change), "relative_mse", margin))
    return judge(_probe(base), _probe(change), "relative_mse", margin, replicate=(_probe(base2), _probe(change2)))


def test_a_fix_that_removes_a_seed_instability_is_judged_by_its_own_seeds():
    # dev-038's shape: a learning rate 10x too high makes the baseline's seeds 40% apart (margin about 1.0 on
    # the log scale), and the lower rate beats each seed's baseline with seeds 2% apart
    judgement = _judged(0.0903, 0.0735, 0.1266, 0.0720)
    assert judgement.comparison.status == "confirmed"
    assert judgement.replicate.mean_log_gain < judgement.replicate.margin_for_mean  # the old rule refuted it
    assert judgement.replicate.margin_of_change < 0.21


def test_a_change_as_noisy_as_the_baseline_still_needs_the_baseline_margin():
    judgement = _judged(0.0903, 0.0735, 0.1266, 0.1100)  # the changed set-up's seeds also 40% apart
    assert judgement.comparison.status == "refuted"


def test_a_stable_change_that_loses_in_one_seed_is_refuted():
    judgement = _judged(0.0903, 0.0735, 0.1266, 0.1300)
    assert judgement.comparison.status == "refuted"


def _near(after, after2, near_factor=1.5):
    """judge() of a 1.0 baseline against `after` with a margin of 0.1 (log scale), the second seed scripted."""
    replicated = needs_second_seed(compare(_probe(1.0), _probe(after), "relative_mse", 0.1), near_factor)
    judgement = judge(_probe(1.0), _probe(after), "relative_mse", 0.1,
                      replicate=(_probe(1.0), _probe(after2)) if replicated else None)
    return judgement, replicated


@pytest.mark.parametrize("after2, status", [(0.90, "confirmed"), (0.99, "refuted")])
def test_a_narrow_win_gets_the_second_seed_when_asked(after2, status):
    # log(1 / 0.88) = 0.128: beyond the margin 0.1, within 1.5 margins
    judgement, replicated = _near(0.88, after2)
    assert replicated and judgement.replicate is not None
    assert judgement.comparison.status == status  # the ambiguous gain's rule: both seeds, and their mean


def test_a_wide_win_or_no_near_factor_takes_one_seed():
    judgement, replicated = _near(0.5, 0.99)  # log gain 0.69, seven margins
    assert not replicated and judgement.comparison.status == "confirmed" and judgement.replicate is None
    judgement, replicated = _near(0.88, 0.99, near_factor=None)  # the diagnosis' own rule: confirmed as it is
    assert not replicated and judgement.comparison.status == "confirmed"
