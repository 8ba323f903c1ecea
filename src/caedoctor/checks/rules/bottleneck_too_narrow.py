"""CAE301: the bottleneck keeps far too few values to reconstruct the input."""

import math

from caedoctor.checks.bottleneck import bottleneck_of
from caedoctor.checks.rule import CONFIRM, Rule, num, size_text
from caedoctor.findings import Fix

# Below 1 latent value per 100 input values a CAE reconstructs little more than a blurred average of
# natural images (a rule of thumb: PCA on 32x32 patches needs ~3% of the components for 90% of the
# variance). The factor the fix proposes brings the ratio back to about 1/32.
MIN_RATIO = 0.01
TARGET_RATIO = 1 / 32


def run(ctx):
    b = bottleneck_of(ctx.analysis)
    ratio = b.ratio
    if not b.narrowable or ratio >= MIN_RATIO:
        return []
    factor = float(2 ** math.ceil(math.log2(TARGET_RATIO / ratio)))
    return [RULE.finding(
        f"the bottleneck {b.tensor} keeps {size_text(b.shape, b.size)} values "
        f"per image for {num(b.input_size)} input values (ratio 1:{num(round(1 / ratio))}): too few to "
        f"reconstruct much more than a blurred average, so the loss plateaus high; {CONFIRM} with a "
        f"bottleneck {num(factor)}x wider",
        {"bottleneck": b.tensor, "bottleneck_layer": b.layer, "latent_size": b.size,
         "input_size": b.input_size, "compression_ratio": ratio, "min_ratio": MIN_RATIO},
        Fix("bottleneck", {"factor": factor, "layers": [b.layer]}, f"widen {b.layer} {num(factor)}x"))]


RULE = Rule(
    code="CAE301", name="bottleneck-too-narrow", cause="bottleneck_too_narrow", severity="warning",
    summary=f"The bottleneck keeps fewer than 1 value per {num(round(1 / MIN_RATIO))} input values.",
    what="Finds the narrowest tensor between input and output (the bottleneck) and divides its number of "
         f"values by the input's. Fires below {num(MIN_RATIO)}.",
    why="Everything the decoder draws must pass through the bottleneck. With a few values for thousands of "
        "pixels the best reconstruction is a blurred average, and the loss stops falling at a level that "
        "looks like non-convergence. How narrow is too narrow depends on the data, so this is a warning that "
        "`caedoctor diagnose` tests with a wider bottleneck.",
    example="A CAE with `Dense(8)` between encoder and decoder on 32x32x3 patches: `the bottleneck dense keeps "
            "8 values per image for 3,072 input values (ratio 1:384): ...`.",
    fix="Widen the bottleneck layer (more filters or units). Fix-as-data: `bottleneck` with `factor` and "
        "`layers`.",
    run=run,
)
