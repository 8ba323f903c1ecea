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
from caedoctor.display import DiagnosisDisplay
from caedoctor.findings import Effect, Finding, Fix
from caedoctor.fixes import FixContext, NotApplicable, apply_fix, is_more_data, metric_for
from caedoctor.fixes.data_fixes import fewer_training_samples
from caedoctor.models import LoadedModel
from caedoctor.setup import Setup

VERDICTS = ("converging", "slow", "not_converging", "diverging", "unstable", "overfitting", "invalid")

# Static errors that make any training meaningless: no probe is run.
_BLOCKING_CAUSES = ("shape_mismatch", "nan_in_data")
_LR_CAUSES = ("learning_rate_too_high", "learning_rate_too_low")
# Causes a convergence probe cannot judge: a bypass makes the loss *easier* to lower (it matters for the
# usefulness of the code, not for convergence), so "the loss did not improve" would be a false refutation.
_NOT_PROBED = ("bottleneck_bypass",)


@dataclass
class Diagnosis(DiagnosisDisplay):
    """The result of `diagnose`: plain data, printable as text and JSON, shown as the report in a notebook.

    Example, continuing the example of `caedoctor.diagnose` (which made `d`)::

        for finding in d.findings:   # status: certain, confirmed, refuted or suspected
            print(finding.code, finding.cause, finding.status, finding.effect)
        print(d.exit_code, d.to_dict()["verdict"])   # 0 when converging without problems; JSON-ready dict
    """

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
    setup: dict | None = None  # what was diagnosed: Setup.describe()

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
            "setup": self.setup,
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


def _static_findings(setup: Setup) -> list:
    # No fallback: a failure inside the static checks is a bug to surface (exit 3 on the CLI), never an
    # empty list that reads as a clean bill of health.
    from caedoctor.checks import check

    return list(check(setup.loaded, setup.data, config=setup.config))


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


# The joint stage retries a refuted fix on top of the strongest when it did no more than this much harm
# alone (a fault masked by another shows no effect alone: a narrow code behind a saturated output).
MASKED_TOLERANCE = 1.1

# A run that looks fine on its own but that one confirmed change cuts by 40% or more (same steps) is
# learning slowly: "converging" would hide such a fix (1x1 strided encoder kernels that skip 3 of 4 pixels:
# 0.209 -> 0.110 at 500 steps, 12x at 2,000).
SLOW_GAIN = 0.6


def _verdict_after_probes(verdict: str, findings: list, relative_mse: float = math.nan) -> str:
    """The verdict, revised with what the counterfactual probes measured.

    `converging` becomes `slow` when a confirmed fix cuts the probe's error to SLOW_GAIN or less.
    `unstable` becomes `converging` when the probe still ends below SLOW_RELATIVE_MSE and no change held:
    the loss moves up and down, but a lower rate does not make the model better, so the swings are
    harmless (a BatchNorm model's monitor-batch loss swings with its moving statistics).
    """
    held = [f for f in findings if f.status in ("confirmed", "certain")]
    if verdict == "unstable" and not held and relative_mse < SLOW_RELATIVE_MSE:
        return "converging"
    if verdict != "converging":
        return verdict
    for f in findings:
        if f.status == "confirmed" and f.effect is not None and f.fix is not None and not is_more_data(f.fix):
            if math.isfinite(f.effect.before) and f.effect.after <= SLOW_GAIN * f.effect.before:
                return "slow"
    return verdict


def _symptoms(baseline: P.ProbeResult) -> list:
    """Symptom dicts {name, present, cause, evidence, message} from the detectors over the monitor's record."""
    from caedoctor.diagnosis.symptoms import detect_symptoms

    if baseline.monitor is None:
        return []
    return [s.to_dict() for s in detect_symptoms(baseline.monitor.record)]


