"""`initializer`: every conv and dense kernel re-initialised with a given Keras initializer."""

from __future__ import annotations

import keras
from keras import layers

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.fixes.model_edit import (CONV_TYPES, clone, fresh)


def set_initializer(model: keras.Model, initializer: str = "glorot_uniform") -> keras.Model:
    """Give every conv and dense kernel the initializer `initializer` (Keras' default: glorot_uniform)."""
    changed = []

    def swap(layer):
        if isinstance(layer, CONV_TYPES + (layers.Dense,)):
            current = keras.initializers.serialize(layer.kernel_initializer)
            name = current.get("class_name", "") if isinstance(current, dict) else str(current)
            if keras.initializers.get(initializer).__class__.__name__ != name:
                changed.append(layer.name)
            return fresh(layer, kernel_initializer=initializer)
        return fresh(layer)

    rewritten = clone(model, clone_function=swap)
    if not changed:
        raise NotApplicable(f"every kernel already uses {initializer}")
    return rewritten


def _apply(setup, fix, context):
    return setup.replace(model=set_initializer(setup.model, fix.params.get("initializer", "glorot_uniform")))


INITIALIZER = FixKind("initializer", "initializer (Keras name, e.g. glorot_uniform) for every conv and dense kernel",
                      stage=37, apply=_apply)
