"""The generated fault benchmark: a deterministic function from (split seed, index) to a CAE case.

A case is a healthy base CAE drawn from the space of space.py, on real images (sources.py), with zero, one
or two faults injected by the operators of operators.py (one per cause, mild or strong). It materialises
as the plain Keras program a user would hand over, under runs/generated/<split>/<case_id>/:

    case.py     build_model(input_shape) -> a compiled keras.Model (the user's optimizer and loss);
                BATCH_SIZE, the user's batch size
    data.npz    x (and y when the targets are not the inputs), float32
    case.json   the truth: spec of the base and of the faulty program, injected causes, severities, the
                fix of each fault, batch size, data description, the learning-rate sweep, and the variants
    variants/<label>/case.py (+ data.npz when the data differ)
                the same program with faults removed: `fixed` (all removed) and, in two-fault cases,
                `only_<cause>` (that fault kept, the other removed)

Splits: `SPLITS` fixes each split's seed, committed before any tuning. A test split ("test", "test2", ...:
`is_test`) is scored only to report figures, never to choose a threshold; after a threshold change the next
reported figure needs a fresh test split (a new seed here, and a new GENERATOR_VERSION if the generator
changed).

Each split has N_CASES cases: N_HEALTHY healthy controls, N_DOUBLE two-fault cases, the rest one fault.
The fault slots hold every cause of operators.CAUSES equally often, half mild and half strong, shuffled by
the split's seed; healthy controls are drawn within a random operator's preconditions half of the time, so
they look like the faulty cases' bases (tanh nets, small data sets, BatchNorm at batch 16, ...).

The base learning rate comes from a sweep (sweep()): the optimizer's LR_CANDIDATES, SWEEP_STEPS steps each
at the base's batch size, seed 0; the smallest rate whose validation relative MSE is within SWEEP_TIE (10%)
of the lowest wins. Its result is appended to
bench/generated/ground_truth/sweeps.jsonl (committed) and read back next time, so a case is reproducible
from (GENERATOR_VERSION, split seed, index) and that record. A base whose best sweep run stays at or above
UNHEALTHY_SWEEP is redrawn (attempt 1, 2, ... up to MAX_ATTEMPTS; the attempt is part of the case's seed);
if none trains, the best attempt is kept and case.json says `base_healthy: false`.

    .venv/bin/python bench/generated/generate.py --split dev --cases 0-9     # materialise (runs sweeps)
    .venv/bin/python bench/generated/generate.py --summary                    # counts per cause, no training
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import emit  # noqa: E402
import operators as ops  # noqa: E402
import sources  # noqa: E402
import space  # noqa: E402

GENERATOR_VERSION = 1
# Fixed before any tuning; see the module docstring. "test2": the fresh test split for the figures after the
# thresholds and rules changed on the dev split following the first test-split run (fixed 2026-12-02, before
# any ground truth or run on it). "test3": the fresh test split for the figures after the changes made on
# the dev split following the test2 run (fixed 2026-12-02, before any ground truth, run or tuning on it).
# "test4": the fresh test split for the figures after the changes made following the test3 run (fixed
# 2026-12-03, before any ground truth or run on it).
SPLITS = {"dev": 15_001, "test": 15_002, "test2": 15_003, "test3": 15_004, "test4": 15_005}


def is_test(split: str) -> bool:
    """A test split: scored only to report figures, never to tune on."""
    return split.startswith("test")
N_CASES = 150
N_HEALTHY = 36  # 24%
N_DOUBLE = 30  # so 84 one-fault cases and 144 fault slots: 6 per cause (3 mild, 3 strong)
HEALTHY_LOOKALIKE = 0.5  # share of healthy controls drawn within a random operator's preconditions
GT_STEPS = 1500  # the ground truth's budget: 1,500 steps of the base's batch size (3x caedoctor's probe)
SWEEP_STEPS = 300
SWEEP_TIE = 0.1
UNHEALTHY_SWEEP = 0.8  # a base whose best sweep run ends at or above this relative MSE is redrawn
MAX_ATTEMPTS = 5
ROOT = sources.ROOT
RUNS = ROOT / "runs" / "generated"
SWEEPS = HERE / "ground_truth" / "sweeps.jsonl"


@dataclass(frozen=True)
class Draw:
    """What the schedule decides for one index, before any base is drawn."""

    split: str
    index: int
    faults: tuple  # ((cause, severity), ...)
    lookalike: str | None = None  # healthy controls: the cause whose preconditions the base meets

    @property
    def id(self) -> str:
        return f"{self.split}-{self.index:03d}"

    @property
    def kind(self) -> str:
        return ("healthy", "single", "double")[len(self.faults)]

    def seed(self, attempt: int = 0) -> tuple:
        return (SPLITS[self.split], self.index, attempt)


def fault_needs(draw: Draw) -> dict:
    """The merged preconditions of a case's faults (or its look-alike cause), drawn from the case's seed."""
    parts = []
    causes = list(draw.faults) or ([(draw.lookalike, "mild")] if draw.lookalike else [])
    for k, (cause, severity) in enumerate(causes):
        rng = np.random.default_rng([SPLITS[draw.split], draw.index, 500 + k])
        parts.append(ops.OPERATORS[cause].needs(severity, rng))
    return space.merge_needs(*parts)


def _pair_ok(split: str, index: int, a: tuple, b: tuple) -> bool:
    """Whether faults a and b can share case `index`: no shared field, neither changes what the other's
    precondition relies on, and a base meeting both preconditions exists."""
    if not ops.compatible(a, b):
        return False
    draw = Draw(split, index, (a, b))
    try:
        needs = fault_needs(draw)
        space.draw_base(np.random.default_rng(draw.seed()), needs)
    except space.Unsatisfiable:
        return False
    na = ops.OPERATORS[a[0]].needs(a[1], np.random.default_rng([SPLITS[split], index, 500]))
    nb = ops.OPERATORS[b[0]].needs(b[1], np.random.default_rng([SPLITS[split], index, 501]))
    return not (ops.needs_conflict(ops.OPERATORS[a[0]], nb) or ops.needs_conflict(ops.OPERATORS[b[0]], na))


@functools.lru_cache(maxsize=None)
def schedule(split: str) -> tuple:
    """The split's N_CASES draws, by index: a deterministic function of SPLITS[split] alone."""
    seed = SPLITS[split]
    rng = np.random.default_rng([seed, 0])
    n_faulty = N_CASES - N_HEALTHY
    n_single = n_faulty - N_DOUBLE
    n_slots = n_single + 2 * N_DOUBLE
    per_cause = n_slots // len(ops.CAUSES)
    if per_cause * len(ops.CAUSES) != n_slots:
        raise ValueError(f"{n_slots} fault slots do not divide among {len(ops.CAUSES)} causes")
    slots = [(c, sev) for c in ops.CAUSES for i in range(per_cause) for sev in (ops.SEVERITIES[i % 2],)]
    slots = [slots[i] for i in rng.permutation(len(slots))]
    kinds = ["healthy"] * N_HEALTHY + ["single"] * n_single + ["double"] * N_DOUBLE
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    draws, pool = [], list(slots)
    for index, kind in enumerate(kinds):
        if kind == "healthy":
            look = ops.CAUSES[int(rng.integers(len(ops.CAUSES)))] if rng.random() < HEALTHY_LOOKALIKE else None
            draws.append(Draw(split, index, (), look))
            continue
        if kind == "single":
            # keep pool order; a single never fails, so take the first slot
            first = pool.pop(0)
            draws.append(Draw(split, index, (first,)))
            continue
        first = pool.pop(0)
        partner = next((j for j, b in enumerate(pool) if _pair_ok(split, index, first, b)), None)
        if partner is None:
            raise ValueError(f"{split}: no compatible partner for {first} at index {index}")
        draws.append(Draw(split, index, (first, pool.pop(partner))))
    if pool:
        raise ValueError(f"{split}: {len(pool)} fault slots left unassigned")
    # Singles were taken in pool order before the pairs that follow them: recheck every single's base exists.
    for d in draws:
        if d.kind == "single":
            space.draw_base(np.random.default_rng(d.seed()), fault_needs(d))
    return tuple(draws)


