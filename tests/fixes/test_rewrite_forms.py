"""The rewrites change what the model reader read, whichever way the model writes its activations: inline
(`Conv2D(..., activation="sigmoid")`) or as layers of their own (`Activation("sigmoid")`, `ReLU()`, `ELU()`,
`LeakyReLU()`), and with the output's activation before a Cropping2D or in an output Activation layer.

Issue 15: a sigmoid stack written as separate Activation layers was seen by CAE402, but its counterfactual
said "not tested: no hidden layer uses 'sigmoid'" and `fix` applied nothing."""

from __future__ import annotations

import keras
import pytest
from keras import layers

from caedoctor.checks import analyze_model, check
from caedoctor.data import load_data
from caedoctor.findings import Fix
from caedoctor.fixes import FixContext, NotApplicable, apply_fix
from caedoctor.models import load_model
from caedoctor.setup import Setup

from tiny import blobs, compiled

FORMS = ("inline", "layer")


@pytest.fixture(scope="module")
def data():
    return load_data(blobs(48))


def stack(form: str, act: str = "sigmoid", n: int = 4, out: str = "sigmoid", out_form: str = "inline"):
    """n hidden convs with `act`, written inline or as separate activation layers; then the output."""
    inputs = keras.Input((16, 16, 1))
    x = inputs
    for i in range(n):
        if form == "inline":
            x = layers.Conv2D(4, 3, padding="same", activation=act, name=f"c{i}")(x)
        else:
            x = layers.Conv2D(4, 3, padding="same", name=f"c{i}")(x)
            x = {"relu": layers.ReLU, "elu": layers.ELU, "leaky_relu": layers.LeakyReLU}.get(
                act, lambda name: layers.Activation(act, name=name))(name=f"a{i}")(x)
        if i == 1:
            x = layers.MaxPool2D(2, name="pool")(x)
        if i == 2:
            x = layers.UpSampling2D(2, name="up")(x)
    if out_form == "inline":
        outputs = layers.Conv2D(1, 3, padding="same", activation=out, name="out")(x)
    elif out_form == "layer":
        x = layers.Conv2D(1, 3, padding="same", name="out")(x)
        outputs = layers.Activation(out, name="out_act")(x)
    else:  # "crop": the output activation before a Cropping2D (and the padding that makes it fit)
        x = layers.ZeroPadding2D(1, name="pad")(x)
        x = layers.Conv2D(1, 3, padding="same", activation=out, name="out")(x)
        outputs = layers.Cropping2D(1, name="crop")(x)
    return compiled(keras.Model(inputs, outputs, name=f"stack_{form}"), "sgd", 0.01)


def _setup(model, data):
    return Setup.of(load_model(model, data.input_shape), data)


def _hidden(model, shape=(16, 16, 1)) -> dict:
    a = analyze_model(model, shape)
    return {"hidden": sorted(act for _, act in a.hidden_activations()), "output": a.output_activation}


@pytest.mark.parametrize("form", FORMS)
def test_the_sigmoid_stack_rule_and_its_fix_agree_in_both_forms(form, data):
    setup = _setup(stack(form), data)
    finding = next(f for f in check(setup.loaded, setup.data, config=setup.config) if f.code == "CAE402")
    assert finding.evidence["sigmoid_layers_on_path"] == 4
    new = apply_fix(setup, finding.fix, FixContext())  # was NotApplicable for the layer form
    after = _hidden(new.model)
    assert "sigmoid" not in after["hidden"] and after["hidden"] == ["leaky_relu"] * 4
    assert after["output"] == "sigmoid"  # the output keeps its range
    assert not [f for f in check(new.loaded, new.data, config=new.config) if f.code == "CAE402"]
    assert _hidden(setup.model)["hidden"] == ["sigmoid"] * 4  # the user's model is untouched
    leaky = [layer for layer in new.model.layers if isinstance(layer, layers.LeakyReLU)]
    assert len(leaky) == 4 and all(abs(layer.negative_slope - 0.1) < 1e-9 for layer in leaky)


@pytest.mark.parametrize("form", FORMS)
def test_batchnorm_goes_between_each_hidden_conv_and_its_activation_in_both_forms(form, data):
    new = apply_fix(_setup(stack(form), data), Fix("add_batchnorm", {}))
    names = [layer.name for layer in new.model.layers]
    bns = [n for n in names if isinstance(new.model.get_layer(n), layers.BatchNormalization)]
    assert bns == [f"c{i}_bn" for i in range(4)]
    for i in range(4):  # conv (linear) -> BN -> sigmoid, whichever way the sigmoid was written
        conv = new.model.get_layer(f"c{i}")
        assert conv.activation.__name__ == "linear"
        after_bn = names[names.index(f"c{i}_bn") + 1]
        assert getattr(new.model.get_layer(after_bn), "activation", None).__name__ == "sigmoid"


