"""Symptom detectors: named, documented tests over a `MonitorRecord`, each pointing at a cause.

Every detector is one small function `detect_<name>(record) -> Symptom` in its own module,
`caedoctor/monitor/detectors/<name>.py`, beside the probe rule of the same name
(`caedoctor/checks/probe_rules/<name>.py`) that turns it into a finding. Its docstring has three parts:
what it checks, why it matters, and its threshold (a named constant in `thresholds`, where the measurements
that chose it are quoted). Loss levels are judged on the relative scale of `MonitorRecord.relative`: 0 is a
perfect reconstruction (the compiled loss of the targets themselves, the targets' entropy for binary
cross-entropy), 1 the loss of predicting the mean image, so any loss can be read. A detector that lacks the
data it needs (too few steps or probes, no ReLU layer) reports `present=False` and says so in
`evidence["skipped"]` (`Symptom.skipped`).

`DETECTORS` is found, not listed: every module of `caedoctor.monitor.detectors` whose name does not start
with `_` defines `detect_<its name>` and its `ORDER`, the place of its symptom in `DETECTORS` (findings are
raised in that order: an earlier symptom claims a cause first). A detector that takes a `reference` (a
healthy run, for `slow`) gets the one `detect_symptoms` is given. `detect_symptoms(record)` runs them all;
the diagnosis reads the ones that are present.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

from caedoctor.monitor import detectors
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom

__all__ = ["DETECTORS", "Symptom", "detect_symptoms"]


def find_detectors(package: ModuleType = detectors) -> dict:
    """name -> detector of every module of `package`, in `ORDER`; a module without its detector or its `ORDER`
    is an error, not skipped (a helper module's name starts with `_`)."""
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        detector, order = getattr(module, f"detect_{info.name}", None), getattr(module, "ORDER", None)
        if not callable(detector) or not isinstance(order, int):
            raise ImportError(f"{module.__name__} must define `detect_{info.name}` and an int `ORDER` (a module of "
                              f"helpers is named `_{info.name}`)")
        found.append((order, info.name, detector))
    orders = [order for order, _, _ in found]
    clash = sorted({f"{name} ({order})" for order, name, _ in found if orders.count(order) > 1})
    if clash:
        raise ImportError(f"two detectors share an ORDER: {', '.join(clash)}")
    return {name: detector for _, name, detector in sorted(found)}


DETECTORS = find_detectors()
_TAKES_REFERENCE = {name for name, detector in DETECTORS.items()
                    if "reference" in inspect.signature(detector).parameters}


def detect_symptoms(record: MonitorRecord, reference: MonitorRecord | None = None) -> list:
    """Run every detector on `record` (`reference`: a healthy run, for the detectors that compare with one).
    Returns all `Symptom`s, in the order of `DETECTORS`."""
    return [detector(record, reference) if name in _TAKES_REFERENCE else detector(record)
            for name, detector in DETECTORS.items()]
