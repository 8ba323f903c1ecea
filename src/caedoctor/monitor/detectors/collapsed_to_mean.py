"""The `collapsed_to_mean` symptom: the outputs barely differ from one input to the next.

Its probe rule, CAE704, is `caedoctor.checks.probe_rules.collapsed_to_mean`.
"""

from __future__ import annotations

import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import last_probes, stall_cause

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 60


def detect_collapsed_to_mean(record: MonitorRecord) -> Symptom:
    """The outputs barely differ from one input to the next.

    What: the relative output spread (std across the monitor batch, averaged over pixels, over the
    targets' same spread) at the last probes, below `COLLAPSE_SPREAD`.
    Why: a CAE that returns the same (mean) image for every input has a low loss on bland data but has
    learnt nothing; it is the commonest CAE failure and invisible in the loss alone.
    Threshold: `COLLAPSE_SPREAD`.
    """
    spread = last_probes(record.relative_spread)
    cause, related = stall_cause(record)
    if not len(spread):
        return Symptom.skipped("collapsed_to_mean", cause, "no probe of the monitor batch", related)
    value = float(np.median(spread))
    present = value < T.COLLAPSE_SPREAD
    evidence = {"relative_spread": value, "threshold": T.COLLAPSE_SPREAD}
    return Symptom("collapsed_to_mean", bool(present), evidence, cause, related,
                   f"outputs vary {value:.2f}x as much as the targets: the model returns nearly the same "
                   "image for every input" if present else "")
