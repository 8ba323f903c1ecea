"""The `posterior_collapse` symptom: a VAE's latent code carries nothing about its input.

Its probe rule, CAE713, is `caedoctor.checks.probe_rules.posterior_collapse`.
"""

from __future__ import annotations

import math

import numpy as np

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import code_bits, last_probes, latent_collapsed

# Before `collapsed_to_mean` (60): a VAE whose code is dead returns the mean image, and this symptom names why.
ORDER = 55


def detect_posterior_collapse(record: MonitorRecord) -> Symptom:
    """No latent unit of a VAE is active: the posterior equals the prior for every input.

    What: at the last probes, the KL divergence from the prior summed over the latent dimensions (per sample,
    on the monitor batch) is under `COLLAPSE_KL_BITS`, or no latent unit is active (the variance of the
    code's mean across the batch above `ACTIVE_UNIT_VARIANCE`). Read only for a VAE whose encoder returns a
    mean and a log-variance.
    Why: the KL term pulls every input's code onto the prior; weighted too strongly (beta too high, or a KL
    summed over latent dimensions beside a reconstruction averaged over pixels) it wins, the code carries
    nothing, and the decoder learns the mean image: every output is the same blur.
    Threshold: `COLLAPSE_KL_BITS` (information, not tuned), `ACTIVE_UNIT_VARIANCE` (Burda et al.'s criterion).
    """
    units = last_probes(record.active_units)
    related = ("learning_rate_too_high", "bottleneck_too_narrow")
    if not record.latent_dims or not len(units):
        return Symptom.skipped("posterior_collapse", "kl_weight_too_high",
                               "no latent code read (the encoder does not return a mean and a log-variance)", related)
    active, bits = float(np.median(units)), code_bits(record)
    present = latent_collapsed(record)
    evidence = {"active_units": active, "latent_dims": record.latent_dims, "kl_bits": bits,
                "thresholds": [T.COLLAPSE_KL_BITS, T.ACTIVE_UNIT_VARIANCE]}
    return Symptom("posterior_collapse", bool(present), evidence, "kl_weight_too_high", related,
                   f"the latent code carries {_bits_text(bits)} about each input ({active:.0f} of "
                   f"{record.latent_dims} units active): the decoder learns the mean image" if present else "")


def _bits_text(bits: float) -> str:
    return f"{bits:.3g} bits" if math.isfinite(bits) else "no measurable information (its KL is not finite)"
