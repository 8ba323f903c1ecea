"""`FixKind`: one kind of change as data plus its apply function, and what every apply function may read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


class NotApplicable(Exception):
    """This fix cannot be applied to this set-up (e.g. no ReLU to replace); the reason is the message."""


@dataclass
class FixContext:
    """What an apply function may need beyond the set-up and the fix's params.

    `suggested_lr` fills a learning-rate fix whose rate is null (the LR range test's suggestion); `analysis`
    is the model reader's `ModelAnalysis` (computed on demand when None).
    """

    suggested_lr: float | None = None
    analysis: object | None = None


@dataclass(frozen=True)
class FixKind:
    """One kind of fix: its name, its params, its place in the repair order, the metric that judges it, and
    `apply(setup, fix, context) -> Setup`, which returns a NEW set-up that differs in this one thing.

    `stage` orders repair: data first, then shapes, architecture, loss, optimizer and rate, batch size (each
    step changes what the next one sees). `automatic=False` marks advice caedoctor cannot carry out itself
    (more data): such a kind is tested in another way or reported as advice.
    """

    kind: str
    params: str
    stage: int
    apply: Callable
    metric: str = "relative_mse"
    automatic: bool = True

    def __post_init__(self):
        if self.metric not in ("relative_mse", "dssim"):
            raise ValueError(f"fix kind {self.kind}: unknown metric {self.metric!r}")
