"""`initializer`: every kernel (conv, transposed conv, dense) re-initialised with a given Keras initializer, or
every bias (`bias_initializer`, e.g. zeros after a negative constant that kills ReLU units)."""

from __future__ import annotations

import keras

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.fixes.model_edit import fresh
from caedoctor.fixes.rewrite import clone


def _reinitialise(model: keras.Model, weight: str, initializer: str) -> keras.Model:
    """Every layer with a `weight` ("kernel" or "bias") and its `<weight>_initializer` gets `initializer`."""
    changed = []
    attr = f"{weight}_initializer"

    def swap(layer):
        if getattr(layer, attr, None) is not None and getattr(layer, weight, None) is not None:
            current = keras.initializers.serialize(getattr(layer, attr))
            name = current.get("class_name", "") if isinstance(current, dict) else str(current)
            if keras.initializers.get(initializer).__class__.__name__ != name:
                changed.append(layer.name)
            return fresh(layer, **{attr: initializer})
        return fresh(layer)

    rewritten = clone(model, clone_function=swap)
    if not changed:
        raise NotApplicable(f"every {weight} already uses {initializer}")
    return rewritten


def set_initializer(model: keras.Model, initializer: str = "glorot_uniform") -> keras.Model:
    """Give every kernel the initializer `initializer` (Keras' default: glorot_uniform): every layer with a
    `kernel_initializer`, as the model reader reads initial scales (Conv1D/2D/3D, transposed, Dense), not
    only the 2-D convs and Dense layers."""
    return _reinitialise(model, "kernel", initializer)


def set_bias_initializer(model: keras.Model, initializer: str = "zeros") -> keras.Model:
    """Give every bias the initializer `initializer` (Keras' default: zeros)."""
    return _reinitialise(model, "bias", initializer)


def _apply(setup, fix, context):
    if "bias_initializer" in fix.params:
        return setup.replace(model=set_bias_initializer(setup.model, fix.params["bias_initializer"]))
    return setup.replace(model=set_initializer(setup.model, fix.params.get("initializer", "glorot_uniform")))


INITIALIZER = FixKind("initializer", "initializer (Keras name, e.g. glorot_uniform) for every conv and dense kernel; "
                      "or bias_initializer (e.g. zeros) for every bias", stage=37, apply=_apply)
