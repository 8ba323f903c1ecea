"""`caedoctor check`, `caedoctor rules`, `caedoctor rule CODE` through the CLI, in-process.

Includes the issue's done-when cases: the field notes' CAEs on bundled:patches32, the 28x28 MNIST CAE
with three poolings, a sigmoid CAE on 0-255 data, and NaN data.
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from check_helpers import images, raw_images
from click.testing import CliRunner

from caedoctor.checks import PROBE_RULES, RULES
from caedoctor.cli import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def run_json(*args):
    result = run(*args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)  # stderr may say that a factory file is run


@pytest.fixture
def factory(tmp_path):
    """Write a model factory file; returns 'path.py:build'."""
    def write(body: str) -> str:
        path = tmp_path / "models_under_test.py"
        path.write_text("import keras\nfrom keras import layers\n\n" + textwrap.dedent(body))
        return f"{path}:build"
    return write


MNIST_CAE = """
def build():
    inputs = keras.Input((28, 28, 1))
    x = inputs
    for i, f in enumerate((16, 8, 8), 1):
        x = layers.Conv2D(f, 3, activation="relu", padding="same", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"pool{i}")(x)
    for i, f in enumerate((8, 8, 16), 1):
        x = layers.Conv2D(f, 3, activation="relu", padding="same", name=f"dconv{i}")(x)
        x = layers.UpSampling2D(2, name=f"up{i}")(x)
    outputs = layers.Conv2D(1, 3, activation="sigmoid", padding="same", name="decoded")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model
"""

SIGMOID_CAE = """
def build(shape):
    inputs = keras.Input(shape)
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.UpSampling2D(2)(x)
    return keras.Model(inputs, layers.Conv2D(shape[-1], 3, activation="sigmoid", padding="same")(x))
