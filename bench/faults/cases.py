"""The fault benchmark's cases: CAEs with one or two injected faults, and healthy controls.

Each `Case` has an id, the causes it injects (from `caedoctor.findings.CAUSES`), the fix that removes each
one, and a `build(fixed)` function: given the set of causes to *fix*, it returns a `Variant` (the data, a
factory for the compiled `keras.Model`, and the batch size). `build(frozenset())` is the faulty set-up a
user would hand to caedoctor; `build(frozenset(case.injected))` is the repaired one the ground truth trains
for comparison (bench/faults/ground_truth.py). Nothing here imports TensorFlow or caedoctor, so the ground
truth can be computed with any Keras 3 backend.

Data (all real images):
- `cifar10`: the first 6,600 CIFAR-10 training images from ../shared/data/cifar10 (PNG sheets);
- `fmnist`: the first 6,600 Fashion-MNIST training images from ../shared/data/fashion-mnist (IDX .gz);
- `patches32`: caedoctor's `bundled:patches32` (scikit-image photographs), read from its module file.
Arrays are split like `caedoctor.data.load_data` splits arrays (10% validation by a permutation with seed 0),
so 6,600 images give 5,940 training and 660 validation images. Decoded arrays are cached under
runs/bench-cache/ (ignored by git).

Causes that every case list below covers: all 23 of `CAUSES`. `bottleneck_bypass` is injected but has a
*static* ground truth: a bypass makes the loss easier to lower, so "the fix lowers the loss" cannot be its
test (see ground_truth.py and bench/README.md).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
CACHE = ROOT / "runs" / "bench-cache"
N_IMAGES = 6600  # -> 5,940 train / 660 validation after the 10% split
VAL_FRACTION = 0.1  # as caedoctor.data.sources.VAL_FRACTION

# Verdict sets (caedoctor.diagnosis.verdict.VERDICTS)
CONVERGING = ("converging",)
INVALID = ("invalid",)
BROKEN = ("not_converging", "diverging", "unstable")  # training fails outright
PROBLEM = ("slow", "not_converging", "diverging", "unstable", "overfitting")  # any "not healthy" verdict
ANY_TRAINING = PROBLEM + ("converging",)  # a real but mild fault: the verdict is no test, the causes are
# How the expected verdicts were chosen, from the ground truth's faulty run (bench/faults/ground_truth.json):
# training impossible -> INVALID; the faulty run ends above the predict-the-mean level (relative MSE > 1) or
# NaN -> BROKEN; a real fault that leaves it >= 3x worse than fixed or above 0.25 -> PROBLEM (or a named
# subset); a real but milder fault -> ANY_TRAINING; a fault the ground truth finds not real, or a static
# one -> CONVERGING (the model trains as well as its fix).


# ------------------------------------------------------------------------------------------------ data

def _cached(name: str, make: Callable[[], np.ndarray]) -> np.ndarray:
    path = CACHE / f"{name}.npy"
    if path.is_file():
        return np.load(path)
    array = make()
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, array)
    return array


def cifar10_uint8(n: int = N_IMAGES) -> np.ndarray:
    """The first `n` CIFAR-10 training images, (n, 32, 32, 3) uint8."""
    def make():
        from PIL import Image

        sheets = []
        for k in range((n + 999) // 1000):
            p = SHARED / "cifar10" / f"cifar10_batch_{k}.png"
            sheets.append(np.asarray(Image.open(p).convert("RGB")).reshape(1000, 32, 32, 3))
        return np.concatenate(sheets)[:n]

    return _cached(f"cifar10_{n}", make)


def fmnist_uint8(n: int = N_IMAGES) -> np.ndarray:
    """The first `n` Fashion-MNIST training images, (n, 28, 28, 1) uint8."""
    def make():
        with gzip.open(SHARED / "fashion-mnist" / "train-images-idx3-ubyte.gz", "rb") as fh:
            raw = fh.read()
        count = int.from_bytes(raw[4:8], "big")
        images = np.frombuffer(raw, np.uint8, offset=16).reshape(count, 28, 28, 1)
        return images[:n].copy()

    return _cached(f"fmnist_{n}", make)


def patches32() -> tuple[np.ndarray, np.ndarray]:
    """caedoctor's bundled:patches32 (train, val), loaded from its module file (no TensorFlow import)."""
    spec = importlib.util.spec_from_file_location("_bench_bundled", ROOT / "src" / "caedoctor" / "data" / "bundled.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.patches32()


def split(x: np.ndarray, y: np.ndarray | None, seed: int = 0):
    """Exactly caedoctor.data.sources.split_arrays' split: ((x_train, y_train), (x_val, y_val))."""
    n_val = min(max(1, int(round(len(x) * VAL_FRACTION))), len(x) - 1)
    order = np.random.default_rng(seed).permutation(len(x))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    y = x if y is None else y
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])


