"""Readers for each DATA form. Each returns a `Source`: the samples of the training and validation
splits, and how to stream them as `tf.data` elements. Every reader validates its input and raises
`DataError` with one clear sentence; none of them changes the values (no silent normalisation)."""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from caedoctor.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
KERAS_DATASETS = ("fashion_mnist", "mnist", "cifar10")
VAL_FRACTION = 0.1


@dataclass
class ArraySplit:
    """In-memory samples of one split; `y` is None when the target is the input."""

    x: np.ndarray
    y: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class FileSplit:
    """Image files of one split, decoded lazily by tf.data (never all in memory)."""

    paths: list
    channels: int
    # (H, W) shared by every file, or None when sizes differ (then a resize gives the shape). tf.data
    # cannot know a decoded image's size statically; without it the model would see (None, None, C).
    size: tuple | None = None

    def __len__(self) -> int:
        return len(self.paths)


@dataclass
class Source:
    name: str
    train: ArraySplit | FileSplit
    val: ArraySplit | FileSplit
    dtype: str
    target_dtype: str | None = None
    notes: tuple = ()


# ---------------------------------------------------------------- arrays

def as_images(array, what: str) -> np.ndarray:
    """Check that `array` is a stack of images: (N, H, W) or (N, H, W, C), numeric, N >= 1."""
    try:
        array = np.asarray(array)
    except Exception as exc:  # ragged lists and the like
        raise DataError(f"{what} is not a numeric array ({exc})") from None
    if array.dtype.kind not in "biuf":
        raise DataError(f"{what} has dtype {array.dtype}; expected numbers (uint8, float32, ...)")
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise DataError(
            f"{what} has shape {array.shape} (rank {array.ndim}); expected images of rank 3 (N, H, W) "
            "or rank 4 (N, H, W, C)")
    if 0 in array.shape[1:]:
        raise DataError(f"{what} has an empty dimension: shape {array.shape}")
    if array.dtype.kind == "b":
        array = array.astype(np.uint8)
    return array


def split_arrays(x: np.ndarray, y: np.ndarray | None, name: str, seed: int = 0,
                 val_fraction: float = VAL_FRACTION) -> Source:
    """Validate `x` (and `y`) and split them by a fixed seeded permutation into train and validation."""
    x = as_images(x, f"{name}: inputs")
    if y is not None:
        y = as_images(y, f"{name}: target y")
        if len(y) != len(x):
            raise DataError(f"{name}: target y has {len(y)} samples but inputs x have {len(x)}")
    if len(x) < 2:
        raise DataError(f"{name}: {len(x)} sample(s); at least 2 are needed (one to train, one to validate)")
    n_val = min(max(1, int(round(len(x) * val_fraction))), len(x) - 1)
    order = np.random.default_rng(seed).permutation(len(x))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    return Source(
        name=name,
        train=ArraySplit(x[train_idx], None if y is None else y[train_idx]),
        val=ArraySplit(x[val_idx], None if y is None else y[val_idx]),
        dtype=str(x.dtype),
        target_dtype=None if y is None else str(y.dtype),
    )


def _pair(spec, what: str):
    """(x, y or None) from `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` (weights warned about)."""
    if isinstance(spec, tuple):
        if not 1 <= len(spec) <= 3:
            raise DataError(f"{what} has {len(spec)} parts; expected x, (x, y) or (x, y, sample_weight)")
        if len(spec) == 3:
            warn_sample_weights(spec[2], what)
        return spec[0], (spec[1] if len(spec) > 1 else None)
    return spec, None


