"""Whether a repair keeps a change its verification probe judged, and the note that says why.

A repair keeps a fix for good, so a win at the probe's end is not enough: the fix must also be forecast to
hold where training ends. A rate that only speeds up the first few hundred steps, or an output activation
that gets to the same plateau sooner, would otherwise be kept for a gain the user's training never sees. So a
change the comparison confirmed (`judge`, a second seed when the win was narrow) is kept only when its
forecast gain at the horizon (`forecast.compare_at_horizon`) beats `MIN_LOG_GAIN`, the floor every gain must
beat; when either probe has no check-batch curve to forecast from, the probe's end decides as before.

Example::

    keep, why_not = keep_decision(comparison, compare_at_horizon(best, probe, "relative_mse", 1500), 500)
    # (False, "better at step 500 but not forecast to hold at the horizon (1,500 steps): 0.11 [...] ...")
"""

from __future__ import annotations

from caedoctor.diagnosis.forecast import HorizonComparison
from caedoctor.diagnosis.judge import MIN_LOG_GAIN, Comparison, Judgement


def keep_decision(comparison: Comparison, at_horizon: HorizonComparison | None, steps: int) -> tuple[bool, str]:
    """(keep, why not) for a change whose probe, `steps` steps long, was judged `comparison` against the best
    set-up's, with their forecasts at the horizon `at_horizon` (None: no curves, the probe's end decides).
    `why not` is "" unless the forecast alone rolls a confirmed change back."""
    if comparison.status != "confirmed":
        return False, ""
    if at_horizon is None or at_horizon.log_gain > MIN_LOG_GAIN:
        return True, ""
    return False, not_at_horizon_text(at_horizon, steps)


def not_at_horizon_text(at_horizon: HorizonComparison, steps: int) -> str:
    """Why a change better at the probe's end was rolled back: both forecasts at the horizon."""
    fb, fa = at_horizon.before, at_horizon.after
    return (f"better at step {steps} but not forecast to hold at the horizon ({fb.horizon:,} steps): "
            f"{fb.value:.3g} [{fb.low:.3g}-{fb.high:.3g}] without it against {fa.value:.3g} "
            f"[{fa.low:.3g}-{fa.high:.3g}] with it (80% intervals)")


def second_seed_text(judgement: Judgement) -> str:
    """How the second seed decided a change ("" when one seed did): both seeds' log gains and what they had
    to beat (`judge.judge`)."""
    replicate = judgement.replicate
    if replicate is None:
        return ""
    return (f"a second seed decided it: log gains {judgement.comparison.log_gain:.3g} and "
            f"{replicate.second.log_gain:.3g} (their mean against {replicate.margin_for_mean:.3g}, or each against "
            f"the changed set-up's own seed margin {replicate.margin_of_change:.3g})")