def _symptom_findings(symptoms: list, existing: list, lr_suggestion: float | None, current_lr: float,
                      analysis=None) -> list:
    """Turn present symptoms into findings for causes the static checks did not already raise."""
    from caedoctor.diagnosis.symptom_findings import findings_from_symptoms

    return findings_from_symptoms(symptoms, existing, lr_suggestion, current_lr, analysis)


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
        quick: static findings, one probe and the verdict only (no LR range test, no counterfactual probes).
        budget_seconds: stop starting counterfactual probes once this much time has passed
            (untested suspicions stay `suspected`).
        progress: optional callable(str) told what is running.

    Returns:
        `Diagnosis` with verdict, findings (status and effect each), probe curve and LR range test.
    """
    from caedoctor.data import load_data
    from caedoctor.models import load_model

    say = progress or (lambda _msg: None)
    start = time.perf_counter()
    if not isinstance(data, Data):
        data = load_data(data, seed=seed)
    if not isinstance(model, LoadedModel):
        model = load_model(model, data.input_shape, **(config_overrides or {}))
    elif config_overrides:
        model = LoadedModel(model.model, model.config.with_overrides(**config_overrides), model.source)
    setup = Setup.of(model, data)
    for note in setup.config.notes:
        say(f"note: {note}")
    say("static checks")
    findings = _static_findings(setup)
    result = Diagnosis(verdict="converging", findings=findings, probe=None, lr_find=None, elapsed_s=0.0,
                       model=setup.source, data=data.name, profile=data.profile.to_dict(), setup=setup.describe())
    analysis = model_analysis(setup)
    if analysis is not None and analysis.opaque:
        from caedoctor.checks.registry import RULES

        skipped = [r.code for r in RULES if r.reads_graph]
        result.setup["notes"].append(
            f"{type(setup.model).__name__} is a subclassed model: the {len(skipped)} static rules that read the "
            "layer graph were not run, and fixes that rewrite layers are not testable on it")
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
    baseline = P.run_probe(setup, steps=steps, seed=seed, callbacks=[monitor] if monitor else None,
                           validate_every=VALIDATE_EVERY)
    result.baseline = baseline
    result.probe_results["baseline"] = baseline
    result.probe = {"steps": steps, "steps_run": baseline.steps_run, "seconds": round(baseline.seconds, 3),
                    "loss_curve": [P._finite(v) for v in baseline.loss_curve],
                    "relative_loss": P._finite(baseline.relative_mse), "metrics": baseline.to_dict()["metrics"],
                    "stopped": baseline.stopped,
                    "val_curve": [[k, P._finite(v)] for k, v in baseline.val_curve]}
    symptoms = _symptoms(baseline)
    result.symptoms = symptoms
    result.verdict = _verdict_from_probe(baseline, symptoms)

    lr_suspect = any(f.cause in _LR_CAUSES for f in findings) or result.verdict in (
        "diverging", "not_converging", "unstable", "slow")
    suggestion = None
    if lr_suspect and lr_find_steps > 0 and not quick:  # quick: verdict and static findings only
        say("learning-rate range test")
        from caedoctor.diagnosis.lr_finder import lr_find

        try:
            lr_result = lr_find(setup, steps=lr_find_steps, seed=seed)
        except ValueError as exc:  # e.g. BCE on signed targets: no positive loss to read a curve from
            result.lr_find = {"suggestion": None, "error": str(exc)}
        else:
            suggestion = lr_result.suggestion
            result.lr_find = lr_result.to_dict() if hasattr(lr_result, "to_dict") else dict(lr_result.__dict__)
            result.probe_results["lr_find"] = lr_result
    findings.extend(_symptom_findings(symptoms, findings, suggestion, setup.config.learning_rate, analysis))
    for f in findings:
        if f.fix is not None and f.fix.kind == "learning_rate" and not f.fix.params.get("learning_rate") and suggestion:
            f.fix = Fix("learning_rate", {"learning_rate": float(suggestion)},
                        f"set {setup.config.optimizer.class_name}'s learning rate to {suggestion:.2g} (the LR range "
                        "test's suggestion; its other arguments kept)")
    if quick:
        result.elapsed_s = time.perf_counter() - start
        return result

    context = FixContext(suggested_lr=suggestion, analysis=analysis)
    say("seed-noise probe")
    reseeded = P.run_probe(setup, steps=steps, seed=seed + 1, label="baseline (seed+1)")
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
        key = finding.fix.key
        if key not in tested:
            more_data = is_more_data(finding.fix)
            try:
                if more_data:  # tested in reverse: does training on fewer images hurt?
                    cf = setup.replace(data=fewer_training_samples(data, DATA_FRACTION))
                else:
                    cf = apply_fix(setup, finding.fix, context)
            except NotApplicable as exc:
                finding.evidence = {**finding.evidence, "not_tested": str(exc)}
                continue
            what = "fewer training images" if more_data else finding.fix.description or finding.fix.kind
            say(f"counterfactual probe: {what}")
            metric = metric_for(finding.fix.kind)
            if metric not in margins:
                margins[metric] = P.noise_margin(baseline, reseeded, metric)
            ref, ref_reseeded, steps_cf = _reference_for(setup, cf, baseline, reseeded, steps, seed, say)
            probe, comparison, replicate = _counterfactual(ref, ref_reseeded, cf, steps_cf, seed,
                                                           metric, margins[metric], finding.fix.kind, more_data, say)
            if ref is not baseline:
                result.probe_results[f"{finding.code}:baseline at equal samples"] = ref
            tested[key] = (ref if more_data else probe, comparison)
            if more_data:
                finding.evidence = {**finding.evidence, "tested_as": (
                    f"trained on {cf.data.train_count} of the {data.train_count} training samples: validation {metric} "
                    f"{probe.score(metric):.4g} against {baseline.score(metric):.4g} with all of them")}
            if replicate is not None:
                finding.evidence = {**finding.evidence, "replicate": replicate}
                result.probe_results[f"{finding.code}:{finding.fix.kind} (seed+1)"] = replicate.pop("probe")
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
    _explain_away(result, setup, tested, steps, seed, suggestion, say, budget_seconds, start, analysis)
    result.verdict = _verdict_after_probes(result.verdict, result.findings, baseline.relative_mse)
    result.elapsed_s = time.perf_counter() - start
    return result


def _explain_away(result: Diagnosis, setup: Setup, tested: dict, steps: int, seed: int, suggestion, say,
                  budget_seconds, start, analysis=None) -> None:
    """Separate independent causes from consequences of the strongest one, and from alternatives; then
    look for causes that only show together with the strongest.

    A learning rate of 0.1 saturates a sigmoid output, so adding BatchNorm "helps" too; but once the rate
    is fixed, BatchNorm adds nothing. The strongest tested fix F (of a `confirmed` or `certain` finding) is
    combined with every other confirmed fix G and probed once more:
    - G improves on F alone by more than the seed noise measured around F: an independent cause, kept;
    - G adds nothing on top of F, but F adds to G alone: G only treated a consequence of F's cause; its
      finding is refuted (`evidence.explained_by` names F's finding);
    - neither adds to the other: two alternative fixes of one defect (unnormalised data under SGD is fixed
      by scaling the data *or* by a rate that suits the scale); both stay confirmed
      (`evidence.alternative_to`).
    Before stacking, the seed-noise probe around F runs with the monitor: a G raised only by symptoms
    (CAE7xx) that F's probe no longer shows is refuted at once as a consequence of F's cause
    (`evidence.symptom_gone`), however much its fix improves a model in general.
    Two faults can also hide each other: with dead ReLUs *and* a rate of 1e-5, neither fix alone gets the
    model off the mean image. So when F alone still leaves the probe slow (relative MSE >= SLOW), every
    refuted fix that did no harm alone (within MASKED_TOLERANCE) is retried on top of F, and confirmed when
    it improves on F beyond the noise (`evidence.confirmed_on_top_of`), unless it was raised only by
    symptoms that F's probe no longer shows (then nothing is masked: a higher rate that speeds up an
    already repaired model is an improvement, not a cause).
    When one of the two is a learning-rate change, the rate is re-tuned for the other's model first (a rate
    found for the broken model need not suit the repaired one).
    """
    held = [f for f in result.findings if f.status in ("confirmed", "certain") and f.fix is not None and f.effect
            and not is_more_data(f.fix)]  # a data-quantity test has no change to stack
    keys: dict = {}
    for f in held:
        key = f.fix.key
        if key in tested:
            keys.setdefault(key, []).append(f)
    if not keys:
        return
    ranked = sorted(keys.items(), key=lambda kv: tested[kv[0]][0].score(tested[kv[0]][1].metric))
    (best_key, best_findings), rest = ranked[0], ranked[1:]
    rest = [(k, fs) for k, fs in rest if any(f.status == "confirmed" for f in fs)]  # `certain` stays certain
    best_probe, _ = tested[best_key]
    still_slow = best_probe.score("relative_mse") >= SLOW_RELATIVE_MSE
    held_keys = {k for k, _ in ranked}
    weak = {}
    for f in result.findings:  # refuted alone, but no worse: maybe masked by F's fault
        if (still_slow and f.status == "refuted" and f.fix is not None and f.effect is not None
                and not is_more_data(f.fix) and "explained_by" not in f.evidence
                and math.isfinite(f.effect.after) and f.effect.after <= MASKED_TOLERANCE * f.effect.before
                and f.fix.key in tested
                and f.fix.key not in held_keys):
            weak.setdefault(f.fix.key, []).append(f)
    if not rest and not weak:
        return
    stack = _Stacker(setup, best_findings[0].fix, suggestion, seed, steps, analysis)
    if stack.best is None:
        return
    say("seed-noise probe around the strongest fix")
    monitor = _make_monitor(stack.best.data)
    reseeded = P.run_probe(stack.best, steps=stack.best_steps, seed=seed + 1,
                           label=f"{stack.best_fix.kind} (seed+1)", callbacks=[monitor] if monitor else None,
                           validate_every=VALIDATE_EVERY)
    symptoms_after = {s["name"] for s in _symptoms(reseeded) if s.get("present")}
    best_code = best_findings[0].code
    for key, findings in rest + list(weak.items()):
        if budget_seconds is not None and time.perf_counter() - start > budget_seconds:
            break
        raised_by = {f.evidence.get("symptom") for f in findings}
        if None not in raised_by and not raised_by & symptoms_after and all(f.status == "refuted" for f in findings):
            continue  # joint stage: its symptom is gone with F's fix, so nothing is masked
        if all(f.status == "confirmed" for f in findings) and None not in raised_by \
                and not raised_by & symptoms_after:
            # Raised only by symptoms that the strongest fix removes: consequences of its cause. (Their fix
            # may still improve a model in general; that does not make them a cause of this failure.)
            for f in findings:
                f.status = "refuted"
                f.evidence = {**f.evidence, "explained_by": best_code,
                              "symptom_gone": (f"with {best_code}'s fix, the probe no longer shows "
                                               f"{f.evidence['symptom']}"),
                              "alone": {"metric": f.effect.metric, "before": f.effect.before, "after": f.effect.after}}
            continue
        alone_probe, alone_cmp = tested[key]
        metric = alone_cmp.metric
        fix = findings[0].fix
        say(f"does {fix.kind} still help once {stack.best_fix.kind} is applied?")
        both = stack.probe_with(fix)
        if both is None:
            continue
        margin = P.noise_margin(best_probe, reseeded, metric)
        adds = P.compare(best_probe, both, metric, margin)  # G on top of F
        best_adds = P.compare(alone_probe, both, metric, margin)  # F on top of G
        result.probe_results[f"{stack.best_fix.kind}+{fix.kind}"] = both
        result.counterfactuals.append({"finding": findings[0].code, "cause": findings[0].cause,
                                       "fix": fix.to_dict(), "on_top_of": best_code,
                                       "probe": both.to_dict(), "comparison": adds.__dict__,
                                       "strongest_on_top": best_adds.__dict__})
        on_top = {"metric": metric, "before": adds.before, "after": adds.after}
        for f in findings:
            alone = {"metric": metric, "before": f.effect.before, "after": f.effect.after}
            if f.status == "refuted":  # the joint stage
                if adds.status == "confirmed":
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

    def __init__(self, setup: Setup, best_fix: Fix, suggestion, seed: int, steps: int, analysis):
        self.setup, self.best_fix = setup, best_fix
        self.suggestion, self.seed, self.steps = suggestion, seed, steps
        self.context = FixContext(suggested_lr=suggestion, analysis=analysis)
        self.retuned = None
        try:
            self.best = apply_fix(setup, best_fix, self.context)
        except NotApplicable:
            self.best = None
            return
        self.best_steps = equal_samples_steps(steps, setup.batch_size, self.best.batch_size)

    def probe_with(self, fix: Fix):
        """The probe of F + `fix`, or None when `fix` cannot be applied on top of F."""
        try:
            if self.best_fix.kind == "learning_rate" and fix.kind != "learning_rate":
                # G first, then the rate re-tuned for G's model (F's rate was found for the unchanged model)
                g = apply_fix(self.setup, fix, self.context)
                lr = retuned_lr(g, self.seed) or self.best.config.learning_rate
                both = apply_fix(g, Fix("learning_rate", {"learning_rate": lr}))
            else:
                if fix.kind == "learning_rate" and self.best_fix.kind != "learning_rate":
                    if self.retuned is None:
                        self.retuned = retuned_lr(self.best, self.seed) or self.suggestion
                    fix = Fix("learning_rate", {"learning_rate": self.retuned}, fix.description)
                both = apply_fix(self.best, fix, FixContext(self.suggestion, model_analysis(self.best)))
        except NotApplicable:
            return None
        steps = equal_samples_steps(self.steps, self.setup.batch_size, both.batch_size)
        return P.run_probe(both, steps=steps, seed=self.seed, label=f"{self.best_fix.kind}+{fix.kind}")


def retuned_lr(setup: Setup, seed: int) -> float | None:
    """The LR range test's suggestion for an already-changed set-up (None when the test fails)."""
    from caedoctor.diagnosis.lr_finder import lr_find

    try:
        return lr_find(setup, steps=100, seed=seed).suggestion
    except ValueError:
        return None


