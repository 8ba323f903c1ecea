"""The training as the user has it: the field notes' own code, compiled models in a module, Adadelta's default
rate, subclassed models, schedules and the fixes registry. Nothing is replaced by a default without a word."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from caedoctor.checks import check
from caedoctor.config import NotRescalable, OptimizerSpec
from caedoctor.data import load_data
from caedoctor.probing import probes as P
from caedoctor.checks.probe_rule import fix_for
from caedoctor.findings import CAUSES, Fix
from caedoctor.fixes import FIX_KINDS, FixContext, NotApplicable, apply_fix, get_fix_kind
from caedoctor.models import load_model
from caedoctor.setup import Setup

from tiny import blobs, compiled, tiny_cae

from field_notes import FIELD_NOTES



@pytest.fixture(scope="module")
def notes_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("notes") / "notes.py"
    path.write_text(FIELD_NOTES)
    return path


def _load(spec, shape=(32, 32, 3)):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Argument `alpha` is deprecated")  # the user's own code
        return load_model(spec, shape)


def test_the_compiled_model_the_user_has_is_diagnosed_as_compiled(notes_file):
    loaded = _load(f"{notes_file}:hyper_bad_cae")
    c = loaded.config
    assert (c.optimizer.class_name, c.learning_rate, c.loss_name) == ("Adam", pytest.approx(0.1), "mse")
    assert c.origin["optimizer"] == c.origin["learning_rate"] == c.origin["loss"] == "model"
    assert [n for n in c.notes if not n.startswith("batch size")] == []  # only the batch size is a default
    assert "CAE501" in [f.code for f in check(loaded)]


def test_a_factory_beside_the_compiled_model_says_which_one_is_trained(notes_file):
    c = _load(f"{notes_file}:create_hyper_bad_cae").config
    assert c.origin["learning_rate"] == "default"
    said = " ".join(c.notes)
    assert "not compiled" in said and "Adam(learning_rate=0.001)" in said
    assert f"{notes_file}:hyper_bad_cae" in said and "Adam(learning_rate=0.1)" in said


@pytest.mark.parametrize("rate, flagged", [(None, True), (1.0, False)])
def test_adadelta_at_keras_default_rate_is_flagged_as_too_low(rate, flagged):
    opt = keras.optimizers.Adadelta() if rate is None else keras.optimizers.Adadelta(learning_rate=rate)
    model = tiny_cae()
    model.compile(optimizer=opt, loss="binary_crossentropy")
    findings = {f.code: f for f in check(model, blobs(64))}
    assert ("CAE502" in findings) is flagged
    assert "CAE501" not in findings
    if flagged:
        assert findings["CAE502"].message.startswith("Adadelta at learning rate 0.001")
        assert findings["CAE502"].evidence["usual_range"] == [0.1, 10.0]


def test_sgd_on_a_sum_reduced_loss_is_judged_by_its_effective_rate():
    def sse(y_true, y_pred):
        return keras.ops.sum(keras.ops.square(y_true - y_pred), axis=(1, 2, 3))

    model = tiny_cae()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=sse)
    findings = {f.code: f for f in check(model, blobs(64))}
    high = findings["CAE501"]
    assert high.evidence["loss_scale"] == pytest.approx(256, rel=1e-3)
    assert high.evidence["effective_learning_rate"] == pytest.approx(2.56, rel=1e-3)
    plain = compiled(tiny_cae(), "sgd", 0.01, "mse")
    assert "CAE501" not in {f.code for f in check(plain, blobs(64))}


def test_learning_rate_fix_keeps_the_optimizer_and_its_arguments():
    data = load_data(blobs(32))
    model = tiny_cae()
    model.compile(optimizer=keras.optimizers.SGD(0.5, momentum=0.8, nesterov=True, clipnorm=1.0), loss="mae")
    setup = Setup.of(load_model(model, data.input_shape), data)
    new = apply_fix(setup, Fix("learning_rate", {"learning_rate": None}), FixContext(suggested_lr=0.02))
    built = new.config.optimizer.build()
    assert type(built) is keras.optimizers.SGD
    assert float(built.learning_rate) == pytest.approx(0.02)
    assert (built.momentum, built.nesterov, built.clipnorm) == (pytest.approx(0.8), True, 1.0)
    assert new.config.loss.value == "mae" and setup.config.learning_rate == 0.5  # the original is unchanged
    assert new.config.origin["learning_rate"] == "fix" and new.config.origin["optimizer"] == "model"


def test_a_schedule_is_scaled_as_a_whole():
    sched = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5, staircase=True)
    spec = OptimizerSpec.of(keras.optimizers.Adam(sched, clipnorm=2.0)).with_learning_rate(0.01)
    new = spec.schedule
    assert type(new).__name__ == "ExponentialDecay" and spec.learning_rate == pytest.approx(0.01)
    assert (new.decay_steps, new.decay_rate, new.staircase) == (100, 0.5, True)
    assert spec.config["clipnorm"] == 2.0
    piece = OptimizerSpec.of(keras.optimizers.SGD(keras.optimizers.schedules.PiecewiseConstantDecay(
        [10], [0.2, 0.02]))).scaled(0.5)
    assert [float(v) for v in piece.schedule.values] == pytest.approx([0.1, 0.01])

    class Halving(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.1 / (1.0 + keras.ops.cast(step, "float32"))

    custom = OptimizerSpec.of(keras.optimizers.SGD(Halving()))
    assert custom.learning_rate == pytest.approx(0.1)
    custom.build()  # a schedule without get_config is still rebuilt (the object itself is kept)
    with pytest.raises(NotRescalable, match="Halving"):
        custom.with_learning_rate(0.01)


class SubclassedAE(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.enc = keras.layers.Conv2D(4, 3, padding="same", activation="relu")
        self.dec = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")

    def call(self, x):
        return self.dec(self.enc(x))


def test_subclassed_model_trains_and_graph_fixes_say_they_are_not_testable():
    data = load_data(blobs(48))
    model = SubclassedAE()
    model(np.zeros((1, 16, 16, 1), np.float32))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    setup = Setup.of(load_model(model, data.input_shape), data)
    with pytest.raises(NotApplicable, match="not testable on a subclassed model"):
        apply_fix(setup, Fix("add_batchnorm", {}))
    slower = apply_fix(setup, Fix("learning_rate", {"learning_rate": 1e-3}))
    probe = P.run_probe(slower, steps=10, seed=0)
    assert probe.steps_run == 10 and np.isfinite(probe.relative_mse)


def test_every_cause_with_a_fix_has_a_registered_kind_that_applies_or_says_why():
    data = load_data(blobs(48))
    setup = Setup.of(load_model(compiled(tiny_cae()), data.input_shape), data)
    kinds = {k.kind for k in FIX_KINDS}
    for cause in CAUSES:
        fix = fix_for(cause, 1e-3)
        if fix is None:
            continue
        assert fix.kind in kinds, cause
        entry = get_fix_kind(fix.kind)
        try:
            new = apply_fix(setup, fix)
        except NotApplicable as exc:
            assert str(exc), cause  # a reason is always given
            continue
        assert isinstance(new, Setup) and new is not setup and entry.automatic
