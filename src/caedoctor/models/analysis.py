"""Read a Keras CAE without running it: the layer graph, shapes, activations, halves and receptive fields.

`analyze_model(model, input_shape)` flattens any functional or sequential model (nested encoder/decoder
sub-models included) into one list of leaf layers in topological order, then derives, for the data's
input shape:

- each layer's output shape, by `compute_output_shape` (so a model with `None` spatial sizes is read for
  the real data), and the layer where shapes stop fitting together, if any;
- activations, whether given as `activation=` or as separate Activation/ReLU/LeakyReLU/PReLU/ELU layers;
- regularization: weight and activity penalties and dropout rates (`caedoctor.models.regularization`);
- the bottleneck: the narrowest intermediate tensor (fewest values, then smallest spatial area, then
  earliest), extended through following element-wise layers; the encoder is it and its ancestors, the
  decoder everything after; parameters and depth (weighted layers) per half;
- skip connections: edges from an encoder layer other than the bottleneck into the decoder;
- the receptive field (in input pixels) and the jump (input pixels between neighbouring positions) of
  every layer, by the usual recurrence r' = r + (k_eff - 1) * j, j' = j * stride;
- the range the output can take, by propagating activation ranges back from the output.

Everything is plain data (`ModelAnalysis`, `LayerInfo`), so rules and later stages never touch Keras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from caedoctor.errors import ModelError

INF = math.inf

CONV = {"Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D"}
TRANSPOSE = {"Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"}
POOL = {"MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D"}
UPSAMPLE = {"UpSampling1D", "UpSampling2D", "UpSampling3D"}
GLOBAL = {"Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalMaxPooling1D"}
NORM = {"BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization"}
BATCH_NORM = {"BatchNormalization"}
MERGE = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"}
ACTIVATION_LAYERS = {"Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"}
# Layers that act on each value alone and keep the shape: they belong with the layer before them.
ELEMENTWISE = ACTIVATION_LAYERS | NORM | {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
    "AlphaDropout", "ActivityRegularization", "Identity", "Rescaling"}
# Layers whose output values are a selection or a convex combination of their input values.
RANGE_PRESERVING = {"Reshape", "Flatten", "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D",
                    "UpSampling3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
                    "AveragePooling2D", "AveragePooling3D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
                    "Dropout", "SpatialDropout2D", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
                    "Identity", "Permute", "RepeatVector", "Resizing"}

# The interval each activation maps the real line onto (closed or open ends alike).
ACTIVATION_RANGES = {
    "linear": (-INF, INF), "leaky_relu": (-INF, INF), "prelu": (-INF, INF),
    "sigmoid": (0.0, 1.0), "hard_sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0),
    "tanh": (-1.0, 1.0), "softsign": (-1.0, 1.0), "hard_tanh": (-1.0, 1.0),
    "relu": (0.0, INF), "relu6": (0.0, 6.0), "softplus": (0.0, INF), "exponential": (0.0, INF),
    "elu": (-1.0, INF), "selu": (-1.7581, INF), "celu": (-1.0, INF), "gelu": (-0.17, INF),
    "silu": (-0.2785, INF), "swish": (-0.2785, INF), "hard_silu": (-0.375, INF), "hard_swish": (-0.375, INF),
    "mish": (-0.3089, INF), "sparse_plus": (0.0, INF), "squareplus": (0.0, INF),
}
SATURATING = {"sigmoid", "hard_sigmoid", "tanh", "softsign", "hard_tanh"}
SIGMOID_LIKE = {"sigmoid", "hard_sigmoid"}  # derivative at most 0.25 (0.2 for hard_sigmoid)


@dataclass
class LayerInfo:
    """One leaf layer of the flattened graph, with what the analysis derived for it."""

    name: str
    kind: str  # the Keras class name, e.g. "Conv2D"
    parents: list = field(default_factory=list)  # names of the layers feeding it
    output_shape: tuple | None = None  # without the batch axis; None where shapes could not be derived
    params: int = 0
    activation: str | None = None  # its nonlinearity ("relu", "sigmoid", ...); None or "linear" for none
    kernel: tuple | None = None  # kernel or pool size
    strides: tuple | None = None  # strides, or the upsampling factor for UpSampling
    padding: str | None = None
    dilation: tuple | None = None
    receptive_field: float | None = None  # input pixels one output position depends on (per side)
    jump: float | None = None  # input pixels between two neighbouring output positions
    half: str = "encoder"  # "input", "encoder" or "decoder"
    shape_error: str | None = None  # why its output shape could not be derived
    init_ratio: float | None = None  # initial kernel std / He std sqrt(2 / fan_in); None when unknown
    init_bias: float | None = None  # the mean initial bias its bias_initializer draws; None when unknown
    regularization: dict = field(default_factory=dict)  # penalties and dropout (models.regularization)

    @property
    def spatial(self) -> tuple | None:
        """(H, W) of a 4-D output, else None."""
        if self.output_shape is not None and len(self.output_shape) == 3:
            return tuple(self.output_shape[:2])
        return None

    @property
    def size(self) -> int | None:
        if self.output_shape is None or any(s is None for s in self.output_shape):
            return None
        return math.prod(self.output_shape)

    @property
    def weighted(self) -> bool:
        """A layer that learns a transform (conv, transposed conv, dense), as opposed to norm or glue."""
        return self.params > 0 and self.kind not in NORM

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class HalfStats:
    """Parameters and depth (number of weighted layers) of the encoder or the decoder."""

    layers: list
    params: int
    depth: int


@dataclass
class ModelAnalysis:
    """What `analyze_model` read from a model; see the module doc for how each part is derived."""

    name: str
    input_shape: tuple  # the shape analysed (the data's), without the batch axis
    model_input_shape: tuple  # as the model declares it (may hold None)
    output_shape: tuple | None
    layers: list  # LayerInfo in topological order; layers[0] is the input
    output_name: str = ""  # the layer producing the (first) output; the last layer for one-output models
    n_inputs: int = 1
    n_outputs: int = 1
    shape_error_layer: str | None = None
    output_activation: str = "linear"
    output_activation_layer: str | None = None
    output_range: tuple = (-INF, INF)
    bottleneck: str | None = None  # the layer producing the narrowest tensor
    bottleneck_layer: str | None = None  # the last weighted layer at or before it: the one whose width sets it
    bottleneck_shape: tuple | None = None
    latent_size: int | None = None
    input_size: int = 0
    encoder: HalfStats | None = None
    decoder: HalfStats | None = None
    skip_connections: list = field(default_factory=list)  # (encoder layer, decoder layer) pairs
    total_params: int = 0
    # True for a subclassed model: its layers are called by its own code, so only the shapes (from one
    # forward pass) and the parameter count are known; rules that read the layer graph do not run.
    opaque: bool = False

    @property
    def compression_ratio(self) -> float | None:
        """Latent values per input value: < 1 compresses, >= 1 can copy."""
        if not self.latent_size or not self.input_size:
            return None
        return self.latent_size / self.input_size

    @property
    def encoder_conv_layers(self) -> list:
        return [i.name for i in self.layers if i.half == "encoder" and i.weighted]

    @property
    def decoder_conv_layers(self) -> list:
        """Weighted decoder layers except the output layer (whose width must match the target's channels)."""
        names = [i.name for i in self.layers if i.half == "decoder" and i.weighted]
        return names[:-1]

    @property
    def output_layer(self) -> LayerInfo:
        return self.layer(self.output_name)

    @property
    def output_weighted_layer(self) -> LayerInfo | None:
        """The last weighted layer before the output: the one that sets the output's channels."""
        names = _ancestors(self.layers, self.output_name)
        return next((i for i in reversed(self.layers) if i.weighted and i.name in names), None)

    def layer(self, name: str) -> LayerInfo:
        for info in self.layers:
            if info.name == name:
                return info
        raise KeyError(name)

    def hidden_activations(self) -> list:
        """(layer name, activation) of every nonlinearity except the one that sets the output range."""
        return [(i.name, i.activation) for i in self.layers
                if i.activation not in (None, "linear") and i.name != self.output_activation_layer]

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("layers", "encoder", "decoder")}
        d["layers"] = [i.to_dict() for i in self.layers]
        for half in ("encoder", "decoder"):
            stats = getattr(self, half)
            d[half] = stats.__dict__ if stats else None
        d["compression_ratio"] = self.compression_ratio
        return d


