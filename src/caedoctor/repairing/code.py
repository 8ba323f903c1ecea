"""`changes.py`: the repaired model as runnable Keras code, with caedoctor's changes marked line by line.

The file rebuilds the repaired architecture layer by layer (`keras.layers.X(...)` with every setting that
differs from Keras' default), so running it gives a model whose layer configurations equal those of
`repaired.keras`; the trained weights are only in `repaired.keras`. Each line that differs from the user's
model says so (`# caedoctor: added` or `# caedoctor: changed activation 'linear' -> 'sigmoid'`), and a
header lists the kept changes with the reason and the measured effect. A model that cannot be written as
plain Keras code (a Lambda or custom layer, a subclassed model, a layer called twice) gets that header and
one sentence saying why, instead of code.
"""

from __future__ import annotations

import inspect
import math
import re

import keras

from caedoctor.errors import ModelError
from caedoctor.models.analysis import graph_calls

# Keys every layer's config has that the code leaves at Keras' defaults: the dtype policy (float32 unless the
# user set a mixed-precision policy, which `repaired.keras` keeps) and `trainable` when True.
_SKIPPED = ("name", "dtype")


class _NotWritable(Exception):
    """The model cannot be written as plain Keras code (the reason is the message)."""


def _literal(value) -> str:
    """A Python literal for a config value (JSON-like: numbers, strings, tuples, lists, dicts, None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({inner})" if isinstance(value, tuple) else f"[{inner}]")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return repr(value)
    raise _NotWritable(f"a setting of type {type(value).__name__} has no literal form")


def _default_form(key: str, default):
    """The config form of a constructor default (initializers, activations... are serialised in configs)."""
    if key == "activation":
        return keras.activations.serialize(keras.activations.get(default))
    for suffix, module in (("initializer", keras.initializers), ("regularizer", keras.regularizers),
                           ("constraint", keras.constraints)):
        if key.endswith(suffix):
            return None if default is None else module.serialize(module.get(default))
    if key == "data_format" and default is None:
        return keras.config.image_data_format()
    return default


def _same(value, default) -> bool:
    if isinstance(value, (list, tuple)) and isinstance(default, int):  # strides=(1, 1) is the default 1
        return all(v == default for v in value)
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return list(value) == list(default)
    return value == default


def _arguments(layer) -> dict:
    """The layer's config minus what equals its constructor's defaults: what a person would write."""
    config = layer.get_config()
    try:
        params = inspect.signature(type(layer).__init__).parameters
    except (TypeError, ValueError):
        params = {}
    out = {}
    for key, value in config.items():
        if key in _SKIPPED or (key == "trainable" and value is True):
            continue
        param = params.get(key)
        if param is not None and param.default is not inspect.Parameter.empty:
            try:
                if _same(value, _default_form(key, param.default)):
                    continue
            except (TypeError, ValueError):  # a default Keras cannot serialise: write the value out
                pass
        out[key] = value
    return out


def _constructor(layer) -> str:
    cls = type(layer)
    if isinstance(layer, keras.layers.Lambda):
        raise _NotWritable(f"layer {layer.name!r} is a Lambda: its code lives only in the model file")
    if getattr(keras.layers, cls.__name__, None) is not cls:
        raise _NotWritable(f"layer {layer.name!r} is a {cls.__name__}, not a built-in Keras layer")
    args = ", ".join([f"{k}={_literal(v)}" for k, v in _arguments(layer).items()] + [f"name={layer.name!r}"])
    return f"keras.layers.{cls.__name__}({args})"


def _walk(model) -> list:
    """(operation, input tensors, output tensors) of a functional model's calls, parents first."""
    if not hasattr(model, "_inbound_nodes") or not getattr(model, "outputs", None) or not model.inputs:
        raise _NotWritable(f"model {model.name!r} is subclassed: it has no graph of layers to write out")
    try:
        return graph_calls(model)
    except ModelError as exc:
        raise _NotWritable(str(exc)) from None


