"""The payer-run platform convener (issue 16, part 2): its flows by hand on a small panel."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import vbcsim
from vbcsim.partnerships.platform import (
    MEMBERS_PER_EMPLOYEE,
    NARROW_NETWORK_PRICE,
    NAVIGATION_FEE_PEPM,
    PLATFORM_MARGIN,
    STEERED_SHARE,
    PlatformConvener,
)

POP = vbcsim.defaults.provider_panel(2000)
N = 300


def _run(**models):
    arrs = {name: m.arrangement(POP) for name, m in models.items()}
    return vbcsim.simulate(POP, arrs, n_scenarios=N, seed=11), arrs


def test_defaults_and_derived_terms():
    m = PlatformConvener()
    assert (m.key, m.title) == ("platform_convener", "payer-run platform convener")
    assert m.steered_share == STEERED_SHARE and m.steered_price == pytest.approx(1 / 1.157)
    assert m.platform_fee_pmpm == pytest.approx(NAVIGATION_FEE_PEPM / MEMBERS_PER_EMPLOYEE)
    assert m.operating_cost_pmpm() == pytest.approx(m.platform_fee_pmpm * (1 - PLATFORM_MARGIN))
    s, p = STEERED_SHARE, NARROW_NETWORK_PRICE
    assert m.price_index() == pytest.approx(1 - s + s * p)
    assert m.network_share() == pytest.approx(s * p / (1 - s + s * p))
    arr = m.arrangement(POP)
    assert arr.price_index() == pytest.approx(m.price_index())
    assert arr.delivered_share == pytest.approx(m.network_share())
    assert arr.care_management_party == "platform"
    platform = dict(arr.entities)["platform"]
    assert platform.equity() == {"payer": 1.0}
    assert platform.contributed() == {"payer": pytest.approx(12 * m.operating_cost_pmpm() * POP.members)}


def test_flows_by_hand_against_a_run_without_steering_on_the_same_draws():
    # a fixed utilisation effect, so the two models' costs differ by the price index alone
    m = PlatformConvener(efficiency_sd=0.0)
    ds, arrs = _run(platform=m, unsteered=dataclasses.replace(m, steered_share=0.0))
    pi = m.price_index()
    cost = ds.medical_cost.sel(model="platform").values
    base = ds.medical_cost.sel(model="unsteered").values
    np.testing.assert_allclose(cost, pi * base, rtol=1e-12)
    np.testing.assert_allclose(ds.price_index.sel(model="platform"), pi)
    np.testing.assert_allclose(ds.price_effect.sel(model="platform").values, cost - cost / pi, rtol=1e-9)
    np.testing.assert_allclose(ds.price_effect.sel(model="unsteered").values, 0.0, atol=1e-6)
    assert (ds.price_effect.sel(model="platform").values < 0).all()
    # the utilisation effect is the same in both: steering is a price lever only
    np.testing.assert_array_equal(ds.efficiency.sel(model="platform"), ds.efficiency.sel(model="unsteered"))

    arr, members = arrs["platform"], POP.members
    fee = m.platform_fee_pmpm * 12 * members
    opex = m.operating_cost_pmpm() * 12 * members
    s = ds.settlement.sel(model="platform")
    np.testing.assert_allclose(s.sel(contract="management_fee").values, fee)
    d = m.network_share()
    np.testing.assert_allclose(s.sel(contract="fee_for_service").values, d * cost, rtol=1e-12)
    # the platform: its fee less its operating cost, the same in every scenario
    platform = ds.entity_net.sel(model="platform", entity="platform").values
    np.testing.assert_allclose(platform, fee - opex, rtol=1e-12)
    # the network: paid for the steered care at the steered price, its cost of that care at
    # baseline prices (the care it delivers does not change with the price it is paid)
    provider = ds.net.sel(model="platform", party="provider").values
    index = arr.price_index()
    np.testing.assert_allclose(provider, d * cost - m.delivery_ratio * d * cost / index, rtol=1e-12)
    # the payer: premium − admin − all claims − the fee; consolidated, plus the platform's result
    own = (arr.premium_pmpm - arr.admin_pmpm) * 12 * members - cost - fee
    np.testing.assert_allclose(ds.own_net.sel(model="platform", party="payer").values, own, rtol=1e-9)
    np.testing.assert_allclose(ds.net.sel(model="platform", party="payer").values, own + platform, rtol=1e-9)
    np.testing.assert_allclose(
        ds.contributed_capital.sel(model="platform", party="payer"), opex
    )  # one year of cost
    # conservation across the entity and owner views
    for model in ("platform", "unsteered"):
        np.testing.assert_allclose(
            ds.net.sel(model=model).sum("party").values,
            ds.own_net.sel(model=model).sum("party").values
            + ds.entity_net.sel(model=model).fillna(0.0).sum("entity").values,
            rtol=1e-12,
        )


def test_the_payer_keeps_the_price_saving_less_the_platform_s_margin_cost():
    m = PlatformConvener(efficiency_sd=0.0)
    ds, _ = _run(platform=m, unsteered=dataclasses.replace(m, steered_share=0.0))
    payer = ds.net.sel(party="payer")
    # same premium, admin and fee: the consolidated difference is the payer's share of the price
    # saving (its claims) less nothing else
    claims = ds.medical_cost
    np.testing.assert_allclose(
        (payer.sel(model="platform") - payer.sel(model="unsteered")).values,
        -(claims.sel(model="platform") - claims.sel(model="unsteered")).values,
        rtol=1e-9,
    )


@pytest.mark.parametrize(
    "terms, name",
    [
        ({"steered_share": 1.2}, "steered_share"),
        ({"steered_share": -0.1}, "steered_share"),
        ({"leakage_share": 1.5}, "leakage_share"),
        ({"steered_share": 0.7, "leakage_share": 0.4}, "steered_share + leakage_share"),
        ({"steered_price": 0.0}, "steered_price"),
        ({"leakage_price": -1.0}, "leakage_price"),
        ({"price_level": 0.0}, "price_level"),
        ({"platform_fee_pmpm": -1.0}, "platform_fee_pmpm"),
        ({"care_management_pmpm": -2.0}, "care_management_pmpm"),
        ({"capital_months": -1.0}, "capital_months"),
        ({"delivered_share": 1.5}, "delivered_share"),
        ({"efficiency": 1.5}, "efficiency"),
    ],
)
def test_bad_terms_are_refused_naming_the_term(terms, name):
    with pytest.raises(ValueError, match=name.replace("+", r"\+")):
        PlatformConvener(**terms)


def test_a_price_far_above_the_baseline_is_refused_by_the_arrangement_naming_it():
    with pytest.raises(ValueError, match="steered_price"):
        PlatformConvener(steered_price=50.0).arrangement(POP)


def test_overrides():
    m = PlatformConvener(
        platform_fee_pmpm=6.0,
        care_management_pmpm=4.0,
        capital_months=6.0,
        delivered_share=0.5,
        leakage_share=0.05,
        leakage_price=1.5,
        price_level=0.95,
        efficiency_sd=0.0,
    )
    arr = m.arrangement(POP)
    assert arr.care_management_pmpm == 4.0 and arr.delivered_share == 0.5
    assert arr.price_index() == pytest.approx(
        0.95 * (1 - 0.31 - 0.05 + 0.31 * NARROW_NETWORK_PRICE + 0.05 * 1.5)
    )
    assert dict(arr.entities)["platform"].contributed() == {"payer": 6 * 4.0 * POP.members}
    ds = vbcsim.simulate(POP, {"p": arr}, n_scenarios=50, seed=2)
    np.testing.assert_allclose(
        ds.entity_net.sel(model="p", entity="platform").values, (6.0 - 4.0) * 12 * POP.members
    )
    # with no steering and no price levers there is no price effect in the cube at all
    plain = PlatformConvener(steered_share=0.0).arrangement(POP)
    assert not plain.has_price_levers() and plain.delivered_share == 0.0
