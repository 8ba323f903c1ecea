"""The learning-rate range test: raise the learning rate exponentially, watch the loss, suggest a rate.

Smith, "Cyclical Learning Rates for Training Neural Networks" (2017); the fastai `lr_find` popularised it.
A fresh copy of the model (same architecture, new weights, new optimizer) trains for `steps` batches
while the rate grows from `start` to `end`; the loss first barely moves, then falls, then blows up.
The good rates are where it falls fastest. The sweep is a probe of the probing core
(`ProbeRunner.sweep`, `caedoctor.probing.sweep`); this module reads the suggestion from what it recorded.

Users of existing finders complain that the suggestion jumps around from run to run: early noise or a
single bad batch decides it. Here:

- a running median of 3 removes single-batch spikes before anything else looks at the losses;
- the causal, bias-corrected exponential average (`smoothing`) is used only to stop the sweep (when it
  exceeds `diverge_factor` times its best, or the loss is NaN/Inf), as that must be decided online
  (`caedoctor.probing.sweep.Sweep`);
- the suggestion is read from a centred (zero-lag) moving average of log-loss: the exponential average
  lags beta / (1 - beta) = 49 steps at beta 0.98, four decades of a 100-step sweep over 1e-7..10, which
  would shift any point read from it by as much;
- it is the steepest descent of that curve (slope of log-loss against log-rate, each slope fitted over
  a window, not taken between two points), searched only within the two decades below the minimum:
  the flat, noisy start is never searched, and neither is the blow-up after the minimum;
- when the curve has no clear descent there, it falls back to the minimum's rate / 10, and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from caedoctor.errors import ConfigError
from caedoctor.probing import ProbeRunner
from caedoctor.probing.sweep import Sweep

SEARCH_DECADES = 2.0  # the steepest descent is searched within this many decades below the minimum
# Slope of log-loss per decade of rate below which the curve counts as descending: the field notes' CAEs
# descend at -0.3 to -1.4 at their steepest on bundled:patches32 (3 seeds), while the flat start of seed_better's
# curve wanders between -0.09 and +0.12 (2 seeds).
MIN_DESCENT = -0.2


@dataclass
class LRFindResult:
    """The sweep and its suggestion.

    Attributes:
        lrs, losses: the rate and the training loss of each step run.
        smoothed: the bias-corrected exponential average of the (spike-filtered) losses; it decides the
            early stop.
        curve: the centred, zero-lag smoothing the suggestion is read from (NaN where a loss was not
            finite).
        suggestion: the suggested learning rate.
        reason: one sentence on how it was chosen.
        method: "steepest" (steepest descent before the minimum), "min/10" (fallback) or "none" (fewer
            than 5 finite losses: the suggestion is the lowest rate tried, a guess).
        min_loss_lr: the rate at the minimum of the centred smoothed curve.
        stopped_early: the sweep stopped before `end` because the loss blew up or became NaN/Inf.
    """

    lrs: list
    losses: list
    smoothed: list
    curve: list
    suggestion: float
    reason: str
    method: str
    min_loss_lr: float
    stopped_early: bool
    optimizer: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        from caedoctor.findings import jsonable

        return jsonable({"suggestion": self.suggestion, "reason": self.reason, "method": self.method,
                          "min_loss_lr": self.min_loss_lr, "stopped_early": self.stopped_early,
                          "optimizer": self.optimizer, "steps_run": len(self.lrs), **self.extra,
                          "lrs": self.lrs, "losses": self.losses, "smoothed": self.smoothed,
                          "curve": self.curve})


def lr_schedule(start: float, end: float, steps: int) -> np.ndarray:
    """`steps` rates growing exponentially from `start` to `end`."""
    return start * (end / start) ** (np.arange(steps) / max(steps - 1, 1))


def _centred_log_curve(losses: np.ndarray, window: int) -> np.ndarray:
    """Running median of 3, then a centred moving average of the log-loss (shrinking at the edges).

    Losses that reach 0 or below (BCE on targets outside [0, 1]) are shifted first, so that their lowest
    value sits at 1% of their range above zero: the curve keeps its shape, only its slope scale changes.
    """
    n = len(losses)
    med = np.array([np.median(losses[max(0, i - 1):i + 2]) for i in range(n)])
    if med.min() <= 0:
        span = float(med.max() - med.min()) or 1.0
        med = med - med.min() + 0.01 * span
    logs = np.log(med)
    half = window // 2
    return np.array([logs[max(0, i - half):i + half + 1].mean() for i in range(n)])


def suggest_lr(lrs, losses) -> tuple:
    """The suggested rate for a sweep: `(suggestion, method, reason, min_loss_lr, curve)`.

    See the module doc for why: steepest descent of a centred smoothing of log-loss, searched only within
    `SEARCH_DECADES` below the minimum; the minimum's rate / 10 when there is no clear descent.
    """
    lrs = np.asarray(lrs, float)
    losses = np.asarray(losses, float)
    finite = np.isfinite(losses)
    if finite.sum() < 5:
        curve = [float(v) if np.isfinite(v) else math.nan for v in losses]
        return (float(lrs[0]), "none",
                f"only {int(finite.sum())} finite losses (the loss was NaN/Inf from step {int(np.argmin(finite))}); "
                f"{lrs[0]:.2g}, the lowest rate tried, is no more than a guess: check the data and model first",
                float(lrs[0]), curve)
    lrs, losses = lrs[finite], losses[finite]
    window = max(5, len(lrs) // 10)
    curve = _centred_log_curve(losses, window)
    full_curve = np.full(len(finite), np.nan)
    full_curve[finite] = np.exp(curve)
    full_curve = [float(v) for v in full_curve]
    i_min = int(np.argmin(curve))
    min_lr = float(lrs[i_min])
    log_lr = np.log10(lrs)
    # Slope (log-loss per decade) fitted by least squares over a centred window at each point.
    half = window // 2
    slopes = np.full(len(lrs), np.nan)
    for i in range(len(lrs)):
        a, b = max(0, i - half), min(len(lrs), i + half + 1)
        if b - a >= 3:
            slopes[i] = np.polyfit(log_lr[a:b], curve[a:b], 1)[0]
    region = (log_lr >= log_lr[i_min] - SEARCH_DECADES) & (np.arange(len(lrs)) <= i_min)
    candidates = np.where(region & np.isfinite(slopes))[0]
    if len(candidates):
        j = int(candidates[np.argmin(slopes[candidates])])
        if slopes[j] < MIN_DESCENT:
            return (float(lrs[j]), "steepest",
                    f"steepest descent of the smoothed loss ({slopes[j]:.2f} log-loss per decade) at "
                    f"{lrs[j]:.2g}, within {SEARCH_DECADES:g} decades below the minimum at {min_lr:.2g}", min_lr,
                    full_curve)
    fallback = max(min_lr / 10, float(lrs[0]))
    if i_min == 0:
        reason = (f"the loss never fell below its starting level; {fallback:.2g} (the lowest rate tried) is only "
                  "a guess: check the model and data first")
    else:
        reason = (f"no clear descent before the minimum at {min_lr:.2g}; suggesting the minimum's rate / 10")
    return fallback, "min/10", reason, min_lr, full_curve


def result_from_losses(lrs, losses, *, smoothing: float = 0.98, diverge_factor: float = 4.0,
                       optimizer: str = "") -> LRFindResult:
    """Replay a sweep over given losses (stopping where the online test would) and suggest a rate."""
    sweep = Sweep(smoothing, diverge_factor)
    for loss in losses:
        if sweep.add(loss):
            break
    n = len(sweep.losses)
    return _result(list(map(float, np.asarray(lrs, float)[:n])), sweep, optimizer)


def _result(lrs: list, sweep: Sweep, optimizer: str) -> LRFindResult:
    suggestion, method, reason, min_lr, curve = suggest_lr(lrs, sweep.losses)
    return LRFindResult(lrs=lrs, losses=list(sweep.losses), smoothed=list(sweep.smoothed), curve=curve,
                        suggestion=suggestion,
                        reason=reason, method=method, min_loss_lr=min_lr, stopped_early=sweep.stopped,
                        optimizer=optimizer)


def lr_find(loaded, data=None, *, start: float = 1e-7, end: float = 10.0, steps: int = 100, seed: int = 0,
            smoothing: float = 0.98, diverge_factor: float = 4.0, batch_size: int | None = None,
            runner: ProbeRunner | None = None) -> LRFindResult:
    """Run the learning-rate range test on a fresh copy of `loaded.model` and suggest a learning rate.

    The user's model is never touched: the sweep is a probe (`caedoctor.probing.ProbeRunner`) of the set-up
    at a constant rate: a fresh copy of the model (new weights drawn from `seed`) with the user's own
    optimizer (class and every argument) and loss, its rate set at every step from `start` to `end` (a
    schedule is set aside for the sweep; the suggestion is the rate of its first step). Batches come from
    `data`'s training split, shuffled with `seed`, so the same seed gives the same sweep.

    Args:
        loaded: a `Setup`, or a `LoadedModel` (model + `TrainConfig`: optimizer, loss, batch size) with `data`.
        data: a `Data` from `caedoctor.data.load_data` (not needed with a `Setup`).
        start, end: the first and last learning rate (0 < start < end).
        steps: training steps in the sweep (at least 10).
        seed: seeds the copy's weights and the batch order.
        smoothing: beta of the exponential average that decides the early stop (0 <= beta < 1).
        diverge_factor: stop when the smoothed loss exceeds this multiple of its best (> 1).
        batch_size: override the configured batch size.
        runner: the `ProbeRunner` to run the sweep with (a diagnosis' or a repair's own: its time budget, its
            compiled models, its timings); by default one of its own, with no time limit.

    Returns:
        `LRFindResult` with the curve, `suggestion` and the `reason` for it.
    """
    from caedoctor.setup import Setup
    from caedoctor.training import validate_trainable

    if not (isinstance(start, (int, float)) and isinstance(end, (int, float)) and 0 < start < end
            and math.isfinite(end)):
        raise ConfigError(f"lr_find needs 0 < start < end. Received start={start!r}, end={end!r}")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 10:
        raise ConfigError(f"lr_find needs at least 10 steps. Received steps={steps!r}")
    if not (isinstance(smoothing, (int, float)) and 0 <= smoothing < 1):
        raise ConfigError(f"smoothing must be in [0, 1). Received smoothing={smoothing!r}")
    if not (isinstance(diverge_factor, (int, float)) and diverge_factor > 1):
        raise ConfigError(f"diverge_factor must be > 1. Received diverge_factor={diverge_factor!r}")
    if isinstance(loaded, Setup):
        setup = loaded if data is None else loaded.replace(data=data)
    elif data is None:
        raise ConfigError("lr_find needs a Setup, or a LoadedModel and its data")
    else:
        setup = Setup.of(loaded, data)
    validate_trainable(setup.data)
    config = setup.config
    bs = int(batch_size or config.batch_size)
    swept = setup.replace(config=config.replace(
        batch_size=bs, optimizer=config.optimizer.with_constant_learning_rate(float(start))))
    lrs = lr_schedule(float(start), float(end), steps)
    sweep = Sweep(smoothing, diverge_factor)
    if runner is None:
        runner = ProbeRunner.for_setup(setup, compared=False)
    probe = runner.sweep(swept, lrs, seed=seed, sweep=sweep, label="LR range test")
    result = _result([float(v) for v in lrs[:len(sweep.losses)]], sweep, config.optimizer.class_name)
    result.stopped_early = result.stopped_early or probe.stopped == "nan"  # a NaN check raised inside an op
    result.extra = {"start": float(start), "end": float(end), "steps": steps, "batch_size": bs, "seed": seed,
                    "configured_lr": config.learning_rate}  # its time is in the runner's timings
    if probe.stopped == "out_of_time":
        result.reason += (f" (the time budget cut the sweep at {len(sweep.losses)} of {steps} steps, at rate "
                          f"{lrs[len(sweep.losses) - 1]:.2g})")
        result.extra["cut_by_budget"] = True
    return result


def retuned_lr(setup, seed: int, runner: ProbeRunner | None = None) -> float | None:
    """The LR range test's suggestion for an already-changed `Setup` (None when the test fails): a rate found
    for the broken model need not suit the repaired one. `runner`: the diagnosis' or repair's own."""
    try:
        return lr_find(setup, steps=100, seed=seed, runner=runner).suggestion
    except ValueError:
        return None


def plot_lr_find(result: LRFindResult, path) -> Path:
    """Write the loss against the learning rate (log scale) to a PNG, with the suggestion marked."""
    from caedoctor import plots  # noqa: F401  (selects the Agg backend)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    lrs = np.asarray(result.lrs, float)
    ax.plot(lrs, result.losses, color="0.75", linewidth=0.8, label="loss per step")
    ax.plot(lrs, result.smoothed, color="C0", linewidth=0.8, linestyle="--",
            label="exponential average (stops the sweep)")
    ax.plot(lrs, result.curve, color="C0", label="centred smoothing (the suggestion's)")
    ax.axvline(result.suggestion, color="C3", linestyle="--",
               label=f"suggestion {result.suggestion:.2g} ({result.method})")
    ax.axvline(result.min_loss_lr, color="0.4", linestyle=":", label=f"minimum {result.min_loss_lr:.2g}")
    ax.set_xscale("log")
    finite = np.asarray([v for v in result.curve if math.isfinite(v)])
    if len(finite) and finite.min() > 0:
        ax.set_yscale("log")
        ax.set_ylim(finite.min() * 0.7, max(finite.max(), finite[0]) * 1.4)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    title = f"LR range test ({result.optimizer})" if result.optimizer else "LR range test"
    if result.stopped_early:
        title += ": stopped when the loss blew up"
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
