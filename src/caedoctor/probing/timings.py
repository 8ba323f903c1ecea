"""Where a diagnosis spends its time: each stage, and inside every probe its build, tracing, training
steps, the monitor's hooks, validation passes, checkpoints, final scoring and, for a probe run elsewhere, the
transfer (`Diagnosis.timings`, in the JSON and the report).

Example::

    t = Timings()
    with t.stage("static checks"):
        ...
    t.add_probe(probe)          # a ProbeResult: its own `timing` breakdown
    t.to_dict()["stages"]       # {"static checks": 0.04, ...}
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

# "transfer": a probe run in another process (`executors.RayExecutor`): the time beyond its own, sending it
# there, waiting for a worker and bringing its result back.
PROBE_PARTS = ("build", "tracing", "steps", "monitor", "validation", "checkpoints", "scoring", "fit_other", "transfer")


@dataclass
class Timings:
    """Seconds per stage (in the order they first ran) and one row per probe."""

    stages: dict = field(default_factory=dict)
    probes: list = field(default_factory=list)

    @contextmanager
    def stage(self, name: str):
        """Time a block as stage `name` (added to what the stage already spent)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start

    def add_probe(self, probe, stage: str) -> None:
        """Record one probe's breakdown (`ProbeResult.timing`) under the stage that ran it."""
        row = {"label": probe.label, "stage": stage, "steps_planned": probe.steps, "steps_run": probe.steps_run,
               "decided_at": probe.decided_at, "stopped": probe.stopped,
               **{part: round(probe.timing.get(part, 0.0), 3) for part in PROBE_PARTS}}
        self.probes.append(row)

    def add_extension(self, before, after, stage: str) -> None:
        """Record the steps `after` (a probe trained on, `probes.extend_probe`) added to `before`."""
        row = {"label": f"{after.label} (trained on)", "stage": stage, "steps_planned": after.steps - before.steps_run,
               "steps_run": after.steps_run - before.steps_run, "decided_at": None, "stopped": after.stopped,
               **{part: round(after.timing.get(part, 0.0) - before.timing.get(part, 0.0), 3) for part in PROBE_PARTS}}
        self.probes.append(row)

    def totals(self) -> dict:
        """Seconds per probe part, summed over every probe."""
        return {part: round(sum(p[part] for p in self.probes), 3) for part in PROBE_PARTS}

    def to_dict(self) -> dict:
        return {"stages": {k: round(v, 3) for k, v in self.stages.items()}, "probe_parts": self.totals(),
                "probes": list(self.probes)}
