"""The `kl_weight_above_one` symptom (CAE717): the KL weight a VAE's train step uses, against the ELBO's 1."""

from __future__ import annotations

from caedoctor.monitor.detectors.kl_weight_above_one import detect_kl_weight_above_one
from caedoctor.monitor.record import MonitorRecord


def test_the_weight_the_step_ends_with_is_read_not_the_one_it_began_with():
    warm_up = detect_kl_weight_above_one(MonitorRecord(kl_weight=0.0, kl_weights=[0.0, 5.0, 20.0]))
    assert warm_up.present and warm_up.cause == "kl_weight_too_high" and warm_up.evidence["kl_weight"] == 20.0
    assert "20" in warm_up.message
    to_one = detect_kl_weight_above_one(MonitorRecord(kl_weight=0.0, kl_weights=[0.0, 0.5, 1.0]))
    assert not to_one.present and to_one.message == ""
    fixed = detect_kl_weight_above_one(MonitorRecord(kl_weight=50.0))
    assert fixed.present


def test_a_schedule_the_traced_step_never_saw_leaves_the_weight_it_kept():
    # the callback assigns 20 to a plain number; the traced step keeps 0 (CAE716): no weight above 1 trains
    frozen = MonitorRecord(kl_weight=0.0, kl_weights=[0.0, 20.0],
                           kl_weight_test={"old": 0.0, "new": 20.0, "frozen": True})
    assert not detect_kl_weight_above_one(frozen).present
    kept_high = MonitorRecord(kl_weight=30.0, kl_weights=[30.0, 1.0],
                              kl_weight_test={"old": 30.0, "new": 1.0, "frozen": True})
    got = detect_kl_weight_above_one(kept_high)
    assert got.present and "keeps" in got.message and got.evidence["kl_weight"] == 30.0


def test_a_model_without_a_kl_weight_is_skipped_with_the_reason():
    plain = detect_kl_weight_above_one(MonitorRecord())
    assert not plain.present and "no KL weight" in plain.evidence["skipped"]


def test_its_rule_tests_the_weight_at_one():
    from caedoctor.checks.registry import get_rule

    cae717 = get_rule("CAE717")
    fix = cae717.make_fix("kl_weight_too_high", None)
    assert cae717.severity == "warning" and fix.kind == "kl_weight" and fix.params == {"factor": 0.1, "ceiling": 1.0}
