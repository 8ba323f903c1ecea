"""Load changes the time, never the answer silently (issue 27): diagnose the same generated cases on a quiet
machine and beside CPU-bound processes, and compare what each run confirmed.

Each case is diagnosed twice by bench/generated/run.py's worker (a child process, the user's call:
`caedoctor.diagnose("<case>/case.py:build_model", "<case>/data.npz", config_overrides={"batch_size": B},
seed=0)`, the default 120 s budget): once alone, once while `--hogs` busy-loop processes run beside it. The
figure: in how many cases the two runs confirm the same causes, and whether every difference is flagged
`partial` (by the loaded run, whose budget ran short) as the issue requires. The slowdown the hogs caused is
measured, not assumed: the ratio of the two runs' step times (`plan.step_ms`).

    .venv/bin/python bench/load/compare.py --split dev --cases 3,10,27,53 --hogs 1
    .venv/bin/python bench/load/compare.py --report bench/load/results_dev.jsonl

"Quiet" means nothing else of ours runs: stop benchmarks and ground truth first (the script refuses to start
while the 1-minute load average is above `--max-load`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RUN = ROOT / "bench" / "generated" / "run.py"
sys.path.insert(0, str(ROOT / "bench" / "generated"))

import generate as G  # noqa: E402


def worker(folder: Path, out: Path) -> dict:
    """One diagnosis of a case by run.py's worker; its record."""
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(RUN), "--worker", str(folder), "--modes", "full", "--worker-out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not out.is_file():
        return {"error": (proc.stderr or "")[-400:]}
    rec = json.loads(out.read_text())
    out.unlink()
    return rec


def summary(rec: dict) -> dict:
    """What the comparison reads of one run: confirmed causes, partial, step time, seconds."""
    full = rec.get("full") or {}
    confirmed = sorted({f["cause"] for f in full.get("findings", []) if f.get("status") in ("confirmed", "certain")})
    return {"confirmed": confirmed, "verdict": full.get("verdict"), "partial": bool(full.get("partial")),
            "partial_reason": full.get("partial_reason"), "step_ms": (full.get("plan") or {}).get("step_ms"),
            "elapsed_s": full.get("elapsed_s"), "error": rec.get("error") or full.get("error")}


def hogs(n: int) -> list:
    """`n` CPU-bound processes (a Python busy loop each)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def compare_case(split: str, index: int, n_hogs: int, root: Path) -> dict:
    folder = G.materialize(split, index, root, allow_sweep=False)
    out = folder / "load_record.json"
    quiet = summary(worker(folder, out))
    procs = hogs(n_hogs)
    try:
        time.sleep(1.0)
        loaded = summary(worker(folder, out))
    finally:
        for p in procs:
            p.kill()
            p.wait()
    same = quiet["confirmed"] == loaded["confirmed"]
    slowdown = (loaded["step_ms"] / quiet["step_ms"]) if quiet["step_ms"] and loaded["step_ms"] else None
    return {"case": f"{split}-{index:03d}", "hogs": n_hogs, "quiet": quiet, "loaded": loaded, "same": same,
            "flagged": same or loaded["partial"] or quiet["partial"], "slowdown": slowdown,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def report(rows: list) -> dict:
    n = len(rows)
    same = sum(r["same"] for r in rows)
    diff = [r for r in rows if not r["same"]]
    flagged = sum(r["flagged"] for r in diff)
    slow = sorted(r["slowdown"] for r in rows if r["slowdown"])
    longer = sorted(r["loaded"]["elapsed_s"] / r["quiet"]["elapsed_s"] for r in rows
                    if r["loaded"]["elapsed_s"] and r["quiet"]["elapsed_s"])
    doc = {"cases": n, "same_confirmed": same, "differences": len(diff), "differences_flagged_partial": flagged,
           "median_slowdown": slow[len(slow) // 2] if slow else None,
           "median_elapsed_ratio": longer[len(longer) // 2] if longer else None,
           "partial_quiet": sum(r["quiet"]["partial"] for r in rows),
           "partial_loaded": sum(r["loaded"]["partial"] for r in rows)}
    print(f"{n} cases: the same confirmed causes in {same}; {len(diff)} differ, {flagged} of them flagged partial; "
          f"median slowdown of a step beside the hogs {doc['median_slowdown']:.2f}, of the whole diagnosis "
          f"{doc['median_elapsed_ratio']:.2f}; partial quiet "
          f"{doc['partial_quiet']}, loaded {doc['partial_loaded']}")
    for r in diff:
        print(f"  {r['case']}: quiet {r['quiet']['confirmed']} (partial {r['quiet']['partial']}), loaded "
              f"{r['loaded']['confirmed']} (partial {r['loaded']['partial']})")
    return doc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="dev")
    ap.add_argument("--cases", default="")
    ap.add_argument("--hogs", type=int, default=1)
    ap.add_argument("--root", default=str(ROOT / "runs" / "generated"))
    ap.add_argument("--log", default=str(HERE / "results_dev.jsonl"))
    ap.add_argument("--max-load", type=float, default=0.6)
    ap.add_argument("--report", help="only summarise this log")
    args = ap.parse_args(argv)
    if args.report:
        report([json.loads(line) for line in Path(args.report).read_text().splitlines() if line.strip()])
        return 0
    if G.is_test(args.split):
        print(f"refused: {args.split} is a test split")
        return 2
    load = os.getloadavg()[0]
    if load > args.max_load:
        print(f"refused: the 1-minute load is {load:.2f} (> --max-load {args.max_load}): the quiet run would not be "
              "quiet")
        return 2
    rows = []
    log = Path(args.log)
    for part in args.cases.split(","):
        row = compare_case(args.split, int(part), args.hogs, Path(args.root))
        rows.append(row)
        with log.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"{row['case']}: same {row['same']}, slowdown {row['slowdown']}", flush=True)
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
