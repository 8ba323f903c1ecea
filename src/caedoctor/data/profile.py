"""`DataProfile`: what the data looks like, measured in one streaming pass with bounded memory."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

RANGE_CLASSES = ("[0,1]", "[-1,1]", "[0,255]", "standardised", "other")

_TOL = 1e-6


def classify_range(minimum: float, maximum: float, mean: float, std: float) -> str:
    """Name the value range of data from its finite min, max, mean and std."""
    if not np.isfinite(minimum) or not np.isfinite(maximum):
        return "other"
    if minimum >= -_TOL and maximum <= 1 + _TOL:
        return "[0,1]"
    if minimum >= -1 - _TOL and maximum <= 1 + _TOL:
        return "[-1,1]"
    if minimum >= -_TOL and maximum <= 255 + _TOL:
        return "[0,255]"
    if abs(mean) < 0.25 and 0.75 < std < 1.25:
        return "standardised"
    return "other"


@dataclass
class ArrayStats:
    """Statistics of one array stream (inputs or targets)."""

    count: int
    shape: tuple
    dtype: str
    min: float
    max: float
    mean: float
    std: float
    channel_mean: list
    channel_std: list
    nan_count: int
    inf_count: int
    first_nonfinite: list  # up to 5 sample indices that hold a NaN or Inf
    value_range: str
    # Filled for the inputs by `DuplicateCounter` (see there); 0 when not counted.
    exact_duplicates: int = 0  # samples equal, bit for bit, to an earlier sample
    near_duplicates: int = 0  # samples equal to an earlier one after pooling and rounding (exact ones included)
    duplicates_checked: int = 0  # samples compared
    # Filled for separate targets by `PairingCounter` (see there); None when not measured.
    paired_correlation: float | None = None  # mean |correlation| of each target with its own input
    unpaired_correlation: float | None = None  # ... with the input of another sample of its batch
    pairs_checked: int = 0
    # Filled for separate targets by `PairingCounter` from `caedoctor.data.pairing` (see there), on the first
    # `PairingCounter.PIXEL_PAIRS` pairs; None when not measured.
    input_noise: float | None = None  # median pixel-noise std of the inputs (Immerkaer's estimator)
    target_noise: float | None = None  # ... of the targets
    target_noise_share: float | None = None  # median of each target's noise std over its own std
    noise_correlation: float | None = None  # median correlation of input and target residuals (1: the same noise)
    affine_residual: float | None = None  # median share of a target that is not its input rescaled (0: it is)
    misaligned_fraction: float | None = None  # pairs whose target matches its input clearly better once moved
    misaligned_by: str | None = None  # the commonest move that aligns them ("flip left-right", "shift", ...)
    pixel_pairs_checked: int = 0

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["shape"] = list(self.shape)
        return d


@dataclass
class DataProfile:
    """A DATA argument measured: inputs, the target when it differs from the input, and the split sizes.

    `inputs` covers training and validation samples together; `target` is None when the target is
    the input itself (the usual autoencoder case).
    """

    name: str
    inputs: ArrayStats
    target: ArrayStats | None
    train_count: int
    val_count: int
    notes: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.inputs.count

    @property
    def shape(self) -> tuple:
        return self.inputs.shape

    @property
    def target_stats(self) -> ArrayStats:
        """The statistics of what the model must reproduce."""
        return self.target if self.target is not None else self.inputs

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "count": self.count,
            "train_count": self.train_count,
            "val_count": self.val_count,
            "inputs": self.inputs.to_dict(),
            "target": self.target.to_dict() if self.target is not None else None,
            "notes": list(self.notes),
        }


class StatsAccumulator:
    """Accumulates `ArrayStats` batch by batch; memory is O(channels), not O(samples)."""

    def __init__(self, dtype: str = "float32"):
        self.dtype = dtype
        self.count = 0
        self.shape: tuple | None = None
        self.min = np.inf
        self.max = -np.inf
        self.nan = 0
        self.inf = 0
        self.first_nonfinite: list = []
        self._sum = None
        self._sumsq = None
        self._n_per_channel = None

    def update(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch)
        if batch.ndim < 2:
            raise ValueError(f"expected a batch of samples, got shape {batch.shape}")
        if self.shape is None:
            self.shape = tuple(int(s) for s in batch.shape[1:])
            channels = batch.shape[-1]
            self._sum = np.zeros(channels, np.float64)
            self._sumsq = np.zeros(channels, np.float64)
            self._n_per_channel = np.zeros(channels, np.int64)
        finite = np.isfinite(batch)
        all_finite = bool(finite.all())
        if all_finite:  # the common case: min and max of the batch itself, no masked copies
            self.min = min(self.min, float(batch.min()))
            self.max = max(self.max, float(batch.max()))
            b = batch
        else:
            nan = np.isnan(batch)
            self.nan += int(nan.sum())
            self.inf += int((~finite & ~nan).sum())
            if len(self.first_nonfinite) < 5:
                bad = np.flatnonzero(~finite.reshape(len(batch), -1).all(axis=1))
                self.first_nonfinite += [int(i) + self.count for i in bad[: 5 - len(self.first_nonfinite)]]
            if finite.any():
                self.min = min(self.min, float(np.min(np.where(finite, batch, np.inf))))
                self.max = max(self.max, float(np.max(np.where(finite, batch, -np.inf))))
            b = np.where(finite, batch, 0)
        # Per-channel sums in float64 as a BLAS product and an einsum over a (values, channels) view:
        # strided reductions over the leading axes dominated `caedoctor check`'s time (about 4x slower).
        flat = b.reshape(-1, b.shape[-1]).astype(np.float64)
        self._sum += np.ones(len(flat)) @ flat
        self._sumsq += np.einsum("ij,ij->j", flat, flat)
        self._n_per_channel += len(flat) if all_finite else finite.reshape(-1, b.shape[-1]).sum(axis=0)
        self.count += len(b)

    def result(self) -> ArrayStats:
        if self.count == 0:
            raise ValueError("no samples were profiled")
        n = np.maximum(self._n_per_channel, 1)
        mean = self._sum / n
        var = np.maximum(self._sumsq / n - mean**2, 0.0)
        total_n = max(int(self._n_per_channel.sum()), 1)
        overall_mean = float(self._sum.sum() / total_n)
        overall_std = float(np.sqrt(max(self._sumsq.sum() / total_n - overall_mean**2, 0.0)))
        lo = self.min if np.isfinite(self.min) else float("nan")
        hi = self.max if np.isfinite(self.max) else float("nan")
        return ArrayStats(
            count=self.count,
            shape=self.shape,
            dtype=self.dtype,
            min=lo,
            max=hi,
            mean=overall_mean,
            std=overall_std,
            channel_mean=[float(v) for v in mean],
            channel_std=[float(v) for v in np.sqrt(var)],
            nan_count=self.nan,
            inf_count=self.inf,
            first_nonfinite=list(self.first_nonfinite),
            value_range=classify_range(lo, hi, overall_mean, overall_std),
        )


def profile_batches(batches: Iterable, dtype: str, target_dtype: str | None = None,
                    separate_target: bool = False):
    """Profile an iterable of `(x, y)` numpy batches. Returns `(inputs_stats, target_stats_or_None)`."""
    inputs = StatsAccumulator(dtype)
    duplicates = DuplicateCounter()
    target = StatsAccumulator(target_dtype or dtype) if separate_target else None
    pairing = PairingCounter()
    for x, y in batches:
        inputs.update(x)
        duplicates.update(x)
        if target is not None:
            target.update(y)
            pairing.update(x, y)
    inputs_stats = dataclasses.replace(inputs.result(), **duplicates.result())
    return inputs_stats, (dataclasses.replace(target.result(), **pairing.result()) if target is not None else None)


class PairingCounter:
    """How much each target looks like its own input, against how much it looks like another sample's input.

    A target that belongs to its input (the input itself, a clean version of a noisy input, a colour version
    of a grey one) correlates with that input far more than with an unrelated one; targets shuffled apart
    from their inputs (x and y permuted separately, or misaligned after a filter) do not. Each sample is
    reduced to a thumbnail (channels averaged, average pooled to at most 32x32); per sample, the absolute
    Pearson correlation (an inverted target belongs to its input too) of the target's thumbnail with its own
    input's, and with the input of a random earlier
    sample (drawn from a reservoir of `reservoir` earlier inputs, so that neighbours in a sorted folder or a
    video are rarely taken for pairs, and the figures do not depend on how the stream is batched). Measured
    on up to `max_samples` samples; not measured when inputs and targets differ in height or width.
    """

    THUMB = 32
    PIXEL_PAIRS = 512  # pairs read pixel by pixel (noise, alignment): enough for medians and a 5% share
    MIN_ALIGN_GAIN = 0.1  # a pair is misaligned when a move raises its correlation by this much (pairing.py)

    def __init__(self, max_samples: int = 20_000, reservoir: int = 256, seed: int = 0):
        self.max_samples = max_samples
        self.size = reservoir
        self.rng = np.random.default_rng(seed)
        self.reservoir: list = []
        self.seen = 0  # inputs offered to the reservoir
        self.paired = self.unpaired = 0.0
        self.n_paired = self.n_unpaired = 0
        self.comparable = True
        self.pixel: dict = {"sx": [], "sy": [], "share": [], "rho": [], "affine": [], "gain": [],
                             "move": []}

    @classmethod
    def _unit(cls, batch: np.ndarray) -> np.ndarray:
        """Per sample: the channel-mean thumbnail, flattened, centred and scaled to unit length (NaN rows for
        constant or non-finite samples)."""
        b = np.asarray(batch, np.float64).mean(axis=-1)
        h, w = b.shape[1:3]
        fh, fw = -(-h // cls.THUMB), -(-w // cls.THUMB)
        b = b[:, : h // fh * fh, : w // fw * fw]
        b = b.reshape(len(b), h // fh, fh, w // fw, fw).mean(axis=(2, 4)).reshape(len(b), -1)
        b = b - b.mean(axis=1, keepdims=True)
        norm = np.sqrt((b * b).sum(axis=1, keepdims=True))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where((norm > 0) & np.isfinite(norm), b / norm, np.nan)

    def update(self, x: np.ndarray, y: np.ndarray) -> None:
        if not self.comparable or self.n_paired >= self.max_samples:
            return
        if np.ndim(x) != 4 or np.ndim(y) != 4 or np.shape(x)[1:3] != np.shape(y)[1:3]:
            self.comparable = False
            return
        self._pixels(np.asarray(x), np.asarray(y))
        xs, ys = self._unit(x), self._unit(y)
        for xi, yi in zip(xs, ys):
            if np.isfinite(yi[0]):
                if np.isfinite(xi[0]):
                    self.paired += abs(float(xi @ yi))
                    self.n_paired += 1
                if self.reservoir:
                    self.unpaired += abs(float(self.reservoir[self.rng.integers(len(self.reservoir))] @ yi))
                    self.n_unpaired += 1
            if np.isfinite(xi[0]):
                self.seen += 1
                if len(self.reservoir) < self.size:
                    self.reservoir.append(xi)
                else:
                    k = self.rng.integers(self.seen)
                    if k < self.size:
                        self.reservoir[k] = xi

    def _pixels(self, x: np.ndarray, y: np.ndarray) -> None:
        """The pixel-level reading of up to `PIXEL_PAIRS` pairs: noise and alignment (`caedoctor.data.pairing`)."""
        from caedoctor.data import pairing

        room = self.PIXEL_PAIRS - len(self.pixel["sx"])
        if room <= 0:
            return
        x, y = x[:room].astype(np.float64), y[:room].astype(np.float64)
        keep = np.isfinite(x).reshape(len(x), -1).all(axis=1) & np.isfinite(y).reshape(len(y), -1).all(axis=1)
        x, y = x[keep], y[keep]
        if not len(x):
            return
        p = self.pixel
        sy = pairing.noise_sigma(y)
        std = y.reshape(len(y), -1).std(axis=1)
        p["sx"].extend(pairing.noise_sigma(x))
        p["sy"].extend(sy)
        with np.errstate(invalid="ignore", divide="ignore"):
            p["share"].extend(np.where(std > 0, sy / std, np.nan))
        p["rho"].extend(pairing.residual_correlation(x, y))
        p["affine"].extend(pairing.affine_residual(x, y))
        found = pairing.alignment(x, y)
        p["gain"].extend(found["best"] - found["as_is"])
        p["move"].extend(found["names"][k] if k else ("shift" if any(d) else "identity")
                         for k, d in zip(found["symmetry"], found["shift"]))

    def _pixel_result(self) -> dict:
        p = self.pixel
        if not p["sx"]:
            return {}
        gain = np.asarray(p["gain"])
        moved = [m for m, g in zip(p["move"], gain) if g >= self.MIN_ALIGN_GAIN]

        def median(key):
            values = np.asarray(p[key], np.float64)
            values = values[np.isfinite(values)]
            return float(np.median(values)) if len(values) else None

        return {"input_noise": median("sx"), "target_noise": median("sy"), "target_noise_share": median("share"),
                "noise_correlation": median("rho"), "affine_residual": median("affine"),
                "misaligned_fraction": len(moved) / len(gain),
                "misaligned_by": Counter(moved).most_common(1)[0][0] if moved else None,
                "pixel_pairs_checked": len(gain)}

    def result(self) -> dict:
        if not self.comparable or not self.n_paired or not self.n_unpaired:
            return {"paired_correlation": None, "unpaired_correlation": None, "pairs_checked": 0,
                    **self._pixel_result()}
        return {"paired_correlation": self.paired / self.n_paired,
                "unpaired_correlation": self.unpaired / self.n_unpaired, "pairs_checked": self.n_paired,
                **self._pixel_result()}


class DuplicateCounter:
    """Counts samples that repeat an earlier one, exactly and nearly, in one pass with bounded memory.

    Repeated samples shrink the effective data set and, across the split, leak training images into
    validation. Exact: the same float32 values. Near: the same after average pooling to at most 8x8 and
    rounding to 1/32 of the first batch's value range (so re-saved or slightly shifted-in-value copies
    match; noisy copies usually do not). Each sample gets two 64-bit multiply-add hashes with fixed random
    odd multipliers, computed for a whole batch at once (a per-sample cryptographic hash cost twice as
    much). At most `max_remembered` hashes of each kind are kept (about 25 MB); later samples are still
    compared against them.
    """

    def __init__(self, max_remembered: int = 200_000):
        self.max_remembered = max_remembered
        self.checked = 0
        self.exact = 0
        self.near = 0
        self._seen = {"exact": set(), "near": set()}
        self._step: float | None = None
        self._multipliers = None

    def _hash(self, words: np.ndarray) -> np.ndarray:
        """One uint64 per row of a 2-D integer array; wraps modulo 2**64 by design."""
        n = words.shape[1]
        if self._multipliers is None or len(self._multipliers) < n:
            rng = np.random.default_rng(0x5EED)
            self._multipliers = rng.integers(1, 2**63, size=max(n, 1), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        return (words.astype(np.uint64) * self._multipliers[:n]).sum(axis=1, dtype=np.uint64)

    def _thumbnails(self, batch: np.ndarray) -> np.ndarray:
        batch = batch.reshape(*batch.shape[:3], -1)  # (n, h, w, c) also for grey (n, h, w)
        n, h, w, c = batch.shape
        bh, bw = max(1, h // 8), max(1, w // 8)
        hh, ww = (h // bh) * bh, (w // bw) * bw
        pooled = batch[:, :hh, :ww].reshape(n, hh // bh, bh, ww, c).sum(axis=2)
        pooled = pooled.reshape(n, hh // bh, ww // bw, bw, c).sum(axis=3) / (bh * bw)
        if self._step is None:
            finite = pooled[np.isfinite(pooled)]
            span = float(finite.max() - finite.min()) if finite.size else 0.0
            self._step = span / 32 if span > 0 else 1.0
        with np.errstate(invalid="ignore"):
            q = np.nan_to_num(np.round(pooled / self._step), nan=-1, posinf=-2, neginf=-3)
        return q.astype(np.int64).reshape(n, -1).view(np.uint64)

    def update(self, batch: np.ndarray) -> None:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.ndim < 3:
            return
        keys = {"exact": self._hash(batch.reshape(len(batch), -1).view(np.uint32)),
                "near": self._hash(self._thumbnails(batch))}
        for kind, hashes in keys.items():
            seen, found = self._seen[kind], 0
            for key in hashes.tolist():
                if key in seen:
                    found += 1
                elif len(seen) < self.max_remembered:
                    seen.add(key)
            setattr(self, kind, getattr(self, kind) + found)
        self.checked += len(batch)

    def result(self) -> dict:
        return {"exact_duplicates": self.exact, "near_duplicates": self.near, "duplicates_checked": self.checked}