def _reference_for(setup: Setup, cf: Setup, baseline, reseeded, steps: int, seed: int, say):
    """(reference probe, its reseeded twin or a callable making it, counterfactual steps).

    Probes of two batch sizes are compared at the same number of training samples. A larger batch runs
    fewer steps against the baseline; a smaller one runs the full steps against a shortened rerun of the
    baseline (the large-batch original at steps x new / old), so neither side is handed more data.
    """
    old_bs, new_bs = setup.batch_size, cf.batch_size
    if not (old_bs and new_bs) or new_bs >= old_bs:
        return baseline, reseeded, equal_samples_steps(steps, old_bs, new_bs)
    short = equal_samples_steps(steps, new_bs, old_bs)
    say(f"baseline at batch {old_bs} for {short} steps (as many samples as {steps} steps of {new_bs})")
    ref = P.run_probe(setup, steps=short, seed=seed, label="baseline at equal samples")
    return ref, (lambda: P.run_probe(setup, steps=short, seed=seed + 1,
                                     label="baseline at equal samples (seed+1)")), steps


def _counterfactual(baseline, reseeded, cf: Setup, steps: int, seed: int, metric: str, margin: float,
                    label: str, reverse: bool, say):
    """Probe one change and judge it against the baseline; returns (probe, Comparison, replicate or None).

    `reverse`: the probe is the *less* favourable set-up (half the data), so "before" is the probe.
    A gain beyond the noise margin confirms, one below the 5% floor refutes. A gain between the two is
    ambiguous: the probe is repeated with the second seed and compared with the reseeded baseline (a paired
    replicate); the change is confirmed when both seeds show a gain above the floor and their mean gain
    beats the margin / sqrt(2) (the noise of a mean of two pairs).
    """
    probe = P.run_probe(cf, steps=steps, seed=seed, label=label)
    pair = (probe, baseline) if reverse else (baseline, probe)
    comparison = P.compare(*pair, metric, margin)
    floor = -math.log(1.0 - P.MIN_MARGIN)
    if comparison.status == "confirmed" or not (floor < comparison.log_gain <= margin):
        return probe, comparison, None
    say(f"ambiguous gain; repeating {label} with seed {seed + 1}")
    again = P.run_probe(cf, steps=steps, seed=seed + 1, label=f"{label} (seed+1)")
    reseeded = reseeded() if callable(reseeded) else reseeded
    pair2 = (again, reseeded) if reverse else (reseeded, again)
    second = P.compare(*pair2, metric, margin)
    mean_gain = (comparison.log_gain + second.log_gain) / 2
    confirmed = min(comparison.log_gain, second.log_gain) > floor and mean_gain > margin / math.sqrt(2)
    comparison.status = "confirmed" if confirmed else "refuted"
    replicate = {"probe": again, "seed": seed + 1, "before": second.before, "after": second.after,
                 "log_gain": second.log_gain, "mean_log_gain": mean_gain, "margin_for_mean": margin / math.sqrt(2)}
    return probe, comparison, replicate


