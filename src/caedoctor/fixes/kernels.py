"""Kernel-size fixes: `kernel_size` (conv kernels) and `transpose_kernel` (a kernel divisible by its stride)."""

from __future__ import annotations

import keras
from keras import layers

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.fixes.model_edit import CONV_TYPES, fresh
from caedoctor.fixes.rewrite import clone


# Every layer CAE305 reads a kernel of (the reader's CONV, TRANSPOSE and POOL kinds, in 2-D): a named layer
# of any of these can be changed, so the rule's fix is never "no conv layer to change".
KERNEL_TYPES = CONV_TYPES + (layers.SeparableConv2D, layers.DepthwiseConv2D)
POOL_TYPES = (layers.MaxPooling2D, layers.AveragePooling2D)


def limit_kernels(model: keras.Model, max_kernel: int | None = None, layer_name: str | None = None,
                  kernel: int | None = None, kernels: dict | None = None) -> keras.Model:
    """Set kernel sizes: `kernels` {layer: size}, or `layer_name` to `kernel`, or cap all at `max_kernel`.

    A pooling layer named in `kernels` or `layer_name` gets the new pool size and keeps its strides (Keras'
    default strides are the pool size, which would change the output's shape)."""
    changed = []

    def swap(layer):
        if isinstance(layer, POOL_TYPES):
            size = int(kernels[layer.name]) if kernels and layer.name in kernels else (
                int(kernel) if not kernels and layer_name is not None and layer.name == layer_name else None)
            if size is not None:
                changed.append(layer.name)
                return fresh(layer, pool_size=(size, size), strides=tuple(layer.strides))
            return fresh(layer)
        if isinstance(layer, KERNEL_TYPES):
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
