"""CAE306: a strided layer skips input pixels, so they never reach the bottleneck."""

from caedoctor.checks.rule import Rule, num
from caedoctor.findings import Fix


def run(ctx):
    a = ctx.analysis
    for info in a.layers:
        if info.half != "encoder" or not info.receptive_field or not info.jump:
            continue
        if info.receptive_field >= info.jump:
            continue
        unseen = 1 - (info.receptive_field / info.jump) ** 2
        stride = max(info.strides) if info.strides else 1
        kernel = max(info.kernel) if info.kernel else 1
        new = kernel + (stride - kernel % stride) % stride if kernel < stride else kernel
        return [RULE.finding(
            f"{info.name} ({info.kind}, kernel {kernel}, stride {stride}) places its outputs {num(info.jump)} input "
            f"pixels apart but each sees only {num(info.receptive_field)}: about {unseen:.0%} of the input "
            "pixels never reach the bottleneck and cannot be reconstructed",
            {"layer": info.name, "receptive_field": info.receptive_field, "jump": info.jump,
             "unseen_fraction": unseen},
            Fix("kernel_size", {"layer": info.name, "kernel": max(new, stride)},
                f"use a kernel of at least {stride} in {info.name}"))]
    return []


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
        "`kernel_size` with `layer` and `kernel`.",
    run=run,
)
