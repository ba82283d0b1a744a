"""Persistence of a member's cost from one year to the next.

In a multi-year run each member ("slot") of a segment carries two independent latent Gaussian
AR(1) processes across years, ``a_t`` (occurrence) and ``b_t`` (severity), each stationary N(0, 1)
with lag-1 correlation ``rho``.  :func:`member_costs` maps them to the year's cost so that each
year's cost is distributed exactly as the segment's cost distribution whatever ``rho``; ``rho``
sets only the persistence.  :class:`Persistence` states that persistence as an observable
statistic (the share of the top decile who stay there next year, or the rank correlation of
consecutive years), :meth:`Persistence.latent_correlation` finds the ``rho`` that gives it, and
:func:`persistence_statistics` measures both statistics on data.  A Compound cost draws fresh
claim amounts each year, so only its claim count persists and high targets can be out of reach.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats
from scipy.stats import qmc

from vbcsim._validation import check_real
from vbcsim.population.distributions import Compound, Hurdle, Lognormal, _check_rng, check_distribution

__all__ = [
    "DEFAULT_TOP_DECILE_STAY",
    "FALLBACK_LATENT_CORRELATION",
    "Persistence",
    "default_latent_correlation",
    "member_costs",
    "persistence_statistics",
]

#: Share of the top 10% of members by annual cost who are again in the top 10% the next year.
#: Hirth, Gibson, Levy, Smith, Calonico & Das, "New evidence on the persistence of health
#: spending", Medical Care Research and Review 72(3):277-297 (2015), doi:10.1177/1077558715572387:
#: in the MarketScan claims of the privately insured under-65 population, of the enrollees in the
#: top 10% of spending in 2003, 43.4% were in the top 10% one year later (34.4% five years later).
#: For comparison: Monheit, "Persistence in health expenditures in the short run: prevalence and
#: consequences", Medical Care 41(7 Suppl):III53-III64 (2003), MEPS 1996-97: of the top 5% of
#: spenders in 1996, 45% were in the top decile in 1997; Cohen & Yu, AHRQ MEPS Statistical Brief
#: #354, "The Concentration and Persistence in the Level of Health Expenditures over Time:
#: Estimates for the U.S. Population, 2008-2009" (January 2012): 20.0% of the top 1% in 2008
#: kept that ranking in 2009; Medicare fee-for-service (Figueroa, Zhou & Jha, Health Affairs,
#: January 2019, summarised by the Commonwealth Fund as "High-Cost Medicare Patients Persistent
#: for Three Years"): 28% of the top 10% in 2012 stayed in the top 10% through 2014.
DEFAULT_TOP_DECILE_STAY = 0.434

_TOP = 0.1  # the top decile
_SAMPLE_LOG2 = 18  # 2**18 stationary pairs for the sampled (compound) calibration
_POOL = 2**20  # claims drawn per year for the sampled calibration
_SEED = 20240607  # fixed: the sampled calibration is deterministic
_U_MAX = float(np.nextafter(1.0, 0.0))  # ndtr(b) is clipped below 1 so that costs stay finite


def _split(cost):
    """(p, S): the probability that the hurdle is passed and the cost when it is."""
    if isinstance(cost, Hurdle):
        return cost.p_nonzero, cost.severity
    return 1.0, cost


def _uniform(b):
    return np.minimum(special.ndtr(b), _U_MAX)


def member_costs(cost, a, b, rng=None) -> np.ndarray:
    """Annual costs of members with latent occurrence ``a`` and severity ``b`` (the numpy reference).

    Parameters
    ----------
    cost : Distribution
        The segment's cost distribution (Lognormal, Gamma, Pareto, Spliced, Compound or Hurdle).
    a, b : array_like
        The latent N(0, 1) values of this year, of equal shape.
    rng : numpy.random.Generator, int or None
        Draws the claim amounts of a Compound cost (fresh each call); unused otherwise.

    Returns
    -------
    numpy.ndarray
        Costs of the shape of ``a``.  With p = ``cost.p_nonzero`` and S = ``cost.severity`` for a
        Hurdle, else p = 1 and S = ``cost``: 0 where ``a <= ndtri(1 - p)``, else ``S.ppf(ndtr(b))``
        (exactly ``exp(mu + sigma b)`` for a Lognormal; ndtr(b) is kept below 1 so that costs are
        finite), or for a Compound S the sum of N iid fresh claims, N = min{n : F_N(n) >= ndtr(b)}.
        With ``a`` and ``b`` independent N(0, 1) the costs are distributed as ``cost``.
    """
    cost = check_distribution("member_costs: cost", cost)
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"member_costs: a and b must have the same shape, got {a.shape} and {b.shape}")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("member_costs: a and b must not hold NaN")
    p, sev = _split(cost)
    nonzero = a > special.ndtri(1.0 - p)
    out = np.zeros(a.shape)
    if isinstance(sev, Lognormal):
        with np.errstate(over="ignore"):
            out[nonzero] = np.exp(sev.mu + sev.sigma * b[nonzero])
        return out
    if not isinstance(sev, Compound):
        out[nonzero] = sev.ppf(_uniform(b[nonzero]))
        return out
    counts = np.asarray(sev.frequency.ppf(_uniform(b[nonzero])), dtype=np.int64)
    claims = np.asarray(sev.severity.sample(int(counts.sum()), _check_rng(rng)), dtype=float)
    starts = np.concatenate([[0], np.cumsum(counts)])
    sums = np.add.reduceat(np.concatenate([claims, [0.0]]), starts[:-1]) if counts.size else claims[:0]
    out[nonzero] = np.where(counts > 0, sums, 0.0)
    return out


# ---------------------------------------------------------------------------------------------
# empirical statistics
# ---------------------------------------------------------------------------------------------


def _top_decile_stay(x0, x1):
    """(stay, size of the year-0 top decile); the top decile of a year is x > its 90th percentile."""
    q0, q1 = np.quantile(x0, 1.0 - _TOP), np.quantile(x1, 1.0 - _TOP)
    if q0 <= 0.0 or q1 <= 0.0:
        raise ValueError(
            "persistence_statistics: fewer than 10% of the members have a positive cost in a year, "
            "so the top decile is not defined"
        )
    top0 = x0 > q0
    n0 = int(top0.sum())
    return float(np.count_nonzero(x1[top0] > q1)) / n0, n0


def _rank_correlation(r0, r1):
    """Spearman correlation: the Pearson correlation of average ranks ``r0`` and ``r1``."""
    d0, d1 = r0 - r0.mean(), r1 - r1.mean()
    denom = math.sqrt(float(d0 @ d0) * float(d1 @ d1))
    return float(d0 @ d1) / denom if denom > 0 else 0.0


def _above(x, w):
    """(1/n) sum_j w_j (1{x_j > x_i} + 1{x_j = x_i} / 2) for every i."""
    values, inverse = np.unique(x, return_inverse=True)
    group = np.bincount(inverse, weights=w, minlength=values.size)
    strictly = np.cumsum(group[::-1])[::-1] - group
    return (strictly + 0.5 * group)[inverse] / x.size


def _rank_correlation_se(x0, x1, r0, r1, r):
    """Asymptotic standard error of Spearman's r with ties, from its influence function.

    r is the correlation of the mid-distribution functions u = F~(x0), v = G~(x1) (average rank
    - 1/2) / n.  The influence of a member on E[u v] is u v + E[k(x0, X0) v] + E[u k(x1, X1)], on
    E[u^2] it is u^2 + 2 E[k(x0, X0) u], with k(x, X) = 1{x < X} + 1{x = X} / 2, and the delta
    method combines them; the SE is the standard deviation of that influence over sqrt(n).
    """
    n = x0.size
    u, v = (r0 - 0.5) / n, (r1 - 0.5) / n
    var_u, var_v = float(u.var()), float(v.var())
    if var_u == 0.0 or var_v == 0.0:
        return math.nan
    influence = (u * v + _above(x0, v) + _above(x1, u)) / math.sqrt(var_u * var_v) - 0.5 * r * (
        (u * u + 2.0 * _above(x0, u)) / var_u + (v * v + 2.0 * _above(x1, v)) / var_v
    )
    return float(influence.std()) / math.sqrt(n)


def persistence_statistics(x0, x1) -> dict:
    """The persistence of costs measured on the same members in two consecutive years.

    Parameters
    ----------
    x0, x1 : array_like
        One-dimensional annual costs, ``x0[i]`` and ``x1[i]`` of the same member; at least 10.

    Returns
    -------
    dict
        ``n``; ``top_decile_stay``, the share of the members above the 90th percentile of ``x0``
        (numpy's default, linearly interpolated, percentile) who are above the 90th percentile
        of ``x1``, with ``top_decile_stay_se`` its binomial standard error
        sqrt(s (1 - s) / n_top); ``rank_correlation``, Spearman's correlation with average ranks
        for ties (the zeros), with ``rank_correlation_se`` its asymptotic standard error from the
        influence function of the rank correlation (delta method, ties included; valid for any
        dependence, unlike the Fieller-Hartley-Pearson 1.06 / (n - 3) on Fisher's z, which
        assumes bivariate normal data and understates it by ~30% for these costs at r = 0.6).
    """
    x0 = np.asarray(x0, dtype=float)
    x1 = np.asarray(x1, dtype=float)
    if x0.ndim != 1 or x0.shape != x1.shape:
        raise ValueError(
            f"persistence_statistics: x0 and x1 must be one-dimensional of equal length, got shapes "
            f"{x0.shape} and {x1.shape}"
        )
    n = x0.size
    if n < 10:
        raise ValueError(f"persistence_statistics: need at least 10 members, got {n}")
    if not (np.isfinite(x0).all() and np.isfinite(x1).all()):
        raise ValueError("persistence_statistics: x0 and x1 must be finite")
    stay, n_top = _top_decile_stay(x0, x1)
    r0, r1 = stats.rankdata(x0), stats.rankdata(x1)
    r = _rank_correlation(r0, r1)
    return {
        "n": n,
        "top_decile_stay": stay,
        "top_decile_stay_se": math.sqrt(stay * (1.0 - stay) / n_top),
        "rank_correlation": r,
        "rank_correlation_se": _rank_correlation_se(x0, x1, r0, r1, r),
    }


# ---------------------------------------------------------------------------------------------
# the statistics of a stationary member as functions of rho
# ---------------------------------------------------------------------------------------------


def _upper_orthant(h, rho):
    """P(Z1 > h, Z2 > h) for standard bivariate normal (Z1, Z2) with correlation rho >= 0.

    Owen (1956): P(Z1 <= h, Z2 <= h) = Phi(h) - 2 T(h, sqrt((1 - rho) / (1 + rho))), and by symmetry
    the upper orthant at h is the lower one at -h.
    """
    if h == -math.inf:
        return 1.0
    if rho >= 1.0:
        return float(special.ndtr(-h))
    return float(special.ndtr(-h) - 2.0 * special.owens_t(h, math.sqrt((1.0 - rho) / (1.0 + rho))))


def _exact_statistic(name, cost):
    """The statistic as an exact function of rho, for a non-compound cost."""
    p, _ = _split(cost)
    c = float(special.ndtri(1.0 - p))
    if name == "top_decile_stay":
        d = float(special.ndtri(1.0 - _TOP / p))  # P(b > d) p = 0.1: the top decile is {a > c, b > d}
        return lambda rho: _upper_orthant(c, rho) * _upper_orthant(d, rho) / _TOP

    # Spearman = corr(G(X1), G(X2)), G the mid-distribution function (average ranks / n):
    # G = (1 - p) / 2 + I W with I = 1{a > c}, W = (1 - p) / 2 + p ndtr(b), I independent of W,
    # and E[ndtr(b1) ndtr(b2)] = 1/4 + asin(rho / 2) / (2 pi)
    h = (1.0 - p) / 2.0
    ew2 = h * h + h * p + p * p / 3.0
    var = p * ew2 - p * p / 4.0

    def spearman(rho):
        ew1w2 = h * h + h * p + p * p * (0.25 + math.asin(rho / 2.0) / (2.0 * math.pi))
        return (_upper_orthant(c, rho) * ew1w2 - p * p / 4.0) / var

    return spearman


@functools.lru_cache(maxsize=1)
def _latents():
    """Scrambled Sobol N(0, 1) points (a1, e_a, b1, e_b) of the sampled calibration."""
    u = qmc.Sobol(4, scramble=True, seed=_SEED).random_base2(_SAMPLE_LOG2)
    z = special.ndtri(np.clip(u, 1e-12, 1.0 - 1e-12))
    z.setflags(write=False)
    return tuple(z.T)


def _sampled_statistic(name, cost):
    """The statistic as a function of rho on a fixed sample of stationary pairs (compound costs).

    The claims come from a fixed pool per year and a member's N claims are a run of the pool from
    a fixed offset, so that only the counts move with rho and the statistic is a step function of
    rho with small steps (common random numbers), not a noisy one.
    """
    p, sev = _split(cost)
    c = float(special.ndtri(1.0 - p))
    a1, ea, b1, eb = _latents()
    rng = np.random.default_rng(_SEED)
    n_cap = int(sev.frequency.ppf(_uniform(float(np.sqrt(b1 * b1 + eb * eb).max()))))  # |b2| <= that
    if n_cap > 2**24:
        raise ValueError(f"Persistence: the claim count of {cost!r} is too large to calibrate by sampling")
    table = np.asarray(sev.frequency.cdf(np.arange(n_cap + 1)), dtype=float)
    pools = []
    for _ in range(2):  # fresh claims each year
        claims = np.asarray(sev.severity.sample(_POOL + n_cap, rng), dtype=float)
        pools.append((np.concatenate([[0.0], np.cumsum(claims)]), rng.integers(0, _POOL, a1.size)))

    def costs(a, b, year):
        csum, offset = pools[year]
        counts = np.minimum(np.searchsorted(table, _uniform(b)), n_cap)
        return np.where(a > c, csum[offset + counts] - csum[offset], 0.0)

    x0 = costs(a1, b1, 0)
    r0 = stats.rankdata(x0) if name == "rank_correlation" else None

    def statistic(rho):
        s = math.sqrt(max(1.0 - rho * rho, 0.0))
        x1 = costs(rho * a1 + s * ea, rho * b1 + s * eb, 1)
        if name == "top_decile_stay":
            return _top_decile_stay(x0, x1)[0]
        return _rank_correlation(r0, stats.rankdata(x1))

    return statistic


@functools.lru_cache(maxsize=256)
def _calibrate(name: str, target: float, cost) -> float:
    p, sev = _split(cost)
    share = p * (1.0 - float(sev.frequency.cdf(0))) if isinstance(sev, Compound) else p
    if name == "top_decile_stay" and share < _TOP:
        raise ValueError(
            f"Persistence: top_decile_stay needs at least 10% of the members to have a positive cost, "
            f"but only {share:.4g} do under {cost!r}; give rank_correlation instead"
        )
    if share == 0.0:
        return 0.0  # every cost is zero: no persistence to speak of
    no_persistence = _TOP if name == "top_decile_stay" else 0.0
    if target <= no_persistence:
        return 0.0
    sampled = isinstance(sev, Compound)
    f = functools.lru_cache(maxsize=None)((_sampled_statistic if sampled else _exact_statistic)(name, cost))
    if f(0.0) >= target:  # within rounding (or, sampled, sampling noise) of no persistence
        return 0.0
    top = f(1.0)
    if top < target and not sampled:  # within rounding of 1
        return 1.0 - 1e-12
    if top < target:
        raise ValueError(
            f"Persistence: {name}={target!r} cannot be reached for {cost!r}: with fresh claim amounts "
            f"each year even rho -> 1 gives only {top:.4g}"
        )
    rho = optimize.brentq(lambda r: f(r) - target, 0.0, 1.0, xtol=1e-4 if sampled else 1e-13)
    return min(float(rho), 1.0 - 1e-12)


@dataclass(frozen=True)
class Persistence:
    """How persistent a member's cost is from one year to the next.

    Give at most one of

    ``top_decile_stay``
        the share of the members in the top 10% by cost in one year who are in the top 10% the
        next year, in [0.1, 1) (0.1: no persistence);
    ``rank_correlation``
        Spearman's rank correlation of a member's costs in consecutive years (average ranks for
        ties), in [0, 1) (0: no persistence).

    With neither, ``top_decile_stay`` is ``DEFAULT_TOP_DECILE_STAY`` = 0.434: Hirth et al., "New
    evidence on the persistence of health spending", Medical Care Research and Review 72(3):277-297
    (2015), found that 43.4% of the privately insured (MarketScan, under 65) in the top 10% of
    spending in 2003 were in the top 10% one year later.  (For comparison: 45% of the top 5% of
    1996 were in the top decile of 1997 in MEPS, Monheit, Medical Care 41(7 Suppl), 2003; in
    Medicare fee-for-service 28% of the top 10% of 2012 stayed there through 2014, Figueroa, Zhou
    & Jha, Health Affairs, 2019.)

    :meth:`latent_correlation` turns the statistic into the lag-1 correlation ``rho`` of the
    latent AR(1) processes that drive a segment's members.
    """

    top_decile_stay: float | None = None
    rank_correlation: float | None = None

    def __post_init__(self):
        stay, rank = self.top_decile_stay, self.rank_correlation
        if stay is not None and rank is not None:
            raise ValueError(
                "Persistence: give at most one of top_decile_stay and rank_correlation, got "
                f"top_decile_stay={stay!r} and rank_correlation={rank!r}"
            )
        if rank is not None:
            rank = check_real("rank_correlation", rank, owner="Persistence")
            if not 0.0 <= rank < 1.0:
                raise ValueError(
                    f"Persistence: rank_correlation must be in [0, 1) (0 is no persistence), got {rank!r}"
                )
            object.__setattr__(self, "rank_correlation", rank)
            return
        stay = (
            DEFAULT_TOP_DECILE_STAY
            if stay is None
            else check_real("top_decile_stay", stay, owner="Persistence")
        )
        if not _TOP <= stay < 1.0:
            raise ValueError(
                f"Persistence: top_decile_stay must be in [0.1, 1) (0.1, the share of a random tenth, is "
                f"no persistence), got {stay!r}"
            )
        object.__setattr__(self, "top_decile_stay", stay)

    @property
    def statistic(self) -> tuple[str, float]:
        """(name, value) of the statistic this persistence is stated in."""
        if self.rank_correlation is not None:
            return "rank_correlation", self.rank_correlation
        return "top_decile_stay", self.top_decile_stay

    def latent_correlation(self, cost) -> float:
        """The lag-1 correlation rho in [0, 1) of the latents that gives this persistence to ``cost``.

        For a member whose annual cost is ``cost`` in every year, with latents (a, b) stationary
        AR(1) of lag-1 correlation rho, the statistic of two consecutive years equals the target.
        It is computed exactly (bivariate normal orthants by Owen's T; Spearman in closed form)
        unless the cost is (or hides behind a hurdle) a Compound, which is calibrated on a fixed
        sample of 2**18 stationary pairs (Sobol latents, fixed seed; deterministic).  Results are
        cached per (statistic, cost).  No persistence gives rho = 0, and rho grows with the target.

        Raises ValueError when the top decile is not defined (fewer than 10% of members have a
        positive cost) or, for compound costs, when the target exceeds what rho -> 1 gives (the
        claim amounts are drawn afresh each year).
        """
        cost = check_distribution("Persistence.latent_correlation: cost", cost)
        name, value = self.statistic
        return _calibrate(name, value, cost)


#: the latent correlation of a cost that cannot reach the default persistence (a compound cost,
#: whose claims' sizes are drawn afresh each year, so only its claim count persists)
FALLBACK_LATENT_CORRELATION = 0.95


def default_latent_correlation(cost) -> float:
    """ρ of the default :class:`Persistence` for ``cost``; :data:`FALLBACK_LATENT_CORRELATION`
    where that is out of the cost's reach."""
    try:
        return Persistence().latent_correlation(cost)
    except ValueError:
        return FALLBACK_LATENT_CORRELATION
