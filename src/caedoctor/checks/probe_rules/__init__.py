"""The probe rules (CAE7xx), one module each: findings raised from what a probe run showed.

A static rule (`caedoctor.checks.rules`) reads the model and the data before training; a probe rule reads
the symptoms the monitor's record shows during a probe run (`caedoctor diagnose`). Each module defines
`RULE = ProbeRule(...)` (`caedoctor.checks.probe_rule`): its code and four-part doc, the symptom and
detector that raise it (`caedoctor.monitor.symptoms`), the thresholds that detector compares with
(`caedoctor.thresholds`), whether the LR range test may add a learning-rate finding, and how its fix is
made (by default `fix_for`: the fix follows the cause the detector names). `caedoctor.checks.registry`
lists them beside the static rules, so `caedoctor rules`, `caedoctor rule CODE`, docs/rules.md and the
README's table show both.

Adding a symptom:
1. its detector, `detect_<name>(record) -> Symptom`, in `caedoctor/monitor/symptoms.py`, added to
   `DETECTORS` (their order is the order in which findings are raised: an earlier symptom claims a cause
   first), with its thresholds in `caedoctor/thresholds.py` and the measurements that chose them;
2. one module here, `<name>.py`, with `RULE = ProbeRule(code="CAE7xx", symptom="<name>", ...)`, and its line
   in `PROBE_RULES` (`caedoctor.checks.registry`);
3. `python -m caedoctor.checks.docs > docs/rules.md` and `--readme README.md`; its test beside the others in
   tests/checks/ (the detector on a made-up record; the finding it raises).
A symptom that only adds evidence (like `out_of_range`) needs step 1 alone: without a rule it raises no
finding.
"""
