"""Scoring of diagnosis benchmarks: pure functions over per-case records and a ground truth.

Shared by bench/faults/run.py and any other benchmark that writes the same records (bench/generated). Nothing
here trains, imports TensorFlow or caedoctor, or reads the clock; `tests/bench/test_scoring.py` tests it.

A **record** is one case's result, as appended to a JSON-lines log:

    {"id": "lr_high_adam_p32", "injected": ["learning_rate_too_high"], "healthy": false,
     "expected_verdicts": ["not_converging", ...], "also_acceptable": [], "code": "<hash of the code run>",
     "full": {"verdict": ..., "elapsed_s": ..., "cpu_s": ..., "findings": [{"code", "cause", "severity",
              "status"}, ...]},            # one such block per mode: "full", "quick"
     "repair": {"repaired": bool, "seconds": ..., ...}}    # only with --repair, faulty cases only

A mode that raised inside the process is recorded with `"verdict": "crash"` and no findings. A case whose
*process* died (killed, out of memory, a crash in native code) writes no record; the runner writes a
`{"id", "event": "started", "code", "modes"}` line before each case, and `merge_log` turns a start without
its record into a crash record, so the case counts as a miss instead of dropping out of the counts.

The **ground truth** maps a case id to `{"causes": {cause: {"real": true | false | "static"}}}`: whether the
injected cause measurably hurts (`static`: a cause a convergence probe cannot judge, scored as reported at
any status).

Scores (see `score`): cause recall over injected real causes, precision over held (`confirmed`/`certain`)
causes ("lenient" also accepts a case's `also_acceptable` names), static causes reported, error-level
findings on healthy controls, verdict accuracy, seconds; `score_repair`: the repair rate. Records from
different code are not merged into one figure (`check_code`) unless explicitly allowed.
"""

from __future__ import annotations

import hashlib
import statistics
from pathlib import Path

HELD = ("confirmed", "certain")
DIED = "the process died during this case (killed, out of memory or a native crash) or is still running"


class MixedCodeError(ValueError):
    """Records of one result come from different code (different hashes)."""


# ------------------------------------------------------------------------------------------------ the log

def died_record(started: dict, case_info: dict | None = None) -> dict:
    """The record of a case whose process died after `started` (its "started" log line): every mode it was
    running is a crash, so its injected causes are misses and its verdict is wrong."""
    info = dict(case_info or {})
    rec = {**info, **{k: v for k, v in started.items() if k not in ("event", "modes")}, "died": True}
    rec.setdefault("injected", [])
    rec.setdefault("healthy", False)
    rec.setdefault("expected_verdicts", [])
    crash = {"verdict": "crash", "error": DIED, "elapsed_s": None, "findings": []}
    for mode in started.get("modes") or ["full"]:
        if mode == "repair":
            if not rec["healthy"]:
                rec["repair"] = {"repaired": False, "error": DIED, "seconds": None}
        else:
            rec[mode] = dict(crash)
    return rec


def merge_log(entries, case_info: dict | None = None) -> dict:
    """{case id: record} from the log's entries (dicts, oldest first).

    A later record of a case adds to (and overrides) the earlier one (a `--repair` rerun adds its block); a
    "started" entry not followed by that case's record becomes `died_record(...)`. `case_info` optionally
    maps ids to the static facts of a case (injected, healthy, expected_verdicts, also_acceptable) for
    died records.
    """
    latest: dict = {}
    pending: dict = {}
    for entry in entries:
        case_id = entry["id"]
        if entry.get("event") == "started":
            pending[case_id] = entry
            continue
        pending.pop(case_id, None)
        record = {k: v for k, v in entry.items() if k != "event"}
        latest[case_id] = {**latest.get(case_id, {}), **record}
    for case_id, started in pending.items():
        info = {**((case_info or {}).get(case_id) or {}), **latest.get(case_id, {})}
        latest[case_id] = died_record(started, info)
    return latest


# ------------------------------------------------------------------------------------------------ code

