"""The shared vocabulary of every stage: causes, severities, statuses, fixes and findings.

A `Finding` is plain data: static checks create it, dynamic diagnosis tests it (status, effect), repair
applies its `fix`, reports print it. JSON output is `Finding.to_dict()`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# The fixed list of causes (issue 3). Add to it only with a documented reason.
CAUSES = (
    "learning_rate_too_high",
    "learning_rate_too_low",
    "output_activation_range",
    "data_not_normalized",
    "target_input_mismatch",
    "loss_data_mismatch",
    "shape_mismatch",
    "nan_in_data",
    "insufficient_data",
    "bottleneck_too_narrow",
    "bottleneck_bypass",
    "capacity_mismatch",
    "kernel_too_large",
    "receptive_field_too_small",
    "dead_relu",
    "saturated_activation",
    "vanishing_gradients",
    "exploding_gradients",
    "batch_size_too_small",
    "batch_size_too_large",
    "checkerboard_artifacts",
    "overfitting",
    "loss_choice",
    # Issue 15: the field notes name regularization as a major factor, and nothing in the vocabulary said
    # "too much of it": Dropout(0.5) through the decoder, a strong L2 kernel_regularizer or an activity
    # penalty that outweighs the reconstruction error pull the output towards the blurry mean image.
    "over_regularization",
    # Issue 29: a VAE's KL term weighted so strongly that the latent code carries nothing (posterior collapse:
    # every output is the mean image), the commonest VAE failure after the faults above.
    "kl_weight_too_high",
    # Issue 29: a VAE's reconstruction averaged over pixels beside a KL summed over latent dimensions (the KL then
    # weighs as many times more as an image has pixels: keras-team/keras PR 3383).
    "loss_reduction_mismatch",
    # Issue 29: a VAE's log-variance grown so large that exp(log_var) overflows float32 (NaN follows).
    "log_variance_overflow",
    # Issue 29: a VAE's KL weight is a Python number read inside the traced train step; a schedule that changes
    # it during fit has no effect (keras-team/keras issue 13826).
    "kl_weight_frozen",
    # Issue 29: a denoising set-up whose targets carry the very noise of their inputs (noise added before the
    # pairing): nothing to denoise, and a loss floor at the noise's variance.
    "target_carries_input_noise",
    # Issue 29: augmentation that reaches the input and not its target, or both with different random draws.
    "augmentation_not_paired",
)

SEVERITIES = ("error", "warning", "info")  # error: training certainly fails or is meaningless
STATUSES = ("suspected", "confirmed", "refuted", "certain")


@dataclass
class Fix:
    """A change described as data, so a repair step can apply it and a report can print it.

    `kind` names an entry of the fixes registry (`caedoctor.fixes.FIX_KINDS`, which documents each kind's
    params and applies it); `params` holds the new values; `description` says the change in one sentence a
    user can act on.

    Example::

        from caedoctor import Fix
        fix = Fix("learning_rate", {"learning_rate": 0.0028}, "set the learning rate to 0.0028")
        print(fix.to_dict())  # {'kind': 'learning_rate', 'params': {'learning_rate': 0.0028}, ...}
    """

    kind: str
    params: dict = field(default_factory=dict)
    description: str = ""

    @property
    def key(self) -> tuple:
        """(kind, params) as a hashable value: two findings with the same key are tested by one probe."""
        return self.kind, repr(sorted(self.params.items()))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "params": jsonable(self.params), "description": self.description}

    def renamed(self, names: dict) -> "Fix":
        """This fix for a copy of the model whose layers are named differently: the layer names in `layer`
        and `layers` (a list, or a dict keyed by name) mapped through `names` (old -> new); others kept."""
        if not names or not ({"layer", "layers"} & set(self.params)):
            return self
        params = dict(self.params)
        if isinstance(params.get("layer"), str):
            params["layer"] = names.get(params["layer"], params["layer"])
        layers = params.get("layers")
        if isinstance(layers, dict):
            params["layers"] = {names.get(k, k): v for k, v in layers.items()}
        elif isinstance(layers, (list, tuple)):
            params["layers"] = [names.get(k, k) if isinstance(k, str) else k for k in layers]
        return Fix(self.kind, params, self.description)


@dataclass
class Effect:
    """A measured effect of a counterfactual probe: the metric before and after the one change."""

    metric: str
    before: float
    after: float

    def to_dict(self) -> dict:
        return {"metric": self.metric, "before": jsonable(self.before), "after": jsonable(self.after)}


@dataclass
class Finding:
    """One suspected or established cause of non-convergence, with the numbers behind it.

    `status` is `suspected` until a counterfactual probe tests it (`confirmed` or `refuted`, with the
    measured `effect`); `certain` marks static certainties (a shape mismatch).

    Example::

        from caedoctor import Finding, Fix
        finding = Finding("CAE501", "learning_rate_too_high", "warning", "adam at learning rate 0.1 is 10x "
                          "above the usual range", evidence={"learning_rate": 0.1},
                          fix=Fix("learning_rate", {"learning_rate": 1e-3}, "set the learning rate to 0.001"))
        print(finding.to_dict()["fix"]["kind"], finding.status)  # learning_rate suspected
    """

    code: str
    cause: str
    severity: str
    message: str
    evidence: dict = field(default_factory=dict)
    fix: Fix | None = None
    status: str = "suspected"
    effect: Effect | None = None
    doc: str = ""  # the rule's doc reference, e.g. "caedoctor rule CAE101"

    def __post_init__(self):
        if self.cause not in CAUSES:
            raise ValueError(f"unknown cause {self.cause!r}; the vocabulary is caedoctor.findings.CAUSES")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}; choose one of {SEVERITIES}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; choose one of {STATUSES}")

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "cause": self.cause,
            "severity": self.severity,
            "status": self.status,
            "message": self.message,
            "evidence": jsonable(self.evidence),
            "effect": self.effect.to_dict() if self.effect else None,
            "fix": self.fix.to_dict() if self.fix else None,
            "doc_url_or_rule": self.doc or f"caedoctor rule {self.code}",
        }


def jsonable(value: Any):
    """Numbers, strings, lists and dicts only; numpy scalars become Python numbers; NaN becomes None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    return value

