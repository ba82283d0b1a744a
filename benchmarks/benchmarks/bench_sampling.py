"""Sampling: :func:`vbcsim.simulate`'s speed by panel size, threads, cost distribution, attachments and years.

The standard segment is the one of ``benchmarks/compare.py``: a hurdle
lognormal (80% of members with cost, mean $6,000 and CV 3 given cost) with a
specific stop-loss split at $50,000.
"""

from __future__ import annotations

import time

import vbcsim
from vbcsim import defaults

ATTACHMENT = 50_000.0


def standard_cost():
    """Hurdle(0.8, Lognormal with mean 6,000 and CV 3)."""
    return vbcsim.Hurdle(0.8, vbcsim.Lognormal.from_mean_cv(6_000.0, 3.0))


def population(kind: str, members: int) -> vbcsim.Population:
    """A population of about ``members`` members whose cost is of the given kind."""
    if kind == "commercial":  # the built-in three age bands, spliced lognormal-Pareto costs
        return defaults.provider_panel(members)
    cost = {
        "hurdle_lognormal": standard_cost(),
        "gamma": vbcsim.Hurdle(0.8, vbcsim.Gamma(0.5, 12_000.0)),
        "spliced": list(defaults.commercial_population())[1].cost,  # adults 18-44
        "compound_poisson_gamma": vbcsim.Compound(vbcsim.Poisson(2.0), vbcsim.Gamma(2.0, 1_500.0)),
    }[kind]
    return vbcsim.Population([vbcsim.Segment("members", members, cost)])


def warm_up() -> None:
    """Compile the kernels, or load them from numba's cache, outside the timed region."""
    vbcsim.simulate(
        population("hurdle_lognormal", 100), n_scenarios=2, seed=1, attachments=[ATTACHMENT], threads=1
    )


