"""Shape fixes: add the upsampling the decoder lacks (`upsample_output`), remove the Cropping2D that shrinks
the output (`remove_cropping`), crop or pad the output to the target (`crop_or_pad_output`, the fallback: a
zero-padded border never learns), pad the input so every pooling divides (`input_padding`)."""

from __future__ import annotations

import keras
from keras import layers

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.fixes.model_edit import CONV_TYPES, fresh, output_layer, require_graph
from caedoctor.fixes.rewrite import clone


def _last_weighted(model: keras.Model):
    """The conv or dense layer nearest the output (through activation and other element-wise layers)."""
    layer = output_layer(model)
    seen = set()
    while layer is not None and layer.name not in seen:
        seen.add(layer.name)
        if isinstance(layer, CONV_TYPES + (layers.Dense,)):
            return layer
        node = layer._inbound_nodes[0] if getattr(layer, "_inbound_nodes", None) else None
        inputs = node.input_tensors if node is not None else []
        if len(inputs) != 1:
            return None
        layer = inputs[0]._keras_history[0]
    return None


def set_output_channels(model: keras.Model, channels: int) -> keras.Model:
    """Give the conv layer nearest the output `channels` filters (an RGB target needs 3, grey 1)."""
    last = _last_weighted(model)
    if last is None or not isinstance(last, CONV_TYPES):
        raise NotApplicable("no conv layer before the output whose filters set the output channels")

    def swap(layer):
        return fresh(layer, filters=int(channels)) if layer.name == last.name else fresh(layer)

    return clone(model, clone_function=swap)


