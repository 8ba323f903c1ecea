"""caedoctor: why your convolutional autoencoder does not converge, with measurements, and the fix.

The public API is loaded lazily, so `import caedoctor` is instant and TensorFlow is imported on first use::

    import caedoctor
    findings = caedoctor.check("preset:seed_hyper_bad")              # static rules, no training
    diagnosis = caedoctor.diagnose("preset:seed_hyper_bad")          # a Diagnosis: verdict and causes
    result = caedoctor.repair("preset:seed_hyper_bad")               # a RepairResult: the repaired model
    caedoctor.write_report(diagnosis, "runs/report")                 # one self-contained HTML page
    caedoctor.autolog()                                              # watch your own model.fit(...)

In a notebook each result shows itself as the report; `print` gives the text.

Each name is imported from the one module `_LAZY` names for it: `caedoctor.repair` is the function
`caedoctor.api.repair`, `RepairResult` is `caedoctor.repairing.procedure.RepairResult`; `caedoctor.repairing`,
the stage that repairs, is named apart from the function so that importing it never replaces `caedoctor.repair`.
"""

from __future__ import annotations

import importlib

from caedoctor import display as _display
from caedoctor.version import __version__

_LAZY = {
    "diagnose": "caedoctor.api",
    "repair": "caedoctor.api",
    "write_report": "caedoctor.report",
    "log_to_mlflow": "caedoctor.report",
    "write_tensorboard": "caedoctor.report",
    "Diagnosis": "caedoctor.diagnosis",
    "RepairResult": "caedoctor.repairing.procedure",
    "Finding": "caedoctor.findings",
    "Fix": "caedoctor.findings",
    "CheckResult": "caedoctor.display",
    "autolog": "caedoctor.watch",
    "last_diagnosis": "caedoctor.watch",
    "load_data": "caedoctor.data",
    "Data": "caedoctor.data",
    "DataProfile": "caedoctor.data",
    "load_model": "caedoctor.models",
    "LoadedModel": "caedoctor.models",
    "TrainConfig": "caedoctor.config",
    "train": "caedoctor.training",
    "TrainResult": "caedoctor.training",
    "seed_everything": "caedoctor.training",
    "run_demo": "caedoctor.demo",
    "CaedoctorError": "caedoctor.errors",
    "check": "caedoctor.checks",
    "ConvergenceMonitor": "caedoctor.monitor",
    "lr_find": "caedoctor.diagnosis",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'caedoctor' has no attribute {name!r}")


def __dir__():
    return __all__


def _report_renderers() -> dict:
    """The report layer's text and HTML of each result, imported the first time a result is shown."""
    from caedoctor.report.renderers import RENDERERS

    return RENDERERS


# Every `caedoctor.*` import runs this file first, so a result shows itself however it was made, while
# `caedoctor.display` (below the results) never imports the report above it.
_display.register_renderers(_report_renderers)
