"""The `bound_log_variance` fix: a VAE's log-variance layer clipped on a copy built as the user's code built it;
an encoder it cannot change is not testable without a code change."""

from __future__ import annotations

import numpy as np
import pytest

from tiny import blobs
from tiny_vae import SIZE, tiny_vae


@pytest.fixture
def vae_setup():
    from caedoctor.config import LossSpec, OwnLoss, TrainConfig
    from caedoctor.data import load_data
    from caedoctor.models import construction
    from caedoctor.setup import Setup

    construction.start()
    try:
        vae = tiny_vae()
    finally:
        construction.stop()
    config = TrainConfig("adam", 3e-3, LossSpec.of(OwnLoss("VAE.train_step", "x")), 16)
    return Setup(vae, config, load_data(blobs(64, SIZE)))


def _log_var_max(model, x):
    layer = model.encoder.get_layer("z_log_var")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel * 0 + 1.0, bias * 0 + 50.0])  # a log-variance far past exp's reach
    return float(np.max(np.asarray(model.encoder(x)[1])))


def test_the_log_variance_is_clipped_on_a_copy_and_every_later_copy_keeps_it(vae_setup):
    from caedoctor.findings import Fix
    from caedoctor.fixes import apply_fix
    from caedoctor.models import fresh_copy

    from caedoctor.checks.probe_rule import fix_for

    x = blobs(8, SIZE)
    assert fix_for("log_variance_overflow").kind == "bound_log_variance"  # what CAE715's counterfactual tests
    bounded = apply_fix(vae_setup, Fix("bound_log_variance", {}))
    assert bounded.model is not vae_setup.model
    assert _log_var_max(bounded.model, x) == pytest.approx(10.0)
    assert _log_var_max(fresh_copy(bounded.model), x) == pytest.approx(10.0)  # what each probe trains
    assert _log_var_max(vae_setup.model, x) > 50.0  # the user's model is not touched


def test_an_encoder_whose_log_variance_it_cannot_reach_is_a_code_change(vae_setup):
    import keras

    from caedoctor.findings import Fix
    from caedoctor.fixes import NotApplicable, apply_fix

    vae_setup.model.encoder.get_layer("z_log_var").activation = keras.activations.tanh
    with pytest.raises(NotApplicable, match="not testable without a code change.*ops.clip"):
        apply_fix(vae_setup, Fix("bound_log_variance", {}))
