"""Declarative CAE specs (`spec.yaml` / `spec.json`), validated with messages that name the bad field.

Example::

    encoder:
      - {filters: 32, kernel: 3, activation: relu, pool: 2}
      - {filters: 64, kernel: 3, activation: relu, pool: 2}
    bottleneck: {filters: 16, kernel: 1}        # optional; or {dense: 128}
    decoder: mirror                            # or a list of {filters, kernel, activation, upsample | stride}
    output_activation: sigmoid
    optimizer: adam
    learning_rate: 0.001
    loss: mse
    batch_size: 32

A mirrored decoder walks the encoder backwards: Conv2DTranspose(filters, kernel, stride) then
UpSampling2D(pool) per block, then a final Conv2DTranspose to the input's channels with the output activation.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import keras
from keras import layers

from caedoctor.config import TrainConfig
from caedoctor.errors import ConfigError, ModelError

ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "gelu", "swish", "tanh", "sigmoid", "linear")
_TOP = {"name", "encoder", "bottleneck", "decoder", "output_activation", "optimizer", "learning_rate", "loss",
        "batch_size"}
_ENCODER_BLOCK = {"filters", "kernel", "activation", "pool", "stride", "batch_norm"}
_DECODER_BLOCK = {"filters", "kernel", "activation", "upsample", "stride", "batch_norm"}
_BOTTLENECK = {"filters", "kernel", "activation", "dense"}


def read_spec_file(path: Path) -> dict:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the spec ({exc.strerror})") from None
    except UnicodeDecodeError:  # a binary or damaged file: YAML and JSON specs are UTF-8 text
        raise ModelError(f"{path}: not a text file (a spec is UTF-8 YAML or JSON)") from None
    try:
        if path.suffix.lower() == ".json":
            spec = json.loads(text)
        else:
            import yaml

            spec = yaml.safe_load(text)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'} ({first})") from None
    if not isinstance(spec, dict):
        raise ModelError(f"{path}: a spec must be a mapping with at least an 'encoder' list")
    return spec


def _unknown(where: str, given: dict, allowed: set) -> None:
    for key in given:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(sorted(allowed))}"
            raise ConfigError(f"spec {where}: unknown field '{key}'{hint}")


def _positive_int(where: str, value, default=None, minimum: int = 1) -> int:
    if value is None and default is not None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"spec {where} must be an integer >= {minimum}, got {value!r}")
    return value


def _kernel(where: str, value):
    if value is None:
        return (3, 3)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(_positive_int(where, v) for v in value)
    k = _positive_int(where, value)
    return (k, k)


def _activation(where: str, value, default="relu") -> str:
    value = default if value is None else value
    if value not in ACTIVATIONS:
        raise ConfigError(f"spec {where} must be one of {', '.join(ACTIVATIONS)}, got {value!r}")
    return value


def _block(where: str, block, allowed: set) -> dict:
    if not isinstance(block, dict):
        raise ConfigError(f"spec {where} must be a mapping like {{filters: 32, kernel: 3}}, got {block!r}")
    _unknown(where, block, allowed)
    if "filters" not in block:
        raise ConfigError(f"spec {where}.filters is required")
    out = {
        "filters": _positive_int(f"{where}.filters", block["filters"]),
        "kernel": _kernel(f"{where}.kernel", block.get("kernel")),
        "activation": _activation(f"{where}.activation", block.get("activation")),
        "stride": _positive_int(f"{where}.stride", block.get("stride"), default=1),
        "batch_norm": bool(block.get("batch_norm", False)),
    }
    key = "pool" if "pool" in allowed else "upsample"
    out[key] = _positive_int(f"{where}.{key}", block.get(key), default=1)
    return out


def _model_name(value) -> str:
    # The name becomes TensorFlow's root name scope when the model runs, and Keras refuses "/": anything
    # else would fail later as an unexpected ValueError instead of naming the field.
    name = str(value)
    if len(name) > 200 or not re.fullmatch(r"[A-Za-z0-9.][A-Za-z0-9_.>-]*", name):
        raise ConfigError(f"spec name must be letters, digits and _ . - > (starting with a letter or digit), "
                          f"got {name[:60]!r}")
    return name


# A hostile or mistyped spec (filters: 1000000) would make Keras allocate its weights while building,
# before any check could run, and take the machine's memory. CAEs have thousands to millions of weights.
MAX_PARAMETERS = 100_000_000


def _parameter_count(spec: dict, input_shape) -> int:
    """The weights a validated spec's model would have, counted before building it."""
    h, w, c = (int(v) for v in input_shape)
    total = 0

    def conv(block, c_in):
        kh, kw = block["kernel"]
        f = block["filters"]
        return kh * kw * c_in * f + f + (4 * f if block.get("batch_norm") else 0)

    for block in spec["encoder"]:
        total += conv(block, c)
        c = block["filters"]
        for step in (block["stride"], block["pool"]):
            h, w = -(-h // step), -(-w // step)
    bottleneck = spec["bottleneck"]
    if bottleneck and "dense" in bottleneck:
        flat = h * w * c
        total += 2 * flat * bottleneck["dense"] + bottleneck["dense"] + flat
    elif bottleneck:
        total += conv(bottleneck, c)
        c = bottleneck["filters"]
    decoder = spec["encoder"][::-1] if spec["decoder"] == "mirror" else spec["decoder"]
    for block in decoder:
        total += conv(block, c)
        c = block["filters"]
    kh, kw = spec["encoder"][0]["kernel"]
    return total + kh * kw * c * int(input_shape[-1]) + int(input_shape[-1])


def validate_spec(spec: dict) -> dict:
    """Check every field; return the spec with defaults filled in. Raises `ConfigError` naming the field."""
    _unknown("(top level)", spec, _TOP)
    encoder = spec.get("encoder")
    if not isinstance(encoder, list) or not encoder:
        raise ConfigError("spec encoder must be a non-empty list of blocks like {filters: 32, kernel: 3, pool: 2}")
    clean = {"name": _model_name(spec.get("name", "spec_cae")),
             "encoder": [_block(f"encoder[{i}]", b, _ENCODER_BLOCK) for i, b in enumerate(encoder)]}
    bottleneck = spec.get("bottleneck")
    if bottleneck is not None:
        if not isinstance(bottleneck, dict):
            raise ConfigError(f"spec bottleneck must be a mapping like {{filters: 16}} or {{dense: 128}}, got {bottleneck!r}")
        _unknown("bottleneck", bottleneck, _BOTTLENECK)
        if ("dense" in bottleneck) == ("filters" in bottleneck):
            raise ConfigError("spec bottleneck needs exactly one of 'filters' (a conv layer) or 'dense' (units)")
        if "dense" in bottleneck:
            bottleneck = {"dense": _positive_int("bottleneck.dense", bottleneck["dense"]),
                          "activation": _activation("bottleneck.activation", bottleneck.get("activation"))}
        else:
            bottleneck = {"filters": _positive_int("bottleneck.filters", bottleneck["filters"]),
                          "kernel": _kernel("bottleneck.kernel", bottleneck.get("kernel", 1)),
                          "activation": _activation("bottleneck.activation", bottleneck.get("activation"))}
    clean["bottleneck"] = bottleneck
    decoder = spec.get("decoder", "mirror")
    if decoder == "mirror":
        clean["decoder"] = "mirror"
    elif isinstance(decoder, list) and decoder:
        clean["decoder"] = [_block(f"decoder[{i}]", b, _DECODER_BLOCK) for i, b in enumerate(decoder)]
    else:
        raise ConfigError(f"spec decoder must be 'mirror' or a non-empty list of blocks, got {decoder!r}")
    clean["output_activation"] = _activation("output_activation", spec.get("output_activation"), "sigmoid")
    optimizer = str(spec.get("optimizer", "adam")).lower()
    lr = spec.get("learning_rate")  # None: the optimizer's Keras default
    if isinstance(lr, str):
        try:
            lr = float(lr)
        except ValueError:
            raise ConfigError(f"spec learning_rate must be a number, got {lr!r}") from None
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float))):
        raise ConfigError(f"spec learning_rate must be a number, got {lr!r}")
    loss = spec.get("loss", "mse")
    if not isinstance(loss, str):
        raise ConfigError(f"spec loss must be a loss name (mse, mae, huber, bce, ssim, ...), got {loss!r}")
    try:
        clean["config"] = TrainConfig.create(optimizer, lr, loss, spec.get("batch_size", 32), origin="spec")
    except ConfigError as exc:
        raise ConfigError(f"spec: {exc}") from None
    return clean


