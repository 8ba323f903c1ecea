"""`caedoctor repair` is the command's one name in the help; `caedoctor fix`, its former name, still runs it with
the same arguments and says on stderr that it is now `repair`. (The real repair through the CLI:
tests/repairing/test_repair.py.)"""

from __future__ import annotations

from click.testing import CliRunner

from caedoctor.cli import cli
from caedoctor.commands.repair import repair_command

DEPRECATION = "caedoctor: `caedoctor fix` is deprecated: it is now `caedoctor repair`, with the same options."


def test_help_lists_repair_and_not_fix():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    commands = result.output.split("Commands:")[1].split()
    assert "repair" in commands and "fix" not in commands


def test_repair_help_works():
    result = CliRunner().invoke(cli, ["repair", "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: cli repair [OPTIONS] MODEL")
    assert "--out" in result.output and "--budget-seconds" in result.output


def test_fix_runs_repair_with_the_same_arguments_and_warns(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(repair_command, "callback", lambda **kwargs: calls.append(kwargs))
    args = ["preset:seed_bad", "--data", "bundled:patches32", "--out", str(tmp_path / "out"), "--epochs", "2",
            "--steps", "50", "--seed", "3", "--format", "json"]
    new = CliRunner().invoke(cli, ["repair", *args])
    old = CliRunner().invoke(cli, ["fix", *args])
    assert new.exit_code == old.exit_code == 0, (new.output, old.output)
    assert len(calls) == 2 and calls[0] == calls[1] and calls[1]["epochs"] == 2 and calls[1]["seed"] == 3
    assert old.stderr.splitlines() == [DEPRECATION] and old.stdout == "" and new.stderr == ""


def test_fix_fails_as_repair_does_after_its_one_line(tmp_path):
    args = ["preset:seed_bad", "--out", str(tmp_path / "out"), "--epochs", "1", "--budget-seconds", "5"]
    new = CliRunner().invoke(cli, ["repair", *args])
    old = CliRunner().invoke(cli, ["fix", *args])
    assert new.exit_code == old.exit_code == 2
    assert new.stderr == "caedoctor: error: give either --epochs or --budget-seconds, not both\n"
    assert old.stderr == f"{DEPRECATION}\n{new.stderr}"
