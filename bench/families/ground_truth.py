"""Ground truth for the VAE and denoising cases: is each injected fault real at the end of the user's training?
Plain Keras only (nothing here imports caedoctor).

Each case's program with its fault (`case.py`) and without it (`fixed.py`) is run as written, to its own last
epoch (the user's horizon), in its own process, for the seeds `SEEDS` (`CASE_SEED`), and scored on the case's
held-out clean images (`val.npz`, never given to `fit`):

- a VAE: the relative MSE of `decoder(z_mean)` (1.0 = predicting the mean image), and the KL divergence from
  the prior per image (nats);
- a denoising CAE: the relative MSE of its output for the held-out images with the case's noise added (one
  fixed draw) against the clean images.

The fault is **real** by `bench/generated/ground_truth.classify` (the generated benchmark's rule: every seed's
error with the fault above the fixed program's by more than max(10%, the fixed seeds' spread)), on relative
MSE, except `kl_weight_frozen`, whose harm is not in the reconstruction: a warm-up that never reaches the
traced step leaves the KL weight at 0, the code unregularised and the KL per image far above the fixed
program's. It is judged by the same rule on the KL per image. A fault whose fixed program does not train in
every seed (relative MSE 1 or more: the base collapses on its own) is `invalid`, left out like an ambiguous one.

    python bench/families/ground_truth.py SPLIT [--cases a,b] [--shard i/n]   # runs, resumable
    python bench/families/ground_truth.py SPLIT --aggregate                  # verdicts_<split>.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "generated"))
import families as F  # noqa: E402

SEEDS = (0, 1, 2)
RUNS = HERE / "ground_truth" / "runs.jsonl"
TIMEOUT_S = 900

_SCORE = r'''
import json, math, os, runpy, sys
import numpy as np
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
folder, script, noise = sys.argv[1], sys.argv[2], float(sys.argv[3])
out = {"status": "ok"}
try:
    g = runpy.run_path(script, run_name="__main__")
    val = np.load(os.path.join(folder, "val.npz"))["x"].astype(np.float32)
    losses = g["history"].history.get("loss", [])
    if losses and not math.isfinite(losses[-1]):
        out["status"] = "nan"
    if "vae" in g:
        mean, log_var, _ = g["vae"].encoder.predict(val, verbose=0)
        rec = g["vae"].decoder.predict(mean, verbose=0)
        kl = -0.5 * (1 + log_var - np.square(mean) - np.exp(np.minimum(log_var, 80.0)))
        out["kl"] = float(np.mean(np.sum(kl, axis=1)))
    else:
        noisy = val + noise * np.random.default_rng(123).standard_normal(val.shape).astype(np.float32)
        rec = g["model"].predict(noisy, verbose=0)
    mse = float(np.mean(np.square(rec.astype(np.float64) - val)))
    out["relative_mse"] = mse / float(np.mean(val.astype(np.float64).var(axis=0))) if math.isfinite(mse) else None
    if out["relative_mse"] is None:
        out["status"] = "nan"
except Exception as exc:
    out = {"status": "error", "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
print("SCORE " + json.dumps(out))
'''


def _done(retry_timeouts: bool = False) -> set:
    """The runs recorded. With `retry_timeouts`, a run recorded as timed out is not done: run it again (the
    later record replaces it in `aggregate`). A timeout says as much about the machine as about the program
    (a VM paused mid-run, another process beside it), so it is never a verdict on its own."""
    if not RUNS.exists():
        return set()
    keys = set()
    for line in RUNS.read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if retry_timeouts and str(r.get("error", "")).startswith("timed out"):
            continue
        keys.add((r["case_id"], r["variant"], r["seed"], r["version"]))
    return keys


def run_one(case: F.Case, variant: str, seed: int) -> dict:
    folder = F.materialized(case)
    script = folder / ("case.py" if variant == "faulty" else "fixed.py")
    env = {**os.environ, "CASE_SEED": str(seed), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
    t0 = time.time()
    try:
        done = subprocess.run([sys.executable, "-c", _SCORE, str(folder), str(script),
                               str(case.faulty.get("noise", 0.0))], capture_output=True, text=True, env=env,
                              timeout=TIMEOUT_S)
        lines = [l for l in done.stdout.splitlines() if l.startswith("SCORE ")]
        result = json.loads(lines[-1][6:]) if lines else {"status": "error",
                                                          "error": (done.stderr or "no score")[-300:]}
    except subprocess.TimeoutExpired:
        result = {"status": "error", "error": f"timed out after {TIMEOUT_S} s"}
    return {"case_id": case.case_id, "split": case.split, "variant": variant, "seed": seed,
            "version": F.FAMILIES_VERSION, "seconds": round(time.time() - t0, 1), **result}


def plan(split: str, cases=None, shard=(0, 1)) -> list:
    todo = []
    for i in range(F.n_cases(split)):
        case = F.draw_case(split, i)
        if cases and case.case_id not in cases:
            continue
        if i % shard[1] != shard[0]:
            continue
        for variant in (("faulty", "fixed") if case.cause else ("faulty",)):
            for seed in SEEDS:
                todo.append((case, variant, seed))
    return todo


def _generated_classify():
    """`classify` of bench/generated/ground_truth.py (loaded by path: this module has the same name)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("generated_ground_truth", HERE.parent / "generated" / "ground_truth.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.classify


def aggregate(split: str) -> dict:
    classify = _generated_classify()

    runs: dict = {}
    for line in RUNS.read_text().splitlines() if RUNS.exists() else []:
        r = json.loads(line)
        if r["split"] == split and r["version"] == F.FAMILIES_VERSION:
            runs.setdefault(r["case_id"], {}).setdefault(r["variant"], {})[r["seed"]] = r
    out = {}
    for i in range(F.n_cases(split)):
        case = F.draw_case(split, i)
        got = runs.get(case.case_id, {})
        variants = ("faulty", "fixed") if case.cause else ("faulty",)
        if any(len(got.get(v, {})) < len(SEEDS) for v in variants):
            continue
        entry = {"family": case.family, "cause": case.cause, "severity": case.severity,
                 "runs": {v: [got[v][s] for s in SEEDS] for v in variants}}
        faulty = entry["runs"]["faulty"]
        if case.cause is None:
            entry["trains"] = all(r["status"] == "ok" and r["relative_mse"] is not None and r["relative_mse"] < 1
                                  for r in faulty)
        else:
            metric = "kl" if case.cause == "kl_weight_frozen" else "relative_mse"

            def on(rs):
                return [{"status": r["status"] if (r.get(metric) is not None and math.isfinite(r[metric]))
                         else ("nan" if r["status"] == "ok" else r["status"]), "relative_mse": r.get(metric)}
                        for r in rs]

            entry["metric"] = metric
            entry["verdict"] = classify(on(faulty), on(entry["runs"]["fixed"]))
            fixed_rel = [r.get("relative_mse") for r in entry["runs"]["fixed"]]
            if not all(isinstance(v, float) and v < 1 for v in fixed_rel):  # the fix itself does not train
                entry["verdict"] = {**entry["verdict"], "verdict": "invalid", "why": (
                    "the fixed program does not train in every seed (relative MSE "
                    f"{[None if v is None else round(v, 3) for v in fixed_rel]}): no reference to judge the fault by")}
        out[case.case_id] = entry
    path = HERE / "ground_truth" / f"verdicts_{split}.json"
    path.write_text(json.dumps({"split": split, "version": F.FAMILIES_VERSION, "seeds": list(SEEDS),
                                "cases": out}, indent=1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("split", choices=F.SPLITS)
    parser.add_argument("--cases", default="")
    parser.add_argument("--shard", default="0/1")
    parser.add_argument("--aggregate", action="store_true")
    parser.add_argument("--retry-timeouts", action="store_true",
                        help="run again the runs recorded as timed out (the later record replaces the earlier)")
    args = parser.parse_args()
    if args.aggregate:
        verdicts = aggregate(args.split)
        for cid, e in verdicts.items():
            v = e.get("verdict", {})
            print(cid, e["family"], e["cause"] or "healthy", e["severity"] or "",
                  v.get("verdict", "trains" if e.get("trains") else "does not train"),
                  [round(x, 4) if isinstance(x, float) else x for x in v.get("with_fault", [])],
                  [round(x, 4) if isinstance(x, float) else x for x in v.get("fixed", [])])
        return
    shard = tuple(int(p) for p in args.shard.split("/"))
    done = _done(args.retry_timeouts)
    todo = [t for t in plan(args.split, set(filter(None, args.cases.split(","))), shard)
            if (t[0].case_id, t[1], t[2], F.FAMILIES_VERSION) not in done]
    RUNS.parent.mkdir(parents=True, exist_ok=True)
    for n, (case, variant, seed) in enumerate(todo, 1):
        record = run_one(case, variant, seed)
        with RUNS.open("a") as f:
            f.write(json.dumps(record) + "\n")
        print(f"[{n}/{len(todo)}] {case.case_id} {case.cause or 'healthy'} {variant} seed {seed}: "
              f"{record['status']} {record.get('relative_mse')} kl {record.get('kl')} ({record['seconds']} s)",
              flush=True)


if __name__ == "__main__":
    main()