def draw_case(split: str, index: int) -> Draw:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    if not 0 <= index < N_CASES:
        raise ValueError(f"index {index} outside 0..{N_CASES - 1}")
    return schedule(split)[index]


def base_spec(draw: Draw, attempt: int = 0) -> dict:
    """The healthy base of a case (learning rate not yet set: the sweep sets it)."""
    return space.draw_base(np.random.default_rng(draw.seed(attempt)), fault_needs(draw))


def variant_spec(draw: Draw, base: dict, fixed=(), attempt: int = 0) -> tuple[dict, list]:
    """The base with every injected fault not in `fixed` applied: (spec, [(cause, fault, fix), ...])."""
    spec = space.copy_spec(base)
    said = []
    for k, (cause, severity) in enumerate(draw.faults):
        fault, fix = ops.OPERATORS[cause].inject(spec if cause not in fixed else space.copy_spec(spec), severity,
                                                 ops.fault_rng(draw.seed(attempt), k))
        said.append((cause, fault, fix))
    return spec, said


def variants(draw: Draw) -> dict:
    """label -> causes fixed in that variant."""
    causes = [c for c, _ in draw.faults]
    if not causes:
        return {"healthy": ()}
    out = {"faulty": ()}
    if len(causes) == 2:
        a, b = causes
        out[f"only_{a}"] = (b,)
        out[f"only_{b}"] = (a,)
    out["fixed"] = tuple(causes)
    return out


