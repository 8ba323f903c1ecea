"""Streaming benchmark: profile and one training epoch on 20,000 and 200,000 real images, with peak memory.

    .venv/bin/python bench/streaming.py            # build the image set once (cached), then measure
    .venv/bin/python bench/streaming.py --build-only
    .venv/bin/python bench/streaming.py --measure DATA   # one measurement, one JSON line (used internally)

The image set is built once under runs/bench-stream/ (ignored by git) from ../shared/data: CIFAR-10's
11,000 32x32 RGB images and Fashion-MNIST's 70,000 28x28 grey images (zero-padded to 32x32, stored as
RGB), each in three variants (as is, mirrored, and a random 32x32 crop of the 4-pixel reflect-padded
image, randomly mirrored), 243,000 images in all; 200,000 of them in a seeded random order go into 10
sub-folders of 20,000 PNGs (`images/part00` .. `part09`), and the same images into 10 TFRecord files
(`tfrecords/part00.tfrecord` ..). The small set is one part (20,000 images), the large one all ten
(200,000): the same kind of images, 10x as many.

Each measurement runs in a fresh process, so its peak RSS (`resource.getrusage(...).ru_maxrss`) is its
own; a thread also samples the current RSS (/proc/self/status) to show whether memory plateaus.
Measured: `load_data` (list files, check headers, one streaming pass for the profile and duplicate
count), then one epoch of `caedoctor.train` of a tiny CAE (Conv2D 16 stride 2, Conv2DTranspose back;
batch 128, --normalize unit) with its shuffle buffer of 10,000 images. Figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CACHE = ROOT / "runs" / "bench-stream"
PARTS, PER_PART = 10, 20_000
BUILD_VERSION = "1"  # bump when the recipe changes, so a stale cache is rebuilt


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class RssSampler:
    """The process's current RSS every `interval` seconds (Linux /proc), to see whether memory plateaus."""

    def __init__(self, interval: float = 0.5):
        import threading

        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval):
        while not self._stop.is_set():
            with open("/proc/self/status") as fh:
                kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
            self.samples.append((time.perf_counter(), kb / 1024))
            self._stop.wait(interval)

    def stop(self):
        self._stop.set()
        self._thread.join()

    def quartiles(self, start: float, end: float) -> list[int]:
        """Current RSS (MB) at 25, 50, 75 and 100% of the phase [start, end]."""
        out = []
        for q in (0.25, 0.5, 0.75, 1.0):
            t = start + q * (end - start)
            before = [mb for ts, mb in self.samples if ts <= t]
            out.append(round(before[-1]) if before else None)
        return out


def _base_images():
    """CIFAR-10 (11,000 RGB) and Fashion-MNIST (70,000 grey, padded to 32x32), uint8, as two arrays."""
    import numpy as np
    from PIL import Image

    cifar = []
    for k in list(range(10)) + [50]:
        sheet = np.asarray(Image.open(SHARED / "cifar10" / f"cifar10_batch_{k}.png").convert("RGB"))
        cifar.append(sheet.reshape(1000, 32, 32, 3))
    fashion = []
    for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        with gzip.open(SHARED / "fashion-mnist" / name) as fh:
            raw = fh.read()
        n = int.from_bytes(raw[4:8], "big")
        fashion.append(np.frombuffer(raw, np.uint8, offset=16).reshape(n, 28, 28))
    fashion = np.pad(np.concatenate(fashion), ((0, 0), (2, 2), (2, 2)))
    # As RGB: a TFRecord reader takes the channel count from the first record, so one kind throughout.
    fashion = np.repeat(fashion[..., None], 3, axis=-1)
    return np.concatenate(cifar), fashion


def _variant(img, variant: int, rng):
    import numpy as np

    if variant == 1:
        return img[:, ::-1]
    if variant == 2:
        pad = ((4, 4), (4, 4), (0, 0))
        big = np.pad(img, pad, mode="reflect")
        dy, dx = rng.integers(0, 9, 2)
        img = big[dy:dy + 32, dx:dx + 32]
        return img[:, ::-1] if rng.random() < 0.5 else img
    return img


