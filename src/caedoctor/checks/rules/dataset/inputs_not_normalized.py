"""CAE104: inputs on a large scale (e.g. 0-255) instead of order 1."""

from caedoctor.checks.rule import Rule, num, span_text
from caedoctor.findings import Fix

# Inputs whose largest magnitude exceeds this, with a spread above MIN_STD, are not normalised;
# standardised data (std 1) with a few outliers stays silent.
MAX_PEAK = 10.0
MIN_STD = 2.0


def run(ctx):
    s = ctx.profile.inputs
    peak = max(abs(s.min), abs(s.max))
    if not (peak > MAX_PEAK and s.std > MIN_STD):
        return []
    unit = s.min >= 0 and s.max <= 255
    method = "unit" if unit else "standard"
    how = "divide by 255 to get [0, 1]" if unit else "subtract the mean and divide by the std"
    return [RULE.finding(
        f"the inputs span {span_text(s.min, s.max)} (mean {num(s.mean)}, std {num(s.std)}, dtype {s.dtype}), "
        "not a scale of order 1: weights are initialised for inputs of order 1, and Adam moves each weight "
        "by about the learning rate per step, so outputs of this size take thousands of steps to reach "
        f"while the loss is up to {num(peak ** 2)}x larger; {how}",
        {"min": s.min, "max": s.max, "mean": s.mean, "std": s.std, "dtype": s.dtype,
         "value_range": s.value_range, "max_peak": MAX_PEAK},
        Fix("normalize_inputs", {"method": method},
            f"{how} (inputs and targets alike; `--normalize unit` for uint8 data)"))]


RULE = Rule(
    code="CAE104", name="inputs-not-normalized", cause="data_not_normalized", severity="warning",
    needs_data=True,
    summary="Inputs are on a large scale (e.g. 0-255) rather than [0, 1] or standardised.",
    what=f"Fires when the inputs' largest magnitude exceeds {num(MAX_PEAK)} and their std exceeds "
         f"{num(MIN_STD)}: raw 0-255 images, raw sensor counts, unscaled physical units.",
    why="Keras initialises weights for inputs and targets of order 1. With 0-255 values the first layer's "
        "pre-activations are ~255x larger (saturating tanh/sigmoid units, killing ReLUs), the MSE is up to "
        "65,025x larger, and because Adam moves each weight by about the learning rate per step the output "
        "layer needs thousands of steps just to reach the target's scale. Adam often still gets there, so "
        "this is a warning, not an error.",
    example="`keras.datasets.mnist` loaded without `/ 255`: `the inputs span [0, 255] (mean 33.32, std 78.57, "
            "dtype uint8), not a scale of order 1: ...`.",
    fix="Divide uint8 images by 255 (`--normalize unit`), or standardise other data. Fix-as-data: "
        "`normalize_inputs` with `method: unit` (0-255 data) or `method: standard`.",
    run=run,
    reads_graph=False,
)
