"""Plan the counterfactual probes: which suspicions to test in which order, the one change that tests each,
and how many steps each side runs so that the two probes see as many training samples.

Deciding what to try is kept apart from running it (`probes`) and judging it (`judge`), as keras-tuner's
oracle is from its tuner.
"""

from __future__ import annotations

from caedoctor.checks.probe_findings import lr_direction
from caedoctor.findings import Finding, Fix
from caedoctor.fixes import FixContext, apply_fix, is_more_data
from caedoctor.fixes.data_fixes import fewer_training_samples
from caedoctor.setup import Setup
from caedoctor.thresholds import DATA_FRACTION

# Causes a convergence probe cannot judge: a bypass makes the loss *easier* to lower (it matters for the
# usefulness of the code, not for convergence), so "the loss did not improve" would be a false refutation.
NOT_PROBED = ("bottleneck_bypass",)
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
# Causes measured in the loss itself, tested before the learning rate the range test backs: a VAE whose KL term
# weighs 784x what the ELBO gives it has a loss whose range-test curve says little about the rate (families
# dev-011, 2026-12-07: the range test backed "rate too low", its probe used the 180 s budget, and the measured
# mismatch, the real fault, was left untested). A KL weight too high is the same: a collapsed code leaves a loss
# that barely moves, which the range test reads as "rate too low" (families dev-009, beta 50: the rate's probe
# used the budget and the collapse, CAE713, stayed suspected).
# In this order: a KL summed beside a reconstruction averaged over pixels is one way a KL weighs too much.
BEFORE_THE_RATE = ("loss_reduction_mismatch", "kl_weight_too_high")


def order_for_testing(findings: list, lr_suggestion: float | None = None, learning_rate: float | None = None) -> list:
    """The order in which the suspicions are tested, the strongest evidence first: errors; then a cause
    measured in the loss's own structure (`BEFORE_THE_RATE`); then a
    learning-rate finding whose direction the LR range test agrees with (`backed_by_range_test`); then
    warnings, then info, dynamic (symptom) findings before static folklore within each.

    The range test is the one measurement that names a cause upstream of the symptoms: a rate of 0.1
    saturates the units and stalls the gradients by itself (`upstream`), so when the budget allows only a
    few probes, the rate the test backs goes before the symptoms it explains.

    Args:
        findings: the findings to order (the list is not changed).
        lr_suggestion: the LR range test's suggestion (None: it did not run or found none).
        learning_rate: the configured learning rate.
    """
    def rank(f: Finding) -> tuple:
        tier = (0 if f.severity == "error" else 1 if f.cause in BEFORE_THE_RATE
                else 2 if backed_by_range_test(f, lr_suggestion, learning_rate) else 3)
        upstream = BEFORE_THE_RATE.index(f.cause) if tier == 1 else 0  # a mismatch collapses the code
        return tier, upstream, _SEVERITY_RANK.get(f.severity, 3), not f.code.startswith("CAE7")

    return sorted(findings, key=rank)


def backed_by_range_test(finding: Finding, lr_suggestion: float | None, learning_rate: float | None) -> bool:
    """True for a learning-rate finding (too high / too low) in the direction the LR range test points
    (`checks.probe_findings.lr_direction`: its suggestion beyond `LR_AGREEMENT_FACTOR` of the rate)."""
    direction = lr_direction(learning_rate, lr_suggestion)
    return direction is not None and finding.cause == f"learning_rate_too_{direction}"


def untestable(finding: Finding) -> str | None:
    """Why a probe cannot test this finding's cause, or None when it can."""
    if finding.cause in NOT_PROBED:
        return "a convergence probe cannot judge this cause"
    return None


def counterfactual_setup(setup: Setup, fix: Fix, context: FixContext) -> tuple[Setup, bool]:
    """The set-up that tests `fix`, and whether the test runs in reverse.

    "More data would help" cannot be tried forward, so it is tested on the learning curve: the probe trains
    on `DATA_FRACTION` of the images, and the cause holds when that is clearly worse (reverse=True: the
    counterfactual is the *less* favourable side). Raises `NotApplicable` when the fix cannot be applied.
    """
    if is_more_data(fix):
        return setup.replace(data=fewer_training_samples(setup.data, DATA_FRACTION)), True
    return apply_fix(setup, fix, context), False


def describe_change(fix: Fix, reverse: bool) -> str:
    """What the counterfactual probe changes, for the progress line."""
    return "fewer training images" if reverse else fix.description or fix.kind


def equal_samples_steps(steps: int, batch_size: int, new_batch_size: int) -> int:
    """Steps that show a probe with `new_batch_size` as many samples as `steps` steps at `batch_size`:
    a batch-size change is judged at an equal number of training samples (equal epochs), not equal steps,
    which would hand the larger batch more data."""
    if not batch_size or not new_batch_size or batch_size == new_batch_size:
        return steps
    return max(1, int(round(steps * batch_size / new_batch_size)))


def sample_matched_steps(setup: Setup, counterfactual: Setup, steps: int) -> tuple[int | None, int]:
    """(steps of a shortened baseline rerun, or None when the baseline itself is the reference; steps of the
    counterfactual probe).

    Probes of two batch sizes are compared at the same number of training samples. A larger batch runs
    fewer steps against the baseline; a smaller one runs the full steps against a shortened rerun of the
    baseline (the large-batch original at steps x new / old), so neither side is handed more data.
    """
    old_bs, new_bs = setup.batch_size, counterfactual.batch_size
    if not (old_bs and new_bs) or new_bs >= old_bs:
        return None, equal_samples_steps(steps, old_bs, new_bs)
    return equal_samples_steps(steps, new_bs, old_bs), steps
