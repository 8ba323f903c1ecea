"""The same `caedoctor train` command and seed give the same metrics.json, twice in separate processes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from caedoctor.cli import cli
from scale_helpers import history_rows, run_cli, write_npz, write_spec


def _run(tmp_path, name: str, seed: int, in_process: bool = False) -> tuple[dict, list]:
    out = tmp_path / name
    args = ["train", write_spec(tmp_path), "--data", write_npz(tmp_path), "--normalize", "unit", "--epochs", "2",
            "--steps-per-epoch", "4", "--seed", seed, "--out", out]
    if in_process:
        assert CliRunner().invoke(cli, [str(a) for a in args]).exit_code == 0
    else:
        result = run_cli(args)
        assert result.returncode == 0, result.stderr
    summary = json.loads((out / "metrics.json").read_text())
    summary.pop("seconds")  # wall-clock time is the one field that may differ
    return summary, history_rows(out)


@pytest.mark.e2e
def test_same_command_and_seed_give_identical_metrics(tmp_path):
    first, first_history = _run(tmp_path, "a", 7)
    second, second_history = _run(tmp_path, "b", 7)
    assert first == second  # exact equality: every metric, every digit
    assert first_history == second_history
    other, _ = _run(tmp_path, "c", 8, in_process=True)
    assert other["metrics"] != first["metrics"]  # the seed does matter, so the equality above is not vacuous
