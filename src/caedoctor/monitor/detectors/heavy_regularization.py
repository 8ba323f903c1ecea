"""The `heavy_regularization` symptom: the training objective is dominated by regularization rather than by
the reconstruction.

Its probe rule, CAE712, is `caedoctor.checks.probe_rules.heavy_regularization`.
"""

from __future__ import annotations

import math

import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import floats, last_probes

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 120


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
    share = floats(record.penalty_share)
    share = share[np.isfinite(share)]
    gap = last_probes(record.dropout_gap)
    if not len(share) and not len(gap):
        return Symptom.skipped("heavy_regularization", "over_regularization", "no probe of the monitor batch")
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
