"""Plain-Keras training and scoring of one generated program: `model.fit` on numpy batches, nothing else.

Used by the learning-rate sweep (generate.py) and by the ground truth (ground_truth.py). It imports keras
and numpy only (TensorFlow just to set its thread counts), never caedoctor.

Relative MSE is caedoctor.losses.reconstruction_metrics' definition, copied: the MSE over all values
divided by the targets' variance around their per-pixel mean image (the mean over pixels of each pixel's
variance across the scored images), so 1.0 = "no better than predicting the mean image". A prediction
with fewer channels than the target is broadcast against it, as Keras' MSE does.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import time
from pathlib import Path

import numpy as np

from sources import split

EVALS = 3  # validation points per run (the curve); the last one is the run's result
STEPS_PER_EXECUTION = 25  # fewer Python round trips per step; the same maths


def configure_threads(intra: int = 2, inter: int = 1) -> None:
    """TensorFlow's thread pools, set before any op runs (one process on the 2 shared cores)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(intra)
            tf.config.threading.set_inter_op_parallelism_threads(inter)
        except RuntimeError:  # already initialised in this process: keep what it has
            pass


def load_factory(path: Path):
    """`build_model` of a case.py file, imported as a fresh module."""
    path = Path(path)
    name = "gencase_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_model


def factory_from_source(source: str):
    namespace: dict = {}
    exec(compile(source, "<generated case>", "exec"), namespace)
    return namespace["build_model"]


def load_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    with np.load(path) as archive:
        x = archive["x"]
        y = archive["y"] if "y" in archive.files else None
    return x, y


def relative_mse(model, x: np.ndarray, y: np.ndarray, batch: int = 256) -> float:
    sq, count = 0.0, 0
    for i in range(0, len(x), batch):
        p = np.asarray(model(x[i:i + batch], training=False), dtype=np.float64)
        t = y[i:i + batch].astype(np.float64)
        shape = np.broadcast_shapes(p.shape, t.shape)
        sq += float(np.sum(np.square(p - t)))
        count += int(np.prod(shape))
    mse = sq / count
    yy = y.astype(np.float64)
    variance = float(np.mean(yy.var(axis=0)))
    if not math.isfinite(mse):
        return math.inf
    return mse / variance if variance > 0 else math.nan


class Program:
    """One generated program, built and traced once, trained from any seed as if freshly built.

    Tracing the training function costs a few seconds per model on these CPUs, as much as hundreds of
    steps. A run from seed s is defined as `keras.utils.set_random_seed(s); model = build_model(shape);
    model.fit(...)`; `Program` reaches the same state without retracing: it builds the model from seed s
    (cheap), copies every variable of it (weights, BatchNorm statistics, dropout seed states) into the traced
    model, and puts the optimizer's variables back to their values before the first step (iterations 0,
    zero moments, the program's learning rate). tests/bench/test_generated_benchmark.py checks that a
    reused run equals a fresh one.
    """

    def __init__(self, build_model, input_shape: tuple):
        self.build_model, self.input_shape = build_model, tuple(input_shape)
        self.model = None
        self.optimizer_start = None

    def fresh(self, seed: int, steps_per_execution: int):
        import keras

        keras.utils.set_random_seed(seed)
        model = self.build_model(self.input_shape)
        if self.model is None:
            model.compile(optimizer=model.optimizer, loss=model.loss, steps_per_execution=steps_per_execution)
            model.optimizer.build(model.trainable_variables)
            self.model = model
            self.optimizer_start = [v.numpy() for v in model.optimizer.variables]
            return model
        if len(model.variables) != len(self.model.variables):
            raise RuntimeError("the program builds a different model from another seed")
        for target, value in zip(self.model.variables, model.variables):
            target.assign(value)
        for v, start in zip(self.model.optimizer.variables, self.optimizer_start):
            v.assign(start)
        return self.model

    def run(self, x: np.ndarray, y: np.ndarray | None, score: tuple, *, seed: int, samples: int,
            batch_size: int, evals: int = EVALS, learning_rate: float | None = None) -> dict:
        """Train from `seed` on caedoctor's training split of (x, y) for `samples` samples in batches of
        `batch_size`, and score on `score` = (x_val, y_val). status: ok, nan (a non-finite loss or
        prediction) or error (an exception: the program cannot train)."""
        start, cpu_start = time.perf_counter(), time.process_time()
        (xt, yt), _ = split(x, y)
        steps = max(1, samples // batch_size)
        out = {"seed": seed, "batch_size": batch_size, "steps": steps, "samples": steps * batch_size,
               "train_images": int(len(xt)), "val_images": int(len(score[0])), "status": "ok", "error": "",
               "relative_mse": None, "loss_curve": [], "val_curve": [], "steps_done": 0}
        try:
            model = self.fresh(seed, max(1, min(STEPS_PER_EXECUTION, steps // evals)))
            if learning_rate is not None:
                model.optimizer.learning_rate = learning_rate
            rng = np.random.default_rng(seed)
            reps = steps * batch_size // len(xt) + 1
            order = np.concatenate([rng.permutation(len(xt)) for _ in range(reps)])[: steps * batch_size]
            chunk = max(1, math.ceil(steps / evals))
            for first in range(0, steps, chunk):
                n = min(chunk, steps - first)
                idx = order[first * batch_size:(first + n) * batch_size]
                hist = model.fit(xt[idx], yt[idx], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
                loss = float(hist.history["loss"][-1])
                out["loss_curve"].append(loss)
                out["steps_done"] = first + n
                if not math.isfinite(loss):
                    out["status"] = "nan"
                    break
                out["val_curve"].append(relative_mse(model, *score))
            if out["status"] == "ok":
                rel = out["val_curve"][-1]
                if math.isfinite(rel):
                    out["relative_mse"] = rel
                else:
                    out["status"] = "nan"
            out["params"] = int(model.count_params())
        except Exception as exc:  # a program plain Keras refuses to train (e.g. output and target shapes differ)
            self.model = None  # rebuild from scratch next time
            out["status"] = "error"
            first_line = (str(exc).strip().splitlines() or [""])[0]
            out["error"] = f"{type(exc).__name__}: {first_line[:300]}"
        out["val_curve"] = [v if math.isfinite(v) else None for v in out["val_curve"]]
        out["loss_curve"] = [v if math.isfinite(v) else None for v in out["loss_curve"]]
        out["seconds"] = round(time.perf_counter() - start, 2)
        out["cpu_seconds"] = round(time.process_time() - cpu_start, 2)  # all threads of this process
        return out


def train_run(build_model, x: np.ndarray, y: np.ndarray | None, score: tuple, *, seed: int, samples: int,
              batch_size: int, evals: int = EVALS) -> dict:
    """One run of a freshly built and traced program (see Program.run)."""
    return Program(build_model, x.shape[1:]).run(x, y, score, seed=seed, samples=samples, batch_size=batch_size,
                                                 evals=evals)
