"""Payment models in the engine: common random numbers, efficiency, premium, conservation."""

import math
from dataclasses import dataclass

import numpy as np
import pytest

import vbcsim as v
from vbcsim.contracts import FeeForService
from vbcsim.contracts.base import Contract, Needs, Settlement, transfer

COST = v.Hurdle(0.8, v.Lognormal.from_mean_cv(5_000.0, 2.5))
POP = v.Population([v.Segment("a", 2_000, COST), v.Segment("b", 500, v.Gamma.from_mean_cv(8_000.0, 1.5))])


@dataclass(frozen=True)
class ReportExcess(Contract):
    """Test contract: moves the model's Σ(X − a)+ from reinsurer to payer."""

    attachment: float

    def needs(self):
        return Needs(attachments=(self.attachment,))

    def settle(self, ctx):
        return transfer(ctx.excess(self.attachment), "reinsurer", "payer")


@dataclass(frozen=True)
class BadParty(Contract):
    def settle(self, ctx):
        return transfer(ctx.medical_cost, "payer", "members")


@dataclass(frozen=True)
class BadShape(Contract):
    def settle(self, ctx):
        return Settlement(amount=np.zeros(3), flows={"payer": np.zeros(3)})


def test_common_random_numbers_and_fixed_efficiency():
    models = {
        "ffs": [FeeForService()],
        "same": [FeeForService(), ReportExcess(20_000.0)],
        "eff": v.Arrangement([FeeForService()], efficiency=0.04),
    }
    ds = v.simulate(POP, models, n_scenarios=300, seed=7)
    base = ds.cost.sum("segment")
    np.testing.assert_allclose(ds.medical_cost.sel(model="ffs"), base, rtol=1e-12)
    np.testing.assert_array_equal(ds.medical_cost.sel(model="ffs"), ds.medical_cost.sel(model="same"))
    np.testing.assert_allclose(ds.medical_cost.sel(model="eff"), 0.96 * base, rtol=1e-12)
    # the baseline cube is the same with or without models (models add views, not draws)
    plain = v.simulate(POP, n_scenarios=300, seed=7)
    np.testing.assert_array_equal(plain.cost, ds.cost)


def test_model_excess_applies_after_efficiency():
    a, e, n_scen = 20_000.0, 0.1, 4_000
    pop = v.Population([v.Segment("a", 500, COST)])
    ds = v.simulate(pop, {"m": v.Arrangement([ReportExcess(a)], efficiency=e)}, n_scenarios=n_scen, seed=3)
    got = ds.settlement.sel(model="m", contract="report_excess").values
    # E[sum ((1 - e) X - a)+] = n (1 - e) E[(X - a / (1 - e))+]
    exact = 500 * (1 - e) * COST.stop_loss(a / (1 - e))
    se = got.std(ddof=1) / math.sqrt(n_scen)
    assert abs(got.mean() - exact) < 4.5 * se  # 4.5 standard errors: false alarm about 1 in 150,000


def test_premium_default_and_override():
    risk = v.ScenarioRisk(shock_probability=0.1, shock_size=0.2)
    ds = v.simulate(
        POP,
        {
            "default": [FeeForService()],
            "pmpm": v.Arrangement([FeeForService()], premium_pmpm=600.0),
            "lr": v.Arrangement([FeeForService()], target_loss_ratio=0.8),
        },
        n_scenarios=10,
        seed=1,
        scenario_risk=risk,
    )
    expected = POP.expected_cost() * risk.mean()
    assert ds.premium.sel(model="default") == pytest.approx(expected / 0.85, rel=1e-12)
    assert ds.premium.sel(model="pmpm") == pytest.approx(600.0 * 12 * POP.members, rel=1e-12)
    assert ds.premium.sel(model="lr") == pytest.approx(expected / 0.8, rel=1e-12)


def test_conservation_and_base_flows():
    arr = v.Arrangement(
        [FeeForService(), ReportExcess(10_000.0)],
        admin_pmpm=30.0,
        care_management_pmpm=5.0,
        delivery_ratio=0.8,
        efficiency=v.Efficiency(0.05, 0.02),
    )
    ds = v.simulate(POP, {"m": arr}, n_scenarios=200, seed=11)
    net = ds.net.sel(model="m")
    c = ds.medical_cost.sel(model="m")
    prem = float(ds.premium.sel(model="m"))
    n = POP.members
    total = net.sum("party")
    np.testing.assert_allclose(total, prem - 0.8 * c - 30.0 * 12 * n - 5.0 * 12 * n, rtol=1e-10)
    np.testing.assert_allclose(net.sel(party="provider"), c - 0.8 * c - 5.0 * 12 * n, rtol=1e-10)
    excess = ds.settlement.sel(model="m", contract="report_excess")
    np.testing.assert_allclose(net.sel(party="reinsurer"), -excess, rtol=1e-12)
    np.testing.assert_allclose(net.sel(party="payer"), prem - 30.0 * 12 * n - c + excess, rtol=1e-10)


