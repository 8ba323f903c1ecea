"""The README's rule table is generated from the registry: it must match it exactly."""

from pathlib import Path

from caedoctor.checks.docs import readme_block, render_table
from caedoctor.checks.registry import RULES

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_rule_table_matches_registry():
    block = readme_block(README.read_text())
    assert block, "README.md lacks the generated rule block"
    assert block == render_table(), "regenerate: python -m caedoctor.checks.docs --readme README.md"
    for rule in RULES:
        assert rule.code in block
