"""`Watcher`: watches every `fit`, judges it from the monitor's record, and diagnoses the set-up it recorded.

One watcher serves both ways in: `caedoctor.autolog()` (a notebook or script: each fit is judged, and
diagnosed if need be, as soon as it returns) and `caedoctor run script.py` (judged and diagnosed after the
script has finished, so the diagnosis is printed after the script's own output and nothing caedoctor does
can change what the script computes).

A fit is a problem when the monitor's record shows one of `TRIGGERS` (the symptom detectors of
`caedoctor.monitor.symptoms`), or when it raised (run only). With `when="on-problem"` only such fits are
diagnosed, with "always" every fit, with "never" none. A set-up already diagnosed (same model, optimizer,
data and batch size: a loop of `fit(epochs=1)`) is not diagnosed again.

The diagnosis runs on copies (`watch.recorded.diagnosis_inputs`) with the global random state and Keras'
name counters restored afterwards (`watch.state`), so the user's later code computes what it would have
computed without caedoctor. The one thing the user asked to change, and only when asked: `on_nan="rollback"`
adds `caedoctor.nan_guard.NaNGuard` to the fit.
"""

from __future__ import annotations

import inspect
import math
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from caedoctor.thresholds import DEFAULT_BUDGET_SECONDS
from caedoctor.watch.patch import unwatched
from caedoctor.watch.recorded import BatchTee, RecordedFit, monitor_batch, pipeline_state, record_fit

WHEN = ("on-problem", "always", "never")
TRIGGERS = ("nan_inf", "diverging", "stuck", "collapsed_to_mean", "overfitting", "kl_weight_frozen")
TRIGGER_WORDS = "NaN, divergence, stall, collapse to the mean image, overfitting, a KL weight schedule with no effect"
# Every CAE starts out returning about the same image for every input: a stall or a collapse is judged only
# in a fit of at least this many steps (the detectors' thresholds were measured on 500-step probes; a healthy
# tiny CAE still sits at half the targets' spread after 16 steps, and at their full spread after 80).
JUDGE_STALL_STEPS = 100
_STALL = ("stuck", "collapsed_to_mean")
MONITOR_SAMPLES = 32


@dataclass
class WatchedFit:
    """A fit that ran under the watcher, and what came of it."""

    recorded: RecordedFit
    monitor: object  # FitMonitor
    raised: str | None = None  # the exception the fit raised, in one line
    symptoms: list = field(default_factory=list)  # the present TRIGGERS symptoms
    diagnosis: object = None
    report: Path | None = None
    error: str | None = None  # why the diagnosis could not run
    mlflow_run_id: str | None = None  # the MLflow run active while the fit trained (MLflow's autolog's own)


def _mlflow_catcher(watched_holder: list):
    """A Keras callback that notes the MLflow run active when the fit starts training (MLflow's own autolog
    starts one inside `fit` and ends it after): the diagnosis is logged into that run, even after it ended
    (`caedoctor run` diagnoses after the script)."""
    import keras

    class _MlflowRun(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            mlflow = sys.modules.get("mlflow")
            run = mlflow.active_run() if mlflow is not None else None
            if run is not None and watched_holder:
                watched_holder[0].mlflow_run_id = run.info.run_id

    return _MlflowRun()


# Callbacks a user may put in their own fit; any other caedoctor callback marks caedoctor's own training loop
# (a probe, the LR range test, `caedoctor.train`), which is not the user's fit.
_PUBLIC_CALLBACKS = ("caedoctor.monitor.callback", "caedoctor.nan_guard", "caedoctor.watch.monitor")


def _caedoctors_own(callbacks) -> bool:
    if not isinstance(callbacks, (list, tuple)):
        return False
    return any(type(c).__module__.startswith("caedoctor.") and type(c).__module__ not in _PUBLIC_CALLBACKS
               for c in callbacks)


def _call(original, bound):
    """Call `original` with the bound arguments, all but the model by keyword: another library's patch of
    `fit` (MLflow's autolog) may add its callbacks by keyword too, and would clash with a positional one."""
    params = list(bound.signature.parameters.values())
    if any(p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY) for p in params[1:]):
        return original(*bound.args, **bound.kwargs)
    arguments = dict(bound.arguments)
    model = arguments.pop(params[0].name)
    extra = arguments.pop(next((p.name for p in params if p.kind is p.VAR_KEYWORD), "\0"), {})
    return original(model, **arguments, **extra)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300]


