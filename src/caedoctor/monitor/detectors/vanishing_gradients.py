"""The `vanishing_gradients` symptom: gradients shrink on their way back to the first layers, or vanish everywhere.

Its probe rule, CAE709, is `caedoctor.checks.probe_rules.vanishing_gradients`.
"""

from __future__ import annotations

import math

import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import (
    dead_by_layer,
    finite_losses,
    gradient_ratio,
    last_probes,
    relative_gradients,
    window_median,
)

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 90


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
    end_levels = [float(np.median(last_probes(v))) for v in rel.values() if len(last_probes(v))]
    largest_end = max(end_levels) if end_levels else math.nan
    losses = finite_losses(record)
    rel_end = window_median(record.relative_training(losses), 1 - T.END_SHARE, 1) if len(losses) else math.nan
    related = ("saturated_activation", "dead_relu")
    if not math.isfinite(ratio) and not math.isfinite(largest_end):
        return Symptom.skipped("vanishing_gradients", "vanishing_gradients", "no gradient probed", related)
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
