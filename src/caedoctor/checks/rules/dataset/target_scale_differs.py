"""CAE105: the targets are on a different scale than the inputs."""

from caedoctor.checks.rule import Rule, num, span_text
from caedoctor.findings import Fix

# Scale = std of all values. A factor this large between inputs and targets is no longer a detail of the
# data; typical slips are normalising x but not y, or the reverse.
MAX_SCALE_RATIO = 4.0


def run(ctx):
    x, y = ctx.profile.inputs, ctx.profile.target
    if y is None or x.std <= 0 or y.std <= 0:
        return []
    ratio = y.std / x.std
    if 1 / MAX_SCALE_RATIO <= ratio <= MAX_SCALE_RATIO:
        return []
    return [RULE.finding(
        f"the targets span {span_text(y.min, y.max)} (std {num(y.std)}) but the inputs span "
        f"{span_text(x.min, x.max)} (std {num(x.std)}): the targets are {num(ratio)}x the inputs' scale, so "
        "the network must learn a rescaling on top of the reconstruction; normalise both the same way",
        {"input_min": x.min, "input_max": x.max, "input_std": x.std, "target_min": y.min, "target_max": y.max,
         "target_std": y.std, "scale_ratio": ratio, "max_ratio": MAX_SCALE_RATIO},
        Fix("normalize_targets", {"method": "like_inputs"}, "scale the targets exactly like the inputs"))]


RULE = Rule(
    code="CAE105", name="target-scale-differs", cause="target_input_mismatch", severity="warning",
    needs_data=True,
    summary=f"Targets and inputs differ in scale by more than {num(MAX_SCALE_RATIO)}x.",
    what="When the data brings separate targets (an `.npz` with `y`, a denoising pair), compares the std of "
         f"the targets with that of the inputs and fires when they differ by more than {num(MAX_SCALE_RATIO)}x.",
    why="An autoencoder's natural solution is close to the identity; if the targets are 255x the inputs the "
        "network must also learn that factor, which puts the output layer far from its initial scale and "
        "the loss on a different scale than the inputs. It usually means one array was normalised and the "
        "other was not.",
    example="`np.savez('pairs.npz', x=noisy / 255, y=clean)` with `clean` in 0-255: `the targets span "
            "[0, 255] (std 60.2) but the inputs span [0, 1] (std 0.236): the targets are 255x ...`.",
    fix="Apply the same normalisation to inputs and targets. Fix-as-data: `normalize_targets` with "
        "`method: like_inputs`.",
    run=run,
    reads_graph=False,
)
