"""The one code table: the static rules (`RULES`, run by `check`) and the probe rules (`PROBE_RULES`, CAE7xx,
raised by `diagnose` from a probe run), each in code order.

Both are found, not listed: every module of a family folder of `caedoctor.checks.rules` (`dataset/`,
`output/`, ...) and every module of `caedoctor.checks.probe_rules` defines one `RULE`. Adding a rule is one
new module; nothing here changes. A module whose name starts with `_` holds shared helpers; any other module
without a `RULE`, or a rule module outside a family folder, stops the import with an error instead of being
skipped, so a rule cannot vanish from `check`, `caedoctor rules` and the generated docs unnoticed.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from caedoctor.checks import probe_rules, rules
from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.checks.rule import Rule
from caedoctor.errors import ConfigError


def _modules(package: ModuleType) -> list[ModuleType]:
    """The modules of `package` that are not helpers (`_name`), imported, by name."""
    return [importlib.import_module(f"{package.__name__}.{info.name}")
            for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_")]


def _rules_of(package: ModuleType, kind: type) -> list:
    """The `RULE` of every module of `package`, by code; a module without one is an error."""
    found = []
    for module in _modules(package):
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, kind):
            raise ImportError(f"{module.__name__} defines no {kind.__name__} `RULE` (got {rule!r}); a module of "
                              f"helpers is named `_{module.__name__.rsplit('.', 1)[1]}`")
        found.append(rule)
    return sorted(found, key=lambda r: r.code)


def find_rules(package: ModuleType = rules) -> list[Rule]:
    """The rules of every family folder of `package` (by default `caedoctor.checks.rules`), by code; a module
    outside a family folder is an error."""
    families = _modules(package)
    strays = [m.__name__ for m in families if not hasattr(m, "__path__")]
    if strays:
        raise ImportError(f"{', '.join(strays)}: a static rule lives in a family folder of {package.__name__} "
                          f"({', '.join(m.__name__.rsplit('.', 1)[1] for m in families if hasattr(m, '__path__'))})")
    return sorted((rule for family in families for rule in _rules_of(family, Rule)), key=lambda r: r.code)


def find_probe_rules(package: ModuleType = probe_rules) -> list[ProbeRule]:
    """The probe rules of every module of `package` (by default `caedoctor.checks.probe_rules`), by code."""
    return _rules_of(package, ProbeRule)


RULES: tuple[Rule, ...] = tuple(find_rules())

# CAE7xx: findings raised from what a probe run showed (`caedoctor diagnose`); `check` does not run them.
PROBE_RULES: tuple[ProbeRule, ...] = tuple(find_probe_rules())

_BY_CODE = {rule.code: rule for rule in RULES}
assert len(_BY_CODE) == len(RULES), "two rules share a code"
_ALL_BY_CODE = {rule.code: rule for rule in RULES + PROBE_RULES}
assert len(_ALL_BY_CODE) == len(RULES) + len(PROBE_RULES), "a probe rule shares a code with another rule"
PROBE_RULES_BY_SYMPTOM = {rule.symptom: rule for rule in PROBE_RULES}
assert len(PROBE_RULES_BY_SYMPTOM) == len(PROBE_RULES), "two probe rules share a symptom"


def get_rule(code: str) -> Rule:
    """The rule with `code` (case-insensitive), static or probe; `ConfigError` naming the known codes otherwise."""
    rule = _ALL_BY_CODE.get(str(code).strip().upper())
    if rule is None:
        raise ConfigError(f"unknown rule {code!r}; `caedoctor rules` lists them ({RULES[0].code} to "
                          f"{RULES[-1].code})")
    return rule


def _codes(spec) -> list:
    if spec is None:
        return []
    if isinstance(spec, str):
        spec = spec.split(",")
    return [str(c).strip().upper() for c in spec if str(c).strip()]


def select_rules(select=None, ignore=None) -> list:
    """Rules chosen by code or code prefix, like ruff: `select="CAE2,CAE501"`, `ignore=["CAE302"]`.

    Raises:
        ConfigError: for a code or prefix that matches no rule.
    """
    chosen, dropped = _codes(select), _codes(ignore)
    for prefix in chosen + dropped:
        if not any(code.startswith(prefix) for code in _BY_CODE):
            raise ConfigError(f"no rule matches {prefix!r} (codes run from {RULES[0].code} to {RULES[-1].code})")
    rules = [r for r in RULES if not chosen or any(r.code.startswith(p) for p in chosen)]
    return [r for r in rules if not any(r.code.startswith(p) for p in dropped)]
