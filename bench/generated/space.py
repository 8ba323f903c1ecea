"""The space healthy base CAEs are drawn from, and the drawing under constraints (a fault's preconditions).

A case's spec is a plain JSON-able dict of three parts: `data` (which real images, how many, crop size,
channels, value range), `model` (the CAE's layers) and `train` (optimizer, learning rate, batch size,
loss). `draw_base(rng, needs)` draws every field from the distribution below, restricted to the values
`needs` allows (an operator's preconditions, e.g. "hidden activation tanh, no BatchNorm"), so a base is
always one a practitioner could have written and that trains well: the output activation is matched to the
data range, the bottleneck keeps 1/8 to 1/2 of the input values, the learning rate comes from a sweep
(generate.py). The fault operators (operators.py) then change a few fields.

Cost is bounded by construction (the ground truth trains every case 3 x 2-4 times on 2 CPU cores):
crops are mostly 16-24 px, full-resolution layers have 8 or 16 filters (doubling per stage up to 64),
5x5 and 7x7 kernels only with 8 filters (7x7 only on crops of at most 20 px), and batch 64 only on 16 px
crops with 3x3 kernels and 8 filters. The cost model is `macs_per_sample`; bench/generated/README.md
gives the measured seconds.
"""

from __future__ import annotations

import copy

import numpy as np

from sources import CHANNELS, SIZES

# field -> ((value, weight), ...); the weights of the allowed values are renormalised. A weight of 0 means
# "only when an operator asks for it" (small data sets for the data-size faults, the 'loose' range).
SOURCES = (("patches32", 0.3), ("cifar10", 0.3), ("fmnist", 0.3), ("faces25", 0.1))
STAGES = ((2, 0.45), (3, 0.4), (4, 0.15))
CROPS = ((16, 0.5), (20, 0.2), (24, 0.2), (28, 0.05), (32, 0.05))
COUNTS = ((300, 0.0), (400, 0.0), (500, 0.0), (600, 0.0), (1000, 0.3), (2000, 0.35), (3000, 0.2), (4000, 0.15))
SMALL_COUNTS = (300, 400, 500, 600)
RANGES = (("unit", 0.6), ("signed", 0.25), ("standard", 0.15), ("loose", 0.0))
OUTPUTS = {"unit": (("sigmoid", 0.7), ("linear", 0.3)), "signed": (("tanh", 0.7), ("linear", 0.3)),
           "standard": (("linear", 1.0),), "loose": (("linear", 1.0),)}
FIRST_FILTERS = ((8, 0.6), (16, 0.4))
KERNELS = ((3, 0.7), (5, 0.22), (7, 0.08))
DOWN = (("pool", 0.6), ("stride", 0.4))
UP = (("upsample", 0.5), ("transpose", 0.5))
TRANSPOSE_KERNELS = ((4, 0.7), (2, 0.3))
BATCHNORM = ((False, 0.7), (True, 0.3))
ACTIVATIONS = (("relu", 0.25), ("leaky_relu", 0.2), ("elu", 0.2), ("tanh", 0.15), ("swish", 0.2))
ACT_STYLES = (("inline", 0.5), ("layer", 0.5))
BOTTLENECKS = (("conv", 0.6), ("dense", 0.4))
CODE_RATIOS = ((0.125, 0.3), (0.25, 0.4), (0.5, 0.3))  # code values / input values
OPTIMIZERS = (("Adam", 0.2), ("AdamW", 0.15), ("SGD", 0.2), ("RMSprop", 0.15), ("Nadam", 0.15), ("Adadelta", 0.15))
BATCHES = ((16, 0.55), (32, 0.4), (64, 0.05))
LOSSES_SIGMOID = (("mse", 0.65), ("binary_crossentropy", 0.2), ("mae", 0.15))
LOSSES_OTHER = (("mse", 0.85), ("mae", 0.15))
# The learning rates the sweep tries on each base (generate.sweep): the usual range of each optimizer, from
# its common default up (a first trial with a lower rate never won in a short sweep).
LR_CANDIDATES = {"Adam": (1e-3, 3e-3, 1e-2), "AdamW": (1e-3, 3e-3, 1e-2), "Nadam": (1e-3, 3e-3, 1e-2),
                 "RMSprop": (3e-4, 1e-3, 3e-3), "SGD": (0.03, 0.1, 0.3), "Adadelta": (1.0, 3.0, 10.0)}
