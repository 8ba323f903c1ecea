"""The training set-up exactly as the user compiled it: the optimizer, the loss, the batch size, and where
each came from.

caedoctor diagnoses *your* training, not a substitute. So the optimizer is kept as its Keras class and full
configuration (a learning-rate schedule, `clipnorm`, `use_ema` and every other argument included) and is
rebuilt fresh for every probe; the loss is kept as the very object (a string, a `keras.losses.Loss` with its
reduction and arguments, a custom function or `Loss` subclass, registered or not) and copied for every probe.
Whatever caedoctor had to choose itself (an uncompiled model, a flag) is recorded in `TrainConfig.origin`
and said out loud in `TrainConfig.notes`.
"""

from __future__ import annotations

import copy
import inspect
import math
from dataclasses import dataclass

from caedoctor.errors import ConfigError

DEFAULT_OPTIMIZER = "adam"
DEFAULT_LOSS = "mse"
DEFAULT_BATCH_SIZE = 32

# caedoctor's own loss names (SSIM needs the data's dynamic range, so caedoctor builds those itself).
CAEDOCTOR_LOSSES = ("ssim", "ssim_l1")
# Names a rule can reason about, from the many ways Keras spells them.
_LOSS_ALIASES = {
    "mse": "mse", "mean_squared_error": "mse", "meansquarederror": "mse",
    "mae": "mae", "mean_absolute_error": "mae", "meanabsoluteerror": "mae",
    "ssim": "ssim", "ssim_l1": "ssim_l1", "ssimloss": "ssim", "ssiml1loss": "ssim_l1",
    "bce": "bce", "binary_crossentropy": "bce", "binarycrossentropy": "bce",
    "huber": "huber", "huber_loss": "huber", "log_cosh": "log_cosh", "logcosh": "log_cosh",
    "msle": "msle", "mean_squared_logarithmic_error": "msle", "meansquaredlogarithmicerror": "msle",
}
# Rate-valued arguments of Keras' built-in schedules: scaling these scales the whole schedule exactly.
_SCHEDULE_RATE_KEYS = ("initial_learning_rate", "end_learning_rate", "warmup_target")
_BUILTIN_SCHEDULES = ("ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay", "InverseTimeDecay",
                      "CosineDecay", "CosineDecayRestarts")


def normalize_loss_name(name: str) -> str | None:
    """Map a Keras or caedoctor loss name to the canonical name rules use, or None if unknown."""
    return _LOSS_ALIASES.get(str(name).strip().lower().replace(" ", ""))


def builtin_optimizers() -> dict:
    """Every optimizer class Keras ships that takes a learning rate, by lower-case name (`adam`, `adadelta`,
    `sgd`, ...). Wrappers (LossScaleOptimizer, MultiOptimizer) are read from a compiled model, not named."""
    import keras

    found = {}
    for attr in dir(keras.optimizers):
        cls = getattr(keras.optimizers, attr)
        if (inspect.isclass(cls) and issubclass(cls, keras.optimizers.Optimizer)
                and cls is not keras.optimizers.Optimizer and "learning_rate" in inspect.signature(cls).parameters):
            found[attr.lower()] = cls
    return dict(sorted(found.items()))


def builtin_optimizer_names() -> tuple:
    """The lower-case names of `builtin_optimizers()`."""
    return tuple(builtin_optimizers())


class NotRescalable(ConfigError):
    """The learning rate of this optimizer cannot be changed exactly (e.g. a custom schedule)."""


# ------------------------------------------------------------------------------------------- optimizer

