"""Tiny data and models for the monitor, LR range test and lr-find tests: 16x16x1 smooth images, a 3-layer CAE;
the fixtures `images`, `tiny_data` and `tiny_loaded` are taken into a folder by its conftest."""

from __future__ import annotations

import numpy as np
import pytest


def smooth_images(n: int = 160, size: int = 16, seed: int = 0) -> np.ndarray:
    """Blurred random images in [0, 1]: structure a CAE can learn, distinct per sample."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, size, size, 1)).astype(np.float32)
    for _ in range(3):  # a cheap blur: average with shifted copies
        x = (x + np.roll(x, 1, 1) + np.roll(x, 1, 2) + np.roll(x, -1, 1) + np.roll(x, -1, 2)) / 5
    lo, hi = x.min(axis=(1, 2, 3), keepdims=True), x.max(axis=(1, 2, 3), keepdims=True)
    return ((x - lo) / (hi - lo)).astype(np.float32)


def tiny_cae(hidden="relu", output="sigmoid", bias=0.0, filters=4, shape=(16, 16, 1)):
    import keras

    init = keras.initializers.Constant(bias)
    return keras.Sequential([
        keras.Input(shape),
        keras.layers.Conv2D(filters, 3, padding="same", activation=hidden, bias_initializer=init, name="enc"),
        keras.layers.Conv2D(filters, 3, padding="same", activation=hidden, bias_initializer=init, name="mid"),
        keras.layers.Conv2D(shape[-1], 3, padding="same", activation=output, name="out"),
    ])


@pytest.fixture(scope="session")
def images():
    return smooth_images()


@pytest.fixture(scope="session")
def tiny_data(images):
    from caedoctor.data import load_data

    return load_data(images)


@pytest.fixture
def tiny_loaded():
    import keras

    from caedoctor.config import TrainConfig
    from caedoctor.models import LoadedModel

    keras.utils.set_random_seed(0)
    return LoadedModel(tiny_cae(), TrainConfig("adam", 1e-3, "mse", 16), "test:tiny")