def code_hash(*paths) -> str:
    """sha256 (16 hex digits) over the .py files under `paths` (folders or files): path and content."""
    h = hashlib.sha256()
    for root in (Path(p) for p in paths):
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for f in files:
            h.update(str(f.relative_to(root) if root.is_dir() else f.name).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def code_hashes(records: list) -> dict:
    """{code hash: number of records}, most frequent first; records without one count as "unrecorded"."""
    counts: dict = {}
    for r in records:
        key = r.get("code") or "unrecorded"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def check_code(records: list, allow_mixed: bool = False) -> str:
    """One line naming the code the figures come from; `MixedCodeError` when records of different code would
    be merged into one result and `allow_mixed` is not given."""
    counts = code_hashes(records)
    text = ", ".join(f"{h} ({n} case{'s' if n != 1 else ''})" for h, n in counts.items())
    if len(counts) > 1:
        if not allow_mixed:
            raise MixedCodeError(f"the records come from {len(counts)} versions of the code: {text}; rerun the "
                                 "cases on one version, or pass --allow-mixed to score them together anyway")
        return f"code: MIXED, {text}"
    return f"code: {text}"


# ------------------------------------------------------------------------------------------------ scores

def held_causes(mode: dict) -> list:
    """The causes a diagnosis holds (`confirmed` or `certain`), once each, in the order reported."""
    seen, out = set(), []
    for f in mode.get("findings", []):
        if f["status"] in HELD and f["cause"] not in seen:
            seen.add(f["cause"])
            out.append(f["cause"])
    return out


def is_real(gt: dict, case_id: str, cause: str):
    """The ground truth's verdict on an injected cause: True, False, "static", or None when unknown."""
    return ((gt.get(case_id) or {}).get("causes") or {}).get(cause, {}).get("real")


def score(records: list, gt: dict, mode: str = "full") -> dict:
    """Diagnosis figures of `mode` over `records` (a record without that mode is left out; a crashed or died
    one is in, with no findings)."""
    recall_hits, recall_total, misses = 0, 0, []
    held_total, held_strict, held_lenient, wrong = 0, 0, 0, []
    static_hits, static_total = 0, 0
    false_errors, verdict_ok, verdict_n, wrong_verdicts, crashed = [], 0, 0, [], []
    seconds, cpu = [], []
    for r in records:
        m = r.get(mode)
        if not m:
            continue
        crash = m.get("verdict") == "crash"
        if crash:
            crashed.append(f"{r['id']}: {m.get('error') or 'crash'}")
        held = held_causes(m)
        reported = {f["cause"] for f in m.get("findings", [])}
        for c in r["injected"]:
            real = is_real(gt, r["id"], c)
            if real == "static":
                static_total += 1
                static_hits += c in reported
            elif real is True:
                recall_total += 1
                if c in held:
                    recall_hits += 1
                else:
                    misses.append(f"{r['id']}:{c}" + (" (crashed)" if crash else ""))
        for c in held:
            held_total += 1
            ok = c in r["injected"] and is_real(gt, r["id"], c) in (True, "static")
            held_strict += ok
            lenient = ok or c in set(r.get("also_acceptable") or [])
            held_lenient += lenient
            if not lenient:
                wrong.append(f"{r['id']}:{c}" + ("" if c not in r["injected"] else " (injected, not real)"))
        if r["healthy"]:
            for f in m.get("findings", []):
                if f["severity"] == "error" and f["status"] != "refuted":
                    false_errors.append(f"{r['id']}:{f['code']} {f['cause']}")
        verdict_n += 1
        if m.get("verdict") in r["expected_verdicts"]:
            verdict_ok += 1
        else:
            wrong_verdicts.append(f"{r['id']}: {m.get('verdict')} (expected {'|'.join(r['expected_verdicts'])})")
        if m.get("elapsed_s") is not None:
            seconds.append(m["elapsed_s"])
        if m.get("cpu_s") is not None:
            cpu.append(m["cpu_s"])
    return {
        "cases": verdict_n, "crashed": crashed,
        "recall": recall_hits / recall_total if recall_total else None,
        "recall_hits": recall_hits, "recall_total": recall_total, "missed": misses,
        "precision": held_strict / held_total if held_total else None,
        "precision_lenient": held_lenient / held_total if held_total else None,
        "held": held_total, "held_correct": held_strict, "held_wrong": wrong,
        "static_reported": static_hits, "static_total": static_total,
        "false_errors_on_controls": len(false_errors), "false_errors": false_errors,
        "verdict_accuracy": verdict_ok / verdict_n if verdict_n else None, "verdict_ok": verdict_ok,
        "wrong_verdicts": wrong_verdicts,
        "median_s": statistics.median(seconds) if seconds else None, "max_s": max(seconds) if seconds else None,
        "median_cpu_s": statistics.median(cpu) if cpu else None, "max_cpu_s": max(cpu) if cpu else None,
    }


def score_repair(records: list, gt: dict | None = None) -> dict | None:
    """Repair figures over the faulty cases with at least one real injected cause (a case whose faults are
    all not real, or only static, has nothing to repair and would pass trivially); `all_cases` gives the
    same over every faulty case with a repair block. A died or crashed repair is not repaired."""
    every = [(r["id"], r["repair"], r) for r in records if r.get("repair")]
    if not every:
        return None
    gt = gt or {}
    reps = [(i, p) for i, p, r in every if any(is_real(gt, i, c) is True for c in r["injected"])]
    reps = reps or [(i, p) for i, p, _ in every]
    all_ok = [i for i, p, _ in every if p.get("repaired")]
    ok = [i for i, p in reps if p.get("repaired")]
    secs = [p["seconds"] for _, p in reps if p.get("seconds") is not None]
    ok_data = [i for i, p in reps if p.get("within_seed_better")]
    return {"cases": len(reps), "repaired": len(ok), "repair_rate": len(ok) / len(reps),
            "within_seed_better": len(ok_data), "within_seed_better_rate": len(ok_data) / len(reps),
            "all_cases": {"cases": len(every), "repaired": len(all_ok), "repair_rate": len(all_ok) / len(every)},
            "median_s": statistics.median(secs) if secs else None, "max_s": max(secs) if secs else None,
            "not_repaired": [f"{i}: {p.get('relative_mse')} vs ref {p.get('reference_relative_mse')}"
                             f" (kept {p.get('kept')}) {p.get('error', '')}" for i, p in reps if not p.get("repaired")]}
