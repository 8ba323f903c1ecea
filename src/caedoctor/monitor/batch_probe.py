"""`BatchProbe`: one forward and backward pass of a model on a fixed batch, reduced to a few numbers.

The monitor calls it every `interval` steps. Everything it measures comes from the same pass, so the cost
is about one training step without the optimizer update: per-layer gradient and weight norms, the fraction
of dead ReLU units and of saturated sigmoid/tanh units, output range violations and the output spread
across the batch. It runs in training mode (as the optimizer sees the model) and restores the model's
non-trainable state afterwards (BatchNormalization moving statistics, dropout seed state), so probing
never changes the user's training.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from caedoctor import thresholds as T
from caedoctor.models.regularization import DROPOUT_LAYERS

_RELU = {"relu", "relu6"}
_SIGMOID = {"sigmoid", "hard_sigmoid"}
_TANH = {"tanh"}


def activation_kind(layer) -> str | None:
    """"relu", "sigmoid" or "tanh" when the layer's output is that nonlinearity, else None."""
    if isinstance(layer, keras.layers.ReLU):
        slope = float(getattr(layer, "negative_slope", 0.0) or 0.0)
        return "relu" if slope == 0.0 else None
    name = getattr(getattr(layer, "activation", None), "__name__", None)
    if name in _RELU:
        return "relu"
    if name in _SIGMOID:
        return "sigmoid"
    if name in _TANH:
        return "tanh"
    return None


def leaf_layers(model) -> list:
    """Every non-container layer, depth first, so nested encoder/decoder sub-models are looked inside."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            out.extend(leaf_layers(layer))
        else:
            out.append(layer)
    return out


def _unique_names(layers) -> list:
    seen: dict = {}
    names = []
    for layer in layers:
        n = seen.get(layer.name, 0)
        seen[layer.name] = n + 1
        names.append(layer.name if n == 0 else f"{layer.name}_{n}")
    return names


def target_range(y: np.ndarray) -> tuple:
    """The range outputs should stay in: the named range the targets fit ([0,1], [-1,1], [0,255]),
    else the batch's own min and max."""
    from caedoctor.data.profile import classify_range

    lo, hi = float(np.min(y)), float(np.max(y))
    kind = classify_range(lo, hi, float(np.mean(y)), float(np.std(y)))
    return {"[0,1]": (0.0, 1.0), "[-1,1]": (-1.0, 1.0), "[0,255]": (0.0, 255.0)}.get(kind, (lo, hi))


def unit_fraction(kind: str, axis: int, a: np.ndarray) -> float:
    """The fraction of units (channels along `axis`) that are dead ("relu": never positive for any
    sample or position) or saturated ("sigmoid"/"tanh": at least `SATURATED_UNIT_SHARE` of their values
    in the flat tails)."""
    axis = axis % a.ndim
    others = tuple(d for d in range(a.ndim) if d != axis)
    if kind == "relu":
        return float(np.mean(np.max(a, axis=others) <= 0.0))
    eps = T.SATURATION_TAIL
    tail = (a < eps) | (a > 1.0 - eps) if kind == "sigmoid" else np.abs(a) > 1.0 - eps
    return float(np.mean(np.mean(tail, axis=others) >= T.SATURATED_UNIT_SHARE))


def _share(penalty: float, loss: float) -> float:
    """The regularization penalties' share of the training loss (NaN when either is not finite)."""
    total = penalty + loss
    return penalty / total if math.isfinite(total) and total > 0 else math.nan


def _ratio(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) and b > 0 else math.nan


def _norm(arrays) -> float:
    return math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays))


class _unchanged:
    """Within this block the model's non-trainable state (random-generator states, moving statistics) may move:
    it is put back after."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.state = [(v, v.numpy()) for v in self.model.non_trainable_variables]

    def __exit__(self, *exc):
        for v, value in self.state:
            v.assign(value)
        return False


def _compiled_loss(model):
    """The model's compiled loss as a function, or None."""
    loss = getattr(model, "loss", None)
    return keras.losses.get(loss) if isinstance(loss, str) else loss


def _channel_axis(layer) -> int:
    fmt = getattr(layer, "data_format", None) or keras.config.image_data_format()
    return 1 if fmt == "channels_first" else -1


