"""apply_fix: each fix kind yields a new model/config/data, leaves the original alone, and saves safely."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from caedoctor.data import load_data
from caedoctor.findings import Fix
from caedoctor.fixes import FixContext, NotApplicable
from caedoctor.fixes import apply_fix as apply_to_setup
from caedoctor.models import load_model
from caedoctor.setup import Setup

from tiny import blobs, compiled, leaf_configs, tiny_cae


@pytest.fixture(scope="module")
def data():
    return load_data(blobs(64))


def apply_fix(loaded, data, fix, suggested_lr=None, analysis=None):
    """The registry's `apply_fix` on the set-up (loaded, data), returned as (loaded, data) again."""
    new = apply_to_setup(Setup.of(loaded, data), fix, FixContext(suggested_lr, analysis))
    return new.loaded, new.data


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
    assert new.config.loss_name == "mae"
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


def test_missing_upsampling_and_a_shrinking_crop_are_undone(tmp_path, data):
    half = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Conv2D(4, 3, strides=2, padding="same"),
                             keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="out")])
    up, _ = apply_fix(_loaded(compiled(half), data), data, Fix("upsample_output", {"factor": [2, 2]}))
    assert up.model.output_shape[1:] == (16, 16, 1)
    names = [layer.name for layer in up.model.layers]
    assert names.index("fix_upsample") == names.index("out") - 1  # the output conv smooths the upsampled map
    _reloads(up.model, tmp_path)
    cropped = tiny_cae()
    x = keras.layers.Cropping2D(2, name="crop")(cropped.get_layer("up0").output)
    model = keras.Model(cropped.input, cropped.get_layer("out")(x))
    fixed, _ = apply_fix(_loaded(compiled(model), data), data, Fix("remove_cropping", {"layer": "crop"}))
    assert fixed.model.output_shape[1:] == (16, 16, 1)
    assert not any(isinstance(layer, keras.layers.Cropping2D) for layer in fixed.model.layers)
    with pytest.raises(NotApplicable, match="not a Cropping2D"):
        apply_fix(_loaded(compiled(model), data), data, Fix("remove_cropping", {"layer": "out"}))


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


def test_inputs_as_targets_trains_on_each_input_as_its_own_target():
    x = blobs(40)
    shuffled = x[np.random.default_rng(0).permutation(len(x))]
    data = load_data((x, shuffled * 2.0))
    loaded = load_model(compiled(tiny_cae()), data.input_shape)
    _, fixed = apply_fix(loaded, data, Fix("inputs_as_targets", {}))
    assert fixed.profile.target is None  # the target is the input again
    for xb, yb in fixed.train.batch(64).as_numpy_iterator():
        np.testing.assert_array_equal(xb, yb)
    assert fixed.scales[1] == fixed.scales[0]
    assert "targets replaced by their inputs" in fixed.preprocessing
    with pytest.raises(NotApplicable):
        apply_fix(loaded, fixed, Fix("inputs_as_targets", {}))
    colour = load_data((x, np.repeat(shuffled, 3, axis=-1)))  # grey inputs, colour targets: another shape
    with pytest.raises(NotApplicable, match="shape"):
        apply_fix(loaded, colour, Fix("inputs_as_targets", {}))


def test_align_targets_moves_each_target_back_onto_its_input():
    x = blobs(40)
    inputs = x.copy()
    inputs[::2] = inputs[::2, :, ::-1]  # flipped inputs, targets as they were: augmentation on one side
    data = load_data((inputs, x))
    assert data.profile.target.misaligned_fraction > 0.3
    loaded = load_model(compiled(tiny_cae()), data.input_shape)
    _, fixed = apply_fix(loaded, data, Fix("align_targets", {}))
    assert fixed.profile.target.misaligned_fraction == 0.0
    assert fixed.train_count == data.train_count and fixed.val_count == data.val_count
    same = [np.allclose(a, b, atol=1e-6) for xb, yb in fixed.train.batch(64).as_numpy_iterator()
            for a, b in zip(xb, yb)]
    # the flips undone: each target is its input again, but for blobs nearly symmetric enough that flipping
    # gains less than MIN_ALIGN_GAIN (kept as given)
    assert np.mean(same) >= 0.9
    assert any("moved back onto their inputs" in step for step in fixed.preprocessing)


