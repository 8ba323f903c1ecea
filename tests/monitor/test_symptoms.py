"""Each symptom detector fires on a synthetic faulty trace and stays silent on a healthy one.

Traces are built by hand as `MonitorRecord`s (no training), shaped like the probes measured in
bench/README-symptoms.md. Where a test sits near a threshold it is written in terms of the named constant,
so it checks the comparison, not a copy of today's number.
"""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from caedoctor import thresholds as T
from caedoctor.findings import CAUSES
from caedoctor.monitor import DETECTORS, MonitorRecord, detect_symptoms, detectors
from caedoctor.monitor.detectors.collapsed_to_mean import detect_collapsed_to_mean
from caedoctor.monitor.detectors.dead_units import detect_dead_units
from caedoctor.monitor.detectors.diverging import detect_diverging
from caedoctor.monitor.detectors.exploding_gradients import detect_exploding_gradients
from caedoctor.monitor.detectors.heavy_regularization import detect_heavy_regularization
from caedoctor.monitor.detectors.nan_inf import detect_nan_inf
from caedoctor.monitor.detectors.oscillating import detect_oscillating
from caedoctor.monitor.detectors.out_of_range import detect_out_of_range
from caedoctor.monitor.detectors.overfitting import detect_overfitting
from caedoctor.monitor.detectors.saturation import detect_saturation
from caedoctor.monitor.detectors.slow import detect_slow
from caedoctor.monitor.detectors.stuck import detect_stuck
from caedoctor.monitor.detectors.vanishing_gradients import detect_vanishing_gradients
from caedoctor.monitor.symptoms import find_detectors

STEPS = 300
PROBES = 31  # every 10 steps, plus the last
BASELINE = 0.075


def healthy(seed: int = 0, **changes) -> MonitorRecord:
    """A CAE that learns: loss from 1.3x to ~0.04x the mean level, moving the monitor batch mostly down."""
    rng = np.random.default_rng(seed)
    steps = np.arange(STEPS)
    level = BASELINE * (0.04 + 1.26 * np.exp(-steps / 40))
    probe_steps = list(range(0, STEPS, 10)) + [STEPS - 1]
    probe_level = BASELINE * (0.04 + 1.26 * np.exp(-np.asarray(probe_steps) / 40))
    record = MonitorRecord(
        loss_steps=list(steps),
        losses=list(level * np.exp(rng.normal(0, 0.1, STEPS))),
        probe_steps=probe_steps,
        probe_loss=list(probe_level * np.exp(rng.normal(0, 0.01, PROBES))),
        layers=["enc", "dec", "out"],
        grad_norms={"enc": [0.2] * PROBES, "dec": [0.1] * PROBES, "out": [0.1] * PROBES},
        weight_norms={"enc": [2.0] * PROBES, "dec": [3.0] * PROBES, "out": [1.0] * PROBES},
        update_ratios={k: [0.02, 0.01, 0.005] + [0.002] * (PROBES - 4) + [math.nan] for k in ("enc", "dec", "out")},
        dead_fraction={"enc": [0.1] * PROBES, "dec": [0.15] * PROBES},
        saturated_fraction={"out": [0.0] * PROBES},
        output_layer="out",
        target_saturated_fraction=0.0,
        range_violation=[0.0] * PROBES,
        relative_spread=list(np.linspace(0.2, 0.97, PROBES)),
        baseline_loss=BASELINE,
        target_range=(0.0, 1.0),
        epoch_logs={"loss": [0.01, 0.004, 0.003, 0.0028, 0.0027, 0.0026],
                    "val_loss": [0.008, 0.004, 0.0032, 0.003, 0.0029, 0.0028]},
        interval=10,
    )
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def present(record, reference=None) -> set:
    return {s.name for s in detect_symptoms(record, reference) if s.present}


@pytest.mark.parametrize("seed", range(3))
def test_healthy_trace_has_no_symptom(seed):
    assert present(healthy(seed)) == set()


def test_every_detector_reports_a_known_cause_and_plain_evidence():
    import json

    for symptom in detect_symptoms(healthy()):
        assert symptom.cause in CAUSES and all(c in CAUSES for c in symptom.related)
        json.dumps(symptom.to_dict())  # evidence is plain data


def test_nan_inf_dates_the_first_bad_step():
    rec = healthy()
    rec.losses = rec.losses[:120] + [math.nan] * 180
    rec.grad_norms["enc"][13:] = [math.nan] * (PROBES - 13)
    s = detect_nan_inf(rec)
    assert s.present and s.evidence["first_nonfinite_step"] == 120 and s.evidence["where"] == "training loss"
    assert s.cause == "learning_rate_too_high"
    assert not detect_nan_inf(healthy()).present


