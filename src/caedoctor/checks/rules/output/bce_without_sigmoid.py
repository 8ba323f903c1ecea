"""CAE206: binary cross-entropy on an output that is not a probability."""

from caedoctor.checks.rule import Rule, range_text
from caedoctor.checks.rules.output.bce_target_range import RULE as CAE204
from caedoctor.checks.rules.output.bce_target_range import targets_outside_unit
from caedoctor.findings import Fix


def run(ctx):
    a = ctx.analysis
    lo, hi = a.output_range
    if ctx.config.loss_name != "bce" or ctx.config.loss.from_logits or (lo >= 0 and hi <= 1):
        return []  # BinaryCrossentropy(from_logits=True) expects an unbounded output: nothing to flag
    if ctx.target is not None and targets_outside_unit(ctx.target):
        return []  # CAE204's: the loss itself is wrong for these targets, and a sigmoid could not reach them
    return [RULE.finding(
        f"binary cross-entropy expects outputs in [0, 1], but the output is {a.output_activation} with range "
        f"{range_text(a.output_range)}: Keras clips predictions to [1e-7, 1 - 1e-7], and every pixel whose "
        "prediction lies outside gets zero gradient",
        {"loss": "bce", "output_activation": a.output_activation, "output_range": list(a.output_range)},
        Fix("output_activation", {"activation": "sigmoid"}, "end the decoder with a sigmoid"))]


RULE = Rule(
    code="CAE206", name="bce-without-sigmoid", cause="loss_choice", severity="warning",
    summary="Binary cross-entropy on an output that can leave [0, 1] (no sigmoid).",
    what="Fires when the loss is binary cross-entropy on probabilities (not `from_logits=True`) and the output's propagated range is not inside "
         "[0, 1] (a linear, ReLU or tanh last layer). Silent when the measured targets leave [0, 1]: then "
         f"{CAE204.code} reports the loss itself as wrong for the data, and this rule's fix would contradict "
         "it (a sigmoid output cannot reach targets below 0 or above 1 once the loss is MSE).",
    why="Keras' binary cross-entropy (from probabilities) clips the prediction to [1e-7, 1 - 1e-7] before the "
        "logarithm. A clipped value has zero gradient, so pixels whose prediction starts outside [0, 1] (about "
        "half of them for a linear output) do not learn until other weights happen to move them back.",
    example="A linear-output CAE compiled with `loss='binary_crossentropy'`: `binary cross-entropy expects "
            "outputs in [0, 1], but the output is linear with range (-inf, inf): ...`.",
    fix="End the decoder with a sigmoid (or use MSE). Fix-as-data: `output_activation` with "
        "`activation: sigmoid`.",
    run=run,
)
