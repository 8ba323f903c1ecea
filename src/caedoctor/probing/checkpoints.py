"""Checkpoints of a probe: its validation error every few steps, and the clock of where its time goes.

A counterfactual probe can be decided before its last step (`sequential`): its gain over the baseline *at
the same step* is then already far beyond the noise, or out of reach. That needs both probes' validation
error along the way, on the same images: `CheckSet` is a fixed batch of validation samples, taken once per
diagnosis and shared by every probe, and `Checkpoints` scores the model on it every `CHECK_EVERY` steps
(relative MSE and 1 - SSIM, the two metrics the judge reads).

`ProbeClock` measures the probe's own time: each chunk of steps (the first includes tracing and compiling
the train step), the validation passes Keras runs inside `fit`, the checkpoints, and a deadline after
which the probe stops at the next chunk (a time budget that holds).

Example::

    checks = CheckSet.of(data, max_val=1.0)
    cb = Checkpoints(checks, every_chunks=2, chunk=25)
    model.fit(train, epochs=20, steps_per_epoch=25, callbacks=[cb])
    cb.points   # [(50, {"relative_mse": 0.41, "dssim": 0.22}), (100, {...}), ...]
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
import tensorflow as tf
from caedoctor.reconstruction import reconstruct

# Validation samples behind each checkpoint (the first of the validation split, the same for every probe):
# scoring them costs ~1-3% of a probe's time on a 32x32x3 CAE (bench/README.md, "Where the time goes").
CHECK_SAMPLES = 256
CHECK_METRICS = ("relative_mse", "dssim")


@dataclass
class CheckSet:
    """The fixed validation batch every checkpoint of every probe of one diagnosis is scored on."""

    x: np.ndarray
    y: np.ndarray
    variance: float  # of the targets around their per-pixel mean image: relative MSE's denominator
    max_val: float  # the targets' dynamic range, for SSIM

    @classmethod
    def of(cls, data, max_val: float, samples: int = CHECK_SAMPLES) -> "CheckSet | None":
        """The first `samples` validation samples of `data` (None when it has no validation split)."""
        if data.val_count <= 0:
            return None
        x, y = data.sample(min(samples, data.val_count), split="val")
        y64 = np.asarray(y, np.float64)
        variance = float(np.mean(y64.var(axis=0)))
        return cls(np.asarray(x), np.asarray(y, np.float32), variance, float(max_val))

    def score(self, model) -> dict:
        """{"relative_mse", "dssim"} of `model` on this batch (+inf for a non-finite output)."""
        from caedoctor.losses import _ssim

        pred = tf.cast(reconstruct(model, self.x), tf.float32)
        if tuple(pred.shape) != tuple(self.y.shape):
            return {m: math.inf for m in CHECK_METRICS}
        mse = float(tf.reduce_mean(tf.square(pred - self.y)))
        if not math.isfinite(mse):
            return {m: math.inf for m in CHECK_METRICS}
        ssim = float(tf.reduce_mean(_ssim(self.y, tf.clip_by_value(pred, -1e30, 1e30), self.max_val)))
        rel = mse / self.variance if self.variance > 0 else math.nan
        return {"relative_mse": rel, "dssim": 1.0 - ssim if math.isfinite(ssim) else math.inf}


class Checkpoints(keras.callbacks.Callback):
    """Scores the model on a `CheckSet` every `every_chunks` chunks of `chunk` steps; `decide(step, values)`
    (optional) may answer a decision, which stops the probe when `stop` is set.

    Attributes:
        points: [(step, {metric: value})] in order.
        decision: what `decide` answered first (any object), or None; `decided_at`: its step.
        seconds: time spent scoring.
    """

    def __init__(self, checks: CheckSet, every_chunks: int, chunk: int,
                 decide: Callable[[int, list], object] | None = None, stop: bool = True):
        super().__init__()
        self.checks, self.every, self.chunk = checks, max(1, int(every_chunks)), int(chunk)
        self.decide, self.stop = decide, stop
        self.points: list = []
        self.decision = None
        self.decided_at: int | None = None
        self.seconds = 0.0

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        start = time.perf_counter()
        step = (epoch + 1) * self.chunk
        self.points.append((step, self.checks.score(self.model)))
        self.seconds += time.perf_counter() - start
        if self.decide is None or self.decision is not None:
            return
        decision = self.decide(step, self.points)
        if decision is not None:
            self.decision, self.decided_at = decision, step
            if self.stop:
                self.model.stop_training = True


@dataclass(frozen=True)
class ClockReading:
    """What a probe's clock has measured so far, handed to a plan (`on_step`, `stop_at`) as data.

    Attributes:
        steady_step: the median seconds of a step after the first (None before 5 such steps were timed).
        first_step: the first step's seconds (tracing and compiling included; 0 before it ran).
        trained: the seconds spent in training steps so far.
    """

    steady_step: float | None
    first_step: float
    trained: float


class ProbeClock(keras.callbacks.Callback):
    """Where a probe's `fit` spends its time: per chunk of steps (the first includes tracing), per step, and in
    Keras' own validation passes; stops the probe after the first step past `deadline`
    (`time.perf_counter()`). `on_step(reading)`, called after every step with a `ClockReading`, lets a plan
    read the step time as soon as a few steps were timed (`budget.Budget`)."""

    def __init__(self, deadline: float | None = None, on_step: Callable | None = None):
        super().__init__()
        self.deadline, self.on_step = deadline, on_step
        self.chunks: list = []  # seconds per chunk, validation excluded
        self.steps: list = []  # seconds per step (the first includes tracing)
        self.validation = 0.0
        self.out_of_time = False
        self._t0 = self._v0 = self._last = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = self._last = time.perf_counter()
        self._val_in_epoch = 0.0

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.steps.append(now - self._last)
        self._last = now
        if self.on_step is not None:
            self.on_step(self.reading())
        if self.deadline is not None and now > self.deadline:
            self.out_of_time = True
            self.model.stop_training = True

    def on_test_begin(self, logs=None):
        self._v0 = time.perf_counter()

    def on_test_end(self, logs=None):
        spent = time.perf_counter() - self._v0
        self.validation += spent
        self._val_in_epoch += spent

    def on_epoch_end(self, epoch, logs=None):
        self.chunks.append(time.perf_counter() - self._t0 - self._val_in_epoch)
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.out_of_time = True
            self.model.stop_training = True

    def reading(self) -> ClockReading:
        """What it has measured so far (`ClockReading`)."""
        return ClockReading(self.steady_step(), self.steps[0] if self.steps else 0.0, sum(self.steps))

    def steady_step(self, at_least: int = 5) -> float | None:
        """The median seconds of a step after the first (None before `at_least` such steps were timed)."""
        return statistics.median(self.steps[1:]) if len(self.steps) > at_least else None

    def steady_chunk(self) -> float | None:
        """The median seconds of a chunk after the first (None with fewer than two chunks)."""
        return statistics.median(self.chunks[1:]) if len(self.chunks) > 1 else None

    def tracing(self) -> float:
        """The first chunk's extra time over a steady one (or, with one chunk, the first step's over a steady
        step): tracing and compiling the train step."""
        steady = self.steady_chunk()
        if steady is not None:
            return max(0.0, self.chunks[0] - steady)
        step = self.steady_step(1)
        return max(0.0, self.steps[0] - step) if step is not None else 0.0
