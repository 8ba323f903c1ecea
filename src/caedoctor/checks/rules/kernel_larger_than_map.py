"""CAE305: a kernel larger than the feature map it slides over."""

from caedoctor.models.analysis import CONV, POOL, TRANSPOSE
from caedoctor.checks.rule import Rule, shape_text
from caedoctor.findings import Fix


def run(ctx):
    a = ctx.analysis
    by_name = {i.name: i for i in a.layers}
    findings = []
    for info in a.layers:
        if info.kind not in CONV | TRANSPOSE | POOL or not info.kernel or not info.parents:
            continue
        parent = by_name.get(info.parents[0])
        if parent is None or parent.spatial is None:
            continue
        d = max(info.dilation) if info.dilation else 1
        k = tuple(d * (kk - 1) + 1 for kk in info.kernel)
        h, w = parent.spatial
        if k[0] <= h and k[1] <= w:
            continue
        new = max(1, min(h, w) if min(h, w) % 2 else min(h, w) - 1)
        findings.append(RULE.finding(
            f"{info.name} ({info.kind}) slides a {shape_text(k)} kernel over a {shape_text((h, w))} map: with "
            f"padding='{info.padding}' most of its weights only ever see padding, so they add parameters "
            "without adding what the layer can see",
            {"layer": info.name, "kernel": list(k), "map": [h, w], "padding": info.padding},
            Fix("kernel_size", {"layer": info.name, "kernel": new}, f"use a {new}x{new} kernel in {info.name}")))
    return findings


RULE = Rule(
    code="CAE305", name="kernel-larger-than-map", cause="kernel_too_large", severity="info",
    summary="A convolution or pooling kernel is larger than the feature map it sees.",
    what="For every convolution, transposed convolution and pooling layer, compares its (dilated) kernel "
         "with the height and width of its input map.",
    why="A 7x7 kernel on a 4x4 map multiplies mostly zero padding: those weights receive no useful gradient, "
        "and the layer behaves like a smaller kernel with extra noise in its initialisation. It rarely stops "
        "convergence by itself, so this is information.",
    example="A 5x5 Conv2D on a 4x4 bottleneck map: `conv2d_3 (Conv2D) slides a 5x5 kernel over a 4x4 map: "
            "...`.",
    fix="Use a kernel no larger than the map (3x3 or 1x1 deep in the encoder). Fix-as-data: `kernel_size` "
        "with `layer` and `kernel`.",
    run=run,
)
