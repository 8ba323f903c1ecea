"""Meet users where they train: watch the user's own `keras.Model.fit`, unchanged.

- `caedoctor.autolog()` (a notebook or a script): every `fit` gets the `ConvergenceMonitor`; when the monitor
  sees a problem (NaN, divergence, stall, collapse to the mean image, overfitting), caedoctor diagnoses the
  set-up recorded at the start of that fit, right after it returns, and shows the verdict (the report inline
  in a notebook). `caedoctor.last_diagnosis()` returns it; `caedoctor.autolog(disable=True)` restores `fit`.
- `caedoctor run script.py args...` (`watch.script.run_script`): the same for an unchanged script, with the
  diagnoses printed after the script's own output.

Modules: `autologging` (`autolog` and the process's one watcher), `patch` (the `fit` patch), `recorded` (what
a fit records, and the one function that turns it into `diagnose`'s arguments), `monitor` (the monitor as it
rides in the user's fit), `session` (judging and diagnosing), `state` (the user's random state kept), `script`
(running a script).
"""

from caedoctor.watch.autologging import autolog, last_diagnosis, watched_fits
from caedoctor.watch.recorded import RecordedFit, diagnosis_inputs
from caedoctor.watch.session import TRIGGERS, WHEN, Watcher

__all__ = ["autolog", "last_diagnosis", "watched_fits", "RecordedFit", "diagnosis_inputs", "Watcher", "TRIGGERS",
           "WHEN"]
