"""The `overfitting` symptom: the model does much better on its training images than on new ones, or is
getting worse on new ones.

Its probe rule, CAE711, is `caedoctor.checks.probe_rules.overfitting`.
"""

from __future__ import annotations

import math

import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import floats

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 110


def detect_overfitting(record: MonitorRecord) -> Symptom:
    """The model does much better on its training images than on new ones, or is getting worse on new ones.

    What: over the epochs with a validation loss (at least `OVERFIT_MIN_EPOCHS`), either the last
    validation loss above its minimum by more than `OVERFIT_VAL_RISE` while the training loss kept
    falling, or the last validation loss more than `OVERFIT_GAP` times the last training loss.
    Why: the model memorises its training images instead of learning to compress images in general;
    more training makes it no better (or worse) on new ones.
    Threshold: `OVERFIT_VAL_RISE`, `OVERFIT_GAP`.
    """
    val = floats(record.epoch_logs.get("val_loss", []))
    train = floats(record.epoch_logs.get("loss", []))
    related = ("overfitting", "capacity_mismatch")
    ok = np.isfinite(val) & np.isfinite(train) if len(val) == len(train) else np.zeros(0, bool)
    if ok.sum() < T.OVERFIT_MIN_EPOCHS:
        return Symptom.skipped("overfitting", "insufficient_data", f"{int(ok.sum())} epochs with a validation loss < "
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
