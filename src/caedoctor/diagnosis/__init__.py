"""Dynamic diagnosis: probe a CAE's training, test each suspected cause by experiment, and give a verdict.

- `diagnose(model, data)` -> `Diagnosis`: the stages are in `orchestrate`; `plan` decides which
  counterfactual probes to run, `probes` runs one (`run_probe` -> `ProbeResult`), `judge` compares two,
  `counterfactuals` and `explain_away` apply them to the findings, `verdict` holds the verdict rules.
- `lr_find`: the learning-rate range test, with a suggestion robust to noise and spikes.

The monitor and the symptom detectors the probes read are `caedoctor.monitor`'s (`ConvergenceMonitor` is also
`caedoctor.ConvergenceMonitor`).
"""

from caedoctor.diagnosis.lr_finder import LRFindResult, lr_find, plot_lr_find
from caedoctor.diagnosis.orchestrate import diagnose
from caedoctor.diagnosis.result import Diagnosis

__all__ = ["diagnose", "Diagnosis", "lr_find", "LRFindResult", "plot_lr_find"]