@dataclass(frozen=True, eq=False)
class OptimizerSpec:
    """An optimizer as the user compiled it: its class and full configuration, rebuilt fresh on demand.

    `config` is the optimizer's `get_config()` with the learning rate kept as a float or as the schedule
    object itself (so a schedule without `get_config` still works). `build()` returns a new optimizer with
    no state, exactly as `cls(**config)` would; changing the rate keeps the class and every other argument.

    Example::

        spec = OptimizerSpec.of(keras.optimizers.SGD(0.01, momentum=0.9, clipnorm=1.0))
        spec.with_learning_rate(0.1).build()   # SGD(0.1, momentum=0.9, clipnorm=1.0)
    """

    cls: type
    config: dict

    # ---- construction

    @classmethod
    def of(cls, optimizer) -> "OptimizerSpec":
        """The spec of a Keras optimizer object (a compiled model's `model.optimizer`)."""
        import keras

        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise ConfigError(f"not a Keras optimizer: {type(optimizer).__name__}")
        lr = getattr(optimizer, "_learning_rate", None)
        schedule = lr if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule) else None
        try:
            if schedule is not None:
                # get_config would serialise the schedule, which fails for one without get_config; the
                # schedule object itself is kept instead (a deep copy per probe).
                optimizer._learning_rate = None
                try:
                    config = optimizer.get_config()
                finally:
                    optimizer._learning_rate = schedule
                config["learning_rate"] = copy.deepcopy(schedule)
            else:
                config = optimizer.get_config()
                if isinstance(config.get("learning_rate"), float):
                    # Keras keeps the rate in a float32 variable: 0.001 reads back as 0.0010000000474974513.
                    # The shortest decimal of that float32 is the same number to Keras and reads as written.
                    config["learning_rate"] = _shortest_float32(config["learning_rate"])
        except Exception as exc:  # noqa: BLE001 - a user's optimizer subclass can fail in any way
            raise ConfigError(f"caedoctor cannot read the configuration of the optimizer "
                              f"{type(optimizer).__name__} to reproduce it exactly ({type(exc).__name__}: "
                              f"{str(exc)[:200]})") from None
        spec = cls(type(optimizer), config)
        spec.build()  # refuse now, naming it, rather than fail in the middle of a diagnosis
        return spec

    @classmethod
    def named(cls, name: str, learning_rate: float | None = None) -> "OptimizerSpec":
        """A built-in Keras optimizer by name (`adam`, `adadelta`, `sgd`, ...) with Keras' defaults."""

        key = str(name).strip().lower()
        classes = builtin_optimizers()
        if key not in classes:
            raise ConfigError(f"unknown optimizer {name!r}; choose one of {', '.join(classes)}")
        spec = cls.of(classes[key]())
        return spec.with_learning_rate(learning_rate) if learning_rate is not None else spec

    def build(self):
        """A new optimizer object with this configuration and no state."""
        try:
            return self.cls.from_config(copy.deepcopy(self.config))
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f"caedoctor cannot rebuild the optimizer {self.class_name} from its configuration "
                              f"({type(exc).__name__}: {str(exc)[:200]})") from None

    # ---- what it is

    @property
    def class_name(self) -> str:
        return self.cls.__name__

    @property
    def name(self) -> str:
        """Lower-case class name (`adam`, `adadelta`); a LossScaleOptimizer answers for its inner optimizer."""
        inner = self.inner
        return inner.name if inner is not None else self.class_name.lower()

    @property
    def inner(self) -> "OptimizerSpec | None":
        """The wrapped optimizer of a `LossScaleOptimizer`, else None."""
        inner = self.config.get("inner_optimizer")
        if inner is None:
            return None
        import keras

        return OptimizerSpec.of(keras.optimizers.deserialize(copy.deepcopy(inner)))

    @property
    def schedule(self):
        """The learning-rate schedule object, or None for a constant rate."""
        if self.inner is not None:
            return self.inner.schedule
        lr = self.config.get("learning_rate")
        return None if isinstance(lr, (int, float)) else lr

    @property
    def learning_rate(self) -> float:
        """The rate of the first step: the constant rate, or the schedule's value at step 0."""
        if self.inner is not None:
            return self.inner.learning_rate
        lr = self.config.get("learning_rate")
        if isinstance(lr, (int, float)):
            return float(lr)
        try:
            import keras

            return float(keras.ops.convert_to_numpy(lr(0)))
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f"cannot evaluate the learning-rate schedule {type(lr).__name__} at step 0 "
                              f"({type(exc).__name__}: {exc})") from None

    @property
    def default_learning_rate(self) -> float | None:
        """Keras' default rate for this optimizer class (None when the class has none)."""
        cls = self.inner.cls if self.inner is not None else self.cls
        default = inspect.signature(cls).parameters.get("learning_rate")
        value = getattr(default, "default", None)
        return float(value) if isinstance(value, (int, float)) else None

    # ---- changes (each returns a new spec; every other argument is kept)

    def with_learning_rate(self, learning_rate: float) -> "OptimizerSpec":
        """The same optimizer with its rate set to `learning_rate`; a schedule is scaled as a whole (its
        value at step 0 becomes `learning_rate`, its shape is kept)."""
        lr = float(learning_rate)
        if not (math.isfinite(lr) and lr > 0):
            raise ConfigError(f"learning rate must be a positive finite number, got {learning_rate!r}")
        if self.inner is not None:
            import keras

            new_inner = self.inner.with_learning_rate(lr)
            return self._replace(inner_optimizer=keras.optimizers.serialize(new_inner.build()))
        schedule = self.schedule
        if schedule is None:
            return self._replace(learning_rate=lr)
        return self._replace(learning_rate=scale_schedule(schedule, lr / self.learning_rate))

    def scaled(self, factor: float) -> "OptimizerSpec":
        """The rate (or the whole schedule) multiplied by `factor`."""
        return self.with_learning_rate(self.learning_rate * float(factor))

    def with_constant_learning_rate(self, learning_rate: float) -> "OptimizerSpec":
        """The same optimizer at a constant rate (the schedule dropped): what the LR range test sweeps."""
        if self.inner is not None:
            import keras

            new_inner = self.inner.with_constant_learning_rate(learning_rate)
            return self._replace(inner_optimizer=keras.optimizers.serialize(new_inner.build()))
        return self._replace(learning_rate=float(learning_rate))

    def _replace(self, **changes) -> "OptimizerSpec":
        config = dict(self.config)
        config.update(changes)
        return OptimizerSpec(self.cls, config)

    # ---- how it is shown

    def arguments(self) -> dict:
        """Every argument whose value differs from the class's default, plus the learning rate (plain data)."""
        defaults = {}
        try:
            defaults = self.cls().get_config()
        except Exception:  # noqa: BLE001 - a class without defaults for every argument: show them all
            pass
        out = {"learning_rate": _plain(self.config.get("learning_rate"))}
        for key, value in self.config.items():
            if key in ("name", "learning_rate"):
                continue
            if key in defaults and _plain(defaults[key]) == _plain(value):
                continue
            out[key] = _plain(value)
        return out

    def describe(self) -> str:
        """`Adam(learning_rate=0.1, clipnorm=1.0)`: the class and its non-default arguments."""
        args = ", ".join(f"{k}={_text(v)}" for k, v in self.arguments().items())
        return f"{self.class_name}({args})"

    def to_dict(self) -> dict:
        return {"class": self.class_name, "module": self.cls.__module__, "learning_rate": self.learning_rate,
                "schedule": type(self.schedule).__name__ if self.schedule is not None else None,
                "arguments": self.arguments(), "description": self.describe()}


