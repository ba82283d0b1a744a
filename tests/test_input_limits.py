"""Inputs that used to hang, overflow or reach a traceback: each is refused up front, naming it.

Every reproducer of the bad-input issue is here as a regression test: the sizes that hung, the
distributions that simulated infinities or zeros, the parameters that reached a numba or
Overflow traceback, and the CLI flags that were accepted although the API refused them.
"""

from __future__ import annotations

import math

import pytest

import vbcsim as v
from vbcsim.engine import driver
from vbcsim.frontends import cli
from vbcsim.partnerships import third_party
from vbcsim.population import limits, scenario, segments
from vbcsim.population.defaults import commercial_population, provider_panel
from vbcsim.population.limits import check_simulable
from vbcsim.results import plan

G = v.Gamma(2.0, 1000.0)


def _one(members, cost=G):
    return v.Population([v.Segment("a", members, cost)])


# -- sizes that hung ------------------------------------------------------------------------------


@pytest.mark.parametrize("members", [2**63, 1e30, 2**53 + 2])
def test_members_beyond_two_to_the_53_are_refused_naming_members(members):
    with pytest.raises(ValueError, match=r"Segment 'a': members must be at most 9007199254740992"):
        v.Segment("a", members, G)


def test_members_at_the_limit_construct():
    assert v.Segment("a", segments.MAX_MEMBERS, G).members == 2**53


def test_a_run_too_large_to_finish_is_refused_with_the_estimate_before_any_work(monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the engine ran")

    monkeypatch.setattr(plan, "_scenario_draws", no_work)
    with pytest.raises(ValueError, match=r"simulate: 1\.1e\+13 member draws \(about .* s at") as err:
        v.simulate(_one(2**40), n_scenarios=10, seed=1)
    assert "MAX_MEMBER_DRAWS" in str(err.value) and "n_scenarios" in str(err.value)


def test_the_draw_count_counts_every_claim_of_a_compound():
    many_claims = v.Compound(v.Poisson(1e5), v.Gamma(2.0, 10.0))
    with pytest.raises(ValueError, match=r"1e\+13 member draws"):
        v.simulate(_one(10**4, many_claims), n_scenarios=10**4, seed=1)


def test_many_scenarios_that_cannot_fit_in_memory_are_refused_not_a_memory_error():
    with pytest.raises(ValueError, match=r"GiB of arrays for 10000000000 scenarios.*reduce n_scenarios"):
        v.simulate(_one(1), n_scenarios=10**10, seed=1)


def test_the_built_in_panel_with_ten_billion_scenarios_is_refused():
    with pytest.raises(ValueError, match=r"member draws .* reduce members or n_scenarios"):
        v.compare(n_scenarios=10**10, seed=1)


def test_a_huge_third_party_pool_is_refused_at_construction():
    with pytest.raises(ValueError, match=r"third_party: ThirdParty: other_practices must be at most 1000"):
        v.partnership_models(third_party={"other_practices": 10**7})
    ok = v.partnership_models(third_party={"other_practices": third_party.MAX_OTHER_PRACTICES})
    assert len(ok["third party-mediated relationship"].pool) == 3 * third_party.MAX_OTHER_PRACTICES


@pytest.mark.parametrize("lam", [1e9, 1e308])
def test_a_frequency_beyond_a_million_claims_a_year_is_refused(lam):
    cost = v.Compound(v.Poisson(lam), v.Gamma(2.0, 100.0))
    with pytest.raises(ValueError, match=r"segment 'a' cost: Poisson\(lam=.*MAX_CLAIMS_PER_MEMBER"):
        v.simulate(_one(10, cost), n_scenarios=10, seed=1)


# -- silent infinities and zeros --------------------------------------------------------------------

OVERFLOWING = [
    (v.Gamma(1e308, 1000.0), "its mean overflows"),
    (v.Gamma(2.0, 1e308), "its mean overflows"),
    (v.Pareto(2.5, 1e308), "more than the engine's limit of 1e\\+15"),
    (v.Pareto(1e-300, 1000.0), "infinite mean \\(alpha <= 1\\)"),
    (v.Pareto(0.5, 1000.0), "infinite mean \\(alpha <= 1\\)"),
    (v.Lognormal(7.0, 50.0), "its mean overflows"),
    (v.Lognormal(-300.0, 25.7), "its variance exists but overflows"),
    (v.Compound(v.Poisson(2.0), v.Pareto(0.9, 100.0)), "infinite mean"),
    (v.Hurdle(0.5, v.Pareto(1.0, 100.0)), "infinite mean"),
]


@pytest.mark.parametrize(("dist", "why"), OVERFLOWING, ids=[repr(d) for d, _ in OVERFLOWING])
def test_a_cost_with_an_infinite_or_overflowing_moment_is_refused_by_simulate(dist, why):
    with pytest.raises(ValueError, match=rf"simulate: segment 'a' cost: .*{why}"):
        v.simulate(_one(100, dist), n_scenarios=10, seed=1)


@pytest.mark.parametrize(("dist", "why"), OVERFLOWING, ids=[repr(d) for d, _ in OVERFLOWING])
def test_a_cost_with_an_infinite_or_overflowing_moment_is_refused_by_the_models(dist, why):
    with pytest.raises(ValueError, match=rf"custom_contract: population: segment 'a' cost: .*{why}"):
        v.partnership_models(_one(100, dist))


@pytest.mark.parametrize(
    "dist",
    [
        v.Pareto(1.5, 1000.0),  # infinite variance, finite mean: simulable (the tail is the point)
        v.Compound(v.Poisson(1e6), v.Gamma(2.0, 1.0)),  # exactly at the claim limit
        v.Lognormal(7.0, 3.0),
        v.Spliced(v.Lognormal(7.0, 1.0), v.Pareto(1.2, 50_000.0), 50_000.0, 0.01),
    ],
    ids=repr,
)
def test_heavy_but_finite_mean_costs_are_simulable(dist):
    assert check_simulable(dist, owner="x") is dist
    ds = v.simulate(_one(5, dist), n_scenarios=20, seed=3)
    assert bool(ds["cost"].notnull().all()) and math.isfinite(float(ds["cost"].sum()))


def test_the_limits_are_module_constants_a_user_can_raise(monkeypatch):
    dist = v.Pareto(2.5, 1e16)
    with pytest.raises(ValueError, match="MAX_MEAN_COST"):
        check_simulable(dist, owner="x")
    monkeypatch.setattr(limits, "MAX_MEAN_COST", 1e20)
    assert check_simulable(dist, owner="x") is dist


# -- tracebacks that are now errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"trend_cv": 1e308}, "trend_cv"),
        ({"trend_cv": 50.0}, "trend_cv"),
        ({"trend_cv": math.inf}, "trend_cv"),
        ({"shock_size": 1e308}, "shock_size"),
        ({"shock_size": 10.5}, "shock_size"),
    ],
)
def test_scenario_risk_beyond_its_range_names_the_term(kwargs, name):
    with pytest.raises(ValueError, match=rf"ScenarioRisk: {name} must be"):
        v.ScenarioRisk(**kwargs)


