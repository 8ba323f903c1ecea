"""`repair(model, data)`: diagnose, apply the fixes that measurably helped, verify them together, retrain.

Order of application (each step changes what the next one sees, so the order is fixed and explained):
1. data (drop non-finite samples, normalise inputs, then targets): every later probe must see clean data;
   when the diagnosis found the set-up invalid (NaN samples, a shape mismatch), it stopped there, so once the
   blocking fixes make it trainable the repaired set-up is diagnosed again and its confirmed fixes follow;
2. shape (crop or pad the output): nothing trains until output and target agree;
3. architecture (output activation, hidden activations, BatchNorm, kernels, bottleneck, capacity);
4. loss;
5. optimizer and learning rate: last, because the best rate depends on everything above — when the model
   or data changed, the LR range test is rerun on the repaired model and its suggestion is used; the
   suggestion sits on the safe side of the best rate, so a kept rate is then raised 3x at a time (at most
   twice) while a probe confirms each raise;
6. batch size.

Fixes are added one at a time (greedy forward selection). Before each, the static rule that proposed it is
run again on the set-up as repaired so far: when it no longer fires, the fixes before it removed its premise
and it is skipped (`no_longer_fires`). After each addition a probe runs with the same seed and steps as the
diagnosis, through the diagnosis' own probe runner (`caedoctor.probing.ProbeRunner`, built for the original
set-up: scored on the diagnosis' check batch along the way, compiled models reused, timed), and is judged
against the best set-up so far (`diagnosis.judge`):
- a fix that does not improve the probe beyond the seed noise is rolled back and reported as such;
- an ambiguous gain re-measures the noise around the best set-up and gets a second seed, and so does a win
  narrower than `NEAR_MARGIN_FACTOR` margins (a fix is kept for good, and one seed can beat the margin by
  luck); the note says when a second seed decided;
- a win at the probe's end must also be forecast to hold at the horizon (`keep`: the forecast gain there must
  beat `MIN_LOG_GAIN`), or the fix is rolled back with both forecasts in its note.
A fix rolled back in that pass is tried once more on top of the fixes kept after it (dead ReLUs and a rate of
1e-5: LeakyReLU alone barely helps, on top of a working rate it does). Fixes the diagnosis confirmed only
together (`evidence.confirmed_jointly_with`: each alone did nothing, together they help) are applied
together, in the order above, and verified by one probe: all are kept or none. So are the fixes of two or
more blocking faults (NaN samples *and* a shape mismatch: with either left, nothing trains), kept when the
set-up trains with them all (neither the forecast nor a narrow win can roll those back). A fix whose set-up
cannot train is rolled back with the error as its note. Then the repaired model is trained for the budget and
compared with the original.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import keras

from caedoctor.checks import ProbeRule, build_context, get_rule
from caedoctor.data import Data
from caedoctor.probing.budget import Budget
from caedoctor.diagnosis.forecast import compare_at_horizon
from caedoctor.diagnosis.horizon import Horizon
from caedoctor.diagnosis.judge import MIN_LOG_GAIN, Judgement, compare, judge, needs_second_seed, noise_margin
from caedoctor.diagnosis.lr_finder import retuned_lr
from caedoctor.diagnosis.plan import equal_samples_steps
from caedoctor.probing.probes import DEFAULT_STEPS, ProbeResult, finite_or_none
from caedoctor.diagnosis.result import Diagnosis
from caedoctor.probing.runner import ProbeRunner
from caedoctor.display import RepairDisplay, report_inputs
from caedoctor.errors import CaedoctorError
from caedoctor.findings import Fix
from caedoctor.fixes import FixContext, NotApplicable, apply_fix, repair_rank
from caedoctor.fixes.model_edit import layer_name_map
from caedoctor.models import LoadedModel
from caedoctor.progress import silent
from caedoctor.repairing.keep import keep_decision, second_seed_text
from caedoctor.setup import Setup
from caedoctor.thresholds import NEAR_MARGIN_FACTOR, SLOW_RELATIVE_MSE

REL = "relative_mse"  # every repair step is judged on the scale-free relative MSE
RATE_STEP = 3.0  # a kept rate fix is raised by this factor while each raise is confirmed ...
RATE_STEPS = 2  # ... at most this many times (9x in all)


@dataclass
class Change:
    """One change the repair made (or tried and rolled back)."""

    what: str  # the fix kind
    params: dict
    why: str  # the finding: code, cause, message
    effect: dict | None  # {metric, before, after} measured by the verification probe
    kept: bool
    note: str = ""

    def to_dict(self) -> dict:
        return {"what": self.what, "params": self.params, "why": self.why, "effect": self.effect,
                "kept": self.kept, "note": self.note}


@dataclass
class RepairResult(RepairDisplay):
    """The repaired model and the evidence: what changed, why, and what it measurably did.

    `print(result)` shows before and after with each change; a notebook shows the report with the repaired
    reconstructions. `result.model` is the repaired, trained Keras model.

    Example, continuing the example of `caedoctor.repair` (which made `result`)::

        for change in result.changes:   # each change: why, and what the verification probe measured
            print(change.what, "kept" if change.kept else "rolled back", change.effect)
        print(result.repaired_metrics.get("relative_mse"), result.original_metrics.get("relative_mse"))
        result.model.save("repaired.keras")   # maps raw inputs to raw-scale outputs; loads with safe_mode
    """

    diagnosis: Diagnosis
    changes: list
    model: keras.Model | None  # the repaired model, mapping raw inputs to raw-scale outputs
    loaded: LoadedModel | None  # the repaired core model and its configuration
    data: Data | None  # the data as the repaired model trains on it (after data fixes)
    original_metrics: dict
    repaired_metrics: dict
    original_curve: list
    repaired_curve: list
    seconds: float
    converged: bool
    reason: str = ""
    preprocessing: list = field(default_factory=list)
    budget: dict = field(default_factory=dict)
    original_model: keras.Model | None = field(default=None, repr=False)  # the original, trained for the budget
    original: LoadedModel | None = field(default=None, repr=False)  # the user's model and configuration, as given
    horizon: dict = field(default_factory=dict)  # the steps a kept fix must hold at (`Horizon.to_dict`)
    probes: dict = field(default_factory=dict)  # the verification probes: count, compiled models reused, timings

    def kept_changes(self) -> list:
        return [c for c in self.changes if c.kept]

    def to_dict(self) -> dict:
        return {
            "converged": self.converged,
            "reason": self.reason,
            "verdict_before": self.diagnosis.verdict if self.diagnosis is not None else None,
            "changes": [c.to_dict() for c in self.changes],
            "preprocessing": self.preprocessing,
            "original_metrics": self.original_metrics,
            "repaired_metrics": self.repaired_metrics,
            "budget": self.budget,
            "horizon": self.horizon,
            "probes": self.probes,
            "seconds": round(self.seconds, 3),
            "config": self.loaded.config.to_dict() if self.loaded else None,
        }


def _rank(fix: Fix) -> int:
    return repair_rank(fix.kind)


def candidate_fixes(diagnosis) -> list:
    """(finding, fix) pairs worth applying: confirmed or certain findings with a fix, one per fix, in order."""
    seen, out = set(), []
    for f in diagnosis.findings:
        if f.fix is None or f.status not in ("confirmed", "certain"):
            continue
        key = f.fix.key
        if key in seen:
            continue
        seen.add(key)
        out.append((f, f.fix))
    return sorted(out, key=lambda pair: _rank(pair[1]))


def _wrap_with_preprocessing(core: keras.Model, data: Data, original: Data) -> keras.Model:
    """Raw inputs -> the repaired core -> outputs in the original target scale, as built-in layers only
    (Rescaling), so the saved model loads with safe_mode=True and needs no preprocessing code."""
    (sx, ox), (sy, oy) = data.scales
    inputs = keras.Input(shape=core.input_shape[1:], name="raw_image")
    x = keras.layers.Rescaling(sx, ox, name="normalize_inputs")(inputs) if (sx, ox) != (1.0, 0.0) else inputs
    y = core(x)
    if (sy, oy) != (1.0, 0.0):
        y = keras.layers.Rescaling(1.0 / sy, -oy / sy, name="denormalize_outputs")(y)
    return keras.Model(inputs, y, name=f"{core.name}_repaired")


def repair(model, data="bundled:patches32", *, diagnosis=None, epochs: int | None = None,
           budget_seconds: float | None = None, steps: int | None = None, seed: int = 0, progress=None,
           config_overrides: dict | None = None, horizon_steps=None) -> RepairResult:
    """Diagnose `model` on `data`, apply the fixes that measurably helped, verify them together, retrain.

    Args:
        model, data: as for `caedoctor.diagnose`.
        diagnosis: reuse an existing `Diagnosis` of this model and data.
        epochs / budget_seconds: the training budget for the final comparison (default: 3 epochs).
        steps: probe steps (default: the diagnosis default).
        horizon_steps: the training steps a kept fix must be forecast to hold at, as for `caedoctor.diagnose`
            (which gets it when the repair diagnoses); a diagnosis' own horizon, when it has one, comes first.
    """
    from caedoctor.data import load_data
    from caedoctor.diagnosis import diagnose
    from caedoctor.models import load_model

    say = progress or silent
    start = time.perf_counter()
    steps = steps or DEFAULT_STEPS
    if not isinstance(data, Data):
        data = load_data(data, seed=seed)
    if not isinstance(model, LoadedModel):
        model = load_model(model, data.input_shape, **(config_overrides or {}))
    original = Setup.of(model, data)
    if diagnosis is None:
        diagnosis = diagnose(model, data, steps=steps, seed=seed, horizon_steps=horizon_steps, progress=say)
    if diagnosis.verdict == "invalid" and not any(f.fix for f in diagnosis.findings if f.status == "certain"):
        return _unrepairable(diagnosis, start, "the model cannot be trained on this data and no fix applies")

    horizon = _horizon_of(diagnosis, horizon_steps)
    greedy = _Greedy(original, diagnosis, steps, seed, say, horizon.steps)
    candidates = _for_this_model(candidate_fixes(diagnosis), diagnosis, model)
    together = [(f, fix) for f, fix in candidates if f.evidence.get("confirmed_jointly_with")]
    candidates = [(f, fix) for f, fix in candidates if not f.evidence.get("confirmed_jointly_with")]
    blockers = [(f, fix) for f, fix in candidates if _blocking(f)]
    if len(blockers) > 1:
        # Each blocking fault (NaN samples, a shape mismatch) stops training on its own, so no one of their
        # fixes can be verified alone: they are applied together, then the rest one at a time.
        rest = [(f, fix) for f, fix in candidates if not _blocking(f)]
        candidates = blockers + rest
        changes = greedy.attempt_together(blockers, blocking=True)
        changes += [greedy.attempt(finding, fix, _why(finding)) for finding, fix in rest]
    else:
        changes = [greedy.attempt(finding, fix, _why(finding)) for finding, fix in candidates]
    if len(together) > 1:
        changes += greedy.attempt_together(together)
    if diagnosis.verdict == "invalid" and any(c.kept for c in changes):
        # The diagnosis stopped at the blocking error (NaN samples, a shape mismatch), so nothing else was
        # tested. The set-up trains now: diagnose it as it stands and apply what that confirms too (0-255
        # inputs with a few NaN samples need the samples dropped *and* the inputs scaled).
        say("diagnosing the set-up the blocking fixes made trainable")
        again = diagnose(greedy.setup.loaded, greedy.setup.data, steps=steps, seed=seed, horizon_steps=horizon,
                         progress=say)
        greedy.margin = max([greedy.margin] + [v["margin"] for v in (again.noise or {}).values()])
        done = {fix.key for _, fix in candidates}
        more = [(f, fix) for f, fix in candidate_fixes(again) if fix.key not in done]
        changes += [greedy.attempt(finding, fix, _why(finding)) for finding, fix in more]
        candidates = candidates + more
    # Faults can hide each other (dead ReLUs at a rate of 1e-5: neither fix helps alone), so a fix rolled back
    # in the first pass is tried once more on top of everything kept since.
    first = list(changes)
    for i, ((finding, fix), change) in enumerate(zip(candidates, first)):
        if change.kept or change.note.startswith("not applicable") or not any(c.kept for c in first[i + 1:]):
            continue
        again = greedy.attempt(finding, fix, change.why, retry=True)
        if again.kept:
            changes.append(again)
    changes += greedy.refinements
    if diagnosis.verdict == "invalid" and not any(c.kept for c in changes):
        notes = "; ".join(f"{c.what}: {c.note}" for c in changes) or "no fix to apply"
        result = _unrepairable(diagnosis, start,
                               f"the model cannot be trained on this data and no fix worked ({notes})")
        result.changes = changes
    else:
        result = _train_and_compare(diagnosis, original, greedy.setup, changes, greedy.baseline, greedy.probe,
                                    epochs, budget_seconds, seed, start, say)
    result.horizon, result.probes = horizon.to_dict(), greedy.probes_run()
    return result


def _horizon_of(diagnosis, horizon_steps) -> Horizon:
    """The horizon a kept fix must hold at: the diagnosis' own when it has one (the fixes are then judged where
    their causes were), else `horizon_steps` (`Horizon.of`)."""
    known = getattr(diagnosis, "horizon", None) or {}
    if known.get("steps"):
        return Horizon(int(known["steps"]), known.get("source", "default"), known.get("detail", ""))
    return Horizon.of(horizon_steps)


def _for_this_model(candidates: list, diagnosis, model: LoadedModel) -> list:
    """The candidates with their layer names translated to `model`'s when the diagnosis ran on another build
    of it (`repair("file.py:factory", data, diagnosis=d)` builds the model again, and Keras names the second
    build's layers `dense_1`, ...); unchanged when the diagnosis carries no model or it is this one."""
    diagnosed = report_inputs(diagnosis)[1]
    if diagnosed is None or diagnosed.model is model.model:
        return candidates
    names = layer_name_map(diagnosed.model, model.model)
    return [(finding, fix.renamed(names)) for finding, fix in candidates]


def _blocking(finding) -> bool:
    """A certain error (NaN samples, a shape mismatch): the set-up cannot train until it is fixed."""
    return finding.status == "certain" and finding.severity == "error"


def _why(finding) -> str:
    return f"{finding.code} {finding.cause}: {finding.message}"


def _cannot_train(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"rolled back: the set-up with it cannot train ({type(exc).__name__}: {text[:200]})"


@dataclass
class _Verified:
    """What the verification probe of one change decided."""

    kept: bool
    effect: dict | None  # {metric, before, after}; None when the set-up cannot train
    error: str = ""  # why the set-up cannot train ("" when it trains)
    not_at_horizon: str = ""  # why a change better at the probe's end was rolled back (`keep.keep_decision`)
    second_seed: str = ""  # how a second seed decided it ("" when one seed did)

    def note(self, kept: str, rolled_back: str) -> str:
        """The change's note: `kept` or `rolled_back` (what the caller says of it), or why the forecast at the
        horizon rolled it back, and how a second seed decided it."""
        if self.error:
            return self.error
        said = kept if self.kept else (f"rolled back: {self.not_at_horizon}" if self.not_at_horizon else rolled_back)
        return "; ".join(part for part in (said, self.second_seed) if part)


class _Greedy:
    """Greedy forward selection: the best set-up so far, its probe and the noise margin; `attempt` adds one
    fix and keeps it when the verification probe shows it helps (judged by `caedoctor.diagnosis.judge`) and is
    forecast to hold at `horizon` steps (`keep`). Every probe runs through `runner`, built for the original
    set-up as the diagnosis built its own: the same check batch, compiled models reused, no time limit."""

    def __init__(self, original: Setup, diagnosis, steps: int, seed: int, say, horizon: int):
        self.original, self.diagnosis, self.steps, self.seed, self.say = original, diagnosis, steps, seed, say
        self.horizon = horizon
        self.runner = ProbeRunner.for_setup(original, budget=Budget(None, say=say), stage="repair")
        self.baseline = diagnosis.baseline
        if self.baseline is None:
            # An invalid set-up (shape mismatch, NaN data) cannot even run a probe: it scores as a failed one,
            # so any fix that makes training possible counts as an improvement.
            self.baseline = ProbeResult(label="baseline (cannot train)", steps=steps, steps_run=0, seconds=0.0,
                                        loss_curve=[], metrics={"relative_mse": math.inf, "ssim": 0.0,
                                                                "mse": math.inf}, stopped="nan")
        self.setup, self.probe = original, self.baseline
        self.margin = max([v["margin"] for v in (diagnosis.noise or {}).values()] + [MIN_LOG_GAIN])
        self.refinements = []  # the rate raises after a kept learning-rate fix (`_raise_rate`)
        self._reseeded = None  # (set-up, its probe with the second seed): the noise around the best, once each

    def probes_run(self) -> dict:
        """The verification probes: how many ran, how many reused a compiled model, where their time went."""
        timings = self.runner.timings
        return {"count": len(timings.probes), "reused_compiled": self.runner.models.reused,
                "probe_parts": timings.totals(), "probes": list(timings.probes)}

    def _raise_rate(self, why: str) -> list:
        """The LR range test suggests a rate on the safe side of the best one (below the steepest descent,
        far below divergence): after a rate fix is kept, raise it RATE_STEP x at a time while a probe
        confirms each step helps, at most RATE_STEPS times. dev-096 (SGD, the base trains at 0.3) got 0.024
        from the range test, dev-112 (Adadelta, base 3) got 1."""
        out = []
        for _ in range(RATE_STEPS):
            fix = Fix("learning_rate", {"factor": RATE_STEP},
                      f"raise the learning rate {RATE_STEP:g}x (the range test's suggestion is on the safe side)")
            try:
                cand = apply_fix(self.setup, fix, FixContext(None, self.setup.analysis()))
            except NotApplicable as exc:
                out.append(Change(fix.kind, fix.params, why, None, False, f"not applicable: {exc}"))
                break
            self.say(f"verifying: {fix.description}")
            verified = self._verify(cand, fix, "+learning_rate (raised)")
            out.append(Change(fix.kind, fix.params, why, verified.effect, verified.kept, verified.note(
                "kept: a higher rate trains better", "rolled back: the higher rate did not improve the probe")))
            if not verified.kept:
                break
        return out

    def _verify(self, cand: Setup, fix: Fix, label: str, blocking: bool = False) -> _Verified:
        """Probe `cand` (the best set-up plus a change) and judge it against the best. A kept candidate becomes
        the best. A set-up that cannot train is not kept (effect None, the error as a note). A change the
        comparison confirms is kept when it is forecast to hold at the horizon (`keep.keep_decision`).
        `blocking`: the change lifts faults that stop training, so it is kept whenever it trains."""
        best, best_probe = self.setup, self.probe
        steps = equal_samples_steps(self.steps, self.original.batch_size, cand.batch_size)
        try:
            probe = self.runner.probe(cand, steps=steps, seed=self.seed, label=label)
        except Exception as exc:  # noqa: BLE001 - e.g. another blocking fault still stops training
            return _Verified(False, None, error=_cannot_train(exc))
        judgement = self._judge(best, best_probe, cand, steps, probe, fix)
        effect = {"metric": REL, "before": finite_or_none(best_probe.relative_mse),
                  "after": finite_or_none(probe.relative_mse)}
        not_at_horizon = ""
        if blocking:
            kept = judgement.comparison.status == "confirmed" or math.isfinite(probe.score(REL))
        else:
            kept, not_at_horizon = keep_decision(judgement.comparison, self._at_horizon(best_probe, probe),
                                                 probe.steps_run)
        if kept:
            self.setup, self.probe = cand, probe
        return _Verified(kept, effect, not_at_horizon=not_at_horizon, second_seed=second_seed_text(judgement))

    def _at_horizon(self, best_probe: ProbeResult, probe: ProbeResult):
        """The two probes' forecasts at the horizon (`forecast.compare_at_horizon`; None without curves); a
        probe at another batch size is forecast at as many samples as the horizon's."""
        def at(p):
            return max(1, round(self.horizon * p.steps / self.steps)) if self.steps else self.horizon

        return compare_at_horizon(best_probe, probe, REL, at(best_probe), at(probe))

    def attempt(self, finding, fix: Fix, why: str, retry: bool = False) -> Change:
        """Apply `fix` on top of the current best, verify it with a probe, keep it if it helps; skip it when
        the static rule that proposed it no longer fires on the current best (`no_longer_fires`)."""
        best = self.setup
        if best is not self.original and no_longer_fires(finding, best):
            return Change(fix.kind, fix.params, why, None, False,
                          f"not applied: {finding.code} no longer fires once the fixes kept before it are applied")
        try:
            if fix.kind == "learning_rate" and best is not self.original:
                fix = _retuned_lr(best, self.seed, fix, self.say, self.runner)
            context = FixContext((self.diagnosis.lr_find or {}).get("suggestion"), best.analysis())
            cand = apply_fix(best, fix, context)
        except NotApplicable as exc:
            return Change(fix.kind, fix.params, why, None, False, f"not applicable: {exc}")
        self.say(f"verifying: {fix.description or fix.kind}" + (" (again, on top of the later fixes)" if retry else ""))
        verified = self._verify(cand, fix, f"+{fix.kind}", _blocking(finding))
        note = verified.note("kept on a second try, on top of the fixes after it" if retry else "",
                             "rolled back: it did not improve the probe together with the fixes before it")
        if verified.kept and fix.kind == "learning_rate":
            self.refinements += self._raise_rate(why)
        return Change(fix.kind, fix.params, why, verified.effect, verified.kept, note)

    def attempt_together(self, pairs: list, blocking: bool = False) -> list:
        """Apply the fixes of `pairs` ((finding, fix), in repair order) at once on top of the current best
        (a learning rate last, re-tuned on the changed model), verify them with one probe, keep all or none.
        `blocking`: the fixes of faults that each stop training; kept when the set-up trains with them all.
        One `Change` per fix, each with the joint effect."""
        cand, applied = self.setup, []
        try:
            for finding, fix in pairs:
                if fix.kind == "learning_rate" and cand is not self.original:
                    fix = _retuned_lr(cand, self.seed, fix, self.say, self.runner)
                context = FixContext((self.diagnosis.lr_find or {}).get("suggestion"), cand.analysis())
                cand = apply_fix(cand, fix, context)
                applied.append((finding, fix))
        except NotApplicable as exc:
            return [Change(fix.kind, fix.params, _why(finding), None, False, f"not applicable together: {exc}")
                    for finding, fix in pairs]
        kinds = " + ".join(fix.kind for _, fix in applied)
        self.say(f"verifying together: {kinds}")
        verified = self._verify(cand, applied[-1][1], f"+{kinds}", blocking)
        if verified.error:
            return [Change(fix.kind, fix.params, _why(finding), None, False, verified.error)
                    for finding, fix in applied]
        why = ("each of these faults stops training on its own" if blocking
               else "the diagnosis found each alone did nothing")
        note = (f"applied together with the others of {kinds} ({why}); "
                + verified.note("kept", "rolled back: together they did not improve the probe"))
        return [Change(fix.kind, fix.params, _why(finding), verified.effect, verified.kept, note)
                for finding, fix in applied]

    def _judge(self, best: Setup, best_probe, cand: Setup, cand_steps: int, probe, fix: Fix) -> Judgement:
        """The candidate's probe against the best's. The diagnosis measured its seed noise around the
        *original* model, and a stuck original is far noisier than a repaired one: an ambiguous gain, or a
        win narrower than `NEAR_MARGIN_FACTOR` margins (a fix is kept for good), re-measures the noise around
        the current best, then is judged as in the diagnosis, with a paired replicate with the second seed
        when still ambiguous or narrow (`judge.judge`)."""
        comparison = compare(best_probe, probe, REL, self.margin)
        if not needs_second_seed(comparison, NEAR_MARGIN_FACTOR):
            return Judgement(comparison)
        reseeded = self._reseeded_best(best)
        self.margin = noise_margin(best_probe, reseeded, REL)

        if not needs_second_seed(compare(best_probe, probe, REL, self.margin), NEAR_MARGIN_FACTOR):
            return judge(best_probe, probe, REL, self.margin)
        again = self.runner.probe(cand, steps=cand_steps, seed=self.seed + 1, label=f"+{fix.kind} (seed+1)")
        return judge(best_probe, probe, REL, self.margin, replicate=(reseeded, again))

    def _reseeded_best(self, best: Setup) -> ProbeResult:
        """The best set-up's probe with the second seed: its seed noise, and the "before" of a replicate (run
        once per best set-up: the same seed gives the same probe)."""
        if self._reseeded is None or self._reseeded[0] is not best:
            self.say("re-measuring seed noise around the repaired model")
            steps = equal_samples_steps(self.steps, self.original.batch_size, best.batch_size)
            self._reseeded = (best, self.runner.probe(best, steps=steps, seed=self.seed + 1, label="best (seed+1)"))
        return self._reseeded[1]


def no_longer_fires(finding, setup: Setup) -> bool:
    """Whether `finding` came from a static rule that stays silent on `setup` (the set-up after the fixes kept
    so far): its premise is gone, so its fix would contradict them. 0-255 data under a sigmoid output: CAE201
    proposes a linear output and CAE104 scaling the data; once the data is scaled into [0, 1] (the earlier
    fix), the sigmoid reaches every target and the linear output is no fix of anything (test3-080: both kept,
    0.40 against 0.16 for the scaled data alone). A probe rule (CAE7xx), a rule the data or the model's form
    keeps from running, or a set-up the checks cannot read is never skipped: no re-check, no claim."""
    try:
        rule = get_rule(finding.code)
        context = build_context(setup.loaded, setup.data, setup.config)
    except CaedoctorError:  # an unknown code, or a set-up the checks cannot read
        return False
    if isinstance(rule, ProbeRule) or not rule.applies_to(context):
        return False  # a probe rule, or a static rule that would be skipped here: silence would prove nothing
    return not rule.run(context)


def _retuned_lr(setup: Setup, seed, fix, say, runner: ProbeRunner) -> Fix:
    say("re-running the LR range test on the repaired model")
    lr = retuned_lr(setup, seed, runner)
    if not lr:
        return fix
    return Fix("learning_rate", {"learning_rate": float(lr)},
               f"set the learning rate to {lr:.2g} (LR range test on the repaired model)")


def _unrepairable(diagnosis, start, reason) -> RepairResult:
    return RepairResult(diagnosis=diagnosis, changes=[], model=None, loaded=None, data=None, original_metrics={},
                        repaired_metrics={}, original_curve=[], repaired_curve=[],
                        seconds=time.perf_counter() - start, converged=False, reason=reason)


def _train_and_compare(diagnosis, original: Setup, best: Setup, changes, baseline, probe, epochs, budget_seconds,
                       seed, start, say) -> RepairResult:
    from caedoctor.models import fresh_copy
    from caedoctor.training import seed_everything, train

    data, loaded, rdata = original.data, best.loaded, best.data
    budget = {"epochs": epochs, "budget_seconds": budget_seconds}
    steps_per_epoch = None
    if epochs is None and budget_seconds is not None:
        # Convert the time budget into steps with the probe's measured speed.
        per_step = probe.seconds / max(probe.steps_run, 1)
        total = max(50, int(budget_seconds / per_step))
        epochs, steps_per_epoch = max(1, total // 500), min(500, total)
        budget.update(steps=total)
    epochs = epochs or 3
    say(f"training the repaired model ({epochs} epoch(s))")
    seed_everything(seed)
    repaired = LoadedModel(fresh_copy(loaded.model), loaded.config, loaded.source)
    result = train(repaired, rdata, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=0, plots=False)
    original_metrics = {}
    original_curve = list(baseline.loss_curve)
    original_model = None
    kept = [c for c in changes if c.kept]
    if kept:
        say("training the original for the same budget")
        seed_everything(seed)
        base = LoadedModel(fresh_copy(original.model), original.config, original.source)
        try:
            orig = train(base, data, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=0, plots=False)
            original_metrics = orig.metrics
            original_curve = orig.history.get("val_loss", original_curve)
            original_model = orig.model
        except CaedoctorError as exc:  # the original may not even train (a shape mismatch, NaN samples)
            original_metrics = {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
    else:
        original_metrics, original_model = result.metrics, result.model
        original_curve = result.history.get("val_loss", original_curve)
    rel = result.metrics.get("relative_mse", math.inf)
    converged = math.isfinite(rel) and rel < SLOW_RELATIVE_MSE
    reason = "" if converged else (
        f"the repaired model reaches relative MSE {rel:.3g} (needs < {SLOW_RELATIVE_MSE}); "
        + ("no confirmed fix applied" if not kept else "the confirmed fixes were not enough"))
    wrapped = _wrap_with_preprocessing(result.model, rdata, data)
    return RepairResult(diagnosis=diagnosis, changes=changes, model=wrapped, loaded=repaired, data=rdata,
                        original_metrics=original_metrics, repaired_metrics=result.metrics,
                        original_curve=original_curve, repaired_curve=result.history.get("val_loss", []),
                        seconds=time.perf_counter() - start, converged=converged, reason=reason,
                        preprocessing=list(rdata.preprocessing), budget=budget,
                        original_model=original_model, original=original.loaded)
