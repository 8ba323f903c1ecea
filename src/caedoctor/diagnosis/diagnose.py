"""`diagnose(model, data)`: static checks, a probe run with the monitor, symptom detectors, an LR range test
when the learning rate is suspect, and counterfactual probes that confirm or refute each suspected cause.

The answer is a `Diagnosis`: a verdict, findings with a status each (`certain`, `confirmed`, `refuted`,
`suspected`) and the measured `effect` of the one change that tests it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from caedoctor.data import Data
from caedoctor.diagnosis import probes as P
from caedoctor.findings import Effect, Finding, Fix
from caedoctor.models import LoadedModel

VERDICTS = ("converging", "slow", "not_converging", "diverging", "unstable", "overfitting", "invalid")

# Static errors that make any training meaningless: no probe is run.
_BLOCKING_CAUSES = ("shape_mismatch", "nan_in_data")
_LR_CAUSES = ("learning_rate_too_high", "learning_rate_too_low")
# Causes a convergence probe cannot judge: a bypass makes the loss *easier* to lower (it matters for the
# usefulness of the code, not for convergence), so "the loss did not improve" would be a false refutation.
_NOT_PROBED = ("bottleneck_bypass",)


@dataclass
class Diagnosis:
    """The result of `diagnose`: plain data, printable as text and JSON."""

    verdict: str
    findings: list
    probe: dict | None
    lr_find: dict | None
    elapsed_s: float
    counterfactuals: list = field(default_factory=list)
    symptoms: list = field(default_factory=list)
    noise: dict | None = None
    model: str = ""
    data: str = ""
    profile: dict | None = None
    baseline: object = field(default=None, repr=False)  # ProbeResult, for reports
    probe_results: dict = field(default_factory=dict, repr=False)  # label -> ProbeResult

    @property
    def exit_code(self) -> int:
        """0 when converging with no error-level finding that holds; 1 when problems are found."""
        if self.verdict != "converging":
            return 1
        bad = [f for f in self.findings if f.severity == "error" and f.status != "refuted"]
        bad += [f for f in self.findings if f.status == "confirmed"]
        return 1 if bad else 0

    def confirmed(self) -> list:
        found = [f for f in self.findings if f.status in ("certain", "confirmed")]
        return sorted(found, key=lambda f: -_gain(f))

    def refuted(self) -> list:
        return [f for f in self.findings if f.status == "refuted"]

    def suspected(self) -> list:
        return [f for f in self.findings if f.status == "suspected"]

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "model": self.model,
            "data": self.data,
            "findings": [f.to_dict() for f in self.findings],
            "probe": self.probe,
            "lr_find": self.lr_find,
            "symptoms": self.symptoms,
            "noise": self.noise,
            "counterfactuals": self.counterfactuals,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def _gain(f: Finding) -> float:
    if f.effect is None:
        return math.inf if f.status == "certain" else 0.0
    before, after = f.effect.before, f.effect.after
    if not math.isfinite(before):
        return 1e9
    return (before - after) / before if before else 0.0


def _static_findings(loaded: LoadedModel, data: Data) -> list:
    try:
        from caedoctor.checks import check
    except ImportError:  # static checks not installed in this build
        return []
    return list(check(loaded, data))


def _verdict_from_probe(baseline: P.ProbeResult, symptoms: list) -> str:
    names = {s["name"] for s in symptoms if s.get("present")}
    if baseline.stopped in ("nan", "diverged") or "nan_inf" in names or "diverging" in names:
        return "diverging"
    if "stuck" in names or "collapsed_to_mean" in names or baseline.relative_mse >= STUCK_RELATIVE_MSE:
        return "not_converging"
    if "oscillating" in names:
        return "unstable"
    if "overfitting" in names:
        return "overfitting"
    if "slow" in names or baseline.relative_mse >= SLOW_RELATIVE_MSE:
        return "slow"
    return "converging"


# A probe that ends no better than ~predicting the mean image has not converged; one that explains less
# than ~75% of the target variance after DEFAULT_STEPS steps learns slowly. Both are measured in
# bench/faults (healthy controls end between 0.01 and 0.12 on our data sets).
STUCK_RELATIVE_MSE = 0.9
SLOW_RELATIVE_MSE = 0.25


def _symptoms(baseline: P.ProbeResult) -> list:
    """Symptom dicts {name, present, cause, evidence, message} from the detectors over the monitor's record."""
    from caedoctor.diagnosis.symptoms import detect_symptoms

    if baseline.monitor is None:
        return []
    return [s.to_dict() for s in detect_symptoms(baseline.monitor.record)]


def _symptom_findings(symptoms: list, existing: list, lr_suggestion: float | None, current_lr: float) -> list:
    """Turn present symptoms into findings for causes the static checks did not already raise."""
    from caedoctor.diagnosis.symptom_findings import findings_from_symptoms

    return findings_from_symptoms(symptoms, existing, lr_suggestion, current_lr)


