"""Explain away: separate independent causes from consequences of the strongest one and from alternatives,
then look for causes that only show together with the strongest.

A learning rate of 0.1 saturates a sigmoid output, so adding BatchNorm "helps" too; but once the rate is
fixed, BatchNorm adds nothing. The strongest tested fix F (of a `confirmed` or `certain` finding) is combined
with every other confirmed fix G and probed once more:
- G improves on F alone by more than the seed noise measured around F: an independent cause, kept;
- G adds nothing on top of F, but F adds to G alone: G only treated a consequence of F's cause; its finding is
  refuted (`evidence.explained_by` names F's finding);
- neither adds to the other: two alternative fixes of one defect (unnormalised data under SGD is fixed by
  scaling the data *or* by a rate that suits the scale); both stay confirmed (`evidence.alternative_to`).
Before stacking, the seed-noise probe around F runs with the monitor: a G raised only by symptoms (CAE7xx)
that F's probe no longer shows is refuted at once as a consequence of F's cause (`evidence.symptom_gone`),
however much its fix improves a model in general, provided F's fix gets the model off the mean image (its
probe below STUCK_RELATIVE_MSE); otherwise G is stacked on top of F like any other.
Two faults can also hide each other: with dead ReLUs *and* a rate of 1e-5, neither fix alone gets the model
off the mean image. So when F alone still leaves the probe slow (relative MSE >= SLOW_RELATIVE_MSE), every
refuted fix that did no harm alone (within MASKED_TOLERANCE) is retried on top of F, and confirmed when it
improves on F beyond the noise (`evidence.confirmed_on_top_of`; an info-level suspicion, as alone, only when it
cuts F's error by 40%: `judge.minor_gain`), unless it was raised only by symptoms that
F's probe no longer shows (then nothing is masked: a higher rate that speeds up an already repaired model is
an improvement, not a cause).
When one of the two is a learning-rate change, the rate is re-tuned for the other's model first (a rate found
for the broken model need not suit the repaired one).
Stacking compares probes at their last step: a probe it needs that was decided early (`sequential`) is run
again to the end first, only when there is something to stack. When the time budget runs out first (a
probe it needs cannot start or is cut short), a confirmed finding not yet told apart from a consequence of the
strongest cause becomes `suspected`, and the budget records what was left untested (`partial`).
"""

from __future__ import annotations

import math

from caedoctor.diagnosis import lr_finder
from caedoctor.diagnosis.judge import SLOW_LOG_GAIN, compare, noise_margin
from caedoctor.diagnosis.plan import equal_samples_steps
from caedoctor.diagnosis.state import RunState
from caedoctor.findings import Effect, Fix
from caedoctor.fixes import FixContext, NotApplicable, apply_fix, is_more_data
from caedoctor.thresholds import MASKED_TOLERANCE, SLOW_GAIN, SLOW_RELATIVE_MSE, STUCK_RELATIVE_MSE


def explain_away(state: RunState) -> None:
    """Revise the statuses of the tested findings as the module doc says (in place, on `state.result`)."""
    ranked = _ranked_fixes(state)
    if not ranked:
        return
    (best_key, best_findings), rest = ranked[0], ranked[1:]
    rest = [(k, fs) for k, fs in rest if any(f.status == "confirmed" for f in fs)]  # `certain` stays certain
    best_probe, _ = state.tested[best_key]
    if not rest and best_probe.score("relative_mse") < SLOW_RELATIVE_MSE:
        # One cause, and its fix leaves nothing masked (for a probe decided early: already at its last
        # step, and the error only falls further): nothing to stack.
        return
    best_probe = state.full_probe(best_key)
    if best_probe is None:
        state.budget.add_unrun_probes()  # the strongest fix's probe, rerun to its last step
        _leave_unseparated(rest, best_findings[0].code, state)
        return
    masked = _maybe_masked(state, best_probe, {k for k, _ in ranked})
    if not rest and not masked:
        return
    stack = _Stacker(state, best_findings[0].fix)
    if stack.best is None:
        return
    state.say("seed-noise probe around the strongest fix")
    reseeded = state.probe(stack.best, steps=stack.best_steps, seed=state.seed + 1,
                           label=f"{stack.best_fix.kind} (seed+1)", monitored=True)
    best_code = best_findings[0].code
    items = rest + list(masked.items())
    if reseeded.stopped == "out_of_time":
        state.budget.add_unrun_probes()  # the seed-noise probe around the strongest fix
        _leave_unseparated(items, best_code, state)
        return
    symptoms_after = {s["name"] for s in reseeded.symptoms() if s.get("present")}
    # A symptom gone with F's fix marks G as F's consequence only when F's fix gets the model off the mean
    # image (below STUCK_RELATIVE_MSE): a model still there after it (zeroed ReLU biases at a rate of 1e-5:
    # no longer "stuck", still at 0.95) may need G too, which stacking G on top of F tells. (Below that
    # level, BatchNorm stacked on a fixed initialiser "helps" a model that still learns, 0.80: a general
    # improvement, not a cause; generated dev case dev-023.)
    resolved = best_probe.score("relative_mse") < STUCK_RELATIVE_MSE
    for index, (key, findings) in enumerate(items):
        if state.out_of_budget():
            _leave_unseparated(items[index:], best_code, state)
            break
        raised_by = {f.evidence.get("symptom") for f in findings}
        symptom_gone = resolved and None not in raised_by and not raised_by & symptoms_after
        if symptom_gone and all(f.status == "refuted" for f in findings):
            continue  # joint stage: its symptom is gone with F's fix, so nothing is masked
        if symptom_gone and all(f.status == "confirmed" for f in findings):
            # Raised only by symptoms that the strongest fix removes: consequences of its cause. (Their fix
            # may still improve a model in general; that does not make them a cause of this failure.)
            _refute_as_consequence(findings, best_code)
            continue
        _stack_and_judge(state, stack, key, findings, best_probe, reseeded, best_code)


