"""Terminal output with rich: tables a person reads at a glance."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def demo_table(rows, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="caedoctor demo: the field notes' three CAEs on bundled:patches32 (validation)")
    for col in ("model", "train loss", "val loss", "relative MSE", "PSNR dB", "SSIM", "seconds"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in rows:
        table.add_row(r.model, f"{r.train_loss:.5f}", f"{r.val_loss:.5f}", f"{r.relative_mse:.3f}",
                      f"{r.psnr:.2f}", f"{r.ssim:.3f}", f"{r.seconds:.1f}")
    console.print(table)
    console.print("relative MSE: validation MSE / variance of the targets; 1.0 = no better than the mean image.")
