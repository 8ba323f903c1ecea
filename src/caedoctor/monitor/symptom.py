"""`Symptom`: one named observation about a training run, as a symptom detector returns it."""

from __future__ import annotations

from dataclasses import dataclass, field

from caedoctor.findings import CAUSES, jsonable


@dataclass
class Symptom:
    """One observation about a training run.

    Attributes:
        name: the detector's name (e.g. "stuck").
        present: whether the symptom was observed.
        evidence: the measured numbers behind the verdict, and the threshold they were compared with.
        cause: the cause in `caedoctor.findings.CAUSES` the symptom points to most directly.
        related: other causes that produce the same symptom, for the diagnosis to test.
        message: one sentence for a report.
    """

    name: str
    present: bool
    evidence: dict = field(default_factory=dict)
    cause: str = ""
    related: tuple = ()
    message: str = ""

    def __post_init__(self):
        for c in (self.cause, *self.related):
            if c not in CAUSES:
                raise ValueError(f"unknown cause {c!r}; the vocabulary is caedoctor.findings.CAUSES")

    def to_dict(self) -> dict:
        return {"name": self.name, "present": self.present, "evidence": jsonable(self.evidence),
                "cause": self.cause, "related": list(self.related), "message": self.message}

    @classmethod
    def skipped(cls, name: str, cause: str, reason: str, related=()) -> Symptom:
        """Not observed because the record lacks what the detector needs (too few steps or probes, no ReLU
        layer): `present=False`, with `reason` in `evidence["skipped"]`."""
        return cls(name, False, {"skipped": reason}, cause, tuple(related))
