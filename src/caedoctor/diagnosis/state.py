"""`RunState`: what one diagnosis carries from stage to stage, and the one place its probes are run.

The stages (`orchestrate`: static checks, baseline, LR range test; `counterfactuals`; `explain_away`) read
and write this object instead of passing a dozen arguments to each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from caedoctor.diagnosis import probes
from caedoctor.diagnosis.probes import ProbeResult
from caedoctor.diagnosis.result import Diagnosis
from caedoctor.fixes import FixContext
from caedoctor.setup import Setup


@dataclass
class RunState:
    """The set-up under diagnosis, its settings, its result so far and what the probes measured.

    Attributes:
        setup: the user's set-up, exactly as given.
        result: the `Diagnosis` being filled in.
        steps, seed: every probe's length and seed (a reseeded probe uses seed + 1).
        say: the progress callback.
        start: `time.perf_counter()` at the start; `budget_seconds` counts from it.
        analysis: the model reader's analysis of `setup` (None when it refuses the model).
        suggestion: the LR range test's suggestion, once run.
        baseline, reseeded: the probes of the unchanged set-up with seed and seed + 1.
        tested: fix key -> (probe, `Comparison`) of every counterfactual probed.
        margins: metric -> the seed-noise margin around the baseline.
    """

    setup: Setup
    result: Diagnosis
    steps: int
    seed: int
    say: Callable[[str], None]
    start: float
    budget_seconds: float | None = None
    analysis: object | None = None
    suggestion: float | None = None
    baseline: ProbeResult | None = None
    reseeded: ProbeResult | None = None
    tested: dict = field(default_factory=dict)
    margins: dict = field(default_factory=dict)

    def out_of_budget(self) -> bool:
        """True once `budget_seconds` have passed since the start (never without a budget)."""
        return self.budget_seconds is not None and time.perf_counter() - self.start > self.budget_seconds

    def fix_context(self) -> FixContext:
        """What the fixes of the unchanged set-up read: the suggested rate and the model analysis."""
        return FixContext(suggested_lr=self.suggestion, analysis=self.analysis)

    def probe(self, setup: Setup, *, steps: int, seed: int, label: str, monitored: bool = False) -> ProbeResult:
        """Run one probe of `setup`. `monitored`: with a `ConvergenceMonitor` on a fixed training batch and
        the validation curve, so its symptoms can be read (`ProbeResult.symptoms`)."""
        if not monitored:
            return probes.run_probe(setup, steps=steps, seed=seed, label=label)
        return probes.run_probe(setup, steps=steps, seed=seed, label=label, callbacks=[probes.make_monitor(setup.data)],
                                validate_every=probes.VALIDATE_EVERY)