"""


# ------------------------------------------------------------------ the done-when cases

def test_seed_bad_names_output_range_only_as_a_suspicion_to_diagnose():
    code, findings = run_json("check", "preset:seed_bad", "--data", "bundled:patches32")
    assert code == 0
    output_range = [f for f in findings if f["cause"] == "output_activation_range"]
    assert output_range, "the linear output is named"
    for f in output_range:
        assert f["severity"] in ("warning", "info") and "caedoctor diagnose" in f["message"]
    assert not [f for f in findings if f["severity"] in ("error", "warning")]
    assert set(findings[0]) >= {"code", "cause", "severity", "message", "evidence", "fix", "doc_url_or_rule"}


def test_seed_better_gives_no_warnings_or_errors():
    code, findings = run_json("check", "preset:seed_better", "--data", "bundled:patches32")
    assert code == 0 and all(f["severity"] == "info" for f in findings)


def test_seed_hyper_bad_is_flagged_for_its_learning_rate():
    code, findings = run_json("check", "preset:seed_hyper_bad", "--data", "bundled:patches32")
    assert code == 1
    assert [(f["code"], f["cause"], f["severity"]) for f in findings if f["severity"] != "info"] == [
        ("CAE501", "learning_rate_too_high", "warning")]
    assert findings[0]["evidence"]["learning_rate"] == 0.1


def test_mnist_three_pooling_cae_is_a_shape_mismatch_naming_the_layer_and_the_fix(factory, tmp_path):
    data = tmp_path / "mnist_like.npz"
    np.savez(data, x=(raw_images(60, size=28) / 255).astype(np.float32))
    code, findings = run_json("check", factory(MNIST_CAE), "--data", data)
    assert code == 1
    shape = [f for f in findings if f["cause"] == "shape_mismatch"]
    assert len(shape) == 1 and shape[0]["severity"] == "error" and shape[0]["code"] == "CAE207"
    assert "It goes wrong at pool3 (MaxPooling2D)" in shape[0]["message"]
    assert "output 32x32x1 differs from target 28x28x1" in shape[0]["message"]
    assert shape[0]["fix"]["kind"] == "input_padding" and shape[0]["fix"]["params"] == {"pad_to": [32, 32]}
    # The same model without data: the model's own 28x28x1 input is the target.
    code, alone = run_json("check", factory(MNIST_CAE))
    assert code == 1 and "CAE207" in [f["code"] for f in alone]


def test_check_says_that_it_runs_the_code_of_a_factory_file(factory):
    model = factory(MNIST_CAE)
    result = run("check", model, "--format", "json")
    path = model.rsplit(":", 1)[0]
    assert result.stderr.strip().splitlines() == [f"caedoctor: running code from {path} to build the model (build)"]
    assert json.loads(result.stdout)  # the JSON on stdout is untouched
    assert "runs that Python file" in run("--help").stdout and "including `check`" in run("--help").stdout
    assert "imported and run" in run("check", "--help").stdout


def test_sigmoid_cae_on_0_255_data_is_not_normalised(factory, tmp_path):
    data = tmp_path / "raw.npz"
    np.savez(data, x=raw_images(200, size=16).astype(np.uint8))
    code, findings = run_json("check", factory(SIGMOID_CAE), "--data", data)
    assert code == 1
    by_code = {f["code"]: f for f in findings}
    assert by_code["CAE104"]["cause"] == "data_not_normalized" and "[0, 255]" in by_code["CAE104"]["message"]
    assert by_code["CAE104"]["fix"] == {"kind": "normalize_inputs", "params": {"method": "unit"},
                                        "description": by_code["CAE104"]["fix"]["description"]}
    assert by_code["CAE201"]["severity"] == "error"  # sigmoid cannot reach 255
    # --normalize unit fixes both.
    code, findings = run_json("check", factory(SIGMOID_CAE), "--data", data, "--normalize", "unit")
    assert code == 0 and not {"CAE104", "CAE201"} & {f["code"] for f in findings}


def test_nan_data_is_a_finding_with_exit_1(tmp_path):
    x = images(200, size=32, channels=3)
    x[5, 0, 0, 0] = np.nan
    data = tmp_path / "nan.npy"
    np.save(data, x)
    code, findings = run_json("check", "preset:seed_better", "--data", data)
    assert code == 1
    nan = [f for f in findings if f["cause"] == "nan_in_data"]
    assert len(nan) == 1 and nan[0]["severity"] == "error" and nan[0]["evidence"]["nan_count"] == 1
    assert nan[0]["fix"]["params"] == {"action": "drop_nonfinite"}


def test_rules_lists_at_least_20_rules_each_with_four_doc_parts():
    result = run("rules", "--format", "json")
    assert result.exit_code == 0
    listed = json.loads(result.output)
    assert len(listed) >= 20 and [r["code"] for r in listed] == [r.code for r in RULES + PROBE_RULES]
    assert {r["kind"] for r in listed[:len(RULES)]} == {"static"} and {r["kind"] for r in listed[len(RULES):]} == {"probe"}
    for r in listed:
        assert all(r[part].strip() for part in ("summary", "what", "why", "example", "fix")), r["code"]
    text = run("rules")
    assert text.exit_code == 0 and all(r.code in text.output for r in RULES)


@pytest.mark.parametrize("code", [r.code for r in RULES])
def test_rule_prints_its_four_part_doc(code):
    result = run("rule", code.lower())
    assert result.exit_code == 0
    for heading in (f"## {code}", "**What it checks.**", "**Why it matters.**", "**Example.**", "**Fix.**"):
        assert heading in result.output


# ------------------------------------------------------------------ usage, flags, output

def test_unknown_rule_or_selection_is_a_usage_error():
    assert run("rule", "CAE999").exit_code == 2
    result = run("check", "preset:seed_better", "--select", "CAE9")
    assert result.exit_code == 2 and "no rule matches 'CAE9'" in result.output


def test_unreadable_model_or_data_is_an_input_error(tmp_path):
    assert run("check", "preset:nope").exit_code == 2
    assert run("check", "preset:seed_better", "--data", tmp_path / "missing.npz").exit_code == 2
    assert run("check", "preset:seed_better", "--input-shape", "32x32").exit_code == 2


def test_flags_override_the_configuration_and_select_ignore_filter():
    code, findings = run_json("check", "preset:seed_better", "--lr", "0.5")
    assert code == 1 and [f["code"] for f in findings if f["severity"] != "info"] == ["CAE501"]
    code, findings = run_json("check", "preset:seed_better", "--lr", "0.5", "--ignore", "CAE501")
    assert code == 0
    code, findings = run_json("check", "preset:seed_better", "--optimizer", "sgd", "--lr", "1e-7", "--select", "CAE5")
    assert code == 1 and [f["code"] for f in findings] == ["CAE502"]


def test_input_shape_builds_presets_for_it_without_data():
    code, findings = run_json("check", "preset:seed_better", "--input-shape", "64x64x3")
    assert code == 0
    assert any(f["code"] == "CAE307" and f["evidence"]["input_side"] == 64 for f in findings)


def test_text_output_groups_by_severity_one_line_per_finding(tmp_path):
    x = images(300, size=32, channels=3)
    x[0, 0, 0, 0] = np.inf
    data = tmp_path / "inf.npy"
    np.save(data, x)
    result = run("check", "preset:seed_hyper_bad", "--data", data)
    assert result.exit_code == 1
    out = result.output
    assert "1 error, 1 warning, 1 info" in out
    assert out.index("\nerror\n") < out.index("\nwarning\n") < out.index("\ninfo\n")
    lines = [line for line in out.splitlines() if line.startswith("  CAE")]
    assert [line.split()[:2] for line in lines] == [["CAE101", "nan_in_data"], ["CAE501", "learning_rate_too_high"],
                                                   ["CAE302", "bottleneck_bypass"]]
    assert "0 NaN and 1 Inf" in lines[0]


def test_keras_file_for_other_data_is_an_input_shape_error(tmp_path):
    from check_helpers import cae

    path = tmp_path / "cifar_cae.keras"
    cae((32, 32, 3)).save(path)
    data = tmp_path / "grey.npy"
    np.save(data, images(200, size=28))
    code, findings = run_json("check", path, "--data", data)
    assert code == 1
    assert [(f["code"], f["cause"], f["severity"]) for f in findings if f["severity"] == "error"] == [
        ("CAE208", "shape_mismatch", "error")]
    assert findings[0]["evidence"] == {"data_shape": [28, 28, 1], "model_shape": [32, 32, 3], "differs_in": "size"}


def test_keras_file_with_free_sizes_needs_data_or_an_input_shape(tmp_path):
    import keras
    from keras import layers

    path = tmp_path / "free.keras"
    inputs = keras.Input((None, None, 1))
    keras.Model(inputs, layers.Conv2D(1, 3, padding="same", activation="sigmoid")(inputs)).save(path)
    result = run("check", path)
    assert result.exit_code == 2 and "--input-shape" in result.output
    assert run("check", path, "--input-shape", "16x16x1").exit_code == 0
