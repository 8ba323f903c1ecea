"""Sequential decisions: stop a counterfactual probe as soon as its outcome is decided.

A learning rate of 0.1 against 0.002 is 3.14 against 0.02 relative MSE after 500 steps, and already far
apart after 100. A counterfactual probe is scored on the check batch every `SEQUENTIAL_CHECK_STEPS` steps
(`checkpoints`), next to the baseline's score at the same step on the same images, and stops when:

- its gain over the baseline, log(baseline / probe), is at least `EARLY_CONFIRM_LOG_GAIN` (and beyond the
  seed-noise margin when that is measured) at `EARLY_CONSECUTIVE` checkpoints in a row: `confirmed`;
- or at most `EARLY_REFUTE_LOG_GAIN` (the error doubled) as many times in a row: `refuted`;

a confirmation never before `EARLY_MIN_STEP`, a refutation never before `EARLY_REFUTE_MIN_STEP` (a fix may
start slower and end better). Anything in between runs to the last step and is judged there as before
(`judge`), with the seed-noise probe and, for an ambiguous gain, a second seed. The rule is checked against
what the same probes decide at their last step (bench/README.md, "Sequential decisions").

Only a plain forward test at the baseline's batch size is decided early: a batch-size change (compared at
equal samples, not equal steps) and the reversed data-quantity test always run to the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from caedoctor.thresholds import (EARLY_CONFIRM_LOG_GAIN, EARLY_CONSECUTIVE, EARLY_MIN_STEP,
                                  EARLY_REFUTE_LOG_GAIN, EARLY_REFUTE_MIN_STEP)


@dataclass
class EarlyDecision:
    """A counterfactual decided before its last step, on the check batch at `step`."""

    status: str  # "confirmed" | "refuted"
    step: int
    before: float  # the baseline's metric at `step`
    after: float  # the counterfactual's
    log_gain: float


def log_gain(before: float, after: float) -> float:
    """log(before / after), +inf when only `before` is not finite, -inf when `after` is not."""
    if not math.isfinite(after):
        return -math.inf
    if not math.isfinite(before):
        return math.inf
    if after <= 0:
        return math.inf if before > 0 else 0.0
    return math.log(before / after) if before > 0 else 0.0


def early_rule(baseline_points: list, metric: str, margins: dict | None = None):
    """`decide(step, points)` for `Checkpoints`: the probe's points against the baseline's at the same steps.

    `margins` maps a metric to its seed-noise margin (the diagnosis' own, `RunState.margins`, filled once
    the noise is measured: read at each decision); a confirmation must beat the margin on `metric` when
    there is one.
    """
    base = {step: values.get(metric, math.nan) for step, values in baseline_points}

    def decide(step: int, points: list) -> EarlyDecision | None:
        if step < EARLY_MIN_STEP or len(points) < EARLY_CONSECUTIVE:
            return None
        recent = points[-EARLY_CONSECUTIVE:]
        if any(s not in base for s, _ in recent):
            return None
        gains = [log_gain(base[s], values.get(metric, math.nan)) for s, values in recent]
        noise = (margins or {}).get(metric)
        confirm_at = max(EARLY_CONFIRM_LOG_GAIN, noise) if noise is not None else EARLY_CONFIRM_LOG_GAIN
        status = ("confirmed" if all(g >= confirm_at for g in gains)
                  else "refuted" if step >= EARLY_REFUTE_MIN_STEP and all(g <= EARLY_REFUTE_LOG_GAIN for g in gains)
                  else None)
        if status is None:
            return None
        before, after = base[step], points[-1][1].get(metric, math.nan)
        return EarlyDecision(status, step, before, after, gains[-1])

    return decide


def refute_only(decide):
    """`decide` that may stop a probe early only to refute: an info-level suspicion (folklore) is a cause only
    when its gain holds at the horizon (`judge.early_only`), which an early confirmation cannot show."""

    def refute(step: int, points: list) -> EarlyDecision | None:
        decision = decide(step, points)
        return decision if decision is not None and decision.status == "refuted" else None

    return refute