def _shortest_float32(value: float) -> float:
    import numpy as np

    return float(str(np.float32(value)))


def scale_schedule(schedule, factor: float):
    """A copy of a Keras learning-rate schedule whose every rate is multiplied by `factor`.

    Keras' built-in schedules are scaled exactly through their configuration (their shape, decay steps and
    boundaries kept). A custom schedule cannot be scaled without changing its class: `NotRescalable`.
    """
    name = type(schedule).__name__
    if name not in _BUILTIN_SCHEDULES or not hasattr(schedule, "get_config"):
        raise NotRescalable(f"the learning-rate schedule {name} is not one of Keras' built-in schedules; "
                            "caedoctor cannot scale it exactly (change its rates in your code)")
    config = schedule.get_config()
    for key in _SCHEDULE_RATE_KEYS:
        if isinstance(config.get(key), (int, float)):
            config[key] = float(config[key]) * factor
    if "values" in config:
        config["values"] = [float(v) * factor for v in config["values"]]
    return type(schedule).from_config(config)


def _plain(value):
    """A config value as plain data (a schedule becomes {class, config})."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "get_config"):
        try:
            return {"class": type(value).__name__, "config": _plain(value.get_config())}
        except Exception:  # noqa: BLE001
            pass
    return f"<{type(value).__name__}>"


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict) and "class" in value:
        inner = ", ".join(f"{k}={_text(v)}" for k, v in (value.get("config") or {}).items() if k != "name")
        return f"{value['class']}({inner})"
    if isinstance(value, dict) and "class_name" in value:
        return f"{value['class_name']}(...)"
    return repr(value)


# ------------------------------------------------------------------------------------------------ loss

@dataclass(frozen=True)
class OwnLoss:
    """The loss of a model that trains itself (`caedoctor.reconstruction.trains_itself`): its own `train_step`,
    `compute_loss` or `add_loss` terms compute it, so a probe compiles no loss and lets the model do it.

    Attributes:
        where: the method that computes it, for messages (`VAE.train_step`).
        feed: what that method gets from `fit`: "x" (the inputs alone, as `fit(x)` gives them) or "xy"
            (`(x, y)` pairs); probes feed their batches the same way.
    """

    where: str
    feed: str = "x"

    def __post_init__(self):
        if self.feed not in ("x", "xy"):
            raise ConfigError(f"OwnLoss feed must be 'x' or 'xy', got {self.feed!r}")


@dataclass(frozen=True, eq=False)
class LossSpec:
    """A loss as the user compiled it: a Keras name, a `keras.losses.Loss` object (its reduction and every
    argument kept), or any callable `fn(y_true, y_pred)`.

    `build()` returns what `model.compile(loss=...)` gets for a probe: the same string, a deep copy of the
    Loss object (Keras' own `serialize` drops some arguments, e.g. Huber's `delta`, so it is not used), or
    the function itself. caedoctor's SSIM losses named by string are built for the data's dynamic range.
    """

    value: object

    @classmethod
    def of(cls, loss) -> "LossSpec":
        if isinstance(loss, LossSpec):
            return loss
        if isinstance(loss, OwnLoss):
            return cls(loss)
        if isinstance(loss, str):
            key = loss.strip()
            if normalize_loss_name(key) == "bce":
                key = "binary_crossentropy"
            if normalize_loss_name(key) not in CAEDOCTOR_LOSSES:
                import keras

                try:
                    keras.losses.get(key)
                except (ValueError, TypeError):
                    raise ConfigError(f"unknown loss {loss!r}; use a Keras loss name (mse, mae, huber, "
                                      "binary_crossentropy, ...), ssim or ssim_l1") from None
            return cls(key)
        if isinstance(loss, (list, tuple, dict)):
            raise ConfigError("a CAE has one output; caedoctor diagnoses a single loss, got "
                              f"{type(loss).__name__} of losses")
        if not callable(loss):
            raise ConfigError(f"a loss must be a name, a keras.losses.Loss or a function; got {type(loss).__name__}")
        return cls(loss)

    def build(self, max_val: float = 1.0):
        """The loss to compile a probe with (a fresh copy where the loss is an object; None for `OwnLoss`)."""
        value = self.value
        if isinstance(value, OwnLoss):
            return None
        if isinstance(value, str):
            canonical = normalize_loss_name(value)
            if canonical in CAEDOCTOR_LOSSES:
                from caedoctor.losses import make_loss

                return make_loss(canonical, max_val)
            return value
        if inspect.isfunction(value) or inspect.isbuiltin(value):
            return value
        # A shallow copy of the attributes: Keras' Loss pickles and deep-copies through get_config, which
        # drops arguments (Huber's delta), and a loss holds no state a probe could change.
        try:
            clone = object.__new__(type(value))
            clone.__dict__.update(vars(value))
            return clone
        except Exception:  # noqa: BLE001 - an object without a __dict__: sharing it changes nothing
            return value

    @property
    def name(self) -> str:
        """The canonical name rules reason about (`mse`, `bce`, `huber`, ...) or the function/class name;
        "own" for a model that computes its own loss."""
        value = self.value
        if isinstance(value, OwnLoss):
            return "own"
        if isinstance(value, str):
            return normalize_loss_name(value) or value.lower()
        fn = getattr(value, "fn", None)  # keras' LossFunctionWrapper
        for candidate in (type(value).__name__, getattr(value, "name", None),
                          getattr(fn, "__name__", None), getattr(value, "__name__", None)):
            if candidate and normalize_loss_name(candidate):
                return normalize_loss_name(candidate)
        return str(getattr(value, "__name__", None) or getattr(value, "name", None) or type(value).__name__)

    @property
    def own(self) -> OwnLoss | None:
        """The `OwnLoss` when the model computes its loss itself, else None."""
        return self.value if isinstance(self.value, OwnLoss) else None

    @property
    def is_builtin(self) -> bool:
        """A Keras or caedoctor loss (as opposed to a user's own function or class)."""
        value = self.value
        if isinstance(value, OwnLoss):
            return False
        if isinstance(value, str):
            return True
        module = getattr(type(value), "__module__", "") if not inspect.isfunction(value) else value.__module__
        return module.startswith(("keras", "caedoctor"))

    @property
    def from_logits(self) -> bool:
        value = self.value
        kwargs = getattr(value, "_fn_kwargs", None) or getattr(value, "fn_kwargs", None) or {}
        return bool(getattr(value, "from_logits", False) or kwargs.get("from_logits", False))

    @property
    def reduction(self) -> str:
        """How Keras reduces per-sample values: `sum_over_batch_size` (the mean) unless the object says so."""
        return str(getattr(self.value, "reduction", None) or "sum_over_batch_size")

    @property
    def max_val(self) -> float | None:
        """The dynamic range an SSIM loss object was built with (None for other losses and names)."""
        value = getattr(self.value, "max_val", None)
        return float(value) if isinstance(value, (int, float)) else None

    def arguments(self) -> dict:
        value = self.value
        if isinstance(value, (str, OwnLoss)):
            return {}
        args = {}
        if hasattr(value, "get_config"):
            try:
                args = {k: _plain(v) for k, v in value.get_config().items() if k not in ("name",)}
            except Exception:  # noqa: BLE001
                args = {}
        kwargs = getattr(value, "_fn_kwargs", None) or getattr(value, "fn_kwargs", None)
        if isinstance(kwargs, dict):
            args.update({k: _plain(v) for k, v in kwargs.items()})
        return args

    def describe(self) -> str:
        value = self.value
        if isinstance(value, OwnLoss):
            return f"the model's own loss ({value.where})"
        if isinstance(value, str):
            return repr(value)
        if inspect.isfunction(value):
            return f"function {value.__name__} (from {value.__module__})"
        args = ", ".join(f"{k}={_text(v)}" for k, v in self.arguments().items())
        return f"{type(value).__name__}({args})"

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.describe(), "reduction": self.reduction,
                "from_logits": self.from_logits, "builtin": self.is_builtin, "arguments": self.arguments()}