class Sampling:
    """The standard segment at a fixed number of member-years per call (20 M: about 0.1 s), by members and threads."""

    params = ([1_000, 100_000, 10_000_000], [1, 2], [20_000_000])
    param_names = ["members", "threads", "member_years"]
    quick_params = ([1_000, 20_000], [1, 2], [100_000])
    timeout = 300

    def setup(self, members, threads, member_years):
        warm_up()
        self.population = population("hurdle_lognormal", members)
        self.scenarios = max(2, member_years // members)

    def time_simulate(self, members, threads, member_years):
        vbcsim.simulate(
            self.population, n_scenarios=self.scenarios, seed=1, attachments=[ATTACHMENT], threads=threads
        )


class StandardWorkload:
    """Member-years per second on the standard segment (100,000 members, 400 scenarios), best of 3."""

    params = ([1, 2], [100_000], [400])
    param_names = ["threads", "members", "scenarios"]
    quick_params = ([1, 2], [10_000], [10])
    unit = "member-years/s"
    timeout = 300

    def setup(self, threads, members, scenarios):
        warm_up()
        self.population = population("hurdle_lognormal", members)

    def track_member_years_per_s(self, threads, members, scenarios):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            vbcsim.simulate(
                self.population, n_scenarios=scenarios, seed=1, attachments=[ATTACHMENT], threads=threads
            )
            best = min(best, time.perf_counter() - start)
        return members * scenarios / best


class Distributions:
    """One thread, 100,000 members × 100 scenarios, one attachment, by cost distribution."""

    params = (
        ["hurdle_lognormal", "gamma", "spliced", "compound_poisson_gamma", "commercial"],
        [100_000],
        [100],
    )
    param_names = ["cost", "members", "scenarios"]
    quick_params = (
        ["hurdle_lognormal", "gamma", "spliced", "compound_poisson_gamma", "commercial"],
        [2_000],
        [5],
    )

    def setup(self, cost, members, scenarios):
        warm_up()
        self.population = population(cost, members)

    def time_simulate(self, cost, members, scenarios):
        vbcsim.simulate(self.population, n_scenarios=scenarios, seed=1, attachments=[ATTACHMENT], threads=1)


class Attachments:
    """One thread, the standard segment of 100,000 members × 100 scenarios, by number of attachments."""

    params = ([0, 1, 4], [100_000], [100])
    param_names = ["attachments", "members", "scenarios"]
    quick_params = ([0, 4], [2_000], [5])

    def setup(self, attachments, members, scenarios):
        warm_up()
        self.population = population("hurdle_lognormal", members)
        self.attachments = [25_000.0 * (k + 1) for k in range(attachments)]

    def time_simulate(self, attachments, members, scenarios):
        vbcsim.simulate(
            self.population, n_scenarios=scenarios, seed=1, attachments=self.attachments, threads=1
        )


class SystematicRisk:
    """Two threads, the standard segment of 100,000 members × 200 scenarios with systematic risk."""

    params = ([100_000], [200])
    param_names = ["members", "scenarios"]
    quick_params = ([2_000], [5])

    def setup(self, members, scenarios):
        warm_up()
        self.population = population("hurdle_lognormal", members)
        self.risk = vbcsim.ScenarioRisk(trend_cv=0.02, shock_probability=0.05, shock_size=0.08)

    def time_simulate(self, members, scenarios):
        vbcsim.simulate(
            self.population,
            n_scenarios=scenarios,
            seed=1,
            attachments=[ATTACHMENT],
            scenario_risk=self.risk,
            threads=2,
        )


class Memory:
    """Peak memory of a process simulating 4 scenarios: should not grow with the members."""

    params = ([10_000, 10_000_000],)
    param_names = ["members"]
    quick_params = ([10_000, 200_000],)
    timeout = 300

    def setup(self, members):
        warm_up()
        self.population = population("hurdle_lognormal", members)

    def peakmem_simulate(self, members):
        vbcsim.simulate(self.population, n_scenarios=4, seed=1, attachments=[ATTACHMENT], threads=2)


def warm_up_years() -> None:
    """The multi-year kernel's first call (compilation or numba's cache), outside the timed region."""
    vbcsim.simulate(
        population("hurdle_lognormal", 100),
        n_scenarios=2,
        seed=1,
        attachments=[ATTACHMENT],
        threads=1,
        years=2,
    )


class MultiYear:
    """The standard segment's members persisting over 5 years, 20 M member-years per call, by members and threads.

    The counterpart of :class:`Sampling` (same member-years per call) for a
    multi-year run: ``years=5``, a fifth of the scenarios.
    """

    params = ([1_000, 100_000, 10_000_000], [1, 2], [5], [20_000_000])
    param_names = ["members", "threads", "years", "member_years"]
    quick_params = ([1_000, 20_000], [1, 2], [5], [100_000])
    timeout = 300

    def setup(self, members, threads, years, member_years):
        warm_up_years()
        self.population = population("hurdle_lognormal", members)
        self.scenarios = max(1, member_years // (members * years))

    def time_simulate(self, members, threads, years, member_years):
        vbcsim.simulate(
            self.population,
            n_scenarios=self.scenarios,
            seed=1,
            attachments=[ATTACHMENT],
            threads=threads,
            years=years,
        )


class MultiYearWorkload:
    """Member-years per second of the standard segment over 5 years (100,000 members, 80 scenarios), best of 3.

    The same member-years as :class:`StandardWorkload` (400 scenarios of one
    year): the issue's target is at least half its rate.
    """

    params = ([1, 2], [100_000], [80], [5])
    param_names = ["threads", "members", "scenarios", "years"]
    quick_params = ([1, 2], [10_000], [2], [5])
    unit = "member-years/s"
    timeout = 300

    def setup(self, threads, members, scenarios, years):
        warm_up_years()
        self.population = population("hurdle_lognormal", members)

    def track_member_years_per_s(self, threads, members, scenarios, years):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            vbcsim.simulate(
                self.population,
                n_scenarios=scenarios,
                seed=1,
                attachments=[ATTACHMENT],
                threads=threads,
                years=years,
            )
            best = min(best, time.perf_counter() - start)
        return members * scenarios * years / best


class MultiYearMemory:
    """Peak memory of a process simulating 1 scenario over 5 years: should not grow with the members."""

    params = ([10_000, 10_000_000], [5])
    param_names = ["members", "years"]
    quick_params = ([10_000, 200_000], [5])
    timeout = 300

    def setup(self, members, years):
        warm_up_years()
        self.population = population("hurdle_lognormal", members)

    def peakmem_simulate(self, members, years):
        vbcsim.simulate(
            self.population, n_scenarios=1, seed=1, attachments=[ATTACHMENT], threads=2, years=years
        )


class FirstCall:
    """A fresh interpreter: ``import vbcsim`` and the first small simulate (loads numba's cache)."""

    timeout = 300

    def timeraw_import_and_first_call(self):
        return (
            "import vbcsim\n"
            "pop = vbcsim.Population([vbcsim.Segment('m', 1000, vbcsim.Hurdle(0.8, vbcsim.Lognormal(8.0, 1.5)))])\n"
            "vbcsim.simulate(pop, n_scenarios=4, seed=1, attachments=[50_000.0], threads=1)\n"
        )


class RiskScores:
    """The standard segment over 5 years (or 1) with risk scores or selection, 1 thread, by run.

    ``benchmarks/risk_scores.py`` prints the same runs' ratios to the run without; the target of
    the risk-adjustment issue is 1.5× for ``RiskScore()``.
    """

    params = (["without", "risk_score", "risk_score_and_selection"], [1, 5], [100_000], [400_000])
    param_names = ["run", "years", "members", "member_years_per_member_x100"]
    quick_params = (["without", "risk_score", "risk_score_and_selection"], [1, 5], [2_000], [1_000])
    timeout = 300

    def setup(self, run, years, members, member_years_per_member_x100):
        warm_up_years()
        selection = vbcsim.Selection(relative_cost=0.9) if run == "risk_score_and_selection" else None
        cost = standard_cost()
        self.population = vbcsim.Population([vbcsim.Segment("members", members, cost, selection=selection)])
        self.risk_score = None if run == "without" else vbcsim.RiskScore()
        self.scenarios = max(1, member_years_per_member_x100 // (100 * years))

    def time_simulate(self, run, years, members, member_years_per_member_x100):
        vbcsim.simulate(
            self.population,
            n_scenarios=self.scenarios,
            seed=1,
            attachments=[ATTACHMENT],
            threads=1,
            years=years,
            risk_score=self.risk_score,
        )
