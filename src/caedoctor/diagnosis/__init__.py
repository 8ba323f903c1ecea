"""Dynamic diagnosis: watch a CAE train, turn the traces into symptoms, and test suspicions by experiment.

- `ConvergenceMonitor`: a Keras callback recording loss, gradients, update sizes, dead/saturated units and
  the output spread during `fit` (about 1.5% overhead at the defaults, measured).
- `MonitorRecord`: what it recorded, as plain data.
- `detect_symptoms` and the detectors in `symptoms`: named, measured thresholds over a record.
- `lr_find`: the learning-rate range test, with a suggestion robust to noise and spikes.
"""

from caedoctor.diagnosis.lr_finder import LRFindResult, lr_find, plot_lr_find
from caedoctor.diagnosis.monitor import ConvergenceMonitor
from caedoctor.diagnosis.record import MonitorRecord
from caedoctor.diagnosis.symptoms import DETECTORS, Symptom, detect_symptoms

__all__ = ["ConvergenceMonitor", "MonitorRecord", "Symptom", "detect_symptoms", "DETECTORS", "lr_find",
           "LRFindResult", "plot_lr_find"]
