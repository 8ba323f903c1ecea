"""CAE207: the model's output shape differs from the target shape; names the layer where it goes wrong."""

import math

from caedoctor.models.analysis import CONV, POOL, TRANSPOSE
from caedoctor.checks.rule import Rule, shape_text
from caedoctor.findings import Fix


def _input_fits(ctx) -> bool:
    """CAE208 reports data that does not fit the model's input; do not report it twice."""
    shape = ctx.data_input_shape
    return shape is None or tuple(shape) == tuple(ctx.analysis.input_shape)


def _downsampling(a) -> int:
    """Total downsampling factor of the encoder: the jump at the bottleneck."""
    jumps = [i.jump for i in a.layers if i.half == "encoder" and i.jump]
    return max(1, int(round(max(jumps)))) if jumps else 1


def _culprit(a):
    """The first layer whose map size is not the input size divided by the layer's total stride."""
    h, w = a.input_shape[:2]
    by_name = {i.name: i for i in a.layers}
    for info in a.layers[1:]:
        if info.spatial is None or not info.jump:
            continue
        ih, iw = info.spatial
        if abs(ih * info.jump - h) > 1e-6 or abs(iw * info.jump - w) > 1e-6:
            parent = by_name.get(info.parents[0]) if info.parents else None
            return info, parent
    return None, None


def _explain(info, parent) -> str:
    before = shape_text(parent.spatial) if parent is not None and parent.spatial else "?"
    after = shape_text(info.spatial)
    s = max(info.strides) if info.strides else 1
    if (info.kind in POOL or info.kind in CONV) and s > 1 and parent is not None and parent.spatial:
        if any(side % s for side in parent.spatial):
            rounding = "up" if info.padding == "same" else "down"
            return (f"it {'pools' if info.kind in POOL else 'strides'} a {before} map by {s} with "
                    f"padding='{info.padding}'; {before} is not divisible by {s}, so it rounds {rounding} "
                    f"to {after}")
    if info.padding == "valid" and info.kernel and max(info.kernel) > 1:
        verb = "grows" if info.kind in TRANSPOSE else "shrinks"
        return f"its padding='valid' {verb} the map from {before} to {after}"
    return f"it turns a {before} map into {after}"