@dataclass
class DataSet:
    """What caedoctor gets (`arg`: a DATA string, an array, or an (x, y) pair) and what the ground truth
    trains and scores on. `reference_val` (x, y) replaces the case's own validation split for scoring
    when the fix changes the data itself (more images), so both sides are scored on the same images."""

    name: str
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    bundled: str | None = None
    reference_val: tuple | None = None
    train_all: bool = False  # with `reference_val`: every image trains (no split)

    @property
    def arg(self):
        if self.bundled:
            return self.bundled
        return self.x if self.y is None else (self.x, self.y)

    def splits(self):
        """((x_train, y_train), (x_val, y_val)) as float32, the validation replaced by `reference_val`."""
        if self.bundled == "bundled:patches32":
            train, val = patches32()
            (xt, yt), (xv, yv) = (train, train), (val, val)
        elif self.train_all:
            (xt, yt), (xv, yv) = (self.x, self.x if self.y is None else self.y), (None, None)
        else:
            (xt, yt), (xv, yv) = split(self.x, self.y)
        if self.reference_val is not None:
            xv, yv = self.reference_val
        f = np.float32
        return (xt.astype(f), yt.astype(f)), (np.asarray(xv, f), np.asarray(yv, f))

    @property
    def input_shape(self) -> tuple:
        if self.bundled:
            return (32, 32, 3)
        return tuple(self.x.shape[1:])


def cifar(kind: str = "unit", n: int = N_IMAGES) -> DataSet:
    return _images("cifar10", cifar10_uint8(N_IMAGES)[:n], kind)


def fmnist(kind: str = "unit", n: int = N_IMAGES) -> DataSet:
    return _images("fmnist", fmnist_uint8(N_IMAGES)[:n], kind)


def p32() -> DataSet:
    return DataSet("patches32", bundled="bundled:patches32")


def _images(name: str, raw: np.ndarray, kind: str) -> DataSet:
    """Scalings: unit ([0, 1]), raw (0-255 floats), signed ([-1, 1]), standard (zero mean, unit std),
    target255 (inputs [0, 1], targets 0-255)."""
    x = raw.astype(np.float32)
    tag = f"{name}[{len(raw)}]"
    if kind == "unit":
        return DataSet(f"{tag}/255", x / 255.0)
    if kind == "raw":
        return DataSet(f"{tag} 0-255", x)
    if kind == "signed":
        return DataSet(f"{tag} [-1,1]", x / 127.5 - 1.0)
    if kind == "standard":
        return DataSet(f"{tag} standardised", (x - x.mean()) / x.std())
    if kind == "target255":
        return DataSet(f"{tag} x/255 -> y 0-255", x / 255.0, x.copy())
    raise ValueError(f"unknown scaling {kind!r}")


def _reference_val(name: str):
    """The validation split of the full 6,600-image set (for cases whose fix adds images)."""
    full = cifar() if name == "cifar10" else fmnist()
    (_, _), (xv, yv) = full.splits()
    return xv, yv


def _few(name: str, n: int) -> DataSet:
    """`n` images taken from the *training* split of the full set (so none is in the reference validation)."""
    full = cifar() if name == "cifar10" else fmnist()
    (xt, _), _ = split(full.x, None)
    return DataSet(f"{name}[{n}]/255", xt[:n].copy(), reference_val=_reference_val(name))


