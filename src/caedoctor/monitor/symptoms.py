"""Symptom detectors: named, documented tests over a `MonitorRecord`, each pointing at a cause.

Every detector is one small function `detect_<name>(record) -> Symptom` with three documented parts:
what it checks, why it matters, and its threshold (a named constant in `thresholds`, where the
measurements that chose it are quoted). Loss levels are judged on the relative scale of
`MonitorRecord.relative`: 0 is a perfect reconstruction (the compiled loss of the targets themselves, the
targets' entropy for binary cross-entropy), 1 the loss of predicting the mean image, so any loss can be read. A detector that lacks
the data it needs (too few steps or probes, no ReLU layer) reports `present=False` and says so in
`evidence["skipped"]`.

`detect_symptoms(record)` runs them all; the diagnosis reads the ones that are present.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.findings import CAUSES, jsonable


@dataclass
class Symptom:
    """One observation about a training run.

    Attributes:
        name: the detector's name (e.g. "stuck").
        present: whether the symptom was observed.
        evidence: the measured numbers behind the verdict, and the threshold they were compared with.
        cause: the cause in `caedoctor.findings.CAUSES` the symptom points to most directly.
        related: other causes that produce the same symptom, for the diagnosis to test.
        message: one sentence for a report.
    """

    name: str
    present: bool
    evidence: dict = field(default_factory=dict)
    cause: str = ""
    related: tuple = ()
    message: str = ""

    def __post_init__(self):
        for c in (self.cause, *self.related):
            if c not in CAUSES:
                raise ValueError(f"unknown cause {c!r}; the vocabulary is caedoctor.findings.CAUSES")

    def to_dict(self) -> dict:
        return {"name": self.name, "present": self.present, "evidence": jsonable(self.evidence),
                "cause": self.cause, "related": list(self.related), "message": self.message}


# ---------------------------------------------------------------- helpers


def _arr(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _window_median(values: np.ndarray, start: float, stop: float) -> float:
    """Median of the slice [start, stop) of `values`, given as fractions of its length (at least 1 value)."""
    n = len(values)
    a = int(math.floor(start * n))
    b = max(a + 1, int(math.ceil(stop * n)))
    return float(np.median(values[a:b])) if n else math.nan


def _skip(name: str, cause: str, reason: str, related=()) -> Symptom:
    return Symptom(name, False, {"skipped": reason}, cause, tuple(related))


def _genuine_nonfinite(record: MonitorRecord) -> np.ndarray:
    """Mask of losses that are NaN/Inf because training produced them (not because they were imprecise)."""
    losses = _arr(record.losses)
    imprecise = np.isin(np.asarray(record.loss_steps), np.asarray(record.imprecise_steps, dtype=int))
    return ~np.isfinite(losses) & ~imprecise


def _finite_losses(record: MonitorRecord):
    """The recorded losses up to the first genuine NaN/Inf, without the imprecise ones."""
    losses = _arr(record.losses)
    bad = _genuine_nonfinite(record)
    if bad.any():
        losses = losses[: int(np.argmax(bad))]
    return losses[np.isfinite(losses)]


def _last_probes(values, share: float = T.END_SHARE) -> np.ndarray:
    """The last `share` of a per-probe trace (at least one value), NaNs dropped."""
    v = _arr(values)
    v = v[-max(1, int(math.ceil(share * len(v)))):] if len(v) else v
    return v[np.isfinite(v)]


def median_update_ratio(record: MonitorRecord) -> float:
    """Median |dW|/|W| over layers and over the last probes: how big one optimizer step is now."""
    values = [v for trace in record.update_ratios.values() for v in _last_probes(trace)]
    return float(np.median(values)) if values else math.nan


def early_update_ratio(record: MonitorRecord) -> float:
    """The largest |dW|/|W| of any layer at the probes of the first `EARLY_STEPS` steps (at least the
    first probe): the size of the first steps, before a too-high learning rate has had time to kill or
    saturate the units that would show it."""
    n = max(1, int(np.sum(np.asarray(record.probe_steps) < T.EARLY_STEPS)))
    values = [v for trace in record.update_ratios.values() for v in _arr(trace)[:n] if math.isfinite(v)]
    return float(max(values)) if values else math.nan


def saturated_by_layer(record: MonitorRecord) -> dict:
    """Saturated-unit fraction at the last probes, per hidden sigmoid/tanh layer and for the output layer
    beyond what its targets ask for (a sigmoid output at 0 or 1 is right for black or white pixels;
    when the targets' own share is unknown the output layer is left out)."""
    out = {}
    for layer, trace in record.saturated_fraction.items():
        values = _last_probes(trace)
        if not len(values):
            continue
        value = float(np.median(values))
        if layer == record.output_layer:
            if not math.isfinite(record.target_saturated_fraction):
                continue
            value = max(0.0, value - record.target_saturated_fraction)
        out[layer] = value
    return out


def dead_by_layer(record: MonitorRecord) -> dict:
    """Dead-unit fraction per ReLU layer at the last probes."""
    return {k: float(np.median(_last_probes(v))) for k, v in record.dead_fraction.items() if len(_last_probes(v))}


def _stall_cause(record: MonitorRecord, fallback: str = "bottleneck_too_narrow") -> tuple:
    """The cause a stalled, slow or collapsed run points to, read from the other traces, and the others.

    In order: first steps far too big (the learning rate threw the units into a dead or saturated state,
    which then shows instead); dead units; saturated units; vanishing gradients; steps far too small;
    otherwise `fallback` (for a collapse: the optimizer moves normally, so the information does not get
    through the code).
    """
    early = early_update_ratio(record)
    late = median_update_ratio(record)
    ratio = gradient_ratio(record)
    if math.isfinite(early) and early > T.UPDATE_RATIO_HIGH:
        primary = "learning_rate_too_high"
    elif max(dead_by_layer(record).values(), default=0.0) >= T.DEAD_LAYER_FRACTION:
        primary = "dead_relu"
    elif max(saturated_by_layer(record).values(), default=0.0) >= T.SATURATED_LAYER_FRACTION:
        primary = "saturated_activation"
    elif math.isfinite(ratio) and ratio < T.VANISHING_RATIO:
        primary = "vanishing_gradients"
    elif math.isfinite(late) and late < T.UPDATE_RATIO_LOW:
        primary = "learning_rate_too_low"
    else:
        primary = fallback
    others = ("learning_rate_too_high", "learning_rate_too_low", "dead_relu", "saturated_activation",
              "vanishing_gradients", "bottleneck_too_narrow", "batch_size_too_large")
    return primary, tuple(c for c in others if c != primary)


# ---------------------------------------------------------------- detectors


def detect_nan_inf(record: MonitorRecord) -> Symptom:
    """NaN or Inf in the loss or the gradients.

    What: any non-finite training loss, monitor-batch loss or gradient norm.
    Why: once a weight is NaN every later step is NaN; training is over, and the first bad step dates it.
    Threshold: none; a single non-finite value is the symptom.
    """
    first = None
    where = ""
    bad = np.flatnonzero(_genuine_nonfinite(record))
    if len(bad):
        first, where = int(record.loss_steps[bad[0]]), "training loss"
    for label, steps, values in [("monitor-batch loss", record.probe_steps, record.probe_loss)] + [
            (f"gradient of {k}", record.probe_steps, v) for k, v in record.grad_norms.items()]:
        bad = np.flatnonzero(~np.isfinite(_arr(values)))
        if len(bad) and (first is None or steps[bad[0]] < first):
            first, where = int(steps[bad[0]]), label
    finite = _finite_losses(record)
    evidence = {"first_nonfinite_step": first, "where": where,
                "last_finite_loss": float(finite[-1]) if len(finite) else math.nan}
    present = first is not None
    return Symptom("nan_inf", present, evidence, "learning_rate_too_high",
                   ("exploding_gradients", "nan_in_data", "loss_data_mismatch"),
                   f"the {where} became NaN/Inf at step {first}" if present else "")


def detect_diverging(record: MonitorRecord) -> Symptom:
    """The loss ends far above the best it reached.

    What: the median loss of the last `END_SHARE` of steps against the lowest rolling-median loss: their
    ratio above `DIVERGE_RISE`, and their difference above `DIVERGE_MIN_RISE` times the predict-the-mean
    level (a loss bouncing between 1e-6 and 6e-6 has not diverged in any sense that matters).
    Why: a learning rate too high makes steps overshoot; the loss climbs instead of settling. A rolling
    median keeps one bad batch from counting as a climb.
    Threshold: `DIVERGE_RISE`, `DIVERGE_MIN_RISE`.
    """
    losses = _finite_losses(record)
    if len(losses) < T.MIN_STEPS:
        return _skip("diverging", "learning_rate_too_high", f"{len(losses)} finite losses < {T.MIN_STEPS}")
    w = max(3, len(losses) // 20)
    rolling = np.array([np.median(losses[i:i + w]) for i in range(0, len(losses) - w + 1)])
    best = float(rolling.min())
    end = _window_median(losses, 1 - T.END_SHARE, 1)
    rise = end / best if best > 0 else math.inf
    rise_vs_baseline = (end - best) / record.loss_span
    present = rise > T.DIVERGE_RISE and rise_vs_baseline > T.DIVERGE_MIN_RISE
    evidence = {"end_loss": end, "best_loss": best, "end_over_best": rise, "rise_vs_baseline": rise_vs_baseline,
                "thresholds": [T.DIVERGE_RISE, T.DIVERGE_MIN_RISE]}
    return Symptom("diverging", bool(present), evidence, "learning_rate_too_high", ("exploding_gradients",),
                   f"the loss ended {rise:.1f}x above its best" if present else "")


def detect_stuck(record: MonitorRecord) -> Symptom:
    """The loss is flat near the level of predicting the mean image.

    What: the relative loss (`MonitorRecord.relative`: 1 = predicting the mean image) over the last `END_SHARE` of steps is at least
    `STUCK_RELATIVE_LOW`, and the second half of training improved it by less than `STUCK_MAX_DROP`.
    Why: a CAE stuck at relative loss 1 has learnt nothing about its input: it outputs (roughly) the
    average image; stuck above 1 it does worse than that (e.g. a sigmoid output pinned at 0 or 1). The
    cause is read from the other traces: huge first steps (learning rate too high), dead or saturated
    units, vanishing gradients, or tiny steps (learning rate too low).
    Threshold: `STUCK_RELATIVE_LOW`, `STUCK_MAX_DROP`.
    """
    losses = _finite_losses(record)
    cause, related = _stall_cause(record)
    if len(losses) < T.MIN_STEPS or not math.isfinite(record.baseline_loss):
        return _skip("stuck", cause, f"{len(losses)} finite losses or no baseline", related)
    rel = record.relative(losses)
    end = _window_median(rel, 1 - T.END_SHARE, 1)
    mid = _window_median(rel, 0.5 - T.END_SHARE, 0.5)
    drop = 1 - end / mid if mid > 0 else 0.0
    present = end >= T.STUCK_RELATIVE_LOW and drop < T.STUCK_MAX_DROP
    evidence = {"relative_end_loss": end, "second_half_drop": drop, "update_ratio": median_update_ratio(record),
                "early_update_ratio": early_update_ratio(record),
                "thresholds": [T.STUCK_RELATIVE_LOW, T.STUCK_MAX_DROP]}
    return Symptom("stuck", bool(present), evidence, cause, related,
                   f"the loss is flat at {end:.2f}x the predict-the-mean level" if present else "")


def _progress(losses: np.ndarray) -> float:
    """log(start / end): how far the loss came down (0: not at all)."""
    start = _window_median(losses, 0, T.START_SHARE)
    end = _window_median(losses, 1 - T.END_SHARE, 1)
    return math.log(start / end) if start > 0 and end > 0 else math.nan


def detect_slow(record: MonitorRecord, reference: MonitorRecord | None = None) -> Symptom:
    """The loss improves, but far slower than it should.

    What: with a `reference` (a healthy probe of the same length, e.g. a counterfactual), the progress
    log(start/end) of this run divided by the reference's over the same steps, below `SLOW_FRACTION`.
    Without one, the relative loss at the end above `SLOW_RELATIVE_END` while still falling (a run that
    is not falling is `stuck`, not slow).
    Why: a learning rate too low (or a too-large batch) converges, eventually; a probe shows it as a
    curve that keeps falling at a fraction of the healthy rate. The cause is read from the other traces
    like `stuck`'s, with "learning rate too low" when nothing else stands out.
    Threshold: `SLOW_FRACTION`, `SLOW_RELATIVE_END`.
    """
    losses = _finite_losses(record)
    cause, related = _stall_cause(record, fallback="learning_rate_too_low")
    if len(losses) < T.MIN_STEPS:
        return _skip("slow", cause, f"{len(losses)} finite losses < {T.MIN_STEPS}", related)
    progress = _progress(losses)
    evidence = {"progress": progress}
    if reference is not None:
        ref = _arr(reference.losses)[: len(losses)]
        ref = ref[np.isfinite(ref)]
        if len(ref) < T.MIN_STEPS:
            return _skip("slow", cause, "reference too short", related)
        ref_progress = _progress(ref)
        share = progress / ref_progress if ref_progress > 0 else math.nan
        evidence.update(reference_progress=ref_progress, share_of_reference=share, threshold=T.SLOW_FRACTION)
        present = math.isfinite(share) and share < T.SLOW_FRACTION
    else:
        rel_end = _window_median(record.relative(losses), 1 - T.END_SHARE, 1)
        mid = _window_median(losses, 0.5 - T.END_SHARE, 0.5)
        falling = _window_median(losses, 1 - T.END_SHARE, 1) < (1 - T.STUCK_MAX_DROP) * mid
        evidence.update(relative_end_loss=rel_end, still_falling=bool(falling), threshold=T.SLOW_RELATIVE_END)
        present = rel_end > T.SLOW_RELATIVE_END and falling
    return Symptom("slow", bool(present), evidence, cause, related,
                   "the loss falls far slower than a healthy run" if present else "")


def detect_oscillating(record: MonitorRecord) -> Symptom:
    """The loss on the fixed monitor batch swings up and down instead of settling.

    What: over the second half of the probes, three numbers about the monitor-batch loss: the share of
    its movement that is upward (sum of rises / sum of all changes), the median move relative to the
    predict-the-mean level, and the median move relative to the current level (in log space).
    Why: the per-step loss mixes the model's progress with how hard each batch is; the monitor batch is
    the same every time, so its loss only moves when the model does. Steps that overshoot show as large
    moves in both directions; healthy training moves it mostly down, or by small amounts. Both sizes
    must be large: a move of 20% at a tiny loss, or of 2% of the mean level at a loss near it, is noise.
    Threshold: `OSCILLATION_UP_SHARE`, `OSCILLATION_MOVE_BASELINE`, `OSCILLATION_MOVE_LOG` (all exceeded).
    """
    probe = _arr(record.probe_loss)
    half = probe[len(probe) // 2:]
    half = half[np.isfinite(half) & (half > 0)]
    related = ("batch_size_too_small",)
    if len(half) < T.OSCILLATION_MIN_PROBES or not math.isfinite(record.baseline_loss):
        return _skip("oscillating", "learning_rate_too_high",
                     f"{len(half)} probes in the second half < {T.OSCILLATION_MIN_PROBES}", related)
    moves = np.diff(half)
    total = float(np.abs(moves).sum())
    up_share = float(moves[moves > 0].sum() / total) if total > 0 else 0.0
    move_baseline = float(np.median(np.abs(moves))) / record.loss_span
    move_log = float(np.median(np.abs(np.diff(np.log(half)))))
    present = (up_share > T.OSCILLATION_UP_SHARE and move_baseline > T.OSCILLATION_MOVE_BASELINE
               and move_log > T.OSCILLATION_MOVE_LOG)
    evidence = {"up_share": up_share, "median_move_vs_baseline": move_baseline, "median_move_log": move_log,
                "thresholds": [T.OSCILLATION_UP_SHARE, T.OSCILLATION_MOVE_BASELINE, T.OSCILLATION_MOVE_LOG]}
    return Symptom("oscillating", bool(present), evidence, "learning_rate_too_high", related,
                   f"the monitor-batch loss moves {100 * move_log:.0f}% per probe, up as well as down"
                   if present else "")


def detect_collapsed_to_mean(record: MonitorRecord) -> Symptom:
    """The outputs barely differ from one input to the next.

    What: the relative output spread (std across the monitor batch, averaged over pixels, over the
    targets' same spread) at the last probes, below `COLLAPSE_SPREAD`.
    Why: a CAE that returns the same (mean) image for every input has a low loss on bland data but has
    learnt nothing; it is the commonest CAE failure and invisible in the loss alone.
    Threshold: `COLLAPSE_SPREAD`.
    """
    spread = _last_probes(record.relative_spread)
    cause, related = _stall_cause(record)
    if not len(spread):
        return _skip("collapsed_to_mean", cause, "no probe of the monitor batch", related)
    value = float(np.median(spread))
    present = value < T.COLLAPSE_SPREAD
    evidence = {"relative_spread": value, "threshold": T.COLLAPSE_SPREAD}
    return Symptom("collapsed_to_mean", bool(present), evidence, cause, related,
                   f"outputs vary {value:.2f}x as much as the targets: the model returns nearly the same "
                   "image for every input" if present else "")


def detect_dead_units(record: MonitorRecord) -> Symptom:
    """ReLU units that never fire.

    What: per ReLU layer, the fraction of units that are <= 0 for every sample and position of the
    monitor batch, at the last probes; the worst layer is compared with `DEAD_LAYER_FRACTION`.
    Why: a dead unit passes no gradient, so it never recovers; a layer mostly dead cuts the network.
    Threshold: `DEAD_LAYER_FRACTION`.
    """
    if not record.dead_fraction:
        return _skip("dead_units", "dead_relu", "no ReLU layer probed", ("learning_rate_too_high",))
    per_layer = dead_by_layer(record)
    if not per_layer:
        return _skip("dead_units", "dead_relu", "no probe of the ReLU layers", ("learning_rate_too_high",))
    worst = max(per_layer, key=per_layer.get)
    present = per_layer[worst] >= T.DEAD_LAYER_FRACTION
    evidence = {"dead_fraction": per_layer, "worst_layer": worst, "threshold": T.DEAD_LAYER_FRACTION}
    return Symptom("dead_units", bool(present), evidence, "dead_relu", ("learning_rate_too_high",),
                   f"{100 * per_layer[worst]:.0f}% of the units of {worst} never activate" if present else "")


def detect_saturation(record: MonitorRecord) -> Symptom:
    """Sigmoid/tanh units stuck in their flat tails.

    What: per sigmoid/tanh layer, the fraction of saturated units at the last probes; for the output
    layer only the excess over the targets' own share (`saturated_by_layer`).
    Why: a saturated unit's derivative is near 0, so little gradient flows through it; a sigmoid output
    pinned at 0 or 1 for pixels that are grey stops the whole network from learning.
    Threshold: `SATURATED_LAYER_FRACTION`.
    """
    per_layer = saturated_by_layer(record)
    related = ("data_not_normalized", "learning_rate_too_high", "vanishing_gradients")
    if not per_layer:
        return _skip("saturation", "saturated_activation", "no sigmoid/tanh layer to judge", related)
    worst = max(per_layer, key=per_layer.get)
    present = per_layer[worst] >= T.SATURATED_LAYER_FRACTION
    evidence = {"saturated_fraction": per_layer, "worst_layer": worst, "threshold": T.SATURATED_LAYER_FRACTION,
                "output_layer": record.output_layer, "target_saturated_fraction": record.target_saturated_fraction}
    return Symptom("saturation", bool(present), evidence, "saturated_activation", related,
                   f"{100 * per_layer[worst]:.0f}% of the units of {worst} are saturated" if present else "")


def gradient_ratio(record: MonitorRecord) -> float:
    """Median over probes of |grad of the first layer| / |grad of the last layer| (NaN if undefined)."""
    if len(record.layers) < 2:
        return math.nan
    first = _arr(record.grad_norms.get(record.layers[0], []))
    last = _arr(record.grad_norms.get(record.layers[-1], []))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = first / last
    ratios = ratios[np.isfinite(ratios)]
    return float(np.median(ratios)) if len(ratios) else math.nan


def relative_gradients(record: MonitorRecord) -> dict:
    """Per layer, |grad| / |weights| per probe: a gradient's size on the scale of what it changes."""
    out = {}
    for layer, grads in record.grad_norms.items():
        weights = _arr(record.weight_norms.get(layer, []))
        g = _arr(grads)
        if len(weights) == len(g):
            with np.errstate(divide="ignore", invalid="ignore"):
                out[layer] = g / weights
    return out


def detect_vanishing_gradients(record: MonitorRecord) -> Symptom:
    """Gradients shrink on their way back to the first layers, or vanish everywhere.

    What: the median ratio of the first layer's gradient norm to the last layer's below
    `VANISHING_RATIO`; or, at the last probes, every layer's relative gradient |g|/|W| below
    `VANISHING_ABS` while the loss is still above `VANISHING_MIN_RELATIVE` times the predict-the-mean
    level (a converged model has small gradients for a good reason).
    Why: with vanishing gradients the encoder's first layers barely learn, so the code carries little of
    the input; with none at all (a saturated output, dead units) nothing learns.
    Threshold: `VANISHING_RATIO`, `VANISHING_ABS`, `VANISHING_MIN_RELATIVE`.
    """
    ratio = gradient_ratio(record)
    rel = relative_gradients(record)
    end_levels = [float(np.median(_last_probes(v))) for v in rel.values() if len(_last_probes(v))]
    largest_end = max(end_levels) if end_levels else math.nan
    losses = _finite_losses(record)
    rel_end = _window_median(record.relative(losses), 1 - T.END_SHARE, 1) if len(losses) else math.nan
    related = ("saturated_activation", "dead_relu")
    if not math.isfinite(ratio) and not math.isfinite(largest_end):
        return _skip("vanishing_gradients", "vanishing_gradients", "no gradient probed", related)
    by_ratio = math.isfinite(ratio) and ratio < T.VANISHING_RATIO
    nothing_flows = (math.isfinite(largest_end) and largest_end < T.VANISHING_ABS
                     and math.isfinite(rel_end) and rel_end > T.VANISHING_MIN_RELATIVE)
    present = by_ratio or nothing_flows
    evidence = {"first_over_last": ratio, "largest_relative_gradient_at_end": largest_end,
                "relative_end_loss": rel_end, "thresholds": [T.VANISHING_RATIO, T.VANISHING_ABS]}
    if nothing_flows:
        message = f"no gradient reaches any layer (largest |g|/|W| {largest_end:.1e}) while the loss is still high"
    else:
        message = f"the first layer's gradient is {ratio:.1e}x the last layer's" if present else ""
    cause = "vanishing_gradients"
    dead = max(dead_by_layer(record).values(), default=0.0)
    if dead >= T.DEAD_LAYER_FRACTION:  # a dead unit passes no gradient: the deaths are the cause
        cause, related = "dead_relu", ("vanishing_gradients", "saturated_activation")
        evidence["dead_fraction"] = dead
        message += f"; {dead:.0%} of a ReLU layer's units are dead" if message else ""
    return Symptom("vanishing_gradients", bool(present), evidence, cause, related, message)


def detect_exploding_gradients(record: MonitorRecord) -> Symptom:
    """Gradients grow on their way back, are huge, or overflow.

    What: a non-finite gradient norm; the median first/last gradient-norm ratio above `EXPLODING_RATIO`;
    or any layer's relative gradient |g|/|W| above `EXPLODING_ABS` at any probe.
    Why: huge gradients make each step jump; with SGD they turn into NaN within a few steps, with Adam
    into noise. Unnormalised data (0-255) gives gradients thousands of times larger than [0, 1] data does,
    so when the targets span more than `NORMALIZED_RANGE_MAX` the cause named is `data_not_normalized`.
    Threshold: `EXPLODING_RATIO`, `EXPLODING_ABS`.
    """
    ratio = gradient_ratio(record)
    rel = relative_gradients(record)
    values = np.concatenate(list(rel.values())) if rel else np.zeros(0)
    overflow = bool(len(values) and not np.isfinite(values).all())
    finite = values[np.isfinite(values)]
    largest = float(finite.max()) if len(finite) else math.nan
    lo, hi = record.target_range
    unnormalised = math.isfinite(hi - lo) and hi - lo > T.NORMALIZED_RANGE_MAX
    cause = "data_not_normalized" if unnormalised else "exploding_gradients"
    related = tuple(c for c in ("exploding_gradients", "data_not_normalized", "learning_rate_too_high") if c != cause)
    if not len(values):
        return _skip("exploding_gradients", cause, "no gradient probed", related)
    present = overflow or (math.isfinite(ratio) and ratio > T.EXPLODING_RATIO) or (
        math.isfinite(largest) and largest > T.EXPLODING_ABS)
    evidence = {"first_over_last": ratio, "largest_relative_gradient": largest, "overflow": overflow,
                "target_range": [lo, hi], "thresholds": [T.EXPLODING_RATIO, T.EXPLODING_ABS]}
    if overflow:
        message = "gradients overflowed to NaN/Inf"
    else:
        message = (f"gradients reach {largest:.3g}x the weights they update (first/last layer ratio {ratio:.3g})"
                   if present else "")
    return Symptom("exploding_gradients", bool(present), evidence, cause, related, message)


def detect_overfitting(record: MonitorRecord) -> Symptom:
    """The model does much better on its training images than on new ones, or is getting worse on new ones.

    What: over the epochs with a validation loss (at least `OVERFIT_MIN_EPOCHS`), either the last
    validation loss above its minimum by more than `OVERFIT_VAL_RISE` while the training loss kept
    falling, or the last validation loss more than `OVERFIT_GAP` times the last training loss.
    Why: the model memorises its training images instead of learning to compress images in general;
    more training makes it no better (or worse) on new ones.
    Threshold: `OVERFIT_VAL_RISE`, `OVERFIT_GAP`.
    """
    val = _arr(record.epoch_logs.get("val_loss", []))
    train = _arr(record.epoch_logs.get("loss", []))
    related = ("overfitting", "capacity_mismatch")
    ok = np.isfinite(val) & np.isfinite(train) if len(val) == len(train) else np.zeros(0, bool)
    if ok.sum() < T.OVERFIT_MIN_EPOCHS:
        return _skip("overfitting", "insufficient_data", f"{int(ok.sum())} epochs with a validation loss < "
                     f"{T.OVERFIT_MIN_EPOCHS}", related)
    val, train = val[ok], train[ok]
    best = int(np.argmin(val))
    rise = float(val[-1] / val[best] - 1) if val[best] > 0 else 0.0
    train_falling = bool(train[-1] < train[best])
    gap = float(val[-1] / train[-1]) if train[-1] > 0 else math.inf
    rising = rise > T.OVERFIT_VAL_RISE and train_falling
    present = rising or gap > T.OVERFIT_GAP
    evidence = {"val_rise": rise, "best_epoch": best, "train_still_falling": train_falling, "val_over_train": gap,
                "thresholds": [T.OVERFIT_VAL_RISE, T.OVERFIT_GAP]}
    if rising:
        message = f"validation loss rose {100 * rise:.0f}% above its best while the training loss fell"
    else:
        message = f"validation loss is {gap:.0f}x the training loss" if present else ""
    # The cause it points at is the one its test measures: the learning curve (a quarter of the images clearly
    # worse) says more images would help, i.e. `insufficient_data`; a model too large for its data is the
    # same defect seen from the other side, and the generated benchmark accepts either name for either.
    return Symptom("overfitting", bool(present), evidence, "insufficient_data", related, message)


def detect_out_of_range(record: MonitorRecord) -> Symptom:
    """Outputs fall outside the range the targets live in.

    What: the median share of output values outside `record.target_range` (with a tolerance of
    `RANGE_TOLERANCE` of its width) at the last probes, above `RANGE_VIOLATION_FRACTION`.
    Why: a linear (or ReLU) output layer can produce values the data never has; MSE then spends its
    effort pulling them back instead of reconstructing detail.
    Threshold: `RANGE_VIOLATION_FRACTION`.
    """
    values = _last_probes(record.range_violation)
    if not len(values):
        return _skip("out_of_range", "output_activation_range", "no probe of the monitor batch")
    value = float(np.median(values))
    present = value > T.RANGE_VIOLATION_FRACTION
    evidence = {"violation_fraction": value, "target_range": list(record.target_range),
                "threshold": T.RANGE_VIOLATION_FRACTION}
    return Symptom("out_of_range", bool(present), evidence, "output_activation_range", ("loss_choice",),
                   f"{100 * value:.1f}% of the outputs are outside the targets' range" if present else "")


def detect_heavy_regularization(record: MonitorRecord) -> Symptom:
    """The training objective is dominated by regularization rather than by the reconstruction.

    What: the largest share of the regularization penalties (`model.losses`: weight and activity penalties,
    `add_loss`) in the training loss at any probe above `PENALTY_SHARE_MAX`, or the median reconstruction
    loss with dropout on (as `fit` trains) over the loss with it off, over the last probes, above
    `DROPOUT_GAP_MAX`.
    Why: a penalty that is a large part of what is minimised, or dropout that makes the training
    reconstruction much worse than the real one, trades detail for smoothness: the loss plateaus high,
    towards the blurry mean image. The largest share, not the last: a penalty strong enough shrinks the
    weights until the model outputs the mean image, and then the penalty itself is small (an L2 of 1e-2:
    73% of the loss at the start, 0.3% at the end, the output the mean image). It also catches penalties the
    static rule (CAE309) cannot read (custom regularizers, `add_loss`).
    Threshold: `PENALTY_SHARE_MAX`, `DROPOUT_GAP_MAX`.
    """
    share = _arr(record.penalty_share)
    share = share[np.isfinite(share)]
    gap = _last_probes(record.dropout_gap)
    if not len(share) and not len(gap):
        return _skip("heavy_regularization", "over_regularization", "no probe of the monitor batch")
    penalty = float(np.max(share)) if len(share) else 0.0
    dropout = float(np.median(gap)) if len(gap) else math.nan
    parts = []
    if penalty > T.PENALTY_SHARE_MAX:
        parts.append(f"regularization penalties reached {100 * penalty:.0f}% of the training loss")
    if math.isfinite(dropout) and dropout > T.DROPOUT_GAP_MAX:
        parts.append(f"with dropout on, the reconstruction loss is {dropout:.2f}x the loss without it")
    evidence = {"largest_penalty_share": penalty, "dropout_gap": dropout,
                "thresholds": [T.PENALTY_SHARE_MAX, T.DROPOUT_GAP_MAX]}
    return Symptom("heavy_regularization", bool(parts), evidence, "over_regularization", ("overfitting",),
                   "; ".join(parts))


DETECTORS = {
    "nan_inf": detect_nan_inf,
    "diverging": detect_diverging,
    "stuck": detect_stuck,
    "slow": detect_slow,
    "oscillating": detect_oscillating,
    "collapsed_to_mean": detect_collapsed_to_mean,
    "dead_units": detect_dead_units,
    "saturation": detect_saturation,
    "vanishing_gradients": detect_vanishing_gradients,
    "exploding_gradients": detect_exploding_gradients,
    "overfitting": detect_overfitting,
    "heavy_regularization": detect_heavy_regularization,
    "out_of_range": detect_out_of_range,
}


def detect_symptoms(record: MonitorRecord, reference: MonitorRecord | None = None) -> list:
    """Run every detector on `record` (`reference`: a healthy run for `slow`). Returns all `Symptom`s."""
    out = []
    for name, detector in DETECTORS.items():
        out.append(detector(record, reference) if name == "slow" else detector(record))
    return out
