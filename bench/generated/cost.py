"""What the generated benchmark's ground truth costs on this machine: seconds per run, and the projection.

    .venv/bin/python bench/generated/cost.py --cases dev-142,test-081 --threads 1    # 3 seeds of each case's fixed variant
    .venv/bin/python bench/generated/cost.py --cases dev-003 --per-step --threads 2  # ms per step after tracing
    .venv/bin/python bench/generated/cost.py --project                               # from ground_truth/runs.jsonl
    .venv/bin/python bench/generated/cost.py --project --split test5                 # ... and one split's projection

A case is materialised first (running its learning-rate sweep if none is recorded, as the ground truth
would). Wall seconds are what the process got of the machine; CPU seconds are its own (all threads).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import generate as G  # noqa: E402
import ground_truth as GT  # noqa: E402
import sources  # noqa: E402
import space  # noqa: E402


def _load() -> str:
    return open("/proc/loadavg").read().split()[0] if Path("/proc/loadavg").is_file() else "?"


def _variant(case_id: str):
    import training

    split, index = case_id.split("-")
    folder = G.materialize(split, int(index))
    case = json.loads((folder / "case.json").read_text())
    v = case["variants"]["healthy" if case["kind"] == "healthy" else "fixed"]
    x, y = training.load_npz(folder / v["data"])
    _, val = sources.split(*training.load_npz(folder / v["score_data"]))
    return case, v, folder, x, y, val


def runs(case_ids: list) -> None:
    import keras

    import training

    for case_id in case_ids:
        case, v, folder, x, y, val = _variant(case_id)
        keras.backend.clear_session()
        program = training.Program(training.load_factory(folder / v["model"]), x.shape[1:])
        for seed in GT.SEEDS:
            r = program.run(x, y, val, seed=seed, samples=case["budget_samples"], batch_size=v["batch_size"])
            print(json.dumps({"case": case_id, "seed": seed, "macs_per_sample": space.macs_per_sample(case["base"]),
                              "batch": v["batch_size"], "steps": r["steps"], "wall_s": r["seconds"],
                              "cpu_s": r["cpu_seconds"], "relative_mse": r["relative_mse"], "load": _load()}), flush=True)


def per_step(case_ids: list, steps: int = 500) -> None:
    import keras
    import numpy as np

    import training

    for case_id in case_ids:
        case, v, folder, x, y, val = _variant(case_id)
        (xt, yt), _ = sources.split(x, y)
        b = v["batch_size"]
        keras.utils.set_random_seed(0)
        model = training.load_factory(folder / v["model"])(x.shape[1:])
        model.compile(optimizer=model.optimizer, loss=model.loss, steps_per_execution=training.STEPS_PER_EXECUTION)
        idx = np.arange(steps * b) % len(xt)
        warm = idx[: 2 * training.STEPS_PER_EXECUTION * b]
        t, c = time.perf_counter(), time.process_time()
        model.fit(xt[warm], yt[warm], batch_size=b, verbose=0, shuffle=False)
        trace_wall, trace_cpu = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        model.fit(xt[idx], yt[idx], batch_size=b, verbose=0, shuffle=False)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        print(f"{case_id}: trace + {len(warm) // b} steps {trace_wall:.2f} s wall ({trace_cpu:.2f} s CPU); {steps} steps "
              f"{wall / steps * 1000:.2f} ms/step wall, {cpu / steps * 1000:.2f} ms/step CPU; load {_load()}", flush=True)


def cpu_by_slot(done: dict) -> dict:
    """Mean CPU seconds per recorded run, by the fault slots of its case ((cause, severity); "healthy" for a
    control): a batch-2 fault trains 12,000 steps, so the mix of causes moves a split's cost."""
    per: dict = {}
    for (_, split, case, _, _), r in done.items():
        if split in G.SPLITS and r.get("cpu_seconds") is not None:
            draw = G.draw_case(split, int(case.rsplit("-", 1)[1]))
            for key in draw.faults or ("healthy",):
                per.setdefault(key, []).append(r["cpu_seconds"])
    return {key: statistics.mean(values) for key, values in per.items()}


