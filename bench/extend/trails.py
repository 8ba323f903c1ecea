"""When should an undecided counterfactual pair stop being trained on? Rules judged on whole trails.

`run.py --split dev --follow-all --budget-seconds none` follows every extendable counterfactual pair to the
horizon (caedoctor.diagnosis.extend), judging it at 500, 1,000 and 1,500 steps on the way, and records each
pair's trail (the measured comparison and the forecast at the horizon at each length). Each stopping rule
below is replayed on those trails: the pair is decided where the rule stops, with the status measured there
(and, for an info-level suspicion, the 40% cut it must make: `judge.minor_gain`). The decision is scored
against the ground truth of the finding's cause in that case: injected and real (a cause that should be
confirmed), injected and not real or not injected at all (should be refuted); ambiguous ones are left out.
Steps: what the rule trains beyond 500, the counterfactual's own steps (the baseline's, shared, not counted).

Development split only (it chooses a rule). Usage::

    python bench/extend/trails.py bench/extend/trails_dev_c7aba64.jsonl --cases
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "generated")]

import scoring as S  # noqa: E402
import truth as T  # noqa: E402

SLOW_LOG_GAIN = -math.log(0.6)  # caedoctor.thresholds.SLOW_GAIN: what an info-level suspicion must cut
MIN_LOG_GAIN = -math.log(0.95)


def _decided(point: dict, severity: str) -> bool:
    confirmed = point["status"] == "confirmed"
    if confirmed and severity == "info" and point["log_gain"] < SLOW_LOG_GAIN:
        return False
    return confirmed


def _disagree(point: dict, margin: float) -> bool:
    gain = point.get("forecast_log_gain")
    if gain is None:
        return False
    real = gain > max(margin, MIN_LOG_GAIN)
    return (point["status"] != "confirmed") == real


RULES = {
    "at 500 steps (no extension)": lambda trail, margin: trail[0],
    "at the horizon (always follow)": lambda trail, margin: trail[-1],
    "follow while measured and forecast disagree": lambda trail, margin: next(
        (p for p in trail if not _disagree(p, margin)), trail[-1]),
    "follow while the forecasts do not separate": lambda trail, margin: next(
        (p for p in trail if p.get("forecast_log_gain") is not None
         and abs(p["forecast_log_gain"]) > (p.get("forecast_width") or 0)), trail[-1]),
}


def pairs(records: dict, gt: dict):
    """(case id, cause, severity, trail, margin, truth) of every followed counterfactual."""
    for cid, rec in sorted(records.items()):
        full = rec.get("full") or {}
        severity = {f["code"]: f.get("severity") for f in full.get("findings", [])}
        cause_of = {f["code"]: f["cause"] for f in full.get("findings", [])}
        for c in full.get("counterfactuals", []):
            followed = c.get("followed")
            if not followed or c.get("on_top_of"):
                continue
            code = c["finding"]
            cause = cause_of.get(code)
            if cause in rec.get("injected", []):
                real = S.is_real(gt, cid, cause)
            else:
                real = False  # not injected: confirming it is a false cause
            if real in ("ambiguous", "invalid", None, "static"):
                continue
            yield cid, cause, severity.get(code), followed["trail"], c["margin"], bool(real)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+")
    parser.add_argument("--verdicts", default=str(HERE.parent / "generated/ground_truth/verdicts_dev.json"))
    parser.add_argument("--cases", action="store_true", help="print every pair")
    args = parser.parse_args(argv)
    entries = [json.loads(line) for log in args.logs for line in Path(log).read_text().splitlines() if line.strip()]
    records = S.merge_log(entries)
    gt = T.truths(json.loads(Path(args.verdicts).read_text()))
    found = list(pairs(records, gt))
    print(f"{len(found)} followed pairs in {len(records)} cases "
          f"({sum(r for *_, r in found)} of a real cause, {sum(not r for *_, r in found)} of a cause not real)")
    for name, rule in RULES.items():
        tp = fp = fn = tn = extra = 0
        for cid, cause, sev, trail, margin, real in found:
            point = rule(trail, margin)
            yes = _decided(point, sev)
            tp += yes and real
            fp += yes and not real
            fn += (not yes) and real
            tn += (not yes) and not real
            extra += point["steps"] - trail[0]["steps"] if trail[0]["steps"] >= 500 else point["steps"] - 500
        print(f"{name:46s} real confirmed {tp}/{tp + fn}  not-real confirmed {fp}/{fp + tn}  "
              f"steps beyond a 500-step probe, per pair {extra / max(len(found), 1):.0f}")
    if args.cases:
        for cid, cause, sev, trail, margin, real in found:
            steps = " ".join(f"{p['steps']}:{p['log_gain']:+.2f}{'C' if _decided(p, sev) else '-'}"
                             f"(f{p['forecast_log_gain'] if p['forecast_log_gain'] is None else round(p['forecast_log_gain'], 2)}"
                             f"±{round(p.get('forecast_width') or 0, 2)})" for p in trail)
            print(f"  {cid} {cause:24s} {sev:8s} {'REAL' if real else 'not '} m={margin:.2f} {steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
