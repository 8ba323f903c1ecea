"""The probe rules (CAE7xx), one module each: findings raised from what a probe run showed.

A static rule (`caedoctor.checks.rules`) reads the model and the data before training; a probe rule reads
the symptoms the monitor's record shows during a probe run (`caedoctor diagnose`). Each module defines
`RULE = ProbeRule(...)` (`caedoctor.checks.probe_rule`): its code and four-part doc, the symptom and
detector that raise it, the thresholds that detector compares with (its module's or `caedoctor.thresholds`'), whether the LR
range test may add a learning-rate finding, and how its fix is made (by default `fix_for`: the fix follows
the cause the detector names). A module here and its detector share a name: `stuck.py` here, and
`caedoctor/monitor/detectors/stuck.py` with `detect_stuck` (the monitor sits below the checks, so the
detector lives there and the rule imports it). `caedoctor.checks.registry` finds the rules beside the
static ones, so `caedoctor rules`, `caedoctor rule CODE` and docs/rules.md show both.

Adding a symptom touches two new files and nothing else:
1. `caedoctor/monitor/detectors/<name>.py`: `detect_<name>(record) -> Symptom` and its `ORDER` (findings
   are raised in that order: an earlier symptom claims a cause first); new thresholds only it reads at its
   top, with the measurements that chose them (those it shares with other detectors are in
   `caedoctor/thresholds.py`);
2. `<name>.py` here: `RULE = ProbeRule(code="CAE7xx", symptom="<name>", detector=detect_<name>, ...)`.
Then `python -m caedoctor.checks.docs > docs/rules.md` regenerates the docs (the tests compare them), and
its tests go beside the others (tests/monitor/test_symptoms.py: the detector on a made-up record;
tests/checks/: the finding it raises). A symptom that only adds evidence (like `out_of_range`) needs
step 1 alone: without a rule it raises no finding.
"""
