"""The static rules, one module each; `caedoctor.checks.registry` lists them.

A rule module defines `run(ctx) -> list[Finding]` and `RULE = Rule(...)` with its code, cause, severity
and four-part doc. Adding a rule is one new module here plus one line in the registry.
"""
