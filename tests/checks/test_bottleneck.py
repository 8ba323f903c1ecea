"""One bottleneck for every stage: CAE301, CAE302, the symptom findings and the bottleneck fix cannot disagree.

Issue 15: `bottleneck_too_narrow` ("no bottleneck layer found") was reported next to CAE302 saying the
bottleneck "holds as many values as the input": the reader took the input passed through a noise layer as
the bottleneck (no layer sets its width), and a stalled probe blamed a narrow bottleneck all the same."""

from __future__ import annotations

import keras
import pytest
from check_helpers import context, findings_of, images
from keras import layers

from caedoctor.checks import analyze_model
from caedoctor.checks.bottleneck import bottleneck_of
from caedoctor.data import load_data
from caedoctor.checks.probe_findings import findings_from_symptoms
from caedoctor.findings import Fix
from caedoctor.fixes import NotApplicable, apply_fix
from caedoctor.models import load_model
from caedoctor.setup import Setup


def _model(kind: str) -> keras.Model:
    inputs = keras.Input((16, 16, 1), name="image")
    x = inputs
    if kind == "noisy_overcomplete":  # a denoising CAE that never compresses: every tensor >= the input
        x = layers.GaussianNoise(0.1, name="noise")(x)
        x = layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(x)
        x = layers.MaxPool2D(2, name="p1")(x)
        x = layers.Conv2D(8, 3, padding="same", activation="relu", name="c2")(x)
        x = layers.UpSampling2D(2, name="u1")(x)
    elif kind == "rescaled_narrow":  # preprocessing in the model, then a real code
        x = layers.Rescaling(1.0, name="scale")(x)
        x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="c1")(x)
        x = layers.Conv2D(1, 3, strides=2, padding="same", activation="relu", name="code")(x)
        x = layers.UpSampling2D(4, name="u1")(x)
    elif kind == "very_narrow":  # 1 value per 256
        x = layers.Flatten(name="flat")(x)
        x = layers.Dense(1, activation="relu", name="code")(x)
        x = layers.Dense(256, activation="relu", name="expand")(x)
        x = layers.Reshape((16, 16, 1), name="reshape")(x)
    elif kind == "full_resolution":  # no downsampling at all
        x = layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(x)
        x = layers.Conv2D(4, 3, padding="same", activation="relu", name="c2")(x)
    else:  # "ordinary": 16x16x1 -> 4x4x8, 1:2
        x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="c1")(x)
        x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="code")(x)
        x = layers.UpSampling2D(4, name="u1")(x)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="out")(x)
    model = keras.Model(inputs, outputs, name=kind)
    model.compile(optimizer="adam", loss="mse")
    return model


KINDS = ("noisy_overcomplete", "rescaled_narrow", "very_narrow", "full_resolution", "ordinary")
STUCK = {"name": "stuck", "present": True, "cause": "bottleneck_too_narrow", "evidence": {}, "message": "stuck"}


def test_the_input_through_a_noise_layer_is_not_the_bottleneck():
    a = analyze_model(_model("noisy_overcomplete"), (16, 16, 1))
    b = bottleneck_of(a)
    assert b.tensor != "noise" and b.layer is not None  # a code is what a learned layer computed
    assert b.ratio >= 1 and not b.narrowable and "does not compress" in b.why_not
    assert bottleneck_of(analyze_model(_model("rescaled_narrow"), (16, 16, 1))).layer == "code"


@pytest.mark.parametrize("kind", KINDS)
def test_static_rules_symptom_findings_and_the_fix_agree_on_the_bottleneck(kind):
    model = _model(kind)
    x = images(32, 16, 1)
    ctx = context(model, x)
    b = bottleneck_of(ctx.analysis)
    narrow, overcomplete = findings_of(ctx, "CAE301"), findings_of(ctx, "CAE302")
    assert not (narrow and overcomplete)
    assert bool(overcomplete) == (not b.compresses)
    suspected = [f for f in findings_from_symptoms([STUCK], [], None, None, ctx.analysis)
                 if f.cause == "bottleneck_too_narrow"]
    if overcomplete:  # the model can copy its input: "too narrow" is never said of it
        assert not suspected
    assert bool(suspected) == b.narrowable
    data = load_data(x)
    setup = Setup.of(load_model(model, data.input_shape), data)
    for finding in narrow + suspected:  # every "too narrow" finding can be tested, on the same layer
        new = apply_fix(setup, finding.fix)
        before = setup.model.get_layer(b.layer)
        after = new.model.get_layer(b.layer)
        width = "units" if isinstance(before, layers.Dense) else "filters"
        assert getattr(after, width) > getattr(before, width)
    if not b.narrowable:
        with pytest.raises(NotApplicable) as exc:
            apply_fix(setup, Fix("bottleneck", {"factor": 4.0}))
        assert str(exc.value) == b.why_not  # the words CAE302 and the symptom stage agree with


def test_without_the_analysis_the_symptom_finding_is_raised_as_before():
    found = findings_from_symptoms([STUCK], [], None, None)
    assert [f.cause for f in found] == ["bottleneck_too_narrow"]
