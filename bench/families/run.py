"""caedoctor on the VAE and denoising cases, as a user runs it, and the scores against the ground truth.

Each case's `case.py` runs unchanged in its own process under `caedoctor.autolog(diagnose="always",
budget_seconds=BUDGET_S)` (what `caedoctor run --diagnose always` does), seed 0; the diagnosis of its fit is
logged, one JSON line per case, to the log given (resumable: cases already in it are skipped).

    python bench/families/run.py SPLIT --log runs/families/SPLIT.jsonl [--cases a,b]
    python bench/families/run.py SPLIT --score runs/families/SPLIT.jsonl

**Scores** (against `ground_truth/verdicts_<split>.json`; causes held = confirmed or certain):
- recall per cause: of the cases whose injected fault is real, those where caedoctor holds it (or an
  `ALSO_ACCEPTABLE` name for the same defect);
- precision: of the VAE and denoising causes held on fault cases whose ground truth is decided, those that are
  the injected, real fault; a held cause on a case whose fault is ambiguous is left out;
- controls: healthy programs that train (relative MSE below 1 in every seed) with no cause confirmed at all.
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
sys.path.insert(0, str(HERE))
import families as F  # noqa: E402

BUDGET_S = 180
TIMEOUT_S = 1200
# Another name for the same defect: a log-variance driven to overflow by the rate is also the rate's fault.
ALSO_ACCEPTABLE = {"log_variance_overflow": ("learning_rate_too_high",)}
TARGETS = {"recall": 0.90, "precision": 0.90, "controls": 0.95}

_WRAPPER = r'''
import json, os, runpy, sys, time
import caedoctor
out, script = sys.argv[1], sys.argv[2]
caedoctor.autolog(diagnose="always", budget_seconds=float(sys.argv[3]))
t0 = time.time()
runpy.run_path(script, run_name="__main__")
caedoctor.autolog(disable=True)
d = caedoctor.last_diagnosis()
record = {"seconds": round(time.time() - t0, 1)}
if d is None:
    record["error"] = "no diagnosis"
else:
    record.update(verdict=d.verdict, partial=bool(d.partial),
                  findings=[{"code": f.code, "cause": f.cause, "status": f.status} for f in d.findings])
with open(out, "w") as f:
    json.dump(record, f)
'''


def _code_version() -> str:
    """The commit caedoctor ran at, `-dirty` when `src/` differs from it (the ground-truth records beside it
    grow while a run goes on, so the whole tree's state says nothing about the code)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=F.ROOT).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "src"], cwd=F.ROOT).returncode != 0
        return head + ("-dirty" if dirty else "") if head else "unknown"
    except OSError:
        return "unknown"


def run_case(case: F.Case) -> dict:
    folder = F.materialized(case)
    out = folder / "diagnosis.json"
    out.unlink(missing_ok=True)
    env = {**os.environ, "CASE_SEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    t0 = time.time()
    try:
        done = subprocess.run([sys.executable, "-c", _WRAPPER, str(out), str(folder / "case.py"), str(BUDGET_S)],
                              capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
        record = json.loads(out.read_text()) if out.exists() else {"error": done.stderr[-400:]}
    except subprocess.TimeoutExpired:
        record = {"error": f"timed out after {TIMEOUT_S} s"}
    return {"case_id": case.case_id, "split": case.split, "family": case.family, "cause": case.cause,
            "severity": case.severity, "code": _code_version(), "wall_s": round(time.time() - t0, 1), **record}


def held(record: dict) -> set:
    return {f["cause"] for f in record.get("findings", []) if f["status"] in ("confirmed", "certain")}


def score(split: str, log: Path) -> dict:
    truth = json.loads((HERE / "ground_truth" / f"verdicts_{split}.json").read_text())["cases"]
    records = {r["case_id"]: r for r in map(json.loads, log.read_text().splitlines())}
    per_cause = {c: {"real": 0, "found": 0, "cases": []} for c in F.CAUSES}
    tp = fp = 0
    controls = {"total": 0, "clean": 0, "cases": []}
    missing = []
    for cid, t in truth.items():
        r = records.get(cid)
        if r is None:
            missing.append(cid)
            continue
        got = held(r)
        if t["cause"] is None:
            if t.get("trains"):
                controls["total"] += 1
                controls["clean"] += not got
                controls["cases"].append((cid, sorted(got)))
            continue
        verdict = t["verdict"]["verdict"]
        names = {t["cause"], *ALSO_ACCEPTABLE.get(t["cause"], ())}
        if verdict == "real":
            entry = per_cause[t["cause"]]
            entry["real"] += 1
            entry["found"] += bool(got & names)
            entry["cases"].append((cid, bool(got & names), sorted(got)))
        family_held = got & set(F.CAUSES)
        if verdict in ("real", "not_real"):
            for cause in family_held:
                if cause == t["cause"] and verdict == "real":
                    tp += 1
                else:
                    fp += 1
    real = sum(e["real"] for e in per_cause.values())
    found = sum(e["found"] for e in per_cause.values())
    return {"recall": found / real if real else None, "found": found, "real": real,
            "precision": tp / (tp + fp) if tp + fp else None, "tp": tp, "fp": fp,
            "controls": controls["clean"] / controls["total"] if controls["total"] else None,
            "controls_detail": controls, "per_cause": per_cause, "missing": missing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("split", choices=F.SPLITS)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--score", type=Path)
    parser.add_argument("--cases", default="")
    args = parser.parse_args()
    if args.score:
        s = score(args.split, args.score)
        print(f"recall {s['recall']} ({s['found']}/{s['real']}), precision {s['precision']} ({s['tp']}/"
              f"{s['tp'] + s['fp']}), controls clean {s['controls']} ({s['controls_detail']['clean']}/"
              f"{s['controls_detail']['total']}); targets {TARGETS}; cases without a record: {len(s['missing'])}")
        for cause, e in s["per_cause"].items():
            print(f"  {cause:28s} {e['found']}/{e['real']}  " + " ".join(
                f"{cid}{'' if ok else '(missed: ' + ','.join(h) + ')'}" for cid, ok, h in e["cases"]))
        for cid, got in s["controls_detail"]["cases"]:
            if got:
                print(f"  control {cid} holds {', '.join(got)}")
        return
    if args.log is None:
        parser.error("--log is required to run")
    done = set()
    if args.log.exists():
        done = {json.loads(line)["case_id"] for line in args.log.read_text().splitlines() if line.strip()}
    args.log.parent.mkdir(parents=True, exist_ok=True)
    wanted = set(filter(None, args.cases.split(",")))
    for i in range(F.n_cases(args.split)):
        case = F.draw_case(args.split, i)
        if case.case_id in done or (wanted and case.case_id not in wanted):
            continue
        record = run_case(case)
        with args.log.open("a") as f:
            f.write(json.dumps(record) + "\n")
        print(case.case_id, case.cause or "healthy", record.get("verdict"), sorted(held(record)),
              record.get("error", ""), f"{record['wall_s']} s", flush=True)


if __name__ == "__main__":
    main()