def test_imprecise_losses_are_not_mistaken_for_nan():
    """Losses Keras' float32 running mean could not resolve are NaN in the record but listed as imprecise."""
    rec = healthy()
    rec.losses[10:40] = [math.nan] * 30
    rec.imprecise_steps = list(range(10, 40))
    assert not detect_nan_inf(rec).present
    assert present(rec) == set()


def test_diverging_loss_climbs_far_above_its_best():
    rec = healthy()
    losses = np.asarray(rec.losses)
    losses[200:] = losses[200:] * np.linspace(1, 40, 100)  # climbs back above the mean level
    rec.losses = list(losses)
    s = detect_diverging(rec)
    assert s.present and s.evidence["end_over_best"] > T.DIVERGE_RISE
    assert not detect_diverging(healthy()).present


def test_a_tiny_loss_bouncing_is_not_divergence():
    rec = healthy()
    rec.losses = list(np.asarray(rec.losses) * 1e-5 * np.where(np.arange(STEPS) > 250, 6.0, 1.0))
    s = detect_diverging(rec)
    assert s.evidence["end_over_best"] > T.DIVERGE_RISE and not s.present


def stuck_record(update=1e-6) -> MonitorRecord:
    rng = np.random.default_rng(1)
    flat = BASELINE * 1.2 * np.exp(rng.normal(0, 0.1, STEPS))
    return healthy(losses=list(flat), probe_loss=[BASELINE * 1.2] * PROBES,
                   relative_spread=[0.01] * PROBES,
                   update_ratios={k: [update] * (PROBES - 1) + [math.nan] for k in ("enc", "dec", "out")})


def test_stuck_near_the_mean_level_with_tiny_steps_points_to_a_low_learning_rate():
    s = detect_stuck(stuck_record(update=1e-7))
    assert s.present and s.cause == "learning_rate_too_low"
    assert s.evidence["relative_end_loss"] == pytest.approx(1.2, rel=0.05)
    assert not detect_stuck(healthy()).present


def test_stuck_after_huge_first_steps_points_to_a_high_learning_rate():
    rec = stuck_record(update=1e-3)
    for trace in rec.update_ratios.values():
        trace[0] = 10 * T.UPDATE_RATIO_HIGH
    assert detect_stuck(rec).cause == "learning_rate_too_high"


def test_stuck_with_dead_units_points_to_dead_relus():
    rec = stuck_record(update=1e-3)
    rec.dead_fraction = {"enc": [1.0] * PROBES, "dec": [0.2] * PROBES}
    assert detect_stuck(rec).cause == "dead_relu"
    assert detect_collapsed_to_mean(rec).cause == "dead_relu"


def test_slow_against_a_reference_and_without_one():
    ref = healthy()
    rng = np.random.default_rng(2)
    steps = np.arange(STEPS)
    slow = healthy(losses=list(BASELINE * (1.3 - 0.6 * steps / STEPS) * np.exp(rng.normal(0, 0.05, STEPS))))
    with_ref = detect_slow(slow, reference=ref)
    assert with_ref.present and with_ref.evidence["share_of_reference"] < T.SLOW_FRACTION
    assert detect_slow(slow).present  # still falling, and far above the healthy level
    assert not detect_slow(healthy(seed=1), reference=ref).present
    assert not detect_slow(healthy()).present


def test_oscillating_monitor_batch_loss():
    rng = np.random.default_rng(3)
    swings = BASELINE * 0.1 * np.exp(rng.normal(0, 0.4, PROBES))  # +-40% moves around 0.1x the mean level
    s = detect_oscillating(healthy(probe_loss=list(swings)))
    assert s.present and s.evidence["up_share"] > T.OSCILLATION_UP_SHARE
    assert not detect_oscillating(healthy()).present


def test_small_moves_are_not_oscillation_even_when_half_of_them_go_up():
    rng = np.random.default_rng(4)
    near_zero = BASELINE * 1e-3 * np.exp(rng.normal(0, 0.4, PROBES))  # large in log, tiny vs the mean level
    near_mean = BASELINE * np.exp(rng.normal(0, 0.02, PROBES))  # large vs the mean level, tiny in log
    assert not detect_oscillating(healthy(probe_loss=list(near_zero))).present
    assert not detect_oscillating(healthy(probe_loss=list(near_mean))).present


