"""Repairing: apply the fixes that measurably helped (verified by probes), retrain, and show before and after.

The act is called `caedoctor.repair(model, data, ...)` (`caedoctor.api.repair`, which adds a progress bar and
keeps the inputs for display) and `caedoctor repair` on the command line; this package is the stage that does it,
named apart from the function so that `caedoctor.repair` stays the function whichever submodule is imported.

- `procedure`: `repair` (the greedy repair over fixes, each verified by a probe) and what it returns,
  `RepairResult` with its `Change`s (`RepairResult` is also `caedoctor.RepairResult`);
- `keep`: whether a verified win is forecast to hold at the horizon;
- `outputs`: the files a repair writes (`repaired.keras`, `repair.json`, `before_after.png`, and `changes.py`,
  which `code` writes).

One change is a fix (`caedoctor.fixes`: a fix kind applied to a `Setup`); a repair is the whole act.
"""
