"""A KL warm-up schedule that assigns a Python number to `model.beta` during fit: the traced train step never
sees it (keras-team/keras issue 13826). The monitor measures that counterfactual (CAE716); a weight held in a
`keras.Variable`, or a model run eagerly, is not flagged."""

from __future__ import annotations

import keras
import pytest

from caedoctor.monitor import ConvergenceMonitor
from caedoctor.monitor.detectors.kl_weight_frozen import detect_kl_weight_frozen
from caedoctor.reconstruction import weight_in_traced_step
from tiny import blobs
from tiny_vae import SIZE, tiny_vae


class WarmUp(keras.callbacks.Callback):
    """The usual KL warm-up: beta = epoch / 2, set as a number (or assigned when it is a variable)."""

    def on_epoch_begin(self, epoch, logs=None):
        value = min(1.0, epoch / 2)
        if isinstance(self.model.beta, keras.Variable):
            self.model.beta.assign(value)
        else:
            self.model.beta = value


def _watched(vae, **fit):
    x = blobs(64, SIZE)
    monitor = ConvergenceMonitor(monitor_data=x[:16], interval=2)
    vae.fit(x, epochs=3, batch_size=16, verbose=0, callbacks=[WarmUp(), monitor], **fit)
    return monitor.record


def test_a_number_assigned_during_fit_never_reaches_the_traced_step():
    keras.utils.set_random_seed(0)
    record = _watched(tiny_vae(beta=0.0))
    assert record.kl_weights[0] == 0.0 and record.kl_weights[-1] == 1.0
    test = record.kl_weight_test
    assert test["frozen"] and test["old"] == 0.0 and test["new"] == 0.5
    assert test["traced_loss_at_new"] == pytest.approx(test["traced_loss_at_old"], rel=1e-6)
    assert test["eager_loss_at_new"] > test["traced_loss_at_old"]  # the KL term the schedule meant to add
    symptom = detect_kl_weight_frozen(record)
    assert symptom.present and symptom.cause == "kl_weight_frozen" and "no effect" in symptom.message


def test_a_variable_or_an_eager_step_sees_the_schedule():
    keras.utils.set_random_seed(0)
    vae = tiny_vae(beta=0.0)
    vae.beta = keras.Variable(0.0, trainable=False, name="beta")
    record = _watched(vae)
    assert record.kl_weights[-1] == 1.0 and record.kl_weight_test.get("variable")
    assert not detect_kl_weight_frozen(record).present
    eager = tiny_vae(beta=0.0)
    eager.compile(optimizer=keras.optimizers.Adam(3e-3), run_eagerly=True)
    record = _watched(eager)
    assert record.kl_weight_test.get("eager") and not detect_kl_weight_frozen(record).present


def test_a_constant_weight_is_not_tested_and_the_measurement_changes_nothing():
    import numpy as np

    keras.utils.set_random_seed(0)
    vae = tiny_vae(beta=1.0)
    x = blobs(32, SIZE)
    monitor = ConvergenceMonitor(monitor_data=x[:16], interval=2)
    vae.fit(x, epochs=1, batch_size=16, verbose=0, callbacks=[monitor])
    symptom = detect_kl_weight_frozen(monitor.record)
    assert not symptom.present and "stayed at 1" in symptom.evidence["skipped"]
    weights = [w.numpy().copy() for w in vae.weights]
    result = weight_in_traced_step(vae, x[:16], "beta", 1.0, 2.0)
    assert result["frozen"] and vae.beta == 1.0
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(weights, vae.weights))
    assert int(vae.optimizer.iterations.numpy()) == 2
