"""`DataProfile`: what the data looks like, measured in one streaming pass with bounded memory."""

from __future__ import annotations

import dataclasses
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
        b = batch.astype(np.float64, copy=False)
        finite = np.isfinite(b)
        if not finite.all():
            nan = np.isnan(b)
            self.nan += int(nan.sum())
            self.inf += int((~finite & ~nan).sum())
            if len(self.first_nonfinite) < 5:
                bad = np.flatnonzero(~finite.reshape(len(b), -1).all(axis=1))
                self.first_nonfinite += [int(i) + self.count for i in bad[: 5 - len(self.first_nonfinite)]]
            b = np.where(finite, b, 0.0)
        if finite.any():
            self.min = min(self.min, float(np.min(np.where(finite, b, np.inf))))
            self.max = max(self.max, float(np.max(np.where(finite, b, -np.inf))))
        axes = tuple(range(b.ndim - 1))
        self._sum += b.sum(axis=axes)
        self._sumsq += np.square(b).sum(axis=axes)
        self._n_per_channel += finite.sum(axis=axes)
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
    target = StatsAccumulator(target_dtype or dtype) if separate_target else None
    for x, y in batches:
        inputs.update(x)
        if target is not None:
            target.update(y)
    return inputs.result(), (target.result() if target is not None else None)
