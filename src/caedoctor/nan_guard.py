"""`NaNGuard`: roll training back to the last good weights and optimizer state when the loss turns NaN/Inf."""

from __future__ import annotations

import math

import keras
import numpy as np

ON_NAN = ("rollback", "stop")


class NaNGuard(keras.callbacks.Callback):
    """Restores the last good weights and optimizer state when the batch loss turns NaN or Inf, and goes on.

    A NaN loss hours into a run usually comes from one step that was too large: a learning rate a little
    too high for an unlucky batch. Keras' `TerminateOnNaN` stops the run and leaves the model full of NaN;
    the guard instead keeps an in-memory snapshot of the weights and the optimizer state (moments, step
    count, learning rate) every `snapshot_every` steps, and on a non-finite loss restores it, multiplies the
    learning rate by `factor` and continues. After `max_rollbacks` rollbacks the next NaN stops training
    (with the last good weights restored) and `message` says what probably went wrong.

    Every epoch's logs (hence `history.csv`) get the `learning_rate` in use and the number of
    `nan_rollbacks` so far; `events` lists each NaN with its step and the learning rate before and after.
    The batch that turned NaN counts in the epoch's mean loss with the mean so far (Keras keeps a running
    mean, which one NaN would poison for the rest of the epoch). Batches between the snapshot and the NaN
    are not repeated: the data stream goes on.

    Example:

    ```python
    import numpy as np, keras
    from caedoctor.nan_guard import NaNGuard

    x = np.random.default_rng(0).random((64, 16, 16, 1)).astype("float32") * 255  # unnormalised
    model = keras.Sequential([keras.Input((16, 16, 1)),
                              keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
                              keras.layers.Conv2D(1, 3, padding="same")])
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    guard = NaNGuard(snapshot_every=1)
    model.fit(x, x, batch_size=16, epochs=2, verbose=0, callbacks=[guard])
    print(guard.rollbacks, guard.gave_up, guard.message)
    ```

    Args:
        mode: "rollback" (restore, lower the learning rate, continue) or "stop" (restore and stop at the
            first NaN).
        snapshot_every: steps between snapshots (each copies the weights and optimizer state to host memory).
        factor: the learning rate is multiplied by this after each rollback (0 < factor < 1).
        max_rollbacks: rollbacks allowed before the guard gives up.
        hint: a sentence appended to the give-up message (e.g. what the data profile suggests).
    """

    def __init__(self, mode: str = "rollback", *, snapshot_every: int = 50, factor: float = 0.1,
                 max_rollbacks: int = 3, hint: str | None = None):
        super().__init__()
        if mode not in ON_NAN:
            raise ValueError(f"NaNGuard mode must be one of {', '.join(ON_NAN)}. Received mode={mode!r}")
        if not isinstance(snapshot_every, int) or isinstance(snapshot_every, bool) or snapshot_every < 1:
            raise ValueError("NaNGuard needs an integer snapshot_every >= 1. "
                             f"Received snapshot_every={snapshot_every!r}")
        if not (isinstance(factor, (int, float)) and 0 < factor < 1):
            raise ValueError(f"NaNGuard needs 0 < factor < 1. Received factor={factor!r}")
        if not isinstance(max_rollbacks, int) or isinstance(max_rollbacks, bool) or max_rollbacks < 0:
            raise ValueError(f"NaNGuard needs an integer max_rollbacks >= 0. Received max_rollbacks={max_rollbacks!r}")
        self.mode = mode
        self.snapshot_every = snapshot_every
        self.factor = float(factor)
        self.max_rollbacks = max_rollbacks
        self.hint = hint
        self._reset()

    def _reset(self):
        self.events: list[dict] = []
        self.rollbacks = 0
        self.gave_up = False
        self.message: str | None = None
        self.initial_learning_rate: float | None = None
        self._snapshot = None
        self._snapshot_step = -1
        self._step = 0
        self._epoch = 0
        self._epoch_mean = None  # Keras' running mean loss after the last finite batch of this epoch

    # ------------------------------------------------------------------ state

    def _learning_rate(self) -> float | None:
        """The current learning rate, or None when it is not a variable the guard can lower (a schedule)."""
        lr = getattr(self.model.optimizer, "learning_rate", None)
        if not isinstance(lr, keras.Variable):
            return None
        return float(keras.ops.convert_to_numpy(lr))

    def _take_snapshot(self) -> None:
        weights = self.model.get_weights()
        optimizer = [keras.ops.convert_to_numpy(v) for v in self.model.optimizer.variables]
        # Loss k is computed before step k's update, so a finite loss can still leave non-finite weights.
        if all(np.isfinite(w).all() for w in weights) and all(np.isfinite(v).all() for v in optimizer):
            self._snapshot = (weights, optimizer)
            self._snapshot_step = self._step

    def _restore(self) -> None:
        weights, optimizer = self._snapshot
        self.model.set_weights(weights)
        lr = self.model.optimizer.learning_rate
        for var, value in zip(self.model.optimizer.variables, optimizer):
            if var is not lr:  # the learning rate stays as the guard set it
                var.assign(value)

    def _mend_running_mean(self) -> None:
        """Replace the NaN batch's share of Keras' running mean loss by the mean so far (see class doc)."""
        tracker = getattr(self.model, "_loss_tracker", None)
        for metric in self.model.metrics:
            total, count = getattr(metric, "total", None), getattr(metric, "count", None)
            if metric is tracker and self._epoch_mean is not None and total is not None and count is not None:
                seen = float(keras.ops.convert_to_numpy(count))
                total.assign(self._epoch_mean * seen)
            else:
                metric.reset_state()

    # ------------------------------------------------------------------ callback

    def on_train_begin(self, logs=None):
        self._reset()
        self.initial_learning_rate = self._learning_rate()
        if not self.model.optimizer.built:
            # Keras builds it at the first step (or before on_train_begin under a strategy); build it now,
            # as BackupAndRestore does, so the first snapshot is the state before any step.
            self.model.optimizer.build(self.model.trainable_variables)
        self._take_snapshot()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_mean = None

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isfinite(loss):
            self._epoch_mean = loss
            if self._snapshot is None or self._step - self._snapshot_step >= self.snapshot_every:
                self._take_snapshot()
            return
        self._on_nonfinite(batch, loss)

    def _on_nonfinite(self, batch: int, loss: float) -> None:
        lr_before = self._learning_rate()
        event = {"step": self._step, "epoch": self._epoch + 1, "batch": batch + 1,
                 "loss": "nan" if math.isnan(loss) else ("inf" if loss > 0 else "-inf"),
                 "restored_step": self._snapshot_step if self._snapshot is not None else None,
                 "learning_rate_before": lr_before, "learning_rate_after": lr_before, "action": "stop"}
        self.events.append(event)
        if self._snapshot is not None:
            self._restore()
        can_lower = lr_before is not None
        if self.mode == "stop" or self.rollbacks >= self.max_rollbacks or self._snapshot is None or not can_lower:
            self.gave_up = True
            self.model.stop_training = True
            self.message = self._give_up_message(can_lower)
            return
        new_lr = lr_before * self.factor
        self.model.optimizer.learning_rate = new_lr
        self.rollbacks += 1
        event.update(action="rollback", learning_rate_after=new_lr)
        self._mend_running_mean()

    def _give_up_message(self, can_lower: bool) -> str:
        steps = ", ".join(str(e["step"]) for e in self.events)
        kind = self.events[-1]["loss"].lstrip("-").replace("nan", "NaN").replace("inf", "Inf")
        restored = "the last good weights restored" if self._snapshot is not None else "no good weights to restore"
        if self.mode == "stop":
            text = (f"training stopped: the loss turned {kind} at step {steps} (--on-nan stop; {restored}). "
                    "Likely cause: the learning rate is too high for this model and data")
        elif self._snapshot is None:
            text = (f"training stopped: the loss was {kind} from step {steps} on, before any finite step; the "
                    "model or the data produce non-finite values from the start")
        elif not can_lower:
            text = (f"training stopped: the loss turned {kind} at step {steps} and the learning rate is a "
                    f"schedule the guard cannot lower ({restored})")
        else:
            first, last = self.initial_learning_rate, self._learning_rate()
            text = (f"learning rate too high: {self.rollbacks} rollback(s) lowering it from {first:.3g} to "
                    f"{last:.3g} did not stop the loss turning {kind} (at steps {steps}); training stopped with "
                    f"{restored}")
        if self.hint:
            text += f"; {self.hint}"
        return text + ". Run caedoctor diagnose to confirm the cause"

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        lr = self._learning_rate()
        if lr is not None:
            logs["learning_rate"] = lr
        logs["nan_rollbacks"] = self.rollbacks

    def summary(self) -> dict:
        """What the guard did, for metrics.json."""
        return {"mode": self.mode, "rollbacks": self.rollbacks, "max_rollbacks": self.max_rollbacks,
                "factor": self.factor, "learning_rate_start": self.initial_learning_rate,
                "learning_rate_end": self._learning_rate() if self.model is not None else None,
                "gave_up": self.gave_up, "message": self.message, "events": list(self.events)}
