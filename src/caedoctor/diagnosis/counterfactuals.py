"""Test each suspicion by experiment: probe the one change that would fix its cause, judge it against the
baseline, and record the probe, the comparison and the finding's status and measured effect."""

from __future__ import annotations

from caedoctor.diagnosis.judge import Judgement, judge, noise_margin
from caedoctor.diagnosis.plan import (counterfactual_setup, describe_change, order_for_testing,
                                      sample_matched_steps, untestable)
from caedoctor.diagnosis.state import RunState
from caedoctor.findings import Effect, Finding
from caedoctor.fixes import NotApplicable, metric_for
from caedoctor.setup import Setup


def measure_noise(state: RunState) -> None:
    """The baseline again with the second seed: how far two seeds of the same set-up land apart."""
    state.say("seed-noise probe")
    state.reseeded = state.probe(state.setup, steps=state.steps, seed=state.seed + 1, label="baseline (seed+1)")
    state.result.probe_results["reseeded"] = state.reseeded


def test_findings(state: RunState) -> None:
    """Probe the fix of every finding that has one (errors first, symptoms before folklore), one probe per
    distinct fix, until the budget is spent; set each finding's status and effect from its comparison."""
    for finding in order_for_testing(state.result.findings):
        if finding.fix is None or finding.status == "refuted":
            continue
        reason = untestable(finding)
        if reason:
            finding.evidence = {**finding.evidence, "not_tested": reason}
            continue
        if state.out_of_budget():
            state.say("budget spent; remaining suspicions stay suspected")
            break
        key = finding.fix.key
        if key not in state.tested:
            try:
                counterfactual, reverse = counterfactual_setup(state.setup, finding.fix, state.fix_context())
            except NotApplicable as exc:
                finding.evidence = {**finding.evidence, "not_tested": str(exc)}
                continue
            state.tested[key] = _probe_and_judge(state, finding, counterfactual, reverse)
        _, comparison = state.tested[key]
        finding.effect = Effect(comparison.metric, comparison.before, comparison.after)
        if finding.status != "certain":
            finding.status = comparison.status
    baseline, reseeded = state.baseline, state.reseeded
    state.result.noise = {metric: {"margin": m, "baseline": baseline.score(metric), "reseeded": reseeded.score(metric)}
                          for metric, m in state.margins.items()}


def _probe_and_judge(state: RunState, finding: Finding, counterfactual: Setup, reverse: bool) -> tuple:
    """Probe `counterfactual`, judge it against its reference, record both; returns (probe, Comparison) for
    `RunState.tested` (for a reversed test, the reference: the probe of the set-up as it is)."""
    result, fix, code = state.result, finding.fix, finding.code
    state.say(f"counterfactual probe: {describe_change(fix, reverse)}")
    metric = metric_for(fix.kind)
    if metric not in state.margins:
        state.margins[metric] = noise_margin(state.baseline, state.reseeded, metric)
    reference, steps = _reference(state, counterfactual)
    probe, judgement = _judged_probe(state, counterfactual, reference, steps, metric, fix.kind, reverse)
    if reference is not state.baseline:
        result.probe_results[f"{code}:baseline at equal samples"] = reference
    comparison = judgement.comparison
    if reverse:
        finding.evidence = {**finding.evidence, "tested_as": (
            f"trained on {counterfactual.data.train_count} of the {state.setup.data.train_count} training samples: "
            f"validation {metric} {probe.score(metric):.4g} against {state.baseline.score(metric):.4g} "
            "with all of them")}
    replicate = judgement.replicate
    if replicate is not None:
        again = replicate.before if reverse else replicate.after
        finding.evidence = {**finding.evidence, "replicate": {
            "seed": state.seed + 1, "before": replicate.second.before, "after": replicate.second.after,
            "log_gain": replicate.second.log_gain, "mean_log_gain": replicate.mean_log_gain,
            "margin_for_mean": replicate.margin_for_mean}}
        result.probe_results[f"{code}:{fix.kind} (seed+1)"] = again
    result.probe_results[f"{code}:{fix.kind}"] = probe
    result.counterfactuals.append({"finding": code, "cause": finding.cause, "fix": fix.to_dict(),
                                   "probe": probe.to_dict(), "comparison": comparison.__dict__})
    return (reference if reverse else probe), comparison


def _reference(state: RunState, counterfactual: Setup) -> tuple:
    """(the reference probe, the counterfactual's steps): the baseline, or a shortened rerun of it when the
    counterfactual's smaller batch would otherwise see fewer samples (`plan.sample_matched_steps`)."""
    short, steps = sample_matched_steps(state.setup, counterfactual, state.steps)
    if short is None:
        return state.baseline, steps
    old, new = state.setup.batch_size, counterfactual.batch_size
    state.say(f"baseline at batch {old} for {short} steps (as many samples as {state.steps} steps of {new})")
    return state.probe(state.setup, steps=short, seed=state.seed, label="baseline at equal samples"), steps


def _judged_probe(state: RunState, counterfactual: Setup, reference, steps: int, metric: str, label: str,
                  reverse: bool) -> tuple:
    """Probe the change and judge it against `reference`; returns (probe, `Judgement`).

    `reverse`: the probe is the *less* favourable set-up (fewer images), so "before" is the probe. An
    ambiguous gain is replicated with the second seed (`judge.judge`): the change again, and the reference
    again (the reseeded baseline, or the shortened baseline rerun with the second seed).
    """
    probe = state.probe(counterfactual, steps=steps, seed=state.seed, label=label)

    def second_seed() -> tuple:
        state.say(f"ambiguous gain; repeating {label} with seed {state.seed + 1}")
        again = state.probe(counterfactual, steps=steps, seed=state.seed + 1, label=f"{label} (seed+1)")
        if reference is state.baseline:
            base = state.reseeded
        else:
            base = state.probe(state.setup, steps=reference.steps, seed=state.seed + 1,
                               label="baseline at equal samples (seed+1)")
        return (again, base) if reverse else (base, again)

    before, after = (probe, reference) if reverse else (reference, probe)
    margin = state.margins[metric]
    judgement: Judgement = judge(before, after, metric, margin, second_seed=second_seed)
    return probe, judgement
