"""`caedoctor train` writes the monitor's signals as TensorBoard scalars under the run directory."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from tiny import blobs


def test_train_writes_monitor_scalars_to_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from caedoctor.cli import cli

    np.savez(tmp_path / "x.npz", x=blobs(64))
    spec = tmp_path / "spec.yaml"
    spec.write_text("encoder:\n  - {filters: 4, kernel: 3, pool: 2}\noutput_activation: sigmoid\n")
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", str(spec), "--data", str(tmp_path / "x.npz"), "--epochs", "1",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    events = EventAccumulator(str(out / "logs" / "monitor"))
    events.Reload()
    tags = events.Tags()["tensors"]
    assert "loss" in tags
    assert any(t.startswith("grad_norms/") for t in tags), tags
