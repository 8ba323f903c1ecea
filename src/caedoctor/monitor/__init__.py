"""The monitor: watch a CAE train and read why it is (not) learning, below every stage that judges it.

- `ConvergenceMonitor` (`callback`): a Keras callback recording loss, gradients, update sizes, dead/saturated
  units and the output spread during `fit` (about 1.5% overhead at the defaults, measured).
- `MonitorRecord` (`record`): what it recorded, as plain data.
- `BatchProbe` (`batch_probe`): the one forward and backward pass on the monitor batch behind each probe.
- `detect_symptoms` (`symptoms`) and the detectors it finds in `detectors/`, one module each (`Symptom` is
  what they return, `traces` the readings they share): named, measured thresholds (`caedoctor.thresholds`)
  over a record; the probe rules (`caedoctor.checks.probe_rules`, one per detector, of the same name) turn
  present symptoms into findings.

Nothing here imports the checks, the diagnosis or anything above them, so every layer may use it.
"""

from caedoctor.monitor.batch_probe import BatchProbe
from caedoctor.monitor.callback import ConvergenceMonitor
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.symptoms import DETECTORS, detect_symptoms

__all__ = ["ConvergenceMonitor", "MonitorRecord", "BatchProbe", "Symptom", "detect_symptoms", "DETECTORS"]
