"""A probe that reuses a compiled model (`reuse.CompiledModels`) trains exactly as a freshly built one."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from caedoctor.data import load_data
from caedoctor.probing.probes import run_probe
from caedoctor.probing.reuse import CompiledModels, graph_key
from caedoctor.models import load_model
from caedoctor.setup import Setup

from tiny import blobs, stateful_cae

STEPS = 50


@pytest.fixture(scope="module")
def data():
    return load_data(blobs(256))


def _setup(data, optimizer):
    return Setup.of(load_model(stateful_cae(optimizer), data.input_shape), data)


def _same(a, b):
    np.testing.assert_allclose(a.loss_curve, b.loss_curve, rtol=1e-5)
    assert a.metrics["relative_mse"] == pytest.approx(b.metrics["relative_mse"], rel=1e-5)


def test_a_reused_model_trains_like_a_fresh_one_for_another_seed_and_another_rate(data):
    setup = _setup(data, keras.optimizers.Adam(3e-3, beta_1=0.8, clipnorm=1.0))
    models = CompiledModels(max_val=1.0)
    first = run_probe(setup, steps=STEPS, seed=0, models=models)
    assert models.reused == 0
    again = run_probe(setup, steps=STEPS, seed=1, models=models)  # the seed-noise probe's case
    assert models.reused == 1
    _same(again, run_probe(setup, steps=STEPS, seed=1))
    _same(first, run_probe(setup, steps=STEPS, seed=0))


def test_a_learning_rate_change_reuses_the_graph_and_keeps_every_other_argument(data):
    from caedoctor.fixes import apply_fix
    from caedoctor.findings import Fix

    setup = _setup(data, keras.optimizers.Adam(3e-3, beta_1=0.8, clipnorm=1.0))
    lower = apply_fix(setup, Fix("learning_rate", {"learning_rate": 3e-4}))
    assert graph_key(lower) == graph_key(setup) is not None
    models = CompiledModels(max_val=1.0)
    run_probe(setup, steps=STEPS, seed=0, models=models)
    reused = run_probe(lower, steps=STEPS, seed=0, models=models)
    assert models.reused == 1
    _same(reused, run_probe(lower, steps=STEPS, seed=0))


@pytest.mark.parametrize("optimizer", [
    lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(3e-3, 100, 0.5)),
    lambda: keras.optimizers.Adam(3e-3, use_ema=True),
    lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(3e-3)),
], ids=["schedule", "ema", "loss-scale"])
def test_no_reuse_where_the_start_state_cannot_be_restored(data, optimizer):
    setup = _setup(data, optimizer())
    assert graph_key(setup) is None
    models = CompiledModels(max_val=1.0)
    run_probe(setup, steps=25, seed=0, models=models)
    run_probe(setup, steps=25, seed=1, models=models)
    assert models.reused == 0
