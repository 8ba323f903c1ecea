"""ConvergenceMonitor through its public API: a real `fit` on tiny 16x16x1 CAEs, a few steps each."""

from __future__ import annotations

import csv
import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from caedoctor.monitor import ConvergenceMonitor, detect_symptoms
from caedoctor.monitor.detectors.collapsed_to_mean import detect_collapsed_to_mean
from caedoctor.monitor.detectors.dead_units import detect_dead_units
from caedoctor.monitor.detectors.saturation import detect_saturation

from smooth_cae import tiny_cae


def fit(model, x, monitor, epochs=1, batch_size=16, lr=1e-3, optimizer="adam", validation=False):
    opt = keras.optimizers.SGD(lr) if optimizer == "sgd" else keras.optimizers.Adam(lr)
    model.compile(optimizer=opt, loss="mse")
    val = (x[:16], x[:16]) if validation else None
    model.fit(x, x, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=False, callbacks=[monitor],
              validation_data=val)
    return monitor.record


def identity_model(scale=1.0, shape=(16, 16, 1)):
    """One 3x3 convolution whose kernel copies the input (times `scale`): outputs vary exactly like inputs."""
    kernel = np.zeros((3, 3, shape[-1], shape[-1]), np.float32)
    kernel[1, 1] = np.eye(shape[-1]) * scale
    model = keras.Sequential([keras.Input(shape), keras.layers.Conv2D(shape[-1], 3, padding="same", name="copy")])
    model.layers[0].set_weights([kernel, np.zeros(shape[-1], np.float32)])
    return model


def test_records_every_signal(images):
    keras.utils.set_random_seed(0)
    x = images[:64]
    monitor = ConvergenceMonitor(x[:32], interval=2)
    rec = fit(tiny_cae(), x, monitor, epochs=2, validation=True)
    assert rec.loss_steps == list(range(8))  # 64 samples / 16 per batch x 2 epochs
    assert all(math.isfinite(v) and v > 0 for v in rec.losses)
    assert rec.probe_steps == [0, 2, 4, 6, 7]  # every 2 steps, plus the final state
    assert rec.layers == ["enc", "mid", "out"]
    for layer in rec.layers:
        assert len(rec.grad_norms[layer]) == 5 and all(v > 0 for v in rec.grad_norms[layer])
        assert len(rec.weight_norms[layer]) == 5
        ratios = rec.update_ratios[layer]
        assert all(0 < v < 1 for v in ratios[:-1]) and math.isnan(ratios[-1])  # the final probe had no step
    assert set(rec.dead_fraction) == {"enc", "mid"}
    assert set(rec.saturated_fraction) == {"out"} and rec.output_layer == "out"
    assert all(0 <= v <= 1 for v in rec.range_violation)
    assert all(v > 0 for v in rec.relative_spread)
    assert rec.baseline_loss > 0 and rec.target_range == (0.0, 1.0)
    assert len(rec.epoch_logs["loss"]) == 2 and len(rec.epoch_logs["val_loss"]) == 2
    assert rec.monitor_seconds > 0


def test_step_losses_are_the_losses_of_each_batch(images):
    """With a learning rate of 0 the weights never move, so each step's loss is computable directly."""
    keras.utils.set_random_seed(0)
    x = images[:64]
    model = tiny_cae()
    rec = fit(model, x, ConvergenceMonitor(x[:16], interval=100), epochs=2, optimizer="sgd", lr=0.0)
    direct = [float(np.mean((model(x[i:i + 16]).numpy() - x[i:i + 16]) ** 2)) for i in range(0, 64, 16)]
    assert rec.losses == pytest.approx(direct * 2, rel=1e-4)


def test_loss_every_k_steps_records_the_mean_of_those_steps(images):
    keras.utils.set_random_seed(0)
    x = images[:96]
    model = tiny_cae()
    rec = fit(model, x, ConvergenceMonitor(x[:16], interval=100, loss_every=2), optimizer="sgd", lr=0.0)
    per_batch = [float(np.mean((model(x[i:i + 16]).numpy() - x[i:i + 16]) ** 2)) for i in range(0, 96, 16)]
    assert rec.loss_steps == [1, 3, 5]
    assert rec.losses == pytest.approx([np.mean(per_batch[i:i + 2]) for i in (0, 2, 4)], rel=1e-4)


