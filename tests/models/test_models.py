"""`caedoctor.models.load_model`: presets against the field notes' code, specs, factories, .keras files,
configuration overrides and the autoencoder shape check."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from caedoctor.config import TrainConfig
from caedoctor.errors import ConfigError, ModelError, ShapeMismatchError
from caedoctor.models import check_autoencoder_shapes, compile_model, load_model

from field_notes import FIELD_NOTES

# The field notes' three examples (tests/field_notes.py), plus factories that return compiled models the
# way a user would write them, and broken ones.
FIELD_NOTES_CAES = FIELD_NOTES + '''
def compiled_hyper_bad(input_shape):
    model = create_hyper_bad_cae(input_shape)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.1), loss="mse")
    return model


def compiled_sgd_mae(input_shape):
    model = create_bad_cae(input_shape)
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.02, momentum=0.9), loss="mae")
    return model


def no_argument_factory():
    return create_bad_cae((16, 16, 1))


def not_a_model(input_shape):
    return "a string"


def broken(input_shape):
    raise RuntimeError("the user's factory failed")
'''

SHAPE = (16, 16, 1)

# FIELD_NOTES_CAES is the users' code verbatim, with LeakyReLU(alpha=0.1): the deprecation warning Keras gives
# for it is expected here (caedoctor's own presets use negative_slope and must not cause it: test below).
pytestmark = pytest.mark.filterwarnings("ignore:Argument `alpha` is deprecated:UserWarning")


@pytest.fixture(scope="module")
def field_notes_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("factory") / "field_notes_caes.py"
    path.write_text(FIELD_NOTES_CAES)
    return path


def _layer_summary(model):
    """Each layer's type and the settings that define the architecture (names left out)."""
    rows = []
    for layer in model.layers:
        cfg = layer.get_config()
        keep = {k: cfg[k] for k in ("filters", "kernel_size", "strides", "padding", "activation", "pool_size",
                                    "size", "negative_slope", "use_bias") if k in cfg}
        if "batch_shape" in cfg:
            keep["batch_shape"] = tuple(cfg["batch_shape"])
        rows.append((type(layer).__name__, json.dumps(keep, sort_keys=True, default=list)))
    return rows


# ---------------------------------------------------------------- presets

@pytest.mark.parametrize("preset, factory, lr, output", [
    ("seed_bad", "create_bad_cae", 1e-3, "linear"),
    ("seed_better", "create_better_cae", 1e-3, "sigmoid"),
    ("seed_hyper_bad", "create_hyper_bad_cae", 0.1, "sigmoid"),
])
@pytest.mark.parametrize("shape", [(32, 32, 3), (28, 28, 1)])
def test_preset_is_the_field_notes_cae(field_notes_file, preset, factory, lr, output, shape):
    loaded = load_model(f"preset:{preset}", shape)
    reference = load_model(f"{field_notes_file}:{factory}", shape).model
    assert _layer_summary(loaded.model) == _layer_summary(reference)
    assert loaded.model.count_params() == reference.count_params()
    assert loaded.model.output_shape[1:] == shape
    # Spot checks that do not depend on the reference being read right.
    convs = [ly for ly in loaded.model.layers if isinstance(ly, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]
    assert [c.filters for c in convs] == [32, 64, 64, 32, shape[-1]]
    assert [type(c).__name__ for c in convs] == ["Conv2D", "Conv2D", "Conv2DTranspose", "Conv2DTranspose",
                                                 "Conv2DTranspose"]
    assert convs[-1].get_config()["activation"] == output
    leaky = [ly for ly in loaded.model.layers if isinstance(ly, keras.layers.LeakyReLU)]
    if preset == "seed_bad":
        assert not leaky and all(c.get_config()["activation"] == "relu" for c in convs[:-1])
    else:
        assert len(leaky) == 4 and all(ly.negative_slope == pytest.approx(0.1) for ly in leaky)
    assert [type(ly).__name__ for ly in loaded.model.layers].count("MaxPooling2D") == 2
    assert [type(ly).__name__ for ly in loaded.model.layers].count("UpSampling2D") == 2
    c = loaded.config
    assert (c.optimizer_name, c.learning_rate, c.loss_name) == ("adam", lr, "mse")
    compile_model(loaded.model, c)
    assert isinstance(loaded.model.optimizer, keras.optimizers.Adam)
    assert float(loaded.model.optimizer.learning_rate) == pytest.approx(lr)
    assert loaded.model.loss == "mse"  # compile(loss="mse") as in the notes, exactly


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ModelError, match="preset:seed_bad, preset:seed_better, preset:seed_hyper_bad"):
        load_model("preset:seed_great", SHAPE)


