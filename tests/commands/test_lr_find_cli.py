"""`caedoctor lr-find` through click's test runner: JSON without a plot, the plot on request, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

SPEC = """\
encoder:
  - {filters: 4, kernel: 3, activation: relu}
output_activation: sigmoid
optimizer: adam
learning_rate: 0.001
loss: mse
batch_size: 16
"""


@pytest.fixture
def inputs(tmp_path, images):
    np.save(tmp_path / "x.npy", images)
    (tmp_path / "tiny.yaml").write_text(SPEC)
    return str(tmp_path / "tiny.yaml"), str(tmp_path / "x.npy")


def run(*args):
    from caedoctor.cli import cli

    return CliRunner().invoke(cli, ["lr-find", *args], catch_exceptions=False)


def test_json_carries_the_suggestion_without_a_plot(inputs, tmp_path):
    spec, data = inputs
    result = run(spec, "--data", data, "--steps", "30", "--format", "json", "--seed", "1")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert 1e-7 <= payload["suggestion"] <= 10
    assert payload["method"] in ("steepest", "min/10") and payload["reason"]
    assert payload["optimizer"] == "Adam" and payload["configured_lr"] == 0.001
    assert payload["steps_run"] == len(payload["lrs"]) == len(payload["losses"]) <= 30
    assert payload["plot"] is None and not list(tmp_path.glob("*.png"))
    again = json.loads(run(spec, "--data", data, "--steps", "30", "--format", "json", "--seed", "1").output)
    assert again["suggestion"] == payload["suggestion"]


def test_text_output_and_plot(inputs, tmp_path):
    spec, data = inputs
    plot = tmp_path / "plots" / "lr.png"
    result = run(spec, "--data", data, "--steps", "20", "--optimizer", "sgd", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("suggested learning rate for SGD(learning_rate=0.01): ")
    assert plot.stat().st_size > 5_000


def test_start_above_end_is_a_usage_error(inputs):
    spec, data = inputs
    result = run(spec, "--data", data, "--start", "1", "--end", "0.1")
    assert result.exit_code == 2
    assert "--start must be below --end" in result.output
