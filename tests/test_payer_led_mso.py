"""The payer-owned MSO enablement preset (issue 16, part 2): every flow by hand on a small panel.

The practices (the provider) are on fee for service with an upside-only shared-savings contract
with the payer; they pay the MSO a PMPM fee and a share of their settlement; the MSO pays for
the care management; the payer owns the MSO outright and consolidates its whole result.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import vbcsim
from vbcsim.contracts import ManagementFee, PooledSavings, SavingsPassThrough
from vbcsim.partnerships import DEFAULT_SCENARIO_RISK
from vbcsim.partnerships.base import DELIVERED_SHARE_PRIMARY_CARE
from vbcsim.partnerships.mso import MSOEnablement

N = 300
SEED = 11


@pytest.fixture(scope="module")
def pop():
    return vbcsim.defaults.provider_panel(2000)


def _build(pop, model=None):
    with warnings.catch_warnings():  # the 2,000-member panel's MSR is derived below the MSSP table
        warnings.simplefilter("ignore", UserWarning)
        return (model or MSOEnablement()).arrangement(pop, DEFAULT_SCENARIO_RISK)


def _run(pop, arr, **kw):
    return vbcsim.simulate(
        pop, {"mso": arr}, n_scenarios=N, seed=SEED, scenario_risk=DEFAULT_SCENARIO_RISK, baseline=True, **kw
    )


@pytest.fixture(scope="module")
def run(pop):
    arr = _build(pop)
    return arr, _run(pop, arr)


def _flows(pop, arr, ds, model=None):
    """Every party's and the MSO's flows, by hand from the cube's cost and settlements."""
    model = model or MSOEnablement()
    members = pop.members
    s = ds.settlement.sel(model="mso")
    cost = ds.medical_cost.sel(model="mso").values
    practices_settlement = s.sel(contract="pooled_shared_savings").values
    fee = model.fee_pmpm * 12 * members
    share = model.savings_share * np.maximum(practices_settlement, 0.0)
    operating = model.care_management_pmpm * 12 * members
    premium = arr.premium_pmpm * 12 * members
    admin = arr.admin_pmpm * 12 * members
    d = model.delivered_share
    return {
        "cost": cost,
        "settlement": practices_settlement,
        "fee": fee,
        "share": share,
        "operating": operating,
        "mso": fee + share - operating,
        # the payer: premium − admin − every claim (its practices' and outside care) − their savings
        "payer_own": premium - admin - cost - practices_settlement,
        # the practices: margin on the care they deliver + savings − the MSO's fee and share
        "provider": (1 - arr.delivery_ratio) * d * cost + practices_settlement - fee - share,
    }


def test_the_arrangement_declares_a_payer_owned_mso_that_runs_the_care_management(pop):
    arr = _build(pop)
    model = MSOEnablement()
    assert arr.care_management_party == "mso"
    assert arr.entity_names == ("mso",)
    ((_, mso),) = arr.entities
    assert mso.equity() == {"payer": 1.0}
    capital = 1.75 * 5.0 * 12 * pop.members
    assert mso.contributed() == {"payer": pytest.approx(capital)}
    assert model.capital(pop) == pytest.approx(capital)
    assert arr.delivered_share == DELIVERED_SHARE_PRIMARY_CARE
    assert arr.care_management_pmpm == 5.0
    assert (arr.efficiency.mean, arr.efficiency.sd) == (0.05, 0.025)
    fee, savings, share = arr.contracts[1:]
    assert isinstance(fee, ManagementFee) and (fee.source, fee.target, fee.pmpm) == ("provider", "mso", 2.5)
    assert isinstance(savings, PooledSavings)
    assert (savings.source, savings.target) == ("payer", "provider")
    assert savings.savings.segments == tuple(pop.names)  # a pool of the practices' own panel: weight 1
    assert savings.savings.sharing_rate == 0.5 and savings.savings.savings_cap == 0.10
    assert savings.savings.loss_sharing_rate is None  # upside only
    assert isinstance(share, SavingsPassThrough)
    assert (share.source, share.target, share.share) == ("provider", "mso", 0.4)


def test_the_msr_is_size_based_below_the_mssp_table_with_a_warning(pop):
    with pytest.warns(UserWarning, match="below the MSSP minimum"):
        arr = MSOEnablement().arrangement(pop, DEFAULT_SCENARIO_RISK)
    msr = arr.contracts[2].savings.minimum_savings_rate
    assert 0.0 < msr < 0.2
    big = vbcsim.defaults.provider_panel()
    assert MSOEnablement().msr(big) == pytest.approx(vbcsim.contracts.mssp_minimum_savings_rate(big.members))


