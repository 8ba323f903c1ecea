"""Builders for the static-check tests: tiny Keras CAEs, data profiles from arrays, check contexts."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from caedoctor.checks import build_context, run_rules  # noqa: E402
from caedoctor.config import TrainConfig  # noqa: E402
from caedoctor.data.profile import DataProfile, profile_batches  # noqa: E402


def raw_images(n: int = 64, size: int = 16, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Whole numbers 0..255 as float32, with both ends present: unnormalised 8-bit images."""
    x = np.round(images(n, size, channels, 0.0, 255.0, seed))
    x.flat[0], x.flat[1] = 0.0, 255.0
    return x


def images(n: int = 64, size: int = 16, channels: int = 1, low: float = 0.0, high: float = 1.0,
           seed: int = 0) -> np.ndarray:
    """Random float32 images uniform in [low, high], shape (n, size, size, channels)."""
    rng = np.random.default_rng(seed)
    return (low + (high - low) * rng.random((n, size, size, channels))).astype(np.float32)


def profile(x: np.ndarray, y: np.ndarray | None = None, train_fraction: float = 0.9) -> DataProfile:
    """The profile `load_data` would measure for inputs `x` (and separate targets `y`)."""
    target = x if y is None else y
    inputs, target_stats = profile_batches([(x, target)], str(x.dtype), None if y is None else str(y.dtype),
                                           separate_target=y is not None)
    n_train = int(round(len(x) * train_fraction))
    return DataProfile(name="array", inputs=inputs, target=target_stats, train_count=n_train,
                       val_count=len(x) - n_train)


def cae(input_shape=(16, 16, 1), *, act="relu", out="sigmoid", pools=2, filters=4, kernel=3,
        transpose=False, batch_norm=False, name="tiny_cae") -> keras.Model:
    """Conv + MaxPool encoder, UpSampling + conv decoder, padding='same'; `act` may be a layer class name."""
    inputs = keras.Input(input_shape, name="image")
    x = inputs

    def block(x, f, where):
        conv = layers.Conv2DTranspose if (transpose and where.startswith("dec")) else layers.Conv2D
        if act in ("LeakyReLU", "PReLU", "ELU"):
            x = conv(f, kernel, padding="same", name=f"{where}_conv")(x)
            if batch_norm:
                x = layers.BatchNormalization(name=f"{where}_bn")(x)
            return getattr(layers, act)(name=f"{where}_act")(x)
        if batch_norm:
            x = conv(f, kernel, padding="same", name=f"{where}_conv")(x)
            x = layers.BatchNormalization(name=f"{where}_bn")(x)
            return layers.Activation(act, name=f"{where}_act")(x)
        return conv(f, kernel, padding="same", activation=act, name=f"{where}_conv")(x)

    for i in range(pools):
        x = block(x, filters * 2 ** i, f"enc{i + 1}")
        x = layers.MaxPool2D(2, padding="same", name=f"enc{i + 1}_pool")(x)
    for i in reversed(range(pools)):
        x = block(x, filters * 2 ** i, f"dec{i + 1}")
        x = layers.UpSampling2D(2, name=f"dec{i + 1}_up")(x)
    outputs = layers.Conv2D(input_shape[-1], kernel, padding="same", activation=out, name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def mnist_three_pool_cae() -> keras.Model:
    """The classic broken MNIST CAE: 28 -> 14 -> 7 -> 4 (padding='same' rounds up) -> 8 -> 16 -> 32."""
    inputs = keras.Input((28, 28, 1))
    x = inputs
    for i, f in enumerate((16, 8, 8), 1):
        x = layers.Conv2D(f, 3, activation="relu", padding="same", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"pool{i}")(x)
    for i, f in enumerate((8, 8, 16), 1):
        x = layers.Conv2D(f, 3, activation="relu", padding="same", name=f"dconv{i}")(x)
        x = layers.UpSampling2D(2, name=f"up{i}")(x)
    outputs = layers.Conv2D(1, 3, activation="sigmoid", padding="same", name="decoded")(x)
    return keras.Model(inputs, outputs, name="mnist_cae")


def context(model, x=None, y=None, *, config: TrainConfig | None = None, **config_fields):
    """A `CheckContext` for `model` with data `x` (and targets `y`); config fields override the defaults."""
    prof = profile(x, y) if x is not None else None
    shape = tuple(x.shape[1:]) if x is not None else None
    if config is None and config_fields:
        config = TrainConfig(**config_fields)
    return build_context(model, prof, config, input_shape=shape)


def codes(ctx) -> list:
    return [f.code for f in run_rules(ctx)]


def findings_of(ctx, code: str) -> list:
    return [f for f in run_rules(ctx, select=code)]
