"""Run caedoctor's diagnosis (and optionally its repair) on every fault case and score it against the
ground truth.

    .venv/bin/python bench/faults/run.py                       # diagnose every case (default settings, seed 0)
    .venv/bin/python bench/faults/run.py --quick               # ... and also `diagnose(quick=True)`
    .venv/bin/python bench/faults/run.py --repair              # ... and `repair` on every faulty case
    .venv/bin/python bench/faults/run.py --cases nan_cifar,lr_low_adam_cifar
    .venv/bin/python bench/faults/run.py --shard 0/2 & .venv/bin/python bench/faults/run.py --shard 1/2; \
        .venv/bin/python bench/faults/run.py --report-only   # two processes, then one report

Other engineers edit src/ while a long run goes on; to benchmark one consistent version, copy
src/caedoctor to a folder and put it first: `PYTHONPATH=runs/bench-faults/snap .venv/bin/python ...`.
Every case record holds a hash of the code that ran it (caedoctor's .py files and cases.py, taken when the
case starts and checked when it ends); records of different code are not scored together unless
`--allow-mixed` is given, and then every hash is printed next to the figures.

Before each case a "started" line goes to runs/bench-faults/cases.jsonl, and its record when it finishes
(a rerun of a case replaces it in the report, so `--resume` picks up where a stopped run left off). A case
whose process died (killed, out of memory) has a start and no record: it is scored as a crash, a miss for
every injected cause and a wrong verdict, never left out. The report is written to
runs/bench-faults/results.json and printed. The scoring itself is bench/scoring.py (pure functions).

Scores (bench/scoring.py; the ground truth is bench/faults/ground_truth.json, from ground_truth.py):
- cause recall: injected causes the ground truth finds real, that the diagnosis reports `confirmed` or
  `certain`, over all injected real causes;
- cause precision: `confirmed`/`certain` causes (one per cause and case) that are injected and real (or
  injected and static), over all `confirmed`/`certain` causes, healthy controls included; "lenient" also
  accepts a case's `also_acceptable` causes (another name for the same injected defect);
- static causes (bottleneck_bypass): reported at any status;
- false errors on healthy controls: error-level findings that are not refuted;
- verdict accuracy: the verdict is one of the case's `expected_verdicts` (healthy: converging);
- seconds per diagnosis: `Diagnosis.elapsed_s` (median and max), and the same for `--quick`;
- repair rate (`--repair`): faulty cases with at least one real injected cause whose repaired model reaches a relative validation MSE within
  1.25x of the healthy reference: the case's own set-up with its faults removed (the ground truth's "fixed"
  variant), trained by `caedoctor.training.train` for the same epochs and seed; also printed: the share
  within 1.25x of the field notes' seed_better on the same data; repair time = the diagnosis' time +
  `repair(diagnosis=...)`'s time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # bench/scoring.py
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cases as K  # noqa: E402
import scoring as S  # noqa: E402

OUT_DIR = K.ROOT / "runs" / "bench-faults"
CASES_LOG = OUT_DIR / "cases.jsonl"
RESULTS = OUT_DIR / "results.json"
GROUND_TRUTH = HERE / "ground_truth.json"
REPAIR_FACTOR = 1.25
TARGETS = {"recall": 0.95, "precision": 0.90, "false_errors": 0, "median_s": 60.0, "quick_median_s": 15.0,
           "repair_rate": 0.95}


def _package_hash() -> str:
    """sha256 over caedoctor's .py files (path and content) and the case definitions: which code was
    benchmarked. The checkout is shared and edited while a run goes on, so a long run should use a snapshot
    (PYTHONPATH=copy of src)."""
    import caedoctor

    return S.code_hash(Path(caedoctor.__file__).parent, HERE / "cases.py")


def _load(n: int = 3) -> list:
    return [round(v, 2) for v in os.getloadavg()[:n]]


def speed_reference() -> float:
    """Seconds this machine takes now for a fixed workload (a pure-Python loop and small numpy products;
    about 0.2 s when the machine is quiet). Recorded at each case's start: the load average misses a slower
    host or a process in another container, and two runs' timings compare only when their references do."""
    import numpy as np

    a = np.random.default_rng(0).random((200, 200))
    start = time.perf_counter()
    total = 0
    for i in range(1_000_000):
        total += i
    for _ in range(50):
        a = a @ a / 200.0
    return round(time.perf_counter() - start, 3)


