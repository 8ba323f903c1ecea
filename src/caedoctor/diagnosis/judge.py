"""Judge two probes: did a change improve the metric beyond the seed noise? One home for the statistics that
diagnose, explain-away and repair all use.

Noise in reconstruction errors is multiplicative (a stuck run at 0.8 and its reseeded twin at 1.7 are as far
apart as 0.02 and 0.04), so gains are measured on a log scale: `log(before / after)`. A change is
`confirmed` when its gain beats the noise margin (`noise_margin`: `NOISE_K` x the baseline's seed-to-seed
difference, at least the `MIN_MARGIN` floor) and `refuted` otherwise. A gain between the floor and the
margin is ambiguous: `judge` then repeats both sides with a second seed (a paired replicate) and confirms
the change when both seeds gain more than the floor and their mean gain beats margin / sqrt(2), the noise of
a mean of two pairs, or when both seeds gain more than the noise margin of the *changed* set-up's own two
seeds: a fault that makes training seed-unstable (a learning rate 10x too high) inflates the baseline's
seed noise, so a fix that removes the instability would otherwise be judged against the noise it removed.
That is the ground truth's own rule (bench/generated: the fix must beat the fixed program's seed spread in
every seed), with the `NOISE_K` factor kept. A repair, which keeps a fix for good, also replicates a confirmed
gain that beats the margin narrowly (`needs_second_seed(near_factor=...)`, `NEAR_MARGIN_FACTOR`), by the same rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from caedoctor.probing.probes import ProbeResult
from caedoctor.thresholds import MIN_MARGIN, NOISE_K, SLOW_GAIN


def log_margin(fraction: float) -> float:
    """The log gain of a relative improvement `fraction`: log(1 / (1 - fraction))."""
    return -math.log(1.0 - fraction)


# The floor every gain must beat, however quiet the seeds: a 5% improvement, on the log scale.
MIN_LOG_GAIN = log_margin(MIN_MARGIN)
# An info-level suspicion (folklore: "try a sigmoid output") is a cause only when its fix cuts the error to
# SLOW_GAIN or less, the cut that makes a converging run's verdict `slow` (`verdict.verdict_after_probes`): a
# smaller gain is tuning, not a reason the model fails. First for converging runs only: a healthy generated
# development case, dev-008, had CAE203's sigmoid output confirmed for a 20% gain at probe length. Then for
# every verdict: on the development split (commit deddee7, 106 cases) the four info-level suspicions
# confirmed with a gain under 40% were all wrong (alone: dev-026, a healthy control whose probe read
# `unstable`, 37%; dev-100's dead ReLUs, 32%; dev-028's large kernels, 14%; on top of the rate fix: dev-058's
# sigmoid output, 21%), while the info-level causes that were right cut the error by 90-100%. The rule holds
# on explain-away's and the joint probes' paths too. Warning and error rules read a defect, so any gain beyond the noise
# confirms them: dev-035's CAE201 (a sigmoid output on [-0.1, 1.1] targets) cut 25%, and the ground truth
# finds it real. A learning-curve test, "more data", is exempt: the slow verdict does not measure it either.
SLOW_LOG_GAIN = -math.log(SLOW_GAIN)


@dataclass
class Comparison:
    """The verdict of one counterfactual probe against the baseline."""

    status: str  # "confirmed" | "refuted"
    metric: str
    before: float
    after: float
    improvement: float  # relative: 1 - after / before; > 0 means the change helped
    log_gain: float  # log(before / after): the improvement on the scale the noise is measured on
    margin: float  # the log gain needed to call it beyond seed noise
    # the step it was decided at, on the check batch (`sequential`); None: after the probe's last step, on
    # the full validation sample
    decided_at: int | None = None

    @property
    def ambiguous(self) -> bool:
        """Not confirmed, yet a gain above the floor: worth a second seed."""
        return self.status != "confirmed" and self.log_gain > MIN_LOG_GAIN


@dataclass
class Replicate:
    """The second-seed pair behind an ambiguous gain, and how their mean was judged."""

    before: ProbeResult
    after: ProbeResult
    second: Comparison  # the second seed's comparison
    mean_log_gain: float
    margin_for_mean: float
    # the noise margin of the changed set-up's two seeds (`noise_margin` of after, after2)
    margin_of_change: float = math.nan


@dataclass
class Judgement:
    """A comparison (its status final) and, when the first gain was ambiguous, the replicate that decided it."""

    comparison: Comparison
    replicate: Replicate | None = None


def noise_margin(baseline: ProbeResult, reseeded: ProbeResult, metric: str, floor: float = MIN_MARGIN,
                 k: float = NOISE_K) -> float:
    """The log gain a change must beat: k x |log(a / b)| for the baseline's two seeds a and b, at least
    log(1 / (1 - floor)).

    Measured on the log scale (see the module doc): a relative margin measured on a chaotic baseline could
    otherwise exceed 100% and refute every possible fix.
    """
    lo = log_margin(floor)
    a, b = baseline.score(metric), reseeded.score(metric)
    if not (math.isfinite(a) and math.isfinite(b)) or min(a, b) <= 0:
        return lo
    return max(lo, k * abs(math.log(a / b)))


def compare(baseline: ProbeResult, counterfactual: ProbeResult, metric: str, margin: float) -> Comparison:
    """`counterfactual` against `baseline` on `metric` (lower is better): confirmed when the log gain beats
    `margin`. A probe that stopped on NaN scores +inf, so any finite probe beats it."""
    before, after = baseline.score(metric), counterfactual.score(metric)
    if math.isinf(before) and math.isfinite(after):
        gain = math.inf
    elif not math.isfinite(after):
        gain = -math.inf
    elif after <= 0:
        gain = math.inf if before > 0 else 0.0
    else:
        gain = math.log(before / after) if before > 0 else 0.0
    improvement = 1.0 - after / before if (math.isfinite(before) and before > 0 and math.isfinite(after)) else (
        1.0 if math.isinf(gain) and gain > 0 else -math.inf)
    status = "confirmed" if gain > margin else "refuted"
    return Comparison(status, metric, before, after, improvement, gain, margin)


def from_early(decision, metric: str, margin: float) -> Comparison:
    """The `Comparison` of a probe decided early (`sequential.EarlyDecision`), at the step it was decided."""
    before, after = decision.before, decision.after
    improvement = 1.0 - after / before if (math.isfinite(before) and before > 0 and math.isfinite(after)) else (
        1.0 if decision.log_gain > 0 else -math.inf)
    return Comparison(decision.status, metric, before, after, improvement, decision.log_gain, margin,
                      decided_at=decision.step)


def minor_gain(comparison: Comparison, severity: str = "info") -> bool:
    """Turn a confirmed comparison of an info-level suspicion whose gain is below `SLOW_LOG_GAIN` into a
    refuted one (in place); True when it did."""
    if severity != "info" or comparison.status != "confirmed" or comparison.log_gain >= SLOW_LOG_GAIN:
        return False
    comparison.status = "refuted"
    return True


def early_only(comparison: Comparison, severity: str, at_horizon) -> bool:
    """Turn a confirmed comparison of an info-level suspicion into a refuted one (in place) when its gain is
    not forecast to hold at the horizon; True when it did.

    Folklore ("use a sigmoid output") often speeds up the first few hundred steps and ends where the model
    would have ended anyway: a cause must move where training ends. `at_horizon` is the two probes'
    `forecast.HorizonComparison` (None: no curves, nothing to judge by): the change's forecast gain there must
    beat both `SLOW_LOG_GAIN` (what an info-level suspicion must cut to count, `minor_gain`) and the
    forecasts' joint uncertainty."""
    if severity != "info" or comparison.status != "confirmed" or at_horizon is None:
        return False
    if at_horizon.log_gain > max(SLOW_LOG_GAIN, at_horizon.width):
        return False
    comparison.status = "refuted"
    return True


