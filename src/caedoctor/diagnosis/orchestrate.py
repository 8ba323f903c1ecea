"""`diagnose(model, data)`: the stages of a diagnosis in order, each a function of the run's `RunState`.

1. static checks (`caedoctor.checks`); blocking errors (a shape mismatch, NaN samples) end it: `invalid`;
2. the baseline probe with the monitor, its symptoms and the verdict they give (`verdict`);
3. the LR range test when the learning rate is suspect, and the symptom findings (CAE7xx);
4. a counterfactual probe per suspected cause, decided early when the outcome is clear (`counterfactuals`,
   `sequential`, `judge`; the seed-noise probe runs when a decision needs it);
5. explain-away (`explain_away`);
6. when no single fix helped a failing model, the fixes tried together and each left out (`joint`); then the
   verdict revised by what the probes measured.
After each stage, a confirmed finding that an untested upstream cause can produce by itself (a saturated
output under an untested rate of 0.1) is held back as `suspected` (`upstream`).
A set-up that cannot train as it is (verdict `invalid`) is diagnosed once more with its blocking errors fixed
(`past_blockers`), unless `quick`.

The whole diagnosis keeps to a time budget (`budget`), and records where its time went (`timings`); when the
budget left part of it undone, the result says so at its top (`partial`).

The answer is a `Diagnosis`: a verdict, findings with a status each (`certain`, `confirmed`, `refuted`,
`suspected`) and the measured `effect` of the one change that tests it.
"""

from __future__ import annotations

import time

from caedoctor.data import Data
from caedoctor.diagnosis import counterfactuals, joint, lr_finder
from caedoctor.probing.budget import Budget
from caedoctor.diagnosis.explain_away import explain_away
from caedoctor.diagnosis.forecast import forecast_probe
from caedoctor.diagnosis.horizon import Horizon
from caedoctor.diagnosis.partial import partial_of
from caedoctor.diagnosis.past_blockers import diagnose_past_blockers
from caedoctor.probing.executors import executor_for
from caedoctor.probing.probes import DEFAULT_STEPS, QUICK_STEPS
from caedoctor.diagnosis.result import Diagnosis
from caedoctor.diagnosis.state import RunState
from caedoctor.diagnosis.verdict import (blocking, learning_rate_suspect, verdict_after_probes,
                                         verdict_from_probe)
from caedoctor.probing.timings import Timings
from caedoctor.diagnosis.upstream import hold_back
from caedoctor.findings import Fix
from caedoctor.models import LoadedModel
from caedoctor.progress import silent
from caedoctor.setup import Setup
from caedoctor.thresholds import DEFAULT_BUDGET_SECONDS


def diagnose(model, data="bundled:patches32", *, config_overrides: dict | None = None, steps: int | None = None,
             seed: int = 0, quick: bool = False, budget_seconds: float | None = DEFAULT_BUDGET_SECONDS,
             lr_find_steps: int = 100, sequential: bool = True, jobs: int = 1, horizon_steps=None,
             progress=None, executor="local") -> Diagnosis:
    """Diagnose why `model` does (not) converge on `data`, with measurements.

    Args:
        model: a MODEL string (preset:..., file.keras, spec.yaml, file.py:function), a `keras.Model`, or a
            `LoadedModel`.
        data: a DATA string, array, `(x, y)` pair, or a loaded `Data`.
        config_overrides: optimizer / learning_rate / loss / batch_size to use instead of the model's own.
        steps: training steps per probe (every counterfactual uses the same number); default `DEFAULT_STEPS`
            (500), or `QUICK_STEPS` (250) with `quick=True`.
        seed: the seed of every probe; the same seed gives the same diagnosis.
        quick: static findings, one probe and the verdict only (no LR range test, no counterfactual probes).
        budget_seconds: the time the whole diagnosis may take (None: no limit). A slow model runs shorter
            probes; counterfactual probes run in order of evidence while time is left, untested suspicions
            stay `suspected` with the reason (`caedoctor.probing.budget`), and the result says it is
            `partial`, with what was left untested and how long the full diagnosis needs (`partial`).
        sequential: decide a counterfactual probe as soon as its outcome is clear (`sequential`); False
            runs every probe to its last step and records what the early rule would have decided.
        jobs: how many counterfactual probes run side by side (threads sharing the CPU cores or GPUs; each
            seeds and builds its model alone, so the result is the same as with 1). 1 is the default: on 2
            CPU cores side by side was not reliably faster (bench/README.md, "Probes side by side").
        horizon_steps: the number of training steps the diagnosis is about (`caedoctor.diagnosis.horizon`):
            an int, a `Horizon` (a watched fit's), or None for `DEFAULT_HORIZON_STEPS`. Each probe's
            validation curve is forecast there (`forecast`) and the output states it.
        progress: optional callable(str) told what is running.
        executor: where the counterfactual probes run (`caedoctor.probing.executors`): "local" (this process,
            `jobs` at a time), "ray" (Ray tasks, each in its own process with its own TensorFlow, as many at
            a time as the cluster has CPUs, or `jobs`; `RAY_ADDRESS` names a cluster, else a local Ray is
            started for the diagnosis), or an executor object (kept open for the caller). The same seeds
            give the same diagnosis on either.

    Returns:
        `Diagnosis` with verdict, findings (status and effect each), probe curve and LR range test.
    """
    say = progress or silent
    start = time.perf_counter()
    owned = isinstance(executor, str)
    if owned:
        executor = executor_for(executor, jobs=max(1, int(jobs)), say=say)
        if executor.remote:
            say(f"probes run as {executor.describe()}")
    try:
        return _diagnose(model, data, config_overrides=config_overrides, steps=steps, seed=seed, quick=quick,
                         budget_seconds=budget_seconds, lr_find_steps=lr_find_steps, sequential=sequential,
                         horizon_steps=horizon_steps, progress=progress, executor=executor, start=start)
    finally:
        if owned:
            executor.close()


