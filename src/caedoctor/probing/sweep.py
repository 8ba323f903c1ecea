"""The rate sweep: a probe whose learning rate rises at every step, stopped online when its loss blows up.

The learning-rate range test (`caedoctor.diagnosis.lr_finder`) is such a probe (`ProbeRunner.sweep`): this
module is the part that runs while it trains, the rate of each step (`RateSweep`, a Keras callback) and the
online stop (`Sweep`); reading a suggestion from the recorded losses is the LR range test's own.

- a running median of 3 removes single-batch spikes before anything else looks at the losses;
- the causal, bias-corrected exponential average (`smoothing`) decides the stop (when it exceeds
  `diverge_factor` times its best, or the loss is NaN/Inf), as that must be decided online.
"""

from __future__ import annotations

import math

import keras
import numpy as np

SPIKE_MEDIAN = 3  # running-median width that removes a single-batch spike


class Sweep:
    """Online part of the test: filters spikes, keeps the exponential average, decides when to stop."""

    def __init__(self, smoothing: float = 0.98, diverge_factor: float = 4.0):
        self.beta = smoothing
        self.factor = diverge_factor
        self.losses: list = []
        self.smoothed: list = []
        self._avg = 0.0
        self._best = math.inf
        self.stopped = False

    def add(self, loss: float) -> bool:
        """Record one step's loss; True when the sweep should stop."""
        loss = float(loss)
        self.losses.append(loss)
        if not math.isfinite(loss):
            self.smoothed.append(math.nan)
            self.stopped = True
            return True
        recent = self.losses[-SPIKE_MEDIAN:]
        filtered = float(np.median(recent))
        self._avg = self.beta * self._avg + (1 - self.beta) * filtered
        value = self._avg / (1 - self.beta ** len(self.losses))
        self.smoothed.append(value)
        self._best = min(self._best, value)
        # "factor x the best" for positive losses; the same distance above the best for losses that can be
        # negative (BCE on targets outside [0, 1]), where a multiple of a negative best means nothing.
        if value > self._best + (self.factor - 1) * abs(self._best):
            self.stopped = True
        return self.stopped


class RateSweep(keras.callbacks.Callback):
    """Sets each step's rate and feeds the step's loss to the `Sweep`; stops the probe when the sweep says so.

    The probe trains in chunks (Keras epochs of `probes.CHUNK` steps): the step count runs on across them,
    and Keras' running mean of the loss starts again with each."""

    def __init__(self, lrs, sweep: Sweep):
        super().__init__()
        self.lrs, self.sweep, self._prev, self._step = lrs, sweep, 0.0, 0

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = float(self.lrs[min(self._step, len(self.lrs) - 1)])

    def on_train_batch_end(self, batch, logs=None):
        # Keras logs the running mean of the epoch; one step's loss is k*m_k - (k-1)*m_(k-1).
        mean = float((logs or {}).get("loss", math.nan))
        loss = (batch + 1) * mean - batch * self._prev if batch else mean
        self._prev = mean
        self._step += 1
        if self.sweep.stopped:
            return
        if self.sweep.add(loss) or self._step >= len(self.lrs):
            self.model.stop_training = True
