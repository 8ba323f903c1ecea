"""A model ready to train: a fresh optimizer and loss compiled in (`compile_model`), or the same architecture
with fresh weights (`fresh_copy`). Every probe and repair trains such a copy, never the user's model."""

from __future__ import annotations

import keras

from caedoctor.config import TrainConfig
from caedoctor.errors import ModelError
from caedoctor.models.construction import copy_layer, rebuild, recording


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
    model from its `get_config`. A subclassed model without one is built again as the user's code built it,
    when caedoctor recorded that construction (`caedoctor.models.construction`: under `caedoctor run` and
    `caedoctor.autolog()`). Otherwise it is refused with the reason: training the user's own object would
    change it.
    """
    if not isinstance(model, keras.Model):
        return copy_layer(model)
    compiled = getattr(model, "compiled", False)
    try:
        # clone_model would also recompile the copy from the model's *serialised* compile config, which loses
        # arguments (Huber's delta) and fails for an unregistered loss function. Every caller compiles the
        # copy itself with the exact optimizer and loss, so the copy is made as of an uncompiled model.
        model.compiled = False
        return keras.models.clone_model(model)
    except Exception as exc:  # noqa: BLE001 - any failure to rebuild is the same answer for the user
        failure = f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        model.compiled = compiled
    try:
        rebuilt = rebuild(model, fresh_copy)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's constructor failed the second time
        raise ModelError(f"caedoctor cannot make a fresh copy of {type(model).__name__} to train: calling "
                         f"{type(model).__name__}(...) again with the arguments your code gave it failed "
                         f"({type(exc).__name__}: {str(exc)[:200]})") from None
    if rebuilt is not None:
        if getattr(model, "built", False) and not rebuilt.built and all(
                getattr(layer, "built", True) for layer in rebuilt._flatten_layers(include_self=False)):
            rebuilt.built = True  # as the original: its parts are built, so are its weights (a model with no call)
        return rebuilt
    how = ("it was built before caedoctor started watching (call caedoctor.autolog() before building it)"
           if recording() else "caedoctor did not see it built (caedoctor run and caedoctor.autolog() record how "
           "your code builds a model)")
    raise ModelError(f"caedoctor cannot make a fresh copy of {type(model).__name__} to train ({failure}): it has "
                     f"no get_config() that rebuilds it and {how}; or pass a factory (file.py:function)")
