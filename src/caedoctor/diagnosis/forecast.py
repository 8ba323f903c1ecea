"""Forecast where a probe's validation error ends: its check-batch curve extrapolated to the horizon.

A probe runs a few hundred steps; the user's training runs to a horizon (their `fit`'s epochs x steps, or
`--horizon-steps`). A quiet fault moves the plateau, not the early slope, and a folklore fix moves the early
slope, not the plateau, so the comparison that matters is at the horizon. `forecast(points, horizon)` fits
an ensemble of saturating learning-curve families (after Domhan, Springenberg and Hutter, IJCAI 2015: power
laws, exponentials, a Morgan-Mercer-Flodin curve, each with an error floor) to the curve's points on a log
scale, weights each family by how well it fits (AICc), and answers the weighted forecast at the horizon with
an interval: the families' spread and the curve's own scatter around its fit, widened by `INTERVAL_SCALE`.

`INTERVAL_SCALE` is measured, not chosen: on the generated benchmark's development split, caedoctor's own
probes trained to the ground truth's horizon (1,500 steps), the forecast from the first 500 steps must cover
the error at step 1,500 in about 80% of probes (bench/forecast/README.md).

Example::

    f = forecast([(50, 0.91), (100, 0.62), ..., (500, 0.21)], horizon=1500)
    f.value, f.low, f.high      # 0.17, 0.14, 0.21: the 80% interval
    f.separates(other)          # True when the two intervals' log distance beats their joint width
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from caedoctor.thresholds import FORECAST_INTERVAL_SCALE as INTERVAL_SCALE

LEVEL = 0.8  # the interval's nominal coverage
Z = 1.2816  # the standard normal's 90% quantile: a central 80% interval
MIN_POINTS = 4  # fewer points than this: the last value, with no extrapolation claimed
PLAUSIBLE_AICC = 10.0  # families whose fit is within this AICc of the best fit's vote (Burnham & Anderson)
KAPPA = 0.5  # the extrapolated change's own uncertainty, as a share of it (chosen a priori, not tuned)
# The families are fit to the curve after this share of its steps (steps 250-500 of a 500-step probe): the
# first steps fall fast for reasons the plateau does not share, and a fit bent by them extrapolated drops
# that never came. Chosen among 0, 0.2, 0.4 and 0.6 on the first 75 dev curves, checked on the later ones
# (bench/forecast/README.md).
FIT_FROM_SHARE = 0.4
# A prior on where the curve ends: its current level, give or take this much on the log scale (a factor of
# e). The ensemble's forecast is weighed against it by their precisions (a normal prior and likelihood), so
# an uncertain extrapolation of a steep fall (0.48 at step 500 forecast to 0.028, sigma 1.9; it reached 0.10)
# stays near the level, and a confident one moves freely. Chosen among none, 0.3, 0.5, 0.7 and 1.0 on the
# first 181 dev curves (it put the faulty/fixed order right in 51 of 52 pairs instead of 48), checked on
# the later ones (bench/forecast/README.md).
PRIOR_SIGMA = 1.0


@dataclass
class Forecast:
    """The forecast validation error at `horizon` steps, with its `LEVEL` interval [low, high]."""

    horizon: int
    value: float
    low: float
    high: float
    observed_steps: int  # the last step the curve reached
    last: float  # the curve's level at its end: the median of its last three points
    sigma: float  # the interval's half-width on the log scale, before the z factor
    families: dict = field(default_factory=dict)  # family -> (forecast at the horizon, weight)
    method: str = "ensemble"  # "ensemble" | "last value" (too few points, or already at the horizon) | "diverged"

    @property
    def extrapolated(self) -> bool:
        return self.horizon > self.observed_steps and self.method == "ensemble"

    def to_dict(self) -> dict:
        def num(v):
            return float(v) if math.isfinite(v) else None

        return {"horizon": self.horizon, "value": num(self.value), "low": num(self.low), "high": num(self.high),
                "level": LEVEL, "observed_steps": self.observed_steps, "last": num(self.last),
                "method": self.method,
                "families": {k: [num(v), round(w, 3)] for k, (v, w) in self.families.items()}}


# ---------------------------------------------------------------------------------------------- families
# Each family is f(u; params) on u = step / last observed step (so the fit is scale-free and the horizon is
# u = horizon / last step), decreasing towards a floor c >= 0 except `pow2`, which may also rise (a validation
# error that climbs: overfitting).


def _pow3(u, c, a, alpha):
    return c + a * u ** (-alpha)


def _exp3(u, c, a, b):
    return c + a * np.exp(-b * u)


def _pow2(u, a, alpha):
    return a * u ** (-alpha)


def _mmf(u, c, a, b, d):
    return c + a / (1.0 + (b * u) ** d)


def _log_power(u, c, a, b):
    return c + a / np.log(math.e + b * u)


def _families(last: float, first: float):
    """(name, function, initial guess, lower bounds, upper bounds) of every family, for a curve from `first`
    to `last`."""
    top = max(first, last) * 10 + 1e-9
    return (
        ("pow3", _pow3, [0.5 * last, max(first - 0.5 * last, 1e-6), 0.5], [0, 0, 1e-3], [last * 1.5 + 1e-9, top, 6]),
        ("exp3", _exp3, [0.8 * last, max(first, 1e-6), 3.0], [0, 0, 1e-3], [last * 1.5 + 1e-9, top * 10, 60]),
        ("pow2", _pow2, [last, 0.3], [1e-12, -1.0], [top, 6]),
        ("mmf", _mmf, [0.5 * last, max(first, 1e-6), 2.0, 1.5], [0, 0, 1e-3, 0.1],
         [last * 1.5 + 1e-9, top * 10, 100, 8]),
        ("log_power", _log_power, [0.5 * last, max(first, 1e-6), 5.0], [0, 0, 1e-3], [last * 1.5 + 1e-9, top * 10, 1e4]),
    )


def _fit(fn, p0, lo, hi, u, logy):
    """(parameters, residual sum of squares on the log scale) of `fn` fit to log values, or None."""
    from scipy.optimize import least_squares

    p0 = np.clip(np.asarray(p0, float), np.asarray(lo, float) + 1e-12, np.asarray(hi, float) - 1e-12)

    def residuals(p):
        pred = fn(u, *p)
        return np.log(np.maximum(pred, 1e-12)) - logy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = least_squares(residuals, p0, bounds=(lo, hi), max_nfev=400, loss="soft_l1", f_scale=0.1)
        except (ValueError, FloatingPointError):
            return None
    if not np.all(np.isfinite(fit.x)):
        return None
    rss = float(np.sum(fit.fun ** 2))
    return fit.x, rss


def forecast(points, horizon: int, *, scale: float | None = None) -> Forecast:
    """The validation error `points` [(step, value), ...] forecast at `horizon` steps.

    Values must be positive errors (relative MSE, 1 - SSIM); a non-finite value ends the curve there (a run
    that diverged forecasts +inf). A curve already at or past the horizon answers its value there; fewer than
    `MIN_POINTS` points answer the last value with the curve's own scatter as the interval.

    The ensemble: every family is fit to the log values after `FIT_FROM_SHARE` of the curve's steps, with a
    robust loss (one spiky checkpoint does not bend the fit); the families whose fit is plausible (AICc within `PLAUSIBLE_AICC` of the best) each forecast
    the horizon, and the forecast is their median. Its uncertainty adds, on the log scale, the families'
    disagreement, the points' scatter around their fits (growing with how far the forecast reaches), and
    `KAPPA` x the change the forecast extrapolates beyond the curve's current level (a forecast that the error
    halves again is itself uncertain by about that much); it is then weighed against the prior that the curve
    stays near its level (`PRIOR_SIGMA`), and `scale` (`INTERVAL_SCALE`) widens it to the measured 80%."""
    scale = INTERVAL_SCALE if scale is None else scale
    pts = [(int(s), float(v)) for s, v in points if v is not None]
    if not pts:
        return Forecast(horizon, math.nan, math.nan, math.nan, 0, math.nan, math.inf, method="no curve")
    if any(not math.isfinite(v) for _, v in pts):
        step = next(s for s, v in pts if not math.isfinite(v))
        return Forecast(horizon, math.inf, math.inf, math.inf, step, math.inf, 0.0, method="diverged")
    pts = [(s, max(v, 1e-9)) for s, v in pts]
    last_step = pts[-1][0]
    at = [v for s, v in pts if s == horizon]
    if last_step >= horizon and at:
        return Forecast(horizon, at[-1], at[-1], at[-1], last_step, pts[-1][1], 0.0, method="observed")
    steps = np.array([s for s, _ in pts], float)
    logy = np.log(np.array([v for _, v in pts]))
    level = float(np.median(logy[-3:]))  # where the curve is now: the last few points, not one noisy reading
    if len(pts) < MIN_POINTS:
        sigma = float(np.std(logy)) if len(pts) > 1 else 0.5
        return _interval(horizon, level, sigma * scale, last_step, math.exp(level), {}, "last value")
    start = min(int(np.searchsorted(steps, FIT_FROM_SHARE * last_step, side="right")), len(pts) - MIN_POINTS)
    steps, logy = steps[start:], logy[start:]
    u, uh, n = steps / last_step, horizon / last_step, len(steps)
    fits = []
    for name, fn, p0, lo, hi in _families(math.exp(level), float(np.exp(logy[0]))):
        fitted = _fit(fn, p0, lo, hi, u, logy)
        if fitted is None:
            continue
        params, rss = fitted
        k = len(params)
        pred = float(fn(np.array([uh]), *params)[0])
        if not (math.isfinite(pred) and pred > 0):
            continue
        sigma2 = max(rss / n, 1e-8)
        aicc = n * math.log(sigma2) + 2 * k + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else 2 * k * (k + 1))
        fits.append((name, math.log(pred), aicc, rss / max(n - k, 1)))
    if not fits:
        sigma = float(np.std(logy[-MIN_POINTS:]))
        return _interval(horizon, level, sigma * scale, last_step, math.exp(level), {}, "last value")
    best = min(a for _, _, a, _ in fits)
    plausible = [f for f in fits if f[2] - best <= PLAUSIBLE_AICC]
    logs = np.array([lp for _, lp, _, _ in plausible])
    center = float(np.median(logs))
    between = float(np.mean((logs - center) ** 2))
    noise = float(np.median([r for *_, r in plausible]))
    # The scatter of the points around the fit is the noise of one reading; a forecast further out is less
    # certain, so that part grows with the log of how far it reaches (one more doubling, one more unit).
    reach = 1.0 + math.log2(max(uh, 1.0))
    structural = (KAPPA * (center - level)) ** 2
    sigma = math.sqrt(between + noise * reach + structural)
    center, sigma = _with_prior(center, sigma, level)
    kept = {name for name, *_ in plausible}
    families = {name: (math.exp(lp), 1.0 / len(plausible) if name in kept else 0.0) for name, lp, _, _ in fits}
    return _interval(horizon, center, sigma * scale, last_step, math.exp(level), families, "ensemble")


def _with_prior(center: float, sigma: float, level: float) -> tuple:
    """(center, sigma) of the forecast weighed against the prior N(level, PRIOR_SIGMA) on the log scale."""
    if sigma <= 0:
        return center, sigma
    precision = 1.0 / sigma ** 2 + 1.0 / PRIOR_SIGMA ** 2
    weight = (1.0 / sigma ** 2) / precision
    return weight * center + (1.0 - weight) * level, math.sqrt(1.0 / precision)


def _interval(horizon, center_log, sigma, last_step, last, families, method) -> Forecast:
    half = Z * sigma
    return Forecast(horizon, math.exp(center_log), math.exp(center_log - half), math.exp(center_log + half),
                    int(last_step), float(last), float(sigma), families, method)


def forecast_probe(probe, metric: str, horizon: int) -> Forecast:
    """A probe's (`ProbeResult`) check-batch curve of `metric` forecast at `horizon` steps."""
    return forecast([(step, values.get(metric)) for step, values in probe.checkpoints], horizon)


