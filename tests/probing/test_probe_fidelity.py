"""Fidelity: a probe trains exactly what the user trains.

For every built-in Keras optimizer (plus a schedule, clipnorm, EMA and a LossScaleOptimizer) and for eight
kinds of loss, the baseline probe's first 20 step losses equal those of the user's own `model.fit` with their
own optimizer and loss objects, on the same batches from the same initial weights.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from caedoctor.config import builtin_optimizer_names
from caedoctor.data import load_data
from caedoctor.probing import probes as P
from caedoctor.losses import SSIMLoss
from caedoctor.models import load_model
from caedoctor.setup import Setup
from caedoctor.training import seed_everything

from tiny import blobs

STEPS = 20
SEED = 3


@pytest.fixture(scope="module")
def data():
    return load_data(blobs(96), seed=0)


def _model(output_activation="sigmoid"):
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="enc")(inputs)
    x = keras.layers.MaxPool2D(2, name="pool")(x)
    x = keras.layers.Conv2DTranspose(4, 3, padding="same", activation="relu", name="dec")(x)
    x = keras.layers.UpSampling2D(2, name="up")(x)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation=output_activation, name="out")(x)
    return keras.Model(inputs, outputs, name="fidelity_cae")


class StepLosses(keras.callbacks.Callback):
    """The loss of each step, recovered from Keras' running mean of the epoch."""

    def on_train_begin(self, logs=None):
        self.losses, self._prev = [], 0.0

    def on_train_batch_end(self, batch, logs=None):
        mean = float(logs["loss"])
        self.losses.append((batch + 1) * mean - batch * self._prev if batch else mean)
        self._prev = mean


def _users_fit(model, optimizer, loss, data, batch_size):
    """What the user's own code does: their objects, `fit` on the probe's batch order and initial weights.

    `model` is an uncompiled twin of the user's model (Keras' clone_model would recompile a compiled one
    from its serialised config, which fails for an unregistered loss function)."""
    seed_everything(SEED)
    mine = keras.models.clone_model(model)  # the weights every probe of this seed starts from
    mine.compile(optimizer=optimizer, loss=loss)
    batches = data.batches("train", batch_size, shuffle=True, seed=SEED, repeat=True, drop_remainder=True)
    steps = StepLosses()
    mine.fit(batches, epochs=1, steps_per_epoch=STEPS, verbose=0, callbacks=[steps], shuffle=False)
    return steps.losses


def _probe_losses(model, data, **overrides):
    loaded = load_model(model, data.input_shape, **overrides)
    steps = StepLosses()
    P.run_probe(Setup.of(loaded, data), steps=STEPS, seed=SEED, callbacks=[steps])
    return steps.losses, loaded


def _compare(build, optimizer_factory, loss_factory, data, batch_size=16):
    model = build()
    model.compile(optimizer=optimizer_factory(), loss=loss_factory())
    probe, loaded = _probe_losses(model, data, batch_size=batch_size)
    users = _users_fit(build(), optimizer_factory(), loss_factory(), data, batch_size)
    assert len(probe) == len(users) == STEPS
    np.testing.assert_allclose(probe, users, rtol=2e-5, atol=1e-7)
    return loaded


@pytest.mark.parametrize("name", builtin_optimizer_names())
def test_every_builtin_optimizer_is_trained_exactly(data, name):
    cls = {n.lower(): getattr(keras.optimizers, n) for n in dir(keras.optimizers)}[name]
    rate = {"adadelta": 1.0, "sgd": 0.05}.get(name, 3e-3)
    loaded = _compare(_model, lambda: cls(learning_rate=rate), lambda: "mse", data)
    assert loaded.config.optimizer.class_name == cls.__name__
    assert loaded.config.learning_rate == pytest.approx(rate)
    assert loaded.config.origin["optimizer"] == "model"


@pytest.mark.parametrize("label, factory", [
    ("schedule", lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 5, 0.5))),
    ("piecewise", lambda: keras.optimizers.SGD(keras.optimizers.schedules.PiecewiseConstantDecay([5, 10],
                                                                                                 [0.1, 0.02, 0.005]),
                                               momentum=0.9, nesterov=True)),
    ("clipnorm", lambda: keras.optimizers.SGD(0.5, clipnorm=0.01)),
    ("global_clipnorm+ema", lambda: keras.optimizers.AdamW(0.01, global_clipnorm=0.05, use_ema=True,
                                                           ema_momentum=0.9, weight_decay=0.1)),
    ("loss_scale", lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(3e-3), initial_scale=8.0)),
])
def test_optimizer_arguments_and_schedules_are_kept(data, label, factory):
    loaded = _compare(_model, factory, lambda: "mse", data)
    assert loaded.config.optimizer.class_name == type(factory()).__name__


def _sum_of_squares(y_true, y_pred):
    """A per-image sum of squared errors: 256x a mean over 16x16 pixels."""
    return keras.ops.sum(keras.ops.square(y_true - y_pred), axis=(1, 2, 3))


@keras.saving.register_keras_serializable(package="fidelity_test")
class WeightedL1(keras.losses.Loss):
    def __init__(self, weight=2.5, name="weighted_l1", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weight = weight

    def call(self, y_true, y_pred):
        return self.weight * keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}


@pytest.mark.parametrize("label, loss, output", [
    ("mse", lambda: "mse", "sigmoid"),
    ("mae", lambda: keras.losses.MeanAbsoluteError(), "sigmoid"),
    ("huber", lambda: keras.losses.Huber(delta=0.05), "sigmoid"),  # Keras' serialize drops delta
    ("bce", lambda: "binary_crossentropy", "sigmoid"),
    ("bce_logits", lambda: keras.losses.BinaryCrossentropy(from_logits=True), "linear"),
    ("sum_reduced_function", lambda: _sum_of_squares, "sigmoid"),
    ("sum_reduction_object", lambda: keras.losses.MeanSquaredError(reduction="sum"), "sigmoid"),
    ("registered_subclass", lambda: WeightedL1(weight=4.0), "sigmoid"),
    ("ssim", lambda: SSIMLoss(max_val=1.0), "sigmoid"),
])
def test_every_kind_of_loss_is_trained_exactly(data, label, loss, output):
    loaded = _compare(lambda: _model(output), lambda: keras.optimizers.Adam(3e-3), loss, data)
    assert loaded.config.origin["loss"] == "model"


def test_sum_reduced_loss_is_said_and_measured(data):
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=_sum_of_squares)
    loaded = load_model(model, data.input_shape)
    assert "_sum_of_squares" in loaded.config.loss.describe()
    from caedoctor.losses import loss_gradient_scale

    scale = loss_gradient_scale(loaded.config.loss, (16, 16, 1))
    assert scale == pytest.approx(256.0, rel=1e-3)  # the pixels per image
    assert loss_gradient_scale(load_model(_compiled("mse"), (16, 16, 1)).config.loss, (16, 16, 1)) \
        == pytest.approx(1.0)


def _compiled(loss):
    m = _model()
    m.compile(optimizer="adam", loss=loss)
    return m
