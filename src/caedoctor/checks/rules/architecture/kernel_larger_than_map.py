"""CAE305: a kernel larger than the feature map it slides over."""

from caedoctor.models.analysis import CONV, POOL, TRANSPOSE
from caedoctor.checks.rule import Rule, shape_text
from caedoctor.findings import Fix


def oversized(a) -> list:
    """(layer info, dilated kernel, (h, w) of its input map, the kernel to use) of every conv, transposed conv
    and pooling layer whose kernel is larger than its input map."""
    by_name = {i.name: i for i in a.layers}
    out = []
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
        out.append((info, k, (h, w), max(1, min(h, w) if min(h, w) % 2 else min(h, w) - 1)))
    return out


def run(ctx):
    found = oversized(ctx.analysis)
    if not found:
        return []
    # One finding, one fix for all of them: they are one cause, tested by one probe (a probe per layer spent
    # a diagnosis' budget on a model with four of them).
    parts = [f"{info.name} ({info.kind}) slides a {shape_text(k)} kernel over a {shape_text(hw)} map"
             for info, k, hw, _ in found]
    first, *_ = found
    info, k, hw, _ = first
    new = {i.name: n for i, _, _, n in found}
    layers_text = ", ".join(f"{name} {n}x{n}" for name, n in new.items())
    return [RULE.finding(
        f"{'; '.join(parts[:4])}{' ...' if len(parts) > 4 else ''}: with padding='{info.padding}' most of the "
        "weights of such a kernel only ever see padding, so they add parameters without adding what the layer "
        "can see",
        {"layer": info.name, "kernel": list(k), "map": list(hw), "padding": info.padding,
         "layers": {i.name: {"kernel": list(kk), "map": list(m)} for i, kk, m, _ in found}},
        Fix("kernel_size", {"layers": new}, f"use kernels no larger than their maps ({layers_text})"))]


RULE = Rule(
    code="CAE305", name="kernel-larger-than-map", cause="kernel_too_large", severity="info",
    summary="A convolution or pooling kernel is larger than the feature map it sees.",
    what="For every convolution, transposed convolution and pooling layer, compares its (dilated) kernel "
         "with the height and width of its input map; one finding names every such layer.",
    why="A 7x7 kernel on a 4x4 map multiplies mostly zero padding: those weights receive no useful gradient, "
        "and the layer behaves like a smaller kernel with extra noise in its initialisation. It rarely stops "
        "convergence by itself, so this is information.",
    example="A 5x5 Conv2D on a 4x4 bottleneck map: `conv2d_3 (Conv2D) slides a 5x5 kernel over a 4x4 map: "
            "...`.",
    fix="Use a kernel no larger than the map (3x3 or 1x1 deep in the encoder). Fix-as-data: `kernel_size` "
        "with `layers` {layer: kernel} (all of them in one probe).",
    run=run,
)