def _ranked_fixes(state: RunState) -> list:
    """[(fix key, findings)] of the held findings whose fix was probed, the largest gain over the baseline
    first (gains, unlike final scores, compare probes decided at different steps)."""
    tested = state.tested
    keys: dict = {}
    for f in state.result.findings:
        if (f.status in ("confirmed", "certain") and f.fix is not None and f.effect
                and not is_more_data(f.fix)  # a data-quantity test has no change to stack
                and f.fix.key in tested):
            keys.setdefault(f.fix.key, []).append(f)
    return sorted(keys.items(), key=lambda kv: -tested[kv[0]][1].log_gain)


def _maybe_masked(state: RunState, best_probe, held_keys: set) -> dict:
    """fix key -> findings refuted alone but no worse for it, when the strongest fix alone still leaves the
    probe slow: a fault masked by another shows no effect alone."""
    if best_probe.score("relative_mse") < SLOW_RELATIVE_MSE:
        return {}
    masked: dict = {}
    for f in state.result.findings:
        if (f.status == "refuted" and f.fix is not None and f.effect is not None
                and not is_more_data(f.fix) and "explained_by" not in f.evidence
                and math.isfinite(f.effect.after) and f.effect.after <= MASKED_TOLERANCE * f.effect.before
                and f.fix.key in state.tested
                and f.fix.key not in held_keys):
            masked.setdefault(f.fix.key, []).append(f)
    return masked


def _leave_unseparated(rest: list, best_code: str, state: RunState) -> None:
    """The budget ran out before these confirmed findings were told apart from a consequence of the strongest
    cause: each helped alone, but "a cause" would claim more than was measured, so they are `suspected`. A
    refuted one (possibly masked) keeps its status; the budget records both as left untested."""
    seconds = state.budget.seconds
    for _key, findings in rest:
        for f in findings:
            if f.status == "confirmed":
                f.status = "suspected"
                f.evidence = {**f.evidence, "not_tested": (
                    f"its fix helped alone ({f.effect.metric} {f.effect.before:.4g} -> {f.effect.after:.4g}), but the "
                    f"time budget ({seconds:.0f} s) ran out before it was told apart from a consequence of "
                    f"{best_code}; rerun with a larger --budget-seconds")}
                state.budget.leave_untested(f, f.evidence["not_tested"], "explain-away")
            elif f.status == "refuted":
                state.budget.leave_untested(f, (
                    f"refuted alone; the time budget ran out before it was retested on top of {best_code}'s fix "
                    "(a fault masked by another shows no effect alone)"), "explain-away")


def _refute_as_consequence(findings: list, best_code: str) -> None:
    for f in findings:
        f.status = "refuted"
        f.evidence = {**f.evidence, "explained_by": best_code,
                      "symptom_gone": (f"with {best_code}'s fix, the probe no longer shows "
                                       f"{f.evidence['symptom']}"),
                      "alone": {"metric": f.effect.metric, "before": f.effect.before, "after": f.effect.after}}


