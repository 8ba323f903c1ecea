"""Kernel-size fixes: `kernel_size` (conv kernels) and `transpose_kernel` (a kernel divisible by its stride)."""

from __future__ import annotations

import keras

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.fixes.model_edit import (CONV_TYPES, clone, fresh)


def limit_kernels(model: keras.Model, max_kernel: int | None = None, layer_name: str | None = None,
                  kernel: int | None = None, kernels: dict | None = None) -> keras.Model:
    """Set kernel sizes: `kernels` {layer: size}, or `layer_name` to `kernel`, or cap all at `max_kernel`."""
    changed = []

    def swap(layer):
        if isinstance(layer, CONV_TYPES):
            k = tuple(layer.kernel_size)
            if kernels and layer.name in kernels:
                changed.append(layer.name)
                return fresh(layer, kernel_size=(int(kernels[layer.name]),) * 2)
            if not kernels and layer_name is not None and layer.name == layer_name:
                changed.append(layer.name)
                return fresh(layer, kernel_size=(kernel, kernel))
            if not kernels and layer_name is None and max_kernel is not None and max(k) > max_kernel:
                changed.append(layer.name)
                return fresh(layer, kernel_size=(min(k[0], max_kernel), min(k[1], max_kernel)))
        return fresh(layer)

    rewritten = clone(model, clone_function=swap)
    if not changed:
        raise NotApplicable("no conv layer to change")
    return rewritten


def _apply(setup, fix, context):
    p = fix.params
    return setup.replace(model=limit_kernels(setup.model, p.get("max_kernel"), p.get("layer"), p.get("kernel"),
                                             p.get("layers")))


KERNEL_SIZE = FixKind("kernel_size", "layer (name), kernel (int); or layers {name: kernel}; or max_kernel (int) for "
                      "every conv layer", stage=33, apply=_apply)
TRANSPOSE_KERNEL = FixKind("transpose_kernel", "layer (name), kernel (int, divisible by the stride)", stage=34,
                           apply=_apply)
