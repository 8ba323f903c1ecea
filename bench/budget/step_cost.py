"""What one training step costs on this machine: is a diagnosis' probe slower than the user's own `fit`?

Trains the field notes' seed_better CAE (32x32x3, batch 32, Adam, MSE) on bundled:patches32 with plain
Keras `fit` (the first 25 steps traced and not timed, then `--steps` timed), in the ways that might make a
step cheaper, and then one caedoctor probe (`run_probe`: monitor, checkpoints and validation included):

- `fit`: Keras' defaults on this backend (no XLA on CPU);
- `fit, jit_compile=True`: XLA;
- `fit, steps_per_execution=25`: 25 steps per call of the compiled function (fewer Python round trips);
- `fit, 1 intra-op thread`: how much of the machine one step uses (in a child process: TensorFlow's thread
  pools are fixed once it starts);
- `two fits side by side`: two threads of one process, each its own model (what `--jobs 2` does);
- `caedoctor probe`: the baseline probe of a diagnosis, with the monitor.

    .venv/bin/python bench/budget/step_cost.py [--steps 300]

Prints ms per step after tracing. Run it on a quiet machine: the figures are wall-clock.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
WARM = 25  # steps traced and run before the clock starts


def _data():
    from caedoctor.data import load_data

    return load_data("bundled:patches32")


def _model(data, **compile_args):
    import keras

    from caedoctor.models import load_model

    loaded = load_model("preset:seed_better", data.input_shape)  # its configuration: Adam 1e-3, MSE, batch 32
    model = loaded.model
    model.compile(optimizer=keras.optimizers.Adam(loaded.config.learning_rate), loss="mse", **compile_args)
    return model


def _dataset(data):
    import tensorflow as tf

    return data.train.take(4096).cache().repeat().batch(32).prefetch(2)  # (x, x) pairs of the training split


def timed_fit(data, steps: int, **compile_args) -> float:
    """Milliseconds per step of plain `fit` after WARM traced steps."""
    model, ds = _model(data, **compile_args), _dataset(data)
    spe = compile_args.get("steps_per_execution", 1)
    model.fit(ds, epochs=1, steps_per_epoch=max(WARM, spe), verbose=0)
    start = time.perf_counter()
    model.fit(ds, epochs=max(1, steps // WARM), steps_per_epoch=WARM, verbose=0)
    return 1000 * (time.perf_counter() - start) / (max(1, steps // WARM) * WARM)


def side_by_side(data, steps: int) -> float:
    """Milliseconds per step of each of two fits run at once in two threads (the mean of the two)."""
    out = {}

    def one(i):
        out[i] = timed_fit(data, steps)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(out.values()) / len(out)


def probe_cost(data, steps: int) -> dict:
    from caedoctor.models import load_model
    from caedoctor.probing import ProbeRunner
    from caedoctor.setup import Setup

    setup = Setup.of(load_model("preset:seed_better", data.input_shape), data)
    runner = ProbeRunner.for_setup(setup, compared=False)  # the baseline alone: no check-batch scoring
    result = runner.probe(setup, steps=steps, seed=0, label="baseline", monitored=True)
    return {"ms_per_step": round(1000 * result.timing["steps"] / result.steps_run, 1),
            **{k: round(v, 2) for k, v in result.timing.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--one-thread", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    import tensorflow as tf

    if args.one_thread:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        print(json.dumps(timed_fit(_data(), args.steps)))
        return
    data = _data()
    rows = [("fit", timed_fit(data, args.steps)),
            ("fit, jit_compile=True", timed_fit(data, args.steps, jit_compile=True)),
            ("fit, steps_per_execution=25", timed_fit(data, args.steps, steps_per_execution=WARM))]
    child = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--one-thread"],
                           capture_output=True, text=True, check=True)
    rows.append(("fit, 1 intra-op thread", float(child.stdout.strip().splitlines()[-1])))
    rows.append(("two fits side by side (each)", side_by_side(data, args.steps)))
    probe = probe_cost(data, args.steps)
    rows.append(("caedoctor probe (steps only)", probe["ms_per_step"]))
    print(f"ms per step after {WARM} traced steps, {args.steps} steps, seed_better on bundled:patches32, batch 32")
    for name, ms in rows:
        print(f"  {name:32s} {ms:6.1f}")
    print("  caedoctor probe, seconds by part:", {k: v for k, v in probe.items() if k != "ms_per_step"})


if __name__ == "__main__":
    main()
