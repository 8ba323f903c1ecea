"""Measure what `ConvergenceMonitor` costs: plain `fit` against `fit` with the monitor, side by side.

Same model (preset:seed_better), same data (bundled:patches32, batch 32), same number of steps. The fits
alternate (plain, monitored, plain, monitored, ...) on one warmed-up model so that drifts of the machine
hit both sides alike; each monitored fit gets a fresh monitor, so its set-up (building the probe, the
eager first probes) is counted. Reported: the median over rounds of (monitored / plain - 1) in wall time;
the fastest monitored fit against the fastest plain one (on a shared machine the fastest run is the one
least disturbed by other programs); the same median for the process's CPU time (all threads); and the
time spent inside the monitor's own hooks, which it measures itself.

    .venv/bin/python bench/monitor_overhead.py                    # defaults: 600 steps, 6 rounds
    .venv/bin/python bench/monitor_overhead.py --intervals 200,300
    .venv/bin/python bench/monitor_overhead.py --tensorboard     # with TensorBoard output, as `train` uses it
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="steps per fit")
    parser.add_argument("--rounds", type=int, default=6, help="plain/monitored pairs per variant")
    parser.add_argument("--intervals", default="default",
                        help="comma-separated monitor intervals to compare; 'default' = the monitor's default")
    parser.add_argument("--tensorboard", action="store_true",
                        help="give the monitor a log_dir (as `caedoctor train` does) under a temporary folder")
    parser.add_argument("--model", default="preset:seed_better")
    parser.add_argument("--data", default="bundled:patches32")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from caedoctor.data import load_data
    from caedoctor.monitor import ConvergenceMonitor
    from caedoctor.monitor.callback import DEFAULT_INTERVAL
    from caedoctor.models import compile_model, load_model

    keras.utils.set_random_seed(0)
    data = load_data(args.data)
    loaded = load_model(args.model, data.input_shape)
    model = compile_model(loaded.model, loaded.config)
    bs = loaded.config.batch_size
    train = data.batches("train", bs, shuffle=True, seed=0, repeat=True, drop_remainder=True)
    x, y = next(iter(data.batches("train", bs)))
    monitor_batch = (x.numpy(), y.numpy())
    intervals = [DEFAULT_INTERVAL] if args.intervals == "default" else [int(v) for v in args.intervals.split(",")]

    def fit(callbacks) -> tuple:
        start, cpu = time.perf_counter(), time.process_time()
        model.fit(train, epochs=1, steps_per_epoch=args.steps, verbose=0, callbacks=callbacks)
        return time.perf_counter() - start, time.process_time() - cpu

    fit([])  # warm-up: traces the train function, fills the input pipeline
    results = {i: [] for i in intervals}
    cpu_results = {i: [] for i in intervals}
    plain_times, monitor_seconds = [], {i: [] for i in intervals}
    monitored_times = {i: [] for i in intervals}
    for r in range(args.rounds):
        for interval in intervals:
            log_dir = tempfile.mkdtemp(prefix="monitor-tb-") if args.tensorboard else None
            monitor = ConvergenceMonitor(monitor_batch, interval=interval, log_dir=log_dir)
            if r % 2 == 0:  # alternate which side runs first, so a drift of the machine cancels out
                plain, plain_cpu = fit([])
                monitored, monitored_cpu = fit([monitor])
            else:
                monitored, monitored_cpu = fit([monitor])
                plain, plain_cpu = fit([])
            plain_times.append(plain)
            monitored_times[interval].append(monitored)
            results[interval].append(monitored / plain - 1.0)
            cpu_results[interval].append(monitored_cpu / plain_cpu - 1.0)
            monitor_seconds[interval].append(monitor.record.monitor_seconds)
            print(f"round {r + 1} interval {interval}: plain {plain:.3f} s, monitored {monitored:.3f} s "
                  f"({100 * (monitored / plain - 1):+.2f}% wall, {100 * (monitored_cpu / plain_cpu - 1):+.2f}% CPU), "
                  f"inside the monitor {monitor.record.monitor_seconds:.3f} s", flush=True)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"\n{args.model} on {args.data}, batch {bs}, {args.steps} steps per fit, {args.rounds} rounds"
          f"{', monitor writing TensorBoard' if args.tensorboard else ''}; "
          f"{cpus} CPU cores ({platform.processor() or platform.machine()}), TensorFlow {tf.__version__}")
    plain_median = statistics.median(plain_times)
    print(f"plain fit: median {plain_median:.3f} s ({1000 * plain_median / args.steps:.1f} ms/step)")
    for interval in intervals:
        values = results[interval]
        cpu_values = cpu_results[interval]
        print(f"interval {interval}: overhead median {100 * statistics.median(values):+.2f}% wall "
              f"(min {100 * min(values):+.2f}%, max {100 * max(values):+.2f}%), "
              f"{100 * (min(monitored_times[interval]) / min(plain_times) - 1):+.2f}% fastest vs fastest, "
              f"{100 * statistics.median(cpu_values):+.2f}% CPU time "
              f"(min {100 * min(cpu_values):+.2f}%, max {100 * max(cpu_values):+.2f}%); time inside the monitor "
              f"median {statistics.median(monitor_seconds[interval]):.3f} s = "
              f"{100 * statistics.median(monitor_seconds[interval]) / plain_median:.2f}% of a plain fit")


if __name__ == "__main__":
    main()
