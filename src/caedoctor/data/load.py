"""`load_data`: turn a DATA argument into `Data`, a train/validation pair of `tf.data` pipelines and a
`DataProfile`.

DATA forms: `bundled:patches32` (default), `bundled:faces25`, `keras:fashion_mnist|mnist|cifar10`,
`file.npz` (key `x`, optional `y` as the target), `file.npy`, a folder of PNG/JPEG images (optionally one
sub-folder per class), `file.tfrecord` or a folder of TFRecord files (see `caedoctor.data.tfrecord`), or,
from Python, a numpy array `x`, a pair `(x, y)`, a `tf.data.Dataset`, a `keras.utils.PyDataset` or a Python
generator of batches (see `caedoctor.data.streams`). Image folders, TFRecords and the stream forms are read
with bounded memory.

Values are never changed behind the user's back: uint8 images stay 0-255 (as floats), because an
unnormalised input is one of the causes caedoctor diagnoses. Pass `normalize="unit"` to scale to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from caedoctor.data import bundled, sources, streams, tfrecord
from caedoctor.data.profile import DataProfile, profile_batches
from caedoctor.errors import DataError

DEFAULT_DATA = "bundled:patches32"
NORMALIZATIONS = ("none", "unit")


@dataclass
class Data:
    """Training and validation pipelines of `(input, target)` float32 pairs, unbatched, plus the profile."""

    name: str
    train: "tf.data.Dataset"  # noqa: F821
    val: "tf.data.Dataset"  # noqa: F821
    profile: DataProfile
    source: sources.Source
    # Set by repairs that rescale the data: what was done, in words, and the linear maps
    # ((input_scale, input_offset), (target_scale, target_offset)) from the raw values.
    preprocessing: list = field(default_factory=list)
    scales: tuple = ((1.0, 0.0), (1.0, 0.0))
    # The user's batch size when the DATA says it (the first batch of a batched dataset, PyDataset or
    # generator), else None; the diagnosis trains with it.
    batch_size: int | None = None

    @property
    def input_shape(self) -> tuple:
        return tuple(self.train.element_spec[0].shape)

    @property
    def target_shape(self) -> tuple:
        return tuple(self.train.element_spec[1].shape)

    @property
    def train_count(self) -> int:
        return self.profile.train_count

    @property
    def val_count(self) -> int:
        return self.profile.val_count

    def batches(self, split: str = "train", batch_size: int = 32, *, shuffle: bool = False, seed: int = 0,
                repeat: bool = False, drop_remainder: bool = False, autotune: bool = True):
        """Batched pipeline of one split; shuffling is seeded, so the batch order is repeatable.

        `autotune=False` (the diagnosis' short probes) prefetches two batches and turns tf.data's autotuning
        off: its background thread held up the end of about every second short `fit` by about 4 s on 2 CPU
        cores (deleting the iterator waits for it; bench/README.md, "Where the time goes"). The batches are
        the same either way."""
        import tensorflow as tf

        ds = self.train if split == "train" else self.val
        if shuffle:
            ds = ds.shuffle(min(len(self.source.train if split == "train" else self.source.val), 10_000),
                            seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        if autotune:
            return ds.prefetch(tf.data.AUTOTUNE)
        options = tf.data.Options()
        options.autotune.enabled = False
        return ds.prefetch(2).with_options(options)

    def sample(self, n: int = 8, split: str = "val") -> tuple[np.ndarray, np.ndarray]:
        """The first `n` samples of a split as numpy arrays `(x, y)`."""
        ds = self.val if split == "val" else self.train
        x, y = next(iter(ds.take(n).batch(n).as_numpy_iterator()))
        return x, y


def _resolve(spec, image_size, seed: int, validation=None) -> sources.Source:
    if validation is not None:
        if isinstance(spec, (str, Path)):
            raise DataError(f"validation data can be given with arrays, datasets and generators, not with DATA "
                            f"{str(spec)!r} (which brings its own split)")
        return sources.given_split(spec, validation, "array")
    if isinstance(spec, tuple) and len(spec) == 3:
        sources.warn_sample_weights(spec[2], "array")
        return sources.split_arrays(spec[0], spec[1], "array", seed)
    if isinstance(spec, tuple) and len(spec) == 2:
        return sources.split_arrays(spec[0], spec[1], "array", seed)
    if isinstance(spec, np.ndarray) or (hasattr(spec, "__array__") and not isinstance(spec, (str, Path))):
        return sources.split_arrays(spec, None, "array", seed)
    if not isinstance(spec, (str, Path)):
        raise DataError(f"DATA must be a string, a path, an array, an (x, y) pair, a tf.data.Dataset, a PyDataset "
                        f"or a generator of batches; got {type(spec).__name__}")
    text = str(spec)
    if text.startswith("bundled:"):
        name = text.split(":", 1)[1]
        if name not in bundled.BUNDLED:
            raise DataError(f"unknown bundled data {text!r}; choose one of "
                            + ", ".join(f"bundled:{n}" for n in bundled.BUNDLED))
        train, val = bundled.BUNDLED[name]()
        return sources.Source(text, sources.ArraySplit(train), sources.ArraySplit(val), dtype="float32")
    if text.startswith("keras:"):
        return sources.read_keras_dataset(text.split(":", 1)[1])
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(f"data not found: {text} (expected bundled:NAME, keras:NAME, a .npz/.npy/.tfrecord file or "
                        "a folder of images)")
    if tfrecord.tfrecord_files(path):  # a .tfrecord file or a folder of them: streamed, never loaded
        return tfrecord.read_tfrecords(path, image_size, seed)
    if path.is_dir():
        return sources.read_image_folder(path, image_size, seed)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return sources.read_npz(path, seed)
    if suffix == ".npy":
        return sources.read_npy(path, seed)
    raise DataError(f"{text}: unsupported data file type {suffix or '(none)'!r}; expected .npz, .npy, "
                    ".tfrecord or a folder of images")


def _size_pair(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise DataError(f"image size must be N or (H, W), got {image_size!r}") from None
    if h < 1 or w < 1:
        raise DataError(f"image size must be positive, got {image_size!r}")
    return h, w


def _split_dataset(split, size, scale):
    import tensorflow as tf

    def finish(x):
        x = tf.cast(x, tf.float32)
        if size is not None:
            x = tf.image.resize(x, size, antialias=True)
        return x * scale if scale != 1.0 else x

    if isinstance(split, tfrecord.RecordSplit):
        return split.images().map(finish, num_parallel_calls=tf.data.AUTOTUNE).map(lambda x: (x, x))
    if isinstance(split, streams.RawSplit):  # resized and scaled while it was read
        return split.dataset()
    if isinstance(split, sources.FileSplit):
        channels = split.channels
        height, width = size if size is not None else (split.size or (None, None))

        def decode(path):
            img = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
            # decode_image leaves H and W unknown; the folder reader checked them, so state them here
            # (Data.input_shape and the model built for it need concrete sizes).
            return tf.ensure_shape(finish(img), (height, width, channels))

        ds = tf.data.Dataset.from_tensor_slices(split.paths).map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.map(lambda x: (x, x))
    if split.y is None:
        return tf.data.Dataset.from_tensor_slices(split.x).map(lambda x: (finish(x), finish(x)))
    return tf.data.Dataset.from_tensor_slices((split.x, split.y)).map(lambda x, y: (finish(x), finish(y)))


def _profile_stream(source: sources.Source, size, scale: float, train, val):
    """`(x, y)` numpy batches of train then validation, exactly as the pipelines yield them.

    In-memory arrays that need no resizing are sliced directly: going through tf.data only to copy them
    back costs more than the profile itself (about 1.7 s for bundled:patches32).
    """
    if size is None and isinstance(source.train, sources.ArraySplit):
        for split in (source.train, source.val):
            for start in range(0, len(split), 1024):
                x = np.asarray(split.x[start:start + 1024]).astype(np.float32)
                y = x if split.y is None else np.asarray(split.y[start:start + 1024]).astype(np.float32)
                yield (x * np.float32(scale), y * np.float32(scale)) if scale != 1.0 else (x, y)
        return
    for ds in (train, val):
        yield from ds.batch(1024).as_numpy_iterator()


def load_data(spec=DEFAULT_DATA, *, image_size=None, normalize: str = "none", seed: int = 0,
              validation=None) -> Data:
    """Load DATA, validate it, and measure its profile in one streaming pass.

    Args:
        spec: a DATA string (see the module doc), a path, an array `x`, a pair `(x, y)` (or `(x, y,
            sample_weight)`), a `tf.data.Dataset` (batched or not), a `keras.utils.PyDataset`, or a Python
            generator of batches `x`, `(x, y)` or `(x, y, sample_weight)`.
        image_size: resize every image to N x N or (H, W) (needed for folders of mixed sizes).
        normalize: "none" keeps values as they are; "unit" divides by 255 when the inputs are uint8.
        seed: seeds the train/validation split of arrays and folders (bundled and Keras splits are fixed).
        validation: your own validation data in any of the Python forms above; without it caedoctor splits
            (arrays and folders: a seeded 10%; streams: every 10th sample; the profile's notes say which).

    Returns:
        `Data` with unbatched `train` and `val` pipelines of `(input, target)` float32 pairs, a `profile`,
        and `batch_size` when the data is batched.

    Raises:
        DataError: with one sentence naming the problem (missing file, wrong key, mixed sizes, ...).

    Example::

        import numpy as np, tensorflow as tf
        from caedoctor.data import load_data

        x = np.random.default_rng(0).random((40, 8, 8, 1), dtype=np.float32)
        data = load_data(tf.data.Dataset.from_tensor_slices((x, x)).batch(16))
        print(data.batch_size, data.train_count, data.val_count)  # 16 36 4
    """
    if streams.stream_kind(spec) or streams.stream_kind(validation):
        if normalize not in NORMALIZATIONS:
            raise DataError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {normalize!r}")
        source, profile, batch_size = streams.read_stream(spec, validation=validation, size=_size_pair(image_size),
                                                          normalize=normalize)
        return Data(name=source.name, train=_split_dataset(source.train, None, 1.0),
                    val=_split_dataset(source.val, None, 1.0), profile=profile, source=source,
                    batch_size=batch_size)
    source, size, scale = _open(spec, image_size, normalize, seed, validation)
    train = _split_dataset(source.train, size, scale)
    val = _split_dataset(source.val, size, scale)
    profile = _measure(source, size, scale, train, val)
    return Data(name=source.name, train=train, val=val, profile=profile, source=source)


def profile_data(spec=DEFAULT_DATA, *, image_size=None, normalize: str = "none", seed: int = 0) -> DataProfile:
    """The `DataProfile` `load_data` measures, without building the training pipelines when it can.

    In-memory arrays that need no resizing are profiled straight from numpy: copying them into
    TensorFlow for pipelines nobody iterates costs about 0.7 s for bundled:patches32, which matters to
    `caedoctor check`. Other forms are streamed through their pipelines as in `load_data`.
    """
    if streams.stream_kind(spec):  # read once anyway (a generator cannot be read twice)
        return load_data(spec, image_size=image_size, normalize=normalize, seed=seed).profile
    source, size, scale = _open(spec, image_size, normalize, seed)
    if size is None and isinstance(source.train, sources.ArraySplit):
        return _measure(source, size, scale, None, None)
    return _measure(source, size, scale, _split_dataset(source.train, size, scale),
                    _split_dataset(source.val, size, scale))


def _open(spec, image_size, normalize: str, seed: int, validation=None):
    """Validate the arguments and resolve DATA: `(source, (H, W) or None, value scale)`."""
    if normalize not in NORMALIZATIONS:
        raise DataError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {normalize!r}")
    source = _resolve(spec, image_size, seed, validation)
    size = _size_pair(image_size)
    scale = 1.0
    if normalize == "unit":
        if source.dtype != "uint8" or (source.target_dtype not in (None, "uint8")):
            raise DataError(f"normalize='unit' divides uint8 images by 255, but {source.name} holds "
                            f"{source.dtype}; scale float data yourself")
        scale = 1.0 / 255.0
    return source, size, scale


def _measure(source: sources.Source, size, scale: float, train, val) -> DataProfile:
    separate_target = isinstance(source.train, sources.ArraySplit) and source.train.y is not None
    try:
        batches = _profile_stream(source, size, scale, train, val)
        inputs, target = profile_batches(batches, source.dtype, source.target_dtype, separate_target)
    except DataError:
        raise
    except Exception as exc:  # a file that passed the header check but does not decode
        raise DataError(f"{source.name}: could not read the data ({sources._short(exc)})") from None
    return DataProfile(name=source.name, inputs=inputs, target=target, train_count=len(source.train),
                       val_count=len(source.val), notes=list(source.notes))
