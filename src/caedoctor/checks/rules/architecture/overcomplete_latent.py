"""CAE302: the latent is at least as large as the input, so the model can learn to copy."""

from caedoctor.checks.bottleneck import bottleneck_of
from caedoctor.checks.rule import Rule, num, size_text
from caedoctor.findings import Fix


def run(ctx):
    b = bottleneck_of(ctx.analysis)
    ratio = b.ratio
    if ratio is None or b.compresses:
        return []
    return [RULE.finding(
        f"the bottleneck {b.tensor} holds {size_text(b.shape, b.size)} values per "
        f"image, {num(ratio)}x the input's {num(b.input_size)}: the model can learn a near-identity map. That "
        "makes the loss easy to lower, so it is no cause of non-convergence; it matters only if you want a "
        "compact code",
        {"bottleneck": b.tensor, "bottleneck_layer": b.layer, "latent_size": b.size, "input_size": b.input_size,
         "compression_ratio": ratio},
        Fix("bottleneck", {"factor": round(0.25 / ratio, 4), "layers": [b.layer] if b.layer else []},
            f"narrow {b.layer or b.tensor} to about a quarter of the input's size, if you "
            "need a compressed code"))]


RULE = Rule(
    code="CAE302", name="overcomplete-latent", cause="bottleneck_bypass", severity="info",
    summary="The bottleneck holds at least as many values as the input (no compression).",
    what="Compares the number of values in the bottleneck tensor with the input's; fires at a ratio of 1 or "
         "more.",
    why="An overcomplete latent lets the network approximate the identity, so the reconstruction loss falls "
        "quickly but the code is not a compression (and denoising or anomaly scores built on it are weak). It "
        "helps convergence rather than hindering it, hence information only.",
    example="The field notes' CAEs on 32x32x3: `the bottleneck enc_pool2 holds 8x8x64 = 4,096 values per "
            "image, 1.333x the input's 3,072: ...`.",
    fix="If you need a compact code, reduce the bottleneck's channels. Fix-as-data: `bottleneck` with a "
        "`factor` below 1.",
    run=run,
)
