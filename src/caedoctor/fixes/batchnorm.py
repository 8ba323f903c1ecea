"""`add_batchnorm`: BatchNormalization after hidden conv layers, before their activation."""

from __future__ import annotations

import keras
from keras import layers

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.fixes.model_edit import (CONV_TYPES, activation_name, clone, fresh, output_layer)


def add_batchnorm(model: keras.Model, names=None) -> keras.Model:
    """Insert BatchNormalization after each hidden conv layer, *before* its activation.

    A conv layer with a built-in activation (activation="tanh") becomes conv (linear) -> BatchNorm ->
    Activation, so BatchNorm can pull saturated or dead pre-activations back into range; BatchNorm after
    the activation could not.
    """
    output_name = output_layer(model).name
    wanted = set()

    def swap(layer):
        if isinstance(layer, CONV_TYPES) and layer.name != output_name and (not names or layer.name in names):
            wanted.add(layer.name)
            act = activation_name(layer)
            if act not in (None, "linear"):
                linear = fresh(layer, activation="linear")
                linear._caedoctor_activation = act
                return linear
        return fresh(layer)

    def call(layer, *args, **kwargs):
        y = layer(*args, **kwargs)
        if layer.name in wanted:
            y = layers.BatchNormalization(name=f"{layer.name}_bn")(y)
            act = getattr(layer, "_caedoctor_activation", None)
            if act:
                y = layers.Activation(act, name=f"{layer.name}_{act}")(y)
        return y

    rewritten = clone(model, clone_function=swap, call_function=call)
    if not wanted:
        raise NotApplicable("no hidden conv layer to follow with BatchNormalization")
    return rewritten


def _apply(setup, fix, context):
    return setup.replace(model=add_batchnorm(setup.model, fix.params.get("layers")))


ADD_BATCHNORM = FixKind("add_batchnorm", "optional layers (conv layer names to follow with BatchNormalization)",
                        stage=32, apply=_apply)
