"""The fenced blocks of a Markdown page, the `<!-- test: ... -->` comment that says how the tests run each, and
the comparison of a pasted output with a real one.

A block's language says what it is:

- `console`: `$ command` lines, each followed by the output it pastes; the command is run and the pasted lines
  must be its output (see `compare_output`);
- `bash`: commands without output, run with bash;
- `python`: run as a script;
- `yaml`: a spec, checked with `caedoctor check` (its comment names the file: `check as spec.yaml`);
- `text`: a usage synopsis when it starts with `caedoctor `, whose every option must be one its command has;
  anything else (a diagram) is checked by its own test.

The comment just above a fence (optional) holds directives, separated by commas:

- `skip (reason)`: not run; the reason is required;
- `run with CAEDOCTOR_TEST_FAST=1`: run with tests/docs/fast on PYTHONPATH, whose sitecustomize shortens every
  probe (a block with pasted output is never shortened: its output would not be the one shown);
- `run with --OPTION VALUE (reason)`: each `caedoctor` command of the block gets this option;
- `given NAME` (e.g. `given model and x`): the names a code snippet expects, defined first by `GIVEN` in the test;
- `continues the block above`: the page's previous Python block runs first, in the same script;
- `exit N`: the exit code every command must have (otherwise 0 or 1: 1 is "problems found");
- `prints "TEXT"`: a Python block's output must contain TEXT;
- `check as FILE`: a yaml block written to FILE and checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES = ("console", "bash", "python", "yaml", "text")
FENCE = re.compile(r"^```(\S*)\s*$")
COMMENT = re.compile(r"<!--\s*test:(.*?)-->", re.S)
ELLIPSIS = "..."
# A number not glued to a word (CAE501 and conv2d_1 stay as they are): 3, 3,072, 0.0023, 1e-05, 3.0e+00.
NUMBER = re.compile(r"(?<![A-Za-z_\d.])[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")
# What the CLI prints on stderr when piped, in place of the terminal's transient spinner.
PROGRESS = re.compile(r"^  \.\.\. ")


@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    directives: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"


def parse_directives(comment: str) -> dict:
    """The directives of one `<!-- test: ... -->` comment; ValueError for anything not understood."""
    text = " ".join(comment.split())
    found, rest = {}, text
    patterns = {
        "skip": r"skip \(([^)]+(?:\([^)]*\)[^)]*)*)\)",
        "fast": r"run with CAEDOCTOR_TEST_FAST=1",
        "option": r"run with (--[\w-]+(?: [^\s(,]+)?) \(([^)]+)\)",
        "given": r"given ([\w ]+?)(?=,|$)",
        "continues": r"continues the block above",
        "exit": r"exit (\d+)",
        "check_as": r"check as ([\w.-]+)",
        "prints": r'prints "([^"]+)"',
    }
    for name, pattern in patterns.items():
        m = re.search(pattern, rest)
        if m:
            found[name] = m.groups() if len(m.groups()) > 1 else (m.group(1) if m.groups() else True)
            rest = rest[:m.start()] + rest[m.end():]
    if rest.strip(" ,"):
        raise ValueError(f"a test comment says what the tests do not understand: {rest.strip(' ,')!r} (in {text!r})")
    if "skip" in found and len(found) > 1:
        raise ValueError(f"a skipped block takes no other directive: {text!r}")
    return found


def read_blocks(page: Path) -> list[Block]:
    """Every fenced block of `page`, with the directives of the comment right above it (blank lines allowed)."""
    lines = page.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() == "```"), None)
        if end is None:
            raise ValueError(f"{page.name}:{i + 1}: a fence that never closes")
        above = "\n".join(lines[:i]).rstrip()
        directives = {}
        if above.endswith("-->"):
            start = above.rfind("<!--")
            comment = COMMENT.fullmatch(above[start:])
            if comment:
                directives = parse_directives(comment.group(1))
        blocks.append(Block(page, i + 1, m.group(1), "\n".join(lines[i + 1:end]) + "\n", directives))
        i = end + 1
    return blocks


def console_steps(text: str) -> list[tuple[str, list[str]]]:
    """(command, pasted output lines) for each `$ ` line of a console block."""
    steps = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif not steps:
            raise ValueError(f"a console block must start with a `$ ` command, not {line!r}")
        else:
            steps[-1][1].append(line)
    return steps


def _tokens(lines: list[str]) -> list[str]:
    return [NUMBER.sub("#", word) for line in lines for word in line.split()]


def compare_output(pasted: list[str], real: list[str]) -> str | None:
    """None when the pasted output is the real one; otherwise what differs.

    The two are compared word by word, with every number masked (times and measurements vary from run to run;
    the words, the rule codes and their order may not), so where a line wraps does not matter (piped, the CLI
    wraps at 140 columns, after numbers of any width). `...` stands for any number of real words: a line `...`
    for lines left out (at the start or the end too), a line ending in ` ...` for the rest of that line.
    Otherwise every pasted word must be the next real word: a changed word, a line the command no longer
    prints, or a real line left out without `...`, all fail."""
    real_words = _tokens(real)
    segments = [[]]
    for word in _tokens(pasted):
        if word == ELLIPSIS:
            segments.append([])
        else:
            segments[-1].append(word)
    free_start, free_end = not segments[0], not segments[-1]
    segments = [s for s in segments if s]

    def found_at(segment: list[str], start: int, anywhere: bool) -> int | None:
        starts = range(start, len(real_words) - len(segment) + 1) if anywhere else [start]
        return next((s for s in starts if real_words[s:s + len(segment)] == segment), None)

    position = 0
    for k, segment in enumerate(segments):
        at = found_at(segment, position, anywhere=k > 0 or free_start)
        if at is None:
            n = max(n for n in range(len(segment)) if n == 0
                    or found_at(segment[:n], position, anywhere=k > 0 or free_start) is not None)
            context = " ".join(segment[max(0, n - 6):n + 6])
            return f"the pasted word {segment[n]!r} (in \"... {context} ...\") is not what the command prints there"
        position = at + len(segment)
    if segments and not free_end and position != len(real_words):
        return ("the command prints more than the pasted output (leave it out with `...`): "
                f"{' '.join(real_words[position:position + 12])!r}")
    if not segments and not (free_start or free_end) and real_words:
        return "the pasted output is empty, the command prints something"
    return None


def real_lines(output: str) -> list[str]:
    """The lines a person sees: the command's stdout and stderr, without the piped progress messages."""
    return [line for line in output.splitlines() if not PROGRESS.match(line)]


def synopsis_commands(text: str) -> list[str]:
    """The commands of a usage synopsis or an inline span: lines starting with `caedoctor `, with their
    indented continuation lines."""
    commands = []
    for line in text.splitlines():
        if line.startswith("caedoctor "):
            commands.append(line)
        elif line.startswith(" ") and commands:
            commands[-1] += " " + line.strip()
    return commands


def options_of(command: str) -> tuple[list[str], list[str]]:
    """(the words after `caedoctor`, the `--options` the line gives caedoctor). Under `caedoctor run`, the
    options after the script are the script's own."""
    words = command.split()[1:]
    if words[:1] == ["run"]:
        script = next((k for k, w in enumerate(words) if w.endswith(".py") or w.startswith("script")), len(words))
        command = " ".join(words[:script])
    return words, re.findall(r"(?<![\w-])--[a-z][\w-]*", command)
