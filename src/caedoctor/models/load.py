"""`load_model`: turn a MODEL argument into a Keras model plus its training configuration (`LoadedModel`).

MODEL forms:
- `preset:seed_bad`, `preset:seed_better`, `preset:seed_hyper_bad`: the field notes' three CAEs.
- `path/model.keras`: loaded with `safe_mode=True`; Lambda layers and unknown custom objects are refused
  unless `unsafe=True` (which runs code stored in the file: only for files you trust).
- `path/file.py:NAME`: imports and runs the file (also for the static `check`; caedoctor says so on stderr:
  only for code you trust); NAME is a factory (called with the input shape if it takes an argument) or a
  model object the file builds. A compiled model brings its optimizer (class and every argument) and its
  loss exactly; an uncompiled one takes flags or defaults, said in `config.notes`.
- `spec.yaml` / `spec.json`: a declarative CAE (see `caedoctor.models.spec`).
- From Python, a `keras.Model` object (compiled or not).
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras

from caedoctor.config import (DEFAULT_BATCH_SIZE, DEFAULT_LOSS, DEFAULT_OPTIMIZER, LossSpec, OptimizerSpec, OwnLoss,
                              TrainConfig)
from caedoctor.errors import ModelError
from caedoctor.models.presets import PRESETS, build_preset
from caedoctor.models.spec import build_from_spec, read_spec_file
from caedoctor.models.validate import check_names
from caedoctor.reconstruction import overrides, trains_itself, where_it_trains
from caedoctor.reconstruction import way as reconstruction_way


@dataclass
class LoadedModel:
    """A Keras model with the configuration it trains with and where it came from."""

    model: keras.Model
    config: TrainConfig
    source: str


_FIELDS = ("optimizer", "learning_rate", "loss", "batch_size")
BATCH_SIZE_NOTE = (f"batch size {DEFAULT_BATCH_SIZE} is caedoctor's default (a compiled model does not record the "
                   "batch size it is fit with): pass --batch-size (batch_size=) to diagnose yours")


def config_from_compiled(model: keras.Model) -> TrainConfig:
    """The training configuration of a user's model exactly as compiled: the optimizer's class and full
    configuration and the loss object. What the model does not say (it is not compiled; the batch size,
    which `compile` never sees) is caedoctor's default, marked "default" and said in `TrainConfig.notes`."""
    compiled = getattr(model, "compiled", False)
    optimizer = getattr(model, "optimizer", None) if compiled else None
    loss = getattr(model, "loss", None) if compiled else None
    origin = {k: "default" for k in _FIELDS}
    notes = []
    if optimizer is not None:
        opt = OptimizerSpec.of(optimizer)
        origin.update(optimizer="model", learning_rate="model")
    else:
        opt = OptimizerSpec.named(DEFAULT_OPTIMIZER)
    if trains_itself(model):
        # Its own train_step / compute_loss / add_loss computes the loss: probes let it (fit(x) feeds it x).
        loss = OwnLoss(where_it_trains(model), feed="x")
        notes.append(f"{type(model).__name__} computes its own loss ({loss.where}); caedoctor lets it, feeds it "
                     "the inputs alone as fit(x) does, and measures reconstruction as the mean squared error of "
                     f"{reconstruction_way(model)} against the target"  # raises when it has no way
                     + ("" if overrides(model, "test_step") else "; Keras' validation pass needs a compiled loss or "
                                                        "an own test_step, so its probes track no validation "
                                                        "curve (the overfitting symptom is not read)"))
    if loss is not None:
        loss_spec = LossSpec.of(loss)
        origin["loss"] = "model"
    else:
        loss_spec = LossSpec(DEFAULT_LOSS)
    if optimizer is None or loss is None:
        missing = [what for what, value in (("optimizer", optimizer), ("loss", loss)) if value is None]
        notes.append(f"the model is not compiled with {' or '.join(missing)}: caedoctor uses "
                     + ", ".join(([opt.describe()] if optimizer is None else [])
                                 + ([f"loss {loss_spec.describe()}"] if loss is None else []))
                     + " (defaults; compile the model, or pass --optimizer/--lr/--loss, to diagnose your own)")
    notes.append(BATCH_SIZE_NOTE)
    return TrainConfig(opt, None, loss_spec, DEFAULT_BATCH_SIZE, origin=origin, notes=notes)


