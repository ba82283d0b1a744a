"""Stop-loss that settles and prices as written: aggregate net of specific, premiums under systematic risk."""

import dataclasses
import math

import numpy as np
import pytest

import vbcsim as v
from vbcsim import contracts as c
from vbcsim.contracts import pricing
from vbcsim.contracts.settle import aggregate_stop_loss_oracle

from .helpers import make_ctx

RISK = v.ScenarioRisk(trend_cv=0.05, shock_probability=0.10, shock_size=0.15)
GAMMA = v.Gamma(2.0, 3_000.0)  # mean 6,000
POP = v.Population([v.Segment("a", 400, GAMMA)])


def _ctx(contracts, segment_cost, excess, *, scenario_risk=None, population=POP, **kw):
    ctx = make_ctx(segment_cost, [400], excess=excess, **kw)
    return dataclasses.replace(
        ctx, contracts=tuple(contracts), population=population, scenario_risk=scenario_risk
    )


# ------------------------------------------------------------------- aggregate net of specific


def test_aggregate_attaches_net_of_specific_recoveries_by_hand():
    spec = c.SpecificStopLoss(20_000.0, premium_pmpm=1.0)
    agg = c.AggregateStopLoss(1.05, premium_pmpm=2.0)
    cost = [[2_600_000.0], [2_200_000.0], [3_000_000.0]]
    excess = {20_000.0: [[150_000.0], [0.0], [900_000.0]]}
    ctx = _ctx([spec, agg], cost, excess)
    # expected retained claims E[N] = 400 E[min(X, 20,000)] (closed form of the gamma)
    e_n = 400 * float(GAMMA.limited_mean(20_000.0))
    assert agg.specific_attachment(ctx) == 20_000.0
    assert agg.expected_claims(ctx) == pytest.approx(e_n, rel=1e-12)
    att = 1.05 * e_n
    net = np.array([2_600_000.0 - 150_000.0, 2_200_000.0, 3_000_000.0 - 900_000.0])
    np.testing.assert_allclose(agg.claims(ctx), net, rtol=0, atol=0)
    recovery = np.maximum(net - att, 0.0)
    np.testing.assert_allclose(agg.recovery(ctx), recovery, rtol=1e-15)
    st = agg.settle(ctx)
    np.testing.assert_allclose(st.amount, recovery - 2.0 * 12 * 400, rtol=1e-15)
    assert st.flows == {"reinsurer": pytest.approx(-st.amount), "payer": pytest.approx(st.amount)}


def test_no_dollar_is_recovered_twice():
    """Specific plus aggregate recoveries never exceed the claims, scenario by scenario."""
    spec = c.SpecificStopLoss(20_000.0, premium_pmpm=0.0)
    agg = c.AggregateStopLoss(0.5, premium_pmpm=0.0)  # a low attachment: both layers pay often
    rng = np.random.default_rng(1)
    excess = rng.uniform(0, 1e6, (50, 1))
    cost = excess + rng.uniform(1e6, 3e6, (50, 1))
    ctx = _ctx([spec, agg], cost, {20_000.0: excess})
    total = spec.recovery(ctx) + agg.recovery(ctx)
    assert (total <= cost[:, 0] + 1e-6).all()
    # without the specific cover the same aggregate layer would pay on the gross claims
    alone = _ctx([agg], cost, {20_000.0: excess})
    assert agg.specific_attachment(alone) is None
    assert (agg.recovery(alone) >= agg.recovery(ctx)).all()


def test_specific_of_another_insured_is_not_netted():
    agg = c.AggregateStopLoss(1.25, premium_pmpm=0.0)
    other = c.SpecificStopLoss(20_000.0, insured="provider")
    ctx = _ctx([other, agg], [[1e6]], {20_000.0: [[1e5]]})
    assert agg.specific_attachment(ctx) is None
    low, high = c.SpecificStopLoss(20_000.0), c.SpecificStopLoss(50_000.0)
    ctx = _ctx([high, low, agg], [[1e6]], {20_000.0: [[1e5]], 50_000.0: [[1e4]]})
    assert agg.specific_attachment(ctx) == 20_000.0


