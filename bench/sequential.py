"""How often does a sequential (early) decision differ from the decision at the probe's last step?

Reads a bench/faults log written with `--no-sequential` (every counterfactual probe runs to its last step,
no budget, and records what the early rule would have decided: `early_rule`) and counts, over every
counterfactual probe of every case:

- decided early: the early rule answered before the last step;
- disagreements: the early answer differs from the status judged at the last step (with the seed-noise
  margin and, for an ambiguous gain, the second seed);
- the steps saved: the share of those probes' steps an early stop would have skipped.

    .venv/bin/python bench/faults/run.py --no-sequential --log runs/bench-faults/shadow.jsonl --out runs/bench-faults/shadow.json
    .venv/bin/python bench/sequential.py runs/bench-faults/shadow.jsonl

The target (issue 14) is a disagreement rate under 2% of the probes decided early.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scoring as S  # noqa: E402


def probes_of(records: list) -> list:
    """[(case id, counterfactual record)] of every counterfactual against the baseline (stacked explain-away
    probes excluded: they are not decided early)."""
    out = []
    for r in records:
        for c in (r.get("full") or {}).get("counterfactuals") or []:
            if c.get("on_top_of") is None:
                out.append((r["id"], c))
    return out


def agreement(records: list) -> dict:
    """The counts above, and the disagreeing probes by case."""
    probes = probes_of(records)
    early = [(cid, c) for cid, c in probes if c.get("early_rule") and c["early_rule"]["step"] < c["steps"]]
    differ = [(cid, c) for cid, c in early if c["early_rule"]["status"] != c["status"]]
    saved = sum(c["steps"] - c["early_rule"]["step"] for _, c in early)
    total = sum(c["steps"] for _, c in probes)
    lo, hi = S.wilson(len(differ), len(early)) if early else (None, None)
    return {"probes": len(probes), "decided_early": len(early), "disagreements": len(differ),
            "disagreement_rate": len(differ) / len(early) if early else None, "wilson95": [lo, hi],
            "steps_saved_share": saved / total if total else None,
            "disagreeing": [{"case": cid, "finding": c["finding"], "kind": c["kind"], "early": c["early_rule"],
                             "final": c["status"], "final_log_gain": c["log_gain"], "margin": c["margin"]}
                            for cid, c in differ]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="a bench/faults log written with --no-sequential")
    args = parser.parse_args()
    records = [json.loads(line) for line in Path(args.log).read_text().splitlines() if line.strip()]
    records = [r for r in records if r.get("event") != "started"]
    doc = agreement(records)
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