# ------------------------------------------------------------------ flattening the graph

@dataclass
class _Node:
    layer: object  # a Keras leaf layer, or None for the model input
    parents: list
    name: str


def _is_model(op) -> bool:
    import keras

    return isinstance(op, keras.Model)


def _flatten(model, input_ids: list, nodes: list, seen_names: dict) -> list:
    """Append `model`'s leaf layers to `nodes`, wired to `input_ids`; return the ids of its outputs."""
    import keras

    if isinstance(model, keras.Sequential):
        ids = input_ids
        for layer in model.layers:
            ids = _apply(layer, ids, nodes, seen_names)
        return ids
    if not hasattr(model, "_inbound_nodes") or not getattr(model, "outputs", None):
        raise ModelError(f"model {model.name!r} ({type(model).__name__}) is subclassed; caedoctor reads "
                         "functional and sequential models only")
    ids_of = {id(t): i for t, i in zip(model.inputs, input_ids)}
    for operation, inputs, outputs in graph_calls(model):
        outs = _apply(operation, [ids_of[id(t)] for t in inputs], nodes, seen_names)
        for t, o in zip(outputs, outs if len(outs) == len(outputs) else outs * len(outputs)):
            ids_of[id(t)] = o
    return [ids_of[id(t)] for t in model.outputs]


