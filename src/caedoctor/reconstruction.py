"""How caedoctor reads what an autoencoder makes of its input, and how it trains one that trains itself.

Most CAEs are a `keras.Model` whose call returns the reconstruction and whose compiled loss `fit` minimises.
Many are not: the Keras example VAE is a subclassed model holding an `encoder` and a `decoder`, with its own
`train_step` (a summed cross-entropy plus a KL term) and no `call` at all; others override `compute_loss`
or add their terms with `add_loss` and compile no loss. Such a model *trains itself*: caedoctor never
replaces its loss, it lets the model compute it, and reads two things from outside:

- the **reconstruction** (`reconstruct`): `model(x)` when the model has a call (the first output shaped like
  its input when it returns several), else `decoder(encoder(x))` through its `encoder` and `decoder`
  attributes, taking the mean of the code (the encoder's first output) when the encoder returns several
  (`z_mean, z_log_var, z` in the Keras example). Reconstruction error is measured on it (the model's output
  against the target), whatever the model's own loss is.
- the **gradients its own step applies** (`own_step`): the model's `train_step` runs on a batch with its
  optimizer's `apply_gradients` / `apply` caught, so the gradients are exactly those the user's loss gives,
  and nothing changes: no weight, no optimizer step, no metric total and no random-generator state.
- the **latent code** of a VAE (`code_statistics`): the mean and log-variance its encoder returns, from
  which the monitor counts the active latent units and the KL divergence per dimension.
"""

from __future__ import annotations

import contextlib
import math

import keras

from caedoctor.errors import ModelError

FEEDS = ("x", "xy")  # what a self-training model's train_step gets from fit: x alone, or (x, y) pairs


class ReconstructionError(ModelError):
    """caedoctor cannot tell how this model reconstructs an image."""


def overrides(model, name: str) -> bool:
    """Whether the model's class defines `name` itself rather than inheriting Keras' own."""
    return getattr(type(model), name, None) is not getattr(keras.Model, name, None)


def trains_itself(model) -> bool:
    """The model computes its own loss: its class overrides `train_step` or `compute_loss`, or it is compiled
    without a loss (its terms come from `add_loss`)."""
    if overrides(model, "train_step") or overrides(model, "compute_loss"):
        return True
    return bool(getattr(model, "compiled", False)) and getattr(model, "loss", None) is None


def where_it_trains(model) -> str:
    """The method that computes a self-training model's loss, for messages: `VAE.train_step`, ..."""
    name = type(model).__name__
    for method in ("train_step", "compute_loss"):
        if overrides(model, method):
            return f"{name}.{method}"
    return f"{name}'s add_loss terms"


def has_call(model) -> bool:
    """The model can be called on inputs (a functional or Sequential model, or a subclass with `call`)."""
    return overrides(model, "call")


def way(model) -> str:
    """How `reconstruct` reads this model, in words; raises `ReconstructionError` when it cannot."""
    if has_call(model):
        return "model(x)"
    if _coder(model, "encoder") is not None and _coder(model, "decoder") is not None:
        return "decoder(encoder(x)), the mean of the code when the encoder returns several outputs"
    raise ReconstructionError(
        f"{type(model).__name__} has no call() and no encoder and decoder attributes, so caedoctor cannot tell "
        "how it reconstructs an image: give it a call() that returns the reconstruction")


def _coder(model, name: str):
    part = getattr(model, name, None)
    return part if isinstance(part, keras.layers.Layer) else None


def _pick(outputs, x):
    """The reconstruction among a call's outputs: the first shaped like the input (else the first)."""
    if not isinstance(outputs, (list, tuple)):
        return outputs
    shape = tuple(getattr(x, "shape", ()))[1:]
    for out in outputs:
        if tuple(getattr(out, "shape", ()))[1:] == shape:
            return out
    return outputs[0]


def reconstruct(model, x, training: bool = False):
    """The model's reconstruction of the batch `x` (see the module doc)."""
    if has_call(model):
        return _pick(model(x, training=training), x)
    encoder, decoder = _coder(model, "encoder"), _coder(model, "decoder")
    if encoder is None or decoder is None:
        way(model)  # raises with the reason
    code = encoder(x, training=training)
    if isinstance(code, (list, tuple)):
        code = code[0]
    return _pick(decoder(code, training=training), x)


def code_statistics(model, x):
    """`(mean, log_variance)` of the latent code of batch `x` when the model's `encoder` returns them first
    (a VAE: `z_mean, z_log_var, z`: two outputs of one shape), else None. Calling the encoder may advance its
    random generator: the caller restores the model's state."""
    encoder = _coder(model, "encoder")
    if encoder is None:
        return None
    out = encoder(x, training=False)
    if not isinstance(out, (list, tuple)) or len(out) < 2 or tuple(out[0].shape) != tuple(out[1].shape):
        return None
    return out[0], out[1]


# The attribute names a VAE's KL weight goes by, in the order they are looked for.
KL_WEIGHT_NAMES = ("beta", "kl_weight", "kl_beta", "kl_coef", "kl_coefficient")


