"""The streaming profile's duplicate counter: exact and near repeats, bounded memory."""

from __future__ import annotations

import numpy as np
from check_helpers import images, profile

from caedoctor.data.profile import DuplicateCounter


def test_counts_exact_and_near_repeats_across_batches():
    x = images(300, size=10)
    x[100:150] = x[:50]  # 50 exact repeats
    x[200:210] = np.clip(x[50:60] + 1e-6, 0, 1)  # 10 near repeats (differences far below 1/32 of the range)
    counter = DuplicateCounter()
    counter.update(x[:120])
    counter.update(x[120:])
    assert counter.result() == {"exact_duplicates": 50, "near_duplicates": 60, "duplicates_checked": 300}


def test_distinct_noisy_images_are_not_repeats():
    stats = profile(images(500, size=16)).inputs
    assert (stats.exact_duplicates, stats.near_duplicates, stats.duplicates_checked) == (0, 0, 500)


def test_memory_is_capped_but_later_samples_are_still_compared():
    x = images(100, size=8)
    x[50:] = x[:50]
    counter = DuplicateCounter(max_remembered=10)
    counter.update(x)
    assert len(counter._seen["exact"]) == 10 and len(counter._seen["near"]) == 10
    assert counter.result()["exact_duplicates"] == 10  # repeats of the 10 remembered samples


def test_nan_samples_do_not_break_the_counter():
    x = images(20, size=8)
    x[3, 0, 0, 0] = np.nan
    x[4] = x[3]
    result = profile(x).inputs
    assert result.exact_duplicates == 1 and result.nan_count == 2
