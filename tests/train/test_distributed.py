"""`caedoctor train --strategy`: two real workers on 127.0.0.1, MirroredStrategy, the monitor under a strategy."""

from __future__ import annotations

import json
import subprocess

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from caedoctor.cli import cli
from caedoctor.data.tfrecord import write_tfrecords
from scale_helpers import (LINEAR_FACTORY, assert_one_line_error, caedoctor_cmd, env, free_ports, history_rows,
                           images, latest, metrics, write_npz, write_spec)


def _two_workers(tmp_path, args) -> list[tuple[int, str, str]]:
    """Run `caedoctor train ARGS --strategy multiworker` as workers 0 and 1 of a cluster on 127.0.0.1."""
    scratch = tmp_path / "tmp"  # TMPDIR of both workers: the non-chief's temporary output goes here
    scratch.mkdir()
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen(caedoctor_cmd() + ["train", *map(str, args), "--strategy", "multiworker"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env=env(TF_CONFIG=tf_config, TMPDIR=scratch)))
    try:
        results = [(p.wait(timeout=240), *p.communicate()) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for index, (code, stdout, stderr) in enumerate(results):
        assert code == 0, f"worker {index} exit {code}\nstdout: {stdout}\nstderr: {stderr[-3000:]}"
    assert list(scratch.iterdir()) == []  # worker 1 wrote to a temporary folder, now gone
    return results


@pytest.mark.e2e
def test_two_workers_train_together_and_only_the_chief_keeps_results(tmp_path):
    data = write_tfrecords(images(48), tmp_path / "set.tfrecord")
    out = tmp_path / "out"
    results = _two_workers(tmp_path, [write_spec(tmp_path), "--data", data, "--normalize", "unit", "--epochs", "2",
                                      "--steps-per-epoch", "3", "--out", out])
    assert "artefacts in" in results[0][1]
    assert "worker worker:1 done (2 epoch(s) run)" in results[1][1]
    # The chief (worker 0) wrote the checkpoints.
    assert latest(out)["epoch"] == 2
    assert sorted(p.name for p in (out / "checkpoints").glob("*.keras")) == ["epoch_001.keras", "epoch_002.keras"]
    assert [r["epoch"] for r in history_rows(out)] == ["1", "2"]
    model = keras.saving.load_model(out / "checkpoints" / "epoch_002.keras")
    assert model.output_shape == (None, 16, 16, 1)
    assert all(np.isfinite(w).all() for w in model.get_weights())


@pytest.mark.e2e
def test_two_workers_roll_back_a_nan_together(tmp_path):
    factory = tmp_path / "linear.py"
    factory.write_text(LINEAR_FACTORY)  # y = w * x: SGD at lr 100 overflows, at lr 1 it learns w = 1
    data = tmp_path / "x.npz"
    np.savez(data, x=images(128))
    out = tmp_path / "out"
    _two_workers(tmp_path, [f"{factory}:build", "--data", data, "--normalize", "unit", "--optimizer", "sgd",
                            "--lr", "100", "--batch-size", "8", "--epochs", "3", "--out", out])
    guard = metrics(out)["nan_guard"]
    # Both workers see the same all-reduced loss and roll back at the same step; had one not, the next
    # collective would hang and the test time out.
    assert 1 <= guard["rollbacks"] <= 3 and not guard["gave_up"]
    assert metrics(out)["metrics"]["val_loss"] < 1e-6


def test_mirrored_strategy_trains_with_monitor_and_nan_guard(tmp_path):
    import caedoctor
    from caedoctor.monitor import ConvergenceMonitor
    from caedoctor.distribute import Distribution

    dist = Distribution("mirrored")
    with dist.scope():
        data = caedoctor.load_data(write_npz(tmp_path), normalize="unit")
        loaded = caedoctor.load_model(write_spec(tmp_path), data.input_shape)
        monitor = ConvergenceMonitor(monitor_data=data.sample(8, "train"), interval=2, compiled=True)
        result = caedoctor.train(loaded, data, epochs=2, steps_per_epoch=3, out_dir=tmp_path / "out", verbose=0,
                                 callbacks=[monitor], on_nan="rollback", plots=False)
    assert dist.replicas >= 1 and result.epochs_run == 2
    assert latest(tmp_path / "out")["epoch"] == 2
    record = monitor.record
    assert len(record.losses) >= 6
    # Gradients were measured through the strategy (distributed variables need a replica context).
    assert record.grad_norms and all(len(v) >= 2 and all(np.isfinite(v)) and max(v) > 0
                                     for v in record.grad_norms.values())


def test_multiworker_without_a_valid_tf_config_is_one_line_error(tmp_path, monkeypatch):
    args = ["train", str(write_spec(tmp_path)), "--data", str(write_npz(tmp_path)), "--epochs", "1",
            "--out", str(tmp_path / "out"), "--strategy", "multiworker"]
    runner = CliRunner()
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert "needs the TF_CONFIG" in assert_one_line_error(runner.invoke(cli, args))
    monkeypatch.setenv("TF_CONFIG", "{not json")
    assert "not valid JSON" in assert_one_line_error(runner.invoke(cli, args))
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["127.0.0.1:1"]},
                                                "task": {"type": "worker", "index": 3}}))
    assert "worker:3 is not in the cluster" in assert_one_line_error(runner.invoke(cli, args))
    assert not (tmp_path / "out").exists()
