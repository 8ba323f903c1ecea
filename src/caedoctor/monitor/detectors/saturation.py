"""The `saturation` symptom: sigmoid/tanh units stuck in their flat tails.

Its probe rule, CAE708, is `caedoctor.checks.probe_rules.saturation`.
"""

from __future__ import annotations

from caedoctor import thresholds as T
from caedoctor.monitor.record import MonitorRecord
from caedoctor.monitor.symptom import Symptom
from caedoctor.monitor.traces import saturated_by_layer

# Its place among the detectors (`caedoctor.monitor.symptoms.DETECTORS`): findings are raised in this order,
# so of two present symptoms that point at one cause, the earlier one's rule raises it.
ORDER = 80


def detect_saturation(record: MonitorRecord) -> Symptom:
    """Sigmoid/tanh units stuck in their flat tails.

    What: per sigmoid/tanh layer, the fraction of saturated units at the last probes; for the output
    layer only the excess over the targets' own share (`saturated_by_layer`).
    Why: a saturated unit's derivative is near 0, so little gradient flows through it; a sigmoid output
    pinned at 0 or 1 for pixels that are grey stops the whole network from learning.
    Threshold: `SATURATED_LAYER_FRACTION`.
    """
    per_layer = saturated_by_layer(record)
    related = ("data_not_normalized", "learning_rate_too_high", "vanishing_gradients")
    if not per_layer:
        return Symptom.skipped("saturation", "saturated_activation", "no sigmoid/tanh layer to judge", related)
    worst = max(per_layer, key=per_layer.get)
    present = per_layer[worst] >= T.SATURATED_LAYER_FRACTION
    evidence = {"saturated_fraction": per_layer, "worst_layer": worst, "threshold": T.SATURATED_LAYER_FRACTION,
                "output_layer": record.output_layer, "target_saturated_fraction": record.target_saturated_fraction}
    return Symptom("saturation", bool(present), evidence, "saturated_activation", related,
                   f"{100 * per_layer[worst]:.0f}% of the units of {worst} are saturated" if present else "")
