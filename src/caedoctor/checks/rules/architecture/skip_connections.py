"""CAE303: encoder tensors reach the decoder around the bottleneck (U-Net style skips)."""

from caedoctor.checks.rule import Rule, num, shape_text
from caedoctor.findings import Fix


def run(ctx):
    a = ctx.analysis
    if not a.skip_connections:
        return []
    shown = []
    for src, dst in a.skip_connections[:4]:
        spatial = a.layer(src).spatial
        shown.append(f"{src} -> {dst}" + (f" at {shape_text(spatial)}" if spatial else ""))
    merges = sorted({dst for _, dst in a.skip_connections})
    return [RULE.finding(
        f"{num(len(a.skip_connections))} skip connection(s) carry encoder tensors straight into the decoder "
        f"({'; '.join(shown)}): the decoder can copy the input around the bottleneck {a.bottleneck}, so the "
        "loss says little about what the code has learned. Intended for denoising or segmentation; a "
        "bypass for a compressing autoencoder",
        {"skip_connections": [list(pair) for pair in a.skip_connections], "bottleneck": a.bottleneck},
        Fix("remove_skip", {"layers": merges}, f"bypass the merge layer(s) {', '.join(merges)}"))]


RULE = Rule(
    code="CAE303", name="skip-connections", cause="bottleneck_bypass", severity="info",
    summary="Skip connections from encoder to decoder let the model bypass the bottleneck.",
    what="Lists the edges from an encoder layer (other than the bottleneck itself) into a decoder layer, "
         "e.g. the Concatenate or Add of a U-Net.",
    why="Skips at full resolution let the decoder reproduce the input without using the bottleneck, so the "
        "reconstruction loss converges while the latent code stays uninformative. That is right for a U-Net "
        "denoiser and wrong for a compressing autoencoder, so this is information.",
    example="A two-level U-Net: `1 skip connection(s) carry encoder tensors straight into the decoder "
            "(conv2d -> concatenate at 32x32): ...`.",
    fix="For a compressing autoencoder, remove the skips. Fix-as-data: `remove_skip` with the merge "
        "`layers`.",
    run=run,
)