def test_state_resets_between_fits(images):
    keras.utils.set_random_seed(0)
    x = images[:64]
    monitor = ConvergenceMonitor(x[:16], interval=2)
    model = tiny_cae()
    fit(model, x, monitor, epochs=2)
    first = monitor.record
    second = fit(model, x[:32], monitor, epochs=1)
    assert second is not first
    assert second.loss_steps == [0, 1] and second.probe_steps == [0, 1]
    assert len(second.epoch_logs["loss"]) == 1


def test_probing_does_not_change_training(images):
    """Same seed, same batches: the weights after fit are identical with and without the monitor."""
    x = images[:64]
    weights = []
    for callbacks in ([], [ConvergenceMonitor(x[:16], interval=1)]):
        keras.utils.set_random_seed(0)
        model = tiny_cae()
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.fit(x, x, batch_size=16, epochs=1, verbose=0, shuffle=False, callbacks=callbacks)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_batchnorm_statistics_are_restored_after_a_probe(images):
    from caedoctor.monitor.batch_probe import BatchProbe

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Conv2D(4, 3, padding="same"),
                              keras.layers.BatchNormalization(), keras.layers.ReLU(),
                              keras.layers.Conv2D(1, 3, padding="same")])
    model.compile(optimizer="adam", loss="mse")
    before = [v.numpy().copy() for v in model.non_trainable_variables]
    result = BatchProbe(model, images[:16], images[:16])()
    assert result["dead_fraction"]  # the ReLU layer was probed
    for v, old in zip(model.non_trainable_variables, before):
        np.testing.assert_array_equal(v.numpy(), old)


def test_compiled_probe_measures_the_same_as_eager(images):
    from caedoctor.monitor.batch_probe import BatchProbe

    keras.utils.set_random_seed(0)
    model = tiny_cae()
    model.compile(optimizer="adam", loss="mse")
    eager = BatchProbe(model, images[:16], images[:16])()
    compiled = BatchProbe(model, images[:16], images[:16], compiled=True)()
    assert compiled["loss"] == pytest.approx(eager["loss"], rel=1e-5)
    for layer, value in eager["grad_norms"].items():
        assert compiled["grad_norms"][layer] == pytest.approx(value, rel=1e-4)
    assert compiled["relative_spread"] == pytest.approx(eager["relative_spread"], rel=1e-5)


def test_detects_dead_relus(images):
    keras.utils.set_random_seed(0)
    x = images[:32]
    dead = fit(tiny_cae(bias=-10.0), x, ConvergenceMonitor(x[:16], interval=1))
    assert dead.dead_fraction["enc"][-1] == 1.0 and dead.dead_fraction["mid"][-1] == 1.0
    assert dead.grad_norms["enc"][-1] == 0.0  # nothing flows back through dead units
    assert detect_dead_units(dead).present
    keras.utils.set_random_seed(0)
    alive = fit(tiny_cae(bias=0.1), x, ConvergenceMonitor(x[:16], interval=1))
    assert max(alive.dead_fraction["enc"]) < 0.5
    assert not detect_dead_units(alive).present


def test_detects_saturated_sigmoids(images):
    keras.utils.set_random_seed(0)
    x = images[:32]
    rec = fit(tiny_cae(hidden="sigmoid", bias=10.0), x, ConvergenceMonitor(x[:16], interval=1))
    assert rec.saturated_fraction["enc"][-1] == 1.0 and rec.saturated_fraction["mid"][-1] == 1.0
    assert detect_saturation(rec).present
    keras.utils.set_random_seed(0)
    healthy = fit(tiny_cae(hidden="sigmoid"), x, ConvergenceMonitor(x[:16], interval=1))
    assert healthy.saturated_fraction["enc"][-1] < 0.5
    assert not detect_saturation(healthy).present


def test_a_saturated_output_counts_only_beyond_what_the_targets_ask_for(images):
    keras.utils.set_random_seed(0)
    x = images[:32]
    model = tiny_cae()
    model.layers[-1].set_weights([model.layers[-1].get_weights()[0], np.full(1, 20.0, np.float32)])
    rec = fit(model, x, ConvergenceMonitor(x[:16], interval=1), lr=0.0, optimizer="sgd")
    assert rec.saturated_fraction["out"][-1] == 1.0 and rec.target_saturated_fraction == 0.0
    assert detect_saturation(rec).present
    binary = (x > 0.5).astype(np.float32)  # black-and-white targets: a saturated sigmoid is right
    rec = fit(model, binary, ConvergenceMonitor(binary[:16], interval=1), lr=0.0, optimizer="sgd")
    assert rec.target_saturated_fraction == 1.0
    assert not detect_saturation(rec).present