# ------------------------------------------------------------------------------------------------ data

def _to_range(u: np.ndarray, value_range: str) -> np.ndarray:
    if value_range == "unit":
        return u
    if value_range == "signed":
        return u * np.float32(2.0) - np.float32(1.0)
    if value_range == "loose":  # a min-max scaling with a 10% margin each side
        return u * np.float32(1.2) - np.float32(0.1)
    if value_range == "standard":
        mean, std = float(u.mean(dtype=np.float64)), float(u.std(dtype=np.float64))
        return ((u - mean) / std).astype(np.float32)
    raise ValueError(f"unknown range {value_range!r}")


def data_arrays(spec: dict, seed: tuple) -> tuple[np.ndarray, np.ndarray | None]:
    """(x, y or None) of a spec's data; the same seed gives the same images for every variant of a case."""
    d = spec["data"]
    x = _to_range(sources.images(d["source"], d["n"], d["crop"], d["channels"], [*seed, 7]), d["range"])
    y = None
    if d["scale255"]:
        x = x * np.float32(255.0)
    if d["target"] == "x255":
        y = x * np.float32(255.0)
    elif d["target"] == "shuffled":
        y = x[np.random.default_rng([*seed, 8]).permutation(len(x))]
    if d["nonfinite"]:
        nf = d["nonfinite"]
        train_idx, _ = sources.split_indices(len(x))
        k = max(1, int(round(nf["share"] * len(train_idx))))
        idx = np.random.default_rng([*seed, 9]).choice(train_idx, k, replace=False)
        x = x.copy()
        x[idx, :nf["size"], :nf["size"], :] = np.nan if nf["value"] == "nan" else np.inf
    if d["subset"]:
        train_idx, _ = sources.split_indices(len(x))
        keep = np.sort(np.random.default_rng([*seed, 10]).choice(train_idx, d["subset"], replace=False))
        x = x[keep]
        y = None if y is None else y[keep]
    return np.ascontiguousarray(x, np.float32), (None if y is None else np.ascontiguousarray(y, np.float32))


def describe_data(spec: dict) -> str:
    d = spec["data"]
    span = {"unit": "[0, 1]", "signed": "[-1, 1]", "standard": "standardised (zero mean, unit std)",
            "loose": "[-0.1, 1.1]"}[d["range"]]
    if d["scale255"]:
        span = "0-255"
    colour = "RGB" if d["channels"] == 3 else "grey"
    n = d["subset"] or d["n"]
    text = f"{d['source']}: {n} random {d['crop']}x{d['crop']} crops, {colour}, values {span}"
    if d["target"] == "x255":
        text += "; targets y = 255 x"
    elif d["target"] == "shuffled":
        text += "; targets y = the images in another order"
    if d["nonfinite"]:
        text += f"; {d['nonfinite']['value']} in {d['nonfinite']['share']:.1%} of the training images"
    return text


# ------------------------------------------------------------------------------------------------ sweep

def read_sweeps(path: Path = SWEEPS) -> dict:
    out = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line) if line.strip() else None
            except json.JSONDecodeError:  # cut short by a killed process: that sweep is redone
                r = None
            if r is not None:
                out[(r["generator_version"], r["split"], r["case"], r["attempt"])] = r
    return out