class _Writer:
    """Writes nested models first, each as a function of the layers it calls."""

    def __init__(self, original):
        self.lines: list = []
        self.names: set = set()
        self.before = {}
        if original is not None:
            for layer in _leaf_layers(original):
                self.before.setdefault(layer.name, layer)
        self.compare = original is not None
        self.var_of: dict = {}  # id(model) -> the variable that holds it

    def var(self, base: str) -> str:
        name = re.sub(r"\W", "_", base).strip("_") or "x"
        name = name if not name[0].isdigit() else f"l_{name}"
        candidate, i = name, 1
        while candidate in self.names or candidate in ("keras", "model", "inputs", "caedoctor"):
            i += 1
            candidate = f"{name}_{i}"
        self.names.add(candidate)
        return candidate

    def mark(self, layer) -> str:
        if not self.compare:
            return ""
        old = self.before.get(layer.name)
        if old is None or type(old) is not type(layer):
            return "  # caedoctor: added"
        a, b = old.get_config(), layer.get_config()
        diff = [f"{k} {_short(a.get(k))} -> {_short(b.get(k))}" for k in sorted(set(a) | set(b))
                if k not in _SKIPPED and a.get(k) != b.get(k)]
        return f"  # caedoctor: changed {'; '.join(diff)}" if diff else ""

    def model(self, model) -> str:
        """Lines building `model`; returns the variable holding it."""
        if isinstance(model, keras.Sequential):
            items = []
            for layer in model.layers:
                if isinstance(layer, keras.Model):
                    raise _NotWritable(f"model {model.name!r} nests a model inside a Sequential")
                items.append(f"    {_constructor(layer)},{self.mark(layer)}")
            var = self.var(model.name)
            shape = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
            head = [f"    keras.Input(shape={_literal(shape)}),"] if shape else []
            self.lines += [f"{var} = keras.Sequential(["] + head + items + [f"], name={model.name!r})", ""]
            self.var_of[id(model)] = var
            return var
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise _NotWritable(f"model {model.name!r} has {len(model.inputs)} inputs and {len(model.outputs)} "
                               "outputs; a CAE has one of each")
        calls = _walk(model)
        used = [op for op, _, _ in calls if not isinstance(op, keras.layers.InputLayer)]
        if len({id(op) for op in used}) != len(used):
            raise _NotWritable(f"model {model.name!r} calls a layer more than once (shared weights)")
        nested = {id(op): self.model(op) for op in used if isinstance(op, keras.Model)}
        tensors = {}
        inp = model.inputs[0]
        in_var = self.var(f"{model.name}_input")
        body = [f"{in_var} = keras.Input(shape={_literal(tuple(inp.shape[1:]))}, "
                f"name={inp._keras_history.operation.name!r})"]
        tensors[id(inp)] = in_var
        for op, ins, outs in calls:
            if isinstance(op, keras.layers.InputLayer):
                continue
            args = [tensors[id(t)] for t in ins]
            arg = args[0] if len(args) == 1 else "[" + ", ".join(args) + "]"
            out_var = self.var(f"{op.name}_out" if id(op) in nested else op.name)
            if id(op) in nested:
                body.append(f"{out_var} = {nested[id(op)]}({arg})")
            else:
                body.append(f"{out_var} = {_constructor(op)}({arg}){self.mark(op)}")
            if len(outs) != 1:
                raise _NotWritable(f"layer {op.name!r} has {len(outs)} outputs")
            tensors[id(outs[0])] = out_var
        var = self.var(model.name)
        body.append(f"{var} = keras.Model({in_var}, {tensors[id(model.outputs[0])]}, name={model.name!r})")
        self.lines += body + [""]
        self.var_of[id(model)] = var
        return var


def _short(value) -> str:
    if isinstance(value, dict) and "class_name" in value:
        return value["class_name"]
    return repr(value)


