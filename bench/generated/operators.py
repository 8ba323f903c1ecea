"""One fault operator per cause: what the fault needs of the base, how it is injected (mild or strong),
and what its fix is (the same program with the fault removed).

An `Operator` is data plus two small functions:
- `needs(severity, rng)`: constraints on the healthy base (field -> allowed values), e.g. dead ReLUs need
  ReLU hidden layers without BatchNorm; the base is drawn within them (space.draw_base), so it stays a
  healthy model someone could have written;
- `inject(spec, severity, rng)`: changes only the fields in `touches` (tests check it) and returns
  (what the fault is, what its fix is) in words.

The fixed variant of a fault is the faulty spec with those fields put back to the base's values; for data
faults that is a different data file. `conflicts` (touched fields plus the ones the fault's effect relies
on) decides which two faults can share a case. `static` faults (bottleneck_bypass) make the loss easier to
lower, so their ground truth is not "the fix lowers the loss" (see ground_truth.py). `also_acceptable`
names causes that describe the same defect from another side (a runner may accept them, not require them).

CAUSES is caedoctor.findings.CAUSES (copied; a test checks the copy; `over_regularization` was added here first)
but for the VAE causes in NOT_INJECTED, which plain-CAE bases cannot have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import space

CAUSES = (
    "learning_rate_too_high", "learning_rate_too_low", "output_activation_range", "data_not_normalized",
    "target_input_mismatch", "loss_data_mismatch", "shape_mismatch", "nan_in_data", "insufficient_data",
    "bottleneck_too_narrow", "bottleneck_bypass", "capacity_mismatch", "kernel_too_large",
    "receptive_field_too_small", "dead_relu", "saturated_activation", "vanishing_gradients",
    "exploding_gradients", "batch_size_too_small", "batch_size_too_large", "checkerboard_artifacts",
    "overfitting", "loss_choice",
    "over_regularization",  # issue 15: dropout, L2 or an activity penalty strong enough to blur
)
# caedoctor causes of models this benchmark's plain-CAE bases cannot have: a VAE's KL term (issue 29). They join
# CAUSES with an operator once the benchmark has VAE and denoising bases (issue 29, part 4); until then they are named here,
# so the vocabulary check says what is not injected rather than passing over it.
NOT_INJECTED = {
    "kl_weight_too_high": "a VAE's KL weight: needs a VAE base (issue 29, part 4)",
    "loss_reduction_mismatch": "a VAE's reconstruction mean beside a summed KL: needs a VAE base (issue 29, part 4)",
    "log_variance_overflow": "a VAE's exp(log_var) overflowing: needs a VAE base (issue 29, part 4)",
    "kl_weight_frozen": "a KL schedule in the user's callback: seen only on a watched fit (issue 29, part 4)",
    "target_carries_input_noise": "a denoising pair's target: needs a denoising base (issue 29, part 4)",
    "augmentation_not_paired": "augmentation of (input, target) pairs: needs a denoising base (issue 29, part 4)",
}
SEVERITIES = ("mild", "strong")
DATA_VALUES = "data.values"  # a pseudo-field: at most one fault per case rewrites the data


def _lr(v: float) -> float:
    return float(f"{v:.3g}")


@dataclass(frozen=True)
class Operator:
    cause: str
    touches: tuple  # spec fields inject may change
    inject: Callable  # (spec, severity, rng) -> (fault, fix) in words; changes spec in place
    needs: Callable = lambda severity, rng: {}
    also: Callable = lambda severity, spec: ()  # also_acceptable causes
    conflicts_extra: tuple = ()
    static: bool = False
    table: tuple = ("", "", "")  # (mild, strong, fix) for the README
    data_fault: bool = False
    conflicts: frozenset = field(init=False)

    def __post_init__(self):
        extra = (DATA_VALUES,) if self.data_fault else ()
        object.__setattr__(self, "conflicts", frozenset(self.touches) | set(self.conflicts_extra) | set(extra))


def _lr_high(spec, sev, rng):
    t = spec["train"]
    old = t["lr"]
    t["lr"] = _lr(old * (10 if sev == "mild" else 100))
    return (f"{t['optimizer']} learning_rate {old:g} -> {t['lr']:g}", f"learning_rate {t['lr']:g} -> {old:g}")


def _lr_low_needs(sev, rng):
    # The cases: Adadelta at its Keras default rate (strong), SGD (momentum 0.9) at a too-low rate
    # (mild). A too-low Adam rate is what caedoctor already finds; the two optimizers it missed are tested.
    return {"train.optimizer": ("Adadelta",) if sev == "strong" else ("SGD",)}


def _lr_low(spec, sev, rng):
    t = spec["train"]
    old = t["lr"]
    if sev == "strong" and t["optimizer"] == "Adadelta":
        t["lr"], t["lr_default"] = 0.001, True  # Adadelta() as written without arguments
        return (f"Adadelta at its Keras default learning_rate 0.001 (the base trains at {old:g})",
                f"Adadelta(learning_rate={old:g}) instead of Adadelta()")
    t["lr"] = _lr(old / (30 if sev == "mild" else 1000))
    return (f"{t['optimizer']} learning_rate {old:g} -> {t['lr']:g}", f"learning_rate {t['lr']:g} -> {old:g}")


def _out_range_needs(sev, rng):
    if sev == "mild":
        return {"data.range": ("loose",), "model.out_act": ("linear",), "train.loss": ("mse", "mae")}
    return {"data.range": ("signed", "standard"), "train.loss": ("mse", "mae")}


def _out_range(spec, sev, rng):
    m, rng_name = spec["model"], spec["data"]["range"]
    old = m["out_act"]
    m["out_act"] = "relu" if rng_name == "standard" else "sigmoid"
    span = {"loose": "[-0.1, 1.1]", "signed": "[-1, 1]", "standard": "zero-mean, unit-variance"}[rng_name]
    return (f"{m['out_act']} output on {span} data (was {old})", f"output activation {m['out_act']} -> {old}")


def _raw255_needs(sev, rng):
    if sev == "mild":
        return {"data.range": ("unit",), "model.out_act": ("linear",), "train.loss": ("mse", "mae")}
    return {"data.range": ("unit",), "model.out_act": ("sigmoid",)}  # the compound fault of the issue


def _raw255(spec, sev, rng):
    spec["data"]["scale255"] = True
    out, loss = spec["model"]["out_act"], spec["train"]["loss"]
    fault = f"inputs and targets 0-255 instead of [0, 1] ({out} output, {loss} loss kept)"
    return fault, "divide the data by 255 (a different data file)"


def _raw255_also(sev, spec):
    if spec["model"]["out_act"] == "sigmoid":
        return ("output_activation_range", "loss_data_mismatch") if spec["train"]["loss"] == "binary_crossentropy" \
            else ("output_activation_range",)
    return ()


def _target_needs(sev, rng):
    return {"data.range": ("unit",), "model.out_act": ("linear",), "train.loss": ("mse", "mae")} if sev == "mild" else {}


def _target(spec, sev, rng):
    if sev == "mild":
        spec["data"]["target"] = "x255"
        return "targets 0-255 while the inputs are in [0, 1]", "targets on the inputs' scale (y = x)"
    spec["data"]["target"] = "shuffled"
    return ("targets are the images of other samples (x and y shuffled separately)",
            "targets are the inputs themselves (y = x)")


def _bce_needs(sev, rng):
    if sev == "mild":
        return {"data.range": ("loose",), "model.out_act": ("linear",), "train.loss": ("mse",)}
    return {"data.range": ("signed",), "train.loss": ("mse",)}


def _bce(spec, sev, rng):
    spec["train"]["loss"] = "binary_crossentropy"
    span = "[-0.1, 1.1]" if spec["data"]["range"] == "loose" else "[-1, 1]"
    return f"binary cross-entropy on {span} targets", "loss binary_crossentropy -> mse"


def _choice_needs(sev, rng):
    if sev == "mild":
        return {"data.range": ("unit",), "model.out_act": ("sigmoid",), "train.loss": ("binary_crossentropy",)}
    return {"data.range": ("unit",), "model.out_act": ("sigmoid",), "train.loss": ("mse",)}


def _choice(spec, sev, rng):
    if sev == "mild":
        spec["model"]["out_act"] = "linear"
        return "binary cross-entropy on a linear output (not a probability)", "output activation linear -> sigmoid"
    spec["train"]["loss"] = "categorical_crossentropy"
    return "categorical cross-entropy (a classifier's loss) on images", "loss categorical_crossentropy -> mse"


def _shape(spec, sev, rng):
    m, d = spec["model"], spec["data"]
    if sev == "strong":
        m["drop_last_upsample"] = True
        return "the decoder upsamples once fewer than the encoder downsamples (output at half size)", \
            "restore the last upsampling"
    if d["channels"] == 3:
        m["out_channels"] = 1
        return "output conv with 1 channel on RGB data", "output conv with 3 channels"
    m["out_crop"] = 2
    return "Cropping2D(2) before the output: the output is 4 px smaller than the input", "remove the Cropping2D"


def _nan(spec, sev, rng):
    value, share, size = ("nan", 0.005, 1) if sev == "mild" else ("inf", 0.03, 4)
    spec["data"]["nonfinite"] = {"value": value, "share": share, "size": size}
    return (f"{value} in a {size}x{size} corner of {share:.1%} of the training images",
            f"the affected images replaced by their intact originals (or dropped)")


def _few_needs(sev, rng):
    return {"data.source": ("patches32", "cifar10", "fmnist"), "data.n": (2000, 3000, 4000), "train.batch": (16, 32)}


def _few(spec, sev, rng):
    from sources import split_indices

    n_train = len(split_indices(spec["data"]["n"])[0])
    keep = max(16, int(round(n_train * (0.12 if sev == "mild" else 0.03))))
    spec["data"]["subset"] = keep
    return (f"{keep} images in the data file instead of {spec['data']['n']}",
            f"all {spec['data']['n']} images (both scored on the same held-out images)")


def _overfit_needs(sev, rng):
    return {"data.n": space.SMALL_COUNTS, "train.batch": (16, 32)}


def _overfit(spec, sev, rng):
    m = spec["model"]
    old = dict(m["bottleneck"])
    widths = [1024] if sev == "mild" else [1024, 1024]
    m["bottleneck"] = {"kind": "dense_wide", "widths": widths}
    return (f"dense layers of {' and '.join(map(str, widths))} units as the bottleneck, on "
            f"{spec['data']['n']} images", f"the original bottleneck ({_describe_code(old)})")


def _describe_code(b: dict) -> str:
    if b["kind"] == "conv":
        return f"1x1 conv with {b['channels']} channels"
    if b["kind"] == "dense":
        return f"Dense({b['units']})"
    return "dense " + "x".join(map(str, b["widths"]))


def _narrow(spec, sev, rng):
    m = spec["model"]
    old = dict(m["bottleneck"])
    if old["kind"] == "conv":
        c = old["channels"]
        new = max(1, c // 8) if sev == "mild" else 1
        m["bottleneck"] = {"kind": "conv", "channels": new}
    else:
        u = old["units"]
        new = max(2, u // 8) if sev == "mild" else 2
        m["bottleneck"] = {"kind": "dense", "units": new}
    return f"bottleneck {_describe_code(old)} -> {_describe_code(m['bottleneck'])}", \
        f"bottleneck back to {_describe_code(old)}"


def _bypass(spec, sev, rng):
    spec["model"]["skip"] = "deep" if sev == "mild" else "input"
    what = ("a skip connection from the last encoder stage into the decoder at the same resolution"
            if sev == "mild" else "the input image concatenated before the output conv")
    return what, "remove the skip connection"


def _capacity(spec, sev, rng):
    spec["model"]["decoder"] = "thin" if sev == "mild" else "single"
    what = ("decoder with a quarter of the encoder's filters" if sev == "mild"
            else f"no decoder layers: one UpSampling2D({2 ** spec['model']['stages']}) and the output conv")
    return what, "decoder mirroring the encoder"


def _big_kernel_needs(sev, rng):
    return {"model.f0": (8,), "model.kernel": (3,), "model.bottleneck_kind": ("conv",), "data.crop": (16, 20, 24)}


def _big_kernel(spec, sev, rng):
    m = spec["model"]
    sizes = space.maps(spec)
    smallest = min(sizes["enc"] + sizes["dec"] + [sizes["code"]])
    limit = smallest if sev == "mild" else 8
    changed = []

    def grow(size, old):
        return max(old, min(2 * size + 1, 13)) if size <= limit else old

    m["enc_kernels"] = [grow(s, k) for s, k in zip(sizes["enc"], m["enc_kernels"])]
    if m["up"] == "upsample":
        m["dec_kernels"] = [grow(s, k) for s, k in zip(sizes["dec"], m["dec_kernels"])]
    m["code_kernel"] = grow(sizes["code"], m["code_kernel"])
    changed = sorted({s for s in sizes["enc"] + sizes["dec"] + [sizes["code"]] if s <= limit})
    return (f"kernels of 2 x map + 1 on the layers whose maps are {', '.join(map(str, changed))} px "
            f"(enc {m['enc_kernels']}, dec {m['dec_kernels']}, code {m['code_kernel']})",
            f"kernels back to {m['kernel']}x{m['kernel']} (code conv 1x1)")


def _rf(spec, sev, rng):
    m = spec["model"]
    old = list(m["enc_kernels"])
    m["enc_kernels"] = [1] + old[1:] if sev == "mild" else [1] * len(old)
    return (f"strided encoder convs with 1x1 kernels ({old} -> {m['enc_kernels']}): pixels skipped",
            f"encoder kernels back to {old}")


def _dead(spec, sev, rng):
    b = -0.5 if sev == "mild" else -2.0
    spec["model"]["bias_init"] = b
    return f"ReLU layers with bias initialiser Constant({b})", "bias initialiser zeros (the default)"


def _saturate(spec, sev, rng):
    std = 0.3 if sev == "mild" else 1.0
    spec["model"]["kernel_init"] = {"class": "RandomNormal", "stddev": std}
    return f"tanh layers with kernel initialiser RandomNormal(stddev={std})", "kernel initialiser glorot_uniform (the default)"


def _explode(spec, sev, rng):
    std = 0.5 if sev == "mild" else 2.0
    spec["model"]["kernel_init"] = {"class": "RandomNormal", "stddev": std}
    return (f"{spec['model']['act']} layers with kernel initialiser RandomNormal(stddev={std})",
            "kernel initialiser glorot_uniform (the default)")


def _vanish_needs(sev, rng):
    need = {"model.bn": (False,), "model.stages": (3, 4)}
    if rng.random() < 0.5:
        need["train.optimizer"] = ("SGD",)
    return need


def _vanish(spec, sev, rng):
    spec["model"]["sigmoid_layers"] = "decoder" if sev == "mild" else "all"
    where = "every hidden decoder layer" if sev == "mild" else "every hidden layer"
    return (f"Activation('sigmoid') layers after {where} (replacing {spec['model']['act']})",
            f"hidden activation {spec['model']['act']} again")


def _small_batch(spec, sev, rng):
    t = spec["train"]
    old = t["batch"]
    t["batch"] = 4 if sev == "mild" else 2
    return f"batch size {old} -> {t['batch']} with BatchNormalization", f"batch size {t['batch']} -> {old}"


def _large_batch_needs(sev, rng):
    return {"data.n": space.SMALL_COUNTS, "train.batch": (16, 32)}


def _large_batch(spec, sev, rng):
    from sources import split_indices

    t = spec["train"]
    old = t["batch"]
    n_train = len(split_indices(spec["data"]["n"])[0])
    t["batch"] = 128 if sev == "mild" else n_train
    return (f"batch size {old} -> {t['batch']} on {n_train} training images", f"batch size {t['batch']} -> {old}")


def _checker(spec, sev, rng):
    m = spec["model"]
    old = m["transpose_kernel"]
    m["transpose_kernel"] = 3 if sev == "mild" else 1
    return (f"Conv2DTranspose kernel {old} -> {m['transpose_kernel']} at stride 2 (not divisible)",
            f"transpose kernel {m['transpose_kernel']} -> {old}")


def _overreg(spec, sev, rng):
    m = spec["model"]
    form = ("dropout", "l2", "activity")[int(rng.integers(3))]
    if form == "dropout":
        m["dropout"] = 0.25 if sev == "mild" else 0.5
        return f"Dropout({m['dropout']}) after every decoder layer", "remove the Dropout layers"
    if form == "l2":
        m["l2"] = 1e-3 if sev == "mild" else 1e-2
        return f"L2({m['l2']:g}) kernel_regularizer on every hidden layer", "remove the kernel regularizers"
    m["activity_l1"] = 1e-4 if sev == "mild" else 1e-3
    return f"L1({m['activity_l1']:g}) activity (sparsity) penalty on the bottleneck", "remove the activity regularizer"


OPERATORS = {op.cause: op for op in (
    Operator("learning_rate_too_high", ("train.lr",), _lr_high, table=("rate x 10", "rate x 100", "the swept rate")),
    Operator("learning_rate_too_low", ("train.lr", "train.lr_default"), _lr_low, needs=_lr_low_needs,
             table=("SGD (momentum 0.9) at the swept rate / 30", "Adadelta() at its Keras default 0.001 (the swept rate is 1-10)",
                    "the swept rate")),
    Operator("output_activation_range", ("model.out_act",), _out_range, needs=_out_range_needs,
             table=("sigmoid output on [-0.1, 1.1] data (clips the ends)",
                    "sigmoid on [-1, 1] or relu on standardised data", "the base's tanh or linear output")),
    Operator("data_not_normalized", ("data.scale255",), _raw255, needs=_raw255_needs, also=_raw255_also,
             data_fault=True,
             table=("0-255 data, linear output", "0-255 data into a sigmoid output with MSE or BCE (compound)",
                    "data / 255 (another data file)")),
    Operator("target_input_mismatch", ("data.target",), _target, needs=_target_needs, data_fault=True,
             table=("targets 0-255, inputs [0, 1] (linear output)", "x and y shuffled separately",
                    "y = x")),
    Operator("loss_data_mismatch", ("train.loss",), _bce, needs=_bce_needs, also=lambda s, sp: ("loss_choice",),
             table=("BCE on [-0.1, 1.1] targets (linear output)", "BCE on [-1, 1] targets", "MSE")),
    Operator("shape_mismatch", ("model.out_channels", "model.out_crop", "model.drop_last_upsample"), _shape,
             conflicts_extra=("model.skip", "model.decoder", "model.up"),
             table=("1-channel output on RGB data; on grey data Cropping2D(2)", "one upsampling missing",
                    "the base's output")),
    Operator("nan_in_data", ("data.nonfinite",), _nan, data_fault=True,
             table=("NaN in a pixel of 0.5% of training images", "Inf in a 4x4 corner of 3%",
                    "intact images")),
    Operator("insufficient_data", ("data.subset",), _few, needs=_few_needs, also=lambda s, sp: ("overfitting",),
             data_fault=True,
             table=("12% of the training images", "3% (at least 16)", "all images")),
    Operator("bottleneck_too_narrow", ("model.bottleneck",), _narrow,
             table=("code / 8", "1 channel, or 2 dense units", "the base's code (1/8-1/2 of the input values)")),
    Operator("bottleneck_bypass", ("model.skip",), _bypass, static=True,
             conflicts_extra=("model.decoder", "model.drop_last_upsample"),
             table=("skip from the last encoder stage", "input concatenated before the output", "no skip")),
    Operator("capacity_mismatch", ("model.decoder",), _capacity,
             table=("decoder filters / 4", "no decoder layers (one UpSampling2D)", "mirrored decoder")),
    Operator("kernel_too_large", ("model.enc_kernels", "model.dec_kernels", "model.code_kernel"), _big_kernel,
             needs=_big_kernel_needs,
             table=("2 x map + 1 on the smallest maps", "2 x map + 1 (max 13) on every map <= 8 px",
                    "3x3 (code 1x1)")),
    Operator("receptive_field_too_small", ("model.enc_kernels",), _rf,
             needs=lambda s, r: {"model.down": ("stride",)},
             table=("first strided conv 1x1", "every strided conv 1x1", "the base's kernels")),
    Operator("dead_relu", ("model.bias_init",), _dead,
             needs=lambda s, r: {"model.act": ("relu",), "model.bn": (False,)}, conflicts_extra=("model.act",),
             table=("ReLU, bias init -0.5", "ReLU, bias init -2", "bias init zeros")),
    Operator("saturated_activation", ("model.kernel_init",), _saturate,
             needs=lambda s, r: {"model.act": ("tanh",), "model.bn": (False,)}, conflicts_extra=("model.act",),
             table=("tanh, kernels N(0, 0.3)", "tanh, kernels N(0, 1)", "glorot_uniform")),
    Operator("vanishing_gradients", ("model.sigmoid_layers",), _vanish, needs=_vanish_needs,
             conflicts_extra=("model.act",),
             table=("separate Activation('sigmoid') after every decoder layer (3-4 stages, no BN)",
                    "... after every hidden layer", "the base's activation")),
    Operator("exploding_gradients", ("model.kernel_init",), _explode,
             needs=lambda s, r: {"model.act": ("relu", "leaky_relu", "elu"), "model.bn": (False,)},
             conflicts_extra=("model.act",),
             table=("ReLU-like, kernels N(0, 0.5)", "kernels N(0, 2)", "glorot_uniform")),
    Operator("batch_size_too_small", ("train.batch",), _small_batch,
             needs=lambda s, r: {"model.bn": (True,), "train.batch": (16,)},
             table=("batch 16 -> 4 with BatchNorm", "batch 16 -> 2 with BatchNorm", "batch 16")),
    Operator("batch_size_too_large", ("train.batch",), _large_batch, needs=_large_batch_needs,
             table=("batch 128 on 270-540 images", "the whole training set in one batch", "batch 16 or 32")),
    Operator("checkerboard_artifacts", ("model.transpose_kernel",), _checker,
             needs=lambda s, r: {"model.up": ("transpose",), "model.transpose_kernel": (4,)},
             table=("Conv2DTranspose kernel 3, stride 2", "kernel 1, stride 2", "kernel 4")),
    Operator("overfitting", ("model.bottleneck",), _overfit, needs=_overfit_needs,
             conflicts_extra=("model.bottleneck_kind",),
             also=lambda s, sp: ("insufficient_data", "bottleneck_bypass"),
             table=("Dense(1024) bottleneck on 300-600 images", "Dense(1024) x 2", "the base's bottleneck")),
    Operator("loss_choice", ("model.out_act", "train.loss"), _choice, needs=_choice_needs,
             also=lambda s, sp: ("output_activation_range",) if s == "mild" else (),
             table=("BCE on a linear output", "categorical cross-entropy", "sigmoid output / MSE")),
    Operator("over_regularization", ("model.dropout", "model.l2", "model.activity_l1"), _overreg,
             table=("Dropout(0.25) in the decoder, or L2(1e-3), or activity L1(1e-4)",
                    "Dropout(0.5), or L2(1e-2), or activity L1(1e-3)", "no regularizer")),
)}


def compatible(a: tuple, b: tuple) -> bool:
    """Whether faults a and b ((cause, severity)) can share a case (their needs are checked when drawing)."""
    (ca, _), (cb, _) = a, b
    if ca == cb:
        return False
    oa, ob = OPERATORS[ca], OPERATORS[cb]
    return not (oa.conflicts & ob.conflicts)


def needs_conflict(op: Operator, other_needs: dict) -> bool:
    """Whether `op` changes a field another fault's precondition relies on."""
    return bool(op.conflicts & set(other_needs))


def fault_rng(seed_parts, k: int) -> np.random.Generator:
    return np.random.default_rng([*seed_parts, 1000 + k])
