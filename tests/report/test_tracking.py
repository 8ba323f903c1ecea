"""The diagnosis where teams look: each probe as its own TensorBoard run (read back with TensorBoard's own
reader), and an MLflow run with the verdict, causes, effects and artifacts (a real SQLite tracking store in a
temporary folder; skipped, with the reason, when caedoctor[mlflow] is not installed)."""

from __future__ import annotations

import numpy as np
import pytest


def _scalars(folder, tag):
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in events.Tensors(tag)]


def test_every_probe_is_its_own_tensorboard_run_and_the_curves_read_back(tiny_run, tmp_path):
    from caedoctor.report.tracking import write_tensorboard

    diagnosis = tiny_run[0]
    written = write_tensorboard(diagnosis, tmp_path)
    names = sorted(p.name for p in written)
    assert {"baseline", "CAE201_learning_rate", "CAE110_hidden_activation"} <= set(names)
    for label, run in (("baseline", "baseline"), ("CAE201:learning_rate", "CAE201_learning_rate")):
        probe = diagnosis.probe_results[label]
        got = _scalars(tmp_path / run, "train/loss")
        want = [v for v in probe.loss_curve if v == v]
        np.testing.assert_allclose([v for _, v in got], want, rtol=1e-6)
        assert [s for s, _ in got] == sorted(s for s, _ in got) and got[-1][0] <= probe.steps_run
        if probe.val_curve:
            np.testing.assert_allclose([v for _, v in _scalars(tmp_path / run, "validation/loss")],
                                       [v for _, v in probe.val_curve], rtol=1e-6)


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    import keras

    mlflow = pytest.importorskip("mlflow", reason="MLflow is not installed (pip install 'caedoctor[mlflow]')")
    had, fit = "fit" in keras.Model.__dict__, keras.Model.__dict__.get("fit")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    # artifacts too in the temporary folder (a SQLite store's default artifact root is ./mlruns in the cwd)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment(
        "caedoctor-tests", artifact_location=(tmp_path / "artifacts").as_uri()))
    yield mlflow
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.autolog(disable=True)
    mlflow.keras.autolog(disable=True)
    # MLflow's revert leaves the inherited fit set on keras.Model itself: put the class back as it was, so
    # the tests after this one see keras untouched
    if had:
        keras.Model.fit = fit
    elif "fit" in keras.Model.__dict__:
        del keras.Model.fit


def test_a_diagnosis_in_an_active_run_is_logged_and_read_back(mlflow_store, tiny_run, report_path):
    from caedoctor.report.tracking import log_to_mlflow

    mlflow = mlflow_store
    diagnosis = tiny_run[0]
    with mlflow.start_run() as run:
        assert log_to_mlflow(diagnosis, report_dir=report_path.parent) == run.info.run_id
    client = mlflow.tracking.MlflowClient()
    logged = client.get_run(run.info.run_id).data
    assert logged.tags["caedoctor.verdict"] == diagnosis.verdict
    confirmed = [f for f in diagnosis.findings if f.status in ("confirmed", "certain")]
    assert confirmed and all(logged.tags[f"caedoctor.cause.{f.cause}"] == f.code for f in confirmed)
    for f in diagnosis.findings:
        if f.effect is not None and f.status in ("confirmed", "refuted"):
            assert logged.metrics[f"caedoctor.{f.code}.{f.fix.kind}.after"] == pytest.approx(f.effect.after)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "caedoctor")}
    assert artifacts == {"caedoctor/diagnosis.json", "caedoctor/report.html"}
    runs = mlflow.search_runs(filter_string="tags.`caedoctor.verdict` = 'not_converging'")
    assert list(runs["run_id"]) == [run.info.run_id]


def _watched_fit_logged_once(mlflow, caedoctor_first: bool) -> str:
    """A 2-epoch fit under both autologs (in either order): one run, 2 points of `loss`, caedoctor's tags in
    it; returns the run's id."""
    import keras

    import caedoctor
    from tiny import blobs, compiled, tiny_cae

    if not caedoctor_first:
        mlflow.keras.autolog(log_models=False)
    caedoctor.autolog(diagnose="always", quick=True, steps=30)
    if caedoctor_first:
        mlflow.keras.autolog(log_models=False)
    try:
        keras.utils.set_random_seed(0)
        compiled(tiny_cae()).fit(blobs(64), blobs(64), epochs=2, batch_size=16, verbose=0)
    finally:
        caedoctor.autolog(disable=True)
    runs = mlflow.search_runs()
    assert len(runs) == 1  # MLflow's own run of the fit; caedoctor's probes started none
    run_id = runs["run_id"][0]
    client = mlflow.tracking.MlflowClient()
    assert len(client.get_metric_history(run_id, "loss")) == 2  # one per epoch: the probes' fits logged none
    assert client.get_run(run_id).data.tags["caedoctor.verdict"] == caedoctor.last_diagnosis().verdict
    return run_id


def test_under_mlflow_autolog_the_fit_is_logged_once_and_the_diagnosis_into_its_run(mlflow_store):
    _watched_fit_logged_once(mlflow_store, caedoctor_first=False)


def test_a_diagnosis_under_mlflow_autolog_opens_no_run(mlflow_store):
    """caedoctor.diagnose in a process where MLflow's autolog is on: the probes' fits are not the user's (and
    MLflow would hash their repeated dataset forever)."""
    import caedoctor
    from tiny import blobs

    mlflow = mlflow_store
    mlflow.keras.autolog(log_models=False)
    caedoctor.diagnose("preset:seed_better", blobs(64), steps=30, quick=True)
    assert len(mlflow.search_runs()) == 0


def test_the_cli_writes_the_probes_to_tensorboard_and_refuses_mlflow_when_missing(tmp_path, monkeypatch):
    import sys

    from click.testing import CliRunner

    from caedoctor.cli import cli
    from tiny import blobs

    np.save(tmp_path / "x.npy", blobs(64))
    spec = tmp_path / "spec.yaml"
    spec.write_text("encoder:\n  - {filters: 4, kernel: 3, pool: 2}\noutput_activation: sigmoid\n")
    result = CliRunner().invoke(cli, ["diagnose", str(spec), "--data", str(tmp_path / "x.npy"), "--quick",
                                      "--steps", "30", "--tensorboard", str(tmp_path / "tb")])
    assert result.exit_code in (0, 1), result.output
    assert _scalars(tmp_path / "tb" / "baseline", "train/loss")
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if caedoctor[mlflow] were not installed
    result = CliRunner().invoke(cli, ["diagnose", str(spec), "--data", str(tmp_path / "x.npy"), "--quick",
                                      "--mlflow"])
    assert result.exit_code == 2 and "pip install 'caedoctor[mlflow]'" in result.output


def test_either_patch_order_logs_the_fit_once(mlflow_store):
    """caedoctor.autolog before mlflow.keras.autolog: MLflow's patch wraps caedoctor's; the same result, and
    MLflow's patch outlives caedoctor's autolog."""
    from tiny import blobs, compiled, tiny_cae

    _watched_fit_logged_once(mlflow_store, caedoctor_first=True)
    compiled(tiny_cae()).fit(blobs(64), blobs(64), epochs=1, batch_size=16, verbose=0)
    assert len(mlflow_store.search_runs()) == 2  # caedoctor's autolog off, MLflow's patch still logs
