"""Run a probe: a short, seeded training that measures how a `Setup` learns (`run_probe` -> `ProbeResult`).

A counterfactual probe is a probe of a set-up with exactly one thing changed (a `Fix`); `judge` compares two
probes, `plan` decides which to run.

Every probe starts from freshly initialised weights (`keras.models.clone_model` under the same seed), sees
the same batches in the same order (a seeded, repeated `tf.data` pipeline) for the same number of steps,
and is scored on the same fixed validation subset. So the only difference between two probes is the
change under test (and, for a batch-size change, the batches themselves).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import keras
import tensorflow as tf

from caedoctor.foreign import foreign_patches_paused
from caedoctor.probing.checkpoints import CheckSet, Checkpoints, ClockReading, ProbeClock
from caedoctor.probing.reuse import CompiledModels
from caedoctor.losses import dynamic_range, reconstruction_metrics
from caedoctor.models import compile_model, fresh_copy
from caedoctor.monitor import ConvergenceMonitor, detect_symptoms
from caedoctor.reconstruction import overrides
from caedoctor.setup import Setup
from caedoctor.thresholds import DIVERGED_FACTOR

DEFAULT_STEPS = 500  # about 15 s with monitor and scoring for a 32x32x3 CAE on 2 CPU cores (measured)
# `quick=True` (the verdict alone) probes half as long: on the fault benchmark's 41 development cases every
# quick verdict at 250 steps was one its case accepts, as at 500 (bench/README.md, "Diagnosis time"). The
# full diagnosis keeps 500: quiet faults (a narrow code, kernels too large) separate from the baseline
# later, and the generated benchmark's out-of-sample report found them missed even at 500.
QUICK_STEPS = 250
EVAL_SAMPLES = 1024  # validation samples scored per probe: enough for a stable relative MSE
CHUNK = 25  # steps per Keras "epoch": the loss curve gets one point per chunk (mean over its steps)
VAL_SAMPLES = 256  # validation samples behind each point of a probe's validation curve (overfitting)
# The baseline probe computes the validation loss every VALIDATE_EVERY chunks of CHUNK steps (every 50 steps
# by default): the overfitting detector reads it. Counterfactual probes do not need the curve.
VALIDATE_EVERY = 2
# The monitor watches a fixed batch of this many training samples (the same batch for every probe).
MONITOR_SAMPLES = 32
# Held while a probe seeds and builds its model and batches (see `run_probe`).
BUILD_LOCK = threading.RLock()
# The symptom thresholds were measured with the monitor probing every 10 steps (bench/README-symptoms.md);
# a diagnosis uses the same interval. (A user's own `fit` keeps the cheaper default of the callback.)
MONITOR_INTERVAL = 10


@dataclass
class ProbeResult:
    """What one probe measured."""

    label: str
    steps: int
    steps_run: int
    seconds: float
    loss_curve: list  # mean training loss per chunk of CHUNK steps
    metrics: dict  # validation: mse, relative_mse, mae, psnr, ssim
    stopped: str = ""  # why it stopped early ("nan", "diverged"), or ""
    monitor: ConvergenceMonitor | None = field(default=None, repr=False)
    val_curve: list = field(default_factory=list)  # (step, validation loss) when the probe validated
    # (step, {"relative_mse", "dssim"}) on the diagnosis' fixed check batch (`checkpoints.CheckSet`)
    checkpoints: list = field(default_factory=list)
    decision: object = None  # what the probe's `decide` answered (`sequential.EarlyDecision`), or None
    decided_at: int | None = None  # the step it answered at (the probe stopped there when told to)
    # seconds: build, tracing, steps, monitor, validation, checkpoints, scoring, fit_other
    timing: dict = field(default_factory=dict)
    # the trained model and how it was trained, kept when asked (`run_probe(keep=True)`), so that
    # `extend_probe` can train it on; None otherwise
    live: "LiveProbe | None" = field(default=None, repr=False, compare=False)

    @property
    def complete(self) -> bool:
        """Ran all its steps (not stopped by a decision, the clock, NaN or divergence)."""
        return self.steps_run >= self.steps and not self.stopped

    def checkpoint(self, step: int) -> dict | None:
        """The check-batch metrics at `step`, or None when the probe has no checkpoint there."""
        return next((values for s, values in self.checkpoints if s == step), None)

    @property
    def relative_mse(self) -> float:
        return float(self.metrics.get("relative_mse", math.nan))

    def score(self, metric: str) -> float:
        """Lower is better. NaN or a stopped probe scores +inf."""
        if self.stopped == "nan":
            return math.inf
        value = 1.0 - self.metrics["ssim"] if metric == "dssim" else self.metrics.get(metric, math.nan)
        return float(value) if math.isfinite(value) else math.inf

    def summary(self) -> dict:
        """The baseline's entry `Diagnosis.probe`: steps, time, loss curve, relative loss, metrics, stop."""
        return {"steps": self.steps, "steps_run": self.steps_run, "seconds": round(self.seconds, 3),
                "loss_curve": [finite_or_none(v) for v in self.loss_curve],
                "relative_loss": finite_or_none(self.relative_mse),
                "metrics": self.to_dict()["metrics"], "stopped": self.stopped,
                "val_curve": [[k, finite_or_none(v)] for k, v in self.val_curve]}

    def symptoms(self) -> list:
        """Symptom dicts {name, present, cause, evidence, message} of the detectors over the monitor's record
        ([] for a probe run without a monitor)."""
        if self.monitor is None:
            return []
        return [s.to_dict() for s in detect_symptoms(self.monitor.record)]

    def to_dict(self) -> dict:
        return {"label": self.label, "steps": self.steps, "steps_run": self.steps_run,
                "seconds": round(self.seconds, 3), "loss_curve": [finite_or_none(v) for v in self.loss_curve],
                "metrics": {k: finite_or_none(v) for k, v in self.metrics.items()}, "stopped": self.stopped,
                **({"val_curve": [[s, finite_or_none(v)] for s, v in self.val_curve]} if self.val_curve else {}),
                **({"checkpoints": [[s, {k: finite_or_none(v) for k, v in values.items()}]
                                    for s, values in self.checkpoints]} if self.checkpoints else {}),
                **({"decided_at": self.decided_at} if self.decided_at is not None else {}),
                **({"timing": {k: round(v, 3) for k, v in self.timing.items()}} if self.timing else {})}


def finite_or_none(v):
    """A finite number as a float, anything else (NaN, Inf, None) as None: what JSON can hold."""
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


@dataclass
class LiveProbe:
    """A probe's trained model and what is needed to train it on exactly as a longer probe would have been
    trained (`extend_probe`): the set-up, the seed of its batches, its chunk length and its scoring range."""

    model: keras.Model
    setup: Setup
    seed: int
    chunk: int
    max_val: float
    validate_every: int = 0
    models: CompiledModels | None = None  # the pool the model was lent from (released when dropped)

    def drop(self) -> None:
        """Give the model back to its pool: the probe cannot be extended any more."""
        if self.models is not None:
            self.models.release(self.model)
            self.models = None


class _ChunkRecorder(keras.callbacks.Callback):
    """Records the mean loss of each chunk and stops on NaN/Inf or divergence, or once `stop_at()` steps
    are done. `prefix`: the curve of the steps already trained (an extended probe)."""

    def __init__(self, chunk: int = CHUNK, stop_at=None, clock: ProbeClock | None = None, prefix=(), val=(),
                 diverge: bool = True):
        super().__init__()
        self.diverge = diverge
        self.chunk, self.stop_at, self.clock = chunk, stop_at, clock
        self.prefix, self.prefix_val = list(prefix), list(val)
        self.curve: list = []
        self.val: list = []
        self.stopped = ""

    def on_train_begin(self, logs=None):
        self.curve, self.val, self.stopped = list(self.prefix), list(self.prefix_val), ""

    def on_epoch_end(self, epoch, logs=None):
        loss = float((logs or {}).get("loss", math.nan))
        self.curve.append(loss)
        if "val_loss" in (logs or {}):
            self.val.append((len(self.curve), float(logs["val_loss"])))
        if not math.isfinite(loss):
            self.stopped = "nan"
            self.model.stop_training = True
        elif self.diverge and self.curve and math.isfinite(self.curve[0]) and loss > DIVERGED_FACTOR * self.curve[0]:
            self.stopped = "diverged"
            self.model.stop_training = True
        elif (self.stop_at is not None
              and len(self.curve) * self.chunk >= self.stop_at(self.clock.reading(), self.chunk)):
            self.model.stop_training = True


def run_probe(setup: Setup, *, steps: int = DEFAULT_STEPS, seed: int = 0, label: str = "baseline",
              callbacks=None, validate_every: int = 0, checks: CheckSet | None = None, check_every: int = 0,
              decide=None, stop_on_decision: bool = True, deadline: float | None = None,
              stop_at: Callable[[ClockReading, int], int] | None = None,
              models: CompiledModels | None = None, evaluation: list | None = None,
              keep: bool = False, stop_on_divergence: bool = True) -> ProbeResult:
    """Train a fresh copy of `setup.model` for `steps` steps exactly as configured (the user's optimizer,
    rebuilt with every argument, and their loss) and score it on validation data.

    `validate_every` > 0 also computes the validation loss on `VAL_SAMPLES` fixed validation samples every
    that many chunks of `CHUNK` steps (Keras' `validation_freq`), so a monitor sees `val_loss` and the
    overfitting detector can compare it with the training loss.

    `checks` and `check_every` > 0 score the model on the check batch every that many chunks
    (`ProbeResult.checkpoints`); `decide(step, points)` may answer a decision there, which stops the probe
    when `stop_on_decision` (`caedoctor.diagnosis.sequential`). `deadline` (a `time.perf_counter()` value)
    stops it at the first chunk end past it (`stopped == "out_of_time"`). `stop_at(reading, chunk)` (a
    `ClockReading`), asked at every chunk end, may lower the number of steps while the probe runs
    (`budget.Budget.baseline_steps`: a plan made from the time of its first chunks). `models`
    (`reuse.CompiledModels`) lends a compiled model whose train step is already traced when the graph is the
    same as an earlier probe's. `evaluation`: the
    scoring batches (`evaluation_batches(data)`), read once and shared by the probes of one diagnosis.
    `keep`: keep the trained model in `ProbeResult.live`, so `extend_probe` can train it on.
    `stop_on_divergence=False`: a chunk's loss above `DIVERGED_FACTOR` x the first's does not stop it (a rate
    sweep has its own stop, and a negative loss, BCE on signed targets, makes that rule meaningless).
    """
    data = setup.data
    t_build = time.perf_counter()
    target = data.profile.target_stats
    max_val = dynamic_range(target.value_range, target.min, target.max)
    epochs = max(1, -(-steps // CHUNK))  # chunks of at most CHUNK steps, as even as the count allows
    chunk = max(1, steps // epochs)
    model, train = _build(setup, seed, models, max_val)
    live = LiveProbe(model, setup, seed, chunk, max_val, validate_every, models)
    fitted = _fit(live, train, first=0, epochs=epochs, build=time.perf_counter() - t_build, callbacks=callbacks,
                  checks=checks, check_every=check_every, decide=decide, stop_on_decision=stop_on_decision,
                  deadline=deadline, stop_at=stop_at, evaluation=evaluation, diverge=stop_on_divergence)
    if not keep:
        live.drop()
    clock = fitted.pop("clock")
    if stop_at is not None:  # a plan made while it ran shortened it: that is its length now
        steps = min(steps, max(chunk, stop_at(clock.reading(), chunk)))
    return ProbeResult(label=label, steps=steps, live=live if keep else None, **fitted)


def revive(setup: Setup, *, steps: int, seed: int, state: dict, models: CompiledModels | None = None,
           validate_every: int = 0) -> LiveProbe:
    """The kept model of a probe of `setup` that ran in another process (`executors`), here: built and compiled
    from the same seed as `run_probe` builds it, then given the variables it came back with
    (`shipping.trained_state`), so `extend_probe` trains it on exactly as it would have the probe run here."""
    from caedoctor.probing.shipping import restore_state

    target = setup.data.profile.target_stats
    max_val = dynamic_range(target.value_range, target.min, target.max)
    epochs = max(1, -(-steps // CHUNK))
    model, _ = _build(setup, seed, models, max_val)
    restore_state(model, state)
    return LiveProbe(model, setup, seed, max(1, steps // epochs), max_val, validate_every, models)


def extend_probe(probe: ProbeResult, steps: int, *, checks: CheckSet | None = None, check_every: int = 0,
                 deadline: float | None = None, evaluation: list | None = None, keep: bool = True) -> ProbeResult:
    """`probe` trained on to `steps` steps: the probe a `run_probe` of `steps` steps would have given (the
    same model, optimizer state and batches from where it stopped; `tests/diagnosis/test_extend.py` checks it
    step for step), its curves continued, scored again at its new end. `probe` must have been kept
    (`run_probe(keep=True)`); its model is trained on, so `probe` itself no longer describes it. Not
    monitored: the monitor's record stays that of the first steps. `keep=False` gives the model back."""
    live = probe.live
    if live is None:
        raise ValueError(f"probe {probe.label!r} was not kept (run_probe(keep=True)): it cannot be extended")
    data, chunk = live.setup.data, live.chunk
    first = probe.steps_run // chunk
    epochs = max(first + 1, -(-steps // chunk))
    with BUILD_LOCK:
        # the batches in the order the probe's own pipeline gave them: tf.data's shuffle draws its order from
        # the global seed as well as its own, and probes of other seeds (the seed-noise probe) ran since
        tf.random.set_seed(live.seed)
        train = train_batches(live.setup, live.seed).skip(first * chunk)
    fitted = _fit(live, train, first=first, epochs=epochs, build=0.0, checks=checks, check_every=check_every,
                  deadline=deadline, evaluation=evaluation, before=probe)
    fitted.pop("clock")
    fitted["monitor"] = probe.monitor
    if not keep:
        live.drop()
    probe.live = None
    return ProbeResult(label=probe.label, steps=epochs * chunk,
                       live=live if keep else None, **fitted)


def _fit(live: LiveProbe, train, *, first: int, epochs: int, build: float, callbacks=None,
         checks: CheckSet | None = None, check_every: int = 0, decide=None, stop_on_decision: bool = True,
         deadline: float | None = None, stop_at=None, evaluation: list | None = None,
         before: ProbeResult | None = None, diverge: bool = True) -> dict:
    """Train `live.model` from chunk `first` to chunk `epochs` and score it: `ProbeResult`'s measured fields
    (curves continued from `before`, an extended probe's first part) and the probe's clock."""
    import tensorflow as tf

    model, chunk, data = live.model, live.chunk, live.setup.data
    clock = ProbeClock(deadline, on_step=stop_at)
    recorder = _ChunkRecorder(chunk, stop_at, clock, diverge=diverge, prefix=before.loss_curve if before else (),
                              val=[(s // chunk, v) for s, v in before.val_curve] if before else ())
    cbs = [clock, recorder]
    checkpoints = None
    if checks is not None and check_every > 0:
        checkpoints = Checkpoints(checks, check_every, chunk, decide=decide, stop=stop_on_decision)
        checkpoints.points = list(before.checkpoints) if before else []
        cbs.append(checkpoints)
    cbs += list(callbacks or [])
    fit_val = _validation(live.setup, live.validate_every)
    start = time.perf_counter()
    try:
        with foreign_patches_paused():  # MLflow's autolog must not log (or hash the data of) a probe
            model.fit(train, initial_epoch=first, epochs=epochs, steps_per_epoch=chunk, verbose=0, callbacks=cbs,
                      shuffle=False, **fit_val)
    except tf.errors.InvalidArgumentError as exc:  # e.g. NaN checks inside ops
        recorder.stopped = recorder.stopped or "nan"
        recorder.curve.append(math.nan)
        del exc
    seconds = time.perf_counter() - start
    if clock.out_of_time and not recorder.stopped and len(recorder.curve) < epochs:
        recorder.stopped = "out_of_time"
    t_score = time.perf_counter()
    metrics = reconstruction_metrics(model, evaluation if evaluation is not None else evaluation_batches(data),
                                     live.max_val)
    if not all(math.isfinite(v) for v in (metrics["mse"],)):
        recorder.stopped = recorder.stopped or "nan"
    monitor = next((c for c in cbs if isinstance(c, ConvergenceMonitor)), None)
    timing = _timing(clock, monitor, checkpoints, build=build, fit=seconds, scoring=time.perf_counter() - t_score)
    if before is not None:
        seconds += before.seconds
        timing = {k: timing.get(k, 0.0) + before.timing.get(k, 0.0) for k in {*timing, *before.timing}}
    return {"steps_run": len(recorder.curve) * chunk, "seconds": seconds, "loss_curve": recorder.curve,
            "metrics": metrics, "stopped": recorder.stopped, "monitor": monitor,
            "val_curve": [(k * chunk, v) for k, v in recorder.val],
            "checkpoints": checkpoints.points if checkpoints is not None else [],
            "decision": checkpoints.decision if checkpoints is not None else None,
            "decided_at": checkpoints.decided_at if checkpoints is not None else None,
            "timing": timing, "clock": clock}


def _build(setup: Setup, seed: int, models: CompiledModels | None, max_val: float) -> tuple:
    """(compiled model with the seed's fresh weights, the seeded repeated training batches).

    Seeding is global: probes running side by side (`diagnose(jobs=N)`) seed, build their model and their
    batch pipeline one at a time, so each gets exactly what it would get alone; they train concurrently."""
    from caedoctor.training import seed_everything

    with BUILD_LOCK:
        if models is not None:  # a kept compiled model when the graph is the same (`reuse`)
            model = models.prepare(setup, seed, max_val=max_val)
        else:
            seed_everything(seed)
            model = fresh_copy(setup.model)
            compile_model(model, setup.config, max_val)
        train = train_batches(setup, seed)
    return model, train


def train_batches(setup: Setup, seed: int):
    """The seeded, repeated training batches of a probe of `setup`, as `fit` gives them to its train step:
    `(x, y)` pairs, or `x` alone for a model that trains itself from its inputs (`OwnLoss.feed == "x"`)."""
    data, bs = setup.data, setup.config.batch_size
    train = data.batches("train", bs, shuffle=True, seed=seed, repeat=True, drop_remainder=data.train_count >= bs,
                         autotune=False)
    own = setup.config.loss.own
    if own is not None and own.feed == "x":
        train = train.map(lambda x, *rest: x)
    return train


def _validation(setup: Setup, validate_every: int) -> dict:
    """`fit`'s validation arguments: the loss on `VAL_SAMPLES` fixed samples every `validate_every` chunks.
    None for a model that trains itself without its own `test_step` (Keras' would ask for a compiled loss)."""
    data = setup.data
    own = setup.config.loss.own
    if validate_every <= 0 or data.val_count <= 0 or (own is not None and not overrides(setup.model, "test_step")):
        return {}
    val = data.val.take(VAL_SAMPLES).batch(setup.config.batch_size)
    if own is not None and own.feed == "x":
        val = val.map(lambda x, *rest: x)
    return {"validation_data": val.cache(), "validation_freq": int(validate_every)}


def _timing(clock: ProbeClock, monitor, checkpoints, *, build: float, fit: float, scoring: float) -> dict:
    """Seconds per part of a probe (`ProbeResult.timing`)."""
    watched = monitor.record.monitor_seconds if monitor is not None else 0.0  # inside the chunks' time
    tracing = clock.tracing()
    return {"build": build, "tracing": tracing, "steps": sum(clock.chunks) - tracing - watched, "monitor": watched,
            "validation": clock.validation, "checkpoints": checkpoints.seconds if checkpoints is not None else 0.0,
            "scoring": scoring,
            # inside `fit` but outside its chunks and validation passes: building the iterator before the
            # first step and what `fit` does after `on_train_end` (with the monitor on CIFAR-10 crops several
            # seconds; see bench/README.md, "Where the time goes")
            "fit_other": max(0.0, fit - sum(clock.chunks) - clock.validation)}


def evaluation_batches(data) -> list:
    """The `EVAL_SAMPLES` validation samples every probe is scored on at its end, as numpy (x, y) batches."""
    return list(data.val.take(EVAL_SAMPLES).batch(256).as_numpy_iterator())


def make_monitor(setup: Setup) -> ConvergenceMonitor:
    """A ConvergenceMonitor on a fixed batch of training samples (the same batch for every probe), feeding a
    self-training model's own step as its probes' batches feed it."""
    data = setup.data
    x, y = data.sample(min(MONITOR_SAMPLES, data.train_count), split="train")
    own = setup.config.loss.own
    return ConvergenceMonitor(monitor_data=(x, y), interval=MONITOR_INTERVAL, feed=own.feed if own else "xy")
