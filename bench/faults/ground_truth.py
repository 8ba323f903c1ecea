"""Ground truth for the fault benchmark: is each injected fault real?

For every case of bench/faults/cases.py this trains the faulty set-up and the fixed one with plain Keras
(`model.fit` on numpy batches; none of caedoctor's probes, monitor or pipelines) for a longer budget than
a diagnosis probe (default 64,000 training samples = 2,000 steps of batch 32, 4x the probe's 500 steps),
from the same seed, and scores both on the same validation images by relative MSE (MSE over the targets'
per-pixel variance around the mean image: 1.0 = "no better than predicting the mean image", as
caedoctor.losses.reconstruction_metrics defines it).

A cause is **real** when putting that one fault into the otherwise fixed set-up makes the relative MSE
worse by more than `margin` = max(15%, 3 x the seed-to-seed difference of the fixed set-up, seeds 0 and 1),
or makes training impossible (an error, or a NaN loss) while the fixed set-up trains. For a one-fault case
"that one fault" is the faulty set-up; for a two-fault case each fault is measured alone (all the other
fixes applied), and the fully faulty run is recorded too.

A batch-size case compares at an equal number of training *samples* (a batch of 256 takes 8x fewer steps),
which is what the same compute buys. A cause listed in `case.static` (bottleneck_bypass) has a static
ground truth: a bypass makes the reconstruction loss *easier* to lower, so "the fix lowers the loss" is no
test of it; both runs are still recorded, and the case is scored on whether the diagnosis reports it.

    .venv/bin/python bench/faults/ground_truth.py                          # all cases, 2 workers
    .venv/bin/python bench/faults/ground_truth.py --cases nan_cifar,lr_low_adam_cifar --workers 1
    KERAS_BACKEND=jax python3 bench/faults/ground_truth.py --workers 10 --steps-per-execution 25

Writes runs/bench-faults/ground_truth_runs.jsonl (one line per training run, appended as they finish) and
bench/faults/ground_truth.json (the per-case verdicts, committed). `--aggregate` rebuilds the JSON from the
runs file alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cases as K  # noqa: E402

RUNS = K.ROOT / "runs" / "bench-faults" / "ground_truth_runs.jsonl"
OUT = HERE / "ground_truth.json"
REFERENCE_BATCH = 32
DEFAULT_STEPS = 2000  # 4x caedoctor's DEFAULT_STEPS (500)
MIN_MARGIN = 0.15
NOISE_K = 3.0
CHUNK_SAMPLES = 8000  # one `fit` call per chunk: the curve gets a point per chunk


def tasks_for(case, seeds_fixed=(0, 1)) -> list:
    """(case_id, label, fixed causes, seed) for every run the case needs."""
    if case.healthy:
        return [(case.id, f"healthy_s{s}", (), s) for s in seeds_fixed]
    out = [(case.id, "faulty", (), 0)]
    out += [(case.id, f"fixed_s{s}", tuple(case.injected), s) for s in seeds_fixed]
    if len(case.injected) > 1:
        for c in case.injected:
            out.append((case.id, f"only_{c}", tuple(x for x in case.injected if x != c), 0))
    return out


def relative_mse(model, x, y, batch: int = 256) -> float:
    import numpy as np

    sq, n = 0.0, 0
    for i in range(0, len(x), batch):
        p = np.asarray(model.predict_on_batch(x[i:i + batch]), dtype=np.float64)
        t = y[i:i + batch].astype(np.float64)
        sq += float(np.sum(np.square(p - t)))  # broadcasts a 1-channel output against RGB, as Keras' MSE does
        n += np.broadcast_shapes(p.shape, t.shape)[0] * int(np.prod(np.broadcast_shapes(p.shape, t.shape)[1:]))
    mse = sq / n
    variance = float(np.mean(y.astype(np.float64).var(axis=0)))
    return mse / variance if math.isfinite(mse) else math.inf


def train_one(task, samples: int, steps_per_execution: int = 1) -> dict:
    """Train one variant with plain Keras and score it. Returns a JSON-able dict."""
    import keras
    import numpy as np

    case_id, label, fixed, seed = task
    case = K.BY_ID[case_id]
    start = time.perf_counter()
    variant = case.variant(fixed)
    (xt, yt), (xv, yv) = variant.data.splits()
    keras.utils.set_random_seed(seed)
    model = variant.model()
    if steps_per_execution > 1:  # fewer host round trips on an accelerator; the same maths
        model.compile(optimizer=model.optimizer, loss=model.loss, steps_per_execution=steps_per_execution)
    bs = variant.batch_size
    steps = max(1, samples // bs)
    rng = np.random.default_rng(seed)
    reps = steps * bs // len(xt) + 1
    order = np.concatenate([rng.permutation(len(xt)) for _ in range(reps)])[: steps * bs]
    chunk = max(1, min(steps, CHUNK_SAMPLES // bs))
    curve, val_curve, status, error = [], [], "ok", ""
    try:
        for first in range(0, steps, chunk):
            n = min(chunk, steps - first)
            idx = order[first * bs:(first + n) * bs]
            hist = model.fit(xt[idx], yt[idx], batch_size=bs, epochs=1, shuffle=False, verbose=0)
            loss = float(hist.history["loss"][-1])
            curve.append(loss)
            if not math.isfinite(loss):
                status = "nan"
                break
            val_curve.append(relative_mse(model, xv, yv))
    except Exception as exc:  # e.g. output 32x32 vs target 28x28: plain Keras refuses to train
        status, error = "error", f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
    rel = None
    if status == "ok":
        rel = val_curve[-1] if val_curve else None
        if rel is None or not math.isfinite(rel):
            status, rel = "nan", None
    return {"case": case_id, "label": label, "fixed": list(fixed), "seed": seed, "batch_size": bs,
            "steps": steps, "samples": steps * bs, "train_images": int(len(xt)), "val_images": int(len(xv)),
            "data": variant.data.name, "status": status, "error": error, "relative_mse": rel,
            "loss_curve": curve, "val_curve": val_curve, "seconds": round(time.perf_counter() - start, 2),
            "backend": keras.backend.backend()}


def _worker_init():
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


def _run_task(args):
    task, samples, spe = args
    try:
        return train_one(task, samples, spe)
    except Exception as exc:  # never lose the pool to one case
        case_id, label, fixed, seed = task
        return {"case": case_id, "label": label, "fixed": list(fixed), "seed": seed, "status": "crash",
                "error": f"{type(exc).__name__}: {exc}"[:400], "relative_mse": None}


def _cost(task) -> float:
    case = K.BY_ID[task[0]]
    bs = case.variant(task[2]).batch_size
    return 32.0 / bs + (3 if "p32" in case.id else 0)


# ---------------------------------------------------------------------------------------------- verdicts

def judge(case, runs: dict) -> dict:
    """Per-cause ground truth from the runs of one case (label -> run dict)."""
    out = {"id": case.id, "dataset": case.dataset, "injected": list(case.injected), "fixes": case.fixes,
           "runs": {k: {f: v.get(f) for f in ("relative_mse", "status", "error", "steps", "batch_size",
                                                "samples", "train_images", "val_images", "seconds")}
                    for k, v in sorted(runs.items())}}
    if case.healthy:
        rels = [runs[k]["relative_mse"] for k in runs if runs[k].get("relative_mse") is not None]
        out["healthy_relative_mse"] = rels[0] if rels else None
        out["converges"] = bool(rels) and all(r < 0.25 for r in rels)
        return out
    fixed = [runs.get(f"fixed_s{s}", {}) for s in (0, 1)]
    f0, f1 = (r.get("relative_mse") for r in fixed)
    noise = abs(f0 - f1) / max(f0, f1) if f0 is not None and f1 is not None and max(f0, f1) > 0 else None
    margin = max(MIN_MARGIN, NOISE_K * noise) if noise is not None else MIN_MARGIN
    out.update(fixed_relative_mse=f0, fixed_seed1_relative_mse=f1, seed_noise=noise, margin=margin,
               faulty_relative_mse=runs.get("faulty", {}).get("relative_mse"),
               faulty_status=runs.get("faulty", {}).get("status"))
    causes = {}
    for c in case.injected:
        with_fault = runs.get("faulty" if len(case.injected) == 1 else f"only_{c}", {})
        w, status = with_fault.get("relative_mse"), with_fault.get("status")
        entry = {"with_fault_relative_mse": w, "with_fault_status": status, "fixed_relative_mse": f0}
        if c in case.static:
            entry.update(real="static", why="a bypass makes the loss easier to lower; scored on being reported")
        elif fixed[0].get("status") != "ok":
            entry.update(real=False, why=f"the fixed set-up does not train either ({fixed[0].get('status')})")
        elif status in ("error", "nan"):
            entry.update(real=True, impossible=True,
                         why=f"training is impossible with the fault ({status}: {with_fault.get('error') or 'NaN loss'})")
        elif w is not None and f0 is not None and w > f0 * (1 + margin):
            entry.update(real=True, why=f"relative MSE {w:.4g} with the fault vs {f0:.4g} fixed "
                                        f"({w / f0:.2f}x, margin {1 + margin:.2f}x)")
        else:
            ratio = f"{w / f0:.2f}x" if (w is not None and f0) else "n/a"
            entry.update(real=False, why=f"relative MSE {w} with the fault vs {f0} fixed ({ratio}, needs > "
                                         f"{1 + margin:.2f}x): the fix does not clearly help")
        causes[c] = entry
    out["causes"] = causes
    return out


def aggregate(runs_path: Path = RUNS, meta: dict | None = None) -> dict:
    by_case: dict = {}
    for line in runs_path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            by_case.setdefault(r["case"], {})[r["label"]] = r  # a later run of the same label wins
    cases = [judge(c, by_case[c.id]) for c in K.CASES if c.id in by_case]
    first = next((r for runs in by_case.values() for r in runs.values() if r.get("backend")), {})
    doc = {
        "description": "Plain-Keras runs with and without each fix, same seed; see bench/faults/ground_truth.py",
        "samples_per_run": first.get("samples") if first.get("batch_size") == REFERENCE_BATCH else None,
        "reference_steps": DEFAULT_STEPS,
        "margin_rule": f"real if relative MSE with the fault > fixed x (1 + max({MIN_MARGIN}, {NOISE_K} x seed noise)), "
                       "or training impossible with it; static causes scored on being reported",
        "backend": first.get("backend"),
        **(meta or {}),
        "cases": cases,
    }
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case ids (default: all)")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="steps of batch 32 per run (sets the sample budget)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--runs-file", default=str(RUNS))
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--aggregate", action="store_true", help="only rebuild the JSON from the runs file")
    parser.add_argument("--machine", default="", help="a note on where the runs ran, stored in the JSON")
    args = parser.parse_args()
    runs_path = Path(args.runs_file)
    if not args.aggregate:
        samples = args.steps * REFERENCE_BATCH
        for c in K.select(args.cases):  # decode and cache the data once, before the workers start
            c.variant(()).data.splits()
        tasks = sorted([t for c in K.select(args.cases) for t in tasks_for(c)], key=_cost, reverse=True)
        runs_path.parent.mkdir(parents=True, exist_ok=True)
        print(f"{len(tasks)} runs, {samples} samples each, {args.workers} workers", flush=True)
        start = time.perf_counter()
        jobs = [(t, samples, args.steps_per_execution) for t in tasks]
        if args.workers <= 1:
            results = map(_run_task, jobs)
        else:
            import multiprocessing as mp

            pool = mp.get_context("spawn").Pool(args.workers, initializer=_worker_init)
            results = pool.imap_unordered(_run_task, jobs)
        with runs_path.open("a") as fh:
            for r in results:
                fh.write(json.dumps(r) + "\n")
                fh.flush()
                print(f"[{time.perf_counter() - start:7.1f}s] {r['case']:28s} {r['label']:36s} {r['status']:5s} "
                      f"rel={r.get('relative_mse')} ({r.get('seconds')} s) {r.get('error', '')[:80]}", flush=True)
    meta = {"machine": args.machine or f"{platform.node()} ({os.cpu_count()} CPUs)"}
    doc = aggregate(runs_path, meta)
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    real = [(c["id"], k, v["real"]) for c in doc["cases"] for k, v in c.get("causes", {}).items()]
    print(f"wrote {args.out}: {len(doc['cases'])} cases; causes real: "
          f"{sum(r is True for *_, r in real)}, not real: {sum(r is False for *_, r in real)}, "
          f"static: {sum(r == 'static' for *_, r in real)}")
    for cid, cause, r in real:
        print(f"  {cid:28s} {cause:28s} {r}")


if __name__ == "__main__":
    main()
