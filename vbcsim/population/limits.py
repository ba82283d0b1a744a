"""The range of cost distributions the engine simulates, checked before a run.

Any finite parameters construct a distribution of :mod:`vbcsim.population.distributions` (its
moments are then exact, ``inf`` where they do not exist or overflow a double).  Simulating
one, or pricing a premium at its expected cost, needs more (:func:`check_simulable`):

- a finite mean: every Pareto tail in it has ``alpha > 1``;
- a mean of at most :data:`MAX_MEAN_COST` (1e15) per member-year;
- a variance that is finite, or infinite only because of a Pareto tail with ``1 < alpha <= 2``
  (a variance that exists but overflows a double means draws that overflow too: for example
  ``Lognormal(7, 50)``, ``Gamma(2, 1e308)``);
- at most :data:`MAX_CLAIMS_PER_MEMBER` (1e6) expected claims per member-year for a
  :class:`~vbcsim.population.distributions.Compound` (the engine draws every claim).

The limits are module constants; raise them to allow more.
"""

from __future__ import annotations

import math

from vbcsim.population.distributions import Compound, Distribution, Hurdle, Pareto, Spliced

__all__ = ["check_simulable", "MAX_CLAIMS_PER_MEMBER", "MAX_MEAN_COST"]

#: largest expected claim count per member-year the engine simulates (a Poisson or negative
#: binomial frequency's mean): a member with a million claims a year is already far outside any
#: book of business, and the engine draws every claim.  Constructing a larger frequency is fine
#: (its moments are exact); simulating it is refused.  Raise this module constant to allow more.
MAX_CLAIMS_PER_MEMBER = 1e6

#: largest expected annual cost per member the engine simulates, in currency units: generous in
#: any currency, and far enough below the largest double (1.8e308) that sums over every member
#: draw of a run stay finite.  Raise this module constant to allow more.
MAX_MEAN_COST = 1e15


def _infinite_variance_by_tail(dist) -> bool:
    """True where the variance does not exist (a Pareto tail with alpha <= 2), not merely overflows."""
    if isinstance(dist, Pareto):
        return dist.alpha <= 2.0
    if isinstance(dist, Spliced):
        return dist.tail_weight > 0 and _infinite_variance_by_tail(dist.tail)
    if isinstance(dist, Hurdle):
        return dist.p_nonzero > 0 and _infinite_variance_by_tail(dist.severity)
    if isinstance(dist, Compound):
        return dist.frequency.mean() > 0 and _infinite_variance_by_tail(dist.severity)
    return False


def _mean_problem(dist) -> str | None:
    """Why ``dist``'s mean is infinite by its parameters (not by overflow), or None."""
    if isinstance(dist, Pareto) and dist.alpha <= 1.0:
        return f"{dist!r}: infinite mean (alpha <= 1)"
    if isinstance(dist, Spliced) and dist.tail_weight > 0:
        return _mean_problem(dist.tail)
    if isinstance(dist, Hurdle) and dist.p_nonzero > 0:
        return _mean_problem(dist.severity)
    if isinstance(dist, Compound):
        n = dist.frequency.mean()
        if n > MAX_CLAIMS_PER_MEMBER:
            return (
                f"{dist.frequency!r}: {n:.3g} expected claims per member-year, more than the engine's "
                f"limit of {MAX_CLAIMS_PER_MEMBER:.3g} (population.limits.MAX_CLAIMS_PER_MEMBER)"
            )
        if n > 0:
            return _mean_problem(dist.severity)
    return None


def _moment(method) -> float:
    """A moment, ``inf`` where computing it overflows (``math.exp`` raises rather than returns inf)."""
    try:
        return float(method())
    except OverflowError:
        return math.inf


def check_simulable(dist, *, owner: str) -> Distribution:
    """``dist`` if the engine can simulate it, else a ValueError starting with ``owner`` and saying why.

    Any finite parameters construct a distribution (its moments are then exact, ``inf`` where they
    do not exist or overflow); the engine, and the premium at expected cost, need more:

    - a finite mean (a Pareto needs alpha > 1, as tails anywhere in ``dist``);
    - a mean of at most ``MAX_MEAN_COST`` (1e15) per member-year;
    - a variance that is finite or infinite because of a Pareto tail with 1 < alpha <= 2 (an
      existing variance that overflows a double means draws that overflow);
    - at most ``MAX_CLAIMS_PER_MEMBER`` (1e6) expected claims per member-year.
    """
    problem = _mean_problem(dist)
    if problem is None:
        m, v = _moment(dist.mean), _moment(dist.var)
        if not math.isfinite(m):
            problem = f"{dist!r}: its mean overflows a double"
        elif m > MAX_MEAN_COST:
            problem = (
                f"{dist!r}: mean {m:.3g} per member-year, more than the engine's limit of "
                f"{MAX_MEAN_COST:.3g} (population.limits.MAX_MEAN_COST)"
            )
        elif not math.isfinite(v) and not _infinite_variance_by_tail(dist):
            problem = f"{dist!r}: its variance exists but overflows a double, so its draws would too"
    if problem is not None:
        raise ValueError(f"{owner}: {problem}; the engine needs a finite mean and a representable cost")
    return dist
