"""The `loss_reduction_mismatch` symptom: a VAE's reconstruction term is averaged over pixels while its KL term
is summed over latent dimensions, so the KL weighs hundreds of times more than the ELBO says.

Its probe rule, CAE714, is `caedoctor.checks.probe_rules.loss_reduction_mismatch`.
"""

from __future__ import annotations

import math

import numpy as np

from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import last_probes

# Before `posterior_collapse` (55): the mismatch is why such a VAE collapses.
ORDER = 54
# A reported reconstruction term within this factor of the reconstruction's error per value (its MSE or its
# binary cross-entropy per pixel, measured by the monitor) is a mean over values; a per-image sum is
# `target_values` (784 for Fashion-MNIST) times larger, far outside it.
PER_VALUE_FACTOR = 3.0
# The KL weight against the per-image ELBO's (1, beside a reconstruction summed over values): the effective
# weight beta x target_values at or above this is the mismatch (Keras PR 3383: 784x). A weight 1/784 that the
# user chose to balance a mean is not.
IMBALANCE = 10.0


def _term(record: MonitorRecord, word: str) -> str | None:
    return next((name for name in record.own_logs if word in name.lower()), None)


def _level(values) -> float:
    v = last_probes(values)
    return float(np.median(v)) if len(v) else math.nan


def _weight_from_logs(record: MonitorRecord, recon: str, kl: str) -> float:
    """The KL weight the model's own logs imply, (loss - reconstruction) / KL, median over the probes where the KL
    term is large enough to read it (a collapsed code's KL of 1e-7 is float32 rounding of the difference)."""
    loss = record.own_logs.get("loss", [])
    weights = [(t - r) / k for t, r, k in zip(loss, record.own_logs[recon], record.own_logs[kl])
               if all(math.isfinite(v) for v in (t, r, k)) and k > 1e-4 * abs(t)]
    return float(np.median(weights)) if weights else math.nan


def detect_loss_reduction_mismatch(record: MonitorRecord) -> Symptom:
    """The reconstruction term is a mean over values while the KL term weighs as if it were summed.

    What: for a model that trains itself and reports its terms (`reconstruction_loss` and `kl_loss` in its
    train_step's logs, or any names holding "recon" and "kl"): the reported reconstruction term within
    `PER_VALUE_FACTOR` of the reconstruction's per-value error (its MSE or BCE per pixel), and the effective KL
    weight (the model's `beta` / `kl_weight` attribute, else (loss - reconstruction) / KL from its logs at the
    probes where the KL is large enough to read it) times the values per image at or above `IMBALANCE`.
    Why: the ELBO sums the reconstruction log-likelihood over pixels; averaging it instead divides it by the
    pixel count, and a KL summed over latent dimensions then wins by that factor: the code collapses and every
    output is the mean image (keras-team/keras PR 3383).
    Threshold: `PER_VALUE_FACTOR`, `IMBALANCE`.
    """
    recon, kl = _term(record, "recon"), _term(record, "kl")
    if not record.own_loss or recon is None or kl is None or not record.target_values:
        return Symptom.skipped("loss_reduction_mismatch", "loss_reduction_mismatch",
                               "no reconstruction and KL terms reported by the model's own train_step")
    reported = _level(record.own_logs[recon])
    errors = {"mse": _level(record.probe_loss), "bce": _level(record.pixel_bce)}
    factors = {k: reported / v for k, v in errors.items() if math.isfinite(v) and v > 0 and math.isfinite(reported)}
    nearest = min(factors.items(), key=lambda kv: abs(math.log(kv[1])) if kv[1] > 0 else math.inf, default=None)
    per_value = nearest is not None and nearest[1] > 0 and abs(math.log(nearest[1])) < math.log(PER_VALUE_FACTOR)
    weight = record.kl_weight if math.isfinite(record.kl_weight) else _weight_from_logs(record, recon, kl)
    imbalance = weight * record.target_values if math.isfinite(weight) else math.nan
    present = per_value and math.isfinite(imbalance) and imbalance >= IMBALANCE
    evidence = {"reconstruction_term": reported, "per_value_error": dict(errors),
                "reported_over_per_value": nearest[1] if nearest else math.nan, "kl_weight": weight,
                "target_values": record.target_values, "kl_weight_vs_elbo": imbalance,
                "thresholds": [PER_VALUE_FACTOR, IMBALANCE]}
    return Symptom("loss_reduction_mismatch", bool(present), evidence, "loss_reduction_mismatch",
                   ("kl_weight_too_high",),
                   f"the reconstruction term is a mean over the {record.target_values} values of an image while the "
                   f"KL term is weighted {weight:.3g}: the KL weighs {imbalance:.0f}x what the ELBO gives it"
                   if present else "")