def given_split(train, validation, name: str) -> Source:
    """Training and validation arrays as the user split them (no permutation, nothing moved between them)."""
    (x, y), (xv, yv) = _pair(train, name), _pair(validation, f"{name} validation data")
    x = as_images(x, f"{name}: inputs")
    xv = as_images(xv, f"{name}: validation inputs")
    if y is not None:
        y = as_images(y, f"{name}: target y")
        if len(y) != len(x):
            raise DataError(f"{name}: target y has {len(y)} samples but inputs x have {len(x)}")
    if yv is not None:
        yv = as_images(yv, f"{name}: validation target")
        if len(yv) != len(xv):
            raise DataError(f"{name}: the validation target has {len(yv)} samples but its inputs have {len(xv)}")
    if xv.shape[1:] != x.shape[1:]:
        raise DataError(f"{name}: validation images have shape {xv.shape[1:]} but training images {x.shape[1:]}")
    if len(x) < 1 or len(xv) < 1:
        raise DataError(f"{name}: {len(x)} training and {len(xv)} validation samples; at least one of each is "
                        "needed")
    # One target convention for both splits: a separate target where either split has one.
    if (y is None) != (yv is None):
        y = x if y is None else y
        yv = xv if yv is None else yv
    return Source(name=name, train=ArraySplit(x, y), val=ArraySplit(xv, yv), dtype=str(x.dtype),
                  target_dtype=None if y is None else str(y.dtype),
                  notes=(f"validation: the {len(xv)} samples given as validation data",))


def warn_sample_weights(weights, what: str) -> None:
    """Print a warning for sample weights that are not all 1: caedoctor's probes weigh samples equally."""
    import warnings

    from caedoctor.errors import CaedoctorWarning

    w = np.asarray(weights, np.float64) if weights is not None else None
    if w is None or not w.size or np.all(w == 1.0):
        return
    warnings.warn(f"{what} carries sample weights (from {np.nanmin(w):.3g} to {np.nanmax(w):.3g}) that caedoctor "
                  "cannot honour: its probes weigh every sample equally", CaedoctorWarning, stacklevel=3)


def _looks_like_labels(y: np.ndarray) -> bool:
    return y.ndim <= 2


def read_npz(path: Path, seed: int) -> Source:
    try:
        # The file is opened here, not by np.load: numpy leaves its own handle open when the archive is damaged.
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if "x" not in keys:
                raise DataError(
                    f"{path}: no array named 'x' (found: {', '.join(keys) or 'none'}); save the images as "
                    "np.savez(path, x=images[, y=targets])")
            x = archive["x"]
            y = archive["y"] if "y" in keys else None
    except DataError:
        raise
    # A damaged archive fails in the zip layer (BadZipFile, or zlib.error from a corrupt deflate stream,
    # NotImplementedError for an unknown compression method) or in numpy's header parser (ValueError).
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error, NotImplementedError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({_short(exc)})") from None
    if y is not None and np.asarray(y).ndim <= 2:
        raise DataError(
            f"{path}: 'y' has shape {np.shape(y)}, which looks like class labels; caedoctor uses 'y' as the "
            "image the model must reconstruct. Store labels under another key, or leave 'y' out")
    return split_arrays(x, y, str(path), seed)


