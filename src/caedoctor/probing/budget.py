"""The time budget of a diagnosis: the cost of a step, measured on the baseline's first chunks, and the plan
that keeps the whole diagnosis, baseline included, within `budget_seconds`.

- The baseline probe measures a training step while it runs. When finishing it would take more than
  `BASELINE_BUDGET_SHARE` of the budget, it stops early and every probe of the diagnosis runs that many
  steps (never fewer than `MIN_PROBE_STEPS`); the plan is said at once ("one step takes about 95 ms: ...").
- Before the counterfactual probes, the plan says how many there are and about how long each takes; they
  run in order of evidence (errors first, then a learning-rate finding the LR range test backs, then symptoms
  before folklore: `plan.order_for_testing`), each with the budget's deadline, and one is started only when
  `START_PROBE_SHARE` of its time is left. What is not tested stays `suspected`, with the reason.
- Every stage that leaves something undone for lack of time records it here (`leave_untested`, `skip`), so
  the diagnosis can say at its top that it is partial, what it left untested and how long the full one
  needs (`partial`).

Example::

    b = Budget(60.0)
    b.remaining()                 # seconds left (inf without a budget)
    b.probe_seconds(500)          # estimated seconds of a 500-step probe, once a step was measured
"""

from __future__ import annotations

import math
import time
from typing import Callable

from caedoctor.thresholds import BASELINE_BUDGET_SHARE, MIN_PROBE_STEPS, SEQUENTIAL_CHECK_STEPS


class Budget:
    """Seconds allowed (None: no limit) from `start`, and what a probe costs once measured."""

    def __init__(self, seconds: float | None, start: float | None = None, say: Callable[[str], None] = print):
        self.seconds = seconds
        self.start = time.perf_counter() if start is None else start
        self.say = say
        self.step_seconds: float | None = None  # one training step, measured on the baseline
        self.overhead_seconds = 0.0  # per probe: build, tracing and scoring
        self.planned_steps: int | None = None  # the baseline's length once planned
        self.reserve_seconds = 0.0  # kept back for scoring the probe a deadline stops (measured on the baseline)
        self.plan: list = []  # the lines said
        self.requested_steps: int | None = None  # a probe's length before the plan shortened it
        self.untested: list = []  # {"code", "cause", "reason", "test"} of what the budget left untested
        self.untested_probes = 0  # the probes those would have needed (one per fix and test)
        self.skipped: list = []  # (what, steps) of the stages it had no room for (the LR range test)
        self._untested_keys: set = set()

    def deadline(self) -> float | None:
        """When a running probe must stop: the budget's end, less the time its final scoring takes."""
        return None if self.seconds is None else self.start + self.seconds - self.reserve_seconds

    def reserve_for_scoring(self, seconds: float) -> None:
        """Keep `seconds` (a probe's final scoring, measured on the baseline) back from every later deadline, so
        the diagnosis ends within the budget rather than one scoring pass after it."""
        self.reserve_seconds = max(0.0, float(seconds))

    def remaining(self) -> float:
        return math.inf if self.seconds is None else self.start + self.seconds - time.perf_counter()

    def spent(self) -> bool:
        return self.remaining() <= 0

    def probe_seconds(self, steps: int) -> float | None:
        """Estimated seconds of a probe of `steps` steps (None before a step was measured)."""
        if self.step_seconds is None:
            return None
        return steps * self.step_seconds + self.overhead_seconds

    def tell(self, line: str) -> None:
        self.plan.append(line)
        self.say(line)

    def baseline_steps(self, steps: int) -> Callable:
        """`stop_at(reading, chunk)` for the baseline probe of `steps` steps, also its clock's `on_step` (both
        get a `checkpoints.ClockReading`): once a few steps are timed it knows the step cost and, when the whole
        probe would not fit in its share of the budget, a shorter length (a multiple of the checkpoint
        interval, at least `MIN_PROBE_STEPS`), which it then keeps and says. When even that does not fit, it
        says so: the deadline then ends it."""
        self.requested_steps = steps

        def stop_at(reading, chunk: int = 0) -> int:
            if self.planned_steps is not None:
                return self.planned_steps
            step = reading.steady_step
            if step is None:
                return steps
            self.step_seconds = step
            self.overhead_seconds = max(0.0, reading.first_step - step)  # tracing, in the first step
            self.planned_steps = steps
            if self.seconds is None:
                return steps
            before = time.perf_counter() - self.start - reading.trained  # loading, static checks
            fits = int((BASELINE_BUDGET_SHARE * self.seconds - before) / step) // SEQUENTIAL_CHECK_STEPS
            fits *= SEQUENTIAL_CHECK_STEPS
            if fits < steps:
                self.planned_steps = max(MIN_PROBE_STEPS, fits)
                line = (f"one training step takes about {1000 * step:.0f} ms: every probe runs {self.planned_steps} "
                        f"steps instead of {steps} to fit the {self.seconds:.0f} s budget (--budget-seconds)")
                if fits < MIN_PROBE_STEPS:
                    line += (f"; even {MIN_PROBE_STEPS} steps (about {MIN_PROBE_STEPS * step:.0f} s) may not fit, so "
                             "the deadline may end the probe sooner and no counterfactual may run")
                self.tell(line)
            return self.planned_steps

        return stop_at

    def plan_counterfactuals(self, count: int, steps: int) -> None:
        """Say how many counterfactual probes will run and about how long they take."""
        each = self.probe_seconds(steps)
        if count == 0 or each is None:
            return
        line = (f"{count} counterfactual probe{'s' if count != 1 else ''} of {steps} steps, about {each:.0f} s "
                f"each at most ({count * each:.0f} s; less when one is decided early)")
        left = self.remaining()
        if math.isfinite(left):
            line += f"; {max(0.0, left):.0f} s of the budget left"
            if count * each > left:
                line += ": the best-evidenced causes are tested first, the rest may stay suspected"
        self.tell(line)

    def can_start(self, steps: int, share: float) -> bool:
        """True when at least `share` of a `steps`-step probe's estimated time is left (always without a
        budget, or before a step was measured)."""
        each = self.probe_seconds(steps)
        return each is None or self.remaining() >= share * each

    def shortened(self) -> bool:
        """True when the plan made every probe shorter than the steps asked for."""
        return (self.planned_steps is not None and self.requested_steps is not None
                and self.planned_steps < self.requested_steps)

    def leave_untested(self, finding, reason: str, test: str = "counterfactual") -> None:
        """Record that the budget left `finding`'s `test` (counterfactual, explain-away, joint) undone, for the
        reason its evidence says; the probe it needed is counted once per fix and test."""
        key = (test, finding.fix.key if finding.fix is not None else finding.code)
        if key not in self._untested_keys:
            self._untested_keys.add(key)
            self.untested_probes += 1
        if not any(u["code"] == finding.code and u["cause"] == finding.cause for u in self.untested):
            self.untested.append({"code": finding.code, "cause": finding.cause, "reason": reason, "test": test})

    def add_unrun_probes(self, count: int = 1) -> None:
        """Count `count` probes the budget left unrun that every later test waited on (explain-away's seed-noise
        probe around the strongest fix), beyond the one per test `leave_untested` counts."""
        self.untested_probes += count

    def skip(self, what: str, steps: int) -> None:
        """Record that the budget had no room for `what` (a stage of `steps` training steps)."""
        self.skipped.append((what, int(steps)))
