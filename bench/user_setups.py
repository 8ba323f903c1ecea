"""Issue 11's acceptance measurements: caedoctor diagnoses the training exactly as the user has it.

    .venv/bin/python bench/user_setups.py [--only notes,adadelta,sum_loss]

1. notes: the field notes' three examples verbatim (compile calls outside the factories), diagnosed as the
   compiled model objects the user has: `notes.py:hyper_bad_cae`, `notes.py:bad_cae`, `notes.py:better_cae`.
2. adadelta: a small ReLU/sigmoid CAE with binary cross-entropy on bundled:patches32, compiled with
   `Adadelta()` (Keras' default rate 0.001) and with `Adadelta(learning_rate=1.0)`: plain Keras for 3 epochs,
   then caedoctor's diagnosis of each.
3. sum_loss: SGD(0.01) with a per-image sum of squared errors on Fashion-MNIST 28x28 (../shared/data): plain
   Keras at the configured rate and at rates 10x and 100x lower/higher (1,000 steps each), then caedoctor's
   learning-rate finding, whose direction must match what plain Keras shows.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

NOTES = (ROOT / "tests" / "pipeline" / "test_user_forms.py").read_text().split("FIELD_NOTES = textwrap.dedent('''")[1]
NOTES = NOTES.split("''')")[0]


def _relative_mse(model, x):
    import numpy as np

    pred = np.asarray(model.predict(x, verbose=0, batch_size=256), np.float64)
    return float(np.mean((pred - x) ** 2) / np.mean(np.var(x, axis=0)))


def _summary(d) -> dict:
    return {"verdict": d.verdict, "seconds": round(d.elapsed_s, 1),
            "diagnosed": d.setup["lines"] if d.setup else None,
            "findings": [{"code": f.code, "cause": f.cause, "status": f.status,
                          "effect": f.effect.to_dict() if f.effect else None,
                          "fix": f.fix.description if f.fix else None} for f in d.findings]}


def notes(out: dict) -> None:
    import warnings

    from caedoctor.diagnosis import diagnose

    folder = Path(tempfile.mkdtemp())
    path = folder / "notes.py"
    import textwrap

    path.write_text(textwrap.dedent(NOTES))
    warnings.filterwarnings("ignore", message="Argument `alpha` is deprecated")
    for name in ("hyper_bad_cae", "bad_cae", "better_cae"):
        d = diagnose(f"{path}:{name}", "bundled:patches32", seed=0)
        out[f"notes:{name}"] = _summary(d)
        print(name, d.verdict, [(f.cause, f.status) for f in d.findings if f.status in ("confirmed", "certain")],
              flush=True)


def adadelta(out: dict) -> None:
    import keras
    import numpy as np

    from caedoctor.data import load_data
    from caedoctor.diagnosis import diagnose
    from caedoctor.training import seed_everything

    data = load_data("bundled:patches32")
    x = np.concatenate([b[0] for b in data.train.batch(4096).take(2).as_numpy_iterator()])[:6000]
    xv = np.concatenate([b[0] for b in data.val.batch(2048).take(1).as_numpy_iterator()])

    def cae():
        i = keras.Input((32, 32, 3))
        h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(i)
        h = keras.layers.MaxPool2D(2)(h)
        h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(h)
        h = keras.layers.MaxPool2D(2)(h)
        h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(h)
        h = keras.layers.UpSampling2D(2)(h)
        h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
        h = keras.layers.UpSampling2D(2)(h)
        o = keras.layers.Conv2D(3, 3, padding="same", activation="sigmoid")(h)
        return keras.Model(i, o, name="keras_blog_cae")

    for label, make in (("Adadelta()", lambda: keras.optimizers.Adadelta()),
                        ("Adadelta(learning_rate=1.0)", lambda: keras.optimizers.Adadelta(learning_rate=1.0))):
        seed_everything(0)
        model = cae()
        model.compile(optimizer=make(), loss="binary_crossentropy")
        start = time.perf_counter()
        model.fit(x, x, epochs=3, batch_size=32, verbose=0, shuffle=True)
        plain = _relative_mse(model, xv)
        seed_everything(0)
        user = cae()
        user.compile(optimizer=make(), loss="binary_crossentropy")
        d = diagnose(user, data, seed=0)
        out[f"adadelta:{label}"] = {"plain_keras_3_epochs_relative_mse": plain,
                                    "plain_seconds": round(time.perf_counter() - start, 1), **_summary(d)}
        print(label, "plain keras relative MSE", round(plain, 4), "diagnosis", d.verdict,
              [(f.cause, f.status, f.effect.to_dict() if f.effect else None) for f in d.findings
               if f.cause.startswith("learning_rate")], flush=True)


def sum_loss(out: dict) -> None:
    import keras
    import numpy as np

    from caedoctor.diagnosis import diagnose
    from caedoctor.training import seed_everything

    with gzip.open(SHARED / "fashion-mnist" / "train-images-idx3-ubyte.gz") as fh:
        x = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)[:6000].astype("float32") / 255
    xt, xv = x[:5400], x[5400:]

    def sse(y_true, y_pred):
        return keras.ops.sum(keras.ops.square(y_true - y_pred), axis=(1, 2, 3))

    def cae():
        i = keras.Input((28, 28, 1))
        h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(i)
        h = keras.layers.MaxPool2D(2)(h)
        h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(h)
        h = keras.layers.UpSampling2D(2)(h)
        o = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(h)
        return keras.Model(i, o, name="sum_loss_cae")

    plain = {}
    for rate in (1.0, 0.1, 0.01, 1e-3, 1e-4):
        seed_everything(0)
        model = cae()
        model.compile(optimizer=keras.optimizers.SGD(rate), loss=sse)
        model.fit(xt, xt, epochs=1, batch_size=32, steps_per_epoch=1000 // 6 * 6, verbose=0)
        plain[rate] = _relative_mse(model, xv)
        print("plain keras SGD", rate, "relative MSE", round(plain[rate], 4), flush=True)
    seed_everything(0)
    user = cae()
    user.compile(optimizer=keras.optimizers.SGD(0.01), loss=sse)
    np.savez(Path(tempfile.mkdtemp()) / "f.npz", x=x)
    d = diagnose(user, x, seed=0)
    out["sum_loss"] = {"plain_keras_relative_mse_by_rate": plain, **_summary(d)}
    print("diagnosis", d.verdict, [(f.code, f.cause, f.status, f.effect.to_dict() if f.effect else None)
                                   for f in d.findings], flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="notes,adadelta,sum_loss")
    parser.add_argument("--out", default=str(ROOT / "runs" / "user_setups.json"))
    args = parser.parse_args()
    import subprocess

    out = {"commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                    cwd=ROOT).stdout.strip()}
    for name in args.only.split(","):
        globals()[name](out)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