def equal_samples_steps(steps: int, batch_size: int, new_batch_size: int) -> int:
    """Steps that show a probe with `new_batch_size` as many samples as `steps` steps at `batch_size`:
    a batch-size change is judged at an equal number of training samples (equal epochs), not equal steps,
    which would hand the larger batch more data."""
    if not batch_size or not new_batch_size or batch_size == new_batch_size:
        return steps
    return max(1, int(round(steps * batch_size / new_batch_size)))


def model_analysis(setup: Setup):
    """The static model analysis (bottleneck and half layer names for width fixes; an opaque one for a
    subclassed model), or None when the reader refuses the model; a fix that needs it then says so."""
    from caedoctor.checks.architecture import analyze_model
    from caedoctor.errors import ModelError

    try:
        return analyze_model(setup.model, setup.data.input_shape)
    except ModelError:  # only the reader's own "cannot read this model"; a bug in it must surface
        return None


def _order_for_testing(findings: list) -> list:
    """Errors first, then warnings, then info; dynamic (symptom) findings before static folklore."""
    rank = {"error": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: (rank.get(f.severity, 3), not f.code.startswith("CAE7")))


MONITOR_SAMPLES = 32
# "More data would help" is tested on the learning curve: the probe trains on this share of the images.
# A quarter rather than a half: at probe length a 2x change hid the effect the ground truth measures at
# 2,000 steps (108 vs 54 Fashion-MNIST images: 0.1411 vs 0.1416 relative MSE).
DATA_FRACTION = 0.25
# The baseline probe computes the validation loss every VALIDATE_EVERY chunks of probes.CHUNK steps (every
# 50 steps by default): the overfitting detector reads it. Counterfactual probes do not need the curve.
VALIDATE_EVERY = 2
# The symptom thresholds were measured with the monitor probing every 10 steps (bench/README-symptoms.md);
# a diagnosis uses the same interval. (A user's own `fit` keeps the cheaper default of the callback.)
MONITOR_INTERVAL = 10


def _make_monitor(data: Data):
    """A ConvergenceMonitor on a fixed batch of training samples (the same batch for every probe)."""
    from caedoctor.diagnosis.monitor import ConvergenceMonitor

    x, y = data.sample(min(MONITOR_SAMPLES, data.train_count), split="train")
    return ConvergenceMonitor(monitor_data=(x, y), interval=MONITOR_INTERVAL)