def _more(name: str, n: int) -> DataSet:
    """The fix of a few-images case: the whole training split (5,940 images), same reference validation."""
    full = cifar() if name == "cifar10" else fmnist()
    (xt, _), _ = split(full.x, None)
    return DataSet(f"{name}[{len(xt)}]/255 (was {n})", xt.copy(), reference_val=_reference_val(name),
                   train_all=True)


def _with_nonfinite(ds: DataSet, value: float, share: float, seed: int = 1) -> DataSet:
    """Put `value` (NaN or Inf) into one 4x4 corner of `share` of the images."""
    x = ds.x.copy()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x), max(1, int(share * len(x))), replace=False)
    x[idx, :4, :4, :] = value
    return DataSet(f"{ds.name} with {value} in {len(idx)} images", x)


def _drop_nonfinite(ds: DataSet) -> DataSet:
    keep = np.isfinite(ds.x).all(axis=(1, 2, 3))
    return DataSet(f"{ds.name} (non-finite images dropped)", ds.x[keep])


# ------------------------------------------------------------------------------------------------ models

def _act(x, act: str, name: str):
    from keras import layers

    if act == "leaky":
        return layers.LeakyReLU(negative_slope=0.1, name=f"{name}_leaky")(x)
    if act == "linear":
        return x
    return layers.Activation(act, name=f"{name}_{act}")(x)


def cae(shape, *, filters=(32, 64), kernel=3, act="leaky", first_act=None, out_act="sigmoid", bn=False,
        k_init="glorot_uniform", b_init="zeros", strided_kernel=None, transpose_kernel=None, code=None,
        decoder="mirror", skip=False, out_channels=None, crop=0, pool=True, name="cae"):
    """A CAE like the field notes' (conv + pool down, conv-transpose + upsample up), with knobs for faults.

    filters: channels per level (each level halves H and W unless `pool=False`).
    act / first_act: hidden activation ("leaky" = LeakyReLU(0.1), "relu", "sigmoid", "tanh", "linear");
        `first_act` overrides the first layer's.
    strided_kernel: downsample with Conv2D(kernel=strided_kernel, strides=2) instead of conv + MaxPool.
    transpose_kernel: upsample with Conv2DTranspose(kernel=transpose_kernel, strides=2) instead of
        conv-transpose + UpSampling2D.
    code: ("conv", channels) for a 1x1 conv bottleneck, ("dense", units) for a dense one.
    decoder: "mirror", or "single" (one UpSampling2D to full size, then only the output conv).
    skip: concatenate the first encoder layer's output into the decoder before the output conv (U-Net).
    out_channels: output channels (default: the input's). crop: Cropping2D(crop) before the output.
    Hidden conv layers use `k_init` / `b_init`; BatchNormalization follows each when `bn`.
    """
    import keras
    from keras import layers

    def hidden(x, f, k, where, transpose=False, strides=1, activation=act):
        cls = layers.Conv2DTranspose if transpose else layers.Conv2D
        inline = activation in ("relu", "sigmoid", "tanh") and not bn
        x = cls(f, k, strides=strides, padding="same", kernel_initializer=k_init, bias_initializer=b_init,
                activation=activation if inline else None, name=where)(x)
        if bn:
            x = layers.BatchNormalization(name=f"{where}_bn")(x)
        return x if inline else _act(x, activation, where)

    kernels = list(kernel) if isinstance(kernel, (list, tuple)) else [kernel] * len(filters)
    inputs = keras.Input(shape=tuple(shape), name="image")
    x, skip_src = inputs, None
    for i, f in enumerate(filters):
        a = first_act if (i == 0 and first_act) else act
        if strided_kernel:
            x = hidden(x, f, strided_kernel, f"enc{i + 1}", strides=2, activation=a)
        else:
            x = hidden(x, f, kernels[i], f"enc{i + 1}", activation=a)
            skip_src = x if skip_src is None else skip_src  # full resolution, before the first pooling
            if pool:
                x = layers.MaxPool2D(2, padding="same", name=f"enc{i + 1}_pool")(x)
    if code and code[0] == "conv":
        x = hidden(x, code[1], 1, "code")
    elif code and code[0] == "dense":
        h, w, c = x.shape[1:]
        x = layers.Flatten(name="code_flatten")(x)
        x = layers.Dense(code[1], name="code_dense")(x)
        x = _act(x, act, "code")
        x = layers.Dense(h * w * c, name="code_expand")(x)
        x = _act(x, act, "code_expand")
        x = layers.Reshape((h, w, c), name="code_reshape")(x)
    if decoder == "single":
        if pool or strided_kernel:
            x = layers.UpSampling2D(2 ** len(filters), name="dec_up")(x)
    else:
        for j, f in enumerate(reversed(filters)):
            k = kernels[len(filters) - 1 - j]
            if transpose_kernel:
                x = hidden(x, f, transpose_kernel, f"dec{j + 1}", transpose=True, strides=2)
            elif strided_kernel:  # kernel 4 at stride 2: no checkerboard to confound the case
                x = hidden(x, f, 4, f"dec{j + 1}", transpose=True, strides=2)
            else:
                x = hidden(x, f, k, f"dec{j + 1}", transpose=True)
                if pool:
                    x = layers.UpSampling2D(2, name=f"dec{j + 1}_up")(x)
    if skip:
        x = layers.Concatenate(name="skip_concat")([x, skip_src])
    if crop:
        x = layers.Cropping2D(crop, name="crop")(x)
    out = layers.Conv2D(out_channels or shape[-1], 3, padding="same", activation=out_act, name="output")(x)
    return keras.Model(inputs, out, name=name)


