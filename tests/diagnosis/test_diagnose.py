"""diagnose(): verdicts, statuses and effects measured on tiny real runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from caedoctor.data import load_data
from caedoctor.diagnosis import diagnose
from caedoctor.models import load_model
from caedoctor.thresholds import DEFAULT_HORIZON_STEPS

from tiny import blobs, compiled, stable_diagnosis, tiny_cae

STEPS = 100


@pytest.fixture(scope="module")
def data():
    return load_data(blobs(320))


def _diag(model, data, **kw):
    loaded = load_model(model, data.input_shape)
    return diagnose(loaded, data, steps=STEPS, seed=0, lr_find_steps=60, **kw)


def test_healthy_tiny_cae_converges_with_no_error_findings(data):
    result = _diag(compiled(tiny_cae()), data)
    assert result.verdict == "converging", result.to_dict()
    assert not [f for f in result.findings if f.severity == "error"]
    assert result.probe["relative_loss"] < 0.25
    assert result.exit_code == 0


@pytest.mark.e2e
def test_learning_rate_too_high_is_confirmed_with_a_measured_effect(data):
    result = _diag(compiled(tiny_cae(), lr=1.0), data)
    assert result.verdict in ("not_converging", "diverging", "unstable", "slow")
    lr = [f for f in result.findings if f.cause == "learning_rate_too_high"]
    assert lr and lr[0].status == "confirmed", [f.to_dict() for f in result.findings]
    assert lr[0].effect.after < lr[0].effect.before
    assert result.lr_find and 0 < result.lr_find["suggestion"] < 1.0
    assert result.exit_code == 1
    # The confirmed cause ranks first.
    assert result.confirmed()[0].cause == "learning_rate_too_high"
    # Every probe is judged where training ends too: the baseline and each counterfactual forecast at the
    # default horizon, the rate's fix forecast to keep its gain there.
    assert result.horizon["steps"] == DEFAULT_HORIZON_STEPS and result.horizon["source"] == "default"
    assert result.horizon["forecast"]["horizon"] == DEFAULT_HORIZON_STEPS
    rate = next(c for c in result.counterfactuals if c["cause"] == "learning_rate_too_high")
    assert rate["at_horizon"]["horizon"] == DEFAULT_HORIZON_STEPS and rate["at_horizon"]["log_gain"] > 0


@pytest.mark.e2e
def test_shape_mismatch_is_invalid_and_certain_and_the_fixed_set_up_is_diagnosed_past_it():
    data = load_data(blobs(64, size=14))  # 14 -> 7 -> 4 with two poolings: 16 out
    result = _diag(compiled(tiny_cae(size=14, pools=2)), data)
    assert result.verdict == "invalid"
    shape = [f for f in result.findings if f.cause == "shape_mismatch"]
    assert shape and shape[0].status == "certain" and "measured_past" not in shape[0].evidence
    # the set-up with the output cropped to the input's size trains: it was probed, and the rest of the
    # findings are measured on it and say so
    assert result.probe is not None and result.probe["steps_run"] > 0
    assert all(f.evidence.get("measured_past") == [shape[0].code] for f in result.findings if f is not shape[0])
    assert "cannot train (CAE207); with that fixed, its probe's verdict is" in result.setup["notes"][-1]
    assert result.exit_code == 1


def test_quick_mode_stops_at_a_blocking_error():
    data = load_data(blobs(64, size=14))
    result = _diag(compiled(tiny_cae(size=14, pools=2)), data, quick=True)
    assert result.verdict == "invalid" and result.probe is None


@pytest.mark.e2e
def test_nan_data_is_invalid():
    x = blobs(64)
    x[3, 2, 2, 0] = np.nan
    data = load_data(x)
    result = _diag(compiled(tiny_cae()), data)
    assert result.verdict == "invalid"
    assert any(f.cause == "nan_in_data" and f.status == "certain" for f in result.findings)


def test_quick_mode_runs_no_counterfactuals(data):
    result = _diag(compiled(tiny_cae(), lr=1.0), data, quick=True)
    assert result.counterfactuals == []
    assert result.lr_find is None  # quick: no LR range test either
    assert all(f.status in ("suspected", "certain") for f in result.findings)
    # nothing is compared with the baseline, so it is not scored on the check batch along the way
    assert result.probe_results["baseline"].checkpoints == []
    assert result.timings["probe_parts"]["checkpoints"] == 0


@pytest.mark.e2e
def test_a_full_diagnosis_scores_its_baseline_for_early_decisions(data):
    result = _diag(compiled(tiny_cae(), lr=1.0), data)
    assert result.probe_results["baseline"].checkpoints


@pytest.mark.e2e
def test_same_seed_same_diagnosis(data):
    a = _diag(compiled(tiny_cae(), lr=1.0), data).to_dict()
    b = _diag(compiled(tiny_cae(), lr=1.0), data).to_dict()
    assert stable_diagnosis(a) == stable_diagnosis(b)


def test_cli_diagnose_json_and_exit_codes(tmp_path):
    np.savez(tmp_path / "blobs.npz", x=blobs(200))
    factory = tmp_path / "model.py"
    factory.write_text(
        "import keras\n"
        "def make(shape):\n"
        "    i = keras.Input(shape)\n"
        "    x = keras.layers.Conv2D(8, 3, padding='same', activation='relu')(i)\n"
        "    o = keras.layers.Conv2D(1, 3, padding='same', activation='sigmoid')(x)\n"
        "    m = keras.Model(i, o)\n"
        "    m.compile(optimizer=keras.optimizers.Adam(3e-3), loss='mse')\n"
        "    return m\n")
    from caedoctor.cli import cli

    result = CliRunner().invoke(cli, ["diagnose", f"{factory}:make", "--data", str(tmp_path / "blobs.npz"),
                                      "--steps", "100", "--horizon-steps", "400", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)  # stderr says that model.py is run
    assert payload["verdict"] == "converging"
    for key in ("verdict", "findings", "probe", "lr_find", "elapsed_s"):
        assert key in payload
    for key in ("steps", "seconds", "loss_curve", "relative_loss"):
        assert key in payload["probe"]
    assert math.isfinite(payload["probe"]["relative_loss"])
    assert payload["horizon"]["steps"] == 400 and payload["horizon"]["source"] == "flag"
    assert 0 < payload["horizon"]["forecast"]["low"] <= payload["horizon"]["forecast"]["high"]

    bad = CliRunner().invoke(cli, ["diagnose", "preset:nope", "--data", str(tmp_path / "blobs.npz")])
    assert bad.exit_code == 2


def test_each_symptom_raises_the_probe_finding_documented_for_it():
    """SYMPTOM_CODES and the CAE7xx docs are one-to-one, and a present symptom becomes a finding with its
    own code and doc reference (not, say, the first symptom's)."""
    from caedoctor.checks import get_rule
    from caedoctor.checks.registry import PROBE_RULES
    from caedoctor.checks.probe_findings import SYMPTOM_CODES, findings_from_symptoms

    assert sorted(SYMPTOM_CODES.values()) == sorted(r.code for r in PROBE_RULES)
    assert len(set(SYMPTOM_CODES.values())) == len(SYMPTOM_CODES)
    for name, code in SYMPTOM_CODES.items():
        rule = get_rule(code)
        assert rule.name == "probe-" + name.replace("_", "-"), (name, code, rule.name)
        symptom = {"name": name, "present": True, "cause": rule.cause, "evidence": {}}
        found = findings_from_symptoms([symptom], [], lr_suggestion=1e-3, current_lr=1e-3)
        assert [(f.code, f.doc) for f in found] == [(code, f"caedoctor rule {code}")], name


@pytest.mark.parametrize("breakage", ["the checks package cannot be imported", "a rule raises"])
def test_a_failure_inside_the_static_checks_surfaces_and_is_never_a_clean_result(monkeypatch, tmp_path, breakage):
    """diagnose once caught ImportError around the static checks and went on with no static findings at all."""
    import dataclasses
    import sys

    from caedoctor.checks import engine
    from caedoctor.checks.registry import RULES
    from caedoctor.cli import cli

    if breakage == "a rule raises":
        def broken(_context):
            raise RuntimeError("a bug inside a rule")

        rule = dataclasses.replace(RULES[0], run=broken)
        monkeypatch.setattr(engine, "select_rules", lambda select=None, ignore=None: [rule])
        error, message = RuntimeError, "a bug inside a rule"
    else:
        monkeypatch.setitem(sys.modules, "caedoctor.checks", None)  # how a missing or broken module fails
        error, message = ModuleNotFoundError, "import of caedoctor.checks halted; None in sys.modules"
    data = load_data(blobs(64))
    with pytest.raises(error, match=message):
        _diag(compiled(tiny_cae()), data)

    np.savez(tmp_path / "blobs.npz", x=blobs(64))
    result = CliRunner().invoke(cli, ["diagnose", "preset:seed_bad", "--data", str(tmp_path / "blobs.npz"),
                                      "--quick"])
    assert result.exit_code == 3, result.output
    assert [ln for ln in result.stderr.strip().splitlines() if not ln.lstrip().startswith("... ")] == [
        f"caedoctor: error: unexpected {error.__name__}: {message} (rerun with --debug for the traceback)"]
    assert "verdict" not in result.stdout


def test_model_analysis_returns_none_only_for_a_model_the_reader_refuses(monkeypatch):
    from caedoctor.errors import ModelError
    from caedoctor.models import analysis as architecture
    from caedoctor.setup import Setup

    data = load_data(blobs(32))
    setup = Setup.of(load_model(compiled(tiny_cae()), data.input_shape), data)
    assert setup.analysis().bottleneck_layer
    for error, expect_none in ((ModelError("subclassed: cannot read the graph"), True),
                               (KeyError("a bug in the reader"), False)):
        def broken(*_args, error=error):
            raise error

        monkeypatch.setattr(architecture, "analyze_model", broken)
        if expect_none:
            assert setup.analysis() is None
        else:
            with pytest.raises(KeyError, match="a bug in the reader"):
                setup.analysis()