def _act(x, name: str, where: str):
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.1, name=f"{where}_leaky")(x)
    if name == "linear":
        return x
    return layers.Activation(name, name=f"{where}_{name}")(x)


def _conv_block(x, block: dict, transpose: bool, where: str):
    cls = layers.Conv2DTranspose if transpose else layers.Conv2D
    x = cls(block["filters"], block["kernel"], strides=block["stride"], padding="same", name=f"{where}_conv")(x)
    if block["batch_norm"]:
        x = layers.BatchNormalization(name=f"{where}_bn")(x)
    x = _act(x, block["activation"], where)
    pool = block.get("pool", 1)
    if pool > 1:
        x = layers.MaxPool2D(pool, padding="same", name=f"{where}_pool")(x)
    up = block.get("upsample", 1)
    if up > 1:
        x = layers.UpSampling2D(up, name=f"{where}_up")(x)
    return x


def build_from_spec(spec: dict, input_shape) -> tuple[keras.Model, TrainConfig]:
    """Build the Keras model a (validated) spec describes, for `input_shape`."""
    spec = validate_spec(spec)
    count = _parameter_count(spec, input_shape)
    if count > MAX_PARAMETERS:
        raise ConfigError(f"spec describes a model with {count:,} weights for input {tuple(input_shape)}, over "
                          f"caedoctor's limit of {MAX_PARAMETERS:,}; check the filters, kernel and dense sizes")
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, block in enumerate(spec["encoder"]):
        x = _conv_block(x, block, transpose=False, where=f"enc{i + 1}")
    bottleneck = spec["bottleneck"]
    if bottleneck and "dense" in bottleneck:
        shape = tuple(x.shape[1:])
        x = layers.Flatten(name="bottleneck_flatten")(x)
        x = layers.Dense(bottleneck["dense"], name="bottleneck_dense")(x)
        x = _act(x, bottleneck["activation"], "bottleneck")
        x = layers.Dense(shape[0] * shape[1] * shape[2], name="bottleneck_expand")(x)
        x = _act(x, bottleneck["activation"], "bottleneck_expand")
        x = layers.Reshape(shape, name="bottleneck_reshape")(x)
    elif bottleneck:
        x = layers.Conv2D(bottleneck["filters"], bottleneck["kernel"], padding="same", name="bottleneck_conv")(x)
        x = _act(x, bottleneck["activation"], "bottleneck")
    if spec["decoder"] == "mirror":
        decoder = [{"filters": b["filters"], "kernel": b["kernel"], "activation": b["activation"],
                    "stride": b["stride"], "batch_norm": b["batch_norm"], "upsample": b["pool"]}
                   for b in reversed(spec["encoder"])]
    else:
        decoder = spec["decoder"]
    for i, block in enumerate(decoder):
        x = _conv_block(x, block, transpose=True, where=f"dec{i + 1}")
    kernel = spec["encoder"][0]["kernel"]
    outputs = layers.Conv2DTranspose(input_shape[-1], kernel, padding="same", name="output_conv")(x)
    outputs = _act(outputs, spec["output_activation"], "output")
    return keras.Model(inputs, outputs, name=spec["name"]), spec["config"]
