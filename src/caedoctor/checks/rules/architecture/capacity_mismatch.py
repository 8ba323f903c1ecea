"""CAE304: encoder and decoder differ greatly in parameters or depth."""

import math

from caedoctor.checks.rule import CONFIRM, Rule, num
from caedoctor.findings import Fix

MAX_PARAM_RATIO = 10.0
MIN_DEPTH_GAP = 3  # weighted layers more in one half than the other, and at least twice as many


def run(ctx):
    a = ctx.analysis
    enc, dec = a.encoder, a.decoder
    if enc is None or dec is None or not enc.params or not dec.params:
        return []
    ratio = max(enc.params, dec.params) / min(enc.params, dec.params)
    gap = abs(enc.depth - dec.depth)
    deep_gap = gap >= MIN_DEPTH_GAP and max(enc.depth, dec.depth) >= 2 * max(1, min(enc.depth, dec.depth))
    if ratio < MAX_PARAM_RATIO and not deep_gap:
        return []
    if ratio >= MAX_PARAM_RATIO:
        weak = "encoder" if enc.params < dec.params else "decoder"
    else:
        weak = "encoder" if enc.depth < dec.depth else "decoder"
    factor = float(min(4.0, 2 ** max(1, round(math.log2(math.sqrt(ratio))))))
    return [RULE.finding(
        f"the encoder has {num(enc.params)} parameters in {enc.depth} weighted layer(s), the decoder "
        f"{num(dec.params)} in {dec.depth} ({num(ratio)}x apart): the {weak} may be too weak to "
        f"{'compress' if weak == 'encoder' else 'reconstruct'} what the other half handles; {CONFIRM}",
        {"encoder_params": enc.params, "decoder_params": dec.params, "encoder_depth": enc.depth,
         "decoder_depth": dec.depth, "param_ratio": ratio, "weaker_half": weak},
        Fix("capacity", {"half": weak, "factor": factor}, f"widen the {weak}'s filters {num(factor)}x"))]


RULE = Rule(
    code="CAE304", name="capacity-mismatch", cause="capacity_mismatch", severity="info",
    summary=f"Encoder and decoder differ by {num(MAX_PARAM_RATIO)}x in parameters, or greatly in depth.",
    what="Splits the model at the bottleneck and counts parameters and weighted layers (conv, transposed "
         f"conv, dense) per half. Fires when the parameters differ by {num(MAX_PARAM_RATIO)}x or more, or one "
         f"half has at least {MIN_DEPTH_GAP} more weighted layers and twice as many as the other.",
    why="A deep encoder paired with a one-layer decoder (or the reverse) leaves one side unable to undo what "
        "the other does, and the loss stalls early. Many asymmetric CAEs train well, though, so this is only "
        "information for `caedoctor diagnose` to test.",
    example="Four conv layers of 64-256 filters down, one Conv2DTranspose up: `the encoder has 1,180,160 "
            "parameters in 4 weighted layer(s), the decoder 6,915 in 1 (170.7x apart): ...`.",
    fix="Give the weaker half more filters or layers. Fix-as-data: `capacity` with `half` and `factor`.",
    run=run,
)