def test_settlement_is_nan_where_a_model_lacks_the_contract():
    ds = v.simulate(
        POP,
        {"a": [FeeForService()], "b": [FeeForService(), ReportExcess(5_000.0), ReportExcess(9_000.0)]},
        n_scenarios=5,
        seed=2,
    )
    assert list(ds.contract.values) == ["fee_for_service", "report_excess", "report_excess_2"]
    assert np.isnan(ds.settlement.sel(model="a", contract="report_excess")).all()
    assert np.isfinite(ds.settlement.sel(model="b")).all()


def test_efficiency_and_quality_sampling():
    rng = np.random.default_rng(0)
    e = v.Efficiency(0.05, 0.02).sample(200_000, rng)
    assert abs(e.mean() - 0.05) < 4.5 * 0.02 / math.sqrt(200_000)
    assert e.std() == pytest.approx(0.02, rel=0.01)  # sd of the sd estimate is about sd / sqrt(2n) = 0.16%
    assert np.all((e > 0) & (e < 1))
    q = v.Quality().sample(200_000, rng)
    assert abs(q.mean() - 0.8) < 4.5 * math.sqrt(0.8 * 0.2 / 11) / math.sqrt(200_000)


def test_model_draws_do_not_depend_on_other_models():
    arr = v.Arrangement([FeeForService()], efficiency=v.Efficiency(0.05, 0.02))
    one = v.simulate(POP, {"x": arr}, n_scenarios=50, seed=5)
    two = v.simulate(POP, {"first": [FeeForService()], "x": arr}, n_scenarios=50, seed=5)
    np.testing.assert_array_equal(one.efficiency.sel(model="x"), two.efficiency.sel(model="x"))
    np.testing.assert_array_equal(one.net.sel(model="x"), two.net.sel(model="x"))


@pytest.mark.parametrize(
    "models, exc, match",
    [
        ([FeeForService()], TypeError, "models"),
        ({}, ValueError, "models"),
        ({"": [FeeForService()]}, TypeError, "models"),
        ({"m": [FeeForService(), "fee"]}, TypeError, "contracts"),
        ({"m": [BadParty()]}, ValueError, "unknown party"),
        ({"m": [BadShape()]}, ValueError, "shape"),
    ],
)
def test_bad_models(models, exc, match):
    with pytest.raises(exc, match=match):
        v.simulate(POP, models, n_scenarios=5, seed=1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"premium_pmpm": -1.0}, "premium_pmpm"),
        ({"target_loss_ratio": 0.0}, "target_loss_ratio"),
        ({"target_loss_ratio": 1.2}, "target_loss_ratio"),
        ({"admin_pmpm": float("nan")}, "admin_pmpm"),
        ({"care_management_pmpm": -3.0}, "care_management_pmpm"),
        ({"delivery_ratio": -0.1}, "delivery_ratio"),
        ({"efficiency": 1.5}, "efficiency"),
        ({"care_management_party": "members"}, "care_management_party"),
    ],
)
def test_bad_arrangements(kwargs, match):
    with pytest.raises(ValueError, match=match):
        v.Arrangement([FeeForService()], **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mean": 0.3, "sd": 0.5}, "sd"),
        ({"mean": 1.0}, "mean"),
        ({"mean": -1.0, "sd": 0.01}, "mean"),  # a Beta on (-1, 1) needs mean above -1
        ({"mean": -1.5}, "mean"),
        ({"sd": -1}, "sd"),
    ],
)
def test_bad_efficiency(kwargs, match):
    with pytest.raises(ValueError, match=match):
        v.Efficiency(**kwargs)


def test_bad_quality():
    with pytest.raises(ValueError, match="alpha"):
        v.Quality(alpha=0)
    with pytest.raises(TypeError, match="quality"):
        v.simulate(POP, {"m": [FeeForService()]}, n_scenarios=5, seed=1, quality=0.8)