def compiled(model, optimizer="adam", lr=1e-3, loss="mse", momentum=0.0):
    import keras

    if optimizer == "adam":
        opt = keras.optimizers.Adam(learning_rate=lr)
    elif optimizer == "sgd":
        opt = keras.optimizers.SGD(learning_rate=lr, momentum=momentum)
    else:
        raise ValueError(optimizer)
    model.compile(optimizer=opt, loss=loss)
    return model


def seed_preset(shape, leaky: bool, out_act: str, name: str):
    """The field notes' CAE exactly as caedoctor.models.presets builds it (seed_bad / seed_better)."""
    import keras
    from keras import layers

    def conv(transpose, f, x, where):
        cls = layers.Conv2DTranspose if transpose else layers.Conv2D
        if leaky:
            return layers.LeakyReLU(negative_slope=0.1, name=f"{where}_leaky")(cls(f, 3, padding="same", name=where)(x))
        return cls(f, 3, padding="same", activation="relu", name=where)(x)

    inputs = keras.Input(shape=tuple(shape), name="image")
    x = conv(False, 32, inputs, "enc_conv1")
    x = layers.MaxPool2D(2, padding="same", name="enc_pool1")(x)
    x = conv(False, 64, x, "enc_conv2")
    x = layers.MaxPool2D(2, padding="same", name="enc_pool2")(x)
    x = conv(True, 64, x, "dec_convt1")
    x = layers.UpSampling2D(2, name="dec_up1")(x)
    x = conv(True, 32, x, "dec_convt2")
    x = layers.UpSampling2D(2, name="dec_up2")(x)
    out = layers.Conv2DTranspose(shape[-1], 3, padding="same", activation=out_act, name="dec_output")(x)
    return keras.Model(inputs, out, name=name)


# ------------------------------------------------------------------------------------------------ cases

@dataclass
class Variant:
    """One concrete set-up: data, a factory for the compiled model, and the batch size."""

    data: DataSet
    model: Callable  # () -> compiled keras.Model
    batch_size: int = 32


@dataclass
class Case:
    id: str
    dataset: str  # cifar10 | fmnist | patches32
    injected: tuple  # causes injected (empty for a healthy control)
    fixes: dict  # cause -> the change that removes it (what ground_truth.py trains as "fixed")
    build: Callable  # (fixed: frozenset of causes) -> Variant
    expected_verdicts: tuple  # verdicts a correct diagnosis may give
    also_acceptable: tuple = ()  # other causes this injection legitimately is (not required, not wrong)
    static: tuple = ()  # injected causes whose ground truth is static (no loss effect to measure)
    note: str = ""

    @property
    def healthy(self) -> bool:
        return not self.injected

    def variant(self, fixed=()) -> Variant:
        return self.build(frozenset(fixed))

    def describe(self) -> dict:
        return {"id": self.id, "dataset": self.dataset, "injected": list(self.injected), "fixes": self.fixes,
                "expected_verdicts": list(self.expected_verdicts), "also_acceptable": list(self.also_acceptable),
                "static": list(self.static), "note": self.note}