def test_smooth_targets_takes_most_of_the_pixel_noise_out():
    x = blobs(40)
    noisy = (x + np.random.default_rng(1).normal(0, 0.2, x.shape)).astype(np.float32)
    data = load_data((noisy, np.clip(noisy, 0, 1)))
    loaded = load_model(compiled(tiny_cae()), data.input_shape)
    _, fixed = apply_fix(loaded, data, Fix("smooth_targets", {}))
    before, after = data.profile.target.target_noise, fixed.profile.target.target_noise
    assert after < 0.35 * before
    with pytest.raises(NotApplicable, match="plain autoencoder"):
        apply_fix(loaded, load_data(x), Fix("smooth_targets", {}))


def _dense_code_cae(units: int = 2):
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="enc")(inputs)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(units, name="code")(x)
    x = keras.layers.Dense(8 * 8 * 4, activation="relu", name="expand")(x)
    x = keras.layers.Reshape((8, 8, 4))(x)
    x = keras.layers.UpSampling2D(2)(x)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="out")(x)
    return keras.Model(inputs, outputs)


def test_bottleneck_fix_widens_a_dense_code(data, tmp_path):
    loaded = _loaded(compiled(_dense_code_cae(2)), data)
    fixed, _ = apply_fix(loaded, data, Fix("bottleneck", {"factor": 4.0, "layers": ["code"]}))
    assert fixed.model.get_layer("code").units == 8
    assert loaded.model.get_layer("code").units == 2  # the original is untouched
    assert fixed.model.output_shape == loaded.model.output_shape
    _reloads(fixed.model, tmp_path)


def test_initializer_fix_resets_kernel_initializers(data):
    model = tiny_cae()
    big = keras.models.clone_model(model, clone_function=lambda layer: layer.__class__.from_config(
        {**layer.get_config(), "kernel_initializer": {"class_name": "RandomNormal", "config": {"stddev": 1.0}}}
        if hasattr(layer, "kernel_initializer") else layer.get_config()))
    loaded = _loaded(compiled(big), data)
    fixed, _ = apply_fix(loaded, data, Fix("initializer", {"initializer": "glorot_uniform"}))
    inits = {type(layer.kernel_initializer).__name__ for layer in fixed.model.layers if hasattr(layer, "kernel_initializer")}
    assert inits == {"GlorotUniform"}
    with pytest.raises(NotApplicable, match="already"):
        apply_fix(fixed, data, Fix("initializer", {"initializer": "glorot_uniform"}))


def test_initializer_fix_resets_negative_biases_to_zeros(data):
    model = tiny_cae()
    dead = keras.models.clone_model(model, clone_function=lambda layer: layer.__class__.from_config(
        {**layer.get_config(), "bias_initializer": {"class_name": "Constant", "config": {"value": -0.5}}}
        if hasattr(layer, "bias_initializer") else layer.get_config()))
    loaded = _loaded(compiled(dead), data)
    fixed, _ = apply_fix(loaded, data, Fix("initializer", {"bias_initializer": "zeros"}))
    biased = [layer for layer in fixed.model.layers if getattr(layer, "bias", None) is not None]
    assert biased and all(float(np.max(np.abs(layer.bias.numpy()))) == 0.0 for layer in biased)
    kernels = {type(layer.kernel_initializer).__name__ for layer in biased}
    assert kernels == {type(layer.kernel_initializer).__name__ for layer in loaded.model.layers
                       if getattr(layer, "bias", None) is not None}  # kernels untouched
    with pytest.raises(NotApplicable, match="already"):
        apply_fix(fixed, data, Fix("initializer", {"bias_initializer": "zeros"}))


def test_fewer_training_samples_halves_training_only(data):
    from caedoctor.fixes.data_fixes import fewer_training_samples

    half = fewer_training_samples(data, 0.5)
    assert half.train_count == data.train_count // 2
    assert sum(1 for _ in half.train) == data.train_count // 2
    assert sum(1 for _ in half.val) == data.val_count
    one = load_data(blobs(2))
    with pytest.raises(NotApplicable):
        fewer_training_samples(one, 0.5)