def test_detects_collapse_to_the_mean(images):
    x = images[:32]
    keras.utils.set_random_seed(0)
    constant = keras.Sequential([keras.Input((16, 16, 1)),
                                 keras.layers.Conv2D(1, 3, padding="same", kernel_initializer="zeros",
                                                     bias_initializer=keras.initializers.Constant(0.5))])
    rec = fit(constant, x, ConvergenceMonitor(x[:16], interval=1), optimizer="sgd", lr=0.0)
    assert rec.relative_spread == [0.0, 0.0]
    assert detect_collapsed_to_mean(rec).present
    rec = fit(identity_model(), x, ConvergenceMonitor(x[:16], interval=1), optimizer="sgd", lr=0.0)
    assert rec.relative_spread[-1] == pytest.approx(1.0, rel=1e-5)
    assert not detect_collapsed_to_mean(rec).present


def test_range_violations_are_the_share_of_outputs_outside_the_target_range(images):
    x = images[:32]
    rec = fit(identity_model(scale=2.0), x, ConvergenceMonitor(x[:16], interval=1), optimizer="sgd", lr=0.0)
    expected = float(np.mean(2.0 * x[:16] > 1.01))
    assert rec.range_violation[-1] == pytest.approx(expected, abs=1e-6)
    assert expected > 0.3
    rec = fit(identity_model(), x, ConvergenceMonitor(x[:16], interval=1, target_range=(0.0, 0.5)),
              optimizer="sgd", lr=0.0)
    assert rec.target_range == (0.0, 0.5)
    assert rec.range_violation[-1] == pytest.approx(float(np.mean(x[:16] > 0.505)), abs=1e-6)


def test_writes_csv_and_tensorboard(images, tmp_path):
    keras.utils.set_random_seed(0)
    x = images[:32]
    monitor = ConvergenceMonitor(x[:16], interval=1, csv_path=tmp_path / "m.csv", log_dir=tmp_path / "tb",
                                 histograms=True)
    fit(tiny_cae(), x, monitor)
    with open(tmp_path / "m.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    signals = {r["signal"] for r in rows}
    assert {"loss", "grad_norms", "update_ratios", "dead_fraction", "saturated_fraction", "range_violation",
            "relative_spread", "probe_loss", "epoch_loss"} <= signals
    assert [float(r["value"]) for r in rows if r["signal"] == "loss"] == pytest.approx(monitor.record.losses)
    events = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert events
    tags, loss_points = set(), []
    for event in tf.compat.v1.train.summary_iterator(str(events[0])):
        tags |= {v.tag for v in event.summary.value}
        loss_points += [(event.step, tf.make_ndarray(v.tensor)) for v in event.summary.value if v.tag == "loss"]
    assert "grad_norms/enc" in tags and "gradients/enc" in tags and "activations/out" in tags
    # The loss goes to TensorBoard as the mean of its steps (here the 2 steps of the fit), at the last one.
    assert len(loss_points) == 1 and loss_points[0][0] == 1
    assert float(loss_points[0][1]) == pytest.approx(np.mean(monitor.record.losses), rel=1e-5)


def test_monitor_batch_from_a_dataset(images):
    keras.utils.set_random_seed(0)
    x = images[:32]
    ds = tf.data.Dataset.from_tensor_slices((x, x)).batch(8)
    monitor = ConvergenceMonitor(ds, interval=1)
    assert monitor.batch[0].shape == (8, 16, 16, 1)
    rec = fit(tiny_cae(), x, monitor)
    assert rec.probe_steps == [0, 1]


def test_without_monitor_data_it_records_the_loss_and_says_why_nothing_else(images):
    keras.utils.set_random_seed(0)
    x = images[:32]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = fit(tiny_cae(), x, ConvergenceMonitor())
    assert any("monitor_data" in str(w.message) for w in caught)
    assert len(rec.losses) == 2 and rec.probe_steps == [] and rec.grad_norms == {}
    assert not any(s.present for s in detect_symptoms(rec))


@pytest.mark.parametrize("kwargs, message", [
    ({"interval": 0}, "Received interval=0"),
    ({"interval": 2.5}, "Received interval=2.5"),
    ({"loss_every": -1}, "Received loss_every=-1"),
    ({"monitor_samples": 1}, "Received monitor_samples=1"),
    ({"compiled": "yes"}, "Received compiled='yes'"),
    ({"target_range": (1, 0)}, "Received target_range=(1, 0)"),
    ({"target_range": "0-1"}, "Received target_range='0-1'"),
    ({"histograms": True}, "Received log_dir=None"),
    ({"baseline_loss": -1.0}, "Received baseline_loss=-1.0"),
])
def test_arguments_are_validated_with_the_value_received(kwargs, message):
    with pytest.raises(ValueError) as err:
        ConvergenceMonitor(np.zeros((4, 16, 16, 1), np.float32), **kwargs)
    assert message in str(err.value)


def test_monitor_data_is_validated(images):
    with pytest.raises(ValueError, match="at least 2 samples"):
        ConvergenceMonitor(images[:1])
    with pytest.raises(ValueError, match="differ in length. Received 4 and 3"):
        ConvergenceMonitor((images[:4], images[:3]))
    monitor = ConvergenceMonitor(np.zeros((4, 8, 8, 1), np.float32))
    with pytest.raises(ValueError, match=r"shape \(8, 8, 1\) but the model takes \(16, 16, 1\)"):
        fit(tiny_cae(), images[:32], monitor)


def test_docstring_example_runs():
    """The class docstring's Example is real code: run it."""
    import contextlib
    import io
    import re
    import textwrap

    code = textwrap.dedent(re.search(r"```python\n(.*?)```", ConvergenceMonitor.__doc__, re.S).group(1))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "ConvergenceMonitor example", "exec"), {})
    assert "[" in out.getvalue() and "conv2d" in out.getvalue()


