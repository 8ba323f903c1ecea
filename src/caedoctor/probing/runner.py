"""`ProbeRunner`: the one place probes are run, for the diagnosis and for the repair.

Two probes compare only when they ran alike: scored on the same check batch every `SEQUENTIAL_CHECK_STEPS`
steps (the curves that early decisions and the forecasts at the horizon read), scored at their end on the same
evaluation batches, stopped at the same budget's deadline. The runner owns what that takes: the budget, the
check set and evaluation batches of the set-up's data (and those of any other data a fix made, read once), the
compiled models kept for probes of the same graph (`reuse`), and the timings, each probe under the stage that
ran it. A diagnosis holds one (`RunState.runner`); a repair builds one for the original set-up, so its
verification probes are scored on the diagnosis' own check batch and their curves compare with its baseline's.

Example::

    runner = ProbeRunner.for_setup(setup)         # no time limit; check batch, evaluation batches, reuse
    probe = runner.probe(setup, steps=500, seed=0, label="baseline")
    probe.checkpoints                             # [(50, {"relative_mse": 0.41, "dssim": 0.22}), ...]
    runner.models.reused, runner.timings.probes   # what was reused, where the time went
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from caedoctor.data import Data
from caedoctor.probing import probes
from caedoctor.probing.budget import Budget
from caedoctor.probing.checkpoints import CheckSet
from caedoctor.probing.executors import LocalExecutor, note_ran_here
from caedoctor.probing.probes import ProbeResult
from caedoctor.probing.reuse import CompiledModels
from caedoctor.probing.shipping import NotShippable
from caedoctor.probing.sweep import RateSweep, Sweep
from caedoctor.probing.timings import Timings
from caedoctor.losses import dynamic_range
from caedoctor.setup import Setup
from caedoctor.thresholds import SEQUENTIAL_CHECK_STEPS


@dataclass
class ProbeRunner:
    """Runs probes of set-ups on `data` (and of the set-ups a fix gave other data), all scored alike.

    Attributes:
        data: the set-up's data; its probes are scored on `checks` and `evaluation`, a probe of other data on
            that data's own (`scoring_for`).
        budget: the time budget; every probe stops at its deadline (`Budget(None)`: never).
        timings: where the time went (`timings.Timings`).
        sequential: decide a probe early when its `decide` rule says so (`sequential`); False runs it to the
            end and only records what the early rule would have decided (for the benchmark).
        checks: the fixed validation batch every probe is scored on along the way (None: no checkpoints).
        evaluation: the validation batches every probe is scored on at its end (read once).
        models: compiled models kept for probes with the same graph (`reuse`; None: every probe compiles).
        stage: the name the next probes are timed under.
        executor: where probes that read nothing of this process run (`executors`): a `RayExecutor` runs
            them as Ray tasks; the default runs every probe here.
        say: told, once per reason, when a probe that could have run elsewhere ran here.
    """

    data: Data
    budget: Budget = field(default_factory=lambda: Budget(None))
    timings: Timings = field(default_factory=Timings)
    sequential: bool = True
    checks: CheckSet | None = None
    evaluation: list | None = None
    models: CompiledModels | None = None
    stage: str = ""
    executor: object = field(default_factory=LocalExecutor)
    say: object = None
    _scoring: dict = field(default_factory=dict, repr=False)  # id(data) -> (data, CheckSet, evaluation)

    @classmethod
    def for_setup(cls, setup: Setup, *, budget: Budget | None = None, compared: bool = True,
                  **options) -> "ProbeRunner":
        """A runner for probes of `setup` and of its changed copies, ready to score and reuse (`prepare`).
        `options`: `timings`, `sequential`, `stage`."""
        runner = cls(setup.data, budget if budget is not None else Budget(None), **options)
        runner.prepare(compared)
        return runner

    def prepare(self, compared: bool = True) -> None:
        """Read the check batch and the evaluation batches of `data` and start the pool of compiled models.
        `compared`: probes will be compared along the way, so they are scored on the check batch every
        `SEQUENTIAL_CHECK_STEPS` steps (a quick diagnosis, one probe, skips those scorings)."""
        target = self.data.profile.target_stats
        max_val = dynamic_range(target.value_range, target.min, target.max)
        self.checks = CheckSet.of(self.data, max_val) if compared else None
        self.models = CompiledModels(max_val)
        self.evaluation = probes.evaluation_batches(self.data)

    def probe(self, setup: Setup, *, steps: int, seed: int, label: str, monitored: bool = False,
              decide=None, stop_at=None, keep: bool = False, callbacks=(),
              stop_on_divergence: bool = True, checked: bool = True) -> ProbeResult:
        """Run one probe of `setup`, scored on the check batch every `SEQUENTIAL_CHECK_STEPS` steps and
        stopped at the budget's deadline. `monitored`: with a `ConvergenceMonitor` on a fixed training batch
        and the validation curve, so its symptoms can be read (`ProbeResult.symptoms`). `decide`: the early
        rule (`sequential.early_rule`); it stops the probe only when `sequential`. `keep`: keep its model so
        `extend` can train it on. `callbacks`: more Keras callbacks for its `fit` (the LR range test sets the
        rate of each step with one). `stop_on_divergence`: see `probes.run_probe`. `checked=False`: not scored
        on the check batch along the way (a probe nothing is compared with, such as a rate sweep)."""
        extra = {"callbacks": list(callbacks)}
        if monitored:
            extra = {"callbacks": [probes.make_monitor(setup), *callbacks],
                     "validate_every": probes.VALIDATE_EVERY}
        every = max(1, SEQUENTIAL_CHECK_STEPS // probes.CHUNK)
        checks, evaluation = self.scoring_for(setup.data)
        checks = checks if checked else None
        run = {"steps": steps, "seed": seed, "label": label, "checks": checks,
               "check_every": every if checks is not None else 0, "decide": decide,
               "stop_on_decision": self.sequential, "evaluation": evaluation, "keep": keep,
               "stop_on_divergence": stop_on_divergence}
        probe = None
        if self.executor.remote and not monitored and not callbacks and stop_at is None:
            probe = self._elsewhere(setup, run)
        if probe is None:
            probe = probes.run_probe(setup, deadline=self.budget.deadline(), stop_at=stop_at,
                                     models=None if monitored else self.models, **run, **extra)
        self.timings.add_probe(probe, self.stage)
        return probe

    def _elsewhere(self, setup: Setup, run: dict) -> ProbeResult | None:
        """`run` as a task of the executor (a kept probe's model rebuilt here from the state it sent back), or
        None when `setup` cannot travel (`shipping.NotShippable`; said once per reason)."""
        deadline = self.budget.deadline()
        left = None if deadline is None else max(0.0, deadline - time.perf_counter())
        try:
            probe, state = self.executor.run_probe(setup, seconds_left=left, **run)
        except NotShippable as exc:
            if note_ran_here(self.executor, str(exc)) and self.say is not None:
                self.say(f"note: this probe runs in this process, not on {self.executor.name}: {exc}")
            return None
        if state is not None:
            probe.live = probes.revive(setup, steps=run["steps"], seed=run["seed"], state=state, models=self.models)
        return probe

    def sweep(self, setup: Setup, rates, *, seed: int, sweep: Sweep, label: str = "rate sweep") -> ProbeResult:
        """A probe of `setup` whose learning rate is `rates[i]` at step i (`len(rates)` steps at most), each
        step's loss fed to `sweep`, which stops it when the loss blows up (`sweep.Sweep`, `sweep.RateSweep`):
        the learning-rate range test's run. Timed, budgeted and reusing compiled models as any probe."""
        return self.probe(setup, steps=len(rates), seed=seed, label=label, callbacks=[RateSweep(rates, sweep)],
                          stop_on_divergence=False, checked=False)  # the sweep's own stop decides; nothing compares

    def extend(self, probe: ProbeResult, steps: int) -> ProbeResult:
        """`probe` (kept) trained on to `steps` steps (`probes.extend_probe`), scored on the check batch as it
        goes and stopped at the budget's deadline; the steps it added are timed as a probe of their own."""
        checks, evaluation = self.scoring_for(probe.live.setup.data)
        every = max(1, SEQUENTIAL_CHECK_STEPS // probe.live.chunk)
        longer = probes.extend_probe(probe, steps, checks=checks, check_every=every if checks is not None else 0,
                                     deadline=self.budget.deadline(), evaluation=evaluation)
        self.timings.add_extension(probe, longer, self.stage)
        return longer

    def scoring_for(self, data) -> tuple:
        """(check batch, evaluation batches) of `data`: a probe is scored on its own data (a fix that scales
        the targets is scored on the scaled targets; relative MSE and SSIM do not depend on the scale), on
        the same images for every probe of the same data. Read once per data object."""
        if data is self.data or self.checks is None:
            return self.checks, self.evaluation
        with probes.BUILD_LOCK:
            if id(data) not in self._scoring:
                target = data.profile.target_stats
                max_val = dynamic_range(target.value_range, target.min, target.max)
                self._scoring[id(data)] = (data, CheckSet.of(data, max_val), probes.evaluation_batches(data))
            return self._scoring[id(data)][1:]
