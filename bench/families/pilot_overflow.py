"""Pilot: at which RMSprop rates is log-variance overflow a fault that clipping alone repairs? (README, Status)

    python bench/families/pilot_overflow.py CASE_INDEX RATES     # e.g. 21 0.003,0.01 (a dev VAE case's base)

Runs the dev case's base VAE with RMSprop at each rate, with and without the log-variance clipped to
[-10, 10], seeds 0 and 1, each in its own process and scored as the ground truth scores (its `_SCORE`);
prints one line per run. Plain Keras.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "generated"))
sys.path.insert(0, str(HERE))
import families as F  # noqa: E402

_spec = importlib.util.spec_from_file_location("families_ground_truth", HERE / "ground_truth.py")
GT = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(GT)
OUT = HERE.parents[1] / "runs" / "pilot" / "overflow"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    case = F.draw_case("dev", int(sys.argv[1]))
    train, val = F.data(case)
    np.savez(OUT / "data.npz", x=train)
    np.savez(OUT / "val.npz", x=val)
    for lr in (float(v) for v in sys.argv[2].split(",")):
        for clip in (False, True):
            spec = {**case.base, "optimizer": "RMSprop", "learning_rate": lr, "clip_log_var": clip}
            script = OUT / f"lr{lr}_clip{int(clip)}.py"
            script.write_text(F.program(spec, "vae", "pilot"))
            for seed in (0, 1):
                env = {**os.environ, "CASE_SEED": str(seed), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
                started = time.time()
                done = subprocess.run([sys.executable, "-c", GT._SCORE, str(OUT), str(script), "0"],
                                      capture_output=True, text=True, env=env, timeout=GT.TIMEOUT_S)
                lines = [line for line in done.stdout.splitlines() if line.startswith("SCORE ")]
                r = json.loads(lines[-1][6:]) if lines else {"status": "error", "error": done.stderr[-200:]}
                print(case.case_id, lr, "clip" if clip else "raw", seed, r.get("status"), r.get("relative_mse"),
                      r.get("kl"), f"{time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
