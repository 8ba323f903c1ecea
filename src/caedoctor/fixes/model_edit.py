"""Helpers for rewriting a Keras model layer by layer (`rewrite.clone`): the user's model is never changed.

Cloned layers get fresh weights: a rewritten model is trained from scratch, like the original probe it is
compared with. A subclassed model has no graph of layers to rewrite, so every rewrite refuses it with
`NotApplicable` ("not testable on a subclassed model"), never a crash."""

from __future__ import annotations

import keras
from keras import layers

from caedoctor.fixes.kind import NotApplicable


CONV_TYPES = (layers.Conv2D, layers.Conv2DTranspose)
ACTIVATION_LAYERS = (layers.Activation, layers.ReLU, layers.LeakyReLU, layers.ELU, layers.PReLU)


def is_graph_model(model) -> bool:
    """True for Sequential and functional models (a graph of layers); False for a subclassed model."""
    try:
        from keras.src.models.functional import Functional
    except ImportError:  # pragma: no cover - Keras moved it
        Functional = None
    return isinstance(model, keras.Sequential) or (Functional is not None and isinstance(model, Functional))


def require_graph(model: keras.Model) -> None:
    """Refuse a subclassed model: its layers are called by its own Python code, not a graph caedoctor can edit."""
    if not is_graph_model(model):
        raise NotApplicable(f"not testable on a subclassed model ({type(model).__name__}): this fix rewrites "
                            "the graph of layers, which only Sequential and functional models have")


def output_layer(model: keras.Model):
    """The layer that produces the model's output (a conv layer or a trailing activation layer)."""
    require_graph(model)
    return model.get_layer(model.outputs[0]._keras_history[0].name) if hasattr(model.outputs[0], "_keras_history") \
        else model.layers[-1]


def fresh(layer, **changes):
    """A new layer of the same class and config, with `changes` applied (fresh weights)."""
    config = layer.get_config()
    config.update(changes)
    return layer.__class__.from_config(config)


def activation_name(layer) -> str | None:
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    return getattr(act, "__name__", None) or str(act)


def is_output(model, layer) -> bool:
    return layer.name == output_layer(model).name


def has_layer(model: keras.Model, name: str) -> bool:
    try:
        model.get_layer(name)
        return True
    except ValueError:
        return False


def leaf_layers(model) -> list:
    """Every layer that is neither a model nor an input, nested models flattened, in order."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out += leaf_layers(layer)
        elif not isinstance(layer, layers.InputLayer):
            out.append(layer)
    return out


def layer_name_map(diagnosed: keras.Model, model: keras.Model) -> dict:
    """{name in `diagnosed`: name in `model`} for two builds of the same architecture (a factory called
    twice: Keras numbers the second build's layers `dense_1`, ...), matched by position and class; {} when
    the layer lists differ in length or class, or every name already agrees."""
    a, b = leaf_layers(diagnosed), leaf_layers(model)
    if len(a) != len(b) or any(type(x) is not type(y) for x, y in zip(a, b)):
        return {}
    return {x.name: y.name for x, y in zip(a, b) if x.name != y.name}
