"""Systematic risk: what all members of a scenario share.

Members' costs are independent given the scenario; what moves them together is
the year itself: cost trend that turns out higher or lower than priced, and the
occasional shock year (an epidemic, a new high-cost therapy).  Systematic risk
does not diversify away with panel size, which is why it matters for who bears
the risk of a large population.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    """

    trend_cv: float = 0.0
    shock_probability: float = 0.0
    shock_size: float = 0.0

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
        s = self._sigma
        trend = np.exp(s * trend_rng.standard_normal(n) - 0.5 * s * s) if s > 0 else np.ones(n)
        if self.shock_probability > 0:
            shock = shock_rng.random(n) < self.shock_probability
            trend = trend * np.where(shock, 1.0 + self.shock_size, 1.0)
        return trend


def check_scenario_risk(scenario_risk):
    """A ScenarioRisk or None, else a TypeError naming ``scenario_risk``."""
    if scenario_risk is None or isinstance(scenario_risk, ScenarioRisk):
        return scenario_risk
    raise TypeError(
        f"scenario_risk must be a vbcsim.ScenarioRisk or None, got {type(scenario_risk).__name__}"
    )
