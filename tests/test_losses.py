"""Reconstruction losses and validation metrics, checked against numpy and first principles."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from caedoctor.errors import ConfigError
from caedoctor.losses import SSIML1Loss, SSIMLoss, dynamic_range, make_loss, reconstruction_metrics
from conftest import tiny_images


@pytest.fixture
def images():
    return tiny_images(8, 16, 3, seed=1)


@pytest.mark.parametrize("name", ["mse", "mae", "ssim", "ssim_l1"])
def test_identical_images_cost_nothing(images, name):
    loss = make_loss(name)
    assert float(loss(images, images)) == pytest.approx(0.0, abs=1e-5)


def test_mse_and_mae_match_numpy(images):
    other = tiny_images(8, 16, 3, seed=2)
    assert float(make_loss("mse")(images, other)) == pytest.approx(np.mean((images - other) ** 2), rel=1e-5)
    assert float(make_loss("mae")(images, other)) == pytest.approx(np.mean(np.abs(images - other)), rel=1e-5)


def test_ssim_loss_is_one_minus_tf_ssim_and_stays_in_0_2(images):
    other = tiny_images(8, 16, 3, seed=2)
    loss = SSIMLoss(max_val=1.0)
    expected = 1.0 - tf.image.ssim(images, other, max_val=1.0, filter_size=11).numpy()
    np.testing.assert_allclose(loss.call(images, other).numpy(), expected, rtol=1e-5)
    # Unrelated images score near 1; an inverted image (negative correlation) scores above 1; never above 2.
    assert 0.5 < float(loss(images, other)) < 1.5
    inverted = float(loss(images, 1.0 - images))
    assert 1.0 < inverted <= 2.0
    per_image = loss.call(images, 1.0 - images).numpy()
    assert np.all((per_image >= 0) & (per_image <= 2))


def test_ssim_uses_the_dynamic_range(images):
    other = tiny_images(8, 16, 3, seed=2)
    unit = float(SSIMLoss(max_val=1.0)(images, other))
    scaled = float(SSIMLoss(max_val=255.0)(images * 255, other * 255))
    assert scaled == pytest.approx(unit, rel=1e-4)
    # With the wrong range the constants dominate and SSIM looks far better than it is.
    assert float(SSIMLoss(max_val=255.0)(images, other)) < 0.5 * unit


def test_ssim_on_images_smaller_than_the_filter():
    a, b = tiny_images(4, 7, 1, seed=3), tiny_images(4, 7, 1, seed=4)
    value = float(SSIMLoss()(a, b))
    assert math.isfinite(value) and 0 < value <= 2


def test_ssim_l1_mixes_ssim_and_l1(images):
    other = tiny_images(8, 16, 3, seed=2)
    mix = SSIML1Loss(max_val=1.0, alpha=0.84)
    ssim = SSIMLoss(max_val=1.0).call(images, other).numpy()
    l1 = np.abs(images - other).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(mix.call(images, other).numpy(), 0.84 * ssim + 0.16 * l1, rtol=1e-5)


def test_custom_losses_survive_serialization():
    for loss in (SSIMLoss(max_val=255.0), SSIML1Loss(max_val=2.0, alpha=0.5)):
        clone = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(clone) is type(loss) and clone.max_val == loss.max_val


def test_unknown_loss():
    with pytest.raises(ConfigError, match="unknown loss 'hinge'"):
        make_loss("hinge")


def test_dynamic_range():
    assert dynamic_range("[0,1]", 0.0, 0.7) == 1.0
    assert dynamic_range("[-1,1]", -0.5, 1.0) == 2.0
    assert dynamic_range("[0,255]", 0.0, 200.0) == 255.0
    assert dynamic_range("standardised", -3.0, 4.5) == 7.5
    assert dynamic_range("other", float("nan"), 1.0) == 1.0


# ---------------------------------------------------------------- reconstruction metrics

def _constant_model(image):
    """A Keras model that ignores its input and outputs `image` for every sample."""
    inputs = keras.Input(image.shape)
    outputs = keras.layers.Lambda(lambda t: t * 0.0 + tf.constant(image))(inputs)
    return keras.Model(inputs, outputs)


def _identity_model(shape, offset=0.0):
    inputs = keras.Input(shape)
    outputs = keras.layers.Lambda(lambda t: t + offset)(inputs)
    return keras.Model(inputs, outputs)


def _batches(x, size=5):
    return [(x[i:i + size], x[i:i + size]) for i in range(0, len(x), size)]


def test_predicting_the_mean_image_has_relative_mse_one():
    y = tiny_images(23, 12, 3, seed=5) ** 2  # skewed values, unequal per-pixel variances
    mean_image = y.mean(axis=0)
    m = reconstruction_metrics(_constant_model(mean_image), _batches(y), max_val=1.0)
    assert m["samples"] == 23
    assert m["relative_mse"] == pytest.approx(1.0, abs=1e-3)
    assert m["mse"] == pytest.approx(np.mean((y - mean_image) ** 2), rel=1e-5)


def test_perfect_reconstruction():
    y = tiny_images(10, 12, 1, seed=6)
    m = reconstruction_metrics(_identity_model(y.shape[1:]), _batches(y, 4), max_val=1.0)
    assert m["mse"] == 0.0 and m["relative_mse"] == 0.0 and m["mae"] == 0.0
    assert m["psnr"] == math.inf
    assert m["ssim"] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("max_val, offset", [(1.0, 0.1), (255.0, 25.5), (2.0, 0.02)])
def test_psnr_formula(max_val, offset):
    y = tiny_images(10, 12, 1, seed=7) * max_val
    m = reconstruction_metrics(_identity_model(y.shape[1:], offset), _batches(y, 3), max_val=max_val)
    assert m["mse"] == pytest.approx(offset**2, rel=1e-4)
    assert m["mae"] == pytest.approx(offset, rel=1e-4)
    assert m["psnr"] == pytest.approx(10 * math.log10(max_val**2 / offset**2), rel=1e-4)
    assert m["relative_mse"] == pytest.approx(offset**2 / y.astype(np.float64).var(axis=0).mean(), rel=1e-3)


def test_metrics_do_not_depend_on_batching():
    y = tiny_images(17, 12, 3, seed=8)
    model = _identity_model(y.shape[1:], 0.05)
    a = reconstruction_metrics(model, _batches(y, 17))
    b = reconstruction_metrics(model, _batches(y, 4))
    for key in ("mse", "relative_mse", "mae", "psnr", "ssim"):
        assert a[key] == pytest.approx(b[key], rel=1e-5)


def test_metrics_refuse_a_shape_mismatch_and_empty_data():
    y = tiny_images(4, 12, 1)
    model = _constant_model(np.zeros((12, 12, 3), np.float32))
    with pytest.raises(ConfigError, match=r"\(12, 12, 3\) differs from target shape \(12, 12, 1\)"):
        reconstruction_metrics(model, [(y, y)])
    with pytest.raises(ConfigError, match="no validation samples"):
        reconstruction_metrics(model, [])
