"""README.md and bench/README.md show the same fault-benchmark figures, README.md and bench/generated/README.md the
same test-split figures, and both say what those figures are."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench_figures() -> dict:
    text = (ROOT / "bench" / "README.md").read_text()
    row = {name: re.search(rf"^\| {re.escape(label)}.*?\| \*\*(?:median )?([\d.]+%?)\*\*", text, re.M)
           for name, label in (("recall", "cause recall"), ("precision", "cause precision"),
                               ("repair", "repair rate"), ("median", "seconds per diagnosis, wall"))}
    missing = [k for k, m in row.items() if m is None]
    assert not missing, f"bench/README.md has no results row for {missing}"
    return {k: m.group(1) for k, m in row.items()}


def test_readme_shows_bench_readmes_current_figures():
    figures = _bench_figures()
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("- **Fault benchmark**"):readme.index("- **Generated fault benchmark**")]
    for name, value in figures.items():
        number = value if value.endswith("%") else f"{value} s"
        assert number in section, f"README's benchmark section lacks the {name} figure {number} of bench/README.md"
    # Every percentage the section quotes is one of bench/README.md's results (no older run's figure).
    results = (ROOT / "bench" / "README.md").read_text().split("### Results", 1)[1].split("\n### ", 1)[0]
    stale = [p for p in re.findall(r"\d+\.\d%", section) if p not in results]
    assert not stale, f"README quotes figures that bench/README.md's results do not show: {stale}"


def test_readme_quotes_the_generated_test_split_as_measured():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("- **Generated fault benchmark**"):readme.index("- **Streaming**")]
    text = (ROOT / "bench" / "generated" / "README.md").read_text()
    results = text.split("## Test-split results", 1)[1].split("\n## ", 1)[0]
    quoted = re.findall(r"\d+\.\d%", section)
    assert quoted, "README's generated-benchmark bullet quotes no figure"
    stale = [p for p in quoted if p not in results]
    assert not stale, f"README quotes figures that bench/generated/README.md's test-split results do not show: {stale}"
    assert "test split" in section and "never tuned on" in section


def test_both_say_the_fault_cases_are_the_development_set():
    for path in (ROOT / "README.md", ROOT / "bench" / "README.md"):
        text = " ".join(path.read_text().split())
        assert "41 cases are the development set" in text and "were tuned on them" in text, path
        assert "not what to expect on new models" in text or "not an estimate of how it does on new models" in text
