"""The model reader: graph, shapes, activations, halves, receptive fields, skips and output range."""

from __future__ import annotations

import math

import keras
import pytest
from check_helpers import cae, mnist_three_pool_cae
from keras import layers

from caedoctor.checks import analyze_model
from caedoctor.errors import ModelError
from caedoctor.models.presets import build_preset


def test_seed_cae_halves_bottleneck_params_and_receptive_fields():
    model, _ = build_preset("seed_better", (32, 32, 3))
    a = analyze_model(model)
    assert a.input_shape == (32, 32, 3) and a.output_shape == (32, 32, 3)
    # Narrowest tensor: enc_pool2 and dec_convt1 are both 8x8x64; the earliest wins.
    assert (a.bottleneck, a.bottleneck_layer, a.bottleneck_shape) == ("enc_pool2", "enc_conv2", (8, 8, 64))
    assert a.latent_size == 4096 and a.compression_ratio == pytest.approx(4096 / 3072)
    assert (a.encoder.params, a.encoder.depth) == (896 + 18496, 2)
    assert (a.decoder.params, a.decoder.depth) == (36928 + 18464 + 867, 3)
    assert a.total_params == model.count_params()
    assert a.encoder_conv_layers == ["enc_conv1", "enc_conv2"]
    assert a.decoder_conv_layers == ["dec_convt1", "dec_convt2"]  # not the output layer
    rf = {i.name: (i.receptive_field, i.jump) for i in a.layers}
    assert rf["enc_conv1"] == (3, 1) and rf["enc_pool1"] == (4, 2) and rf["enc_conv2"] == (8, 2)
    assert rf["enc_pool2"] == (10, 4) and rf["dec_output"] == (24, 1)
    # LeakyReLU layers are the hidden activations; the sigmoid sets the output range.
    assert {act for _, act in a.hidden_activations()} == {"leaky_relu"}
    assert (a.output_activation, a.output_activation_layer, a.output_range) == ("sigmoid", "dec_output", (0.0, 1.0))
    assert a.skip_connections == []


def test_nested_sequential_encoder_and_decoder_are_flattened():
    inputs = keras.Input((28, 28, 1))
    enc = keras.Sequential([layers.Conv2D(8, 3, padding="same", activation="relu", name="e1"),
                            layers.MaxPool2D(2, name="ep")], name="encoder")
    dec = keras.Sequential([layers.UpSampling2D(2, name="du"), layers.Conv2D(1, 3, padding="same", name="d1"),
                            layers.Activation("sigmoid", name="dsig")], name="decoder")
    a = analyze_model(keras.Model(inputs, dec(enc(inputs))))
    assert [i.name for i in a.layers][1:] == ["e1", "ep", "du", "d1", "dsig"]
    assert a.bottleneck == "ep" and a.layer("ep").output_shape == (14, 14, 8)
    assert (a.output_activation, a.output_activation_layer) == ("sigmoid", "dsig")
    assert [i.half for i in a.layers] == ["input", "encoder", "encoder", "decoder", "decoder", "decoder"]


@pytest.mark.parametrize("layer, name, rng", [
    (layers.ReLU(), "relu", (0.0, math.inf)),
    (layers.ReLU(max_value=6.0), "relu6", (0.0, 6.0)),
    (layers.ReLU(negative_slope=0.2), "leaky_relu", (-math.inf, math.inf)),
    (layers.LeakyReLU(), "leaky_relu", (-math.inf, math.inf)),
    (layers.PReLU(), "prelu", (-math.inf, math.inf)),
    (layers.ELU(alpha=0.5), "elu", (-0.5, math.inf)),
    (layers.Activation("tanh"), "tanh", (-1.0, 1.0)),
    (layers.Activation("softplus"), "softplus", (0.0, math.inf)),
])
def test_separate_activation_layers_set_the_output_range(layer, name, rng):
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(1, 3, padding="same"), layer])
    a = analyze_model(model)
    assert (a.output_activation, a.output_range) == (name, rng)


def test_range_propagates_through_cropping_and_rescaling():
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
                              layers.ZeroPadding2D(1), layers.Cropping2D(1), layers.Rescaling(255.0)])
    a = analyze_model(model)
    assert a.output_activation == "sigmoid" and a.output_range == (0.0, 255.0)