def test_loss_levels_are_measured_above_a_perfect_reconstruction(images):
    """Binary cross-entropy never reaches 0 on grey targets: its floor (the targets' entropy) is measured, so
    a model that copies its input sits at relative loss 0 whatever the loss, and MSE's floor stays 0."""
    x = np.clip(images[:32], 0.05, 0.95).astype(np.float32)
    for loss, floor_positive in (("binary_crossentropy", True), ("mse", False)):
        model = identity_model()
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)
        monitor = ConvergenceMonitor(monitor_data=x, interval=1)
        model.fit(x, x, batch_size=16, epochs=1, verbose=0, shuffle=False, callbacks=[monitor])
        record = monitor.record
        assert (record.floor_loss > 0.1) is floor_positive
        assert record.floor_loss < record.baseline_loss
        np.testing.assert_allclose(record.relative_probe_losses(), 0.0, atol=1e-3)  # the copy is perfect
        entropy = float(np.mean(-(x * np.log(x) + (1 - x) * np.log(1 - x))))
        if floor_positive:
            assert record.floor_loss == pytest.approx(entropy, rel=1e-3)


def _regularized_cae(l2: float = 0.0, dropout: float = 0.0):
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input((16, 16, 1))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", kernel_regularizer=reg, name="enc")(inputs)
    if dropout:
        h = keras.layers.Dropout(dropout, name="drop")(h)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", kernel_regularizer=reg, name="out")(h)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("l2, dropout", [(0.0, 0.0), (1.0, 0.0), (0.0, 0.5)])
def test_penalty_share_and_dropout_gap(images, l2, dropout):
    keras.utils.set_random_seed(0)
    x = images[:64]
    monitor = ConvergenceMonitor(x[:32], interval=2)
    rec = fit(_regularized_cae(l2, dropout), x, monitor)
    share, gap = np.asarray(rec.penalty_share), np.asarray(rec.dropout_gap)
    assert len(share) == len(gap) == len(rec.probe_steps)
    if l2:  # an L2 of 1.0 on every kernel: the penalty is most of what training minimises
        assert np.all(share > 0.5)
    else:
        assert np.all(share == 0.0)
    if dropout:  # half the hidden units dropped: the training-mode reconstruction is worse
        assert np.all(gap > 1.0)
    else:
        assert np.all(np.isnan(gap))
    heavy = {s.name for s in detect_symptoms(rec) if s.present} & {"heavy_regularization"}
    assert bool(heavy) == bool(l2)
