"""What a diagnosis costs next to the training it is about (issue 27): on the same generated cases, in one
process each, a plain Keras `fit` of 500 steps of the case's own model and data, then the full diagnosis,
then `--quick`.

The plain fit is what a user runs: `build_model(input_shape)` from the case's `case.py` (compiled with their
optimizer and loss), `model.fit(x, y, batch_size=B, epochs=1, steps_per_epoch=500)` on the training part of the
data, repeated (`tf.data`, shuffled), with no callbacks and no validation; timed from the call to its return
(tracing included, as the user waits for it). The diagnosis is `caedoctor.diagnose(...)` exactly as
bench/generated/run.py calls it (default budget), timed the same way; `--quick` likewise. The ratio the issue
bounds (at most 3x in the median case; 2x is the floor, a baseline and one counterfactual) is diagnosis
seconds / plain-fit seconds per case. Run on a quiet machine: other CPU work changes all three timings.

    .venv/bin/python bench/time/side_by_side.py --split dev --cases 0-19 --out bench/time/results_dev.jsonl
    .venv/bin/python bench/time/side_by_side.py --report bench/time/results_dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "bench" / "generated"))

PLAIN_STEPS = 500


def child(folder: Path) -> dict:
    """Time the three runs of one case in this process (the parent starts one process per case)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import importlib.util

    import numpy as np
    import tensorflow as tf

    import caedoctor

    doc = json.loads((folder / "case.json").read_text())
    batch = int(doc["batch_size"])
    with np.load(folder / "data.npz") as archive:
        x = archive["x"]
        y = archive["y"] if "y" in archive.files else x
    n_train = int(round(0.9 * len(x)))  # the case's 90/10 split (caedoctor's, copied by the generator)
    spec = importlib.util.spec_from_file_location("case", folder / "case.py")
    case = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(case)
    out = {"id": doc["id"], "batch_size": batch, "train_images": n_train}

    tf.keras.utils.set_random_seed(0)
    model = case.build_model(x.shape[1:])
    ds = tf.data.Dataset.from_tensor_slices((x[:n_train], y[:n_train])).shuffle(n_train, seed=0).repeat().batch(batch)
    start = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=PLAIN_STEPS, verbose=0)
    out["plain_fit_s"] = round(time.perf_counter() - start, 2)

    model_arg, data_arg = f"{folder / 'case.py'}:build_model", str(folder / "data.npz")
    for mode in ("full", "quick"):
        start = time.perf_counter()
        d = caedoctor.diagnose(model_arg, data_arg, config_overrides={"batch_size": batch}, seed=0,
                               quick=(mode == "quick"))
        out[f"{mode}_s"] = round(time.perf_counter() - start, 2)
        if mode == "full":
            out["verdict"], out["partial"] = d.verdict, d.partial
            out["probes"] = len(d.timings.get("probes", []))
    out["load"] = [round(v, 2) for v in os.getloadavg()[:3]]
    return out


def report(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "full_s" in r]
    if not rows:
        print("no rows")
        return
    ratios = sorted(r["full_s"] / r["plain_fit_s"] for r in rows)
    full = sorted(r["full_s"] for r in rows)
    quick = sorted(r["quick_s"] for r in rows)

    def p90(v):
        return v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))]

    print(f"{len(rows)} cases; full diagnosis median {statistics.median(full):.1f} s, 90th percentile {p90(full):.1f} s; "
          f"--quick median {statistics.median(quick):.1f} s; plain fit of {PLAIN_STEPS} steps median "
          f"{statistics.median(r['plain_fit_s'] for r in rows):.1f} s")
    print(f"full diagnosis / plain fit: median {statistics.median(ratios):.2f}x, 90th percentile {p90(ratios):.2f}x, "
          f"max {max(ratios):.2f}x; partial {sum(bool(r.get('partial')) for r in rows)}/{len(rows)}")


def main(argv=None) -> int:
    import generate as G
    import run as R

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev")
    parser.add_argument("--cases", default="0-19")
    parser.add_argument("--out", default=str(HERE / "results_dev.jsonl"))
    parser.add_argument("--report", help="print the figures of a results file; run nothing")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(Path(args.child))))
        return 0
    if args.report:
        report(Path(args.report))
        return 0
    if G.is_test(args.split):
        print("side_by_side.py: the development split only (a test split reports once, from run.py)", file=sys.stderr)
        return 2
    out = Path(args.out)
    done = {json.loads(line)["id"] for line in out.read_text().splitlines() if line.strip()} if out.is_file() else set()
    for index in R.select(args.split, args.cases, None, None):
        if G.draw_case(args.split, index).id in done:
            continue
        folder = G.materialize(args.split, index, allow_sweep=False)
        proc = subprocess.run([sys.executable, __file__, "--child", str(folder)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{folder.name}: failed: {proc.stderr[-400:]}", file=sys.stderr)
            continue
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        with out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"{row['id']}: plain fit {row['plain_fit_s']} s, full {row['full_s']} s "
              f"({row['full_s'] / row['plain_fit_s']:.2f}x), quick {row['quick_s']} s", flush=True)
    report(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
