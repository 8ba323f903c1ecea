"""TFRecord files as DATA, streamed by `tf.data` and never held in memory.

DATA may be one file (`images.tfrecord`, `images.tfrecords`, sharded `train.tfrecord-00000-of-00010`,
gzip-compressed `*.tfrecord.gz`) or a folder whose top level holds such files (read in name order).
Each record is a `tf.train.Example` with one bytes feature `image` holding an encoded PNG or JPEG
(other features, e.g. a label, are ignored)::

    with tf.io.TFRecordWriter("images.tfrecord") as w:
        for png_bytes in encoded_images:
            feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[png_bytes]))}
            w.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())

`write_tfrecords` does exactly that for a stack of images.

Records are not shuffled on disk and cannot be indexed, so the validation split is every 10th record
(`index % 10 == seed % 10`; with fewer than 10 records, every n-th) rather than a seeded permutation.
Reading the set costs one counting pass (record framing only, no decoding) before the profile pass.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from caedoctor.errors import DataError

IMAGE_FEATURE = "image"
VAL_STRIDE = 10  # 1 validation record in 10: sources.VAL_FRACTION for a stream that cannot be permuted


def is_tfrecord_name(name: str) -> bool:
    """True for `x.tfrecord`, `x.tfrecords`, `x.tfrecord-00000-of-00004` and their `.gz` forms."""
    name = name.lower()
    return not name.startswith(".") and ".tfrecord" in name


def tfrecord_files(path: Path) -> list[Path]:
    """The TFRecord files of DATA `path` (a file or a folder), or [] when it is not TFRecord data."""
    if path.is_file():
        return [path] if is_tfrecord_name(path.name) else []
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and is_tfrecord_name(p.name))
    return []


def _compression(files: list[Path]) -> str:
    gz = {p.name.lower().endswith(".gz") for p in files}
    if len(gz) > 1:
        raise DataError(f"{files[0].parent}: mixes gzip-compressed (.gz) and plain TFRecord files; use one kind")
    return "GZIP" if gz.pop() else ""


@dataclass
class RecordSplit:
    """The records of one split of TFRecord files, decoded lazily by tf.data (never all in memory)."""

    files: list
    compression: str
    total: int  # records in all files
    count: int  # records in this split
    stride: int
    remainder: int
    validation: bool
    channels: int
    shape: tuple | None  # (H, W) every image must have; None when images are resized

    def __len__(self) -> int:
        return self.count

    def images(self):
        """A `tf.data.Dataset` of this split's uint8 images, shape (H, W, C), in file order."""
        import tensorflow as tf

        stride, rem, val = self.stride, self.remainder, self.validation
        ds = tf.data.TFRecordDataset(self.files, compression_type=self.compression)
        ds = ds.enumerate().filter(
            lambda i, _: tf.equal(i % stride, rem) if val else tf.not_equal(i % stride, rem))
        channels, shape = self.channels, self.shape

        def decode(_, record):
            parsed = tf.io.parse_single_example(record, {IMAGE_FEATURE: tf.io.FixedLenFeature([], tf.string)})
            img = tf.io.decode_image(parsed[IMAGE_FEATURE], channels=channels, expand_animations=False)
            if shape is not None:
                # An explicit dependency: tf.data would otherwise prune the check and fail later with a
                # message about tensor shapes that does not say what to do.
                check = tf.debugging.assert_equal(
                    tf.shape(img)[:2], tf.constant(shape, tf.int32),
                    message=f"TFRecord images have different sizes (the first is {shape[1]}x{shape[0]}); "
                            "pass --image-size to resize them all")
                with tf.control_dependencies([check]):
                    img = tf.ensure_shape(tf.identity(img), (*shape, channels))
            return img

        # The count is known from the counting pass: stating it gives Keras epoch lengths and progress bars
        # (a filtered stream is otherwise of unknown length, and Keras warns that it "ran out of data").
        ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE).apply(
            tf.data.experimental.assert_cardinality(self.count))
        # Under MultiWorkerMirroredStrategy every worker reads the files and keeps its share of the batches:
        # file-level sharding would fail with fewer files than workers and break the fixed validation split.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return ds.with_options(options)


