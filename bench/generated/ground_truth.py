"""Ground truth for the generated fault benchmark: is each injected fault real? Plain Keras only.

For every case of generate.py this trains, with `model.fit` on numpy batches (training.train_run; none of
caedoctor's probes, monitor or pipelines, no caedoctor import), each variant the case's folder holds, for
the seeds SEEDS = (0, 1, 2):
- a healthy control: the program as it is;
- a one-fault case: the faulty program and the fixed one (the fault removed);
- a two-fault case: the faulty program, each fault alone (`only_<cause>`: the other one fixed), and the
  fully fixed program.
Every variant of a case trains on the same number of samples, GT_STEPS (1,500) steps of the base's batch
size: 3x caedoctor's 500-step probe, and equal samples (not equal steps) when a fault changes the batch
size. Each run is scored on the validation images caedoctor's split gives (a variant trained on fewer
images is scored on the full set's validation images) by the relative MSE of training.py (MSE over the
targets' per-pixel variance around their mean image, as caedoctor.losses.reconstruction_metrics defines
it). The raw per-seed numbers go to an append-only JSONL file (one line per run, written as it finishes;
a rerun skips the runs already recorded).

The rule ("beyond the seed spread"), per fault, comparing the program with the fault (`faulty` in a
one-fault case, `only_<cause>` in a two-fault case) against the fixed program, seed by seed:
- the seed spread is the fixed program's relative range over the seeds, (max - min) / min of its three
  relative MSEs; the margin is max(MIN_MARGIN, spread), MIN_MARGIN = 10%;
- seed s shows the fault when the fixed program trains in seed s and the program with the fault either
  cannot train (an exception, a non-finite loss or prediction) or ends with a relative MSE above
  fixed_s x (1 + margin): its fix improves the error by more than the seeds differ among themselves;
- the fault is **real** when every seed shows it, **not real** when no seed does, and **ambiguous**
  otherwise (counted and reported, excluded from recall and precision);
- when the fixed program itself fails in a seed, the fault is **ambiguous** (the comparison is missing);
  when it fails in every seed the case is **invalid** (a generator defect, reported).
`bottleneck_bypass` is **static**: a skip or an overcomplete code makes the loss easier to lower, so "its
fix lowers the loss" is no test of it; the rule's result is stored beside it for information.
Two-fault cases also get the same rule for the pair (faulty vs fixed: `joint`) and for each fix applied
while the other fault stays (faulty vs only_<other>: `in_presence`), which tells masking and compound
faults apart; the per-cause verdict is the one above (each fault alone).
Healthy controls get their per-seed numbers and `trains` (every seed finite and below 1.0, i.e. better
than the mean image).

    nohup nice -n 15 .venv/bin/python bench/generated/ground_truth.py >> runs/generated/gt.log 2>&1 &
    .venv/bin/python bench/generated/ground_truth.py --split test --limit 5      # a few cases
    .venv/bin/python bench/generated/ground_truth.py --shard 0/2                   # half of the cases
    .venv/bin/python bench/generated/ground_truth.py --aggregate                   # verdicts_<split>.json
    .venv/bin/python bench/generated/ground_truth.py --rates                       # real_rates.json
    .venv/bin/python bench/generated/ground_truth.py --split test5 --top-up        # next top-up round
    .venv/bin/python bench/generated/ground_truth.py --executor ray --split dev    # cases as Ray tasks
    .venv/bin/python bench/generated/ground_truth.py --runs-file A --compare B     # same numbers?

Cases run in the order test-000, dev-000, test-001, dev-001, ... (`--split both`, the default), so
partial results cover both splits. Writes bench/generated/ground_truth/runs.jsonl (raw runs),
sweeps.jsonl (the learning-rate sweeps, via generate.py) and, with --aggregate, verdicts_dev.json and
verdicts_test.json. With --rates it writes real_rates.json (generate.RATES): per cause and severity, how many
injected faults were real, pooled over generate.RATE_SPLITS' verdicts; the stratified split's design reads it.
With --top-up (a stratified split whose cases all have complete ground truth) it decides the next round of
the top-up rule (generate.topup_round: one-fault cases of each cause short of its floor) and appends it to
topup.json (generate.TOPUP); the ground truth run after it trains the new cases, and --aggregate counts them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import generate as G  # noqa: E402
import sources  # noqa: E402

OUT = HERE / "ground_truth"
RUNS_FILE = OUT / "runs.jsonl"
SEEDS = (0, 1, 2)
MIN_MARGIN = 0.10
OK = "ok"


# ---------------------------------------------------------------------------------------------- the rule

def classify(with_fault: list, fixed: list, min_margin: float = MIN_MARGIN) -> dict:
    """Real / not real / ambiguous / invalid from per-seed runs (same seed order in both lists).

    Each run is a dict with `status` ("ok", "nan", "error") and `relative_mse` (None unless ok).
    """
    if len(with_fault) != len(fixed) or not fixed:
        raise ValueError(f"need the same seeds on both sides, got {len(with_fault)} and {len(fixed)} runs")
    fixed_ok = [r["status"] == OK and r["relative_mse"] is not None and math.isfinite(r["relative_mse"]) for r in fixed]
    values = [r["relative_mse"] for r, ok in zip(fixed, fixed_ok) if ok]
    spread = (max(values) - min(values)) / min(values) if len(values) >= 2 and min(values) > 0 else None
    margin = max(min_margin, spread or 0.0)
    seeds = []
    for w, f, ok in zip(with_fault, fixed, fixed_ok):
        if not ok:
            seeds.append({"shows": None, "why": f"the fixed program failed ({f['status']})"})
            continue
        if w["status"] != OK or w["relative_mse"] is None or not math.isfinite(w["relative_mse"]):
            seeds.append({"shows": True, "ratio": None, "why": f"cannot train with the fault ({w['status']})"})
            continue
        ratio = w["relative_mse"] / f["relative_mse"] if f["relative_mse"] > 0 else math.inf
        seeds.append({"shows": ratio > 1 + margin, "ratio": ratio})
    shows = [s["shows"] for s in seeds]
    if not any(fixed_ok):
        verdict = "invalid"
    elif None in shows:
        verdict = "ambiguous"
    elif all(shows):
        verdict = "real"
    elif not any(shows):
        verdict = "not_real"
    else:
        verdict = "ambiguous"
    return {"verdict": verdict, "margin": margin, "spread": spread, "seeds": seeds,
            "with_fault": [r["relative_mse"] for r in with_fault], "fixed": [r["relative_mse"] for r in fixed],
            "with_fault_status": [r["status"] for r in with_fault]}


# ---------------------------------------------------------------------------------------------- runs

def order(split: str) -> list:
    """(split, index) pairs in run order: test-000, dev-000, test-001, ... for 'both'."""
    splits = ["test", "dev"] if split == "both" else [split]
    longest = max(G.n_cases(s) for s in splits)
    return [(s, i) for i in range(longest) for s in splits if i < G.n_cases(s)]


def read_runs(path: Path = RUNS_FILE) -> dict:
    """(generator_version, split, case, label, seed) -> run (a later line of the same key wins)."""
    out = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a killed process: that run is simply redone
                continue
            out[(r["generator_version"], r["split"], r["case"], r["label"], r["seed"])] = r
    return out


def planned(split: str, index: int) -> list:
    draw = G.draw_case(split, index)
    return [(label, seed) for label in G.variants(draw) for seed in SEEDS]


def run_case(split: str, index: int, done: dict, runs_path: Path | None, root: Path, log=print,
             sweeps_path: Path = G.SWEEPS, write=None) -> int:
    """Materialise a case if needed and train its missing runs; returns how many it trained. Each run's record
    is appended to `runs_path` as it finishes, or given to `write(record)` (a Ray task sends them back)."""
    import keras

    import training

    draw = G.draw_case(split, index)
    todo = [(label, seed) for label, seed in planned(split, index)
            if (G.GENERATOR_VERSION, split, draw.id, label, seed) not in done]
    if not todo:
        return 0
    started = time.perf_counter()
    folder = G.materialize(split, index, root, sweeps_path)
    case = json.loads((folder / "case.json").read_text())
    log(f"{draw.id} {case['kind']} {[f['cause'] + '/' + f['severity'] for f in case['faults']]} "
        f"materialised in {time.perf_counter() - started:.1f} s (lr {case['sweep']['chosen_lr']})")
    loaded: dict = {}

    def arrays(rel: str):
        if rel not in loaded:
            loaded[rel] = training.load_npz(folder / rel)
        return loaded[rel]

    count, programs = 0, {}
    for label, seed in todo:  # label by label: one traced Program serves the three seeds
        v = case["variants"][label]
        x, y = arrays(v["data"])
        sx, sy = arrays(v["score_data"])
        _, (vx, vy) = sources.split(sx, sy)
        if label not in programs:
            programs.clear()
            keras.backend.clear_session()
            programs[label] = training.Program(training.load_factory(folder / v["model"]), x.shape[1:])
        r = programs[label].run(x, y, (vx, vy), seed=seed, samples=case["budget_samples"],
                                batch_size=v["batch_size"])
        record = {"generator_version": G.GENERATOR_VERSION, "split": split, "case": draw.id, "label": label,
                  "fixed": v["fixed"], **r, "model_sha256": case["files_sha256"][v["model"]],
                  "data_sha256": case["files_sha256"][v["data"]], "backend": keras.backend.backend(),
                  "keras": keras.__version__, "host": platform.node(),
                  "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if write is not None:
            write(record)
        else:
            with runs_path.open("a") as fh:
                fh.write(json.dumps(record) + "\n")
        done[(G.GENERATOR_VERSION, split, draw.id, label, seed)] = record
        count += 1
        rel = r["relative_mse"]
        log(f"  {draw.id} {label:34s} seed {seed} {r['status']:5s} rel {rel if rel is None else round(rel, 4)} "
            f"{r['steps']} steps x {r['batch_size']} in {r['seconds']} s {r['error'][:90]}")
    return count


def run_on_ray(work: list, done: dict, runs_path: Path, root: Path, sweeps_path: Path, threads: int,
               limit: int = 0, log=print) -> int:
    """`--executor ray`: every case a Ray task, each in its own worker process with its own TensorFlow, as
    many at a time as the cluster has CPUs (`RAY_ADDRESS` names a cluster; without it a local Ray is started
    with this machine's CPUs). A task runs `run_case` exactly as the sequential loop does and sends its records
    back; they are appended here as each case finishes (the same records: tests/bench and docs/distributed.md
    say how that was checked). On a cluster, `--root` and the sweeps file must be on a shared filesystem.
    A case whose task fails is logged FAILED and skipped, as in the sequential loop; a rerun retries it."""
    import ray

    ray.init(address=os.environ.get("RAY_ADDRESS") or None, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(HERE), "TF_CPP_MIN_LOG_LEVEL": "3"}})
    task = ray.remote(num_cpus=1, max_retries=0)(_case_task)
    pending = {}
    for split, index in work:
        draw = G.draw_case(split, index)
        if all((G.GENERATOR_VERSION, split, draw.id, label, seed) in done for label, seed in planned(split, index)):
            continue
        mine = {k: v for k, v in done.items() if k[1] == split and k[2] == draw.id}
        pending[task.remote(split, index, mine, str(root), str(sweeps_path), threads)] = draw.id
        if limit and len(pending) >= limit:
            break
    log(f"{len(pending)} cases sent to Ray ({ray.cluster_resources().get('CPU', 0):.0f} CPUs)")
    started, cases_run = time.perf_counter(), 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        name = pending.pop(ready[0])
        try:
            records, lines = ray.get(ready[0])
        except Exception as exc:  # noqa: BLE001 - one broken case must not stop the others
            log(f"{name} FAILED, skipped: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        with runs_path.open("a") as fh:
            for record in records:
                fh.write(json.dumps(record) + "\n")
        for line in lines:
            log(line)
        cases_run += 1
        log(f"[{(time.perf_counter() - started) / 3600:.2f} h] {cases_run} cases this session")
    ray.shutdown()
    return cases_run


def _case_task(split: str, index: int, done: dict, root: str, sweeps_path: str, threads: int) -> tuple:
    """In a Ray worker: `run_case` of one case; (its records, its log lines)."""
    import training

    training.configure_threads(threads, 1)
    records, lines = [], []
    run_case(split, index, dict(done), None, Path(root), log=lines.append, sweeps_path=Path(sweeps_path),
             write=records.append)
    return records, lines


def compare_runs(mine: Path, reference: Path) -> dict:
    """Every run of `mine` against the run of the same key in `reference`: equal when the relative MSE, the
    loss and validation curves and the status are the same numbers."""
    ours, theirs = read_runs(mine), read_runs(reference)
    fields = ("status", "relative_mse", "loss_curve", "val_curve", "steps_done")
    equal, differ, missing = 0, [], []
    for key, run in sorted(ours.items()):
        other = theirs.get(key)
        if other is None:
            missing.append("/".join(map(str, key[1:])))
        elif all(run.get(f) == other.get(f) for f in fields):
            equal += 1
        else:
            differ.append({"run": "/".join(map(str, key[1:])),
                           **{f: [run.get(f), other.get(f)] for f in ("relative_mse", "status")}})
    return {"runs": len(ours), "cases": len({k[2] for k in ours}), "equal": equal, "differ": differ,
            "missing_in_reference": missing}


# ---------------------------------------------------------------------------------------------- verdicts

def judge(case: dict, runs: dict) -> dict:
    """Per-case verdicts from its runs (label -> [run per seed]); `case` is its case.json."""
    out = {"id": case["id"], "kind": case["kind"], "injected": case["injected"], "faults": case["faults"],
           "batch_size": case["batch_size"], "data": case["data"], "lr": case["sweep"]["chosen_lr"],
           "optimizer": case["sweep"]["optimizer"],
           "runs": {label: [{k: r.get(k) for k in ("seed", "status", "relative_mse", "steps", "batch_size", "error",
                                                     "seconds")} for r in rs] for label, rs in runs.items()}}
    complete = all(len(runs.get(label, [])) == len(SEEDS) for label in case["variants"])
    out["complete"] = complete
    if not complete:
        return out
    if case["kind"] == "healthy":
        rs = runs["healthy"]
        values = [r["relative_mse"] for r in rs]
        out["trains"] = all(r["status"] == OK and v is not None and v < 1.0 for r, v in zip(rs, values))
        out["relative_mse"] = values
        return out
    causes = {}
    for fault in case["faults"]:
        cause = fault["cause"]
        label = "faulty" if case["kind"] == "single" else f"only_{cause}"
        result = classify(runs[label], runs["fixed"])
        entry = {"verdict": "static" if fault["static"] else result["verdict"], "rule": result}
        if case["kind"] == "double":
            other = next(f["cause"] for f in case["faults"] if f["cause"] != cause)
            entry["in_presence"] = classify(runs["faulty"], runs[f"only_{other}"])
        causes[cause] = entry
    out["causes"] = causes
    if case["kind"] == "double":
        out["joint"] = classify(runs["faulty"], runs["fixed"])
    return out


def aggregate(split: str, runs_path: Path = RUNS_FILE, root: Path = G.RUNS, sweeps_path: Path = G.SWEEPS) -> dict:
    done = read_runs(runs_path)
    cases = []
    for index in range(G.n_cases(split)):
        draw = G.draw_case(split, index)
        runs = {}
        for label, seed in planned(split, index):
            r = done.get((G.GENERATOR_VERSION, split, draw.id, label, seed))
            if r is not None:
                runs.setdefault(label, []).append(r)
        if not runs:
            continue
        case_json = Path(root) / split / draw.id / "case.json"
        if not case_json.is_file():  # the files are reproducible: rebuild them from the recorded sweep
            G.materialize(split, index, root, sweeps_path, allow_sweep=False)
        cases.append(judge(json.loads(case_json.read_text()), runs))
    verdicts = [(c["id"], cause, e["verdict"]) for c in cases if c.get("complete") for cause, e in c.get("causes", {}).items()]
    counts: dict = {}
    for _, _, v in verdicts:
        counts[v] = counts.get(v, 0) + 1
    healthy = [c for c in cases if c.get("complete") and c["kind"] == "healthy"]
    return {
        "generator_version": G.GENERATOR_VERSION, "split": split, "split_seed": G.SPLITS[split],
        "seeds": list(SEEDS), "min_margin": MIN_MARGIN, "steps": G.GT_STEPS,
        "rule": "per fault, seed by seed: the fix shows when the program with the fault cannot train or ends "
                "above fixed x (1 + max(MIN_MARGIN, (max - min) / min of the fixed program's seeds)); real if "
                "every seed shows it, not_real if none does, otherwise ambiguous; bottleneck_bypass is static",
        "cases_complete": sum(bool(c.get("complete")) for c in cases), "cases_started": len(cases),
        "cases_total": G.n_cases(split), "fault_verdicts": counts,
        "healthy_controls": {"complete": len(healthy), "train": sum(bool(c.get("trains")) for c in healthy)},
        "cases": cases,
    }


def top_up(split: str, runs_path: Path = RUNS_FILE, root: Path = G.RUNS, sweeps_path: Path = G.SWEEPS,
           topup_path: Path | None = None) -> dict:
    """One round of the top-up rule (generate.topup_round) on a stratified split whose cases all have complete
    ground truth: the real cases per cause, the new entries (appended to generate.TOPUP), and the causes still
    short. Refuses while a case is incomplete: a round is decided on every verdict so far, never on a part."""
    doc = aggregate(split, runs_path, root, sweeps_path)
    if doc["cases_complete"] < doc["cases_total"]:
        raise SystemExit(f"{split}: {doc['cases_complete']} of {doc['cases_total']} cases have complete ground "
                         "truth; run it to the end before a top-up round")
    real = {c: 0 for c in G.ops.CAUSES}
    for case in doc["cases"]:
        for cause, entry in case.get("causes", {}).items():
            real[cause] += entry["verdict"] == "real"
    drawn = G.read_topup(split, topup_path)
    new = G.topup_round(split, real, drawn)
    if new:
        G.write_topup(split, new, topup_path)
    had = {c: sum(e["cause"] == c for e in drawn + new) for c in G.ops.CAUSES}
    short = {c: {"real": real[c], "floor": G.floor(c), "topped_up": had[c]} for c in G.ops.CAUSES
             if real[c] < G.floor(c)}
    return {"split": split, "real": real, "new": new, "short": short,
            "capped": sorted(c for c in short if had[c] >= G.TOPUP_MAX)}


def real_rates(splits=G.RATE_SPLITS, folder: Path = OUT) -> dict:
    """How often each injected fault was real: per cause and severity, {"real": r, "judged": n} over the complete
    cases of verdicts_<split>.json for `splits` (every verdict counts in n: not real, ambiguous and static too).
    The document `--rates` writes to generate.RATES."""
    table: dict = {}
    for split in splits:
        doc = json.loads((Path(folder) / f"verdicts_{split}.json").read_text())
        for case in doc["cases"]:
            if not case.get("complete"):
                continue
            for fault in case["faults"]:
                entry = table.setdefault(fault["cause"], {}).setdefault(fault["severity"], {"real": 0, "judged": 0})
                entry["judged"] += 1
                entry["real"] += case["causes"][fault["cause"]]["verdict"] == "real"
    rates = {c: {s: table[c][s] for s in G.ops.SEVERITIES if s in table.get(c, {})} for c in G.ops.CAUSES if c in table}
    return {"splits": list(splits), "rule": "real / judged per cause and severity over the complete cases of "
            "verdicts_<split>.json; judged counts every verdict (real, not_real, ambiguous, static)",
            "rates": rates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("both",) + tuple(sorted(G.SPLITS)), default="both",
                        help="both: dev and test, interleaved; a later test split (test2) by name")
    parser.add_argument("--shard", default="0/1", help="i/n: every n-th case of the run order, from the i-th")
    parser.add_argument("--limit", type=int, default=0, help="stop after this many cases that needed runs")
    parser.add_argument("--runs-file", default=str(RUNS_FILE))
    parser.add_argument("--root", default=str(G.RUNS), help="where the cases' files are materialised")
    parser.add_argument("--sweeps-file", default=str(G.SWEEPS), help="the learning-rate sweeps (read and appended)")
    parser.add_argument("--threads", type=int, default=1,
                        help="TensorFlow intra-op threads (1: the small models gain nothing from a second thread on a busy machine)")
    parser.add_argument("--aggregate", action="store_true", help="only write verdicts_<split>.json from the runs")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="ray: every case a Ray task in its own process (RAY_ADDRESS or a local Ray)")
    parser.add_argument("--cases", default="", help="only these case ids (comma-separated, e.g. dev-003,dev-007)")
    parser.add_argument("--compare", default="",
                        help="only compare the runs of --runs-file with the runs of this file (same numbers?)")
    parser.add_argument("--top-up", action="store_true",
                        help="a stratified split with complete ground truth: the next round of the top-up rule "
                             f"(appended to {G.TOPUP.name}); then run the ground truth again")
    parser.add_argument("--rates", action="store_true",
                        help=f"only write {G.RATES.name} from the verdicts of {', '.join(G.RATE_SPLITS)}")
    args = parser.parse_args()
    if args.rates:
        doc = real_rates()  # one line per cause, so a change shows as the causes it moved
        lines = [f' "{c}": {json.dumps(v)}' for c, v in doc["rates"].items()]
        G.RATES.write_text(f'{{"splits": {json.dumps(doc["splits"])}, "rule": {json.dumps(doc["rule"])},\n'
                           f'"rates": {{\n' + ",\n".join(lines) + "\n}}\n")
        print(f"wrote {G.RATES}")
        return
    if args.compare:
        print(json.dumps(compare_runs(Path(args.runs_file), Path(args.compare)), indent=1))
        return
    runs_path, root = Path(args.runs_file), Path(args.root)
    splits = ("dev", "test") if args.split == "both" else (args.split,)
    if args.top_up:
        if args.split not in G.STRATIFIED:
            raise SystemExit(f"--top-up: --split must be a stratified split ({', '.join(G.STRATIFIED)})")
        result = top_up(args.split, runs_path, root, Path(args.sweeps_file))
        for e in result["new"]:
            print(f"{args.split}-{e['index']:03d}: {e['cause']}/{e['severity']} (round {e['round']})")
        print(f"{len(result['new'])} new cases; short of the floor: "
              + (", ".join(f"{c} {v['real']}/{v['floor']}" for c, v in result["short"].items()) or "none")
              + (f"; no more top-up for {', '.join(result['capped'])} ({G.TOPUP_MAX} drawn)" if result["capped"] else ""))
        return
    if args.aggregate:
        for split in splits:
            doc = aggregate(split, runs_path, root, Path(args.sweeps_file))
            path = OUT / f"verdicts_{split}.json"
            path.write_text(json.dumps(doc, indent=1) + "\n")
            print(f"wrote {path}: {doc['cases_complete']}/{doc['cases_total']} cases complete, "
                  f"fault verdicts {doc['fault_verdicts']}, healthy controls {doc['healthy_controls']}")
        return
    i, n = (int(v) for v in args.shard.split("/"))
    if not 0 <= i < n:
        raise SystemExit(f"--shard {args.shard}: expected i/n with 0 <= i < n")
    import training

    training.configure_threads(args.threads, 1)
    runs_path.parent.mkdir(parents=True, exist_ok=True)
    done = read_runs(runs_path)
    work = [p for k, p in enumerate(order(args.split)) if k % n == i]
    if args.cases:
        wanted = set(args.cases.split(","))
        work = [(s, j) for s, j in work if f"{s}-{j:03d}" in wanted]
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} ground truth: {len(work)} cases in shard {args.shard}, "
          f"{G.GT_STEPS} steps of the base batch, seeds {SEEDS}, runs file {runs_path}", flush=True)
    if args.executor == "ray":
        cases_run = run_on_ray(work, done, runs_path, root, Path(args.sweeps_file), args.threads, args.limit,
                               log=lambda s: print(s, flush=True))
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} done: {cases_run} cases trained on Ray", flush=True)
        return
    started, cases_run = time.perf_counter(), 0
    for split, index in work:
        try:
            trained = run_case(split, index, done, runs_path, root, log=lambda s: print(s, flush=True),
                               sweeps_path=Path(args.sweeps_file))
        except Exception as exc:  # one broken case must not stop a night's run; a rerun retries it
            print(f"{split}-{index:03d} FAILED, skipped: {type(exc).__name__}: {exc}", flush=True)
            continue
        if trained:
            cases_run += 1
            print(f"[{(time.perf_counter() - started) / 3600:.2f} h] {cases_run} cases this session", flush=True)
        if args.limit and cases_run >= args.limit:
            break
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} done: {cases_run} cases trained", flush=True)


if __name__ == "__main__":
    main()
