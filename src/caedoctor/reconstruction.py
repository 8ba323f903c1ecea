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
    """`(name, value)` of the model's KL-weight attribute (a plain number), or `(None, nan)`."""
    import numbers

    for name in KL_WEIGHT_NAMES:
        value = vars(model).get(name)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return name, float(value)
    return None, float("nan")


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
