"""Real images for the generated benchmark, read without caedoctor, and the split caedoctor applies to arrays.

Sources (all real photographs or scans, decoded once and cached as uint8 under runs/generated/cache/):
- `cifar10`: the 11,000 CIFAR-10 images of ../shared/data/cifar10 (PNG sheets), 32x32x3;
- `fmnist`: the 60,000 Fashion-MNIST training images of ../shared/data/fashion-mnist (IDX .gz), 28x28x1;
- `patches32`: caedoctor's `bundled:patches32`, 32x32x3 patches of scikit-image's photographs, read from
  the module file src/caedoctor/data/bundled.py exactly as bench/faults/cases.py reads it (no caedoctor
  import). It comes as a train region and a held-out region of each photograph; `images()` places the
  held-out patches exactly where caedoctor's split will look for validation images, so overlapping patches
  never straddle the split;
- `faces25`: scikit-image's LFW subset (`skimage.data.lfw_subset()`), 200 grey 25x25 faces and non-faces.

`split_indices` is caedoctor.data.sources.split_arrays' split (10% validation by a permutation with seed 0),
copied here so that the benchmark never imports caedoctor; tests/bench/test_generated_benchmark.py checks
that the two agree.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
CACHE = ROOT / "runs" / "generated" / "cache"
VAL_FRACTION = 0.1  # caedoctor.data.sources.VAL_FRACTION
SIZES = {"cifar10": 32, "fmnist": 28, "patches32": 32, "faces25": 25}
CHANNELS = {"cifar10": 3, "fmnist": 1, "patches32": 3, "faces25": 1}
COUNTS = {"cifar10": 11_000, "fmnist": 60_000, "patches32": 22_311, "faces25": 200}  # patches32: train region


def split_indices(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx) of an n-image array, exactly as caedoctor.data.sources.split_arrays splits it."""
    n_val = min(max(1, int(round(n * VAL_FRACTION))), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def split(x: np.ndarray, y: np.ndarray | None = None):
    """((x_train, y_train), (x_val, y_val)) like caedoctor's loader; y defaults to x (an autoencoder)."""
    train_idx, val_idx = split_indices(len(x))
    y = x if y is None else y
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])


def _cached(name: str, make) -> np.ndarray:
    path = CACHE / f"{name}.npy"
    if path.is_file():
        return np.load(path)
    array = make()
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, array)
    tmp.replace(path)
    return array


def _cifar10() -> np.ndarray:
    from PIL import Image

    sheets = [np.asarray(Image.open(SHARED / "cifar10" / f"cifar10_batch_{k}.png").convert("RGB")).reshape(1000, 32, 32, 3)
              for k in (*range(10), 50)]
    return np.concatenate(sheets)


def _fmnist() -> np.ndarray:
    with gzip.open(SHARED / "fashion-mnist" / "train-images-idx3-ubyte.gz", "rb") as fh:
        raw = fh.read()
    count = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, np.uint8, offset=16).reshape(count, 28, 28, 1).copy()


def _bundled_module():
    spec = importlib.util.spec_from_file_location("_generated_bundled", ROOT / "src" / "caedoctor" / "data" / "bundled.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _patches(part: int) -> np.ndarray:
    arrays = _bundled_module().patches32()  # float32 k/255: stored back as the exact uint8
    return np.round(arrays[part] * 255.0).astype(np.uint8)


def _faces() -> np.ndarray:
    import skimage.data as skd

    return skd.lfw_subset().astype(np.float32)[..., None]


def raw(source: str, part: str = "train") -> np.ndarray:
    """A source's images: uint8 (N, H, W, C), or float32 in [0, 1] for faces25. `part` matters for patches32."""
    if source == "cifar10":
        return _cached("cifar10", _cifar10)
    if source == "fmnist":
        return _cached("fmnist", _fmnist)
    if source == "patches32":
        return _cached(f"patches32_{part}", lambda: _patches(0 if part == "train" else 1))
    if source == "faces25":
        return _cached("faces25", _faces)
    raise ValueError(f"unknown source {source!r}; known: {', '.join(SIZES)}")


def _crop(images: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    n, h, w = images.shape[:3]
    top = rng.integers(0, h - size + 1, n)
    left = rng.integers(0, w - size + 1, n)
    rows = top[:, None] + np.arange(size)[None, :]
    cols = left[:, None] + np.arange(size)[None, :]
    return images[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def _to_unit(images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    return images.astype(np.float32)


def images(source: str, n: int, crop: int, channels: int, seed) -> np.ndarray:
    """`n` real images of `source` in [0, 1], float32 (n, crop, crop, channels), each a random crop.

    Which images and where each is cropped follow `seed`. For patches32, the positions caedoctor's split
    (`split_indices(n)`) makes validation hold patches of the photographs' held-out regions.
    """
    if crop > SIZES[source]:
        raise ValueError(f"crop {crop} is larger than {source}'s {SIZES[source]} px")
    if channels == 3 and CHANNELS[source] == 1:
        raise ValueError(f"{source} is grey: channels must be 1, got {channels}")
    rng = np.random.default_rng(seed)
    if source == "patches32":
        train_idx, val_idx = split_indices(n)
        train, val = raw(source, "train"), raw(source, "val")
        picked = np.empty((n, *train.shape[1:]), np.uint8)
        picked[train_idx] = train[np.sort(rng.choice(len(train), len(train_idx), replace=False))]
        picked[val_idx] = val[np.sort(rng.choice(len(val), len(val_idx), replace=False))]
    else:
        pool = raw(source)
        if n > len(pool):
            raise ValueError(f"{source} has {len(pool)} images; asked for {n}")
        picked = pool[np.sort(rng.choice(len(pool), n, replace=False))]
    x = _to_unit(_crop(picked, crop, rng))
    if channels == 1 and x.shape[-1] == 3:  # ITU-R 601 luma, as PIL's convert("L")
        x = (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    return np.ascontiguousarray(x, dtype=np.float32)
