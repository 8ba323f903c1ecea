"""Fresh copies of subclassed models from the constructor calls the user's own code made.

`keras.models.clone_model` rebuilds a subclassed model from its `get_config()`. Keras writes that config
itself only when every constructor argument is a plain value (a string, a number, None), so the Keras
example VAE, built as `VAE(encoder, decoder)`, has none and cannot be cloned (`NotImplementedError`). caedoctor
never asks the user to write one: while it watches (`caedoctor run`, `caedoctor.autolog()`), `recording()` notes
each construction of a `keras.Model` subclass as it happens (the class, the positional and the keyword
arguments, by reference), and `rebuild(model, copy)` calls the class again with the same arguments, each Keras
layer or model among them (in lists, tuples and dicts too) replaced by `copy(it)`, its own fresh copy, so
nested encoders and decoders get new weights as well. Other values (numbers, arrays, functions) are passed as
they were. A plain number the model holds in a public attribute (`self.beta = 4.0`, set after construction
too) is carried to the copy.

A model built before recording started has no record; `fresh_copy` then says so.
"""

from __future__ import annotations

import weakref

import keras

_calls: dict = {}  # id(model) -> (weak reference to the model, class, args, kwargs)
_hook: dict | None = None  # {"original": keras.Model.__dict__["__new__"]} while recording


def _skip(cls) -> bool:
    """Functional and Sequential models are cloned from their graph; only subclasses need their call."""
    return cls is keras.Model or issubclass(cls, keras.Sequential) or cls.__name__ == "Functional"


def start() -> None:
    """Record every `keras.Model` subclass construction from now on (idempotent)."""
    global _hook
    if _hook is not None:
        return
    original = keras.Model.__dict__["__new__"]
    function = original.__func__ if isinstance(original, staticmethod) else original

    def __new__(cls, *args, **kwargs):
        instance = function(cls, *args, **kwargs)
        if not _skip(type(instance)):
            _remember(instance, args, kwargs)
        return instance

    __new__.__caedoctor_hook__ = True
    keras.Model.__new__ = staticmethod(__new__)
    _hook = {"original": original}


def _remember(instance, args, kwargs) -> None:
    key = id(instance)
    _calls[key] = (weakref.ref(instance, lambda _ref, key=key: _calls.pop(key, None)), type(instance), tuple(args),
                   dict(kwargs))


def stop() -> None:
    """Stop recording; what was recorded stays (a diagnosis after a script copies its models)."""
    global _hook
    if _hook is None:
        return
    keras.Model.__new__ = _hook["original"]
    _hook = None


def recording() -> bool:
    return _hook is not None


def construction(model) -> tuple | None:
    """`(class, args, kwargs)` of the recorded construction of `model`, or None."""
    entry = _calls.get(id(model))
    if entry is None or entry[0]() is not model:
        return None
    return entry[1:]


def rebuild(model, copy):
    """A new model built as `model` was (see the module doc), or None when its construction was not
    recorded. `copy(layer)` makes the fresh copy of each Keras layer or model among the arguments."""
    found = construction(model)
    if found is None:
        return None
    cls, args, kwargs = found

    def swap(value):
        if isinstance(value, keras.layers.Layer):
            return copy(value)
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return tuple(swap(v) for v in value)
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    args, kwargs = [swap(a) for a in args], {k: swap(v) for k, v in kwargs.items()}
    copy_ = cls(*args, **kwargs)
    _remember(copy_, args, kwargs)  # a copy can be copied again (every probe copies the diagnosis' copy)
    for name, value in numbers(model).items():  # numbers set after construction (a beta changed later)
        if vars(copy_).get(name) != value:
            setattr(copy_, name, value)
    for name, value in scalar_variables(model).items():  # and a weight held in a variable, assigned later
        held = vars(copy_).get(name)
        if isinstance(held, keras.Variable) and tuple(held.shape) == () and held.dtype == value.dtype:
            held.assign(value)
    return copy_


def numbers(model) -> dict:
    """The public plain numbers the model holds (`self.beta = 4.0`): what a copy carries, and what a watched
    fit notes at its start so the copy diagnosed is the model as that fit began (a KL warm-up callback changes
    `beta` during fit)."""
    return {name: value for name, value in vars(model).items() if _carried(name, value)}


def scalar_variables(model) -> dict:
    """The public non-trainable scalar `keras.Variable`s the model holds as attributes (`self.beta =
    keras.Variable(0.0, trainable=False)`, a KL weight a warm-up assigns to), by name: what a copy carries by
    value, as it carries `numbers`."""
    return {name: value for name, value in vars(model).items()
            if not name.startswith("_") and isinstance(value, keras.Variable) and tuple(value.shape) == ()
            and not value.trainable}


def _carried(name: str, value) -> bool:
    """A public plain-number attribute the user's code may have set after construction (`self.beta = 4.0`);
    Keras' own flags are booleans and its step counts are left alone."""
    return (not name.startswith("_") and isinstance(value, (int, float)) and not isinstance(value, bool)
            and name not in ("steps_per_execution", "unrolled_steps_per_execution"))


def copy_layer(layer):
    """A fresh copy of a Keras layer that is not a model: its class from its config."""
    return type(layer).from_config(layer.get_config())
