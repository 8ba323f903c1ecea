"""The Ray executor (`caedoctor.probing.executors`): a probe sent to Ray is the probe run here, a set-up that
cannot travel runs here and says so, a task that fails is an error, and a diagnosis is the same either way.
On a local Ray with 2 CPUs (issue 30)."""

from __future__ import annotations

import os

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'caedoctor[ray]'): the Ray executor is "
                                        "optional and its tests need it")

from caedoctor.api import diagnose  # noqa: E402
from caedoctor.data import load_data  # noqa: E402
from caedoctor.errors import ExecutorError  # noqa: E402
from caedoctor.models import load_model  # noqa: E402
from caedoctor.probing.executors import RayExecutor  # noqa: E402
from caedoctor.probing.runner import ProbeRunner  # noqa: E402
from caedoctor.probing.shipping import NotShippable, ship_data  # noqa: E402
from caedoctor.setup import Setup  # noqa: E402
from tests.tiny import blobs, compiled, stable_diagnosis, stateful_cae, tiny_cae  # noqa: E402


@pytest.fixture(scope="module")
def executor():
    ex = RayExecutor(cpus=2)
    yield ex
    ex.close()


@pytest.fixture(scope="module")
def data():
    return load_data(blobs(320))


def _runners(setup, executor):
    here = ProbeRunner.for_setup(setup)
    there = ProbeRunner.for_setup(setup)
    there.executor = executor
    return here, there


def _variables(model) -> list:
    return [np.asarray(v.numpy()) for v in [*model.variables, *model.optimizer.variables]]


@pytest.mark.e2e  # 14 s: the fast suite keeps the refusals and the failing task (a worker still starts)
def test_a_probe_sent_to_ray_is_the_probe_run_here_and_trains_on_the_same(executor, data):
    """BatchNorm statistics, a Dropout seed state and Adam's moments: the kept probe comes back exactly, and
    training it on here gives what training the local one on gives."""
    setup = Setup.of(load_model(stateful_cae(), data.input_shape), data)
    here, there = _runners(setup, executor)
    local = here.probe(setup, steps=100, seed=3, label="x", keep=True)
    remote = there.probe(setup, steps=100, seed=3, label="x", keep=True)
    assert remote.loss_curve == local.loss_curve and remote.metrics == local.metrics
    assert remote.checkpoints == local.checkpoints and remote.checkpoints
    assert all(np.array_equal(a, b) for a, b in zip(_variables(remote.live.model), _variables(local.live.model)))
    assert remote.timing["transfer"] >= 0.0 and "transfer" in there.timings.probes[0]
    longer_here, longer_there = here.extend(local, 200), there.extend(remote, 200)
    assert longer_there.loss_curve == longer_here.loss_curve and longer_there.metrics == longer_here.metrics


def test_a_pipeline_that_calls_python_cannot_travel(data):
    import dataclasses

    import tensorflow as tf

    def twice(x, y):
        return tf.py_function(lambda a, b: (2 * a, b), [x, y], [tf.float32, tf.float32])

    with pytest.raises(NotShippable, match="training pipeline of .* calls back into Python"):
        ship_data(dataclasses.replace(data, train=data.train.map(twice)))


@pytest.mark.e2e
def test_a_model_rebuilt_from_recorded_calls_runs_here_and_says_why_once(executor):
    """A subclassed VAE without get_config: its copies come from the constructor calls recorded in this
    process, which a Ray worker does not have."""
    from caedoctor.config import LossSpec, OwnLoss, TrainConfig
    from caedoctor.models import construction
    from tests.tiny_vae import tiny_vae

    construction.start()
    try:
        vae = tiny_vae()
    finally:
        construction.stop()
    setup = Setup(vae, TrainConfig("adam", 3e-3, LossSpec.of(OwnLoss("VAE.train_step", "x")), 16),
                  load_data(blobs(64, 16)))
    said = []
    runner = ProbeRunner.for_setup(setup, compared=False)
    runner.executor, runner.say = executor, said.append
    probe = runner.probe(setup, steps=20, seed=0, label="x")
    assert probe.steps_run == 20 and "transfer" not in probe.timing
    runner.probe(setup, steps=20, seed=0, label="x")
    assert len(said) == 1 and "runs in this process, not on ray" in said[0] and "constructor calls" in said[0]
    assert list(executor.ran_here.values()) == [2]
    executor.ran_here.clear()


def test_a_probe_that_fails_in_its_task_is_an_error_with_the_reason_not_a_lost_probe(executor, data):
    here = os.getpid()

    def loss(y, p):  # traced in the worker: another process
        if os.getpid() != here:
            raise RuntimeError("this loss only runs in the process that made it")
        return (y - p) ** 2

    model = tiny_cae()
    model.compile(optimizer="adam", loss=loss)
    setup = Setup.of(load_model(model, data.input_shape), data)
    runner = ProbeRunner.for_setup(setup, compared=False)
    runner.executor = executor
    with pytest.raises(ExecutorError, match="failed as a Ray task: RuntimeError: this loss only runs"):
        runner.probe(setup, steps=20, seed=0, label="boom")


@pytest.mark.e2e
def test_a_diagnosis_on_ray_is_the_diagnosis_run_here(executor, data):
    """Against one probe after another here (jobs 1): a counterfactual trained on towards the horizon is
    revived here from its Ray state and extended (this caught extend_probe drawing its batch order from
    whichever seed was set last)."""
    def run(**kw):
        loaded = load_model(compiled(tiny_cae(), lr=1.0), data.input_shape)  # a rate far too high
        return diagnose(loaded, data, steps=100, seed=0, lr_find_steps=40, progress=None, **kw)

    here = stable_diagnosis(run().to_dict())
    there = stable_diagnosis(run(executor=executor).to_dict())
    assert there["plan"].pop("executor") == "ray" and here["plan"].pop("executor") == "local"
    assert there["plan"].pop("jobs") == 2 and here["plan"].pop("jobs") == 1
    here["plan"].pop("reused_compiled"), there["plan"].pop("reused_compiled")  # probes on Ray compile there
    assert len(here["counterfactuals"]) >= 2
    assert there == here