@pytest.mark.parametrize("out_form", ("layer", "crop"))
def test_the_output_layer_is_the_readers_whatever_follows_it(out_form, data):
    setup = _setup(stack("layer", out_form=out_form), data)
    # No BatchNorm before the output conv: it is the output's, not a hidden layer.
    bn = apply_fix(setup, Fix("add_batchnorm", {}))
    assert "out_bn" not in [layer.name for layer in bn.model.layers]
    # The hidden-sigmoid fix leaves the output's sigmoid alone.
    swapped = apply_fix(setup, Fix("hidden_activation", {"from": "sigmoid", "to": "leaky_relu"}))
    assert _hidden(swapped.model)["output"] == "sigmoid"
    # The output-activation fix changes the layer that sets the output's range (a conv before Cropping2D
    # was "has no activation to change").
    tanh = apply_fix(setup, Fix("output_activation", {"activation": "tanh"}))
    assert _hidden(tanh.model)["output"] == "tanh" and tanh.model.output_shape == setup.model.output_shape


@pytest.mark.parametrize("act, old", [("relu", "relu"), ("elu", "elu"), ("tanh", "tanh"), ("swish", "swish"),
                                      ("leaky_relu", "leaky_relu")])
@pytest.mark.parametrize("form", FORMS)
def test_hidden_activation_swaps_every_form_the_reader_names(form, act, old, data):
    setup = _setup(stack(form, act=act, n=3), data)
    before = _hidden(setup.model)["hidden"]
    assert len(before) == 3
    new = apply_fix(setup, Fix("hidden_activation", {"from": old, "to": "elu" if act == "leaky_relu" else "leaky_relu"}))
    after = _hidden(new.model)["hidden"]
    assert after == (["elu"] * 3 if act == "leaky_relu" else ["leaky_relu"] * 3), (before, after)
    with pytest.raises(NotApplicable, match="no hidden layer uses"):
        apply_fix(setup, Fix("hidden_activation", {"from": "hard_sigmoid", "to": "relu"}))


def test_a_pooling_kernel_larger_than_its_map_gets_a_fix_that_applies(data):
    inputs = keras.Input((16, 16, 1))
    x = layers.Conv2D(4, 3, strides=4, padding="same", activation="relu", name="c1")(x := inputs)
    x = layers.MaxPooling2D(pool_size=7, strides=1, padding="same", name="wide_pool")(x)  # 7x7 on a 4x4 map
    x = layers.UpSampling2D(4, name="up")(x)
    model = compiled(keras.Model(inputs, layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="out")(x)))
    setup = _setup(model, data)
    finding = next(f for f in check(setup.loaded, setup.data, config=setup.config)
                   if f.code == "CAE305" and f.evidence["layer"] == "wide_pool")
    new = apply_fix(setup, finding.fix)  # was "no conv layer to change"
    pool = new.model.get_layer("wide_pool")
    assert tuple(pool.pool_size) == (3, 3) and tuple(pool.strides) == (1, 1)
    assert new.model.output_shape == model.output_shape


def test_the_initializer_fix_reinitialises_every_kernel_the_reader_flagged(data):
    init = keras.initializers.RandomNormal(stddev=1.0)
    inputs = keras.Input((16, 16, 1))
    x = layers.Reshape((16, 16), name="rows")(inputs)  # a row-wise 1-D conv encoder
    x = layers.Conv1D(8, 3, padding="same", activation="relu", kernel_initializer=init, name="c1")(x)
    x = layers.Conv1D(16, 3, padding="same", activation="relu", kernel_initializer=init, name="c2")(x)
    x = layers.Reshape((16, 16, 1), name="image")(x)
    model = compiled(keras.Model(inputs, layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="out")(x)))
    setup = _setup(model, data)
    finding = next(f for f in check(setup.loaded, setup.data, config=setup.config) if f.code == "CAE404")
    assert set(finding.evidence["layers"]) == {"c1", "c2"}
    new = apply_fix(setup, finding.fix)  # was "every kernel already uses glorot_uniform": Conv1D was skipped
    assert all(type(new.model.get_layer(n).kernel_initializer).__name__ == "GlorotUniform" for n in ("c1", "c2"))
