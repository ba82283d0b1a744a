"""The published summary figures of a member cost distribution, exactly: :func:`describe`, :func:`top_share`.

What :func:`~vbcsim.analysis.calibrate.from_summary` takes and what a :class:`~vbcsim.analysis.calibrate.Fit`
compares its claims with (the formulas: the package documentation, *From summary figures*).
"""

from __future__ import annotations

import math

from vbcsim._validation import check_real
from vbcsim.population.distributions import Compound, Distribution, Hurdle, Severity, Spliced


def _safe(f):
    try:
        value = f()
    except (ValueError, ZeroDivisionError, OverflowError):
        return math.nan
    return float(value)


def _check_dist(name, dist):
    if not isinstance(dist, (Severity, Compound, Hurdle)):
        raise TypeError(
            f"{name} must be a cost distribution (Lognormal, Gamma, Pareto, Spliced, Hurdle or Compound), "
            f"got {type(dist).__name__}"
        )


def top_share(dist: Distribution, fraction: float = 0.01) -> float:
    """Share of total cost from the costliest ``fraction`` of members, exactly.

    ``(E[(X - q)+] + fraction q) / E[X]`` with ``q`` the ``1 - fraction`` quantile:
    the expected cost of the top ``fraction`` of members over the mean (equal to
    ``E[X; X > q] / E[X]`` when there is no atom at ``q``; ties at an atom are
    split).

    Parameters
    ----------
    dist : Distribution
        A member cost distribution with finite mean.
    fraction : float
        The top share of members, in (0, 1); 0.01 for the top 1%.
    """
    _check_dist("dist", dist)
    fraction = check_real("fraction", fraction, owner="top_share")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"top_share: fraction must be in (0, 1), got {fraction!r}")
    mean = dist.mean()
    if not (math.isfinite(mean) and mean > 0):
        raise ValueError(f"top_share: the distribution's mean must be finite and positive, got {mean!r}")
    q = float(dist.ppf(1.0 - fraction))
    return (float(dist.stop_loss(q)) + fraction * q) / mean


def describe(dist: Distribution) -> dict:
    """The published summary figures of a member cost distribution, exactly.

    Returns
    -------
    dict
        ``pmpm`` (mean / 12), ``mean`` (annual), ``cv``, ``p_zero`` (share of
        members with no cost), ``top1_share`` and ``top1_threshold`` (the 99%
        quantile: the cost that puts a member in the top 1%).  What
        :func:`from_summary` takes, so ``describe(from_summary(...))`` returns its
        inputs.  For a spliced severity (plain or in a hurdle, as
        :func:`from_summary` builds with a ``top1_share``) also ``tail_threshold``,
        the cost where the tail starts (the one ``tail_threshold="auto"`` chose).
    """
    _check_dist("dist", dist)
    mean = dist.mean()
    out = {
        "pmpm": mean / 12.0,
        "mean": mean,
        "cv": _safe(dist.cv),
        "p_zero": _p_zero(dist),
        "top1_share": _safe(lambda: top_share(dist)),
        "top1_threshold": float(dist.ppf(0.99)),
    }
    severity = dist.severity if isinstance(dist, Hurdle) else dist
    if isinstance(severity, Spliced):
        out["tail_threshold"] = float(severity.threshold)
    return out


def _p_zero(dist) -> float:
    if isinstance(dist, Hurdle):
        return (1.0 - dist.p_nonzero) + dist.p_nonzero * _p_zero(dist.severity)
    if isinstance(dist, Compound):
        return float(dist.frequency.pmf(0))
    return 0.0
