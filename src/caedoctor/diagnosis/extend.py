"""Extend an undecided counterfactual pair: train both probes on, doubling their steps (as successive halving
does), until what they measure agrees with what they forecast at the horizon, or they reach it.

A probe is judged where it ends (`judge`), and its curve and the baseline's are forecast at the horizon
(`forecast.compare_at_horizon`). For most changes the two agree: a loud fault's fix is far ahead at step 100
and is forecast to stay so. For the quiet ones they can disagree, and the horizon is what the user asks about:

- `helps later`: the change is no better where the probes end, but its forecast at the horizon beats the
  baseline's by more than the seed-noise margin (a lower learning rate that starts slower and ends lower, a
  wider code that overtakes late);
- `fades`: the change is better where the probes end, but its forecast gain at the horizon is within the
  margin (it speeds up the early steps; the baseline catches up).

Such a pair is trained on, both sides, from where they stopped (`probes.extend_probe`: exactly the longer
probe, not a new one; the baseline's extensions are shared by every pair), to twice the steps but never past
the horizon, and judged again on the longer probes, until the two agree or the pair reaches the horizon, where
the measurement is the answer. When the budget has no room to go on, the finding stays `suspected` with what
both said, and the diagnosis is partial (`partial`). The seed-noise margin is the one measured at the probes'
first length.

Only a forward change at the baseline's batch size is extended, judged at its last step or refuted early (a
fix may start slower and end better: it is then trained on to the baseline's length first): a probe
confirmed early was decided by a gain too large to be a matter of length, a batch-size change is compared
at equal samples and "more data" is a reversed test. Nor is a pair a second seed decided (`judge`): two seeds
are more evidence than one longer one, and their margin is not the one-seed margin.

`CAEDOCTOR_FOLLOW_ALL=1` in the environment (the benchmark's `run.py --follow-all`, on the development split
only) follows every extendable pair to the horizon whatever its forecast, so that a rule for when to stop
can be chosen on the whole trails.

Example::

    outcome = follow_to_horizon(state, finding, probe, comparison, metric)
    outcome.comparison.status, outcome.steps, outcome.trail
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from caedoctor.diagnosis.forecast import compare_at_horizon
from caedoctor.diagnosis.judge import MIN_LOG_GAIN, Comparison, compare

HELPS_LATER = "helps later"
FADES = "fades"
FOLLOW_ALL = "follow all"  # the benchmark's switch (module doc)


def _follow_all() -> bool:
    return os.environ.get("CAEDOCTOR_FOLLOW_ALL") == "1"


@dataclass
class Followed:
    """What following a pair towards the horizon ended with."""

    reference: object  # the baseline probe at the pair's final length
    probe: object  # the counterfactual probe at that length
    comparison: Comparison  # at that length; status "suspected" when the budget stopped an undecided pair
    at_horizon: object  # `forecast.HorizonComparison` of the final pair (None without curves)
    steps: int  # the final length
    trail: list = field(default_factory=list)  # one dict per length judged on the way
    undecided: str | None = None  # HELPS_LATER / FADES when the budget stopped it undecided
    reason: str | None = None  # why it was trained on (HELPS_LATER, FADES, FOLLOW_ALL); None: it was not

    @property
    def extended(self) -> bool:
        return len(self.trail) > 1


def disagreement(comparison: Comparison, at_horizon, margin: float) -> str | None:
    """`HELPS_LATER`, `FADES` or None: how the measured comparison and the forecast at the horizon disagree."""
    if _follow_all():
        return FOLLOW_ALL
    if at_horizon is None or not math.isfinite(at_horizon.log_gain):
        return None
    forecast_real = at_horizon.log_gain > max(margin, MIN_LOG_GAIN)
    if comparison.status != "confirmed" and forecast_real:
        return HELPS_LATER
    if comparison.status == "confirmed" and not forecast_real:
        return FADES
    return None


def extendable(state, probe, reference, reverse: bool) -> bool:
    """Whether this pair may be trained on (the module doc says which may)."""
    refuted_early = probe.decision is not None and getattr(probe.decision, "status", "") == "refuted"
    judged_at_end = probe.decided_at is None and probe.complete
    return (not reverse and reference is state.baseline and probe.live is not None
            and (judged_at_end or refuted_early) and not probe.stopped and state.baseline_extendable()
            and probe.steps == state.steps)


def follow_to_horizon(state, finding, probe, comparison: Comparison, metric: str) -> Followed:
    """Train the pair (the baseline and `probe`, judged as `comparison`) on while it is undecided (module doc);
    the `Followed` says where it ended. `probe` must be extendable (`extendable`). A probe refuted early is
    first trained on to the baseline's length."""
    horizon = state.horizon.steps
    margin = state.margins.get(metric, comparison.margin)
    reference, steps = state.baseline, probe.steps_run
    at = compare_at_horizon(reference, probe, metric, horizon)
    trail = [_point(steps, comparison, at)]
    first_reason = None
    while True:
        reason = disagreement(comparison, at, margin)
        if reason is not None and metric not in state.margins:  # judged against the floor so far
            measured = state.margin(metric)
            if measured is None:
                return _stopped(state, finding, reference, probe, comparison, at, steps, trail, reason)
            margin = measured
            if probe.steps_run == reference.steps_run:  # (a probe refuted early keeps its decision)
                comparison = compare(reference, probe, metric, margin)
            reason = disagreement(comparison, at, margin)
        first_reason = first_reason or reason
        if reason is None or steps >= horizon:
            return Followed(reference, probe, comparison, at, steps, trail, reason=first_reason)
        longer = state.steps if steps < state.steps else min(2 * steps, horizon)
        cost = (longer - steps) * (1 if state.baseline_at(longer, run=False) is not None else 2)
        if not affordable(state, cost):
            return _stopped(state, finding, reference, probe, comparison, at, steps, trail, reason)
        state.say(f"{probe.label}: {_said(reason)}; both probes trained on to {longer} steps")
        base = state.baseline_at(longer)
        if base is None:
            return _stopped(state, finding, reference, probe, comparison, at, steps, trail, reason)
        probe = state.extend(probe, longer)
        if probe.stopped == "out_of_time":
            return _stopped(state, finding, reference, probe, comparison, at, steps, trail, reason)
        reference, steps = base, longer
        comparison = compare(reference, probe, metric, margin)
        at = compare_at_horizon(reference, probe, metric, horizon)
        trail.append(_point(steps, comparison, at))


