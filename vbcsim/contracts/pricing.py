"""Exact expected recoveries of stop-loss layers under the scenario's systematic risk.

A reinsurer prices a layer at its expected recovery times ``1 + loading``.  The engine
multiplies every member's annual cost in a scenario by the scenario's systematic factor f
(:class:`vbcsim.ScenarioRisk`: a mean-one lognormal trend, times ``1 + shock_size`` in a shock
year), so the expected recovery is a mixture over f, not the baseline year's figure:

- specific layer at a: E[Σ (f X − a)+] = Σ_members E_f[f · E[(X − a / f)+]];
- aggregate layer at d on the total S: E[(f S − d)+] = E_f[f · E[(S − d / f)+]];
- aggregate layer on claims net of specific recoveries (:func:`net_aggregate_stop_loss`):
  N = Σ min(f X, a) = f · Σ min(X, a / f), so E[(N − d)+] = E_f[f · E[(Σ min(X, a / f) − d / f)+]].

Excess layers grow faster than the factor (leveraged trend): (f X − a)+ is convex in f, so
E_f[(f X − a)+] ≥ (E[f] X − a)+, and a 10% shock raises a high layer's recoveries by far more
than 10%.  The expectation over f is a Gauss-Hermite quadrature for the lognormal trend (exact to
machine precision for these smooth integrands at the node counts used: the tests compare
against twice as many nodes) times the two shock states; the inner expectations are closed forms
(specific) or the FFT oracle of :mod:`vbcsim.population.exact` (aggregate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vbcsim.population.distributions import Compound, Hurdle, Severity

__all__ = [
    "systematic_nodes",
    "expected_factor",
    "mixed_excess",
    "mixed_aggregate_stop_loss",
    "net_aggregate_stop_loss",
    "Limited",
]

#: Gauss-Hermite nodes for the lognormal trend: closed forms are cheap, so many nodes
TREND_NODES = 48
#: nodes where each costs one FFT of the population (the net aggregate layer)
TREND_NODES_FFT = 16


def systematic_nodes(scenario_risk, n: int = TREND_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Factors and weights with Σ w g(f) = E[g(f)] for the scenario's systematic factor f.

    None (no systematic risk) gives the single factor 1.  The trend exp(s Z − s²/2), with
    s² = log(1 + trend_cv²), is integrated by ``n``-point Gauss-Hermite quadrature; a shock
    multiplies it by ``1 + shock_size`` with probability ``shock_probability``.
    """
    if scenario_risk is None:
        return np.ones(1), np.ones(1)
    s = math.sqrt(math.log1p(scenario_risk.trend_cv**2))
    if s > 0:
        z, w = np.polynomial.hermite_e.hermegauss(n)
        trend, tw = np.exp(s * z - 0.5 * s * s), w / math.sqrt(2.0 * math.pi)
    else:
        trend, tw = np.ones(1), np.ones(1)
    p, c = scenario_risk.shock_probability, scenario_risk.shock_size
    if p > 0:
        return np.concatenate([trend, trend * (1.0 + c)]), np.concatenate([tw * (1.0 - p), tw * p])
    return trend, tw


def expected_factor(scenario_risk) -> float:
    """E[f]: 1 + shock_probability × shock_size (the trend has mean one)."""
    return 1.0 if scenario_risk is None else float(scenario_risk.mean())


def mixed_excess(population, attachment: float, scenario_risk) -> float:
    """E[Σ_members (f X − attachment)+] over the population and the systematic factor f."""
    f, w = systematic_nodes(scenario_risk)
    total = 0.0
    for seg in population:
        sl = np.asarray(seg.cost.stop_loss(attachment / f), dtype=float)
        total += seg.members * float(np.dot(w, f * sl))
    return total


def mixed_aggregate_stop_loss(oracle, scenario_risk):
    """d -> E[(f S − d)+] from ``oracle`` (d -> E[(S − d)+] of the baseline total S)."""
    f, w = systematic_nodes(scenario_risk)

    def stop_loss(d: float) -> float:
        return float(sum(wi * fi * float(oracle(d / fi)) for fi, wi in zip(f, w, strict=True)))

    return stop_loss


@dataclass(frozen=True)
class Limited(Severity):
    """min(X, cap): a member's cost retained below a specific stop-loss attachment.

    Used only to price aggregate stop-loss on claims net of specific recoveries with the FFT
    oracle; its atom at ``cap`` is exact in the oracle's mean-matching discretisation, which works
    from limited means.
    """

    base: Severity
    cap: float

    def mean(self) -> float:
        return float(self.base.limited_mean(self.cap))

    def var(self) -> float:
        m2 = float(self.base.partial_moment(2, self.cap)) + self.cap**2 * float(self.base.sf(self.cap))
        return max(m2 - self.mean() ** 2, 0.0)

    def _cdf(self, x):
        return np.where(x >= self.cap, 1.0, self.base.cdf(x))

    def _sf(self, x):
        return np.where(x >= self.cap, 0.0, self.base.sf(x))

    def _pdf(self, x):
        return np.where(x >= self.cap, 0.0, self.base.pdf(x))

    def _ppf(self, q):
        return np.minimum(self.base.ppf(q), self.cap)

    def partial_moment(self, k: int, d):
        d = np.asarray(d, dtype=float)
        below = np.asarray(self.base.partial_moment(k, np.minimum(d, self.cap)), dtype=float)
        atom = self.cap**k * float(self.base.sf(self.cap))
        return np.where(d >= self.cap, below + atom, below)

    def limited_mean(self, d):
        return self.base.limited_mean(np.minimum(np.asarray(d, dtype=float), self.cap))


def _limited(dist, cap: float):
    """Member cost ``dist`` limited at ``cap`` per member, or a ValueError where that is not a severity."""
    if isinstance(dist, Hurdle):
        if isinstance(dist.severity, Compound):
            raise ValueError(
                "AggregateStopLoss: the net-of-specific premium needs each member's cost as one severity; "
                "a Compound (claim-by-claim) cost is not supported: give premium_pmpm"
            )
        return Hurdle(dist.p_nonzero, Limited(dist.severity, cap))
    if isinstance(dist, Compound):
        raise ValueError(
            "AggregateStopLoss: the net-of-specific premium needs each member's cost as one severity; "
            "a Compound (claim-by-claim) cost is not supported: give premium_pmpm"
        )
    return Limited(dist, cap)


def net_aggregate_stop_loss(population, specific_attachment: float, scenario_risk, segments=None):
    """d -> E[(N − d)+] and E[N] for N = Σ min(f X, a), claims net of specific recoveries at a.

    ``segments`` (None: all) are the segments the specific cover protects; the others' members
    count in full.  One FFT of the limited population per quadrature node (cached per node).
    """
    from vbcsim.population import exact

    f, w = systematic_nodes(scenario_risk, TREND_NODES_FFT)
    a = float(specific_attachment)
    covered = None if segments is None else set(segments)
    cache: dict[int, object] = {}

    def _member(seg, i: int):
        return _limited(seg.cost, a / f[i]) if covered is None or seg.name in covered else seg.cost

    def _agg(i: int):
        if i not in cache:
            cache[i] = exact.aggregate_population([(_member(s, i), s.members) for s in population])
        return cache[i]

    def stop_loss(d: float) -> float:
        return float(sum(w[i] * f[i] * float(_agg(i).stop_loss(d / f[i])) for i in range(len(f))))

    mean = float(
        sum(
            w[i] * f[i] * sum(s.members * float(_member(s, i).mean()) for s in population)
            for i in range(len(f))
        )
    )
    return stop_loss, mean
