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

A cause whose ground truth is `"ambiguous"` or `"invalid"` (EXCLUDED: the fix helped in some seeds and
not in others, or the fixed program itself failed) is left out of recall and precision, and counted
(`excluded`). A record whose `expected_verdicts` is None has no verdict to score (its ground truth does not
say which verdict is right); it is left out of verdict accuracy and counted (`verdict_excluded`). A healthy
control with `"control_trains": false` (its ground truth does not train) is no control: it is left out of
the false-alarm figures and counted.

Scores (see `score`): cause recall over injected real causes, precision over held (`confirmed`/`certain`)
causes ("lenient" also accepts a case's `also_acceptable` names), static causes reported, error-level
findings on healthy controls and the false-alarm rates of the controls (a control with an error finding not
refuted; a control with a warning or info finding confirmed), verdict accuracy, seconds; `score_repair`: the
repair rate; `per_cause`: the same per injected cause; `wilson`: the 95% interval of a proportion, printed
beside each rate. Records from different code are not merged into one figure (`check_code`) unless
explicitly allowed.

`diagnosis_record(d)` turns a `caedoctor` Diagnosis into the mode block above (it reads attributes only;
nothing is imported).
"""

from __future__ import annotations

import hashlib
import math
import statistics
from pathlib import Path

HELD = ("confirmed", "certain")
# Ground-truth values of a cause that neither count for nor against the diagnosis (see the module doc).
EXCLUDED = ("ambiguous", "invalid")
DIED = "the process died during this case (killed, out of memory or a native crash) or is still running"


class MixedCodeError(ValueError):
    """Records of one result come from different code (different hashes)."""


# ------------------------------------------------------------------------------------------------ intervals

def wilson(hits: int, total: int, z: float = 1.96) -> tuple | None:
    """The Wilson score interval (95% for z = 1.96) of the proportion hits/total; None when total is 0.

    Unlike the normal approximation it stays inside [0, 1] and is not empty at 0/n or n/n (0/36 gives
    [0, 0.096]), which is where a benchmark's most important rates (false alarms, recall) sit."""
    if total <= 0:
        return None
    if not 0 <= hits <= total:
        raise ValueError(f"need 0 <= hits <= total, got hits={hits}, total={total}")
    p = hits / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(hits: int, total: int) -> dict:
    """{"hits", "total", "rate", "ci95"}: a proportion with its Wilson interval (rate None when total is 0)."""
    return {"hits": hits, "total": total, "rate": hits / total if total else None, "ci95": wilson(hits, total)}


# ------------------------------------------------------------------------------------------------ records

def finding_record(f) -> dict:
    """One caedoctor Finding as a record's finding (attributes only)."""
    return {"code": f.code, "cause": f.cause, "severity": f.severity, "status": f.status,
            "effect": f.effect.to_dict() if f.effect else None,
            "not_tested": (f.evidence or {}).get("not_tested"),
            "fix": f.fix.to_dict() if f.fix else None}


def diagnosis_record(d) -> dict:
    """One caedoctor Diagnosis as a record's mode block (without `cpu_s`, which the runner measures)."""
    return {"verdict": d.verdict, "elapsed_s": round(d.elapsed_s, 2), "exit_code": d.exit_code,
            "findings": [finding_record(f) for f in d.findings],
            "probe_relative_mse": (d.probe or {}).get("relative_loss"),
            "probe_seconds": (d.probe or {}).get("seconds"),
            "lr_suggestion": (d.lr_find or {}).get("suggestion"),
            "symptoms": [s["name"] for s in d.symptoms if s.get("present")],
            "noise": d.noise, "timings": d.timings, "plan": d.plan,
            "partial": getattr(d, "partial", False), "partial_reason": getattr(d, "partial_reason", None),
            "horizon": getattr(d, "horizon", None),
            "counterfactuals": [counterfactual_record(c) for c in d.counterfactuals]}


def counterfactual_record(c: dict) -> dict:
    """One counterfactual of `Diagnosis.counterfactuals`: its status, the step it was decided at (None: at
    the last step), its gain and margin, and what the early rule would have decided (bench/sequential.py)."""
    return {"finding": c["finding"], "kind": c["fix"]["kind"], "on_top_of": c.get("on_top_of"),
            "status": c["comparison"]["status"], "decided_at": c["comparison"].get("decided_at"),
            "log_gain": c["comparison"]["log_gain"], "margin": c["comparison"]["margin"],
            "steps": c["probe"]["steps"], "steps_run": c["probe"]["steps_run"], "early_rule": c.get("early_rule"),
            "at_horizon": {k: (c.get("at_horizon") or {}).get(k) for k in ("horizon", "log_gain", "width", "separates")}
            if c.get("at_horizon") else None,
            # a pair trained on towards the horizon (caedoctor.diagnosis.extend): its judgement at each length
            "followed": c.get("followed")}


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

    A later record of a case adds to (and overrides) the earlier one when both come from the same code (a
    `--repair` rerun adds its block; after a died one, only the blocks the died process did not run stay),
    and replaces it when the code differs (so no record mixes the blocks of two versions under one hash); a
    "started" entry not followed by that case's record becomes
    `died_record(...)`. `case_info` optionally
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
        earlier = latest.get(case_id, {})
        if earlier.get("died"):  # what the died process was running goes; what an earlier one recorded stays
            earlier = {k: v for k, v in earlier.items()
                       if k not in ("died", "died_detail") and not (isinstance(v, dict) and v.get("error") == DIED)}
        same_code = earlier.get("code") == record.get("code")
        latest[case_id] = {**earlier, **record} if same_code else record
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


def _false_alarms(r: dict, m: dict) -> tuple[list, list]:
    """(error findings not refuted, warning/info findings confirmed) of a healthy control's mode block."""
    errors = [f"{r['id']}:{f['code']} {f['cause']}" for f in m.get("findings", [])
              if f["severity"] == "error" and f["status"] != "refuted"]
    confirmed = [f"{r['id']}:{f['code']} {f['cause']}" for f in m.get("findings", [])
                 if f["severity"] != "error" and f["status"] == "confirmed"]
    return errors, confirmed


def score(records: list, gt: dict, mode: str = "full") -> dict:
    """Diagnosis figures of `mode` over `records` (a record without that mode is left out; a crashed or died
    one is in, with no findings)."""
    recall_hits, recall_total, misses = 0, 0, []
    held_total, held_strict, held_lenient, wrong = 0, 0, 0, []
    static_hits, static_total = 0, 0
    excluded, verdict_excluded = [], []
    false_errors, verdict_ok, verdict_n, wrong_verdicts, crashed = [], 0, 0, [], []
    controls, controls_error, controls_warning, controls_excluded, confirmed_on_controls = 0, [], [], [], []
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
            elif real in EXCLUDED:
                excluded.append(f"{r['id']}:{c} ({real})")
            elif real is True:
                recall_total += 1
                if c in held:
                    recall_hits += 1
                else:
                    misses.append(f"{r['id']}:{c}" + (" (crashed)" if crash else ""))
        for c in held:
            if c in r["injected"] and is_real(gt, r["id"], c) in EXCLUDED:
                continue  # neither right nor wrong: the ground truth cannot say
            held_total += 1
            ok = c in r["injected"] and is_real(gt, r["id"], c) in (True, "static")
            held_strict += ok
            lenient = ok or c in set(r.get("also_acceptable") or [])
            held_lenient += lenient
            if not lenient:
                wrong.append(f"{r['id']}:{c}" + ("" if c not in r["injected"] else " (injected, not real)"))
        if r["healthy"]:
            errors, confirmed = _false_alarms(r, m)
            if r.get("control_trains", True):
                false_errors.extend(errors)
                confirmed_on_controls.extend(confirmed)
                controls += 1
                if errors:
                    controls_error.append(r["id"])
                if confirmed:
                    controls_warning.append(r["id"])
            else:
                controls_excluded.append(r["id"])
        expected = r.get("expected_verdicts")
        if expected is None:
            verdict_excluded.append(f"{r['id']}: {m.get('verdict')} ({r.get('expected_why') or 'no expected verdict'})")
        else:
            verdict_n += 1
            if m.get("verdict") in expected:
                verdict_ok += 1
            else:
                wrong_verdicts.append(f"{r['id']}: {m.get('verdict')} (expected {'|'.join(expected)})")
        if m.get("elapsed_s") is not None:
            seconds.append(m["elapsed_s"])
        if m.get("cpu_s") is not None:
            cpu.append(m["cpu_s"])
    return {
        "cases": len([r for r in records if r.get(mode)]), "crashed": crashed,
        "recall": recall_hits / recall_total if recall_total else None,
        "recall_hits": recall_hits, "recall_total": recall_total, "missed": misses,
        "recall_ci95": wilson(recall_hits, recall_total),
        "precision": held_strict / held_total if held_total else None,
        "precision_lenient": held_lenient / held_total if held_total else None,
        "precision_ci95": wilson(held_strict, held_total),
        "precision_lenient_ci95": wilson(held_lenient, held_total),
        "held": held_total, "held_correct": held_strict, "held_lenient": held_lenient, "held_wrong": wrong,
        "excluded": excluded,
        "static_reported": static_hits, "static_total": static_total,
        "false_errors_on_controls": len(false_errors), "false_errors": false_errors,
        "confirmed_on_controls": confirmed_on_controls,
        "controls": controls, "controls_excluded": controls_excluded,
        "false_error_rate": rate(len(controls_error), controls),
        "confirmed_warning_rate": rate(len(controls_warning), controls),
        "verdict_accuracy": verdict_ok / verdict_n if verdict_n else None, "verdict_ok": verdict_ok,
        "verdict_scored": verdict_n, "verdict_ci95": wilson(verdict_ok, verdict_n),
        "verdict_excluded": verdict_excluded, "wrong_verdicts": wrong_verdicts,
        "median_s": statistics.median(seconds) if seconds else None, "max_s": max(seconds) if seconds else None,
        "median_cpu_s": statistics.median(cpu) if cpu else None, "max_cpu_s": max(cpu) if cpu else None,
    }


def per_cause(records: list, gt: dict, mode: str = "full", causes=None) -> dict:
    """{cause: counts} over `records`: how often it was injected and what the ground truth says of it
    (real, not_real, static, excluded), recall (held when real), how often a static cause was reported (any
    status) and, over every case, how often the diagnosis held it and how often rightly (injected and real or
    static; `lenient` adds also_acceptable)."""
    out: dict = {}

    def row(c):
        return out.setdefault(c, {"injected": 0, "real": 0, "not_real": 0, "static": 0, "excluded": 0,
                                  "static_reported": 0, "recall_hits": 0, "refuted_when_real": 0, "held": 0,
                                  "held_correct": 0, "held_lenient": 0})

    for c in causes or ():
        row(c)
    for r in records:
        m = r.get(mode)
        if not m:
            continue
        held = held_causes(m)
        refuted = {f["cause"] for f in m.get("findings", []) if f["status"] == "refuted"}
        reported = {f["cause"] for f in m.get("findings", [])}
        for c in r["injected"]:
            e, real = row(c), is_real(gt, r["id"], c)
            e["injected"] += 1
            if real is True:
                e["real"] += 1
                e["recall_hits"] += c in held
                e["refuted_when_real"] += c in refuted
            elif real is False:
                e["not_real"] += 1
            elif real == "static":
                e["static"] += 1
                e["static_reported"] += c in reported  # a static cause counts when reported, any status
            else:
                e["excluded"] += 1
        for c in held:
            real = is_real(gt, r["id"], c) if c in r["injected"] else None
            if real in EXCLUDED:
                continue
            e = row(c)
            e["held"] += 1
            ok = c in r["injected"] and real in (True, "static")
            e["held_correct"] += ok
            e["held_lenient"] += ok or c in set(r.get("also_acceptable") or [])
    for e in out.values():
        e["recall"] = e["recall_hits"] / e["real"] if e["real"] else None
        e["recall_ci95"] = wilson(e["recall_hits"], e["real"])
        e["precision"] = e["held_correct"] / e["held"] if e["held"] else None
        e["precision_lenient"] = e["held_lenient"] / e["held"] if e["held"] else None
    return out


def has_real_fault(gt: dict, case_id: str, injected) -> bool:
    """Whether a case has something to repair: its ground truth's `real_fault` when given (a pair of faults
    that is real only together counts), else any injected cause that is real."""
    entry = gt.get(case_id) or {}
    if "real_fault" in entry:
        return bool(entry["real_fault"])
    return any(is_real(gt, case_id, c) is True for c in injected)


def score_repair(records: list, gt: dict | None = None) -> dict | None:
    """Repair figures over the faulty cases with a real fault (`has_real_fault`: a case whose faults are all
    not real, or only static, has nothing to repair and would pass trivially; with no ground truth given,
    every faulty case); `all_cases` gives the same over every faulty case with a repair block. A died or
    crashed repair is not repaired. With no real fault among the cases the rate is None, not every case's."""
    every = [(r["id"], r["repair"], r) for r in records if r.get("repair")]
    if not every:
        return None
    reps = [(i, p) for i, p, r in every if not gt or has_real_fault(gt, i, r["injected"])]
    all_ok = [i for i, p, _ in every if p.get("repaired")]
    ok = [i for i, p in reps if p.get("repaired")]
    secs = [p["seconds"] for _, p in reps if p.get("seconds") is not None]
    ok_data = [i for i, p in reps if p.get("within_seed_better")]
    return {"cases": len(reps), "repaired": len(ok), "repair_rate": len(ok) / len(reps) if reps else None,
            "repair_ci95": wilson(len(ok), len(reps)),
            "within_seed_better": len(ok_data), "within_seed_better_rate": len(ok_data) / len(reps) if reps else None,
            "all_cases": {"cases": len(every), "repaired": len(all_ok), "repair_rate": len(all_ok) / len(every)},
            "median_s": statistics.median(secs) if secs else None, "max_s": max(secs) if secs else None,
            "not_repaired": [f"{i}: {p.get('relative_mse')} vs ref {p.get('reference_relative_mse')}"
                             f" (kept {p.get('kept')}) {p.get('error', '')}" for i, p in reps if not p.get("repaired")]}
