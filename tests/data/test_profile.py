"""`profile_data`, the pipeline-free profile `caedoctor check` uses, measures exactly what the training
pipelines yield (arrays are sliced from numpy instead of copied into TensorFlow and back)."""

from __future__ import annotations

import numpy as np
import pytest
from check_helpers import images, raw_images

from caedoctor.data import load_data, profile_data
from caedoctor.data.profile import profile_batches


def _through_pipelines(data):
    batches = (b for ds in (data.train, data.val) for b in ds.batch(1024).as_numpy_iterator())
    separate = data.profile.target is not None
    return profile_batches(batches, data.source.dtype, data.source.target_dtype, separate)


@pytest.mark.parametrize("spec, normalize", [
    (images(120, size=12, channels=3), "none"),
    (raw_images(80, size=10).astype(np.uint8), "unit"),
    ((images(60, size=8), images(60, size=8, high=255.0, seed=1)), "none"),
])
def test_profile_data_equals_the_profile_of_the_pipelines(spec, normalize):
    fast = profile_data(spec, normalize=normalize)
    inputs, target = _through_pipelines(load_data(spec, normalize=normalize))
    assert fast.inputs == inputs and fast.target == target
    assert fast == load_data(spec, normalize=normalize).profile


def test_profile_data_resizes_through_the_pipeline_like_load_data():
    x = images(30, size=12)
    assert profile_data(x, image_size=6).inputs.shape == load_data(x, image_size=6).profile.inputs.shape == (6, 6, 1)


def test_pairing_tells_shuffled_targets_from_paired_ones_whatever_the_batching():
    from caedoctor.data.profile import PairingCounter

    x = images(300, size=40, channels=3)
    shuffled = x[np.random.default_rng(0).permutation(len(x))]

    def measured(y, batch):
        counter = PairingCounter()
        for i in range(0, len(x), batch):
            counter.update(x[i:i + batch], y[i:i + batch])
        return counter.result()

    own, apart = measured(x, 64), measured(shuffled, 64)
    assert own["paired_correlation"] == pytest.approx(1.0) and abs(own["unpaired_correlation"]) < 0.1
    assert abs(apart["paired_correlation"] - apart["unpaired_correlation"]) < 0.05
    assert measured(shuffled, 7) == apart  # the same figures however the stream is batched
    grey_targets = measured(x.mean(axis=-1, keepdims=True), 64)  # colouring: channels differ
    assert grey_targets["paired_correlation"] == pytest.approx(1.0)
    assert measured(x[:, :20, :20], 64)["pairs_checked"] == 0  # another size: not measured


def test_the_profile_carries_the_pairing_of_separate_targets_only():
    x = images(50, size=8)
    assert load_data((x, x[::-1].copy())).profile.target.pairs_checked == 50
    assert load_data(x).profile.target is None
