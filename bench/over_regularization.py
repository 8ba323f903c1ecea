"""Calibrate CAE309 (over_regularization): how much dropout, weight penalty and activity penalty measurably
hurts a healthy CAE, and what CAE309's strengths read for each setting.

Bases: the healthy bases of development-split cases of the generated benchmark (bench/generated; never the
test split), each with the learning rate its recorded sweep chose (a sweep is run, into runs/calib/, for a
case the ground truth has not reached). Each base is trained as the ground truth trains (plain Keras,
`model.fit`, GT_STEPS steps of its batch size, bench/generated/training.py) without regularization for
seeds 0, 1, 2 (the seed spread) and with each setting below for seed 0:

    dropout after every decoder layer   0.05, 0.1, 0.25, 0.5
    L2 kernel_regularizer, every hidden layer   1e-5, 1e-4, 1e-3, 1e-2
    L1 activity_regularizer on the bottleneck   1e-6, 1e-5, 1e-4, 1e-3

A setting *hurts* when its relative validation MSE exceeds the base's seed-0 error by more than the
ground truth's margin, max(10%, the base's seed spread). For each setting the table prints CAE309's
statistic (caedoctor's model reader on the built model, the data's target variance as the baseline loss).

    nice -n 10 .venv/bin/python bench/over_regularization.py > runs/calib/overreg.txt     # every setting, seed 0
    nice -n 10 .venv/bin/python bench/over_regularization.py --cases 31 --seeds 1,2 \
        --settings dropout=0.05,dropout=0.1                                        # a setting in more seeds
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "generated"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import emit  # noqa: E402
import generate as G  # noqa: E402
import sources  # noqa: E402
import space  # noqa: E402

OUT = G.ROOT / "runs" / "calib"
SETTINGS = [("dropout", v) for v in (0.05, 0.1, 0.25, 0.5)] + [("l2", v) for v in (1e-5, 1e-4, 1e-3, 1e-2)] + \
    [("activity_l1", v) for v in (1e-6, 1e-5, 1e-4, 1e-3)]
# Development cases whose fault is over_regularization (their healthy bases), by default.
DEV_CASES = (70, 1, 31, 55, 82, 90)


def statistic(spec: dict, x, y) -> dict:
    """CAE309's strengths for the program of `spec` on (x, y), as caedoctor reads them."""
    import keras

    import training
    from caedoctor.checks import build_context
    from caedoctor.checks.rules.architecture import over_regularization as R

    keras.utils.set_random_seed(0)
    model = training.factory_from_source(emit.case_source(spec, "calibration"))(x.shape[1:])
    ctx = build_context(model, x if y is None else (x, y))
    baseline, _ = R.baseline_loss(ctx)
    s = R.strengths(ctx.analysis, baseline)
    return {k: round(v, 4) for k, v in s.items() if k != "layers"}


def run_base(index: int, sweeps: Path, seeds=(0, 1, 2), settings=SETTINGS, variant_seeds=(0,)) -> list:
    import keras

    import training

    draw = G.draw_case("dev", index)
    base, attempt, _ = G.settled_base(draw, sweeps)
    x, y = G.data_arrays(base, draw.seed(attempt))
    _, val = sources.split(x, y)
    rows = []

    def train(spec, seed):
        keras.backend.clear_session()
        program = training.Program(training.factory_from_source(emit.case_source(spec, "calibration")), x.shape[1:])
        return program.run(x, y, val, seed=seed, samples=G.GT_STEPS * spec["train"]["batch"],
                           batch_size=spec["train"]["batch"])

    ref = [train(base, s) for s in seeds]
    values = [r["relative_mse"] for r in ref]
    spread = (max(values) - min(values)) / min(values)
    margin = max(0.1, spread)
    desc = (f"dev-{index:03d} base: {G.describe_data(base)}; {base['model']['stages']} stages, "
            f"bottleneck {base['model']['bottleneck']['kind']}, {base['train']['optimizer']} lr {base['train']['lr']}, "
            f"batch {base['train']['batch']}, loss {base['train']['loss']}")
    print(desc, flush=True)
    print(f"  no regularization: rel MSE {[round(v, 4) for v in values]} (spread {spread:.1%}, margin {margin:.1%})",
          flush=True)
    for kind, value in settings:
        spec = space.copy_spec(base)
        spec["model"][kind] = value
        stat = statistic(spec, x, y)
        for seed in variant_seeds:  # each compared with the base in the same seed, as the ground truth does
            r = train(spec, seed)
            rel = r["relative_mse"]
            ratio = rel / values[seeds.index(seed)] if rel is not None else None
            hurts = ratio is None or ratio > 1 + margin
            rows.append({"case": draw.id, "kind": kind, "value": value, "seed": seed, "relative_mse": rel,
                         "ratio": ratio, "margin": margin, "hurts": hurts, "statistic": stat, "base": values,
                         "description": desc})
            print(f"  {kind:12s} {value:<7g} seed {seed} rel MSE {rel if rel is None else round(rel, 4)!s:8s} ratio "
                  f"{'-' if ratio is None else f'{ratio:.2f}'} {'HURTS' if hurts else 'no effect':9s} CAE309 reads {stat}",
                  flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(map(str, DEV_CASES)), help="dev-split indices")
    parser.add_argument("--out", default=str(OUT / "over_regularization.jsonl"))
    parser.add_argument("--seeds", default="0", help="seeds of the regularized runs (the base runs 0, 1, 2)")
    parser.add_argument("--settings", help="kind=value,... (default: every setting of the module doc)")
    args = parser.parse_args()
    settings = SETTINGS if not args.settings else [
        (kind, float(value)) for kind, value in (item.split("=") for item in args.settings.split(","))]
    variant_seeds = tuple(int(v) for v in args.seeds.split(","))
    import training

    training.configure_threads(1, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    sweeps = OUT / "sweeps.jsonl"
    if not sweeps.is_file() and G.SWEEPS.is_file():  # reuse the recorded sweeps; new ones go here, not there
        sweeps.write_text(G.SWEEPS.read_text())
    out = Path(args.out)
    for index in (int(v) for v in args.cases.split(",")):
        start = time.perf_counter()
        rows = run_base(index, sweeps, settings=settings, variant_seeds=variant_seeds)
        with out.open("a") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
        print(f"  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
