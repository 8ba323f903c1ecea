"""Train a CAE with Keras `fit`: progress bar, an atomic checkpoint every epoch, `history.csv`,
TensorBoard logs, `metrics.json`, `reconstructions.png` and `loss.png`; `resume=True` continues from the
last complete checkpoint with no epoch repeated or lost."""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from caedoctor.config import TrainConfig
from caedoctor.data import Data
from caedoctor.errors import CaedoctorError, DataError, ModelError
from caedoctor.findings import jsonable
from caedoctor.losses import dynamic_range, reconstruction_metrics
from caedoctor.models import LoadedModel, check_autoencoder_shapes, compile_model
from caedoctor.reconstruction import reconstruct

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "latest.json"
# What `train` writes directly inside its output folder (claimed there first: caedoctor.out_folder).
TRAIN_OUTPUTS = (CHECKPOINT_DIR, "logs", "history.csv", "metrics.json", "loss.png", "reconstructions.png")


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and ask TensorFlow for deterministic ops: same seed, same run."""
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


@dataclass
class TrainResult:
    """What a training run produced: per-epoch history, final validation metrics and the artefact paths."""

    history: dict
    metrics: dict
    epochs: int  # the epochs asked for, in total (resumed ones counted)
    epochs_run: int  # the epochs this call trained (fewer than asked when training stopped early)
    seconds: float
    config: TrainConfig
    out_dir: Path | None = None
    artefacts: dict = field(default_factory=dict)
    model: object = field(default=None, repr=False)
    nan_guard: dict | None = None  # what `on_nan` did (NaNGuard.summary()), None without a guard

    epochs_done: int = 0  # the epochs trained in total, resumed ones counted

    @property
    def stopped_early(self) -> bool:
        """Training ended before the epochs asked for were complete: an early-stopping callback, or a NaN guard
        that gave up (inside the epoch it counts)."""
        return self.epochs_done < self.epochs or bool(self.nan_guard and self.nan_guard.get("gave_up"))

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "epochs_run": self.epochs_run, "epochs_done": self.epochs_done,
                "stopped_early": self.stopped_early, "seconds": self.seconds,
                "metrics": self.metrics, "history": self.history, "config": self.config.to_dict(),
                "artefacts": {k: str(v) for k, v in self.artefacts.items()}, "nan_guard": self.nan_guard}


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_history_csv(path: Path, history: dict) -> None:
    keys = ["epoch"] + sorted(history)
    rows = max((len(v) for v in history.values()), default=0)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(keys)
        for i in range(rows):
            # A column added later (e.g. a resumed run records a new metric) is empty for earlier epochs,
            # aligned to the last epochs it was recorded for.
            cells = []
            for k in sorted(history):
                values = history[k]
                j = i - (rows - len(values))
                cells.append(values[j] if 0 <= j < len(values) else "")
            writer.writerow([i + 1] + cells)
    os.replace(tmp, path)


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves model + optimizer state after every epoch, atomically, with the history so far.

    The model goes to `checkpoints/epoch_NNN.keras` through a temporary file and `os.replace`; only then
    does `checkpoints/latest.json` (also replaced atomically) point at it. A run killed at any moment
    leaves the previous complete checkpoint in place, and `history.csv` always matches it.
    """

    def __init__(self, out_dir: Path, history: dict | None = None, keep: int = 2, unsafe: bool = False):
        super().__init__()
        self.dir = Path(out_dir) / CHECKPOINT_DIR
        self.out_dir = Path(out_dir)
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.keep = keep
        self.unsafe = bool(unsafe)  # recorded, so a resume loads the checkpoint as the first run loaded its model

    def on_epoch_end(self, epoch, logs=None):
        self.dir.mkdir(parents=True, exist_ok=True)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if not all(math.isfinite(float(v)) for k, v in (logs or {}).items() if k.endswith("loss")):
            # A NaN/Inf epoch never becomes the checkpoint to resume from; its history row is still kept.
            _write_history_csv(self.out_dir / "history.csv", self.history)
            return
        name = f"epoch_{epoch + 1:03d}.keras"
        tmp = self.dir / f".tmp_{name}"
        try:
            self.model.save(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a failed save leaves no half-written file behind
            raise
        os.replace(tmp, self.dir / name)
        state = {"epoch": epoch + 1, "checkpoint": name, "unsafe": self.unsafe, "history": self.history}
        atomic_write_text(self.dir / STATE_FILE, json.dumps(state, indent=1))
        _write_history_csv(self.out_dir / "history.csv", self.history)
        for old in sorted(self.dir.glob("epoch_*.keras"))[:-self.keep]:
            old.unlink(missing_ok=True)


def read_checkpoint_state(out_dir: Path) -> dict | None:
    path = Path(out_dir) / CHECKPOINT_DIR / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
        if not (Path(out_dir) / CHECKPOINT_DIR / state["checkpoint"]).is_file():
            raise KeyError("checkpoint")
        return state
    except (ValueError, KeyError, TypeError):
        raise CaedoctorError(f"{path}: checkpoint state is damaged; cannot resume from it") from None


def _load_checkpoint(out: Path, state: dict, unsafe: bool):
    """The checkpoint `state` points at, loaded as the first run loaded its model: with `safe_mode=True`
    unless `unsafe` is given again, and refused in one line when the first run needed it and it is not."""
    from caedoctor.models.load import load_keras_file

    if state.get("unsafe") and not unsafe:
        raise ModelError(f"{out}: this run was started with --unsafe (its model holds a Lambda layer: code stored "
                         "in the checkpoint runs when it loads); pass --unsafe again to resume it, only if you "
                         "trust the model")
    return load_keras_file(out / CHECKPOINT_DIR / state["checkpoint"], unsafe)


def validate_trainable(data: Data) -> None:
    """Refuse data that makes training meaningless (NaN/Inf values), naming how many values are bad."""
    for what, stats in (("inputs", data.profile.inputs), ("targets", data.profile.target)):
        if stats is not None and (stats.nan_count or stats.inf_count):
            raise DataError(
                f"{data.name}: {what} contain {stats.nan_count} NaN and {stats.inf_count} Inf values "
                f"(first in samples {stats.first_nonfinite}); training on them gives a NaN loss. Clean or "
                "drop those samples")


def _refuse_changed_flags_on_resume(config: TrainConfig, model) -> None:
    """A resumed run continues with the checkpoint's compiled optimizer and loss. Repeating the same flags is
    fine; a *different* value would be silently ignored (and misreported in metrics.json), so refuse it."""
    from caedoctor.models import config_from_compiled

    saved = config_from_compiled(model)
    values = {"optimizer": lambda c: c.optimizer_name, "learning_rate": lambda c: c.learning_rate,
              "loss": lambda c: c.loss_name}
    changed = [f"{name} {get(config)!r} (checkpoint: {get(saved)!r})" for name, get in values.items()
               if config.origin.get(name) == "flag" and saved.origin.get(name) == "model"
               and not _same(get(config), get(saved))]
    if changed:
        raise CaedoctorError("--resume continues with the checkpoint's settings, but the flags ask for "
                             + ", ".join(changed) + "; drop those flags, or start a new run in another --out")


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6)
    return a == b


