"""Every command and code block of README.md and docs/*.md runs, and every pasted output is what its command
prints today (tests/docs/blocks.py says how a block's language and its `<!-- test: ... -->` comment decide
how it runs).

Each page runs as one session, its blocks in order, in a fresh folder that holds a link to examples/: a block
may read what an earlier one wrote (docs/data.md profiles the TFRecord file its Python block writes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from .blocks import (LANGUAGES, NUMBER, Block, compare_output, console_steps, options_of, read_blocks, real_lines,
                     synopsis_commands)

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FAST = Path(__file__).resolve().parent / "fast"
BIN = Path(sys.executable).parent
TIMEOUT = 900

# What a snippet that works on the reader's own objects is given (`<!-- test: given NAME -->`): small, real.
GIVEN = {
    # The field notes' hyper_bad CAE (Adam at 0.1) and 1,024 patches: 32 steps an epoch at batch 32, so 5 epochs
    # are enough for the monitor to judge a stall.
    "model and x": '''
import keras
import caedoctor
from caedoctor.data.bundled import patches32

keras.utils.set_random_seed(0)
x = patches32()[0][:1024]
model = caedoctor.load_model("preset:seed_hyper_bad", x.shape[1:]).model
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="mse")
''',
    "encoded_images": '''
import tensorflow as tf
from caedoctor.data.bundled import patches32

encoded_images = [tf.io.encode_png((p * 255).astype("uint8")).numpy() for p in patches32()[0][:40]]
''',
}


def _env(fast: bool) -> dict:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONUNBUFFERED="1",
               TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")
    env.pop("CAEDOCTOR_TEST_FAST", None)
    if fast:
        env["CAEDOCTOR_TEST_FAST"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FAST), env.get("PYTHONPATH")]))
    return env


def _run(command: list[str] | str, cwd: Path, fast: bool, shell: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=_env(fast), shell=shell, executable="/bin/bash" if shell else None,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)


def _with_option(command: str, option: str) -> str:
    """`caedoctor SUB ...` with `option` right after the sub-command (before a script's own arguments)."""
    words = command.split(" ")
    assert words[0] == "caedoctor", f"`run with {option}` is for caedoctor commands, not {command!r}"
    return " ".join([*words[:2], option, *words[2:]])


def _exit_ok(block: Block, result, what: str) -> None:
    want = int(block.directives["exit"]) if "exit" in block.directives else None
    ok = result.returncode == want if want is not None else result.returncode in (0, 1)
    assert ok, (f"{block.where}: {what} exited {result.returncode}"
                f"{f' (the page says {want})' if want is not None else ''}:\n{result.stdout[-4000:]}")


def run_block(block: Block, cwd: Path, previous_python: str) -> str:
    """Run one block in `cwd`; returns the Python source it ran (for a block that continues it)."""
    d = block.directives
    fast = "fast" in d
    if block.language == "console":
        steps = console_steps(block.text)
        assert not (fast and any(out for _, out in steps)), (
            f"{block.where}: a shortened run cannot check a pasted output; paste none or run it as it stands")
        for command, pasted in steps:
            if "option" in d:
                command = _with_option(command, d["option"][0])
            result = _run(command, cwd, fast, shell=True)
            _exit_ok(block, result, f"`{command}`")
            problem = compare_output(pasted, real_lines(result.stdout)) if pasted else None
            assert problem is None, (f"{block.where}: the output pasted for `{command}` is stale: {problem}\n"
                                     f"--- it prints today:\n{result.stdout[-6000:]}")
    elif block.language == "bash":
        result = _run(block.text, cwd, fast, shell=True)
        _exit_ok(block, result, "the block")
    elif block.language == "python":
        source = block.text
        if "given" in d:
            assert d["given"] in GIVEN, f"{block.where}: nothing is given as {d['given']!r} (GIVEN: {list(GIVEN)})"
            source = GIVEN[d["given"]] + "\n" + source
        if "continues" in d:
            assert previous_python, f"{block.where}: there is no Python block above to continue"
            source = previous_python + "\n" + source
        script = cwd / f"block_{block.line}.py"
        script.write_text(source)
        result = _run([sys.executable, script.name], cwd, fast)
        assert result.returncode == 0, f"{block.where}: the Python block failed:\n{result.stdout[-6000:]}"
        if "prints" in d:
            assert d["prints"] in result.stdout, (
                f"{block.where}: the block does not print {d['prints']!r}:\n{result.stdout[-6000:]}")
        return source
    elif block.language == "yaml":
        assert "check_as" in d, f"{block.where}: a yaml block needs `<!-- test: check as FILE -->`"
        (cwd / d["check_as"]).write_text(block.text)
        result = _run(["caedoctor", "check", d["check_as"]], cwd, fast)
        _exit_ok(block, result, f"caedoctor check {d['check_as']}")
    elif block.language == "text":
        check_synopsis(block.text, block.where)
    return previous_python


def _command_of(words: list[str]):
    from caedoctor.cli import cli

    command = cli
    for word in words:
        if isinstance(command, click.Group) and word in command.commands:
            command = command.commands[word]
        else:
            break
    return command


def check_synopsis(text: str, where: str) -> None:
    """Every `caedoctor SUB ... --option` line of `text` names a sub-command and options it has."""
    from caedoctor.cli import cli

    for line in synopsis_commands(text):
        words, options = options_of(line)
        if words and words[0].isupper():
            continue  # `caedoctor COMMAND --help`: any command
        command = _command_of(words)
        assert command is not cli or not words or words[0].startswith("-") or words[0] == "...", (
            f"{where}: `{line}` names no caedoctor command")
        known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help"}
        if command is cli:
            known |= {"--version", "--debug"}
        unknown = [o for o in options if o not in known]
        assert not unknown, f"{where}: `caedoctor {command.name}` has no option {unknown} (named in `{line}`)"


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_block_is_a_known_kind_and_says_why_it_is_not_run(page):
    blocks = read_blocks(page)
    assert page.read_text().count("<!-- test:") == sum(1 for b in blocks if b.directives), (
        f"{_page_id(page)}: a `<!-- test: ... -->` comment stands elsewhere than right above a block")
    for block in blocks:
        assert block.language in LANGUAGES, (
            f"{block.where}: a fence must name its language, one of {LANGUAGES} (got {block.language!r})")
        if "skip" in block.directives:
            assert len(block.directives["skip"].split()) >= 3, f"{block.where}: a skip needs its reason"


def _to_run(page: Path) -> list[Block]:
    return [b for b in read_blocks(page) if "skip" not in b.directives]


@pytest.mark.e2e
@pytest.mark.parametrize("page", [p for p in PAGES if _to_run(p)], ids=_page_id)
def test_every_block_of_the_page_runs_and_its_pasted_output_is_real(page, tmp_path):
    blocks = _to_run(page)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    previous = ""
    for block in blocks:
        previous = run_block(block, tmp_path, previous)


def test_every_caedoctor_command_a_page_names_has_the_options_it_names():
    """The inline `caedoctor ...` spans too (the commands tables): a renamed or removed option fails here."""
    for page in PAGES:
        for span in re.findall(r"`(caedoctor [^`]+)`", page.read_text()):
            check_synopsis(span.replace("\\|", "|"), f"{_page_id(page)} (`{span}`)")


# ---------------------------------------------------------------------------------------------- the checks can fail

def _readme_quickstart() -> tuple[str, list[str]]:
    block = next(b for b in read_blocks(ROOT / "README.md") if b.language == "console")
    (command, pasted), = console_steps(block.text)
    return command, pasted


def _as_printed(pasted: list[str]) -> list[str]:
    """What the command printed when this was pasted: the pasted lines, and a line where it says `...`."""
    return [line if line.strip() != "..." else "time (s): static checks 0.1, baseline probe 24.5" for line in pasted]


def test_the_pasted_quickstart_output_matches_itself_with_other_numbers_and_other_line_breaks():
    _, pasted = _readme_quickstart()
    printed = _as_printed(pasted)
    assert compare_output(pasted, printed) is None
    renumbered = [NUMBER.sub(lambda m: re.sub(r"\d", "7", m.group()) + "7", line) for line in printed]
    assert compare_output(pasted, renumbered) is None  # times and measurements vary
    rewrapped = " ".join(printed).replace(" relative MSE", "\nrelative MSE").splitlines()
    assert compare_output(pasted, rewrapped) is None  # the CLI wraps at 140 columns, after numbers of any width


@pytest.mark.parametrize("edit", [
    lambda lines: [line.replace("not_converging", "converging") for line in lines],  # a word changed
    lambda lines: [line.replace("CAE708", "CAE707") for line in lines],  # a rule code changed
    lambda lines: [line for line in lines if "CAE709" not in line],  # a finding the command no longer prints
    lambda lines: lines[:12] + ["  note: a line the pasted output leaves out"] + lines[12:],  # a line added
    lambda lines: [line.replace("refuted by measurement", "refuted") for line in lines],
])
def test_a_stale_pasted_output_fails(edit):
    _, pasted = _readme_quickstart()
    assert compare_output(pasted, edit(_as_printed(pasted))) is not None


def test_an_option_a_command_lacks_fails():
    with pytest.raises(AssertionError, match="no option"):
        check_synopsis("caedoctor diagnose MODEL [--data DATA] [--no-such-option]", "here")
    with pytest.raises(AssertionError, match="names no caedoctor command"):
        check_synopsis("caedoctor diagnoze MODEL", "here")
    check_synopsis("caedoctor run --quick train.py --epochs 3", "here")  # --epochs is the script's own


def test_a_test_comment_the_harness_does_not_understand_fails():
    from .blocks import parse_directives

    assert parse_directives(" run with CAEDOCTOR_TEST_FAST=1, given model and x ") == {"fast": True,
                                                                                       "given": "model and x"}
    with pytest.raises(ValueError, match="do not understand"):
        parse_directives(" run quickly ")
    with pytest.raises(ValueError, match="takes no other directive"):
        parse_directives(" skip (two machines are needed here), exit 1 ")
