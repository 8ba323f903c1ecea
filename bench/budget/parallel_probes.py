"""Do two counterfactual probes finish sooner side by side than one after the other on this machine?

Times N probes of the same 32x32x3 CAE (seed_better, bundled:patches32, 300 steps each): one after the
other in one process; in N threads of one process; in N processes. TensorFlow already spreads one step
over the cores (intra-op threads), so side by side only helps when a step leaves cores idle.

    .venv/bin/python bench/budget/parallel_probes.py [--n 2] [--steps 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _setup():
    from caedoctor.data import load_data
    from caedoctor.models import load_model
    from caedoctor.setup import Setup

    data = load_data("bundled:patches32")
    return Setup.of(load_model("preset:seed_better", data.input_shape), data)


def _probe(setup, steps, seed):
    from caedoctor.probing import ProbeRunner

    # a runner of its own per probe: each compiles its model, as a counterfactual of another graph would
    return ProbeRunner.for_setup(setup, compared=False).probe(setup, steps=steps, seed=seed, label=f"p{seed}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # a child process: one probe
    args = parser.parse_args()
    setup = _setup()
    if args.one is not None:
        _probe(setup, args.steps, args.one)
        return
    _probe(setup, 25, 99)  # warm up: imports, data, first tracing
    out = {"n": args.n, "steps": args.steps, "cpus": os.cpu_count(), "load_start": os.getloadavg()[0]}
    t = time.perf_counter()
    for i in range(args.n):
        _probe(setup, args.steps, i)
    out["sequential_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    threads = [threading.Thread(target=_probe, args=(setup, args.steps, i)) for i in range(args.n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out["threads_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "--steps", str(args.steps), "--one", str(i)])
             for i in range(args.n)]
    for p in procs:
        p.wait()
    out["processes_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--one", "0"], check=True)
    out["one_process_s"] = round(time.perf_counter() - t, 2)  # start-up + one probe: the processes' overhead
    out["load_end"] = os.getloadavg()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
