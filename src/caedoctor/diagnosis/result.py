"""`Diagnosis`: the result of `diagnose`, as plain data that prints as text and JSON and shows as the report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from caedoctor.probing.probes import ProbeResult
from caedoctor.display import DiagnosisDisplay
from caedoctor.findings import Finding


@dataclass
class Diagnosis(DiagnosisDisplay):
    """The result of `diagnose`: plain data, printable as text and JSON, shown as the report in a notebook.

    Example, continuing the example of `caedoctor.diagnose` (which made `d`)::

        for finding in d.findings:   # status: certain, confirmed, refuted or suspected
            print(finding.code, finding.cause, finding.status, finding.effect)
        print(d.exit_code, d.to_dict()["verdict"])   # 0 when converging without problems; JSON-ready dict
    """

    verdict: str
    findings: list  # of Finding
    probe: dict | None  # the baseline's `ProbeResult.summary()`
    lr_find: dict | None  # `LRFindResult.to_dict()`, or {"suggestion": None, "error": ...}
    elapsed_s: float
    counterfactuals: list = field(default_factory=list)
    symptoms: list = field(default_factory=list)  # `Symptom.to_dict()` of every detector
    noise: dict | None = None  # metric -> {margin, baseline, reseeded}
    model: str = ""
    data: str = ""
    profile: dict | None = None  # `DataProfile.to_dict()`
    baseline: ProbeResult | None = field(default=None, repr=False)  # for reports
    # label -> ProbeResult, and "lr_find" -> LRFindResult, in the order they ran
    probe_results: dict = field(default_factory=dict, repr=False)
    setup: dict | None = None  # what was diagnosed: Setup.describe()
    # where the time went: {"total", "stages": {name: s}, "probe_parts": {part: s}, "probes": [rows]}
    timings: dict | None = None
    # the budget and what the plan said: {"budget_seconds", "steps", "step_ms", "sequential", "said": [...]}
    plan: dict | None = None
    # what every verdict, cause and repair is about (`diagnosis.horizon`): {"steps", "source", "detail",
    # "forecast": the baseline's validation error forecast there (`diagnosis.forecast`), or None}
    horizon: dict | None = None
    # the time budget left part of the diagnosis undone (`diagnosis.partial`): `partial_reason` says what, and
    # how long the full diagnosis needs; `untested` lists {code, cause, reason, test} of what it left untested
    partial: bool = False
    partial_reason: str | None = None
    untested: list = field(default_factory=list)
    full_seconds: float | None = None  # the full diagnosis's estimated seconds (when partial)

    @property
    def exit_code(self) -> int:
        """0 when converging with no error-level finding that holds; 1 when problems are found."""
        if self.verdict != "converging":
            return 1
        bad = [f for f in self.findings if f.severity == "error" and f.status != "refuted"]
        bad += [f for f in self.findings if f.status == "confirmed"]
        return 1 if bad else 0

    def confirmed(self) -> list:
        found = [f for f in self.findings if f.status in ("certain", "confirmed")]
        return sorted(found, key=lambda f: -_gain(f))

    def refuted(self) -> list:
        return [f for f in self.findings if f.status == "refuted"]

    def suspected(self) -> list:
        return [f for f in self.findings if f.status == "suspected"]

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "partial": self.partial,
            "partial_reason": self.partial_reason,
            "untested": list(self.untested),
            "full_seconds": None if self.full_seconds is None else round(self.full_seconds, 1),
            "model": self.model,
            "data": self.data,
            "setup": self.setup,
            "findings": [f.to_dict() for f in self.findings],
            "probe": self.probe,
            "lr_find": self.lr_find,
            "symptoms": self.symptoms,
            "noise": self.noise,
            "counterfactuals": self.counterfactuals,
            "elapsed_s": round(self.elapsed_s, 3),
            "timings": self.timings,
            "plan": self.plan,
            "horizon": self.horizon,
        }


def _gain(f: Finding) -> float:
    """The relative gain a finding's fix measured, for ranking causes (a certain one without a probe first)."""
    if f.effect is None:
        return math.inf if f.status == "certain" else 0.0
    before, after = f.effect.before, f.effect.after
    if not math.isfinite(before):
        return 1e9
    return (before - after) / before if before else 0.0
