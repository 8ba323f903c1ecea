"""`ProbeRule`: a finding the probe run raises (CAE7xx), as data beside the static rules: its symptom's
detector, the thresholds that detector compares with, the four-part doc, and how it builds its finding and
the fix a counterfactual probe makes to test it.

A static `Rule` reads the model and the data before training; a `ProbeRule` reads what the monitor recorded
during a probe run. The detector (`caedoctor/monitor/detectors/<symptom>.py`, beside this rule's module of the
same name in `caedoctor/checks/probe_rules/`) decides whether the symptom is present and which cause it points
at; the rule names the finding (code, doc, fix). Both kinds share one code table
(`caedoctor.checks.registry`), so `caedoctor rule CAE708` prints either.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable

from caedoctor import thresholds as T
from caedoctor.checks.rule import Rule
from caedoctor.findings import Finding, Fix

# The doc's Fix part shared by the rules whose usual cause is the learning rate.
LR_FIX = ("Set the learning rate to the LR range test's suggestion (fix `learning_rate`); the counterfactual "
          "probe with that rate confirms or refutes the cause.")


def fix_for(cause: str, lr_suggestion: float | None = None) -> Fix | None:
    """The change a counterfactual probe makes to test `cause` (None: nothing caedoctor can change).

    A symptom's detector names the cause it read from the traces (a stuck run with most ReLU units dead
    points at `dead_relu`), so the fix follows the cause, whichever symptom raised it.
    """
    lr = f" ({lr_suggestion:.2g})" if lr_suggestion else ""
    if cause == "learning_rate_too_high":
        return Fix("learning_rate", {"learning_rate": lr_suggestion},
                   f"lower the learning rate to the LR range test's suggestion{lr}")
    if cause == "learning_rate_too_low":
        return Fix("learning_rate", {"learning_rate": lr_suggestion},
                   f"raise the learning rate to the LR range test's suggestion{lr}")
    if cause == "dead_relu":
        return Fix("hidden_activation", {"from": "relu", "to": "leaky_relu"},
                   "replace ReLU with LeakyReLU(0.1) in hidden layers")
    if cause in ("saturated_activation", "vanishing_gradients"):
        return Fix("add_batchnorm", {}, "add BatchNormalization after each hidden conv layer")
    if cause == "exploding_gradients":
        return Fix("initializer", {"initializer": "glorot_uniform"},
                   "initialise every conv kernel with Keras' default (Glorot uniform)")
    if cause == "bottleneck_too_narrow":
        return Fix("bottleneck", {"factor": 4.0}, "make the bottleneck 4x wider")
    if cause == "data_not_normalized":
        return Fix("normalize_inputs", {"method": "minmax"}, "scale the inputs (and targets alike) to [0, 1]")
    if cause in ("overfitting", "insufficient_data"):
        return Fix("data", {"action": "more_data"},
                   "train on more (or augmented) images; dropout or weight decay may help too")
    if cause == "over_regularization":
        return Fix("reduce_regularization", {"factor": 0.0},
                   "remove the dropout and the weight and activity penalties (add them back only if it overfits)")
    if cause == "log_variance_overflow":
        return Fix("bound_log_variance", {},
                   "bound the encoder's log-variance: z_log_var = ops.clip(z_log_var, -10, 10) in your encoder")
    if cause == "loss_reduction_mismatch":
        return Fix("kl_weight", {"per_target_value": True},
                   "divide the KL weight by the values per image, as summing the reconstruction over them would")
    if cause == "kl_weight_frozen":
        return Fix("kl_weight_variable", {},
                   "make the KL weight a keras.Variable and assign() to it in the schedule (a code change)")
    if cause == "kl_weight_too_high":
        return Fix("kl_weight", {"factor": 0.1, "ceiling": 1.0},
                   "weigh the KL term 1, as the ELBO does, or 10x less where it is 1 or less already "
                   "(the model's beta or kl_weight)")
    if cause == "batch_size_too_large":
        return Fix("batch_size", {"batch_size": 32}, "use batches of 32")
    return None


def _never(_context) -> list:
    return []  # raised by `diagnose` from the probe's traces, never by the static engine


@dataclass(frozen=True)
class ProbeRule(Rule):
    """One probe finding: a `Rule` (code, name, usual cause, severity, four-part doc) and its symptom.

    Attributes (beyond `Rule`'s):
        symptom: the name of the symptom that raises it (`Symptom.name`, a key of `DETECTORS`, and the name of
            the rule's module and of its detector's).
        detector: the function `MonitorRecord -> Symptom` that detects it, `detect_<symptom>` in
            `caedoctor.monitor.detectors.<symptom>`.
        thresholds: the names of the numbers the detector compares with: constants of its own module (a
            threshold only it reads) or of `caedoctor.thresholds` (one others read too); `threshold(name)`.
        lr_sensitive: a run that shows this symptom also gets a learning-rate finding when the LR range test
            disagrees with the configured rate (`caedoctor.checks.probe_findings`).
        make_fix: `(cause, lr_suggestion) -> Fix | None`, the change that tests a cause it raises.
    """

    run: Callable = _never
    symptom: str = ""
    detector: Callable | None = None
    thresholds: tuple = ()
    lr_sensitive: bool = False
    make_fix: Callable = fix_for

    def __post_init__(self):
        super().__post_init__()
        if not self.code.startswith("CAE7"):
            raise ValueError(f"probe rule codes are CAE7xx, got {self.code!r}")
        if self.detector is None or self.detector.__name__ != f"detect_{self.symptom}":
            raise ValueError(f"rule {self.code}: its detector must be detect_{self.symptom}, got {self.detector!r}")
        missing = [name for name in self.thresholds if self.threshold(name) is None]
        if missing:
            raise ValueError(f"rule {self.code}: no threshold {', '.join(missing)} in "
                             f"{self.detector.__module__} or caedoctor.thresholds")

    def threshold(self, name: str) -> float | None:
        """The value of the threshold `name`: its detector module's own constant, else `caedoctor.thresholds`'
        (None when neither has a number of that name)."""
        value = getattr(sys.modules[self.detector.__module__], name, getattr(T, name, None))
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def fix_for(self, cause: str, lr_suggestion: float | None = None) -> Fix | None:
        """The change a counterfactual probe makes to test `cause`, raised by this rule's symptom."""
        return self.make_fix(cause, lr_suggestion)

    def symptom_finding(self, cause: str, symptom: dict, lr_suggestion: float | None, note: str = "") -> Finding:
        """The finding (status `suspected`) for `cause`, raised by the present `symptom` (a `Symptom.to_dict()`)."""
        evidence = {"symptom": self.symptom, **symptom.get("evidence", {})}
        if note:
            evidence["why_this_cause"] = note
        message = symptom.get("message") or f"the probe run shows {self.symptom.replace('_', ' ')}"
        return Finding(code=self.code, cause=cause, severity=self.severity, status="suspected", message=message,
                       evidence=evidence, fix=self.fix_for(cause, lr_suggestion), doc=f"caedoctor rule {self.code}")

    def measured_by(self) -> str:
        """One line for the docs: the detector and its thresholds."""
        names = ", ".join(f"`{n}`" for n in self.thresholds) or "none (any occurrence)"
        return (f"`{self.detector.__module__}.{self.detector.__name__}` over the monitor's record; thresholds "
                f"(its module or caedoctor/thresholds.py): {names}.")
