"""The ground truth as the runner scores it: per case, what each injected cause is, which verdicts are right,
and the error a repair must reach. Pure functions over verdicts_<split>.json (ground_truth.py --aggregate);
nothing here trains or imports caedoctor, and tests/bench/test_generated_scoring.py tests it.

**Causes.** The per-cause verdict of ground_truth.py maps to bench/scoring.py's `real`: real -> True,
not_real -> False, static -> "static", ambiguous -> "ambiguous", invalid -> "invalid" (the last two are
scoring.EXCLUDED: left out of recall and precision, counted).

**The expected verdict** of a case (`expected_verdicts`), from its ground truth, first rule that applies:
1. a healthy control that trains in every seed (relative MSE finite and below 1): `converging`; one that
   does not train is no control: no expected verdict (excluded from verdict accuracy, counted);
2. training impossible, the program with its faults raised an exception in every seed (e.g. an output of
   another shape that Keras' loss refuses): `invalid`;
3. training meaningless, the data hold NaN/Inf (`nan_in_data`) or the output's shape is not the target's
   (`shape_mismatch`, which Keras may broadcast and train anyway): `invalid` or any problem verdict (slow,
   not_converging, diverging, unstable, overfitting); when that fault is not real, any verdict;
4. the program with its faults ends above relative MSE 1 (worse than predicting the mean image) or with a
   non-finite error in every seed: `not_converging`, `diverging` or `unstable`;
5. a real fault (an injected cause that is real, or a pair that is real only together: `joint`): any
   problem verdict;
6. some injected cause ambiguous or invalid (and none real): no expected verdict (excluded, counted);
7. otherwise (every fault not real, or static): any verdict but `invalid` (the program trains as well as its
   fix; the verdict is no test, the causes are).

**The repair reference** is the median over the seeds of the fixed variant's validation relative MSE at the
ground truth's budget (GT_STEPS steps of the base's batch size); a case counts for the repair rate when it
has a real fault (rule 5's sense), and is repaired when the repaired model ends within REPAIR_FACTOR (1.25x)
of the reference.
"""

from __future__ import annotations

import math
import statistics

PROBLEM = ("slow", "not_converging", "diverging", "unstable", "overfitting")  # any "not healthy" verdict
BROKEN = ("not_converging", "diverging", "unstable")  # training fails outright
ANY_TRAINING = ("converging",) + PROBLEM
INVALID = ("invalid",)
MEANINGLESS = ("nan_in_data", "shape_mismatch")  # faults that make any training meaningless
REAL = {"real": True, "not_real": False, "static": "static", "ambiguous": "ambiguous", "invalid": "invalid"}
REPAIR_FACTOR = 1.25


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def _ok(run: dict) -> bool:
    return run.get("status") == "ok" and _finite(run.get("relative_mse"))


def expected_verdicts(case: dict) -> tuple[tuple | None, str]:
    """(verdicts a right diagnosis may give, or None when the ground truth cannot say; the rule that
    decided, in words) for one complete case of verdicts_<split>.json. See the module doc."""
    if case["kind"] == "healthy":
        if case.get("trains"):
            return ("converging",), "1: a healthy control that trains"
        return None, "1: a healthy control that does not train in every seed (no control)"
    runs = case["runs"]["faulty"]
    causes = {c: REAL.get(e["verdict"], e["verdict"]) for c, e in (case.get("causes") or {}).items()}
    if runs and all(r.get("status") == "error" for r in runs):
        return INVALID, "2: the program cannot train (an exception in every seed)"
    meaningless = [c for c in case["injected"] if c in MEANINGLESS]
    if meaningless:
        if any(causes.get(c) is True for c in meaningless):
            return INVALID + PROBLEM, f"3: {'/'.join(meaningless)} (real): training is meaningless"
        return INVALID + ANY_TRAINING, f"3: {'/'.join(meaningless)} (not shown as real): invalid or any verdict"
    if runs and all(not _ok(r) or r["relative_mse"] > 1.0 for r in runs):
        return BROKEN, "4: no better than the mean image (or non-finite) in every seed"
    if real_fault(case):
        return PROBLEM, "5: a real fault"
    if any(v in ("ambiguous", "invalid") for v in causes.values()):
        return None, "6: a fault the ground truth cannot judge (ambiguous), none real"
    return ANY_TRAINING, "7: no fault real (not real or static): the program trains as well as its fix"


def real_fault(case: dict) -> bool:
    """Whether a faulty case has a measurable fault: an injected cause judged real, or two faults real only
    together (the pair's `joint` verdict)."""
    if case["kind"] == "healthy":
        return False
    if any(e["verdict"] == "real" for e in (case.get("causes") or {}).values()):
        return True
    return (case.get("joint") or {}).get("verdict") == "real"


def reference_relative_mse(case: dict) -> float | None:
    """The median validation relative MSE of the fixed variant (healthy: of the program itself) over the
    seeds that trained; None when none did."""
    label = "healthy" if case["kind"] == "healthy" else "fixed"
    values = [r["relative_mse"] for r in case["runs"].get(label, []) if _ok(r)]
    return statistics.median(values) if values else None


def truth(case: dict) -> dict | None:
    """The scoring view of one case (None while its runs are incomplete):
    {"causes": {cause: {"real": ...}}, "real_fault", "expected_verdicts", "expected_why", "reference",
    "control_trains"}."""
    if not case.get("complete"):
        return None
    expected, why = expected_verdicts(case)
    out = {"causes": {c: {"real": REAL.get(e["verdict"], e["verdict"])} for c, e in (case.get("causes") or {}).items()},
           "real_fault": real_fault(case), "expected_verdicts": list(expected) if expected else None,
           "expected_why": why, "reference_relative_mse": reference_relative_mse(case)}
    if case["kind"] == "healthy":
        out["control_trains"] = bool(case.get("trains"))
    return out


def truths(doc: dict) -> dict:
    """{case id: truth} over the complete cases of a verdicts_<split>.json document."""
    out = {}
    for case in doc.get("cases", []):
        t = truth(case)
        if t is not None:
            out[case["id"]] = t
    return out


def repaired(relative_mse, reference, factor: float = REPAIR_FACTOR) -> bool:
    """A repaired model's error within `factor` of the reference (both finite)."""
    return _finite(relative_mse) and _finite(reference) and relative_mse <= factor * reference
