"""keep: a change its verification probe confirmed is kept only when it is forecast to hold at the horizon."""

from __future__ import annotations

from caedoctor.diagnosis.forecast import compare_at_horizon
from caedoctor.diagnosis.judge import compare
from caedoctor.probing.probes import ProbeResult
from caedoctor.repairing.keep import keep_decision

STEPS = range(50, 501, 50)


def _probe(label, curve):
    """A 500-step probe whose check-batch curve is `curve` [(step, relative MSE)], ending where the curve ends."""
    end = curve[-1][1]
    return ProbeResult(label=label, steps=500, steps_run=500, seconds=0.0, loss_curve=[v for _, v in curve],
                       metrics={"relative_mse": end, "ssim": 0.5, "mse": end},
                       checkpoints=[(s, {"relative_mse": v, "dssim": v / 2}) for s, v in curve])


FALLING = _probe("best", [(s, 2.0 * (s / 50) ** -0.8) for s in STEPS])  # 0.32 at step 500, still falling


def _decided(after, horizon=5000):
    comparison = compare(FALLING, after, "relative_mse", 0.1)
    assert comparison.status == "confirmed"  # better at the probe's end, either way
    return keep_decision(comparison, compare_at_horizon(FALLING, after, "relative_mse", horizon), 500)


def test_a_fix_ahead_early_but_flat_is_rolled_back_with_both_forecasts():
    flat = _probe("+fix", [(s, max(0.25, 2.0 * (s / 50) ** -1.5)) for s in STEPS])  # at 0.25 from step 200 on
    keep, why = _decided(flat)
    assert not keep
    assert why.startswith("better at step 500 but not forecast to hold at the horizon (5,000 steps): ")
    assert "without it against 0.25 [" in why and "with it (80% intervals)" in why


def test_a_fix_ahead_and_still_falling_is_kept():
    assert _decided(_probe("+fix", [(s, 1.6 * (s / 50) ** -0.9) for s in STEPS])) == (True, "")


def test_without_curves_the_probes_end_decides():
    bare = ProbeResult(label="+fix", steps=500, steps_run=500, seconds=0.0, loss_curve=[0.25],
                       metrics={"relative_mse": 0.25, "ssim": 0.5, "mse": 0.25})
    comparison = compare(FALLING, bare, "relative_mse", 0.1)
    assert compare_at_horizon(FALLING, bare, "relative_mse", 5000) is None
    assert keep_decision(comparison, None, 500) == (True, "")
    worse = compare(FALLING, _probe("+fix", [(s, 2.1 * (s / 50) ** -0.8) for s in STEPS]), "relative_mse", 0.1)
    assert keep_decision(worse, None, 500) == (False, "")
