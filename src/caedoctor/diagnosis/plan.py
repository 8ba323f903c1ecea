"""Plan the counterfactual probes: which suspicions to test in which order, the one change that tests each,
and how many steps each side runs so that the two probes see as many training samples.

Deciding what to try is kept apart from running it (`probes`) and judging it (`judge`), as keras-tuner's
oracle is from its tuner.
"""

from __future__ import annotations

from caedoctor.findings import Finding, Fix
from caedoctor.fixes import FixContext, apply_fix, is_more_data
from caedoctor.fixes.data_fixes import fewer_training_samples
from caedoctor.setup import Setup
from caedoctor.thresholds import DATA_FRACTION

# Causes a convergence probe cannot judge: a bypass makes the loss *easier* to lower (it matters for the
# usefulness of the code, not for convergence), so "the loss did not improve" would be a false refutation.
NOT_PROBED = ("bottleneck_bypass",)
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def order_for_testing(findings: list) -> list:
    """Errors first, then warnings, then info; dynamic (symptom) findings before static folklore."""
    return sorted(findings, key=lambda f: (_SEVERITY_RANK.get(f.severity, 3), not f.code.startswith("CAE7")))


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
