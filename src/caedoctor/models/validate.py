"""Whether a model can be trained here at all: its shapes agree with the data (`check_autoencoder_shapes`) and
TensorFlow accepts its names (`check_names`); each refusal names what to change."""

from __future__ import annotations

import re

import keras

from caedoctor.errors import ModelError, ShapeMismatchError


def check_autoencoder_shapes(model: keras.Model, target_shape, input_shape=None) -> None:
    """Raise `ShapeMismatchError` naming both shapes when the model cannot take the data or reproduce it."""
    if input_shape is not None and not isinstance(model.input_shape, list):
        expected = tuple(model.input_shape[1:])
        given = tuple(int(s) for s in input_shape)
        if len(expected) != len(given) or any(e is not None and e != g for e, g in zip(expected, given)):
            raise ShapeMismatchError(f"model input shape {expected} differs from the data's shape {given}; "
                                     "resize the data (--image-size) or rebuild the model for it")
    out = tuple(model.output_shape[1:]) if not isinstance(model.output_shape, list) else None
    if out is None:
        raise ShapeMismatchError(f"model {model.name!r} has {len(model.outputs)} outputs; a CAE has one")
    target = tuple(int(s) for s in target_shape)
    if out != target:
        raise ShapeMismatchError(
            f"model output shape {out} differs from target shape {target}: this model cannot reconstruct "
            "the data (run `caedoctor check` for the layer where it goes wrong)")
    inp = model.input_shape
    if isinstance(inp, list):
        raise ShapeMismatchError(f"model {model.name!r} has {len(inp)} inputs; a CAE has one")


# TensorFlow opens a name scope per model and layer whenever the model runs; any other character (a space,
# "<", "$", ";", a quote) makes every call fail with "... is not a valid scope name". Such a model cannot be
# trained or probed here, so it is refused at load, naming the layer, before anything is written.
_ROOT_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_./>-]*")
_LAYER_NAME = re.compile(r"[A-Za-z0-9_./>-]*")


def check_names(model: keras.Model, source: str = "model") -> None:
    """Raise `ModelError` if the model's or a layer's name is one TensorFlow cannot run (see above)."""
    if not _ROOT_NAME.fullmatch(model.name):
        raise ModelError(f"{source}: the model's name {model.name[:80]!r} cannot be used by TensorFlow (names "
                         "hold letters, digits and _ . - > only, and start with a letter, digit or '.'); rename it")
    pending = list(getattr(model, "layers", []))
    while pending:
        layer = pending.pop()
        if not _LAYER_NAME.fullmatch(layer.name):
            raise ModelError(f"{source}: layer name {layer.name[:80]!r} cannot be used by TensorFlow (names hold "
                             "letters, digits and _ . - > only); rename the layer")
        pending.extend(getattr(layer, "layers", []))
