"""TFRecord DATA and `caedoctor data profile`: streamed reading, the split, the profile and clear errors."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from caedoctor import load_data
from caedoctor.cli import cli
from caedoctor.data import sources
from caedoctor.data.tfrecord import RecordSplit, write_tfrecords
from caedoctor.errors import DataError
from scale_helpers import assert_one_line_error, images, write_spec


def _stack(ds):
    return np.concatenate([x for x, _ in ds.batch(1000).as_numpy_iterator()])


def test_tfrecord_file_streams_the_records_split_every_tenth(tmp_path):
    x = images(25)
    path = write_tfrecords(x, tmp_path / "set.tfrecord")
    data = load_data(path)

    # Nothing is loaded: both splits stay record streams, decoded by tf.data when iterated.
    assert isinstance(data.source.train, RecordSplit) and isinstance(data.source.val, RecordSplit)
    assert data.input_shape == (16, 16, 1)  # static, so a model can be built for it
    assert (data.train_count, data.val_count) == (22, 3)
    np.testing.assert_array_equal(_stack(data.val), x[[0, 10, 20]].astype(np.float32))
    np.testing.assert_array_equal(_stack(data.train), x[[i for i in range(25) if i % 10]].astype(np.float32))
    p = data.profile
    assert p.count == 25 and p.inputs.dtype == "uint8" and p.inputs.value_range == "[0,255]"
    assert p.inputs.min == x.min() and p.inputs.max == x.max()
    assert p.inputs.mean == pytest.approx(x.mean(), rel=1e-9)


def test_tfrecord_folder_of_shards_with_seeded_split_and_gzip(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    x = images(30, channels=3)
    write_tfrecords(x[:12], folder / "train.tfrecord-00000-of-00002")
    write_tfrecords(x[12:], folder / "train.tfrecord-00001-of-00002")
    (folder / "README.txt").write_text("not data")
    data = load_data(folder, seed=3, normalize="unit")
    assert data.input_shape == (16, 16, 3) and (data.train_count, data.val_count) == (27, 3)
    np.testing.assert_allclose(_stack(data.val), x[[3, 13, 23]] / 255.0, rtol=1e-6)
    assert any("README.txt" in note for note in data.profile.notes)

    # Compressed files: the same records through GZIP.
    gz = tmp_path / "set.tfrecord.gz"
    plain = write_tfrecords(x, tmp_path / "plain.tfrecord")
    with tf.io.TFRecordWriter(str(gz), options="GZIP") as w:
        for record in tf.data.TFRecordDataset([str(plain)]):
            w.write(record.numpy())
    np.testing.assert_array_equal(_stack(load_data(gz).val), _stack(load_data(plain).val))


def _example(features: dict) -> bytes:
    feats = {k: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v])) for k, v in features.items()}
    return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString()


def test_tfrecord_errors_name_the_file_and_the_fix(tmp_path):
    good = write_tfrecords(images(20), tmp_path / "good.tfrecord")
    truncated = tmp_path / "truncated.tfrecord"
    truncated.write_bytes(good.read_bytes()[:-7])
    with pytest.raises(DataError, match=r"truncated\.tfrecord: not a readable TFRecord file"):
        load_data(truncated)

    no_image = tmp_path / "labels.tfrecord"
    with tf.io.TFRecordWriter(str(no_image)) as w:
        for _ in range(3):
            w.write(_example({"label": b"7"}))
    with pytest.raises(DataError, match=r"no bytes feature 'image' \(found: label\)"):
        load_data(no_image)

    not_png = tmp_path / "text.tfrecord"
    with tf.io.TFRecordWriter(str(not_png)) as w:
        for _ in range(3):
            w.write(_example({"image": b"hello"}))
    with pytest.raises(DataError, match="is not a PNG or JPEG"):
        load_data(not_png)

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write_tfrecords(images(5), mixed / "a.tfrecord")
    write_tfrecords(images(5, size=12), mixed / "b.tfrecord")
    with pytest.raises(DataError, match="different sizes .*pass --image-size"):
        load_data(mixed)
    assert load_data(mixed, image_size=8).input_shape == (8, 8, 1)

    write_tfrecords(images(1), tmp_path / "one.tfrecord")
    with pytest.raises(DataError, match="1 record"):
        load_data(tmp_path / "one.tfrecord")


def test_image_folders_stream_file_paths(tmp_path):
    from PIL import Image

    folder = tmp_path / "pngs"
    folder.mkdir()
    x = images(12, channels=3)
    for i, img in enumerate(x):
        Image.fromarray(img).save(folder / f"{i:02d}.png")
    data = load_data(folder)
    # The splits are lists of paths decoded by tf.data, never arrays of pixels.
    assert isinstance(data.source.train, sources.FileSplit) and isinstance(data.source.val, sources.FileSplit)
    assert all(isinstance(p, str) for p in data.source.train.paths)
    assert data.input_shape == (16, 16, 3) and data.profile.count == 12


def test_data_profile_command_text_json_and_errors(tmp_path):
    x = images(20)
    x[5] = x[4]  # one exact duplicate
    path = write_tfrecords(x, tmp_path / "set.tfrecord")
    runner = CliRunner()

    text = runner.invoke(cli, ["data", "profile", str(path)])
    assert text.exit_code == 0, text.output
    assert "20 samples (18 train, 2 validation)" in text.output
    assert "range [0,255]" in text.output and "non-finite: none" in text.output
    # Samples 4 and 5 are equal: the streamed profile counts exactly one duplicate, of all 20 samples.
    assert "duplicates: 1 exact, 1 near (of 20 samples)" in text.output
    stats = load_data(path).profile.inputs
    assert (stats.exact_duplicates, stats.near_duplicates, stats.duplicates_checked) == (1, 1, 20)

    as_json = runner.invoke(cli, ["data", "profile", str(path), "--format", "json", "--normalize", "unit"])
    assert as_json.exit_code == 0, as_json.output
    d = json.loads(as_json.output)
    assert d["count"] == 20 and d["inputs"]["value_range"] == "[0,1]" and d["inputs"]["shape"] == [16, 16, 1]

    # NaN data: the profile says where, and JSON stays valid (no bare NaN).
    bad = images(8).astype(np.float32)
    bad[2, 0, 0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", x=bad)
    out = runner.invoke(cli, ["data", "profile", str(tmp_path / "nan.npz"), "--format", "json"])
    assert out.exit_code == 0, out.output
    stats = json.loads(out.output)["inputs"]
    assert stats["nan_count"] == 1 and len(stats["first_nonfinite"]) == 1

    broken = tmp_path / "broken.tfrecord"
    broken.write_bytes(gzip.compress(b"not a record"))
    assert "broken.tfrecord" in assert_one_line_error(runner.invoke(cli, ["data", "profile", str(broken)]))
    assert_one_line_error(runner.invoke(cli, ["data", "profile", str(tmp_path / "missing")]))


def test_train_cli_on_tfrecords(tmp_path):
    path = write_tfrecords(images(40), tmp_path / "set.tfrecord")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["train", str(write_spec(tmp_path)), "--data", str(path), "--normalize", "unit",
                                      "--epochs", "1", "--steps-per-epoch", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "checkpoints" / "epoch_001.keras").is_file()
