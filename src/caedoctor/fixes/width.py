"""Width fixes: a wider bottleneck (`bottleneck`) and more filters in one half (`capacity`)."""

from __future__ import annotations

import math

import keras
from keras import layers

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.fixes.model_edit import CONV_TYPES, fresh, has_layer
from caedoctor.fixes.rewrite import clone
from caedoctor.fixes.reader import analysis_of, bottleneck_of


def scale_filters(model: keras.Model, names, factor: float) -> keras.Model:
    """Multiply the width of the named layers by `factor` (at least 1): filters of conv layers, units of
    Dense layers (a dense bottleneck). The layers after them are rebuilt for the new width."""
    names = set(names)
    changed = []

    def swap(layer):
        if layer.name in names and isinstance(layer, CONV_TYPES):
            changed.append(layer.name)
            return fresh(layer, filters=max(1, int(round(layer.filters * factor))))
        if layer.name in names and isinstance(layer, layers.Dense):
            changed.append(layer.name)
            return fresh(layer, units=max(1, int(round(layer.units * factor))))
        return fresh(layer)

    rewritten = clone(model, clone_function=swap)
    if not changed:
        raise NotApplicable(f"none of the layers {sorted(names)} is a conv or dense layer")
    return rewritten


def deepen_decoder(model: keras.Model, encoder_filters: list, upsampling: list) -> keras.Model:
    """Give a decoder without hidden layers the mirror of the encoder: each named UpSampling2D of size 2^k
    becomes k steps of Conv2D(3x3) + LeakyReLU(0.1) + UpSampling2D(2), with the encoder's filters in
    reverse order (the widest first, at the smallest map)."""
    names = set(upsampling)
    filters = list(reversed(encoder_filters)) or [32]
    used = []

    def swap(layer):
        if layer.name in names and isinstance(layer, layers.UpSampling2D):
            size = tuple(layer.size)
            steps = max(1, int(round(math.log2(max(size)))))
            if size[0] != size[1] or 2 ** steps != size[0]:
                return fresh(layer)
            parts = []
            for i in range(steps):
                f = filters[min(len(used), len(filters) - 1)]
                used.append(f)
                parts += [layers.Conv2D(f, 3, padding="same", name=f"{layer.name}_fix_conv{i + 1}"),
                          layers.LeakyReLU(negative_slope=0.1, name=f"{layer.name}_fix_leaky{i + 1}"),
                          layers.UpSampling2D(2, name=f"{layer.name}_fix_up{i + 1}")]
            return keras.Sequential(parts, name=f"{layer.name}_fix_decoder")
        return fresh(layer)

    rewritten = clone(model, clone_function=swap)
    if not used:
        raise NotApplicable("the decoder has no square power-of-two UpSampling2D to expand")
    return rewritten


def _layers_for(kind: str, params: dict, analysis) -> list:
    if analysis is None:
        raise NotApplicable(f"a {kind} fix needs the model analysis to find its layers")
    if kind == "bottleneck":
        b = bottleneck_of(analysis)  # the bottleneck the rules and the symptom findings judged
        if b.layer is None:
            raise NotApplicable(b.why_not or "no learned layer sets the bottleneck's width")
        if float(params.get("factor", 2.0)) > 1 and not b.narrowable:
            raise NotApplicable(b.why_not)  # widening a code that does not compress tests nothing
        return [b.layer]
    half = params.get("half", "decoder")
    names = getattr(analysis, f"{half}_conv_layers", None)
    if not names:
        raise NotApplicable(f"no conv layers found in the {half}")
    return list(names)


def _bottleneck(setup, fix, context):
    p = fix.params
    names = p.get("layers") or _layers_for("bottleneck", p, analysis_of(setup, context))
    return setup.replace(model=scale_filters(setup.model, names, float(p.get("factor", 2.0))))


def _capacity(setup, fix, context):
    p = fix.params
    model = setup.model
    if p.get("half", "decoder") == "decoder" and not p.get("layers"):
        analysis = analysis_of(setup, context)
        if not analysis.decoder_conv_layers:
            encoder = [i for i in analysis.layers if i.half == "encoder" and i.kind in ("Conv2D", "Conv2DTranspose")]
            ups = [i.name for i in analysis.layers if i.half == "decoder" and i.kind == "UpSampling2D"]
            filters = [int(model.get_layer(i.name).filters) for i in encoder if has_layer(model, i.name)]
            return setup.replace(model=deepen_decoder(model, filters, ups))
    names = p.get("layers") or _layers_for("capacity", p, analysis_of(setup, context))
    return setup.replace(model=scale_filters(model, names, float(p.get("factor", 2.0))))


BOTTLENECK = FixKind("bottleneck", "factor (float; multiply the bottleneck width) or layers (names)", stage=35,
                     apply=_bottleneck)
CAPACITY = FixKind("capacity", "half (encoder|decoder), factor (float; multiply its filters); a decoder without "
                   "hidden layers gets the encoder's mirror", stage=36, apply=_capacity)
