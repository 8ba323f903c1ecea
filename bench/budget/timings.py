"""Where the diagnosis' time goes, per case, from a bench/faults log (records hold `Diagnosis.timings`).

    .venv/bin/python bench/budget/timings.py runs/bench-faults/s14.jsonl \\
        --cases lr_high_adam_p32,healthy_seed_better_cifar,thin_decoder_cifar,dead_relu_lr_low_p32,narrow_signed_fmnist

Prints one Markdown row per case: wall seconds, the stages, and the parts inside the probes summed over all
probes (build, tracing, training steps, monitor, validation, checkpoints, scoring, fit's own rest).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

STAGES = ("loading model and data", "static checks", "baseline probe", "LR range test", "counterfactual probes",
          "explain-away")
PARTS = ("tracing", "steps", "monitor", "validation", "checkpoints", "scoring", "fit_other")


def rows(records: list, ids: list | None, mode: str = "full") -> list:
    out = []
    for r in records:
        if r.get("event") or (ids and r["id"] not in ids):
            continue
        m = r.get(mode) or {}
        t = m.get("timings") or {}
        if not t:
            continue
        out.append({"id": r["id"], "total": m.get("elapsed_s"), "stages": t.get("stages", {}),
                    "parts": t.get("probe_parts", {}), "probes": len(t.get("probes", [])),
                    "decided_early": sum(1 for c in m.get("counterfactuals") or []
                                         if c.get("decided_at") is not None and c["steps_run"] < c["steps"])})
    return out


def markdown(table: list) -> str:
    head = ["case", "s", "probes (early)"] + list(STAGES) + [f"in probes: {p}" for p in PARTS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table:
        cells = [f"`{r['id']}`", f"{r['total']:.1f}", f"{r['probes']} ({r['decided_early']})"]
        cells += [f"{r['stages'].get(s, 0.0):.1f}" for s in STAGES]
        cells += [f"{r['parts'].get(p, 0.0):.1f}" for p in PARTS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--cases", default="")
    parser.add_argument("--mode", default="full")
    args = parser.parse_args()
    records = [json.loads(ln) for ln in Path(args.log).read_text().splitlines() if ln.strip()]
    ids = [c for c in args.cases.split(",") if c] or None
    table = rows(records, ids, args.mode)
    if ids:
        table.sort(key=lambda r: ids.index(r["id"]))
    print(markdown(table))
    everything = rows(records, None, args.mode)
    if everything:
        for name in STAGES:
            print(f"median {name}: {statistics.median(r['stages'].get(name, 0.0) for r in everything):.2f} s")
        for name in PARTS:
            print(f"median in probes {name}: {statistics.median(r['parts'].get(name, 0.0) for r in everything):.2f} s")


if __name__ == "__main__":
    main()
