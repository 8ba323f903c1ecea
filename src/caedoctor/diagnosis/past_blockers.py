"""Past the blocking errors: a set-up that cannot train as it is (NaN samples, a shape mismatch) is diagnosed
once more with those errors fixed, so the user learns in one run what else is wrong.

The verdict stays `invalid` (the set-up as given cannot train) and the blocking findings stay `certain`. When
every blocking finding has a fix that applies, the fixed set-up (its data and model) is diagnosed like any
other, within what is left of the time budget, and its findings replace the non-blocking ones of the static
pass (the same rules, read again on the set-up that trains, with fixes that apply to it): each says so in
its evidence (`measured_past`: the codes of the errors fixed first), and the set-up notes say what the
probe of the fixed set-up concluded. A set-up whose blockers have no fix, or whose fixed form still does not
train, keeps the static findings alone.
"""

from __future__ import annotations

from caedoctor.diagnosis.verdict import blocking
from caedoctor.errors import CaedoctorError
from caedoctor.fixes import FixContext, NotApplicable, apply_fix


def diagnose_past_blockers(state, diagnose_fn, options: dict) -> None:
    """Diagnose `state.setup` with its blocking findings fixed, and merge that diagnosis into
    `state.result` (in place), as the module doc says. `diagnose_fn` is `orchestrate.diagnose`, called
    with `options` (seed, steps, sequential, jobs, progress) and what is left of the budget."""
    result = state.result
    blockers = blocking(result.findings)
    if not blockers or any(f.fix is None for f in blockers):
        return
    setup = state.setup
    try:
        for f in blockers:
            setup = apply_fix(setup, f.fix, FixContext(None, setup.analysis()))
    except NotApplicable:
        return
    from caedoctor.checks import check  # as in the static stage: a failure there surfaces

    if blocking(list(check(setup.loaded, setup.data, config=setup.config))):
        return  # still cannot train: nothing more to measure
    codes = [f.code for f in blockers]
    state.say(f"the set-up cannot train as it is; diagnosing it with {', '.join(codes)} fixed")
    left = state.budget.remaining()
    budget = None if state.budget.seconds is None else left
    if budget is not None and budget <= 0:
        return
    try:
        inner = diagnose_fn(setup.loaded, setup.data, budget_seconds=budget, **options)
    except CaedoctorError as exc:  # the fixed set-up is refused (a bug in a fix surfaces as itself)
        result.setup["notes"].append(f"the set-up with {', '.join(codes)} fixed could not be diagnosed: {exc}")
        return
    if inner.verdict == "invalid":
        return
    for f in inner.findings:
        f.evidence = {**f.evidence, "measured_past": codes}
    result.findings = [f for f in result.findings if f in blockers] + inner.findings
    result.probe, result.baseline, result.lr_find = inner.probe, inner.baseline, inner.lr_find
    result.symptoms, result.noise = inner.symptoms, inner.noise
    result.counterfactuals, result.probe_results = inner.counterfactuals, inner.probe_results
    result.partial, result.partial_reason = inner.partial, inner.partial_reason
    result.untested, result.full_seconds = inner.untested, inner.full_seconds
    result.setup["notes"].append(
        f"the set-up as given cannot train ({', '.join(codes)}); with {'that' if len(codes) == 1 else 'those'} "
        f"fixed, its probe's verdict is {inner.verdict}, and the other findings are measured on that set-up")
