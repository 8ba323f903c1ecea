"""One function per fix kind: `apply_fix(loaded, data, fix) -> (loaded, data)` returns NEW objects.

Model rewrites go through `keras.models.clone_model` (with `clone_function` to swap a layer and
`call_function` to insert one), so the user's model is never mutated and the result is a plain Keras model
that saves and reloads with `safe_mode=True`. Data fixes map the `tf.data` pipelines and record the step in
`Data.preprocessing`, so the same preprocessing can be saved with a repaired model.

Cloned layers get fresh weights: a rewritten model is trained from scratch, like the original probe it is
compared with.
"""

from __future__ import annotations

import dataclasses
import math

import keras
from keras import layers

from caedoctor.config import DEFAULT_LEARNING_RATE
from caedoctor.data import Data
from caedoctor.data.profile import DataProfile, profile_batches
from caedoctor.findings import Fix
from caedoctor.models import LoadedModel

CONV_TYPES = (layers.Conv2D, layers.Conv2DTranspose)
_ACTIVATION_LAYERS = (layers.Activation, layers.ReLU, layers.LeakyReLU, layers.ELU, layers.PReLU)


class NotApplicable(Exception):
    """This fix cannot be applied to this model or data (e.g. no ReLU to replace); the reason is the message."""


# ------------------------------------------------------------------ model helpers

def _output_layer(model: keras.Model):
    """The layer that produces the model's output (a conv layer or a trailing activation layer)."""
    return model.get_layer(model.outputs[0]._keras_history[0].name) if hasattr(model.outputs[0], "_keras_history") \
        else model.layers[-1]


def _clone(model: keras.Model, clone_function=None, call_function=None) -> keras.Model:
    kwargs = {}
    if clone_function is not None:
        kwargs["clone_function"] = clone_function
    if call_function is not None:
        kwargs["call_function"] = call_function
    try:
        return keras.models.clone_model(model, **kwargs)
    except Exception as exc:  # subclassed models cannot be cloned layer by layer
        raise NotApplicable(f"the model cannot be rewritten layer by layer ({type(exc).__name__}: {exc})") from None


def _fresh(layer, **changes):
    config = layer.get_config()
    config.update(changes)
    return layer.__class__.from_config(config)


def _activation_name(layer) -> str | None:
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    name = getattr(act, "__name__", None) or str(act)
    return name


def _with_config(loaded: LoadedModel, model: keras.Model | None = None, **config_changes) -> LoadedModel:
    config = dataclasses.replace(loaded.config, origin={**loaded.config.origin, **{k: "fix" for k in config_changes}},
                                 **config_changes)
    config.validate()
    return LoadedModel(model=model if model is not None else loaded.model, config=config, source=loaded.source)


# ------------------------------------------------------------------ model fixes

def set_output_activation(model: keras.Model, activation: str) -> keras.Model:
    out = _output_layer(model)
    if isinstance(out, _ACTIVATION_LAYERS):
        target = out.name

        def swap(layer):
            if layer.name == target:
                return layers.Activation(activation, name=layer.name)
            return _fresh(layer)
    elif hasattr(out, "activation"):
        target = out.name

        def swap(layer):
            return _fresh(layer, activation=activation) if layer.name == target else _fresh(layer)
    else:
        raise NotApplicable(f"the output layer {out.name!r} ({type(out).__name__}) has no activation to change")
    return _clone(model, clone_function=swap)


def _is_output(model, layer) -> bool:
    return layer.name == _output_layer(model).name