def graph_calls(model) -> list:
    """(operation, input tensors, output tensors) of each call in a functional model's graph, parents first.

    An iterative post-order walk from the outputs back to the inputs (no recursion limit on deep models); a
    nested model is one call. Raises `ModelError` for a tensor without Keras history.
    """
    seen = {id(t) for t in model.inputs}  # the inputs, then the outputs of every call placed
    calls = []
    for out in model.outputs:
        stack = [(out, False)]
        while stack:
            tensor, expanded = stack.pop()
            if id(tensor) in seen:
                continue
            history = getattr(tensor, "_keras_history", None)
            if history is None:
                raise ModelError(f"model {model.name!r}: a tensor without Keras history; cannot read the graph")
            node = history.operation._inbound_nodes[history.node_index]
            if expanded:
                calls.append((history.operation, list(node.input_tensors), list(node.output_tensors)))
                seen.update(id(t) for t in node.output_tensors)
                continue
            stack.append((tensor, True))
            stack.extend((t, False) for t in node.input_tensors if id(t) not in seen)
    return calls


def _apply(layer, parent_ids: list, nodes: list, seen_names: dict) -> list:
    import keras

    if _is_model(layer):
        return _flatten(layer, parent_ids, nodes, seen_names)
    if isinstance(layer, keras.layers.InputLayer):
        return parent_ids
    count = seen_names.get(layer.name, 0) + 1
    seen_names[layer.name] = count
    name = layer.name if count == 1 else f"{layer.name}#{count}"  # a shared layer, called again
    nodes.append(_Node(layer, list(parent_ids), name))
    return [len(nodes) - 1]


# ------------------------------------------------------------------ per-layer facts

def _pair(value) -> tuple | None:
    if value is None:
        return None
    if isinstance(value, int):
        return (value, value)
    return tuple(int(v) for v in value)


