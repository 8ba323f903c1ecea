"""The demo: the field notes' three CAEs trained side by side on real image patches, then diagnosed."""

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
    diagnosis: object = None  # caedoctor.diagnosis.Diagnosis, when the demo diagnoses
    report: Path | None = None


def run_demo(out_dir="runs/demo", *, data="bundled:patches32", epochs: int = DEMO_EPOCHS,
             steps_per_epoch: int = DEMO_STEPS_PER_EPOCH, seed: int = 0, verbose="auto",
             diagnose: bool = True, report: bool = True, progress=None) -> list[DemoRow]:
    """Train `preset:seed_bad`, `seed_better` and `seed_hyper_bad` with the same seed and budget.

    Each model gets `epochs` x `steps_per_epoch` batches; its artefacts go to `out_dir/<preset>/`.
    With `diagnose`, each is then diagnosed (`caedoctor.diagnose`, same seed) and, with `report`, an HTML
    report is written to `out_dir/<preset>/report/report.html`. Returns one `DemoRow` per model.
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
                       verbose=verbose, seed=seed)
        m = result.metrics
        row = DemoRow(f"preset:{name}", m["train_loss"], m["val_loss"], m["relative_mse"], m["psnr"],
                      m["ssim"], time.perf_counter() - start, out / name)
        if diagnose:
            from caedoctor.diagnosis import diagnose as run_diagnosis

            if progress:
                progress(f"diagnosing preset:{name}")
            fresh = load_model(f"preset:{name}", dataset.input_shape)
            row.diagnosis = run_diagnosis(fresh, dataset, seed=seed, progress=progress)
            if report:
                from caedoctor.report.html import write_report

                row.report = write_report(row.diagnosis, out / name / "report", data=dataset, loaded=fresh)
        rows.append(row)
    return rows
