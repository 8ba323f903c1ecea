"""Every rule fires on a set-up built to show its cause and stays silent on the same set-up without it.

`CASES` maps each rule code to a builder returning `(firing context, silent context, expect)`, where
`expect(finding)` checks the numbers the message and evidence must quote. A rule added to the registry
without a case here fails `test_every_rule_has_a_case`.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from check_helpers import cae, context, findings_of, images, mnist_three_pool_cae, raw_images
from keras import layers

from caedoctor.fixes import get_fix_kind
from caedoctor.checks import RULES, get_rule
from caedoctor.losses import SSIMLoss

CASES = {}


def case(code):
    def register(builder):
        CASES[code] = builder
        return builder
    return register


def _sequential(input_shape, *layer_list, name="seq"):
    return keras.Sequential([keras.Input(input_shape), *layer_list], name=name)


# ------------------------------------------------------------------ CAE1xx data

@case("CAE101")
def _():
    bad = images()
    bad[3, 2, 2, 0] = np.nan
    bad[7, 0, 0, 0] = np.inf

    def expect(f):
        assert f.evidence["nan_count"] == 1 and f.evidence["inf_count"] == 1
        assert f.evidence["first_indices"] == [3, 7]
        assert "1 NaN and 1 Inf" in f.message and "train[3]" in f.message
        assert f.fix.kind == "data" and f.fix.params == {"action": "drop_nonfinite"}
    return context(cae(), bad), context(cae(), images()), expect


@case("CAE102")
def _():
    def expect(f):
        assert f.evidence["train_count"] == 45 and "only 45 training samples" in f.message
    return context(cae(), images(50)), context(cae(), images(200)), expect


@case("CAE103")
def _():
    x = images(100)
    x[60:] = x[:40]  # 40 exact repeats

    def expect(f):
        assert f.evidence["exact_duplicates"] == 40 and f.evidence["near_duplicates"] >= 40
        assert "(40 exactly)" in f.message and "40.0%" in f.message
    return context(cae(), x), context(cae(), images(100)), expect


@case("CAE104")
def _():
    raw = raw_images()

    def expect(f):
        assert (f.evidence["min"], f.evidence["max"]) == (0, 255)
        assert f.fix.kind == "normalize_inputs" and f.fix.params["method"] == "unit"
        assert "the inputs span [0, 255]" in f.message
    return context(cae(), raw), context(cae(), images()), expect


@case("CAE105")
def _():
    x = images()

    def expect(f):
        assert f.evidence["scale_ratio"] == pytest.approx(255, rel=1e-3)
        assert f.fix.kind == "normalize_targets" and f.fix.params["method"] == "like_inputs"
    return context(cae(), x, x * 255), context(cae(), x, x.copy()), expect


@case("CAE106")
def _():
    x = images(200)
    shuffled = x[np.random.default_rng(1).permutation(len(x))]
    noisy = np.clip(x + np.random.default_rng(2).normal(0, 0.3, x.shape), 0, 1).astype(np.float32)

    def expect(f):
        assert abs(f.evidence["paired_correlation"] - f.evidence["unpaired_correlation"]) < 0.05
        assert f.evidence["pairs_checked"] == 200
        assert f.fix.kind == "inputs_as_targets"
    # silent: a denoising pair (noisy inputs, clean targets) belongs together however noisy
    return context(cae(), x, shuffled), context(cae(), noisy, x), expect


@case("CAE107")
def _():
    from tiny import blobs

    clean = blobs(200, 16)
    noisy = (clean + np.random.default_rng(3).normal(0, 0.2, clean.shape)).astype(np.float32)

    def expect(f):
        assert f.evidence["noise_correlation"] > 0.9 and f.evidence["target_noise_share"] > 0.15
        assert f.evidence["pairs_checked"] == 200 and f.fix.kind == "smooth_targets"
        assert "carry the inputs' own pixel noise" in f.message
    # silent: the denoising pair as meant (noisy inputs, clean targets)
    return context(cae(), noisy, np.clip(noisy, 0, 1)), context(cae(), noisy, clean), expect


@case("CAE108")
def _():
    from tiny import blobs

    clean = blobs(200, 16)
    flipped = clean.copy()
    flipped[::2] = flipped[::2, :, ::-1]  # tf.image.random_flip_left_right on the inputs only

    def expect(f):
        assert 0.3 < f.evidence["misaligned_fraction"] <= 0.5 and f.evidence["misaligned_by"] == "flip left-right"
        assert f.fix.kind == "align_targets" and "% of 200 targets" in f.message
    return context(cae(), flipped, clean), context(cae(), clean, np.clip(clean * 1.1, 0, 1)), expect


# ------------------------------------------------------------------ CAE2xx output, loss, shapes

@case("CAE201")
def _():
    def expect(f):
        assert f.evidence["output_activation"] == "sigmoid" and f.evidence["output_range"] == [0.0, 1.0]
        assert "can only produce (0, 1)" in f.message and f.evidence["target_max"] == 255
        assert f.fix.kind == "output_activation" and f.fix.params["activation"] == "linear"
    raw = raw_images()
    return context(cae(out="sigmoid"), raw), context(cae(out="sigmoid"), images()), expect


@case("CAE202")
def _():
    x = images(low=-1.0, high=1.0)
    x[0, 0, 0, 0] = 1.1  # 0.1 of a 2.1 span out of tanh's reach: 4.8%

    def expect(f):
        assert f.evidence["outside_fraction"] == pytest.approx(0.1 / (1.1 - x.min()), rel=1e-3)
        assert "tanh output" in f.message
    return context(cae(out="tanh"), x), context(cae(out="tanh"), images(low=-1.0, high=1.0)), expect


@case("CAE203")
def _():
    def expect(f):
        assert f.severity == "info" and "caedoctor diagnose" in f.message and "linear" in f.message
        assert f.fix.params["activation"] == "sigmoid"
    return context(cae(out="linear"), images()), context(cae(out="sigmoid"), images()), expect


@case("CAE204")
def _():
    def expect(f):
        assert f.evidence["target_max"] == 255 and f.fix.kind == "loss" and f.fix.params["loss"] == "mse"
    raw = raw_images()
    return (context(cae(out="linear"), raw, loss="bce"), context(cae(out="sigmoid"), images(), loss="bce"),
            expect)


@case("CAE205")
def _():
    def compiled(max_val):
        model = cae()
        model.compile(optimizer="adam", loss=SSIMLoss(max_val=max_val))
        return model

    def expect(f):
        assert f.evidence["max_val"] == 255 and f.evidence["dynamic_range"] == 1.0
        assert "65,025x too large" in f.message and f.fix.params == {"loss": "ssim", "max_val": 1.0}
    return context(compiled(255.0), images()), context(compiled(1.0), images()), expect


@case("CAE206")
def _():
    def expect(f):
        assert f.evidence["output_activation"] == "linear" and f.fix.params["activation"] == "sigmoid"
    return context(cae(out="linear"), loss="bce"), context(cae(out="sigmoid"), loss="bce"), expect


@case("CAE209")
def _():
    def expect(f):
        assert f.evidence["loss"] == "categorical_crossentropy" and f.fix.params == {"loss": "mse"}
        assert "classifier's loss" in f.message
    return context(cae(), loss="categorical_crossentropy"), context(cae(), loss="mse"), expect


@case("CAE207")
def _():
    def expect(f):
        assert f.evidence["output_shape"] == [32, 32, 1] and f.evidence["target_shape"] == [28, 28, 1]
        assert f.evidence["layer"] == "pool3" and f.evidence["downsampling"] == 8
        assert "It goes wrong at pool3 (MaxPooling2D)" in f.message and "rounds up to 4x4" in f.message
        assert f.fix.kind == "input_padding" and f.fix.params["pad_to"] == [32, 32]
    silent = cae((32, 32, 1), pools=3)
    return context(mnist_three_pool_cae()), context(silent), expect


@case("CAE208")
def _():
    def expect(f):
        assert f.evidence["data_shape"] == [16, 16, 1] and f.evidence["model_shape"] == [32, 32, 3]
        assert f.fix.kind == "input_shape"
    return context(cae((32, 32, 3)), images()), context(cae((16, 16, 1)), images()), expect


# ------------------------------------------------------------------ CAE3xx architecture

def _dense_bottleneck(units, input_shape=(32, 32, 1)):
    return _sequential(input_shape, layers.Conv2D(4, 3, padding="same", activation="relu"), layers.Flatten(),
                       layers.Dense(units, activation="relu", name="code"),
                       layers.Dense(input_shape[0] * input_shape[1] * 4, activation="relu"),
                       layers.Reshape((input_shape[0], input_shape[1], 4)),
                       layers.Conv2D(input_shape[-1], 3, padding="same", activation="sigmoid"))


@case("CAE301")
def _():
    def expect(f):
        assert f.evidence["latent_size"] == 4 and f.evidence["input_size"] == 1024
        assert f.evidence["bottleneck_layer"] == "code" and "1:256" in f.message
        assert f.fix.kind == "bottleneck" and f.fix.params["layers"] == ["code"] and f.fix.params["factor"] == 8.0
    return context(_dense_bottleneck(4)), context(_dense_bottleneck(64)), expect


@case("CAE302")
def _():
    def expect(f):
        assert f.severity == "info" and f.evidence["compression_ratio"] >= 1
        assert "no cause of non-convergence" in f.message
    no_pool = _sequential((16, 16, 1), layers.Conv2D(4, 3, padding="same", activation="relu"),
                          layers.Conv2D(1, 3, padding="same", activation="sigmoid"))
    return context(no_pool), context(_dense_bottleneck(64)), expect


def _unet(input_shape=(16, 16, 1)):
    inputs = keras.Input(input_shape)
    c1 = layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inputs)
    p1 = layers.MaxPool2D(name="p1")(c1)
    c2 = layers.Conv2D(8, 3, padding="same", activation="relu", name="c2")(p1)
    p2 = layers.MaxPool2D(name="p2")(c2)
    u2 = layers.UpSampling2D(name="u2")(p2)
    m2 = layers.Concatenate(name="cat2")([u2, c2])
    u1 = layers.UpSampling2D(name="u1")(layers.Conv2D(8, 3, padding="same", activation="relu", name="d2")(m2))
    m1 = layers.Concatenate(name="cat1")([u1, c1])
    outputs = layers.Conv2D(1, 1, activation="sigmoid", name="out")(m1)
    return keras.Model(inputs, outputs, name="unet")


@case("CAE303")
def _():
    def expect(f):
        assert sorted(map(tuple, f.evidence["skip_connections"])) == [("c1", "cat1"), ("c2", "cat2")]
        assert f.fix.kind == "remove_skip" and f.fix.params["layers"] == ["cat1", "cat2"]
    return context(_unet()), context(cae()), expect


def _lopsided():
    return _sequential((16, 16, 1), *[layers.Conv2D(32, 3, padding="same", activation="relu") for _ in range(3)],
                       layers.MaxPool2D(), layers.Conv2D(8, 3, padding="same", activation="relu"),
                       layers.UpSampling2D(), layers.Conv2D(1, 3, padding="same", activation="sigmoid"))


@case("CAE304")
def _():
    def expect(f):
        assert f.evidence["weaker_half"] == "decoder" and f.evidence["param_ratio"] >= 10
        assert f.fix.kind == "capacity" and f.fix.params["half"] == "decoder"
    return context(_lopsided()), context(cae()), expect


@case("CAE305")
def _():
    big = _sequential((16, 16, 1), layers.Conv2D(4, 3, padding="same", activation="relu"), layers.MaxPool2D(4),
                      layers.Conv2D(4, 5, padding="same", activation="relu", name="big"), layers.UpSampling2D(4),
                      layers.Conv2D(1, 3, padding="same", activation="sigmoid"))

    def expect(f):
        assert f.evidence["layer"] == "big" and f.evidence["kernel"] == [5, 5] and f.evidence["map"] == [4, 4]
        assert f.fix.params == {"layers": {"big": 3}}
    return context(big), context(cae()), expect


def _strided(kernel):
    return _sequential((16, 16, 1), layers.Conv2D(8, kernel, strides=2, padding="same", activation="relu",
                                                  name="strided"),
                       layers.Conv2DTranspose(8, 4, strides=2, padding="same", activation="relu"),
                       layers.Conv2D(1, 3, padding="same", activation="sigmoid"))


@case("CAE306")
def _():
    def expect(f):
        assert f.evidence["layer"] == "strided" and f.evidence["unseen_fraction"] == pytest.approx(0.75)
        assert "75%" in f.message and f.fix.params == {"layer": "strided", "kernel": 2}
    return context(_strided(1)), context(_strided(3)), expect


@case("CAE307")
def _():
    def expect(f):
        assert f.evidence["receptive_field"] == 10 and f.evidence["input_side"] == 64
        assert f.severity == "info"
    return context(cae((64, 64, 1))), context(cae((32, 32, 1))), expect


def _upsampler(kernel):
    return _sequential((16, 16, 1), layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
                       layers.Conv2DTranspose(8, kernel, strides=2, padding="same", activation="relu", name="up"),
                       layers.Conv2D(1, 3, padding="same", activation="sigmoid"))


@case("CAE308")
def _():
    def expect(f):
        assert f.evidence == {"layer": "up", "kernel": [3, 3], "strides": [2, 2]}
        assert f.fix.kind == "transpose_kernel" and f.fix.params == {"layer": "up", "kernel": 4}
    return context(_upsampler(3)), context(_upsampler(4)), expect


@case("CAE309")
def _():
    def build(rate):
        return _sequential((16, 16, 1), layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
                           layers.Conv2DTranspose(8, 4, strides=2, padding="same", activation="relu"),
                           *([layers.Dropout(rate, name="drop")] if rate else []),
                           layers.Conv2D(1, 3, padding="same", activation="sigmoid"))

    def expect(f):
        assert f.evidence["decoder_dropout"] == 0.5 and f.evidence["layers"] == ["drop"]
        assert f.fix.kind == "reduce_regularization" and f.fix.params == {"factor": 0.0, "layers": ["drop"]}
    return context(build(0.5), images()), context(build(0.0), images()), expect


# ------------------------------------------------------------------ CAE4xx activations

@case("CAE401")
def _():
    signed = images(low=-1.0, high=1.0)

    def expect(f):
        assert f.severity == "info" and f.evidence["signed"] == "inputs" and len(f.evidence["hidden_relu_layers"]) == 4
        assert f.fix.params == {"from": "relu", "to": "leaky_relu"}
    return context(cae(act="relu", out="tanh"), signed), context(cae(act="LeakyReLU", out="tanh"), signed), expect


def _sigmoid_stack(n):
    convs = [layers.Conv2D(4, 3, padding="same", activation="sigmoid") for _ in range(n)]
    return _sequential((16, 16, 1), *convs, layers.Conv2D(1, 3, padding="same", activation="sigmoid"))


@case("CAE402")
def _():
    def expect(f):
        assert f.evidence["sigmoid_layers_on_path"] == 4 and f.evidence["gradient_bound"] == pytest.approx(0.25 ** 4)
        assert "0.0039" in f.message
    return context(_sigmoid_stack(4)), context(_sigmoid_stack(3)), expect


@case("CAE403")
def _():
    raw = raw_images()

    def expect(f):
        assert f.evidence["activation"] == "tanh" and f.evidence["preactivation_std_estimate"] > 3
        assert f.fix.kind == "normalize_inputs"
    return context(cae(act="tanh"), raw), context(cae(act="tanh"), images()), expect


def _init(model, stddev):
    """`model` with every hidden conv kernel drawn from N(0, stddev)."""
    def swap(layer):
        config = layer.get_config()
        if hasattr(layer, "kernel_initializer") and layer.name != "output":
            config["kernel_initializer"] = {"class_name": "RandomNormal", "config": {"stddev": stddev}}
        return layer.__class__.from_config(config)
    return keras.models.clone_model(model, clone_function=swap)


@case("CAE404")
def _():
    def expect(f):
        assert f.evidence["activation_gain"] >= 10 and "enc2_conv" in f.evidence["layers"]
        assert f.fix.kind == "initializer" and f.fix.params["initializer"] == "glorot_uniform"
    big = _init(cae(act="LeakyReLU", filters=16), 0.5)
    return context(big), context(cae(act="LeakyReLU", filters=16)), expect


@case("CAE405")
def _():
    def expect(f):
        assert f.evidence["activation_gain"] >= 10 and f.fix.kind == "initializer"
    # tanh with N(0, 1) kernels: saturation, not explosion (and CAE404 stays silent on it)
    big = _init(cae(act="tanh", filters=16), 1.0)
    assert findings_of(context(big), "CAE404") == []
    return context(big), context(_init(cae(act="tanh", filters=16), 0.05)), expect


# ------------------------------------------------------------------ CAE5xx training set-up

@case("CAE406")
def _():
    def model(bias):
        return _sequential((16, 16, 1), layers.Conv2D(8, 3, padding="same", bias_initializer=bias, name="enc"),
                           layers.ReLU(), layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="out"))

    def expect(f):
        assert f.evidence["layers"] == {"enc": -0.5} and "enc -0.5" in f.message
        assert f.fix.kind == "initializer" and f.fix.params == {"bias_initializer": "zeros"}
    return (context(model(keras.initializers.Constant(-0.5))), context(model("zeros")), expect)


@case("CAE501")
def _():
    def expect(f):
        assert f.evidence["learning_rate"] == 0.1 and f.evidence["factor"] == pytest.approx(10)
        assert "10x above the usual range" in f.message and f.fix.kind == "learning_rate"
    return context(cae(), learning_rate=0.1), context(cae(), learning_rate=1e-3), expect


@case("CAE502")
def _():
    def expect(f):
        assert f.evidence["optimizer"] == "SGD" and f.evidence["factor"] == pytest.approx(100)
    return (context(cae(), optimizer="sgd", learning_rate=1e-6), context(cae(), optimizer="sgd", learning_rate=1e-2),
            expect)


@case("CAE503")
def _():
    def expect(f):
        assert f.evidence["batch_size"] == 4 and len(f.evidence["batchnorm_layers"]) == 4
        assert f.fix.params == {"batch_size": 32}
    model = cae(batch_norm=True)
    return context(model, batch_size=4), context(model, batch_size=32), expect


@case("CAE504")
def _():
    def expect(f):
        assert f.evidence["steps_per_epoch"] == 1 and f.evidence["train_count"] == 90
        assert f.fix.params["batch_size"] == 4
    x = images(100)
    return context(cae(), x, batch_size=256), context(cae(), x, batch_size=8), expect


# ------------------------------------------------------------------ the tests

def test_every_rule_has_a_case():
    assert sorted(CASES) == sorted(r.code for r in RULES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires(code):
    fire, _, expect = CASES[code]()
    found = findings_of(fire, code)
    assert found, f"{code} did not fire"
    rule = get_rule(code)
    for f in found:
        assert (f.code, f.cause, f.severity) == (rule.code, rule.cause, rule.severity)
        assert any(ch.isdigit() for ch in f.message), "messages quote measured numbers"
        assert f.fix is not None and f.evidence
        get_fix_kind(f.fix.kind)  # every fix a rule proposes is one the fixes registry knows
        assert f.to_dict()["doc_url_or_rule"] == f"caedoctor rule {code}"
    expect(found[0])


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_stays_silent(code):
    _, silent, _ = CASES[code]()
    assert findings_of(silent, code) == []


# ------------------------------------------------------------------ the output range, beyond sigmoid

def test_relu_output_cannot_reproduce_standardised_targets():
    x = images(200, low=-2.0, high=2.0)
    (f,) = findings_of(context(cae(out="relu"), x), "CAE201")
    assert f.evidence["output_range"] == [0.0, float("inf")] and "can only produce (0, inf)" in f.message
    assert f.fix.params["activation"] == "linear"


def test_bce_on_targets_outside_unit_is_cae204s_alone_so_the_fixes_cannot_contradict():
    """A linear output under BCE on [-1, 1] targets: CAE204 says use MSE; a sigmoid (CAE206's fix) could not
    reach the negative targets under MSE, so CAE206 stays silent rather than advise it (test3-007: both fixes
    applied, a sigmoid output on [-1, 1] data). Without data, CAE206 still fires."""
    signed = images(64, low=-1.0, high=1.0)
    found = {f.code: f for f in findings_of(context(cae(out="linear"), signed, loss="bce"), "CAE20")}
    assert "CAE204" in found and found["CAE204"].fix.params == {"loss": "mse"}
    assert "CAE206" not in found
    assert [f.code for f in findings_of(context(cae(out="linear"), loss="bce"), "CAE206")] == ["CAE206"]
    assert [f.code for f in findings_of(context(cae(out="linear"), images(), loss="bce"), "CAE206")] == ["CAE206"]


def test_sigmoid_followed_by_rescaling_covers_0_255_targets():
    model = keras.Sequential([keras.Input((16, 16, 1)), layers.Conv2D(4, 3, padding="same", activation="relu"),
                              layers.Conv2D(1, 3, padding="same", activation="sigmoid"), layers.Rescaling(255.0)])
    raw = raw_images(200)
    assert findings_of(context(model, raw), "CAE2") == []


def test_receptive_field_gaps_fix_widens_every_strided_layer_that_skips_pixels():
    model = _sequential((16, 16, 1),
                        layers.Conv2D(8, 1, strides=2, padding="same", activation="relu", name="s1"),
                        layers.Conv2D(8, 1, strides=2, padding="same", activation="relu", name="s2"),
                        layers.Conv2DTranspose(8, 4, strides=4, padding="same", activation="relu"),
                        layers.Conv2D(1, 3, padding="same", activation="sigmoid"))
    (f,) = findings_of(context(model), "CAE306")
    assert f.fix.params["layers"] == {"s1": 2, "s2": 2}
    assert "1 more strided layer" in f.message


def test_kernels_larger_than_their_maps_are_one_finding_with_one_fix():
    two = _sequential((16, 16, 1), layers.Conv2D(4, 3, padding="same", activation="relu"), layers.MaxPool2D(4),
                      layers.Conv2D(4, 5, padding="same", activation="relu", name="big"),
                      layers.Conv2D(4, 7, padding="same", activation="relu", name="bigger"), layers.UpSampling2D(4),
                      layers.Conv2D(1, 3, padding="same", activation="sigmoid"))
    (f,) = findings_of(context(two), "CAE305")
    assert f.fix.params == {"layers": {"big": 3, "bigger": 3}}
    assert set(f.evidence["layers"]) == {"big", "bigger"} and "bigger (Conv2D) slides a 7x7 kernel" in f.message


# ------------------------------------------------------------------ CAE207: the fix that restores the CAE

def _decoder_cae(*tail, ups=2):
    """A 16x16 CAE pooling twice and upsampling `ups` times, then `tail` layers and a 1-channel output conv."""
    body = [layers.Conv2D(4, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(4, 3, padding="same", activation="relu"), layers.MaxPooling2D(2)]
    body += [layers.UpSampling2D(2) for _ in range(ups)]
    return _sequential((16, 16, 1), *body, *tail, layers.Conv2D(1, 3, padding="same", activation="sigmoid"))


def test_a_decoder_one_upsampling_short_gets_the_upsampling_back_not_a_zero_border():
    (f,) = findings_of(context(_decoder_cae(ups=1), images()), "CAE207")
    assert f.evidence["missing_upsampling"] == [2, 2] and "one upsampling too few" in f.message
    assert f.fix.kind == "upsample_output" and f.fix.params == {"factor": [2, 2]}


def test_a_cropping_layer_that_shrinks_the_output_is_removed():
    (f,) = findings_of(context(_decoder_cae(layers.Cropping2D(2, name="crop")), images()), "CAE207")
    assert f.evidence["layer"] == "crop" and "It goes wrong at crop (Cropping2D)" in f.message
    assert f.fix.kind == "remove_cropping" and f.fix.params == {"layer": "crop"}
    # A crop whose removal would not restore the target's size is not blamed alone: pad or crop instead.
    (g,) = findings_of(context(_decoder_cae(layers.Cropping2D(1, name="crop"), ups=1), images()), "CAE207")
    assert g.fix.kind == "crop_or_pad_output"


def test_a_code_of_one_value_in_32_is_suspected_and_tested_four_times_wider():
    (f,) = findings_of(context(_dense_bottleneck(32)), "CAE301")
    assert f.severity == "warning" and "1:32" in f.message and "may set the loss floor" in f.message
    assert f.fix.params["factor"] == 4.0


def test_shuffled_targets_are_cae106s_not_an_augmentation():
    """Some flip and shift of a small image matches an unrelated one by chance: targets that do not belong to
    their inputs at all raise CAE106 alone."""
    x = images(200)  # CAE106's own case
    shuffled = x[np.random.default_rng(1).permutation(len(x))]
    ctx = context(cae(), x, shuffled)
    assert findings_of(ctx, "CAE106") and not findings_of(ctx, "CAE108")
