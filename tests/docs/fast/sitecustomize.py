"""Shorter probes for the documentation's code blocks marked `<!-- test: run with CAEDOCTOR_TEST_FAST=1 -->`.

tests/docs/test_code_blocks.py puts this folder on PYTHONPATH for such a block, so every Python process it
starts (a script, `caedoctor ...`) imports this first. A diagnosis or repair that is not told its probe steps
runs `FAST_STEPS` (and, without a horizon, is about 3x those steps), a repair that is not told its training
budget trains for `FAST_TRAIN_SECONDS`, and `bundled:patches32` holds its first `FAST_PATCHES` training and
`FAST_PATCHES // 8` validation patches (a repair trains whole epochs): the block's code runs through every
stage, in seconds instead of minutes. Nothing else changes.
"""

import os

FAST_STEPS = 40
FAST_TRAIN_SECONDS = 3.0
FAST_PATCHES = 2048

if os.environ.get("CAEDOCTOR_TEST_FAST") == "1":
    import caedoctor.data.bundled as _bundled
    import caedoctor.diagnosis as _diagnosis
    import caedoctor.repairing.procedure as _procedure

    _patches32 = _bundled.BUNDLED["patches32"]

    def _few_patches():
        train, val = _patches32()
        return train[:FAST_PATCHES], val[:FAST_PATCHES // 8]

    _diagnose, _repair = _diagnosis.diagnose, _procedure.repair

    def _short_diagnose(*args, **kwargs):
        if kwargs.get("steps") is None:
            kwargs["steps"] = FAST_STEPS
        kwargs["lr_find_steps"] = min(kwargs.get("lr_find_steps", FAST_STEPS), FAST_STEPS)
        if kwargs.get("horizon_steps") is None:
            kwargs["horizon_steps"] = 3 * kwargs["steps"]
        return _diagnose(*args, **kwargs)

    def _short_repair(*args, **kwargs):
        if kwargs.get("steps") is None:
            kwargs["steps"] = FAST_STEPS
        if kwargs.get("epochs") is None and kwargs.get("budget_seconds") is None:
            kwargs["budget_seconds"] = FAST_TRAIN_SECONDS
        return _repair(*args, **kwargs)

    _bundled.BUNDLED["patches32"] = _few_patches
    _diagnosis.diagnose = _short_diagnose
    _procedure.repair = _short_repair