def sweep(draw: Draw, base: dict, attempt: int) -> dict:
    """Train the base at each candidate rate for SWEEP_STEPS steps (seed 0) and record which is best."""
    import training

    x, y = data_arrays(base, draw.seed(attempt))
    _, val = sources.split(x, y)
    candidates = space.LR_CANDIDATES[base["train"]["optimizer"]]
    spec = space.copy_spec(base)
    spec["train"]["lr"] = candidates[0]
    program = training.Program(training.factory_from_source(emit.case_source(spec, "sweep")), x.shape[1:])
    results = []
    for lr in candidates:  # one traced model, reset to the same seed-0 start for every rate
        r = program.run(x, y, val, seed=0, samples=SWEEP_STEPS * spec["train"]["batch"],
                        batch_size=spec["train"]["batch"], evals=1, learning_rate=lr)
        results.append({"lr": lr, "relative_mse": r["relative_mse"], "status": r["status"],
                        "error": r["error"], "seconds": r["seconds"]})
    ok = [r for r in results if r["relative_mse"] is not None]
    lowest = min((r["relative_mse"] for r in ok), default=None)
    # The smallest rate within SWEEP_TIE of the lowest error: a short sweep favours fast rates, a slower one
    # that does as well is the safer choice for 1,500 steps.
    best = next((r for r in ok if r["relative_mse"] <= lowest * (1 + SWEEP_TIE)), None) if ok else None
    return {"generator_version": GENERATOR_VERSION, "split": draw.split, "case": draw.id, "attempt": attempt,
            "optimizer": base["train"]["optimizer"], "batch": base["train"]["batch"], "steps": SWEEP_STEPS,
            "results": results, "chosen_lr": best["lr"] if best else None,
            "best_relative_mse": best["relative_mse"] if best else None,
            "healthy": bool(best and best["relative_mse"] < UNHEALTHY_SWEEP)}


def settled_base(draw: Draw, sweeps_path: Path = SWEEPS, allow_sweep: bool = True) -> tuple[dict, int, dict]:
    """(base with its swept learning rate, attempt, sweep record): redraws a base that does not train."""
    known = read_sweeps(sweeps_path)
    records = []
    for attempt in range(MAX_ATTEMPTS):
        base = base_spec(draw, attempt)
        key = (GENERATOR_VERSION, draw.split, draw.id, attempt)
        record = known.get(key)
        if record is None:
            if not allow_sweep:
                raise LookupError(f"{draw.id}: no recorded sweep for attempt {attempt} in {sweeps_path}")
            record = sweep(draw, base, attempt)
            sweeps_path.parent.mkdir(parents=True, exist_ok=True)
            with sweeps_path.open("a") as fh:
                fh.write(json.dumps(record) + "\n")
        records.append((base, attempt, record))
        if record["healthy"]:
            break
    usable = [r for r in records if r[2]["chosen_lr"] is not None]
    if not usable:
        raise RuntimeError(f"{draw.id}: no base trained at any swept rate in {MAX_ATTEMPTS} attempts")
    base, attempt, record = next((r for r in records if r[2]["healthy"]), None) or \
        min(usable, key=lambda r: r[2]["best_relative_mse"])
    base = space.copy_spec(base)
    base["train"]["lr"] = record["chosen_lr"]
    return base, attempt, record


# ------------------------------------------------------------------------------------------------ files

def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def case_dir(split: str, index: int, root: Path = RUNS) -> Path:
    return Path(root) / split / draw_case(split, index).id


