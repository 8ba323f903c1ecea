"""Shared fixtures: tiny arrays on disk, image folders built from the real PNG fixtures in ../shared/data
(found by `find_shared_data`), a temporary KERAS_HOME holding Fashion-MNIST, tiny model specs, helpers to
run the CLI, and a summary of skipped tests at the end of every run."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

SHARED_DATA_ENV = "CAEDOCTOR_SHARED_DATA"


def find_shared_data(repo: Path | None = None, environ=None) -> Path:
    """The project's shared test data (CIFAR-10, Fashion-MNIST, PNG fixtures): `$CAEDOCTOR_SHARED_DATA` when
    set, else the first `shared/data` beside the repository or beside any folder above it, looked up both
    along the path as given and along the resolved one (a clone reached through a symlink). When none is
    found, the place it was expected (for the skip message)."""
    environ = os.environ if environ is None else environ
    if environ.get(SHARED_DATA_ENV):
        return Path(environ[SHARED_DATA_ENV]).expanduser()
    repo = Path(repo) if repo is not None else Path(__file__).absolute().parents[1]
    for base in dict.fromkeys([repo, repo.resolve()]):
        for folder in base.parents:
            if (folder / "shared" / "data").is_dir():
                return folder / "shared" / "data"
    return repo.parent / "shared" / "data"


SHARED_DATA = find_shared_data()
FIXTURES = SHARED_DATA / "fixtures"
FASHION = SHARED_DATA / "fashion-mnist"
FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

# A CAE small enough to train in well under a second per step on a CPU, for any H x W (no pooling).
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


SHARED_SKIP = "shared test data not found"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{SHARED_SKIP} at {path} (looked for shared/data beside the repository and the folders above "
                    f"it; set {SHARED_DATA_ENV}=/path/to/shared/data)")
    return path


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say how many tests were skipped and why, in one block at the end: a skip is never silent."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        terminalreporter.write_sep("=", "no test skipped", green=True)
        return
    reasons: dict = {}
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.write_sep("=", f"{len(skipped)} test{'s' if len(skipped) != 1 else ''} SKIPPED", yellow=True,
                               bold=True)
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"  {count:3d} x {reason}", yellow=True)
    if any(SHARED_SKIP in r for r in reasons):
        terminalreporter.write_line(f"  -> these tests need ../shared/data; set {SHARED_DATA_ENV} or put shared/ "
                                    "beside the clone", yellow=True, bold=True)


def tiny_images(n: int = 16, size: int = 16, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Smooth-ish random images in [0, 1], float32, shape (n, size, size, channels)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, size, size, channels), dtype=np.float32)


@pytest.fixture
def x16():
    return tiny_images()


@pytest.fixture
def npz_x(tmp_path, x16):
    path = tmp_path / "x.npz"
    np.savez(path, x=x16)
    return path


@pytest.fixture
def npz_xy(tmp_path, x16):
    path = tmp_path / "xy.npz"
    np.savez(path, x=x16, y=1.0 - x16)
    return path


@pytest.fixture
def npy_file(tmp_path, x16):
    path = tmp_path / "x.npy"
    np.save(path, x16)
    return path


@pytest.fixture
def tiny_spec(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPEC)
    return path


def copy_fixtures(names, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(_need(FIXTURES) / name, dest / name)
    return dest


def fixture_names(prefix: str) -> list[str]:
    return sorted(p.name for p in _need(FIXTURES).glob(f"{prefix}_*.png"))


@pytest.fixture
def mnist_folder(tmp_path):
    """A flat folder of the 20 MNIST fixture PNGs (28x28 grey)."""
    return copy_fixtures(fixture_names("mnist"), tmp_path / "mnist")


@pytest.fixture
def class_folder(tmp_path):
    """The 20 Fashion-MNIST fixtures in one sub-folder per class label (file names end in _<label>.png)."""
    root = tmp_path / "fashion_by_class"
    for name in fixture_names("fashionMNIST"):
        label = name.rsplit("_", 1)[1].split(".")[0]
        copy_fixtures([name], root / f"class_{label}")
    return root


@pytest.fixture
def mixed_folder(tmp_path):
    """CIFAR-10 (32x32 RGB) and MNIST (28x28 grey) fixtures together: mixed sizes and modes."""
    return copy_fixtures(fixture_names("cifar10")[:5] + fixture_names("mnist")[:5], tmp_path / "mixed")


@pytest.fixture(scope="session")
def keras_home(tmp_path_factory):
    """A KERAS_HOME whose dataset cache holds Fashion-MNIST (and nothing else), as a user would set it up."""
    for name in FASHION_FILES:
        _need(FASHION / name)
    home = tmp_path_factory.mktemp("keras_home")
    dest = home / "datasets" / "fashion-mnist"
    dest.mkdir(parents=True)
    for name in FASHION_FILES:
        shutil.copy(FASHION / name, dest / name)
    return home


def caedoctor_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "caedoctor"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "caedoctor.cli"]


def run_caedoctor(args, *, env_extra=None, timeout=240, cwd=None) -> subprocess.CompletedProcess:
    """Run the real `caedoctor` console script in a subprocess (fresh Keras, real exit code and stderr)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env_extra or {})}
    return subprocess.run(caedoctor_cmd() + [str(a) for a in args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=cwd)


@pytest.fixture
def cli_run():
    """Invoke the CLI in-process with click's CliRunner; returns the result (stdout, stderr, exit_code)."""
    from click.testing import CliRunner

    from caedoctor.cli import cli

    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke
