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
import time
from dataclasses import dataclass, field

import keras

from caedoctor.losses import dynamic_range, reconstruction_metrics
from caedoctor.models import compile_model, fresh_copy
from caedoctor.monitor import ConvergenceMonitor, detect_symptoms
from caedoctor.setup import Setup
from caedoctor.thresholds import DIVERGED_FACTOR

DEFAULT_STEPS = 500  # about 15 s with monitor and scoring for a 32x32x3 CAE on 2 CPU cores (measured)
EVAL_SAMPLES = 1024  # validation samples scored per probe: enough for a stable relative MSE
CHUNK = 25  # steps per Keras "epoch": the loss curve gets one point per chunk (mean over its steps)
VAL_SAMPLES = 256  # validation samples behind each point of a probe's validation curve (overfitting)
# The baseline probe computes the validation loss every VALIDATE_EVERY chunks of CHUNK steps (every 50 steps
# by default): the overfitting detector reads it. Counterfactual probes do not need the curve.
VALIDATE_EVERY = 2
# The monitor watches a fixed batch of this many training samples (the same batch for every probe).
MONITOR_SAMPLES = 32
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
                **({"val_curve": [[s, finite_or_none(v)] for s, v in self.val_curve]} if self.val_curve else {})}


def finite_or_none(v):
    """A finite number as a float, anything else (NaN, Inf, None) as None: what JSON can hold."""
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


class _ChunkRecorder(keras.callbacks.Callback):
    """Records the mean loss of each chunk and stops on NaN/Inf or divergence."""

    def __init__(self):
        super().__init__()
        self.curve: list = []
        self.val: list = []
        self.stopped = ""

    def on_train_begin(self, logs=None):
        self.curve, self.val, self.stopped = [], [], ""

    def on_epoch_end(self, epoch, logs=None):
        loss = float((logs or {}).get("loss", math.nan))
        self.curve.append(loss)
        if "val_loss" in (logs or {}):
            self.val.append((len(self.curve), float(logs["val_loss"])))
        if not math.isfinite(loss):
            self.stopped = "nan"
            self.model.stop_training = True
        elif self.curve and math.isfinite(self.curve[0]) and loss > DIVERGED_FACTOR * self.curve[0]:
            self.stopped = "diverged"
            self.model.stop_training = True


def run_probe(setup: Setup, *, steps: int = DEFAULT_STEPS, seed: int = 0, label: str = "baseline",
              callbacks=None, validate_every: int = 0) -> ProbeResult:
    """Train a fresh copy of `setup.model` for `steps` steps exactly as configured (the user's optimizer,
    rebuilt with every argument, and their loss) and score it on validation data.

    `validate_every` > 0 also computes the validation loss on `VAL_SAMPLES` fixed validation samples every
    that many chunks of `CHUNK` steps (Keras' `validation_freq`), so a monitor sees `val_loss` and the
    overfitting detector can compare it with the training loss.
    """
    import tensorflow as tf

    from caedoctor.training import seed_everything

    data = setup.data
    seed_everything(seed)
    model = fresh_copy(setup.model)
    target = data.profile.target_stats
    max_val = dynamic_range(target.value_range, target.min, target.max)
    compile_model(model, setup.config, max_val)
    bs = setup.config.batch_size
    epochs = max(1, -(-steps // CHUNK))  # chunks of at most CHUNK steps, as even as the count allows
    chunk = max(1, steps // epochs)
    train = data.batches("train", bs, shuffle=True, seed=seed, repeat=True, drop_remainder=data.train_count >= bs)
    recorder = _ChunkRecorder()
    cbs = [recorder] + list(callbacks or [])
    fit_val = {}
    if validate_every > 0 and data.val_count > 0:
        fit_val = {"validation_data": data.val.take(VAL_SAMPLES).batch(bs).cache(),
                   "validation_freq": int(validate_every)}
    start = time.perf_counter()
    try:
        model.fit(train, epochs=epochs, steps_per_epoch=chunk, verbose=0, callbacks=cbs, shuffle=False, **fit_val)
    except tf.errors.InvalidArgumentError as exc:  # e.g. NaN checks inside ops
        recorder.stopped = recorder.stopped or "nan"
        recorder.curve.append(math.nan)
        del exc
    seconds = time.perf_counter() - start
    val = data.val.take(EVAL_SAMPLES).batch(256)
    metrics = reconstruction_metrics(model, val.as_numpy_iterator(), max_val)
    if not all(math.isfinite(v) for v in (metrics["mse"],)):
        recorder.stopped = recorder.stopped or "nan"
    return ProbeResult(label=label, steps=steps, steps_run=len(recorder.curve) * chunk, seconds=seconds,
                       loss_curve=recorder.curve, metrics=metrics, stopped=recorder.stopped,
                       monitor=next((c for c in cbs if isinstance(c, ConvergenceMonitor)), None),
                       val_curve=[(k * chunk, v) for k, v in recorder.val])


def make_monitor(data) -> ConvergenceMonitor:
    """A ConvergenceMonitor on a fixed batch of training samples (the same batch for every probe)."""
    x, y = data.sample(min(MONITOR_SAMPLES, data.train_count), split="train")
    return ConvergenceMonitor(monitor_data=(x, y), interval=MONITOR_INTERVAL)