def swap_hidden_activation(model: keras.Model, old: str = "relu", new: str = "leaky_relu", names=None) -> keras.Model:
    """Replace activation `old` by `new` in every hidden layer (not the output).

    `leaky_relu` uses slope 0.1 as in the field notes (Keras' string default is 0.2), so a conv layer with
    activation="relu" becomes the same conv with a linear activation followed by a LeakyReLU(0.1) layer.
    """
    changed = []
    output_name = _output_layer(model).name

    def wanted(layer) -> bool:
        return layer.name != output_name and (not names or layer.name in names)

    def swap(layer):
        if not wanted(layer):
            return _fresh(layer)
        if hasattr(layer, "activation") and not isinstance(layer, _ACTIVATION_LAYERS) \
                and _activation_name(layer) == old:
            changed.append(layer.name)
            return _fresh(layer, activation="linear" if new == "leaky_relu" else new)
        if old == "relu" and (isinstance(layer, layers.ReLU) or
                              (isinstance(layer, layers.Activation) and _activation_name(layer) == "relu")):
            changed.append(layer.name)
            if new == "leaky_relu":
                return layers.LeakyReLU(negative_slope=0.1, name=layer.name)
            return layers.Activation(new, name=layer.name)
        return _fresh(layer)

    def call(layer, *args, **kwargs):
        y = layer(*args, **kwargs)
        if new == "leaky_relu" and layer.name in changed and not isinstance(layer, _ACTIVATION_LAYERS):
            y = layers.LeakyReLU(negative_slope=0.1, name=f"{layer.name}_leaky")(y)
        return y

    clone = _clone(model, clone_function=swap, call_function=call)
    if not changed:
        raise NotApplicable(f"no hidden layer uses {old!r}")
    return clone


def add_batchnorm(model: keras.Model, names=None) -> keras.Model:
    """Insert BatchNormalization after each hidden conv layer, *before* its activation.

    A conv layer with a built-in activation (activation="tanh") becomes conv (linear) -> BatchNorm ->
    Activation, so BatchNorm can pull saturated or dead pre-activations back into range; BatchNorm after
    the activation could not.
    """
    output_name = _output_layer(model).name
    wanted = set()

    def swap(layer):
        if isinstance(layer, CONV_TYPES) and layer.name != output_name and (not names or layer.name in names):
            wanted.add(layer.name)
            act = _activation_name(layer)
            if act not in (None, "linear"):
                fresh = _fresh(layer, activation="linear")
                fresh._caedoctor_activation = act
                return fresh
        return _fresh(layer)

    def call(layer, *args, **kwargs):
        y = layer(*args, **kwargs)
        if layer.name in wanted:
            y = layers.BatchNormalization(name=f"{layer.name}_bn")(y)
            act = getattr(layer, "_caedoctor_activation", None)
            if act:
                y = layers.Activation(act, name=f"{layer.name}_{act}")(y)
        return y

    clone = _clone(model, clone_function=swap, call_function=call)
    if not wanted:
        raise NotApplicable("no hidden conv layer to follow with BatchNormalization")
    return clone


def limit_kernels(model: keras.Model, max_kernel: int | None = None, layer_name: str | None = None,
                  kernel: int | None = None, kernels: dict | None = None) -> keras.Model:
    """Set kernel sizes: `kernels` {layer: size}, or `layer_name` to `kernel`, or cap all at `max_kernel`."""
    changed = []

    def swap(layer):
        if isinstance(layer, CONV_TYPES):
            k = tuple(layer.kernel_size)
            if kernels and layer.name in kernels:
                changed.append(layer.name)
                return _fresh(layer, kernel_size=(int(kernels[layer.name]),) * 2)
            if not kernels and layer_name is not None and layer.name == layer_name:
                changed.append(layer.name)
                return _fresh(layer, kernel_size=(kernel, kernel))
            if not kernels and layer_name is None and max_kernel is not None and max(k) > max_kernel:
                changed.append(layer.name)
                return _fresh(layer, kernel_size=(min(k[0], max_kernel), min(k[1], max_kernel)))
        return _fresh(layer)

    clone = _clone(model, clone_function=swap)
    if not changed:
        raise NotApplicable("no conv layer to change")
    return clone


def scale_filters(model: keras.Model, names, factor: float) -> keras.Model:
    """Multiply the width of the named layers by `factor` (at least 1): filters of conv layers, units of
    Dense layers (a dense bottleneck). The layers after them are rebuilt for the new width."""
    names = set(names)
    changed = []

    def swap(layer):
        if layer.name in names and isinstance(layer, CONV_TYPES):
            changed.append(layer.name)
            return _fresh(layer, filters=max(1, int(round(layer.filters * factor))))
        if layer.name in names and isinstance(layer, layers.Dense):
            changed.append(layer.name)
            return _fresh(layer, units=max(1, int(round(layer.units * factor))))
        return _fresh(layer)

    clone = _clone(model, clone_function=swap)
    if not changed:
        raise NotApplicable(f"none of the layers {sorted(names)} is a conv or dense layer")
    return clone


