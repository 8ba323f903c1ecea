"""The `out_of_range` symptom: outputs fall outside the range the targets live in.

No probe rule raises a finding from it: it is evidence for the static output-range findings.
"""

from __future__ import annotations

import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import last_probes

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 130


def detect_out_of_range(record: MonitorRecord) -> Symptom:
    """Outputs fall outside the range the targets live in.

    What: the median share of output values outside `record.target_range` (with a tolerance of
    `RANGE_TOLERANCE` of its width) at the last probes, above `RANGE_VIOLATION_FRACTION`.
    Why: a linear (or ReLU) output layer can produce values the data never has; MSE then spends its
    effort pulling them back instead of reconstructing detail.
    Threshold: `RANGE_VIOLATION_FRACTION`.
    """
    values = last_probes(record.range_violation)
    if not len(values):
        return Symptom.skipped("out_of_range", "output_activation_range", "no probe of the monitor batch")
    value = float(np.median(values))
    present = value > T.RANGE_VIOLATION_FRACTION
    evidence = {"violation_fraction": value, "target_range": list(record.target_range),
                "threshold": T.RANGE_VIOLATION_FRACTION}
    return Symptom("out_of_range", bool(present), evidence, "output_activation_range", ("loss_choice",),
                   f"{100 * value:.1f}% of the outputs are outside the targets' range" if present else "")
