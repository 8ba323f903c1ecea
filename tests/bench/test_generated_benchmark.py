"""The generated fault benchmark (bench/generated): deterministic cases, one operator per cause, faults that
differ from their fix in exactly the injected change, caedoctor's split and metric reproduced without
caedoctor, and the ground-truth rule on hand-made numbers. Nothing here trains beyond a few steps."""

from __future__ import annotations

import ast
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

GENERATED = Path(__file__).resolve().parents[2] / "bench" / "generated"
sys.path.insert(0, str(GENERATED))

import emit  # noqa: E402
import generate as G  # noqa: E402
import ground_truth as GT  # noqa: E402
import operators as ops  # noqa: E402
import sources  # noqa: E402
import space  # noqa: E402
import training  # noqa: E402

SHARED = sources.SHARED


def _need_shared():
    if not (SHARED / "cifar10").is_dir() or not (SHARED / "fashion-mnist").is_dir():
        pytest.skip(f"shared data not found at {SHARED}")


def _all_draws():
    return [d for split in G.SPLITS for d in G.schedule(split)]


def _base(draw, lr=None):
    base = G.base_spec(draw)
    base["train"]["lr"] = lr or space.LR_CANDIDATES[base["train"]["optimizer"]][1]
    return base


def _cheap(predicate=lambda d: True):
    """A case whose data is small (for the tests that decode images)."""
    for d in G.schedule("dev"):
        b = G.base_spec(d)
        if b["data"]["n"] <= 1000 and b["data"]["crop"] == 16 and b["data"]["source"] != "patches32" and predicate(d):
            return d
    raise AssertionError("no cheap case in the dev split")


# ---------------------------------------------------------------------------------------------- generator

def test_same_seed_gives_the_same_case():
    first = [(d, json.dumps(_base(d), sort_keys=True)) for d in G.schedule("test")[:40]]
    G.schedule.cache_clear()
    again = [(d, json.dumps(_base(d), sort_keys=True)) for d in G.schedule("test")[:40]]
    assert first == again
    d = first[7][0]
    base = _base(d)
    assert emit.case_source(G.variant_spec(d, base)[0], "t") == emit.case_source(G.variant_spec(d, _base(d))[0], "t")


def test_splits_differ_and_have_their_own_seeds():
    assert len(set(G.SPLITS.values())) == len(G.SPLITS)
    dev = [json.dumps(_base(d), sort_keys=True) for d in G.schedule("dev")[:20]]
    test = [json.dumps(_base(d), sort_keys=True) for d in G.schedule("test")[:20]]
    assert dev != test


def test_same_seed_gives_the_same_data():
    _need_shared()
    d = _cheap()
    base = _base(d)
    x1, y1 = G.data_arrays(base, d.seed())
    x2, y2 = G.data_arrays(base, d.seed())
    assert np.array_equal(x1, x2) and y1 is None and y2 is None
    other = G.data_arrays(base, (d.seed()[0], d.seed()[1] + 1, 0))[0]
    assert not np.array_equal(x1, other)


def test_every_cause_has_one_operator_and_caedoctors_vocabulary_is_covered():
    from caedoctor.findings import CAUSES

    assert set(ops.OPERATORS) == set(ops.CAUSES)
    assert set(ops.CAUSES) | set(ops.NOT_INJECTED) == set(CAUSES)  # over_regularization joined in issue 15
    assert not set(ops.CAUSES) & set(ops.NOT_INJECTED)
    assert set(ops.NOT_INJECTED) == {"kl_weight_too_high", "loss_reduction_mismatch", "log_variance_overflow",
                                     "kl_weight_frozen", "target_carries_input_noise",
                                     "augmentation_not_paired"}  # VAE and denoising, issue 29
    for op in ops.OPERATORS.values():
        assert all(len(cell) > 0 for cell in op.table), op.cause


