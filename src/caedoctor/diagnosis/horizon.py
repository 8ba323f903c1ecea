"""The horizon: the number of training steps every verdict, cause and repair of a diagnosis is about.

A user asks why their model plateaus where it does, so a diagnosis judges where their training ends, not
where its short probes stop. The horizon is the training the user runs when caedoctor watches it
(`caedoctor run`, `autolog()`, `train`: their `fit`'s epochs x steps per epoch), else the `--horizon-steps`
flag (`horizon_steps=` in Python), else `DEFAULT_HORIZON_STEPS`, what the generated benchmark's ground truth
trains. Probes still run a few hundred steps; their validation curves are forecast to the horizon
(`forecast`), and the output states the horizon and where it came from.

Example::

    Horizon.of(None)                      # Horizon(steps=1500, source='default')
    Horizon.of(4000)                      # Horizon(steps=4000, source='flag')
    Horizon.of_fit(epochs=10, steps_per_epoch=None, train_count=3000, batch_size=32)
    # Horizon(steps=940, source='your fit', detail='10 epochs x 94 steps')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from caedoctor.errors import ConfigError
from caedoctor.thresholds import DEFAULT_HORIZON_STEPS

_SOURCE_TEXT = {"default": "the default: what the benchmark's ground truth trains; --horizon-steps sets it",
                "flag": "--horizon-steps", "your fit": "the training you ran"}


@dataclass(frozen=True)
class Horizon:
    """`steps` training steps, and where that number came from (`source`: default, flag, your fit)."""

    steps: int
    source: str = "default"
    detail: str = ""

    @classmethod
    def of(cls, steps) -> "Horizon":
        """A `Horizon` from `horizon_steps=` (an int, a `Horizon`, or None for the default)."""
        if isinstance(steps, Horizon):
            return steps
        if steps is None:
            return cls(DEFAULT_HORIZON_STEPS, "default")
        if isinstance(steps, bool) or not isinstance(steps, (int, float)) or not math.isfinite(steps) \
                or int(steps) != steps or steps < 1:
            raise ConfigError(f"horizon_steps must be a whole number of training steps >= 1, not {steps!r}")
        return cls(int(steps), "flag")

    @classmethod
    def of_fit(cls, epochs: int, steps_per_epoch: int | None, train_count: int, batch_size: int) -> "Horizon":
        """The horizon of a watched `fit`: its epochs x its steps per epoch (given, or the training samples
        over the batch size, as Keras counts them)."""
        per_epoch = steps_per_epoch or max(1, math.ceil(train_count / max(1, batch_size)))
        epochs = max(1, int(epochs or 1))
        return cls(epochs * int(per_epoch), "your fit", f"{epochs} epoch{'s' if epochs != 1 else ''} x "
                                                        f"{per_epoch} steps")

    def describe(self) -> str:
        """One line for the report: "horizon: 1,500 training steps (...)"."""
        why = (f"your fit: {self.detail}" if self.source == "your fit" and self.detail
               else _SOURCE_TEXT.get(self.source, self.source))
        return f"horizon: {self.steps:,} training steps ({why})"

    def to_dict(self) -> dict:
        return {"steps": self.steps, "source": self.source, "detail": self.detail}


def horizon_line(horizon: dict | None) -> str:
    """`Diagnosis.horizon` in one sentence for the reports: the horizon, where it came from, and the
    baseline's forecast there with its 80% interval ("" without a horizon)."""
    if not horizon:
        return ""
    line = Horizon(horizon["steps"], horizon.get("source", "default"), horizon.get("detail", "")).describe()
    f = horizon.get("forecast") or {}
    if f.get("value") is not None and f.get("method") in ("ensemble", "last value"):
        line += (f"; the baseline is forecast to reach relative MSE {f['value']:.3g} there "
                 f"[{f['low']:.3g}-{f['high']:.3g}, 80%], from {f['last']:.3g} at step {f['observed_steps']:,}")
    elif f.get("method") == "observed" and f.get("value") is not None:
        line += f"; the baseline reached relative MSE {f['value']:.3g} there"
    return line
