"""plan: how many steps each side of a batch-size probe runs, so that both see as many training samples."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from caedoctor.diagnosis.plan import sample_matched_steps


def _setup(batch_size):
    return SimpleNamespace(batch_size=batch_size)


@pytest.mark.parametrize("old, new, expected", [
    (16, 16, (None, 500)),  # the same batch: the baseline is the reference
    (16, 32, (None, 250)),  # a larger batch: fewer steps against the baseline
    (2, 32, (None, 31)),  # BatchNorm at batch 2 against 32 (dev-087): 31 steps; a longer comparison did not help
    (256, 32, (62, 500)),  # a smaller batch: the full steps against a shortened baseline rerun
])
def test_both_sides_see_as_many_samples(old, new, expected):
    rerun, steps = sample_matched_steps(_setup(old), _setup(new), 500)
    assert (rerun, steps) == expected
    baseline_samples = (rerun if rerun is not None else 500) * old
    assert baseline_samples == pytest.approx(steps * new, rel=0.03)