_diagnosis_record = S.diagnosis_record  # shared with bench/generated/run.py


def _overrides(variant) -> dict | None:
    return {"batch_size": variant.batch_size} if variant.batch_size != 32 else None


def _diagnose_options(args) -> dict:
    """`--no-sequential` runs every probe to its last step without a budget (recording what the early rule
    would have decided: bench/sequential.py scores it); `--budget-seconds` sets the budget (default: the
    diagnosis' own)."""
    options = {}
    if getattr(args, "no_sequential", False):
        options.update(sequential=False, budget_seconds=None)
    if getattr(args, "budget_seconds", None) is not None:
        options["budget_seconds"] = args.budget_seconds or None
    if getattr(args, "steps", None):
        options["steps"] = args.steps
    return options


def run_case(case, args, healthy_refs: dict) -> dict:
    import keras

    from caedoctor.diagnosis import diagnose

    rec = {**_case_info(case), "code": _package_hash(), "load_start": _load(), "speed_ref_s": speed_reference(),
           "started": time.strftime("%H:%M:%S")}
    variant = case.variant(())
    keras.utils.clear_session()
    diagnosis = None
    try:
        cpu = time.process_time()
        diagnosis = diagnose(variant.model(), variant.data.arg, seed=0, config_overrides=_overrides(variant),
                             **_diagnose_options(args))
        rec["full"] = {**_diagnosis_record(diagnosis), "cpu_s": round(time.process_time() - cpu, 2)}
    except Exception as exc:  # a crash is a result too
        rec["full"] = {"error": f"{type(exc).__name__}: {str(exc).strip()[:400]}", "verdict": "crash",
                       "elapsed_s": None, "findings": []}
    if args.quick:
        keras.utils.clear_session()
        try:
            cpu = time.process_time()
            q = diagnose(variant.model(), variant.data.arg, seed=0, quick=True, config_overrides=_overrides(variant),
                         **_diagnose_options(args))
            rec["quick"] = {**_diagnosis_record(q), "cpu_s": round(time.process_time() - cpu, 2)}
        except Exception as exc:
            rec["quick"] = {"error": f"{type(exc).__name__}: {str(exc).strip()[:400]}", "verdict": "crash",
                            "elapsed_s": None, "findings": []}
    if args.repair and not case.healthy:
        rec["repair"] = run_repair(case, variant, diagnosis, args, healthy_refs)
    rec["load_end"] = _load()
    end = _package_hash()
    if end != rec["code"]:  # edited while the case ran: neither version alone produced this record
        rec["code"] = f"{rec['code']}->{end}"
    return rec


def _case_info(case) -> dict:
    return {"id": case.id, "dataset": case.dataset, "injected": list(case.injected), "healthy": case.healthy,
            "expected_verdicts": list(case.expected_verdicts), "also_acceptable": list(case.also_acceptable),
            "static": list(case.static)}


def _modes(args, case) -> list:
    return ["full"] + (["quick"] if args.quick else []) + (["repair"] if args.repair and not case.healthy else [])