def test_limited_severity_matches_numpy_reference():
    lim = pricing.Limited(v.Lognormal(8.0, 1.5), 20_000.0)
    x = np.minimum(v.Lognormal(8.0, 1.5).sample(400_000, np.random.default_rng(2)), 20_000.0)
    se = x.std() / math.sqrt(x.size)
    assert abs(x.mean() - lim.mean()) < 4 * se
    assert lim.var() == pytest.approx(x.var(), rel=0.02)
    d = np.array([1_000.0, 19_999.0, 20_000.0, 1e6])
    np.testing.assert_allclose(lim.limited_mean(d), [np.minimum(x, t).mean() for t in d], rtol=5e-3)
    assert lim.cdf(20_000.0) == 1.0 and lim.sf(25_000.0) == 0.0


# ------------------------------------------------------------------- pricing under systematic risk


def test_no_systematic_risk_prices_as_before_bitwise():
    for a in (10_000.0, 50_000.0):
        assert pricing.mixed_excess(POP, a, None) == float(sum(s.members * s.cost.stop_loss(a) for s in POP))
    oracle = aggregate_stop_loss_oracle(POP)
    assert pricing.mixed_aggregate_stop_loss(oracle, None)(2.6e6) == oracle(2.6e6)


def test_shock_only_mixture_is_the_two_point_closed_form():
    risk = v.ScenarioRisk(shock_probability=0.1, shock_size=0.15)
    a = 30_000.0
    expected = 400 * (0.9 * GAMMA.stop_loss(a) + 0.1 * 1.15 * GAMMA.stop_loss(a / 1.15))
    assert pricing.mixed_excess(POP, a, risk) == pytest.approx(expected, rel=1e-14)


def test_quadrature_has_converged():
    a = 30_000.0
    f, w = pricing.systematic_nodes(RISK)
    assert float(np.dot(w, f)) == pytest.approx(RISK.mean(), rel=1e-14)
    assert float(np.dot(w, f * f)) == pytest.approx(RISK.second_moment(), rel=1e-13)
    f2, w2 = pricing.systematic_nodes(RISK, 2 * pricing.TREND_NODES)
    fine = sum(s.members * float(np.dot(w2, f2 * s.cost.stop_loss(a / f2))) for s in POP)
    assert pricing.mixed_excess(POP, a, RISK) == pytest.approx(fine, rel=1e-12)
    # the FFT path's fewer nodes against twice as many
    f3, w3 = pricing.systematic_nodes(RISK, pricing.TREND_NODES_FFT)
    f4, w4 = pricing.systematic_nodes(RISK, 2 * pricing.TREND_NODES_FFT)
    g = GAMMA.stop_loss
    assert float(np.dot(w3, f3 * g(a / f3))) == pytest.approx(float(np.dot(w4, f4 * g(a / f4))), rel=1e-10)


def test_excess_layers_grow_faster_than_trend():
    """Leveraged trend: the expected excess rises by more than the mean factor, more for higher layers."""
    growth = [
        pricing.mixed_excess(POP, a, RISK) / pricing.mixed_excess(POP, a, None) for a in (1e4, 3e4, 6e4)
    ]
    assert growth[0] > RISK.mean()
    assert growth[0] < growth[1] < growth[2]


def test_premiums_are_loaded_expected_recoveries_under_the_mixture():
    spec = c.SpecificStopLoss(30_000.0, loading=0.25)
    agg = c.AggregateStopLoss(1.10, loading=0.25)
    oracle = aggregate_stop_loss_oracle(POP)
    ctx = _ctx(
        [agg],
        [[2.4e6]],
        {30_000.0: [[0.0]]},
        scenario_risk=RISK,
        expected_cost=POP.expected_cost(),
        expected_excess={30_000.0: pricing.mixed_excess(POP, 30_000.0, RISK)},
        aggregate_stop_loss=oracle,
    )
    assert spec.premium(ctx) == 1.25 * pricing.mixed_excess(POP, 30_000.0, RISK)
    att = 1.10 * RISK.mean() * POP.expected_cost()
    assert agg.attachment(ctx) == pytest.approx(att, rel=1e-15)
    exact = pricing.mixed_aggregate_stop_loss(oracle, RISK)(att)
    assert agg.premium(ctx) == pytest.approx(1.25 * exact, rel=1e-13)  # summation order only
    # the mixture prices far above the baseline year's figure: the old premium fell short
    assert exact > 1.5 * oracle(1.10 * POP.expected_cost())


