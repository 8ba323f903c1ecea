"""The `exploding_gradients` symptom: gradients grow on their way back, are huge, or overflow.

Its probe rule, CAE710, is `caedoctor.checks.probe_rules.exploding_gradients`.
"""

from __future__ import annotations

import math

import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import gradient_ratio, relative_gradients

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 100


def detect_exploding_gradients(record: MonitorRecord) -> Symptom:
    """Gradients grow on their way back, are huge, or overflow.

    What: a non-finite gradient norm; the median first/last gradient-norm ratio above `EXPLODING_RATIO`;
    or any layer's relative gradient |g|/|W| above `EXPLODING_ABS` at any probe (not for a model's own loss,
    `MonitorRecord.own_loss`, whose scale is its own: a VAE's per-image sums).
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
        return Symptom.skipped("exploding_gradients", cause, "no gradient probed", related)
    # A model's own loss (`own_loss`: a VAE's per-image sums) sets its own gradient scale, so the absolute
    # level says nothing there; the ratio between layers and an overflow still do.
    present = overflow or (math.isfinite(ratio) and ratio > T.EXPLODING_RATIO) or (
        math.isfinite(largest) and largest > T.EXPLODING_ABS and not record.own_loss)
    evidence = {"first_over_last": ratio, "largest_relative_gradient": largest, "overflow": overflow,
                "target_range": [lo, hi], "thresholds": [T.EXPLODING_RATIO, T.EXPLODING_ABS]}
    if overflow:
        message = "gradients overflowed to NaN/Inf"
    else:
        message = (f"gradients reach {largest:.3g}x the weights they update (first/last layer ratio {ratio:.3g})"
                   if present else "")
    return Symptom("exploding_gradients", bool(present), evidence, cause, related, message)