def load_keras_file(path: Path, unsafe: bool) -> keras.Model:
    """A `.keras` file, loaded with `safe_mode=True` unless `unsafe`; `ModelError` in one sentence otherwise."""
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a valid .keras file (truncated or not a Keras archive)")
    try:
        return keras.saving.load_model(path, safe_mode=not unsafe, compile=True)
    except Exception as exc:
        text = str(exc)
        # Only Keras' safe-mode refusal means "pass --unsafe". Any other error that merely mentions a
        # Lambda (e.g. its code fails when run after an unsafe load) used to be reported as a refusal,
        # telling a user who had already passed --unsafe to pass it.
        if not unsafe and "safe_mode" in text:
            raise ModelError(
                f"{path}: refused: the file holds a Lambda layer, i.e. Python code that would run on load. "
                "Pass --unsafe (unsafe=True) only if you trust the file") from None
        if "Could not locate" in text or "custom_objects" in text:
            raise ModelError(
                f"{path}: refused: the file uses a custom layer or object that is not registered "
                "(its code is not available). Import the module that defines it and pass a factory "
                "(file.py:function) instead") from None
        # Keras wraps layer errors as "Exception encountered when calling X.call().\n\n<cause>"; keep both,
        # without the terminal colour codes, on one line.
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", ln).strip() for ln in text.splitlines()]
        first = " ".join(ln for ln in lines[:3] if ln) or type(exc).__name__
        raise ModelError(f"{path}: cannot load the model ({first[:300]})") from None


def _load_from_module(text: str, input_shape) -> tuple[keras.Model, list]:
    """`file.py:NAME`: NAME is a factory (called with the input shape if it takes an argument) or a model object
    the file builds (compiled or not). Returns the model and notes for the user."""
    file_part, name = text.rsplit(":", 1)
    path = Path(file_part).expanduser()
    if not path.is_file():
        raise ModelError(f"model factory file not found: {file_part}")
    module_name = f"caedoctor_user_{abs(hash(str(path.resolve())))}"
    # Importing the file runs it: never silently (stderr, so `--format json` output stays clean).
    print(f"caedoctor: running code from {path} to build the model ({name})", file=sys.stderr, flush=True)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ModelError(f"{path}: importing the factory module failed: {type(exc).__name__}: {exc}") from None
    found = getattr(module, name, None)
    compiled_models = {n: v for n, v in vars(module).items()
                       if isinstance(v, keras.Model) and getattr(v, "compiled", False) and not n.startswith("_")}
    if isinstance(found, keras.Model):
        return found, []
    if not callable(found):
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and (isinstance(v, keras.Model) or (callable(v) and getattr(v, "__module__", None) == module_name))]
        raise ModelError(f"{path}: no function or model {name!r} (defined there: {', '.join(names) or 'none'})")
    try:
        params = [p for p in inspect.signature(found).parameters.values()
                  if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        model = found(tuple(input_shape)) if params else found()
    except Exception as exc:
        raise ModelError(f"{text}: the factory raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, keras.Model):
        raise ModelError(f"{text}: the factory returned {type(model).__name__}, not a keras.Model")
    notes = []
    if not getattr(model, "compiled", False) and compiled_models:
        # The field notes' pattern: the factory builds, the module compiles outside it. Point at the model
        # the user actually trains rather than silently diagnosing the factory's uncompiled copy.
        listed = ", ".join(f"`{file_part}:{n}` ({OptimizerSpec.of(m.optimizer).describe()})"
                           for n, m in compiled_models.items() if m.optimizer is not None)
        notes.append(f"{file_part} also compiles {listed}: pass that to diagnose the model as you compiled it")
    return model, notes


def load_model(spec, input_shape, *, unsafe: bool = False, optimizer=None, learning_rate=None, loss=None,
               batch_size=None) -> LoadedModel:
    """Build or load the MODEL `spec` for data of `input_shape` (H, W, C); flags override its configuration.

    Raises:
        ModelError / ConfigError: with one sentence naming the problem.
    """
    input_shape = tuple(int(s) for s in input_shape)
    if isinstance(spec, keras.Model):
        model, config, source = spec, config_from_compiled(spec), f"model:{spec.name}"
    elif isinstance(spec, (str, Path)):
        text = str(spec)
        path = Path(text).expanduser()
        if text.startswith("preset:"):
            name = text.split(":", 1)[1]
            if name not in PRESETS:
                raise ModelError(f"unknown preset {text!r}; choose one of " + ", ".join(f"preset:{p}" for p in PRESETS))
            model, config = build_preset(name, input_shape)
        elif path.suffix.lower() == ".keras":
            if not path.is_file():
                raise ModelError(f"model file not found: {text}")
            model = load_keras_file(path, unsafe)
            config = config_from_compiled(model)
        elif path.suffix.lower() in (".yaml", ".yml", ".json"):
            if not path.is_file():
                raise ModelError(f"spec file not found: {text}")
            model, config = build_from_spec(read_spec_file(path), input_shape)
        elif ":" in text and text.rsplit(":", 1)[0].endswith(".py"):
            model, notes = _load_from_module(text, input_shape)
            config = config_from_compiled(model)
            config.notes.extend(notes)
        else:
            raise ModelError(f"cannot read MODEL {text!r}; expected preset:NAME, a .keras file, a spec "
                             ".yaml/.json, or file.py:NAME (a factory function or a model object)")
        source = text
    else:
        raise ModelError(f"MODEL must be a string, a path or a keras.Model; got {type(spec).__name__}")
    config = config.with_overrides(optimizer=optimizer, learning_rate=learning_rate, loss=loss,
                                   batch_size=batch_size)
    config.validate()
    check_names(model, source)
    return LoadedModel(model=model, config=config, source=source)
