"""Score caedoctor on the generated fault benchmark: diagnose (and optionally repair) each case as a user
would, one subprocess per case, and score it against the plain-Keras ground truth.

    .venv/bin/python bench/generated/run.py --split dev --cases 0-4          # diagnose dev-000 .. dev-004
    .venv/bin/python bench/generated/run.py --split dev --quick --repair     # ... also quick mode and repair
    .venv/bin/python bench/generated/run.py --split dev --shard 0/2 & \\
        .venv/bin/python bench/generated/run.py --split dev --shard 1/2      # two processes; then:
    .venv/bin/python bench/generated/run.py --split dev --report-only        # score what the log holds
    .venv/bin/python bench/generated/run.py --split dev --report-only --markdown  # ... and print the README's tables
    .venv/bin/python bench/generated/run.py --split test --report-figures    # the test split: figures only

**The test split is scored only to report figures**, never to choose a threshold or a rule (README.md,
"Splits and seeds"): `--split test` is refused unless `--report-figures` is given, and its output says so.
A threshold or rule changed after a test-split run needs a fresh test split before the next figure.

Each case runs as a user runs caedoctor on their own program, in a child process of its own:

    caedoctor.diagnose("<case>/case.py:build_model", "<case>/data.npz", config_overrides={"batch_size": B},
                       seed=0)

where B is the case's `BATCH_SIZE`; `--quick` adds `quick=True`, `--repair` adds `caedoctor.repair(...,
diagnosis=d, epochs=E)` on every faulty case, with E the ground truth's budget in epochs (GT_STEPS x the
base's batch size in samples, over the case's training images). A crash inside caedoctor is recorded as the
mode's `crash`; a child that dies (killed, out of memory, a native crash, past `--case-timeout`) kills
nothing else: its case is recorded as died, a miss for every injected cause and a wrong verdict.

Cases are materialised on demand (generate.materialize, from the recorded sweep: a case the ground truth
has not reached has no sweep yet and is skipped with a message). Before each case a "started" line goes to
runs/generated-bench/<split>/cases.jsonl, and its record when it ends (append-only; a rerun skips cases
recorded by the same code with the same modes, so a stopped run resumes, and runs only the modes a record of
the same code lacks: a later `--repair` pass adds repairs and keeps the recorded diagnoses; `--rerun` runs
them all again).
Every record holds a hash of the code that ran it (caedoctor's .py files and the generator's), and records
of different code are not scored together unless `--allow-mixed` is given.

Scores (bench/scoring.py; the ground truth's scoring view and the expected-verdict rule are truth.py):
cause recall and precision (lenient: also_acceptable too), each excluding causes whose ground truth is
ambiguous (counted and listed); the healthy controls' false-alarm rates (an error finding not refuted; a
warning or info finding confirmed); verdict accuracy against truth.expected_verdicts; the repair rate (a
case with a real fault repaired when the repaired model's validation relative MSE is within 1.25x of the
median of its fixed variant's ground-truth runs); each with a Wilson 95% interval; and a per-cause table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (str(HERE), str(HERE.parent)):  # the generator; bench/scoring.py
    if p not in sys.path:
        sys.path.insert(0, p)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import generate as G  # noqa: E402
import operators as ops  # noqa: E402
import scoring as S  # noqa: E402
import truth as T  # noqa: E402

OUT = G.ROOT / "runs" / "generated-bench"
VERDICTS = HERE / "ground_truth"  # verdicts_<split>.json, written by ground_truth.py --aggregate
GENERATOR_FILES = ("generate.py", "space.py", "operators.py", "emit.py", "sources.py")
TARGETS = {"recall": 0.95, "precision": 0.95, "false_error_rate": 0.0, "confirmed_warning_rate": 0.02,
           "repair_rate": 0.95}
TEST_NOTICE = ("TEST SPLIT: these figures are for reporting only. Do not choose or change a threshold or a rule "
               "because of them; after any such change, the next reported figure needs a fresh test split "
               "(a new seed in generate.SPLITS).")


class UsageError(Exception):
    """A command line the runner refuses (exit 2, one line)."""


# ------------------------------------------------------------------------------------------------ the code

def package_hash() -> str:
    """sha256 over caedoctor's .py files (found without importing it) and the generator's files that define
    the cases: which code was benchmarked. Long runs should use a frozen commit (or a copy of src on
    PYTHONPATH), since other engineers edit the checkout."""
    spec = importlib.util.find_spec("caedoctor")
    if spec is None or not spec.origin:
        raise UsageError("caedoctor is not importable (run `make install`, or put its src on PYTHONPATH)")
    return S.code_hash(Path(spec.origin).parent, *(HERE / f for f in GENERATOR_FILES))


# ------------------------------------------------------------------------------------------------ selection

def parse_cases(text: str | None, split: str) -> list:
    """Indices from "0-4,7" or ids "dev-003,dev-010" (ids of another split are refused)."""
    if not text:
        return list(range(G.n_cases(split)))
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part[0].isalpha():
            prefix, _, number = part.rpartition("-")
            if prefix != split or not number.isdigit():
                raise UsageError(f"--cases: {part!r} is not a case of the {split} split (expected {split}-NNN)")
            out.append(int(number))
        elif "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    bad = [i for i in out if not 0 <= i < G.n_cases(split)]
    if bad:
        raise UsageError(f"--cases: indices {bad} outside 0..{G.n_cases(split) - 1}")
    return list(dict.fromkeys(out))


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 1
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard {text!r}: expected i/n, e.g. 0/2") from None
    if not 0 <= i < n:
        raise UsageError(f"--shard {text!r}: expected i/n with 0 <= i < n")
    return i, n


def select(split: str, cases: str | None, shard: str | None, limit: int | None = None) -> list:
    i, n = parse_shard(shard)
    chosen = parse_cases(cases, split)[i::n]
    return chosen[:limit] if limit else chosen


def check_split(split: str, report_figures: bool) -> None:
    """The guard against tuning on the test split."""
    if G.is_test(split) and not report_figures:
        raise UsageError("the test split is scored only to report figures, never to tune on; pass "
                         "--report-figures to run or score it (and choose no threshold from what it prints)")


# ------------------------------------------------------------------------------------------------ one case

def case_info(doc: dict) -> dict:
    """The static facts of a case (case.json) a record carries."""
    also = sorted({c for f in doc["faults"] for c in f.get("also_acceptable") or []})
    return {"id": doc["id"], "split": doc["split"], "index": doc["index"], "kind": doc["kind"],
            "injected": list(doc["injected"]), "severities": [f["severity"] for f in doc["faults"]],
            "healthy": doc["kind"] == "healthy", "also_acceptable": also,
            "static": [f["cause"] for f in doc["faults"] if f.get("static")],
            "batch_size": doc["batch_size"], "data": doc["data"]}


def repair_epochs(doc: dict, n_images: int) -> int:
    """The ground truth's budget in epochs: GT_STEPS steps of the base's batch size, in samples, over the
    case's training images (caedoctor's 90% split), rounded to the nearest whole epoch (at least 1)."""
    import sources

    train = len(sources.split_indices(n_images)[0])
    return max(1, int(round(doc["budget_samples"] / train)))


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).strip()[:400]}"


def run_worker(folder: Path, modes: list, out: Path) -> None:
    """Diagnose (and repair) one materialised case in this process; write its record to `out`."""
    import numpy as np

    import caedoctor

    doc = json.loads((folder / "case.json").read_text())
    rec = {**case_info(doc), "code": package_hash(), "load_start": _load(),
           "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    model, data = f"{folder / 'case.py'}:build_model", str(folder / "data.npz")
    overrides = {"batch_size": int(doc["batch_size"])}
    diagnosis = None
    for mode in [m for m in modes if m in ("full", "quick")]:
        cpu = time.process_time()
        try:
            budget = os.environ.get("CAEDOCTOR_BENCH_BUDGET")
            extra = {"budget_seconds": None if budget == "none" else float(budget)} if budget else {}
            d = caedoctor.diagnose(model, data, config_overrides=overrides, seed=0, progress=None,
                                   quick=(mode == "quick"), **extra)
            rec[mode] = {**S.diagnosis_record(d), "cpu_s": round(time.process_time() - cpu, 2)}
            if mode == "full":
                diagnosis = d
        except Exception as exc:  # a crash is a result too
            rec[mode] = {"error": _error(exc), "verdict": "crash", "elapsed_s": None, "findings": []}
    if "repair" in modes and not rec["healthy"]:
        with np.load(folder / "data.npz") as archive:
            n_images = int(archive["x"].shape[0])
        epochs = repair_epochs(doc, n_images)
        start, cpu = time.perf_counter(), time.process_time()
        try:
            result = caedoctor.repair(model, data, config_overrides=overrides, seed=0, progress=None,
                                      diagnosis=diagnosis, epochs=epochs)
            diag_s = diagnosis.elapsed_s if diagnosis is not None else 0.0
            seconds = time.perf_counter() - start
            rec["repair"] = {"relative_mse": (result.repaired_metrics or {}).get("relative_mse"),
                             "original_relative_mse": (result.original_metrics or {}).get("relative_mse"),
                             "epochs": epochs, "converged": result.converged, "reason": result.reason,
                             "kept": [c.what for c in result.changes if c.kept],
                             "rolled_back": [f"{c.what}: {c.note}" for c in result.changes if not c.kept],
                             "repair_s": round(seconds, 2), "seconds": round(seconds + diag_s, 2),
                             "cpu_s": round(time.process_time() - cpu, 2)}
        except Exception as exc:
            rec["repair"] = {"error": _error(exc), "relative_mse": None, "epochs": epochs}
    rec["load_end"] = _load()
    end = package_hash()
    if end != rec["code"]:  # edited while the case ran: neither version alone produced this record
        rec["code"] = f"{rec['code']}->{end}"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec, default=str))
    tmp.replace(out)


def _load() -> list:
    return [round(v, 2) for v in os.getloadavg()[:3]]


def run_case(folder: Path, modes: list, timeout: float, code: str) -> dict:
    """Run one case in a child process; its record, or a died record when the child did not finish."""
    out = folder / "run_record.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(folder), "--modes", ",".join(modes),
           "--worker-out", str(out)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        rc, tail = proc.returncode, (proc.stderr or "")[-600:]
    except subprocess.TimeoutExpired as exc:
        rc, tail = "timeout", f"killed after {timeout:.0f} s; " + (exc.stderr or b"")[-400:].decode(errors="replace")
    if rc == 0 and out.is_file():
        rec = json.loads(out.read_text())
        out.unlink()
    else:
        doc = json.loads((folder / "case.json").read_text())
        started = {"id": doc["id"], "event": "started", "code": code, "modes": modes}
        rec = S.died_record(started, case_info(doc))
        rec["died_detail"] = f"child exit {rc}: {tail.strip()[-500:]}"
    rec["wall_s"] = round(time.perf_counter() - start, 1)
    return rec


# ------------------------------------------------------------------------------------------------ the log

def read_log(path: Path) -> dict:
    """{case id: merged record} (a start without its record: a died case)."""
    entries = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                entries.append(json.loads(line)) if line.strip() else None
            except json.JSONDecodeError:  # cut short by a killed runner: that case has a start, so it died
                continue
    return S.merge_log(entries)


def _missing(rec: dict | None, code: str, modes: list, retry_died: bool) -> list:
    """The modes still to run for a case: all of them unless this code recorded it; a died case's died modes
    only with `retry_died` (a repair pass that died keeps the diagnosis recorded before it); else those its
    record lacks (a later `--repair` pass adds the repair block and leaves the recorded diagnosis as it is:
    its repair then diagnoses afresh, as `repair` does without one)."""
    if rec is None or rec.get("code") != code:
        return list(modes)
    if rec.get("died") and not retry_died:
        return []
    return [m for m in modes if not (m == "repair" and rec.get("healthy"))
            and (m not in rec or (rec[m] or {}).get("error") == S.DIED)]  # a died mode runs again (retry_died)


def attach_truth(records: list, truths: dict) -> tuple[list, list]:
    """(scored records with the ground truth's expected verdicts, repair verdicts and control status
    attached; ids without complete ground truth)."""
    scored, missing = [], []
    for r in records:
        t = truths.get(r["id"])
        if t is None:
            missing.append(r["id"])
            continue
        r = dict(r)
        r["expected_verdicts"] = t["expected_verdicts"]
        r["expected_why"] = t["expected_why"]
        if r.get("healthy"):
            r["control_trains"] = t.get("control_trains", True)
        if r.get("repair") is not None:
            rep = dict(r["repair"])
            rep["reference_relative_mse"] = t["reference_relative_mse"]
            rep["repaired"] = T.repaired(rep.get("relative_mse"), t["reference_relative_mse"])
            r["repair"] = rep
        scored.append(r)
    return scored, missing


# ------------------------------------------------------------------------------------------------ report

def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _ci(ci) -> str:
    return "" if ci is None else f" [95% CI {100 * ci[0]:.1f}-{100 * ci[1]:.1f}%]"


def _s(v) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def case_table(records: list) -> str:
    lines = [f"{'case':8s} {'kind':7s} {'injected':44s} {'held (confirmed/certain)':40s} {'verdict':15s} "
             f"{'expected':36s} {'s':>6s}"]
    for r in records:
        m = r.get("full") or {}
        exp = r.get("expected_verdicts")
        mark = "--" if exp is None else ("ok" if m.get("verdict") in exp else "XX")
        injected = ",".join(f"{c}/{s[0]}" for c, s in zip(r["injected"], r.get("severities") or [])) or "-"
        secs = m.get("elapsed_s")
        lines.append(f"{r['id']:8s} {r.get('kind', ''):7s} {injected:44s} {','.join(S.held_causes(m)) or '-':40s} "
                     f"{(m.get('verdict') or '?') + ' ' + mark:15s} {'|'.join(exp) if exp else '(excluded)':36s} "
                     f"{secs if secs is not None else '-':>6}")
    return "\n".join(lines)


def cause_table(rows: dict) -> str:
    lines = [f"{'cause':26s} {'inj':>4s} {'real':>4s} {'not':>4s} {'stat':>4s} {'amb':>4s} {'recall':>14s} "
             f"{'held':>4s} {'right':>5s} {'lenient':>7s} {'refuted-real':>12s}"]
    for cause, e in rows.items():
        rec = f"{e['recall_hits']}/{e['real']}" + (f" {100 * e['recall']:.0f}%" if e["recall"] is not None else "")
        lines.append(f"{cause:26s} {e['injected']:4d} {e['real']:4d} {e['not_real']:4d} {e['static']:4d} "
                     f"{e['excluded']:4d} {rec:>14s} {e['held']:4d} {e['held_correct']:5d} {e['held_lenient']:7d} "
                     f"{e['refuted_when_real']:12d}")
    return "\n".join(lines)


def _wilson_md(ci) -> str:
    return "" if ci is None else f" [{100 * ci[0]:.1f}-{100 * ci[1]:.1f}%]"


def markdown_tables(doc: dict, seconds_label: str = "seconds per diagnosis (wall)") -> str:
    """The figures table and the per-cause table of a report, in the form bench/generated/README.md quotes
    them (so a write-up copies them rather than retyping numbers)."""
    f, r = doc["full"], doc.get("repair")
    fe, cw = f["false_error_rate"], f["confirmed_warning_rate"]
    rows = [("cause recall", f"{_pct(f['recall'])}{_wilson_md(f['recall_ci95'])} ({f['recall_hits']}/"
                             f"{f['recall_total']})", ">= 95%"),
            ("cause precision", f"{_pct(f['precision'])}{_wilson_md(f['precision_ci95'])} ({f['held_correct']}/"
                                f"{f['held']}); lenient {_pct(f['precision_lenient'])}"
                                f"{_wilson_md(f['precision_lenient_ci95'])}", ">= 95%"),
            ("healthy controls: error finding not refuted", f"{fe['hits']}/{fe['total']}{_wilson_md(fe['ci95'])}", "0"),
            ("healthy controls: warning/info confirmed",
             f"{cw['hits']}/{cw['total']} ({_pct(cw['rate'])}){_wilson_md(cw['ci95'])}", "<= 2%"),
            ("verdict accuracy", f"{_pct(f['verdict_accuracy'])}{_wilson_md(f['verdict_ci95'])} ({f['verdict_ok']}/"
                                 f"{f['verdict_scored']})", "")]
    if r:
        a = r["all_cases"]
        rows.append((f"repair rate (real faults, within {T.REPAIR_FACTOR}x of the fixed set-up)",
                     f"{_pct(r['repair_rate'])}{_wilson_md(r['repair_ci95'])} ({r['repaired']}/{r['cases']}); "
                     f"all faulty cases {a['repaired']}/{a['cases']}", ">= 95%"))
    rows.append((seconds_label, f"median {_s(f['median_s'])}, max {_s(f['max_s'])} (CPU median "
                                f"{_s(f['median_cpu_s'])})", ""))
    lines = ["| figure | value [Wilson 95%] | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |".replace("|  |", "| |") for a, b, c in rows]
    lines += ["", "| cause | injected | real | not real | ambiguous | recall | held | right |",
              "|---|---|---|---|---|---|---|---|"]
    for cause, e in doc["per_cause"].items():
        if not (e["injected"] or e["held"]):
            continue
        if e["static"] and not (e["real"] or e["not_real"] or e["excluded"]):
            lines.append(f"| {cause} (static) | {e['injected']} | - | - | - | {e['static_reported']}/{e['static']} "
                         "reported (any status) | | |")
            continue
        lines.append(f"| {cause} | {e['injected']} | {e['real']} | {e['not_real']} | {e['excluded']} | "
                     f"{e['recall_hits']}/{e['real']} | {e['held']} | {e['held_correct']} |")
    return "\n".join(lines)


def report(records: list, truths: dict, meta: dict) -> dict:
    gt = {i: {"causes": t["causes"], "real_fault": t["real_fault"]} for i, t in truths.items()}
    full = S.score(records, gt, "full")
    quick = S.score(records, gt, "quick") if any(r.get("quick") for r in records) else None
    return {"meta": meta, "targets": TARGETS, "full": full, "quick": quick, "repair": S.score_repair(records, gt),
            "per_cause": S.per_cause(records, gt, "full", ops.CAUSES), "cases": records}


def print_report(doc: dict, records: list) -> None:
    m, f = doc["meta"], doc["full"]
    if G.is_test(m["split"]):
        print(TEST_NOTICE)
    else:
        print(f"split {m['split']}: the development split (tuning on it is allowed; the test split reports figures)")
    print(case_table(records))
    print(f"\n{len(records)} cases scored on {m['machine']}; {m['code']}"
          + ("   <- figures over records of different code" if "MIXED" in m["code"] else ""))
    print(f"ground truth: {m['ground_truth']} ({m['truth_cases']} complete cases of {G.n_cases(m['split'])})")
    if m["no_truth"]:
        print(f"not scored        {len(m['no_truth'])} case(s) ran but have no complete ground truth yet: "
              + ", ".join(m["no_truth"]))
    if m["not_run"]:
        print(f"not run           {len(m['not_run'])} selected case(s) have no record: " + ", ".join(m["not_run"][:20])
              + (" ..." if len(m["not_run"]) > 20 else ""))
    if f["crashed"]:
        print(f"crashed           {len(f['crashed'])} case(s), scored as misses: " + "; ".join(f["crashed"]))
    print(f"cause recall      {_pct(f['recall'])}{_ci(f['recall_ci95'])} ({f['recall_hits']}/{f['recall_total']} "
          f"injected real causes confirmed or certain)   target >= 95%")
    print(f"cause precision   {_pct(f['precision'])}{_ci(f['precision_ci95'])} ({f['held_correct']}/{f['held']} held "
          f"causes injected and real or static); lenient {_pct(f['precision_lenient'])}"
          f"{_ci(f['precision_lenient_ci95'])} (also_acceptable too)   target >= 95%")
    print(f"excluded          {len(f['excluded'])} injected cause(s) with ambiguous ground truth, out of recall "
          f"and precision" + (": " + ", ".join(f["excluded"]) if f["excluded"] else ""))
    print(f"static causes     {f['static_reported']}/{f['static_total']} reported (any status)")
    fe, cw = f["false_error_rate"], f["confirmed_warning_rate"]
    print(f"false alarms      {fe['hits']}/{fe['total']} healthy controls with an error finding not refuted "
          f"{_pct(fe['rate'])}{_ci(fe['ci95'])}   target 0")
    print(f"                  {cw['hits']}/{cw['total']} with a warning or info finding confirmed "
          f"{_pct(cw['rate'])}{_ci(cw['ci95'])}   target <= 2%"
          + (f"; {len(f['controls_excluded'])} control(s) that do not train excluded: "
             + ", ".join(f["controls_excluded"]) if f["controls_excluded"] else ""))
    print(f"verdict accuracy  {_pct(f['verdict_accuracy'])}{_ci(f['verdict_ci95'])} ({f['verdict_ok']}/"
          f"{f['verdict_scored']}; rule: truth.py); {len(f['verdict_excluded'])} case(s) without an expected verdict")
    print(f"seconds           median {_s(f['median_s'])}, max {_s(f['max_s'])} per diagnosis (wall); CPU median "
          f"{_s(f['median_cpu_s'])}, max {_s(f['max_cpu_s'])}")
    for label, key in (("missed", "missed"), ("wrongly held", "held_wrong"), ("wrong verdicts", "wrong_verdicts"),
                       ("no expected verdict", "verdict_excluded"), ("false errors", "false_errors"),
                       ("confirmed on controls", "confirmed_on_controls")):
        if f[key]:
            print(f"  {label}: " + "; ".join(f[key]))
    q = doc.get("quick")
    if q:
        print(f"quick mode        verdict accuracy {_pct(q['verdict_accuracy'])}{_ci(q['verdict_ci95'])}, median "
              f"{_s(q['median_s'])} s, max {_s(q['max_s'])} s; recall {_pct(q['recall'])}{_ci(q['recall_ci95'])}")
    r = doc.get("repair")
    if r:
        print(f"repair rate       {_pct(r['repair_rate'])}{_ci(r['repair_ci95'])} ({r['repaired']}/{r['cases']} cases "
              f"with a real fault within {T.REPAIR_FACTOR}x of the fixed variant's ground-truth error); median "
              f"{_s(r['median_s'])} s (diagnosis + repair)   target >= 95%")
        for line in r["not_repaired"]:
            print("  not repaired:", line)
    print("\nper cause (full diagnosis; inj = injected, amb = ambiguous ground truth, held = confirmed/certain in "
          "any case, right = of those injected and real or static)")
    print(cause_table({c: e for c, e in doc["per_cause"].items() if e["injected"] or e["held"]}))


# ------------------------------------------------------------------------------------------------ main

def _meta(args, records, truths, selected, code_line, ran_ids, no_truth) -> dict:
    return {"split": args.split, "purpose": "report figures only" if G.is_test(args.split) else "development",
            "code": code_line, "code_hashes": S.code_hashes(records), "code_now": package_hash(),
            "machine": f"{platform.node()}: {len(os.sched_getaffinity(0))} CPU cores, "
                       f"{platform.processor() or platform.machine()}",
            "ground_truth": str(args.verdicts), "truth_cases": len(truths),
            "date": time.strftime("%Y-%m-%d %H:%M"), "not_run": sorted(set(selected) - ran_ids),
            "no_truth": no_truth, "expected_verdict_rule": T.__doc__.split("**The expected verdict**")[1].split(
                "**The repair reference**")[0].strip()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(G.SPLITS), default="dev")
    parser.add_argument("--report-figures", action="store_true",
                        help="required for --split test: its figures are reported, never tuned on")
    parser.add_argument("--cases", help="indices (0-4,7) or ids (dev-003); default: every case of the split")
    parser.add_argument("--limit", type=int, default=0, help="at most this many of the selected cases")
    parser.add_argument("--shard", help="i/n: every n-th selected case from the i-th (parallel processes)")
    parser.add_argument("--quick", action="store_true", help="also run diagnose(quick=True)")
    parser.add_argument("--repair", action="store_true", help="also run repair on every faulty case")
    parser.add_argument("--rerun", action="store_true", help="run cases already recorded by this code again")
    parser.add_argument("--retry-died", action="store_true", help="run again the cases whose process died")
    parser.add_argument("--report-only", action="store_true", help="score what the log holds; run nothing")
    parser.add_argument("--markdown", action="store_true",
                        help="also print the figures and per-cause tables in the README's markdown form")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="score records of different code together (every hash is printed with the figures)")
    parser.add_argument("--case-timeout", type=float, default=3600.0, help="seconds before a case's process is killed")
    parser.add_argument("--root", default=str(G.RUNS), help="where cases are materialised")
    parser.add_argument("--verdicts", help="the ground truth (default bench/generated/ground_truth/verdicts_<split>.json)")
    parser.add_argument("--log", help="default runs/generated-bench/<split>/cases.jsonl")
    parser.add_argument("--out", help="default runs/generated-bench/<split>/results.json")
    parser.add_argument("--budget-seconds", help="the diagnosis' budget (a number, or none); default caedoctor's own")
    parser.add_argument("--follow-all", action="store_true",
                        help="follow every extendable counterfactual pair to the horizon (diagnosis.extend; dev "
                             "only: records whole trails to choose the stopping rule on)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    parser.add_argument("--modes", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.budget_seconds:
        os.environ["CAEDOCTOR_BENCH_BUDGET"] = args.budget_seconds  # read by the case's child process
    if args.follow_all:
        if args.split != "dev":
            print("run.py: error: --follow-all records trails to tune on: the development split only", file=sys.stderr)
            return 2
        os.environ["CAEDOCTOR_FOLLOW_ALL"] = "1"
    if args.worker:
        run_worker(Path(args.worker), args.modes.split(","), Path(args.worker_out))
        return 0
    try:
        check_split(args.split, args.report_figures)
        selected_idx = select(args.split, args.cases, args.shard, args.limit)
        code = package_hash()
    except UsageError as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        return 2
    args.verdicts = Path(args.verdicts or VERDICTS / f"verdicts_{args.split}.json")
    log = Path(args.log or OUT / args.split / "cases.jsonl")
    out = Path(args.out or OUT / args.split / "results.json")
    log.parent.mkdir(parents=True, exist_ok=True)
    selected = [G.draw_case(args.split, i).id for i in selected_idx]
    if G.is_test(args.split):
        print(TEST_NOTICE, flush=True)
    modes = ["full"] + (["quick"] if args.quick else []) + (["repair"] if args.repair else [])
    if not args.report_only:
        logged = read_log(log)
        for index, case_id in zip(selected_idx, selected):
            todo = list(modes) if args.rerun else _missing(logged.get(case_id), code, modes, args.retry_died)
            if not todo:
                continue
            try:
                folder = G.materialize(args.split, index, Path(args.root), allow_sweep=False)
            except LookupError as exc:
                print(f"{case_id}: skipped, {exc} (the ground truth has not reached this case)", flush=True)
                continue
            doc = json.loads((folder / "case.json").read_text())
            case_modes = [m for m in todo if not (m == "repair" and doc["kind"] == "healthy")]
            with log.open("a") as fh:  # a runner killed in this case leaves this line alone: a died case
                fh.write(json.dumps({"id": case_id, "event": "started", "code": code, "modes": case_modes,
                                     "started": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
            rec = run_case(folder, case_modes, args.case_timeout, code)
            with log.open("a") as fh:
                fh.write(json.dumps(rec, default=str) + "\n")
            m = rec.get("full") or {}
            rep = rec.get("repair")
            print(f"{case_id} {doc['kind']:7s} {','.join(doc['injected']) or '-':50s} {m.get('verdict')!s:15s} "
                  f"held={S.held_causes(m)} {m.get('elapsed_s')} s (wall {rec['wall_s']} s)"
                  + (f" quick {rec['quick'].get('verdict')} {rec['quick'].get('elapsed_s')} s" if rec.get("quick") else "")
                  + (f" repair rel {rep.get('relative_mse')}" if rep else "")
                  + (" DIED: " + rec.get("died_detail", "") if rec.get("died") else ""), flush=True)
    merged = read_log(log)
    records = [merged[i] for i in selected if i in merged]
    if not records:
        print("no results yet")
        return 0
    try:
        code_line = S.check_code(records, args.allow_mixed)
    except S.MixedCodeError as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        return 2
    if not args.verdicts.is_file():
        print(f"run.py: error: no ground truth at {args.verdicts} (run ground_truth.py --aggregate)", file=sys.stderr)
        return 2
    truths = T.truths(json.loads(args.verdicts.read_text()))
    scored, no_truth = attach_truth(records, truths)
    meta = _meta(args, records, truths, selected, code_line, {r["id"] for r in records}, no_truth)
    if not scored:
        print(f"{len(records)} case(s) recorded, none with complete ground truth yet: {', '.join(no_truth)}")
        return 0
    doc = report(scored, truths, meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    print_report(doc, scored)
    if args.markdown:
        print("\n" + markdown_tables(doc))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
