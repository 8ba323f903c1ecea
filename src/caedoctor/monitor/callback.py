"""`ConvergenceMonitor`: a Keras callback that records why a model is (not) learning, at ~1% extra cost."""

from __future__ import annotations

import csv
import math
import time
import warnings
from pathlib import Path

import keras
import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord

# Steps between two probes of the monitor batch. An eager probe costs about two training steps of
# seed_better on 2 CPU cores (35-45 ms against 18-21 ms), and every fit also pays for a first and a last
# probe; at 200 a 600-step fit measured 1.7-1.9% over plain fit on a quiet machine, too close to the 2%
# budget, so 300 (bench/monitor_overhead.py; figures in bench/README.md).
DEFAULT_INTERVAL = 300
# Probes run eagerly until this many have run, then as a tf.function: tracing costs about as much as
# eight eager probes save once compiled (0.17-0.38 s against 0.02 s saved per call, seed_better on 2 CPU
# cores), so short fits never pay for tracing and long ones get the cheaper compiled probe.
AUTO_EAGER_PROBES = 8
DEFAULT_MONITOR_SAMPLES = 32
_FLOAT32_EPS = 2.0**-23  # spacing of float32 numbers relative to their size, over two roundings
# TensorBoard gets the mean training loss of every 25 steps, not every step's: one tf.summary.scalar
# costs 140-260 us on 2 CPU cores, 1-2% of a 14 ms step if written every step. (The CSV keeps every step.)
TENSORBOARD_LOSS_EVERY = 25


