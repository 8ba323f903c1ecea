"""The LR range test: its suggestion on synthetic curves (noise, spikes, blow-up), one real sweep on a
tiny model, and the plot."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caedoctor.diagnosis.lr_finder import LRFindResult, lr_schedule, plot_lr_find, result_from_losses, suggest_lr
from caedoctor.probing.sweep import Sweep

STEPS = 100
LRS = lr_schedule(1e-7, 10.0, STEPS)


def synthetic_losses(seed=0, noise=0.1, best=1e-3, blowup=3e-2):
    """A textbook curve: flat, a descent centred a decade below `best`, a minimum, then a blow-up."""
    log_lr = np.log10(LRS)
    centre = math.log10(best) - 1.0
    level = 1.0 - 0.9 / (1.0 + np.exp(-2.5 * (log_lr - centre)))
    level = level * np.where(LRS > blowup, (LRS / blowup) ** 3, 1.0)
    rng = np.random.default_rng(seed)
    return level * np.exp(rng.normal(0.0, noise, STEPS))


def test_schedule_is_exponential_from_start_to_end():
    assert LRS[0] == pytest.approx(1e-7)
    assert LRS[-1] == pytest.approx(10.0)
    ratios = LRS[1:] / LRS[:-1]
    assert np.allclose(ratios, ratios[0])


def test_suggestion_on_a_clean_curve_is_on_the_descent_before_the_minimum():
    result = result_from_losses(LRS, synthetic_losses(noise=0.0))
    assert result.method == "steepest"
    # The synthetic descent is steepest at 1e-4 and the minimum lies at ~1e-2.
    assert 3e-5 <= result.suggestion <= 3e-4
    assert result.suggestion < result.min_loss_lr
    assert result.stopped_early


@pytest.mark.parametrize("seed", range(5))
def test_suggestion_is_stable_under_noise(seed):
    result = result_from_losses(LRS, synthetic_losses(seed=seed, noise=0.15))
    assert 3e-5 <= result.suggestion <= 1e-3, result.reason


def test_a_single_early_spike_neither_stops_the_sweep_nor_moves_the_suggestion():
    clean = synthetic_losses(noise=0.05)
    spiked = clean.copy()
    spiked[20] *= 1000.0  # one terrible batch at lr ~ 4e-6
    base = result_from_losses(LRS, clean)
    result = result_from_losses(LRS, spiked)
    assert len(result.lrs) == len(base.lrs), "the spike must not trigger the blow-up stop"
    assert result.suggestion == pytest.approx(base.suggestion, rel=0.3)


def test_a_single_low_outlier_does_not_become_the_minimum_or_the_steepest_point():
    losses = synthetic_losses(noise=0.05)
    losses[15] = 1e-6  # a batch of near-constant images early on scores a tiny loss
    result = result_from_losses(LRS, losses)
    assert result.min_loss_lr > 1e-3
    assert 3e-5 <= result.suggestion <= 1e-3


def test_early_noise_in_the_flat_region_is_not_searched():
    losses = synthetic_losses(noise=0.05)
    losses[:30] *= np.exp(np.random.default_rng(3).normal(0.0, 0.6, 30))  # wild swings at lr < 1e-5
    result = result_from_losses(LRS, losses)
    assert result.suggestion >= 3e-5


def test_blow_up_stops_the_sweep_and_nan_stops_it_at_once():
    losses = synthetic_losses(noise=0.0)
    result = result_from_losses(LRS, losses)
    assert result.stopped_early and len(result.lrs) < STEPS
    assert max(result.lrs) < 1.0  # cubic blow-up past 3e-2 exceeds 4x the best well before 1.0
    nan = synthetic_losses(noise=0.0)
    nan[60] = np.nan
    result = result_from_losses(LRS, nan)
    assert result.stopped_early and len(result.lrs) == 61


def test_a_curve_that_never_falls_falls_back_and_says_so():
    flat = np.exp(np.random.default_rng(0).normal(0, 0.01, STEPS)) * np.where(LRS > 1e-2, LRS / 1e-2, 1) ** 3
    suggestion, method, reason, _, curve = suggest_lr(LRS[:80], flat[:80])
    assert len(curve) == 80
    assert method == "min/10"
    assert "guess" in reason or "no clear descent" in reason
    assert LRS[0] <= suggestion <= 1e-2


def test_sweep_smoothing_is_bias_corrected():
    sweep = Sweep(smoothing=0.98)
    for _ in range(5):
        sweep.add(2.0)
    assert sweep.smoothed == pytest.approx([2.0] * 5)  # without the correction the first value is 0.04


def test_too_few_finite_losses_give_a_guess_and_say_so():
    suggestion, method, reason, _, _ = suggest_lr(LRS[:10], [1.0, 1.1, np.nan] + [np.nan] * 7)
    assert method == "none" and suggestion == LRS[0]
    assert "NaN/Inf from step 2" in reason


def test_losses_that_go_negative_still_give_a_suggestion():
    """BCE on targets outside [0, 1] gives negative losses: the sweep must neither crash nor stop at once."""
    losses = synthetic_losses(noise=0.05) - 0.5  # from +0.5 down to -0.4, then the blow-up
    result = result_from_losses(LRS, losses)
    assert len(result.lrs) > 60, "a negative best must not trigger the blow-up stop"
    assert result.method == "steepest"
    assert 3e-5 <= result.suggestion <= 1e-3


def test_plot_marks_the_suggestion(tmp_path):
    result = result_from_losses(LRS, synthetic_losses(noise=0.05), optimizer="adam")
    path = plot_lr_find(result, tmp_path / "lr.png")
    assert path.stat().st_size > 5_000
    from PIL import Image

    with Image.open(path) as img:
        assert img.size == (600, 400)


def test_real_sweep_on_a_tiny_model_leaves_the_model_untouched(tiny_loaded, tiny_data):
    from caedoctor.diagnosis import lr_find

    before = [w.copy() for w in tiny_loaded.model.get_weights()]
    result = lr_find(tiny_loaded, tiny_data, steps=40, seed=0)
    assert isinstance(result, LRFindResult)
    assert all(np.array_equal(a, b) for a, b in zip(before, tiny_loaded.model.get_weights()))
    assert len(result.lrs) == len(result.losses) == len(result.smoothed) == len(result.curve) <= 40
    assert result.lrs == sorted(result.lrs)
    _assert_suggestion_read_from_its_own_sweep(result)
    again = lr_find(tiny_loaded, tiny_data, steps=40, seed=0)
    assert again.suggestion == result.suggestion  # same seed, same sweep
    # The suggested rate trains this model: far better than the lowest rate of the sweep, and finitely.
    losses = {}
    for lr in (result.lrs[0], result.suggestion):
        keras_model = _fresh_compiled(tiny_loaded, lr)
        fit = keras_model.fit(tiny_data.batches("train", 16, shuffle=True, seed=0, repeat=True), epochs=1,
                              steps_per_epoch=30, verbose=0, shuffle=False)
        losses[lr] = fit.history["loss"][-1]
    assert np.isfinite(losses[result.suggestion]) and losses[result.suggestion] < 0.5 * losses[result.lrs[0]], losses


def _fresh_compiled(loaded, lr):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.models.clone_model(loaded.model)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
    return model


def _assert_suggestion_read_from_its_own_sweep(result):
    """The suggestion is what `suggest_lr` reads from the recorded sweep, and where its method puts it."""
    suggestion, method, _, min_lr, _ = suggest_lr(result.lrs, result.losses)
    assert (result.suggestion, result.method, result.min_loss_lr) == (suggestion, method, min_lr)
    assert result.min_loss_lr in result.lrs
    if result.method == "steepest":  # on the descent, within SEARCH_DECADES below the minimum
        assert result.suggestion in result.lrs
        assert result.min_loss_lr / 100 <= result.suggestion < result.min_loss_lr, result.reason
    else:
        assert result.method == "min/10"
        assert result.suggestion == pytest.approx(max(result.min_loss_lr / 10, result.lrs[0]))


def test_lr_find_validates_its_arguments(tiny_loaded, tiny_data):
    from caedoctor.diagnosis import lr_find
    from caedoctor.errors import ConfigError

    with pytest.raises(ConfigError, match="start=1.0, end=0.1"):
        lr_find(tiny_loaded, tiny_data, start=1.0, end=0.1)
    with pytest.raises(ConfigError, match="steps=3"):
        lr_find(tiny_loaded, tiny_data, steps=3)


def test_real_sweep_with_bce_on_signed_targets_does_not_crash(images):
    """BCE on [-1, 1] targets (a fault diagnose must survive) yields negative losses."""
    import keras

    from caedoctor.config import TrainConfig
    from caedoctor.data import load_data
    from caedoctor.diagnosis import lr_find
    from caedoctor.models import LoadedModel

    from smooth_cae import tiny_cae

    keras.utils.set_random_seed(0)
    data = load_data(images * 2.0 - 1.0)
    loaded = LoadedModel(tiny_cae(), TrainConfig("adam", 1e-3, "bce", 16), "test:bce")
    result = lr_find(loaded, data, steps=30)
    assert min(result.losses) < 0

    _assert_suggestion_read_from_its_own_sweep(result)


def test_the_sweep_is_a_probe_of_the_runner_it_is_given(tiny_loaded, tiny_data):
    """The LR range test runs through the probing core (`ProbeRunner`): timed there under the runner's
    stage, a second sweep of the same graph reuses the compiled model and gives the same losses step for
    step, and the runner's time budget cuts the sweep (then its reason says so)."""
    from caedoctor.diagnosis import lr_find
    from caedoctor.probing import ProbeRunner
    from caedoctor.probing.budget import Budget
    from caedoctor.setup import Setup

    setup = Setup.of(tiny_loaded, tiny_data)
    runner = ProbeRunner.for_setup(setup, compared=False, stage="learning-rate range test")
    first = lr_find(setup, steps=60, seed=0, runner=runner)
    second = lr_find(setup, steps=60, seed=0, runner=runner)
    assert [(p["label"], p["stage"]) for p in runner.timings.probes] == [
        ("LR range test", "learning-rate range test")] * 2
    assert runner.timings.probes[0]["steps_run"] == len(first.losses) or first.stopped_early
    assert runner.models.reused == 1
    np.testing.assert_allclose(second.losses, first.losses, rtol=1e-5)
    alone = lr_find(tiny_loaded, tiny_data, steps=60, seed=0)  # a runner of its own: compiles afresh
    np.testing.assert_allclose(alone.losses, first.losses, rtol=1e-5)

    spent = ProbeRunner.for_setup(setup, budget=Budget(1e-9), compared=False)
    cut = lr_find(setup, steps=100, seed=0, runner=spent)
    assert len(cut.losses) < 100 and cut.extra["cut_by_budget"]
    assert "the time budget cut the sweep" in cut.reason


def test_the_sweep_is_not_cut_by_the_probes_divergence_rule():
    """A probe stops when a chunk's loss exceeds 10x the first chunk's; for a negative loss (BCE on signed
    targets) that holds at once, and it cut the fault benchmark's `bce_signed_fmnist` sweep at 25 of 100 steps
    (suggestion 3e-7 instead of 0.0049). A sweep has its own stop, so `ProbeRunner.sweep` turns that rule off."""
    from types import SimpleNamespace

    from caedoctor.probing.probes import _ChunkRecorder

    for diverge, stopped in ((True, "diverged"), (False, "")):
        recorder = _ChunkRecorder(chunk=25, diverge=diverge)
        recorder.set_model(SimpleNamespace(stop_training=False))
        recorder.on_train_begin()
        for loss in (-0.5, -0.6):
            recorder.on_epoch_end(0, {"loss": loss})
        assert recorder.stopped == stopped and recorder.model.stop_training is bool(stopped)