def _m(shape, opt="adam", lr=1e-3, loss="mse", momentum=0.0, **arch):
    return lambda: compiled(cae(shape, **arch), opt, lr, loss, momentum)


C, F = (32, 32, 3), (28, 28, 1)
LR_HIGH, LR_LOW = "learning_rate_too_high", "learning_rate_too_low"


def _cases() -> list:
    cases = []

    def add(id, dataset, injected, fixes, build, expected, **kw):
        cases.append(Case(id, dataset, tuple(injected), fixes, build, tuple(expected), **kw))

    # ---- learning rate
    add("lr_high_adam_p32", "patches32", [LR_HIGH], {LR_HIGH: "Adam lr 0.05 -> 1e-3"},
        lambda fx: Variant(p32(), _m(C, lr=1e-3 if LR_HIGH in fx else 0.05)), BROKEN)
    add("lr_high_sgd_fmnist", "fmnist", [LR_HIGH], {LR_HIGH: "SGD(momentum 0.9) lr 3.0 -> 0.01"},
        lambda fx: Variant(fmnist(), _m(F, "sgd", 0.01 if LR_HIGH in fx else 3.0, momentum=0.9)), BROKEN)
    add("lr_low_adam_cifar", "cifar10", [LR_LOW], {LR_LOW: "Adam lr 1e-6 -> 1e-3"},
        lambda fx: Variant(cifar(), _m(C, lr=1e-3 if LR_LOW in fx else 1e-6)), ("slow", "not_converging"))
    add("lr_low_sgd_p32", "patches32", [LR_LOW], {LR_LOW: "SGD lr 1e-5 -> 0.05 (momentum 0.9 both)"},
        lambda fx: Variant(p32(), _m(C, "sgd", 0.05 if LR_LOW in fx else 1e-5, momentum=0.9)),
        ("slow", "not_converging"))

    # ---- output range, data scaling, loss
    add("out_sigmoid_signed_cifar", "cifar10", ["output_activation_range"],
        {"output_activation_range": "sigmoid -> tanh output for [-1, 1] data"},
        lambda fx: Variant(cifar("signed"), _m(C, out_act="tanh" if fx else "sigmoid")), PROBLEM)
    add("out_relu_standard_fmnist", "fmnist", ["output_activation_range"],
        {"output_activation_range": "relu -> linear output for standardised data"},
        lambda fx: Variant(fmnist("standard"), _m(F, out_act="linear" if fx else "relu")), PROBLEM)
    add("raw255_cifar", "cifar10", ["data_not_normalized"],
        {"data_not_normalized": "inputs and targets / 255 (linear output either way)"},
        lambda fx: Variant(cifar("unit" if fx else "raw"), _m(C, out_act="linear")), CONVERGING,
        note="Adam is nearly scale-invariant: the ground truth finds no clear effect (a test of refutation)")
    add("raw255_sgd_fmnist", "fmnist", ["data_not_normalized"],
        {"data_not_normalized": "inputs and targets / 255 (SGD 0.01, momentum 0.9, linear output either way)"},
        lambda fx: Variant(fmnist("unit" if fx else "raw"), _m(F, "sgd", 0.01, momentum=0.9, out_act="linear")),
        BROKEN, also_acceptable=(LR_HIGH, "exploding_gradients"),
        note="with SGD the gradients scale with the data: a lower rate is an alternative fix")
    add("target255_cifar", "cifar10", ["target_input_mismatch"],
        {"target_input_mismatch": "targets / 255 like the inputs (linear output either way)"},
        lambda fx: Variant(cifar("unit" if fx else "target255"), _m(C, out_act="linear")), ANY_TRAINING)
    add("bce_signed_fmnist", "fmnist", ["loss_data_mismatch"],
        {"loss_data_mismatch": "binary cross-entropy -> MSE for [-1, 1] targets"},
        lambda fx: Variant(fmnist("signed"), _m(F, loss="mse" if fx else "binary_crossentropy", out_act="tanh")),
        BROKEN, also_acceptable=("loss_choice",),
        note="BCE on a tanh output: CAE206 (loss_choice) described the same defect from the output side; since "
             "43af5c2 it stays silent on targets outside [0, 1], which are CAE204's")
    add("bce_linear_cifar", "cifar10", ["loss_choice"],
        {"loss_choice": "linear -> sigmoid output under binary cross-entropy"},
        lambda fx: Variant(cifar(), _m(C, loss="binary_crossentropy", out_act="sigmoid" if fx else "linear")),
        ANY_TRAINING, also_acceptable=("output_activation_range",),
        note="the fix is the output activation, so output_activation_range names it too")

    # ---- cannot train at all
    add("shape_pool3_fmnist", "fmnist", ["shape_mismatch"],
        {"shape_mismatch": "Cropping2D(2) before the output: 32x32 -> 28x28"},
        lambda fx: Variant(fmnist(), _m(F, filters=(32, 64, 64), crop=2 if fx else 0)), INVALID)
    add("shape_channels_cifar", "cifar10", ["shape_mismatch"],
        {"shape_mismatch": "output conv with 3 channels instead of 1"},
        lambda fx: Variant(cifar(), _m(C, out_channels=3 if fx else 1)), INVALID,
        note="Keras broadcasts (32,32,1) against (32,32,3) in MSE, so plain fit trains without an error")
    add("nan_cifar", "cifar10", ["nan_in_data"], {"nan_in_data": "drop the images holding NaN"},
        lambda fx: Variant(_drop_nonfinite(_with_nonfinite(cifar(), np.nan, 0.01)) if fx
                           else _with_nonfinite(cifar(), np.nan, 0.01), _m(C)), INVALID)
    add("inf_fmnist", "fmnist", ["nan_in_data"], {"nan_in_data": "drop the images holding Inf"},
        lambda fx: Variant(_drop_nonfinite(_with_nonfinite(fmnist(), np.inf, 0.005)) if fx
                           else _with_nonfinite(fmnist(), np.inf, 0.005), _m(F)), INVALID)

    # ---- data quantity
    add("few_images_fmnist", "fmnist", ["insufficient_data"],
        {"insufficient_data": "train on 5,940 images instead of 108 (both scored on the same 660 others)"},
        lambda fx: Variant(_more("fmnist", 120) if fx else _few("fmnist", 120), _m(F)), ANY_TRAINING,
        also_acceptable=("overfitting",),
        note="108 training images: the model overfits them, so overfitting names the defect too (as "
             "overfit_dense_fmnist accepts insufficient_data)")
    add("overfit_dense_fmnist", "fmnist", ["overfitting"],
        {"overfitting": "train on 5,940 images instead of 270 (both scored on the same 660 others)"},
        lambda fx: Variant(_more("fmnist", 300) if fx else _few("fmnist", 300),
                           _m(F, code=("dense", 1024))), ("overfitting", "slow"),
        also_acceptable=("insufficient_data",),
        note="a 6.4M-parameter dense code on 270 training images; more data is the fix, so insufficient_data names it too")

    # ---- architecture
    add("narrow_conv_cifar", "cifar10", ["bottleneck_too_narrow"],
        {"bottleneck_too_narrow": "1x1 code conv 1 -> 16 channels at 4x4 (16 -> 256 values)"},
        lambda fx: Variant(cifar(), _m(C, filters=(32, 64, 128), code=("conv", 16 if fx else 1))), PROBLEM)
    add("narrow_dense_fmnist", "fmnist", ["bottleneck_too_narrow"],
        {"bottleneck_too_narrow": "Dense code 2 -> 64 units"},
        lambda fx: Variant(fmnist(), _m(F, code=("dense", 64 if fx else 2))), PROBLEM)
    add("unet_skip_cifar", "cifar10", ["bottleneck_bypass"],
        {"bottleneck_bypass": "remove the full-resolution skip connection"},
        lambda fx: Variant(cifar(), _m(C, filters=(32, 64, 128), code=("conv", 8), skip=not fx)), CONVERGING,
        static=("bottleneck_bypass",), note="static: the skip makes the loss easier, not harder")
    add("overcomplete_p32", "patches32", ["bottleneck_bypass"],
        {"bottleneck_bypass": "pool twice and narrow the code to 16 channels at 8x8 (1,024 values)"},
        lambda fx: Variant(p32(), _m(C, filters=(32, 64), code=("conv", 16)) if fx
                           else _m(C, filters=(32, 64), pool=False)), CONVERGING,
        static=("bottleneck_bypass",), note="static: no pooling, 65,536 code values for 3,072 inputs")
    add("thin_decoder_cifar", "cifar10", ["capacity_mismatch"],
        {"capacity_mismatch": "mirrored 3-layer decoder instead of UpSampling(8) + output conv"},
        lambda fx: Variant(cifar(), _m(C, filters=(64, 128, 256), decoder="mirror" if fx else "single")), ("slow", "not_converging"))
    add("kernel9_fmnist", "fmnist", ["kernel_too_large"], {"kernel_too_large": "9x9 -> 3x3 kernels"},
        lambda fx: Variant(fmnist(), _m(F, kernel=3 if fx else 9)), CONVERGING,
        note="the 9x9 decoder kernel runs on a 7x7 map (CAE305)")
    add("rf_gaps_cifar", "cifar10", ["receptive_field_too_small"],
        {"receptive_field_too_small": "strided encoder convs 1x1 -> 3x3 (no input pixel skipped)"},
        lambda fx: Variant(cifar(), _m(C, strided_kernel=3 if fx else 1)), PROBLEM,
        note="1x1 kernels at stride 2 never read 3 of every 4 pixels")
    add("checkerboard_cifar", "cifar10", ["checkerboard_artifacts"],
        {"checkerboard_artifacts": "Conv2DTranspose stride 2 kernel 3 -> 4"},
        lambda fx: Variant(cifar(), _m(C, transpose_kernel=4 if fx else 3)), CONVERGING)

    # ---- activations and gradients
    add("dead_relu_bias_cifar", "cifar10", ["dead_relu"],
        {"dead_relu": "ReLU -> LeakyReLU(0.1) (bias initialiser -1 kept)"},
        lambda fx: Variant(cifar(), _m(C, act="leaky" if fx else "relu", b_init=_const(-1.0))), BROKEN)
    add("tanh_big_init_cifar", "cifar10", ["saturated_activation"],
        {"saturated_activation": "kernel initialiser N(0, 1) -> Glorot uniform (tanh kept)"},
        lambda fx: Variant(cifar(), _m(C, act="tanh", k_init="glorot_uniform" if fx else _normal(1.0))), PROBLEM)
    add("sigmoid_stack_p32", "patches32", ["vanishing_gradients"],
        {"vanishing_gradients": "6 hidden sigmoid layers -> LeakyReLU(0.1)"},
        lambda fx: Variant(p32(), _m(C, filters=(32, 64, 64), act="leaky" if fx else "sigmoid")), ANY_TRAINING)
    add("big_init_sgd_fmnist", "fmnist", ["exploding_gradients"],
        {"exploding_gradients": "kernel initialiser N(0, 0.5) -> Glorot uniform (SGD 0.01, momentum 0.9)"},
        lambda fx: Variant(fmnist(), _m(F, "sgd", 0.01, momentum=0.9, act="leaky",
                                        k_init="glorot_uniform" if fx else _normal(0.5))), BROKEN,
        also_acceptable=(LR_HIGH,), note="huge activations make any SGD rate too high; lowering it is a fix too")

    # ---- batch size (the ground truth compares at an equal number of training samples, not steps)
    add("bn_batch2_cifar", "cifar10", ["batch_size_too_small"],
        {"batch_size_too_small": "batch 2 -> 32 with BatchNormalization"},
        lambda fx: Variant(cifar(), _m(C, bn=True), 32 if fx else 2), ANY_TRAINING)
    add("batch256_small_fmnist", "fmnist", ["batch_size_too_large"],
        {"batch_size_too_large": "batch 256 -> 32 on 540 training images"},
        lambda fx: Variant(_few("fmnist", 600), _m(F), 32 if fx else 256), ANY_TRAINING)

    # ---- two faults
    add("lr_high_raw255_cifar", "cifar10", [LR_HIGH, "data_not_normalized"],
        {LR_HIGH: "Adam lr 0.02 -> 1e-3", "data_not_normalized": "inputs and targets / 255"},
        lambda fx: Variant(cifar("unit" if "data_not_normalized" in fx else "raw"),
                           _m(C, lr=1e-3 if LR_HIGH in fx else 0.02, out_act="linear")), PROBLEM)
    add("dead_relu_lr_low_p32", "patches32", ["dead_relu", LR_LOW],
        {"dead_relu": "ReLU -> LeakyReLU(0.1)", LR_LOW: "Adam lr 1e-5 -> 1e-3"},
        lambda fx: Variant(p32(), _m(C, lr=1e-3 if LR_LOW in fx else 1e-5, act="leaky" if "dead_relu" in fx else "relu",
                                     b_init=_const(-1.0))), BROKEN)
    add("narrow_signed_fmnist", "fmnist", ["output_activation_range", "bottleneck_too_narrow"],
        {"output_activation_range": "sigmoid -> tanh output", "bottleneck_too_narrow": "Dense code 2 -> 64"},
        lambda fx: Variant(fmnist("signed"), _m(F, out_act="tanh" if "output_activation_range" in fx else "sigmoid",
                                                code=("dense", 64 if "bottleneck_too_narrow" in fx else 2))), BROKEN)

    # ---- healthy controls
    add("healthy_seed_bad_p32", "patches32", [], {},
        lambda fx: Variant(p32(), lambda: compiled(seed_preset(C, False, "linear", "seed_bad"))), CONVERGING,
        note="the field notes' 'bad' CAE (ReLU, linear output); measured to converge")
    add("healthy_seed_better_p32", "patches32", [], {},
        lambda fx: Variant(p32(), lambda: compiled(seed_preset(C, True, "sigmoid", "seed_better"))), CONVERGING)
    add("healthy_seed_better_cifar", "cifar10", [], {},
        lambda fx: Variant(cifar(), lambda: compiled(seed_preset(C, True, "sigmoid", "seed_better"))), CONVERGING)
    add("healthy_seed_better_fmnist", "fmnist", [], {},
        lambda fx: Variant(fmnist(), lambda: compiled(seed_preset(F, True, "sigmoid", "seed_better"))), CONVERGING)
    add("healthy_bn_relu_cifar", "cifar10", [], {},
        lambda fx: Variant(cifar(), _m(C, act="relu", bn=True), 64), CONVERGING)
    add("healthy_dense64_fmnist", "fmnist", [], {},
        lambda fx: Variant(fmnist(), _m(F, code=("dense", 64))), CONVERGING)
    add("healthy_tanh_signed_cifar", "cifar10", [], {},
        lambda fx: Variant(cifar("signed"), _m(C, out_act="tanh")), CONVERGING)
    return cases


def _const(value: float):
    import keras

    return keras.initializers.Constant(value)


def _normal(std: float):
    import keras

    return keras.initializers.RandomNormal(stddev=std, seed=None)


CASES = _cases()
BY_ID = {c.id: c for c in CASES}
# The healthy reference per data set for the repair benchmark: the field notes' seed_better on it.
HEALTHY_REFERENCE = {"patches32": "healthy_seed_better_p32", "cifar10": "healthy_seed_better_cifar",
                     "fmnist": "healthy_seed_better_fmnist"}


def select(ids: str | None) -> list:
    if not ids:
        return list(CASES)
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    unknown = [i for i in wanted if i not in BY_ID]
    if unknown:
        raise SystemExit(f"unknown case id(s): {', '.join(unknown)}; known: {', '.join(BY_ID)}")
    return [BY_ID[i] for i in wanted]


if __name__ == "__main__":
    for c in CASES:
        print(json.dumps(c.describe()))