def _diagnose(model, data, *, config_overrides, steps, seed, quick, budget_seconds, lr_find_steps, sequential,
              horizon_steps, progress, executor, start) -> Diagnosis:
    say = progress or silent
    jobs = executor.parallel
    steps = steps or (QUICK_STEPS if quick else DEFAULT_STEPS)
    horizon = Horizon.of(horizon_steps)
    timings = Timings()
    with timings.stage("loading model and data"):
        setup = _setup_of(model, data, seed, config_overrides)
    for note in setup.config.notes:
        say(f"note: {note}")
    with timings.stage("static checks"):
        static = _static_stage(setup, say)
    state = RunState(setup=setup, result=static, steps=steps, seed=seed, say=say,
                     budget=Budget(budget_seconds, start, say), sequential=sequential, jobs=jobs,
                     timings=timings, horizon=horizon, executor=executor,
                     analysis=setup.analysis())
    state.result.horizon = {**horizon.to_dict(), "forecast": None}
    _note_opaque_model(state)
    if _blocked(state):
        if not quick:
            options = {"seed": seed, "steps": steps, "sequential": sequential, "jobs": jobs, "progress": progress,
                       "executor": executor,
                       "lr_find_steps": lr_find_steps, "horizon_steps": horizon}
            with timings.stage("past the blocking errors"):
                diagnose_past_blockers(state, diagnose, options)
        return _finish(state)
    _run_stage(state, "baseline probe", lambda st: _baseline_stage(st, compared=not quick))
    _run_stage(state, "LR range test", lambda st: _learning_rate_stage(st, lr_find_steps if not quick else 0))
    if quick:  # verdict and static findings only
        return _finish(state)
    _run_stage(state, "counterfactual probes", counterfactuals.test_findings)
    _run_stage(state, "explain-away", explain_away)
    _run_stage(state, "joint probes", joint.test_together)
    state.result.verdict = verdict_after_probes(state.result.verdict, state.result.findings,
                                                state.baseline.relative_mse)
    return _finish(state)


def _run_stage(state: RunState, name: str, stage) -> None:
    """Run `stage(state)`, its time and its probes recorded under `name`; then no finding a stage confirmed
    stays confirmed while an untested upstream cause can produce it by itself (`upstream.hold_back`)."""
    state.stage = name
    with state.timings.stage(name):
        stage(state)
    hold_back(state.result.findings)


def _setup_of(model, data, seed: int, config_overrides: dict | None) -> Setup:
    """The `Setup` to diagnose, loading a DATA or MODEL argument when given one."""
    from caedoctor.data import load_data
    from caedoctor.models import load_model

    if not isinstance(data, Data):
        data = load_data(data, seed=seed)
    if not isinstance(model, LoadedModel):
        model = load_model(model, data.input_shape, **(config_overrides or {}))
    elif config_overrides:
        model = LoadedModel(model.model, model.config.with_overrides(**config_overrides), model.source)
    return Setup.of(model, data)


def _static_stage(setup: Setup, say) -> Diagnosis:
    """A `Diagnosis` holding the static findings, before any probe."""
    # Imported here, when the stage runs: a failure inside the static checks (even one importing them) is a
    # bug to surface (exit 3 on the CLI), never an empty list that reads as a clean bill of health.
    from caedoctor.checks import check

    say("static checks")
    findings = list(check(setup.loaded, setup.data, config=setup.config))
    return Diagnosis(verdict="converging", findings=findings, probe=None, lr_find=None, elapsed_s=0.0,
                     model=setup.source, data=setup.data.name, profile=setup.data.profile.to_dict(),
                     setup=setup.describe())