def test_collapsed_to_mean_by_output_spread():
    rec = healthy(relative_spread=[0.01] * PROBES)
    s = detect_collapsed_to_mean(rec)
    assert s.present and s.evidence["relative_spread"] == pytest.approx(0.01)
    assert not detect_collapsed_to_mean(healthy()).present


def test_dead_units_by_worst_layer():
    rec = healthy(dead_fraction={"enc": [0.1] * PROBES, "dec": [T.DEAD_LAYER_FRACTION + 0.1] * PROBES})
    s = detect_dead_units(rec)
    assert s.present and s.evidence["worst_layer"] == "dec"
    assert not detect_dead_units(healthy()).present
    assert detect_dead_units(healthy(dead_fraction={})).evidence["skipped"]


def test_saturation_of_hidden_layers_and_of_an_output_beyond_its_targets():
    hidden = healthy(saturated_fraction={"enc": [0.9] * PROBES, "out": [0.0] * PROBES})
    assert detect_saturation(hidden).present
    pinned = healthy(saturated_fraction={"out": [1.0] * PROBES}, target_saturated_fraction=0.0)
    assert detect_saturation(pinned).present
    binary = healthy(saturated_fraction={"out": [1.0] * PROBES}, target_saturated_fraction=0.95)
    assert not detect_saturation(binary).present  # black-and-white targets ask for it
    unknown = healthy(saturated_fraction={"out": [1.0] * PROBES}, target_saturated_fraction=math.nan)
    assert not detect_saturation(unknown).present
    assert not detect_saturation(healthy()).present


def test_vanishing_gradients_by_ratio_and_when_nothing_flows():
    rec = healthy(grad_norms={"enc": [1e-7] * PROBES, "dec": [0.01] * PROBES, "out": [0.1] * PROBES})
    s = detect_vanishing_gradients(rec)
    assert s.present and s.evidence["first_over_last"] == pytest.approx(1e-6)
    silent = stuck_record()
    silent.grad_norms = {k: [0.0] * PROBES for k in ("enc", "dec", "out")}
    assert detect_vanishing_gradients(silent).present
    converged = healthy(grad_norms={k: [0.0] * PROBES for k in ("enc", "dec", "out")})
    assert not detect_vanishing_gradients(converged).present  # tiny gradients, but the loss is low
    assert not detect_vanishing_gradients(healthy()).present


def test_exploding_gradients_by_level_ratio_and_overflow():
    huge = healthy(grad_norms={"enc": [1e4] * PROBES, "dec": [1e3] * PROBES, "out": [1e3] * PROBES})
    s = detect_exploding_gradients(huge)
    assert s.present and s.cause == "exploding_gradients"
    by_ratio = healthy(grad_norms={"enc": [50.0] * PROBES, "dec": [1.0] * PROBES, "out": [0.1] * PROBES})
    assert detect_exploding_gradients(by_ratio).evidence["first_over_last"] > T.EXPLODING_RATIO
    assert detect_exploding_gradients(by_ratio).present
    overflow = healthy()
    overflow.grad_norms["dec"][-1] = math.inf
    assert detect_exploding_gradients(overflow).evidence["overflow"]
    assert not detect_exploding_gradients(healthy()).present


def test_exploding_gradients_on_unnormalised_data_name_the_data():
    rec = healthy(grad_norms={"enc": [1e4] * PROBES, "dec": [1e3] * PROBES, "out": [1e3] * PROBES},
                  target_range=(0.0, 255.0))
    s = detect_exploding_gradients(rec)
    assert s.present and s.cause == "data_not_normalized" and "exploding_gradients" in s.related


def test_overfitting_by_rising_validation_and_by_gap():
    rising = healthy(epoch_logs={"loss": [0.01, 0.005, 0.003, 0.002, 0.0015, 0.001],
                                 "val_loss": [0.01, 0.006, 0.005, 0.0055, 0.0065, 0.008]})
    s = detect_overfitting(rising)
    assert s.present and s.evidence["best_epoch"] == 2 and s.evidence["train_still_falling"]
    gap = healthy(epoch_logs={"loss": [0.01, 0.001, 1e-4, 1e-5], "val_loss": [0.1, 0.1, 0.1, 0.1]})
    assert detect_overfitting(gap).present
    noisy = healthy(epoch_logs={"loss": [0.01, 0.005, 0.004, 0.0035], "val_loss": [0.009, 0.005, 0.0042, 0.0045]})
    assert not detect_overfitting(noisy).present  # +7% is validation noise
    assert not detect_overfitting(healthy()).present
    short = healthy(epoch_logs={"loss": [0.01, 0.001], "val_loss": [0.01, 0.05]})
    assert "skipped" in detect_overfitting(short).evidence


