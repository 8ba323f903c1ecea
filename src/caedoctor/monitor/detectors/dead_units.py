"""The `dead_units` symptom: reLU units that never fire.

Its probe rule, CAE707, is `caedoctor.checks.probe_rules.dead_units`.
"""

from __future__ import annotations

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import dead_by_layer

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 70


def detect_dead_units(record: MonitorRecord) -> Symptom:
    """ReLU units that never fire.

    What: per ReLU layer, the fraction of units that are <= 0 for every sample and position of the
    monitor batch, at the last probes; the worst layer is compared with `DEAD_LAYER_FRACTION`.
    Why: a dead unit passes no gradient, so it never recovers; a layer mostly dead cuts the network.
    Threshold: `DEAD_LAYER_FRACTION`.
    """
    if not record.dead_fraction:
        return Symptom.skipped("dead_units", "dead_relu", "no ReLU layer probed", ("learning_rate_too_high",))
    per_layer = dead_by_layer(record)
    if not per_layer:
        return Symptom.skipped("dead_units", "dead_relu", "no probe of the ReLU layers", ("learning_rate_too_high",))
    worst = max(per_layer, key=per_layer.get)
    present = per_layer[worst] >= T.DEAD_LAYER_FRACTION
    evidence = {"dead_fraction": per_layer, "worst_layer": worst, "threshold": T.DEAD_LAYER_FRACTION}
    return Symptom("dead_units", bool(present), evidence, "dead_relu", ("learning_rate_too_high",),
                   f"{100 * per_layer[worst]:.0f}% of the units of {worst} never activate" if present else "")