def _stack_and_judge(state: RunState, stack: "_Stacker", key, findings: list, best_probe, reseeded,
                     best_code: str) -> None:
    """Probe G (`findings`' fix) on top of F and revise G's findings: independent, consequence, alternative, or
    (for a finding refuted alone) confirmed on top of F."""
    alone_probe = state.full_probe(key)
    if alone_probe is None:  # no time to rerun it to its last step
        _leave_unseparated([(key, findings)], best_code, state)
        return
    metric = state.tested[key][1].metric
    fix = findings[0].fix
    state.say(f"does {fix.kind} still help once {stack.best_fix.kind} is applied?")
    both = stack.probe_with(fix)
    if both is None:
        return
    if both.stopped == "out_of_time":  # a probe cut short is no measurement to judge by
        _leave_unseparated([(key, findings)], best_code, state)
        return
    margin = noise_margin(best_probe, reseeded, metric)
    adds = compare(best_probe, both, metric, margin)  # G on top of F
    best_adds = compare(alone_probe, both, metric, margin)  # F on top of G
    state.result.probe_results[f"{stack.best_fix.kind}+{fix.kind}"] = both
    state.result.counterfactuals.append({"finding": findings[0].code, "cause": findings[0].cause,
                                         "fix": fix.to_dict(), "on_top_of": best_code,
                                         "probe": both.to_dict(), "comparison": adds.__dict__,
                                         "strongest_on_top": best_adds.__dict__})
    on_top = {"metric": metric, "before": adds.before, "after": adds.after}
    for f in findings:
        alone = {"metric": metric, "before": f.effect.before, "after": f.effect.after}
        if f.status == "refuted":  # the joint stage
            if adds.status == "confirmed" and f.severity == "info" and adds.log_gain < SLOW_LOG_GAIN:
                f.evidence = {**f.evidence, "minor_gain": (
                    f"on top of {best_code}'s fix it cuts the error by {100 * adds.improvement:.0f}%, less than "
                    f"the {100 * (1 - SLOW_GAIN):.0f}% an info-level suggestion must cut to count as a cause"),
                    "on_top_of_strongest": on_top}
            elif adds.status == "confirmed":
                f.status = "confirmed"
                f.evidence = {**f.evidence, "confirmed_on_top_of": best_code, "alone": alone,
                              "on_top_of_strongest": on_top}
                f.effect = Effect(metric, adds.before, adds.after)
            continue
        if f.status != "confirmed" or adds.status == "confirmed":
            continue
        if best_adds.status == "refuted":
            f.evidence = {**f.evidence, "alternative_to": best_code, "on_top_of_strongest": on_top}
            continue
        f.status = "refuted"
        f.evidence = {**f.evidence, "explained_by": best_code, "alone": alone, "on_top_of_strongest": on_top}
        f.effect = Effect(metric, adds.before, adds.after)


class _Stacker:
    """Applies the strongest fix F, then another fix G on top of it, and probes the pair."""

    def __init__(self, state: RunState, best_fix: Fix):
        self.state, self.best_fix = state, best_fix
        self.context = state.fix_context()
        self.retuned = None
        try:
            self.best = apply_fix(state.setup, best_fix, self.context)
        except NotApplicable:
            self.best = None
            return
        self.best_steps = equal_samples_steps(state.steps, state.setup.batch_size, self.best.batch_size)

    def probe_with(self, fix: Fix):
        """The probe of F + `fix`, or None when `fix` cannot be applied on top of F."""
        state = self.state
        try:
            if self.best_fix.kind == "learning_rate" and fix.kind != "learning_rate":
                # G first, then the rate re-tuned for G's model (F's rate was found for the unchanged model)
                g = apply_fix(state.setup, fix, self.context)
                lr = lr_finder.retuned_lr(g, state.seed, state.runner) or self.best.config.learning_rate
                both = apply_fix(g, Fix("learning_rate", {"learning_rate": lr}))
            else:
                if fix.kind == "learning_rate" and self.best_fix.kind != "learning_rate":
                    if self.retuned is None:
                        self.retuned = lr_finder.retuned_lr(self.best, state.seed, state.runner) or state.suggestion
                    fix = Fix("learning_rate", {"learning_rate": self.retuned}, fix.description)
                both = apply_fix(self.best, fix, FixContext(state.suggestion, self.best.analysis()))
        except NotApplicable:
            return None
        steps = equal_samples_steps(state.steps, state.setup.batch_size, both.batch_size)
        return state.probe(both, steps=steps, seed=state.seed, label=f"{self.best_fix.kind}+{fix.kind}")
