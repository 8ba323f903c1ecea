"""`clone`: a model rewritten layer by layer through `keras.models.clone_model`, with a fix's hooks.

A fix kind hands its hooks (`clone_function`: the new layer for each old one, usually `model_edit.fresh` with
a change; `call_function`: what follows a layer's call) to `clone`; Keras calls them while it rebuilds the
graph. The helpers the hooks use live in `model_edit`, so a hook never calls back into this module.
"""

from __future__ import annotations

import keras

from caedoctor.fixes.kind import NotApplicable
from caedoctor.fixes.model_edit import require_graph


def clone(model: keras.Model, clone_function=None, call_function=None) -> keras.Model:
    """`keras.models.clone_model` with the given hooks; `NotApplicable` when the model cannot be cloned."""
    require_graph(model)
    kwargs = {}
    if clone_function is not None:
        kwargs["clone_function"] = clone_function
    if call_function is not None:
        kwargs["call_function"] = call_function
        if isinstance(model, keras.Sequential):  # Keras clones only a functional graph with call_function
            model = keras.Model(model.inputs, model.outputs, name=model.name)
    try:
        return keras.models.clone_model(model, **kwargs)
    except Exception as exc:  # noqa: BLE001 - e.g. a custom layer without get_config
        raise NotApplicable(f"the model cannot be rewritten layer by layer ({type(exc).__name__}: {exc})") from None
