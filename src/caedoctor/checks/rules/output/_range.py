"""Shared measurements for the output-range rules (CAE201-CAE203)."""

import math


def overshoot(output_range: tuple, target) -> tuple[float, float]:
    """(fraction of the target's span out of the output's reach, the target span)."""
    lo, hi = output_range
    span = target.max - target.min
    if not math.isfinite(span) or span <= 0:
        span = max(abs(target.max), 1.0)
    outside = max(0.0, lo - target.min) + max(0.0, target.max - hi)
    return outside / span, span


def covering_activation(target) -> str:
    """An output activation whose range covers the target's values."""
    if target.min >= 0 and target.max <= 1:
        return "sigmoid"
    if target.min >= -1 and target.max <= 1:
        return "tanh"
    return "linear"