def train(loaded: LoadedModel, data: Data, *, epochs: int, out_dir=None, resume: bool = False,
          steps_per_epoch: int | None = None, verbose="auto", callbacks=None, plots: bool = True,
          on_nan: str | None = None, seed: int = 0, unsafe: bool = False) -> TrainResult:
    """Train `loaded.model` on `data` for `epochs` epochs (in total, counting resumed ones).

    Args:
        loaded: the model and its `TrainConfig` (from `caedoctor.models.load_model`).
        data: from `caedoctor.data.load_data`.
        epochs: the final epoch count; with `resume=True` only the missing epochs run.
        out_dir: where artefacts go (None: train in memory, write nothing).
        resume: continue from `out_dir`'s last complete checkpoint.
        steps_per_epoch: cap each epoch at this many batches (the data repeats so epochs stay full).
        verbose: Keras' fit verbosity ("auto", 0, 1 progress bar, 2 one line per epoch).
        callbacks: extra Keras callbacks (e.g. `caedoctor.ConvergenceMonitor`).
        plots: write `loss.png` and `reconstructions.png`.
        seed: seeds the order of the training batches (weights are seeded by `seed_everything`).
        on_nan: "rollback" or "stop" adds a `caedoctor.nan_guard.NaNGuard` (see there); None leaves NaN
            handling to Keras (training goes on with NaN weights).
        unsafe: the model was loaded with `unsafe=True` (a Lambda layer: code stored in the file). It is
            recorded in the checkpoint state. A resume loads the checkpoint with `safe_mode=True` unless
            `unsafe=True` is given again, exactly as the first run loaded its model; a run started with it
            is refused in one sentence without it.

    Under a `tf.distribute` strategy, call it inside `strategy.scope()` with a model built there.
    """
    # One function on purpose (about 60 lines below the docstring): resuming, claiming the output names, the
    # callbacks and the final scoring share the run's state in one order a reader can follow top to bottom.
    if not isinstance(epochs, int) or epochs < 1:
        raise CaedoctorError(f"epochs must be a positive integer, got {epochs!r}")
    validate_trainable(data)
    config = loaded.config
    target = data.profile.target_stats
    max_val = dynamic_range(target.value_range, target.min, target.max)
    out = Path(out_dir) if out_dir is not None else None
    history: dict = {}
    initial_epoch = 0
    model = loaded.model
    if resume:
        if out is None:
            raise CaedoctorError("resume needs an output folder holding a checkpoint")
        state = read_checkpoint_state(out)
        if state is None:
            raise CaedoctorError(f"{out}: no checkpoint to resume from ({out / CHECKPOINT_DIR / STATE_FILE} missing)")
        model = _load_checkpoint(out, state, unsafe)
        _refuse_changed_flags_on_resume(config, model)
        initial_epoch = int(state["epoch"])
        history = state["history"]
    else:
        compile_model(model, config, max_val)
    check_autoencoder_shapes(model, data.target_shape, data.input_shape)
    cbs = list(callbacks or [])
    guard = None
    if on_nan is not None:
        from caedoctor.nan_guard import NaNGuard

        hint = ("the inputs are in [0, 255]: --normalize unit scales them to [0, 1]"
                if data.profile.inputs.value_range == "[0,255]" else None)
        guard = NaNGuard(on_nan, hint=hint)
        cbs.insert(0, guard)  # first, so the checkpoint's history gets the learning rate it records
    if out is not None:
        from caedoctor.out_folder import claim, has_marker

        # Never overwrite a user's file: claim the names first (refused when one exists and is not ours). A
        # run resumed in a folder an older caedoctor wrote (no marker) continues without marking it.
        if not (resume and not has_marker(out)):
            claim(out, TRAIN_OUTPUTS)
        cbs.append(EpochCheckpoint(out, history, unsafe=unsafe))
        cbs.append(keras.callbacks.TensorBoard(log_dir=str(out / "logs"), write_graph=False, profile_batch=0))
    # The batch order follows the run's seed (it was fixed at 0, so `--seed` did not change it as documented).
    train_ds = data.batches("train", config.batch_size, shuffle=True, seed=seed, repeat=steps_per_epoch is not None)
    val_ds = data.batches("val", max(config.batch_size, 256))
    start = time.perf_counter()
    epochs_run = 0
    if initial_epoch < epochs:
        fit = model.fit(train_ds, validation_data=val_ds, epochs=epochs, initial_epoch=initial_epoch,
                        steps_per_epoch=steps_per_epoch, verbose=verbose, callbacks=cbs, shuffle=False)
        for key, values in fit.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        epochs_run = len(fit.epoch)  # the epochs fit ran: fewer than asked when a callback stopped it
    seconds = time.perf_counter() - start
    metrics = reconstruction_metrics(model, data.batches("val", 256).as_numpy_iterator(), max_val)
    metrics["train_loss"] = history.get("loss", [math.nan])[-1]
    metrics["val_loss"] = history.get("val_loss", [math.nan])[-1]
    result = TrainResult(history=history, metrics=metrics, epochs=epochs,
                         epochs_run=epochs_run, epochs_done=initial_epoch + epochs_run, seconds=seconds,
                         config=config, out_dir=out,
                         model=model, nan_guard=guard.summary() if guard is not None else None)
    if out is not None:
        _write_artefacts(result, model, data, loaded, plots)
    return result


