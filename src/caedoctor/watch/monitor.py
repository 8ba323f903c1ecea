"""`FitMonitor`: the `ConvergenceMonitor` as it rides along in a user's own `fit`: it never breaks that fit,
takes its monitor batch when one becomes available, and names no Keras objects behind the user's back.

Three differences from the plain callback, each because the fit is the user's:
- a failure inside the monitor (a model it cannot probe) never stops the user's training: the probe of the
  monitor batch is dropped and the loss of every step is still recorded (a second failure stops the monitor);
  the reason is kept in `failure` and printed later;
- the monitor batch may arrive late: a generator's first batch is known only once `fit` has drawn it;
- the probe's helper model is built without taking a name from Keras' counters, so the user's next unnamed
  model is called what it would have been called without caedoctor.
"""

from __future__ import annotations

import warnings

from caedoctor.monitor.callback import ConvergenceMonitor, _as_batch, _feed_of
from caedoctor.watch.state import preserved_names

_NO_BATCH = "ConvergenceMonitor got no monitor_data"


class FitMonitor(ConvergenceMonitor):
    """A `ConvergenceMonitor` that cannot fail the user's `fit`.

    Args:
        monitor_data: the monitor batch, or None.
        batch_source: called at the start of training when `monitor_data` is None; returns a batch or None
            (then only the loss is recorded).
        **options: as for `ConvergenceMonitor`.
    """

    def __init__(self, monitor_data=None, *, batch_source=None, **options):
        super().__init__(monitor_data, **options)
        self._batch_source = batch_source
        self.failure: str | None = None
        self.stopped = False  # True after a failure the loss recording could not survive either

    def _guard(self, hook, *args) -> None:
        if self.stopped:
            return
        try:
            hook(*args)
        except Exception as exc:  # noqa: BLE001 - the user's fit goes on; the failure is reported after it
            if self.failure is None:
                self.failure = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
            if self._probe is None:
                self.stopped = True
            self._probe = self._snapshot = None  # the loss is still recorded, step by step

    def _make_probe(self, compiled: bool):
        with preserved_names():
            return super()._make_probe(compiled)

    def on_train_begin(self, logs=None):
        if self.batch is None and self._batch_source is not None:
            try:
                batch = self._batch_source()
                self.batch = None if batch is None else _as_batch(batch, self.monitor_samples)
                if batch is not None:
                    self.feed = _feed_of(batch)
            except Exception:  # noqa: BLE001 - no batch: the loss is still recorded
                self.batch = None
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_NO_BATCH)
            self._guard(super().on_train_begin, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._guard(super().on_epoch_begin, epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._guard(super().on_train_batch_begin, batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._guard(super().on_train_batch_end, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._guard(super().on_epoch_end, epoch, logs)

    def on_train_end(self, logs=None):
        self._guard(super().on_train_end, logs)