def _missing_upsampling(out, target):
    """[fh, fw] when the output's height and width are the target's divided by whole factors (not both 1)
    and the channels agree: the decoder lacks an upsampling; else None."""
    if len(out) != 3 or len(target) != 3 or out[2] != target[2] or not all(out[:2]):
        return None
    if any(t % o for o, t in zip(out[:2], target[:2])):
        return None
    k = [int(t // o) for o, t in zip(out[:2], target[:2])]
    return k if max(k) > 1 else None


def _uncropped(out, info, parent):
    """The output's height and width without the Cropping2D `info` (what it cuts off added back), or None."""
    if parent is None or not parent.spatial or not info.spatial:
        return None
    return tuple(int(o + p - c) for o, p, c in zip(out[:2], parent.spatial, info.spatial))


def _message_and_fix(ctx, out, target):
    a = ctx.analysis
    head = f"output {shape_text(out)} differs from target {shape_text(target)}"
    if len(out) == len(target) and out[:-1] == target[:-1]:
        last = a.output_weighted_layer
        name = last.name if last else a.output_name
        what = "channel(s)" if len(out) > 1 else "values"
        return (f"{head}: the last layer {name} makes {out[-1]} {what} but the target has {target[-1]}; "
                f"set its {'filters' if len(out) > 1 else 'units'} to {target[-1]}",
                {"layer": name},
                Fix("crop_or_pad_output", {"output_shape": list(out), "target_shape": list(target)},
                    f"set the filters of {name} to {target[-1]}"))
    info, parent = _culprit(a)
    factor = _downsampling(a)
    h, w = a.input_shape[:2]
    pad_to = [math.ceil(h / factor) * factor, math.ceil(w / factor) * factor]
    crop = f"crop the output to {shape_text(target[:2])}"
    if info is None:
        k = _missing_upsampling(out, target)
        if k is not None:
            up = f"UpSampling2D({k[0] if k[0] == k[1] else tuple(k)})"
            return (f"{head}: the decoder enlarges the maps {k[0]}x less than the encoder shrinks them (one "
                    f"upsampling too few). Add an {up} before the last conv layer",
                    {"missing_upsampling": k},
                    Fix("upsample_output", {"factor": k}, f"add the missing {up} before the last conv layer"))
        return (f"{head}; pad or crop the output to the target's size", {},
                Fix("crop_or_pad_output", {"output_shape": list(out), "target_shape": list(target)}, crop))
    why = _explain(info, parent)
    evidence = {"layer": info.name, "layer_kind": info.kind, "layer_output": list(info.output_shape),
                "downsampling": factor}
    if info.kind == "Cropping2D" and _uncropped(out, info, parent) == tuple(target[:2]):
        return (f"{head}. It goes wrong at {info.name} (Cropping2D): {why}. Remove it (or pad the output "
                "back, whose border then never learns)",
                evidence,
                Fix("remove_cropping", {"layer": info.name}, f"remove the Cropping2D layer {info.name}"))
    if "rounds" in why:
        evidence["pad_to"] = pad_to
        return (f"{head}. It goes wrong at {info.name} ({info.kind}): {why}, and the decoder scales that back to "
                f"{shape_text(out[:2])}. Pad the inputs to {shape_text(pad_to)} (divisible by {factor}, the total "
                f"downsampling) or {crop}",
                evidence,
                Fix("input_padding", {"pad_to": pad_to},
                    f"pad the inputs to {shape_text(pad_to)} so every pooling divides evenly ({crop} instead "
                    "also works)"))
    return (f"{head}. It goes wrong at {info.name} ({info.kind}): {why}. Use padding='same' there, or {crop}",
            evidence,
            Fix("crop_or_pad_output", {"output_shape": list(out), "target_shape": list(target)},
                f"use padding='same' in {info.name}, or {crop}"))


def run(ctx):
    a = ctx.analysis
    if not _input_fits(ctx):
        return []
    target = tuple(ctx.target_shape)
    if a.n_inputs != 1 or a.n_outputs != 1:
        return [RULE.finding(
            f"the model has {a.n_inputs} input(s) and {a.n_outputs} output(s); a CAE maps one image to one "
            "reconstruction", {"n_inputs": a.n_inputs, "n_outputs": a.n_outputs}, None)]
    if a.shape_error_layer:
        info = a.layer(a.shape_error_layer)
        factor = _downsampling(a)
        h, w = a.input_shape[:2]
        pad_to = [math.ceil(h / factor) * factor, math.ceil(w / factor) * factor]
        return [RULE.finding(
            f"layer {info.name} ({info.kind}) {info.shape_error}: the model cannot run on "
            f"{shape_text(a.input_shape)} inputs. Pad the inputs to {shape_text(pad_to)} (divisible by "
            f"{factor}, the total downsampling) so encoder and decoder maps line up",
            {"layer": info.name, "layer_kind": info.kind, "error": info.shape_error, "downsampling": factor,
             "pad_to": pad_to},
            Fix("input_padding", {"pad_to": pad_to}, f"pad the inputs to {shape_text(pad_to)}"))]
    out = tuple(a.output_shape) if a.output_shape is not None else None
    if out is None or out == target:
        return []
    message, evidence, fix = _message_and_fix(ctx, out, target)
    return [RULE.finding(message, {"output_shape": list(out), "target_shape": list(target), **evidence}, fix)]


RULE = Rule(
    code="CAE207", name="output-shape-mismatch", cause="shape_mismatch", severity="error",
    summary="The output shape differs from the target shape; names the layer where it goes wrong.",
    what="Derives every layer's output shape for the data's input shape and compares the model's output "
         "with the target (without data: with the model's input). When they differ, it finds the first "
         "layer whose map is not the input size divided by its total stride (a pooling that rounds an odd "
         "size, a padding='valid' convolution), or the layer whose inputs cannot be combined (a skip "
         "connection joining 7x7 and 8x8 maps), and proposes a concrete fix.",
    why="A CAE whose output has a different shape from its target cannot be trained at all: Keras fails at "
        "the first batch, or broadcasting silently compares the wrong pixels.",
    example="The classic 28x28 MNIST CAE with three 2x2 poolings (padding='same') and three upsamplings: "
            "`output 32x32x1 differs from target 28x28x1. It goes wrong at max_pooling2d_2 (MaxPooling2D): "
            "it pools a 7x7 map by 2 with padding='same'; 7x7 is not divisible by 2, so it rounds up to 4x4, "
            "... Pad the inputs to 32x32 (divisible by 8, the total downsampling) or crop the output to 28x28`.",
    fix="Pad the inputs to a multiple of the total downsampling (`ZeroPadding2D`), crop the output "
        "(`Cropping2D`), or use padding='same' with sizes that divide; add the upsampling a decoder lacks (an "
        "output at 1/2 of the target); remove a Cropping2D that shrinks the output. Fix-as-data: "
        "`input_padding` with `pad_to`, `upsample_output` with `factor`, `remove_cropping` with `layer`, or "
        "`crop_or_pad_output` with `output_shape` and `target_shape` (the fallback: a zero-padded border "
        "never learns).",
    run=run,
)
