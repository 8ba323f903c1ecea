"""The `kl_weight` fix kind: weigh a VAE's KL term less (or more), through the weight the model exposes.

A VAE's train step usually reads its KL weight from an attribute (`self.beta`, `self.kl_weight`). The fix
builds a fresh copy of the model as the user's code built it (`caedoctor.models.fresh_copy`) and multiplies
that attribute by `factor` (or sets it to `ceiling` when above it) on the copy (assigning to it when it is a `keras.Variable`); everything else is kept. A weight written into the train step as a
literal cannot be changed without editing the code: the fix is then not applicable, and says which line to
change.
"""

from __future__ import annotations

import math

from caedoctor.fixes.kind import FixKind, NotApplicable
from caedoctor.reconstruction import KL_WEIGHT_NAMES, kl_weight_of, set_kl_weight

def kl_weight_attribute(model) -> str | None:
    """The name of the model's KL-weight attribute (a plain number or a scalar variable), or None."""
    return kl_weight_of(model)[0]


def _kl_weight(setup, fix, context):
    from caedoctor.models import fresh_copy

    model = setup.model
    name = kl_weight_attribute(model)
    if name is None:
        raise NotApplicable(f"suspected, not testable without a code change: {type(model).__name__} has no KL "
                            f"weight caedoctor can change (a number named {' or '.join(KL_WEIGHT_NAMES[:2])}); "
                            "set self.beta in __init__ and multiply the KL term by self.beta in train_step")
    now = kl_weight_of(model)[1]
    if fix.params.get("per_target_value"):  # the weight a reconstruction summed over each image's values needs
        value = now / max(1, math.prod(int(d) for d in setup.data.target_shape))
    elif "ceiling" in fix.params and now > float(fix.params["ceiling"]):
        value = float(fix.params["ceiling"])  # a beta of 50 x 0.1 is still 5: test the ELBO's weight itself
    else:
        value = now * float(fix.params.get("factor", 0.1))
    copy = fresh_copy(model)
    set_kl_weight(copy, name, value)  # a variable the user's schedule assigns to stays a variable
    return setup.replace(model=copy)


KL_WEIGHT = FixKind("kl_weight", "factor (float: multiply the model's KL weight, its beta or kl_weight attribute), "
                    "with ceiling (float: a weight above it is set to it instead), or per_target_value (true: "
                    "divide it by the values of one target image)",
                    stage=45, apply=_kl_weight)
