"""Reconstruction losses (`mse`, `mae`, `ssim`, `ssim_l1`, `bce`) and validation metrics.

`ssim` is 1 - SSIM computed by `tf.image.ssim`; `ssim_l1` is `alpha * (1 - SSIM) + (1 - alpha) * L1`
with alpha = 0.84 (Zhao et al., "Loss Functions for Image Restoration with Neural Networks", 2017).
SSIM needs to know the data's dynamic range: `max_val` (1.0 for [0, 1] images, 255 for 0-255 images).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from caedoctor.errors import ConfigError
from caedoctor.reconstruction import reconstruct


def _ssim(y_true, y_pred, max_val):
    size = min(11, int(y_true.shape[1]), int(y_true.shape[2]))
    return tf.image.ssim(y_true, y_pred, max_val=max_val, filter_size=size)


@keras.saving.register_keras_serializable(package="caedoctor")
class SSIMLoss(keras.losses.Loss):
    """1 - SSIM, per image. `max_val` is the dynamic range of the images."""

    def __init__(self, max_val: float = 1.0, name: str = "ssim", **kwargs):
        super().__init__(name=name, **kwargs)
        self.max_val = float(max_val)

    def call(self, y_true, y_pred):
        return 1.0 - _ssim(y_true, y_pred, self.max_val)

    def get_config(self):
        return {**super().get_config(), "max_val": self.max_val}


@keras.saving.register_keras_serializable(package="caedoctor")
class SSIML1Loss(keras.losses.Loss):
    """`alpha * (1 - SSIM) + (1 - alpha) * mean |y - y_hat| / max_val`, per image."""

    def __init__(self, max_val: float = 1.0, alpha: float = 0.84, name: str = "ssim_l1", **kwargs):
        super().__init__(name=name, **kwargs)
        self.max_val = float(max_val)
        self.alpha = float(alpha)

    def call(self, y_true, y_pred):
        l1 = tf.reduce_mean(tf.abs(y_true - y_pred), axis=[1, 2, 3]) / self.max_val
        return self.alpha * (1.0 - _ssim(y_true, y_pred, self.max_val)) + (1.0 - self.alpha) * l1

    def get_config(self):
        return {**super().get_config(), "max_val": self.max_val, "alpha": self.alpha}


def make_loss(name: str, max_val: float = 1.0):
    """A Keras loss object for one of caedoctor's loss names."""
    if name == "mse":
        return keras.losses.MeanSquaredError()
    if name == "mae":
        return keras.losses.MeanAbsoluteError()
    if name == "bce":
        return keras.losses.BinaryCrossentropy()
    if name == "ssim":
        return SSIMLoss(max_val=max_val)
    if name == "ssim_l1":
        return SSIML1Loss(max_val=max_val)
    raise ConfigError(f"unknown loss {name!r}")


def loss_gradient_scale(loss_spec, target_shape, value_range=(0.0, 1.0), error: float = 0.1) -> float | None:
    """How many times larger the loss's gradient is than a mean squared error's, at a typical error.

    Both losses are evaluated by Keras' own reduction on the same 4 targets (uniform in `value_range`) and
    predictions off by `error` x the range's width (Gaussian, clipped to the range), and the norms of
    their gradients with respect to the prediction are compared: 1 for MSE, the number of values per image
    for a per-image sum of squared errors, about 1 / (2 x error) for MAE. SGD's step scales with it; an
    adaptive optimizer's hardly does. None when the loss cannot be evaluated on such a batch.
    """
    import keras

    lo, hi = (float(v) for v in value_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        lo, hi = 0.0, 1.0
    rng = np.random.default_rng(0)
    shape = (4,) + tuple(int(s) for s in target_shape)
    y = rng.uniform(lo, hi, shape).astype(np.float32)
    p = np.clip(y + rng.normal(0.0, error * (hi - lo), shape), lo, hi).astype(np.float32)
    if getattr(loss_spec, "from_logits", False):
        q = np.clip((p - lo) / (hi - lo), 1e-3, 1 - 1e-3)
        p = np.log(q / (1 - q)).astype(np.float32)
    try:
        width = hi - lo
        user = keras.losses.get(loss_spec.build(width)) if isinstance(loss_spec.value, str) else loss_spec.build(width)
        reference = keras.losses.MeanSquaredError()
        norms = []
        for fn in (user, reference):
            pred = tf.Variable(p)
            with tf.GradientTape() as tape:
                value = fn(tf.constant(y), pred)
                value = tf.reduce_mean(value) if getattr(value, "shape", ()) != () else value
            norms.append(float(tf.norm(tape.gradient(value, pred))))
    except Exception:  # noqa: BLE001 - a loss that needs more than (y_true, y_pred) is measured by the probes
        return None
    if not all(math.isfinite(n) for n in norms) or norms[1] <= 0:
        return None
    return norms[0] / norms[1]


def dynamic_range(value_range: str, minimum: float, maximum: float) -> float:
    """The `max_val` for SSIM and PSNR: the width of the data's value range."""
    if value_range == "[0,1]":
        return 1.0
    if value_range == "[-1,1]":
        return 2.0
    if value_range == "[0,255]":
        return 255.0
    width = float(maximum) - float(minimum)
    return width if math.isfinite(width) and width > 0 else 1.0


def _psnr(mse: float, max_val: float) -> float:
    if not math.isfinite(mse):
        return float("nan")
    return 10.0 * math.log10(max_val**2 / mse) if mse > 0 else float("inf")


def reconstruction_metrics(model, batches, max_val: float = 1.0) -> dict:
    """MSE, relative MSE, MAE, PSNR and SSIM of `model` over an iterable of `(x, y)` batches, streamed.

    Relative MSE is MSE divided by the target's variance around its per-pixel mean image, so 1.0 means
    "no better than predicting the mean image" and 0 is a perfect reconstruction.
    """
    n = 0
    sq_err = abs_err = ssim_sum = 0.0
    sum_y = sum_y2 = None
    for x, y in batches:
        pred = reconstruct(model, x)
        y = tf.convert_to_tensor(y, tf.float32)
        pred = tf.cast(pred, tf.float32)
        if pred.shape != y.shape:
            raise ConfigError(f"model output shape {tuple(pred.shape[1:])} differs from target shape "
                              f"{tuple(y.shape[1:])}")
        diff = pred - y
        sq_err += float(tf.reduce_sum(tf.square(diff)))
        abs_err += float(tf.reduce_sum(tf.abs(diff)))
        ssim_sum += float(tf.reduce_sum(_ssim(y, tf.clip_by_value(pred, -1e30, 1e30), max_val)))
        yn = y.numpy().astype(np.float64)
        sum_y = yn.sum(0) if sum_y is None else sum_y + yn.sum(0)
        sum_y2 = np.square(yn).sum(0) if sum_y2 is None else sum_y2 + np.square(yn).sum(0)
        n += len(yn)
    if n == 0:
        raise ConfigError("no validation samples to measure")
    values = n * sum_y.size
    mse = sq_err / values
    variance = float(np.mean(sum_y2 / n - np.square(sum_y / n)))
    return {
        "mse": mse,
        "relative_mse": mse / variance if variance > 0 else float("nan"),
        "mae": abs_err / values,
        "psnr": _psnr(mse, max_val),
        "ssim": ssim_sum / n,
        "samples": n,
    }
