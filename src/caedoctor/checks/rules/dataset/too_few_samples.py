"""CAE102: too few training samples for the model to learn rather than memorise."""

from caedoctor.checks.rule import CONFIRM, Rule, num
from caedoctor.findings import Fix

# A rule of thumb, not a measured boundary: below this many images a CAE of tens of thousands of
# parameters can store every training image, and a validation split of ~10% holds a dozen or fewer.
MIN_TRAIN_SAMPLES = 128


def run(ctx):
    n = ctx.profile.train_count
    if n >= MIN_TRAIN_SAMPLES:
        return []
    params = ctx.analysis.total_params
    return [RULE.finding(
        f"only {num(n)} training samples ({num(ctx.profile.val_count)} for validation) for a model of "
        f"{num(params)} parameters ({num(params / max(n, 1))} per sample): it can memorise them, so the "
        f"training loss may fall while the validation loss stalls; {CONFIRM} (overfitting)",
        {"train_count": n, "val_count": ctx.profile.val_count, "params": params,
         "min_train_samples": MIN_TRAIN_SAMPLES},
        Fix("data", {"action": "more_data"},
            f"use at least {MIN_TRAIN_SAMPLES} training images, or augment them (flips, crops, shifts)"))]


RULE = Rule(
    code="CAE102", name="too-few-samples", cause="insufficient_data", severity="warning", needs_data=True,
    summary=f"Fewer than {MIN_TRAIN_SAMPLES} training samples.",
    what=f"Compares the number of training samples with a floor of {MIN_TRAIN_SAMPLES} and quotes the "
         "model's parameters per sample.",
    why="With a few dozen images a CAE can store each one in its weights; the training loss then falls "
        "while reconstructions of new images do not improve, and a small validation split makes the "
        "validation loss too noisy to judge convergence. The floor is a rule of thumb, so this is a "
        "warning, and `caedoctor diagnose` measures whether the model actually overfits.",
    example="100 images of 32x32x3 for the field notes' CAE: `only 90 training samples (10 for validation) "
            "for a model of 75,651 parameters (840.6 per sample): ...`.",
    fix="Collect more images or augment them. Fix-as-data: `data` with `action: more_data`.",
    run=run,
    reads_graph=False,
)