def activation_of(layer) -> str | None:
    """The nonlinearity a layer applies, by name; None for layers that apply none."""
    kind = type(layer).__name__
    if kind == "ReLU":
        if float(getattr(layer, "negative_slope", 0.0) or 0.0) > 0:
            return "leaky_relu"
        return "relu6" if getattr(layer, "max_value", None) == 6 else "relu"
    if kind == "LeakyReLU":
        return "leaky_relu"
    if kind == "PReLU":
        return "prelu"
    if kind == "ELU":
        return "elu"
    if kind == "Softmax":
        return "softmax"
    fn = getattr(layer, "activation", None)
    if fn is None or not callable(fn):
        return None
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return {"swish": "silu"}.get(name, name)


def _activation_range(layer, name: str) -> tuple:
    kind = type(layer).__name__
    if kind == "ReLU":
        cap = getattr(layer, "max_value", None)
        low = -INF if float(getattr(layer, "negative_slope", 0.0) or 0.0) > 0 else 0.0
        return (low, float(cap) if cap is not None else INF)
    if kind == "ELU":
        return (-float(getattr(layer, "alpha", 1.0)), INF)
    return ACTIVATION_RANGES.get(name, (-INF, INF))


def _geometry(layer) -> dict:
    kind = type(layer).__name__
    if kind in CONV or kind in TRANSPOSE:
        return {"kernel": _pair(layer.kernel_size), "strides": _pair(layer.strides),
                "padding": layer.padding, "dilation": _pair(getattr(layer, "dilation_rate", 1))}
    if kind in POOL:
        return {"kernel": _pair(layer.pool_size), "strides": _pair(layer.strides or layer.pool_size),
                "padding": layer.padding}
    if kind in UPSAMPLE:
        return {"strides": _pair(layer.size)}
    return {}


def initial_std(initializer, fan_in: int, fan_out: int) -> float | None:
    """The standard deviation of the weights `initializer` draws (None for kinds it cannot tell)."""
    import keras

    try:
        config = keras.initializers.serialize(initializer)
    except Exception:  # noqa: BLE001 - a custom initializer we cannot read
        return None
    name = config.get("class_name", "") if isinstance(config, dict) else str(config)
    cfg = (config.get("config") or {}) if isinstance(config, dict) else {}
    if name == "RandomNormal":
        return float(cfg.get("stddev", 0.05))
    if name == "TruncatedNormal":
        return 0.88 * float(cfg.get("stddev", 0.05))
    if name == "RandomUniform":
        return (float(cfg.get("maxval", 0.05)) - float(cfg.get("minval", -0.05))) / math.sqrt(12)
    if name == "Constant":
        return abs(float(cfg.get("value", 0.0)))
    if name in ("Zeros", "Ones"):
        return 0.0 if name == "Zeros" else 1.0
    scaling = {"GlorotUniform": (1.0, "fan_avg"), "GlorotNormal": (1.0, "fan_avg"), "HeNormal": (2.0, "fan_in"),
               "HeUniform": (2.0, "fan_in"), "LecunNormal": (1.0, "fan_in"), "LecunUniform": (1.0, "fan_in")}
    if name in scaling:
        scale, mode = scaling[name]
    elif name == "VarianceScaling":
        scale, mode = float(cfg.get("scale", 1.0)), cfg.get("mode", "fan_in")
    else:
        return None
    n = {"fan_in": fan_in, "fan_out": fan_out}.get(mode, (fan_in + fan_out) / 2)
    return math.sqrt(scale / max(n, 1))


def _init_ratio(layer) -> float | None:
    """Initial kernel std against He's sqrt(2 / fan_in): about 1 or below for every sensible initializer."""
    kernel = getattr(layer, "kernel", None)
    initializer = getattr(layer, "kernel_initializer", None)
    if kernel is None or initializer is None or len(kernel.shape) < 2:
        return None
    shape = tuple(int(v) for v in kernel.shape)
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    std = initial_std(initializer, fan_in, fan_out)
    return None if std is None else std / math.sqrt(2.0 / max(fan_in, 1))


