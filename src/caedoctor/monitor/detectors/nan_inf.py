"""The `nan_inf` symptom: naN or Inf in the loss or the gradients.

Its probe rule, CAE701, is `caedoctor.checks.probe_rules.nan_inf`.
"""

from __future__ import annotations

import math

import numpy as np

from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import finite_losses, floats, genuine_nonfinite

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 10


def detect_nan_inf(record: MonitorRecord) -> Symptom:
    """NaN or Inf in the loss or the gradients.

    What: any non-finite training loss, monitor-batch loss or gradient norm.
    Why: once a weight is NaN every later step is NaN; training is over, and the first bad step dates it.
    Threshold: none; a single non-finite value is the symptom.
    """
    first = None
    where = ""
    bad = np.flatnonzero(genuine_nonfinite(record))
    if len(bad):
        first, where = int(record.loss_steps[bad[0]]), "training loss"
    for label, steps, values in [("monitor-batch loss", record.probe_steps, record.probe_loss)] + [
            (f"gradient of {k}", record.probe_steps, v) for k, v in record.grad_norms.items()]:
        bad = np.flatnonzero(~np.isfinite(floats(values)))
        if len(bad) and (first is None or steps[bad[0]] < first):
            first, where = int(steps[bad[0]]), label
    finite = finite_losses(record)
    evidence = {"first_nonfinite_step": first, "where": where,
                "last_finite_loss": float(finite[-1]) if len(finite) else math.nan}
    present = first is not None
    return Symptom("nan_inf", present, evidence, "learning_rate_too_high",
                   ("exploding_gradients", "nan_in_data", "loss_data_mismatch"),
                   f"the {where} became NaN/Inf at step {first}" if present else "")
