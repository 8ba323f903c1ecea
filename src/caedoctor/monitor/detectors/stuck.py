"""The `stuck` symptom: the loss is flat near the level of predicting the mean image.

Its probe rule, CAE703, is `caedoctor.checks.probe_rules.stuck`.
"""

from __future__ import annotations

import math

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import early_update_ratio, finite_losses, median_update_ratio, stall_cause, window_median

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 30


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
    losses = finite_losses(record)
    cause, related = stall_cause(record)
    if len(losses) < T.MIN_STEPS or not math.isfinite(record.training_loss_span):
        return Symptom.skipped("stuck", cause, f"{len(losses)} finite losses or no baseline in the training "
                               "loss's units", related)
    rel = record.relative_training(losses)
    end = window_median(rel, 1 - T.END_SHARE, 1)
    mid = window_median(rel, 0.5 - T.END_SHARE, 0.5)
    drop = 1 - end / mid if mid > 0 else 0.0
    present = end >= T.STUCK_RELATIVE_LOW and drop < T.STUCK_MAX_DROP
    evidence = {"relative_end_loss": end, "second_half_drop": drop, "update_ratio": median_update_ratio(record),
                "early_update_ratio": early_update_ratio(record),
                "thresholds": [T.STUCK_RELATIVE_LOW, T.STUCK_MAX_DROP]}
    return Symptom("stuck", bool(present), evidence, cause, related,
                   f"the loss is flat at {end:.2f}x the predict-the-mean level" if present else "")