def sweep_seconds(path: Path = G.SWEEPS) -> list:
    """Wall seconds of each recorded case's learning-rate sweeps (every attempt), from the sweeps file."""
    per: dict = {}
    for r in G.read_sweeps(path).values():
        key = (r["split"], r["case"])
        per[key] = per.get(key, 0.0) + sum(x["seconds"] or 0.0 for x in r["results"])
    return list(per.values())


def project_split(split: str, done: dict) -> None:
    """One split's ground-truth cost: its planned runs at the mean CPU time of all recorded runs, and at the
    mean of the recorded runs of its cases' causes and severities; its sweeps at the recorded mean."""
    cpu = [r["cpu_seconds"] for r in done.values() if r.get("cpu_seconds") is not None]
    mean, by_slot, sweeps = statistics.mean(cpu), cpu_by_slot(done), sweep_seconds()
    runs = weighted = recorded = 0
    for i in range(G.n_cases(split)):
        draw, plan = G.draw_case(split, i), GT.planned(split, i)
        estimate = statistics.mean(by_slot.get(key, mean) for key in draw.faults or ("healthy",))
        runs += len(plan)
        weighted += len(plan) * estimate
        recorded += sum((G.GENERATOR_VERSION, split, draw.id, lab, seed) in done for lab, seed in plan)
    print(f"{split}: {G.n_cases(split)} cases, {runs} runs planned ({recorded} recorded); at the mean CPU time per "
          f"run ({mean:.1f} s): {runs * mean / 3600:.1f} h of CPU; at the mean of its causes' recorded runs: "
          f"{weighted / 3600:.1f} h of CPU; its sweeps at the recorded mean ({statistics.mean(sweeps):.1f} s wall per "
          f"case): {G.n_cases(split) * statistics.mean(sweeps) / 3600:.1f} h")


def project(log: Path = G.RUNS / "gt.log", split: str | None = None) -> None:
    done = GT.read_runs()
    recorded = list(done.values())
    if not recorded:
        raise SystemExit("no runs recorded yet")
    wall = [r["seconds"] for r in recorded]
    cpu = [r["cpu_seconds"] for r in recorded if r.get("cpu_seconds") is not None]
    total = sum(len(GT.planned(s, i)) for s in G.SPLITS for i in range(G.n_cases(s)))
    mats = [float(m) for m in re.findall(r"materialised in ([\d.]+) s", log.read_text())] if log.is_file() else []
    complete = {s: sum(all((G.GENERATOR_VERSION, s, G.draw_case(s, i).id, lab, seed) in done
                           for lab, seed in GT.planned(s, i)) for i in range(G.n_cases(s))) for s in G.SPLITS}
    print(f"runs recorded {len(recorded)} of {total}; complete cases {complete}")
    print(f"wall s per run: median {statistics.median(wall):.1f}, mean {statistics.mean(wall):.1f}; "
          f"CPU s per run: median {statistics.median(cpu):.1f}, mean {statistics.mean(cpu):.1f}")
    if mats:
        print(f"materialising (sweep + files), wall s per case: median {statistics.median(mats):.1f}, "
              f"mean {statistics.mean(mats):.1f} ({len(mats)} cases)")
    left = total - len(recorded)
    cases_left = max(0, sum(G.n_cases(s) for s in G.SPLITS) - len(mats))
    per_case = statistics.mean(mats) if mats else 0.0
    print(f"remaining at the mean wall time so far: {(left * statistics.mean(wall) + cases_left * per_case) / 3600:.1f} h; "
          f"all runs at the mean CPU time: {total * statistics.mean(cpu) / 3600:.1f} h of CPU")
    if split:
        project_split(split, done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="", help="case ids, e.g. dev-142,test-081")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--per-step", action="store_true", help="ms per step after tracing (500 steps)")
    parser.add_argument("--project", action="store_true", help="progress and projection from the runs file")
    parser.add_argument("--split", choices=sorted(G.SPLITS), help="with --project: that split's projected cost")
    args = parser.parse_args()
    if args.project:
        project(split=args.split)
        return
    import training

    training.configure_threads(args.threads, 1)
    ids = [c.strip() for c in args.cases.split(",") if c.strip()]
    per_step(ids) if args.per_step else runs(ids)


if __name__ == "__main__":
    main()
