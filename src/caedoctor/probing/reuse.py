"""Compiled models kept across probes whose train step is the same graph: no repeated tracing.

Tracing and compiling the train step costs about a second per probe on a small CAE on 2 CPU cores, a large
share of a probe that is decided after 100 steps. A probe that differs from an earlier one only in its seed,
its constant learning rate or its data *values* (the same shapes) runs the same graph, so the compiled model
of the earlier probe is reused:

- the weights are those a fresh copy would get: a fresh copy is made under the probe's seed (cheap: no
  compile) and every variable of it (weights, BatchNorm statistics, the random-seed states of dropout) is
  assigned to the kept model;
- the optimizer's variables (its step counter, moments, accumulators) go back to their values before the
  first step, then its rate variable is set;
- the loss object, the optimizer class and every other argument are the same, or there is no reuse.

Not reused: a learning-rate schedule (the rate is not a variable), EMA (its averages start from the weights
at build time), `LossScaleOptimizer` (a wrapped optimizer), a model that trains itself (its `train_step` may
read Python state, a VAE's `beta`, that assigning variables would not reset), and the monitored probes (the report draws the
baseline's trained copy). `tests/probing/test_reuse.py` checks that a reused probe's curve is the fresh
probe's, step for step.

Example::

    models = CompiledModels(max_val=1.0)
    model = models.prepare(setup, seed=0)     # compiled, seeded weights; traced once per graph
"""

from __future__ import annotations

import keras

from caedoctor.models import compile_model, fresh_copy
from caedoctor.setup import Setup


class CompiledModels:
    """The compiled model and optimizer start state per reusable graph of one diagnosis."""

    def __init__(self, max_val: float):
        self.max_val = max_val
        self._kept: dict = {}  # graph key -> (model, optimizer start values)
        self._busy: set = set()  # ids of kept models a running probe holds (probes may run side by side)
        self.reused = 0  # how many probes reused a kept model

    def prepare(self, setup: Setup, seed: int, reusable: bool = True, max_val: float | None = None) -> keras.Model:
        """A compiled model for a probe of `setup` with `seed`, with the weights a fresh copy would have; the
        caller holds it until `release` (call both under `probes.BUILD_LOCK` when probes run side by side).

        `reusable=False` (a monitored probe) always returns a new model and keeps nothing. `max_val`: the
        dynamic range of this probe's targets (caedoctor's SSIM losses read it; default: the diagnosis' own).
        """
        from caedoctor.training import seed_everything

        seed_everything(seed)
        fresh = fresh_copy(setup.model)
        max_val = self.max_val if max_val is None else max_val
        key = graph_key(setup) if reusable else None
        key = None if key is None else (*key, float(max_val))
        kept = self._kept.get(key) if key is not None else None
        if kept is not None and id(kept[0]) not in self._busy and _restore(kept, fresh,
                                                                            setup.config.optimizer.learning_rate):
            self.reused += 1
            self._busy.add(id(kept[0]))
            return kept[0]
        compile_model(fresh, setup.config, max_val)
        if key is not None and kept is None:
            fresh.optimizer.build(fresh.trainable_variables)
            self._kept[key] = (fresh, [v.numpy() for v in fresh.optimizer.variables])
            self._busy.add(id(fresh))
        return fresh

    def release(self, model: keras.Model) -> None:
        """The probe that holds `model` has finished: another may reuse it."""
        self._busy.discard(id(model))


def graph_key(setup: Setup) -> tuple | None:
    """What decides the train step's graph, or None when the probe must not share one (see the module doc)."""
    config = setup.config
    spec = config.optimizer
    lr = spec.config.get("learning_rate")
    if config.loss.own is not None:  # a model that trains itself may keep Python state its train step reads
        return None
    if spec.inner is not None or not isinstance(lr, (int, float)) or spec.config.get("use_ema"):
        return None
    others = repr(sorted((k, repr(v)) for k, v in spec.config.items() if k != "learning_rate"))
    data = setup.data
    return (id(setup.model), spec.cls, others, id(config.loss), config.batch_size, tuple(data.input_shape),
            tuple(data.target_shape))


def _restore(kept: tuple, fresh: keras.Model, learning_rate: float) -> bool:
    """Give the kept model `fresh`'s variables and its optimizer its start state at `learning_rate`; False
    when the variables do not line up (then nothing is reused)."""
    model, start = kept
    if len(model.variables) != len(fresh.variables) or any(
            tuple(a.shape) != tuple(b.shape) for a, b in zip(model.variables, fresh.variables)):
        return False
    for target, source in zip(model.variables, fresh.variables):
        target.assign(source.value)
    for variable, value in zip(model.optimizer.variables, start):
        variable.assign(value)
    model.optimizer.learning_rate = float(learning_rate)
    return True
