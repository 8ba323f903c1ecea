"""`caedoctor run script.py args`: the script runs as `python script.py args` would (output, argv, __main__,
sys.path[0], working folder, exit code), its fits are watched, and a diagnosis follows its output."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conftest import run_caedoctor

# A script that reports what Python gave it, fits a tiny CAE and exits as told. STEPS=0 skips the fit.
SCRIPT = textwrap.dedent('''\
    import os, sys
    print("argv", sys.argv)
    print("name", __name__, "path0", os.path.basename(sys.path[0]), "cwd", os.path.basename(os.getcwd()))
    mode, code = sys.argv[1], sys.argv[2]
    if mode != "nofit":
        import numpy as np, keras
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        x = rng.random((64, 16, 16, 1), dtype=np.float32)
        scale, lr, out, bs = {"diverge": (255.0, 1.0, "linear", 4), "fine": (1.0, 3e-3, "sigmoid", 16)}[mode]
        model = keras.Sequential([keras.Input((16, 16, 1)),
                                  keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
                                  keras.layers.Conv2D(1, 3, padding="same", activation=out)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse")
        history = model.fit(x * scale, x * scale, batch_size=bs, epochs=3, verbose=0)
        print("losses", len(history.history["loss"]))
    if code == "raise":
        raise RuntimeError("the script's own error")
    if code == "message":
        sys.exit("a message from the script")
    sys.exit(int(code))
''')


@pytest.fixture
def script(tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    path = folder / "train.py"
    path.write_text(SCRIPT)
    work = tmp_path / "work"
    work.mkdir()
    return path, work


def _python(path, args, cwd):
    return subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True, cwd=cwd, timeout=240)


def test_script_runs_as_python_runs_it(script):
    """stdout, argv (options after the script are the script's), __main__, sys.path[0], cwd, exit code."""
    path, work = script
    args = ["nofit", "3", "--epochs", "2"]
    plain = _python(path, args, work)
    watched = run_caedoctor(["run", path, *args], cwd=work)
    assert plain.returncode == watched.returncode == 3
    assert watched.stdout == plain.stdout
    assert "argv ['" in plain.stdout and "'--epochs', '2']" in plain.stdout
    assert "name __main__ path0 scripts cwd work" in watched.stdout
    assert watched.stderr.startswith("caedoctor: running your code: python ")


@pytest.mark.parametrize("code, expected, stderr", [
    # each a `caedoctor run` process (about 5 s): the fast suite keeps one, `make test-e2e` runs all three
    ("0", 0, None),
    pytest.param("message", 1, "a message from the script", marks=pytest.mark.e2e),
    pytest.param("raise", 1, "RuntimeError: the script's own error", marks=pytest.mark.e2e),
])
def test_exit_codes_and_errors_are_the_scripts(script, code, expected, stderr):
    path, work = script
    watched = run_caedoctor(["run", path, "nofit", code], cwd=work)
    assert watched.returncode == expected
    if stderr:
        assert stderr in watched.stderr
    if code == "raise":  # the traceback starts in the user's script, not in caedoctor or runpy
        tb = watched.stderr.split("Traceback (most recent call last):", 1)[1]
        assert "train.py" in tb and "runpy" not in tb and "caedoctor" not in tb.split("RuntimeError")[0]


@pytest.mark.e2e
def test_diverging_fit_is_diagnosed_after_the_scripts_output(script):
    path, work = script
    plain = _python(path, ["diverge", "4"], work)
    watched = run_caedoctor(["run", "--quick", "--steps", "25", "--report", work / "report", path, "diverge", "4"],
                            cwd=work)
    assert watched.returncode == 4 and watched.stdout == plain.stdout
    err = watched.stderr
    assert "fit #1 (sequential): 48 step(s) watched; the monitor saw diverging" in err
    assert err.index("diagnosing the set-up") < err.index("verdict: diverging")
    assert "note: validation: fit got none" in err
    assert (work / "report" / "report.html").is_file() and "report: " in err


@pytest.mark.e2e
def test_diagnose_never_prints_none_and_always_diagnoses_a_healthy_fit(script):
    path, work = script
    never = run_caedoctor(["run", "--diagnose", "never", path, "diverge", "0"], cwd=work)
    assert never.returncode == 0
    assert never.stderr.count("\n") == 1 and "verdict" not in never.stderr  # the start line only
    always = run_caedoctor(["run", "--diagnose", "always", "--quick", "--steps", "25", path, "fine", "0"], cwd=work)
    assert always.returncode == 0 and "losses 3" in always.stdout
    assert "verdict:" in always.stderr and "monitor saw" not in always.stderr


def test_missing_script_is_a_usage_error(tmp_path):
    result = run_caedoctor(["run", tmp_path / "nope.py"])
    assert result.returncode == 2 and "script not found" in result.stderr and "Traceback" not in result.stderr
