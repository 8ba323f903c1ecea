"""Prove the horizon forecaster on the development split: forecast each probe's error at the horizon from its
first third (500 of 1,500 steps), and compare with the error the same probe reached there (its level: the
median of its last three check-batch readings, at steps 1,400-1,500).

    .venv/bin/python bench/forecast/evaluate.py                      # bench/forecast/curves_dev.jsonl
    .venv/bin/python bench/forecast/evaluate.py --json out.json

Figures (each over the probes that trained to the horizon without stopping):
- coverage of the stated 80% interval, two ways: with the committed `FORECAST_INTERVAL_SCALE`, and
  cross-fitted (the scale measured on the cases of even index, scored on the odd ones, and the other way
  round), which is the honest out-of-sample figure for a scale tuned on these curves;
- the scale these curves call for (the 80% quantile of |log(actual / forecast)| / (z x sigma));
- accuracy: the median |log(actual / forecast)| of the forecast, against the persistence forecast (the level
  at step 500, the median of steps 400-500, taken as the level at the horizon);
- rank agreement on every case's faulty/fixed pair whose errors at the horizon differ by more than 10%: how
  often the forecasts order them right, against the order at step 500; and how often the two 80% intervals
  separate, and whether those are right.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "src"))

from caedoctor.diagnosis import forecast as F  # noqa: E402

OBSERVED_SHARE = 1 / 3  # a 500-step probe of a 1,500-step horizon


def usable(rec: dict) -> tuple | None:
    """(observed points, horizon, actual at the horizon, value at the end of the observed part) or None."""
    if rec.get("status") != "ok" or rec.get("stopped") or not rec.get("curve"):
        return None
    horizon = int(rec["horizon_steps"])
    curve = [(s, r) for s, r, _ in rec["curve"]]
    if not all(r is not None and math.isfinite(r) for _, r in curve) or not any(s == horizon for s, _ in curve):
        return None
    seen = int(round(horizon * OBSERVED_SHARE / 50)) * 50
    observed = [(s, r) for s, r in curve if s <= seen]
    return observed, horizon, level_at_end([r for s, r in curve if s <= horizon]), level_at_end(
        [r for _, r in observed])


def level_at_end(values: list) -> float:
    """Where a curve is at its end: the median of its last three check-batch readings (one reading of 256
    images scatters by 10-50% from one checkpoint to the next; the level is what a forecast is about)."""
    return float(np.median(values[-3:]))


def load(path: Path, lines: str | None = None) -> list:
    rows = []
    first, last = 1, None
    if lines:
        a, _, b = lines.partition("-")
        first, last = int(a or 1), (int(b) if b else None)
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or number < first or (last is not None and number > last):
            continue
        rec = json.loads(line)
        got = usable(rec)
        if got is None:
            rows.append({"case": rec["case"], "label": rec["label"], "usable": False,
                         "why": rec.get("stopped") or rec.get("status")})
            continue
        observed, horizon, actual, seen = got
        f = F.forecast(observed, horizon, scale=1.0)
        ratio = abs(math.log(actual / f.value)) / (F.Z * f.sigma) if f.sigma > 0 else math.inf
        rows.append({"case": rec["case"], "label": rec["label"], "usable": True, "horizon": horizon,
                     "actual": actual, "seen": seen, "forecast": f.value, "sigma": f.sigma, "ratio": ratio,
                     "method": f.method, "index": int(rec["case"].split("-")[1])})
    return rows


def coverage(rows: list, scale: float) -> float:
    return float(np.mean([r["ratio"] <= scale for r in rows])) if rows else math.nan


def needed_scale(rows: list, level: float = F.LEVEL) -> float:
    return float(np.quantile([r["ratio"] for r in rows], level)) if rows else math.nan


def wilson(k: int, n: int, z: float = 1.96) -> tuple:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (c - h, c + h)


def pairs(rows: list, scale: float) -> dict:
    """Rank agreement on faulty/fixed pairs whose horizon errors differ by more than 10%."""
    by_case: dict = {}
    for r in rows:
        if r["usable"]:
            by_case.setdefault(r["case"], {})[r["label"]] = r
    n = right_f = right_p = sep = sep_right = 0
    for case, labels in by_case.items():
        if "faulty" not in labels or "fixed" not in labels:
            continue
        a, b = labels["faulty"], labels["fixed"]
        actual = math.log(a["actual"] / b["actual"])
        if abs(actual) < math.log(1.1):
            continue
        n += 1
        right_f += (math.log(a["forecast"] / b["forecast"]) > 0) == (actual > 0)
        right_p += (math.log(a["seen"] / b["seen"]) > 0) == (actual > 0)
        half = F.Z * scale * math.hypot(a["sigma"], b["sigma"])
        gap = math.log(a["forecast"] / b["forecast"])
        if abs(gap) > half:
            sep += 1
            sep_right += (gap > 0) == (actual > 0)
    return {"pairs": n, "forecast_right": right_f, "persistence_right": right_p, "separated": sep,
            "separated_right": sep_right}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Score the horizon forecaster on collected dev curves.")
    ap.add_argument("--curves", default=str(HERE / "curves_dev.jsonl"))
    ap.add_argument("--json")
    ap.add_argument("--lines", help="score only these lines of the curves file (1-based, e.g. 81- or 1-80): the "
                                    "curves a choice was made on, or those collected after it")
    args = ap.parse_args(argv)
    rows = load(Path(args.curves), args.lines)
    good = [r for r in rows if r["usable"]]
    even = [r for r in good if r["index"] % 2 == 0]
    odd = [r for r in good if r["index"] % 2 == 1]
    s_even, s_odd = needed_scale(even), needed_scale(odd)
    cross = [r["ratio"] <= s_odd for r in even] + [r["ratio"] <= s_even for r in odd]
    committed = F.INTERVAL_SCALE
    k_committed = sum(r["ratio"] <= committed for r in good)
    acc_f = float(np.median([abs(math.log(r["actual"] / r["forecast"])) for r in good])) if good else math.nan
    acc_p = float(np.median([abs(math.log(r["actual"] / r["seen"])) for r in good])) if good else math.nan
    below = float(np.mean([r["actual"] < r["forecast"] for r in good])) if good else math.nan
    rank = pairs(rows, committed)
    doc = {"probes": len(rows), "usable": len(good), "cases": len({r["case"] for r in good}),
           "not_usable": sorted({r["why"] for r in rows if not r["usable"]}),
           "committed_scale": committed,
           "coverage_committed": [k_committed, len(good), wilson(k_committed, len(good))],
           "coverage_cross_fitted": [int(sum(cross)), len(cross), wilson(int(sum(cross)), len(cross))],
           "scale_needed": {"all": needed_scale(good), "even": s_even, "odd": s_odd},
           "median_abs_log_error": {"forecast": acc_f, "persistence": acc_p},
           "actual_below_forecast": below, "rank": rank}
    print(f"probes {doc['probes']}, usable {doc['usable']} ({doc['cases']} cases); not usable: {doc['not_usable']}")
    k, n, ci = doc["coverage_committed"]
    print(f"80% interval coverage at FORECAST_INTERVAL_SCALE={committed}: {k}/{n} = {k / max(n, 1):.1%} "
          f"[{ci[0]:.1%}-{ci[1]:.1%}]")
    k, n, ci = doc["coverage_cross_fitted"]
    print(f"cross-fitted coverage (scale from the other half: even {s_even:.3f}, odd {s_odd:.3f}): {k}/{n} = "
          f"{k / max(n, 1):.1%} [{ci[0]:.1%}-{ci[1]:.1%}]")
    print(f"scale these curves call for: {doc['scale_needed']['all']:.3f}")
    print(f"median |log(actual/forecast)|: forecast {acc_f:.3f}, persistence (value at 1/3) {acc_p:.3f}; "
          f"actual below the forecast in {below:.0%}")
    r = rank
    if r["pairs"]:
        print(f"faulty/fixed pairs differing > 10% at the horizon: {r['pairs']}; ordered right by the forecast "
              f"{r['forecast_right']}, by the value at 1/3 {r['persistence_right']}; intervals separate in "
              f"{r['separated']}, right in {r['separated_right']}")
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
