"""Entities and ownership: contracts pay and charge an owned entity; its whole result passes to
its owners by equity (consolidation), and money is conserved across the entity and owner views."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vbcsim
from vbcsim.contracts import FeeForService, JointVenture, PayForPerformance, SpecificStopLoss
from vbcsim.contracts.entities import Entity

POP = vbcsim.Population(
    [
        vbcsim.Segment("adults", 800, vbcsim.Hurdle(0.85, vbcsim.Lognormal(8.2, 1.4))),
        vbcsim.Segment("seniors", 300, vbcsim.Hurdle(0.95, vbcsim.Lognormal(8.9, 1.3))),
    ]
)
N = 300


def _venture(equity=0.4, capital=None, **extra):
    """A co-owned plan: premium in, fee for service and outside care out, a specific stop-loss it
    buys and a quality bonus it pays, all on the venture's own books."""
    return vbcsim.Arrangement(
        [
            FeeForService(source="venture"),
            SpecificStopLoss(100_000.0, coinsurance=0.1, insured="venture"),
            PayForPerformance(bonus_pmpm=4.0, source="venture"),
        ],
        premium_pmpm=650.0,
        admin_pmpm=60.0,
        care_management_pmpm=5.0,
        care_management_party="venture",
        efficiency=vbcsim.Efficiency(0.03, 0.01),
        delivered_share=0.67,
        insurer="venture",
        entities={"venture": Entity({"payer": 1 - equity, "provider": equity}, capital=capital or {})},
        **extra,
    )


def _run(models, seed=3, **kw):
    return vbcsim.simulate(POP, models, n_scenarios=N, seed=seed, **kw)


def test_each_owner_gets_its_equity_of_the_venture_s_whole_result_by_hand():
    equity = 0.4
    ds = _run({"jv": _venture(equity)})
    s = ds.settlement.sel(model="jv")
    premium = 650.0 * 12 * POP.members
    fixed = (60.0 + 5.0) * 12 * POP.members
    cost = ds.medical_cost.sel(model="jv").values
    # the venture's books by hand: premium − admin − care management − all claims (its provider's
    # and outside care) + stop-loss recovery net of its premium − the quality bonus it pays
    venture = premium - fixed - cost + s.sel(contract="specific_stop_loss").values
    venture -= s.sel(contract="pay_for_performance").values
    np.testing.assert_allclose(ds.entity_net.sel(model="jv", entity="venture").values, venture, rtol=1e-12)
    # the provider: its margin on the care it delivers plus the bonus, plus its equity of the venture
    own_provider = (1 - 0.85) * 0.67 * cost + s.sel(contract="pay_for_performance").values
    np.testing.assert_allclose(ds.own_net.sel(model="jv", party="provider").values, own_provider, rtol=1e-12)
    np.testing.assert_allclose(
        ds.net.sel(model="jv", party="provider").values, own_provider + equity * venture, rtol=1e-12
    )
    np.testing.assert_allclose(
        ds.net.sel(model="jv", party="payer").values, (1 - equity) * venture, rtol=1e-12
    )
    # the reinsurer is a party of its own: its result is the stop-loss premium less recoveries
    np.testing.assert_allclose(
        ds.net.sel(model="jv", party="reinsurer").values, -s.sel(contract="specific_stop_loss").values
    )


def test_the_venture_entity_and_the_equity_split_contract_give_the_same_results():
    # model 5 is built on the venture entity; the JointVenture contract, which splits the
    # plan's underwriting result from the payer's books, gives the same results bit for bit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pop = vbcsim.defaults.provider_panel(2_000)
        name = vbcsim.partnerships.MODEL_NAMES["joint_venture"]
        preset = vbcsim.partnership_models(pop)[name]
    ffs, floor = preset.contracts
    assert ffs.source == "venture" and floor.insurer == "venture"
    split = JointVenture(
        partner_equity=0.5,
        minimum_loss_ratio=floor.minimum_ratio,
        taxes_and_fees_ratio=floor.taxes_and_fees_ratio,
        quality_improvement_pmpm=floor.quality_improvement_pmpm,
        credibility=floor.credibility,
    )
    by_contract = dataclasses.replace(
        preset,
        contracts=(FeeForService(), split),
        insurer="payer",
        care_management_party="payer",
        entities=(),
    )
    a = vbcsim.compare(pop, {name: preset}, n_scenarios=400, seed=5, threads=1)
    b = vbcsim.compare(pop, {name: by_contract}, n_scenarios=400, seed=5, threads=1)
    np.testing.assert_array_equal(a.net.values, b.net.values)
    np.testing.assert_array_equal(a.rebate.values, b.rebate.values)
    np.testing.assert_array_equal(a.status_quo_net.values, b.status_quo_net.values)
    # the venture's whole result is the entity's; the contract moved the partner's half of it
    np.testing.assert_allclose(
        b.settlement.sel(model=name, contract="joint_venture").values,
        0.5 * a.entity_net.sel(model=name, entity="venture").values,
        rtol=1e-9,
    )


