"""Faults that only show together: when no single fix helps a failing model, test the fixes at once, then
leave each one out.

0-255 images fed to a model whose sigmoid output and loss assume [0, 1]: scaling the inputs alone changes
nothing (the targets are still out of the output's reach), a linear output alone changes nothing (the
inputs still saturate the network). Each single counterfactual is refuted, and a diagnosis that stopped
there would call both "not a cause here". So, when the baseline ends slow or worse (relative MSE >=
`SLOW_RELATIVE_MSE`) and no tested fix was confirmed (or `certain`):

1. the fixes that did no harm alone (after <= `MASKED_TOLERANCE` x before; at most `JOINT_MAX_FIXES`, the
   largest gain alone first, one per fix kind, no batch-size or data-quantity change) are applied together,
   a learning-rate fix last with the rate re-tuned for the changed model, and probed once;
2. when that joint probe beats the baseline beyond the seed noise, each fix is left out in turn (with two
   fixes, leaving one out is the other alone, already probed): a fix whose absence loses the gain beyond
   the noise is needed, and its finding becomes `confirmed` (`evidence.confirmed_jointly_with` names the
   others, `evidence.alone` keeps its effect alone, its effect is the joint probe's; an info-level suspicion
   only when the joint cuts the error by 40%, as alone: `judge.minor_gain`); a fix the joint does
   as well without stays refuted (`evidence.joint_without_it`);
3. when a joint probe of three or more fixes does not help, each fix is left out of it in turn (one fix can
   spoil the others: a learning rate picked on a dead model), and the subset that beats the baseline the
   most beyond the noise, if any, takes the joint's place in step 2.

When the joint probe does not help either, every finding stays refuted with `evidence.joint` saying so: the
fixes were tried together too. Probes are compared at their last step (a single probe decided early is run
to its end first). Whatever the budget has no room for is left as it was, and the finding says so; the
budget records it, so the diagnosis says it is partial (`partial`).
"""

from __future__ import annotations

import math

from caedoctor.diagnosis import lr_finder
from caedoctor.diagnosis.judge import SLOW_LOG_GAIN, compare
from caedoctor.diagnosis.plan import equal_samples_steps
from caedoctor.diagnosis.state import RunState
from caedoctor.findings import Effect, Fix
from caedoctor.fixes import FixContext, NotApplicable, apply_fix, is_more_data
from caedoctor.thresholds import (JOINT_MAX_FIXES, MASKED_TOLERANCE, SLOW_GAIN, SLOW_RELATIVE_MSE,
                                  START_PROBE_SHARE)

METRIC = "relative_mse"


def test_together(state: RunState) -> None:
    """Revise the refuted findings of a failing set-up that no single fix helped, as the module doc says (in
    place, on `state.result`)."""
    baseline = state.baseline
    if baseline is None or not baseline.score(METRIC) >= SLOW_RELATIVE_MSE or _any_held(state):
        return
    candidates = _candidates(state)
    if len(candidates) < 2:
        return
    if not state.budget.can_start(state.steps, 1.0):
        _note(state, candidates, "a joint test of the fixes that did no harm alone did not fit the time budget")
        return
    candidates, names, joint_setup = _together(state, candidates)
    if len(candidates) < 2:
        return
    state.say(f"no single fix helped: all of them at once ({names})")
    joint = _probe(state, joint_setup, f"joint: {names}")
    if joint is None:
        _note(state, candidates, "the time budget ran out during the joint test of the fixes that did no harm alone")
        return
    margin = state.margin(METRIC)
    if margin is None:
        _note(state, candidates,
              "the joint test ran, but the budget had no room to measure the seed noise it is judged by")
        return
    together = compare(baseline, joint, METRIC, margin)
    _record(state, candidates, joint, together, f"together: {names}")
    joint_effect = {"metric": METRIC, "before": together.before, "after": together.after, "fixes": names}
    if together.status != "confirmed" and len(candidates) > 2:
        candidates, joint, together = _spoiler_left_out(state, candidates, margin, together)
    if together.status != "confirmed":
        for _fix, findings in candidates:
            for f in findings:
                f.evidence = {**f.evidence, "joint": {**joint_effect, "status": "refuted"}}
        return
    _leave_one_out(state, candidates, joint, margin, together)