def test_unreadable_model_argument():
    with pytest.raises(ModelError, match="expected preset:NAME"):
        load_model("resnet50", SHAPE)


# ---------------------------------------------------------------- specs

def test_yaml_spec_builds(tiny_spec):
    loaded = load_model(tiny_spec, SHAPE)
    m = loaded.model
    assert m.output_shape[1:] == SHAPE
    assert m.get_layer("enc1_conv").filters == 4
    assert (loaded.config.optimizer_name, loaded.config.learning_rate, loaded.config.loss_name, loaded.config.batch_size) \
        == ("adam", 0.001, "mse", 8)
    assert loaded.config.origin["batch_size"] == "spec"


def test_json_spec_with_pooling_bottleneck_and_explicit_decoder(tmp_path):
    spec = {
        "name": "json_cae",
        "encoder": [{"filters": 8, "kernel": 3, "activation": "leaky_relu", "pool": 2},
                    {"filters": 16, "kernel": [3, 3], "activation": "elu", "stride": 2, "batch_norm": True}],
        "bottleneck": {"dense": 12},
        "decoder": [{"filters": 16, "stride": 2}, {"filters": 8, "upsample": 2}],
        "output_activation": "tanh",
        "optimizer": "rmsprop",
        "learning_rate": "5e-4",
        "loss": "mean_absolute_error",
        "batch_size": 4,
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    loaded = load_model(path, (16, 16, 3))
    m = loaded.model
    assert m.name == "json_cae" and m.output_shape[1:] == (16, 16, 3)
    assert m.get_layer("bottleneck_dense").units == 12
    assert m.get_layer("enc2_conv").strides == (2, 2)
    assert isinstance(m.get_layer("enc2_bn"), keras.layers.BatchNormalization)
    assert (loaded.config.optimizer_name, loaded.config.learning_rate, loaded.config.loss_name) == ("rmsprop", 5e-4, "mae")


@pytest.mark.parametrize("text, field", [
    ("encoder:\n  - {filters: 4}\n  - {filters: 8, kernel: 0}\n", r"encoder\[1\]\.kernel"),
    ("encoder:\n  - {filters: 4, kernel: big}\n", r"encoder\[0\]\.kernel"),
    ("encoder:\n  - {filter: 4}\n", r"encoder\[0\]: unknown field 'filter' \(did you mean 'filters'\?\)"),
    ("encoder:\n  - {filters: 4}\nlearning_rat: 0.1\n", r"unknown field 'learning_rat' \(did you mean 'learning_rate'\?\)"),
    ("encoder:\n  - {filters: 4, activation: relu6}\n", r"encoder\[0\]\.activation must be one of"),
    ("encoder:\n  - {filters: -2}\n", r"encoder\[0\]\.filters must be an integer >= 1, got -2"),
    ("encoder:\n  - {kernel: 3}\n", r"encoder\[0\]\.filters is required"),
    ("encoder: []\n", r"spec encoder must be a non-empty list"),
    ("encoder:\n  - {filters: 4}\ndecoder:\n  - {filters: 4, pool: 2}\n", r"decoder\[0\]: unknown field 'pool'"),
    ("encoder:\n  - {filters: 4}\nbottleneck: {filters: 4, dense: 8}\n", r"bottleneck needs exactly one"),
    ("encoder:\n  - {filters: 4}\nloss: hingeish\n", r"spec: unknown loss 'hingeish'"),
    ("encoder:\n  - {filters: 4}\noptimizer: lbfgs\n", r"spec: unknown optimizer 'lbfgs'"),
    ("encoder:\n  - {filters: 4}\nbatch_size: 0\n", r"spec: batch size must be a positive integer, got 0"),
    ("encoder:\n  - {filters: 4}\nlearning_rate: fast\n", r"spec learning_rate must be a number"),
])
def test_spec_errors_name_the_field(tmp_path, text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=field):
        load_model(path, SHAPE)


def test_spec_that_is_not_yaml_or_a_mapping(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("encoder: [unclosed\n")
    with pytest.raises(ModelError, match="not valid YAML"):
        load_model(bad, SHAPE)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('["encoder"]')
    with pytest.raises(ModelError, match="a spec must be a mapping"):
        load_model(bad_json, SHAPE)


def test_missing_spec_file(tmp_path):
    with pytest.raises(ModelError, match="spec file not found"):
        load_model(tmp_path / "nope.yaml", SHAPE)


# ---------------------------------------------------------------- factories

def test_uncompiled_factory_gets_defaults(field_notes_file):
    loaded = load_model(f"{field_notes_file}:create_bad_cae", SHAPE)
    assert loaded.model.output_shape[1:] == SHAPE  # called with the data's shape, not the notes' (32, 32, 3)
    c = loaded.config
    assert (c.optimizer_name, c.learning_rate, c.loss_name, c.batch_size) == ("adam", 1e-3, "mse", 32)
    assert c.origin["optimizer"] == "default" and c.origin["learning_rate"] == "default"


def test_compiled_factory_brings_its_optimizer_lr_and_loss(field_notes_file):
    c = load_model(f"{field_notes_file}:compiled_hyper_bad", SHAPE).config
    assert (c.optimizer_name, c.learning_rate, c.loss_name) == ("adam", pytest.approx(0.1), "mse")
    assert c.origin["learning_rate"] == "model" and c.origin["loss"] == "model"
    c = load_model(f"{field_notes_file}:compiled_sgd_mae", SHAPE).config
    assert (c.optimizer_name, c.learning_rate, c.loss_name) == ("sgd", pytest.approx(0.02), "mae")
    assert c.optimizer.config["momentum"] == pytest.approx(0.9)


def test_factory_without_arguments(field_notes_file):
    assert load_model(f"{field_notes_file}:no_argument_factory", SHAPE).model.output_shape[1:] == SHAPE


@pytest.mark.parametrize("func, message", [
    ("missing_function", r"no function or model 'missing_function' \(defined there: .*create_bad_cae"),
    ("not_a_model", "returned str, not a keras.Model"),
    ("broken", "the factory raised RuntimeError: the user's factory failed"),
])
def test_factory_errors(field_notes_file, func, message):
    with pytest.raises(ModelError, match=message):
        load_model(f"{field_notes_file}:{func}", SHAPE)


def test_factory_file_missing_or_failing(tmp_path):
    with pytest.raises(ModelError, match="model factory file not found"):
        load_model(f"{tmp_path}/nope.py:make", SHAPE)
    bad = tmp_path / "bad_import.py"
    bad.write_text("import not_a_real_module_xyz\n")
    with pytest.raises(ModelError, match="importing the factory module failed: ModuleNotFoundError"):
        load_model(f"{bad}:make", SHAPE)


# ---------------------------------------------------------------- .keras files

def test_saved_keras_file_loads_with_its_config(tmp_path, tiny_spec):
    model = load_model(tiny_spec, SHAPE).model
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mae")
    path = tmp_path / "saved.keras"
    model.save(path)
    loaded = load_model(path, SHAPE)
    for a, b in zip(model.get_weights(), loaded.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    c = loaded.config
    assert (c.optimizer_name, c.learning_rate, c.loss_name) == ("sgd", pytest.approx(0.05), "mae")


def _lambda_model():
    inputs = keras.Input(SHAPE)
    outputs = keras.layers.Lambda(lambda t: t * 0.5)(inputs)
    return keras.Model(inputs, outputs)


def test_keras_file_with_lambda_is_refused_unless_unsafe(tmp_path):
    path = tmp_path / "lambda.keras"
    _lambda_model().save(path)
    with pytest.raises(ModelError) as info:
        load_model(path, SHAPE)
    msg = str(info.value)
    assert "Lambda" in msg and "--unsafe" in msg and str(path) in msg
    model = load_model(path, SHAPE, unsafe=True).model
    x = np.full((1, *SHAPE), 0.8, np.float32)
    np.testing.assert_allclose(np.asarray(model(x)), 0.4, rtol=1e-6)


def test_truncated_or_missing_keras_file(tmp_path, tiny_spec):
    path = tmp_path / "whole.keras"
    load_model(tiny_spec, SHAPE).model.save(path)
    cut = tmp_path / "cut.keras"
    cut.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelError, match="not a valid .keras file"):
        load_model(cut, SHAPE)
    with pytest.raises(ModelError, match="model file not found"):
        load_model(tmp_path / "nope.keras", SHAPE)


# ---------------------------------------------------------------- overrides

def test_flags_override_the_configuration():
    loaded = load_model("preset:seed_hyper_bad", (16, 16, 3), optimizer="SGD",
                        learning_rate=0.5, loss="mean_absolute_error", batch_size=7)
    c = loaded.config
    assert (c.optimizer_name, c.learning_rate, c.loss_name, c.batch_size) == ("sgd", 0.5, "mae", 7)
    assert all(c.origin[k] == "flag" for k in ("optimizer", "learning_rate", "loss", "batch_size"))
    compile_model(loaded.model, c)
    assert isinstance(loaded.model.optimizer, keras.optimizers.SGD)
    assert float(loaded.model.optimizer.learning_rate) == pytest.approx(0.5)
    assert loaded.model.loss == "mean_absolute_error"  # the flag, as Keras reads it


def test_new_optimizer_without_lr_takes_its_default():
    c = load_model("preset:seed_hyper_bad", (16, 16, 3), optimizer="sgd").config
    assert (c.optimizer_name, c.learning_rate) == ("sgd", 0.01)
    assert c.origin["learning_rate"] == "default"
    c = load_model("preset:seed_hyper_bad", (16, 16, 3), learning_rate=1e-4).config
    assert (c.optimizer_name, c.learning_rate, c.origin["optimizer"]) == ("adam", 1e-4, "preset")


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
    ({"learning_rate": -1.0}, "learning rate must be a positive finite number"),
    ({"learning_rate": float("nan")}, "learning rate must be a positive finite number"),
    ({"loss": "hingeish"}, "unknown loss 'hingeish'"),
    ({"batch_size": 0}, "batch size must be a positive integer"),
])
def test_bad_overrides(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        load_model("preset:seed_bad", (16, 16, 3), **kwargs)


def test_train_config_defaults():
    c = TrainConfig()
    assert (c.optimizer_name, c.learning_rate, c.loss_name, c.batch_size) == ("adam", 1e-3, "mse", 32)


# ---------------------------------------------------------------- the autoencoder shape check

def test_output_shape_mismatch_names_both_shapes(tiny_spec):
    model = load_model(tiny_spec, SHAPE).model
    check_autoencoder_shapes(model, SHAPE, SHAPE)  # matches: no error
    with pytest.raises(ShapeMismatchError) as info:
        check_autoencoder_shapes(model, (16, 16, 3))
    assert "(16, 16, 1)" in str(info.value) and "(16, 16, 3)" in str(info.value)


def test_preset_on_odd_size_cannot_reconstruct():
    model = load_model("preset:seed_better", (25, 25, 1)).model  # two poolings round 25 up: 7 -> 28
    with pytest.raises(ShapeMismatchError, match=r"output shape \(28, 28, 1\) differs from target shape \(25, 25, 1\)"):
        check_autoencoder_shapes(model, (25, 25, 1), (25, 25, 1))


def test_input_shape_mismatch_names_both_shapes(tiny_spec):
    model = load_model(tiny_spec, SHAPE).model
    with pytest.raises(ShapeMismatchError, match=r"\(16, 16, 1\) differs from the data's shape \(32, 32, 1\)"):
        check_autoencoder_shapes(model, (32, 32, 1), (32, 32, 1))



@pytest.mark.parametrize("preset", ["seed_bad", "seed_better", "seed_hyper_bad"])
def test_presets_build_without_any_warning(preset):
    """caedoctor's own models must not make Keras warn (LeakyReLU(alpha=...) is deprecated in Keras 3)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = load_model(f"preset:{preset}", SHAPE).model
        model(np.zeros((1, *SHAPE), np.float32))
