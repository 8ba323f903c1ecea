"""The field notes' three CAEs diagnosed here and with `--executor ray`: the same verdicts and confirmed causes?
And how long each took (the speed-up on this machine, whatever it is). Issue 30.

    .venv/bin/python bench/ray/presets.py [--data bundled:patches32] [--budget 0] [--out runs/ray/presets.json]

Each preset is diagnosed with the same seed, first in this process (jobs 1, one probe after another), then
with the counterfactual probes as Ray tasks on a local Ray (RAY_ADDRESS: a cluster) started once for all
three; with no time budget by default, so that neither run leaves a probe out for lack of time (a budget
makes what is tested depend on speed, and so the two runs could differ for that reason alone). Prints one row
per preset and writes the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import caedoctor
from caedoctor.probing.executors import RayExecutor

PRESETS = ("preset:seed_bad", "preset:seed_better", "preset:seed_hyper_bad")


def summary(d) -> dict:
    return {"verdict": d.verdict, "confirmed": sorted(f"{f.code} {f.cause}" for f in d.findings if f.status == "confirmed"),
            "statuses": sorted(f"{f.code} {f.fix.kind if f.fix else ''} {f.status}" for f in d.findings),
            "elapsed_s": round(d.elapsed_s, 1), "counterfactual_s": round(d.timings["stages"].get("counterfactual probes", 0.0), 1),
            "probes": len(d.timings["probes"]), "ran_here": d.plan.get("ran_here", {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="bundled:patches32")
    parser.add_argument("--budget", type=float, default=0.0, help="seconds per diagnosis (0: no limit)")
    parser.add_argument("--out", default="runs/ray/presets.json")
    args = parser.parse_args()
    budget = args.budget or None
    rows = []
    executor = RayExecutor()
    try:
        for preset in PRESETS:
            here = caedoctor.diagnose(preset, args.data, progress=None, budget_seconds=budget)
            there = caedoctor.diagnose(preset, args.data, progress=None, budget_seconds=budget, executor=executor)
            row = {"preset": preset, "here": summary(here), "ray": summary(there)}
            row["same"] = (row["here"]["verdict"] == row["ray"]["verdict"]
                           and row["here"]["statuses"] == row["ray"]["statuses"])
            rows.append(row)
            print(f"{preset:24s} here {row['here']['verdict']:15s} {row['here']['elapsed_s']:7.1f} s  "
                  f"ray {row['ray']['verdict']:15s} {row['ray']['elapsed_s']:7.1f} s  same: {row['same']}  "
                  f"confirmed {row['here']['confirmed']} / {row['ray']['confirmed']}", flush=True)
    finally:
        executor.close()
    doc = {"data": args.data, "budget_seconds": budget, "ray": executor.describe(), "rows": rows,
           "total_here_s": round(sum(r["here"]["elapsed_s"] for r in rows), 1),
           "total_ray_s": round(sum(r["ray"]["elapsed_s"] for r in rows), 1),
           "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"all same: {all(r['same'] for r in rows)}; total here {doc['total_here_s']} s, on Ray {doc['total_ray_s']} s")
    sys.exit(0 if all(r["same"] for r in rows) else 1)


if __name__ == "__main__":
    main()