def diagnose(model, data="bundled:patches32", *, config_overrides: dict | None = None, steps: int = P.DEFAULT_STEPS,
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
        quick: static findings, one probe and the verdict only (no counterfactual probes).
        budget_seconds: stop starting counterfactual probes once this much time has passed
            (untested suspicions stay `suspected`).
        progress: optional callable(str) told what is running.

    Returns:
        `Diagnosis` with verdict, findings (status and effect each), probe curve and LR range test.
    """
    from caedoctor.data import load_data
    from caedoctor.models import load_model
    from caedoctor.repair import NotApplicable, apply_fix

    say = progress or (lambda _msg: None)
    start = time.perf_counter()
    if not isinstance(data, Data):
        data = load_data(data, seed=seed)
    if not isinstance(model, LoadedModel):
        model = load_model(model, data.input_shape, **(config_overrides or {}))
    elif config_overrides:
        model = LoadedModel(model.model, model.config.with_overrides(**config_overrides), model.source)
    loaded = model
    say("static checks")
    findings = _static_findings(loaded, data)
    result = Diagnosis(verdict="converging", findings=findings, probe=None, lr_find=None, elapsed_s=0.0,
                       model=loaded.source, data=data.name, profile=data.profile.to_dict())
    blocking = [f for f in findings if f.cause in _BLOCKING_CAUSES and f.severity == "error"]
    for f in findings:
        if f.severity == "error":
            f.status = "certain"
    if blocking:
        result.verdict = "invalid"
        result.elapsed_s = time.perf_counter() - start
        return result

    monitor = _make_monitor(data)
    say(f"probe run ({steps} steps)")
    baseline = P.run_probe(loaded, data, steps=steps, seed=seed, callbacks=[monitor] if monitor else None)
    result.baseline = baseline
    result.probe_results["baseline"] = baseline
    result.probe = {"steps": steps, "steps_run": baseline.steps_run, "seconds": round(baseline.seconds, 3),
                    "loss_curve": [P._finite(v) for v in baseline.loss_curve],
                    "relative_loss": P._finite(baseline.relative_mse), "metrics": baseline.to_dict()["metrics"],
                    "stopped": baseline.stopped}
    symptoms = _symptoms(baseline)
    result.symptoms = symptoms
    result.verdict = _verdict_from_probe(baseline, symptoms)

    lr_suspect = any(f.cause in _LR_CAUSES for f in findings) or result.verdict in (
        "diverging", "not_converging", "unstable", "slow")
    suggestion = None
    if lr_suspect and lr_find_steps > 0:
        say("learning-rate range test")
        from caedoctor.diagnosis.lr_finder import lr_find

        try:
            lr_result = lr_find(loaded, data, steps=lr_find_steps, seed=seed)
        except ValueError as exc:  # e.g. BCE on signed targets: no positive loss to read a curve from
            result.lr_find = {"suggestion": None, "error": str(exc)}
        else:
            suggestion = lr_result.suggestion
            result.lr_find = lr_result.to_dict() if hasattr(lr_result, "to_dict") else dict(lr_result.__dict__)
            result.probe_results["lr_find"] = lr_result
    findings.extend(_symptom_findings(symptoms, findings, suggestion, loaded.config.learning_rate))
    for f in findings:
        if f.fix is not None and f.fix.kind == "learning_rate" and not f.fix.params.get("learning_rate") and suggestion:
            f.fix = Fix("learning_rate", {"learning_rate": float(suggestion)},
                        f"set the learning rate to {suggestion:.2g} (the LR range test's suggestion)")
    if quick:
        result.elapsed_s = time.perf_counter() - start
        return result

    say("seed-noise probe")
    reseeded = P.run_probe(loaded, data, steps=steps, seed=seed + 1, label="baseline (seed+1)")
    result.probe_results["reseeded"] = reseeded
    margins = {}
    tested: dict = {}
    for finding in _order_for_testing(findings):
        if finding.fix is None or finding.status == "refuted":
            continue
        if finding.cause in _NOT_PROBED:
            finding.evidence = {**finding.evidence, "not_tested": "a convergence probe cannot judge this cause"}
            continue
        if budget_seconds is not None and time.perf_counter() - start > budget_seconds:
            say("budget spent; remaining suspicions stay suspected")
            break
        key = (finding.fix.kind, repr(sorted(finding.fix.params.items())))
        if key not in tested:
            try:
                cf_loaded, cf_data = apply_fix(loaded, data, finding.fix, suggested_lr=suggestion)
            except NotApplicable as exc:
                finding.evidence = {**finding.evidence, "not_tested": str(exc)}
                continue
            say(f"counterfactual probe: {finding.fix.description or finding.fix.kind}")
            probe = P.run_probe(cf_loaded, cf_data, steps=steps, seed=seed, label=finding.fix.kind)
            metric = P.metric_for(finding.fix.kind)
            if metric not in margins:
                margins[metric] = P.noise_margin(baseline, reseeded, metric)
            tested[key] = (probe, P.compare(baseline, probe, metric, margins[metric]))
            result.probe_results[f"{finding.code}:{finding.fix.kind}"] = probe
            result.counterfactuals.append({"finding": finding.code, "cause": finding.cause,
                                           "fix": finding.fix.to_dict(), "probe": probe.to_dict(),
                                           "comparison": tested[key][1].__dict__})
        probe, comparison = tested[key]
        finding.effect = Effect(comparison.metric, comparison.before, comparison.after)
        if finding.status != "certain":
            finding.status = comparison.status
    result.noise = {metric: {"margin": m, "baseline": baseline.score(metric), "reseeded": reseeded.score(metric)}
                    for metric, m in margins.items()}
    _explain_away(result, loaded, data, tested, steps, seed, suggestion, say, budget_seconds, start)
    result.elapsed_s = time.perf_counter() - start
    return result


def _explain_away(result: Diagnosis, loaded, data, tested: dict, steps: int, seed: int, suggestion, say,
                  budget_seconds, start) -> None:
    """Separate independent causes from consequences of the strongest one.

    A learning rate of 0.1 saturates a sigmoid output, so adding BatchNorm "helps" too; but once the rate
    is fixed, BatchNorm adds nothing. For every other confirmed fix G, the probe is rerun with the
    strongest fix F plus G: if G improves on F alone by less than the seed noise measured around F, G's
    finding is refuted as an independent cause (`evidence.explained_by` names F's finding).
    """
    from caedoctor.repair import NotApplicable, apply_fix

    confirmed = [f for f in result.findings if f.status == "confirmed" and f.fix is not None and f.effect]
    keys = {}
    for f in confirmed:
        keys.setdefault((f.fix.kind, repr(sorted(f.fix.params.items()))), []).append(f)
    if len(keys) < 2:
        return
    ranked = sorted(keys.items(), key=lambda kv: tested[kv[0]][0].score(tested[kv[0]][1].metric))
    (best_key, best_findings), rest = ranked[0], ranked[1:]
    best_probe, best_cmp = tested[best_key]
    best_fix = best_findings[0].fix
    try:
        best_loaded, best_data = apply_fix(loaded, data, best_fix, suggested_lr=suggestion)
    except NotApplicable:
        return
    say("seed-noise probe around the strongest fix")
    reseeded = P.run_probe(best_loaded, best_data, steps=steps, seed=seed + 1, label=f"{best_fix.kind} (seed+1)")
    for key, findings in rest:
        if budget_seconds is not None and time.perf_counter() - start > budget_seconds:
            break
        fix = findings[0].fix
        try:
            both_loaded, both_data = apply_fix(best_loaded, best_data, fix, suggested_lr=suggestion)
        except NotApplicable:
            continue
        metric = tested[key][1].metric
        say(f"does {fix.kind} still help once {best_fix.kind} is applied?")
        both = P.run_probe(both_loaded, both_data, steps=steps, seed=seed, label=f"{best_fix.kind}+{fix.kind}")
        margin = P.noise_margin(best_probe, reseeded, metric)
        comparison = P.compare(best_probe, both, metric, margin)
        result.probe_results[f"{best_fix.kind}+{fix.kind}"] = both
        result.counterfactuals.append({"finding": findings[0].code, "cause": findings[0].cause,
                                       "fix": fix.to_dict(), "on_top_of": best_findings[0].code,
                                       "probe": both.to_dict(), "comparison": comparison.__dict__})
        if comparison.status == "refuted":
            for f in findings:
                f.status = "refuted"
                f.evidence = {**f.evidence, "explained_by": best_findings[0].code,
                              "alone": {"metric": metric, "before": f.effect.before, "after": f.effect.after},
                              "on_top_of_strongest": {"metric": metric, "before": comparison.before,
                                                      "after": comparison.after}}
                f.effect = Effect(metric, comparison.before, comparison.after)


def _order_for_testing(findings: list) -> list:
    """Errors first, then warnings, then info; dynamic (symptom) findings before static folklore."""
    rank = {"error": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: (rank.get(f.severity, 3), not f.code.startswith("CAE7")))


MONITOR_SAMPLES = 32
# The symptom thresholds were measured with the monitor probing every 10 steps (bench/README-symptoms.md);
# a diagnosis uses the same interval. (A user's own `fit` keeps the cheaper default of the callback.)
MONITOR_INTERVAL = 10


def _make_monitor(data: Data):
    """A ConvergenceMonitor on a fixed batch of training samples (the same batch for every probe)."""
    from caedoctor.diagnosis.monitor import ConvergenceMonitor

    x, y = data.sample(min(MONITOR_SAMPLES, data.train_count), split="train")
    return ConvergenceMonitor(monitor_data=(x, y), interval=MONITOR_INTERVAL)
