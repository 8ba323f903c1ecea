"""Whether a diagnosis is partial: what the time budget left undone, and how long the full diagnosis needs.

Load changes the time a diagnosis takes, never its answer silently. On a machine twice as slow the same
budget runs fewer or shorter probes; what that costs is said at the top of the result, before the causes:

- the budget shortened every probe below the steps asked for (`Budget.shortened`);
- it had no room for the LR range test (`Budget.skipped`), so the learning-rate findings had no rate to
  test (they are listed as untested);
- it left a testable suspicion untested, or stopped explain-away or the joint probes before they finished
  (`Budget.untested`, recorded by the stage that ran out).

The estimate of the full diagnosis is the time spent, plus each untested probe at full length
(`Budget.probe_seconds`), plus the LR range test when skipped, plus, when the probes were shortened, the
steps each probe that ran would have needed more. It is an estimate from this machine's step time, now.

Example::

    p = partial_of(budget, findings, elapsed_s=121.0, probes_run=3)
    p.partial, p.reason      # True, "the time budget (120 s) was spent: 2 suspicions not tested (...); ..."
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from caedoctor.probing.budget import Budget

# The suggested budget: the estimate with this much to spare, rounded up to BUDGET_ROUNDING seconds (a
# machine busier than when it was measured, the seed-noise probe a decision may need).
BUDGET_SPARE = 1.1
BUDGET_ROUNDING = 30


# What was left undone, by the test the budget stopped (`Budget.leave_untested`).
_UNDONE = {"counterfactual": "not tested",
           "explain-away": "not told apart from a consequence of the strongest cause",
           "joint": "not tested together with the other fixes",
           "extension": "not followed to the horizon (where the probes ended and the forecast disagree)"}


@dataclass
class Partial:
    """What the budget left undone (`reason` None: nothing, the diagnosis is complete)."""

    reason: str | None = None
    untested: list = field(default_factory=list)  # {"code", "cause", "reason", "test"}
    full_seconds: float | None = None  # estimated seconds of the full diagnosis (None when complete)

    @property
    def partial(self) -> bool:
        return self.reason is not None


def partial_of(budget: Budget, findings: list, elapsed_s: float, probes_run: int = 0) -> Partial:
    """The `Partial` of a diagnosis that spent `elapsed_s` seconds and ran `probes_run` probes, from what
    `budget` recorded and the final `findings` (the module doc says what makes it partial)."""
    without_rate = _without_rate(budget, findings)
    untested = list(budget.untested) + without_rate
    if not (budget.shortened() or budget.skipped or untested):
        return Partial()
    full = _full_seconds(budget, elapsed_s, probes_run, budget.untested_probes + bool(without_rate))
    held = [f for f in findings if f.status == "suspected" and f.evidence.get("held_back")]
    return Partial(_reason(budget, untested, held, full), untested, full)


def suggested_budget(full_seconds: float) -> int:
    """A `--budget-seconds` for a diagnosis estimated at `full_seconds`, with some to spare."""
    return int(math.ceil(BUDGET_SPARE * full_seconds / BUDGET_ROUNDING) * BUDGET_ROUNDING)


def _without_rate(budget: Budget, findings: list) -> list:
    """The learning-rate findings left untested because the LR range test, skipped for time, gave no rate."""
    if not budget.skipped:
        return []
    recorded = {(u["code"], u["cause"]) for u in budget.untested}
    return [{"code": f.code, "cause": f.cause,
             "reason": "the time budget had no room for the LR range test, so there was no rate to test",
             "test": "counterfactual"}
            for f in findings
            if f.fix is not None and f.fix.kind == "learning_rate" and f.status == "suspected" and f.effect is None
            and (f.code, f.cause) not in recorded]


def _full_seconds(budget: Budget, elapsed_s: float, probes_run: int, untested_probes: int) -> float | None:
    """Estimated seconds of the full diagnosis (None before a step was measured)."""
    if budget.step_seconds is None:
        return None
    steps = budget.requested_steps or budget.planned_steps or 0
    more = untested_probes * budget.probe_seconds(steps)
    more += sum(s * budget.step_seconds for _what, s in budget.skipped)
    if budget.shortened():
        more += probes_run * (budget.requested_steps - budget.planned_steps) * budget.step_seconds
    return elapsed_s + more


def _reason(budget: Budget, untested: list, held: list, full: float | None) -> str:
    """One sentence: what the budget left undone, and what the full diagnosis needs."""
    parts = []
    if budget.shortened():
        parts.append(f"every probe ran {budget.planned_steps} steps instead of {budget.requested_steps}")
    for what, _steps in budget.skipped:
        parts.append(f"{what} did not run")
    for test, words in _UNDONE.items():
        group = [u for u in untested if u.get("test", "counterfactual") == test]
        if group:
            names = ", ".join(f"{u['cause']} {u['code']}" for u in group)
            parts.append(f"{len(group)} suspicion{'s' if len(group) != 1 else ''} {words} ({names})")
    if held:
        codes = ", ".join(f.code for f in held)
        parts.append(f"{codes} held back as suspected (a fix that helped, but an untested cause can produce "
                     f"{'it' if len(held) == 1 else 'them'} by itself)")
    spent = "was spent" if untested or budget.skipped else "was too short for full-length probes"
    seconds = "" if budget.seconds is None else f" ({budget.seconds:.0f} s)"
    if full is None:
        rerun = "rerun with a larger --budget-seconds"
    else:
        rerun = f"the full diagnosis needs about {full:.0f} s: rerun with --budget-seconds {suggested_budget(full)}"
    return f"the time budget{seconds} {spent}: {'; '.join(parts)}; {rerun}"