def _init_bias(layer) -> float | None:
    """The mean of the biases the layer's bias_initializer draws (Zeros, Ones, Constant, RandomNormal,
    TruncatedNormal, RandomUniform); None without a bias or for another initializer."""
    import keras

    initializer = getattr(layer, "bias_initializer", None)
    if initializer is None or getattr(layer, "bias", None) is None:
        return None
    config = keras.initializers.serialize(initializer)
    name = config.get("class_name", "") if isinstance(config, dict) else str(config)
    cfg = (config.get("config") or {}) if isinstance(config, dict) else {}
    if name == "Zeros":
        return 0.0
    if name == "Ones":
        return 1.0
    if name == "Constant":
        value = cfg.get("value", 0.0)
        return float(value) if isinstance(value, (int, float)) else None
    if name in ("RandomNormal", "TruncatedNormal"):
        return float(cfg.get("mean", 0.0))
    if name == "RandomUniform":
        return (float(cfg.get("minval", -0.05)) + float(cfg.get("maxval", 0.05))) / 2
    return None


def _output_shape(layer, in_shapes: list):
    """The layer's output shape (no batch axis) for inputs of `in_shapes`; raises on a mismatch."""
    import keras

    batched = [(None,) + tuple(s) for s in in_shapes]
    arg = batched[0] if len(batched) == 1 else batched
    try:
        out = layer.compute_output_shape(arg)
    except NotImplementedError:
        specs = [keras.KerasTensor(s) for s in batched]
        spec = layer.compute_output_spec(specs[0] if len(specs) == 1 else specs)
        out = spec.shape if hasattr(spec, "shape") else spec[0].shape
    if out and isinstance(out[0], (tuple, list)):  # several outputs: the first
        out = out[0]
    return tuple(None if s is None else int(s) for s in out[1:])


def _check_concatenate(layer, in_shapes: list) -> None:
    """Keras' Concatenate.compute_output_shape does not compare the other axes; the call would fail."""
    axis = getattr(layer, "axis", -1)
    rank = len(in_shapes[0])
    axis = axis % (rank + 1) - 1 if axis >= 0 else axis % rank  # batch axis counted in `layer.axis`
    others = {tuple(s[i] for i in range(rank) if i != axis) for s in in_shapes}
    if len({len(s) for s in in_shapes}) > 1 or len(others) > 1:
        raise ValueError("inputs must match on every axis but the concatenation axis")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


# ------------------------------------------------------------------ the analysis

def _resolve_input_shape(model, input_shape) -> tuple[tuple, tuple]:
    """(shape to analyse, shape the model declares). The data's shape when it fits the model; otherwise
    the model's own (a rule reports the misfit), with any free size taken from the data where it can be."""
    declared = tuple(model.inputs[0].shape[1:])
    given = tuple(int(s) for s in input_shape) if input_shape is not None else None
    if given is not None and len(given) == len(declared) and all(d in (None, g) for d, g in zip(declared, given)):
        return given, declared
    if any(s is None for s in declared):
        if given is None or len(given) != len(declared):
            raise ModelError(f"model {model.name!r} accepts inputs of shape {declared}; give the data "
                             "(--data) or --input-shape so caedoctor knows the shape it must reconstruct")
        return tuple(g if d is None else d for d, g in zip(declared, given)), declared
    return declared, declared


def parameter_count(model) -> int:
    """The number of weights' values of `model` (Keras' `count_params`, which refuses a model whose parts are
    built but which was never called itself, e.g. a VAE with its own train step and no call)."""
    import numpy as np

    return int(sum(int(np.prod(w.shape)) for w in model.weights))


