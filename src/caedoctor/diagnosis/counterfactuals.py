"""Test each suspicion by experiment: probe the one change that would fix its cause, judge it against the
baseline, and record the probe, the comparison and the finding's status and measured effect.

A probe is decided early when its outcome is already clear (`sequential`); otherwise it runs to the last
step and is judged there (`judge`), with the seed-noise probe run the first time a gain needs it: a gain
below the `MIN_MARGIN` floor is refuted whatever the noise, so the noise is measured only for larger ones.
Probes run in order of evidence (`plan.order_for_testing`) while the budget allows (`budget`, which records
what it left untested).
"""

from __future__ import annotations

from caedoctor.diagnosis.extend import extendable, follow_to_horizon
from caedoctor.diagnosis.forecast import compare_at_horizon
from caedoctor.diagnosis.judge import (MIN_LOG_GAIN, Comparison, compare, early_only, from_early, judge, minor_gain,
                                       needs_second_seed)
from caedoctor.diagnosis.plan import (counterfactual_setup, describe_change, order_for_testing,
                                      sample_matched_steps, untestable)
from caedoctor.diagnosis.sequential import early_rule, refute_only
from caedoctor.diagnosis.state import RunState
from caedoctor.findings import Effect, Finding
from caedoctor.fixes import NotApplicable, metric_for
from caedoctor.setup import Setup
from caedoctor.thresholds import SLOW_GAIN, START_PROBE_SHARE


def test_findings(state: RunState) -> None:
    """Probe the fix of every finding that has one (errors first, then a learning-rate finding the LR range
    test backs, then symptoms before folklore: `plan.order_for_testing`), one probe per distinct fix, while the
    budget allows; set each finding's status and effect from its comparison (an
    error-level finding stays `certain` unless its fix does not help at all).

    With `state.jobs` > 1 the probes run side by side in threads first, and are judged in order after."""
    planned = _planned(state)
    state.budget.plan_counterfactuals(len({f.fix.key for f, _ in planned}), state.steps)
    measured = _measure_side_by_side(state, planned) if state.jobs > 1 else {}
    for finding, counterfactual in planned:
        key = finding.fix.key
        if key not in state.tested:
            if key in measured:
                outcome = _conclude(state, finding, *counterfactual, measured[key])
            elif state.jobs > 1 or not state.budget.can_start(state.steps, START_PROBE_SHARE):
                outcome = None
            else:
                outcome = _probe_and_judge(state, finding, *counterfactual)
            if outcome is None:
                reason = _budget_reason(state)
                finding.evidence = {**finding.evidence, "not_tested": reason}
                state.budget.leave_untested(finding, reason)
                continue
            state.tested[key] = outcome
            state.setups[key] = counterfactual[0]
        _, comparison = state.tested[key]
        finding.effect = Effect(comparison.metric, comparison.before, comparison.after)
        if finding.status != "certain":
            finding.status = comparison.status
        elif comparison.log_gain <= MIN_LOG_GAIN:
            # An error-level rule that does not block training is still only a claim about this model: when
            # fixing it does not help at all (no 5% gain, or worse), it is no cause here (evidence over
            # authority). A gain within the seed noise leaves the rule's certainty standing (generated dev
            # case dev-014: BCE on targets outside [0, 1], 0.68 -> 0.54 on a noisy baseline, real at length).
            finding.status = "refuted"
            finding.evidence = {**finding.evidence, "error_rule_refuted": (
                "the rule reads this as an error, but fixing it did not improve the probe (not even 5%)")}
    if state.reseeded is not None:
        baseline, reseeded = state.baseline, state.reseeded
        state.result.noise = {metric: {"margin": m, "baseline": baseline.score(metric),
                                       "reseeded": reseeded.score(metric)}
                              for metric, m in state.margins.items()}


