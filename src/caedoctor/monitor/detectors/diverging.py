"""The `diverging` symptom: the loss ends far above the best it reached.

Its probe rule, CAE702, is `caedoctor.checks.probe_rules.diverging`.
"""

from __future__ import annotations

import math

import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import finite_losses, window_median

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 20


def detect_diverging(record: MonitorRecord) -> Symptom:
    """The loss ends far above the best it reached.

    What: the median loss of the last `END_SHARE` of steps against the lowest rolling-median loss: their
    ratio above `DIVERGE_RISE`, and their difference above `DIVERGE_MIN_RISE` times the predict-the-mean
    level (a loss bouncing between 1e-6 and 6e-6 has not diverged in any sense that matters).
    Why: a learning rate too high makes steps overshoot; the loss climbs instead of settling. A rolling
    median keeps one bad batch from counting as a climb.
    Threshold: `DIVERGE_RISE`, `DIVERGE_MIN_RISE`.
    """
    losses = finite_losses(record)
    if len(losses) < T.MIN_STEPS:
        return Symptom.skipped("diverging", "learning_rate_too_high", f"{len(losses)} finite losses < {T.MIN_STEPS}")
    w = max(3, len(losses) // 20)
    rolling = np.array([np.median(losses[i:i + w]) for i in range(0, len(losses) - w + 1)])
    best = float(rolling.min())
    end = window_median(losses, 1 - T.END_SHARE, 1)
    rise = end / best if best > 0 else math.inf
    rise_vs_baseline = (end - best) / record.training_loss_span
    # A model's own loss has no predict-the-mean level to measure the rise against: the ratio alone judges it.
    present = rise > T.DIVERGE_RISE and (rise_vs_baseline > T.DIVERGE_MIN_RISE or record.own_loss)
    evidence = {"end_loss": end, "best_loss": best, "end_over_best": rise, "rise_vs_baseline": rise_vs_baseline,
                "thresholds": [T.DIVERGE_RISE, T.DIVERGE_MIN_RISE]}
    return Symptom("diverging", bool(present), evidence, "learning_rate_too_high", ("exploding_gradients",),
                   f"the loss ended {rise:.1f}x above its best" if present else "")