# ------------------------------------------------------------------------------------------- the config

ORIGINS = ("model", "flag", "preset", "spec", "default", "data", "fix")


class TrainConfig:
    """How a CAE is trained, exactly as given: optimizer, loss and batch size, and where each came from.

    `TrainConfig("sgd", 0.01, "mse", 32, optimizer_options={"momentum": 0.9})` builds one from names;
    `TrainConfig(OptimizerSpec.of(opt), LossSpec.of(loss))` keeps a user's objects exactly.

    Attributes:
        optimizer: an `OptimizerSpec` (class and full configuration).
        loss: a `LossSpec` (the loss object as compiled).
        batch_size: samples per step.
        origin: for "optimizer", "learning_rate", "loss" and "batch_size": "model" (read from the user's
            compiled model), "flag", "preset", "spec", "data" (a batched dataset), "default" (caedoctor chose
            it: said in `notes`) or "fix".
        notes: what caedoctor had to choose or could not reproduce, in sentences printed to the user.
    """

    def __init__(self, optimizer=None, learning_rate: float | None = None, loss=None,
                 batch_size: int = DEFAULT_BATCH_SIZE, optimizer_options: dict | None = None,
                 origin: dict | None = None, notes: list | None = None):
        if optimizer is None or isinstance(optimizer, str):
            spec = OptimizerSpec.named(optimizer or DEFAULT_OPTIMIZER)
            if optimizer_options:
                try:
                    spec = OptimizerSpec.of(spec.cls(**{**spec.config, **optimizer_options}))
                except TypeError as exc:
                    raise ConfigError(f"{spec.class_name} does not take these arguments: {exc}") from None
        elif isinstance(optimizer, OptimizerSpec):
            spec = optimizer
        else:
            spec = OptimizerSpec.of(optimizer)
        if learning_rate is not None:
            if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) \
                    or not math.isfinite(learning_rate) or learning_rate <= 0:
                raise ConfigError(f"learning rate must be a positive finite number, got {learning_rate!r}")
            spec = spec.with_learning_rate(learning_rate)
        self.optimizer: OptimizerSpec = spec
        self.loss: LossSpec = LossSpec.of(DEFAULT_LOSS if loss is None else loss)
        self.batch_size = batch_size
        self.origin = dict(origin or {})
        self.notes = list(notes or [])
        self.validate()

    @classmethod
    def create(cls, optimizer: str = DEFAULT_OPTIMIZER, learning_rate: float | None = None, loss=DEFAULT_LOSS,
               batch_size: int = DEFAULT_BATCH_SIZE, origin: str | dict = "default", **optimizer_args) -> "TrainConfig":
        """A config from names, every field marked with `origin`: `TrainConfig.create("sgd", 0.01, momentum=0.9)`."""
        origins = origin if isinstance(origin, dict) else {k: origin for k in
                                                           ("optimizer", "learning_rate", "loss", "batch_size")}
        return cls(optimizer, learning_rate, loss, batch_size, optimizer_args or None, origins)

    def __repr__(self) -> str:
        return (f"TrainConfig(optimizer={self.optimizer.describe()}, loss={self.loss.describe()}, "
                f"batch_size={self.batch_size})")

    # ---- what rules read

    @property
    def learning_rate(self) -> float:
        return self.optimizer.learning_rate

    @property
    def optimizer_name(self) -> str:
        return self.optimizer.name

    @property
    def loss_name(self) -> str:
        return self.loss.name

    def validate(self) -> None:
        lr = self.optimizer.learning_rate
        if not (math.isfinite(lr) and lr > 0):
            raise ConfigError(f"learning rate must be a positive finite number, got {lr!r}")
        bs = self.batch_size
        if not isinstance(bs, int) or isinstance(bs, bool) or bs < 1:
            raise ConfigError(f"batch size must be a positive integer, got {bs!r}")

    # ---- changes

    def replace(self, *, origin_label: str = "fix", **changes) -> "TrainConfig":
        """A copy with fields (optimizer, loss, batch_size) replaced; their origin becomes `origin_label`."""
        unknown = set(changes) - {"optimizer", "loss", "batch_size"}
        if unknown:
            raise TypeError(f"TrainConfig.replace: unknown field(s) {sorted(unknown)}")
        origin = dict(self.origin)
        for key in changes:
            origin[key] = origin_label
        if "optimizer" in changes:
            origin["learning_rate"] = origin_label
        notes = [n for n in self.notes if not ("batch_size" in changes and n.startswith("batch size"))]
        return TrainConfig(changes.get("optimizer", self.optimizer), None, changes.get("loss", self.loss),
                           changes.get("batch_size", self.batch_size), origin=origin, notes=notes)

    def with_learning_rate(self, learning_rate: float, origin_label: str = "fix") -> "TrainConfig":
        """The same optimizer (class, schedule shape and every argument) at another rate."""
        new = self.replace(optimizer=self.optimizer.with_learning_rate(learning_rate), origin_label=origin_label)
        new.origin["optimizer"] = self.origin.get("optimizer", "default")
        return new

    def with_overrides(self, *, optimizer=None, learning_rate=None, loss=None, batch_size=None) -> "TrainConfig":
        """A copy with the given fields replaced by command-line flags (None keeps the field)."""
        new = self
        if optimizer is not None:
            name = str(optimizer).strip().lower()
            if name != self.optimizer_name or learning_rate is None:
                spec = OptimizerSpec.named(name)
                new = new.replace(optimizer=spec, origin_label="flag")
                new.origin["learning_rate"] = "default"
                if name != self.optimizer_name:
                    new.notes.append(f"--optimizer {name}: a new {spec.class_name} with Keras' defaults replaces "
                                     f"the model's {self.optimizer.describe()}")
        if learning_rate is not None:
            new = new.with_learning_rate(float(learning_rate), origin_label="flag")
        if loss is not None:
            new = new.replace(loss=LossSpec.of(loss), origin_label="flag")
        if batch_size is not None:
            new = new.replace(batch_size=batch_size, origin_label="flag")
        new.validate()
        return new

    # ---- how it is shown

    def describe(self) -> list:
        """Lines of "what is trained": optimizer, learning rate, loss and batch size, each with its origin."""
        o = self.origin
        schedule = self.optimizer.schedule
        rate = f"{self.learning_rate:.4g}" + (f" at step 0 ({type(schedule).__name__})" if schedule is not None else "")
        return [f"optimizer: {self.optimizer.describe()} [{o.get('optimizer', 'default')}]",
                f"learning rate: {rate} [{o.get('learning_rate', 'default')}]",
                f"loss: {self.loss.describe()} [{o.get('loss', 'default')}]",
                f"batch size: {self.batch_size} [{o.get('batch_size', 'default')}]"]

    def to_dict(self) -> dict:
        return {"optimizer": self.optimizer.to_dict(), "learning_rate": self.learning_rate,
                "loss": self.loss.to_dict(), "batch_size": self.batch_size, "origin": dict(self.origin),
                "notes": list(self.notes)}