def affordable(state, steps: int) -> bool:
    """Whether the budget has room for `steps` more training steps."""
    return state.budget.can_start(steps, 1.0)


def _stopped(state, finding, reference, probe, comparison, at, steps, trail, reason) -> Followed:
    """The budget stopped an undecided pair: the finding stays suspected, and the diagnosis is partial."""
    text = (f"undecided at {steps} steps: {_said(reason)} (the forecasts at {state.horizon.steps:,} steps), and "
            "the time budget had no room to train both on")
    state.budget.leave_untested(finding, text, test="extension")
    undecided = Comparison("suspected", comparison.metric, comparison.before, comparison.after,
                           comparison.improvement, comparison.log_gain, comparison.margin, comparison.decided_at)
    return Followed(reference, probe, undecided, at, steps, trail, undecided=reason, reason=reason)


def _said(reason: str) -> str:
    return {HELPS_LATER: "no better where the probes end, but forecast to help where training ends",
            FADES: "better where the probes end, but not forecast to stay better where training ends",
            FOLLOW_ALL: "every pair followed to the horizon (CAEDOCTOR_FOLLOW_ALL)"}[reason]


def _point(steps: int, comparison: Comparison, at) -> dict:
    return {"steps": steps, "before": comparison.before, "after": comparison.after,
            "log_gain": comparison.log_gain, "status": comparison.status,
            "forecast_log_gain": None if at is None or not math.isfinite(at.log_gain) else at.log_gain,
            "forecast_width": None if at is None else at.width}
