"""The PNG figures caedoctor writes beside its results: training's loss.png and reconstructions.png, a repair's
before_after.png (headless: the Agg backend).

They sit below the report (training writes them), so the report's figures (`caedoctor.report.figures`,
inline data URIs) reuse their image scaling rather than the other way round.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_loss(history: dict, path: Path, title: str = "") -> Path:
    """Training and validation loss per epoch, log scale when all values are positive."""
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        values = np.asarray(history.get(key, []), dtype=float)
        if len(values):
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=label)
    log_scale_if_positive(ax, *(history.get(k, []) for k in ("loss", "val_loss")))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def finite(values) -> np.ndarray:
    """The finite values of `values`, flattened."""
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


def log_scale_if_positive(ax, *series) -> None:
    """A log y axis when every finite value of the series is positive (losses span decades)."""
    values = np.concatenate([finite(s) for s in series] or [np.array([])])
    if len(values) and values.min() > 0:
        ax.set_yscale("log")


def displayable(images, lo: float, hi: float) -> np.ndarray:
    """Images scaled from the targets' range [lo, hi] to [0, 1] for display, NaN black, Inf clipped."""
    span = (hi - lo) if np.isfinite(hi - lo) and hi > lo else 1.0
    images = np.nan_to_num((np.asarray(images, float) - lo) / span, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(images, 0.0, 1.0)


def plot_reconstructions(inputs: np.ndarray, rows, path: Path, lo: float, hi: float, title: str = "",
                         row_labels=None) -> Path:
    """Inputs in the top row, then one row per array in `rows` (a reconstruction array or a list of them)."""
    if isinstance(rows, np.ndarray):
        rows = [rows]
    row_labels = row_labels or (["input"] + ["reconstruction"] * len(rows))
    grid = [inputs] + list(rows)
    n = len(inputs)
    fig, axes = plt.subplots(len(grid), n, figsize=(1.3 * n, 1.4 * len(grid)), dpi=100, squeeze=False)
    for r, images in enumerate(grid):
        shown = displayable(images, lo, hi)
        for c in range(n):
            ax = axes[r][c]
            img = shown[c]
            if img.shape[-1] == 1:
                ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(img[..., :3])
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(row_labels[r], fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_before_after(original_curve, repaired_curve, inputs, rows, labels, path: Path, lo: float, hi: float) -> Path:
    """Validation loss per epoch of the original and the repaired model, above a reconstruction grid."""
    n = len(inputs)
    grid = [inputs] + list(rows)
    fig = plt.figure(figsize=(max(8, 1.3 * n), 3.2 + 1.4 * len(grid)), dpi=100)
    gs = fig.add_gridspec(1 + len(grid), n, height_ratios=[2.4] + [1] * len(grid))
    ax = fig.add_subplot(gs[0, :])
    for curve, label in ((original_curve, "original"), (repaired_curve, "repaired")):
        values = np.asarray(curve, dtype=float)
        if len(values):
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=label)
    log_scale_if_positive(ax, original_curve, repaired_curve)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss")
    ax.grid(alpha=0.3)
    ax.legend()
    for r, images in enumerate(grid):
        shown = displayable(images, lo, hi)
        for c in range(n):
            a = fig.add_subplot(gs[1 + r, c])
            img = shown[c]
            a.imshow(img[..., 0] if img.shape[-1] == 1 else img[..., :3], cmap="gray" if img.shape[-1] == 1 else None,
                     vmin=0, vmax=1)
            a.set_xticks([])
            a.set_yticks([])
            if c == 0:
                a.set_ylabel(labels[r], fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