def _spoiler_left_out(state: RunState, candidates: list, margin: float, together) -> tuple:
    """(candidates, joint probe, comparison) after a joint probe of three or more fixes that did not help: each
    fix left out in turn, since one can spoil the others (dev-057 of the generated benchmark: targets shuffled
    apart from their inputs and ReLUs killed by a -2 bias, where the ground truth needs both fixes, but the
    joint probe also held a learning rate the range test picked on the dead model, and ended 30% worse than
    the baseline). The subset that beats the baseline the most beyond the noise replaces the joint; when none
    does (or the budget has no room), the candidates and the comparison come back unchanged, with no probe."""
    best = None
    for index, (fix, _findings) in enumerate(candidates):
        if not state.budget.can_start(state.steps, START_PROBE_SHARE):
            _ran_out(state, candidates[index:])
            break
        kept, names, setup = _together(state, candidates, leave_out=fix.key)
        if len(kept) < 2:
            continue
        state.say(f"the joint fix did not help; without {fix.kind} ({names})")
        probe = _probe(state, setup, f"joint without {fix.kind}")
        if probe is None:
            _ran_out(state, candidates[index:])
            break
        subset = compare(state.baseline, probe, METRIC, margin)
        _record(state, kept, probe, subset, f"together, without {fix.kind}: {names}")
        if subset.status == "confirmed" and (best is None or subset.log_gain > best[2].log_gain):
            best = (kept, probe, subset)
    return best if best is not None else (candidates, None, together)


def _any_held(state: RunState) -> bool:
    """Whether a single fix helped: a finding confirmed or certain, or one held back only because an untested
    upstream cause can produce it (`upstream`)."""
    return any((f.status in ("confirmed", "certain") or "held_back" in f.evidence) and f.fix is not None
               for f in state.result.findings)


def _candidates(state: RunState) -> list:
    """[(fix, findings)]: refuted alone but no worse for it, one per fix kind, the largest gain first."""
    by_key: dict = {}
    for f in state.result.findings:
        if (f.status == "refuted" and f.fix is not None and f.effect is not None and f.fix.key in state.tested
                and not is_more_data(f.fix) and f.fix.kind != "batch_size" and "explained_by" not in f.evidence
                and math.isfinite(f.effect.after) and f.effect.after <= MASKED_TOLERANCE * f.effect.before):
            by_key.setdefault(f.fix.key, (f.fix, []))[1].append(f)
    ranked = sorted(by_key.values(), key=lambda item: -state.tested[item[0].key][1].log_gain)
    kinds, chosen = set(), []
    for fix, findings in ranked:
        if fix.kind not in kinds:
            kinds.add(fix.kind)
            chosen.append((fix, findings))
    return chosen[:JOINT_MAX_FIXES]


def _together(state: RunState, candidates: list, leave_out=None) -> tuple:
    """(the candidates applied together, their names, the set-up with them all but `leave_out`)."""
    applied, setup = _apply_all(state, [fix for fix, _ in candidates], leave_out=leave_out)
    kept = [(fix, fs) for fix, fs in candidates if fix.key in applied]
    return kept, " + ".join(fix.kind for fix, _ in kept), setup


def _apply_all(state: RunState, fixes: list, leave_out=None):
    """(keys of the fixes applied, the set-up with all of `fixes` but `leave_out`): a learning-rate fix last,
    its rate re-tuned for the changed model. A fix that cannot be applied on top of the others is skipped."""
    setup, applied = state.setup, []
    rate_last = sorted(fixes, key=lambda fix: fix.kind == "learning_rate")
    for fix in rate_last:
        if leave_out is not None and fix.key == leave_out:
            continue
        change = fix
        if fix.kind == "learning_rate" and applied:
            lr = lr_finder.retuned_lr(setup, state.seed, state.runner) or fix.params.get("learning_rate")
            change = Fix("learning_rate", {"learning_rate": lr}, fix.description) if lr else fix
        try:
            setup = apply_fix(setup, change, FixContext(state.suggestion, setup.analysis()))
        except NotApplicable:
            continue
        applied.append(fix.key)
    return applied, setup