def needs_second_seed(comparison: Comparison, near_factor: float | None = None) -> bool:
    """Whether `judge` settles `comparison` with a second seed: an ambiguous gain, or, given `near_factor`,
    a confirmed gain below `near_factor` x its margin (one seed can beat the margin by luck)."""
    if comparison.ambiguous:
        return True
    return (near_factor is not None and comparison.status == "confirmed"
            and comparison.log_gain < near_factor * comparison.margin)


def judge(before: ProbeResult, after: ProbeResult, metric: str, margin: float,
          replicate: tuple | None = None) -> Judgement:
    """Compare `after` with `before`; with `replicate`, settle the comparison with that paired replicate.

    `replicate` is the `(before, after)` probes of the same two set-ups with the second seed, which the
    caller runs when `needs_second_seed` says so (an ambiguous gain; given `near_factor`, a confirmed gain
    below `near_factor` x `margin` too: a repair keeps a fix for good, so a narrow win is checked). The change
    is then confirmed when both seeds gain more than `MIN_LOG_GAIN` and their mean gain beats
    `margin / sqrt(2)`, or when both seeds gain more than the noise margin of the changed set-up's own seeds
    (see the module doc); the comparison's status says so. Judging runs nothing: it only reads the probes.
    """
    comparison = compare(before, after, metric, margin)
    if replicate is None:
        return Judgement(comparison)
    before2, after2 = replicate
    second = compare(before2, after2, metric, margin)
    mean_gain = (comparison.log_gain + second.log_gain) / 2
    margin_for_mean = margin / math.sqrt(2)
    margin_of_change = noise_margin(after, after2, metric)
    worst = min(comparison.log_gain, second.log_gain)
    confirmed = (worst > MIN_LOG_GAIN and mean_gain > margin_for_mean) or worst > margin_of_change
    comparison.status = "confirmed" if confirmed else "refuted"
    return Judgement(comparison, Replicate(before2, after2, second, mean_gain, margin_for_mean, margin_of_change))
