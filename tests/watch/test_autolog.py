"""`caedoctor.autolog`: fit patched once and restored exactly, the user's fit unchanged by the monitor, the
set-up recorded for every data form, problems diagnosed on copies, the user's random state kept."""

from __future__ import annotations

import random

import numpy as np
import pytest

import caedoctor
from tiny import blobs, compiled, tiny_cae


@pytest.fixture(autouse=True)
def _no_watcher_left():
    yield
    caedoctor.autolog(disable=True)


def _model(lr=3e-3, optimizer="adam", seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return compiled(tiny_cae(), optimizer=optimizer, lr=lr)


def test_disable_restores_fit_exactly():
    import keras
    import tensorflow as tf

    before = keras.Model.fit
    new_before = keras.Model.__dict__["__new__"]  # construction recording (fresh copies of subclassed models)
    assert "fit" not in keras.Model.__dict__  # inherited from the backend trainer
    caedoctor.autolog(diagnose="never")
    assert keras.Model.fit is not before and getattr(keras.Model.fit, "__caedoctor_patch__", False)
    assert tf.keras.Model.fit is keras.Model.fit  # tf.keras is Keras 3: one patch covers both
    caedoctor.autolog(diagnose="never", quick=True)  # options change; still one patch, not a patch of a patch
    assert keras.Model.fit.__wrapped__ is before
    assert keras.Model.__dict__["__new__"] is not new_before
    caedoctor.autolog(disable=True)
    assert keras.Model.fit is before and "fit" not in keras.Model.__dict__
    assert keras.Model.__dict__["__new__"] is new_before
    caedoctor.autolog(disable=True)  # twice is harmless
    assert keras.Model.fit is before


def test_bad_options_quote_what_was_received():
    with pytest.raises(ValueError, match="diagnose='sometimes'"):
        caedoctor.autolog(diagnose="sometimes")
    with pytest.raises(ValueError, match="on_nan='stop'"):
        caedoctor.autolog(on_nan="stop")
    with pytest.raises(ValueError, match="budget_seconds=-1"):
        caedoctor.autolog(budget_seconds=-1)


def _history(x, watched: bool, data=None, **fit):
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    model = _model()
    if watched:
        caedoctor.autolog(diagnose="never")
    history = model.fit(data if data is not None else x, None if data is not None else x, verbose=0, **fit)
    caedoctor.autolog(disable=True)
    return history.history, model.get_weights()


def test_fit_computes_the_same_with_and_without_the_monitor():
    x = blobs(96)
    plain, plain_w = _history(x, False, batch_size=16, epochs=2, validation_split=0.25)
    watched, watched_w = _history(x, True, batch_size=16, epochs=2, validation_split=0.25)
    assert plain == watched  # every epoch's loss and val_loss, exactly
    assert all(np.array_equal(a, b) for a, b in zip(plain_w, watched_w))


def test_shuffled_dataset_fit_is_unchanged_and_not_peeked():
    """Reading a reshuffling pipeline before fit would change the order fit sees: the monitor does not."""
    import tensorflow as tf

    x = blobs(96)

    def dataset():
        return tf.data.Dataset.from_tensor_slices((x, x)).shuffle(96).batch(16)

    tf.random.set_seed(0)
    plain, _ = _history(x, False, data=dataset(), epochs=2)
    tf.random.set_seed(0)
    watched, _ = _history(x, True, data=dataset(), epochs=2)
    assert plain == watched


def test_problem_is_diagnosed_right_after_fit_and_kept(capsys):
    x = blobs(128) * 255  # 0-255 targets under a sigmoid output: stuck far above the mean level
    model = _model()
    caedoctor.autolog(quick=True, steps=25)
    model.fit(x, x, batch_size=8, epochs=7, verbose=0)
    err = capsys.readouterr().err
    assert "the monitor saw" in err and "diagnosing the set-up recorded at the start of fit #1" in err
    assert "verdict:" in err and "holds out a seeded 10%" in err
    d = caedoctor.last_diagnosis()
    assert d is not None and d.verdict in ("not_converging", "invalid", "diverging")
    assert "output_activation_range" in {f.cause for f in d.findings}
    # the verdict is about the training the user ran: 7 epochs of 128 images at batch 8
    assert d.horizon["steps"] == 7 * 16 and d.horizon["source"] == "your fit"
    assert "7 epochs x 16 steps" in d.horizon["detail"]
    # the same set-up fitted again (a loop of fits) is not diagnosed again
    model.fit(x, x, batch_size=8, epochs=7, verbose=0)
    assert "repeats the set-up of fit #1" in capsys.readouterr().err
    assert caedoctor.last_diagnosis() is d


def test_healthy_fit_is_not_diagnosed_on_problem(capsys):
    x = blobs(128)
    before = caedoctor.last_diagnosis()
    caedoctor.autolog(steps=25)
    _model().fit(x, x, batch_size=8, epochs=7, verbose=0)  # 112 steps: long enough to judge a stall
    err = capsys.readouterr().err
    assert "no problem seen" in err and "verdict" not in err
    assert caedoctor.last_diagnosis() is before


def test_diagnosis_leaves_the_users_random_state_as_it_was():
    import keras

    x = blobs(64)

    def after(diagnose):
        model = _model()
        caedoctor.autolog(diagnose=diagnose, quick=True, steps=25)
        keras.utils.set_random_seed(7)
        model.fit(x, x, batch_size=16, epochs=1, verbose=0)
        caedoctor.autolog(disable=True)
        nxt = tiny_cae()  # initialised from Keras' global seed generator
        return np.random.random(), random.random(), [w.sum() for w in nxt.get_weights()]

    assert after("never") == after("always")


def test_recorded_setup_is_exact_for_each_data_form(tmp_path):
    """Model config and weights at the start, the optimizer object and its config, the loss, the data, batch
    size and validation, and what the diagnosis gets from them (batch size, validation, learning rate)."""
    import keras
    import tensorflow as tf

    from caedoctor.watch import diagnosis_inputs

    x = blobs(80)
    model = _model(lr=0.02)
    start = [w.copy() for w in model.get_weights()]
    caedoctor.autolog(diagnose="never")
    model.fit(x, x, batch_size=8, epochs=1, verbose=0, validation_data=(x[:16], x[:16]))
    ds = tf.data.Dataset.from_tensor_slices((x, x)).batch(20)
    model.fit(ds, epochs=1, verbose=0)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[i * 10:(i + 1) * 10], x[i * 10:(i + 1) * 10]

    model.fit(Batches(), epochs=1, verbose=0)
    model.fit(((b, b) for b in (x[:12], x[12:24], x[24:36])), epochs=1, verbose=0)
    fits = caedoctor.watch.watched_fits()
    assert [f.recorded.kind for f in fits] == ["arrays", "dataset", "pydataset", "generator"]
    first = fits[0].recorded
    assert all(np.array_equal(a, b) for a, b in zip(first.weights, start))
    assert first.optimizer is model.optimizer and first.loss == "mse"
    assert first.optimizer_spec.learning_rate == pytest.approx(0.02)
    assert first.batch_size == 8 and first.validation_data[0].shape == (16, 16, 16, 1)

    loaded, data, notes = diagnosis_inputs(first)
    assert loaded.config.batch_size == 8 and loaded.config.learning_rate == pytest.approx(0.02)
    assert loaded.model is not model and all(np.array_equal(a, b) for a, b in zip(loaded.model.get_weights(), start))
    assert data.val_count == 16 and any("validation_data given to fit" in n for n in notes)

    sizes = []
    for watched, batch_size in zip(fits[1:], (20, 10, 12)):
        assert watched.monitor.record.probe_steps, "the monitor got a batch to probe"
        loaded, data, notes = diagnosis_inputs(watched.recorded)
        sizes.append((loaded.config.batch_size, data.train_count + data.val_count))
        assert any("every 10th sample" in n for n in notes)
    assert sizes == [(20, 80), (10, 40), (12, 36)]


def test_validation_split_is_taken_as_keras_takes_it():
    from caedoctor.watch import diagnosis_inputs

    x = blobs(50)
    caedoctor.autolog(diagnose="never")
    _model().fit(x, x, batch_size=10, epochs=1, verbose=0, validation_split=0.2)
    loaded, data, notes = diagnosis_inputs(caedoctor.watch.watched_fits()[0].recorded)
    assert (data.train_count, data.val_count) == (40, 10)
    val = np.concatenate([b[0] for b in data.val.batch(100).as_numpy_iterator()])
    assert np.array_equal(val, x[40:])  # the last 20%, in order
    assert any("validation_split" in n for n in notes)


def _two_outputs():
    import keras

    inputs = keras.Input((16, 16, 1))
    out = keras.layers.Conv2D(1, 3, padding="same")(inputs)
    model = keras.Model(inputs, [out, out])  # two outputs: the monitor cannot probe it
    model.compile(optimizer="adam", loss=["mse", "mse"])
    return model


def test_a_monitor_that_cannot_probe_never_breaks_the_users_fit():
    from caedoctor.watch.monitor import FitMonitor

    x = blobs(32)
    monitor = FitMonitor((x, x))
    history = _two_outputs().fit(x, [x, x], batch_size=16, epochs=1, verbose=0, callbacks=[monitor])
    assert len(history.history["loss"]) == 1
    assert "single-output" in monitor.failure
    caedoctor.autolog(diagnose="never")  # under autolog: watched with the loss only
    history = _two_outputs().fit(x, [x, x], batch_size=16, epochs=1, verbose=0)
    watched = caedoctor.watch.watched_fits()[0]
    assert len(history.history["loss"]) == 1 and len(watched.monitor.record.losses) == 2


def test_user_errors_in_fit_propagate_unchanged():
    x = blobs(16)
    caedoctor.autolog()
    with pytest.raises(Exception) as info:
        _model().fit(x[..., :0], x, epochs=1, verbose=0)  # Keras' own error for an empty channel axis
    assert "caedoctor" not in str(info.value)


def test_on_nan_rollback_adds_the_guard_and_nothing_else_does():
    import keras

    x = blobs(32) * 255

    def exploding():
        keras.utils.set_random_seed(0)
        return compiled(tiny_cae(output_activation="linear"), optimizer="sgd", lr=1.0)

    caedoctor.autolog(diagnose="never")
    plain = exploding().fit(x, x, batch_size=8, verbose=0).history
    assert "nan_rollbacks" not in plain and not np.isfinite(plain["loss"][-1])
    caedoctor.autolog(diagnose="never", on_nan="rollback")
    history = exploding().fit(x, x, batch_size=8, verbose=0).history
    assert history["nan_rollbacks"][-1] >= 1  # caedoctor's NaNGuard rolled the NaN back
