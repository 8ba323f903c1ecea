"""Other libraries that patch `keras.Model.fit`, paused inside caedoctor's own training.

MLflow's autolog (`mlflow.autolog()`, `mlflow.keras.autolog()`) patches `fit` to open a run and log each fit's
parameters, metrics and dataset. caedoctor's probes and range tests call `fit` on copies many times: under that
patch each would open a run or log into the user's, and MLflow hashes the probe's dataset (a repeated
`tf.data` pipeline, which it would hash forever). `foreign_patches_paused()` turns MLflow's autologging off for
the block; it does nothing, and imports nothing, when MLflow is not imported.
"""

from __future__ import annotations

import contextlib
import sys


@contextlib.contextmanager
def foreign_patches_paused():
    """Within this block MLflow's autologging, if the user turned it on, logs nothing (see the module doc)."""
    if sys.modules.get("mlflow") is None:
        yield
        return
    try:
        from mlflow.utils.autologging_utils import disable_autologging
    except ImportError:  # an MLflow without it: nothing caedoctor can pause
        yield
        return
    with disable_autologging():
        yield
