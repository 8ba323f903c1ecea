"""`--on-nan rollback|stop`: a model made to blow up is rolled back with a lower learning rate, or stopped
with the likely cause; a NaN epoch never becomes the checkpoint to resume from."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from click.testing import CliRunner

import caedoctor
from caedoctor.cli import cli
from caedoctor.nan_guard import NaNGuard
from caedoctor.training import seed_everything
from scale_helpers import LINEAR_FACTORY, history_rows, images, latest, metrics


def _linear(lr: float):
    """y = w * x with SGD: stable below lr ~3 on [0, 1] data, overflows within tens of steps above it."""
    seed_everything(0)
    model = keras.Sequential([keras.Input((16, 16, 1)),
                              keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    return model


def test_rollback_restores_lowers_the_learning_rate_and_converges(tmp_path):
    data = caedoctor.load_data(images(256), normalize="unit")
    loaded = caedoctor.load_model(_linear(100.0), data.input_shape, batch_size=8)
    out = tmp_path / "out"
    result = caedoctor.train(loaded, data, epochs=4, out_dir=out, verbose=0, on_nan="rollback", plots=False)

    guard = result.nan_guard
    assert not guard["gave_up"] and 1 <= guard["rollbacks"] <= 3
    assert all(e["action"] == "rollback" and e["loss"] in ("nan", "inf") for e in guard["events"])
    assert guard["learning_rate_end"] == pytest.approx(100.0 * 0.1 ** guard["rollbacks"], rel=1e-5)
    # Training went on from the restored state and learned the identity (w -> 1).
    assert all(np.isfinite(w).all() for w in loaded.model.get_weights())
    assert result.history["loss"][-1] < 1e-6 and result.metrics["val_loss"] < 1e-6
    # The learning rate in use is recorded per epoch in history.csv and the whole story in metrics.json.
    rows = history_rows(out)
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    assert float(rows[-1]["learning_rate"]) == pytest.approx(guard["learning_rate_end"], rel=1e-5)
    assert int(float(rows[-1]["nan_rollbacks"])) == guard["rollbacks"]
    assert metrics(out)["nan_guard"]["events"] == guard["events"]
    assert latest(out)["epoch"] == 4


def _factory(tmp_path):
    path = tmp_path / "linear.py"
    path.write_text(LINEAR_FACTORY)
    data = tmp_path / "x255.npz"
    np.savez(data, x=images(64))  # 0-255: far too large for SGD at any of these rates
    return f"{path}:build", data


def test_unrecoverable_blow_up_gives_up_with_the_likely_cause(tmp_path):
    model, data = _factory(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["train", model, "--data", str(data), "--optimizer", "sgd", "--lr", "1000",
                                      "--batch-size", "8", "--epochs", "3", "--out", str(out)])
    assert result.exit_code == 1, result.output
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("caedoctor: error: learning rate too high: 3 rollback(s)")
    assert "from 1e+03 to 1" in message and "--normalize unit" in message and "caedoctor diagnose" in message
    guard = metrics(out)["nan_guard"]
    assert guard["gave_up"] and guard["rollbacks"] == 3 and len(guard["events"]) == 4
    # The count of epochs says training stopped where it gave up, not the epochs asked for.
    ran = guard["events"][-1]["epoch"]
    assert f"{ran} epoch(s) run, {ran} of 3 in total, stopped early" in result.stdout
    assert metrics(out)["epochs_run"] == metrics(out)["epochs_done"] == ran and metrics(out)["stopped_early"]
    steps = [e["step"] for e in guard["events"]]
    assert steps == sorted(steps) and ", ".join(map(str, steps)) in message
    # The epoch that gave up was not checkpointed (resuming from it would resume NaN); its history row is kept.
    # Nor was any epoch whose training or validation loss was NaN/Inf.
    last_epoch = guard["events"][-1]["epoch"]
    rows = history_rows(out)
    assert len(rows) == last_epoch and not math.isfinite(float(rows[-1]["loss"]))
    state = latest(out)
    assert state is None or state["epoch"] < last_epoch
    for epoch in range(1, last_epoch + 1):
        finite = all(math.isfinite(float(rows[epoch - 1][k])) for k in ("loss", "val_loss"))
        assert (out / "checkpoints" / f"epoch_{epoch:03d}.keras").exists() == finite
    # The model was left at its last good (finite) weights.
    assert math.isfinite(metrics(out)["metrics"]["mse"])


def test_on_nan_stop_stops_at_the_first_nan(tmp_path):
    model, data = _factory(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["train", model, "--data", str(data), "--optimizer", "sgd", "--lr", "1000",
                                      "--batch-size", "8", "--epochs", "3", "--out", str(out), "--on-nan", "stop"])
    assert result.exit_code == 1, result.output
    assert "training stopped: the loss turned" in result.stderr and "--on-nan stop" in result.stderr
    guard = metrics(out)["nan_guard"]
    assert guard["mode"] == "stop" and guard["rollbacks"] == 0 and len(guard["events"]) == 1
    assert guard["learning_rate_end"] == guard["learning_rate_start"] == 1000
    assert "1 epoch(s) run, 1 of 3 in total, stopped early" in result.stdout  # not "3 epoch(s) run"


@pytest.mark.parametrize("kwargs, match", [({"mode": "retry"}, "mode must be one of"),
                                           ({"factor": 1.5}, "0 < factor < 1"),
                                           ({"snapshot_every": 0}, "snapshot_every >= 1"),
                                           ({"max_rollbacks": -1}, "max_rollbacks >= 0")])
def test_guard_validates_its_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NaNGuard(**kwargs)