class ConvergenceMonitor(keras.callbacks.Callback):
    """Records the loss every step and, every `interval` steps, what the layers are doing on a fixed batch.

    A loss curve says *that* training stalls, not *why*. The monitor keeps the loss of every step and,
    on one fixed monitor batch, measures per-layer gradient norms (convolutions included), the relative
    size of one optimizer step |dW|/|W| per layer, the fraction of dead ReLU units and of saturated
    sigmoid/tanh units, how much of the output falls outside the target's range, and the spread of the
    outputs across the batch (near zero when the autoencoder returns the same image for every input,
    the commonest CAE failure). `caedoctor.monitor.symptoms` turns these traces into symptoms.

    At the defaults it adds about 1.5% to the time of `fit` (`bench/monitor_overhead.py`): the loss comes
    from the logs Keras already computes, and the probe (one forward and backward pass on the monitor
    batch) runs every `interval` steps only. TensorBoard histograms are opt-in.

    Keras never shows a callback the batches it trains on, so the monitor batch is given: `(x, y)`
    arrays, `x` alone (an autoencoder's target is its input), or a batched `tf.data.Dataset` / iterable,
    whose first batch is used (pass the dataset you fit on to monitor its first batch). Without it only
    the loss is recorded.

    Example:

    ```python
    import numpy as np, keras
    from caedoctor.monitor import ConvergenceMonitor

    x = np.random.default_rng(0).random((64, 16, 16, 1), dtype=np.float32)
    model = keras.Sequential([keras.Input((16, 16, 1)),
                              keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
                              keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")])
    model.compile(optimizer="adam", loss="mse")
    monitor = ConvergenceMonitor(monitor_data=x, interval=2)
    model.fit(x, x, batch_size=16, epochs=1, verbose=0, callbacks=[monitor])
    print(monitor.record.losses, monitor.record.grad_norms)
    ```

    Args:
        monitor_data: the fixed batch: `(x, y)`, `x`, or a batched dataset/iterable (first batch used).
            Only the first `monitor_samples` samples are kept.
        interval: steps between probes of the monitor batch (the first step is always probed).
        loss_every: record the training loss every this many steps (the mean over those steps).
        monitor_samples: samples of `monitor_data` to keep (at least 2: spread needs two).
        target_range: `(low, high)` range the outputs should stay in; default: the named range the
            monitor batch's targets fit ([0,1], [-1,1], [0,255]), else their min and max.
        compiled: run the probe as a `tf.function` (True), eagerly (False), or "auto": eagerly for the
            first `AUTO_EAGER_PROBES` probes, then compiled.
        probe_at_end: probe once more when training ends, so the final state is always measured.
        csv_path: also write every value to this CSV file (columns step, epoch, signal, layer, value).
        log_dir: also write TensorBoard scalars under this folder (the loss as the mean of every
            `TENSORBOARD_LOSS_EVERY` steps, the probe signals at every probe).
        histograms: with `log_dir`, also write histograms of gradients and activations at each probe.
        baseline_loss: the "predict the mean" loss level to report relative losses against; default:
            the compiled loss of the monitor batch's mean image, measured on the monitor batch.
        feed: for a model that trains itself (its own `train_step`: a VAE), how that step gets a batch: "x"
            (the inputs alone, as `fit(x)` gives them) or "xy" (pairs). Default: "x" when `monitor_data` is
            inputs alone (an array, or a dataset of single arrays), else "xy". Other models ignore it.
    """

    def __init__(self, monitor_data=None, *, interval: int = DEFAULT_INTERVAL, loss_every: int = 1,
                 monitor_samples: int = DEFAULT_MONITOR_SAMPLES, target_range=None, compiled="auto",
                 probe_at_end: bool = True, csv_path=None, log_dir=None, histograms: bool = False,
                 baseline_loss: float | None = None, feed: str | None = None):
        super().__init__()
        for name, value, low in (("interval", interval, 1), ("loss_every", loss_every, 1),
                                 ("monitor_samples", monitor_samples, 2)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"ConvergenceMonitor needs an integer {name} >= {low}. Received {name}={value!r}")
        if compiled not in (True, False, "auto"):
            raise ValueError(f"compiled must be True, False or 'auto'. Received compiled={compiled!r}")
        if target_range is not None:
            try:
                lo, hi = (float(v) for v in target_range)
            except (TypeError, ValueError):
                raise ValueError(f"target_range must be a (low, high) pair. "
                                 f"Received target_range={target_range!r}") from None
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"target_range needs finite low < high. Received target_range={target_range!r}")
            target_range = (lo, hi)
        if histograms and log_dir is None:
            raise ValueError("histograms=True writes TensorBoard histograms and needs a log_dir. Received log_dir=None")
        if baseline_loss is not None and not (isinstance(baseline_loss, (int, float)) and baseline_loss > 0):
            raise ValueError(f"baseline_loss must be a positive number. Received baseline_loss={baseline_loss!r}")
        self.interval = int(interval)
        self.loss_every = int(loss_every)
        self.monitor_samples = int(monitor_samples)
        self.target_range = target_range
        self.compiled = compiled
        self.probe_at_end = probe_at_end
        self.csv_path = Path(csv_path) if csv_path is not None else None
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.histograms = histograms
        self.baseline_loss = baseline_loss
        if feed not in (None, "x", "xy"):
            raise ValueError(f"feed must be 'x', 'xy' or None. Received feed={feed!r}")
        self.feed = feed or _feed_of(monitor_data)
        self.batch = _as_batch(monitor_data, self.monitor_samples) if monitor_data is not None else None
        self.record = MonitorRecord(interval=self.interval)
        self._probes = {}  # {"model": model, False: eager BatchProbe, True: compiled}, reused across its fits

    # ------------------------------------------------------------------ lifecycle

    def on_train_begin(self, logs=None):
        t0 = time.perf_counter()
        self.record = MonitorRecord(interval=self.interval)
        self._step = 0  # global step: the next step to run, counted across epochs
        self._epoch = 0
        self._epoch_start = 0
        self._next_probe = 0
        self._last_loss_step = -1
        self._prev_k, self._prev_mean = 0, 0.0  # Keras' running loss mean at the last record, this epoch
        self._last_k, self._last_mean = 0, math.nan
        self._tb_sum, self._tb_count, self._tb_last = 0.0, 0, -1
        self._snapshot = None
        self._probes_run = 0
        self._last_probe_step = None
        self._probe = None
        self._csv_file = self._csv = None
        if self.csv_path is not None:
            self.csv_path.parent.mkdir(parents=True, exist_ok=True)
            self._csv_file = self.csv_path.open("w", newline="")
            self._csv = csv.writer(self._csv_file)
            self._csv.writerow(["step", "epoch", "signal", "layer", "value"])
        self._writer = None
        if self.log_dir is not None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(str(self.log_dir))
        from caedoctor.reconstruction import trains_itself

        self.record.own_loss = trains_itself(self.model) and getattr(self.model, "loss", None) is None
        if self.batch is None:
            warnings.warn("ConvergenceMonitor got no monitor_data: it records the loss only. Pass "
                          "monitor_data=(x, y), x, or the training dataset to also record gradients, "
                          "dead/saturated units and the output spread", stacklevel=2)
        else:  # last: a model the probe cannot read still has its loss recorded (`watch.monitor.FitMonitor`)
            self._probe = self._make_probe(compiled=self.compiled is True)
            self.record.layers = list(self._probe.layers)
            self.record.output_layer = self._probe.output_layer
            self.record.target_saturated_fraction = self._probe.target_saturated_fraction
            self.record.target_range = self._probe.range
            self.record.baseline_loss = self.baseline_loss or self._probe.baseline_loss
            self.record.floor_loss = self._probe.floor_loss
            self.record.own_loss = self._probe.own_loss
            self.record.latent_dims = self._probe.latent_dims
            self.record.target_values = self._probe.target_values
            self.record.kl_weight = self._probe.kl_weight
        self.record.monitor_seconds += time.perf_counter() - t0

    def _make_probe(self, compiled: bool):
        from caedoctor.monitor.batch_probe import BatchProbe

        from caedoctor.reconstruction import has_call, way

        model = self.model
        way(model)  # a model caedoctor cannot read a reconstruction from is refused with the reason
        if has_call(model) and len(getattr(model, "outputs", None) or [None]) != 1:
            raise ValueError(f"ConvergenceMonitor supports single-output models. Received a model with "
                             f"{len(model.outputs)} outputs")
        x, y = self.batch
        expected = getattr(model, "input_shape", None)
        if isinstance(expected, tuple) and len(expected) == x.ndim:
            if any(e is not None and e != g for e, g in zip(expected[1:], x.shape[1:])):
                raise ValueError(f"monitor_data inputs have shape {x.shape[1:]} but the model takes "
                                 f"{tuple(expected[1:])}")
        elif isinstance(expected, tuple):
            raise ValueError(f"monitor_data must be a batch of the model's inputs {tuple(expected)}. Received "
                             f"an array of shape {x.shape} (pass a batched dataset or a stack of samples)")
        if self._probes.get("model") is not model:  # probes are built for one model; start over
            self._probes = {"model": model}
        if compiled not in self._probes:
            self._probes[compiled] = BatchProbe(model, x, y, range_=self.target_range, compiled=compiled,
                                                keep_tensors=self.histograms, feed=self.feed)
        return self._probes[compiled]

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = self._step
        self._prev_k, self._prev_mean = 0, 0.0
        self._last_k, self._last_mean = 0, math.nan

    def on_train_batch_begin(self, batch, logs=None):
        if self._probe is None:
            return
        first = self._epoch_start + batch
        last = first + int(getattr(self.model, "steps_per_execution", 1) or 1) - 1
        if last >= self._next_probe:
            t0 = time.perf_counter()
            self._snapshot = self._probe.weights_snapshot()
            self.record.monitor_seconds += time.perf_counter() - t0

    def on_train_batch_end(self, batch, logs=None):
        t0 = time.perf_counter()
        step = self._epoch_start + batch
        self._step = step + 1
        mean = (logs or {}).get("loss")
        if mean is not None:
            self._last_k, self._last_mean = batch + 1, float(mean)
            if step - self._last_loss_step >= self.loss_every:
                self._record_loss(step)
        if self._snapshot is not None:
            ratios = self._probe.update_ratios(self._snapshot)
            self._snapshot = None
            self._run_probe(step, ratios)
            self._next_probe = (step // self.interval + 1) * self.interval
        self.record.monitor_seconds += time.perf_counter() - t0

    def on_epoch_end(self, epoch, logs=None):
        t0 = time.perf_counter()
        if self._last_k > self._prev_k and self._step - 1 > self._last_loss_step:
            self._record_loss(self._step - 1)  # the steps since the last record, so none is lost
        logs = logs or {}
        done = len(next(iter(self.record.epoch_logs.values()), []))
        for key in set(logs) | set(self.record.epoch_logs):
            values = self.record.epoch_logs.setdefault(key, [math.nan] * done)
            value = logs.get(key, math.nan)
            values.append(float(value) if isinstance(value, (int, float, np.number)) else math.nan)
            self._write(self._step - 1, f"epoch_{key}", "", values[-1])
        if self._csv_file is not None:
            self._csv_file.flush()
        if self._writer is not None:
            self._writer.flush()
        self.record.monitor_seconds += time.perf_counter() - t0

    def on_train_end(self, logs=None):
        t0 = time.perf_counter()
        last = self._step - 1
        if self.probe_at_end and self._probe is not None and last >= 0 and self._last_probe_step != last:
            self._run_probe(last, {name: math.nan for name in self.record.layers})
        if self._csv_file is not None:
            self._csv_file.close()
            self._csv_file = self._csv = None
        if self._writer is not None:
            if self._tb_count:
                self._write_tensorboard(self.record.loss_steps[-1], "loss", self._tb_sum / self._tb_count)
            self._writer.close()
            self._writer = None
        self.record.monitor_seconds += time.perf_counter() - t0

    # ------------------------------------------------------------------ recording

    def _record_loss(self, step: int) -> None:
        # Keras logs the running mean of the epoch's batch losses; the mean over the steps since the last
        # record is recovered from two running means (exact when the batches have equal size). Keras keeps
        # the running total in float32, so after a huge loss (say 1e8) later losses of 0.7 are lost in its
        # rounding; such values are unknowable, and are recorded as NaN and listed in `imprecise_steps`.
        k, mean = self._last_k, self._last_mean
        total, prev_total = k * mean, self._prev_k * self._prev_mean
        loss = (total - prev_total) / (k - self._prev_k)
        rounding = _FLOAT32_EPS * (abs(total) + abs(prev_total)) / (k - self._prev_k)
        if math.isfinite(loss) and rounding > T.LOSS_PRECISION * abs(loss):
            loss = math.nan
            self.record.imprecise_steps.append(step)
        self._prev_k, self._prev_mean = k, mean
        self._last_loss_step = step
        self.record.loss_steps.append(step)
        self.record.losses.append(loss)
        self._write(step, "loss", "", loss, tensorboard=False)
        if self._writer is not None and math.isfinite(loss):
            self._tb_sum, self._tb_count = self._tb_sum + loss, self._tb_count + 1
            if step - self._tb_last >= TENSORBOARD_LOSS_EVERY:
                self._write_tensorboard(step, "loss", self._tb_sum / self._tb_count)
                self._tb_sum, self._tb_count, self._tb_last = 0.0, 0, step

    def _run_probe(self, step: int, ratios: dict) -> None:
        if self.compiled == "auto" and self._probes_run == AUTO_EAGER_PROBES:
            self._probe = self._make_probe(compiled=True)
        result = self._probe()
        self._probes_run += 1
        self._last_probe_step = step
        rec = self.record
        rec.probe_steps.append(step)
        rec.probe_loss.append(result["loss"])
        rec.range_violation.append(result["range_violation"])
        rec.relative_spread.append(result["relative_spread"])
        rec.penalty_share.append(result["penalty_share"])
        rec.dropout_gap.append(result["dropout_gap"])
        done = len(rec.probe_steps) - 1
        for name, value in result.get("own_logs", {}).items():  # a name that appears late is NaN before
            rec.own_logs.setdefault(name, [math.nan] * done).append(value)
        for name, values in rec.own_logs.items():
            values.extend([math.nan] * (done + 1 - len(values)))
        if "pixel_bce" in result:
            rec.pixel_bce.append(result["pixel_bce"])
        if "kl_weight" in result:
            self._follow_kl_weight(result["kl_weight"])
        if "active_units" in result:
            rec.active_units.append(result["active_units"])
            rec.kl_per_dim.append(result["kl_per_dim"])
            rec.log_var_max.append(result["log_var_max"])
        for key, values in (("grad_norms", result["grad_norms"]), ("weight_norms", result["weight_norms"]),
                            ("update_ratios", ratios), ("dead_fraction", result["dead_fraction"]),
                            ("saturated_fraction", result["saturated_fraction"])):
            traces = getattr(rec, key)
            for layer, value in values.items():
                traces.setdefault(layer, []).append(value)
                self._write(step, key, layer, value)
        for key in ("loss", "range_violation", "relative_spread"):
            self._write(step, f"probe_{key}" if key == "loss" else key, "", result[key])
        if self.histograms and self._writer is not None:
            self._write_histograms(step, result)

    def _follow_kl_weight(self, now: float) -> None:
        """Record a VAE's KL weight at this probe; the first time it differs from the first probe's (after
        `fit` traced its step), measure whether the traced step sees the change (`kl_weight_frozen`)."""
        rec = self.record
        rec.kl_weights.append(now)
        if rec.kl_weight_test or now == rec.kl_weights[0] or not math.isfinite(now):
            return
        if getattr(self.model, "run_eagerly", False):  # an eager step reads the attribute at every step
            rec.kl_weight_test = {"old": rec.kl_weights[0], "new": now, "eager": True, "frozen": False}
            return
        rec.kl_weight_test = self._probe.kl_weight_test(rec.kl_weights[0], now)

    def _write(self, step: int, signal: str, layer: str, value: float, tensorboard: bool = True) -> None:
        if self._csv is not None:
            self._csv.writerow([step, self._epoch, signal, layer, value])
        if tensorboard and self._writer is not None:
            self._write_tensorboard(step, f"{signal}/{layer}" if layer else signal, value)

    def _write_tensorboard(self, step: int, tag: str, value: float) -> None:
        import tensorflow as tf

        with self._writer.as_default(step=step):
            tf.summary.scalar(tag, value)

    def _write_histograms(self, step: int, result: dict) -> None:
        import tensorflow as tf

        with self._writer.as_default(step=step):
            i = 0
            for layer, ws in zip(self._probe.layers, self._probe._weights):
                grads = result["grads"][i:i + len(ws)]
                i += len(ws)
                tf.summary.histogram(f"gradients/{layer}", tf.concat([tf.reshape(g, [-1]) for g in grads], 0))
                tf.summary.histogram(f"weights/{layer}", tf.concat([tf.reshape(w, [-1]) for w in ws], 0))
            for layer, act in result["activations"].items():
                tf.summary.histogram(f"activations/{layer}", act)


def _feed_of(data) -> str:
    """"x" when `data` holds inputs alone (an array, or a dataset or pair-less iterable of arrays), else "xy"."""
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        return "xy" if isinstance(spec, (tuple, list)) and len(spec) > 1 else "x"
    if isinstance(data, (tuple, list)) and len(data) in (2, 3) and not np.isscalar(data[0]):
        return "xy" if data[1] is not None else "x"
    return "x"


def _as_batch(data, limit: int) -> tuple:
    """`(x, y)` numpy arrays from a pair, an array, or the first element of a dataset or iterable."""
    import tensorflow as tf

    def arr(v, what):
        try:
            a = np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"monitor_data {what} is not a numeric array ({exc}). "
                             f"Received {type(v).__name__}") from None
        if a.ndim < 2:
            raise ValueError(f"monitor_data {what} must be a batch of samples. Received shape {a.shape}")
        return a

    if isinstance(data, tf.data.Dataset) or (not isinstance(data, (tuple, list, np.ndarray))
                                             and not hasattr(data, "__array__") and hasattr(data, "__iter__")):
        try:
            data = next(iter(data))
        except StopIteration:
            raise ValueError("monitor_data is an empty dataset or iterable. Received no batch") from None
    if isinstance(data, dict):
        raise ValueError("monitor_data must be (x, y), x, or a dataset of those. Received a dict")
    if isinstance(data, (tuple, list)) and len(data) in (1, 2, 3) and not np.isscalar(data[0]):
        x = arr(data[0], "inputs")
        y = arr(data[1], "targets") if len(data) > 1 and data[1] is not None else x
    else:
        x = arr(data, "inputs")
        y = x
    if len(x) != len(y):
        raise ValueError(f"monitor_data inputs and targets differ in length. Received {len(x)} and {len(y)}")
    if len(x) < 2:
        raise ValueError(f"monitor_data needs at least 2 samples (the output spread compares samples). "
                         f"Received {len(x)}")
    return x[:limit], y[:limit]
