"""The expensive CAE of issue 14: 11x11 kernels, four stages of 64 filters, on 32x32x3 patches.

Before issue 14 its diagnosis ran for more than 7 minutes, silently. This script times
`caedoctor diagnose` on it at the default budget (the CLI, as a user runs it) and shows the plan lines it
prints before any counterfactual probe:

    .venv/bin/python bench/budget/expensive_cae.py              # writes runs/bench-budget/expensive.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "runs" / "bench-budget"


def build_model():
    """The model as a user would write it (a factory for `caedoctor diagnose file.py:build_model`)."""
    import keras
    from keras import layers

    inputs = keras.Input((32, 32, 3))
    x = inputs
    for _ in range(4):
        x = layers.Conv2D(64, 11, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    for _ in range(4):
        x = layers.UpSampling2D()(x)
        x = layers.Conv2D(64, 11, padding="same", activation="relu")(x)
    outputs = layers.Conv2D(3, 11, padding="same", activation="sigmoid")(x)
    model = keras.Model(inputs, outputs, name="cae_11x11_4x64")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "caedoctor.cli", "diagnose", f"{Path(__file__).resolve()}:build_model",
           "--data", "bundled:patches32", "--format", "text"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("  ... ")]
    doc = {"command": " ".join(cmd[1:]), "wall_s": round(wall, 1), "exit_code": proc.returncode,
           "load_start": round(load, 2), "load_end": round(os.getloadavg()[0], 2),
           "progress": lines, "stdout": proc.stdout.splitlines()}
    (OUT / "expensive.json").write_text(json.dumps(doc, indent=2))
    print("\n".join(lines))
    print(proc.stdout)
    print(f"wall {wall:.1f} s, exit {proc.returncode}")


if __name__ == "__main__":
    main()
