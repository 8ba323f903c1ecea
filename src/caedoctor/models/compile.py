"""A model ready to train: a fresh optimizer and loss compiled in (`compile_model`), or the same architecture
with fresh weights (`fresh_copy`). Every probe and repair trains such a copy, never the user's model."""

from __future__ import annotations

import keras

from caedoctor.config import TrainConfig
from caedoctor.errors import ModelError


def make_optimizer(config: TrainConfig):
    """A fresh Keras optimizer exactly as configured (class, rate or schedule, every argument), with no state."""
    return config.optimizer.build()


def compile_model(model: keras.Model, config: TrainConfig, max_val: float = 1.0) -> keras.Model:
    """Compile `model` in place with a fresh copy of the configured optimizer and loss; returns it.

    `max_val` is the data's dynamic range, used only by caedoctor's own SSIM losses named by string.
    """
    model.compile(optimizer=make_optimizer(config), loss=config.loss.build(max_val))
    return model


def fresh_copy(model: keras.Model) -> keras.Model:
    """The same architecture with freshly initialised weights, drawn from the current seed.

    `keras.models.clone_model` rebuilds Sequential and functional models layer by layer, and a subclassed
    model from its `get_config`. A subclassed model that cannot be rebuilt that way (its constructor needs
    arguments it does not report) is refused with the reason: training the user's own object would change it.
    """
    compiled = getattr(model, "compiled", False)
    try:
        # clone_model would also recompile the copy from the model's *serialised* compile config, which loses
        # arguments (Huber's delta) and fails for an unregistered loss function. Every caller compiles the
        # copy itself with the exact optimizer and loss, so the copy is made as of an uncompiled model.
        model.compiled = False
        return keras.models.clone_model(model)
    except Exception as exc:  # noqa: BLE001 - any failure to rebuild is the same answer for the user
        raise ModelError(f"caedoctor cannot make a fresh copy of {type(model).__name__} to train ("
                         f"{type(exc).__name__}: {str(exc)[:200]}); a subclassed model needs a get_config() that "
                         "returns its constructor's arguments, or pass a factory (file.py:function)") from None
    finally:
        model.compiled = compiled