@pytest.fixture(scope="module")
def simulated():
    pop = v.Population([v.Segment("a", 1_500, v.Hurdle(0.8, v.Lognormal(7.5, 1.5)))])
    models = {
        "m": v.Arrangement([c.FeeForService(), c.SpecificStopLoss(40_000.0), c.AggregateStopLoss(1.05)]),
        "agg": v.Arrangement([c.FeeForService(), c.AggregateStopLoss(1.05)]),
    }
    ds = v.simulate(pop, models, n_scenarios=20_000, seed=11, scenario_risk=RISK, attachments=[40_000.0])
    return pop, ds


def test_exact_net_aggregate_recovery_agrees_with_monte_carlo(simulated):
    pop, ds = simulated
    stop_loss, mean = pricing.net_aggregate_stop_loss(pop, 40_000.0, RISK)
    net = (ds.medical_cost.sel(model="m") - ds.excess.sel(attachment=40_000.0).sum("segment")).values
    se = net.std() / math.sqrt(net.size)
    assert abs(net.mean() - mean) < 3 * se
    att = 1.05 * mean
    rec = np.maximum(net - att, 0.0)
    se = rec.std() / math.sqrt(rec.size)
    assert abs(rec.mean() - stop_loss(att)) < 3 * se
    # the settled contract's premium is 1.25 x that exact expectation
    premium = rec - ds.settlement.sel(model="m", contract="aggregate_stop_loss").values
    np.testing.assert_allclose(premium, 1.25 * stop_loss(att), rtol=1e-9)


def test_realised_specific_loading_is_the_contract_loading(simulated):
    pop, ds = simulated
    rec = ds.excess.sel(attachment=40_000.0).sum("segment").values
    premium = rec - ds.settlement.sel(model="m", contract="specific_stop_loss").values
    realised = premium[0] / rec.mean() - 1.0
    # delta method: sd of premium / mean(rec) is premium * se(mean) / mean^2
    se = premium[0] * rec.std() / math.sqrt(rec.size) / rec.mean() ** 2
    assert abs(realised - 0.25) < 3 * se


def test_exact_mixed_aggregate_recovery_agrees_with_monte_carlo(simulated):
    pop, ds = simulated
    oracle = pricing.mixed_aggregate_stop_loss(aggregate_stop_loss_oracle(pop), RISK)
    att = 1.05 * RISK.mean() * pop.expected_cost()
    cost = ds.medical_cost.sel(model="agg").values
    rec = np.maximum(cost - att, 0.0)
    se = rec.std() / math.sqrt(rec.size)
    assert abs(rec.mean() - oracle(att)) < 3 * se
    premium = rec - ds.settlement.sel(model="agg", contract="aggregate_stop_loss").values
    np.testing.assert_allclose(premium, 1.25 * oracle(att), rtol=1e-9)


def test_a_specific_cover_of_some_segments_nets_only_theirs():
    pop = v.Population([v.Segment("a", 400, GAMMA), v.Segment("b", 100, v.Gamma(2.0, 5_000.0))])
    agg = c.AggregateStopLoss(1.0, premium_pmpm=0.0)
    cost = [[2.0e6, 1.0e6]]
    excess = {20_000.0: [[150_000.0, 80_000.0]]}

    def ctx(spec):
        return dataclasses.replace(
            make_ctx(cost, [400, 100], excess=excess), contracts=(spec, agg), population=pop
        )

    only_a = ctx(c.SpecificStopLoss(20_000.0, premium_pmpm=1.0, segments=["a"]))
    np.testing.assert_array_equal(agg.claims(only_a), [3.0e6 - 150_000.0])
    e_n = 400 * float(GAMMA.limited_mean(20_000.0)) + 100 * 10_000.0
    assert agg.expected_claims(only_a) == pytest.approx(e_n, rel=1e-12)
    # a cover that names every segment of the book is the whole book's
    both = ctx(c.SpecificStopLoss(20_000.0, premium_pmpm=1.0, segments=["b", "a"]))
    np.testing.assert_array_equal(agg.claims(both), [3.0e6 - 230_000.0])
    assert agg.specific_attachment(both) == 20_000.0
