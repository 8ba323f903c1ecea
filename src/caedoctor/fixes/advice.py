"""Fix kinds caedoctor reports as advice but does not apply: architecture changes with many valid forms."""

from __future__ import annotations

from caedoctor.fixes.kind import FixKind, NotApplicable


def _advice(setup, fix, context):
    raise NotApplicable(f"fix kind {fix.kind!r} is advice for the user; caedoctor cannot apply it automatically")


REMOVE_SKIP = FixKind("remove_skip", "layers (names of the merge layers to bypass)", stage=38, apply=_advice,
                      automatic=False)
RECEPTIVE_FIELD = FixKind("receptive_field", "extra_pooling (int) or dilation (int)", stage=39, apply=_advice,
                          automatic=False)
REGULARIZE = FixKind("regularize", "dropout (float) and/or weight_decay (float)", stage=40, apply=_advice,
                     automatic=False)
# A KL weight read as a Python number inside the traced train step is a constant of the graph (issue 29): the
# user's code must hold it in a variable and assign to it.
def _variable_weight(setup, fix, context):
    raise NotApplicable("suspected, not testable without a code change: hold the KL weight in a variable "
                        "(self.beta = keras.Variable(0.0, trainable=False, name=\"beta\") in __init__) and "
                        "assign to it in the schedule (self.model.beta.assign(value)) instead of setting a number")


KL_WEIGHT_VARIABLE = FixKind("kl_weight_variable", "none (a code change: the KL weight held in a keras.Variable)",
                             stage=46, apply=_variable_weight, automatic=False)
