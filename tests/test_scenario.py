"""Systematic scenario risk: exact moments, sampling and validation."""

import math

import numpy as np
import pytest

from vbcsim import ScenarioRisk


@pytest.mark.parametrize(
    "risk",
    [
        ScenarioRisk(),
        ScenarioRisk(trend_cv=0.05),
        ScenarioRisk(shock_probability=0.1, shock_size=0.2),
        ScenarioRisk(trend_cv=0.03, shock_probability=0.05, shock_size=-0.3),
    ],
)
def test_moments_against_sample(risk):
    n = 400_000
    m = risk.sample(n, np.random.default_rng(1), np.random.default_rng(2))
    assert m.shape == (n,)
    assert np.all(m > 0)
    sd = math.sqrt(risk.var())
    # sample mean within 4.5 standard errors (about 1 in 150,000 false alarms)
    assert abs(m.mean() - risk.mean()) <= 4.5 * sd / math.sqrt(n) + 1e-15
    if sd > 0:
        # sample variance: SE of s^2 is about sqrt((mu4 - sigma^4) / n); bound mu4 by the sample's own
        mu4 = np.mean((m - m.mean()) ** 4)
        assert abs(m.var() - risk.var()) <= 4.5 * math.sqrt(mu4 / n)


def test_trend_multiplier_has_mean_one():
    risk = ScenarioRisk(trend_cv=0.1)
    assert risk.mean() == 1.0
    assert risk.var() == pytest.approx(0.01)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"trend_cv": -0.1}, "trend_cv"),
        ({"trend_cv": float("nan")}, "trend_cv"),
        ({"shock_probability": 1.5}, "shock_probability"),
        ({"shock_probability": -0.1}, "shock_probability"),
        ({"shock_size": -1.0}, "shock_size"),
        ({"shock_size": float("inf")}, "shock_size"),
    ],
)
def test_bad_values(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ScenarioRisk(**kwargs)


def test_bad_types():
    with pytest.raises(TypeError, match="trend_cv"):
        ScenarioRisk(trend_cv="high")


# ---------------------------------------------------------------------------------------------
# the market-wide part of the multiplier (what a retrospectively updated benchmark follows)


def _draw(risk, n=6, seed=(1, 2, 3)):
    rngs = [np.random.default_rng(s) for s in seed]
    total = risk.sample(n, rngs[0], rngs[1])
    rngs = [np.random.default_rng(s) for s in seed]
    market = risk.sample_market(n, *rngs)
    # drawing both at once gives the same bits as the two separate calls
    both = risk.sample_with_market(n, *[np.random.default_rng(s) for s in seed])
    np.testing.assert_array_equal(both[0], total)
    np.testing.assert_array_equal(both[1], market)
    return total, market


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_market_split_leaves_the_multiplier_bits_unchanged(share):
    before = ScenarioRisk(trend_cv=0.05, shock_probability=0.3, shock_size=0.2)
    split = ScenarioRisk(trend_cv=0.05, shock_probability=0.3, shock_size=0.2, market_share_of_variance=share)
    assert before.market_share_of_variance == 0.0
    a = before.sample(50, np.random.default_rng(1), np.random.default_rng(2))
    b = split.sample(50, np.random.default_rng(1), np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert (split.mean(), split.var()) == (before.mean(), before.var())


def test_market_part_at_the_ends():
    # share 0: the market-wide part is the shock alone; share 1: the whole multiplier
    risk = ScenarioRisk(trend_cv=0.05, shock_probability=0.5, shock_size=0.2)
    total, market = _draw(risk, n=200)
    assert set(np.unique(market)) == {1.0, 1.2}
    shock = np.random.default_rng(2).random(200) < 0.5
    np.testing.assert_array_equal(market, np.where(shock, 1.2, 1.0))
    total, market = _draw(ScenarioRisk(0.05, 0.5, 0.2, market_share_of_variance=1.0), n=200)
    np.testing.assert_array_equal(market, total)
    total, market = _draw(ScenarioRisk(0.05), n=50)
    np.testing.assert_array_equal(market, np.ones(50))
    # the extra normal is drawn only for a split trend
    rng = np.random.default_rng(3)
    ScenarioRisk(0.05, market_share_of_variance=1.0).sample_market(
        10, np.random.default_rng(1), np.random.default_rng(2), rng
    )
    assert rng.random() == np.random.default_rng(3).random()


def test_market_and_local_parts_split_the_log_variance():
    cv, share, n = 0.1, 0.3, 400_000
    risk = ScenarioRisk(trend_cv=cv, shock_probability=0.1, shock_size=0.25, market_share_of_variance=share)
    total, market = _draw(risk, n=n, seed=(11, 12, 13))
    local = total / market
    sigma2 = math.log1p(cv * cv)
    shock = np.random.default_rng(12).random(n) < 0.1
    log_market_trend = np.log(market / np.where(shock, 1.25, 1.0))
    log_local = np.log(local)
    # variances of the logs: share and 1 − share of sigma², each within 4.5 standard errors
    # (the SE of a normal sample variance is sigma² √(2 / n))
    for x, var in ((log_market_trend, share * sigma2), (log_local, (1 - share) * sigma2)):
        assert abs(x.var() - var) <= 4.5 * var * math.sqrt(2 / n)
        assert abs(x.mean() + 0.5 * var) <= 4.5 * math.sqrt(var / n)  # each part has mean 1
    # independent parts: correlation within 4.5 / √n of 0
    assert abs(np.corrcoef(log_market_trend, log_local)[0, 1]) <= 4.5 / math.sqrt(n)
    # the local part is the trend alone: the shock year is market-wide
    assert abs(market.mean() - risk.mean()) <= 4.5 * market.std() / math.sqrt(n)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_bad_market_share(bad):
    with pytest.raises(ValueError, match="market_share_of_variance"):
        ScenarioRisk(trend_cv=0.02, market_share_of_variance=bad)
    with pytest.raises(TypeError, match="market_share_of_variance"):
        ScenarioRisk(market_share_of_variance="half")


def test_plan_carries_the_market_factor():
    from vbcsim import Lognormal, Population, Segment
    from vbcsim.engine import driver
    from vbcsim.results.plan import make_plan

    pop = Population([Segment("a", 10, Lognormal(7.0, 1.0))])
    att = np.zeros(0)
    plan = make_plan(pop, {}, 40, 9, att, None, None)
    assert plan.market_factor is None
    risk = ScenarioRisk(trend_cv=0.04, shock_probability=0.2, shock_size=0.1, market_share_of_variance=0.5)
    plan = make_plan(pop, {}, 40, 9, att, risk, None)
    expected = risk.sample_market(
        40,
        driver.scenario_rng(9, driver.STREAM_TREND),
        driver.scenario_rng(9, driver.STREAM_SHOCK),
        driver.scenario_rng(9, driver.STREAM_MARKET),
    )
    np.testing.assert_array_equal(plan.market_factor, expected)
    # the total multiplier is the one drawn without the split, bit for bit
    unsplit = make_plan(pop, {}, 40, 9, att, ScenarioRisk(0.04, 0.2, 0.1), None)
    np.testing.assert_array_equal(plan.factor, unsplit.factor)
    from vbcsim.results.plan import scenario_factors

    np.testing.assert_array_equal(plan.factor, scenario_factors(risk, 40, 9))
    assert not np.array_equal(plan.market_factor, unsplit.market_factor)
