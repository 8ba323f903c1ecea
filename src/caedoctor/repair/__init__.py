"""Apply fixes described as data (`caedoctor.findings.Fix`) to a model, its configuration and its data."""

from caedoctor.repair.rewrite import NotApplicable, apply_fix, apply_fixes

__all__ = ["apply_fix", "apply_fixes", "NotApplicable"]