@pytest.mark.parametrize("split", sorted(G.SPLITS))
def test_every_split_draws_its_design_every_slot_once(split):
    draws, plan = G.schedule(split), G.design(split)
    assert len(draws) == G.n_cases(split) == plan.cases
    assert Counter(d.kind for d in draws) == {"healthy": plan.healthy, "single": plan.single, "double": plan.double}
    assert Counter(f for d in draws for f in d.faults) == Counter(plan.slot_list())
    assert {c for d in draws for c, _ in d.faults} == set(ops.CAUSES)
    assert [d.index for d in draws] == list(range(plan.cases))
    with pytest.raises(ValueError, match="outside"):
        G.draw_case(split, plan.cases)


def test_the_uniform_splits_hold_every_cause_three_times_at_each_severity():
    for split in G.SPLITS:
        assert (G.design(split) is G.UNIFORM) == (split not in G.STRATIFIED)
    assert (G.UNIFORM.cases, G.UNIFORM.healthy, G.UNIFORM.single, G.UNIFORM.double) == (150, 36, 84, 30)
    assert all(G.UNIFORM.count(c, s) == 3 for c in ops.CAUSES for s in ops.SEVERITIES)


def _schedule_digest(split: str) -> str:
    text = json.dumps([[d.split, d.index, [list(f) for f in d.faults], d.lookalike] for d in G.designed_schedule(split)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# Each split's schedule as it was fixed: dev ... test4 computed on commit 6953083, before the per-split designs
# existed (they must draw the same cases as ever); test5 when its design was fixed (2026-12-07), before any
# ground truth or run on it. A new split gets its line when it is fixed.
SCHEDULE_DIGESTS = {"dev": "fd57e6052a40fbd7", "test": "56503e4803b1bc7f", "test2": "83a63d85204cc776",
                    "test3": "4d7f93033d122e5c", "test4": "13f3b357c4e5f42e", "test5": "9d81e205179c0c45"}


@pytest.mark.parametrize("split", sorted(G.SPLITS))
def test_no_split_draws_other_cases_than_when_it_was_fixed(split):
    assert set(SCHEDULE_DIGESTS) == set(G.SPLITS), "a split without a pinned schedule"
    assert _schedule_digest(split) == SCHEDULE_DIGESTS[split]


def test_the_rates_table_is_what_the_verdict_files_say():
    """ground_truth/real_rates.json, which the stratified design reads, is `ground_truth.py --rates`' output."""
    assert json.loads(G.RATES.read_text()) == GT.real_rates(G.RATE_SPLITS)
    rates = G.read_rates()
    assert set(rates) == set(ops.CAUSES)
    assert all(rates[c][s]["judged"] == 12 for c in ops.CAUSES for s in ops.SEVERITIES)  # 4 splits x 3 slots


def test_the_stratified_split_expects_enough_real_cases_of_every_cause():
    """test5 (issue 27): slots x the measured real rate, shrunk to (real + 1) / (judged + 2), reaches 10 real
    cases for every quiet cause and 5 for every other; a severity rarely real is left out when the other can
    carry the cause, otherwise the two are balanced; bottleneck_bypass (static) keeps 3 + 3; 34+ controls."""
    assert G.is_test("test5") and "test5" in G.STRATIFIED
    rates, draws = G.read_rates(), G.schedule("test5")
    slots = Counter(f for d in draws for f in d.faults)
    for cause in ops.CAUSES:
        mild, strong = slots[(cause, "mild")], slots[(cause, "strong")]
        if ops.OPERATORS[cause].static:
            assert (mild, strong) == (3, 3)
            continue
        expected = sum(slots[(cause, s)] * (rates[cause][s]["real"] + 1) / (rates[cause][s]["judged"] + 2)
                       for s in ops.SEVERITIES)
        assert expected >= (10 if cause in G.QUIET else 5) - 1e-9, (cause, expected)
        rare = [s for s in ops.SEVERITIES if rates[cause][s]["real"] < 0.15 * rates[cause][s]["judged"]]
        if len(rare) == 1:
            assert slots[(cause, rare[0])] == 0, cause
        else:
            assert mild and strong and abs(mild - strong) <= 1, (cause, mild, strong)
    assert (slots[("kernel_too_large", "mild")], slots[("checkerboard_artifacts", "mild")]) == (0, 0)
    assert len(G.QUIET) == 11 and set(G.QUIET) <= set(ops.CAUSES)
    healthy = [d for d in draws if d.kind == "healthy"]
    assert len(healthy) >= 34
    assert 0.3 <= sum(d.lookalike is not None for d in healthy) / len(healthy) <= 0.7
    summary = G.summary()["test5"]
    assert summary["cases"] == len(draws) and summary["kinds"]["double"] == G.design("test5").double
    assert all(e["expected"] >= (10 if e["quiet"] else 5) for c, e in summary["expected_real"]["per_cause"].items()
               if not ops.OPERATORS[c].static)


def test_every_case_of_the_stratified_split_has_a_base_and_its_variants():
    """No training: each case's base is drawn within its faults' preconditions and every variant injects."""
    for d in G.schedule("test5"):
        base = _base(d)
        for fixed in G.variants(d).values():
            spec, said = G.variant_spec(d, base, fixed)
            assert len(said) == len(d.faults) and spec["data"]["crop"] == base["data"]["crop"]


def _at_floor(**overrides):
    real = {c: G.floor(c) for c in ops.CAUSES}
    real.update(overrides)
    return real


def test_a_topup_round_draws_each_causes_shortfall_strong_first_after_the_designed_cases():
    """The top-up rule (issue 27, fixed with test5's seed): one-fault cases of each cause short of its floor, as
    many as it is short, severities alternating strong first among those its design uses, indices after the
    last case; the next round goes on from there, and a cause stops at TOPUP_MAX drawn."""
    plan = G.design("test5")
    assert plan.count("kernel_too_large", "mild") == 0 and plan.count("batch_size_too_small", "mild") > 0
    assert G.floor("kernel_too_large") == 8 and G.floor("dead_relu") == 4 and G.floor("bottleneck_bypass") == 0
    first = G.topup_round("test5", _at_floor(kernel_too_large=5, batch_size_too_small=6, dead_relu=9), [])
    assert [(e["index"], e["cause"], e["severity"], e["round"]) for e in first] == [
        (plan.cases + 0, "kernel_too_large", "strong", 1), (plan.cases + 1, "kernel_too_large", "strong", 1),
        (plan.cases + 2, "kernel_too_large", "strong", 1), (plan.cases + 3, "batch_size_too_small", "strong", 1),
        (plan.cases + 4, "batch_size_too_small", "mild", 1)]
    second = G.topup_round("test5", _at_floor(batch_size_too_small=7), first)
    assert [(e["index"], e["cause"], e["severity"], e["round"]) for e in second] == [
        (plan.cases + 5, "batch_size_too_small", "strong", 2)]
    assert G.topup_round("test5", _at_floor(), first) == []
    many = [{"index": plan.cases + k, "cause": "overfitting", "severity": "strong", "round": 1} for k in range(11)]
    assert len(G.topup_round("test5", _at_floor(overfitting=0), many)) == 1  # 12 drawn in all, then no more
    with pytest.raises(ValueError, match="not a stratified split"):
        G.topup_round("test3", _at_floor(), [])


def test_the_schedule_ends_with_the_recorded_topup_cases(tmp_path, monkeypatch):
    designed = G.designed_schedule("test5")
    path = tmp_path / "topup.json"
    entries = G.topup_round("test5", _at_floor(overfitting=6), [])
    monkeypatch.setattr(G, "TOPUP", path)
    G.schedule.cache_clear()
    try:
        G.write_topup("test5", entries)
        draws = G.schedule("test5")
        assert draws[:len(designed)] == designed and G.n_cases("test5") == len(designed) + 2
        assert [(d.index, d.faults, d.kind) for d in draws[len(designed):]] == [
            (len(designed), (("overfitting", "strong"),), "single"), (len(designed) + 1, (("overfitting", "mild"),), "single")]
        assert G.draw_case("test5", len(designed) + 1).id == f"test5-{len(designed) + 1:03d}"
        G.base_spec(draws[-1])  # its base exists within the fault's preconditions
        G.write_topup("test5", [{**entries[0], "index": 999}])
        with pytest.raises(ValueError, match="do not follow"):
            G.schedule("test5")
    finally:
        G._topup_doc.cache_clear()
        G.schedule.cache_clear()


def test_the_committed_topup_record_holds_only_what_the_rule_can_draw():
    for split in G.SPLITS:
        entries = G.read_topup(split)
        assert not entries or split in G.STRATIFIED
        counts = Counter(e["cause"] for e in entries)
        assert all(n <= G.TOPUP_MAX and G.floor(c) > 0 for c, n in counts.items())
        assert all(G.design(split).count(e["cause"], e["severity"]) > 0 for e in entries)
        assert [d.index for d in G.schedule(split)] == list(range(G.n_cases(split)))


def test_a_topup_round_waits_for_complete_ground_truth(tmp_path, monkeypatch):
    with pytest.raises(SystemExit, match="complete ground truth"):
        GT.top_up("test5", tmp_path / "runs.jsonl", tmp_path, topup_path=tmp_path / "topup.json")
    doc = {"cases_complete": 2, "cases_total": 2,
           "cases": [{"causes": {"overfitting": {"verdict": "real"}, "dead_relu": {"verdict": "ambiguous"}}}]}
    monkeypatch.setattr(GT, "aggregate", lambda *a, **k: doc)
    result = GT.top_up("test5", topup_path=tmp_path / "topup.json")
    assert result["real"]["overfitting"] == 1 and result["real"]["dead_relu"] == 0
    assert sum(e["cause"] == "overfitting" for e in result["new"]) == 7
    assert sum(e["cause"] == "dead_relu" for e in result["new"]) == 4
    assert "bottleneck_bypass" not in result["short"] and result["capped"] == []
    assert G.read_topup("test5", tmp_path / "topup.json") == result["new"]
    G._topup_doc.cache_clear()


def test_the_ground_truth_order_follows_each_splits_own_count():
    assert GT.order("both")[:4] == [("test", 0), ("dev", 0), ("test", 1), ("dev", 1)]
    assert len(GT.order("both")) == 300 and len(GT.order("test5")) == G.n_cases("test5")


@pytest.mark.parametrize("cause", ops.CAUSES)
def test_mild_and_strong_are_different_faults(cause):
    """Each severity injects a change within the operator's fields; the two severities differ in what they
    change or in the base they need (e.g. sigmoid on [-0.1, 1.1] data vs on [-1, 1] data)."""
    op = ops.OPERATORS[cause]
    signatures = {}
    for severity in ops.SEVERITIES:
        needs = op.needs(severity, np.random.default_rng(0))
        base = space.draw_base(np.random.default_rng(1), needs)
        base["train"]["lr"] = space.LR_CANDIDATES[base["train"]["optimizer"]][1]
        spec = space.copy_spec(base)
        op.inject(spec, severity, np.random.default_rng(2))
        changed = space.diff(base, spec)
        assert changed and changed <= set(op.touches), (cause, severity, changed)
        signatures[severity] = (json.dumps(needs, sort_keys=True),
                                json.dumps({f: space.get(spec, f) for f in sorted(changed)}, sort_keys=True))
    assert signatures["mild"] != signatures["strong"]


def test_the_issue_classes_are_in_every_split():
    for split, counts in G.summary().items():
        for name, n in counts["issue_classes"].items():
            assert n >= 3, (split, name, n)


def test_fixed_variant_differs_from_the_faulty_one_exactly_in_the_injected_faults():
    for d in _all_draws():
        if not d.faults:
            continue
        base = _base(d)
        faulty, _ = G.variant_spec(d, base, ())
        for label, fixed in G.variants(d).items():
            spec, _ = G.variant_spec(d, base, fixed)
            changed = space.diff(faulty, spec)
            allowed = set().union(*(ops.OPERATORS[c].touches for c in fixed)) if fixed else set()
            assert changed <= allowed, (d.id, label, changed - allowed)
            for cause in fixed:  # each removed fault changed something it owns
                assert changed & set(ops.OPERATORS[cause].touches), (d.id, label, cause)
            if fixed == tuple(c for c, _ in d.faults):
                assert spec == base  # fully fixed = the healthy base
            data_change = any(ops.OPERATORS[c].data_fault for c in fixed)
            model_change = any(not f.startswith("data.") for f in changed)
            if model_change:
                assert emit.case_source(spec, "t") != emit.case_source(faulty, "t"), (d.id, label)
            if data_change:
                assert spec["data"] != faulty["data"]


# The generator and the ground truth: what a case and its truth are made of. They must not import caedoctor.
GENERATOR_AND_GROUND_TRUTH = ("generate.py", "space.py", "operators.py", "emit.py", "sources.py", "training.py",
                              "ground_truth.py", "truth.py")
# The other files of bench/generated, and why they are not covered.
NOT_COVERED = {"run.py": "the runner: it scores caedoctor, so it imports it",
               "cost.py": "times ground-truth runs and projects their cost; no case or truth comes from it"}


def caedoctor_imports(source: str) -> list:
    """Every import of caedoctor in a module's source, at any depth (a function's body too): import statements,
    and importlib.import_module / __import__ calls whose module name is a string literal."""
    def names_caedoctor(name) -> bool:
        return isinstance(name, str) and name.split(".")[0] == "caedoctor"

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if names_caedoctor(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and names_caedoctor(node.module):
            found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if func in ("import_module", "__import__") and names_caedoctor(node.args[0].value):
                found.append(f"line {node.lineno}: {func}({node.args[0].value!r})")
    return found


def test_generator_and_ground_truth_do_not_import_caedoctor():
    files = {p.name for p in GENERATED.glob("*.py")}
    assert files == set(GENERATOR_AND_GROUND_TRUTH) | set(NOT_COVERED), "a file of bench/generated is unclassified"
    local = {Path(name).stem for name in files} | {"scoring"}  # bench/scoring.py, which run.py imports
    for name in GENERATOR_AND_GROUND_TRUTH:
        source = (GENERATED / name).read_text()
        assert caedoctor_imports(source) == [], name
        # A covered file may import another local module only if that one is covered too.
        imported = {a.name.split(".")[0] for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import)
                    for a in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(source))
                     if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
        assert imported & local <= {Path(n).stem for n in GENERATOR_AND_GROUND_TRUTH}, (name, imported & local)
    # What a fresh interpreter holds after importing them (their module-level imports, followed through).
    code = ("import sys; sys.path.insert(0, %r); import generate, ground_truth, truth, training, sources, emit; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'caedoctor'))" % str(GENERATED))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("source", [
    "def f():\n    import caedoctor\n",
    "def f():\n    from caedoctor.data.sources import split_arrays\n",
    "class A:\n    def f(self):\n        import caedoctor.losses as L\n",
    "import importlib\ndef f():\n    return importlib.import_module('caedoctor.findings')\n",
    "from importlib import import_module\nx = import_module('caedoctor')\n",
    "def f():\n    return __import__('caedoctor.data')\n",
])
def test_the_import_check_sees_imports_anywhere_in_a_file(source):
    assert caedoctor_imports(source), source
    assert caedoctor_imports("import caedoctorish\nx = 'import caedoctor'\n") == []


# ---------------------------------------------------------------------------------------------- caedoctor's split and metric

@pytest.mark.parametrize("n", [2, 3, 10, 11, 15, 999, 2345])
def test_split_matches_caedoctors_loader(n):
    from caedoctor.data.sources import split_arrays

    x = np.arange(n * 4, dtype=np.float32).reshape(n, 2, 2, 1)
    source = split_arrays(x, None, "t")
    (xt, _), (xv, _) = sources.split(x)
    assert np.array_equal(source.train.x, xt) and np.array_equal(source.val.x, xv)
    train_idx, val_idx = sources.split_indices(n)
    assert np.array_equal(x[train_idx], xt) and np.array_equal(x[val_idx], xv)


def test_relative_mse_matches_caedoctors_metric():
    import keras

    from caedoctor.losses import reconstruction_metrics

    rng = np.random.default_rng(0)
    x = rng.random((40, 8, 8, 2), dtype=np.float32)
    inputs = keras.Input((8, 8, 2))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same")(inputs))
    ours = training.relative_mse(model, x, x, batch=16)
    theirs = reconstruction_metrics(model, [(x[:16], x[:16]), (x[16:], x[16:])])["relative_mse"]
    assert ours == pytest.approx(theirs, rel=1e-5)


def _rows_in(images: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """For each image in [0, 1], whether it equals some image of `pool` pixel for pixel. A key from every 17th
    value (as 8-bit integers, so it is exact) narrows the search; the candidates are then compared whole."""
    def keys(a):
        sample = np.round(a.reshape(len(a), -1)[:, ::17] * 255.0).astype(np.int64)
        return sample @ np.random.default_rng(0).integers(1, 2**20, sample.shape[1])

    pool_keys = keys(pool)
    return np.array([any(np.array_equal(pool[k], image) for k in np.flatnonzero(pool_keys == key))
                     for image, key in zip(images, keys(images))])


def test_patches_held_out_region_lands_in_caedoctors_validation_split(tmp_path):
    """A case's data.npz, split by caedoctor as it splits any .npz: its validation images are the patches the
    generator took from the photographs' held-out region (caedoctor's own `bundled:patches32` validation
    patches), pixel for pixel, and its training images come from the training region only. Crop 32 keeps each
    patch whole (the crop is drawn after the patches are placed), so each image can be found as it is."""
    from caedoctor.data.bundled import patches32
    from caedoctor.data.sources import read_npz

    n = 300
    x = sources.images("patches32", n, 32, 3, seed=1)
    np.savez(tmp_path / "data.npz", x=x)  # as generate.materialize writes a case's images
    split = read_npz(tmp_path / "data.npz", seed=0)  # what caedoctor.diagnose(..., seed=0) trains and validates on
    train_region, held_out = patches32()
    assert len(split.val.x) == round(n * 0.1) and len(split.train.x) == n - len(split.val.x)
    assert _rows_in(split.val.x, held_out).all(), "a validation image is not a held-out patch"
    assert not _rows_in(split.val.x, train_region).any(), "a validation image is a training-region patch"
    assert _rows_in(split.train.x, train_region).all(), "a training image is not a training-region patch"
    assert not _rows_in(split.train.x, held_out).any(), "a held-out patch is in caedoctor's training split"
    assert not _rows_in(split.val.x, split.train.x).any(), "a validation image is also a training image"


# ---------------------------------------------------------------------------------------------- programs

@pytest.mark.parametrize("optimizer", [name for name, _ in space.OPTIMIZERS])
def test_generated_program_builds_a_compiled_model_shaped_like_its_data(optimizer, tmp_path):
    draw = next(d for d in _all_draws() if not d.faults and G.base_spec(d)["train"]["optimizer"] == optimizer)
    spec = _base(draw)
    path = tmp_path / "case.py"
    path.write_text(emit.case_source(spec, "test"))
    d = spec["data"]
    model = training.load_factory(path)((d["crop"], d["crop"], d["channels"]))
    assert model.optimizer is not None and type(model.optimizer).__name__ == optimizer
    assert model.loss == spec["train"]["loss"]
    assert tuple(model.output_shape[1:]) == (d["crop"], d["crop"], d["channels"])
    assert "caedoctor" not in path.read_text()


def test_materialised_case_holds_program_data_and_truth(tmp_path):
    _need_shared()
    draw = _cheap(lambda d: d.kind == "single")
    base = G.base_spec(draw)
    sweeps = tmp_path / "sweeps.jsonl"  # a recorded sweep: materialising then trains nothing
    record = {"generator_version": G.GENERATOR_VERSION, "split": draw.split, "case": draw.id, "attempt": 0,
              "optimizer": base["train"]["optimizer"], "batch": base["train"]["batch"], "steps": G.SWEEP_STEPS,
              "results": [], "chosen_lr": space.LR_CANDIDATES[base["train"]["optimizer"]][1],
              "best_relative_mse": 0.1, "healthy": True}
    sweeps.write_text(json.dumps(record) + "\n")
    folder = G.materialize(draw.split, draw.index, tmp_path / "cases", sweeps, allow_sweep=False)
    case = json.loads((folder / "case.json").read_text())
    assert case["injected"] == [draw.faults[0][0]] and case["faults"][0]["severity"] == draw.faults[0][1]
    assert set(case["variants"]) == {"faulty", "fixed"} and case["faults"][0]["fix"]
    with np.load(folder / "data.npz") as archive:
        x = archive["x"]
    model = training.load_factory(folder / "variants" / "fixed" / "case.py")(x.shape[1:])
    assert tuple(model.output_shape[1:]) == tuple(x.shape[1:]) == (base["data"]["crop"],) * 2 + (base["data"]["channels"],)
    faulty_code = (folder / "case.py").read_text()
    assert "def build_model(input_shape" in faulty_code and f"BATCH_SIZE = {case['batch_size']}" in faulty_code
    assert G.materialize(draw.split, draw.index, tmp_path / "cases", sweeps, allow_sweep=False) == folder


def test_a_reused_program_trains_exactly_like_a_fresh_one():
    import keras
    from keras import layers

    def build_model(shape):
        inputs = keras.Input(shape)
        x = layers.Conv2D(4, 3, padding="same")(inputs)
        x = layers.BatchNormalization()(x)
        x = layers.Dropout(0.3)(x)
        outputs = layers.Conv2D(shape[-1], 3, padding="same", activation="sigmoid")(x)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Nadam(learning_rate=0.003), loss="mse")
        return model

    x = np.random.default_rng(0).random((40, 8, 8, 1), dtype=np.float32)
    score = sources.split(x)[1]
    program = training.Program(build_model, x.shape[1:])
    program.run(x, None, score, seed=0, samples=96, batch_size=8, evals=2)
    reused = program.run(x, None, score, seed=1, samples=96, batch_size=8, evals=2)
    fresh = training.train_run(build_model, x, None, score, seed=1, samples=96, batch_size=8, evals=2)
    assert reused["status"] == fresh["status"] == "ok"
    assert reused["loss_curve"] == fresh["loss_curve"] and reused["relative_mse"] == fresh["relative_mse"]
    faster = program.run(x, None, score, seed=1, samples=96, batch_size=8, evals=2, learning_rate=0.1)
    assert faster["loss_curve"] != fresh["loss_curve"]  # the sweep's rate override takes effect


def test_a_program_that_cannot_train_is_an_error_run():
    import keras
    from keras import layers

    def build_model(shape):
        inputs = keras.Input(shape)
        outputs = layers.Cropping2D(1)(layers.Conv2D(1, 3, padding="same")(inputs))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="mse")
        return model

    x = np.random.default_rng(0).random((20, 8, 8, 1), dtype=np.float32)
    r = training.train_run(build_model, x, None, sources.split(x)[1], seed=0, samples=16, batch_size=4)
    assert r["status"] == "error" and r["relative_mse"] is None and r["error"]


# ---------------------------------------------------------------------------------------------- the rule

def _runs(values):
    out = []
    for v in values:
        if v in ("nan", "error"):
            out.append({"status": v, "relative_mse": None})
        else:
            out.append({"status": "ok", "relative_mse": v})
    return out


def test_a_fix_that_helps_in_every_seed_beyond_the_spread_is_real():
    r = GT.classify(_runs([0.30, 0.35, 0.28]), _runs([0.10, 0.11, 0.10]))
    assert r["verdict"] == "real" and r["spread"] == pytest.approx(0.1) and r["margin"] == pytest.approx(0.1)


def test_no_seed_beyond_the_margin_is_not_real():
    assert GT.classify(_runs([0.105, 0.10, 0.12]), _runs([0.10, 0.10, 0.11]))["verdict"] == "not_real"
    assert GT.classify(_runs([0.09, 0.09, 0.09]), _runs([0.10, 0.10, 0.10]))["verdict"] == "not_real"


def test_some_seeds_but_not_all_is_ambiguous():
    assert GT.classify(_runs([0.30, 0.10, 0.10]), _runs([0.10, 0.10, 0.10]))["verdict"] == "ambiguous"


def test_the_margin_grows_with_the_seed_spread():
    fixed = _runs([0.10, 0.12, 0.11])  # spread 20%: a 1.15x worse run is within it
    r = GT.classify(_runs([0.115, 0.138, 0.1265]), fixed)
    assert r["margin"] == pytest.approx(0.2) and r["verdict"] == "not_real"
    assert GT.classify(_runs([0.13, 0.13, 0.13]), fixed)["verdict"] == "ambiguous"  # 1.3x, 1.08x, 1.18x
    assert GT.classify(_runs([0.125, 0.15, 0.14]), _runs([0.10, 0.101, 0.10]))["verdict"] == "real"


def test_training_impossible_with_the_fault_is_real_and_without_it_is_not_judged():
    assert GT.classify(_runs(["nan", "error", "nan"]), _runs([0.1, 0.1, 0.1]))["verdict"] == "real"
    assert GT.classify(_runs(["nan", 0.1, 0.1]), _runs([0.1, 0.1, 0.1]))["verdict"] == "ambiguous"
    assert GT.classify(_runs([0.5, 0.5, 0.5]), _runs([0.1, "nan", 0.1]))["verdict"] == "ambiguous"
    assert GT.classify(_runs(["error"] * 3), _runs(["error"] * 3))["verdict"] == "invalid"


def test_judge_uses_each_fault_alone_in_a_two_fault_case():
    case = {"id": "dev-x", "kind": "double", "injected": ["a", "b"], "batch_size": 16, "data": "d",
            "sweep": {"chosen_lr": 0.001, "optimizer": "Adam"},
            "faults": [{"cause": "a", "static": False}, {"cause": "b", "static": True}],
            "variants": {"faulty": {}, "only_a": {}, "only_b": {}, "fixed": {}}}
    runs = {label: [dict(r, seed=s) for s, r in enumerate(_runs(v))] for label, v in
            {"faulty": [0.9] * 3, "only_a": [0.5, 0.5, 0.5], "only_b": [0.1, 0.1, 0.1],
             "fixed": [0.1, 0.1, 0.1]}.items()}
    out = GT.judge(case, runs)
    assert out["complete"] and out["causes"]["a"]["verdict"] == "real"
    assert out["causes"]["b"]["verdict"] == "static" and out["causes"]["b"]["rule"]["verdict"] == "not_real"
    assert out["joint"]["verdict"] == "real" and out["causes"]["b"]["in_presence"]["verdict"] == "real"


def test_a_line_cut_short_by_a_killed_process_is_redone_not_fatal(tmp_path):
    runs = tmp_path / "runs.jsonl"
    good = {"generator_version": 1, "split": "dev", "case": "dev-000", "label": "fixed", "seed": 0}
    runs.write_text(json.dumps(good) + "\n" + json.dumps(dict(good, seed=1))[:30])
    assert list(GT.read_runs(runs)) == [(1, "dev", "dev-000", "fixed", 0)]


def test_compare_runs_tells_equal_records_from_different_ones(tmp_path):
    """`ground_truth.py --compare`, the check that the ground truth through Ray equals the sequential loop's."""
    base = {"generator_version": G.GENERATOR_VERSION, "split": "dev", "case": "dev-001", "label": "faulty",
            "status": "ok", "relative_mse": 0.25, "loss_curve": [1.0, 0.5], "val_curve": [0.3, 0.25],
            "steps_done": 1500, "seconds": 3.0}
    runs = [dict(base, seed=s) for s in (0, 1, 2)]
    other = [dict(runs[0], seconds=9.0), dict(runs[1], relative_mse=0.2500001), runs[2]]
    mine, theirs = tmp_path / "mine.jsonl", tmp_path / "theirs.jsonl"
    mine.write_text("".join(json.dumps(r) + "\n" for r in [*runs, dict(base, seed=3)]))
    theirs.write_text("".join(json.dumps(r) + "\n" for r in other))
    got = GT.compare_runs(mine, theirs)
    assert got["runs"] == 4 and got["equal"] == 2  # the time a run took is not a result
    assert [d["run"] for d in got["differ"]] == ["dev/dev-001/faulty/1"]
    assert got["differ"][0]["relative_mse"] == [0.25, 0.2500001]
    assert got["missing_in_reference"] == ["dev/dev-001/faulty/3"]
