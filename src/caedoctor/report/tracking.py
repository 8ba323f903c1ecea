"""A diagnosis where teams already look: an MLflow run, and TensorBoard.

**MLflow** (`log_to_mlflow`; optional: `pip install 'caedoctor[mlflow]'`). Into the active MLflow run (or a
new one): the verdict and each confirmed or certain cause as tags (`caedoctor.verdict`, `caedoctor.cause.<cause>`
= the rule's code), each measured effect as two metrics (`caedoctor.<code>.<fix kind>.before` / `.after`, in the
effect's metric) and the probe's validation relative MSE (`caedoctor.probe.relative_mse`), the diagnosis JSON as
an artifact (`caedoctor/diagnosis.json`), and the report folder's `report.html` and a repair's `repaired.keras`
and `changes.py` when given. caedoctor's names never collide with what MLflow's own Keras autolog logs
(`loss`, `val_loss`, ...), and the probes' fits run with MLflow's autologging off (`caedoctor.foreign`), so a
metric of the user's fit is logged once, by MLflow.

**TensorBoard** (`write_tensorboard`). Each probe of a diagnosis as its own run under the log dir, named by
its label (`baseline`, `CAE501:learning_rate`, ...): `validation/relative_mse` and `validation/dssim` at each
check-batch step, `validation/loss` where the probe validated, `train/loss` per chunk of steps. Opened with
`tensorboard --logdir DIR`, the baseline and the counterfactuals overlay on one chart.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from caedoctor.errors import CaedoctorError

class TrackingError(CaedoctorError):
    """MLflow is missing or the run cannot be written."""


def _mlflow():
    try:
        import mlflow
    except ImportError:
        raise TrackingError("MLflow is not installed: pip install 'caedoctor[mlflow]'") from None
    return mlflow


def mlflow_active() -> bool:
    """An MLflow run is active in this process (False when MLflow is not even imported: caedoctor never
    imports it for a user who does not use it)."""
    import sys

    mlflow = sys.modules.get("mlflow")
    return mlflow is not None and mlflow.active_run() is not None


def mlflow_paused():
    """Within this block MLflow's autologging (if the user turned it on) logs nothing: caedoctor's probes call
    `fit` on copies, and their losses are not the user's run's (`caedoctor.foreign`)."""
    from caedoctor.foreign import foreign_patches_paused

    return foreign_patches_paused()


def _name(text: str) -> str:
    """A metric or tag name MLflow accepts (letters, digits, _ - . / and spaces)."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", text)


def mlflow_payload(diagnosis) -> tuple:
    """(tags, metrics) the diagnosis logs: plain dicts, for MLflow or anything else."""
    from caedoctor.version import __version__

    tags = {"caedoctor.verdict": diagnosis.verdict, "caedoctor.version": __version__}
    metrics = {}
    relative = (diagnosis.probe or {}).get("relative_mse")
    if isinstance(relative, (int, float)):
        metrics["caedoctor.probe.relative_mse"] = float(relative)
    for f in diagnosis.findings:
        if f.status in ("confirmed", "certain"):
            tags[_name(f"caedoctor.cause.{f.cause}")] = f.code
        if f.effect is not None and f.fix is not None and f.status in ("confirmed", "refuted"):
            for side in ("before", "after"):
                value = getattr(f.effect, side)
                if isinstance(value, (int, float)) and value == value and abs(value) != float("inf"):
                    metrics[_name(f"caedoctor.{f.code}.{f.fix.kind}.{side}")] = float(value)
    return tags, metrics


def log_to_mlflow(diagnosis, *, report_dir=None, repair_dir=None, run_id: str | None = None) -> str:
    """Log `diagnosis` into an MLflow run (see the module doc) and return the run's id.

    Args:
        diagnosis: a `caedoctor.diagnosis.Diagnosis`.
        report_dir: a folder holding `report.html` (`caedoctor.write_report`), logged as an artifact.
        repair_dir: a `caedoctor repair --out` folder: its `repaired.keras` and `changes.py` are logged.
        run_id: the run to log into; default: the active run, else a new run named `caedoctor`.

    Raises:
        TrackingError: MLflow is not installed.

    Example::

        import mlflow, numpy as np, caedoctor

        x = np.random.default_rng(0).random((96, 16, 16, 1), dtype=np.float32)
        diagnosis = caedoctor.diagnose("preset:seed_better", x, steps=50, quick=True)
        mlflow.set_tracking_uri("sqlite:///mlflow.db")   # a local store in this folder
        with mlflow.start_run():
            print(caedoctor.log_to_mlflow(diagnosis))    # the run's id; tags caedoctor.verdict, ...
    """
    mlflow = _mlflow()
    tags, metrics = mlflow_payload(diagnosis)
    started = None
    if run_id is None and mlflow.active_run() is None:
        started = mlflow.start_run(run_name="caedoctor")
    try:
        client = mlflow.tracking.MlflowClient()
        rid = run_id or mlflow.active_run().info.run_id
        for key, value in tags.items():
            client.set_tag(rid, key, value)
        for key, value in metrics.items():
            client.log_metric(rid, key, value)
        client.log_text(rid, json.dumps(diagnosis.to_dict(), indent=1, default=str), "caedoctor/diagnosis.json")
        for folder, names in ((report_dir, ("report.html",)), (repair_dir, ("repaired.keras", "changes.py"))):
            for name in names if folder is not None else ():
                path = Path(folder) / name
                if path.is_file():
                    client.log_artifact(rid, str(path), "caedoctor")
        return rid
    finally:
        if started is not None:
            mlflow.end_run()


def _run_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+=-]+", "_", label).strip("_") or "probe"


def write_tensorboard(diagnosis, log_dir) -> list:
    """Write every probe of `diagnosis` as its own TensorBoard run under `log_dir` (see the module doc); returns
    the run folders written.

    Example::

        import numpy as np, caedoctor

        x = np.random.default_rng(0).random((96, 16, 16, 1), dtype=np.float32)
        diagnosis = caedoctor.diagnose("preset:seed_better", x, steps=50, quick=True)
        print(caedoctor.write_tensorboard(diagnosis, "runs/tb"))   # runs/tb/baseline: tensorboard --logdir runs/tb
    """
    import tensorflow as tf

    written = []
    for label, probe in (getattr(diagnosis, "probe_results", None) or {}).items():
        checkpoints = getattr(probe, "checkpoints", None)
        if checkpoints is None:  # the LR range test: no training curve of its own
            continue
        folder = Path(log_dir) / _run_name(label)
        writer = tf.summary.create_file_writer(str(folder))
        with writer.as_default():
            for step, values in checkpoints:
                for key in ("relative_mse", "dssim"):
                    if key in values and values[key] == values[key]:
                        tf.summary.scalar(f"validation/{key}", float(values[key]), step=int(step))
            for step, value in probe.val_curve:
                tf.summary.scalar("validation/loss", float(value), step=int(step))
            chunk = max(1, probe.steps_run // len(probe.loss_curve)) if probe.loss_curve else 1
            for i, value in enumerate(probe.loss_curve):  # the mean of each chunk, at its last step
                if value == value:
                    tf.summary.scalar("train/loss", float(value), step=(i + 1) * chunk)
        writer.flush()
        writer.close()
        written.append(folder)
    return written