def _probe(state: RunState, setup, label: str):
    steps = equal_samples_steps(state.steps, state.setup.batch_size, setup.batch_size)
    probe = state.probe(setup, steps=steps, seed=state.seed, label=label)
    return None if probe.stopped == "out_of_time" else probe


def _record(state: RunState, candidates: list, probe, comparison, description: str) -> None:
    """Record a probe of several fixes together, as reports and benchmarks read counterfactuals."""
    names = " + ".join(fix.kind for fix, _ in candidates)
    state.result.probe_results[f"joint: {names}"] = probe
    state.result.counterfactuals.append({"finding": "+".join(fs[0].code for _, fs in candidates), "cause": "joint",
                                         "fix": {"kind": names, "params": {"fixes": [fix.to_dict() for fix, _ in
                                                                                    candidates]},
                                                 "description": description},
                                         "probe": probe.to_dict(), "comparison": comparison.__dict__})


def _leave_one_out(state: RunState, candidates: list, joint, margin: float, together) -> None:
    """Which of the jointly applied fixes the gain needs: each left out in turn, judged against the joint."""
    fixes = [fix for fix, _ in candidates]
    for fix, findings in candidates:
        if len(candidates) == 2:
            (other,) = [g for g in fixes if g.key != fix.key]
            without = state.full_probe(other.key)
        elif state.budget.can_start(state.steps, START_PROBE_SHARE):
            _, setup = _apply_all(state, fixes, leave_out=fix.key)
            state.say(f"the joint fix without {fix.kind}")
            without = _probe(state, setup, f"joint without {fix.kind}")
        else:
            without = None
        if without is None:
            _note(state, [(fix, findings)], "the joint fix helped, but the time budget ran out before this fix was "
                                     "left out of it to see whether the gain needs it")
            continue
        needed = compare(without, joint, METRIC, margin)
        state.result.counterfactuals.append({"finding": findings[0].code, "cause": findings[0].cause,
                                             "fix": fix.to_dict(), "left_out_of": "joint", "probe": without.to_dict(),
                                             "comparison": needed.__dict__})
        others = [fs[0].code for g, fs in candidates if g.key != fix.key]
        for f in findings:
            alone = {"metric": f.effect.metric, "before": f.effect.before, "after": f.effect.after}
            if needed.status == "confirmed" and f.severity == "info" and together.log_gain < SLOW_LOG_GAIN:
                f.evidence = {**f.evidence, "minor_gain": (
                    f"the fixes together cut the error by {100 * together.improvement:.0f}%, less than the "
                    f"{100 * (1 - SLOW_GAIN):.0f}% an info-level suggestion must cut to count as a cause"),
                    "joint": {"metric": METRIC, "before": together.before, "after": together.after,
                              "status": "confirmed"}}
            elif needed.status == "confirmed":
                f.status = "confirmed"
                f.effect = Effect(METRIC, together.before, together.after)
                f.evidence = {**f.evidence, "confirmed_jointly_with": others, "alone": alone,
                              "joint_without_it": {"metric": METRIC, "after": needed.before}}
            else:
                f.evidence = {**f.evidence, "joint": {"metric": METRIC, "before": together.before,
                                                      "after": together.after, "status": "confirmed"},
                              "joint_without_it": {"metric": METRIC, "after": needed.before}}


def _note(state: RunState, candidates: list, why: str) -> None:
    """The budget stopped the joint test: each finding says why (`evidence.joint`), and the budget records it."""
    for _fix, findings in candidates:
        for f in findings:
            f.evidence = {**f.evidence, "joint": {"status": "not tested", "why": why}}
            state.budget.leave_untested(f, why, "joint")


def _ran_out(state: RunState, left: list) -> None:
    """The budget ran out before these fixes were left out of a joint fix that did not help: recorded as
    untested (their findings stay as the joint's outcome leaves them)."""
    for _fix, findings in left:
        for f in findings:
            state.budget.leave_untested(f, "the joint fix did not help, and the time budget ran out before this "
                                           "fix was left out of it (one fix can spoil the others)", "joint")
