"""Probe runs: short, seeded trainings that measure how a CAE learns, and counterfactual probes that
change exactly one thing (a `Fix`) and measure the difference.

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
import numpy as np

from caedoctor.thresholds import DIVERGED_FACTOR, MIN_MARGIN, NOISE_K
from caedoctor.losses import dynamic_range, reconstruction_metrics
from caedoctor.models import compile_model, fresh_copy
from caedoctor.setup import Setup

DEFAULT_STEPS = 500  # about 15 s with monitor and scoring for a 32x32x3 CAE on 2 CPU cores (measured)
EVAL_SAMPLES = 1024  # validation samples scored per probe: enough for a stable relative MSE
CHUNK = 25  # steps per Keras "epoch": the loss curve gets one point per chunk (mean over its steps)
VAL_SAMPLES = 256  # validation samples behind each point of a probe's validation curve (overfitting)


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
    monitor: object = field(default=None, repr=False)
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

    def to_dict(self) -> dict:
        return {"label": self.label, "steps": self.steps, "steps_run": self.steps_run,
                "seconds": round(self.seconds, 3), "loss_curve": [_finite(v) for v in self.loss_curve],
                "metrics": {k: _finite(v) for k, v in self.metrics.items()}, "stopped": self.stopped,
                **({"val_curve": [[s, _finite(v)] for s, v in self.val_curve]} if self.val_curve else {})}


def _finite(v):
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
                       monitor=next((c for c in cbs if hasattr(c, "record")), None),
                       val_curve=[(k * chunk, v) for k, v in recorder.val])


@dataclass
class Comparison:
    """The verdict of one counterfactual probe against the baseline."""

    status: str  # "confirmed" | "refuted"
    metric: str
    before: float
    after: float
    improvement: float  # relative: 1 - after / before; > 0 means the change helped
    log_gain: float  # log(before / after): the improvement on the scale the noise is measured on
    margin: float  # the log gain needed to call it beyond seed noise


def noise_margin(baseline: ProbeResult, reseeded: ProbeResult, metric: str, floor: float = MIN_MARGIN,
                 k: float = NOISE_K) -> float:
    """The log gain a change must beat: k x |log(a / b)| for the baseline's two seeds a and b, at least
    log(1 / (1 - floor)).

    Noise in reconstruction errors is multiplicative (a stuck run at 0.8 and its reseeded twin at 1.7 are
    as far apart as 0.02 and 0.04), so it is measured and compared on a log scale; a relative margin
    measured on a chaotic baseline could otherwise exceed 100% and refute every possible fix.
    """
    lo = -math.log(1.0 - floor)
    a, b = baseline.score(metric), reseeded.score(metric)
    if not (math.isfinite(a) and math.isfinite(b)) or min(a, b) <= 0:
        return lo
    return max(lo, k * abs(math.log(a / b)))


def compare(baseline: ProbeResult, counterfactual: ProbeResult, metric: str, margin: float) -> Comparison:
    before, after = baseline.score(metric), counterfactual.score(metric)
    if math.isinf(before) and math.isfinite(after):
        gain = math.inf
    elif not math.isfinite(after):
        gain = -math.inf
    elif after <= 0:
        gain = math.inf if before > 0 else 0.0
    else:
        gain = math.log(before / after) if before > 0 else 0.0
    improvement = 1.0 - after / before if (math.isfinite(before) and before > 0 and math.isfinite(after)) else (
        1.0 if math.isinf(gain) and gain > 0 else -math.inf)
    status = "confirmed" if gain > margin else "refuted"
    return Comparison(status, metric, before, after, improvement, gain, margin)


def subsample_curve(curve, points: int = 50) -> list:
    curve = list(curve)
    if len(curve) <= points:
        return curve
    idx = np.linspace(0, len(curve) - 1, points).round().astype(int)
    return [curve[i] for i in idx]
