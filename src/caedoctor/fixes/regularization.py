"""`reduce_regularization`: weaken or remove dropout and weight/activity penalties, through `clone_model`.

The counterfactual of `over_regularization`: "would the model fit better with less of it?". With `factor`
0 (the default) every Dropout-like layer becomes an Identity layer of the same name, ActivityRegularization
layers likewise, and `kernel_regularizer`, `bias_regularizer` and `activity_regularizer` are removed; with
a factor in (0, 1) rates and strengths are multiplied by it. `layers` limits the change to the named layers.

It complements the advice-only `regularize` kind rather than replacing it: `regularize` is what an
overfitting model needs (more dropout or weight decay: where and how much has many valid forms, so it stays
advice), this is the opposite change, and it has one obvious form (the same model without its penalties),
which a probe can test and a repair can keep.
"""

from __future__ import annotations

import keras
from keras import layers

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.fixes.model_edit import fresh
from caedoctor.fixes.rewrite import clone
from caedoctor.models.regularization import DROPOUT_LAYERS, regularizer_strengths

_REGULARIZER_ATTRS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer")


def _scaled(regularizer, factor: float):
    """The regularizer with its strengths times `factor` (None for 0); a custom one is kept at factor > 0."""
    if factor <= 0:
        return None
    s = regularizer_strengths(regularizer)
    if "custom" in s:
        return regularizer
    cls = {"L1": keras.regularizers.L1, "L2": keras.regularizers.L2}.get(type(regularizer).__name__)
    if cls is keras.regularizers.L1:
        return cls(l1=s["l1"] * factor)
    if cls is keras.regularizers.L2:
        return cls(l2=s["l2"] * factor)
    return keras.regularizers.L1L2(l1=s["l1"] * factor, l2=s["l2"] * factor)


def reduce_regularization(model: keras.Model, factor: float = 0.0, names=None) -> keras.Model:
    """`model` with its dropout rates and penalty strengths multiplied by `factor` (0: removed), in every
    layer or in the layers `names`. Raises `NotApplicable` when there is nothing to weaken."""
    if not 0 <= factor < 1:
        raise NotApplicable(f"reduce_regularization needs a factor in [0, 1), got factor={factor}")
    names = set(names) if names else None
    changed = []

    def swap(layer):
        if names is not None and layer.name not in names:
            return fresh(layer)
        kind = type(layer).__name__
        if kind in DROPOUT_LAYERS and getattr(layer, "rate", 0):
            changed.append(layer.name)
            return layers.Identity(name=layer.name) if factor == 0 else fresh(layer, rate=float(layer.rate) * factor)
        if kind == "ActivityRegularization" and (layer.l1 or layer.l2):
            changed.append(layer.name)
            if factor == 0:
                return layers.Identity(name=layer.name)
            return fresh(layer, l1=float(layer.l1) * factor, l2=float(layer.l2) * factor)
        changes = {attr: _scaled(getattr(layer, attr), factor) for attr in _REGULARIZER_ATTRS
                   if getattr(layer, attr, None) is not None}
        if changes:
            changed.append(layer.name)
            return fresh(layer, **changes)
        return fresh(layer)

    rewritten = clone(model, clone_function=swap)
    if not changed:
        where = f" in {sorted(names)}" if names else ""
        raise NotApplicable(f"no dropout layer or weight/activity regularizer{where} to weaken")
    return rewritten


def _apply(setup, fix, context):
    p = fix.params
    return setup.replace(model=reduce_regularization(setup.model, float(p.get("factor", 0.0)), p.get("layers")))


REDUCE_REGULARIZATION = FixKind(
    "reduce_regularization", "factor (float in [0, 1): multiply dropout rates and penalty strengths; 0 removes "
    "them), optional layers (names)", stage=41, apply=_apply)
