"""Readings of a `MonitorRecord` that several symptom detectors share: the finite losses, medians over a
window of a trace, the size of the updates, the dead and saturated units per layer, the gradients' ratios, and
the cause a stalled run points to. A reading only one detector uses stays in that detector's module.
"""

from __future__ import annotations

import math

import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord


def floats(values) -> np.ndarray:
    """`values` as an array of floats."""
    return np.asarray(values, dtype=float)


def window_median(values: np.ndarray, start: float, stop: float) -> float:
    """Median of the slice [start, stop) of `values`, given as fractions of its length (at least 1 value)."""
    n = len(values)
    a = int(math.floor(start * n))
    b = max(a + 1, int(math.ceil(stop * n)))
    return float(np.median(values[a:b])) if n else math.nan


def genuine_nonfinite(record: MonitorRecord) -> np.ndarray:
    """Mask of losses that are NaN/Inf because training produced them (not because they were imprecise)."""
    losses = floats(record.losses)
    imprecise = np.isin(np.asarray(record.loss_steps), np.asarray(record.imprecise_steps, dtype=int))
    return ~np.isfinite(losses) & ~imprecise


def finite_losses(record: MonitorRecord):
    """The recorded losses up to the first genuine NaN/Inf, without the imprecise ones."""
    losses = floats(record.losses)
    bad = genuine_nonfinite(record)
    if bad.any():
        losses = losses[: int(np.argmax(bad))]
    return losses[np.isfinite(losses)]


def last_probes(values, share: float = T.END_SHARE) -> np.ndarray:
    """The last `share` of a per-probe trace (at least one value), NaNs dropped."""
    v = floats(values)
    v = v[-max(1, int(math.ceil(share * len(v)))):] if len(v) else v
    return v[np.isfinite(v)]


def code_bits(record: MonitorRecord) -> float:
    """A VAE's latent code: the KL from the prior summed over its dimensions, in bits per sample, median of the
    last probes (NaN for other models). It bounds what the code tells the decoder about an input."""
    kl = last_probes(record.kl_per_dim)
    return float(np.median(kl)) * record.latent_dims / math.log(2) if record.latent_dims and len(kl) else math.nan


def latent_collapsed(record: MonitorRecord) -> bool:
    """A VAE's code carries (next to) nothing at the last probes: under `COLLAPSE_KL_BITS`, or no unit active."""
    units = last_probes(record.active_units)
    if not record.latent_dims or not len(units):
        return False
    bits = code_bits(record)
    return float(np.median(units)) < 1.0 or (math.isfinite(bits) and bits < T.COLLAPSE_KL_BITS)


def median_update_ratio(record: MonitorRecord) -> float:
    """Median |dW|/|W| over layers and over the last probes: how big one optimizer step is now."""
    values = [v for trace in record.update_ratios.values() for v in last_probes(trace)]
    return float(np.median(values)) if values else math.nan


def early_update_ratio(record: MonitorRecord) -> float:
    """The largest |dW|/|W| of any layer at the probes of the first `EARLY_STEPS` steps (at least the
    first probe): the size of the first steps, before a too-high learning rate has had time to kill or
    saturate the units that would show it."""
    n = max(1, int(np.sum(np.asarray(record.probe_steps) < T.EARLY_STEPS)))
    values = [v for trace in record.update_ratios.values() for v in floats(trace)[:n] if math.isfinite(v)]
    return float(max(values)) if values else math.nan


def saturated_by_layer(record: MonitorRecord) -> dict:
    """Saturated-unit fraction at the last probes, per hidden sigmoid/tanh layer and for the output layer
    beyond what its targets ask for (a sigmoid output at 0 or 1 is right for black or white pixels;
    when the targets' own share is unknown the output layer is left out)."""
    out = {}
    for layer, trace in record.saturated_fraction.items():
        values = last_probes(trace)
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
    return {k: float(np.median(last_probes(v))) for k, v in record.dead_fraction.items() if len(last_probes(v))}


def gradient_ratio(record: MonitorRecord) -> float:
    """Median over probes of |grad of the first layer| / |grad of the last layer| (NaN if undefined)."""
    if len(record.layers) < 2:
        return math.nan
    first = floats(record.grad_norms.get(record.layers[0], []))
    last = floats(record.grad_norms.get(record.layers[-1], []))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = first / last
    ratios = ratios[np.isfinite(ratios)]
    return float(np.median(ratios)) if len(ratios) else math.nan


def relative_gradients(record: MonitorRecord) -> dict:
    """Per layer, |grad| / |weights| per probe: a gradient's size on the scale of what it changes."""
    out = {}
    for layer, grads in record.grad_norms.items():
        weights = floats(record.weight_norms.get(layer, []))
        g = floats(grads)
        if len(weights) == len(g):
            with np.errstate(divide="ignore", invalid="ignore"):
                out[layer] = g / weights
    return out


def stall_cause(record: MonitorRecord, fallback: str = "bottleneck_too_narrow") -> tuple:
    """The cause a stalled, slow or collapsed run points to, read from the other traces, and the others.

    In order: a VAE's dead latent code (no active unit: the KL weight wins); first steps far too big (the learning rate threw the units into a dead or saturated state,
    which then shows instead); dead units; saturated units; vanishing gradients; steps far too small;
    otherwise `fallback` (for a collapse: the optimizer moves normally, so the information does not get
    through the code).
    """
    early = early_update_ratio(record)
    late = median_update_ratio(record)
    ratio = gradient_ratio(record)
    if latent_collapsed(record):
        primary = "kl_weight_too_high"  # a VAE whose code is dead (`posterior_collapse`)
    elif math.isfinite(early) and early > T.UPDATE_RATIO_HIGH:
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
    others += ("kl_weight_too_high",) if record.latent_dims else ()
    return primary, tuple(c for c in others if c != primary)
