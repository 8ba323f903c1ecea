"""Patch `keras.Model.fit` once, the way MLflow's autolog does, and restore it exactly.

`patch_fit(handler)` puts one wrapper on the class `keras.Model` (so every model, `tf.keras` included, and
every subclass that does not define its own `fit` gets it; a subclass that does and calls `super().fit`
gets it too). The wrapper hands each call to `handler.watch(original, model, args, kwargs)`, which must call
the original exactly once with the user's arguments (plus caedoctor's callback) and return its result.
`unpatch_fit()` puts back what was there: `keras.Model` has no `fit` of its own (it inherits the backend
trainer's), so the patch is deleted rather than replaced, and `keras.Model.fit` is again the very same
function object.

While patched, how each subclassed model is constructed is recorded too (`caedoctor.models.construction`),
so a diagnosis can build fresh copies of a model that has no `get_config`.

Calls made while caedoctor itself is working (the probes of a diagnosis call `fit`) pass straight through,
as does every call while no handler is set.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

_inside = contextvars.ContextVar("caedoctor_inside", default=False)
_patch: dict | None = None  # {"owner", "had_own", "original", "handler"} while patched


@contextlib.contextmanager
def unwatched():
    """Within this block `fit` calls are not watched (caedoctor's own probes, nested fits)."""
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)


def is_patched() -> bool:
    return _patch is not None


def original_fit():
    """The `fit` that was there before the patch (the current one when not patched)."""
    import keras

    return _patch["original"] if _patch is not None else keras.Model.fit


def patch_fit(handler) -> None:
    """Route every `keras.Model.fit` call through `handler.watch`; patch once, later calls swap the handler."""
    global _patch
    import keras

    if _patch is not None:
        _patch["handler"] = handler
        return
    owner = keras.Model
    had_own = "fit" in owner.__dict__
    original = owner.__dict__["fit"] if had_own else owner.fit
    state = {"owner": owner, "had_own": had_own, "original": original, "handler": handler}

    @functools.wraps(original)
    def fit(self, *args, **kwargs):
        current = state["handler"]
        if current is None or _inside.get():
            return original(self, *args, **kwargs)
        return current.watch(original, self, args, kwargs)

    fit.__caedoctor_patch__ = True
    owner.fit = fit
    state["wrapper"] = fit
    _patch = state
    from caedoctor.models import construction

    construction.start()  # fresh copies of subclassed models are built as the user's code builds them


def unpatch_fit() -> None:
    """Restore `keras.Model.fit` exactly as it was before `patch_fit`; when another library has since patched
    it over caedoctor's wrapper (MLflow's autolog), its patch stays and caedoctor's wrapper passes through."""
    global _patch
    if _patch is None:
        return
    from caedoctor.models import construction

    state, _patch = _patch, None
    construction.stop()
    state["handler"] = None  # a reference to the wrapper kept elsewhere now passes through
    owner = state["owner"]
    if owner.__dict__.get("fit") is not state["wrapper"]:
        return  # another library patched fit over ours (MLflow's autolog): its patch stays, ours passes through
    if state["had_own"]:
        owner.fit = state["original"]
    else:
        delattr(owner, "fit")