def _note_opaque_model(state: RunState) -> None:
    """Say which static rules a subclassed model skipped (they read the layer graph it does not expose)."""
    if state.analysis is None or not state.analysis.opaque:
        return
    from caedoctor.checks.registry import RULES

    skipped = [r.code for r in RULES if r.reads_graph]
    state.result.setup["notes"].append(
        f"{type(state.setup.model).__name__} is a subclassed model: the {len(skipped)} static rules that read the "
        "layer graph were not run, and fixes that rewrite layers are not testable on it")


def _blocked(state: RunState) -> bool:
    """Mark every error-level finding `certain`; True (verdict `invalid`) when one makes training meaningless."""
    findings = state.result.findings
    stop = blocking(findings)
    for f in findings:
        if f.severity == "error":
            f.status = "certain"
    if stop:
        state.result.verdict = "invalid"
    return bool(stop)


def _baseline_stage(state: RunState, compared: bool = True) -> None:
    """The probe of the set-up as it is, with the monitor: its curve, its symptoms and the verdict.
    `compared`: counterfactual probes will follow, so the baseline is scored on the check batch every
    `SEQUENTIAL_CHECK_STEPS` steps for their early decisions (a quick diagnosis skips those scorings)."""
    result, setup = state.result, state.setup
    state.runner.prepare(compared)
    state.say(f"probe run ({state.steps} steps)")
    baseline = state.probe(setup, steps=state.steps, seed=state.seed, label="baseline", monitored=True,
                           stop_at=state.budget.baseline_steps(state.steps), keep=compared)
    state.steps = baseline.steps  # shortened when the budget plan said so: every probe runs as many
    state.budget.reserve_for_scoring(baseline.timing.get("scoring", 0.0))
    state.baseline = result.baseline = baseline
    result.probe_results["baseline"] = baseline
    result.probe = baseline.summary()
    result.symptoms = baseline.symptoms()
    result.verdict = verdict_from_probe(baseline, result.symptoms, own_loss=setup.config.loss.own is not None)
    if baseline.checkpoints:
        result.horizon["forecast"] = forecast_probe(baseline, "relative_mse", state.horizon.steps).to_dict()


def _learning_rate_stage(state: RunState, lr_find_steps: int) -> None:
    """The LR range test when the rate is suspect, then the symptom findings (CAE7xx) it informs, and the
    suggested rate filled into every learning-rate fix that has none."""
    from caedoctor.checks.probe_findings import findings_from_symptoms

    result, setup = state.result, state.setup
    if learning_rate_suspect(result.findings, result.verdict) and lr_find_steps > 0:
        if not state.budget.can_start(lr_find_steps, 1.0):
            result.lr_find = {"suggestion": None, "error": "not run: the time budget had no room for it"}
            state.budget.skip("the LR range test", lr_find_steps)
            lr_find_steps = 0
    if learning_rate_suspect(result.findings, result.verdict) and lr_find_steps > 0:
        state.say("learning-rate range test")
        try:
            lr_result = lr_finder.lr_find(setup, steps=lr_find_steps, seed=state.seed, runner=state.runner)
        except ValueError as exc:  # e.g. BCE on signed targets: no positive loss to read a curve from
            result.lr_find = {"suggestion": None, "error": str(exc)}
        else:
            state.suggestion = lr_result.suggestion
            result.lr_find = lr_result.to_dict()
            result.probe_results["lr_find"] = lr_result
    suggestion = state.suggestion
    result.findings.extend(findings_from_symptoms(result.symptoms, result.findings, suggestion,
                                                  setup.config.learning_rate, state.analysis))
    for f in result.findings:
        if f.fix is not None and f.fix.kind == "learning_rate" and not f.fix.params.get("learning_rate") and suggestion:
            f.fix = Fix("learning_rate", {"learning_rate": float(suggestion)},
                        f"set {setup.config.optimizer.class_name}'s learning rate to {suggestion:.2g} (the LR range "
                        "test's suggestion; its other arguments kept)")


def _finish(state: RunState) -> Diagnosis:
    state.drop_kept()
    result = state.result
    result.elapsed_s = time.perf_counter() - state.budget.start
    result.timings = {"total": round(result.elapsed_s, 3), **state.timings.to_dict()}
    result.plan = {"budget_seconds": state.budget.seconds, "steps": state.steps,
                   "reused_compiled": state.models.reused if state.models is not None else 0,
                   "step_ms": None if state.budget.step_seconds is None else round(1000 * state.budget.step_seconds, 2),
                   "sequential": state.sequential, "jobs": state.jobs, "said": list(state.budget.plan),
                   "executor": state.runner.executor.name,
                   **({"ran_here": dict(state.runner.executor.ran_here)} if state.runner.executor.ran_here else {})}
    partial = partial_of(state.budget, result.findings, result.elapsed_s, len(state.timings.probes))
    if partial.partial or not result.partial:  # past the blockers, the inner diagnosis says its own
        result.partial, result.partial_reason = partial.partial, partial.reason
        result.untested, result.full_seconds = partial.untested, partial.full_seconds
    return result
