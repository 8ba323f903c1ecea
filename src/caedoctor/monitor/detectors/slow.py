"""The `slow` symptom: the loss improves, but far slower than it should.

Its probe rule, CAE705, is `caedoctor.checks.probe_rules.slow`.
"""

from __future__ import annotations

import math

import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import finite_losses, floats, stall_cause, window_median

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 40


def _progress(losses: np.ndarray) -> float:
    """log(start / end): how far the loss came down (0: not at all)."""
    start = window_median(losses, 0, T.START_SHARE)
    end = window_median(losses, 1 - T.END_SHARE, 1)
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
    losses = finite_losses(record)
    cause, related = stall_cause(record, fallback="learning_rate_too_low")
    if len(losses) < T.MIN_STEPS:
        return Symptom.skipped("slow", cause, f"{len(losses)} finite losses < {T.MIN_STEPS}", related)
    progress = _progress(losses)
    evidence = {"progress": progress}
    if reference is not None:
        ref = floats(reference.losses)[: len(losses)]
        ref = ref[np.isfinite(ref)]
        if len(ref) < T.MIN_STEPS:
            return Symptom.skipped("slow", cause, "reference too short", related)
        ref_progress = _progress(ref)
        share = progress / ref_progress if ref_progress > 0 else math.nan
        evidence.update(reference_progress=ref_progress, share_of_reference=share, threshold=T.SLOW_FRACTION)
        present = math.isfinite(share) and share < T.SLOW_FRACTION
    else:
        rel_end = window_median(record.relative_training(losses), 1 - T.END_SHARE, 1)
        mid = window_median(losses, 0.5 - T.END_SHARE, 0.5)
        falling = window_median(losses, 1 - T.END_SHARE, 1) < (1 - T.STUCK_MAX_DROP) * mid
        evidence.update(relative_end_loss=rel_end, still_falling=bool(falling), threshold=T.SLOW_RELATIVE_END)
        present = rel_end > T.SLOW_RELATIVE_END and falling
    return Symptom("slow", bool(present), evidence, cause, related,
                   "the loss falls far slower than a healthy run" if present else "")
