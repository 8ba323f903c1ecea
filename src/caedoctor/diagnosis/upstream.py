"""Upstream causes: faults that can produce, by themselves, the symptoms other findings were raised by.

A learning rate of 0.1 saturates a sigmoid output, stalls the gradients and kills ReLU units; so adding
BatchNorm "helps" (3.22 -> 0.74) whether or not saturation is a cause of its own. While the rate is tested,
explain-away tells the two apart; while it is *not* tested (the time budget ran out first, or its fix could
not be applied), a symptom's fix that helped proves nothing about the cause. So a `confirmed` finding raised
by a symptom (CAE7xx) that an untested upstream finding can produce by itself is held back: it stays
`suspected`, its measured effect kept, and `evidence.held_back` says why in one sentence. When the upstream
finding was tested (confirmed or refuted), nothing here changes.

`UPSTREAM` is the one table of these relations, read from the symptom detectors (`monitor.symptoms`) and the
probe rules (`checks.probe_rules`):

- `learning_rate_too_high`: steps that overshoot throw units into their flat tails or below zero for good
  (`saturated_activation`, `dead_relu`), stall or blow up the gradients (`vanishing_gradients`,
  `exploding_gradients`), and make a run oscillate, diverge, turn NaN, stall at or collapse to the mean
  image, whichever cause the detector then read from the traces (a collapse names `bottleneck_too_narrow`);
- `data_not_normalized`: 0-255 inputs saturate the units, kill ReLUs and blow up the gradients
  (`saturated_activation`, `dead_relu`, `vanishing_gradients`, `exploding_gradients`).

A finding whose own cause is a root one (`ROOT_CAUSES`: a stuck run that names the learning rate, too high
or too low) is never held back: two root causes are told apart by explain-away, not by this table (and a
rate raised with success says the rate was not too high).

Example::

    held = hold_back(diagnosis.findings)   # in place; the findings held back
"""

from __future__ import annotations

from dataclasses import dataclass

from caedoctor.findings import Finding


@dataclass(frozen=True)
class Downstream:
    """What an upstream cause can produce by itself: the causes of symptom findings, and the symptoms
    (whatever cause their detector named), with the words a sentence uses for the upstream cause."""

    noun: str  # "the learning rate"
    causes: frozenset = frozenset()
    symptoms: frozenset = frozenset()


UPSTREAM = {
    "learning_rate_too_high": Downstream(
        "the learning rate",
        causes=frozenset({"saturated_activation", "vanishing_gradients", "exploding_gradients", "dead_relu"}),
        symptoms=frozenset({"oscillating", "diverging", "nan_inf", "stuck", "collapsed_to_mean"})),
    "data_not_normalized": Downstream(
        "the inputs' scale",
        causes=frozenset({"saturated_activation", "dead_relu", "vanishing_gradients", "exploding_gradients"})),
}

# Causes that are never a consequence here: the upstream ones, and a rate too low (the other direction).
ROOT_CAUSES = frozenset(UPSTREAM) | {"learning_rate_too_low"}

# How a sentence names what a finding was raised by: its symptom, else its cause.
_WORDS = {"saturated_activation": "saturated units", "vanishing_gradients": "vanishing gradients",
          "exploding_gradients": "exploding gradients", "dead_relu": "dead ReLU units",
          "oscillating": "an oscillating loss", "diverging": "a diverging loss", "nan_inf": "NaN losses",
          "stuck": "a run stuck at the mean image", "collapsed_to_mean": "a collapse to the mean image"}


def untested(finding: Finding) -> bool:
    """True for a finding no probe measured: still `suspected`, with no effect."""
    return finding.status == "suspected" and finding.effect is None


def can_produce(upstream: Finding, finding: Finding) -> str | None:
    """What of `finding` (a symptom finding) `upstream`'s cause can produce by itself, in words, or None."""
    relation = UPSTREAM.get(upstream.cause)
    symptom = finding.evidence.get("symptom")
    if relation is None or not symptom or finding.cause in ROOT_CAUSES:
        return None
    if symptom in relation.symptoms:
        return _WORDS.get(symptom, symptom.replace("_", " "))
    if finding.cause in relation.causes:
        return _WORDS.get(finding.cause, finding.cause.replace("_", " "))
    return None


def untested_upstream(finding: Finding, findings: list) -> tuple | None:
    """(the first untested upstream finding in `findings` that can produce `finding` by itself, what it can
    produce in words), or None."""
    for up in findings:
        if up is not finding and untested(up):
            what = can_produce(up, finding)
            if what is not None:
                return up, what
    return None


def hold_back(findings: list) -> list:
    """Turn each `confirmed` finding that an untested upstream finding can produce back to `suspected` (in
    place), its effect kept and `evidence.held_back` saying why; returns those held back."""
    held = []
    for f in findings:
        if f.status != "confirmed":
            continue
        found = untested_upstream(f, findings)
        if found is None:
            continue
        up, what = found
        f.status = "suspected"
        f.evidence = {**f.evidence, "held_back": _sentence(f, up, what)}
        held.append(f)
    return held


def _sentence(f: Finding, up: Finding, what: str) -> str:
    """Why `f` is held back, in one sentence."""
    helped = (f"its fix helped ({f.effect.metric} {f.effect.before:.4g} -> {f.effect.after:.4g})" if f.effect
              else "its fix helped")
    why = up.evidence.get("not_tested") or "no probe tested it"
    return (f"{helped}, but {UPSTREAM[up.cause].noun} ({up.code}), which can cause {what} by itself, was not "
            f"tested: {why}")
