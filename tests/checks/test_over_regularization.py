"""CAE309 (over_regularization) reads dropout rates and penalty strengths as the model holds them, and its fix
(`reduce_regularization`) removes exactly what it read, so the counterfactual probe can test it."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from check_helpers import context, findings_of, images
from keras import layers

from caedoctor.checks.rules.architecture import over_regularization as R
from caedoctor.data import load_data
from caedoctor.findings import CAUSES, Fix
from caedoctor.fixes import NotApplicable, apply_fix
from caedoctor.models import load_model
from caedoctor.models.regularization import regularization_of
from caedoctor.setup import Setup


def _cae(dropout=0.0, l2=0.0, activity=0.0, encoder_dropout=0.0, sequential_names=True) -> keras.Model:
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input((16, 16, 1))
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", kernel_regularizer=reg, name="e1")(inputs)
    if encoder_dropout:
        x = layers.Dropout(encoder_dropout, name="enc_drop")(x)
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", kernel_regularizer=reg, name="code",
                      activity_regularizer=keras.regularizers.L1(activity) if activity else None)(x)
    x = layers.Conv2DTranspose(8, 4, strides=2, padding="same", activation="relu", kernel_regularizer=reg, name="d1")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dec_drop1")(x)
    x = layers.Conv2DTranspose(8, 4, strides=2, padding="same", activation="relu", kernel_regularizer=reg, name="d2")(x)
    if dropout:
        x = layers.SpatialDropout2D(dropout, name="dec_drop2")(x)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="out")(x)
    model = keras.Model(inputs, outputs, name="reg_cae")
    model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="mse")  # AdamW's decoupled decay is not read
    return model


X = images(48, 16, 1)
VAR = float(np.std(X)) ** 2


def test_the_cause_is_in_the_vocabulary_and_the_reader_reads_every_form():
    assert "over_regularization" in CAUSES
    l1l2 = layers.Dense(3, kernel_regularizer=keras.regularizers.L1L2(l1=1e-3, l2=2e-3))
    l1l2.build((None, 4))
    r = regularization_of(l1l2)
    assert r["kernel_l1"] == pytest.approx(1e-3) and r["kernel_l2"] == pytest.approx(2e-3)
    w = np.asarray(l1l2.kernel)
    assert r["kernel_sq_sum"] == pytest.approx(float(np.sum(w * w)), rel=1e-5)
    assert r["kernel_abs_sum"] == pytest.approx(float(np.sum(np.abs(w))), rel=1e-5)
    assert regularization_of(layers.GaussianDropout(0.3)) == {"dropout": 0.3}
    assert regularization_of(layers.ActivityRegularization(l1=0.01)) == {"activity_l1": pytest.approx(0.01)}
    assert regularization_of(layers.Dense(2, kernel_regularizer=keras.regularizers.OrthogonalRegularizer())) == \
        {"custom": ["kernel_regularizer=OrthogonalRegularizer"]}
    assert regularization_of(layers.Dense(2)) == {}


def test_weight_and_activity_penalties_are_measured_against_the_loss_of_the_mean_image():
    model = _cae(l2=1e-3, activity=1e-4)
    ctx = context(model, X)
    s = R.strengths(ctx.analysis, R.baseline_loss(ctx)[0])
    kernels = [model.get_layer(n).kernel for n in ("e1", "code", "d1", "d2")]
    penalty = 1e-3 * sum(float(np.sum(np.square(np.asarray(k)))) for k in kernels)
    assert R.baseline_loss(ctx)[0] == pytest.approx(VAR, rel=1e-3)
    assert s["weight_penalty"] == pytest.approx(penalty / VAR, rel=1e-3)
    assert s["activity_penalty"] == pytest.approx(1e-4 * 4 * 4 * 4 / VAR, rel=1e-3)  # code: 4x4x4 values
    assert s["layers"]["weight"] == ["e1", "code", "d1", "d2"] and s["layers"]["activity"] == ["code"]


@pytest.mark.parametrize("kwargs, fires", [
    ({}, False),
    ({"dropout": R.MAX_DECODER_DROPOUT}, True),
    ({"dropout": R.MAX_DECODER_DROPOUT / 2}, False),
    ({"encoder_dropout": R.MAX_DECODER_DROPOUT}, R.MAX_DECODER_DROPOUT >= R.MAX_ENCODER_DROPOUT),
    ({"encoder_dropout": R.MAX_ENCODER_DROPOUT}, True),
])
def test_dropout_thresholds(kwargs, fires):
    found = findings_of(context(_cae(**kwargs), X), "CAE309")
    assert bool(found) == fires
    if found and "dropout" in kwargs:
        assert found[0].evidence["layers"] == ["dec_drop1", "dec_drop2"] and "in the decoder" in found[0].message


@pytest.mark.parametrize("form", ("weight", "activity"))
def test_penalty_thresholds_fire_at_twice_and_not_at_half(form):
    probe = context(_cae(l2=1e-3) if form == "weight" else _cae(activity=1e-4), X)
    unit = R.strengths(probe.analysis, R.baseline_loss(probe)[0])[f"{form}_penalty"]  # per the chosen strength
    limit = R.MAX_WEIGHT_PENALTY if form == "weight" else R.MAX_ACTIVITY_PENALTY
    for scale, fires in ((2.0, True), (0.5, False)):
        strength = (1e-3 if form == "weight" else 1e-4) * scale * limit / unit
        model = _cae(l2=strength) if form == "weight" else _cae(activity=strength)
        found = findings_of(context(model, X), "CAE309")
        assert bool(found) == fires, (form, scale)
    assert found == [] or found[0].fix.kind == "reduce_regularization"


def test_the_fix_removes_what_the_rule_read_and_the_rule_goes_quiet(tmp_path):
    model = _cae(dropout=0.5, l2=1e-2, activity=1e-2)
    data = load_data(X)
    setup = Setup.of(load_model(model, data.input_shape), data)
    finding = findings_of(context(model, X), "CAE309")[0]
    assert finding.fix.kind == "reduce_regularization" and finding.fix.params["factor"] == 0.0
    assert set(finding.fix.params["layers"]) == {"dec_drop1", "dec_drop2", "e1", "code", "d1", "d2"}
    new = apply_fix(setup, finding.fix)
    assert not findings_of(context(new.model, X), "CAE309")
    for name in ("dec_drop1", "dec_drop2"):
        assert isinstance(new.model.get_layer(name), layers.Identity)  # same graph, same names
    assert all(regularization_of(layer) == {} for layer in new.model.layers)
    assert new.model.output_shape == model.output_shape and model.get_layer("dec_drop1").rate == 0.5  # untouched
    new.model(X[:2], training=True)
    assert not new.model.losses  # no penalty left in the loss
    path = tmp_path / "m.keras"
    new.model.save(path)
    keras.saving.load_model(path, safe_mode=True)


def test_the_fix_can_weaken_instead_of_remove_and_says_when_there_is_nothing():
    model = _cae(dropout=0.4, l2=1e-2)
    data = load_data(X)
    setup = Setup.of(load_model(model, data.input_shape), data)
    half = apply_fix(setup, Fix("reduce_regularization", {"factor": 0.5}))
    assert half.model.get_layer("dec_drop1").rate == pytest.approx(0.2)
    assert regularization_of(half.model.get_layer("d1"))["kernel_l2"] == pytest.approx(5e-3)
    only = apply_fix(setup, Fix("reduce_regularization", {"layers": ["dec_drop1"]}))
    assert isinstance(only.model.get_layer("dec_drop1"), layers.Identity)
    assert only.model.get_layer("dec_drop2").rate == pytest.approx(0.4)
    plain = Setup.of(load_model(_cae(), data.input_shape), data)
    with pytest.raises(NotApplicable, match="no dropout layer or weight/activity regularizer"):
        apply_fix(plain, Fix("reduce_regularization", {}))
    with pytest.raises(NotApplicable, match="factor=1.5"):
        apply_fix(setup, Fix("reduce_regularization", {"factor": 1.5}))
