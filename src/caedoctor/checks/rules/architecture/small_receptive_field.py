"""CAE307: the bottleneck sees only small patches of the input."""

from caedoctor.checks.rule import CONFIRM, Rule, num
from caedoctor.findings import Fix

# A bottleneck position that sees less than this share of the input's side codes local texture only.
MIN_FRACTION = 0.25


def run(ctx):
    a = ctx.analysis
    if not a.bottleneck or len(a.input_shape) != 3:
        return []
    info = a.layer(a.bottleneck)
    side = min(a.input_shape[:2])
    if not info.receptive_field or info.receptive_field >= MIN_FRACTION * side:
        return []
    fraction = info.receptive_field / side
    return [RULE.finding(
        f"each bottleneck position ({a.bottleneck}) sees {num(info.receptive_field)}x{num(info.receptive_field)} "
        f"input pixels, {fraction:.0%} of the {side}-pixel side: the code describes local patches only, and "
        f"structure larger than that is rebuilt from independent local codes; {CONFIRM}",
        {"bottleneck": a.bottleneck, "receptive_field": info.receptive_field, "input_side": side,
         "fraction": fraction, "min_fraction": MIN_FRACTION},
        Fix("receptive_field", {"extra_pooling": 1}, "add a pooling stage (or dilation) to the encoder"))]


RULE = Rule(
    code="CAE307", name="small-receptive-field", cause="receptive_field_too_small", severity="info",
    summary=f"The bottleneck's receptive field covers less than {MIN_FRACTION:.0%} of the input's side.",
    what="Computes the receptive field of the bottleneck tensor (r' = r + (k_eff - 1) j, j' = j s through every "
         f"layer) and compares it with the input's smaller side. Fires below {MIN_FRACTION:.0%}.",
    why="A code that only sees small patches cannot capture larger structure; reconstructions may show seams "
        "or lose shapes. For many reconstruction tasks local codes are enough, so this is information.",
    example="The field notes' two-pooling CAE on 64x64 images: `each bottleneck position (enc_pool2) sees 10x10 "
            "input pixels, 16% of the 64-pixel side: ...`.",
    fix="Add a pooling stage or dilated convolutions. Fix-as-data: `receptive_field` with `extra_pooling` or "
        "`dilation`.",
    run=run,
)