def run_repair(case, variant, diagnosis, args, healthy_refs: dict) -> dict:
    import keras

    from caedoctor.repairing.procedure import repair

    keras.utils.clear_session()
    ref = fixed_reference(case, args.repair_epochs, healthy_refs)
    data_ref = healthy_reference(case.dataset, args.repair_epochs, healthy_refs)
    keras.utils.clear_session()
    start = time.perf_counter()
    try:
        result = repair(variant.model(), variant.data.arg, diagnosis=diagnosis, epochs=args.repair_epochs, seed=0,
                        config_overrides=_overrides(variant))
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {str(exc).strip()[:400]}", "repaired": False,
                "reference_relative_mse": ref, "seed_better_relative_mse": data_ref}
    seconds = time.perf_counter() - start
    rel = (result.repaired_metrics or {}).get("relative_mse")
    diag_s = diagnosis.elapsed_s if diagnosis is not None else 0.0
    ok = rel is not None and math.isfinite(rel) and ref is not None and rel <= REPAIR_FACTOR * ref
    ok_data = rel is not None and math.isfinite(rel) and data_ref is not None and rel <= REPAIR_FACTOR * data_ref
    return {"repaired": bool(ok), "relative_mse": rel, "reference_relative_mse": ref,
            "seed_better_relative_mse": data_ref, "within_seed_better": bool(ok_data),
            "original_relative_mse": (result.original_metrics or {}).get("relative_mse"),
            "converged": result.converged, "reason": result.reason,
            "kept": [c.what for c in result.changes if c.kept],
            "rolled_back": [f"{c.what}: {c.note}" for c in result.changes if not c.kept],
            "repair_s": round(seconds, 2), "seconds": round(seconds + diag_s, 2)}


def healthy_reference(dataset: str, epochs: int, cache: dict) -> float | None:
    """Relative validation MSE of the data set's healthy reference CAE (the field notes' seed_better) after
    `epochs` epochs of caedoctor.training.train, seed 0: a second, data-wide bar for the repair."""
    case = K.BY_ID[K.HEALTHY_REFERENCE[dataset]]
    return _trained_reference(case, (), epochs, cache, f"{dataset}@{epochs}")


def fixed_reference(case, epochs: int, cache: dict) -> float | None:
    """Relative validation MSE of the case's own set-up with every injected fault removed (what the ground
    truth trains as "fixed"), trained like the repaired model: the bar a repair must reach (within
    REPAIR_FACTOR). The healthy version of *this* CAE, so a CAE whose design (say, a small code) limits it
    below seed_better is not held to seed_better's error."""
    return _trained_reference(case, tuple(case.injected), epochs, cache, f"{case.id}+fixed@{epochs}")


def _trained_reference(case, fixed: tuple, epochs: int, cache: dict, key: str) -> float | None:
    if key in cache:
        return cache[key]
    path = OUT_DIR / "healthy_reference.json"
    stored = json.loads(path.read_text()) if path.is_file() else {}
    if key in stored and stored[key].get("code") == _package_hash():
        cache[key] = stored[key]["relative_mse"]
        return cache[key]
    import keras

    from caedoctor.data import load_data
    from caedoctor.models import load_model
    from caedoctor.training import seed_everything, train

    keras.utils.clear_session()
    variant = case.variant(fixed)
    data = load_data(variant.data.arg, seed=0)
    seed_everything(0)
    loaded = load_model(variant.model(), data.input_shape, **(_overrides(variant) or {}))
    result = train(loaded, data, epochs=epochs, verbose=0, plots=False)
    cache[key] = float(result.metrics["relative_mse"])
    stored[key] = {"case": case.id, "fixed": list(fixed), "epochs": epochs, "relative_mse": cache[key],
                   "code": _package_hash()}
    path.write_text(json.dumps(stored, indent=1))
    return cache[key]


# ------------------------------------------------------------------------------------------------ scoring

def load_ground_truth(path: Path = GROUND_TRUTH) -> dict:
    doc = json.loads(path.read_text())
    return {c["id"]: c for c in doc["cases"]}


def read_records(path: Path = CASES_LOG, ids=None) -> list:
    """The log's records in case order (a start without its record: a died case, scored as a crash).

    `also_acceptable` is the case's current list (it may have grown since the run: bench/README.md)."""
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
    latest = S.merge_log(entries, {c.id: _case_info(c) for c in K.CASES})
    order = [c.id for c in K.CASES]
    out = []
    for i in order:
        if i in latest and (ids is None or i in ids):
            r = latest[i]
            r["also_acceptable"] = sorted(set(r.get("also_acceptable") or []) | set(K.BY_ID[i].also_acceptable))
            out.append(r)
    return out