def test_out_of_range_outputs():
    rec = healthy(range_violation=[0.3] * PROBES)
    s = detect_out_of_range(rec)
    assert s.present and s.cause == "output_activation_range"
    assert not detect_out_of_range(healthy(range_violation=[0.005] * PROBES)).present


def test_heavy_regularization_by_penalty_share_and_by_dropout_gap():
    penalty = healthy(penalty_share=[0.6] * PROBES, dropout_gap=[math.nan] * PROBES)
    s = detect_heavy_regularization(penalty)
    assert s.present and s.cause == "over_regularization" and "60% of the training loss" in s.message
    dropout = healthy(penalty_share=[0.0] * PROBES, dropout_gap=[2.0] * PROBES)
    s = detect_heavy_regularization(dropout)
    assert s.present and "2.00x" in s.message
    light = healthy(penalty_share=[0.01] * PROBES, dropout_gap=[1.05] * PROBES)
    assert not detect_heavy_regularization(light).present
    # the largest share counts: a penalty strong enough shrinks the weights to the mean image, and is then small
    collapsed = healthy(penalty_share=[0.7] + [0.003] * (PROBES - 1), dropout_gap=[math.nan] * PROBES)
    assert detect_heavy_regularization(collapsed).present
    # dropout is read at the end: its cost early in training is no evidence
    early_gap = healthy(penalty_share=[0.0] * PROBES, dropout_gap=[2.0] * (PROBES - 7) + [1.05] * 7)
    assert not detect_heavy_regularization(early_gap).present
    assert "skipped" in detect_heavy_regularization(healthy()).evidence  # no signal recorded


def test_too_short_records_are_skipped_not_judged():
    rec = healthy(loss_steps=list(range(5)), losses=[1.0] * 5, probe_steps=[0], probe_loss=[0.1],
                  relative_spread=[0.9], range_violation=[0.0])
    for name in ("diverging", "stuck", "slow", "oscillating"):
        symptom = DETECTORS[name](rec)
        assert not symptom.present and "skipped" in symptom.evidence


def test_record_round_trips_through_json():
    import json

    rec = stuck_record()
    rec.losses[3] = math.nan
    again = MonitorRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert math.isnan(again.losses[3]) and again.losses[4] == pytest.approx(rec.losses[4])
    assert [s.present for s in detect_symptoms(again)] == [s.present for s in detect_symptoms(rec)]


def test_every_detector_file_is_found_in_its_order():
    files = sorted(p.stem for p in Path(detectors.__file__).parent.glob("*.py") if not p.name.startswith("_"))
    assert sorted(DETECTORS) == files
    for name, detector in DETECTORS.items():
        assert detector.__name__ == f"detect_{name}" and detector.__module__ == f"{detectors.__name__}.{name}"
    # findings are raised in this order (an earlier symptom claims a shared cause first); a new detector may
    # fall anywhere between these
    known = ["nan_inf", "diverging", "stuck", "slow", "oscillating", "collapsed_to_mean", "dead_units", "saturation",
             "vanishing_gradients", "exploding_gradients", "overfitting", "heavy_regularization", "out_of_range"]
    assert [name for name in DETECTORS if name in known] == known


def test_a_detector_file_without_its_detector_or_order_stops_the_import(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    detector = "def detect_{name}(record):\n    return None\n"
    cases = {"fake_detectors_ok": {"b": detector + "ORDER = 1\n", "a": detector + "ORDER = 2\n", "_util": ""},
             "fake_detectors_no_order": {"a": detector},
             "fake_detectors_misnamed": {"a": detector.replace("{name}", "other") + "ORDER = 1\n"},
             "fake_detectors_clash": {"a": detector + "ORDER = 1\n", "b": detector + "ORDER = 1\n"}}
    for package, modules in cases.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        for name, source in modules.items():
            (tmp_path / package / f"{name}.py").write_text(source.replace("{name}", name))
    importlib.invalidate_caches()
    try:
        assert list(find_detectors(importlib.import_module("fake_detectors_ok"))) == ["b", "a"]
        for package, message in [("fake_detectors_no_order", "ORDER"), ("fake_detectors_misnamed", "detect_a"),
                                 ("fake_detectors_clash", "share an ORDER")]:
            with pytest.raises(ImportError, match=message):
                find_detectors(importlib.import_module(package))
    finally:
        for key in [k for k in sys.modules if k.startswith("fake_detectors_")]:
            del sys.modules[key]
