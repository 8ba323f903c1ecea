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