def _measure_side_by_side(state: RunState, planned: list) -> dict:
    """fix key -> `_measure`'s answer, the probes run `state.jobs` at a time (threads; each seeds and builds
    under `probes.BUILD_LOCK`, so it is the probe it would be alone)."""
    from concurrent.futures import ThreadPoolExecutor

    first = {}
    for finding, counterfactual in planned:
        first.setdefault(finding.fix.key, (finding, counterfactual))
    futures = {}
    with ThreadPoolExecutor(max_workers=state.jobs) as pool:
        for key, (finding, (counterfactual, reverse)) in first.items():
            futures[key] = pool.submit(_measure, state, finding, counterfactual, reverse)
    return {key: future.result() for key, future in futures.items() if future.result() is not None}


def _planned(state: RunState) -> list:
    """[(finding, (counterfactual set-up, reverse))] in the order they are tested; a finding that cannot be
    tested gets the reason in its evidence instead."""
    planned, setups = [], {}
    ordered = order_for_testing(state.result.findings, state.suggestion, state.setup.config.learning_rate)
    for finding in ordered:
        if finding.fix is None or finding.status == "refuted":
            continue
        reason = untestable(finding)
        if reason:
            finding.evidence = {**finding.evidence, "not_tested": reason}
            continue
        key = finding.fix.key
        if key not in setups:
            try:
                setups[key] = counterfactual_setup(state.setup, finding.fix, state.fix_context())
            except NotApplicable as exc:
                finding.evidence = {**finding.evidence, "not_tested": str(exc)}
                continue
        planned.append((finding, setups[key]))
    return planned


def _budget_reason(state: RunState) -> str:
    seconds = state.budget.seconds
    return (f"the time budget ({seconds:.0f} s) was spent before this probe could decide; rerun with a larger "
            "--budget-seconds to test it")


def _probe_and_judge(state: RunState, finding: Finding, counterfactual: Setup, reverse: bool) -> tuple | None:
    """Probe `counterfactual` and judge it (`_measure`, then `_conclude`); None when the budget ran out."""
    measured = _measure(state, finding, counterfactual, reverse)
    return None if measured is None else _conclude(state, finding, counterfactual, reverse, measured)


def _measure(state: RunState, finding: Finding, counterfactual: Setup, reverse: bool) -> tuple | None:
    """(reference probe, steps, the counterfactual's probe) for `finding`'s fix, or None when the budget ran
    out before it was decided. Safe to run side by side with other `_measure`s."""
    state.say(f"counterfactual probe: {describe_change(finding.fix, reverse)}")
    metric = metric_for(finding.fix.kind)
    reference, steps = _reference(state, counterfactual)
    if reference is None:
        return None
    early = not reverse and reference is state.baseline and steps == state.steps and state.baseline.checkpoints
    decide = early_rule(state.baseline.checkpoints, metric, state.margins) if early else None
    if decide is not None and finding.severity == "info":
        decide = refute_only(decide)  # folklore must hold at the horizon: judged on the whole curve
    probe = state.probe(counterfactual, steps=steps, seed=state.seed, label=finding.fix.kind, decide=decide,
                        keep=not reverse and reference is state.baseline)
    if probe.stopped == "out_of_time":
        _drop(probe)
        return None
    return reference, steps, probe


