"""The payer-led direct-ownership preset: a payer owns (a stake in) the group that delivers care.

Expected flows by hand on a small panel, consolidation by the payer's stake, conservation across
the entity and owner views, the price lever on the same draws, the return on contributed capital,
and the terms' checks and overrides.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import vbcsim
from vbcsim.contracts import FeeForService
from vbcsim.partnerships.base import (
    DEFAULT_SCENARIO_RISK,
    DELIVERED_SHARE_PRIMARY_CARE,
    DELIVERED_SHARE_SYSTEM,
    expected_pmpm,
)
from vbcsim.partnerships.direct_ownership import ACQUISITION_MULTIPLE, DirectOwnership

PANEL = vbcsim.defaults.provider_panel(2000)
RISK = DEFAULT_SCENARIO_RISK
N = 300
MEMBERS = PANEL.members


def _run(models, seed=11):
    arrangements = {name: m.arrangement(PANEL, RISK) for name, m in models.items()}
    return vbcsim.simulate(PANEL, arrangements, n_scenarios=N, seed=seed, scenario_risk=RISK)


@pytest.fixture(scope="module")
def stake_run():
    model = DirectOwnership(payer_equity=0.8)
    return model, _run({"owned": model})


def _group_by_hand(model, cost, index=1.0):
    # revenue at the group's prices; its cost of care follows the care it delivers (utilisation),
    # at baseline prices: cost / price index
    s, delta = model.delivered_share, model.delivery_ratio
    care_management = model.care_management_pmpm * 12.0 * MEMBERS
    return s * cost - delta * s * cost / index - care_management


def test_the_preset_declares_the_owned_group():
    model = DirectOwnership()
    assert (model.key, model.title) == ("direct_ownership", "payer-owned care delivery")
    arr = model.arrangement(PANEL, RISK)
    assert arr.contracts == (FeeForService(target="medical_group"),)
    assert arr.delivering_party == "medical_group" and arr.care_management_party == "medical_group"
    assert arr.insurer == "payer" and arr.delivered_share == DELIVERED_SHARE_SYSTEM
    group = dict(arr.entities)["medical_group"]
    assert group.equity() == {"payer": 1.0}  # bought outright: the physicians keep nothing
    ebitda = 0.15 * DELIVERED_SHARE_SYSTEM * expected_pmpm(PANEL, RISK) * 12.0 * MEMBERS
    assert model.standalone_ebitda(PANEL, RISK) == pytest.approx(ebitda, rel=1e-12)
    assert group.contributed() == {"payer": pytest.approx(ACQUISITION_MULTIPLE * ebitda, rel=1e-12)}
    assert arr.price_level == 1.0 and not arr.has_price_levers()


def test_the_group_s_result_is_its_fee_for_service_margin_less_care_management(stake_run):
    model, ds = stake_run
    cost = ds.medical_cost.sel(model="owned").values
    group = ds.entity_net.sel(model="owned", entity="medical_group").values
    np.testing.assert_allclose(
        ds.settlement.sel(model="owned").values[:, 0], model.delivered_share * cost, rtol=1e-12
    )
    np.testing.assert_allclose(group, _group_by_hand(model, cost), rtol=1e-9)
    np.testing.assert_allclose(
        ds.outside_care.sel(model="owned").values, (1 - model.delivered_share) * cost, rtol=1e-12
    )


def test_the_payer_consolidates_its_stake_and_the_physicians_keep_the_rest(stake_run):
    model, ds = stake_run
    cost = ds.medical_cost.sel(model="owned").values
    premium = float(ds.premium.sel(model="owned"))
    arr = model.arrangement(PANEL, RISK)
    assert premium == pytest.approx(arr.premium_pmpm * 12.0 * MEMBERS, rel=1e-12)
    admin = 0.10 * premium
    payer_own = premium - admin - cost  # the group's fee for service and outside care
    group = _group_by_hand(model, cost)
    own = ds.own_net.sel(model="owned")
    net = ds.net.sel(model="owned")
    np.testing.assert_allclose(own.sel(party="payer").values, payer_own, rtol=1e-9)
    np.testing.assert_allclose(own.sel(party="provider").values, 0.0, atol=1e-6)
    np.testing.assert_allclose(net.sel(party="payer").values, payer_own + 0.8 * group, rtol=1e-9)
    np.testing.assert_allclose(net.sel(party="provider").values, 0.2 * group, rtol=1e-9)
    for party in ("enabler", "reinsurer"):
        assert np.all(net.sel(party=party).values == 0.0)


def test_money_is_conserved_across_the_entity_and_owner_views(stake_run):
    model, ds = stake_run
    cost = ds.medical_cost.sel(model="owned").values
    net = ds.net.sel(model="owned").sum("party").values
    own = ds.own_net.sel(model="owned").sum("party").values
    group = ds.entity_net.sel(model="owned", entity="medical_group").values
    np.testing.assert_allclose(net, own + group, rtol=1e-12)
    premium = float(ds.premium.sel(model="owned"))
    total = (
        premium
        - 0.10 * premium
        - ds.outside_care.sel(model="owned").values
        - model.delivery_ratio * model.delivered_share * cost
        - model.care_management_pmpm * 12.0 * MEMBERS
    )
    np.testing.assert_allclose(net, total, rtol=1e-9)


def test_a_whole_group_passes_all_of_its_result_to_the_payer():
    model = DirectOwnership()
    ds = _run({"owned": model})
    group = ds.entity_net.sel(model="owned", entity="medical_group").values
    own = ds.own_net.sel(model="owned", party="payer").values
    np.testing.assert_allclose(ds.net.sel(model="owned", party="payer").values, own + group, rtol=1e-12)
    assert np.all(ds.net.sel(model="owned", party="provider").values == 0.0)


def test_the_price_level_scales_the_medical_cost_exactly_on_the_same_draws():
    plain = _run({"owned": DirectOwnership(payer_equity=0.8)})
    model = DirectOwnership(payer_equity=0.8, price_level=0.9)
    priced = _run({"owned": model})
    np.testing.assert_array_equal(priced.efficiency.values, plain.efficiency.values)
    cost = plain.medical_cost.sel(model="owned").values
    np.testing.assert_allclose(priced.medical_cost.sel(model="owned").values, 0.9 * cost, rtol=1e-12)
    np.testing.assert_allclose(
        priced.entity_net.sel(model="owned", entity="medical_group").values,
        _group_by_hand(model, 0.9 * cost, index=0.9),
        rtol=1e-9,
    )
    assert float(priced.price_index.sel(model="owned")) == pytest.approx(0.9)
    # the premium is priced on baseline cost, as in every model: the payer keeps the price saving
    assert float(priced.premium.sel(model="owned")) == float(plain.premium.sel(model="owned"))


def test_the_return_on_contributed_capital_is_the_payer_s_stake_of_the_group_over_the_acquisition_cost(
    stake_run,
):
    model, ds = stake_run
    ebitda = (1 - model.delivery_ratio) * model.delivered_share * expected_pmpm(PANEL, RISK) * 12.0 * MEMBERS
    price = ACQUISITION_MULTIPLE * 0.8 * ebitda  # the payer pays for its 80% stake
    assert model.acquisition_price(PANEL, RISK) == pytest.approx(price, rel=1e-12)
    capital = ds.contributed_capital.sel(model="owned")
    assert float(capital.sel(party="payer")) == pytest.approx(price, rel=1e-12)
    assert float(capital.sel(party="provider")) == 0.0
    summary = vbcsim.summarize(ds).sel(model="owned")
    group = ds.entity_net.sel(model="owned", entity="medical_group").values.mean()
    assert float(summary.return_on_contributed_capital.sel(party="payer")) == pytest.approx(
        0.8 * group / price, rel=1e-9
    )
    assert np.isnan(float(summary.return_on_contributed_capital.sel(party="provider")))


def test_an_explicit_acquisition_cost_is_the_contributed_capital():
    arr = DirectOwnership(acquisition_cost=5e6).arrangement(PANEL, RISK)
    assert dict(arr.entities)["medical_group"].contributed() == {"payer": 5e6}
    cheap = DirectOwnership(acquisition_multiple=4.0)
    dear = DirectOwnership()
    ratio = cheap.acquisition_price(PANEL, RISK) / dear.acquisition_price(PANEL, RISK)
    assert ratio == pytest.approx(0.5, rel=1e-12)


def test_overrides_reach_the_arrangement():
    model = DirectOwnership(
        payer_equity=0.6,
        price_level=1.1,
        efficiency=0.05,
        efficiency_sd=0.0,
        care_management_pmpm=3.0,
        delivered_share=DELIVERED_SHARE_PRIMARY_CARE,
    )
    arr = model.arrangement(PANEL, RISK)
    assert dict(arr.entities)["medical_group"].equity() == {"payer": 0.6, "provider": pytest.approx(0.4)}
    assert arr.price_level == 1.1 and arr.delivered_share == DELIVERED_SHARE_PRIMARY_CARE
    assert arr.care_management_pmpm == 3.0 and arr.efficiency.mean == 0.05
    replaced = dataclasses.replace(model, payer_equity=1.0)
    assert dict(replaced.arrangement(PANEL, RISK).entities)["medical_group"].equity() == {"payer": 1.0}
    assert "payer_equity=0.6" in model._changed_terms()


@pytest.mark.parametrize(
    "terms, match",
    [
        ({"payer_equity": 0.0}, "payer_equity"),
        ({"payer_equity": 1.5}, "payer_equity"),
        ({"payer_equity": float("nan")}, "payer_equity"),
        ({"acquisition_multiple": 0.0}, "acquisition_multiple"),
        ({"acquisition_multiple": -8.0}, "acquisition_multiple"),
        ({"acquisition_cost": 0.0}, "acquisition_cost"),
        ({"acquisition_cost": -1e6}, "acquisition_cost"),
        ({"price_level": 0.0}, "price_level"),
        ({"price_level": 95.0}, "price_level"),
        ({"delivered_share": 1.5}, "delivered_share"),
        ({"efficiency": 0.03, "efficiency_sd": 0.5}, "efficiency"),
    ],
)
def test_bad_terms_are_refused_by_name(terms, match):
    with pytest.raises(ValueError, match=match):
        DirectOwnership(**terms)


def test_a_group_without_a_margin_cannot_be_priced_on_a_multiple():
    model = DirectOwnership(delivery_ratio=1.0)
    with pytest.raises(ValueError, match="acquisition_cost"):
        model.arrangement(PANEL, RISK)
    arr = DirectOwnership(delivery_ratio=1.0, acquisition_cost=1e6).arrangement(PANEL, RISK)
    assert dict(arr.entities)["medical_group"].contributed() == {"payer": 1e6}
