"""Dynamic diagnosis: watch a CAE train, turn the traces into symptoms, and test suspicions by experiment.

- `ConvergenceMonitor`, `MonitorRecord`, `Symptom`, `detect_symptoms`, `DETECTORS`: the monitor and the
  symptom detectors (`caedoctor.monitor`), re-exported here where users import them.
- `lr_find`: the learning-rate range test, with a suggestion robust to noise and spikes.
"""

from caedoctor.diagnosis.lr_finder import LRFindResult, lr_find, plot_lr_find
from caedoctor.monitor import DETECTORS, ConvergenceMonitor, MonitorRecord, Symptom, detect_symptoms

__all__ = ["ConvergenceMonitor", "MonitorRecord", "Symptom", "detect_symptoms", "DETECTORS", "lr_find",
           "LRFindResult", "plot_lr_find"]
