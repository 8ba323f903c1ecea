"""The registry finds the rules, it is not a list: every rule file in every family folder of
`caedoctor.checks.rules` and every probe-rule file is in the code table, each family holds one hundred of the
codes, and a file the registry could not read stops the import instead of vanishing from `check` and the docs."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from caedoctor.checks import PROBE_RULES, RULES, probe_rules, rules
from caedoctor.checks.registry import find_probe_rules, find_rules

RULES_DIR = Path(rules.__file__).parent
PROBE_RULES_DIR = Path(probe_rules.__file__).parent


def _rule_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def _families() -> dict:
    """family folder -> the rules its files define, read from the files on disk."""
    folders = sorted(p for p in RULES_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))
    return {f.name: [importlib.import_module(f"caedoctor.checks.rules.{f.name}.{p.stem}").RULE for p in _rule_files(f)]
            for f in folders}


def test_every_rule_file_in_every_family_folder_is_registered():
    families = _families()
    assert len(families) >= 5 and all((RULES_DIR / name / "__init__.py").is_file() for name in families)
    assert _rule_files(RULES_DIR) == [], "a static rule file lives in a family folder, not in rules/ itself"
    for name, found in families.items():
        for rule in found:
            assert rule in RULES, f"{name}: {rule.code} is not in the registry"
    assert sorted(r.code for found in families.values() for r in found) == [r.code for r in RULES]


def test_every_probe_rule_file_is_registered():
    found = [importlib.import_module(f"caedoctor.checks.probe_rules.{p.stem}").RULE
             for p in _rule_files(PROBE_RULES_DIR)]
    assert sorted(r.code for r in found) == [r.code for r in PROBE_RULES]


def test_each_family_folder_holds_one_hundred_of_the_codes_and_the_table_is_in_code_order():
    hundreds = {name: {r.code[:4] for r in found} for name, found in _families().items()}
    assert all(len(h) == 1 for h in hundreds.values()), hundreds  # e.g. {"dataset": {"CAE1"}, ...}
    assert len(set().union(*hundreds.values())) == len(hundreds), hundreds
    assert [r.code for r in RULES] == sorted(r.code for r in RULES)
    assert [r.code for r in PROBE_RULES] == sorted(r.code for r in PROBE_RULES)


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """`make(name, {relative path: source})`: a package on a temporary sys.path, imported."""
    made = []

    def make(name: str, files: dict):
        for rel, source in {"__init__.py": "", **files}.items():
            path = tmp_path / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        made.append(name)
        importlib.invalidate_caches()
        return importlib.import_module(name)

    monkeypatch.syspath_prepend(str(tmp_path))
    yield make
    for name in made:
        for key in [k for k in sys.modules if k == name or k.startswith(f"{name}.")]:
            del sys.modules[key]


RULE_SOURCE = """
    from caedoctor.checks.rule import Rule

    def run(ctx):
        return []

    RULE = Rule(code="{code}", name="fake-{code}", cause="loss_choice", severity="info", summary="a fake rule",
                what="w", why="w", example="e", fix="f", run=run)
"""


def test_find_rules_reads_the_family_folders_and_refuses_what_it_cannot_read(fake_package):
    good = fake_package("fake_rules_good", {"b/__init__.py": "", "b/two.py": RULE_SOURCE.format(code="CAE902"),
                                            "a/__init__.py": "", "a/one.py": RULE_SOURCE.format(code="CAE901"),
                                            "a/_helpers.py": "X = 1\n"})
    assert [r.code for r in find_rules(good)] == ["CAE901", "CAE902"]
    stray = fake_package("fake_rules_stray", {"loose.py": RULE_SOURCE.format(code="CAE903")})
    with pytest.raises(ImportError, match="family folder"):
        find_rules(stray)
    no_rule = fake_package("fake_rules_norule", {"a/__init__.py": "", "a/helpers.py": "X = 1\n"})
    with pytest.raises(ImportError, match="defines no Rule"):
        find_rules(no_rule)
    static_as_probe = fake_package("fake_probe_rules", {"one.py": RULE_SOURCE.format(code="CAE904")})
    with pytest.raises(ImportError, match="defines no ProbeRule"):
        find_probe_rules(static_as_probe)
