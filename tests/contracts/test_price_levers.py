"""Unit price versus utilisation: price levers on Arrangement, the cube's price variables, and
reference-based pricing (closed form, Monte Carlo, conservation, errors)."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vbcsim as v
from vbcsim.contracts import (
    Capitation,
    FeeForService,
    ManagementFee,
    MLRRebate,
    PayForPerformance,
    ReferenceBasedPricing,
    SharedSavings,
    SpecificStopLoss,
)
from vbcsim.contracts.base import PARTIES
from vbcsim.contracts.mlr import incurred_claims
from vbcsim.contracts.reference_pricing import (
    RAND_COMMERCIAL_TO_MEDICARE,
    RAND_MARKUP_SIGMA,
    lognormal_excess_share,
)
from vbcsim.contracts.settle import _check_settlement

from .helpers import make_ctx

POP = v.Population(
    [
        v.Segment("members", 200, v.Hurdle(0.8, v.Lognormal.from_mean_cv(5_000.0, 2.0))),
        v.Segment("episodes", 20, v.Gamma.from_mean_cv(30_000.0, 0.6)),
    ]
)
PMPM = POP.expected_cost() / POP.members / 12
N = 64
PRICE_VARIABLES = ("price_index", "price_effect", "balance_billing")


def run(models, n=N, seed=11, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return v.simulate(POP, models, n_scenarios=n, seed=seed, **kw)


def overlays():
    return (
        PayForPerformance(bonus_pmpm=5.0),
        ManagementFee(pmpm=3.0),
        SharedSavings(benchmark_pmpm=PMPM, sharing_rate=0.5, minimum_savings_rate=0.0, savings_cap=None),
    )


# ---------------------------------------------------------------------------------------------
# the price index


def test_price_index_by_hand():
    ffs = (FeeForService(),)
    assert v.Arrangement(contracts=ffs).price_index() == 1.0
    assert not v.Arrangement(contracts=ffs).has_price_levers()
    assert v.Arrangement(contracts=ffs, price_level=0.9).price_index() == 0.9
    arr = v.Arrangement(
        contracts=ffs,
        price_level=1.1,
        steered_share=0.3,
        steered_price=0.8,
        leakage_share=0.1,
        leakage_price=1.5,
    )
    # 1.1 × (0.6 + 0.3 × 0.8 + 0.1 × 1.5) = 1.1 × 0.99
    assert arr.price_index() == pytest.approx(1.089, rel=1e-15)
    assert arr.has_price_levers()
    # steering alone: 70% at 1, 30% at 0.8
    assert v.Arrangement(contracts=ffs, steered_share=0.3, steered_price=0.8).price_index() == pytest.approx(
        0.94
    )
    # a share with the default price changes nothing
    assert v.Arrangement(contracts=ffs, leakage_share=0.4).price_index() == 1.0
    # the status quo is at baseline prices
    assert arr.status_quo().price_index() == 1.0


# ---------------------------------------------------------------------------------------------
# a price-level change on the same draws


def test_price_level_scales_cost_and_only_cost_driven_settlements():
    models = {
        # a fixed efficiency: an uncertain one is drawn per model name (its own stream)
        "base": v.Arrangement(contracts=(FeeForService(), *overlays()), efficiency=0.05),
        "cheap": v.Arrangement(contracts=(FeeForService(), *overlays()), efficiency=0.05, price_level=0.9),
        "cap": v.Arrangement(contracts=(Capitation(pmpm=PMPM), PayForPerformance(bonus_pmpm=5.0))),
        "cap_cheap": v.Arrangement(
            contracts=(Capitation(pmpm=PMPM), PayForPerformance(bonus_pmpm=5.0)), price_level=0.9
        ),
    }
    ds = run(models)
    base, cheap = ds.sel(model="base"), ds.sel(model="cheap")
    # the same draws: medical cost exactly proportional (up to float rounding), utilisation unchanged
    np.testing.assert_allclose(cheap.medical_cost / base.medical_cost, 0.9, rtol=1e-12)
    np.testing.assert_array_equal(cheap.efficiency, base.efficiency)
    s_base, s_cheap = base.settlement, cheap.settlement
    np.testing.assert_allclose(
        s_cheap.sel(contract="fee_for_service"), 0.9 * s_base.sel(contract="fee_for_service"), rtol=1e-12
    )
    # settlements that do not depend on cost: bit for bit
    for name in ("pay_for_performance", "management_fee"):
        np.testing.assert_array_equal(s_cheap.sel(contract=name), s_base.sel(contract=name))
    np.testing.assert_array_equal(
        ds.settlement.sel(model="cap_cheap", contract="capitation"),
        ds.settlement.sel(model="cap", contract="capitation"),
    )
    # shared savings by hand: 0.5 × (benchmark − C)+, first dollar, no cap
    benchmark = PMPM * 12 * POP.members
    for m in (base, cheap):
        hand = 0.5 * np.maximum(benchmark - m.medical_cost.values, 0.0)
        np.testing.assert_allclose(m.settlement.sel(contract="shared_savings"), hand, rtol=1e-12, atol=1e-6)
    moved = s_cheap.sel(contract="shared_savings") - s_base.sel(contract="shared_savings")
    assert float(moved.mean()) > 0  # lower prices, more savings
    # the cube's price variables
    np.testing.assert_array_equal(ds.price_index, [1.0, 0.9, 1.0, 0.9])
    np.testing.assert_array_equal(ds.price_effect.sel(model=["base", "cap"]), 0.0)
    np.testing.assert_allclose(cheap.price_effect, cheap.medical_cost - cheap.medical_cost / 0.9, rtol=1e-12)
    np.testing.assert_allclose(cheap.price_effect, -0.1 * base.medical_cost, rtol=1e-9)
    assert "balance_billing" not in ds
    for name in PRICE_VARIABLES[:2]:
        assert ds[name].attrs["units"]


def test_stop_loss_attaches_to_priced_claims():
    # (0.9 X − 0.9 a)+ = 0.9 (X − a)+: the recoveries scale with the price when the attachment does
    a, prem = 20_000.0, 4.0
    models = {
        "base": v.Arrangement(contracts=(FeeForService(), SpecificStopLoss(attachment=a, premium_pmpm=prem))),
        "cheap": v.Arrangement(
            contracts=(FeeForService(), SpecificStopLoss(attachment=0.9 * a, premium_pmpm=prem)),
            price_level=0.9,
        ),
    }
    ds = run(models)
    premium = prem * 12 * POP.members
    rec = ds.settlement.sel(contract="specific_stop_loss") + premium
    assert float(rec.sel(model="base").max()) > 0
    np.testing.assert_allclose(rec.sel(model="cheap"), 0.9 * rec.sel(model="base"), rtol=1e-9, atol=1e-6)


def test_steering_and_leakage_by_hand():
    terms = dict(price_level=1.1, steered_share=0.3, steered_price=0.8, leakage_share=0.1, leakage_price=1.5)
    models = {
        "base": v.Arrangement(contracts=(FeeForService(),)),
        "network": v.Arrangement(contracts=(FeeForService(),), **terms),
    }
    ds = run(models)
    hand = 1.1 * (0.6 + 0.3 * 0.8 + 0.1 * 1.5)
    np.testing.assert_allclose(
        ds.medical_cost.sel(model="network") / ds.medical_cost.sel(model="base"), hand, rtol=1e-12
    )
    assert float(ds.price_index.sel(model="network")) == pytest.approx(hand, rel=1e-15)


def test_defaults_are_bitwise_identical_to_a_run_without_the_fields():
    contracts = (FeeForService(), SpecificStopLoss(attachment=20_000.0), *overlays(), MLRRebate())
    plain = {"m": v.Arrangement(contracts=contracts, efficiency=v.Efficiency(0.05, 0.02))}
    explicit = {
        "m": v.Arrangement(
            contracts=contracts,
            efficiency=v.Efficiency(0.05, 0.02),
            price_level=1.0,
            steered_share=0.0,
            steered_price=1.0,
            leakage_share=0.0,
            leakage_price=1.0,
        )
    }
    a = run(plain, attachments=(10_000.0,), baseline=True)
    b = run(explicit, attachments=(10_000.0,), baseline=True)
    assert list(a.data_vars) == list(b.data_vars)
    assert not any(name in a for name in PRICE_VARIABLES)
    for name in a.data_vars:
        assert a[name].values.tobytes() == b[name].values.tobytes(), name
    # a model with price levers beside it leaves the default model's results bit for bit
    c = run({**plain, "cheap": v.Arrangement(contracts=contracts, price_level=0.8)}, attachments=(10_000.0,))
    for name in ("net", "medical_cost", "settlement", "rebate", "outside_care", "efficiency"):
        assert a[name].sel(model="m").values.tobytes() == c[name].sel(model="m").values.tobytes(), name


# ---------------------------------------------------------------------------------------------
# reference-based pricing


def mc_share(mean, sigma, cap, n=400_000, seed=7):
    """E[(M − k)+] and its standard error by plain numpy Monte Carlo of a lognormal markup."""
    rng = np.random.default_rng(seed)
    m = np.exp(rng.normal(math.log(mean) - 0.5 * sigma**2, sigma, n))
    excess = np.maximum(m - cap, 0.0)
    return excess.mean() / mean, excess.std(ddof=1) / math.sqrt(n) / mean


@pytest.mark.parametrize(
    ("mean", "sigma", "cap"),
    [
        (RAND_COMMERCIAL_TO_MEDICARE, RAND_MARKUP_SIGMA, 2.0),
        (2.54, 0.5, 1.5),
        (2.0, 0.3, 3.0),
        (1.2, 1.0, 1.0),
    ],
)
def test_capped_share_against_monte_carlo(mean, sigma, cap):
    exact = ReferenceBasedPricing(multiple=cap, markup_mean=mean, markup_sigma=sigma).capped_share()
    est, se = mc_share(mean, sigma, cap)
    assert abs(est - exact) < 4 * se, (est, exact, se)


def test_capped_share_closed_form_by_hand():
    # Black–Scholes form by hand with math.erf
    mean, sigma, k = 2.54, 0.4, 2.0
    phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    d1 = (math.log(mean / k) + sigma**2 / 2) / sigma
    hand = phi(d1) - k / mean * phi(d1 - sigma)
    assert lognormal_excess_share(mean, sigma, k) == pytest.approx(hand, rel=1e-12)
    # no spread: the markup's excess over the cap, or nothing
    assert lognormal_excess_share(2.0, 0.0, 1.5) == pytest.approx(0.25)
    assert lognormal_excess_share(2.0, 0.0, 2.5) == 0.0
    # the share falls as the cap rises, and vanishes far above the prices
    shares = [lognormal_excess_share(2.54, 0.18, k) for k in (1.0, 1.5, 2.0, 2.54, 4.0)]
    assert all(a > b for a, b in zip(shares, shares[1:], strict=False))
    assert lognormal_excess_share(2.54, 0.18, 20.0) < 1e-12
    # the RAND-derived spread: 1.70 at the 2nd, 3.00 at the 86th percentile of a lognormal
    assert RAND_MARKUP_SIGMA == pytest.approx(0.1812, abs=1e-4)


COST = [[6_000.0, 4_000.0], [12_000.0, 8_000.0], [0.0, 0.0]]


def test_reference_pricing_settles_by_hand():
    ctx = make_ctx(COST, [10, 5])
    rbp = ReferenceBasedPricing(multiple=2.0)
    r = rbp.capped_share()
    st_ = rbp.settle(ctx)
    np.testing.assert_allclose(st_.amount, [r * 10_000, r * 20_000, 0.0], rtol=1e-15)
    assert set(st_.flows) == {"payer"}
    np.testing.assert_array_equal(st_.flows["payer"], st_.amount)
    np.testing.assert_array_equal(st_.from_members, st_.amount)
    assert st_.external is None and st_.outside_care is None
    _check_settlement(st_, "reference_based_pricing", "m", 3)  # balances: flows = from_members
    # segments, and the claims party under global capitation
    only_b = ReferenceBasedPricing(multiple=2.0, segments=["b"]).settle(ctx)
    np.testing.assert_allclose(only_b.amount, [r * 4_000, r * 8_000, 0.0], rtol=1e-15)
    capitated = ReferenceBasedPricing(multiple=2.0).settle(make_ctx(COST, [10, 5], claims_party="provider"))
    assert set(capitated.flows) == {"provider"}
    assert set(ReferenceBasedPricing(multiple=2.0, party="enabler").settle(ctx).flows) == {"enabler"}


def test_reference_pricing_reduces_incurred_claims():
    ctx = make_ctx(COST, [10, 5])
    for c in (FeeForService(), ReferenceBasedPricing(multiple=1.5)):
        ctx.settled.append((c.name, c, c.settle(ctx)))
    r = ReferenceBasedPricing(multiple=1.5).capped_share()
    np.testing.assert_allclose(incurred_claims(ctx), (1 - r) * np.array([10_000.0, 20_000.0, 0.0]))


def test_reference_pricing_in_a_run():
    rbp = ReferenceBasedPricing(multiple=2.0)
    models = {
        "ffs": v.Arrangement(contracts=(FeeForService(),)),
        "rbp": v.Arrangement(contracts=(FeeForService(), rbp)),
    }
    ds = run(models)
    r = rbp.capped_share()
    billed = ds.balance_billing.sel(model="rbp")
    np.testing.assert_allclose(billed, r * ds.medical_cost.sel(model="rbp"), rtol=1e-12)
    np.testing.assert_array_equal(ds.balance_billing.sel(model="ffs"), 0.0)
    np.testing.assert_array_equal(ds.settlement.sel(model="rbp", contract="reference_based_pricing"), billed)
    net = ds.net
    np.testing.assert_allclose(
        net.sel(model="rbp", party="payer") - net.sel(model="ffs", party="payer"), billed, rtol=1e-12
    )
    np.testing.assert_array_equal(
        net.sel(model="rbp", party="provider"), net.sel(model="ffs", party="provider")
    )
    # not mixed into rebates, and no price index without a price lever
    np.testing.assert_array_equal(ds.rebate, 0.0)
    assert "price_index" not in ds and "price_effect" not in ds
    assert ds.balance_billing.attrs["units"] == "currency per year"


# ---------------------------------------------------------------------------------------------
# conservation of money with the new levers and contract


SMALL = v.Population([v.Segment("members", 60, v.Hurdle(0.8, v.Lognormal.from_mean_cv(5_000.0, 2.0)))])


@st.composite
def priced_arrangement(draw):
    base = draw(
        st.sampled_from(
            [FeeForService(), Capitation(pmpm=400.0), Capitation(pmpm=300.0, scope="professional")]
        )
    )
    rbp = ReferenceBasedPricing(
        multiple=draw(st.floats(0.5, 4.0)),
        markup_mean=draw(st.floats(1.0, 4.0)),
        markup_sigma=draw(st.floats(0.0, 1.5)),
    )
    contracts = [base, rbp]
    if draw(st.booleans()):
        contracts.append(SpecificStopLoss(attachment=draw(st.floats(5_000.0, 50_000.0))))
    if draw(st.booleans()):
        contracts.append(MLRRebate())
    steered = draw(st.floats(0.0, 0.6))
    return v.Arrangement(
        contracts=tuple(contracts),
        admin_pmpm=draw(st.floats(0.0, 40.0)),
        care_management_pmpm=draw(st.floats(0.0, 20.0)),
        delivered_share=draw(st.floats(0.2, 1.0)),
        efficiency=draw(st.floats(-0.1, 0.2)),
        price_level=draw(st.floats(0.5, 2.0)),
        steered_share=steered,
        steered_price=draw(st.floats(0.5, 1.0)),
        leakage_share=draw(st.floats(0.0, 1.0 - steered)),
        leakage_price=draw(st.floats(1.0, 3.0)),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arr=priced_arrangement(), seed=st.integers(0, 2**31))
def test_money_is_conserved_with_price_levers_and_reference_pricing(arr, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds = v.simulate(SMALL, {"m": arr}, n_scenarios=8, seed=seed)
    m = ds.sel(model="m")
    c = m.medical_cost
    members = SMALL.members
    expected = (
        m.premium
        - arr.delivery_ratio * arr.delivered_share * c / arr.price_index()
        - arr.admin_pmpm * 12 * members
        - arr.care_management_pmpm * 12 * members
    )
    total = m.net.sum("party") + m.outside_care + m.rebate - m.balance_billing
    scale = max(1.0, float(abs(m.net).max()), float(m.premium))
    np.testing.assert_allclose(total, expected, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(m.price_effect, c - c / arr.price_index(), rtol=1e-12, atol=1e-9)
    assert set(m.party.values) == set(PARTIES)


# ---------------------------------------------------------------------------------------------
# errors name the field


@pytest.mark.parametrize(
    ("kw", "exc", "field"),
    [
        ({"price_level": 0.0}, ValueError, "price_level"),
        ({"price_level": -1.0}, ValueError, "price_level"),
        ({"price_level": 110.0}, ValueError, "price_level"),
        ({"price_level": "1.0"}, TypeError, "price_level"),
        ({"price_level": True}, TypeError, "price_level"),
        ({"price_level": float("nan")}, ValueError, "price_level"),
        ({"steered_share": 1.2}, ValueError, "steered_share"),
        ({"steered_share": -0.1}, ValueError, "steered_share"),
        ({"steered_price": 0.0}, ValueError, "steered_price"),
        ({"leakage_share": float("inf")}, ValueError, "leakage_share"),
        ({"leakage_price": None}, TypeError, "leakage_price"),
        ({"steered_share": 0.7, "leakage_share": 0.4}, ValueError, "steered_share + leakage_share"),
    ],
)
def test_arrangement_price_lever_errors_name_the_field(kw, exc, field):
    with pytest.raises(exc, match=field.replace("+", r"\+")):
        v.Arrangement(contracts=(FeeForService(),), **kw)


def test_price_levers_are_keyword_only():
    with pytest.raises(TypeError):
        v.Arrangement(
            (FeeForService(),), None, 0.85, 0.0, 0.0, 0.0, 0.85, "provider", (), 1.0, None, None, 0.9
        )


@pytest.mark.parametrize(
    ("kw", "exc", "field"),
    [
        ({"multiple": 0.0}, ValueError, "multiple"),
        ({"multiple": 150.0}, ValueError, "multiple"),
        ({"multiple": "2"}, TypeError, "multiple"),
        ({"multiple": 2.0, "markup_mean": -1.0}, ValueError, "markup_mean"),
        ({"multiple": 2.0, "markup_sigma": -0.1}, ValueError, "markup_sigma"),
        ({"multiple": 2.0, "markup_sigma": 5.0}, ValueError, "markup_sigma"),
        ({"multiple": 2.0, "party": "members"}, ValueError, "party"),
        ({"multiple": 2.0, "segments": []}, ValueError, "segments"),
    ],
)
def test_reference_pricing_errors_name_the_field(kw, exc, field):
    with pytest.raises(exc, match=field):
        ReferenceBasedPricing(**kw)
    with pytest.raises(TypeError):
        ReferenceBasedPricing()  # the cap is the plan's own term: no default