SGD_MOMENTUM = 0.9


class Unsatisfiable(ValueError):
    """The constraints leave no allowed value for a field (two faults that cannot share a base)."""


def _pick(rng: np.random.Generator, field: str, options, needs: dict):
    allowed = needs.get(field)
    opts = [(v, w) for v, w in options if allowed is None or v in allowed]
    if not opts:
        raise Unsatisfiable(f"{field}: none of {[v for v, _ in options]} is allowed by {sorted(allowed)}")
    weights = np.array([w for _, w in opts], float)
    if weights.sum() == 0:  # only zero-weight values remain: an operator asked for one of them
        weights = np.ones(len(opts))
    return opts[int(rng.choice(len(opts), p=weights / weights.sum()))][0]


def merge_needs(*needs: dict) -> dict:
    """The intersection of several constraint dicts (field -> allowed values); raises Unsatisfiable."""
    out: dict = {}
    for need in needs:
        for field, allowed in need.items():
            out[field] = tuple(v for v in out[field] if v in allowed) if field in out else tuple(allowed)
            if not out[field]:
                raise Unsatisfiable(f"{field}: the constraints exclude every value")
    return out


def draw_base(rng: np.random.Generator, needs: dict | None = None, tries: int = 200) -> dict:
    """A healthy base CAE spec drawn from the space, within `needs` (field -> allowed values).

    Fields are drawn in order (source, stages, crop, ...); when an early choice leaves a later field no
    allowed value (faces25 has 200 images, a fault needs 300-600), the draw starts again from the same
    generator, so the result is still a function of the generator's seed.
    """
    for _ in range(tries):
        try:
            return _draw(rng, needs or {})
        except Unsatisfiable as exc:
            last = exc
    raise Unsatisfiable(f"no base within the constraints after {tries} draws ({last})")


def _draw(rng: np.random.Generator, needs: dict) -> dict:
    source = _pick(rng, "data.source", SOURCES, needs)
    stages = _pick(rng, "model.stages", STAGES, needs)
    crops = [(c, w) for c, w in CROPS if c <= SIZES[source] and c % 2 ** stages == 0]
    crop = _pick(rng, "data.crop", crops, needs)
    channels = 1 if CHANNELS[source] == 1 else _pick(rng, "data.channels", ((3, 0.65), (1, 0.35)), needs)
    if source == "faces25":
        n = _pick(rng, "data.n", ((200, 1.0),), needs)
    else:
        n = _pick(rng, "data.n", COUNTS, needs)
    value_range = _pick(rng, "data.range", RANGES, needs)
    out_act = _pick(rng, "model.out_act", OUTPUTS[value_range], needs)
    losses = LOSSES_SIGMOID if (value_range == "unit" and out_act == "sigmoid") else LOSSES_OTHER
    loss = _pick(rng, "train.loss", losses, needs)
    kernel = _pick(rng, "model.kernel", KERNELS, needs)
    if kernel == 7 and crop > 20:
        raise Unsatisfiable("7x7 kernels only on crops of at most 20 px")
    first = [(f, w) for f, w in FIRST_FILTERS if f == 8 or kernel == 3]
    f0 = _pick(rng, "model.f0", first, needs)
    filters = [min(64, f0 * 2 ** i) for i in range(stages)]
    down = _pick(rng, "model.down", DOWN, needs)
    up = _pick(rng, "model.up", UP, needs)
    transpose_kernel = _pick(rng, "model.transpose_kernel", TRANSPOSE_KERNELS, needs) if up == "transpose" else 4
    bn = _pick(rng, "model.bn", BATCHNORM, needs)
    act = _pick(rng, "model.act", ACTIVATIONS, needs)
    style = _pick(rng, "model.act_style", ACT_STYLES, needs)
    kind = _pick(rng, "model.bottleneck_kind", BOTTLENECKS, needs)
    ratio = _pick(rng, "model.code_ratio", CODE_RATIOS, needs)
    inputs = crop * crop * channels
    m = crop // 2 ** stages
    if kind == "conv":
        bottleneck = {"kind": "conv", "channels": int(min(128, max(2, round(ratio * inputs / (m * m)))))}
    else:
        bottleneck = {"kind": "dense", "units": int(min(512, max(16, round(ratio * inputs))))}
    optimizer = _pick(rng, "train.optimizer", OPTIMIZERS, needs)
    batches = [(b, w) for b, w in BATCHES if b <= 32 or (crop <= 16 and f0 == 8 and kernel == 3)]
    batch = _pick(rng, "train.batch", batches, needs)
    return {
        "data": {"source": source, "n": int(n), "crop": int(crop), "channels": int(channels), "range": value_range,
                 "scale255": False, "target": "same", "nonfinite": None, "subset": None},
        "model": {"stages": int(stages), "filters": filters, "kernel": int(kernel),
                  "enc_kernels": [int(kernel)] * stages, "dec_kernels": [int(kernel)] * stages, "code_kernel": 1,
                  "down": down, "up": up, "transpose_kernel": int(transpose_kernel), "bn": bool(bn), "act": act,
                  "act_style": style, "sigmoid_layers": None, "bottleneck": bottleneck, "code_ratio": ratio,
                  "out_act": out_act, "out_channels": None, "out_crop": 0, "drop_last_upsample": False,
                  "kernel_init": None, "bias_init": None, "decoder": "mirror", "skip": None,
                  "dropout": 0.0, "l2": 0.0, "activity_l1": 0.0},
        "train": {"optimizer": optimizer, "lr": None, "lr_default": False,
                  "momentum": SGD_MOMENTUM if optimizer == "SGD" else None, "batch": int(batch), "loss": loss},
    }


