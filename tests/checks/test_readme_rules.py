"""The README's rule table and docs/rules.md are generated from the registry: they must match it exactly, row
for row, static rules and probe findings (CAE7xx) alike, and every rule's link must land on its heading in
docs/rules.md."""

import re
from pathlib import Path

from caedoctor.checks.docs import readme_block, render, render_table
from caedoctor.checks.registry import PROBE_RULES, RULES

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_readme_rule_table_matches_registry():
    block = readme_block(README.read_text())
    assert block, "README.md lacks the generated rule block"
    assert block == render_table(), "regenerate: python -m caedoctor.checks.docs --readme README.md"


def test_each_rule_has_one_row_with_its_cause_severity_and_a_link_to_its_doc():
    rows = re.findall(r"^\| \[(CAE\d{3})\]\(docs/rules\.md#([\w-]+)\) \| `(\w+)` \| (\w+) \|",
                      readme_block(README.read_text()), re.M)
    every = RULES + PROBE_RULES
    assert [r[0] for r in rows] == [rule.code for rule in every]  # one row each, in registry order
    assert any(r[0].startswith("CAE7") for r in rows)
    anchors = {_github_slug(h) for h in re.findall(r"^## (.+)$", (ROOT / "docs" / "rules.md").read_text(), re.M)}
    for (code, anchor, cause, severity), rule in zip(rows, every):
        assert (cause, severity) == (rule.cause, rule.severity), code
        assert anchor in anchors, f"{code}: README links to docs/rules.md#{anchor}, which is no heading there"


def test_docs_rules_md_is_generated_and_documents_every_probe_rule_with_its_detector_and_thresholds():
    text = render()
    for rule in PROBE_RULES:
        section = text.split(f"## {rule.code} `{rule.name}`", 1)[1].split("\n## ", 1)[0]
        for part in ("**What it checks.**", "**Why it matters.**", "**Example.**", "**Fix.**"):
            assert part in section, (rule.code, part)
        assert f"detect_{rule.symptom}" in section
        for name in rule.thresholds:
            assert f"`{name}`" in section, (rule.code, name)