@settings(deadline=None, max_examples=15)
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_money_is_conserved_across_the_entity_and_owner_views(equity, mso_share, seed):
    models = {
        "jv": _venture(equity),
        "mso": vbcsim.Arrangement(
            [
                FeeForService(),
                PayForPerformance(bonus_pmpm=3.0, source="payer", target="mso"),
            ],
            premium_pmpm=600.0,
            entities={"mso": Entity({"payer": mso_share, "enabler": 1 - mso_share})},
        ),
    }
    ds = _run(models, seed=seed)
    for model in models:
        entities = ds.entity_net.sel(model=model).fillna(0.0).sum("entity")
        np.testing.assert_allclose(
            ds.net.sel(model=model).sum("party").values,
            ds.own_net.sel(model=model).sum("party").values + entities.values,
            rtol=1e-12,
            atol=1e-6,
        )
    # an entity the model does not own has no result (NaN), not a zero result
    assert np.isnan(ds.entity_net.sel(model="mso", entity="venture").values).all()


def test_contributed_capital_and_its_return():
    ds = _run({"jv": _venture(0.5, capital={"payer": 4e6, "provider": 1e6})})
    np.testing.assert_array_equal(ds.contributed_capital.sel(model="jv").values, [4e6, 1e6, 0.0, 0.0])
    s = vbcsim.summarize(ds)
    ret = s.return_on_contributed_capital.sel(model="jv")
    venture = ds.entity_net.sel(model="jv", entity="venture").values
    # each owner's half of the venture's result over the capital it put in (not its whole book)
    np.testing.assert_allclose(ret.sel(party="payer"), 0.5 * venture.mean() / 4e6, rtol=1e-12)
    np.testing.assert_allclose(ret.sel(party="provider"), 0.5 * venture.mean() / 1e6, rtol=1e-12)
    np.testing.assert_allclose(
        s.return_on_contributed_capital_standard_error.sel(model="jv", party="provider"),
        0.5 * venture.std(ddof=1) / np.sqrt(venture.size) / 1e6,
        rtol=1e-12,
    )
    np.testing.assert_array_equal(ds.equity.sel(model="jv", entity="venture").values, [0.5, 0.5, 0, 0])
    assert np.isnan(ret.sel(party="enabler"))


