"""The fixes: one registry entry per kind of change, each a function `Setup -> Setup` that changes one thing.

A `Fix` (caedoctor.findings) is a change described as data: a kind and its params. `apply_fix(setup, fix)`
looks the kind up in the registry (`apply.FIX_KINDS`) and returns a NEW `Setup` (model rewrites go through
`keras.models.clone_model`, so the user's model is never mutated; data fixes map the pipelines). The diagnosis
uses it for counterfactual probes and the repair for the repaired model. Adding a kind: a `FixKind` in a
module here, one line in `FIX_KINDS`.
"""

from caedoctor.fixes.apply import FIX_KINDS, apply_fix, apply_fixes, get_fix_kind, metric_for, repair_rank
from caedoctor.fixes.data_fixes import is_more_data
from caedoctor.fixes.kind import FixContext, FixKind, NotApplicable

__all__ = ["FIX_KINDS", "FixKind", "FixContext", "NotApplicable", "apply_fix", "apply_fixes", "get_fix_kind",
           "metric_for", "repair_rank", "is_more_data"]