def crop_or_pad_output(model: keras.Model, target_shape) -> keras.Model:
    """Make the output's shape the target's: the last conv's filters for the channels, then Cropping2D /
    ZeroPadding2D for the height and width."""
    rewritten = clone(model, clone_function=fresh)
    out_h, out_w = rewritten.output_shape[1:3]
    tgt_h, tgt_w = int(target_shape[0]), int(target_shape[1])
    channels_fixed = False
    if rewritten.output_shape[3] != int(target_shape[2]):
        rewritten = set_output_channels(model, int(target_shape[2]))
        channels_fixed = True
        if (out_h, out_w) == (tgt_h, tgt_w):
            return rewritten
    x = rewritten.outputs[0]
    dh, dw = out_h - tgt_h, out_w - tgt_w
    crop = ((max(dh, 0) // 2, max(dh, 0) - max(dh, 0) // 2), (max(dw, 0) // 2, max(dw, 0) - max(dw, 0) // 2))
    pad = ((max(-dh, 0) // 2, max(-dh, 0) - max(-dh, 0) // 2), (max(-dw, 0) // 2, max(-dw, 0) - max(-dw, 0) // 2))
    if dh > 0 or dw > 0:
        x = layers.Cropping2D(crop, name="fix_crop")(x)
    if dh < 0 or dw < 0:
        x = layers.ZeroPadding2D(pad, name="fix_pad")(x)
    if dh == 0 and dw == 0 and not channels_fixed:
        raise NotApplicable("the output already has the target's height and width")
    return keras.Model(rewritten.inputs, x, name=model.name)


def upsample_output(model: keras.Model, factor) -> keras.Model:
    """Add the upsampling the decoder lacks: `UpSampling2D(factor)` before the conv layer nearest the output,
    so that conv still smooths the full-size map (an output at 1/2 of the target: one upsampling too few)."""
    last = _last_weighted(model)
    if last is None or not isinstance(last, CONV_TYPES):
        raise NotApplicable("no conv layer before the output to upsample into")
    size = tuple(int(v) for v in factor)
    if min(size) < 1 or size == (1, 1):
        raise NotApplicable(f"upsampling factor {size} does not enlarge the output")

    def call(layer, *args, **kwargs):
        if layer.name == last.name:
            args = (layers.UpSampling2D(size, name="fix_upsample")(args[0]),) + tuple(args[1:])
        return layer(*args, **kwargs)

    return clone(model, clone_function=fresh, call_function=call)


def remove_cropping(model: keras.Model, name: str) -> keras.Model:
    """The model without its Cropping2D layer `name` (its input passes straight on)."""
    try:
        layer = model.get_layer(name)
    except ValueError:
        raise NotApplicable(f"no layer named {name!r}") from None
    if not isinstance(layer, layers.Cropping2D):
        raise NotApplicable(f"{name} is a {type(layer).__name__}, not a Cropping2D layer")

    def call(layer, *args, **kwargs):
        return args[0] if layer.name == name else layer(*args, **kwargs)

    return clone(model, clone_function=fresh, call_function=call)


def pad_input(model: keras.Model, pad_to) -> keras.Model:
    """Zero-pad the input to `pad_to` (H, W), run the model's layers at that size, crop back to the input size.

    The layers are re-called on the padded input through `clone_model(input_tensors=...)`, so every pooling
    divides evenly and the output comes back at the original size: raw images in, same-size images out.
    """
    require_graph(model)
    h, w, c = (int(v) for v in model.input_shape[1:])
    ph, pw = (int(v) for v in pad_to)
    if ph < h or pw < w:
        raise NotApplicable(f"cannot pad a {h}x{w} input down to {ph}x{pw}")
    pad = ((( ph - h) // 2, ph - h - (ph - h) // 2), ((pw - w) // 2, pw - w - (pw - w) // 2))
    inputs = keras.Input(shape=(h, w, c), name="image")
    padded = layers.ZeroPadding2D(pad, name="fix_pad_input")(inputs)
    try:
        body = keras.models.clone_model(model, input_tensors=keras.Input(shape=(ph, pw, c)),
                                        clone_function=fresh)
    except Exception as exc:  # layers with fixed sizes (Dense on a flattened map) cannot change size
        raise NotApplicable(f"the model cannot run at {ph}x{pw} ({type(exc).__name__}: {exc})") from None
    out = body(padded)
    oh, ow = out.shape[1], out.shape[2]
    if (oh, ow) != (ph, pw):
        raise NotApplicable(f"at {ph}x{pw} the model outputs {oh}x{ow}; padding does not make it an autoencoder")
    out = layers.Cropping2D(pad, name="fix_crop_output")(out)
    return keras.Model(inputs, out, name=model.name)


def _crop_or_pad(setup, fix, context):
    return setup.replace(model=crop_or_pad_output(setup.model, fix.params["target_shape"]))


def _upsample(setup, fix, context):
    return setup.replace(model=upsample_output(setup.model, fix.params["factor"]))


def _remove_cropping(setup, fix, context):
    return setup.replace(model=remove_cropping(setup.model, fix.params["layer"]))


def _pad_input(setup, fix, context):
    return setup.replace(model=pad_input(setup.model, fix.params["pad_to"]))


def _input_shape(setup, fix, context):
    raise NotApplicable("the data and the model's input disagree; resize or convert the data, or rebuild the "
                        "model's Input for it (a change only you can choose)")


UPSAMPLE_OUTPUT = FixKind("upsample_output", "factor [fh, fw] (UpSampling2D before the last conv)", stage=18,
                          apply=_upsample)
REMOVE_CROPPING = FixKind("remove_cropping", "layer (the Cropping2D layer that shrinks the output)", stage=19,
                          apply=_remove_cropping)
CROP_OR_PAD_OUTPUT = FixKind("crop_or_pad_output", "output_shape [H, W, C], target_shape [H, W, C]", stage=20,
                             apply=_crop_or_pad)
INPUT_PADDING = FixKind("input_padding", "pad_to [H, W] (pad inputs so every pooling divides)", stage=21,
                        apply=_pad_input)
INPUT_SHAPE = FixKind("input_shape", "data_shape [H, W, C], model_shape [H, W, C] (resize/convert the data or "
                      "rebuild the Input)", stage=22, apply=_input_shape, automatic=False)
