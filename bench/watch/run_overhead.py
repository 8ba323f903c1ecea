"""Measure what `caedoctor run` costs the user's own `fit`: plain `fit` against `fit` under the watcher.

Under `caedoctor run` every `keras.Model.fit` goes through caedoctor's patch: the set-up is recorded at the
start (weights copied, model and optimizer configs read), `FitMonitor` is appended to the callbacks, and the
fit is kept for judging after the script ends (judging and diagnosing happen after the script, so they are
not part of the fit). This script measures exactly that path (`Watcher(deferred=True)`, the one
`caedoctor run` uses) against the unpatched `fit`, in one process, on the field notes' "better" CAE
(`preset:seed_better`) with bundled:patches32 arrays at batch 32, as a user's script calls it:
`model.fit(x, x, epochs=1, batch_size=32)`.

The fits alternate (plain, watched, watched, plain, ...) on one warmed-up model so that drifts of the
machine hit both sides alike. Reported: the median over rounds of (watched / plain - 1) in wall time and in
the process's CPU time (all threads; less disturbed by other programs on a shared machine than wall time),
the fastest watched fit against the fastest plain one (the fastest run is the one least disturbed), and
the time spent inside the monitor's hooks, which it measures itself.

    nice -n 10 .venv/bin/python bench/watch/run_overhead.py               # 600 steps per fit, 6 rounds
    nice -n 10 .venv/bin/python bench/watch/run_overhead.py --steps 300 --rounds 4
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="steps per fit (samples = steps x 32)")
    parser.add_argument("--rounds", type=int, default=6, help="plain/watched pairs")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from caedoctor.data.bundled import patches32
    from caedoctor.models import compile_model, load_model
    from caedoctor.watch.patch import patch_fit, unpatch_fit
    from caedoctor.watch.session import Watcher

    keras.utils.set_random_seed(0)
    x = patches32()[0][: args.steps * 32]
    loaded = load_model("preset:seed_better", x.shape[1:])
    model = compile_model(loaded.model, loaded.config)
    watcher = Watcher("on-problem", deferred=True)

    def fit(watched: bool) -> tuple:
        if watched:
            patch_fit(watcher)
        try:
            start, cpu = time.perf_counter(), time.process_time()
            model.fit(x, x, epochs=1, batch_size=32, verbose=0)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        finally:
            unpatch_fit()
        monitor = watcher.fits[-1].monitor.record.monitor_seconds if watched else 0.0
        return seconds, cpu, monitor

    fit(False)  # warm-up: traces the train function
    fit(True)
    # What the watcher does before the user's fit starts (record the set-up, take the monitor batch, build the
    # monitor), timed alone: it is outside the monitor's own hooks.
    import inspect

    from caedoctor.watch.patch import original_fit

    bound = inspect.signature(original_fit()).bind(model, x, x, epochs=1, batch_size=32, verbose=0)
    prepare = []
    for _ in range(20):
        start = time.perf_counter()
        watcher._prepare(model, bound, keras)
        prepare.append(time.perf_counter() - start)
    watcher._count -= 20
    plain_times, watched_times, ratios, cpu_ratios, inside = [], [], [], [], []
    for r in range(args.rounds):
        if r % 2 == 0:
            plain, plain_cpu, _ = fit(False)
            watched, watched_cpu, monitor = fit(True)
        else:
            watched, watched_cpu, monitor = fit(True)
            plain, plain_cpu, _ = fit(False)
        plain_times.append(plain)
        watched_times.append(watched)
        ratios.append(watched / plain - 1.0)
        cpu_ratios.append(watched_cpu / plain_cpu - 1.0)
        inside.append(monitor)
        print(f"round {r + 1}: plain {plain:.3f} s, watched {watched:.3f} s ({100 * ratios[-1]:+.2f}% wall, "
              f"{100 * cpu_ratios[-1]:+.2f}% CPU), inside the monitor {monitor:.3f} s", flush=True)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"\npreset:seed_better on bundled:patches32 arrays, batch 32, {args.steps} steps per fit, {args.rounds} "
          f"rounds; {cpus} CPU cores ({platform.processor() or platform.machine()}), TensorFlow {tf.__version__}")
    print(f"recording the set-up and building the monitor before fit: median "
          f"{1000 * statistics.median(prepare):.1f} ms (min {1000 * min(prepare):.1f} ms)")
    print(f"plain fit: median {statistics.median(plain_times):.3f} s "
          f"({1000 * statistics.median(plain_times) / args.steps:.1f} ms/step)")
    print(f"watched (caedoctor run): overhead median {100 * statistics.median(ratios):+.2f}% wall "
          f"(min {100 * min(ratios):+.2f}%, max {100 * max(ratios):+.2f}%), "
          f"{100 * (min(watched_times) / min(plain_times) - 1):+.2f}% fastest vs fastest, "
          f"{100 * statistics.median(cpu_ratios):+.2f}% CPU time (min {100 * min(cpu_ratios):+.2f}%, "
          f"max {100 * max(cpu_ratios):+.2f}%); time inside the monitor "
          f"median {statistics.median(inside):.3f} s = "
          f"{100 * statistics.median(inside) / statistics.median(plain_times):.2f}% of a plain fit")


if __name__ == "__main__":
    main()
