"""The report's figures: drawn with matplotlib (Agg) and returned as `data:image/png;base64` URIs.

Each function takes plain data (lists, dicts, arrays) and returns one self-contained image, so the report is a
single file that opens without a network. User-controlled text (layer names, labels) reaches matplotlib only
through `_text`, which turns off mathtext: a layer called `a$b` must print as itself, not fail to parse.
"""

from __future__ import annotations

import base64
import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from caedoctor.plots import displayable, finite, log_scale_if_positive  # noqa: E402

DPI = 110
_BASELINE_STYLE = {"color": "#111827", "linewidth": 2.4, "zorder": 5}
_RESEEDED_STYLE = {"color": "#6b7280", "linewidth": 1.4, "linestyle": "--", "zorder": 4}
_PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#65a30d",
            "#9333ea", "#ea580c"]


def _text(value, limit: int = 48) -> str:
    """A user-controlled label, shortened, with `$` escaped so matplotlib draws it literally."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def to_data_uri(fig) -> str:
    """Close `fig` and return it as a base64 PNG data URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _labelled(ax, xlabel: str, ylabel: str, grid: str = "both") -> None:
    """Axis labels and a light grid (on the major ticks only, or on the minor ones of a log axis too)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which=grid)


def _legend_inside(fig, ax) -> str:
    """A small legend inside the axes, a tight layout, and the figure as a data URI."""
    ax.legend(fontsize=8)
    fig.tight_layout()
    return to_data_uri(fig)


def _legend_below(fig, ax, entries: int, fontsize: int = 8, columns: int = 2, title: str | None = None) -> None:
    """A legend under the axes, so long labels do not squeeze the plot; then a tight layout around both."""
    ax.legend(fontsize=fontsize, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False,
              ncol=max(1, min(columns, entries)), title=title, title_fontsize=fontsize)
    fig.tight_layout()


def probe_curves(curves: list) -> str:
    """Training loss per chunk of every probe on one log-scale plot.

    `curves`: dicts {label, steps (x values), loss (y values), kind: "baseline" | "reseeded" | "counterfactual"}.
    """
    fig, ax = plt.subplots(figsize=(8.2, 4.2 + 0.2 * math.ceil(len(curves) / 2)))
    colours = iter(_PALETTE * 4)
    for c in curves:
        x = np.asarray(c["steps"], float)
        y = np.asarray(c["loss"], float)
        n = min(len(x), len(y))
        x, y = x[:n], y[:n]
        ok = np.isfinite(y)
        style = _BASELINE_STYLE if c["kind"] == "baseline" else _RESEEDED_STYLE if c["kind"] == "reseeded" \
            else {"color": next(colours), "linewidth": 1.6}
        ax.plot(x[ok], y[ok], marker="o", markersize=2.5, label=_text(c["label"], 60), **style)
        if n and not ok[-1]:  # the probe ended in NaN/Inf: mark where
            last = x[ok][-1] if ok.any() else x[0]
            ax.axvline(last, color=style["color"], alpha=0.35, linestyle=":")
    log_scale_if_positive(ax, *[c["loss"] for c in curves])
    _labelled(ax, "training step", "training loss (mean per chunk)")
    _legend_below(fig, ax, len(curves), fontsize=8)
    return to_data_uri(fig)


def lr_range(lrs, losses, smoothed=None, suggestion: float | None = None) -> str:
    """Loss against learning rate (log x), the smoothed curve, and the suggestion marked."""
    fig, ax = plt.subplots(figsize=(8.2, 4.0))
    lrs = np.asarray(lrs, float)
    losses = np.asarray(losses, float)
    n = min(len(lrs), len(losses))
    ok = np.isfinite(losses[:n]) & np.isfinite(lrs[:n]) & (lrs[:n] > 0)
    ax.plot(lrs[:n][ok], losses[:n][ok], color="#9ca3af", linewidth=1.0, label="loss per step")
    series = [losses[:n][ok]]
    if smoothed is not None and len(smoothed):
        sm = np.asarray(smoothed, float)
        m = min(len(lrs), len(sm))
        ok_s = np.isfinite(sm[:m]) & (lrs[:m] > 0)
        ax.plot(lrs[:m][ok_s], sm[:m][ok_s], color="#2563eb", linewidth=2.0, label="smoothed")
        series.append(sm[:m][ok_s])
    if suggestion is not None and math.isfinite(suggestion) and suggestion > 0:
        ax.axvline(suggestion, color="#dc2626", linewidth=1.8, linestyle="--",
                   label=f"suggestion {suggestion:.2g}")
    ax.set_xscale("log")
    log_scale_if_positive(ax, *series)
    _labelled(ax, "learning rate", "training loss", grid="major")
    return _legend_inside(fig, ax)


def grad_norms(steps, norms: dict) -> str:
    """Per-layer gradient norm over the probes, coloured from the first layer (dark) to the last (light)."""
    names = list(norms)
    fig, ax = plt.subplots(figsize=(8.2, 4.2 + 0.18 * math.ceil(len(names) / 3)))
    cmap = plt.get_cmap("viridis")
    x_all = np.asarray(steps, float)
    # Log scale, because vanishing gradients span orders of magnitude; a norm of exactly 0 (no gradient at all)
    # is drawn on a dotted floor a decade below the smallest positive norm instead of being dropped.
    values = np.concatenate([finite(v) for v in norms.values()] or [np.array([])])
    positive = values[values > 0]
    floor = positive.min() / 10 if len(positive) and (values <= 0).any() else None
    for i, name in enumerate(names):
        y = np.asarray(norms[name], float)
        n = min(len(x_all), len(y))
        y = y[:n].copy()
        if floor is not None:
            y[y <= 0] = floor
        ok = np.isfinite(y)
        colour = cmap(i / max(len(names) - 1, 1) * 0.9)
        ax.plot(x_all[:n][ok], y[ok], marker="o", markersize=2.5, linewidth=1.5, color=colour, label=_text(name))
    if len(positive):
        ax.set_yscale("log")
    if floor is not None:
        ax.axhline(floor, color="#9ca3af", linestyle=":", linewidth=1.0)
        ax.annotate("exactly 0", (0.005, floor), xycoords=("axes fraction", "data"), fontsize=7, color="#6b7280",
                    va="bottom")
    _labelled(ax, "training step", "gradient L2 norm (monitor batch)")
    _legend_below(fig, ax, len(names), fontsize=7, columns=3, title="layers, input → output")
    return to_data_uri(fig)


def unit_fractions(panels: list) -> str:
    """Horizontal bars per layer, at the first and the last probe.

    `panels`: dicts {title, rows: [(layer, first, last)]}; one subplot each (dead ReLU, saturated units).
    """
    height = 1.2 + 0.32 * max(len(p["rows"]) for p in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(8.2, height), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        rows = panel["rows"]
        y = np.arange(len(rows))
        first = np.nan_to_num(np.asarray([r[1] for r in rows], float), nan=0.0)
        last = np.nan_to_num(np.asarray([r[2] for r in rows], float), nan=0.0)
        ax.barh(y + 0.2, first, height=0.38, color="#cbd5e1", label="first probe")
        ax.barh(y - 0.2, last, height=0.38, color=panel.get("colour", "#dc2626"), label="last probe")
        ax.set_yticks(y, [_text(r[0], 28) for r in rows], fontsize=8)
        ax.invert_yaxis()  # input layer at the top
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction of units")
        ax.set_title(_text(panel["title"], 60), fontsize=9)
        ax.grid(alpha=0.3, axis="x")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return to_data_uri(fig)


def before_after(original_curve, repaired_curve) -> str:
    """Validation loss per epoch of the original and the repaired model, same budget."""
    fig, ax = plt.subplots(figsize=(8.2, 3.6))
    for curve, label, colour in ((original_curve, "original", "#6b7280"), (repaired_curve, "repaired", "#059669")):
        y = np.asarray(curve, float)
        ok = np.isfinite(y)
        ax.plot(np.arange(1, len(y) + 1)[ok], y[ok], marker="o", color=colour, label=label)
    log_scale_if_positive(ax, original_curve, repaired_curve)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    _labelled(ax, "epoch", "validation loss")
    return _legend_inside(fig, ax)


def reconstructions(rows: list, lo: float, hi: float) -> str:
    """A grid of images: one row per (label, images) pair, all shown on the target's value range."""
    n = max(len(images) for _, images in rows)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.15 * n + 1.2, 1.2 * len(rows) + 0.2), squeeze=False)
    for r, (label, images) in enumerate(rows):
        shown = displayable(images, lo, hi)
        for c in range(n):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(shown):
                img = shown[c]
                if img.ndim == 3 and img.shape[-1] >= 3:
                    ax.imshow(img[..., :3])
                else:  # grey, or two channels: the first one
                    ax.imshow(img[..., 0] if img.ndim == 3 else img, cmap="gray", vmin=0, vmax=1)
            else:
                ax.axis("off")
            if c == 0:  # "original (after ...)" on two lines, so the label is not cut
                ax.set_ylabel(_text(label, 60).replace(" (", "\n("), fontsize=8, rotation=0, ha="right",
                              va="center")
    fig.tight_layout()
    return to_data_uri(fig)
