"""Fixes of activations: the output layer's (`output_activation`) and hidden ReLUs (`hidden_activation`)."""

from __future__ import annotations

import keras
from keras import layers

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.fixes.model_edit import (ACTIVATION_LAYERS, activation_name, clone, fresh, output_layer)


def set_output_activation(model: keras.Model, activation: str) -> keras.Model:
    out = output_layer(model)
    if isinstance(out, ACTIVATION_LAYERS):
        target = out.name

        def swap(layer):
            if layer.name == target:
                return layers.Activation(activation, name=layer.name)
            return fresh(layer)
    elif hasattr(out, "activation"):
        target = out.name

        def swap(layer):
            return fresh(layer, activation=activation) if layer.name == target else fresh(layer)
    else:
        raise NotApplicable(f"the output layer {out.name!r} ({type(out).__name__}) has no activation to change")
    return clone(model, clone_function=swap)


def swap_hidden_activation(model: keras.Model, old: str = "relu", new: str = "leaky_relu", names=None) -> keras.Model:
    """Replace activation `old` by `new` in every hidden layer (not the output).

    `leaky_relu` uses slope 0.1 as in the field notes (Keras' string default is 0.2), so a conv layer with
    activation="relu" becomes the same conv with a linear activation followed by a LeakyReLU(0.1) layer.
    """
    changed = []
    output_name = output_layer(model).name

    def wanted(layer) -> bool:
        return layer.name != output_name and (not names or layer.name in names)

    def swap(layer):
        if not wanted(layer):
            return fresh(layer)
        if hasattr(layer, "activation") and not isinstance(layer, ACTIVATION_LAYERS) \
                and activation_name(layer) == old:
            changed.append(layer.name)
            return fresh(layer, activation="linear" if new == "leaky_relu" else new)
        if old == "relu" and (isinstance(layer, layers.ReLU) or
                              (isinstance(layer, layers.Activation) and activation_name(layer) == "relu")):
            changed.append(layer.name)
            if new == "leaky_relu":
                return layers.LeakyReLU(negative_slope=0.1, name=layer.name)
            return layers.Activation(new, name=layer.name)
        return fresh(layer)

    def call(layer, *args, **kwargs):
        y = layer(*args, **kwargs)
        if new == "leaky_relu" and layer.name in changed and not isinstance(layer, ACTIVATION_LAYERS):
            y = layers.LeakyReLU(negative_slope=0.1, name=f"{layer.name}_leaky")(y)
        return y

    rewritten = clone(model, clone_function=swap, call_function=call)
    if not changed:
        raise NotApplicable(f"no hidden layer uses {old!r}")
    return rewritten


def _output(setup, fix, context):
    return setup.replace(model=set_output_activation(setup.model, fix.params.get("activation", "sigmoid")))


def _hidden(setup, fix, context):
    p = fix.params
    return setup.replace(model=swap_hidden_activation(setup.model, p.get("from", "relu"), p.get("to", "leaky_relu"),
                                                      p.get("layers")))


OUTPUT_ACTIVATION = FixKind(
    "output_activation", "activation (sigmoid|tanh|linear|relu) for the model's last layer", stage=30, apply=_output)
HIDDEN_ACTIVATION = FixKind(
    "hidden_activation", "from (e.g. relu), to (e.g. leaky_relu), optional layers (names)", stage=31, apply=_hidden)