def _conclude(state: RunState, finding: Finding, counterfactual: Setup, reverse: bool,
              measured: tuple) -> tuple | None:
    """Judge a measured counterfactual against its reference and record both; returns (probe, Comparison) for
    `RunState.tested` (for a reversed test, the reference: the probe of the set-up as it is), or None when
    the noise could not be measured in time."""
    result, fix, code = state.result, finding.fix, finding.code
    metric = metric_for(fix.kind)
    reference, steps, probe = measured
    decided = _judged(state, counterfactual, reference, probe, steps, metric, fix.kind, reverse)
    if decided is None:
        _drop(probe)
        return None
    comparison, replicate = decided
    first_probe, first_reference, followed = probe, reference, None
    if replicate is None and extendable(state, probe, reference, reverse):  # two seeds decided it: evidence enough
        followed = follow_to_horizon(state, finding, probe, comparison, metric)
        comparison, at_horizon, probe = followed.comparison, followed.at_horizon, followed.probe
        if followed.extended or followed.undecided:
            finding.evidence = {**finding.evidence, "followed": _followed_text(followed, metric)}
            result.probe_results[f"{code}:{fix.kind} ({followed.steps} steps)"] = probe
    else:
        at_horizon = _at_horizon(state, reference, probe, metric, reverse)
    _drop(probe)
    if not reverse and minor_gain(comparison, finding.severity):  # reverse: more data
        finding.evidence = {**finding.evidence, "minor_gain": (
            f"it cuts the error by {100 * comparison.improvement:.0f}%, less than the {100 * (1 - SLOW_GAIN):.0f}% "
            "an info-level suggestion must cut to count as a cause (the cut that makes a converging run slow): "
            "an improvement, not a cause")}
    elif not reverse and early_only(comparison, finding.severity, at_horizon):
        finding.evidence = {**finding.evidence, "early_only": _early_only_text(comparison, at_horizon, probe.steps_run)}
    if first_reference is not state.baseline:
        result.probe_results[f"{code}:baseline at equal samples"] = first_reference
    if reverse:
        finding.evidence = {**finding.evidence, "tested_as": (
            f"trained on {counterfactual.data.train_count} of the {state.setup.data.train_count} training samples: "
            f"validation {metric} {probe.score(metric):.4g} against {state.baseline.score(metric):.4g} "
            "with all of them")}
    if comparison.decided_at is not None:
        finding.evidence = {**finding.evidence, "decided_at": (
            f"step {comparison.decided_at} of {steps}: {metric} {comparison.after:.4g} against the baseline's "
            f"{comparison.before:.4g} at the same step ({comparison.status} early, see `sequential`)")}
    if replicate is not None:
        again = replicate.before if reverse else replicate.after
        finding.evidence = {**finding.evidence, "replicate": {
            "seed": state.seed + 1, "before": replicate.second.before, "after": replicate.second.after,
            "log_gain": replicate.second.log_gain, "mean_log_gain": replicate.mean_log_gain,
            "margin_for_mean": replicate.margin_for_mean, "margin_of_change": replicate.margin_of_change}}
        result.probe_results[f"{code}:{fix.kind} (seed+1)"] = again
    result.probe_results[f"{code}:{fix.kind}"] = first_probe
    record = {"finding": code, "cause": finding.cause, "fix": fix.to_dict(), "probe": probe.to_dict(),
              "comparison": comparison.__dict__}
    if at_horizon is not None:
        record["at_horizon"] = at_horizon.to_dict()
    if followed is not None and (followed.extended or followed.undecided):
        record["followed"] = {"steps": probe.steps, "trail": followed.trail, "undecided": followed.undecided}
    if probe.decision is not None and not state.sequential:
        record["early_rule"] = probe.decision.__dict__  # what a sequential diagnosis would have decided
    result.counterfactuals.append(record)
    return (first_reference if reverse else first_probe), comparison


def _drop(probe) -> None:
    """Give a kept probe's model back to the pool: it will not be trained on."""
    if probe.live is not None:
        probe.live.drop()
        probe.live = None


def _followed_text(followed, metric: str) -> str:
    """The evidence of a pair trained on towards the horizon (`extend`)."""
    from caedoctor.diagnosis.extend import FOLLOW_ALL

    steps = " -> ".join(f"{p['steps']}: {p['before']:.3g} vs {p['after']:.3g}" for p in followed.trail)
    first = followed.trail[0]
    gain = first.get("forecast_log_gain")
    if followed.reason == FOLLOW_ALL:
        said = "every pair was followed to the horizon (CAEDOCTOR_FOLLOW_ALL): "
    elif gain is not None:
        said = (f"at {first['steps']} steps the probe and its forecast at the horizon disagreed ({followed.reason}: "
                f"forecast log gain {gain:+.2f}, measured {first['log_gain']:+.2f}), so both probes were trained on: ")
    else:
        said = "both probes were trained on: "
    end = (f"undecided when the time budget ended ({followed.undecided})" if followed.undecided
           else f"{followed.comparison.status} at {followed.steps} steps")
    return f"{said}{metric} without vs with the fix at {steps}; {end}"