def test_linear_last_layer_is_unbounded_even_after_a_hidden_sigmoid():
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(2, 3, padding="same", activation="sigmoid"),
                              layers.Conv2D(1, 3, padding="same")])
    a = analyze_model(model)
    assert a.output_activation == "linear" and a.output_range == (-math.inf, math.inf)
    assert [act for _, act in a.hidden_activations()] == ["sigmoid"]


def test_free_spatial_sizes_are_read_for_the_data_shape_and_odd_sizes_break_a_skip():
    inputs = keras.Input((None, None, 1))
    c1 = layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inputs)
    p1 = layers.MaxPool2D(name="p1")(c1)
    u1 = layers.UpSampling2D(name="u1")(layers.Conv2D(4, 3, padding="same", name="c2")(p1))
    out = layers.Conv2D(1, 1, activation="sigmoid", name="out")(layers.Concatenate(name="cat")([u1, c1]))
    model = keras.Model(inputs, out)
    even = analyze_model(model, (32, 32, 1))
    assert even.output_shape == (32, 32, 1) and even.skip_connections == [("c1", "cat")]
    odd = analyze_model(model, (31, 31, 1))
    assert odd.shape_error_layer == "cat" and odd.output_shape is None
    assert "30x30x4 and 31x31x4" in odd.layer("cat").shape_error


def test_mnist_three_pooling_shapes():
    a = analyze_model(mnist_three_pool_cae())
    shapes = {i.name: i.output_shape for i in a.layers}
    assert shapes["pool2"] == (7, 7, 8) and shapes["pool3"] == (4, 4, 8) and a.output_shape == (32, 32, 1)
    assert a.bottleneck == "pool3" and a.layer("pool3").jump == 8


def test_model_without_free_sizes_needs_no_shape_but_free_ones_do():
    model = cae((16, 16, 1))
    assert analyze_model(model).input_shape == (16, 16, 1)
    free = keras.Sequential([keras.Input((None, None, 1)), layers.Conv2D(1, 3, padding="same")])
    with pytest.raises(ModelError, match="--input-shape"):
        analyze_model(free)


def test_unbuilt_sequential_is_built_for_the_given_shape():
    model = keras.Sequential([layers.Conv2D(2, 3, padding="same"), layers.Conv2D(1, 3, padding="same")])
    a = analyze_model(model, (12, 12, 1))
    assert a.output_shape == (12, 12, 1) and a.total_params == (9 * 2 + 2) + (18 + 1)


def test_subclassed_model_gets_an_opaque_analysis_and_graph_rules_are_skipped():
    from caedoctor.checks import build_context, run_rules
    from caedoctor.checks.engine import skipped_for_opaque_model

    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = layers.Conv2D(1, 3, padding="same", activation="linear")

        def call(self, x):
            return self.conv(x)

    with pytest.raises(ModelError, match="subclassed; give the data"):
        analyze_model(Custom())
    a = analyze_model(Custom(), (8, 8, 1))
    assert a.opaque and a.output_shape == (8, 8, 1) and a.total_params == 10 and a.layers == []
    model = Custom()
    model.compile(optimizer=keras.optimizers.Adam(0.5), loss="mse")
    context = build_context(model, None, input_shape=(8, 8, 1))
    codes = [f.code for f in run_rules(context)]
    assert "CAE501" in codes  # the learning rate is still read
    assert "CAE203" not in codes  # a linear output is not judged: the graph is not read
    assert "CAE203" in skipped_for_opaque_model(context) and "CAE501" not in skipped_for_opaque_model(context)


def test_shared_layer_called_twice_appears_twice_but_counts_once():
    shared = layers.Conv2D(1, 3, padding="same", name="shared")
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, shared(shared(inputs)))
    a = analyze_model(model)
    assert [i.name for i in a.layers][1:] == ["shared", "shared#2"]
    assert a.total_params == 10


def test_analysis_is_plain_data():
    d = analyze_model(cae()).to_dict()
    assert d["bottleneck"] == "enc2_pool" and d["compression_ratio"] == pytest.approx(4 * 4 * 8 / 256)
    assert d["layers"][1]["output_shape"] == [16, 16, 4]
