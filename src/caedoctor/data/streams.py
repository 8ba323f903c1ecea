"""Streams as DATA: a `tf.data.Dataset`, a `keras.utils.PyDataset`, or a Python generator (any iterator) of
batches, read once with bounded memory.

A stream is read in one pass that profiles it and, at the same time, writes its samples as float32 records
into temporary files (deleted when the `Data` is no longer used, or at exit). The training and validation
pipelines read those files afterwards (`tf.data.FixedLengthRecordDataset`, no Python in the loop). So a
generator, which can be read only once, a `PyDataset` that loads files, and a `tf.data` pipeline that
reshuffles or augments on every pass all give every probe the same samples, and at most one batch is in
memory at a time.

Elements, as Keras' `fit` takes them: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`; a dict is refused.
A `PyDataset` and a generator yield batches; a `tf.data.Dataset` may be batched or not (elements of rank 4,
or of rank 3 whose last axis has more than 4 entries, are batches of colour or grey images; rank 3 with 1, 3
or 4 channels and rank 2 are single images). The size of the first batch of a batched stream is the user's
batch size (`Data.batch_size`), and the diagnosis trains with it.

Validation: the user's own validation data when given (`load_data(..., validation=...)`); otherwise every
10th sample (the 1st, 11th, 21st, ...; the stream cannot be permuted), which the profile's notes say.
Sample weights cannot be honoured by caedoctor's probes (they weigh every sample equally): weights that are
not all 1 are reported as a printed warning and in the notes, never dropped silently.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import tempfile
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from caedoctor.data.profile import DataProfile, DuplicateCounter, PairingCounter, StatsAccumulator
from caedoctor.data.sources import Source, _short, as_images
from caedoctor.errors import CaedoctorWarning, DataError

VAL_STRIDE = 10  # 1 validation sample in 10: sources.VAL_FRACTION for a stream that cannot be permuted
UNBATCHED_CHUNK = 256  # single images of an unbatched dataset are profiled this many at a time
ARRAY_CHUNK = 1024  # in-memory arrays beside a stream (fit(x, y, validation_data=dataset)) are read in slices
# A stream is copied to temporary files once; beyond this it is more likely endless than large.
DISK_LIMIT_BYTES = 16 * 2**30


def stream_kind(spec) -> str | None:
    """"dataset", "pydataset" or "iterator" for the stream forms; None for anything else (arrays, paths)."""
    if spec is None or isinstance(spec, (str, bytes, Path, np.ndarray, tuple, list, dict)):
        return None
    for parent in type(spec).__mro__:
        module = str(parent.__module__)
        if parent.__name__ == "DatasetV2" and module.startswith("tensorflow."):
            return "dataset"
        if parent.__name__ == "PyDataset" and module.startswith("keras"):
            return "pydataset"
    if hasattr(spec, "__next__") and hasattr(spec, "__iter__") and not hasattr(spec, "__array__"):
        return "iterator"
    return None


def describe(spec) -> str:
    """How a stream is named in messages and reports."""
    kind = stream_kind(spec)
    if kind == "dataset":
        return "tf.data.Dataset"
    if kind == "pydataset":
        return f"PyDataset {type(spec).__name__}"
    if kind == "iterator":
        return "generator" if type(spec).__name__ == "generator" else f"iterator {type(spec).__name__}"
    return "arrays"


@dataclass
class RawSplit:
    """One split of a stream: float32 samples as fixed-size records in temporary files (never in memory)."""

    x_path: str
    y_path: str | None  # None: the target is the input
    count: int
    shape: tuple  # one input sample: (H, W, C)
    target_shape: tuple | None = None

    def __len__(self) -> int:
        return self.count

    def dataset(self):
        """`(x, y)` float32 pairs in stream order, as a `tf.data.Dataset` of known length."""
        import tensorflow as tf

        def records(path, shape):
            size = int(np.prod(shape)) * 4
            return tf.data.FixedLengthRecordDataset(path, size).map(
                lambda r: tf.reshape(tf.io.decode_raw(r, tf.float32), shape),
                num_parallel_calls=tf.data.AUTOTUNE)

        xs = records(self.x_path, self.shape)
        ds = (xs.map(lambda x: (x, x)) if self.y_path is None
              else tf.data.Dataset.zip((xs, records(self.y_path, self.target_shape))))
        return ds.apply(tf.data.experimental.assert_cardinality(self.count))


# ---------------------------------------------------------------- reading the forms


def _unpack(element, name: str):
    """(x, y or None, sample_weight or None) from one element as Keras' `fit` reads it."""
    if isinstance(element, dict):
        keys = ", ".join(sorted(map(str, element)))
        raise DataError(f"{name}: elements are dicts (keys {keys}); caedoctor reads x, (x, y) or "
                        "(x, y, sample_weight)")
    if isinstance(element, (tuple, list)):
        if not 1 <= len(element) <= 3:
            raise DataError(f"{name}: elements hold {len(element)} parts; expected x, (x, y) or "
                            "(x, y, sample_weight)")
        x, y, w = (list(element) + [None, None])[:3]
        return x, y, w
    return element, None, None