def deepen_decoder(model: keras.Model, encoder_filters: list, upsampling: list) -> keras.Model:
    """Give a decoder without hidden layers the mirror of the encoder: each named UpSampling2D of size 2^k
    becomes k steps of Conv2D(3x3) + LeakyReLU(0.1) + UpSampling2D(2), with the encoder's filters in
    reverse order (the widest first, at the smallest map)."""
    names = set(upsampling)
    filters = list(reversed(encoder_filters)) or [32]
    used = []

    def swap(layer):
        if layer.name in names and isinstance(layer, layers.UpSampling2D):
            size = tuple(layer.size)
            steps = max(1, int(round(math.log2(max(size)))))
            if size[0] != size[1] or 2 ** steps != size[0]:
                return _fresh(layer)
            parts = []
            for i in range(steps):
                f = filters[min(len(used), len(filters) - 1)]
                used.append(f)
                parts += [layers.Conv2D(f, 3, padding="same", name=f"{layer.name}_fix_conv{i + 1}"),
                          layers.LeakyReLU(negative_slope=0.1, name=f"{layer.name}_fix_leaky{i + 1}"),
                          layers.UpSampling2D(2, name=f"{layer.name}_fix_up{i + 1}")]
            return keras.Sequential(parts, name=f"{layer.name}_fix_decoder")
        return _fresh(layer)

    clone = _clone(model, clone_function=swap)
    if not used:
        raise NotApplicable("the decoder has no square power-of-two UpSampling2D to expand")
    return clone


def set_initializer(model: keras.Model, initializer: str = "glorot_uniform") -> keras.Model:
    """Give every conv and dense kernel the initializer `initializer` (Keras' default: glorot_uniform)."""
    changed = []

    def swap(layer):
        if isinstance(layer, CONV_TYPES + (layers.Dense,)):
            current = keras.initializers.serialize(layer.kernel_initializer)
            name = current.get("class_name", "") if isinstance(current, dict) else str(current)
            if keras.initializers.get(initializer).__class__.__name__ != name:
                changed.append(layer.name)
            return _fresh(layer, kernel_initializer=initializer)
        return _fresh(layer)

    clone = _clone(model, clone_function=swap)
    if not changed:
        raise NotApplicable(f"every kernel already uses {initializer}")
    return clone


def _last_weighted(model: keras.Model):
    """The conv or dense layer nearest the output (through activation and other element-wise layers)."""
    layer = _output_layer(model)
    seen = set()
    while layer is not None and layer.name not in seen:
        seen.add(layer.name)
        if isinstance(layer, CONV_TYPES + (layers.Dense,)):
            return layer
        node = layer._inbound_nodes[0] if getattr(layer, "_inbound_nodes", None) else None
        inputs = node.input_tensors if node is not None else []
        if len(inputs) != 1:
            return None
        layer = inputs[0]._keras_history[0]
    return None


def set_output_channels(model: keras.Model, channels: int) -> keras.Model:
    """Give the conv layer nearest the output `channels` filters (an RGB target needs 3, grey 1)."""
    last = _last_weighted(model)
    if last is None or not isinstance(last, CONV_TYPES):
        raise NotApplicable("no conv layer before the output whose filters set the output channels")

    def swap(layer):
        return _fresh(layer, filters=int(channels)) if layer.name == last.name else _fresh(layer)

    return _clone(model, clone_function=swap)


