"""CAE208: the data does not fit the model's declared input shape."""

from caedoctor.checks.rule import Rule, shape_text
from caedoctor.findings import Fix


def run(ctx):
    declared = tuple(ctx.analysis.model_input_shape)
    data = tuple(ctx.data_input_shape)
    if len(declared) == len(data) and all(d is None or d == g for d, g in zip(declared, data)):
        return []
    what = ("channels" if len(declared) == len(data) and declared[:-1] == data[:-1] else "size")
    return [RULE.finding(
        f"the data's samples are {shape_text(data)} but the model's input is {shape_text(declared)} (the "
        f"{what} differs): the model cannot take this data; resize or convert the data (--image-size), or "
        "rebuild the model's Input for it",
        {"data_shape": list(data), "model_shape": list(declared), "differs_in": what},
        Fix("input_shape", {"data_shape": list(data), "model_shape": list(declared)},
            f"make the data {shape_text(declared)} or the model's Input {shape_text(data)}"))]


RULE = Rule(
    code="CAE208", name="input-shape-mismatch", cause="shape_mismatch", severity="error", needs_data=True,
    summary="The data's sample shape does not fit the model's declared input shape.",
    what="Compares the data's sample shape with the input shape the model declares (free sizes, `None`, "
         "fit anything).",
    why="A model built for 32x32x3 cannot take 28x28x1 images; Keras fails at the first batch. It usually "
        "means the wrong model file or a missing resize/colour conversion.",
    example="A `.keras` CAE saved for CIFAR-10 checked with `--data keras:mnist`: `the data's samples are "
            "28x28x1 but the model's input is 32x32x3 (the size differs): ...`.",
    fix="Resize or convert the data, or rebuild the model for the data. Fix-as-data: `input_shape` with "
        "`data_shape` and `model_shape`.",
    run=run,
    reads_graph=False,
)