def _at_horizon(state: RunState, reference, probe, metric: str, reverse: bool):
    """The two probes' forecasts at the horizon (`forecast.compare_at_horizon`), "before" first; a probe at
    another batch size is forecast at as many samples as the horizon's."""
    before, after = (probe, reference) if reverse else (reference, probe)
    horizon = state.horizon.steps

    def at(p):
        return max(1, round(horizon * p.steps / state.steps)) if state.steps else horizon

    return compare_at_horizon(before, after, metric, at(before), at(after))


def _early_only_text(comparison, at_horizon, steps: int) -> str:
    fb, fa = at_horizon.before, at_horizon.after
    return (f"it cuts the error by {100 * comparison.improvement:.0f}% at step {steps}, but is not forecast to "
            f"hold where training ends: at the horizon ({fb.horizon:,} steps) {fb.value:.3g} "
            f"[{fb.low:.3g}-{fb.high:.3g}] without it against {fa.value:.3g} [{fa.low:.3g}-{fa.high:.3g}] with it "
            f"(80% intervals): it speeds up the early steps, not where the model ends")


def _reference(state: RunState, counterfactual: Setup) -> tuple:
    """(the reference probe, the counterfactual's steps): the baseline, or a shortened rerun of it when the
    counterfactual's smaller batch would otherwise see fewer samples (`plan.sample_matched_steps`); (None, _)
    when that rerun ran out of time."""
    short, steps = sample_matched_steps(state.setup, counterfactual, state.steps)
    if short is None:
        return state.baseline, steps
    old, new = state.setup.batch_size, counterfactual.batch_size
    state.say(f"baseline at batch {old} for {short} steps (as many samples as {state.steps} steps of {new})")
    probe = state.probe(state.setup, steps=short, seed=state.seed, label="baseline at equal samples")
    return (None if probe.stopped == "out_of_time" else probe), steps


def _judged(state: RunState, counterfactual: Setup, reference, probe, steps: int, metric: str, label: str,
            reverse: bool) -> tuple | None:
    """(`Comparison`, `Replicate` or None) of a measured probe against `reference`, or None when the seed
    noise it needs could not be measured in time.

    A probe decided early keeps that decision (`sequential`). `reverse`: the probe is the *less* favourable
    set-up (fewer images), so "before" is the probe. A gain below the floor is refuted without measuring the
    noise; an ambiguous gain is replicated with the second seed (`judge.judge`): the change again, and the
    reference again (the reseeded baseline, or the shortened baseline rerun with the second seed).
    """
    if state.sequential and probe.decision is not None:
        return from_early(probe.decision, metric, state.margins.get(metric, MIN_LOG_GAIN)), None
    before, after = (probe, reference) if reverse else (reference, probe)
    first = compare(before, after, metric, MIN_LOG_GAIN)
    if first.log_gain <= MIN_LOG_GAIN:  # refuted under any margin: the noise need not be measured
        return first, None
    margin = state.margin(metric)
    if margin is None:
        return None

    def second_seed() -> tuple:
        state.say(f"ambiguous gain; repeating {label} with seed {state.seed + 1}")
        again = state.probe(counterfactual, steps=steps, seed=state.seed + 1, label=f"{label} (seed+1)")
        if reference is state.baseline:
            base = state.reseeded
        else:
            base = state.probe(state.setup, steps=reference.steps, seed=state.seed + 1,
                               label="baseline at equal samples (seed+1)")
        return (again, base) if reverse else (base, again)

    replicate = second_seed() if needs_second_seed(compare(before, after, metric, margin)) else None
    judgement = judge(before, after, metric, margin, replicate)
    comparison: Comparison = judgement.comparison
    return comparison, judgement.replicate
