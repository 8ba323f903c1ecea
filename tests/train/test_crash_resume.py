"""Crash-safe training: a SIGKILLed `caedoctor train` resumes to the same end; a failed save never wins."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import keras
import numpy as np
import pytest

import caedoctor
from caedoctor.training import seed_everything
from scale_helpers import caedoctor_cmd, env, history_rows, latest, metrics, run_cli, write_npz, write_spec

EPOCHS = 2


@pytest.mark.e2e
def test_sigkill_mid_epoch_then_resume_reaches_the_same_end(tmp_path):
    spec, data, out = write_spec(tmp_path), write_npz(tmp_path), tmp_path / "out"
    # Epochs of 250 steps (about a second each), so the kill lands inside epoch 2.
    args = [str(spec), "--data", str(data), "--normalize", "unit", "--epochs", str(EPOCHS),
            "--steps-per-epoch", "250", "--out", str(out)]
    proc = subprocess.Popen(caedoctor_cmd() + ["train", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env())
    try:
        deadline = time.monotonic() + 180
        while (latest(out) or {}).get("epoch", 0) < 1:
            assert proc.poll() is None, f"training ended before its first checkpoint: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "no checkpoint after 180 s"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    killed_at = latest(out)["epoch"]
    assert 1 <= killed_at < EPOCHS
    assert len(history_rows(out)) == killed_at  # history.csv matches the last complete checkpoint

    resumed = run_cli(["train", *args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert f"{EPOCHS - killed_at} epoch(s) run, {EPOCHS} of {EPOCHS} in total" in resumed.stdout
    rows = history_rows(out)
    assert [r["epoch"] for r in rows] == [str(e) for e in range(1, EPOCHS + 1)]  # one row per epoch, no repeats
    assert all(np.isfinite(float(r["loss"])) for r in rows)
    assert latest(out)["epoch"] == EPOCHS
    m = metrics(out)
    assert m["epochs"] == EPOCHS and m["epochs_run"] == EPOCHS - killed_at
    assert not list((out / "checkpoints").glob(".*tmp*"))  # no half-written file left behind


def test_a_failed_save_never_replaces_the_good_checkpoint(tmp_path, monkeypatch):
    data = caedoctor.load_data(write_npz(tmp_path), normalize="unit")
    out = tmp_path / "out"

    def fresh():
        seed_everything(0)
        return caedoctor.load_model(write_spec(tmp_path), data.input_shape)

    caedoctor.train(fresh(), data, epochs=1, steps_per_epoch=2, out_dir=out, verbose=0, plots=False)
    good = (out / "checkpoints" / "epoch_001.keras").read_bytes()

    real_save = keras.Model.save

    def half_save(self, filepath, *args, **kwargs):  # the disk fills up halfway through the file
        with open(filepath, "wb") as fh:
            fh.write(good[: len(good) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", half_save)
    with pytest.raises(OSError, match="No space left"):
        caedoctor.train(fresh(), data, epochs=2, steps_per_epoch=2, out_dir=out, resume=True, verbose=0, plots=False)
    assert latest(out)["epoch"] == 1
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch_001.keras", "latest.json"]
    assert (out / "checkpoints" / "epoch_001.keras").read_bytes() == good
    assert len(history_rows(out)) == 1

    monkeypatch.setattr(keras.Model, "save", real_save)
    result = caedoctor.train(fresh(), data, epochs=2, steps_per_epoch=2, out_dir=out, resume=True, verbose=0,
                             plots=False)
    assert result.epochs_run == 1 and latest(out)["epoch"] == 2
    assert [r["epoch"] for r in history_rows(out)] == ["1", "2"]
