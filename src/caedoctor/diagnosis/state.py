"""`RunState`: what one diagnosis carries from stage to stage, and the one place its probes are run.

The stages (`orchestrate`: static checks, baseline, LR range test; `counterfactuals`; `explain_away`) read
and write this object instead of passing a dozen arguments to each other. Every probe goes through
`RunState.probe`: scored on the shared check batch, stopped at the budget's deadline, timed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from caedoctor.diagnosis import probes
from caedoctor.diagnosis.budget import Budget
from caedoctor.diagnosis.checkpoints import CheckSet
from caedoctor.diagnosis.horizon import Horizon
from caedoctor.diagnosis.judge import noise_margin
from caedoctor.diagnosis.probes import ProbeResult
from caedoctor.diagnosis.result import Diagnosis
from caedoctor.diagnosis.reuse import CompiledModels
from caedoctor.diagnosis.timings import Timings
from caedoctor.fixes import FixContext
from caedoctor.losses import dynamic_range
from caedoctor.setup import Setup
from caedoctor.thresholds import SEQUENTIAL_CHECK_STEPS


@dataclass
class RunState:
    """The set-up under diagnosis, its settings, its result so far and what the probes measured.

    Attributes:
        setup: the user's set-up, exactly as given.
        result: the `Diagnosis` being filled in.
        steps, seed: every probe's length and seed (a reseeded probe uses seed + 1); a budget plan may
            shorten `steps` while the baseline runs.
        say: the progress callback.
        budget: the time budget and the plan (`budget.Budget`).
        jobs: how many counterfactual probes run side by side (threads; 1: one after the other).
        sequential: decide counterfactual probes early (`sequential`); False runs them to the end and
            only records what the early rule would have decided (for the benchmark).
        analysis: the model reader's analysis of `setup` (None when it refuses the model).
        suggestion: the LR range test's suggestion, once run.
        baseline, reseeded: the probes of the unchanged set-up with seed and seed + 1 (the second only when
            a decision needs the seed noise: `noise`).
        checks: the fixed validation batch every probe is scored on along the way.
        evaluation: the validation batches every probe is scored on at its end (read once).
        models: compiled models kept for probes with the same graph (`reuse`; None: every probe compiles).
        tested: fix key -> (probe, `Comparison`) of every counterfactual probed.
        setups: fix key -> the counterfactual `Setup` it tested (to rerun a probe decided early in full).
        margins: metric -> the seed-noise margin around the baseline.
        timings: where the time went (`timings.Timings`).
        stage: the name the next probes are timed under.
        horizon: the training steps the diagnosis is about (`horizon.Horizon`); probes are forecast there.
        longer_baselines: steps -> the baseline trained on to that many steps (`baseline_at`, for `extend`).
    """

    setup: Setup
    result: Diagnosis
    steps: int
    seed: int
    say: Callable[[str], None]
    budget: Budget
    sequential: bool = True
    jobs: int = 1
    analysis: object | None = None
    suggestion: float | None = None
    baseline: ProbeResult | None = None
    reseeded: ProbeResult | None = None
    checks: CheckSet | None = None
    models: CompiledModels | None = None
    evaluation: list | None = None
    tested: dict = field(default_factory=dict)
    setups: dict = field(default_factory=dict)
    margins: dict = field(default_factory=dict)
    timings: Timings = field(default_factory=Timings)
    stage: str = ""
    horizon: Horizon = field(default_factory=lambda: Horizon.of(None))
    longer_baselines: dict = field(default_factory=dict)
    _scoring: dict = field(default_factory=dict, repr=False)  # id(data) -> (data, CheckSet, evaluation)
    _baseline_head: ProbeResult | None = field(default=None, repr=False)  # the longest baseline, still trainable

    def out_of_budget(self) -> bool:
        """True once the budget's seconds have passed since the start (never without a budget)."""
        return self.budget.spent()

    def fix_context(self) -> FixContext:
        """What the fixes of the unchanged set-up read: the suggested rate and the model analysis."""
        return FixContext(suggested_lr=self.suggestion, analysis=self.analysis)

    def probe(self, setup: Setup, *, steps: int, seed: int, label: str, monitored: bool = False,
              decide=None, stop_at=None, keep: bool = False) -> ProbeResult:
        """Run one probe of `setup`, scored on the check batch every `SEQUENTIAL_CHECK_STEPS` steps and
        stopped at the budget's deadline. `monitored`: with a `ConvergenceMonitor` on a fixed training batch
        and the validation curve, so its symptoms can be read (`ProbeResult.symptoms`). `decide`: the early
        rule (`sequential.early_rule`); it stops the probe only when the diagnosis is sequential. `keep`: keep its
        model so `extend` can train it on."""
        extra = {}
        if monitored:
            extra = {"callbacks": [probes.make_monitor(setup.data)], "validate_every": probes.VALIDATE_EVERY}
        every = max(1, SEQUENTIAL_CHECK_STEPS // probes.CHUNK)
        checks, evaluation = self.scoring_for(setup.data)
        probe = probes.run_probe(setup, steps=steps, seed=seed, label=label, checks=checks,
                                 check_every=every if checks is not None else 0, decide=decide,
                                 stop_on_decision=self.sequential, deadline=self.budget.deadline(),
                                 stop_at=stop_at, models=None if monitored else self.models,
                                 evaluation=evaluation, keep=keep, **extra)
        self.timings.add_probe(probe, self.stage)
        return probe

    def extend(self, probe: ProbeResult, steps: int) -> ProbeResult:
        """`probe` (kept) trained on to `steps` steps (`probes.extend_probe`), scored on the check batch as it
        goes and stopped at the budget's deadline; the steps it added are timed as a probe of their own."""
        checks, evaluation = self.scoring_for(probe.live.setup.data)
        every = max(1, SEQUENTIAL_CHECK_STEPS // probe.live.chunk)
        longer = probes.extend_probe(probe, steps, checks=checks, check_every=every if checks is not None else 0,
                                     deadline=self.budget.deadline(), evaluation=evaluation)
        self.timings.add_extension(probe, longer, self.stage)
        return longer

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

    def scoring_for(self, data) -> tuple:
        """(check batch, evaluation batches) of `data`: a probe is scored on its own data (a fix that scales
        the targets is scored on the scaled targets; relative MSE and SSIM do not depend on the scale), on
        the same images for every probe of the same data. Read once per data object."""
        if data is self.setup.data or self.checks is None:
            return self.checks, self.evaluation
        with probes.BUILD_LOCK:
            if id(data) not in self._scoring:
                target = data.profile.target_stats
                max_val = dynamic_range(target.value_range, target.min, target.max)
                self._scoring[id(data)] = (data, CheckSet.of(data, max_val), probes.evaluation_batches(data))
            return self._scoring[id(data)][1:]

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