def test_capacity_fix_gives_a_layerless_decoder_the_mirror_of_the_encoder(data, tmp_path):
    from caedoctor.models.analysis import analyze_model

    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="enc1")(inputs)
    x = keras.layers.MaxPool2D(2)(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="enc2")(x)
    x = keras.layers.MaxPool2D(2)(x)
    x = keras.layers.UpSampling2D(4, name="up")(x)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="out")(x)
    loaded = _loaded(compiled(keras.Model(inputs, outputs)), data)
    analysis = analyze_model(loaded.model, data.input_shape)
    fixed, _ = apply_fix(loaded, data, Fix("capacity", {"half": "decoder", "factor": 2.0}), analysis=analysis)
    convs = [layer for layer in fixed.model.get_layer("up_fix_decoder").layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [16, 8]  # the encoder's filters, widest first
    assert fixed.model.output_shape == loaded.model.output_shape
    assert fixed.model.count_params() > loaded.model.count_params()
    _reloads(fixed.model, tmp_path)


def test_channel_mismatch_is_fixed_by_the_last_convs_filters(tmp_path):
    x = np.random.default_rng(0).random((40, 16, 16, 3)).astype(np.float32)
    data = load_data(x)
    inputs = keras.Input((16, 16, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="enc")(inputs)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="out")(h)
    loaded = load_model(compiled(keras.Model(inputs, outputs)), data.input_shape)
    fixed, _ = apply_fix(loaded, data, Fix("crop_or_pad_output", {"output_shape": [16, 16, 1],
                                                                  "target_shape": [16, 16, 3]}))
    assert fixed.model.output_shape == (None, 16, 16, 3)
    assert fixed.model.get_layer("out").activation.__name__ == "sigmoid"
    _reloads(fixed.model, tmp_path)


def test_kernel_fix_sets_several_layers(data):
    loaded = _loaded(compiled(tiny_cae(pools=2)), data)
    fixed, _ = apply_fix(loaded, data, Fix("kernel_size", {"layer": "enc0", "kernel": 5,
                                                          "layers": {"enc0": 5, "enc1": 1}}))
    assert tuple(fixed.model.get_layer("enc0").kernel_size) == (5, 5)
    assert tuple(fixed.model.get_layer("enc1").kernel_size) == (1, 1)


def test_dropping_nonfinite_samples_keeps_an_earlier_normalisation():
    """A normalisation applied before the NaN samples are dropped must survive into the saved model's scales
    (drop_nonfinite once rebuilt the data without them, so the repaired model expected normalised inputs)."""
    from caedoctor.repairing.procedure import _wrap_with_preprocessing
    from caedoctor.fixes.data_fixes import drop_nonfinite, normalize

    x = blobs(64) * 255.0
    x[[5, 40]] = np.nan
    raw = load_data(x)
    scaled = normalize(raw, "unit", None)
    cleaned = drop_nonfinite(scaled)
    assert cleaned.scales == scaled.scales == ((1 / 255, 0.0), (1 / 255, 0.0))
    assert cleaned.preprocessing[:-1] == scaled.preprocessing
    assert cleaned.preprocessing[-1].endswith("validation samples holding NaN or Inf")
    assert not np.isnan(cleaned.profile.inputs.max) and cleaned.profile.inputs.max <= 1.0
    assert cleaned.train_count + cleaned.val_count == 62  # the counts are of the samples kept
    assert int(cleaned.train.cardinality()) == cleaned.train_count

    core = tiny_cae(output_activation="linear")
    wrapped = _wrap_with_preprocessing(core, cleaned, raw)
    clean = blobs(4, seed=1) * 255.0
    np.testing.assert_allclose(np.asarray(wrapped(clean)), 255.0 * np.asarray(core(clean / 255.0)), rtol=1e-4,
                               atol=1e-3)


def _changes_py(original, fixes, data):
    """changes.py for `fixes` applied in turn to `original` (as a repair keeping all of them would write)."""
    from types import SimpleNamespace

    from caedoctor.repairing.code import changes_as_code
    from caedoctor.repairing.procedure import Change, _wrap_with_preprocessing

    loaded, fixed = original, data
    kept = []
    for fix in fixes:
        loaded, fixed = apply_fix(loaded, fixed, fix)
        kept.append(Change(fix.kind, fix.params, "why", {"metric": "relative_mse", "before": 1.0, "after": 0.5}, True))
    model = _wrap_with_preprocessing(loaded.model, fixed, data)
    result = SimpleNamespace(model=model, loaded=loaded, data=fixed, original=original, kept_changes=lambda: kept)
    return changes_as_code(result), model


def test_changes_py_rebuilds_the_repaired_model_layer_for_layer(tmp_path):
    data = load_data((blobs(64, size=14) * 255).astype(np.uint8))
    original = _loaded(compiled(tiny_cae(size=14, output_activation="linear", pools=2)), data)
    code, model = _changes_py(original, [
        Fix("normalize_inputs", {"method": "unit"}), Fix("output_activation", {"activation": "sigmoid"}),
        Fix("hidden_activation", {"from": "relu", "to": "leaky_relu"}), Fix("add_batchnorm", {}),
        Fix("input_padding", {"pad_to": [16, 16]}), Fix("learning_rate", {"learning_rate": 0.002})], data)
    model.save(tmp_path / "repaired.keras")
    saved = keras.saving.load_model(tmp_path / "repaired.keras", safe_mode=True)
    namespace = {}
    exec(compile(code, "changes.py", "exec"), namespace)
    rebuilt = namespace["model"]
    assert leaf_configs(rebuilt) == leaf_configs(saved)
    assert len(leaf_configs(saved)) == 21 and "(...)" not in code
    x = np.asarray(data.sample(2)[0])
    assert rebuilt(x).shape == saved(x).shape == x.shape
    # Each change is marked where it is made, and the training set-up is the repaired one.
    assert "name='out')(up1)  # caedoctor: changed activation 'linear' -> 'sigmoid'" in code
    assert code.count("BatchNormalization(") == code.count("# caedoctor: added") - 8  # + 4 LeakyReLU, pad, crop, 2 x Rescaling
    assert "ZeroPadding2D(padding=((1, 1), (1, 1))" in code and "Rescaling(scale=0.00392156862745098" in code
    assert "optimizer=keras.optimizers.Adam(learning_rate=0.002" in code
    pool_line = next(line for line in code.splitlines() if line.startswith("pool0 ="))
    assert "caedoctor" not in pool_line  # unchanged layers carry no mark


def test_changes_py_for_a_sequential_dense_code_and_for_a_model_it_cannot_write(data, tmp_path):
    seq = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Flatten(), keras.layers.Dense(8, activation="relu"),
                            keras.layers.Dense(256, activation="sigmoid"), keras.layers.Reshape((16, 16, 1))])
    code, model = _changes_py(_loaded(compiled(seq), data), [Fix("bottleneck", {"layers": [seq.layers[1].name],
                                                                                "factor": 2.0})], data)
    namespace = {}
    exec(compile(code, "changes.py", "exec"), namespace)
    assert leaf_configs(namespace["model"]) == leaf_configs(model)
    assert "units 8 -> 16" in code

    inputs = keras.Input((16, 16, 1))
    lam = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 0.5)(keras.layers.Conv2D(1, 3, padding="same")(inputs)))
    code, _ = _changes_py(_loaded(compiled(lam), data), [Fix("learning_rate", {"learning_rate": 0.01})], data)
    assert "cannot be written as plain Keras code" in code and "Lambda" in code and "repaired.keras" in code
    namespace = {}
    exec(compile(code, "changes.py", "exec"), namespace)  # still valid Python, it just builds nothing
    assert "model" not in namespace


def test_a_fix_that_would_break_the_output_shape_is_not_applicable(data, monkeypatch):
    """Any fix kind: if its rewrite leaves the output unlike the targets (a widened dense bottleneck behind a
    Reshape changed a generated case's output to 4 channels), it is refused, never probed."""
    import caedoctor.fixes.apply as registry

    class FourChannels:
        def apply(self, setup, fix, context):
            inputs = keras.Input((16, 16, 1))
            wrong = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same")(inputs))
            return setup.replace(model=compiled(wrong))

    setup = Setup.of(_loaded(compiled(tiny_cae()), data), data)
    monkeypatch.setattr(registry, "get_fix_kind", lambda _kind: FourChannels())
    with pytest.raises(NotApplicable, match=r"output's shape to \(16, 16, 4\), unlike the targets' \(16, 16, 1\)"):
        apply_to_setup(setup, Fix("capacity", {"half": "decoder", "factor": 2.0}))
