"""`Rule` (a static check as data plus one function) and `CheckContext` (everything a rule may read).

A rule never touches Keras or the raw data: it reads the `ModelAnalysis`, the `TrainConfig` and the
`DataProfile`, and returns findings that quote the numbers it measured. Rules that need data say so
(`needs_data=True`) and are skipped when `caedoctor check` runs on a model alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

from caedoctor.models.analysis import ModelAnalysis
from caedoctor.config import TrainConfig
from caedoctor.data.profile import ArrayStats, DataProfile
from caedoctor.findings import CAUSES, SEVERITIES, Finding, Fix

CODE_PATTERN = re.compile(r"^CAE[1-9]\d\d$")

# Appended to every message that states a suspicion rather than a certainty.
CONFIRM = "a suspicion for `caedoctor diagnose` to confirm or refute by measurement"


@dataclass
class CheckContext:
    """What the rules read: the model analysis, the training configuration and (optionally) the data.

    `ssim_max_val` is the `max_val` of an SSIM loss the user's compiled model brings (None otherwise;
    caedoctor's own training derives it from the data). `loss_scale` is the size of the loss's gradient
    against a mean squared error's at a 10% error (1 for MSE, the pixel count for a per-image sum; see
    `caedoctor.losses.loss_gradient_scale`), None when it could not be measured.
    """

    analysis: ModelAnalysis
    config: TrainConfig
    profile: DataProfile | None = None
    ssim_max_val: float | None = None
    loss_scale: float | None = None

    @property
    def has_data(self) -> bool:
        return self.profile is not None

    @property
    def inputs(self) -> ArrayStats | None:
        return self.profile.inputs if self.profile is not None else None

    @property
    def target(self) -> ArrayStats | None:
        """Statistics of what the model must reproduce (the inputs for a plain autoencoder)."""
        return self.profile.target_stats if self.profile is not None else None

    @property
    def target_shape(self) -> tuple:
        """The data's target shape; without data, the model's input shape (an autoencoder's target)."""
        if self.profile is not None:
            return tuple(self.profile.target_stats.shape)
        return tuple(self.analysis.input_shape)

    @property
    def data_input_shape(self) -> tuple | None:
        return tuple(self.profile.inputs.shape) if self.profile is not None else None


@dataclass(frozen=True)
class Rule:
    """One static check: a stable code, a cause, a severity, a four-part doc, and `run(context)`.

    `run` returns a list of findings, each made with `rule.finding(...)` so code, cause, severity and the
    doc reference always match the rule.
    """

    code: str
    name: str
    cause: str
    severity: str
    summary: str  # one line, for `caedoctor rules`
    what: str  # What it checks
    why: str  # Why it matters
    example: str  # Example (a model or data that fires it, and the message)
    fix: str  # Fix (what to change, and the fix-as-data it reports)
    run: Callable[[CheckContext], list]
    needs_data: bool = False
    reads_graph: bool = True  # reads the layer graph: skipped for a subclassed (opaque) model

    def __post_init__(self):
        if not CODE_PATTERN.match(self.code):
            raise ValueError(f"rule code must look like CAE101, got {self.code!r}")
        if self.cause not in CAUSES:
            raise ValueError(f"rule {self.code}: unknown cause {self.cause!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.code}: unknown severity {self.severity!r}")
        for part in ("summary", "what", "why", "example", "fix"):
            if not getattr(self, part).strip():
                raise ValueError(f"rule {self.code}: the doc part {part!r} is empty")

    def finding(self, message: str, evidence: dict, fix: Fix | None = None) -> Finding:
        return Finding(code=self.code, cause=self.cause, severity=self.severity, message=message,
                       evidence=evidence, fix=fix, doc=f"caedoctor rule {self.code}")

    def applies_to(self, context: CheckContext) -> bool:
        """False when the rule needs data that `context` lacks, or reads a layer graph that a subclassed
        model does not expose: then it is skipped."""
        return not ((self.needs_data and not context.has_data) or (self.reads_graph and context.analysis.opaque))

    def __call__(self, context: CheckContext) -> list:
        """Its findings on `context` (none when it does not apply). The engine calls `applies_to` and `run`
        itself, so a rule's `run` that makes findings with `RULE.finding` never calls back into a frame of
        this module."""
        return list(self.run(context)) if self.applies_to(context) else []

    def doc(self) -> str:
        """The rule's documentation as Markdown: a heading and the four parts."""
        data = " Needs data (`--data`)." if self.needs_data else ""
        return (f"## {self.code} `{self.name}`\n\n"
                f"Cause `{self.cause}`, severity `{self.severity}`.{data} {self.summary}\n\n"
                f"**What it checks.** {self.what.strip()}\n\n"
                f"**Why it matters.** {self.why.strip()}\n\n"
                f"**Example.** {self.example.strip()}\n\n"
                f"**Fix.** {self.fix.strip()}\n")


# ------------------------------------------------------------------ formatting numbers in messages

def num(value) -> str:
    """A number as a person reads it: 0.001, 1e-05, 3,072, 0.3333."""
    if value is None:
        return "?"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    return f"{value:.4g}"


def shape_text(shape) -> str:
    """(28, 28, 1) -> 28x28x1."""
    return "x".join("?" if s is None else str(s) for s in shape) if shape is not None else "?"


def size_text(shape, size) -> str:
    """8x8x64 = 4,096 values; a flat shape is just its count."""
    return f"{shape_text(shape)} = {num(size)}" if shape is not None and len(shape) > 1 else num(size)


def span_text(lo: float, hi: float) -> str:
    return f"[{num(lo)}, {num(hi)}]"


def range_text(rng: tuple) -> str:
    """An activation's range, e.g. (0, 1) for sigmoid or (0, inf) for ReLU."""
    return f"({num(rng[0])}, {num(rng[1])})"


def sample_text(index: int, train_count: int) -> str:
    """Profile stream order is training then validation samples."""
    return f"train[{index}]" if index < train_count else f"val[{index - train_count}]"
