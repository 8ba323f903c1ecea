"""The training configuration of a CAE: optimizer, learning rate, loss and batch size."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from caedoctor.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad", "nadam")
LOSSES = ("mse", "mae", "ssim", "ssim_l1", "bce")

# Keras' own defaults; used when neither the model nor the user names a learning rate.
DEFAULT_LEARNING_RATE = {
    "adam": 1e-3, "adamw": 1e-3, "sgd": 1e-2, "rmsprop": 1e-3, "adagrad": 1e-3, "nadam": 1e-3,
}

_LOSS_ALIASES = {
    "mse": "mse", "mean_squared_error": "mse", "meansquarederror": "mse",
    "mae": "mae", "mean_absolute_error": "mae", "meanabsoluteerror": "mae",
    "ssim": "ssim", "ssim_l1": "ssim_l1",
    "bce": "bce", "binary_crossentropy": "bce", "binarycrossentropy": "bce",
}


def normalize_loss_name(name: str) -> str | None:
    """Map a Keras or caedoctor loss name to caedoctor's canonical name, or None if unknown."""
    return _LOSS_ALIASES.get(str(name).strip().lower())


@dataclass
class TrainConfig:
    """How a CAE is trained. Every field is plain data so it can be printed, saved and changed by a fix.

    Attributes:
        optimizer: one of `OPTIMIZERS`.
        learning_rate: the optimizer's learning rate.
        loss: one of `LOSSES` (`ssim` is 1 - SSIM; `ssim_l1` mixes it with L1).
        batch_size: samples per step.
        optimizer_options: extra optimizer arguments kept from a user's compiled model (e.g. momentum).
        origin: where each field came from: "preset", "model", "spec", "flag" or "default".
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    loss: str = "mse"
    batch_size: int = 32
    optimizer_options: dict = field(default_factory=dict)
    origin: dict = field(default_factory=dict)

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        lr = self.learning_rate
        if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not math.isfinite(lr) or lr <= 0:
            raise ConfigError(f"learning rate must be a positive finite number, got {lr!r}")
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        bs = self.batch_size
        if not isinstance(bs, int) or isinstance(bs, bool) or bs < 1:
            raise ConfigError(f"batch size must be a positive integer, got {bs!r}")

    def with_overrides(self, *, optimizer=None, learning_rate=None, loss=None, batch_size=None) -> "TrainConfig":
        """A copy with the given fields replaced (None keeps the field); the changed fields are marked "flag"."""
        changes, origin = {}, dict(self.origin)
        if optimizer is not None:
            changes["optimizer"] = str(optimizer).lower()
            origin["optimizer"] = "flag"
            if learning_rate is None and changes["optimizer"] != self.optimizer:
                # A new optimizer starts from its own default rate unless one is given.
                changes["learning_rate"] = DEFAULT_LEARNING_RATE.get(changes["optimizer"], 1e-3)
                changes["optimizer_options"] = {}
                origin["learning_rate"] = "default"
        if learning_rate is not None:
            changes["learning_rate"] = float(learning_rate)
            origin["learning_rate"] = "flag"
        if loss is not None:
            canonical = normalize_loss_name(loss)
            changes["loss"] = canonical if canonical else str(loss)
            origin["loss"] = "flag"
        if batch_size is not None:
            changes["batch_size"] = batch_size
            origin["batch_size"] = "flag"
        return dataclasses.replace(self, origin=origin, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