def crop_or_pad_output(model: keras.Model, target_shape) -> keras.Model:
    """Make the output's shape the target's: the last conv's filters for the channels, then Cropping2D /
    ZeroPadding2D for the height and width."""
    clone = _clone(model, clone_function=_fresh)
    out_h, out_w = clone.output_shape[1:3]
    tgt_h, tgt_w = int(target_shape[0]), int(target_shape[1])
    channels_fixed = False
    if clone.output_shape[3] != int(target_shape[2]):
        clone = set_output_channels(model, int(target_shape[2]))
        channels_fixed = True
        if (out_h, out_w) == (tgt_h, tgt_w):
            return clone
    x = clone.outputs[0]
    dh, dw = out_h - tgt_h, out_w - tgt_w
    crop = ((max(dh, 0) // 2, max(dh, 0) - max(dh, 0) // 2), (max(dw, 0) // 2, max(dw, 0) - max(dw, 0) // 2))
    pad = ((max(-dh, 0) // 2, max(-dh, 0) - max(-dh, 0) // 2), (max(-dw, 0) // 2, max(-dw, 0) - max(-dw, 0) // 2))
    if dh > 0 or dw > 0:
        x = layers.Cropping2D(crop, name="fix_crop")(x)
    if dh < 0 or dw < 0:
        x = layers.ZeroPadding2D(pad, name="fix_pad")(x)
    if dh == 0 and dw == 0 and not channels_fixed:
        raise NotApplicable("the output already has the target's height and width")
    return keras.Model(clone.inputs, x, name=model.name)


def pad_input(model: keras.Model, pad_to) -> keras.Model:
    """Zero-pad the input to `pad_to` (H, W), run the model's layers at that size, crop back to the input size.

    The layers are re-called on the padded input through `clone_model(input_tensors=...)`, so every pooling
    divides evenly and the output comes back at the original size: raw images in, same-size images out.
    """
    h, w, c = (int(v) for v in model.input_shape[1:])
    ph, pw = (int(v) for v in pad_to)
    if ph < h or pw < w:
        raise NotApplicable(f"cannot pad a {h}x{w} input down to {ph}x{pw}")
    pad = ((( ph - h) // 2, ph - h - (ph - h) // 2), ((pw - w) // 2, pw - w - (pw - w) // 2))
    inputs = keras.Input(shape=(h, w, c), name="image")
    padded = layers.ZeroPadding2D(pad, name="fix_pad_input")(inputs)
    try:
        body = keras.models.clone_model(model, input_tensors=keras.Input(shape=(ph, pw, c)),
                                        clone_function=_fresh)
    except Exception as exc:  # layers with fixed sizes (Dense on a flattened map) cannot change size
        raise NotApplicable(f"the model cannot run at {ph}x{pw} ({type(exc).__name__}: {exc})") from None
    out = body(padded)
    oh, ow = out.shape[1], out.shape[2]
    if (oh, ow) != (ph, pw):
        raise NotApplicable(f"at {ph}x{pw} the model outputs {oh}x{ow}; padding does not make it an autoencoder")
    out = layers.Cropping2D(pad, name="fix_crop_output")(out)
    return keras.Model(inputs, out, name=model.name)


# ------------------------------------------------------------------ data fixes

def transform_data(data: Data, fn_x=None, fn_y=None, step: str = "") -> Data:
    """A new `Data` whose pipelines apply `fn_x` to inputs and `fn_y` to targets, re-profiled."""
    def mapper(x, y):
        return (fn_x(x) if fn_x else x), (fn_y(y) if fn_y else y)

    train = data.train.map(mapper)
    val = data.val.map(mapper)
    separate = data.profile.target is not None
    batches = (b for ds in (train, val) for b in ds.batch(1024).as_numpy_iterator())
    inputs, target = profile_batches(batches, "float32", "float32" if separate else None, separate)
    profile = DataProfile(name=data.profile.name, inputs=inputs, target=target,
                          train_count=data.profile.train_count, val_count=data.profile.val_count,
                          notes=list(data.profile.notes) + ([step] if step else []))
    return Data(name=data.name, train=train, val=val, profile=profile, source=data.source,
                preprocessing=list(data.preprocessing) + ([step] if step else []), scales=data.scales)


def _scaler(stats, method: str):
    """(scale, offset) so that x * scale + offset is normalised by `method`, from streamed statistics."""
    if method == "unit":
        return 1.0 / 255.0, 0.0
    if method == "minmax":
        span = stats.max - stats.min
        if not span > 0:
            raise NotApplicable("the data is constant; it cannot be scaled to [0, 1]")
        return 1.0 / span, -stats.min / span
    if method == "standard":
        if not stats.std > 0:
            raise NotApplicable("the data is constant; it cannot be standardised")
        return 1.0 / stats.std, -stats.mean / stats.std
    raise NotApplicable(f"unknown normalisation method {method!r}")


def _onto(stats, reference):
    """(scale, offset) mapping the range of `stats` onto the range of `reference` (targets onto inputs)."""
    span, ref_span = stats.max - stats.min, reference.max - reference.min
    if not (span > 0 and ref_span > 0):
        raise NotApplicable("constant data cannot be rescaled onto another range")
    scale = ref_span / span
    return scale, reference.min - stats.min * scale


def normalize(data: Data, inputs_method: str | None, targets_method: str | None) -> Data:
    """Rescale inputs and/or targets linearly; `Data.scales` keeps the map from raw values for saving."""
    x_map = _scaler(data.profile.inputs, inputs_method) if inputs_method else None
    if targets_method == "like_inputs":
        y_map = x_map or _onto(data.profile.target_stats, data.profile.inputs)
    elif targets_method:
        y_map = _scaler(data.profile.target_stats, targets_method)
    else:
        y_map = x_map if data.profile.target is None else None  # the target is the input: scale it alike
    steps = []
    if x_map:
        steps.append(f"inputs: x * {x_map[0]:.6g} + {x_map[1]:.6g} ({inputs_method})")
    if y_map and (targets_method or data.profile.target is not None):
        steps.append(f"targets: y * {y_map[0]:.6g} + {y_map[1]:.6g} ({targets_method or inputs_method})")

    def linear(m):
        return None if m is None else (lambda t, s=m[0], o=m[1]: t * s + o)

    new = transform_data(data, linear(x_map), linear(y_map), "; ".join(steps))
    (sx, ox), (sy, oy) = data.scales
    if x_map:
        sx, ox = sx * x_map[0], ox * x_map[0] + x_map[1]
    if y_map:
        sy, oy = sy * y_map[0], oy * y_map[0] + y_map[1]
    new.scales = ((sx, ox), (sy, oy))
    return new


def fewer_training_samples(data: Data, fraction: float = 0.5) -> Data:
    """The same data with only the first `fraction` of the training samples (validation unchanged).

    This is how a probe tests "more data would help" without more data: if training on a fraction of the images
    makes the validation error clearly worse, the model is still limited by the amount of data (a point
    on its learning curve); if it makes no difference, more images of the same kind will not help either.
    """
    keep = max(1, int(data.train_count * fraction))
    if keep >= data.train_count:
        raise NotApplicable(f"only {data.train_count} training samples; cannot train on fewer")
    profile = dataclasses.replace(data.profile, train_count=keep)
    step = f"training on the first {keep} of {data.train_count} samples"
    return Data(name=data.name, train=data.train.take(keep), val=data.val, profile=profile, source=data.source,
                preprocessing=list(data.preprocessing) + [step],
                scales=data.scales)


def drop_nonfinite(data: Data) -> Data:
    """The same data without the samples whose input or target holds NaN or Inf.

    Earlier preprocessing and `scales` are kept: a normalisation applied before this step must still be saved
    with the repaired model (it once was reset here, and the saved model then expected normalised inputs).
    """
    import tensorflow as tf

    def finite(x, y):
        return tf.logical_and(tf.reduce_all(tf.math.is_finite(x)), tf.reduce_all(tf.math.is_finite(y)))

    def kept(ds):
        # Counted once, so the pipelines keep a known length (Keras warns "ran out of data" on every pass over
        # a dataset of unknown length) and the profile's sample counts stay true.
        ds = ds.filter(finite)
        n = int(ds.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1))
        return ds.apply(tf.data.experimental.assert_cardinality(n)), n

    (train, n_train), (val, n_val) = kept(data.train), kept(data.val)
    profile = dataclasses.replace(data.profile, train_count=n_train, val_count=n_val)
    new = dataclasses.replace(data, train=train, val=val, profile=profile)
    return transform_data(new, step="dropped samples holding NaN or Inf")


# ------------------------------------------------------------------ dispatch

def apply_fix(loaded: LoadedModel, data: Data, fix: Fix, *, suggested_lr: float | None = None,
              analysis=None) -> tuple[LoadedModel, Data]:
    """Return `(loaded, data)` with `fix` applied; raises `NotApplicable` with the reason when it cannot be.

    `suggested_lr` fills a `learning_rate` fix whose value is null (use the LR range test's suggestion).
    `analysis` (from caedoctor.checks) is needed by fixes that target the bottleneck or one half.
    """
    p = dict(fix.params)
    kind = fix.kind
    model = loaded.model
    if kind == "learning_rate":
        lr = p.get("learning_rate") or suggested_lr or p.get("default_learning_rate")
        if lr is None:
            raise NotApplicable("no learning rate given and no LR range test suggestion available")
        return _with_config(loaded, learning_rate=float(lr)), data
    if kind == "optimizer":
        name = p.get("optimizer", loaded.config.optimizer)
        lr = p.get("learning_rate") or DEFAULT_LEARNING_RATE.get(name, 1e-3)
        return _with_config(loaded, optimizer=name, learning_rate=float(lr), optimizer_options={}), data
    if kind == "loss":
        return _with_config(loaded, loss=p["loss"]), data
    if kind == "batch_size":
        return _with_config(loaded, batch_size=int(p["batch_size"])), data
    if kind == "output_activation":
        return _with_config(loaded, set_output_activation(model, p.get("activation", "sigmoid"))), data
    if kind == "hidden_activation":
        new = swap_hidden_activation(model, p.get("from", "relu"), p.get("to", "leaky_relu"), p.get("layers"))
        return _with_config(loaded, new), data
    if kind == "add_batchnorm":
        return _with_config(loaded, add_batchnorm(model, p.get("layers"))), data
    if kind in ("kernel_size", "transpose_kernel"):
        new = limit_kernels(model, p.get("max_kernel"), p.get("layer"), p.get("kernel"), p.get("layers"))
        return _with_config(loaded, new), data
    if kind == "crop_or_pad_output":
        return _with_config(loaded, crop_or_pad_output(model, p["target_shape"])), data
    if kind == "input_padding":
        return _with_config(loaded, pad_input(model, p["pad_to"])), data
    if kind == "normalize_inputs":
        return loaded, normalize(data, p.get("method", "unit"), None)
    if kind == "normalize_targets":
        return loaded, normalize(data, None, p.get("method", "like_inputs"))
    if kind == "data" and p.get("action") == "drop_nonfinite":
        return loaded, drop_nonfinite(data)
    if kind == "initializer":
        return _with_config(loaded, set_initializer(model, p.get("initializer", "glorot_uniform"))), data
    if kind == "capacity" and p.get("half", "decoder") == "decoder" and analysis is not None \
            and not analysis.decoder_conv_layers and not p.get("layers"):
        encoder = [i for i in analysis.layers if i.half == "encoder" and i.kind in ("Conv2D", "Conv2DTranspose")]
        ups = [i.name for i in analysis.layers if i.half == "decoder" and i.kind == "UpSampling2D"]
        filters = [int(model.get_layer(i.name).filters) for i in encoder if _has_layer(model, i.name)]
        return _with_config(loaded, deepen_decoder(model, filters, ups)), data
    if kind in ("bottleneck", "capacity"):
        names = p.get("layers") or _layers_for(kind, p, analysis)
        factor = float(p.get("factor", 2.0))
        return _with_config(loaded, scale_filters(model, names, factor)), data
    raise NotApplicable(f"fix kind {kind!r} is advice for the user; caedoctor cannot apply it automatically")


def _has_layer(model: keras.Model, name: str) -> bool:
    try:
        model.get_layer(name)
        return True
    except ValueError:
        return False


def _layers_for(kind: str, params: dict, analysis) -> list:
    if analysis is None:
        raise NotApplicable(f"a {kind} fix needs the model analysis to find its layers")
    if kind == "bottleneck":
        name = getattr(analysis, "bottleneck_layer", None)
        if not name:
            raise NotApplicable("no bottleneck layer found")
        return [name]
    half = params.get("half", "decoder")
    names = getattr(analysis, f"{half}_conv_layers", None)
    if not names:
        raise NotApplicable(f"no conv layers found in the {half}")
    return list(names)


def apply_fixes(loaded: LoadedModel, data: Data, fixes, **kwargs) -> tuple[LoadedModel, Data, list]:
    """Apply several fixes in order; returns `(loaded, data, skipped)` where skipped lists (fix, reason)."""
    skipped = []
    for fix in fixes:
        try:
            loaded, data = apply_fix(loaded, data, fix, **kwargs)
        except NotApplicable as exc:
            skipped.append((fix, str(exc)))
    return loaded, data, skipped
