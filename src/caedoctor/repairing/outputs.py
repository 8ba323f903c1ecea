"""Files a repair writes: repaired.keras, repair.json, before_after.png and changes.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from caedoctor.findings import jsonable
from caedoctor.repairing.code import changes_as_code
from caedoctor.training import atomic_write_text
from caedoctor.reconstruction import reconstruct


REPAIR_OUTPUTS = ("repair.json", "repaired.keras", "changes.py", "before_after.png")


def write_repair_outputs(result, out: Path, data) -> dict:
    """Write the repair's files into `out`; returns {name: path}.

    Raises:
        OutputFolderError: one of those files exists in `out` and caedoctor did not write it.
    """
    from caedoctor import plots
    from caedoctor.out_folder import claim

    out = claim(Path(out), REPAIR_OUTPUTS)
    paths = {}
    report = result.to_dict()
    report["diagnosis"] = result.diagnosis.to_dict() if result.diagnosis is not None else None
    atomic_write_text(out / "repair.json", json.dumps(jsonable(report), indent=2))
    paths["repair_json"] = out / "repair.json"
    if result.model is not None:
        tmp = out / ".tmp_repaired.keras"
        result.model.save(tmp)
        os.replace(tmp, out / "repaired.keras")
        paths["repaired_model"] = out / "repaired.keras"
        atomic_write_text(out / "changes.py", changes_as_code(result))
        paths["changes_code"] = out / "changes.py"
        x, _ = data.sample(8)
        rows, labels = [], ["input"]
        if result.original_model is not None:  # set only when the original trained on this data, so it runs
            rows.append(np.asarray(reconstruct(result.original_model, x)))
            labels.append("original")
        rows.append(np.asarray(reconstruct(result.model, x)))
        labels.append("repaired")
        target = data.profile.target_stats
        plots.plot_before_after(result.original_curve, result.repaired_curve, x, rows, labels,
                                out / "before_after.png", target.min, target.max)
        paths["before_after"] = out / "before_after.png"
    return paths
