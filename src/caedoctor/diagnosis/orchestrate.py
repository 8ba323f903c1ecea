"""`diagnose(model, data)`: the stages of a diagnosis in order, each a function of the run's `RunState`.

1. static checks (`caedoctor.checks`); blocking errors (a shape mismatch, NaN samples) end it: `invalid`;
2. the baseline probe with the monitor, its symptoms and the verdict they give (`verdict`);
3. the LR range test when the learning rate is suspect, and the symptom findings (CAE7xx);
4. the seed-noise probe and a counterfactual probe per suspected cause (`counterfactuals`, `judge`);
5. explain-away (`explain_away`) and the verdict revised by what the probes measured.

The answer is a `Diagnosis`: a verdict, findings with a status each (`certain`, `confirmed`, `refuted`,
`suspected`) and the measured `effect` of the one change that tests it.
"""

from __future__ import annotations

import time

from caedoctor.data import Data
from caedoctor.diagnosis import counterfactuals, lr_finder
from caedoctor.diagnosis.explain_away import explain_away
from caedoctor.diagnosis.probes import DEFAULT_STEPS
from caedoctor.diagnosis.result import Diagnosis
from caedoctor.diagnosis.state import RunState
from caedoctor.diagnosis.verdict import (blocking, learning_rate_suspect, verdict_after_probes,
                                         verdict_from_probe)
from caedoctor.findings import Fix
from caedoctor.models import LoadedModel
from caedoctor.setup import Setup


def diagnose(model, data="bundled:patches32", *, config_overrides: dict | None = None, steps: int = DEFAULT_STEPS,
             seed: int = 0, quick: bool = False, budget_seconds: float | None = None, lr_find_steps: int = 100,
             progress=None) -> Diagnosis:
    """Diagnose why `model` does (not) converge on `data`, with measurements.

    Args:
        model: a MODEL string (preset:..., file.keras, spec.yaml, file.py:function), a `keras.Model`, or a
            `LoadedModel`.
        data: a DATA string, array, `(x, y)` pair, or a loaded `Data`.
        config_overrides: optimizer / learning_rate / loss / batch_size to use instead of the model's own.
        steps: training steps per probe (every counterfactual uses the same number).
        seed: the seed of every probe; the same seed gives the same diagnosis.
        quick: static findings, one probe and the verdict only (no LR range test, no counterfactual probes).
        budget_seconds: stop starting counterfactual probes once this much time has passed
            (untested suspicions stay `suspected`).
        progress: optional callable(str) told what is running.

    Returns:
        `Diagnosis` with verdict, findings (status and effect each), probe curve and LR range test.
    """
    say = progress or (lambda _msg: None)
    start = time.perf_counter()
    setup = _setup_of(model, data, seed, config_overrides)
    for note in setup.config.notes:
        say(f"note: {note}")
    state = RunState(setup=setup, result=_static_stage(setup, say), steps=steps, seed=seed, say=say, start=start,
                     budget_seconds=budget_seconds, analysis=setup.analysis())
    _note_opaque_model(state)
    if _blocked(state):
        return _finish(state)
    _baseline_stage(state)
    _learning_rate_stage(state, lr_find_steps if not quick else 0)  # quick: verdict and static findings only
    if quick:
        return _finish(state)
    counterfactuals.measure_noise(state)
    counterfactuals.test_findings(state)
    explain_away(state)
    state.result.verdict = verdict_after_probes(state.result.verdict, state.result.findings,
                                                state.baseline.relative_mse)
    return _finish(state)


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


def _baseline_stage(state: RunState) -> None:
    """The probe of the set-up as it is, with the monitor: its curve, its symptoms and the verdict."""
    result = state.result
    state.say(f"probe run ({state.steps} steps)")
    baseline = state.probe(state.setup, steps=state.steps, seed=state.seed, label="baseline", monitored=True)
    state.baseline = result.baseline = baseline
    result.probe_results["baseline"] = baseline
    result.probe = baseline.summary()
    result.symptoms = baseline.symptoms()
    result.verdict = verdict_from_probe(baseline, result.symptoms)


def _learning_rate_stage(state: RunState, lr_find_steps: int) -> None:
    """The LR range test when the rate is suspect, then the symptom findings (CAE7xx) it informs, and the
    suggested rate filled into every learning-rate fix that has none."""
    from caedoctor.checks.probe_findings import findings_from_symptoms

    result, setup = state.result, state.setup
    if learning_rate_suspect(result.findings, result.verdict) and lr_find_steps > 0:
        state.say("learning-rate range test")
        try:
            lr_result = lr_finder.lr_find(setup, steps=lr_find_steps, seed=state.seed)
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
    state.result.elapsed_s = time.perf_counter() - state.start
    return state.result
