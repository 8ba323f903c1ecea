"""Calibrate the probe symptom of over_regularization (CAE712): what the monitor's penalty share and dropout
gap read on the settings bench/over_regularization.py measured in plain Keras (hurt or not).

For every (development case, setting) in runs/calib/over_regularization.jsonl (never the test split) and
each base without regularization, the case's program is built with the setting and diagnosed with
`quick=True` (static checks and the monitored baseline probe, as a user's diagnosis starts); the table
prints the median penalty share and dropout gap over the last quarter of the probe, whether the plain-Keras
run said the setting hurts, and whether the symptom fired.

    nice -n 10 .venv/bin/python bench/over_regularization_symptom.py > runs/calib/overreg_symptom.txt
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "generated"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import emit  # noqa: E402
import generate as G  # noqa: E402
import space  # noqa: E402

CALIB = G.ROOT / "runs" / "calib"


def measure(index: int, kind: str | None, value: float | None) -> dict:
    import keras
    import numpy as np

    import training
    from caedoctor.diagnosis import diagnose
    from caedoctor.monitor.traces import last_probes

    draw = G.draw_case("dev", index)
    base, attempt, _ = G.settled_base(draw, CALIB / "sweeps.jsonl")
    x, y = G.data_arrays(base, draw.seed(attempt))
    spec = space.copy_spec(base)
    if kind is not None:
        spec["model"][kind] = value
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    model = training.factory_from_source(emit.case_source(spec, "calibration"))(x.shape[1:])
    d = diagnose(model, x if y is None else (x, y), quick=True, budget_seconds=None,
                 config_overrides={"batch_size": spec["train"]["batch"]})
    record = d.probe_results["baseline"].monitor.record
    share = last_probes(record.penalty_share)
    gap = last_probes(record.dropout_gap)
    symptom = next((s for s in d.symptoms if s["name"] == "heavy_regularization"), {})
    return {"case": draw.id, "kind": kind, "value": value, "verdict": d.verdict,
            "relative_mse": d.baseline.relative_mse,
            "penalty_share": float(np.nanmedian(share)) if np.isfinite(share).any() else None,
            "dropout_gap": float(np.nanmedian(gap)) if np.isfinite(gap).any() else None,
            "fires": bool(symptom.get("present")),
            "share_trace": [round(float(v), 5) for v in record.penalty_share],
            "gap_trace": [round(float(v), 5) for v in record.dropout_gap],
            "relative_probe_loss": [round(float(v), 5) for v in record.relative_probe_losses()],
            "static": [f.code for f in d.findings if f.cause == "over_regularization"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calib", default=str(CALIB / "over_regularization.jsonl"))
    parser.add_argument("--out", default=str(CALIB / "overreg_symptom.jsonl"))
    args = parser.parse_args()
    rows = [json.loads(line) for line in open(args.calib)]
    seen, todo = set(), []
    for r in rows:
        index = int(r["case"].split("-")[1])
        if (index, None) not in seen:
            seen.add((index, None))
            todo.append((index, None, None, False))
        key = (index, r["kind"], r["value"])
        if key not in seen and r.get("seed", 0) == 0:
            seen.add(key)
            todo.append((index, r["kind"], r["value"], bool(r["hurts"])))
    done = set()
    if Path(args.out).is_file():
        done = {(o["case"], o["kind"], o["value"]) for o in map(json.loads, open(args.out))}
    for index, kind, value, hurts in todo:
        if (f"dev-{index:03d}", kind, value) in done:
            continue
        row = {**measure(index, kind, value), "hurts": hurts}
        with open(args.out, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"{row['case']} {kind or 'none':12s} {value if value is not None else '':<7} hurts={hurts!s:5} "
              f"rel {row['relative_mse']:.4f} share {row['penalty_share']} gap {row['dropout_gap']} "
              f"fires={row['fires']} static={row['static']}", flush=True)


if __name__ == "__main__":
    main()
