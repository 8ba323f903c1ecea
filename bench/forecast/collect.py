"""Collect the curves the horizon forecaster is proven on: caedoctor's own probes of generated development
cases, trained to the ground truth's horizon with the check-batch score every 50 steps.

For every selected case of a development split (`--split dev`; a test split is refused: the forecaster is
tuned here), the faulty program and its fixed variant are each probed once (seed 0) by caedoctor's own probe
runner (`caedoctor.probing.ProbeRunner`: the user's optimizer and loss, the diagnosis' check batch),
for the ground truth's horizon: 1,500 steps at the base's batch size, as many samples for a variant whose
batch size differs (a variant needing more than `--max-steps` steps is skipped and recorded as skipped).
One JSON line per probe goes to `bench/forecast/curves_<split>.jsonl` (append-only; a rerun skips what is
recorded), holding the check-batch curve [[step, relative_mse, dssim], ...], the final validation metrics and
the time it took. `evaluate.py` then fits the forecaster on each curve's first 500 steps and scores its
forecast of the value at the horizon.

    .venv/bin/python bench/forecast/collect.py --split dev --cases 0-149 --order shuffled
    nohup nice -n 10 .venv/bin/python bench/forecast/collect.py --split dev >> runs/forecast.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "bench" / "generated"))

import generate as G  # noqa: E402  (bench/generated)

GT_STEPS = 1500  # the ground truth's budget in steps of the base's batch size (bench/generated/README.md)


def _indices(text: str | None) -> list:
    if not text:
        return list(range(150))
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def recorded(path: Path) -> set:
    if not path.is_file():
        return set()
    done = set()
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            done.add((rec["case"], rec["label"]))
    return done


def probe_variant(folder: Path, doc: dict, label: str, max_steps: int) -> dict:
    """One probe of a case's variant to the horizon; its record."""
    import caedoctor
    from caedoctor.probing import ProbeRunner, probes
    from caedoctor.setup import Setup

    entry = doc["variants"][label]
    base_batch = int(doc["base"]["train"]["batch"])
    batch = int(entry["batch_size"])
    steps = int(round(GT_STEPS * base_batch / batch))
    rec = {"case": doc["id"], "label": label, "fixed": entry["fixed"], "injected": doc["injected"],
           "kind": doc["kind"], "batch_size": batch, "horizon_steps": steps}
    if steps > max_steps:
        return {**rec, "status": "skipped", "reason": f"{steps} steps to the horizon (> --max-steps {max_steps})"}
    data = caedoctor.load_data(str(folder / entry["data"]), seed=0)
    loaded = caedoctor.load_model(f"{folder / entry['model']}:build_model", data.input_shape, batch_size=batch)
    setup = Setup.of(loaded, data)
    runner = ProbeRunner.for_setup(setup, sequential=False)  # scored on the check batch, never stopped early
    start, cpu = time.perf_counter(), time.process_time()
    try:
        result = runner.probe(setup, steps=steps, seed=0, label=label)
    except Exception as exc:  # a set-up that cannot train is a record too
        return {**rec, "status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
    curve = [[s, v.get("relative_mse"), v.get("dssim")] for s, v in result.checkpoints]
    return {**rec, "status": "ok", "stopped": result.stopped, "steps_run": result.steps_run,
            "curve": [[s, probes.finite_or_none(r), probes.finite_or_none(d)] for s, r, d in curve],
            "final": {k: probes.finite_or_none(v) for k, v in result.metrics.items()},
            "seconds": round(time.perf_counter() - start, 2), "cpu_seconds": round(time.process_time() - cpu, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="dev")
    ap.add_argument("--cases", help="indices, e.g. 0-49,60 (default: all 150)")
    ap.add_argument("--order", choices=("index", "shuffled"), default="shuffled",
                    help="shuffled (seed 0): a partial collection is a random sample of the split")
    ap.add_argument("--labels", default="faulty,healthy,fixed")
    ap.add_argument("--max-steps", type=int, default=3000)
    ap.add_argument("--root", default=str(ROOT / "runs" / "generated"))
    ap.add_argument("--out")
    ap.add_argument("--shard", default="0/1")
    args = ap.parse_args(argv)
    if G.is_test(args.split):
        print(f"refused: {args.split} is a test split; the forecaster is proven on the development split only")
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    out = Path(args.out or HERE / f"curves_{args.split}.jsonl")
    done = recorded(out)
    indices = _indices(args.cases)
    if args.order == "shuffled":
        random.Random(0).shuffle(indices)
    k, n = (int(v) for v in args.shard.split("/"))
    indices = indices[k::n]
    labels = args.labels.split(",")
    for index in indices:
        try:
            folder = G.materialize(args.split, index, Path(args.root), allow_sweep=False)
        except Exception as exc:
            print(f"{args.split}-{index:03d}: not materialised ({type(exc).__name__}: {exc})", flush=True)
            continue
        doc = json.loads((folder / "case.json").read_text())
        for label in [lab for lab in labels if lab in doc["variants"]]:
            if (doc["id"], label) in done:
                continue
            rec = probe_variant(folder, doc, label, args.max_steps)
            rec["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            with out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            last = rec.get("curve", [[None, None]])[-1][1] if rec.get("curve") else None
            print(f"{doc['id']} {label}: {rec['status']} {rec.get('stopped', '')} end {last} "
                  f"({rec.get('seconds')} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