def _count_records(files: list[Path], compression: str) -> int:
    """Count the records file by file (framing and checksums only), so an error names the damaged file."""
    import tensorflow as tf

    total = 0
    for path in files:
        ds = tf.data.TFRecordDataset([str(path)], compression_type=compression)
        try:
            total += int(ds.reduce(np.int64(0), lambda n, _: n + 1))
        except Exception as exc:  # DataLossError on a truncated or corrupted file, and the like
            raise DataError(f"{path}: not a readable TFRecord file ({_short(exc)})") from None
    return total


def _first_image(files: list[Path], compression: str):
    """Check the first record's layout and return its decoded header: ((width, height), PIL mode)."""
    import tensorflow as tf
    from PIL import Image, UnidentifiedImageError

    record = next(iter(tf.data.TFRecordDataset([str(p) for p in files], compression_type=compression).take(1)))
    try:
        example = tf.train.Example.FromString(record.numpy())
    except Exception:
        raise DataError(f"{files[0]}: record 0 is not a tf.train.Example; caedoctor reads Examples with a "
                        f"bytes feature '{IMAGE_FEATURE}' holding a PNG or JPEG") from None
    features = example.features.feature
    if IMAGE_FEATURE not in features or not features[IMAGE_FEATURE].bytes_list.value:
        found = ", ".join(sorted(features)) or "none"
        raise DataError(f"{files[0]}: record 0 has no bytes feature '{IMAGE_FEATURE}' (found: {found}); store each "
                        f"image as an encoded PNG or JPEG under '{IMAGE_FEATURE}'")
    try:
        with Image.open(io.BytesIO(features[IMAGE_FEATURE].bytes_list.value[0])) as img:
            return img.size, img.mode
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{files[0]}: record 0's '{IMAGE_FEATURE}' is not a PNG or JPEG image "
                        f"({_short(exc)})") from None


def read_tfrecords(path: Path, image_size, seed: int):
    """Validate TFRecord DATA (a file or a folder of them) and return a `sources.Source` that streams it."""
    from caedoctor.data.sources import Source

    files = tfrecord_files(path)
    if not files:
        raise DataError(f"{path}: holds no TFRecord files (*.tfrecord, *.tfrecords)")
    compression = _compression(files)
    total = _count_records(files, compression)
    if total < 2:
        raise DataError(f"{path}: {total} record(s); at least 2 are needed (one to train, one to validate)")
    (width, height), mode = _first_image(files, compression)
    channels = 1 if mode in ("L", "LA", "I", "I;16", "1", "F") else 3
    stride = min(VAL_STRIDE, total)
    remainder = seed % stride
    n_val = (total - remainder + stride - 1) // stride
    common = dict(files=[str(p) for p in files], compression=compression, total=total, stride=stride,
                  remainder=remainder, channels=channels, shape=None if image_size is not None else (height, width))
    notes = []
    if path.is_dir():
        others = [p.name for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and p not in files]
        if others:
            notes.append(f"ignored {len(others)} file(s) that are not TFRecords, e.g. {others[0]}")
    return Source(str(path), RecordSplit(count=total - n_val, validation=False, **common),
                  RecordSplit(count=n_val, validation=True, **common), dtype="uint8", notes=tuple(notes))


def write_tfrecords(images, path, *, image_format: str = "png") -> Path:
    """Write a stack of uint8 images (N, H, W) or (N, H, W, C) as TFRecord DATA, one PNG/JPEG per record.

    The file is written under a temporary name and renamed when complete, so a reader never sees half of it.
    """
    import os

    import tensorflow as tf

    from caedoctor.data.sources import as_images

    images = as_images(images, "images")
    if images.dtype != np.uint8:
        raise DataError(f"write_tfrecords stores uint8 images (PNG/JPEG); got {images.dtype}")
    encode = tf.io.encode_png if image_format == "png" else tf.io.encode_jpeg
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with tf.io.TFRecordWriter(str(tmp)) as writer:
        for img in images:
            data = encode(img).numpy()
            feature = {IMAGE_FEATURE: tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))}
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    os.replace(tmp, path)
    return path


def _short(exc: Exception) -> str:
    from caedoctor.data.sources import _short as short

    return short(exc)
