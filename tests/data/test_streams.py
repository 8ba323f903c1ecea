"""DATA as a tf.data.Dataset, a keras.utils.PyDataset or a generator of batches: read once, profiled against
numpy, split as documented, batch size kept, bad streams refused with one sentence."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from caedoctor.data import load_data
from caedoctor.errors import CaedoctorWarning, DataError


def _images(n=40, size=8, channels=1, seed=0, dtype=np.float32):
    x = np.random.default_rng(seed).random((n, size, size, channels), dtype=np.float32)
    return (x * 255).astype(np.uint8) if dtype == np.uint8 else x


def _all(ds):
    x, y = zip(*ds.batch(10_000).as_numpy_iterator())
    return np.concatenate(x), np.concatenate(y)


def test_batched_dataset_keeps_batch_size_and_every_sample_once():
    import tensorflow as tf

    x = _images()
    data = load_data(tf.data.Dataset.from_tensor_slices((x, x)).batch(16))
    assert data.batch_size == 16
    val_idx = np.arange(0, 40, 10)  # every 10th sample, starting with the first
    train_x, train_y = _all(data.train)
    val_x, _ = _all(data.val)
    assert np.array_equal(train_x, np.delete(x, val_idx, axis=0)) and np.array_equal(train_y, train_x)
    assert np.array_equal(val_x, x[val_idx])
    assert data.profile.target is None  # (x, x): the target is the input
    assert data.profile.inputs.min == pytest.approx(x.min()) and data.profile.inputs.max == pytest.approx(x.max())
    assert data.profile.inputs.mean == pytest.approx(float(x.mean()), rel=1e-5)
    assert any("every 10th sample" in n for n in data.profile.notes)
    # the pipelines can be read again and again (the diagnosis reads them many times)
    assert np.array_equal(_all(data.train)[0], train_x)


def test_unbatched_dataset_of_images_and_of_grey_batches():
    import tensorflow as tf

    x = _images(channels=3)
    single = load_data(tf.data.Dataset.from_tensor_slices(x))
    assert single.batch_size is None and single.input_shape == (8, 8, 3) and single.profile.count == 40
    grey = _images()[..., 0]  # (N, 8, 8): batches of grey images, as Keras' fit would read them
    batches = load_data(tf.data.Dataset.from_tensor_slices(grey).batch(8))
    assert batches.batch_size == 8 and batches.input_shape == (8, 8, 1)


def test_shuffled_dataset_gives_the_same_samples_on_every_read():
    """A pipeline that reshuffles on every pass is read once; the probes all see that one read."""
    import tensorflow as tf

    x = _images(n=50)
    data = load_data(tf.data.Dataset.from_tensor_slices(x).shuffle(50).batch(10))
    first, again = _all(data.train)[0], _all(data.train)[0]
    assert np.array_equal(first, again)
    both = np.concatenate([first, _all(data.val)[0]])
    assert sorted(map(bytes, both)) == sorted(map(bytes, x))  # every sample exactly once


def test_pydataset_and_target_that_differs():
    import keras

    x = _images(dtype=np.uint8)

    class Pairs(keras.utils.PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            b = x[i * 8:(i + 1) * 8]
            return b, 255 - b

    data = load_data(Pairs(), normalize="unit")
    assert data.name == "PyDataset Pairs" and data.batch_size == 8
    assert data.profile.target is not None and data.profile.inputs.dtype == "uint8"
    train_x, train_y = _all(data.train)
    np.testing.assert_allclose(train_x + train_y, 1.0, atol=1e-6)  # scaled to [0, 1], target kept apart
    assert data.target_shape == (8, 8, 1)
    # the pairing is measured while streaming: an inverted image belongs to its input (|correlation| 1)
    assert data.profile.target.paired_correlation == pytest.approx(1.0, abs=1e-6)
    assert data.profile.target.pairs_checked == 40


def test_generator_is_read_once_with_sample_weights_warned():
    x = _images()
    pulled = []

    def batches():
        for i in range(0, 40, 8):
            pulled.append(i)
            yield x[i:i + 8], x[i:i + 8], np.linspace(0.5, 2.0, 8)

    with pytest.warns(CaedoctorWarning, match="sample weights .* cannot honour"):
        data = load_data(batches())
    assert pulled == [0, 8, 16, 24, 32]  # one pass
    assert data.batch_size == 8 and data.train_count + data.val_count == 40
    assert any(n.startswith("sample weights ignored") for n in data.profile.notes)
    assert len(_all(data.train)[0]) == data.train_count


def test_weights_of_one_are_not_warned_about():
    x = _images()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaedoctorWarning)
        load_data(iter([(x[:20], x[:20], np.ones(20)), (x[20:], x[20:], np.ones(20))]))


def test_validation_data_given_is_used_as_is():
    import tensorflow as tf

    x = _images()
    data = load_data(x[:30], validation=tf.data.Dataset.from_tensor_slices((x[30:], x[30:])).batch(4))
    assert (data.train_count, data.val_count) == (30, 10)
    assert np.array_equal(_all(data.val)[0], x[30:])
    assert data.batch_size is None  # the training arrays say no batch size; the validation batches do not count
    arrays = load_data((x[:30], x[:30]), validation=(x[30:], x[30:]))
    assert (arrays.train_count, arrays.val_count) == (30, 10)
    assert np.array_equal(_all(arrays.val)[0], x[30:])


@pytest.mark.parametrize("make, message", [
    (lambda tf, x: tf.data.Dataset.from_tensor_slices({"image": x}), "elements are dicts"),
    (lambda tf, x: tf.data.Dataset.from_tensor_slices(x).batch(4).repeat(), "repeats forever"),
    (lambda tf, x: iter([]), "yielded no samples"),
    (lambda tf, x: iter([x[:1]]), "at least 2 are needed"),
    (lambda tf, x: iter([x[:8], _images(size=10)[:8]]), "batch 1 holds images of shape"),
    (lambda tf, x: iter([np.array(["a", "b"])]), "batch 0 inputs has dtype"),
    (lambda tf, x: (1 / 0 for _ in range(2)), "reading the data failed (ZeroDivisionError"),
    (lambda tf, x: iter([(x[:8], x[:8]), x[8:16]]), "some batches have targets and some do not"),
])
def test_bad_streams_are_one_sentence(make, message):
    import tensorflow as tf

    with pytest.raises(DataError, match=message.replace("(", r"\(")) as info:
        load_data(make(tf, _images()))
    assert "\n" not in str(info.value)


def test_validation_with_a_data_string_is_refused():
    with pytest.raises(DataError, match="brings its own split"):
        load_data("bundled:faces25", validation=_images())
