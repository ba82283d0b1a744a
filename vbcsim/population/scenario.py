"""Systematic risk: what all members of a scenario share.

Members' costs are independent given the scenario; what moves them together is
the year itself: cost trend that turns out higher or lower than priced, and the
occasional shock year (an epidemic, a new high-cost therapy).  Systematic risk
does not diversify away with panel size, which is why it matters for who bears
the risk of a large population.

Part of it is market-wide: shared with every population of the market, including the
reference population a benchmark is trended with.  A benchmark that is updated
retrospectively by the market's actual trend (the Medicare Shared Savings Program
updates the historical benchmark by the performance year's actual growth in national and
regional fee-for-service expenditure, 42 CFR 425.601 and, for agreement periods from 2024,
425.652) follows that part, so it turns into neither savings nor losses; only the local
part does.  :meth:`ScenarioRisk.sample_market` gives the
market-wide part of the multipliers that :meth:`ScenarioRisk.sample` draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vbcsim._validation import check_at_most, check_nonnegative, check_probability, check_real

__all__ = ["ScenarioRisk", "check_scenario_risk", "MAX_TREND_CV", "MAX_SHOCK_SIZE"]

#: largest accepted ``trend_cv``: a 100% coefficient of variation of the annual trend multiplier,
#: far beyond the few percent by which emerging trend misses priced trend (larger values are no
#: longer a trend uncertainty, and ``trend_cv ** 2`` overflows near 1e154).  Raise this module
#: constant to accept more.
MAX_TREND_CV = 1.0

#: largest accepted ``shock_size``: a shock year costing 11 times a normal one (an epidemic year
#: adds tens of percent).  Raise this module constant to accept more.
MAX_SHOCK_SIZE = 10.0


@dataclass(frozen=True)
class ScenarioRisk:
    """A per-scenario cost multiplier shared by every member.

    multiplier = L × (1 + shock_size × B), with L lognormal with mean 1 and
    coefficient of variation ``trend_cv`` (trend uncertainty), and B a Bernoulli
    (``shock_probability``) shock year that raises (or, with a negative
    ``shock_size``, lowers) all costs by ``shock_size``.

    The multiplier splits into a market-wide part M and a local part (the
    multiplier divided by M):

    - the trend L = L_m × L_l, with L_m and L_l independent lognormals of mean 1
      whose log-variances are ``market_share_of_variance`` and
      1 − ``market_share_of_variance`` of L's log-variance
      σ² = log(1 + trend_cv²) (for a few percent of CV, nearly the same
      proportions of the variance of L itself);
    - the shock year is market-wide: an epidemic or a new high-cost therapy
      hits the whole market, the benchmark's reference population included;
    - so M = L_m × (1 + shock_size × B), and the local part is L_l.

    The split leaves the multiplier's distribution and, for a given seed, its
    bits unchanged whatever ``market_share_of_variance``: :meth:`sample` draws
    L exactly as before, and :meth:`sample_market` draws L_m given L with one
    more standard normal (see there).

    Parameters
    ----------
    trend_cv : float
        Coefficient of variation of the trend multiplier (0 for none), at most
        ``MAX_TREND_CV`` (1.0).  A few percent is typical of the gap between
        priced and emerging trend.
    shock_probability : float
        Probability of a shock year, in [0, 1].
    shock_size : float
        Proportional cost change in a shock year, greater than -1 and at most
        ``MAX_SHOCK_SIZE`` (10.0, an 11-fold year).
    annual_trend : float
        The expected annual growth of cost per member in runs over several
        years (``years=`` of :func:`vbcsim.simulate`), in (−0.5, 1]: year t's
        expected cost is (1 + annual_trend)^(t − 1) times year 1's.  0
        (default) keeps every year at year 1's level; a single-year run does
        not use it.  Commercial medical cost trend has run at 7–8% a year
        recently (PwC Health Research Institute, "Medical cost trend: Behind
        the numbers 2025": 8% group market, 7.5% individual).  Contract terms in
        currency (premiums, capitation rates, fixed benchmarks, attachment
        points) are indexed by it year by year: they are priced at the
        expected trend (docs/multi_year.md).
    trend_persistence : float
        In runs over several years: the year-to-year correlation φ in [0, 1) of
        the annual trend's miss against ``annual_trend``.  Year t's miss is
        e_t = φ e_{t−1} + √(1 − φ²) σ Z_t (e_1 = σ Z_1, year 1's miss as in a
        single-year run), and the cost level compounds them: it is
        (1 + annual_trend)^(t − 1) exp(Σ_{τ≤t} e_τ − Var/2), so a year that
        came in high leaves every later year high (cost levels do not
        revert), and with φ > 0 the next year's trend tends to miss the same
        way.  Years before year 1 (an agreement's baseline years) walk back
        by the same law from the year before year 1, which is at the expected
        level (the year prices are set on).  0 (default): independent misses.
    market_share_of_variance : float
        The market-wide share of the trend's log-variance, in [0, 1].  0
        (default): the whole trend uncertainty is local (the market-wide part
        is the shock alone), as before; 1: the whole trend is market-wide.
        An assumption about the book, not a regulatory figure: how much of a
        year's miss against priced trend the whole market shares (unit prices,
        an epidemic season) rather than the local panel (its case mix, its
        providers' practice).
    """

    trend_cv: float = 0.0
    shock_probability: float = 0.0
    shock_size: float = 0.0
    market_share_of_variance: float = 0.0
    annual_trend: float = field(default=0.0, metadata={"omit_default": True})
    trend_persistence: float = field(default=0.0, metadata={"omit_default": True})

    def __post_init__(self):
        cv = check_nonnegative("trend_cv", self.trend_cv, owner="ScenarioRisk")
        check_at_most(
            "trend_cv",
            cv,
            MAX_TREND_CV,
            owner="ScenarioRisk",
            why="a coefficient of variation of the annual trend multiplier; raise scenario.MAX_TREND_CV for more",
        )
        object.__setattr__(self, "trend_cv", cv)
        object.__setattr__(
            self,
            "shock_probability",
            check_probability("shock_probability", self.shock_probability, owner="ScenarioRisk"),
        )
        size = check_real("shock_size", self.shock_size, owner="ScenarioRisk")
        if size <= -1.0:
            raise ValueError(f"ScenarioRisk: shock_size must be greater than -1, got {size!r}")
        check_at_most(
            "shock_size",
            size,
            MAX_SHOCK_SIZE,
            owner="ScenarioRisk",
            why="a shock year at most 11 times a normal year's cost; raise scenario.MAX_SHOCK_SIZE for more",
        )
        object.__setattr__(self, "shock_size", size)
        object.__setattr__(
            self,
            "market_share_of_variance",
            check_probability(
                "market_share_of_variance", self.market_share_of_variance, owner="ScenarioRisk"
            ),
        )

        trend = check_real("annual_trend", self.annual_trend, owner="ScenarioRisk")
        if not -0.5 < trend <= 1.0:
            raise ValueError(
                f"ScenarioRisk: annual_trend must be in (-0.5, 1] (a growth rate per year), got {trend!r}"
            )
        object.__setattr__(self, "annual_trend", trend)
        phi = check_probability("trend_persistence", self.trend_persistence, owner="ScenarioRisk")
        if phi >= 1.0:
            raise ValueError(f"ScenarioRisk: trend_persistence must be below 1, got {phi!r}")
        object.__setattr__(self, "trend_persistence", phi)

    def trend_index(self, years: int, first: int = 1) -> np.ndarray:
        """(1 + annual_trend)^(t − 1) for t = first, ..., first + years − 1: the expected cost level."""
        t = np.arange(first, first + years, dtype=float)
        return (1.0 + self.annual_trend) ** (t - 1.0)

    def _path_variance(self, years: int, scale: float) -> np.ndarray:
        """Var(Σ_{τ≤t} e_τ) for t = 1..years of the AR(1) misses with standard deviation ``scale``."""
        phi = self.trend_persistence
        lag = np.abs(np.subtract.outer(np.arange(years), np.arange(years)))
        cov = scale * scale * phi**lag
        return np.array([cov[: t + 1, : t + 1].sum() for t in range(years)])

    def _level_map(self, years: int, lead: int, scale: float) -> np.ndarray:
        """A (years × years) such that D = Z @ A.T is each year's log-level miss for normals Z.

        Year index ``lead`` is performance year 1: its miss is ``scale × Z[lead]``, exactly as a
        single-year run draws it.  The year before (index lead − 1, the last year before the
        agreement, the one premiums and benchmarks are priced on) is at the expected level;
        earlier years walk back and later years forward by AR(1) misses e_t = φ e_{t−1} +
        √(1 − φ²) σ Z_t (reversible: the same law backward from year 1's).
        """
        phi = self.trend_persistence
        root = math.sqrt(1.0 - phi * phi)
        e = np.zeros((years, years))  # e[t] = the miss from year t − 1 to t, as coefficients on Z
        e[lead, lead] = scale
        for t in range(lead + 1, years):
            e[t] = phi * e[t - 1]
            e[t, t] += root * scale
        for t in range(lead - 1, 0, -1):  # the misses of the baseline years, backward
            e[t] = phi * e[t + 1]
            e[t, t] += root * scale
        d = np.zeros((years, years))
        d[lead] = e[lead]
        for t in range(lead + 1, years):
            d[t] = d[t - 1] + e[t]
        if lead > 0:
            d[lead - 1] = 0.0  # the year before the agreement: at the expected level
            for t in range(lead - 2, -1, -1):
                d[t] = d[t + 1] - e[t + 1]
        return d

    def sample_path(self, n: int, years: int, first, later, back=None, lead: int = 0):
        """Multipliers over ``years`` consecutive years, relative to the expected trend.

        Returns (multiplier, market) as float[n, years]: each year's systematic multiplier and
        its market-wide part, divided by :meth:`trend_index` (each has mean :meth:`mean`).
        ``first``, ``later`` and ``back`` are each a (trend, shock, market) triple of numpy
        generators.  Year index ``lead`` (performance year 1) draws from ``first`` exactly as
        :meth:`sample_with_market` does; the later years from ``later`` and the ``lead`` years
        before it (the baseline years of an agreement) from ``back``, each as float[n, k], so
        the first scenarios of a longer run equal a shorter run.  The shock years are
        independent from year to year; the trend's misses follow the AR(1) of
        ``trend_persistence`` (:meth:`_level_map`), split into independent market-wide and local
        parts with the log-variance shares of ``market_share_of_variance``.
        """
        z0, shock0 = self._draw(n, first[0], first[1])
        sigma, w = self._sigma, self.market_share_of_variance
        after, before = years - lead - 1, lead

        def fill(values0, draw, fill_value=0.0):
            out = np.full((n, years), fill_value, dtype=float)
            out[:, lead] = values0
            if after:
                out[:, lead + 1 :] = draw(later, after)
            if before:
                out[:, :lead] = draw(back, before)
            return out

        shocked = np.ones((n, years))
        if shock0 is not None:
            p, size = self.shock_probability, self.shock_size
            hit = fill(shock0, lambda g, k: g[1].random((n, k)) < p)
            shocked = np.where(hit > 0, 1.0 + size, 1.0)
        if z0 is None:
            return shocked, shocked.copy()
        z = fill(z0, lambda g, k: g[0].standard_normal((n, k)))

        def level(normals, scale):
            a = self._level_map(years, lead, scale)
            return np.exp(normals @ a.T - 0.5 * (a * a).sum(axis=1))

        multiplier = level(z, sigma) * shocked
        if w == 0.0:
            market = shocked.copy()
        elif w == 1.0:
            market = multiplier.copy()
        else:
            y = fill(first[2].standard_normal(n), lambda g, k: g[2].standard_normal((n, k)))
            market = level(math.sqrt(w) * z + math.sqrt(1.0 - w) * y, math.sqrt(w) * sigma) * shocked
        return multiplier, market

    @property
    def _sigma(self) -> float:
        return math.sqrt(math.log1p(self.trend_cv**2))

    def mean(self) -> float:
        """E[multiplier] = 1 + shock_probability × shock_size."""
        return 1.0 + self.shock_probability * self.shock_size

    def second_moment(self) -> float:
        p, c = self.shock_probability, self.shock_size
        return (1.0 + self.trend_cv**2) * ((1 - p) + p * (1 + c) ** 2)

    def var(self) -> float:
        return self.second_moment() - self.mean() ** 2

    def sample(self, n: int, trend_rng: np.random.Generator, shock_rng: np.random.Generator) -> np.ndarray:
        """``n`` multipliers, trend and shock from their own streams (so each is prefix-stable)."""
        return self._multiplier(n, *self._draw(n, trend_rng, shock_rng))

    def sample_market(
        self,
        n: int,
        trend_rng: np.random.Generator,
        shock_rng: np.random.Generator,
        market_rng: np.random.Generator,
    ) -> np.ndarray:
        """The market-wide part M of the ``n`` multipliers that :meth:`sample` draws from the same generators.

        ``trend_rng`` and ``shock_rng`` must be in the state :meth:`sample` was
        given (fresh generators from the same seeds): they are drawn again, the
        same way (:meth:`sample_with_market` draws once for both).  With Z the
        trend's standard normal and Y one more from ``market_rng``,
        w = ``market_share_of_variance`` and σ the trend's log standard
        deviation, the market trend's normal is Z_m = √w Z + √(1 − w) Y and the
        local one Z_l = √(1 − w) Z − √w Y: independent standard normals with
        √w Z_m + √(1 − w) Z_l = Z, so L_m = exp(√w σ Z_m − w σ²/2) and
        L_l = exp(√(1 − w) σ Z_l − (1 − w) σ²/2) multiply to the trend L that
        :meth:`sample` returned.  The shock year multiplies M in full.
        ``market_rng`` is not drawn when w is 0 or 1.

        Returns
        -------
        numpy.ndarray
            M per scenario, shape (n,): ones without a shock or a market-wide
            trend; the multiplier itself when w = 1.
        """
        return self._market(n, *self._draw(n, trend_rng, shock_rng), market_rng)

    def sample_with_market(
        self,
        n: int,
        trend_rng: np.random.Generator,
        shock_rng: np.random.Generator,
        market_rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(:meth:`sample`, :meth:`sample_market`) of the same generators, drawing the trend and shock once."""
        z, shock = self._draw(n, trend_rng, shock_rng)
        return self._multiplier(n, z, shock), self._market(n, z, shock, market_rng)

    def _draw(self, n, trend_rng, shock_rng):
        """The trend's standard normals (None without trend) and the shock years (None without shocks)."""
        z = trend_rng.standard_normal(n) if self._sigma > 0 else None
        shock = shock_rng.random(n) < self.shock_probability if self.shock_probability > 0 else None
        return z, shock

    def _multiplier(self, n, z, shock) -> np.ndarray:
        s = self._sigma
        trend = np.exp(s * z - 0.5 * s * s) if z is not None else np.ones(n)
        if shock is not None:
            trend = trend * np.where(shock, 1.0 + self.shock_size, 1.0)
        return trend

    def _market(self, n, z, shock, market_rng) -> np.ndarray:
        s, w = self._sigma, self.market_share_of_variance
        market = np.ones(n)
        if z is not None:
            if w == 1.0:
                market = np.exp(s * z - 0.5 * s * s)
            elif w > 0.0:
                s_m = math.sqrt(w) * s
                z_m = math.sqrt(w) * z + math.sqrt(1.0 - w) * market_rng.standard_normal(n)
                market = np.exp(s_m * z_m - 0.5 * s_m * s_m)
        if shock is not None:
            market = market * np.where(shock, 1.0 + self.shock_size, 1.0)
        return market


def check_scenario_risk(scenario_risk):
    """A ScenarioRisk or None, else a TypeError naming ``scenario_risk``."""
    if scenario_risk is None or isinstance(scenario_risk, ScenarioRisk):
        return scenario_risk
    raise TypeError(
        f"scenario_risk must be a vbcsim.ScenarioRisk or None, got {type(scenario_risk).__name__}"
    )
