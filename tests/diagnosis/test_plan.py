"""plan: how many steps each side of a batch-size probe runs, so that both see as many training samples."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from caedoctor.diagnosis.plan import sample_matched_steps


def _setup(batch_size):
    return SimpleNamespace(batch_size=batch_size)


@pytest.mark.parametrize("old, new, expected", [
    (16, 16, (None, 500)),  # the same batch: the baseline is the reference
    (16, 32, (None, 250)),  # a larger batch: fewer steps against the baseline
    (2, 32, (None, 31)),  # BatchNorm at batch 2 against 32 (dev-087): 31 steps; a longer comparison did not help
    (256, 32, (62, 500)),  # a smaller batch: the full steps against a shortened baseline rerun
])
def test_both_sides_see_as_many_samples(old, new, expected):
    rerun, steps = sample_matched_steps(_setup(old), _setup(new), 500)
    assert (rerun, steps) == expected
    baseline_samples = (rerun if rerun is not None else 500) * old
    assert baseline_samples == pytest.approx(steps * new, rel=0.03)


def _finding(code, cause, severity="warning", symptom=None):
    from caedoctor.findings import Finding

    return Finding(code, cause, severity, "m", evidence={"symptom": symptom} if symptom else {})


def _codes(findings):
    return [f.code for f in findings]


# The field notes' preset:seed_hyper_bad: Adam at 0.1, whose probe shows saturation and vanishing gradients,
# and whose LR range test suggests 0.0023 (43x lower).
HYPER_BAD = [_finding("CAE203", "output_activation_range", "info"),
             _finding("CAE708", "saturated_activation", symptom="saturation"),
             _finding("CAE709", "vanishing_gradients", symptom="vanishing_gradients"),
             _finding("CAE501", "learning_rate_too_high"),
             _finding("CAE104", "data_not_normalized", "error")]


def test_a_learning_rate_the_range_test_backs_is_tested_before_every_other_non_error_finding():
    from caedoctor.diagnosis.plan import order_for_testing

    ordered = order_for_testing(HYPER_BAD, lr_suggestion=0.0023, learning_rate=0.1)
    assert _codes(ordered) == ["CAE104", "CAE501", "CAE708", "CAE709", "CAE203"]


@pytest.mark.parametrize("suggestion", [None, 0.05, 1.0])  # no test; within 3x of 0.1; pointing up, not down
def test_without_the_range_test_s_backing_the_order_is_unchanged(suggestion):
    from caedoctor.diagnosis.plan import order_for_testing

    ordered = order_for_testing(HYPER_BAD, lr_suggestion=suggestion, learning_rate=0.1)
    assert _codes(ordered) == ["CAE104", "CAE708", "CAE709", "CAE501", "CAE203"]  # errors, symptoms, static, info


def test_a_rate_too_low_is_backed_when_the_range_test_points_up():
    from caedoctor.diagnosis.plan import backed_by_range_test, order_for_testing

    low = _finding("CAE502", "learning_rate_too_low", "info")
    stuck = _finding("CAE703", "dead_relu", symptom="stuck")
    assert backed_by_range_test(low, 1e-3, 1e-5) and not backed_by_range_test(low, 1e-5, 1e-3)
    assert _codes(order_for_testing([stuck, low], lr_suggestion=1e-3, learning_rate=1e-5)) == ["CAE502", "CAE703"]


def test_a_measured_loss_reduction_mismatch_or_kl_weight_goes_before_the_rate_the_range_test_backs():
    """Families dev-011: a VAE whose KL weighs 784x; the range test backed "rate too low", whose probe spent the
    budget, and the mismatch, the real fault, stayed untested. Families dev-009 (beta 50): the same with the
    collapse (CAE713)."""
    from caedoctor.diagnosis.plan import order_for_testing

    low = _finding("CAE704", "learning_rate_too_low", symptom="not_converging")
    mismatch = _finding("CAE714", "loss_reduction_mismatch", symptom="loss_reduction_mismatch")
    beta = _finding("CAE713", "kl_weight_too_high", symptom="posterior_collapse")
    error = _finding("CAE104", "data_not_normalized", "error")
    ordered = order_for_testing([low, beta, mismatch, error], lr_suggestion=1e-2, learning_rate=1e-3)
    assert _codes(ordered) == ["CAE104", "CAE714", "CAE713", "CAE704"]
