"""The `oscillating` symptom: the loss on the fixed monitor batch swings up and down instead of settling.

Its probe rule, CAE706, is `caedoctor.checks.probe_rules.oscillating`.
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
ORDER = 50


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
    probe = floats(record.probe_loss)
    half = probe[len(probe) // 2:]
    half = half[np.isfinite(half) & (half > 0)]
    related = ("batch_size_too_small",)
    if len(half) < T.OSCILLATION_MIN_PROBES or not math.isfinite(record.baseline_loss):
        return Symptom.skipped("oscillating", "learning_rate_too_high",
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
