"""Static checks: find the causes of non-convergence that can be seen without training.

`check(model, data)` reads the model (`analyze_model`), the training configuration and the data profile,
and runs every rule in `RULES`; each returns `Finding`s with a code, a cause, a severity, the measured
numbers and a fix as data. `caedoctor check`, `caedoctor rules` and `caedoctor rule CODE` are the CLI.
"""

from caedoctor.models.analysis import LayerInfo, ModelAnalysis, analyze_model
from caedoctor.checks.engine import DEFAULT_INPUT_SHAPE, build_context, check, run_rules
from caedoctor.checks.registry import RULES, get_rule, select_rules
from caedoctor.checks.rule import CheckContext, Rule

__all__ = ["check", "analyze_model", "build_context", "run_rules", "RULES", "get_rule", "select_rules",
           "Rule", "CheckContext", "ModelAnalysis", "LayerInfo", "DEFAULT_INPUT_SHAPE"]