def _short(causes) -> str:
    return ",".join(causes) if causes else "-"


def table(records: list, mode: str = "full") -> str:
    lines = [f"{'case':28s} {'injected':44s} {'confirmed/certain':50s} {'refuted':44s} {'verdict':16s} {'s':>6s}"]
    for r in records:
        m = r.get(mode) or {}
        held = S.held_causes(m)
        refuted = sorted({f["cause"] for f in m.get("findings", []) if f["status"] == "refuted"})
        mark = "ok" if m.get("verdict") in r["expected_verdicts"] else "XX"
        secs = m.get("elapsed_s")
        lines.append(f"{r['id']:28s} {_short(r['injected']):44s} {_short(held):50s} {_short(refuted):44s} "
                     f"{(m.get('verdict') or '?') + ' ' + mark:16s} {secs if secs is not None else '-':>6}")
    return "\n".join(lines)


def report(records: list, gt: dict, meta: dict) -> dict:
    full = S.score(records, gt, "full")
    quick = S.score(records, gt, "quick") if any(r.get("quick") for r in records) else None
    rep = S.score_repair(records, gt)
    loads = [r.get("load_start") for r in records if r.get("load_start")] + \
            [r.get("load_end") for r in records if r.get("load_end")]
    refs = [r["speed_ref_s"] for r in records if r.get("speed_ref_s")]
    doc = {"meta": {**meta, "cases": len(records),
                    "loadavg_1min_over_cases": {"min": min(v[0] for v in loads), "max": max(v[0] for v in loads),
                                                "median": statistics.median(v[0] for v in loads)} if loads else None,
                    "speed_ref_s_over_cases": {"min": min(refs), "median": statistics.median(refs),
                                               "max": max(refs)} if refs else None},
           "targets": TARGETS, "full": full, "quick": quick, "repair": rep, "cases": records}
    return doc


def _s(v) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def print_report(doc: dict, records: list) -> None:
    print(table(records))
    f = doc["full"]
    m = doc["meta"]
    lo = m.get("loadavg_1min_over_cases") or {}
    print(f"\n{m['cases']} cases on {m.get('machine')}; 1-minute load average at the cases' starts and ends: "
          f"min {lo.get('min')}, median {lo.get('median')}, max {lo.get('max')} (this run: {m.get('load_start')} at "
          f"start, {m.get('load_end')} at end). Other engineers share these cores: timings include their load")
    sp = m.get("speed_ref_s_over_cases")
    if sp:
        print(f"machine speed reference (s for a fixed workload, lower is faster) at the cases' starts: min {sp['min']}, "
              f"median {sp['median']}, max {sp['max']}")
    print(m["code"] + ("   <- figures over records of different code" if "MIXED" in m["code"] else ""))
    if m.get("not_run"):
        print(f"not run           {len(m['not_run'])} selected case(s) have no record yet, not scored: "
              + ", ".join(m["not_run"]))
    if f["crashed"]:
        print(f"crashed           {len(f['crashed'])} case(s), scored as misses: " + "; ".join(f["crashed"]))
    print(f"cause recall      {_pct(f['recall'])} ({f['recall_hits']}/{f['recall_total']} injected real causes "
          f"confirmed or certain)   target >= 95%")
    print(f"cause precision   {_pct(f['precision'])} ({f['held_correct']}/{f['held']} confirmed/certain causes "
          f"injected and real; lenient {_pct(f['precision_lenient'])})   target >= 90%")
    print(f"static causes     {f['static_reported']}/{f['static_total']} reported (any status)")
    print(f"false errors      {f['false_errors_on_controls']} error-level findings on healthy controls   target 0")
    print(f"verdict accuracy  {_pct(f['verdict_accuracy'])} ({f['verdict_ok']}/{f['cases']})")
    print(f"seconds           median {_s(f['median_s'])}, max {_s(f['max_s'])} per diagnosis (wall)   target median <= 60")
    print(f"CPU seconds       median {_s(f['median_cpu_s'])}, max {_s(f['max_cpu_s'])} per diagnosis (all threads; "
          f"less disturbed by other programs than wall time)")
    if f["missed"]:
        print("  missed:", "; ".join(f["missed"]))
    if f["held_wrong"]:
        print("  wrongly held:", "; ".join(f["held_wrong"]))
    if f["wrong_verdicts"]:
        print("  wrong verdicts:", "; ".join(f["wrong_verdicts"]))
    if f["false_errors"]:
        print("  false errors:", "; ".join(f["false_errors"]))
    q = doc.get("quick")
    if q:
        print(f"quick mode        verdict accuracy {_pct(q['verdict_accuracy'])}, median {_s(q['median_s'])} s, "
              f"max {_s(q['max_s'])} s (CPU median {_s(q['median_cpu_s'])} s), certain/confirmed recall {_pct(q['recall'])}   target median <= 15")
    r = doc.get("repair")
    if r:
        print(f"repair rate       {_pct(r['repair_rate'])} ({r['repaired']}/{r['cases']} within {REPAIR_FACTOR}x of "
              f"the case's own fixed set-up trained alike); median {_s(r['median_s'])} s, max {_s(r['max_s'])} s "
              f"(diagnosis + repair)   target >= 95%")
        print(f"                  {_pct(r['within_seed_better_rate'])} ({r['within_seed_better']}/{r['cases']}) within "
              f"{REPAIR_FACTOR}x of seed_better on the same data (a data-wide bar); over all "
              f"{r['all_cases']['cases']} faulty cases (not-real and static faults included) "
              f"{_pct(r['all_cases']['repair_rate'])}")
        for line in r["not_repaired"]:
            print("  not repaired:", line)


