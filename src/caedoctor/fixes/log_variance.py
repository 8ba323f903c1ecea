"""The `bound_log_variance` fix kind: clip a VAE's log-variance in its encoder, on a copy.

A VAE whose encoder returns `z_mean, z_log_var, z` computes the log-variance with a layer of linear activation
(`layers.Dense(latent_dim, name="z_log_var")` in the Keras example). The fix builds a fresh copy of the model as
the user's code built it (`caedoctor.models.construction.rebuild`), with the encoder cloned and that one layer's
activation replaced by `bounded_log_variance` (`ops.clip(t, low, high)`, registered with Keras so every later
copy keeps it); everything else is kept. An encoder that is not a functional model, or whose log-variance does
not come straight out of a layer with a linear activation, cannot be changed without editing the code: the fix
is then not applicable, and says which line to change.
"""

from __future__ import annotations

import keras

from caedoctor.fixes.kind import FixKind, NotApplicable

LOW, HIGH = -10.0, 10.0  # exp(10) = 2.2e4: a variance far beyond the prior's 1, far below float32's overflow


@keras.saving.register_keras_serializable(package="caedoctor")
def bounded_log_variance(t):
    """The log-variance clipped to [LOW, HIGH] (caedoctor's `bound_log_variance` fix)."""
    return keras.ops.clip(t, LOW, HIGH)


def _code_change(why: str) -> NotApplicable:
    return NotApplicable(f"suspected, not testable without a code change ({why}): bound the encoder's "
                         f"log-variance (z_log_var = ops.clip(z_log_var, {LOW:g}, {HIGH:g}))")


def log_variance_layer(encoder):
    """The layer whose output is the encoder's second output (its log-variance), or raises NotApplicable."""
    outputs = getattr(encoder, "outputs", None)
    if not isinstance(encoder, keras.Model) or not outputs or len(outputs) < 2:
        raise _code_change("the encoder is not a functional model returning a mean and a log-variance")
    history = getattr(outputs[1], "_keras_history", None)
    layer = history[0] if history else None
    if layer is None or getattr(layer, "activation", None) is None:
        raise _code_change("the log-variance does not come straight out of a layer with an activation")
    if getattr(layer.activation, "__name__", "") != "linear":
        raise _code_change(f"the log-variance layer {layer.name} already has an activation")
    return layer


def _bound(setup, fix, context):
    from caedoctor.models import fresh_copy
    from caedoctor.models.construction import rebuild

    model = setup.model
    encoder = getattr(model, "encoder", None)
    layer = log_variance_layer(encoder)

    def clone(part):
        config = part.get_config()
        if part is layer:
            config["activation"] = bounded_log_variance
        return part.__class__.from_config(config)

    bounded = keras.models.clone_model(encoder, clone_function=clone)
    copy = rebuild(model, lambda part: bounded if part is encoder else fresh_copy(part))
    if copy is None:
        raise _code_change(f"caedoctor did not see how {type(model).__name__} was built, so it cannot copy it")
    return setup.replace(model=copy)


BOUND_LOG_VARIANCE = FixKind("bound_log_variance", "(none): the encoder's log-variance layer clipped to "
                             f"[{LOW:g}, {HIGH:g}]", stage=44, apply=_bound)
