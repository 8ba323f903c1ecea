"""counterfactuals.test_findings with scripted probes (the logic, not the training): an error-level finding
that does not block training stays `certain` when its fix helps and is refuted when it does not."""

from __future__ import annotations

import pytest

from caedoctor.data import load_data
from caedoctor.diagnosis import Diagnosis
from caedoctor.probing import probes
from caedoctor.probing.budget import Budget
from caedoctor.diagnosis.counterfactuals import test_findings as run_counterfactuals
from caedoctor.probing.probes import ProbeResult
from caedoctor.diagnosis.state import RunState
from caedoctor.findings import Finding, Fix
from caedoctor.models import load_model
from caedoctor.setup import Setup

from tiny import blobs, compiled, tiny_cae


def _probe(label, rel):
    return ProbeResult(label=label, steps=100, steps_run=100, seconds=0.0, loss_curve=[rel],
                       metrics={"relative_mse": rel, "ssim": 0.5, "mse": rel})


@pytest.mark.parametrize("after, status", [(0.2, "certain"), (1.01, "refuted")])
def test_an_error_rule_is_judged_by_its_probe_too(monkeypatch, after, status):
    data = load_data(blobs(40))
    loaded = load_model(compiled(tiny_cae(output_activation="linear"), lr=1e-3), data.input_shape)
    finding = Finding(code="CAE201", cause="output_activation_range", severity="error", status="certain",
                      message="m", fix=Fix("output_activation", {"activation": "sigmoid"}, "a sigmoid output"))
    monkeypatch.setattr(probes, "run_probe", lambda *a, label="", **k: _probe(label, 1.0 if "seed+1" in label else after))
    result = Diagnosis(verdict="not_converging", findings=[finding], probe=None, lr_find=None, elapsed_s=0.0)
    run_counterfactuals(RunState(setup=Setup.of(loaded, data), result=result, steps=100, seed=0,
                                 say=lambda _m: None, budget=Budget(None), baseline=_probe("baseline", 1.0)))
    assert finding.status == status
    assert finding.effect.after == pytest.approx(after)
    assert ("error_rule_refuted" in finding.evidence) == (status == "refuted")
