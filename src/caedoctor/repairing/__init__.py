"""Repair: apply the fixes that measurably helped (verified by probes), retrain, and show before and after.

The package is also callable: `caedoctor.repair(model, data, ...)` is `caedoctor.api.repair` (diagnose, apply the
fixes that measurably helped, verify them together, retrain). A module and a function cannot share the name
`caedoctor.repair` any other way: importing `caedoctor.repair.fix` sets the package as that attribute. The call
imports `caedoctor.api` (a layer above) when it is made: one of the two exceptions the import contract states.
"""

import sys
import types


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        """`caedoctor.repair(model, data, ...)`: see `caedoctor.api.repair`."""
        from caedoctor.api import repair

        return repair(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
