"""The `kl_weight` fix: a VAE's KL weight changed on a copy built as the user's code built it; a weight the
model does not expose is not testable without a code change, and neither is its own loss."""

from __future__ import annotations

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
        vae = tiny_vae(beta=20.0)
    finally:
        construction.stop()
    config = TrainConfig("adam", 3e-3, LossSpec.of(OwnLoss("VAE.train_step", "x")), 16)
    return Setup(vae, config, load_data(blobs(64, SIZE)))


def test_the_weight_is_lowered_on_a_copy_and_every_later_copy_keeps_it(vae_setup):
    from caedoctor.findings import Fix
    from caedoctor.fixes import apply_fix
    from caedoctor.models import fresh_copy

    changed = apply_fix(vae_setup, Fix("kl_weight", {"factor": 0.1}))
    assert vae_setup.model.beta == 20.0  # the user's model is not touched
    assert changed.model is not vae_setup.model and changed.model.beta == pytest.approx(2.0)
    assert fresh_copy(changed.model).beta == pytest.approx(2.0)  # what each probe trains


def test_a_weight_the_model_does_not_expose_is_not_testable(vae_setup):
    from caedoctor.findings import Fix
    from caedoctor.fixes import apply_fix
    from caedoctor.fixes.kind import NotApplicable

    del vae_setup.model.beta
    with pytest.raises(NotApplicable, match="not testable without a code change.*self.beta"):
        apply_fix(vae_setup, Fix("kl_weight", {"factor": 0.1}))


def test_a_loss_swap_is_not_testable_on_a_model_that_computes_its_own(vae_setup):
    from caedoctor.findings import Fix
    from caedoctor.fixes import apply_fix
    from caedoctor.fixes.kind import NotApplicable

    with pytest.raises(NotApplicable, match="computes its own loss \\(VAE.train_step\\)"):
        apply_fix(vae_setup, Fix("loss", {"loss": "mae"}))


def test_a_ceiling_sets_a_weight_above_it_and_lowers_one_below_it(vae_setup):
    """CAE713's change: beta 50 x 0.1 is still 5 (families dev-020: refuted at 5, real at 1), so a weight above
    the ELBO's 1 is tested at 1, and one at 1 or less 10x lower."""
    from caedoctor.findings import Fix
    from caedoctor.fixes import apply_fix

    fix = Fix("kl_weight", {"factor": 0.1, "ceiling": 1.0})
    at_one = apply_fix(vae_setup, fix)
    assert at_one.model.beta == pytest.approx(1.0)
    assert apply_fix(at_one, fix).model.beta == pytest.approx(0.1)