def test_each_flow_by_hand(pop, run):
    arr, ds = run
    f = _flows(pop, arr, ds)
    s = ds.settlement.sel(model="mso")
    # the MSO's fee: pmpm × 12 × members, every scenario
    np.testing.assert_allclose(s.sel(contract="management_fee").values, f["fee"], rtol=1e-12)
    # its savings share: 40% of the practices' settlement, scenario by scenario
    np.testing.assert_allclose(s.sel(contract="savings_pass_through").values, f["share"], rtol=1e-12)
    assert (f["settlement"] > 0).any() and (f["settlement"] == 0).any()  # both kinds of year occur
    assert (f["settlement"] >= 0).all()  # upside only
    # the practices' settlement is the SharedSavings rule on their own panel
    savings = arr.contracts[2].savings
    benchmark = savings.benchmark_pmpm * 12 * pop.members
    earned = f["settlement"] > 0
    assert ((benchmark - f["cost"])[earned] / benchmark >= savings.minimum_savings_rate - 1e-12).all()
    assert (f["settlement"] <= 0.10 * benchmark * (1 + 1e-12)).all()
    # the MSO's whole result: fee + savings share − its operating (care-management) cost
    np.testing.assert_allclose(ds.entity_net.sel(model="mso", entity="mso").values, f["mso"], rtol=1e-12)
    # the practices
    np.testing.assert_allclose(ds.net.sel(model="mso", party="provider").values, f["provider"], rtol=1e-9)
    np.testing.assert_allclose(ds.own_net.sel(model="mso", party="provider").values, f["provider"], rtol=1e-9)
    # the payer: its own flows, plus 100% of the MSO's result
    np.testing.assert_allclose(ds.own_net.sel(model="mso", party="payer").values, f["payer_own"], rtol=1e-9)
    np.testing.assert_allclose(
        ds.net.sel(model="mso", party="payer").values, f["payer_own"] + f["mso"], rtol=1e-9
    )
    for party in ("enabler", "reinsurer"):
        np.testing.assert_array_equal(ds.net.sel(model="mso", party=party).values, 0.0)
    np.testing.assert_array_equal(
        ds.contributed_capital.sel(model="mso").values, [MSOEnablement().capital(pop), 0.0, 0.0, 0.0]
    )


def test_money_is_conserved_across_the_entity_and_owner_views(pop, run):
    arr, ds = run
    net = ds.net.sel(model="mso").sum("party").values
    own = ds.own_net.sel(model="mso").sum("party").values
    entity = ds.entity_net.sel(model="mso").sum("entity").values
    np.testing.assert_allclose(net, own + entity, rtol=1e-12, atol=1e-6)
    # and the parties' total is what the arrangement leaves them: premium − admin − care
    # management − the practices' own cost of care − outside care (no rebates)
    f = _flows(pop, arr, ds)
    d = arr.delivered_share
    total = (
        (arr.premium_pmpm - arr.admin_pmpm) * 12 * pop.members
        - f["operating"]
        - arr.delivery_ratio * d * f["cost"]
        - ds.outside_care.sel(model="mso").values
    )
    np.testing.assert_allclose(net, total, rtol=1e-9)
    np.testing.assert_allclose(ds.outside_care.sel(model="mso").values, (1 - d) * f["cost"], rtol=1e-12)


def test_the_return_on_the_payer_s_capital(pop, run):
    _, ds = run
    s = vbcsim.summarize(ds)
    ret = s.return_on_contributed_capital.sel(model="mso", party="payer")
    # the MSO's own result (the payer owns all of it) over the capital the payer put in
    mso = ds.entity_net.sel(model="mso", entity="mso").values.mean()
    np.testing.assert_allclose(ret, mso / MSOEnablement().capital(pop), rtol=1e-12)


def test_overrides_through_the_dataclass(pop):
    model = dataclasses.replace(
        MSOEnablement(), fee_pmpm=4.0, savings_share=0.25, care_management_pmpm=6.0, capital_years=1.0
    )
    assert (
        MSOEnablement(fee_pmpm=4.0, savings_share=0.25, care_management_pmpm=6.0, capital_years=1.0) == model
    )
    arr = _build(pop, model)
    ds = _run(pop, arr)
    f = _flows(pop, arr, ds, model)
    s = ds.settlement.sel(model="mso")
    np.testing.assert_allclose(s.sel(contract="management_fee").values, 4.0 * 12 * pop.members)
    np.testing.assert_allclose(s.sel(contract="savings_pass_through").values, f["share"], rtol=1e-12)
    np.testing.assert_allclose(ds.entity_net.sel(model="mso", entity="mso").values, f["mso"], rtol=1e-12)
    assert dict(arr.entities)["mso"].contributed()["payer"] == pytest.approx(6.0 * 12 * pop.members)
    # an explicit MSR replaces the size-based one, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        arr = MSOEnablement(minimum_savings_rate=0.02).arrangement(pop, DEFAULT_SCENARIO_RISK)
    assert arr.contracts[2].savings.minimum_savings_rate == 0.02


def test_no_savings_share_leaves_the_practices_their_whole_settlement(pop):
    arr = _build(pop, MSOEnablement(savings_share=0.0, fee_pmpm=0.0))
    ds = _run(pop, arr)
    s = ds.settlement.sel(model="mso")
    np.testing.assert_array_equal(s.sel(contract="savings_pass_through").values, 0.0)
    np.testing.assert_allclose(
        ds.entity_net.sel(model="mso", entity="mso").values, -5.0 * 12 * pop.members, rtol=1e-12
    )


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"savings_share": 1.5}, "savings_share"),
        ({"savings_share": -0.1}, "savings_share"),
        ({"fee_pmpm": -1.0}, "fee_pmpm"),
        ({"capital_years": -1.0}, "capital_years"),
        ({"care_management_pmpm": -5.0}, "care_management_pmpm"),
        ({"sharing_rate": 1.2}, "sharing_rate"),
        ({"minimum_savings_rate": 2.0}, "minimum_savings_rate"),
        ({"benchmark_ratio": 0.0}, "benchmark_ratio"),
        ({"delivered_share": 1.5}, "delivered_share"),
    ],
)
def test_bad_terms_are_refused_naming_the_field(terms, field):
    with pytest.raises(ValueError, match=field):
        MSOEnablement(**terms)


def test_a_term_a_contract_refuses_is_named_as_the_model_s_own(pop):
    with pytest.raises(ValueError, match=r"MSOEnablement\(fee_pmpm=100000000.0\): ManagementFee: pmpm"):
        _build(pop, MSOEnablement(fee_pmpm=1e8))


def test_key_and_title():
    assert MSOEnablement.key == "mso_enablement"
    assert MSOEnablement.title == "payer-owned MSO enablement"
