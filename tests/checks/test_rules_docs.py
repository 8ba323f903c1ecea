"""docs/rules.md, the one rule list (the README's table moved there, issue 28), is generated from the registry:
it must match it exactly, row for row, static rules and probe findings (CAE7xx) alike, and every rule's link must
land on its heading."""

import re
from pathlib import Path

from caedoctor.checks.docs import render
from caedoctor.checks.registry import PROBE_RULES, RULES

ROOT = Path(__file__).resolve().parents[2]
RULES_MD = ROOT / "docs" / "rules.md"


def _github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_rules_md_matches_the_registry():
    assert RULES_MD.read_text() == render(), "regenerate: python -m caedoctor.checks.docs > docs/rules.md"


def test_each_rule_has_one_row_with_its_cause_severity_and_a_link_to_its_doc():
    text = RULES_MD.read_text()
    rows = re.findall(r"^\| \[(CAE\d{3})\]\(#([\w-]+)\) \| `[\w-]+` \| `(\w+)` \| (\w+) \|", text, re.M)
    every = RULES + PROBE_RULES
    assert [r[0] for r in rows] == [rule.code for rule in every]  # one row each, static then probe, in code order
    assert any(r[0].startswith("CAE7") for r in rows)
    anchors = {_github_slug(h) for h in re.findall(r"^## (.+)$", text, re.M)}
    for (code, anchor, cause, severity), rule in zip(rows, every):
        assert (cause, severity) == (rule.cause, rule.severity), code
        assert anchor in anchors, f"{code}: docs/rules.md links to #{anchor}, which is no heading there"


def test_docs_rules_md_is_generated_and_documents_every_probe_rule_with_its_detector_and_thresholds():
    text = render()
    for rule in PROBE_RULES:
        section = text.split(f"## {rule.code} `{rule.name}`", 1)[1].split("\n## ", 1)[0]
        for part in ("**What it checks.**", "**Why it matters.**", "**Example.**", "**Fix.**"):
            assert part in section, (rule.code, part)
        assert f"detect_{rule.symptom}" in section
        for name in rule.thresholds:
            assert f"`{name}`" in section, (rule.code, name)
