"""`caedoctor.data.load_data`: every DATA form, the DataProfile measured against numpy, and bad inputs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from caedoctor.data import bundled, load_data
from caedoctor.data.profile import classify_range
from caedoctor.errors import CaedoctorError, DataError
from conftest import copy_fixtures, fixture_names


def _all(data, split):
    """Every `(x, y)` pair of one split as numpy arrays."""
    ds = data.train if split == "train" else data.val
    return next(iter(ds.batch(100_000).as_numpy_iterator()))


# ---------------------------------------------------------------- bundled

def test_patches32_shape_range_and_size():
    data = load_data("bundled:patches32")
    p = data.profile
    assert data.input_shape == (32, 32, 3) and data.target_shape == (32, 32, 3)
    assert p.count == p.train_count + p.val_count >= 15_000
    assert p.val_count > 0.05 * p.count
    assert p.inputs.min >= 0.0 and p.inputs.max <= 1.0
    assert p.inputs.value_range == "[0,1]"
    assert p.target is None  # the target is the input
    assert p.inputs.nan_count == 0 and p.inputs.inf_count == 0


def test_patches32_is_deterministic_and_no_val_patch_is_a_train_patch():
    train, val = bundled.patches32()
    train2, val2 = bundled.patches32.__wrapped__()  # recompute, bypassing the cache
    assert np.array_equal(train, train2) and np.array_equal(val, val2)
    # Values are k/255 exactly, so uint8 is a lossless key for byte-identity.
    key = lambda a: hashlib.blake2b((a * 255).round().astype(np.uint8).tobytes(), digest_size=16).digest()  # noqa: E731
    train_keys = {key(p) for p in train}
    assert len(train_keys) > 0.9 * len(train)
    assert not any(key(p) in train_keys for p in val)


def test_patches32_train_and_val_come_from_disjoint_columns(monkeypatch):
    """Cut a synthetic photograph whose pixels encode their own column: no val pixel lies in a train column."""
    h, w = 120, 300
    cols = np.broadcast_to(np.arange(w), (h, w))
    rows = np.broadcast_to(np.arange(h)[:, None], (h, w))
    image = np.stack([cols % 256, (cols // 256) * 50, rows], axis=-1).astype(np.uint8)
    monkeypatch.setattr(bundled, "_photographs", lambda: {"coded": image})
    bundled.patches32.cache_clear()
    try:
        train, val = bundled.patches32()
    finally:
        bundled.patches32.cache_clear()

    def columns(patches):
        v = (patches * 255).round().astype(int)
        return v[..., 0] + 256 * (v[..., 1] // 50)

    assert len(train) and len(val)
    split = int(round(w * (1 - bundled.VAL_FRACTION)))
    assert columns(train).max() < split <= columns(val).min()


def test_faces25():
    data = load_data("bundled:faces25")
    assert data.input_shape == (25, 25, 1)
    assert (data.profile.train_count, data.profile.val_count) == (170, 30)
    assert data.profile.inputs.value_range == "[0,1]"


def test_unknown_bundled_name_lists_the_choices():
    with pytest.raises(DataError, match="bundled:patches32.*bundled:faces25"):
        load_data("bundled:nope")


# ---------------------------------------------------------------- arrays on disk

def test_npz_with_x_only(npz_x, x16):
    data = load_data(npz_x)
    assert data.input_shape == (16, 16, 1)
    assert data.profile.count == 16 and data.profile.target is None
    x, y = _all(data, "train")
    assert np.array_equal(x, y)  # target = input
    # Train and validation together are exactly the samples in the file.
    xv, _ = _all(data, "val")
    got = np.concatenate([x, xv])
    assert sorted(map(bytes, got.reshape(16, -1))) == sorted(map(bytes, x16.reshape(16, -1)))


def test_npz_with_x_and_y_sets_the_target(npz_xy, x16):
    data = load_data(npz_xy)
    p = data.profile
    assert p.target is not None
    x, y = _all(data, "train")
    np.testing.assert_allclose(y, 1.0 - x, atol=1e-6)  # pairs stay aligned through the split
    np.testing.assert_allclose(p.target.mean, float((1.0 - x16).mean()), rtol=1e-5)
    np.testing.assert_allclose(p.inputs.mean, float(x16.mean()), rtol=1e-5)


def test_npy(npy_file):
    data = load_data(npy_file)
    assert data.input_shape == (16, 16, 1) and data.profile.count == 16


def test_split_is_seeded(npz_x):
    a1, _ = _all(load_data(npz_x, seed=1), "val")
    a2, _ = _all(load_data(npz_x, seed=1), "val")
    b, _ = _all(load_data(npz_x, seed=2), "val")
    assert np.array_equal(a1, a2)
    assert not np.array_equal(a1, b)


# ---------------------------------------------------------------- image folders

def _pil_stack(paths, mode):
    return np.stack([np.asarray(Image.open(p).convert(mode), dtype=np.float64) for p in paths])


def test_flat_image_folder_matches_the_pixels(mnist_folder):
    data = load_data(mnist_folder)
    p = data.profile
    assert data.input_shape == (28, 28, 1)
    assert p.count == 20 and p.train_count + p.val_count == 20 and p.val_count >= 1
    assert p.inputs.dtype == "uint8" and p.inputs.value_range == "[0,255]"
    pixels = _pil_stack(sorted(mnist_folder.glob("*.png")), "L")
    assert p.inputs.min == pixels.min() and p.inputs.max == pixels.max()
    np.testing.assert_allclose(p.inputs.mean, pixels.mean(), rtol=1e-9)


def test_image_folder_with_class_subfolders(class_folder):
    assert len([d for d in class_folder.iterdir() if d.is_dir()]) > 1
    data = load_data(class_folder)
    assert data.input_shape == (28, 28, 1) and data.profile.count == 20
    pixels = _pil_stack(sorted(class_folder.rglob("*.png")), "L")
    np.testing.assert_allclose(data.profile.inputs.mean, pixels.mean(), rtol=1e-9)


def test_colour_folder_has_three_channels(tmp_path):
    folder = copy_fixtures(fixture_names("cifar10"), tmp_path / "cifar")
    data = load_data(folder)
    assert data.input_shape == (32, 32, 3)
    pixels = _pil_stack(sorted(folder.glob("*.png")), "RGB")
    np.testing.assert_allclose(data.profile.inputs.channel_mean, pixels.mean(axis=(0, 1, 2)), rtol=1e-9)


def test_normalize_unit_scales_uint8_to_0_1(mnist_folder):
    data = load_data(mnist_folder, normalize="unit")
    assert data.profile.inputs.value_range == "[0,1]"
    assert data.profile.inputs.max == pytest.approx(1.0)


def test_image_size_resizes_a_mixed_folder(mixed_folder):
    data = load_data(mixed_folder, image_size=16)
    assert data.input_shape == (16, 16, 3)  # colour wins: the grey images are expanded
    assert data.profile.count == 10
    x, _ = _all(data, "train")
    assert x.shape[1:] == (16, 16, 3)
    assert data.profile.inputs.min >= 0 and data.profile.inputs.max <= 255


def test_mixed_sizes_without_image_size_names_two_files(mixed_folder):
    with pytest.raises(DataError) as info:
        load_data(mixed_folder)
    msg = str(info.value)
    assert "32x32" in msg and "28x28" in msg and "--image-size" in msg
    assert "cifar10_" in msg and "mnist_" in msg


# ---------------------------------------------------------------- keras.datasets (fresh process: KERAS_HOME)

_KERAS_PROBE = """
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from caedoctor.data import load_data
from caedoctor.errors import DataError
out = {}
for name in ("fashion_mnist", "mnist", "cifar10"):
    try:
        d = load_data("keras:" + name)
        out[name] = {"shape": list(d.input_shape), "train": d.train_count, "val": d.val_count,
                     "dtype": d.profile.inputs.dtype, "range": d.profile.inputs.value_range}
    except DataError as exc:
        out[name] = {"error": str(exc)}
