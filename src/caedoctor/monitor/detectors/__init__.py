"""The symptom detectors, one module each: `<name>.py` defines `detect_<name>(record) -> Symptom` and its
`ORDER`, and its probe rule is the module of the same name in `caedoctor.checks.probe_rules`.

`caedoctor.monitor.symptoms` finds them (`DETECTORS`, `detect_symptoms`); readings several detectors share
are in `caedoctor.monitor.traces`. Adding a symptom: `<name>.py` here (its thresholds in
`caedoctor/thresholds.py`, with the measurements that chose them), and `<name>.py` in
`caedoctor/checks/probe_rules/` with its `RULE`. A symptom without a rule (like `out_of_range`: evidence for
the static findings) raises no finding.
"""
