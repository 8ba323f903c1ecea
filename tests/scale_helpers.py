"""Helpers for the training, data and hostile-input tests: tiny data and models on disk, the real CLI in a subprocess."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import csv  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

# The smallest CAE the project can train: one 4-filter conv and its mirror (16x16x1 in, ~100 weights).
TINY_SPEC = """\
name: tiny
encoder:
  - {filters: 4, kernel: 3, activation: relu}
output_activation: sigmoid
optimizer: adam
learning_rate: 0.001
loss: mse
batch_size: 8
"""

# A model that diverges on purpose: y = w * x with one weight and plain SGD. On [0, 1] data gradient
# descent is stable for a learning rate below about 3 and overflows to Inf within tens of steps above it.
LINEAR_FACTORY = """\
import keras


def build(input_shape):
    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Conv2D(input_shape[-1], 1, use_bias=False, kernel_initializer="zeros",
                                                 name="scale")])
"""


def images(n: int = 64, size: int = 16, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Random uint8 images (N, size, size, channels)."""
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


def write_spec(folder: Path) -> Path:
    path = Path(folder) / "tiny.yaml"
    path.write_text(TINY_SPEC)
    return path


def write_npz(folder: Path, n: int = 64, name: str = "x.npz") -> Path:
    path = Path(folder) / name
    np.savez(path, x=images(n))
    return path


def history_rows(out: Path) -> list[dict]:
    with open(Path(out) / "history.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def metrics(out: Path) -> dict:
    return json.loads((Path(out) / "metrics.json").read_text())


def latest(out: Path) -> dict | None:
    path = Path(out) / "checkpoints" / "latest.json"
    return json.loads(path.read_text()) if path.exists() else None


def caedoctor_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "caedoctor"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "caedoctor.cli"]


def env(**extra) -> dict:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **{k: str(v) for k, v in extra.items()}}


def run_cli(args, *, timeout: int = 240, **extra_env) -> subprocess.CompletedProcess:
    """The real `caedoctor` console script in a subprocess: fresh TensorFlow, real exit code and stderr."""
    return subprocess.run(caedoctor_cmd() + [str(a) for a in args], capture_output=True, text=True,
                          env=env(**extra_env), timeout=timeout)


def free_ports(n: int) -> list[int]:
    """`n` distinct ports that are free on 127.0.0.1 right now (held open together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def assert_one_line_error(result) -> str:
    """Exit 2 with exactly one `caedoctor: error:` line on stderr and no traceback; returns the line."""
    stdout = getattr(result, "stdout", "") or ""
    stderr = getattr(result, "stderr", "") or ""
    code = getattr(result, "exit_code", getattr(result, "returncode", None))
    assert code == 2, f"exit {code}\nstdout: {stdout}\nstderr: {stderr}"
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("caedoctor: error: "), stderr
    assert "Traceback" not in stdout + stderr
    return lines[0]
