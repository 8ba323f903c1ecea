"""caedoctor: why your convolutional autoencoder does not converge, with measurements, and the fix.

The public API is loaded lazily, so `import caedoctor` is instant and TensorFlow is imported on first use::

    import caedoctor
    data = caedoctor.load_data("bundled:patches32")
    loaded = caedoctor.load_model("preset:seed_better", data.input_shape)
    result = caedoctor.train(loaded, data, epochs=2, out_dir="runs/better")
    print(result.metrics["relative_mse"])
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
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
    "ConvergenceMonitor": "caedoctor.diagnosis",
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
