"""The VAE and denoising cases (bench/families): drawn deterministically, one fault each, a fixed program that
is the base's, no caedoctor in the generator or the ground truth, and the scores' arithmetic."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

FAMILIES = Path(__file__).resolve().parents[2] / "bench" / "families"


def _load(name: str):
    sys.path.insert(0, str(FAMILIES))
    spec = importlib.util.spec_from_file_location(f"families_{name}", FAMILIES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


F = _load("families")


def _cases():
    return [F.draw_case(split, i) for split in F.SPLITS for i in range(F.n_cases(split))]


def test_the_causes_are_caedoctors_and_each_has_an_operator():
    from caedoctor.findings import CAUSES

    assert set(F.OPERATORS) == set(F.CAUSES) == set(F.WHAT) and set(F.CAUSES) <= set(CAUSES)


def test_every_split_has_its_cases_per_cause_and_its_controls():
    for split in F.SPLITS:
        drawn = [F.draw_case(split, i) for i in range(F.n_cases(split))]
        for cause in F.CAUSES:
            assert sum(c.cause == cause for c in drawn) == F.PER_CAUSE[split]
        assert sum(c.cause is None for c in drawn) == 2 * F.CONTROLS[split]
        assert [c.to_dict() for c in drawn] == [F.draw_case(split, i).to_dict() for i in range(len(drawn))]


def test_a_fault_changes_the_program_and_its_fixed_program_is_the_base():
    for case in _cases():
        faulty = F.program(case.faulty, case.family, case.case_id)
        compile(faulty, case.case_id, "exec")  # every program is Python
        assert "caedoctor" not in faulty
        if case.cause is None:
            assert case.faulty == case.base
            continue
        fixed = F.program(F.fixed_spec(case), case.family, case.case_id)
        assert fixed != faulty
        # version 2: log-variance overflow too (clipping at the same high rate never trained in version 1's dev)
        assert fixed == F.program(case.base, case.family, case.case_id)
        if case.cause == "log_variance_overflow":
            assert "RMSprop" in faulty and "RMSprop" not in fixed and "ops.clip(z_log_var" not in faulty


def test_the_faults_read_as_a_user_writes_them():
    by_cause = {c.cause: c for c in _cases() if c.cause}
    frozen = F.program(by_cause["kl_weight_frozen"].faulty, "vae", "x")
    assert "self.model.beta = " in frozen and "keras.Variable(beta" not in frozen
    working = F.program(by_cause["kl_weight_frozen"].base, "vae", "x")
    assert "self.model.beta.assign(" in working and "keras.Variable(beta" in working
    mean = F.program(by_cause["loss_reduction_mismatch"].faulty, "vae", "x")
    assert "ops.mean(keras.losses.binary_crossentropy(data, reconstruction))" in mean
    noisy = F.program(by_cause["target_carries_input_noise"].faulty, "denoising", "x")
    assert "dataset.map(add_noise).map(lambda im: (im, tf.clip_by_value(im, 0.0, 1.0)))" in noisy


def test_neither_the_generator_nor_the_ground_truth_imports_caedoctor():
    for name in ("families.py", "ground_truth.py"):
        text = (FAMILIES / name).read_text()
        assert "import caedoctor" not in text and "from caedoctor" not in text


def test_scores_count_real_faults_held_and_controls_left_clean(tmp_path, monkeypatch):
    run = _load("run")
    truth = {"cases": {
        "t-000": {"family": "vae", "cause": "kl_weight_too_high", "verdict": {"verdict": "real"}},
        "t-001": {"family": "vae", "cause": "log_variance_overflow", "verdict": {"verdict": "real"}},
        "t-002": {"family": "denoising", "cause": "augmentation_not_paired", "verdict": {"verdict": "not_real"}},
        "t-003": {"family": "vae", "cause": None, "trains": True},
        "t-004": {"family": "denoising", "cause": None, "trains": True},
    }}
    folder = tmp_path / "gt"
    folder.mkdir()
    (folder / "verdicts_dev.json").write_text(json.dumps(truth))
    monkeypatch.setattr(run, "HERE", tmp_path / "x")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "ground_truth").symlink_to(folder)

    def rec(cid, *held):
        return {"case_id": cid, "findings": [{"code": "C", "cause": c, "status": "confirmed"} for c in held]}

    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(json.dumps(r) for r in (
        rec("t-000", "kl_weight_too_high"), rec("t-001", "learning_rate_too_high"),
        rec("t-002", "augmentation_not_paired"), rec("t-003"), rec("t-004", "dead_relu"))))
    s = run.score("dev", log)
    assert (s["found"], s["real"]) == (2, 2)  # the rate is an accepted name for an overflow driven by it
    assert (s["tp"], s["fp"]) == (1, 1)  # a held fault the ground truth found not real counts against
    assert s["controls"] == pytest.approx(0.5)