def _write_artefacts(result: TrainResult, model, data: Data, loaded: LoadedModel, plots: bool) -> None:
    from caedoctor import plots as plotting

    out = result.out_dir
    summary = {"model": loaded.source, "data": data.name, "epochs": result.epochs,
               "epochs_run": result.epochs_run, "epochs_done": result.epochs_done,
               "stopped_early": result.stopped_early, "seconds": round(result.seconds, 3),
               "config": result.config.to_dict(), "metrics": result.metrics}
    if result.nan_guard is not None:
        summary["nan_guard"] = result.nan_guard
    atomic_write_text(out / "metrics.json", json.dumps(jsonable(summary), indent=2))
    result.artefacts.update(metrics=out / "metrics.json", history=out / "history.csv",
                            checkpoints=out / CHECKPOINT_DIR, logs=out / "logs")
    if plots:
        plotting.plot_loss(result.history, out / "loss.png", title=f"{loaded.source} on {data.name}")
        x, y = data.sample(8)
        pred = np.asarray(reconstruct(model, x))
        target = data.profile.target_stats
        plotting.plot_reconstructions(x, pred, out / "reconstructions.png", target.min, target.max,
                                      title=f"{loaded.source}: inputs (top) and reconstructions (bottom)")
        result.artefacts.update(loss_plot=out / "loss.png", reconstructions=out / "reconstructions.png")
