"""`add_batchnorm`: BatchNormalization after hidden conv layers, before their activation."""

from __future__ import annotations

import keras
from keras import layers

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.fixes.model_edit import CONV_TYPES, activation_name, fresh, output_layer
from caedoctor.fixes.rewrite import clone
from caedoctor.fixes.reader import analysis_of, output_layer_names


def add_batchnorm(model: keras.Model, names=None, output_names=None) -> keras.Model:
    """Insert BatchNormalization after each hidden conv layer, *before* its activation.

    A conv layer with a built-in activation (activation="tanh") becomes conv (linear) -> BatchNorm ->
    Activation, so BatchNorm can pull saturated or dead pre-activations back into range; BatchNorm after
    the activation could not. A conv followed by an activation layer of its own (`Activation("sigmoid")`,
    `ReLU()`) gets BatchNorm between the two, the same order. `output_names` are the layers that make the
    output (`reader.output_layer_names`): the last conv before an output `Activation` or `Cropping2D` layer
    is the output's, not a hidden layer, and gets none.
    """
    output = set(output_names) if output_names else {output_layer(model).name}
    wanted = set()

    def swap(layer):
        if isinstance(layer, CONV_TYPES) and layer.name not in output and (not names or layer.name in names):
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
    try:
        analysis = analysis_of(setup, context)
    except NotApplicable:  # a model the reader cannot read: the layer producing the output is the output
        analysis = None
    outputs = output_layer_names(setup.model, analysis)
    return setup.replace(model=add_batchnorm(setup.model, fix.params.get("layers"), outputs))


ADD_BATCHNORM = FixKind("add_batchnorm", "optional layers (conv layer names to follow with BatchNormalization)",
                        stage=32, apply=_apply)
