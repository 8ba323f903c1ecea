"""CAE306: a strided layer skips input pixels, so they never reach the bottleneck."""

from caedoctor.checks.rule import Rule, num
from caedoctor.findings import Fix


def _kernel_for(kernel: int, stride: int) -> int:
    """The smallest kernel >= `kernel` that is a multiple of `stride` (so windows touch, with no gap)."""
    return max(kernel + (stride - kernel % stride) % stride if kernel < stride else kernel, stride)


def run(ctx):
    a = ctx.analysis
    first, layers = None, {}
    for info in a.layers:
        if info.half != "encoder" or not info.kernel or not info.strides:
            continue
        stride, kernel = max(info.strides), max(info.kernel)
        if kernel < stride and info.kind not in ("MaxPooling2D", "AveragePooling2D"):
            layers[info.name] = _kernel_for(kernel, stride)  # every strided layer that skips pixels
        if first is None and info.receptive_field and info.jump and info.receptive_field < info.jump:
            first = info
    if first is None:
        return []
    info = first
    unseen = 1 - (info.receptive_field / info.jump) ** 2
    stride = max(info.strides) if info.strides else 1
    kernel = max(info.kernel) if info.kernel else 1
    layers = layers or {info.name: _kernel_for(kernel, stride)}
    params = {"layer": info.name, "kernel": _kernel_for(kernel, stride)}
    if set(layers) != {info.name}:
        params["layers"] = layers
    others = f" (and {len(layers) - 1} more strided layer(s) with a kernel smaller than the stride)" \
        if len(layers) > 1 else ""
    return [RULE.finding(
        f"{info.name} ({info.kind}, kernel {kernel}, stride {stride}) places its outputs {num(info.jump)} input "
        f"pixels apart but each sees only {num(info.receptive_field)}: about {unseen:.0%} of the input "
        f"pixels never reach the bottleneck and cannot be reconstructed{others}",
        {"layer": info.name, "receptive_field": info.receptive_field, "jump": info.jump,
         "unseen_fraction": unseen, "layers_to_widen": layers},
        Fix("kernel_size", params, f"use a kernel at least as large as the stride in {', '.join(layers)}"))]


RULE = Rule(
    code="CAE306", name="receptive-field-gaps", cause="receptive_field_too_small", severity="warning",
    summary="A strided layer's kernel is smaller than its stride: some input pixels are never seen.",
    what="Tracks each encoder layer's receptive field r and jump j (input pixels between neighbouring "
         "outputs). Where r < j, the windows of neighbouring outputs do not touch and the pixels between "
         "them are never seen.",
    why="Pixels the encoder never reads cannot be reconstructed except by guessing from neighbours, so the "
        "loss floors above zero on every image. A 1x1 convolution with stride 2 on the input discards 3 of "
        "every 4 pixels.",
    example="`Conv2D(32, 1, strides=2)` as the first layer: `conv2d (Conv2D, kernel 1, stride 2) places its "
            "outputs 2 input pixels apart but each sees only 1: about 75% of the input pixels never reach "
            "the bottleneck ...`.",
    fix="Make every strided kernel at least as large as its stride (3x3 with stride 2). Fix-as-data: "
        "`kernel_size` with `layer` and `kernel` (and `layers`: {name: kernel} for every strided "
        "layer whose kernel is smaller than its stride).",
    run=run,
)
