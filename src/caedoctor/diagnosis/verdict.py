"""The verdict rules: what the baseline probe and its symptoms say, and how the counterfactual probes revise it.

`VERDICTS` in order of how bad: `converging`, `slow`, `not_converging`, `diverging`, `unstable`,
`overfitting`, `invalid`. The levels compared with are `STUCK_RELATIVE_MSE`, `SLOW_RELATIVE_MSE` and
`SLOW_GAIN` in `caedoctor.thresholds`.
"""

from __future__ import annotations

import math

from caedoctor.probing.probes import ProbeResult
from caedoctor.fixes import is_more_data
from caedoctor.thresholds import SLOW_GAIN, SLOW_RELATIVE_MSE, STUCK_RELATIVE_MSE

VERDICTS = ("converging", "slow", "not_converging", "diverging", "unstable", "overfitting", "invalid")

# Static errors that make any training meaningless: no probe is run.
BLOCKING_CAUSES = ("shape_mismatch", "nan_in_data")
LR_CAUSES = ("learning_rate_too_high", "learning_rate_too_low")
# Verdicts under which the learning rate is a suspect, whatever the static checks said.
_LR_SUSPECT_VERDICTS = ("diverging", "not_converging", "unstable", "slow")


def blocking(findings: list) -> list:
    """The error-level findings that make the set-up untrainable (a shape mismatch, NaN samples)."""
    return [f for f in findings if f.cause in BLOCKING_CAUSES and f.severity == "error"]


def learning_rate_suspect(findings: list, verdict: str) -> bool:
    """Whether the LR range test is worth running: a static learning-rate finding, or a failing probe."""
    return any(f.cause in LR_CAUSES for f in findings) or verdict in _LR_SUSPECT_VERDICTS


def verdict_from_probe(baseline: ProbeResult, symptoms: list, own_loss: bool = False) -> str:
    """The verdict of the baseline probe alone: its stop reason, the present symptoms, its relative MSE.

    `own_loss`: the model trains itself on a loss of its own (a VAE: reconstruction plus a KL term), which
    trades reconstruction for something else by design, so a relative MSE above `SLOW_RELATIVE_MSE` alone
    does not make it slow (a slow symptom or a fix that cuts it does); at `STUCK_RELATIVE_MSE` it has still
    learnt nothing of its input."""
    names = {s["name"] for s in symptoms if s.get("present")}
    if baseline.stopped in ("nan", "diverged") or "nan_inf" in names or "diverging" in names:
        return "diverging"
    if "stuck" in names or "collapsed_to_mean" in names or baseline.relative_mse >= STUCK_RELATIVE_MSE:
        return "not_converging"
    if "oscillating" in names:
        return "unstable"
    if "overfitting" in names:
        return "overfitting"
    if "slow" in names or (baseline.relative_mse >= SLOW_RELATIVE_MSE and not own_loss):
        return "slow"
    return "converging"


def verdict_after_probes(verdict: str, findings: list, relative_mse: float = math.nan) -> str:
    """The verdict, revised with what the counterfactual probes measured.

    `converging` becomes `slow` when a confirmed fix cuts the probe's error to SLOW_GAIN or less.
    `unstable` becomes `converging` when the probe still ends below SLOW_RELATIVE_MSE and no change held:
    the loss moves up and down, but a lower rate does not make the model better, so the swings are
    harmless (a BatchNorm model's monitor-batch loss swings with its moving statistics).
    """
    held = [f for f in findings if f.status in ("confirmed", "certain")]
    if verdict == "unstable" and not held and relative_mse < SLOW_RELATIVE_MSE:
        return "converging"
    if verdict != "converging":
        return verdict
    for f in findings:
        if f.status == "confirmed" and f.effect is not None and f.fix is not None and not is_more_data(f.fix):
            if math.isfinite(f.effect.before) and f.effect.after <= SLOW_GAIN * f.effect.before:
                return "slow"
    return verdict
