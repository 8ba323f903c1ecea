"""Real image data that ships inside the scikit-image wheel: no download, no `../shared` at run time.

`patches32`: 32x32x3 patches in [0, 1] cut from scikit-image's colour photographs. Each photograph is split
by columns into a training region (the left 85%) and a validation region (the right 15%); patches are cut
from inside one region only, so no validation pixel was ever seen in training. Near-constant patches
(std < 0.02, e.g. the black sky of the Hubble field) are dropped, and each image gives at most
`_MAX_TRAIN_PER_IMAGE` training patches so that no single photograph dominates.

`faces25`: scikit-image's LFW subset, 200 grey 25x25 images in [0, 1] (100 faces, 100 non-faces),
split 170 / 30 by a fixed permutation.
"""

from __future__ import annotations

import functools

import numpy as np

PATCH = 32
STRIDE = 8
VAL_FRACTION = 0.15
_MAX_TRAIN_PER_IMAGE = 3000
_MAX_VAL_PER_IMAGE = 600
_FLAT_STD = 0.02


def _photographs() -> dict:
    import skimage.data as skd

    return {
        "astronaut": skd.astronaut(),
        "chelsea": skd.chelsea(),
        "coffee": skd.coffee(),
        "rocket": skd.rocket(),
        "retina": skd.retina(),
        "hubble_deep_field": skd.hubble_deep_field(),
        "immunohistochemistry": skd.immunohistochemistry(),
        "motorcycle": skd.stereo_motorcycle()[0],
    }


def _cut(region: np.ndarray, limit: int) -> np.ndarray:
    """The kept patches of one region, still uint8 (converted once, by `_shuffled_unit_floats`)."""
    windows = np.lib.stride_tricks.sliding_window_view(region, (PATCH, PATCH, 3))[::STRIDE, ::STRIDE, 0]
    windows = windows.reshape(-1, PATCH, PATCH, 3)
    # Choose the patches in float chunks and convert only the kept ones: converting every window at once
    # allocated ~1 GB and took ~2 s; the values and the choice are bit-for-bit the same.
    keep = []
    for start in range(0, len(windows), 1024):
        chunk = windows[start:start + 1024].astype(np.float32)
        chunk /= 255.0
        keep.append(np.flatnonzero(chunk.std(axis=(1, 2, 3)) >= _FLAT_STD) + start)
    keep = np.concatenate(keep)
    if len(keep) > limit:
        keep = keep[np.linspace(0, len(keep) - 1, limit).round().astype(int)]
    return windows[keep]


def _shuffled_unit_floats(parts: list, order: np.ndarray) -> np.ndarray:
    """`np.concatenate(parts)[order] / 255` as float32, written once into one array: fresh memory is what
    made this slow (each page of a new 270 MB array is a page fault), not the arithmetic."""
    total = sum(len(p) for p in parts)
    out = np.empty((total, PATCH, PATCH, 3), np.float32)
    destination = np.empty_like(order)
    destination[order] = np.arange(total)
    start = 0
    for part in parts:
        for i in range(0, len(part), 1024):
            chunk = part[i:i + 1024].astype(np.float32)
            chunk /= 255.0
            out[destination[start + i:start + i + len(chunk)]] = chunk
        start += len(part)
    return out


@functools.lru_cache(maxsize=1)
def patches32() -> tuple[np.ndarray, np.ndarray]:
    """Return `(train, val)` float32 arrays of shape (N, 32, 32, 3) in [0, 1]; deterministic."""
    train, val = [], []
    for image in _photographs().values():
        width = image.shape[1]
        split = int(round(width * (1 - VAL_FRACTION)))
        train.append(_cut(image[:, :split], _MAX_TRAIN_PER_IMAGE))
        val.append(_cut(image[:, split:], _MAX_VAL_PER_IMAGE))
    rng = np.random.default_rng(20250130)
    train_order = rng.permutation(sum(len(p) for p in train))
    val_order = rng.permutation(sum(len(p) for p in val))
    return _shuffled_unit_floats(train, train_order), _shuffled_unit_floats(val, val_order)


@functools.lru_cache(maxsize=1)
def faces25() -> tuple[np.ndarray, np.ndarray]:
    """Return `(train, val)` float32 arrays of shape (N, 25, 25, 1) in [0, 1]; deterministic."""
    import skimage.data as skd

    faces = skd.lfw_subset().astype(np.float32)[..., None]
    order = np.random.default_rng(25).permutation(len(faces))
    faces = faces[order]
    return faces[:170], faces[170:]


BUNDLED = {"patches32": patches32, "faces25": faces25}
