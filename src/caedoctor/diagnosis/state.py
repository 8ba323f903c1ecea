"""`RunState`: what one diagnosis carries from stage to stage, and the probe runner its probes go through.

The stages (`orchestrate`: static checks, baseline, LR range test; `counterfactuals`; `explain_away`) read
and write this object instead of passing a dozen arguments to each other. Every probe goes through
`RunState.probe`, that is its `runner` (`runner.ProbeRunner`): scored on the shared check batch, stopped at
the budget's deadline, timed; a repair runs its probes through a runner of its own, built alike.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from typing import Callable

from caedoctor.probing.budget import Budget
from caedoctor.diagnosis.horizon import Horizon
from caedoctor.diagnosis.judge import noise_margin
from caedoctor.probing.probes import ProbeResult
from caedoctor.diagnosis.result import Diagnosis
from caedoctor.probing.executors import LocalExecutor
from caedoctor.probing.runner import ProbeRunner
from caedoctor.probing.timings import Timings
from caedoctor.fixes import FixContext
from caedoctor.setup import Setup


@dataclass
class RunState:
    """The set-up under diagnosis, its settings, its result so far and what the probes measured.

    Attributes:
        setup: the user's set-up, exactly as given.
        result: the `Diagnosis` being filled in.
        steps, seed: every probe's length and seed (a reseeded probe uses seed + 1); a budget plan may
            shorten `steps` while the baseline runs.
        say: the progress callback.
        runner: runs every probe (`runner.ProbeRunner`); built from `budget`, `sequential` and `timings` when
            not given. What it owns reads and writes here under the same names: `budget` (the time budget and
            the plan), `sequential` (decide counterfactual probes early; False runs them to the end and only
            records what the early rule would have decided), `timings` (where the time went), `checks` (the
            fixed validation batch every probe is scored on along the way), `evaluation` (the validation
            batches every probe is scored on at its end), `models` (compiled models kept for probes with the
            same graph; None: every probe compiles) and `stage` (the name the next probes are timed under).
        jobs: how many counterfactual probes run side by side (threads here, or tasks of the runner's
            executor, `probing.executors`; 1: one after the other).
        analysis: the model reader's analysis of `setup` (None when it refuses the model).
        suggestion: the LR range test's suggestion, once run.
        baseline, reseeded: the probes of the unchanged set-up with seed and seed + 1 (the second only when
            a decision needs the seed noise: `noise`).
        tested: fix key -> (probe, `Comparison`) of every counterfactual probed.
        setups: fix key -> the counterfactual `Setup` it tested (to rerun a probe decided early in full).
        margins: metric -> the seed-noise margin around the baseline.
        horizon: the training steps the diagnosis is about (`horizon.Horizon`); probes are forecast there.
        longer_baselines: steps -> the baseline trained on to that many steps (`baseline_at`, for `extend`).
    """

    setup: Setup
    result: Diagnosis
    steps: int
    seed: int
    say: Callable[[str], None]
    budget: InitVar[Budget | None] = None  # for the runner (None: no time limit)
    sequential: InitVar[bool] = True  # for the runner
    jobs: int = 1
    analysis: object | None = None
    suggestion: float | None = None
    baseline: ProbeResult | None = None
    reseeded: ProbeResult | None = None
    tested: dict = field(default_factory=dict)
    setups: dict = field(default_factory=dict)
    margins: dict = field(default_factory=dict)
    timings: InitVar[Timings | None] = None  # for the runner (None: a new one)
    horizon: Horizon = field(default_factory=lambda: Horizon.of(None))
    longer_baselines: dict = field(default_factory=dict)
    runner: ProbeRunner | None = None
    executor: InitVar[object] = None  # for the runner (None: this process, `jobs` threads)
    _baseline_head: ProbeResult | None = field(default=None, repr=False)  # the longest baseline, still trainable

    def __post_init__(self, budget: Budget | None, sequential: bool, timings: Timings | None,
                      executor) -> None:
        if self.runner is None:
            self.runner = ProbeRunner(self.setup.data, budget if budget is not None else Budget(None),
                                      timings if timings is not None else Timings(), sequential,
                                      executor=executor if executor is not None else LocalExecutor(self.jobs),
                                      say=self.say)

    def out_of_budget(self) -> bool:
        """True once the budget's seconds have passed since the start (never without a budget)."""
        return self.budget.spent()

    def fix_context(self) -> FixContext:
        """What the fixes of the unchanged set-up read: the suggested rate and the model analysis."""
        return FixContext(suggested_lr=self.suggestion, analysis=self.analysis)

    def probe(self, setup: Setup, **options) -> ProbeResult:
        """A probe of `setup` through the runner (`ProbeRunner.probe`: the same options)."""
        return self.runner.probe(setup, **options)

    def extend(self, probe: ProbeResult, steps: int) -> ProbeResult:
        """`probe` trained on to `steps` steps through the runner (`ProbeRunner.extend`)."""
        return self.runner.extend(probe, steps)

    def scoring_for(self, data) -> tuple:
        """(check batch, evaluation batches) of `data` (`ProbeRunner.scoring_for`)."""
        return self.runner.scoring_for(data)

    def baseline_extendable(self) -> bool:
        """Whether the baseline can still be trained on (`baseline_at`)."""
        head = self._baseline_head or self.baseline
        return head is not None and head.live is not None

    def baseline_at(self, steps: int, run: bool = True) -> ProbeResult | None:
        """The baseline at `steps` steps: itself, or trained on to that length (once; every pair extended to
        it shares it). None when it cannot be (not kept, or out of time), or, with `run=False`, not yet run."""
        if steps == self.steps:
            return self.baseline
        if steps in self.longer_baselines or not run:
            return self.longer_baselines.get(steps)
        head = self._baseline_head or self.baseline
        if head is None or head.live is None or head.steps_run > steps:
            return None
        longer = self.extend(head, steps)
        self._baseline_head = longer
        if longer.stopped == "out_of_time" or not longer.complete:
            return None
        self.longer_baselines[steps] = longer
        self.result.probe_results[f"baseline ({steps} steps)"] = longer
        return longer

    def drop_kept(self) -> None:
        """Let go of every kept model (the diagnosis is over: nothing will be trained on)."""
        for probe in (self.baseline, self._baseline_head, *self.result.probe_results.values()):
            live = getattr(probe, "live", None)
            if live is not None:
                live.drop()
                probe.live = None

    def full_probe(self, key) -> ProbeResult | None:
        """The probe of fix `key` run to its last step: the tested one, or (when it was decided early) a rerun
        to the end, which then replaces it in `tested`; None when the budget has no room for the rerun."""
        probe, comparison = self.tested[key]
        if probe.complete or probe.stopped in ("nan", "diverged") or key not in self.setups:
            return probe
        self.say(f"{probe.label} again, to its last step (it was decided early)")
        full = self.probe(self.setups[key], steps=probe.steps, seed=self.seed, label=probe.label)
        if full.stopped == "out_of_time":
            return None
        self.tested[key] = (full, comparison)
        return full

    def noise(self) -> ProbeResult | None:
        """The baseline with the second seed, run the first time a decision needs the seed noise (None when
        the budget has no room left for it)."""
        if self.reseeded is None:
            if not self.budget.can_start(self.steps, 1.0):
                return None
            self.say("seed-noise probe")
            stage, self.stage = self.stage, "seed-noise probe"
            probe = self.probe(self.setup, steps=self.steps, seed=self.seed + 1, label="baseline (seed+1)")
            self.stage = stage
            if not probe.complete and probe.stopped == "out_of_time":
                return None
            self.reseeded = probe
            self.result.probe_results["reseeded"] = probe
        return self.reseeded

    def margin(self, metric: str) -> float | None:
        """The seed-noise margin on `metric`, measuring the noise first when needed (None: no time for it)."""
        if metric not in self.margins:
            reseeded = self.noise()
            if reseeded is None:
                return None
            self.margins[metric] = noise_margin(self.baseline, reseeded, metric)
        return self.margins[metric]


def _on_runner(name: str) -> property:
    """`RunState.<name>`: the runner's attribute of that name, read and written through the state."""

    def get(state: RunState):
        return getattr(state.runner, name)

    def set_(state: RunState, value) -> None:
        setattr(state.runner, name, value)

    return property(get, set_, doc=f"The runner's `{name}` (`ProbeRunner.{name}`).")


# The stages read the runner's state as the diagnosis' own (`state.budget`, `state.stage = ...`). Set after
# @dataclass has built `__init__`: a property in the class body would be taken for the default of the
# `budget`, `sequential` and `timings` arguments of the same names.
for _name in ("budget", "sequential", "timings", "checks", "evaluation", "models", "stage"):
    setattr(RunState, _name, _on_runner(_name))
del _name