@dataclass
class HorizonComparison:
    """Two probes' forecasts at the horizon: the gain a change is forecast to keep there, on the log scale,
    and the width it must beat for the two `LEVEL` intervals to separate."""

    before: Forecast
    after: Forecast
    log_gain: float  # log(before / after) of the forecasts
    width: float  # z x the two forecasts' joint sigma: a gain beyond it separates them

    @property
    def separates(self) -> bool:
        return self.log_gain > self.width

    def to_dict(self) -> dict:
        return {"horizon": self.before.horizon, "before": self.before.to_dict(), "after": self.after.to_dict(),
                "log_gain": float(self.log_gain) if math.isfinite(self.log_gain) else None,
                "width": float(self.width), "separates": self.separates}


def compare_at_horizon(before, after, metric: str, horizon: int, after_horizon: int | None = None):
    """The forecasts (`HorizonComparison`) of probes `before` and `after` (`ProbeResult`s) on `metric` at
    `horizon` steps (`after_horizon` for `after` when it trains at another batch size: as many samples);
    None when either has no check-batch curve."""
    if not before.checkpoints or not after.checkpoints:
        return None
    fb = forecast_probe(before, metric, horizon)
    fa = forecast_probe(after, metric, after_horizon or horizon)
    if not (math.isfinite(fb.value) or math.isfinite(fa.value)):
        return None
    if math.isinf(fb.value) and math.isfinite(fa.value):
        gain = math.inf
    elif not math.isfinite(fa.value) or fa.value <= 0 or not fb.value > 0:
        gain = -math.inf
    else:
        gain = math.log(fb.value / fa.value)
    return HorizonComparison(fb, fa, gain, Z * math.hypot(fb.sigma, fa.sigma))