def mean_image_loss(loss, y: np.ndarray) -> float:
    """The compiled `loss` of predicting the per-pixel mean image of `y` for every sample (the level a
    model that learnt nothing reaches); NaN when the loss cannot score it."""
    import keras
    import tensorflow as tf

    fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    y = np.asarray(y, np.float32)
    mean = np.broadcast_to(y.mean(axis=0, keepdims=True), y.shape).astype(np.float32)
    try:
        return float(tf.reduce_mean(tf.cast(fn(tf.constant(y), tf.constant(mean)), tf.float32)))
    except Exception:  # noqa: BLE001 - a loss that is not a function of (y, y_pred)
        return math.nan


class Watcher:
    """Watches `fit` calls (see the module doc).

    Args:
        when: "on-problem", "always" or "never".
        deferred: judge and diagnose at `finish()` (caedoctor run) instead of right after each fit.
        quick / steps / seed / budget_seconds: passed to `diagnose` (budget_seconds None: no limit).
        report_dir: write each diagnosis's report there (`fit-N/` subfolders when several).
        on_nan: None, or "rollback" to add a NaNGuard to each fit (this changes the training, as asked).
        notebook: show diagnoses as HTML (`IPython.display`) instead of printing them.
        mlflow: None (log into MLflow when a run is active), True (always) or False (never).
        tensorboard_dir: write each diagnosis's probe curves there as TensorBoard runs (`fit-N/` when several).
    """

    def __init__(self, when: str = "on-problem", *, deferred: bool = False, quick: bool = False,
                 steps: int | None = None, seed: int = 0, report_dir=None, on_nan: str | None = None,
                 notebook: bool = False, budget_seconds: float | None = DEFAULT_BUDGET_SECONDS,
                 mlflow: bool | None = None, tensorboard_dir=None):
        self.when = when
        self.deferred = deferred
        self.quick = quick
        self.steps = steps
        self.seed = seed
        self.budget_seconds = budget_seconds
        self.report_dir = Path(report_dir) if report_dir is not None else None
        self.on_nan = on_nan
        self.notebook = notebook
        self.mlflow = mlflow
        self.tensorboard_dir = Path(tensorboard_dir) if tensorboard_dir is not None else None
        self.fits: list[WatchedFit] = []
        self.last = None  # the latest Diagnosis
        self._diagnosed: dict = {}  # RecordedFit.key -> index of the fit whose diagnosis covers it
        self._told: set = set()
        self._count = 0

    # ------------------------------------------------------------------ output

    def say(self, message: str) -> None:
        """One line for the user: on stderr (after flushing the script's stdout), or in the notebook cell."""
        if self.notebook:
            print(message, flush=True)
            return
        sys.stdout.flush()
        print(message, file=sys.stderr, flush=True)

    # ------------------------------------------------------------------ during fit

    def watch(self, original, model, args, kwargs):
        """Run the user's `fit` with the monitor appended to its callbacks; judge it afterwards."""
        import keras

        try:
            bound = inspect.signature(original).bind(model, *args, **kwargs)
        except TypeError:
            return original(model, *args, **kwargs)  # Keras will say what is wrong with the call
        if _caedoctors_own(bound.arguments.get("callbacks")):
            return original(model, *args, **kwargs)
        try:
            watched, call = self._prepare(model, bound, keras)
        except Exception as exc:  # noqa: BLE001 - caedoctor's problem must not become the user's
            self.say(f"caedoctor: not watching this fit ({_one_line(exc)})")
            return original(model, *args, **kwargs)
        try:
            with unwatched():
                history = _call(original, call)
        except BaseException as exc:
            watched.raised = _one_line(exc)
            if self.deferred and not isinstance(exc, KeyboardInterrupt):
                self.fits.append(watched)
            raise
        self.fits.append(watched)
        if not self.deferred:
            try:
                self.settle(watched)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - the user's fit succeeded; say what failed, return its result
                self.say(f"caedoctor: could not judge {watched.recorded.name}: {_one_line(exc)}")
        return history

    def _prepare(self, model, bound, keras):
        from caedoctor.watch.monitor import FitMonitor

        self._count += 1
        rec = record_fit(model, dict(bound.arguments), self._count)
        callbacks = bound.arguments.get("callbacks")
        if isinstance(callbacks, keras.callbacks.CallbackList):
            raise ValueError("fit got a CallbackList, to which caedoctor does not add its monitor")
        if rec.tee is not None:
            bound.arguments["x"] = rec.tee.generator()
            source = (lambda tee=rec.tee: tee.batches[0] if tee.batches else None)
            monitor = FitMonitor(batch_source=source, monitor_samples=MONITOR_SAMPLES)
        else:
            try:
                monitor = FitMonitor(monitor_batch(rec, MONITOR_SAMPLES), monitor_samples=MONITOR_SAMPLES,
                                     feed=rec.feed)
            except Exception:  # noqa: BLE001 - data the probe cannot use (several outputs): the loss only
                monitor = FitMonitor(None, monitor_samples=MONITOR_SAMPLES)
        val = bound.arguments.get("validation_data")
        if isinstance(val, types.GeneratorType):
            tee = BatchTee(val)
            bound.arguments["validation_data"] = tee.generator()
            rec.validation_data = _Replay(tee)
        holder: list = []
        extra = [monitor, _mlflow_catcher(holder)]
        if self.on_nan == "rollback":
            from caedoctor.nan_guard import NaNGuard

            extra.append(NaNGuard("rollback"))
        bound.arguments["callbacks"] = list(callbacks or []) + extra
        watched = WatchedFit(rec, monitor)
        holder.append(watched)
        return watched, bound

    # ------------------------------------------------------------------ after fit

    def settle(self, watched: WatchedFit) -> None:
        """Judge one fit and diagnose it when `when` says so; show the result."""
        if self.when == "never":
            return
        rec = watched.recorded
        record = watched.monitor.record
        steps = record.steps
        if watched.monitor.failure:
            what = "stopped" if watched.monitor.stopped else "could not probe the model, and recorded the loss only,"
            self.say(f"caedoctor: the monitor {what} during {rec.name} ({watched.monitor.failure})")
        watched.symptoms = self._judge(watched)
        if watched.raised:
            problem = f"it raised {watched.raised}"
        elif watched.symptoms:
            problem = "the monitor saw " + "; ".join(f"{s.name} ({s.message})" for s in watched.symptoms)
        else:
            problem = None
        head = f"caedoctor: {rec.name}: {steps} step(s) watched"
        if problem is None and self.when == "on-problem":
            how = "--diagnose always" if self.deferred else "diagnose='always'"
            short = (f"; a stall or collapse is judged from {JUDGE_STALL_STEPS} steps on"
                     if steps < JUDGE_STALL_STEPS else "")
            self.say(f"{head}; no problem seen ({TRIGGER_WORDS}){short}; {how} diagnoses anyway")
            return
        self.say(f"{head}; {problem}" if problem else head)
        earlier = self._diagnosed.get(rec.key)
        if earlier is not None:
            if rec.key not in self._told:
                self._told.add(rec.key)
                self.say(f"caedoctor: {rec.name} repeats the set-up of fit #{earlier}, diagnosed already")
            return
        self._diagnosed[rec.key] = rec.index
        self.diagnose(watched)

    def _judge(self, watched: WatchedFit) -> list:
        from caedoctor.monitor.symptoms import detect_symptoms

        record = watched.monitor.record
        if not record.loss_steps:
            return []
        if not math.isfinite(record.baseline_loss):  # loss-only monitor: the predict-the-mean level from the data
            record.baseline_loss = self._baseline_from_data(watched.recorded)
        judged = TRIGGERS if record.steps >= JUDGE_STALL_STEPS else tuple(t for t in TRIGGERS if t not in _STALL)
        return [s for s in detect_symptoms(record) if s.present and s.name in judged]

    def _baseline_from_data(self, rec: RecordedFit) -> float:
        from caedoctor.data import streams
        from caedoctor.watch.state import preserved_global_state

        try:
            with unwatched(), preserved_global_state():
                if rec.kind == "generator":
                    batch = rec.tee.batches[0] if rec.tee.batches else None
                    if batch is None:
                        return math.nan
                    x, y = streams.first_batch(iter([batch]), MONITOR_SAMPLES)
                else:
                    self._note_read(rec)
                    x, y = streams.first_batch(rec.x, MONITOR_SAMPLES)
                return mean_image_loss(rec.loss, y)
        except Exception:  # noqa: BLE001 - no baseline: the detectors that need it skip
            return math.nan

    def _note_read(self, rec: RecordedFit) -> None:
        """Say once per dataset when reading it after fit changes what its next pass gives (autolog only)."""
        if self.deferred or rec.kind != "dataset" or id(rec.x) in self._told:
            return
        reason = pipeline_state(rec.x)
        if reason:
            self._told.add(id(rec.x))
            self.say(f"caedoctor: reading your tf.data.Dataset after {rec.name} ({reason}): its next pass draws a "
                     "different order than it would have without caedoctor")

    def diagnose(self, watched: WatchedFit) -> None:
        """Diagnose the recorded set-up on copies; show the verdict and write the report."""
        from caedoctor.diagnosis import diagnose
        from caedoctor.diagnosis.watched import add_watched_findings, kl_weight_frozen
        from caedoctor.display import attach_inputs
        from caedoctor.errors import CaedoctorError
        from caedoctor.progress import progress_for
        from caedoctor.report.tracking import mlflow_paused
        from caedoctor.watch.recorded import diagnosis_inputs
        from caedoctor.watch.state import preserved_global_state

        rec = watched.recorded
        self.say(f"caedoctor: diagnosing the set-up recorded at the start of {rec.name} (on copies; your "
                 "training is not changed)")
        try:
            with unwatched(), preserved_global_state(), mlflow_paused():
                self._note_read(rec)
                loaded, data, notes = diagnosis_inputs(
                    rec, seed=self.seed, kl_weight_frozen=kl_weight_frozen(watched.monitor.record))
                for note in notes:
                    self.say(f"  note: {note}")
                with progress_for("auto", f"diagnosis of {rec.name}") as progress:
                    result = diagnose(loaded, data, steps=self.steps, seed=self.seed, quick=self.quick,
                                      budget_seconds=self.budget_seconds,
                                      horizon_steps=rec.horizon(data, loaded.config.batch_size),
                                      progress=progress)
                add_watched_findings(result, watched.monitor.record)
                attach_inputs(result, data=data, loaded=loaded)
                watched.diagnosis = self.last = result
                if self.report_dir is not None:
                    from caedoctor.report.html import write_report

                    watched.report = write_report(result, self._report_folder(rec), data=data, loaded=loaded)
        except CaedoctorError as exc:
            watched.error = str(exc)
            self.say(f"caedoctor: could not diagnose {rec.name}: {exc}")
            return
        try:
            self._track(watched, result)
        except Exception as exc:  # noqa: BLE001 - the diagnosis stands; say what could not be logged
            self.say(f"caedoctor: the diagnosis of {rec.name} was not logged ({_one_line(exc)})")
        self.show(watched)

    def _track(self, watched: WatchedFit, result) -> None:
        """The diagnosis into TensorBoard and MLflow, as the options say (`caedoctor.report.tracking`)."""
        from caedoctor.report.tracking import log_to_mlflow, mlflow_active, write_tensorboard

        rec = watched.recorded
        if self.tensorboard_dir is not None:
            first = not any(w.diagnosis for w in self.fits if w.recorded is not rec)
            write_tensorboard(result, self.tensorboard_dir if first else self.tensorboard_dir / f"fit-{rec.index}")
        run_id = watched.mlflow_run_id
        if self.mlflow is True or (self.mlflow is None and (run_id or mlflow_active())):
            run_id = log_to_mlflow(result, report_dir=watched.report.parent if watched.report else None,
                                   run_id=run_id)
            self.say(f"caedoctor: logged the diagnosis of {rec.name} into MLflow run {run_id}")

    def _report_folder(self, rec: RecordedFit) -> Path:
        """`report_dir` itself for the first diagnosis, `report_dir/fit-N` for later ones."""
        first = not any(w.report for w in self.fits if w.recorded is not rec)
        return self.report_dir if first else self.report_dir / f"fit-{rec.index}"

    def show(self, watched: WatchedFit) -> None:
        result = watched.diagnosis
        if self.notebook:
            from IPython.display import display

            display(result)
        else:
            self.say(str(result))
        if watched.report is not None:
            self.say(f"report: {watched.report}")

    def finish(self) -> None:
        """Judge and diagnose the fits of a finished script, in the order they ran (caedoctor run)."""
        for watched in self.fits:
            try:
                self.settle(watched)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - one fit's failure must not hide the others' results
                self.say(f"caedoctor: could not diagnose {watched.recorded.name}: {_one_line(exc)} (a bug in "
                         "caedoctor; rerun with --debug for the traceback)")
                if _debug():
                    raise


class _Replay:
    """The validation batches a generator gave the user's fit, replayed as an iterator for the diagnosis."""

    def __init__(self, tee: BatchTee):
        self.tee = tee
        self._it = None

    def __iter__(self):
        return self

    def __next__(self):
        if self._it is None:
            self._it = iter(self.tee.batches)
        return next(self._it)


def _debug() -> bool:
    try:
        import click

        ctx = click.get_current_context(silent=True)
        return bool(ctx and ctx.find_root().params.get("debug"))
    except Exception:  # noqa: BLE001
        return False
