"""The exact FFT oracle: :func:`vbcsim.exact.aggregate` by cost distribution and members, and its queries."""

from __future__ import annotations

import numpy as np

import vbcsim
from vbcsim import defaults, exact


def cost(kind: str):
    """A member cost distribution of the given kind."""
    if kind == "hurdle_lognormal":
        return vbcsim.Hurdle(0.8, vbcsim.Lognormal.from_mean_cv(6_000.0, 3.0))
    if kind == "spliced":  # adults 18-44 of the built-in population: hurdle on lognormal spliced to Pareto
        return list(defaults.commercial_population())[1].cost
    if kind == "compound_poisson_gamma":
        return vbcsim.Compound(vbcsim.Poisson(2.0), vbcsim.Gamma(2.0, 1_500.0))
    raise ValueError(kind)


class Aggregate:
    """``exact.aggregate(dist, members)``: the distribution of the total cost of ``members`` members."""

    params = (["hurdle_lognormal", "spliced", "compound_poisson_gamma"], [1, 1_000, 100_000])
    param_names = ["cost", "members"]
    quick_params = (["hurdle_lognormal", "spliced", "compound_poisson_gamma"], [1, 100])
    timeout = 120

    def setup(self, kind, members):
        self.dist = cost(kind)

    def time_aggregate(self, kind, members):
        exact.aggregate(self.dist, members)


class AggregatePopulation:
    """``exact.aggregate_population`` of the built-in commercial population (three segments)."""

    params = ([0.2, 1.0],)
    param_names = ["scale"]
    quick_params = ([0.01],)
    timeout = 120

    def setup(self, scale):
        self.population = defaults.commercial_population(scale)

    def time_aggregate_population(self, scale):
        exact.aggregate_population(self.population)


class Queries:
    """Queries of a prebuilt aggregate (10,000 spliced members) at 1,000 points each."""

    def setup(self):
        self.agg = exact.aggregate(cost("spliced"), 10_000)
        mean, sd = self.agg.mean(), self.agg.std()
        self.x = np.linspace(mean - 3 * sd, mean + 5 * sd, 1_000)
        self.q = np.linspace(0.001, 0.999, 1_000)

    def time_cdf(self):
        self.agg.cdf(self.x)

    def time_stop_loss(self):
        self.agg.stop_loss(self.x)

    def time_ppf(self):
        self.agg.ppf(self.q)

    def time_tvar(self):
        self.agg.tvar(self.q)