def kl_weight_of(model) -> tuple:
    """`(name, value)` of the model's KL-weight attribute (a plain number or a scalar `keras.Variable`), or
    `(None, nan)`."""
    import numbers

    for name in KL_WEIGHT_NAMES:
        value = getattr(model, name, None)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return name, float(value)
        if isinstance(value, keras.Variable) and len(value.shape) == 0:
            return name, float(value.numpy())
    return None, float("nan")


def set_kl_weight(model, name: str, value: float) -> None:
    """Give the model's KL-weight attribute `name` the value `value`: assigned when it is a `keras.Variable` (a
    schedule assigns to it, and a traced step reads it), set when it is a plain number."""
    held = getattr(model, name)
    if isinstance(held, keras.Variable):
        held.assign(value)
    else:
        setattr(model, name, value)


def weight_is_number(model, name: str) -> bool:
    """The KL weight `name` is a plain Python number (read as a constant by a traced step), not a variable."""
    return not isinstance(getattr(model, name, None), keras.Variable)


def feed(x, y, kind: str):
    """One batch as a self-training model's train_step gets it: `x` alone ("x") or `(x, y)` ("xy")."""
    return x if kind == "x" else (x, y)


@contextlib.contextmanager
def _caught(optimizer, sink: dict):
    """Within this block the optimizer's `apply_gradients` and `apply` record the gradients in `sink`
    (by variable) instead of applying them."""
    def apply_gradients(grads_and_vars, *args, **kwargs):
        for g, v in grads_and_vars:
            sink[id(v)] = g

    def apply(grads, trainable_variables=None, *args, **kwargs):
        variables = trainable_variables if trainable_variables is not None else optimizer._trainable_variables
        for g, v in zip(grads, variables):
            sink[id(v)] = g

    had = {name: name in vars(optimizer) for name in ("apply_gradients", "apply")}
    saved = {name: vars(optimizer)[name] for name, own in had.items() if own}
    object.__setattr__(optimizer, "apply_gradients", apply_gradients)
    object.__setattr__(optimizer, "apply", apply)
    try:
        yield
    finally:
        for name in ("apply_gradients", "apply"):
            if had[name]:
                object.__setattr__(optimizer, name, saved[name])
            else:
                object.__delattr__(optimizer, name)


def own_step(model, batch, variables) -> tuple:
    """`(logs, gradients)`: what the model's own `train_step` reports for `batch` and the gradient it would
    apply to each of `variables` (None where it applies none), with nothing changed (see the module doc)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(f"{type(model).__name__} is not compiled with an optimizer: its train_step cannot run")
    state = [(v, v.numpy()) for v in [*model.non_trainable_variables, *model.metrics_variables]]
    sink: dict = {}
    try:
        with _caught(optimizer, sink):
            logs = model.train_step(batch)
    finally:
        for v, value in state:
            v.assign(value)
    logs = {k: float(v) for k, v in (logs or {}).items() if _scalar(v)}
    return logs, [sink.get(id(v)) for v in variables]


def _scalar(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def weight_in_traced_step(model, batch, name: str, old: float, new: float) -> dict:
    """Whether the model's compiled train step sees its KL weight change: measured, with nothing changed.

    `fit` runs `train_step` as a `tf.function`, traced once: a plain Python number read inside it (`self.beta *
    kl_loss`) is a constant of the traced graph, and a schedule that later sets `model.beta` changes nothing
    (keras-team/keras issue 13826). The counterfactual changes only the weight: from the same state, a traced
    step (traced at `old`, as `fit`'s was) is run on `batch` with the attribute at `old` and at `new`, and an
    eager step at `new`. `frozen` is True when the traced step's loss does not move while the eager one does;
    `no_effect` when neither moves (a KL term of 0 on this batch: nothing to tell). The optimizer's update is
    caught and weights, metric totals and random-generator states are put back after each step (`own_step`).
    """
    import tensorflow as tf

    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(f"{type(model).__name__} is not compiled with an optimizer: its train_step cannot run")
    state = [(v, v.numpy()) for v in [*model.non_trainable_variables, *model.metrics_variables]]
    current = getattr(model, name)

    def loss_of(step):
        try:
            logs = step(batch) or {}
            return float(logs["loss"]) if "loss" in logs else math.nan
        finally:
            for v, value in state:
                v.assign(value)

    traced = tf.function(model.train_step, autograph=False)
    sink: dict = {}
    try:
        with _caught(optimizer, sink):
            setattr(model, name, old)
            traced_old = loss_of(traced)
            setattr(model, name, new)
            traced_new = loss_of(traced)
            eager_new = loss_of(model.train_step)
    finally:
        setattr(model, name, current)
    tolerance = 1e-5 * max(1.0, abs(traced_old))
    traced_moved = abs(traced_new - traced_old) > tolerance
    eager_moved = abs(eager_new - traced_old) > tolerance
    return {"attribute": name, "old": float(old), "new": float(new), "traced_loss_at_old": traced_old,
            "traced_loss_at_new": traced_new, "eager_loss_at_new": eager_new,
            "frozen": bool(eager_moved and not traced_moved), "no_effect": bool(not eager_moved)}