def _risk_share(net, cost):
    net, cost = np.asarray(net), np.asarray(cost)
    return -np.cov(net, cost)[0, 1] / np.var(cost, ddof=1)


def test_risk_share_identities_with_real_contracts():
    from vbcsim.contracts import Capitation, SharedSavings, SpecificStopLoss

    pmpm = POP.expected_cost() / POP.members / 12
    models = {
        "ffs": [FeeForService()],
        "ss": [
            FeeForService(),
            SharedSavings(pmpm, 0.5, 0.02, minimum_loss_rate=0.02, loss_sharing_rate=0.3),
        ],
        "cap": [Capitation(percent_of_premium=0.85), SpecificStopLoss(50_000.0), ReportExcess(50_000.0)],
    }
    ds = v.simulate(POP, models, n_scenarios=400, seed=9)
    for m in models:
        c = ds.medical_cost.sel(model=m)
        shares = [_risk_share(ds.net.sel(model=m, party=p), c) for p in ds.party.values]
        # shares add up to the delivery ratio (no rebates): an identity, exact to rounding
        assert sum(shares) == pytest.approx(0.85, abs=1e-9)
    c = ds.medical_cost.sel(model="ffs")
    # fee for service: the provider's margin (1 - 0.85) C grows with volume
    assert _risk_share(ds.net.sel(model="ffs", party="provider"), c) == pytest.approx(-0.15, abs=1e-9)
    ss = _risk_share(ds.net.sel(model="ss", party="provider"), c)
    assert -0.15 < ss < 0.85
    # under global capitation the stop-loss is the provider's and recovers exactly the model's excess
    sl = ds.settlement.sel(model="cap", contract="specific_stop_loss")
    recovery = ds.settlement.sel(model="cap", contract="report_excess")
    premium = 1.25 * sum(s.members * s.cost.stop_loss(50_000.0) for s in POP)
    np.testing.assert_allclose(sl, recovery - premium, rtol=1e-10)
    provider = ds.net.sel(model="cap", party="provider")
    cap = 0.85 * float(ds.premium.sel(model="cap"))
    np.testing.assert_allclose(provider, cap - 0.85 * c + recovery - premium, rtol=1e-10)


def test_user_kernel_end_to_end():
    from numba import njit

    from vbcsim.contracts import UserContract

    @njit
    def share_excess(medical_cost, excess, quality, premium, members, params):
        return params[0] * excess[:, 0]

    rule = UserContract(
        "half_excess",
        share_excess,
        attachments=(20_000.0,),
        source="reinsurer",
        target="payer",
        params=(0.5,),
    )
    ds = v.simulate(POP, {"m": [FeeForService(), rule, ReportExcess(20_000.0)]}, n_scenarios=50, seed=4)
    np.testing.assert_allclose(
        ds.settlement.sel(model="m", contract="half_excess"),
        0.5 * ds.settlement.sel(model="m", contract="report_excess"),
        rtol=1e-12,
    )


def test_contracts_that_create_money_or_misshape_amounts_are_rejected():
    class Gift(Contract):
        def settle(self, ctx):
            return Settlement(
                amount=np.zeros(ctx.n_scenarios), flows={"provider": np.full(ctx.n_scenarios, 1e6)}
            )

    class Wide(Contract):
        def settle(self, ctx):
            n = ctx.n_scenarios
            return Settlement(amount=np.zeros((n, 2)), flows={"provider": np.zeros(n), "payer": np.zeros(n)})

    pop = v.defaults.provider_panel(300)
    with pytest.raises(ValueError, match="model 'm', contract 'gift': its flows do not balance"):
        v.simulate(pop, {"m": [FeeForService(), Gift()]}, n_scenarios=10, seed=1)
    with pytest.raises(ValueError, match=r"contract 'wide': amount has shape \(10, 2\)"):
        v.simulate(pop, {"m": [FeeForService(), Wide()]}, n_scenarios=10, seed=1)


def test_lognormal_costs_that_would_overflow_are_rejected():
    seg = v.Segment("a", 10, v.Lognormal(800.0, 1.0))
    # refused before the engine's own exp(mu + 14 sigma) check: its mean overflows a double
    with pytest.raises(
        ValueError, match=r"segment 'a' cost: Lognormal\(mu=800\.0, sigma=1\.0\): its mean overflows"
    ):
        v.simulate(seg, n_scenarios=5, seed=1)