def materialize(split: str, index: int, root: Path = RUNS, sweeps_path: Path = SWEEPS,
                allow_sweep: bool = True) -> Path:
    """Write a case's files (see the module docstring) and return its folder; idempotent."""
    draw = draw_case(split, index)
    folder = Path(root) / split / draw.id
    if (folder / "case.json").is_file():
        doc = json.loads((folder / "case.json").read_text())
        if doc.get("generator_version") == GENERATOR_VERSION:
            return folder
    base, attempt, record = settled_base(draw, sweeps_path, allow_sweep)
    seed = draw.seed(attempt)
    folder.mkdir(parents=True, exist_ok=True)
    title = f"A convolutional autoencoder (generated case {draw.id}, generator {GENERATOR_VERSION})."
    labels = variants(draw)
    faulty_spec, said = variant_spec(draw, base, (), attempt)
    data_files: dict = {}
    entries = {}
    base_data_key = json.dumps(base["data"], sort_keys=True)
    for label, fixed in labels.items():
        spec, _ = variant_spec(draw, base, fixed, attempt)
        sub = Path(".") if label in ("faulty", "healthy") else Path("variants") / label
        (folder / sub).mkdir(parents=True, exist_ok=True)
        code_path = sub / "case.py"
        (folder / code_path).write_text(emit.case_source(spec, title))
        key = json.dumps(spec["data"], sort_keys=True)
        if key not in data_files:
            x, y = data_arrays(spec, seed)
            data_path = sub / "data.npz"
            tmp = folder / sub / "data.tmp.npz"
            if y is None:
                np.savez_compressed(tmp, x=x)
            else:
                np.savez_compressed(tmp, x=x, y=y)
            tmp.replace(folder / data_path)
            data_files[key] = str(data_path)
        entries[label] = {"fixed": list(fixed), "model": str(code_path), "data": data_files[key],
                          "batch_size": spec["train"]["batch"], "differs_from_faulty": sorted(space.diff(faulty_spec, spec)),
                          "data_description": describe_data(spec)}
    if base_data_key not in data_files:  # a subset fault fixed nowhere in this case: keep the full set to score on
        x, y = data_arrays(base, seed)
        (folder / "variants" / "reference").mkdir(parents=True, exist_ok=True)
        path = Path("variants") / "reference" / "data.npz"
        np.savez_compressed(folder / path, x=x) if y is None else np.savez_compressed(folder / path, x=x, y=y)
        data_files[base_data_key] = str(path)
    for label, entry in entries.items():
        # Variants trained on a subset of the images are scored on the full set's validation images.
        spec, _ = variant_spec(draw, base, labels[label], attempt)
        entry["score_data"] = data_files[base_data_key] if spec["data"]["subset"] else entry["data"]
    faults = []
    for (cause, severity), (_, fault, fix) in zip(draw.faults, said):
        op = ops.OPERATORS[cause]
        faults.append({"cause": cause, "severity": severity, "fault": fault, "fix": fix,
                       "touches": list(op.touches), "static": op.static,
                       "also_acceptable": list(op.also(severity, faulty_spec)), "data_fault": op.data_fault})
    doc = {
        "id": draw.id, "split": split, "index": index, "generator_version": GENERATOR_VERSION,
        "seed": list(seed), "kind": draw.kind, "lookalike": draw.lookalike,
        "injected": [c for c, _ in draw.faults], "faults": faults,
        "batch_size": faulty_spec["train"]["batch"], "data": describe_data(faulty_spec),
        "budget_samples": GT_STEPS * base["train"]["batch"],
        "sweep": {k: record[k] for k in ("optimizer", "batch", "steps", "results", "chosen_lr", "best_relative_mse",
                                         "healthy", "attempt")},
        "base_healthy": record["healthy"],
        "macs_per_sample": space.macs_per_sample(faulty_spec),
        "base": base, "faulty": faulty_spec, "variants": entries,
        "files_sha256": {},
    }
    for entry in entries.values():
        for key in ("model", "data", "score_data"):
            doc["files_sha256"][entry[key]] = _sha(folder / entry[key])
    tmp = folder / "case.tmp.json"
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(folder / "case.json")
    return folder


# ------------------------------------------------------------------------------------------------ CLI

def summary() -> dict:
    """Counts per split: kinds, causes, severities and the classes the issue names (no training)."""
    out = {}
    for split in SPLITS:
        draws = schedule(split)
        causes: dict = {}
        special = {"compound_raw255_into_sigmoid": 0, "sigmoid_stack_all_layers": 0, "sgd_lr_too_low": 0,
                   "adadelta_default_lr": 0}
        for d in draws:
            base = base_spec(d)
            for k, (cause, sev) in enumerate(d.faults):
                causes.setdefault(cause, {"mild": 0, "strong": 0})[sev] += 1
                if cause == "data_not_normalized" and sev == "strong":
                    special["compound_raw255_into_sigmoid"] += 1
                if cause == "vanishing_gradients" and sev == "strong":
                    special["sigmoid_stack_all_layers"] += 1
                if cause == "learning_rate_too_low" and base["train"]["optimizer"] == "SGD":
                    special["sgd_lr_too_low"] += 1
                if cause == "learning_rate_too_low" and sev == "strong" and base["train"]["optimizer"] == "Adadelta":
                    special["adadelta_default_lr"] += 1
        out[split] = {"cases": len(draws), "kinds": {k: sum(d.kind == k for d in draws)
                                                     for k in ("healthy", "single", "double")},
                      "causes": causes, "issue_classes": special}
    return out


def _indices(text: str) -> list:
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part.strip():
            out.append(int(part))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="dev")
    parser.add_argument("--cases", default="", help="indices, e.g. 0-9,12 (materialises them; runs sweeps)")
    parser.add_argument("--root", default=str(RUNS))
    parser.add_argument("--summary", action="store_true", help="counts per split; no training")
    args = parser.parse_args()
    if args.summary:
        print(json.dumps(summary(), indent=1))
        return
    import training

    training.configure_threads()
    for index in _indices(args.cases):
        folder = materialize(args.split, index, Path(args.root))
        doc = json.loads((folder / "case.json").read_text())
        print(f"{doc['id']}: {doc['kind']:8s} {', '.join(f['cause'] + '/' + f['severity'] for f in doc['faults']) or '-':60s}"
              f" lr {doc['sweep']['chosen_lr']} ({doc['sweep']['optimizer']}), sweep best {doc['sweep']['best_relative_mse']:.3f}",
              flush=True)


if __name__ == "__main__":
    main()