print("RESULT " + json.dumps(out))
"""


def test_keras_datasets_through_keras_home(keras_home):
    env = {**os.environ, "KERAS_HOME": str(keras_home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", _KERAS_PROBE], capture_output=True, text=True, env=env,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT "):])
    fm = result["fashion_mnist"]
    assert fm == {"shape": [28, 28, 1], "train": 60000, "val": 10000, "dtype": "uint8", "range": "[0,255]"}
    cache = str(keras_home / "datasets")
    for name, missing in (("mnist", "mnist.npz"), ("cifar10", "cifar-10")):
        msg = result[name]["error"]
        assert f"keras:{name}" in msg and cache in msg and missing in msg
        assert "KERAS_HOME" in msg


def test_unknown_keras_dataset():
    with pytest.raises(DataError, match="keras:fashion_mnist"):
        load_data("keras:imagenet")


# ---------------------------------------------------------------- the profile against numpy

def _profile(array):
    return load_data(array).profile.inputs


def test_profile_fields_match_numpy():
    rng = np.random.default_rng(3)
    x = rng.normal([0.2, 0.5, 0.8], [0.05, 0.1, 0.15], size=(40, 8, 8, 3)).astype(np.float32)
    x[3, 1, 2, 0] = np.nan
    x[7, 0, 0, 1] = np.nan
    x[7, 0, 1, 1] = np.nan
    x[9, 4, 4, 2] = np.inf
    x[11, 5, 5, 0] = -np.inf
    s = _profile(x)
    finite = np.where(np.isfinite(x), x, np.nan).astype(np.float64)
    assert s.count == 40 and s.shape == (8, 8, 3) and s.dtype == "float32"
    assert s.nan_count == 3 and s.inf_count == 2
    assert s.min == pytest.approx(np.nanmin(finite), abs=1e-7)
    assert s.max == pytest.approx(np.nanmax(finite), abs=1e-7)
    np.testing.assert_allclose(s.channel_mean, np.nanmean(finite, axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(s.channel_std, np.nanstd(finite, axis=(0, 1, 2)), rtol=1e-4)
    np.testing.assert_allclose(s.mean, np.nanmean(finite), rtol=1e-5)
    # Sample indices count over train then validation; all four bad samples are found, whatever the split.
    assert len(s.first_nonfinite) == 4


def test_profile_of_uint8_keeps_dtype_and_values():
    x = np.random.default_rng(4).integers(0, 256, size=(10, 6, 6, 1), dtype=np.uint8)
    s = _profile(x)
    assert s.dtype == "uint8" and s.value_range == "[0,255]"
    assert (s.min, s.max) == (float(x.min()), float(x.max()))
    np.testing.assert_allclose(s.channel_mean, [x.mean()], rtol=1e-9)


@pytest.mark.parametrize("make, expected", [
    (lambda r: r.random((20, 8, 8, 1)), "[0,1]"),
    (lambda r: r.random((20, 8, 8, 1)) * 2 - 1, "[-1,1]"),
    (lambda r: r.integers(0, 256, (20, 8, 8, 1)).astype(np.float32), "[0,255]"),
    (lambda r: r.normal(0, 1, (20, 8, 8, 1)), "standardised"),
    (lambda r: r.random((20, 8, 8, 1)) * 1000 + 500, "other"),
    (lambda r: r.normal(-40, 3, (20, 8, 8, 1)), "other"),
])
def test_value_range_classes(make, expected):
    x = make(np.random.default_rng(5)).astype(np.float32)
    assert _profile(x).value_range == expected


def test_classify_range_boundaries():
    assert classify_range(0.0, 1.0, 0.5, 0.3) == "[0,1]"
    assert classify_range(-1.0, 0.5, 0.0, 0.3) == "[-1,1]"
    assert classify_range(0.0, 255.0, 100, 50) == "[0,255]"
    assert classify_range(-3.2, 3.5, 0.01, 1.0) == "standardised"
    assert classify_range(float("nan"), 1.0, 0.0, 1.0) == "other"


# ---------------------------------------------------------------- bad inputs: one clear DataError each

def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="data not found: .*nothing.npz"):
        load_data(tmp_path / "nothing.npz")


def test_npz_without_x_lists_the_keys(tmp_path, x16):
    path = tmp_path / "bad.npz"
    np.savez(path, images=x16, labels=np.arange(16))
    with pytest.raises(DataError, match=r"no array named 'x' \(found: images, labels\)"):
        load_data(path)


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        load_data(tmp_path / "empty")


def test_non_image_file_in_folder(mnist_folder):
    (mnist_folder / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match=r"notes\.txt: not a PNG or JPEG"):
        load_data(mnist_folder)


def test_corrupt_png_in_folder(mnist_folder):
    (mnist_folder / "broken.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DataError, match=r"broken\.png: cannot be read as an image"):
        load_data(mnist_folder)


def test_hidden_files_are_ignored(mnist_folder):
    (mnist_folder / ".DS_Store").write_bytes(b"\0\1")
    assert load_data(mnist_folder).profile.count == 20


@pytest.mark.parametrize("shape", [(16, 16), (2, 4, 4, 1, 1), (16,)])
def test_wrong_rank(tmp_path, shape):
    path = tmp_path / "bad.npy"
    np.save(path, np.zeros(shape, np.float32))
    with pytest.raises(DataError, match=rf"rank {len(shape)}\b.*expected images of rank 3"):
        load_data(path)


def test_fewer_than_two_samples(tmp_path, x16):
    path = tmp_path / "one.npz"
    np.savez(path, x=x16[:1])
    with pytest.raises(DataError, match="1 sample.*at least 2"):
        load_data(path)


def test_folder_with_one_image(mnist_folder):
    for p in sorted(mnist_folder.glob("*.png"))[1:]:
        p.unlink()
    with pytest.raises(DataError, match="1 image; at least 2"):
        load_data(mnist_folder)


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_truncated_file(tmp_path, x16, suffix):
    path = tmp_path / f"whole{suffix}"
    if suffix == ".npz":
        np.savez(path, x=x16)
    else:
        np.save(path, x16)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=rf"not a readable \{suffix} file"):
        load_data(path)


def test_y_that_looks_like_labels(tmp_path, x16):
    path = tmp_path / "labels.npz"
    np.savez(path, x=x16, y=np.arange(16) % 10)
    with pytest.raises(DataError, match="looks like class labels"):
        load_data(path)


def test_y_with_wrong_count(tmp_path, x16):
    path = tmp_path / "short_y.npz"
    np.savez(path, x=x16, y=x16[:10])
    with pytest.raises(DataError, match="10 samples but inputs x have 16"):
        load_data(path)


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2,3\n")
    with pytest.raises(DataError, match="unsupported data file type '.csv'"):
        load_data(path)


def test_non_numeric_array():
    with pytest.raises(DataError, match="expected numbers"):
        load_data(np.array([["a"] * 4] * 4))


def test_data_errors_are_caedoctor_errors():
    assert issubclass(DataError, CaedoctorError)
