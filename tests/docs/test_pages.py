"""The documentation holds together: README.md is a front door of at most 150 lines that links every page, every
relative link and anchor of README.md and docs/ lands, the layout docs/ARCHITECTURE.md draws is the package's,
and the vocabulary the README teaches (verdicts, statuses) is the code's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from caedoctor.diagnosis.verdict import VERDICTS
from caedoctor.findings import STATUSES

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 150


def _slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)  # a `# comment` in a block is no heading
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def test_readme_is_a_front_door_of_at_most_150_lines():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; the manual belongs in docs/"


def test_readme_links_every_docs_page():
    text = README.read_text()
    missing = [p.name for p in PAGES[1:] if f"(docs/{p.name})" not in text]
    assert not missing, f"README.md does not link {missing}"


def test_readme_quickstart_comes_before_the_manual():
    """A newcomer meets a real diagnosis first: the quickstart's `caedoctor diagnose` and its output come within
    the first 40 lines."""
    lines = README.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("$ caedoctor diagnose"))
    assert first < 40 and lines[first + 1].startswith("verdict: "), first


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_lands(page):
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # https://..., mailto:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: the link ({target}) points to {file}, which does not exist"
        if anchor and file.suffix == ".md":
            assert anchor in _anchors(file), f"{page.name}: ({target}): {file.name} has no heading #{anchor}"


def test_readme_names_every_verdict_and_status_the_code_has():
    section = README.read_text().split("## Reading a diagnosis", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(\w+)`", section))
    assert set(VERDICTS) <= named, f"README's verdicts lack {set(VERDICTS) - named}"
    assert set(STATUSES) <= named, f"README's statuses lack {set(STATUSES) - named}"


def _drawn_layout() -> set[str]:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    tree = text.split("```text\nsrc/caedoctor/\n", 1)[1].split("```", 1)[0]
    return {m for m in re.findall(r"^  (\S+)", tree, re.M)}


def test_architecture_draws_every_module_and_package_and_nothing_else():
    package = ROOT / "src" / "caedoctor"
    real = {p.name for p in package.glob("*.py")} | {
        f"{p.name}/" for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    drawn = _drawn_layout()
    assert drawn == real, f"docs/ARCHITECTURE.md draws {sorted(drawn - real)} that src/caedoctor lacks, and not " \
                          f"{sorted(real - drawn)}"


def test_architecture_lists_the_layers_of_the_import_contract():
    """Each layer of pyproject.toml's contract is named in the drawing (a layer moved or renamed there shows)."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    drawn = {name.rstrip("/").removesuffix(".py") for name in _drawn_layout()}
    for layer in layers:
        for module in layer.split("|"):
            assert module.strip().removeprefix("caedoctor.") in drawn, f"the layer {module.strip()} is not drawn"
