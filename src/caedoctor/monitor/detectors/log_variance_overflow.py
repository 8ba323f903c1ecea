"""The `log_variance_overflow` symptom: a VAE's encoder returns log-variances on their way to overflowing.

Its probe rule, CAE715, is `caedoctor.checks.probe_rules.log_variance_overflow`.
"""

from __future__ import annotations

import math

import numpy as np

from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import floats

# Before `nan_inf` (10): this is what comes before the NaN.
ORDER = 5
# float32's exp overflows to inf above 88.7; the KL term holds exp(log_var) and sampling exp(0.5 * log_var),
# so NaN follows. A log-variance above 20 (a standard deviation of 2.2e4 against the prior's 1) is already a
# code no decoder can read, and a step or two of a high learning rate from the overflow. Not tuned: a level from
# float32 and the prior, with a margin; the healthy Keras example VAE's code stays at log-variances of order 1.
LOG_VAR_LIMIT = 20.0


def detect_log_variance_overflow(record: MonitorRecord) -> Symptom:
    """A log-variance of the code above `LOG_VAR_LIMIT` at any probe, or not finite.

    What: the largest log-variance the encoder returns on the monitor batch, over every probe (not only the last:
    the NaN it leads to ends the run). Read only for a VAE whose encoder returns a mean and a log-variance.
    Why: `exp(log_var)` in the KL term and in the sampling overflows float32 at 88.7, and the loss turns NaN;
    before that, a code with a huge variance tells the decoder nothing. Usual causes: a learning rate too high
    for an unbounded log-variance layer, or no clipping of it.
    Threshold: `LOG_VAR_LIMIT`.
    """
    values = floats(record.log_var_max)
    if not record.latent_dims or not len(values):
        return Symptom.skipped("log_variance_overflow", "log_variance_overflow",
                               "no latent code read (the encoder does not return a mean and a log-variance)",
                               ("learning_rate_too_high",))
    finite = values[np.isfinite(values)]
    largest = float(finite.max()) if len(finite) else math.inf
    present = not np.isfinite(values).all() or largest > LOG_VAR_LIMIT
    evidence = {"largest_log_variance": largest, "threshold": LOG_VAR_LIMIT}
    return Symptom("log_variance_overflow", bool(present), evidence, "log_variance_overflow",
                   ("learning_rate_too_high",),
                   f"the code's log-variance reached {largest:.3g} (exp overflows float32 at 88.7): NaN follows"
                   if present else "")