def test_scenario_risk_at_its_limits_simulates_finite_costs():
    risk = v.ScenarioRisk(scenario.MAX_TREND_CV, 0.5, scenario.MAX_SHOCK_SIZE)
    ds = v.simulate(_one(10), n_scenarios=50, seed=2, scenario_risk=risk)
    assert math.isfinite(float(ds["cost"].sum()))


@pytest.mark.parametrize("scale", [math.inf, -math.inf, math.nan, 0.0, -1.0, 1e-9, "1", True])
def test_commercial_population_scale_out_of_range_names_scale(scale):
    with pytest.raises(ValueError, match=r"scale"):
        commercial_population(scale)


def test_a_scale_that_keeps_one_member_per_segment_is_accepted_and_the_panel_still_small():
    assert min(s.members for s in commercial_population(3e-5)) == 1
    assert [s.members for s in provider_panel(3)] == [1, 1, 1]


@pytest.mark.parametrize("threads", [driver.MAX_THREADS + 1, 10**6])
def test_threads_beyond_the_cap_are_refused(threads):
    with pytest.raises(ValueError, match=r"threads must be at most 256"):
        driver.check_threads(threads)


# -- the CLI agrees with the API -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--threads", "1000"], "--threads"),
        (["--scale", "1e-9"], "--scale"),
        (["--scale", "1e20"], "--scale"),
        (["--scale", "inf"], "--scale"),
        (["--trend-cv", "50"], "--trend-cv"),
        (["--shock-probability", "1.5"], "--shock-probability"),
        (["--shock-size", "-2"], "--shock-size"),
        (["--scenarios", "0"], "--scenarios"),
        (["--seed", "-1"], "--seed"),
        (["--out", "/nonexistent-vbcsim-dir/x.nc"], "--out"),
        (["--out", "x.zarr"], "--out"),
        (["--bogus"], "--bogus"),
    ],
)
def test_simulate_flags_refused_in_one_line_naming_the_flag(args, flag, capsys, monkeypatch):
    monkeypatch.setattr(v, "simulate", lambda *a, **k: pytest.fail("the run started"))
    try:
        code = cli.main(["simulate", *args])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    assert code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and flag in lines[0] and lines[0].startswith("vbcsim"), lines
