"""CAE308: a Conv2DTranspose kernel not divisible by its stride (checkerboard artefacts)."""

from caedoctor.models.analysis import TRANSPOSE
from caedoctor.checks.rule import Rule, shape_text
from caedoctor.findings import Fix


def run(ctx):
    findings = []
    for info in ctx.analysis.layers:
        if info.kind not in TRANSPOSE or not info.kernel or not info.strides:
            continue
        if all(s == 1 or k % s == 0 for k, s in zip(info.kernel, info.strides)):
            continue
        s = max(info.strides)
        k = max(info.kernel)
        new = ((k + s - 1) // s) * s
        findings.append(RULE.finding(
            f"{info.name} ({info.kind}) has a {shape_text(info.kernel)} kernel with stride {shape_text(info.strides)}: "
            f"{k} is not divisible by {s}, so neighbouring output pixels receive unequal numbers of "
            "contributions and the output carries a checkerboard pattern the loss must fight",
            {"layer": info.name, "kernel": list(info.kernel), "strides": list(info.strides)},
            Fix("transpose_kernel", {"layer": info.name, "kernel": new},
                f"use a {new}x{new} kernel in {info.name} (or UpSampling2D followed by a Conv2D)")))
    return findings


RULE = Rule(
    code="CAE308", name="transpose-kernel-stride", cause="checkerboard_artifacts", severity="warning",
    summary="Conv2DTranspose kernel size not divisible by its stride (checkerboard artefacts).",
    what="For every transposed convolution with a stride above 1, checks that the kernel size is a multiple "
         "of the stride on each axis.",
    why="With kernel 3 and stride 2 the kernel windows overlap unevenly: every other output pixel gets two "
        "contributions and the rest one, printing a checkerboard onto every reconstruction (Odena, Dumoulin "
        "and Olah, 'Deconvolution and Checkerboard Artifacts', Distill 2016). The loss keeps a floor the "
        "network has to learn around.",
    example="`Conv2DTranspose(32, 3, strides=2, padding='same')`: `conv2d_transpose (Conv2DTranspose) has a "
            "3x3 kernel with stride 2x2: 3 is not divisible by 2, ...`.",
    fix="Use a kernel divisible by the stride (4 with stride 2), or UpSampling2D followed by a Conv2D. "
        "Fix-as-data: `transpose_kernel` with `layer` and `kernel`.",
    run=run,
)
