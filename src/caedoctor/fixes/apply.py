"""The registry of fix kinds, in repair order, and applying a `Fix` to a `Setup` through it.

`apply_fix(setup, fix)` looks `fix.kind` up in `FIX_KINDS` and returns a NEW `Setup`, or raises `NotApplicable`
with the reason; `get_fix_kind`, `metric_for` and `repair_rank` read the registry.
"""

from __future__ import annotations

from caedoctor.fixes import (activations, advice, batchnorm, data_fixes, initializer, kernels, kl_weight,
                             log_variance, regularization, shapes, training_fixes, width)
from caedoctor.fixes.kind import FixContext, FixKind, NotApplicable

# In repair order (the `stage` of each kind): data, shapes, architecture, loss, optimizer and rate, batch size.
FIX_KINDS: tuple = tuple(sorted((
    data_fixes.DATA,
    data_fixes.NORMALIZE_INPUTS,
    data_fixes.NORMALIZE_TARGETS,
    data_fixes.INPUTS_AS_TARGETS,
    data_fixes.SMOOTH_TARGETS,
    data_fixes.ALIGN_TARGETS,
    shapes.UPSAMPLE_OUTPUT,
    shapes.REMOVE_CROPPING,
    shapes.CROP_OR_PAD_OUTPUT,
    shapes.INPUT_PADDING,
    shapes.INPUT_SHAPE,
    activations.OUTPUT_ACTIVATION,
    activations.HIDDEN_ACTIVATION,
    batchnorm.ADD_BATCHNORM,
    kernels.KERNEL_SIZE,
    kernels.TRANSPOSE_KERNEL,
    width.BOTTLENECK,
    width.CAPACITY,
    initializer.INITIALIZER,
    advice.REMOVE_SKIP,
    advice.RECEPTIVE_FIELD,
    advice.REGULARIZE,
    log_variance.BOUND_LOG_VARIANCE,
    regularization.REDUCE_REGULARIZATION,
    kl_weight.KL_WEIGHT,
    advice.KL_WEIGHT_VARIABLE,
    training_fixes.LOSS,
    training_fixes.OPTIMIZER,
    training_fixes.LEARNING_RATE,
    training_fixes.BATCH_SIZE,
), key=lambda k: k.stage))

_BY_KIND = {k.kind: k for k in FIX_KINDS}
assert len(_BY_KIND) == len(FIX_KINDS), "two fix kinds share a name"
assert len({k.stage for k in FIX_KINDS}) == len(FIX_KINDS), "two fix kinds share a repair stage"


def get_fix_kind(kind: str) -> FixKind:
    """The registry entry of `kind`; `KeyError` naming the known kinds otherwise."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise KeyError(f"unknown fix kind {kind!r}; known: {', '.join(_BY_KIND)}") from None


def metric_for(kind: str) -> str:
    """The validation metric that judges a change of this kind (SSIM for a loss change: MSE would favour MSE
    training; relative MSE, scale-free, for everything else)."""
    return get_fix_kind(kind).metric


def repair_rank(kind: str) -> int:
    """The position of `kind` in the repair order (unknown kinds last)."""
    entry = _BY_KIND.get(kind)
    return entry.stage if entry is not None else 10**6


def apply_fix(setup, fix, context: FixContext | None = None):
    """`setup` with `fix` applied, as a new `Setup`; `NotApplicable` with the reason when it cannot be.

    A fix never breaks the output's agreement with the targets: when the set-up's output had the targets'
    shape and the changed one does not (a widened dense bottleneck behind a Reshape can change the channels
    downstream), the fix is not applicable here."""
    try:
        entry = get_fix_kind(fix.kind)
    except KeyError as exc:
        raise NotApplicable(str(exc)) from None
    changed = entry.apply(setup, fix, context or FixContext())
    before, after = _output_shape(setup), _output_shape(changed)
    target = _target_shape(changed)
    if before is not None and after is not None and target is not None and before == _target_shape(setup) \
            and after != target:
        raise NotApplicable(f"it would change the output's shape to {after}, unlike the targets' {target}")
    return changed


def _output_shape(setup):
    try:
        return tuple(setup.model.output_shape[1:])
    except (AttributeError, ValueError, TypeError):  # several outputs, or none known
        return None


def _target_shape(setup):
    try:
        return tuple(setup.data.target_shape)
    except (AttributeError, ValueError, TypeError):
        return None


def apply_fixes(setup, fixes, context: FixContext | None = None):
    """Apply several fixes in order; returns `(setup, skipped)` where skipped lists (fix, reason)."""
    skipped = []
    for fix in fixes:
        try:
            setup = apply_fix(setup, fix, context)
        except NotApplicable as exc:
            skipped.append((fix, str(exc)))
    return setup, skipped
