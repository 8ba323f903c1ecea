"""`caedoctor diagnose --executor`: refused before any work, in one line, when Ray is missing or the name is
unknown (these run whether or not Ray is installed; tests/probing/test_executors.py runs probes on Ray)."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner


def run(*args):
    from caedoctor.cli import cli

    return CliRunner().invoke(cli, ["diagnose", *args])


def test_executor_ray_without_ray_is_refused_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as where it is missing
    result = run("preset:seed_better", "--executor", "ray", "--steps", "25")
    assert result.exit_code == 2, result.output
    assert "pip install 'caedoctor[ray]'" in result.output and "Traceback" not in result.output


def test_an_unknown_executor_is_a_usage_error():
    result = run("preset:seed_better", "--executor", "spark")
    assert result.exit_code == 2 and "'spark' is not one of 'local', 'ray'" in result.output


def test_the_python_api_names_the_executors_it_knows():
    from caedoctor.errors import ExecutorError
    from caedoctor.probing.executors import executor_for

    with pytest.raises(ExecutorError, match="unknown executor 'spark': choose one of local, ray"):
        executor_for("spark")
    assert executor_for("local", jobs=3).parallel == 3