def _numpy(value):
    if value is None:
        return None
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def _dataset_is_batched(ds, name: str) -> bool:
    spec = ds.element_spec
    x_spec = _unpack(spec, name)[0]
    shape = getattr(x_spec, "shape", None)
    if shape is None or shape.rank is None:
        raise DataError(f"{name}: the elements' rank is unknown; give the images a static rank")
    rank, last = shape.rank, shape[-1] if shape.rank else None
    if rank == 4:
        return True
    if rank == 3:
        return last is None or last > 4  # (N, H, W) grey batches; (H, W, C) single images have C <= 4
    if rank == 2:
        return False
    raise DataError(f"{name}: elements have shape {tuple(shape)} (rank {rank}); expected images (H, W, C), "
                    "(H, W) or batches of them")


def _array_batches(spec):
    """In-memory arrays `x` or `(x, y[, w])` as batches (for a stream's other split)."""
    x, y, w = _unpack(spec, "arrays")
    x = np.asarray(x)
    for start in range(0, len(x), ARRAY_CHUNK):
        end = start + ARRAY_CHUNK
        yield x[start:end], None if y is None else np.asarray(y)[start:end], \
            None if w is None else np.asarray(w)[start:end]


def _batches(spec, name: str):
    """`(batches, batched)`: an iterator of numpy `(x, y, w)` batches and whether the form is batched."""
    kind = stream_kind(spec)
    if kind == "dataset":
        import tensorflow as tf

        if int(spec.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
            raise DataError(f"{name} repeats forever; pass it without .repeat(), or cap it with .take(n)")
        batched = _dataset_is_batched(spec, name)
        ds = spec if batched else spec.batch(UNBATCHED_CHUNK)
        elements = ds.as_numpy_iterator()
    elif kind == "pydataset":
        count = getattr(spec, "num_batches", None)
        if count is None:
            try:
                count = len(spec)
            except TypeError:
                count = None
        if count is None:
            raise DataError(f"{name} has no length (an endless PyDataset); give it __len__ or num_batches")
        elements = (spec[i] for i in range(int(count)))
        batched = True
    elif kind == "iterator":
        elements, batched = spec, True
    else:
        elements, batched = _array_batches(spec), False
    return ((tuple(_numpy(v) for v in _unpack(e, name)) for e in elements), batched)


# ---------------------------------------------------------------- the pass


class _Writer:
    """Appends float32 samples to the raw files of one split."""

    def __init__(self, folder: str, split: str, name: str):
        self.name = name
        self.x_path = os.path.join(folder, f"{split}_x.f32")
        self.y_path = os.path.join(folder, f"{split}_y.f32")
        self._x = open(self.x_path, "wb")  # noqa: SIM115 - closed in close()
        self._y = None
        self.count = 0
        self.has_y = False
        self.bytes = 0

    def write(self, x: np.ndarray, y: np.ndarray | None) -> None:
        if not len(x):
            return
        self._x.write(np.ascontiguousarray(x, np.float32).tobytes())
        self.bytes += x.nbytes
        if y is not None:
            if self._y is None:
                if self.count:  # earlier batches had no separate target: theirs was the input
                    raise DataError(f"{self.name}: some batches have targets and some do not; give (x, y) in "
                                    "every batch")
                self._y = open(self.y_path, "wb")  # noqa: SIM115 - closed in close()
                self.has_y = True
            self._y.write(np.ascontiguousarray(y, np.float32).tobytes())
            self.bytes += y.nbytes
        elif self.has_y:
            raise DataError(f"{self.name}: some batches have targets and some do not; give (x, y) in every batch")
        self.count += len(x)

    def close(self) -> None:
        self._x.close()
        if self._y is not None:
            self._y.close()


@dataclass
class _Pass:
    """What one pass over the stream (and its validation data) measured."""

    inputs: StatsAccumulator
    target: StatsAccumulator
    duplicates: DuplicateCounter
    pairing: PairingCounter = field(default_factory=PairingCounter)
    shape: tuple | None = None
    target_shape: tuple | None = None
    dtype: str = ""
    target_dtype: str | None = None
    same_target: bool = True
    batch_size: int | None = None
    weights: tuple | None = None  # (min, max) of sample weights that are not all 1
    samples: int = 0
    bytes: int = 0  # written to the temporary files


def _scale_for(dtype: str, normalize: str, name: str) -> float:
    if normalize == "unit":
        if dtype != "uint8":
            raise DataError(f"normalize='unit' divides uint8 images by 255, but {name} holds {dtype}; "
                            "scale float data yourself")
        return 1.0 / 255.0
    return 1.0


def _read_into(spec, name: str, state: _Pass, split_of, size, normalize: str, training: bool = True) -> None:
    """Stream `spec` once: validate each batch, profile it and append it to the writers `split_of` picks.
    The first batch of the training stream gives the batch size."""
    batches, batched = _batches(spec, name)
    scale = None
    try:
        for number, (x_raw, y_raw, w) in enumerate(batches):
            what = f"{name}: batch {number}"
            x = as_images(x_raw, f"{what} inputs")
            if scale is None:
                state.dtype = state.dtype or str(x.dtype)
                scale = _scale_for(str(x.dtype), normalize, name)
            if training and batched and number == 0:
                state.batch_size = len(x)
            x = _finish(x, size, scale)
            if state.shape is None:
                state.shape = x.shape[1:]
            elif x.shape[1:] != state.shape:
                raise DataError(f"{what} holds images of shape {x.shape[1:]}, but the first batch's are "
                                f"{state.shape}; resize them to one size (image_size=...)")
            y = None
            if y_raw is not None:
                same = y_raw is x_raw or (np.shape(y_raw) == np.shape(x_raw) and np.array_equal(y_raw, x_raw))
                y_img = as_images(y_raw, f"{what} targets")
                if len(y_img) != len(x):
                    raise DataError(f"{what} has {len(y_img)} targets for {len(x)} inputs")
                state.target_dtype = state.target_dtype or str(y_img.dtype)
                y = _finish(y_img, size, scale)
                if state.target_shape is None:
                    state.target_shape = y.shape[1:]
                elif y.shape[1:] != state.target_shape:
                    raise DataError(f"{what} holds targets of shape {y.shape[1:]}, but the first batch's are "
                                    f"{state.target_shape}")
                state.same_target = state.same_target and same
                state.target.update(y)
                state.pairing.update(x, y)
            else:
                state.target.update(x)
            if w is not None:
                w = np.asarray(w, np.float64)
                if w.size and not np.all(w == 1.0):
                    lo, hi = float(np.nanmin(w)), float(np.nanmax(w))
                    state.weights = (lo, hi) if state.weights is None else (
                        min(lo, state.weights[0]), max(hi, state.weights[1]))
            state.inputs.update(x)
            state.duplicates.update(x)
            for writer, mask in split_of(state.samples, len(x)):
                writer.write(x[mask], None if y is None else y[mask])
            state.samples += len(x)
            state.bytes += x.nbytes + (0 if y is None else y.nbytes)
            if state.bytes > DISK_LIMIT_BYTES:
                raise DataError(f"{name} produced more than {DISK_LIMIT_BYTES // 2**30} GiB of images without "
                                "ending; if it is endless, cap it (itertools.islice(generator, n) or .take(n))")
    except DataError:
        raise
    except Exception as exc:  # the user's pipeline or generator failed while being read
        raise DataError(f"{name}: reading the data failed ({type(exc).__name__}: {_short(exc)})") from None


def _finish(x: np.ndarray, size, scale: float) -> np.ndarray:
    if size is not None:
        import tensorflow as tf

        x = tf.image.resize(x.astype(np.float32), size, antialias=True).numpy()
    x = x.astype(np.float32, copy=False)
    return x * np.float32(scale) if scale != 1.0 else x


def read_stream(spec, *, validation=None, size=None, normalize: str = "none"):
    """Read a stream DATA (and optional validation data) once. Returns `(Source, DataProfile, batch_size)`.

    `spec` or `validation` is a stream (`stream_kind`); the other may be arrays `x` or `(x, y[, w])`.
    `size` is (H, W) to resize to, or None.

    Raises:
        DataError: with one sentence naming the problem (a dict element, mixed image sizes, an endless
            stream, too few samples, a failing generator, ...).
    """
    # One function on purpose (66 lines): the temporary folder is removed on any failure of the steps that
    # write into it, and kept alive by the Source that reads it, so its whole life is visible in one place.
    name = describe(spec)
    folder = tempfile.mkdtemp(prefix="caedoctor-stream-")
    try:
        train_w, val_w = _Writer(folder, "train", name), _Writer(folder, "val", name)
        state = _Pass(StatsAccumulator(), StatsAccumulator(), DuplicateCounter())
        if validation is None:
            def split_of(start, n):
                val = (np.arange(start, start + n) % VAL_STRIDE) == 0
                return ((train_w, ~val), (val_w, val))
        else:
            def split_of(start, n):
                return ((train_w, slice(None)),)
        try:
            _read_into(spec, name, state, split_of, size, normalize)
            if validation is not None:
                def to_val(start, n):
                    return ((val_w, slice(None)),)
                _read_into(validation, f"{name} validation data" if stream_kind(validation) else
                           "validation data", state, to_val, size, normalize, training=False)
        finally:
            train_w.close()
            val_w.close()
        if state.samples == 0:
            raise DataError(f"{name} yielded no samples")
        if train_w.count < 1 or val_w.count < 1:
            raise DataError(f"{name}: {state.samples} sample(s); at least 2 are needed (one to train, one to "
                            "validate)")
        if train_w.has_y != val_w.has_y and not state.same_target:
            raise DataError(f"{name}: the training data has separate targets but the validation data has none "
                            "(or the other way round); give (x, y) in both")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    same = state.same_target or not (train_w.has_y or val_w.has_y)
    if same:  # the targets are the inputs: read them from the input files
        for w in (train_w, val_w):
            if w.has_y:
                os.remove(w.y_path)
    target_shape = None if same else state.target_shape
    splits = [RawSplit(w.x_path, None if same else w.y_path, w.count, tuple(state.shape), target_shape)
              for w in (train_w, val_w)]
    notes = []
    if validation is None:
        notes.append(f"validation: every {VAL_STRIDE}th sample of the {name} (the 1st, 11th, 21st, ...): "
                     f"{val_w.count} of {state.samples}, split by caedoctor; pass validation data to use yours")
    else:
        notes.append(f"validation: the {val_w.count} samples given as validation data")
    if state.batch_size is not None:
        notes.append(f"batch size {state.batch_size}: the size of the {name}'s first batch")
    if state.weights is not None:
        lo, hi = state.weights
        message = (f"{name} carries sample weights (from {lo:.3g} to {hi:.3g}) that caedoctor cannot honour: "
                   "its probes weigh every sample equally")
        warnings.warn(message, CaedoctorWarning, stacklevel=3)
        notes.append(f"sample weights ignored: {message}")
    kept = sum(f.stat().st_size for f in Path(folder).iterdir())
    notes.append(f"read once into {kept / 2**20:.3g} MB of temporary files")
    source = Source(name, splits[0], splits[1], dtype=state.dtype,
                    target_dtype=None if same else state.target_dtype, notes=tuple(notes))
    weakref.finalize(source, shutil.rmtree, folder, True)  # the files live as long as the data that reads them
    # The dtype is the data's own (uint8 stays uint8 after normalize="unit"), as for the other forms.
    inputs = dataclasses.replace(state.inputs.result(), dtype=state.dtype, **state.duplicates.result())
    target = None if same else dataclasses.replace(state.target.result(), dtype=state.target_dtype,
                                                   **state.pairing.result())
    profile = DataProfile(name=name, inputs=inputs, target=target, train_count=train_w.count,
                          val_count=val_w.count, notes=notes)
    return source, profile, state.batch_size


def first_batch(spec, limit: int):
    """Up to `limit` samples of the first batch of a stream, as numpy `(x, y)` (for a monitor batch)."""
    batches, _ = _batches(spec, describe(spec))
    x, y, _w = next(itertools.islice(batches, 1))
    x = as_images(x, "first batch")[:limit]
    return x, (x if y is None else as_images(y, "first batch targets")[:limit])