def test_default_cubes_have_no_entity_variables():
    ds = _run({"ffs": [FeeForService()]})
    assert "entity_net" not in ds and "own_net" not in ds and "entity" not in ds.dims


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: Entity({"payer": 0.5, "provider": 0.4}), ValueError, "add up to 1"),
        (lambda: Entity({"payer": 1.5, "provider": -0.5}), ValueError, "must not be negative"),
        (lambda: Entity({"broker": 1.0}), ValueError, "owners are parties"),
        (lambda: Entity({"payer": 1.0}, capital={"provider": 1.0}), ValueError, "is not an owner"),
        (lambda: Entity({"payer": float("nan")}), TypeError, "finite number"),
        (lambda: Entity([("payer", 1.0), 3]), TypeError, "mapping"),
        (
            lambda: vbcsim.Arrangement([FeeForService(source="venture")]),
            ValueError,
            "does not declare",
        ),
        (
            lambda: vbcsim.Arrangement([FeeForService()], entities={"club": {"payer": 1.0}}),
            ValueError,
            "unknown entity 'club'",
        ),
        (
            lambda: vbcsim.Arrangement([FeeForService()], insurer="venture"),
            ValueError,
            "insurer is the entity 'venture'",
        ),
        (lambda: vbcsim.Arrangement([FeeForService()], insurer="bank"), ValueError, "insurer must be one of"),
    ],
)
def test_bad_entities_are_refused_naming_the_argument(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_a_payer_owned_medical_group_passes_its_whole_result_to_its_owners():
    # the payer owns 80% of the group that delivers the care; its physicians keep 20%
    owned = vbcsim.Arrangement(
        [FeeForService(target="medical_group")],
        premium_pmpm=600.0,
        delivered_share=0.7,
        delivering_party="medical_group",
        entities={"medical_group": Entity({"payer": 0.8, "provider": 0.2}, capital={"payer": 2e7})},
    )
    plain = vbcsim.Arrangement([FeeForService()], premium_pmpm=600.0, delivered_share=0.7)
    ds = _run({"owned": owned, "plain": plain})
    group = ds.entity_net.sel(model="owned", entity="medical_group").values
    margin = ds.net.sel(model="plain", party="provider").values  # the group's margin, as a provider
    np.testing.assert_allclose(group, margin, rtol=1e-12)
    np.testing.assert_allclose(ds.own_net.sel(model="owned", party="provider").values, 0.0)
    np.testing.assert_allclose(ds.net.sel(model="owned", party="provider").values, 0.2 * margin, rtol=1e-12)
    np.testing.assert_allclose(
        ds.net.sel(model="owned", party="payer").values,
        ds.net.sel(model="plain", party="payer").values + 0.8 * margin,
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="delivering_party is the entity 'medical_group'"):
        vbcsim.Arrangement([FeeForService()], delivering_party="medical_group")


def test_model_5_with_a_specific_stop_loss_passes_every_flow_of_the_venture_to_its_owners():
    # model 5 plus a specific stop-loss the venture buys: the owners split the venture's whole
    # result, the stop-loss premium and recoveries included
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pop = vbcsim.defaults.provider_panel(2_000)
        name = vbcsim.partnerships.MODEL_NAMES["joint_venture"]
        preset = vbcsim.partnership_models(pop, joint_venture={"partner_equity": 0.3})[name]
    protected = dataclasses.replace(
        preset, contracts=(*preset.contracts, SpecificStopLoss(150_000.0, insured="venture"))
    )
    ds = vbcsim.compare(pop, {name: protected}, n_scenarios=300, seed=8, threads=1)
    venture = ds.entity_net.sel(model=name, entity="venture").values
    recovery = ds.settlement.sel(model=name, contract="specific_stop_loss").values
    assert (recovery != 0).all()  # premium paid every year, recoveries in some
    np.testing.assert_allclose(ds.net.sel(model=name, party="payer").values, 0.7 * venture, rtol=1e-12)
    provider_own = ds.own_net.sel(model=name, party="provider").values
    np.testing.assert_allclose(
        ds.net.sel(model=name, party="provider").values, provider_own + 0.3 * venture, rtol=1e-12
    )
    # the venture's books by hand: premium − admin − care management − claims − rebate + stop-loss
    arr = protected
    fixed = (arr.admin_pmpm + arr.care_management_pmpm) * 12 * pop.members
    premium = float(ds.premium.sel(model=name))
    by_hand = (
        premium - fixed - ds.medical_cost.sel(model=name).values - ds.rebate.sel(model=name).values + recovery
    )
    np.testing.assert_allclose(venture, by_hand, rtol=1e-9)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (
            lambda: vbcsim.Arrangement(
                [vbcsim.contracts.Capitation(pmpm=450.0)],
                insurer="venture",
                entities={"venture": {"payer": 0.5, "provider": 0.5}},
            ),
            "capitation and bundles settle on the payer's and the provider's books",
        ),
        (
            lambda: vbcsim.Arrangement(
                [FeeForService(source="venture"), vbcsim.contracts.MLRRebate()],
                insurer="venture",
                entities={"venture": {"payer": 0.5, "provider": 0.5}},
            ),
            "give MLRRebate\\(..., insurer='venture'\\)",
        ),
        (
            lambda: vbcsim.Arrangement(
                [FeeForService(source="venture"), JointVenture(insurer="venture")],
                insurer="venture",
                entities={"venture": {"payer": 0.5, "provider": 0.5}},
            ),
            "already passes to its owners",
        ),
    ],
)
def test_contracts_that_would_misread_an_entity_s_books_are_refused(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_a_unit_price_change_is_a_transfer_between_the_parties():
    # the same care at a lower price: what the payer saves on the care the provider delivers,
    # the provider loses; only the outside care (paid to providers outside the parties) differs
    plain = vbcsim.Arrangement([FeeForService()], premium_pmpm=600.0, delivered_share=0.7)
    cheaper = dataclasses.replace(plain, price_level=0.9)
    ds = _run({"plain": plain, "cheaper": cheaper})
    total = ds.net.sum("party")
    outside = ds.outside_care
    np.testing.assert_allclose(
        (total.sel(model="cheaper") + outside.sel(model="cheaper")).values,
        (total.sel(model="plain") + outside.sel(model="plain")).values,
        rtol=1e-12,
    )
