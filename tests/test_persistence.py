"""Tests of vbcsim.population.persistence: the numpy reference of the latent-to-cost map, the
calibration of the latent correlation to a persistence statistic (round trips through
simulation), the empirical statistics and their standard errors, and argument validation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from vbcsim.population import persistence
from vbcsim.population.distributions import (
    Compound,
    Gamma,
    Hurdle,
    Lognormal,
    NegativeBinomial,
    Pareto,
    Poisson,
    Spliced,
)
from vbcsim.population.persistence import (
    DEFAULT_TOP_DECILE_STAY,
    Persistence,
    member_costs,
    persistence_statistics,
)

HURDLE = Hurdle(0.8, Lognormal(7.0, 1.6))
SPLICED = Spliced(Lognormal(7.0, 1.0), Pareto(2.5, 20000.0), 20000.0)
COMPOUND = Compound(NegativeBinomial(1.0, 0.5), Lognormal(7.0, 1.0))
HURDLE_COMPOUND = Hurdle(0.6, Compound(Poisson(1.0), Lognormal(7.5, 1.0)))
EXACT_COSTS = [HURDLE, Gamma(0.7, 3000.0), Hurdle(0.3, SPLICED), Lognormal(8.0, 1.0)]


def _pairs(cost, rho, n, seed):
    """Costs of n stationary members in two consecutive years with latent correlation rho."""
    rng = np.random.default_rng(seed)
    a0, b0, ea, eb = rng.standard_normal((4, n))
    s = math.sqrt(1.0 - rho * rho)
    return member_costs(cost, a0, b0, rng), member_costs(cost, rho * a0 + s * ea, rho * b0 + s * eb, rng)


# ---------------------------------------------------------------------------
# member_costs: the map from latents to cost
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cost",
    [HURDLE, Gamma(2.0, 1500.0), SPLICED, Compound(Poisson(2.0), Lognormal(7.0, 1.0))],
    ids=["hurdle-lognormal", "gamma", "spliced", "compound"],
)
def test_member_costs_mean(cost):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 400_000))
    x = member_costs(cost, a, b, rng)
    se = x.std() / math.sqrt(x.size)
    assert abs(x.mean() - cost.mean()) <= 4 * se


@pytest.mark.parametrize("cost", [Gamma(2.0, 1500.0), SPLICED], ids=["gamma", "spliced"])
def test_member_costs_distribution(cost):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 50_000))
    assert stats.kstest(member_costs(cost, a, b), cost.cdf).pvalue > 1e-3


def test_member_costs_lognormal_and_hurdle_exact():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3, 1000))
    np.testing.assert_allclose(member_costs(Lognormal(7.0, 1.6), a, b), np.exp(7.0 + 1.6 * b), rtol=1e-15)
    x = member_costs(HURDLE, a, b)
    assert x.shape == a.shape
    zero = a <= special.ndtri(0.2)
    assert np.all(x[zero] == 0.0)
    np.testing.assert_allclose(x[~zero], np.exp(7.0 + 1.6 * b[~zero]), rtol=1e-15)
    assert np.all(member_costs(Hurdle(0.0, Lognormal(7.0, 1.0)), a, b) == 0.0)
    assert np.isfinite(member_costs(Pareto(1.5, 1000.0), [0.0], [40.0])).all()  # Phi(b) kept below 1


def test_member_costs_compound_count():
    """N is the smallest n with F_N(n) >= Phi(b); the claim sizes are fresh iid draws."""
    freq, sev = Poisson(3.0), Lognormal(5.0, 0.5)
    zs = np.array([-3.0, -0.5, 0.0, 1.0, 2.5])
    b = np.repeat(zs, 20_000)
    x = member_costs(Compound(freq, sev), np.zeros_like(b), b, np.random.default_rng(4)).reshape(zs.size, -1)
    counts = freq.ppf(special.ndtr(zs))
    assert counts[0] == 0 and np.all(x[0] == 0.0)
    for n, row in zip(counts[1:], x[1:], strict=True):
        assert abs(row.mean() - n * sev.mean()) <= 4 * math.sqrt(n * sev.var() / row.size)
        assert row.var() == pytest.approx(n * sev.var(), rel=0.15)


def test_member_costs_errors():
    with pytest.raises(ValueError, match="same shape"):
        member_costs(HURDLE, np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        member_costs(HURDLE, [0.0, math.nan], [0.0, 0.0])
    with pytest.raises(TypeError, match="cost must be a cost distribution"):
        member_costs(Poisson(1.0), [0.0], [0.0])


# ---------------------------------------------------------------------------
# calibration: round trips through simulation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cost", [*EXACT_COSTS[:3], COMPOUND], ids=["hurdle", "gamma", "hurdle-spliced", "compound"]
)
@pytest.mark.parametrize("statistic,target", [("top_decile_stay", 0.45), ("rank_correlation", 0.6)])
def test_calibration_round_trip(cost, statistic, target):
    rho = Persistence(**{statistic: target}).latent_correlation(cost)
    assert 0.0 < rho < 1.0
    found = persistence_statistics(*_pairs(cost, rho, 2**18, seed=5))
    assert abs(found[statistic] - target) <= 4 * found[f"{statistic}_se"]


def test_default_round_trip_hurdle_lognormal():
    rho = Persistence().latent_correlation(HURDLE)
    assert rho == pytest.approx(0.68988, abs=1e-4)
    found = persistence_statistics(*_pairs(HURDLE, rho, 2**18, seed=6))
    assert abs(found["top_decile_stay"] - DEFAULT_TOP_DECILE_STAY) <= 4 * found["top_decile_stay_se"]


@pytest.mark.parametrize("cost", [*EXACT_COSTS, COMPOUND, HURDLE_COMPOUND])
def test_no_persistence_is_rho_zero(cost):
    assert Persistence(top_decile_stay=0.1).latent_correlation(cost) == 0.0
    assert Persistence(rank_correlation=0.0).latent_correlation(cost) == 0.0


@pytest.mark.parametrize("cost", EXACT_COSTS)
def test_targets_at_the_ends(cost):
    for statistic, low in (("top_decile_stay", 0.1), ("rank_correlation", 0.0)):
        near_low = Persistence(**{statistic: float(np.nextafter(low, 1.0))}).latent_correlation(cost)
        near_one = Persistence(**{statistic: float(np.nextafter(1.0, 0.0))}).latent_correlation(cost)
        assert 0.0 <= near_low < 1e-6 and 0.999 < near_one < 1.0


@pytest.mark.parametrize("cost", EXACT_COSTS)
@pytest.mark.parametrize("statistic,targets", [("top_decile_stay", 0.1), ("rank_correlation", 0.0)])
def test_rho_increases_with_target(cost, statistic, targets):
    grid = np.linspace(targets, 0.99, 25)
    rhos = [Persistence(**{statistic: float(t)}).latent_correlation(cost) for t in grid]
    assert rhos[0] == 0.0 and all(r < 1.0 for r in rhos)
    assert np.all(np.diff(rhos) > 0)


@pytest.mark.parametrize("cost", [COMPOUND, HURDLE_COMPOUND], ids=["compound", "hurdle-compound"])
def test_rho_increases_with_target_compound(cost):
    stays = [Persistence(top_decile_stay=t).latent_correlation(cost) for t in (0.2, 0.35)]
    ranks = [Persistence(rank_correlation=t).latent_correlation(cost) for t in (0.3, 0.8)]
    assert 0.0 < stays[0] < stays[1] < 1.0
    assert 0.0 < ranks[0] < ranks[1] < 1.0


@settings(deadline=None, max_examples=60)
@given(
    t=st.lists(st.floats(0.1, 0.999), min_size=2, max_size=2),
    cost=st.sampled_from(EXACT_COSTS),
    statistic=st.sampled_from(["top_decile_stay", "rank_correlation"]),
)
def test_rho_monotone_property(t, cost, statistic):
    lo, hi = sorted(t)
    if statistic == "rank_correlation":
        lo, hi = lo - 0.1, hi - 0.1
    rho_lo = Persistence(**{statistic: max(lo, 0.0)}).latent_correlation(cost)
    rho_hi = Persistence(**{statistic: max(hi, 0.0)}).latent_correlation(cost)
    assert 0.0 <= rho_lo <= rho_hi < 1.0


def test_exact_statistic_matches_closed_forms():
    """Continuous cost: stay = P(Z1 > z, Z2 > z) / 0.1, Spearman = 6 / pi asin(rho / 2)."""
    cost = Gamma(2.0, 100.0)
    z = special.ndtri(0.9)
    for rho in (0.0, 0.3, 0.7, 0.95):
        bvn = stats.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]])
        stay = (1.0 - 2 * 0.9 + bvn.cdf([z, z])) / 0.1
        assert persistence._exact_statistic("top_decile_stay", cost)(rho) == pytest.approx(stay, abs=1e-6)
        spearman = 6.0 / math.pi * math.asin(rho / 2.0)
        assert persistence._exact_statistic("rank_correlation", cost)(rho) == pytest.approx(
            spearman, abs=1e-12
        )


def test_compound_calibration_is_deterministic_and_cached():
    per = Persistence(top_decile_stay=0.3)
    first = per.latent_correlation(COMPOUND)
    hits = persistence._calibrate.cache_info().hits
    assert per.latent_correlation(COMPOUND) == first
    assert persistence._calibrate.cache_info().hits == hits + 1
    persistence._calibrate.cache_clear()
    assert per.latent_correlation(COMPOUND) == first


def test_unreachable_and_undefined_targets():
    # fresh claim sizes each year cap the persistence of a compound cost
    with pytest.raises(ValueError, match="cannot be reached"):
        Persistence(top_decile_stay=0.9).latent_correlation(COMPOUND)
    # fewer than 10% of members with any cost: no top decile
    rare = Hurdle(0.05, Lognormal(9.0, 1.0))
    with pytest.raises(ValueError, match="at least 10% of the members"):
        Persistence().latent_correlation(rare)
    assert 0.0 < Persistence(rank_correlation=0.5).latent_correlation(rare) < 1.0
    with pytest.raises(ValueError, match="at least 10% of the members"):
        Persistence(top_decile_stay=0.3).latent_correlation(Compound(Poisson(0.05), Lognormal(7.0, 1.0)))
    with pytest.raises(TypeError, match="cost must be a cost distribution"):
        Persistence().latent_correlation(0.5)


# ---------------------------------------------------------------------------
# Persistence: default and validation
# ---------------------------------------------------------------------------


def test_default():
    assert 0.40 <= DEFAULT_TOP_DECILE_STAY <= 0.45  # Hirth et al. 2015: 43.4%
    per = Persistence()
    assert per.top_decile_stay == DEFAULT_TOP_DECILE_STAY and per.rank_correlation is None
    assert per.statistic == ("top_decile_stay", DEFAULT_TOP_DECILE_STAY)
    assert per == Persistence(top_decile_stay=DEFAULT_TOP_DECILE_STAY)
    assert Persistence(rank_correlation=0.5).statistic == ("rank_correlation", 0.5)
    assert Persistence(top_decile_stay=np.float32(0.5)).top_decile_stay == pytest.approx(0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        per.top_decile_stay = 0.5


def test_both_given():
    with pytest.raises(ValueError, match="at most one of top_decile_stay and rank_correlation"):
        Persistence(top_decile_stay=0.4, rank_correlation=0.5)


@pytest.mark.parametrize("name", ["top_decile_stay", "rank_correlation"])
@pytest.mark.parametrize("value", [True, "0.4", [0.4]])
def test_not_a_number(name, value):
    with pytest.raises(TypeError, match=f"Persistence: {name} must be a real number"):
        Persistence(**{name: value})


@pytest.mark.parametrize("name", ["top_decile_stay", "rank_correlation"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_not_finite(name, value):
    with pytest.raises(ValueError, match=f"Persistence: {name} must be finite"):
        Persistence(**{name: value})


@settings(deadline=None)
@given(x=st.floats(allow_nan=False, allow_infinity=False))
def test_range(x):
    for name, low in (("top_decile_stay", 0.1), ("rank_correlation", 0.0)):
        if low <= x < 1.0:
            assert Persistence(**{name: x}).statistic == (name, x)
        else:
            with pytest.raises(ValueError, match=f"Persistence: {name} must be in \\[{low:g}, 1\\)"):
                Persistence(**{name: x})


# ---------------------------------------------------------------------------
# persistence_statistics
# ---------------------------------------------------------------------------


def test_statistics_extremes():
    x = np.arange(1.0, 101.0)
    same = persistence_statistics(x, x)
    assert (
        same["n"] == 100 and same["top_decile_stay"] == 1.0 and same["rank_correlation"] == pytest.approx(1.0)
    )
    assert same["top_decile_stay_se"] == 0.0
    reverse = persistence_statistics(x, x[::-1])
    assert reverse["top_decile_stay"] == 0.0 and reverse["rank_correlation"] == pytest.approx(-1.0)


@pytest.mark.parametrize("cost", [Lognormal(7.0, 1.0), HURDLE], ids=["continuous", "ties"])
def test_statistics_independent(cost):
    """Independent years: stay ~ 0.1 and, ties or not, Var(Spearman) = 1 / (n - 1)."""
    n = 40_000
    x0, x1 = _pairs(cost, 0.0, n, seed=7)
    found = persistence_statistics(x0, x1)
    assert found["rank_correlation_se"] == pytest.approx(1.0 / math.sqrt(n - 1), rel=0.05)
    assert abs(found["rank_correlation"]) <= 4 * found["rank_correlation_se"]
    assert abs(found["top_decile_stay"] - 0.1) <= 4 * found["top_decile_stay_se"]
    stay = found["top_decile_stay"]
    assert found["top_decile_stay_se"] == pytest.approx(math.sqrt(stay * (1 - stay) / (n // 10)), rel=0.01)


def test_statistics_errors():
    with pytest.raises(ValueError, match="equal length"):
        persistence_statistics(np.ones(20), np.ones(21))
    with pytest.raises(ValueError, match="at least 10 members"):
        persistence_statistics(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="finite"):
        persistence_statistics(np.r_[np.ones(19), math.nan], np.ones(20))
    with pytest.raises(ValueError, match="top decile is not defined"):
        persistence_statistics(np.r_[np.zeros(95), np.ones(5)], np.arange(100.0))