def get(spec: dict, field: str):
    part, key = field.split(".", 1)
    return spec[part][key]


def put(spec: dict, field: str, value) -> None:
    part, key = field.split(".", 1)
    spec[part][key] = value


def diff(a: dict, b: dict) -> set:
    """The fields ("part.key") whose values differ between two specs."""
    return {f"{part}.{key}" for part in a for key in set(a[part]) | set(b[part])
            if a[part].get(key) != b[part].get(key)}


def maps(spec: dict) -> dict:
    """The spatial size of the map each kernel slides over: enc[i], dec[j] and the code conv."""
    crop, s, m = spec["data"]["crop"], spec["model"]["stages"], spec["model"]
    enc = [crop // 2 ** i for i in range(s)]  # pooled or strided, a stage's conv reads this size
    code = crop // 2 ** s
    if m["up"] == "upsample":
        dec = [crop // 2 ** (s - 1 - j) for j in range(s)]  # upsampled first, then the conv
    else:
        dec = [crop // 2 ** (s - j) for j in range(s)]  # the transpose conv reads the smaller map
    return {"enc": enc, "dec": dec, "code": code}


def macs_per_sample(spec: dict) -> int:
    """Multiply-accumulates of one forward pass (convs and dense layers): the cost model of the README."""
    d, m = spec["data"], spec["model"]
    crop, c_in, s = d["crop"], d["channels"], m["stages"]
    filters = m["filters"]
    total, ch = 0, c_in
    for i in range(s):
        out = crop // 2 ** (i + 1) if m["down"] == "stride" else crop // 2 ** i
        total += out * out * m["enc_kernels"][i] ** 2 * ch * filters[i]
        ch = filters[i]
    code = crop // 2 ** s
    b = m["bottleneck"]
    if b["kind"] == "conv":
        total += code * code * m["code_kernel"] ** 2 * ch * b["channels"]
        ch = b["channels"]
    else:
        units = b.get("units") if b["kind"] == "dense" else None
        widths = [units] if units else list(b["widths"])
        flat, prev = code * code * ch, code * code * ch
        for w in widths:
            total += prev * w
            prev = w
        total += prev * flat
    dec_filters = [max(2, f // 4) if m["decoder"] == "thin" else f for f in reversed(filters)]
    if m["decoder"] == "single":
        total += crop * crop * 9 * ch * d["channels"]
        return int(total)
    for j, f in enumerate(dec_filters):
        out = crop // 2 ** (s - 1 - j)
        k = m["dec_kernels"][j] if m["up"] == "upsample" else m["transpose_kernel"]
        total += out * out * k * k * ch * f
        ch = f
    total += crop * crop * 9 * ch * d["channels"]
    return int(total)


def copy_spec(spec: dict) -> dict:
    return copy.deepcopy(spec)
