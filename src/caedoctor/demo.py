"""The demo: the field notes' three CAEs trained side by side on real image patches."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from caedoctor.models.presets import PRESETS

DEMO_EPOCHS = 2
DEMO_STEPS_PER_EPOCH = 300


@dataclass
class DemoRow:
    model: str
    train_loss: float
    val_loss: float
    relative_mse: float
    psnr: float
    ssim: float
    seconds: float
    out_dir: Path


def run_demo(out_dir="runs/demo", *, data="bundled:patches32", epochs: int = DEMO_EPOCHS,
             steps_per_epoch: int = DEMO_STEPS_PER_EPOCH, seed: int = 0, verbose="auto") -> list[DemoRow]:
    """Train `preset:seed_bad`, `seed_better` and `seed_hyper_bad` with the same seed and budget.

    Each model gets `epochs` x `steps_per_epoch` batches; its artefacts go to `out_dir/<preset>/`.
    Returns one `DemoRow` per model.
    """
    from caedoctor.data import load_data
    from caedoctor.models import load_model
    from caedoctor.training import seed_everything, train

    out = Path(out_dir)
    dataset = load_data(data)
    rows = []
    for name in PRESETS:
        seed_everything(seed)
        loaded = load_model(f"preset:{name}", dataset.input_shape)
        start = time.perf_counter()
        result = train(loaded, dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, out_dir=out / name,
                       verbose=verbose)
        m = result.metrics
        rows.append(DemoRow(f"preset:{name}", m["train_loss"], m["val_loss"], m["relative_mse"], m["psnr"],
                            m["ssim"], time.perf_counter() - start, out / name))
    return rows
