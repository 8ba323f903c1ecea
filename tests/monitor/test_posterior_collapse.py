"""A VAE's latent code read by the monitor (active units, KL per dimension) and the posterior-collapse symptom."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caedoctor.monitor.detectors.posterior_collapse import detect_posterior_collapse
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.traces import stall_cause
from tiny import blobs
from tiny_vae import SIZE, tiny_vae


def _record(active, kl_per_dim, dims=2):
    return MonitorRecord(latent_dims=dims, active_units=list(active), kl_per_dim=list(kl_per_dim))


def test_a_code_under_two_bits_or_with_no_active_unit_is_collapse():
    healthy = detect_posterior_collapse(_record([2] * 10, [5.0] * 10))
    assert not healthy.present and healthy.evidence["kl_bits"] > 10
    thin = detect_posterior_collapse(_record([2] * 10, [0.2] * 10))  # 0.4 nats: 0.58 bits per image
    assert thin.present and thin.cause == "kl_weight_too_high" and "0.577 bits" in thin.message
    dead = detect_posterior_collapse(_record([0] * 10, [3.0] * 10))  # a large KL but no unit varies with x
    assert dead.present
    late = detect_posterior_collapse(_record([0] * 9 + [2] * 1, [0.01] * 5 + [2.0] * 5))  # recovered at the end
    assert not late.present
    plain = detect_posterior_collapse(MonitorRecord())
    assert not plain.present and "no latent code read" in plain.evidence["skipped"]


def test_a_collapsed_code_names_the_kl_weight_as_the_cause_of_a_stall():
    assert stall_cause(_record([0] * 10, [0.0] * 10))[0] == "kl_weight_too_high"
    cause, related = stall_cause(MonitorRecord())
    assert cause != "kl_weight_too_high" and "kl_weight_too_high" not in related  # not for a plain CAE


def test_the_probe_reads_the_code_and_leaves_the_model_as_it_was():
    from caedoctor.monitor.batch_probe import BatchProbe

    vae = tiny_vae()
    x = blobs(16, SIZE)
    state = [v.numpy().copy() for v in vae.non_trainable_variables]
    probe = BatchProbe(vae, x, x, feed="x")
    assert probe.latent_dims == 2 and probe.own and probe.own_loss
    result = probe()
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(state, vae.non_trainable_variables))
    mean, log_var = (np.asarray(t, np.float64) for t in vae.encoder(x, training=False)[:2])
    kl = -0.5 * (1 + log_var - mean**2 - np.exp(log_var))
    assert math.isclose(result["kl_per_dim"], float(kl.mean()), rel_tol=1e-5)
    assert result["active_units"] == float(np.sum(mean.var(axis=0) > 0.01))


def _own(recon, kl, loss, mse=0.05, bce=0.3, values=784):
    n = 10
    return MonitorRecord(own_loss=True, target_values=values, probe_loss=[mse] * n, pixel_bce=[bce] * n,
                         own_logs={"loss": [loss] * n, "reconstruction_loss": [recon] * n, "kl_loss": [kl] * n})


def test_a_per_pixel_reconstruction_beside_a_weighted_kl_is_a_reduction_mismatch():
    from caedoctor.monitor.detectors.loss_reduction_mismatch import detect_loss_reduction_mismatch

    mean = detect_loss_reduction_mismatch(_own(recon=0.31, kl=0.02, loss=0.33))  # PR 3383: beta 1 beside a mean
    assert mean.present and mean.evidence["kl_weight_vs_elbo"] == pytest.approx(784, rel=1e-6)
    summed = detect_loss_reduction_mismatch(_own(recon=240.0, kl=6.0, loss=246.0))  # the example: a sum per image
    assert not summed.present
    balanced = detect_loss_reduction_mismatch(_own(recon=0.31, kl=6.0, loss=0.31 + 6.0 / 784))  # beta = 1/784
    assert not balanced.present
    silent = detect_loss_reduction_mismatch(MonitorRecord(own_loss=True, own_logs={"loss": [1.0]}))
    assert not silent.present and "no reconstruction and KL terms" in silent.evidence["skipped"]


def test_a_log_variance_on_its_way_to_overflow_is_found_before_the_nan():
    from caedoctor.monitor.detectors.log_variance_overflow import detect_log_variance_overflow

    growing = MonitorRecord(latent_dims=2, log_var_max=[0.5, 3.0, 12.0, 27.0])
    found = detect_log_variance_overflow(growing)
    assert found.present and found.evidence["largest_log_variance"] == 27.0 and "NaN follows" in found.message
    assert detect_log_variance_overflow(MonitorRecord(latent_dims=2, log_var_max=[1.0, float("inf")])).present
    assert not detect_log_variance_overflow(MonitorRecord(latent_dims=2, log_var_max=[0.5, 1.2, 0.8])).present
    assert not detect_log_variance_overflow(MonitorRecord()).present
