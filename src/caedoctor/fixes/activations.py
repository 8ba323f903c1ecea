"""Fixes of activations: the output layer's (`output_activation`) and the hidden layers' (`hidden_activation`)."""

from __future__ import annotations

import keras
from keras import layers

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.fixes.model_edit import ACTIVATION_LAYERS, fresh, has_layer, output_layer
from caedoctor.fixes.rewrite import clone
from caedoctor.fixes.reader import activation_of, analysis_of, canonical_activation, output_layer_names


def _activation_layer(activation: str, name: str):
    """A layer applying `activation`; LeakyReLU with slope 0.1, as the field notes use it."""
    if canonical_activation(activation) == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.1, name=name)
    return layers.Activation(activation, name=name)


def set_output_activation(model: keras.Model, activation: str, analysis=None) -> keras.Model:
    """Give the output `activation`: on the layer the model reader says sets the output's range (an
    Activation layer, or a conv's `activation=`, also when Cropping2D or Reshape follow it), else on the last
    weighted layer before the output (a linear output)."""
    out = output_layer(model)
    target = None
    if analysis is not None and not analysis.opaque:
        weighted = analysis.output_weighted_layer
        target = analysis.output_activation_layer or (weighted.name if weighted is not None else None)
    layer = out
    if target and target.split("#")[0] != out.name and has_layer(model, target.split("#")[0]):
        layer = model.get_layer(target.split("#")[0])  # a top-level layer (a nested model's are not rewritten)
    if isinstance(layer, ACTIVATION_LAYERS):
        def swap(old):
            return layers.Activation(activation, name=old.name) if old.name == layer.name else fresh(old)
    elif hasattr(layer, "activation"):
        def swap(old):
            return fresh(old, activation=activation) if old.name == layer.name else fresh(old)
    else:
        raise NotApplicable(f"the output layer {layer.name!r} ({type(layer).__name__}) has no activation to change")
    return clone(model, clone_function=swap)


def swap_hidden_activation(model: keras.Model, old: str = "relu", new: str = "leaky_relu", names=None,
                           output_names=None) -> keras.Model:
    """Replace activation `old` by `new` in every hidden layer (not the output), whether the model writes it
    inline (`Conv2D(..., activation="sigmoid")`) or as a layer of its own (`Activation("sigmoid")`, `ReLU()`,
    `LeakyReLU()`, `ELU()`, `PReLU()`): a layer matches when the model reader's `activation_of` names `old`
    for it, so the fix changes exactly the layers a rule counted.

    `leaky_relu` uses slope 0.1 as in the field notes (Keras' string default is 0.2): a conv layer with
    activation="relu" becomes the same conv with a linear activation followed by a LeakyReLU(0.1) layer, and
    an activation layer becomes a LeakyReLU(0.1) layer of the same name. `output_names`: the layers that
    make the output (`reader.output_layer_names`; default: the layer producing it).
    """
    changed = []
    old_name = canonical_activation(old)
    new_is_leaky = canonical_activation(new) == "leaky_relu"
    skip = set(output_names) if output_names else {output_layer(model).name}

    def wanted(layer) -> bool:
        return layer.name not in skip and (not names or layer.name in names)

    def swap(layer):
        if not wanted(layer) or activation_of(layer) != old_name:
            return fresh(layer)
        changed.append(layer.name)
        if isinstance(layer, ACTIVATION_LAYERS):
            return _activation_layer(new, layer.name)
        return fresh(layer, activation="linear" if new_is_leaky else new)

    def call(layer, *args, **kwargs):
        y = layer(*args, **kwargs)
        if new_is_leaky and layer.name in changed and not isinstance(layer, ACTIVATION_LAYERS):
            y = layers.LeakyReLU(negative_slope=0.1, name=f"{layer.name}_leaky")(y)
        return y

    rewritten = clone(model, clone_function=swap, call_function=call)
    if not changed:
        raise NotApplicable(f"no hidden layer uses {old!r} (inline or as an activation layer)")
    return rewritten


def _output(setup, fix, context):
    analysis = _analysis_or_none(setup, context)
    return setup.replace(model=set_output_activation(setup.model, fix.params.get("activation", "sigmoid"), analysis))


def _hidden(setup, fix, context):
    p = fix.params
    outputs = output_layer_names(setup.model, _analysis_or_none(setup, context))
    return setup.replace(model=swap_hidden_activation(setup.model, p.get("from", "relu"), p.get("to", "leaky_relu"),
                                                      p.get("layers"), outputs))


def _analysis_or_none(setup, context):
    """The reader's analysis; None when it cannot read the model (the rewrite then reads the Keras output)."""
    try:
        return analysis_of(setup, context)
    except NotApplicable:
        return None


OUTPUT_ACTIVATION = FixKind(
    "output_activation", "activation (sigmoid|tanh|linear|relu) for the model's last layer", stage=30, apply=_output)
HIDDEN_ACTIVATION = FixKind(
    "hidden_activation", "from (e.g. relu), to (e.g. leaky_relu), optional layers (names)", stage=31, apply=_hidden)