def _gt_cell(gt_case: dict, cause: str) -> tuple:
    c = (gt_case.get("causes") or {}).get(cause, {})
    a, b = c.get("with_fault_relative_mse"), c.get("fixed_relative_mse")
    fault = "cannot train" if c.get("impossible") or a is None else f"{a:.3g}"
    real = {True: "yes", False: "**no**", "static": "static"}.get(c.get("real"), "?")
    return f"{fault} -> {b:.3g}" if b is not None else fault, real


def markdown(records: list, gt: dict) -> str:
    """The per-case table of bench/README.md."""
    out = ["| case | injected | ground truth: rel. MSE with fault -> fixed | real? | caedoctor: confirmed/certain | "
           "refuted | verdict | s (CPU s) | quick s | repair: rel. MSE vs fixed reference (kept) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        m = r.get("full") or {}
        g = gt.get(r["id"], {})
        cells = [_gt_cell(g, c) for c in r["injected"]]
        held = S.held_causes(m)
        refuted = sorted({f["cause"] for f in m.get("findings", []) if f["status"] == "refuted"})
        ok = "" if m.get("verdict") in r["expected_verdicts"] else " ✗"
        secs = m.get("elapsed_s")
        t = "-" if secs is None else f"{secs:.0f}" + (f" ({m['cpu_s']:.0f})" if m.get("cpu_s") is not None else "")
        q = (r.get("quick") or {}).get("elapsed_s")
        rep = r.get("repair")
        if rep:
            rel, ref = rep.get("relative_mse"), rep.get("reference_relative_mse")
            mark = "✓" if rep.get("repaired") else "✗"
            kept = ", ".join(rep.get("kept") or []) or "nothing"
            rep_cell = (f"{mark} {rel:.3g} vs {ref:.3g} ({kept})" if rel is not None and ref is not None
                        else f"✗ {rep.get('error') or rep.get('reason') or ''}"[:80])
        else:
            rep_cell = "-"
        if r["healthy"]:
            gt_text, real = "(healthy)", "converges"
        else:
            gt_text, real = "<br>".join(c[0] for c in cells), "<br>".join(c[1] for c in cells)
        out.append(f"| `{r['id']}` | {'<br>'.join(r['injected']) or '(healthy)'} | {gt_text} | {real} | "
                   f"{', '.join(held) or '-'} | {', '.join(refuted) or '-'} | {m.get('verdict')}{ok} | {t} | "
                   f"{'-' if q is None else f'{q:.0f}'} | {rep_cell} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case ids (default: all)")
    parser.add_argument("--quick", action="store_true", help="also run diagnose(quick=True)")
    parser.add_argument("--repair", action="store_true", help="also run repair on every faulty case")
    parser.add_argument("--repair-epochs", type=int, default=3, help="training budget of repair and reference")
    parser.add_argument("--no-sequential", action="store_true",
                        help="run every probe to its last step, no budget; record the early rule's decisions")
    parser.add_argument("--budget-seconds", type=float, default=None, help="the diagnosis' budget (0: none)")
    parser.add_argument("--steps", type=int, default=None, help="steps per probe (default: the diagnosis' own)")
    parser.add_argument("--shard", help="i/n: run only every n-th case starting at i (parallel processes)")
    parser.add_argument("--resume", action="store_true", help="skip cases already in the log (same modes)")
    parser.add_argument("--report-only", action="store_true", help="score what the log holds; run nothing")
    parser.add_argument("--markdown", action="store_true", help="also print the per-case table as Markdown")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="score records of different code together (every hash is printed with the figures)")
    parser.add_argument("--log", default=str(CASES_LOG))
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()

    log = Path(args.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    selected = K.select(args.cases)
    if args.shard:
        i, n = (int(v) for v in args.shard.split("/"))
        selected = selected[i::n]
    load_start = _load()
    if not args.report_only:
        done = {r["id"] for r in read_records(log)} if args.resume else set()
        healthy_refs: dict = {}
        for case in selected:
            if case.id in done:
                continue
            t = time.perf_counter()
            with log.open("a") as fh:  # a process that dies in this case leaves this line alone: a crash
                fh.write(json.dumps({"id": case.id, "event": "started", "code": _package_hash(),
                                     "modes": _modes(args, case), "started": time.strftime("%H:%M:%S")}) + "\n")
            rec = run_case(case, args, healthy_refs)
            with log.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            m = rec["full"]
            print(f"{case.id:28s} {m.get('verdict'):15s} held={S.held_causes(m)} {m.get('elapsed_s')} s "
                  f"(wall {time.perf_counter() - t:.0f} s, load {rec['load_start'][0]}->{rec['load_end'][0]})"
                  + (f" quick {rec['quick'].get('elapsed_s')} s" if rec.get("quick") else "")
                  + (f" repair {rec['repair'].get('repaired')} {rec['repair'].get('seconds')} s" if rec.get("repair") else ""),
                  flush=True)
    records = read_records(log, {c.id for c in K.select(args.cases)})
    if not records:
        print("no results yet")
        return
    try:
        code_line = S.check_code(records, args.allow_mixed)
    except S.MixedCodeError as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        sys.exit(2)
    import tensorflow as tf

    import caedoctor

    meta = {"caedoctor": str(Path(caedoctor.__file__).parent), "code": code_line,
            "code_hashes": S.code_hashes(records), "code_now": _package_hash(),
            "machine": f"{platform.node()}: {len(os.sched_getaffinity(0))} CPU cores, "
                       f"{platform.processor() or platform.machine()}, TensorFlow {tf.__version__}",
            "load_start": load_start, "load_end": _load(), "date": time.strftime("%Y-%m-%d %H:%M"),
            "ground_truth": str(GROUND_TRUTH.relative_to(K.ROOT))}
    meta["not_run"] = sorted({c.id for c in K.select(args.cases)} - {r["id"] for r in records})
    doc = report(records, load_ground_truth(), meta)
    out = Path(args.out)
    out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    print_report(doc, records)
    if args.markdown:
        print("\n" + markdown(records, load_ground_truth()))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
