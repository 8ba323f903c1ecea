"""`caedoctor.checks.check`: inputs it accepts, rule selection, data-dependent rules, the registry, docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from check_helpers import cae, images, profile

import caedoctor
from caedoctor.checks import RULES, Rule, check, get_rule, select_rules
from caedoctor.checks.docs import render
from caedoctor.config import TrainConfig
from caedoctor.errors import ConfigError
from caedoctor.findings import CAUSES, Finding
from caedoctor.models import load_model

REPO = Path(__file__).resolve().parents[2]


def test_check_is_exported_lazily_from_the_package():
    assert caedoctor.check is check


def test_check_accepts_strings_and_data_objects():
    from caedoctor.data import load_data

    data = load_data(images(40, size=32, channels=3))
    by_string = check("preset:seed_hyper_bad", data)
    assert [f.code for f in by_string if f.severity != "info"] == ["CAE102", "CAE501", "CAE504"]
    assert all(isinstance(f, Finding) for f in by_string)
    assert [f.code for f in check("preset:seed_hyper_bad", data.profile)] == [f.code for f in by_string]


def test_loaded_model_brings_its_config_and_config_overrides_it():
    loaded = load_model("preset:seed_hyper_bad", (32, 32, 3))
    assert "CAE501" in [f.code for f in check(loaded)]
    assert "CAE501" not in [f.code for f in check(loaded, config=TrainConfig(learning_rate=1e-3))]


def test_compiled_keras_model_brings_its_optimizer():
    import keras

    model = cae()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-7), loss="mse")
    assert [f.code for f in check(model, select="CAE5")] == ["CAE502"]


def test_without_data_the_data_rules_are_skipped_and_the_target_is_the_input():
    findings = check("preset:seed_bad")
    assert {f.code for f in findings} == {"CAE302"}  # CAE203 needs the targets' range
    assert all(not get_rule(f.code).needs_data for f in findings)
    assert "CAE203" in {f.code for f in check("preset:seed_bad", profile(images(200, size=32, channels=3)))}


def test_findings_are_sorted_errors_first():
    x = images(200)
    x[0, 0, 0, 0] = float("nan")
    findings = check(cae(out="linear"), profile(x), config=TrainConfig(learning_rate=0.5))
    severities = [f.severity for f in findings]
    assert severities == sorted(severities, key=("error", "warning", "info").index)
    assert severities[0] == "error" and findings[0].code == "CAE101"


def test_select_and_ignore_take_codes_and_prefixes():
    assert [r.code for r in select_rules("CAE50")] == ["CAE501", "CAE502", "CAE503", "CAE504"]
    assert [r.code for r in select_rules(["cae5"], ignore="CAE503,CAE504")] == ["CAE501", "CAE502"]
    assert len(select_rules()) == len(RULES)
    with pytest.raises(ConfigError, match="CAE9"):
        select_rules("CAE9")
    with pytest.raises(ConfigError, match="unknown rule"):
        get_rule("CAE000")


def test_registry_codes_are_unique_sorted_and_use_the_shared_vocabulary():
    codes = [r.code for r in RULES]
    assert len(RULES) >= 20 and codes == sorted(set(codes))
    assert all(r.cause in CAUSES for r in RULES)
    # Every cause the issue lists for static checks has at least one rule.
    static = {"learning_rate_too_high", "learning_rate_too_low", "output_activation_range", "data_not_normalized",
              "target_input_mismatch", "loss_data_mismatch", "shape_mismatch", "nan_in_data", "insufficient_data",
              "bottleneck_too_narrow", "bottleneck_bypass", "capacity_mismatch", "kernel_too_large",
              "receptive_field_too_small", "dead_relu", "vanishing_gradients", "batch_size_too_small",
              "batch_size_too_large", "checkerboard_artifacts"}
    assert static <= {r.cause for r in RULES}


def test_a_rule_with_a_missing_doc_part_or_unknown_cause_is_refused():
    parts = dict(code="CAE999", name="x", cause="nan_in_data", severity="info", summary="s", what="w", why="y",
                 example="e", fix="f", run=lambda ctx: [])
    Rule(**parts)
    with pytest.raises(ValueError, match="why"):
        Rule(**{**parts, "why": " "})
    with pytest.raises(ValueError, match="cause"):
        Rule(**{**parts, "cause": "bad_luck"})
    with pytest.raises(ValueError, match="CAE101"):
        Rule(**{**parts, "code": "E501"})


def test_committed_rules_doc_is_generated_from_the_registry():
    committed = (REPO / "docs" / "rules.md").read_text()
    assert committed == render(), "regenerate: python -m caedoctor.checks.docs > docs/rules.md"
    for r in RULES:
        assert f"## {r.code} `{r.name}`" in committed