def build(cache: Path = CACHE) -> None:
    """Write the 200,000 PNGs and the 10 TFRecord files once; a finished build is marked and reused."""
    import numpy as np
    from PIL import Image

    marker = cache / f".complete-v{BUILD_VERSION}"
    if marker.exists():
        print(f"image set ready in {cache}", file=sys.stderr)
        return
    t0 = time.perf_counter()
    cifar, fashion = _base_images()
    bases = [("c", i) for i in range(len(cifar))] + [("f", i) for i in range(len(fashion))]
    items = [(src, i, v) for v in range(3) for src, i in bases]
    order = np.random.default_rng(0).permutation(len(items))[:PARTS * PER_PART]
    rng = np.random.default_rng(1)
    import tensorflow as tf

    (cache / "tfrecords").mkdir(parents=True, exist_ok=True)
    for part in range(PARTS):
        folder = cache / "images" / f"part{part:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        record = cache / "tfrecords" / f"part{part:02d}.tfrecord"
        tmp = record.with_name(f".{record.name}.tmp")
        with tf.io.TFRecordWriter(str(tmp)) as writer:
            for j, k in enumerate(order[part * PER_PART:(part + 1) * PER_PART]):
                src, i, v = items[k]
                img = _variant(cifar[i] if src == "c" else fashion[i], v, rng)
                path = folder / f"{part:02d}_{j:05d}_{src}{i}_{v}.png"
                Image.fromarray(np.ascontiguousarray(img)).save(path, compress_level=1)
                feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[path.read_bytes()]))}
                writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
        os.replace(tmp, record)
        print(f"part {part + 1}/{PARTS} written ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    marker.write_text(json.dumps({"images": PARTS * PER_PART, "seconds": round(time.perf_counter() - t0, 1)}))


def measure(data_spec: str, batch_size: int = 128) -> dict:
    """Profile DATA and train one epoch in this process; returns the figures (run it in a fresh process)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    import caedoctor

    rss_start = _peak_rss_mb()
    sampler = RssSampler()
    t0 = time.perf_counter()
    data = caedoctor.load_data(data_spec, normalize="unit")
    t_profile = time.perf_counter() - t0
    rss_profile = _peak_rss_mb()
    keras.utils.set_random_seed(0)
    inputs = keras.Input(data.input_shape)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    outputs = keras.layers.Conv2DTranspose(data.input_shape[-1], 3, strides=2, padding="same",
                                           activation="sigmoid")(x)
    loaded = caedoctor.load_model(keras.Model(inputs, outputs), data.input_shape, batch_size=batch_size)
    t1 = time.perf_counter()
    result = caedoctor.train(loaded, data, epochs=1, out_dir=None, verbose=0, plots=False)
    t_epoch = time.perf_counter() - t1
    sampler.stop()
    n = data.profile.count
    return {"data": data_spec, "images": n, "train_images": data.train_count,
            "profile_s": round(t_profile, 1), "profile_images_per_s": round(n / t_profile),
            "epoch_s": round(t_epoch, 1), "epoch_images_per_s": round(data.train_count / t_epoch),
            "val_loss": round(result.metrics["val_loss"], 5),
            "duplicates_exact": data.profile.inputs.to_dict().get("exact_duplicates"),
            "peak_rss_mb_after_import": round(rss_start), "peak_rss_mb_after_profile": round(rss_profile),
            "peak_rss_mb": round(_peak_rss_mb()),
            "rss_mb_profile_quartiles": sampler.quartiles(t0, t0 + t_profile),
            "rss_mb_epoch_quartiles": sampler.quartiles(t1, t1 + t_epoch)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--measure", metavar="DATA", help="measure one DATA in this process; print JSON")
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)), flush=True)
        return
    build(args.cache)
    if args.build_only:
        return
    cases = [("image folder", args.cache / "images" / "part00"), ("image folder", args.cache / "images"),
             ("TFRecord", args.cache / "tfrecords" / "part00.tfrecord"), ("TFRecord", args.cache / "tfrecords")]
    rows = []
    for form, path in cases:
        out = subprocess.run([sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True,
                             check=True).stdout
        row = {"form": form, **json.loads(out.strip().splitlines()[-1])}
        rows.append(row)
        print(json.dumps(row), flush=True)
    cpu = platform.processor() or platform.machine()
    summary = {"machine": f"{platform.node()}: {os.cpu_count()} CPU cores, {cpu}",
               "python": platform.python_version(), "rows": rows}
    (args.cache / "results.json").write_text(json.dumps(summary, indent=2))
    print(f"{'form':<13} {'images':>8} {'profile s':>10} {'img/s':>7} {'epoch s':>8} {'img/s':>7} {'peak RSS MB':>12}")
    for r in rows:
        print(f"{r['form']:<13} {r['images']:>8} {r['profile_s']:>10} {r['profile_images_per_s']:>7} "
              f"{r['epoch_s']:>8} {r['epoch_images_per_s']:>7} {r['peak_rss_mb']:>12}")


if __name__ == "__main__":
    main()