def read_npy(path: Path, seed: int) -> Source:
    try:
        x = np.load(path, allow_pickle=False, mmap_mode="r")
    except (EOFError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({_short(exc)})") from None
    return split_arrays(x, None, str(path), seed)


# ---------------------------------------------------------------- keras.datasets

def keras_cache_dir() -> Path:
    """Where `keras.datasets` looks for downloaded files ($KERAS_HOME or ~/.keras, then /tmp/.keras)."""
    from keras.src.backend import config as keras_config  # the one place Keras keeps this path

    base = Path(os.path.expanduser(keras_config.keras_home()))
    if not os.access(base if base.exists() else base.parent, os.W_OK):
        base = Path("/tmp/.keras")
    return base / "datasets"


_KERAS_FILES = {
    "mnist": ["mnist.npz"],
    "fashion_mnist": [
        "fashion-mnist/train-labels-idx1-ubyte.gz", "fashion-mnist/train-images-idx3-ubyte.gz",
        "fashion-mnist/t10k-labels-idx1-ubyte.gz", "fashion-mnist/t10k-images-idx3-ubyte.gz",
    ],
    "cifar10": ["cifar-10-batches-py-target_archive"],
}


def read_keras_dataset(name: str) -> Source:
    if name not in KERAS_DATASETS:
        raise DataError(f"unknown Keras dataset 'keras:{name}'; choose one of "
                        + ", ".join(f"keras:{n}" for n in KERAS_DATASETS))
    cache = keras_cache_dir()
    missing = [f for f in _KERAS_FILES[name] if not (cache / f).exists()]
    if missing:
        raise DataError(
            f"keras:{name} is not in Keras' dataset cache and this machine cannot download it: missing "
            f"{cache / missing[0]}. Copy the dataset's files into {cache} (or set KERAS_HOME), or use "
            "bundled:patches32")
    import keras

    loader = getattr(keras.datasets, name)
    try:
        (x_train, _), (x_test, _) = loader.load_data()
    except Exception as exc:  # a corrupt or partial cache file
        raise DataError(f"keras:{name}: could not read the cached files in {cache} ({_short(exc)})") from None
    x_train, x_test = as_images(x_train, f"keras:{name}"), as_images(x_test, f"keras:{name}")
    return Source(f"keras:{name}", ArraySplit(x_train), ArraySplit(x_test), dtype=str(x_train.dtype))


# ---------------------------------------------------------------- image folders

def read_image_folder(folder: Path, image_size, seed: int) -> Source:
    """List a folder of PNG/JPEG images (optionally one sub-folder per class) and check their headers."""
    from PIL import Image, UnidentifiedImageError

    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue  # hidden files (.DS_Store, .git) are not data
        if len(rel.parts) > 2:
            raise DataError(f"{folder}: {rel} is nested too deep; expected images in the folder or in one "
                            "sub-folder per class")
        files.append(path)
    if not files:
        raise DataError(f"{folder}: the folder holds no images (expected .png or .jpg files)")
    sizes: dict = {}
    colour = False
    for path in files:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(f"{path}: not a PNG or JPEG image; image folders may hold only .png/.jpg/.jpeg files")
        try:
            with Image.open(path) as img:
                size, mode = img.size, img.mode
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"{path}: cannot be read as an image ({_short(exc)})") from None
        sizes.setdefault(size, path)
        colour = colour or mode not in ("L", "LA", "I", "I;16", "1", "F")
    if len(sizes) > 1 and image_size is None:
        (s1, p1), (s2, p2) = list(sizes.items())[:2]
        raise DataError(
            f"{folder}: images have different sizes ({p1.name} is {s1[0]}x{s1[1]}, {p2.name} is "
            f"{s2[0]}x{s2[1]}); pass --image-size to resize them all")
    if len(files) < 2:
        raise DataError(f"{folder}: 1 image; at least 2 are needed (one to train, one to validate)")
    order = np.random.default_rng(seed).permutation(len(files))
    n_val = min(max(1, int(round(len(files) * VAL_FRACTION))), len(files) - 1)
    val = [files[i] for i in sorted(order[:n_val])]
    train = [files[i] for i in sorted(order[n_val:])]
    channels = 3 if colour else 1
    size = None
    if len(sizes) == 1:
        width, height = next(iter(sizes))
        size = (height, width)
    return Source(str(folder), FileSplit([str(p) for p in train], channels, size),
                  FileSplit([str(p) for p in val], channels, size), dtype="uint8")


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    # TensorFlow prefixes op errors with internal names ("{{function_node __wrapped__...}} Error in
    # user-defined function passed to ParallelMapDatasetV2:14 transformation with iterator: ...: "); the
    # part a user can act on is the last sentence before the "[[{{node ...}}]]" trailer.
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    text = re.sub(r"^Error in user-defined function passed to .*? transformation with iterator: [\w:]+: ", "", text)
    text = text.split("\n\t [[")[0].strip()
    text = re.sub(r"\s*\[Op:\w+\]( name:.*)?$", "", text)
    assertion = re.match(r"assertion failed: \[(.*?)\]", text)  # a tf.debugging check: its message only
    text = assertion.group(1) if assertion else text
    text = text.splitlines()[0] if text else type(exc).__name__
    return text[:200]
