"""`caedoctor train`: every artefact, resume, seeds, each DATA and MODEL form, and bad inputs (exit 2, one line)."""

from __future__ import annotations

import csv
import json

import keras
import numpy as np
import pytest

from conftest import copy_fixtures, fixture_names, run_caedoctor, tiny_images

TINY_TRAIN = ("--epochs", "1", "--steps-per-epoch", "2")


def _history(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _metrics(out):
    return json.loads((out / "metrics.json").read_text())


def _ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def _usage_error(result):
    """Exit 2 with exactly one line on stderr, no traceback; returns that line."""
    assert result.exit_code == 2, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("caedoctor: error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


# ---------------------------------------------------------------- artefacts and resume

@pytest.mark.e2e
def test_train_writes_every_artefact_then_resumes_one_epoch(cli_run, tmp_path):
    out = tmp_path / "OUT"
    result = _ok(cli_run("train", "preset:seed_better", "--data", "bundled:patches32", "--epochs", "2",
                         "--steps-per-epoch", "5", "--out", out))
    assert "2 epoch(s) run, 2 of 2 in total" in result.stdout

    rows = _history(out / "history.csv")
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"loss", "val_loss"} <= set(rows[0])
    assert all(np.isfinite(float(r["loss"])) and np.isfinite(float(r["val_loss"])) for r in rows)
    assert sorted(p.name for p in (out / "checkpoints").glob("*.keras")) == ["epoch_001.keras", "epoch_002.keras"]
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["epoch"] == 2
    events = list((out / "logs").rglob("events.out.tfevents.*"))
    # Keras' own logs, and the ConvergenceMonitor's signals beside them.
    assert {p.parent.name for p in events} == {"train", "validation", "monitor"}
    assert all(p.stat().st_size > 0 for p in events)
    m = _metrics(out)
    assert m["epochs"] == 2 and m["epochs_run"] == 2 and m["data"] == "bundled:patches32"
    for key in ("mse", "relative_mse", "mae", "psnr", "ssim"):
        assert isinstance(m["metrics"][key], float) and np.isfinite(m["metrics"][key]), key
    assert m["metrics"]["val_loss"] == pytest.approx(float(rows[-1]["val_loss"]))
    assert m["metrics"]["mse"] == pytest.approx(m["metrics"]["val_loss"], rel=1e-3)  # MSE loss = val MSE
    for png in ("reconstructions.png", "loss.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # --resume to 3 epochs: exactly one more epoch; earlier rows untouched.
    result = _ok(cli_run("train", "preset:seed_better", "--data", "bundled:patches32", "--epochs", "3",
                         "--steps-per-epoch", "5", "--out", out, "--resume"))
    assert "1 epoch(s) run, 3 of 3 in total" in result.stdout
    assert "Epoch 3/3" in result.stdout and "Epoch 1/3" not in result.stdout and "Epoch 2/3" not in result.stdout
    resumed = _history(out / "history.csv")
    assert [r["epoch"] for r in resumed] == ["1", "2", "3"]
    assert resumed[:2] == rows
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["epoch"] == 3
    assert (out / "checkpoints" / "epoch_003.keras").is_file()
    m = _metrics(out)
    assert m["epochs"] == 3 and m["epochs_run"] == 1

    # Already at 3 epochs: resuming to 3 trains nothing and keeps the history.
    _ok(cli_run("train", "preset:seed_better", "--data", "bundled:patches32", "--epochs", "3",
                "--steps-per-epoch", "5", "--out", out, "--resume"))
    assert _history(out / "history.csv") == resumed


def test_resume_continues_from_the_checkpoint_weights(cli_run, tmp_path, npz_x, tiny_spec):
    """The resumed epoch starts from epoch 2's weights, not from a fresh model."""
    out = tmp_path / "run"
    _ok(cli_run("train", tiny_spec, "--data", npz_x, "--epochs", "2", "--out", out, "--lr", "0.01"))
    saved = keras.saving.load_model(out / "checkpoints" / "epoch_002.keras")
    _ok(cli_run("train", tiny_spec, "--data", npz_x, "--epochs", "3", "--out", out, "--resume", "--lr", "0.01"))
    resumed = keras.saving.load_model(out / "checkpoints" / "epoch_003.keras")
    steps = int(saved.optimizer.iterations) // 2  # 14 training samples in batches of 8: 2 steps an epoch
    assert steps == 2
    assert int(resumed.optimizer.iterations) == 3 * steps  # the optimizer state came back too
    rows = _history(out / "history.csv")
    assert float(rows[2]["loss"]) < float(rows[0]["loss"])


def test_resume_without_a_checkpoint(cli_run, tmp_path, npz_x, tiny_spec):
    msg = _usage_error(cli_run("train", tiny_spec, "--data", npz_x, "--out", tmp_path / "fresh", "--resume",
                               *TINY_TRAIN))
    assert "no checkpoint to resume from" in msg


def test_force_never_deletes_a_folder_caedoctor_did_not_create(cli_run, tmp_path, npz_x, tiny_spec):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own file")
    for flags in ((), ("--force",)):
        msg = _usage_error(cli_run("train", tiny_spec, "--data", npz_x, "--out", out, *flags, *TINY_TRAIN))
        assert "not created by caedoctor" in msg and "nothing was deleted" in msg
        assert (out / "notes.txt").read_text() == "the user's own file"
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # nothing written either


def test_force_replaces_an_earlier_run_but_not_a_file_added_to_it(cli_run, tmp_path, npz_x, tiny_spec):
    out = tmp_path / "run"
    _ok(cli_run("train", tiny_spec, "--data", npz_x, "--out", out, "--epochs", "2"))
    msg = _usage_error(cli_run("train", tiny_spec, "--data", npz_x, "--out", out, *TINY_TRAIN))
    assert "already holds results" in msg and "--force" in msg and "--resume" in msg

    (out / "my_plot.png").write_bytes(b"the user's")
    msg = _usage_error(cli_run("train", tiny_spec, "--data", npz_x, "--out", out, "--force", *TINY_TRAIN))
    assert "did not write (my_plot.png)" in msg and "nothing was deleted" in msg
    assert (out / "my_plot.png").read_bytes() == b"the user's"
    assert (out / "checkpoints" / "epoch_002.keras").is_file() and _metrics(out)["epochs"] == 2

    (out / "my_plot.png").unlink()
    _ok(cli_run("train", tiny_spec, "--data", npz_x, "--out", out, "--force", *TINY_TRAIN))
    assert _metrics(out)["epochs"] == 1
    assert not (out / "checkpoints" / "epoch_002.keras").exists()  # the earlier run is gone, not mixed in


@pytest.mark.e2e
def test_seed_makes_runs_repeatable(cli_run, tmp_path, npz_x, tiny_spec):
    def run(name, seed):
        out = tmp_path / name
        _ok(cli_run("train", tiny_spec, "--data", npz_x, "--epochs", "2", "--out", out, "--seed", seed))
        return _metrics(out)["metrics"], _history(out / "history.csv")

    a, b, c = run("a", "7"), run("b", "7"), run("c", "8")
    assert a == b
    assert a[0]["mse"] != c[0]["mse"]


# ---------------------------------------------------------------- each DATA form

@pytest.fixture
def faces_spec(tmp_path):
    path = tmp_path / "faces.json"  # no pooling: 25x25 in, 25x25 out
    path.write_text(json.dumps({"encoder": [{"filters": 4, "kernel": 3, "activation": "leaky_relu"}],
                                "bottleneck": {"filters": 2}, "output_activation": "sigmoid", "batch_size": 16}))
    return path


@pytest.mark.parametrize("form", ["npz_x", "npz_xy", "npy_file", "mnist_folder", "class_folder",
                                  "bundled:faces25"])  # bundled:patches32: see the artefacts test
def test_train_on_each_data_form(cli_run, tmp_path, request, tiny_spec, faces_spec, form):
    if form.startswith("bundled:"):
        data, model = form, faces_spec
    else:
        data, model = request.getfixturevalue(form), tiny_spec
    extra = ("--normalize", "unit") if "folder" in form else ()
    out = tmp_path / "out"
    _ok(cli_run("train", model, "--data", data, "--out", out, *TINY_TRAIN, *extra))
    m = _metrics(out)
    assert m["data"] == str(data)
    assert np.isfinite(m["metrics"]["relative_mse"]) and m["metrics"]["samples"] >= 1
    assert (out / "reconstructions.png").is_file()


def test_train_on_mixed_folder_with_image_size(cli_run, tmp_path, mixed_folder, tiny_spec):
    out = tmp_path / "out"
    _ok(cli_run("train", tiny_spec, "--data", mixed_folder, "--image-size", "12", "--normalize", "unit",
                "--out", out, *TINY_TRAIN))
    assert _metrics(out)["metrics"]["samples"] == 1  # 10 images, 10% validation


def test_train_with_a_target_different_from_the_input(cli_run, tmp_path, x16, tiny_spec):
    path = tmp_path / "dim.npz"
    np.savez(path, x=x16, y=0.1 * x16)
    out = tmp_path / "out"
    _ok(cli_run("train", tiny_spec, "--data", path, "--out", out, "--epochs", "1"))
    # A fresh sigmoid decoder outputs about 0.5: MSE ~0.15 against y = 0.1 x, but ~0.08 against x itself.
    assert float(_history(out / "history.csv")[0]["loss"]) > 0.12


@pytest.mark.e2e
def test_train_on_keras_fashion_mnist_in_a_fresh_process(tmp_path, keras_home, tiny_spec):
    out = tmp_path / "fm"
    proc = run_caedoctor(["train", tiny_spec, "--data", "keras:fashion_mnist", "--normalize", "unit",
                          "--out", out, "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "256"],
                         env_extra={"KERAS_HOME": str(keras_home)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = _metrics(out)
    assert m["data"] == "keras:fashion_mnist" and m["metrics"]["samples"] == 10_000


# ---------------------------------------------------------------- each MODEL form through the CLI

FACTORY = '''\
import tensorflow as tf

def small_cae(input_shape):
    inputs = tf.keras.layers.Input(shape=input_shape)
    x = tf.keras.layers.Conv2D(4, (3, 3), padding="same")(inputs)
    x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
    outputs = tf.keras.layers.Conv2DTranspose(input_shape[-1], (3, 3), padding="same", activation="sigmoid")(x)
    return tf.keras.Model(inputs, outputs)

def compiled_small_cae(input_shape):
    model = small_cae(input_shape)
    model.compile(optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.003), loss="mae")
    return model
'''


# The factory is the user's code as the field notes wrote it (LeakyReLU(alpha=0.1)): Keras' deprecation warning is
# about that code, not caedoctor's, and expected here.
@pytest.mark.filterwarnings("ignore:Argument `alpha` is deprecated:UserWarning")
def test_train_a_factory_compiled_and_not(cli_run, tmp_path, npz_x):
    path = tmp_path / "factory.py"
    path.write_text(FACTORY)
    _ok(cli_run("train", f"{path}:small_cae", "--data", npz_x, "--out", tmp_path / "a", *TINY_TRAIN))
    cfg = _metrics(tmp_path / "a")["config"]
    assert (cfg["optimizer"]["class"], cfg["learning_rate"], cfg["loss"]["name"]) == ("Adam", 0.001, "mse")
    _ok(cli_run("train", f"{path}:compiled_small_cae", "--data", npz_x, "--out", tmp_path / "b", *TINY_TRAIN))
    cfg = _metrics(tmp_path / "b")["config"]
    assert (cfg["optimizer"]["class"], cfg["loss"]["name"]) == ("RMSprop", "mae")
    assert cfg["learning_rate"] == pytest.approx(0.003)
    assert cfg["origin"]["learning_rate"] == "model"


def test_train_a_saved_keras_file_and_a_lambda_one(cli_run, tmp_path, npz_x, tiny_spec):
    from caedoctor.models import load_model

    saved = tmp_path / "saved.keras"
    load_model(tiny_spec, (16, 16, 1)).model.save(saved)
    _ok(cli_run("train", saved, "--data", npz_x, "--out", tmp_path / "a", *TINY_TRAIN))

    def lambda_file(name, function):
        inputs = keras.Input((16, 16, 1))
        x = keras.layers.Conv2D(1, 3, padding="same")(inputs)
        path = tmp_path / name
        keras.Model(inputs, keras.layers.Lambda(function)(x)).save(path)
        return path

    lam = lambda_file("lambda.keras", lambda t: t * 0.5 + 0.25)
    msg = _usage_error(cli_run("train", lam, "--data", npz_x, "--out", tmp_path / "b", *TINY_TRAIN))
    assert "Lambda" in msg and "--unsafe" in msg
    _ok(cli_run("train", lam, "--unsafe", "--data", npz_x, "--out", tmp_path / "c", *TINY_TRAIN))

    # A Lambda whose code needs a global (here `keras`) cannot be rebuilt even when unsafe: the user must
    # hear why, not be told again to pass --unsafe.
    broken = lambda_file("global.keras", lambda t: keras.ops.sigmoid(t))
    msg = _usage_error(cli_run("train", broken, "--unsafe", "--data", npz_x, "--out", tmp_path / "d", *TINY_TRAIN))
    assert "cannot load the model" in msg and "output_shape" in msg and "Pass --unsafe" not in msg
    assert "\x1b" not in msg


def test_resume_honours_unsafe_as_the_first_run_did(cli_run, tmp_path, npz_x):
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(1, 3, padding="same")(inputs)
    lam = tmp_path / "lambda.keras"
    keras.Model(inputs, keras.layers.Lambda(lambda t: t * 0.5 + 0.25)(x)).save(lam)
    out = tmp_path / "run"
    _ok(cli_run("train", lam, "--unsafe", "--data", npz_x, "--out", out, "--epochs", "1"))
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["unsafe"] is True

    # Without --unsafe the resume is refused in one line (the checkpoint runs the Lambda's code on load), on
    # the command line and in the Python API ...
    msg = _usage_error(cli_run("train", lam, "--data", npz_x, "--out", out, "--epochs", "2", "--resume"))
    assert "Lambda" in msg and "--unsafe" in msg
    from caedoctor import load_data, load_model, train
    from caedoctor.errors import ModelError

    data = load_data(str(npz_x))
    with pytest.raises(ModelError, match="started with --unsafe.*pass --unsafe again to resume"):
        train(load_model(lam, data.input_shape, unsafe=True), data, epochs=2, out_dir=out, resume=True)
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["epoch"] == 1
    # ... and with it, the checkpoint loads as the first run's model did, and training continues.
    result = _ok(cli_run("train", lam, "--unsafe", "--data", npz_x, "--out", out, "--epochs", "2", "--resume"))
    assert "1 epoch(s) run, 2 of 2 in total" in result.stdout
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["epoch"] == 2


def test_flags_override_in_the_cli(cli_run, tmp_path, npz_x, tiny_spec):
    out = tmp_path / "out"
    _ok(cli_run("train", tiny_spec, "--data", npz_x, "--optimizer", "sgd", "--lr", "0.05", "--loss", "mae",
                "--batch-size", "4", "--out", out, "--epochs", "1"))
    cfg = _metrics(out)["config"]
    assert (cfg["optimizer"]["class"], cfg["learning_rate"], cfg["loss"]["name"], cfg["batch_size"]) == ("SGD", 0.05, "mae", 4)
    assert set(cfg["origin"].values()) == {"flag"}
    model = keras.saving.load_model(out / "checkpoints" / "epoch_001.keras")
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    assert int(model.optimizer.iterations) == 4  # 14 training samples / batch 4, rounded up


# ---------------------------------------------------------------- bad inputs: exit 2, one line

def test_nan_data_names_how_many_values(cli_run, tmp_path, tiny_spec):
    x = tiny_images()
    x[2, 0, 0, 0] = x[5, 3, 3, 0] = x[5, 4, 4, 0] = np.nan
    path = tmp_path / "nan.npz"
    np.savez(path, x=x)
    msg = _usage_error(cli_run("train", tiny_spec, "--data", path, "--out", tmp_path / "out", *TINY_TRAIN))
    assert "3 NaN" in msg


def test_preset_that_does_not_fit_the_data_names_both_shapes(cli_run, tmp_path):
    msg = _usage_error(cli_run("train", "preset:seed_better", "--data", "bundled:faces25",
                               "--out", tmp_path / "out", *TINY_TRAIN))
    assert "(28, 28, 1)" in msg and "(25, 25, 1)" in msg


@pytest.mark.parametrize("args, expected", [
    (["--data", "bundled:nope"], "unknown bundled data"),
    (["--optimizer", "lbfgs"], "unknown optimizer"),
    (["--lr", "-1"], "learning rate must be a positive"),
])
def test_bad_arguments_in_process(cli_run, tmp_path, npz_x, tiny_spec, args, expected):
    if "--data" not in args:
        args = ["--data", npz_x, *args]
    assert expected in _usage_error(cli_run("train", tiny_spec, *args, "--out", tmp_path / "o", *TINY_TRAIN))


def _subprocess_error(args):
    proc = run_caedoctor(args)
    assert proc.returncode == 2, f"rc {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("caedoctor: error: "), proc.stderr
    return lines[0]


@pytest.mark.e2e
def test_missing_data_file_in_a_real_process(tmp_path):
    msg = _subprocess_error(["train", "preset:seed_bad", "--data", tmp_path / "missing.npz", "--out",
                             tmp_path / "o"])
    assert "data not found" in msg and "missing.npz" in msg


@pytest.mark.e2e
def test_npz_without_x_in_a_real_process(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, images=tiny_images(4), labels=np.arange(4))
    msg = _subprocess_error(["train", "preset:seed_bad", "--data", path, "--out", tmp_path / "o"])
    assert "found: images, labels" in msg


@pytest.mark.e2e
def test_nan_data_in_a_real_process(tmp_path, tiny_spec):
    x = tiny_images()
    x[0, :2, :2, 0] = np.nan  # 4 values
    path = tmp_path / "nan.npy"
    np.save(path, x)
    msg = _subprocess_error(["train", tiny_spec, "--data", path, "--out", tmp_path / "o", *TINY_TRAIN])
    assert "4 NaN" in msg


def test_mixed_folder_without_image_size_in_process(cli_run, tmp_path, tiny_spec):
    folder = copy_fixtures(fixture_names("cifar10")[:2] + fixture_names("mnist")[:2], tmp_path / "mixed")
    msg = _usage_error(cli_run("train", tiny_spec, "--data", folder, "--out", tmp_path / "o", *TINY_TRAIN))
    assert "--image-size" in msg


# ---------------------------------------------------------------- the Python API behind the commands

def test_seed_sets_the_batch_order(npz_x, tiny_spec):
    from caedoctor.data import load_data
    from caedoctor.models import load_model
    from caedoctor.training import seed_everything, train

    data = load_data(npz_x)

    def losses(batch_seed):
        seed_everything(0)  # the same initial weights every time: only the batch order may differ
        loaded = load_model(tiny_spec, data.input_shape)
        return train(loaded, data, epochs=2, verbose=0, seed=batch_seed, plots=False).history["loss"]

    first = losses(1)
    assert losses(1) == first
    assert losses(2) != first


@pytest.mark.e2e
def test_run_demo_trains_the_three_presets(tmp_path):
    from caedoctor.demo import run_demo

    path = tmp_path / "rgb.npz"
    np.savez(path, x=tiny_images(20, 16, 3))
    # Training only: the diagnosis the demo runs afterwards has its own tests.
    rows = run_demo(tmp_path / "demo", data=str(path), epochs=1, steps_per_epoch=2, verbose=0, diagnose=False)
    assert [r.model for r in rows] == ["preset:seed_bad", "preset:seed_better", "preset:seed_hyper_bad"]
    for row in rows:
        assert np.isfinite(row.train_loss) and row.seconds > 0
        assert (row.out_dir / "metrics.json").is_file() and (row.out_dir / "loss.png").is_file()


def test_resume_refuses_to_silently_change_the_learning_rate(cli_run, tmp_path, npz_x, tiny_spec):
    out = tmp_path / "run"
    _ok(cli_run("train", tiny_spec, "--data", npz_x, "--epochs", "1", "--out", out, "--lr", "0.01"))
    msg = _usage_error(cli_run("train", tiny_spec, "--data", npz_x, "--epochs", "2", "--out", out, "--resume",
                               "--lr", "0.5"))
    assert "--resume continues with the checkpoint's settings" in msg and "learning_rate 0.5" in msg
