"""The rules: static checks of what can be seen without training, and the probe rules beside them.

`check(model, data)` reads the model (`analyze_model`), the training configuration and the data profile,
and runs every rule in `RULES`; each returns `Finding`s with a code, a cause, a severity, the measured
numbers and a fix as data. `PROBE_RULES` (CAE7xx) are the findings a probe run raises from its symptoms
(`findings_from_symptoms`); `get_rule` reads both. `caedoctor check`, `caedoctor rules` and
`caedoctor rule CODE` are the CLI.
"""

from caedoctor.checks.engine import DEFAULT_INPUT_SHAPE, build_context, check, run_rules
from caedoctor.checks.probe_findings import findings_from_symptoms
from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.checks.registry import PROBE_RULES, RULES, get_rule, select_rules
from caedoctor.checks.rule import CheckContext, Rule
from caedoctor.models.analysis import LayerInfo, ModelAnalysis, analyze_model

__all__ = ["check", "analyze_model", "build_context", "run_rules", "RULES", "PROBE_RULES", "get_rule",
           "select_rules", "findings_from_symptoms", "ProbeRule", "Rule", "CheckContext", "ModelAnalysis",
           "LayerInfo", "DEFAULT_INPUT_SHAPE"]
