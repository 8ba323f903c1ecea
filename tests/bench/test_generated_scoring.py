"""The generated benchmark's scoring (bench/generated/truth.py, run.py and the parts of bench/scoring.py they
added): Wilson intervals, the expected-verdict rule, ambiguous ground truth left out of recall and precision,
the healthy controls' false-alarm rates, and the runner's guards. Nothing trains; one test starts a child
process that dies on purpose."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "bench" / "generated"
sys.path.insert(0, str(GENERATED))
sys.path.insert(0, str(ROOT / "bench"))

_spec = importlib.util.spec_from_file_location("bench_scoring_g", ROOT / "bench" / "scoring.py")
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)

import run as R  # noqa: E402
import truth as T  # noqa: E402
import generate as G  # noqa: E402


def runs(*values, status="ok"):
    return [{"seed": i, "status": status if v is not None else "error", "relative_mse": v} for i, v in enumerate(values)]


def case(kind="single", injected=("dead_relu",), verdicts=("real",), faulty=(0.3, 0.3, 0.3),
         fixed=(0.1, 0.1, 0.1), joint=None, **extra):
    c = {"id": "dev-001", "kind": kind, "injected": list(injected), "complete": True,
         "faults": [{"cause": i, "also_acceptable": []} for i in injected],
         "causes": {i: {"verdict": v} for i, v in zip(injected, verdicts)},
         "runs": {"faulty": runs(*faulty), "fixed": runs(*fixed)}}
    if joint:
        c["joint"] = {"verdict": joint}
    c.update(extra)
    return c


# ------------------------------------------------------------------------------------------------ wilson

def test_wilson_interval_matches_known_values_and_stays_in_0_1():
    lo, hi = S.wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = S.wilson(0, 36)  # the healthy controls of a split, none with a false alarm
    assert lo == 0.0 and hi == pytest.approx(0.0964, abs=1e-4)
    lo, hi = S.wilson(150, 150)
    assert hi == 1.0 and lo == pytest.approx(0.9750, abs=1e-4)
    assert S.wilson(0, 0) is None
    with pytest.raises(ValueError, match="hits=3, total=2"):
        S.wilson(3, 2)
    assert S.rate(1, 4)["rate"] == 0.25 and S.rate(0, 0)["rate"] is None


# ------------------------------------------------------------------------------------------------ expected verdicts

def test_expected_verdict_rules_in_order():
    healthy = {"kind": "healthy", "trains": True, "runs": {"healthy": runs(0.05, 0.05, 0.05)}}
    assert T.expected_verdicts(healthy)[0] == ("converging",)
    assert T.expected_verdicts({**healthy, "trains": False})[0] is None
    # 2: an exception in every seed
    assert T.expected_verdicts(case(faulty=(None, None, None)))[0] == ("invalid",)
    # 3: NaN data or a shape mismatch that Keras broadcasts: invalid or a problem verdict
    nan = case(injected=("nan_in_data",), faulty=(0.2, 0.2, 0.2))
    assert T.expected_verdicts(nan)[0] == ("invalid",) + T.PROBLEM
    assert set(T.expected_verdicts(case(injected=("shape_mismatch",), verdicts=("not_real",)))[0]) == \
        set(T.ANY_TRAINING) | {"invalid"}
    # 4: no better than the mean image (or non-finite) in every seed
    stuck = case(faulty=(1.02, 1.5, 3.0))
    assert T.expected_verdicts(stuck)[0] == T.BROKEN
    nan_loss = case(faulty=(0.2, 0.2, 0.2))
    nan_loss["runs"]["faulty"] = [{"status": "nan", "relative_mse": None}] * 3
    assert T.expected_verdicts(nan_loss)[0] == T.BROKEN
    assert T.expected_verdicts(case(faulty=(1.02, 0.4, 3.0)))[0] == T.PROBLEM  # one seed trains: rule 5
    # 5: a real fault; 6: ambiguous and none real; 7: nothing real
    assert T.expected_verdicts(case())[0] == T.PROBLEM
    amb = case(injected=("dead_relu", "overfitting"), verdicts=("not_real", "ambiguous"))
    assert T.expected_verdicts(amb)[0] is None
    assert T.expected_verdicts(case(verdicts=("not_real",)))[0] == T.ANY_TRAINING
    assert "invalid" not in T.expected_verdicts(case(verdicts=("static",)))[0]
    # a pair real only together (compound) is a real fault
    compound = case(injected=("data_not_normalized", "loss_choice"), verdicts=("not_real", "not_real"), joint="real")
    assert T.real_fault(compound) and T.expected_verdicts(compound)[0] == T.PROBLEM


def test_truth_maps_verdicts_reference_and_skips_incomplete_cases():
    t = T.truth(case(injected=("dead_relu", "overfitting"), verdicts=("real", "ambiguous"), fixed=(0.1, 0.3, 0.2)))
    assert t["causes"] == {"dead_relu": {"real": True}, "overfitting": {"real": "ambiguous"}}
    assert t["reference_relative_mse"] == pytest.approx(0.2) and t["real_fault"] is True
    assert T.truth({**case(), "complete": False}) is None
    assert T.truths({"cases": [case(), {**case(), "id": "dev-002", "complete": False}]}).keys() == {"dev-001"}
    assert T.repaired(0.124, 0.1) and not T.repaired(0.126, 0.1) and not T.repaired(float("nan"), 0.1)
    assert not T.repaired(0.1, None)


# ------------------------------------------------------------------------------------------------ scoring

def finding(cause, status, severity="warning", code="CAE000"):
    return {"code": code, "cause": cause, "severity": severity, "status": status}


def record(case_id, injected, findings, verdict="slow", expected=("slow",), healthy=False, **extra):
    return {"id": case_id, "injected": list(injected), "healthy": healthy,
            "expected_verdicts": None if expected is None else list(expected), "also_acceptable": [],
            "code": "aaaa", "full": {"verdict": verdict, "elapsed_s": 1.0, "findings": findings}, **extra}


def test_ambiguous_ground_truth_is_left_out_of_recall_and_precision_and_counted():
    gt = {"a": {"causes": {"dead_relu": {"real": True}, "overfitting": {"real": "ambiguous"}}}}
    recs = [record("a", ["dead_relu", "overfitting"], [finding("dead_relu", "confirmed"),
                                                        finding("overfitting", "confirmed")])]
    s = S.score(recs, gt)
    assert (s["recall_hits"], s["recall_total"], s["held_correct"], s["held"]) == (1, 1, 1, 1)
    assert s["excluded"] == ["a:overfitting (ambiguous)"] and s["precision"] == 1.0
    # Missing an ambiguous cause is no miss either.
    s = S.score([record("a", ["dead_relu", "overfitting"], [finding("dead_relu", "confirmed")])], gt)
    assert s["missed"] == [] and s["recall"] == 1.0
    rows = S.per_cause(recs, gt, causes=("dead_relu", "overfitting", "loss_choice"))
    assert rows["overfitting"]["excluded"] == 1 and rows["overfitting"]["held"] == 0
    assert rows["dead_relu"]["recall"] == 1.0 and rows["loss_choice"]["injected"] == 0


def test_false_alarm_rates_count_controls_with_unrefuted_errors_and_confirmed_warnings():
    recs = [record("c1", [], [finding("nan_in_data", "certain", "error")], "converging", ("converging",), True),
            record("c2", [], [finding("shape_mismatch", "refuted", "error"), finding("dead_relu", "suspected")],
                   "converging", ("converging",), True),
            record("c3", [], [finding("dead_relu", "confirmed"), finding("kernel_too_large", "confirmed", "info")],
                   "slow", ("converging",), True),
            record("c4", [], [finding("dead_relu", "confirmed")], "slow", None, True, control_trains=False)]
    s = S.score(recs, {})
    assert (s["false_error_rate"]["hits"], s["false_error_rate"]["total"]) == (1, 3)
    assert (s["confirmed_warning_rate"]["hits"], s["confirmed_warning_rate"]["total"]) == (1, 3)
    assert s["false_errors"] == ["c1:CAE000 nan_in_data"] and len(s["confirmed_on_controls"]) == 2
    assert s["controls_excluded"] == ["c4"]
    assert s["verdict_scored"] == 3 and s["verdict_ok"] == 2 and len(s["verdict_excluded"]) == 1
    assert s["false_error_rate"]["ci95"] == S.wilson(1, 3)


def test_a_record_of_new_code_replaces_the_old_one_instead_of_merging_blocks():
    old = {"id": "a", "code": "1111", "full": {"verdict": "slow"}, "repair": {"repaired": True}}
    new = {"id": "a", "code": "2222", "full": {"verdict": "converging"}}
    assert "repair" not in S.merge_log([old, new])["a"]
    same = {"id": "a", "code": "1111", "quick": {"verdict": "slow"}}
    assert set(S.merge_log([old, same])["a"]) >= {"full", "quick", "repair"}


def test_repair_rate_counts_cases_real_only_together_and_has_an_interval():
    gt = {"a": {"causes": {"x": {"real": False}}, "real_fault": True}, "b": {"causes": {"x": {"real": False}}}}
    recs = [record("a", ["x"], [], repair={"repaired": True, "seconds": 3.0}),
            record("b", ["x"], [], repair={"repaired": False, "seconds": 3.0})]
    rep = S.score_repair(recs, gt)
    assert (rep["repaired"], rep["cases"]) == (1, 1) and rep["repair_ci95"] == S.wilson(1, 1)


def test_repair_rate_is_none_when_no_case_has_a_real_fault_not_every_cases_rate():
    gt = {"b": {"causes": {"x": {"real": False}}}}
    rep = S.score_repair([record("b", ["x"], [], repair={"repaired": True, "seconds": 3.0})], gt)
    assert rep["cases"] == 0 and rep["repair_rate"] is None and rep["repair_ci95"] is None
    assert rep["all_cases"] == {"cases": 1, "repaired": 1, "repair_rate": 1.0}
    assert S.score_repair([record("b", ["x"], [], repair={"repaired": True, "seconds": 3.0})])["cases"] == 1


def test_a_later_repair_pass_runs_only_the_missing_modes_and_keeps_the_recorded_diagnosis():
    diagnosed = {"id": "a", "code": "c1", "healthy": False, "full": {"verdict": "slow"}}
    assert R._missing(diagnosed, "c1", ["full", "repair"], False) == ["repair"]
    assert R._missing({**diagnosed, "healthy": True}, "c1", ["full", "repair"], False) == []
    assert R._missing(diagnosed, "c2", ["full", "repair"], False) == ["full", "repair"]  # other code: all
    assert R._missing(None, "c1", ["full"], False) == ["full"]
    assert R._missing({**diagnosed, "died": True}, "c1", ["full"], False) == []
    died_full = S.died_record({"id": "a", "code": "c1", "modes": ["full"]})
    assert R._missing(died_full, "c1", ["full"], True) == ["full"]
    died_repair = S.merge_log([diagnosed, {"id": "a", "event": "started", "code": "c1", "modes": ["repair"]}])["a"]
    assert died_repair["full"] == {"verdict": "slow"} and R._missing(died_repair, "c1", ["full", "repair"], True) == ["repair"]
    retried = S.merge_log([diagnosed, {"id": "a", "event": "started", "code": "c1", "modes": ["repair"]},
                           {"id": "a", "code": "c1", "repair": {"relative_mse": 0.2}}])["a"]
    assert retried["full"] == {"verdict": "slow"} and retried["repair"] == {"relative_mse": 0.2} and "died" not in retried
    merged = S.merge_log([diagnosed, {"id": "a", "code": "c1", "repair": {"relative_mse": 0.1}}])["a"]
    assert merged["full"] == {"verdict": "slow"} and merged["repair"] == {"relative_mse": 0.1}


def test_attach_truth_scores_repair_against_the_fixed_reference():
    t = T.truth(case(fixed=(0.1, 0.12, 0.2)))
    rec = record("dev-001", ["dead_relu"], [], repair={"relative_mse": 0.149})
    scored, missing = R.attach_truth([rec, record("dev-009", [], [])], {"dev-001": t})
    assert missing == ["dev-009"] and scored[0]["repair"]["reference_relative_mse"] == pytest.approx(0.12)
    assert scored[0]["repair"]["repaired"] is True and scored[0]["expected_verdicts"] == list(T.PROBLEM)


def test_markdown_tables_quote_the_scored_figures_and_one_row_per_cause():
    truths = {"a": {"causes": {"dead_relu": {"real": True}}, "real_fault": True},
              "b": {"causes": {"bottleneck_bypass": {"real": "static"}}, "real_fault": False},
              "c": {"causes": {}, "real_fault": False}}
    recs = [record("a", ["dead_relu"], [finding("dead_relu", "confirmed")],
                   repair={"repaired": False, "seconds": 9.0, "relative_mse": 0.5}),
            record("b", ["bottleneck_bypass"], [finding("bottleneck_bypass", "suspected", "info")], "converging",
                   ("converging",)),
            record("c", [], [finding("dead_relu", "confirmed")], "converging", ("converging",), True)]
    doc = R.report(recs, truths, {})
    md = R.markdown_tables(doc).splitlines()
    assert f"| cause recall | 100.0% [{100 * S.wilson(1, 1)[0]:.1f}-100.0%] (1/1) | >= 95% |" in md
    assert any(line.startswith("| cause precision | 50.0% [") and "(1/2)" in line for line in md)
    assert any(line.startswith("| healthy controls: warning/info confirmed | 1/1 (100.0%) [") for line in md)
    assert any(line.startswith("| repair rate") and "0.0% [" in line and "(0/1)" in line for line in md)
    assert "| dead_relu | 1 | 1 | 0 | 0 | 1/1 | 2 | 1 |" in md  # held twice: rightly in a, wrongly on control c
    assert "| bottleneck_bypass (static) | 1 | - | - | - | 1/1 reported (any status) | | |" in md
    assert not any(line.startswith("| overfitting") for line in md)  # neither injected nor held: no row


# ------------------------------------------------------------------------------------------------ the runner

def test_runner_refuses_the_test_split_without_report_figures_and_bad_selections():
    for split in (s for s in G.SPLITS if G.is_test(s)):
        result = subprocess.run([sys.executable, str(GENERATED / "run.py"), "--split", split, "--report-only"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "--report-figures" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(R.UsageError, match="not a case of the dev split"):
        R.parse_cases("test-003", "dev")
    assert R.parse_cases("0-2,dev-007,1", "dev") == [0, 1, 2, 7]
    assert R.select("dev", "0-9", "1/3", limit=2) == [1, 4]
    with pytest.raises(R.UsageError, match="0 <= i < n"):
        R.parse_shard("2/2")


def test_a_case_whose_process_dies_is_recorded_as_died_and_the_run_goes_on(tmp_path):
    folder = tmp_path / "dev-000"
    folder.mkdir()
    (folder / "case.py").write_text("import os\n\ndef build_model(input_shape):\n    os._exit(3)\n")
    np.savez(folder / "data.npz", x=np.zeros((8, 8, 8, 1), np.float32))
    (folder / "case.json").write_text(json.dumps({
        "id": "dev-000", "split": "dev", "index": 0, "kind": "single", "injected": ["dead_relu"],
        "faults": [{"cause": "dead_relu", "severity": "mild", "also_acceptable": ["saturated_activation"]}],
        "batch_size": 4, "data": "zeros"}))
    rec = R.run_case(folder, ["full"], timeout=120, code="cccc")
    assert rec["died"] is True and rec["full"]["verdict"] == "crash" and "child exit 3" in rec["died_detail"]
    assert rec["injected"] == ["dead_relu"] and rec["also_acceptable"] == ["saturated_activation"]
    s = S.score([{**rec, "expected_verdicts": list(T.PROBLEM)}], {"dev-000": {"causes": {"dead_relu": {"real": True}}}})
    assert s["missed"] == ["dev-000:dead_relu (crashed)"] and s["verdict_ok"] == 0