def _leaf_layers(model) -> list:
    """Every non-model layer of `model`, nested models flattened, in `model.layers` order."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(_leaf_layers(layer))
        elif not isinstance(layer, keras.layers.InputLayer):
            out.append(layer)
    return out


def model_as_code(model, original=None) -> tuple[list, dict]:
    """(lines, {id(model or nested model): variable}) of Keras code that builds `model`'s architecture;
    lines differing from `original` (when given) are marked. Raises `_NotWritable` for models plain Keras
    code cannot rebuild."""
    writer = _Writer(original)
    writer.model(model)
    return writer.lines, writer.var_of


def _optimizer_code(spec) -> str:
    """The optimizer as Keras code: `keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)`, a schedule
    written as its own constructor; anything without a plain form through `keras.optimizers.deserialize`."""
    args = []
    try:
        for key, value in spec.arguments().items():
            schedule = spec.schedule
            if key == "learning_rate" and schedule is not None:
                config = {k: v for k, v in schedule.get_config().items() if k != "name"}
                args.append(f"learning_rate=keras.optimizers.schedules.{type(schedule).__name__}"
                            f"(**{_literal(config)})")
            else:
                args.append(f"{key}={_literal(value)}")
        if spec.cls.__module__.startswith("keras") and spec.inner is None:
            return f"keras.optimizers.{spec.class_name}({', '.join(args)})"
    except (_NotWritable, AttributeError, NotImplementedError):
        pass
    import keras as _keras

    return f"keras.optimizers.deserialize({_literal(_keras.optimizers.serialize(spec.build()))})"


def _loss_code(loss, lines: list) -> str:
    """The loss as Keras code; a user's own function or class is named, for the user to import."""
    value = loss.value
    if isinstance(value, str):
        if loss.name in ("ssim", "ssim_l1"):
            lines.append("import caedoctor.losses  # the SSIM losses are caedoctor's")
            return f"caedoctor.losses.make_loss({loss.name!r}, max_val=1.0)  # max_val: your targets' range"
        return repr(value)
    if type(value).__module__.startswith("caedoctor"):
        lines.append("import caedoctor.losses  # the SSIM losses are caedoctor's")
        args = ", ".join(f"{k}={_literal(v)}" for k, v in loss.arguments().items() if k != "reduction")
        return f"caedoctor.losses.{type(value).__name__}({args})"
    if loss.is_builtin and hasattr(value, "get_config") and type(value).__name__ != "LossFunctionWrapper":
        args = ", ".join(f"{k}={_literal(v)}" for k, v in loss.arguments().items())
        return f"keras.losses.{type(value).__name__}({args})"
    name = getattr(value, "__name__", None) or type(value).__name__
    lines.append(f"from your_code import {name}  # your own loss, as you compiled it: {loss.describe()}")
    return name


def _compile_lines(loaded, core_var: str, scales) -> list:
    c = loaded.config
    lines = []
    loss = _loss_code(c.loss, lines)
    lines.append(f"{core_var}.compile(optimizer={_optimizer_code(c.optimizer)}, loss={loss})")
    (sx, ox), (sy, oy) = scales
    if (sx, ox, sy, oy) != (1.0, 0.0, 1.0, 0.0):
        lines.append(f"# caedoctor trained {core_var} on scaled data: inputs * {sx:.8g} + {ox:.8g}, targets * "
                     f"{sy:.8g} + {oy:.8g}; `model` adds those maps as Rescaling layers (raw in, raw out)")
        lines.append(f"# {core_var}.fit(x_train * {sx:.8g} + {ox:.8g}, y_train * {sy:.8g} + {oy:.8g}, "
                     f"batch_size={c.batch_size}, epochs=...)")
    else:
        lines.append(f"# {core_var}.fit(x_train, y_train, batch_size={c.batch_size}, epochs=...)")
    return lines


def changes_as_code(result) -> str:
    """Python source of `changes.py` for a `RepairResult` (see the module docstring)."""
    lines = ["# caedoctor repair: the repaired model as Keras code. Running this file builds `model`, whose",
             "# layers are configured exactly as in repaired.keras (the trained weights are only there:",
             "# keras.saving.load_model('repaired.keras')). Lines that differ from your model end in",
             "# '# caedoctor: ...'.", "#", "# Changes kept, with the reason and the effect measured by a probe:"]
    kept = result.kept_changes()
    for change in kept:
        effect = change.effect or {}
        measured = (f" (measured: {effect.get('metric')} {effect.get('before')} -> {effect.get('after')})"
                    if effect else "")
        lines.append(f"#   {change.what} {change.params}: {change.why}{measured}")
    if not kept:
        lines.append("#   none")
    lines += ["", "import keras", ""]
    if result.model is None or result.loaded is None:
        return "\n".join(lines + ["# no repaired model was made"]) + "\n"
    original = getattr(result, "original", None)
    try:
        body, var_of = model_as_code(result.model, original.model if original is not None else None)
    except _NotWritable as exc:
        return "\n".join(lines + [f"# This model cannot be written as plain Keras code: {exc}.",
                                  "# Load repaired.keras instead."]) + "\n"
    # repaired.keras is the trained core wrapped by the data's maps (procedure._wrap_with_preprocessing):
    # the core is what caedoctor compiled and trained.
    core = next((layer for layer in result.model.layers if isinstance(layer, keras.Model)), result.model)
    body.append(f"model = {var_of[id(result.model)]}")
    return "\n".join(lines + body + _compile_lines(result.loaded, var_of[id(core)],
                                                   getattr(result.data, "scales", ((1.0, 0.0), (1.0, 0.0))))) + "\n"
