"""apply_fix: each fix kind yields a new model/config/data, leaves the original alone, and saves safely."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from caedoctor.data import load_data
from caedoctor.findings import Fix
from caedoctor.models import load_model
from caedoctor.repair import NotApplicable, apply_fix

from .tiny import blobs, compiled, tiny_cae


@pytest.fixture(scope="module")
def data():
    return load_data(blobs(64))


def _loaded(model, data):
    return load_model(model, data.input_shape)


def _reloads(model, tmp_path):
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    x = np.zeros((2, *model.input_shape[1:]), np.float32)
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), atol=1e-6)


def _activations(model):
    return {layer.name: getattr(getattr(layer, "activation", None), "__name__", None) for layer in model.layers}


def test_output_activation(data, tmp_path):
    loaded = _loaded(compiled(tiny_cae(output_activation="linear")), data)
    new, _ = apply_fix(loaded, data, Fix("output_activation", {"activation": "sigmoid"}))
    assert _activations(new.model)["out"] == "sigmoid"
    assert _activations(loaded.model)["out"] == "linear"  # the user's model is untouched
    _reloads(new.model, tmp_path)


def test_hidden_relu_to_leaky(data, tmp_path):
    loaded = _loaded(compiled(tiny_cae()), data)
    new, _ = apply_fix(loaded, data, Fix("hidden_activation", {"from": "relu", "to": "leaky_relu"}))
    leaky = [l for l in new.model.layers if isinstance(l, keras.layers.LeakyReLU)]
    assert len(leaky) == 2 and all(abs(l.negative_slope - 0.1) < 1e-9 for l in leaky)
    assert "relu" not in _activations(new.model).values()
    _reloads(new.model, tmp_path)
    with pytest.raises(NotApplicable):
        apply_fix(new, data, Fix("hidden_activation", {"from": "relu", "to": "leaky_relu"}))


def test_add_batchnorm_after_hidden_convs_only(data, tmp_path):
    loaded = _loaded(compiled(tiny_cae()), data)
    new, _ = apply_fix(loaded, data, Fix("add_batchnorm", {}))
    bns = [l.name for l in new.model.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert bns == ["enc0_bn", "dec0_bn"]
    # BatchNorm sits before the activation: conv (linear) -> BN -> ReLU.
    assert _activations(new.model)["enc0"] == "linear" and "enc0_relu" in _activations(new.model)
    _reloads(new.model, tmp_path)


def test_kernel_limit(data):
    loaded = _loaded(compiled(tiny_cae()), data)
    new, _ = apply_fix(loaded, data, Fix("kernel_size", {"max_kernel": 1}))
    assert all(tuple(l.kernel_size) == (1, 1) for l in new.model.layers if hasattr(l, "kernel_size"))


def test_config_fixes(data):
    loaded = _loaded(compiled(tiny_cae(), lr=1.0), data)
    new, _ = apply_fix(loaded, data, Fix("learning_rate", {"learning_rate": None}), suggested_lr=0.002)
    assert new.config.learning_rate == 0.002 and loaded.config.learning_rate == 1.0
    new, _ = apply_fix(loaded, data, Fix("loss", {"loss": "mae"}))
    assert new.config.loss == "mae"
    new, _ = apply_fix(loaded, data, Fix("batch_size", {"batch_size": 8}))
    assert new.config.batch_size == 8
    with pytest.raises(NotApplicable):
        apply_fix(loaded, data, Fix("learning_rate", {"learning_rate": None}))


def test_shape_fixes_make_an_autoencoder(tmp_path):
    data = load_data(blobs(32, size=14))
    model = compiled(tiny_cae(size=14, pools=2))  # outputs 16x16
    loaded = _loaded(model, data)
    cropped, _ = apply_fix(loaded, data, Fix("crop_or_pad_output", {"target_shape": [14, 14, 1]}))
    assert cropped.model.output_shape[1:] == (14, 14, 1)
    padded, _ = apply_fix(loaded, data, Fix("input_padding", {"pad_to": [16, 16]}))
    assert padded.model.input_shape[1:] == (14, 14, 1) and padded.model.output_shape[1:] == (14, 14, 1)
    _reloads(padded.model, tmp_path)


def test_normalize_inputs_records_the_scale():
    x = (blobs(40) * 255).astype(np.uint8)
    data = load_data(x)
    loaded = load_model(compiled(tiny_cae()), data.input_shape)
    _, fixed = apply_fix(loaded, data, Fix("normalize_inputs", {"method": "unit"}))
    assert fixed.profile.inputs.value_range == "[0,1]"
    assert fixed.profile.inputs.max <= 1.0 and data.profile.inputs.max > 1.0
    assert fixed.scales[0] == pytest.approx((1 / 255, 0.0))
    assert fixed.scales[1] == pytest.approx((1 / 255, 0.0))  # the target is the input: scaled alike
    assert fixed.preprocessing


def test_advice_only_fix_is_not_applicable(data):
    loaded = _loaded(compiled(tiny_cae()), data)
    with pytest.raises(NotApplicable):
        apply_fix(loaded, data, Fix("data", {"action": "more_data"}))


def test_normalize_targets_like_inputs_maps_target_range_onto_inputs():
    x = blobs(40)
    data = load_data((x, x * 255.0))
    loaded = load_model(compiled(tiny_cae()), data.input_shape)
    _, fixed = apply_fix(loaded, data, Fix("normalize_targets", {"method": "like_inputs"}))
    assert fixed.profile.target_stats.max == pytest.approx(data.profile.inputs.max, rel=1e-4)
    assert fixed.profile.target_stats.min == pytest.approx(data.profile.inputs.min, abs=1e-4)