class BatchProbe:
    """Measures a model on one fixed batch `(x, y)`; `__call__` returns a dict of plain numbers.

    A model that trains itself (`caedoctor.reconstruction`: its own `train_step`, `compute_loss` or `add_loss`)
    is measured as it trains: the gradients are those its own step would apply (`reconstruction.own_step`,
    run eagerly, nothing changed), the loss is the reconstruction error of `reconstruct(model, x)` (the
    compiled loss when there is one, else the mean squared error), and `own_loss` is True when that is not the
    unit of the training loss `fit` logs.

    Args:
        model: a compiled Keras model with one reconstruction.
        x, y: the monitor batch (numpy), at least 2 samples.
        range_: the (low, high) range outputs are checked against (default: `target_range(y)`).
        compiled: run the probe as a `tf.function` (faster per call, but the first call traces it).
        keep_tensors: also return the raw gradients and activations (for TensorBoard histograms).
        feed: how a self-training model's `train_step` gets a batch: "x" (the inputs alone, as `fit(x)`
            gives them) or "xy"; unused for other models.
    """

    def __init__(self, model, x: np.ndarray, y: np.ndarray, *, range_=None, compiled: bool = False,
                 keep_tensors: bool = False, feed: str = "xy"):
        from caedoctor.reconstruction import trains_itself

        self.model = model
        self.own = trains_itself(model)
        self.feed = feed
        # The training loss fit logs is the model's own, in units the reconstruction error does not share.
        self.own_loss = self.own and not callable(_compiled_loss(model))
        self._own_logs: dict = {}
        from caedoctor.reconstruction import kl_weight_of

        self.kl_name, self.kl_weight = kl_weight_of(model)
        self.target_values = int(np.prod(np.shape(y)[1:]))
        if self.own:
            compiled = False  # the model's own train_step runs eagerly, with its optimizer caught
        self.x = tf.convert_to_tensor(x, tf.float32)
        self.y = tf.convert_to_tensor(y, tf.float32)
        self.keep_tensors = keep_tensors
        layers = [layer for layer in leaf_layers(model) if layer.trainable_weights]
        self.layers = _unique_names(layers)
        self._weights = [list(layer.trainable_weights) for layer in layers]
        self._flat_weights = [w for ws in self._weights for w in ws]
        # The layer that makes the output: the last one that has weights or an activation (a trailing
        # Reshape or Cropping only moves values around).
        leaves = leaf_layers(model)
        makers = [n for n, layer in zip(_unique_names(leaves), leaves)
                  if layer.trainable_weights or activation_kind(layer) is not None]
        self.output_layer = makers[-1] if makers else ""
        self.activation_layers, self._extractor = self._build_extractor(model)
        # Layers that behave differently in training: the loss with them on (what fit sees) over the loss
        # with them off (what the user gets) is the cost of the dropout (`dropout_gap`).
        self.has_dropout = any(type(layer).__name__ in DROPOUT_LAYERS for layer in leaves)
        out_kind = {n: (k, a) for n, k, a in self.activation_layers}.get(self.output_layer)
        self.target_saturated_fraction = (unit_fraction(out_kind[0], out_kind[1], np.asarray(y, np.float32))
                                          if out_kind and out_kind[0] != "relu" else math.nan)
        self.range = tuple(float(v) for v in (range_ if range_ is not None else target_range(y)))
        y_np = np.asarray(y, np.float64)
        self.target_spread = float(np.mean(np.std(y_np, axis=0)))
        self.baseline_loss = self._mean_image_loss(y_np)
        self.floor_loss = self._perfect_loss(y_np)
        self.latent_dims = self._latent_dims()
        self._fn = (tf.function(self._measure, reduce_retracing=True, autograph=False) if compiled
                    else self._measure)

    # ------------------------------------------------------------------ setup

    @staticmethod
    def _build_extractor(model):
        """A model that returns the outputs of every ReLU/sigmoid/tanh layer plus the model output.

        Only possible for functional and Sequential models (subclassed ones have no graph to read
        intermediate outputs from); there the activation signals are simply not recorded.
        """
        picked = []
        try:
            inputs = model.inputs
        except (AttributeError, ValueError):
            return [], None
        if not inputs:
            return [], None
        names = _unique_names(model.layers)
        for name, layer in zip(names, model.layers):
            kind = activation_kind(layer)
            if kind is None:
                continue
            try:
                out = layer.output
            except (AttributeError, ValueError):  # a layer used twice has no single output
                continue
            picked.append((name, kind, _channel_axis(layer), out))
        if not picked:
            return [], None
        outputs = [p[3] for p in picked] + [model.outputs[0]]
        return [p[:3] for p in picked], keras.Model(inputs, outputs)

    def _mean_image_loss(self, y: np.ndarray) -> float:
        """The compiled loss of predicting the batch's per-pixel mean image for every sample."""
        mean = np.broadcast_to(y.mean(axis=0, keepdims=True), y.shape).astype(np.float32)
        try:
            value = self._reconstruction_loss(self.y, tf.convert_to_tensor(mean))
        except Exception:  # a loss that cannot score this (rare): no baseline, no relative loss
            return math.nan
        return float(value)

    def _perfect_loss(self, y: np.ndarray) -> float:
        """The compiled loss of a perfect reconstruction: 0 for MSE, MAE, SSIM and Huber, the targets'
        entropy for binary cross-entropy. Levels are judged above it, so any loss can be read."""
        from_logits = bool(getattr(getattr(self.model, "loss", None), "from_logits", False))
        pred = y.astype(np.float32)
        if from_logits:  # the best prediction of a logit loss is the target's logit
            q = np.clip(pred, 1e-6, 1 - 1e-6)
            pred = np.log(q / (1 - q)).astype(np.float32)
        try:
            value = float(self._reconstruction_loss(self.y, tf.convert_to_tensor(pred)))
        except Exception:  # noqa: BLE001 - as for the baseline
            return 0.0
        if not math.isfinite(value) or not math.isfinite(self.baseline_loss) or value >= self.baseline_loss:
            return 0.0
        return max(value, 0.0)

    def _reconstruction_loss(self, y, y_pred):
        """The compiled loss alone, without regularisation penalties, so it compares with the baseline; the
        mean squared error for a model that trains itself with no compiled loss."""
        loss = _compiled_loss(self.model)
        if not callable(loss):
            if self.own:
                return tf.reduce_mean(tf.square(tf.cast(y_pred, tf.float32) - tf.cast(y, tf.float32)))
            # no single compiled loss (a custom compute_loss): use what fit uses
            return self.model.compute_loss(x=self.x, y=y, y_pred=y_pred)
        return tf.reduce_mean(tf.cast(loss(y, y_pred), tf.float32))

    def _latent_dims(self) -> int:
        """The latent dimensions of a VAE whose encoder returns a mean and a log-variance, else 0."""
        from caedoctor.reconstruction import code_statistics

        with _unchanged(self.model):
            try:
                stats = code_statistics(self.model, self.x)
            except Exception:  # noqa: BLE001 - an encoder that cannot take the batch alone: no latent signals
                return 0
        return int(np.prod(stats[0].shape[1:])) if stats is not None else 0

    def _latent(self) -> dict:
        """Active latent units and the KL per dimension on the monitor batch (see `MonitorRecord`)."""
        from caedoctor.reconstruction import code_statistics

        mean, log_var = (np.asarray(t, np.float64).reshape(len(self.x), -1)
                         for t in code_statistics(self.model, self.x))
        kl = -0.5 * (1.0 + log_var - np.square(mean) - np.exp(np.minimum(log_var, 80.0)))
        return {"active_units": float(np.sum(np.var(mean, axis=0) > T.ACTIVE_UNIT_VARIANCE)),
                "kl_per_dim": float(np.mean(kl)), "log_var_max": float(np.max(log_var))}

    # ------------------------------------------------------------------ measurement

    def _forward(self, x, training: bool = True):
        if self._extractor is None:
            from caedoctor.reconstruction import reconstruct

            return [], reconstruct(self.model, x, training=training)
        outs = self._extractor(x, training=training)
        return list(outs[:-1]), outs[-1]

    def _measure_own(self, x, y):
        """`_measure` for a model that trains itself: the gradients its own step would apply."""
        from caedoctor.reconstruction import feed, own_step

        self._own_logs, grads = own_step(self.model, feed(x, y, self.feed), self._flat_weights)
        acts, y_pred = self._forward(x, training=False)
        loss = self._reconstruction_loss(y, y_pred)
        return loss, grads, acts, y_pred, tf.constant(math.nan), tf.constant(math.nan)

    def _measure(self, x, y):
        if self.own:
            return self._measure_own(x, y)
        # Only the forward and backward pass run in TensorFlow; the reductions run in numpy, which is
        # cheaper than dispatching dozens of small eager ops (the probe runs eagerly by default).
        with tf.GradientTape() as tape:
            acts, y_pred = self._forward(x)
            # What fit differentiates: the compiled loss plus regularisation penalties.
            train_loss = self.model.compute_loss(x=x, y=y, y_pred=y_pred)
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            if replicas > 1:  # Keras divides the loss by the replicas (each sees a shard); this batch is whole
                train_loss = train_loss * replicas
            penalty = tf.add_n([tf.cast(v, tf.float32) for v in self.model.losses]) if self.model.losses else (
                tf.constant(0.0))
        loss = self._reconstruction_loss(y, y_pred)
        grads = tape.gradient(train_loss, self._flat_weights)
        if self.has_dropout:
            inference_loss = self._reconstruction_loss(y, self.model(x, training=False))
        else:
            inference_loss = tf.constant(math.nan)
        return loss, grads, acts, y_pred, penalty, inference_loss

    def __call__(self) -> dict:
        """Probe the model now. Returns loss, per-layer norms, activation fractions and output signals."""
        latent = {}
        with _unchanged(self.model):
            if self.latent_dims:
                latent = self._latent()
            strategy = getattr(self.model, "_distribute_strategy", None)  # set by Keras when built in a scope
            if strategy is None:
                loss, grads, acts, y_pred, penalty, inference_loss = self._fn(self.x, self.y)
            else:
                # Distributed variables can only be differentiated in a replica context: every replica
                # probes the same batch and the first local one's result is read.
                with strategy.scope():
                    out = strategy.run(self._fn, args=(self.x, self.y))
                loss, grads, acts, y_pred, penalty, inference_loss = tf.nest.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0], out)
        grad_norms, weight_norms, i = {}, {}, 0
        for name, ws in zip(self.layers, self._weights):
            gs = grads[i:i + len(ws)]
            i += len(ws)
            grad_norms[name] = _norm(g.numpy() for g in gs if g is not None)
            weight_norms[name] = _norm(w.numpy() for w in ws)
        dead, saturated = {}, {}
        for (name, kind, axis), a in zip(self.activation_layers, acts):
            (dead if kind == "relu" else saturated)[name] = unit_fraction(kind, axis, np.asarray(a, np.float32))
        out = np.asarray(y_pred, np.float32)
        lo, hi = self.range
        tol = T.RANGE_TOLERANCE * (hi - lo)
        spread = float(np.mean(np.std(out, axis=0)))
        result = {
            "loss": float(loss),
            "grad_norms": grad_norms,
            "weight_norms": weight_norms,
            "dead_fraction": dead,
            "saturated_fraction": saturated,
            "range_violation": float(np.mean((out < lo - tol) | (out > hi + tol))),
            "relative_spread": spread / self.target_spread if self.target_spread > 0 else math.nan,
            "penalty_share": _share(float(penalty), float(loss)),
            "dropout_gap": _ratio(float(loss), float(inference_loss)),
            **latent,
        }
        if self.own:  # what the model's own step reports, beside the reconstruction's per-value errors
            result["own_logs"] = dict(self._own_logs)
            if self.kl_name is not None:
                from caedoctor.reconstruction import kl_weight_of

                result["kl_weight"] = kl_weight_of(self.model)[1]
            y_np = np.asarray(self.y, np.float64)
            if float(np.min(y_np)) >= 0.0 and float(np.max(y_np)) <= 1.0:
                p = np.clip(out.astype(np.float64), 1e-7, 1 - 1e-7)
                result["pixel_bce"] = float(np.mean(-(y_np * np.log(p) + (1 - y_np) * np.log(1 - p))))
        if self.keep_tensors:
            result["grads"] = grads
            result["activations"] = dict(zip((n for n, _, _ in self.activation_layers), acts))
        return result

    def kl_weight_test(self, old: float, new: float) -> dict:
        """Whether the model's traced train step sees its KL weight go from `old` to `new`
        (`reconstruction.weight_in_traced_step`, on the monitor batch); `{"error": ...}` when it cannot run."""
        from caedoctor.reconstruction import feed, weight_in_traced_step, weight_is_number

        if not weight_is_number(self.model, self.kl_name):  # a variable the traced step reads at every step
            return {"attribute": self.kl_name, "old": old, "new": new, "variable": True, "frozen": False}
        try:
            return weight_in_traced_step(self.model, feed(self.x, self.y, self.feed), self.kl_name, old, new)
        except Exception as exc:  # noqa: BLE001 - a step that cannot be traced alone: say so, judge the rest
            return {"attribute": self.kl_name, "old": old, "new": new, "error": f"{type(exc).__name__}: {exc}"}

    def weights_snapshot(self) -> list:
        """Copies of the trainable weights, grouped per layer, to measure one step's update."""
        return [[w.numpy().copy() for w in ws] for ws in self._weights]

    def update_ratios(self, before: list) -> dict:
        """Per layer |W_now - W_before| / |W_before| (NaN for an all-zero layer)."""
        ratios = {}
        for name, ws, old in zip(self.layers, self._weights, before):
            diff = math.sqrt(sum(float(np.sum(np.square(w.numpy() - o, dtype=np.float64))) for w, o in zip(ws, old)))
            norm = math.sqrt(sum(float(np.sum(np.square(o, dtype=np.float64))) for o in old))
            ratios[name] = diff / norm if norm > 0 else math.nan
        return ratios
