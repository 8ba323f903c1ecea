"""CAE205: an SSIM loss whose max_val does not match the data's dynamic range."""

from caedoctor.checks.rule import Rule, num, span_text
from caedoctor.findings import Fix

# SSIM's constants are (0.01 max_val)^2 and (0.03 max_val)^2; a factor 2 either way changes them 4x.
MAX_RATIO = 2.0


def run(ctx):
    from caedoctor.losses import dynamic_range  # imports TensorFlow: only when a rule needs it

    if ctx.ssim_max_val is None or ctx.config.loss_name not in ("ssim", "ssim_l1"):
        return []
    t = ctx.target
    expected = dynamic_range(t.value_range, t.min, t.max)
    ratio = ctx.ssim_max_val / expected
    if 1 / MAX_RATIO <= ratio <= MAX_RATIO:
        return []
    effect = ("its stabilising constants are " + num(ratio ** 2) + "x too large, so SSIM stays near 1 and the "
              "loss gives almost no gradient" if ratio > 1 else
              "its stabilising constants are " + num(1 / ratio ** 2) + "x too small, so SSIM is unstable on "
              "flat regions")
    return [RULE.finding(
        f"the SSIM loss uses max_val={num(ctx.ssim_max_val)} but the targets span {span_text(t.min, t.max)} "
        f"(dynamic range {num(expected)}): {effect}",
        {"max_val": ctx.ssim_max_val, "dynamic_range": expected, "ratio": ratio, "target_min": t.min,
         "target_max": t.max},
        Fix("loss", {"loss": ctx.config.loss_name, "max_val": expected}, f"set SSIM's max_val to {num(expected)}"))]


RULE = Rule(
    code="CAE205", name="ssim-max-val", cause="loss_data_mismatch", severity="warning", needs_data=True,
    summary="SSIM loss max_val differs from the data's dynamic range by more than 2x.",
    what="When the user's compiled model brings an SSIM loss with a `max_val` (caedoctor's `SSIMLoss`, or any "
         "loss with that attribute), compares it with the targets' dynamic range (1 for [0, 1], 2 for "
         "[-1, 1], 255 for 0-255, else max - min).",
    why="SSIM divides by terms stabilised with (0.01 max_val)^2 and (0.03 max_val)^2. With max_val=255 on "
        "[0, 1] images those constants dwarf the image statistics: SSIM is close to 1 for any output and the "
        "loss barely moves. With max_val=1 on 0-255 images they vanish and the loss is noisy on flat "
        "regions. (caedoctor's own training sets max_val from the data; this is about the user's set-up.)",
    example="`compile(loss=SSIMLoss(max_val=255))` on [0, 1] patches: `the SSIM loss uses max_val=255 but the "
            "targets span [0, 1] (dynamic range 1): its stabilising constants are 65,025x too large, ...`.",
    fix="Set max_val to the data's dynamic range. Fix-as-data: `loss` with the same loss and `max_val`.",
    run=run,
    reads_graph=False,
)
