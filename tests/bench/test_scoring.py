"""bench/scoring.py: the benchmark's figures from records and a ground truth (nothing is trained here)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_scoring", ROOT / "bench" / "scoring.py")
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)

GT = {"lr": {"causes": {"learning_rate_too_high": {"real": True}}},
      "two": {"causes": {"dead_relu": {"real": True}, "learning_rate_too_low": {"real": True}}},
      "raw": {"causes": {"data_not_normalized": {"real": False}}},
      "skip": {"causes": {"bottleneck_bypass": {"real": "static"}}},
      "few": {"causes": {"insufficient_data": {"real": True}}}}


def finding(cause, status, severity="warning", code="CAE000"):
    return {"code": code, "cause": cause, "severity": severity, "status": status}


def record(case_id, injected, findings, verdict="slow", expected=("slow",), healthy=False, code="aaaa",
           also=(), **extra):
    return {"id": case_id, "injected": list(injected), "healthy": healthy, "expected_verdicts": list(expected),
            "also_acceptable": list(also), "code": code,
            "full": {"verdict": verdict, "elapsed_s": 10.0, "findings": findings}, **extra}


def test_a_hit_counts_for_recall_and_precision():
    s = S.score([record("lr", ["learning_rate_too_high"], [finding("learning_rate_too_high", "confirmed")])], GT)
    assert (s["recall_hits"], s["recall_total"], s["held_correct"], s["held"]) == (1, 1, 1, 1)
    assert s["recall"] == s["precision"] == s["verdict_accuracy"] == 1.0
    assert s["missed"] == [] and s["held_wrong"] == []


def test_a_miss_a_suspected_or_refuted_cause_is_not_held():
    recs = [record("two", ["dead_relu", "learning_rate_too_low"],
                   [finding("dead_relu", "confirmed"), finding("learning_rate_too_low", "suspected")]),
            record("lr", ["learning_rate_too_high"], [finding("learning_rate_too_high", "refuted")])]
    s = S.score(recs, GT)
    assert (s["recall_hits"], s["recall_total"]) == (1, 3)
    assert s["missed"] == ["two:learning_rate_too_low", "lr:learning_rate_too_high"]
    assert (s["held_correct"], s["held"]) == (1, 1)  # refuted and suspected causes are not held


def test_a_refuted_not_real_cause_is_right_and_confirming_it_costs_precision():
    refuted = record("raw", ["data_not_normalized"], [finding("data_not_normalized", "refuted")],
                     verdict="converging", expected=("converging",))
    s = S.score([refuted], GT)
    assert s["recall_total"] == 0 and s["held"] == 0 and s["verdict_accuracy"] == 1.0
    confirmed = dict(refuted, full={**refuted["full"], "findings": [finding("data_not_normalized", "confirmed")]})
    s = S.score([confirmed], GT)
    assert (s["held_correct"], s["held"]) == (0, 1)
    assert s["held_wrong"] == ["raw:data_not_normalized (injected, not real)"]


def test_also_acceptable_counts_only_for_lenient_precision():
    rec = record("few", ["insufficient_data"], [finding("insufficient_data", "confirmed"),
                                                finding("overfitting", "confirmed")], also=["overfitting"])
    s = S.score([rec], GT)
    assert s["precision"] == 0.5 and s["precision_lenient"] == 1.0
    s = S.score([dict(rec, also_acceptable=[])], GT)
    assert s["precision_lenient"] == 0.5 and s["held_wrong"] == ["few:overfitting"]


def test_static_causes_count_at_any_status_and_error_findings_on_controls_are_false_errors():
    recs = [record("skip", ["bottleneck_bypass"], [finding("bottleneck_bypass", "suspected", "info")],
                   verdict="converging", expected=("converging",)),
            record("ctrl", [], [finding("nan_in_data", "certain", "error"), finding("shape_mismatch", "refuted", "error")],
                   verdict="converging", expected=("converging",), healthy=True)]
    s = S.score(recs, GT)
    assert (s["static_reported"], s["static_total"], s["recall_total"]) == (1, 1, 0)
    assert s["false_errors"] == ["ctrl:CAE000 nan_in_data"]


def test_a_case_whose_process_died_is_scored_as_a_miss_not_dropped():
    info = {"lr": {"id": "lr", "injected": ["learning_rate_too_high"], "healthy": False,
                   "expected_verdicts": ["slow"], "also_acceptable": []}}
    hit = record("two", ["dead_relu", "learning_rate_too_low"],
                 [finding("dead_relu", "confirmed"), finding("learning_rate_too_low", "confirmed")])
    log = [{"id": "two", "event": "started", "code": "aaaa", "modes": ["full"]}, hit,
           {"id": "lr", "event": "started", "code": "aaaa", "modes": ["full", "repair"]}]  # killed here
    merged = S.merge_log(log, info)
    assert merged["two"] == hit and merged["lr"]["died"] is True
    s = S.score(list(merged.values()), GT)
    assert s["cases"] == 2 and (s["recall_hits"], s["recall_total"]) == (2, 3)
    assert s["missed"] == ["lr:learning_rate_too_high (crashed)"] and len(s["crashed"]) == 1
    assert s["verdict_accuracy"] == 0.5 and s["median_s"] == 10.0  # no time for a case that never finished
    rep = S.score_repair(list(merged.values()), GT)
    assert (rep["repaired"], rep["cases"]) == (0, 1)
    # A later record of the same case (a rerun that finished) replaces the died one.
    again = record("lr", ["learning_rate_too_high"], [finding("learning_rate_too_high", "confirmed")])
    assert "died" not in S.merge_log(log + [again], info)["lr"]


def test_a_crash_inside_the_process_is_a_miss_and_a_wrong_verdict():
    crash = record("lr", ["learning_rate_too_high"], [], verdict="crash")
    crash["full"]["error"] = "RuntimeError: boom"
    s = S.score([crash], GT)
    assert (s["recall_hits"], s["recall_total"], s["verdict_ok"]) == (0, 1, 0)
    assert s["crashed"] == ["lr: RuntimeError: boom"]


def test_records_of_different_code_are_refused_unless_allowed():
    a = record("lr", ["learning_rate_too_high"], [], code="1111")
    b = record("two", ["dead_relu"], [], code="2222")
    assert S.check_code([a, dict(b, code="1111")]) == "code: 1111 (2 cases)"
    with pytest.raises(S.MixedCodeError, match="2 versions of the code: 1111 \\(1 case\\), 2222 \\(1 case\\)"):
        S.check_code([a, b])
    assert S.check_code([a, b], allow_mixed=True) == "code: MIXED, 1111 (1 case), 2222 (1 case)"
    assert S.code_hashes([a, {**b, "code": None}]) == {"1111": 1, "unrecorded": 1}


def test_code_hash_changes_with_the_code(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("x = 1\n")
    first = S.code_hash(tmp_path / "pkg")
    assert S.code_hash(tmp_path / "pkg") == first and len(first) == 16
    (tmp_path / "pkg" / "m.py").write_text("x = 2\n")
    assert S.code_hash(tmp_path / "pkg") != first


def test_run_py_refuses_to_merge_records_of_different_code(tmp_path):
    ids = ["lr_high_adam_p32", "lr_low_sgd_p32"]
    log = tmp_path / "cases.jsonl"
    log.write_text("".join(json.dumps(record(i, [], [], code=c)) + "\n" for i, c in zip(ids, ("1111", "2222"))))
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "faults" / "run.py"), "--report-only",
                             "--log", str(log), "--out", str(tmp_path / "r.json"), "--cases", ",".join(ids)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "1111 (1 case), 2222 (1 case)" in result.stderr and "--allow-mixed" in result.stderr
    assert not (tmp_path / "r.json").exists()