def _opaque_analysis(model, input_shape) -> ModelAnalysis:
    """What can be known of a subclassed model without reading its code: shapes from one forward pass of
    zeros (its reconstruction: `caedoctor.reconstruction`), and the parameter count."""
    import numpy as np

    from caedoctor.reconstruction import reconstruct

    if input_shape is None:
        raise ModelError(f"model {model.name!r} ({type(model).__name__}) is subclassed; give the data (--data) "
                         "or --input-shape so caedoctor can run it once to read its output shape")
    shape = tuple(int(s) for s in input_shape)
    try:
        out = reconstruct(model, np.zeros((1,) + shape, np.float32))
        output_shape = tuple(int(s) for s in out.shape[1:])
    except Exception as exc:  # noqa: BLE001 - the model's own code failed on this input
        raise ModelError(f"model {model.name!r} ({type(model).__name__}) fails on inputs of shape {shape} "
                         f"({type(exc).__name__}: {str(exc)[:200]})") from None
    return ModelAnalysis(name=model.name, input_shape=shape, model_input_shape=shape, output_shape=output_shape,
                         layers=[], output_name="", input_size=int(np.prod(shape)),
                         total_params=parameter_count(model), opaque=True, output_activation="unknown")


def analyze_model(model, input_shape=None) -> ModelAnalysis:
    """Read `model` for inputs of `input_shape` (H, W, C; default: the model's own input shape).

    A subclassed model's graph cannot be read without its code: it gets an `opaque` analysis (shapes from
    one forward pass, the parameter count) and the rules that read the graph are skipped.

    Raises:
        ModelError: when the model cannot be read or run at this shape.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise ModelError(f"expected a keras.Model, got {type(model).__name__}")
    if isinstance(model, keras.Sequential) and not model.built:
        if input_shape is None:
            raise ModelError(f"sequential model {model.name!r} has no input shape; give --input-shape or data")
        model.build((None,) + tuple(int(s) for s in input_shape))
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        return _opaque_analysis(model, input_shape)
    shape, declared = _resolve_input_shape(model, input_shape)
    input_name = inputs[0]._keras_history.operation.name if hasattr(inputs[0], "_keras_history") else "input"
    nodes = [_Node(None, [], input_name)]
    extra_inputs = [_Node(None, [], t.name) for t in inputs[1:]]
    nodes.extend(extra_inputs)
    out_ids = _flatten(model, list(range(len(inputs))), nodes, {})

    infos = _layer_infos(nodes, shape)
    shape_error_layer = next((i.name for i in infos if i.shape_error), None)
    output = infos[out_ids[0]]  # the first output; a rule reports models with more than one
    _receptive_fields(infos, shape)
    out_range, out_act, out_act_layer = _output_range(nodes, infos, out_ids[0])
    analysis = ModelAnalysis(
        name=model.name, input_shape=shape, model_input_shape=declared, output_shape=output.output_shape,
        layers=infos, output_name=output.name, n_inputs=len(inputs), n_outputs=len(out_ids),
        shape_error_layer=shape_error_layer,
        output_activation=out_act, output_activation_layer=out_act_layer, output_range=out_range,
        input_size=math.prod(shape), total_params=int(sum(_unique_params(nodes[1:]))))
    _split_halves(analysis, nodes)
    return analysis


def _unique_params(nodes) -> list:
    seen, out = set(), []
    for node in nodes:
        if node.layer is not None and id(node.layer) not in seen:
            seen.add(id(node.layer))
            out.append(node.layer.count_params() if node.layer.built else 0)
    return out


def _layer_infos(nodes: list, input_shape: tuple) -> list:
    from caedoctor.models.regularization import regularization_of

    infos = []
    shapes: list = []
    for node in nodes:
        if node.layer is None:
            infos.append(LayerInfo(node.name, "InputLayer", [], tuple(input_shape) if not infos else None,
                                   half="input"))
            shapes.append(infos[-1].output_shape)
            continue
        layer = node.layer
        info = LayerInfo(node.name, type(layer).__name__, [nodes[p].name for p in node.parents],
                         params=int(layer.count_params()) if layer.built else 0,
                         activation=activation_of(layer), init_ratio=_init_ratio(layer), init_bias=_init_bias(layer),
                         regularization=regularization_of(layer), **_geometry(layer))
        in_shapes = [shapes[p] for p in node.parents]
        if in_shapes and all(s is not None for s in in_shapes):
            try:
                if info.kind == "Concatenate":
                    _check_concatenate(layer, in_shapes)
                info.output_shape = _output_shape(layer, in_shapes)
            except Exception as exc:  # Keras raises ValueError/TypeError for inputs that do not fit
                shown = " and ".join("x".join(map(str, s)) for s in in_shapes)
                info.shape_error = f"cannot take input {shown}: {_first_line(exc)}"
        shapes.append(info.output_shape)
        infos.append(info)
    return infos


def _receptive_fields(infos: list, input_shape: tuple) -> None:
    """Receptive field and jump of every layer, in input pixels (the larger of the two spatial axes)."""
    side = max(input_shape[:2]) if len(input_shape) >= 2 else input_shape[0]
    by_name = {}
    for info in infos:
        if info.kind == "InputLayer":
            info.receptive_field, info.jump = 1.0, 1.0
            by_name[info.name] = info
            continue
        parents = [by_name[p] for p in info.parents if p in by_name]
        r_in = max((p.receptive_field or 1.0) for p in parents) if parents else 1.0
        j_in = max((p.jump or 1.0) for p in parents) if parents else 1.0
        r, j = r_in, j_in
        parent_rank = len(parents[0].output_shape) if parents and parents[0].output_shape else None
        if info.kind in CONV or info.kind in POOL:
            k = max(info.kernel) if info.kernel else 1
            d = max(info.dilation) if info.dilation else 1
            s = max(info.strides) if info.strides else 1
            r, j = r_in + (d * (k - 1)) * j_in, j_in * s
        elif info.kind in TRANSPOSE:
            k = max(info.kernel) if info.kernel else 1
            s = max(info.strides) if info.strides else 1
            j = j_in / s
            r = r_in + (k - 1) * j
        elif info.kind in UPSAMPLE:
            j = j_in / (max(info.strides) if info.strides else 1)
        elif info.kind in GLOBAL or (info.kind == "Dense" and parent_rank == 1):
            r, j = float(side), float(side)
        elif info.kind == "Reshape" and info.spatial and parent_rank == 1:
            r, j = max(r_in, float(side)), side / max(info.spatial)
        info.receptive_field, info.jump = r, j
        by_name[info.name] = info


def _output_range(nodes: list, infos: list, index: int):
    """(range, activation name, layer name) of node `index`, walking back through range-keeping layers."""
    memo: dict = {}

    def walk(i: int, depth: int = 0):
        if i in memo:
            return memo[i]
        node, info = nodes[i], infos[i]
        layer = node.layer
        result = ((-INF, INF), "linear", None)
        if layer is None or depth > 200:
            memo[i] = result
            return result
        kind = type(layer).__name__
        parents = node.parents
        act = info.activation
        if act not in (None, "linear"):
            result = (_activation_range(layer, act), act, info.name)
        elif (kind in RANGE_PRESERVING or (kind == "Activation" and act == "linear")) and parents:
            result = walk(parents[0], depth + 1)
        elif kind == "ZeroPadding2D" and parents:
            (lo, hi), a, n = walk(parents[0], depth + 1)
            result = ((min(lo, 0.0), max(hi, 0.0)), a, n)
        elif kind == "Rescaling" and parents:
            (lo, hi), a, n = walk(parents[0], depth + 1)
            scale, offset = layer.scale, layer.offset
            if isinstance(scale, (int, float)) and isinstance(offset, (int, float)):
                ends = sorted(v * scale + offset if math.isfinite(v) else v * math.copysign(1, scale)
                              for v in (lo, hi))
                result = ((ends[0], ends[1]), a, n)
        elif kind in ("Add", "Average", "Concatenate", "Maximum", "Minimum") and parents:
            parts = [walk(p, depth + 1) for p in parents]
            los, his = [p[0][0] for p in parts], [p[0][1] for p in parts]
            rng = (sum(los), sum(his)) if kind == "Add" else (min(los), max(his))
            names = sorted({p[1] for p in parts})
            result = (rng, "+".join(names) if kind == "Add" else "/".join(names), parts[0][2])
        memo[i] = result
        return result

    return walk(index)


def _split_halves(analysis: ModelAnalysis, nodes: list) -> None:
    infos = analysis.layers
    tail = _output_tail(analysis)
    inner = [(idx, i) for idx, i in enumerate(infos) if i.kind != "InputLayer" and i.size and i.name not in tail]
    # A code is something a learned layer computed: the input passed through noise, dropout or rescaling is
    # as large as the input and would otherwise be "the bottleneck" of an overcomplete CAE, with no layer
    # that sets its width (CAE302 and the bottleneck fix then disagreed about it).
    learned: set = set()
    for i in infos:
        if i.weighted or any(p in learned for p in i.parents):
            learned.add(i.name)
    inner = [(idx, i) for idx, i in inner if i.name in learned] or inner
    if not inner:
        for i in infos[1:]:
            i.half = "decoder"
        analysis.encoder = HalfStats([], 0, 0)
        analysis.decoder = _half_stats(infos, "decoder", nodes)
        return
    idx, narrowest = min(inner, key=lambda t: (t[1].size, math.prod(t[1].spatial or (1,)), t[0]))
    children = {i.name: [c.name for c in infos if i.name in c.parents] for i in infos}
    # Element-wise layers right after the narrowest tensor (its activation, BN, dropout) belong with it.
    while True:
        kids = children[narrowest.name]
        if len(kids) != 1:
            break
        kid = analysis.layer(kids[0])
        if (kid.kind not in ELEMENTWISE or kid.output_shape != narrowest.output_shape
                or kid.name == analysis.output_name):
            break
        narrowest = kid
    encoder = _ancestors(infos, narrowest.name)
    for info in infos:
        info.half = "input" if info.kind == "InputLayer" else ("encoder" if info.name in encoder else "decoder")
    analysis.bottleneck = narrowest.name
    analysis.bottleneck_shape = narrowest.output_shape
    analysis.latent_size = narrowest.size
    weighted_before = [i for i in infos if i.half == "encoder" and i.weighted]
    analysis.bottleneck_layer = weighted_before[-1].name if weighted_before else None
    analysis.encoder = _half_stats(infos, "encoder", nodes)
    analysis.decoder = _half_stats(infos, "decoder", nodes)
    analysis.skip_connections = [(p, i.name) for i in infos if i.half == "decoder" for p in i.parents
                                 if p in encoder and p != narrowest.name]


def _output_tail(analysis: ModelAnalysis) -> set:
    """The output layer back to its last weighted layer (Conv2D(C) -> Activation -> Cropping2D): these
    produce the reconstruction, not a code, even where they are narrower than the bottleneck."""
    tail, info = set(), analysis.layer(analysis.output_name)
    while True:
        tail.add(info.name)
        if info.weighted or len(info.parents) != 1 or info.kind not in ELEMENTWISE | RANGE_PRESERVING:
            return tail
        info = analysis.layer(info.parents[0])
        if info.kind == "InputLayer":
            return tail


def _ancestors(infos: list, name: str) -> set:
    by_name = {i.name: i for i in infos}
    out, todo = set(), [name]
    while todo:
        n = todo.pop()
        if n in out or n not in by_name:
            continue
        if by_name[n].kind != "InputLayer":
            out.add(n)
        todo.extend(by_name[n].parents)
    return out


def _half_stats(infos: list, half: str, nodes: list) -> HalfStats:
    members = [(info, node) for info, node in zip(infos, nodes) if info.half == half]
    seen, params = set(), 0
    for info, node in members:
        if id(node.layer) not in seen:
            seen.add(id(node.layer))
            params += info.params
    return HalfStats([i.name for i, _ in members], params, sum(1 for i, _ in members if i.weighted))
