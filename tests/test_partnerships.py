"""The five partnership models and vbcsim.compare: presets, overrides, economics, conservation."""

import warnings

import numpy as np
import pytest

import vbcsim
from vbcsim import partnerships
from vbcsim.contracts import (
    Capitation,
    FeeForService,
    ManagementFee,
    MLRRebate,
    PayForPerformance,
    PooledSavings,
    SavingsPassThrough,
    SharedSavings,
    SpecificStopLoss,
)
from vbcsim.partnerships import MODEL_KEYS, MODEL_NAMES

NAMES = [
    "custom risk-based contract",
    "payer-branded value program",
    "third party-mediated relationship",
    "risk-bearing network collaboration",
    "joint venture insurance product",
]


@pytest.fixture(scope="module")
def panel():
    return vbcsim.defaults.provider_panel(2_000)


@pytest.fixture(scope="module")
def default_run():
    # the default 20,000-member panel, pooled to 100,000 members in model 3
    return vbcsim.compare(n_scenarios=2_000, seed=5)


def test_five_models_in_order():
    models = vbcsim.partnership_models()
    assert list(models) == NAMES
    assert MODEL_KEYS == ("custom_contract", "value_program", "third_party", "risk_network", "joint_venture")
    assert list(MODEL_NAMES.values()) == NAMES
    kinds = {name: [type(c) for c in arr.contracts] for name, arr in models.items()}
    assert kinds[NAMES[0]] == [FeeForService, SharedSavings]
    assert kinds[NAMES[1]] == [FeeForService, PayForPerformance, SharedSavings]
    assert kinds[NAMES[2]] == [FeeForService, ManagementFee, PooledSavings, SavingsPassThrough]
    assert kinds[NAMES[3]] == [Capitation, SpecificStopLoss]
    assert kinds[NAMES[4]] == [FeeForService, MLRRebate]  # the venture entity's books
    assert models[NAMES[4]].insurer == "venture" and models[NAMES[4]].entity_names == ("venture",)
    one, two = models[NAMES[0]].contracts[1], models[NAMES[1]].contracts[2]
    assert one.two_sided and not two.two_sided
    assert models[NAMES[2]].care_management_party == "enabler"
    assert len(models[NAMES[2]].pool) == 4 * 3  # four other practices of three segments
    assert models[NAMES[3]].claims_party == "provider"


def test_benchmark_and_premium_are_priced_on_the_panel(panel):
    risk = vbcsim.ScenarioRisk(trend_cv=0.02, shock_probability=0.1, shock_size=0.1)
    models = vbcsim.partnership_models(panel, risk)
    expected_pmpm = panel.expected_cost() * risk.mean() / panel.members / 12
    ss = models[NAMES[0]].contracts[1]
    # the custom contract truncates each member's cost at $200k: so does its benchmark
    truncated = (
        sum(s.members * s.cost.limited_mean(200_000.0) for s in panel) * risk.mean() / panel.members / 12
    )
    assert ss.outlier_attachment == 200_000.0
    assert ss.benchmark_pmpm == pytest.approx(truncated, rel=1e-12)
    assert truncated < expected_pmpm
    # the pooled contract of model 3 does not truncate: its benchmark is the expected cost
    assert models[NAMES[2]].contracts[2].savings.benchmark_pmpm == pytest.approx(expected_pmpm, rel=1e-12)
    assert models[NAMES[0]].premium_pmpm == pytest.approx(expected_pmpm / 0.85, rel=1e-12)
    assert models[NAMES[0]].admin_pmpm == pytest.approx(0.10 * expected_pmpm / 0.85, rel=1e-12)
    # the joint venture prices its expected efficiency (5%) into its premium, admin at 12%
    jv = models[NAMES[4]]
    assert jv.premium_pmpm == pytest.approx(expected_pmpm * 0.95 / 0.85, rel=1e-12)
    assert jv.admin_pmpm == pytest.approx(0.12 * jv.premium_pmpm, rel=1e-12)
    # the value program's MSR follows the MSSP table from 5,000 members; below, the table's own
    # principle (90% one-sided confidence on the panel's own cost, 42 CFR 425.604(b)) with a warning
    from vbcsim.partnerships.value_program import panel_minimum_savings_rate

    with pytest.warns(UserWarning, match="5,000"):
        msr = panel_minimum_savings_rate(panel)
    assert models[NAMES[1]].contracts[2].minimum_savings_rate == pytest.approx(msr, rel=1e-12)
    assert msr > 0.039  # above the table's 3.9% at 5,000: a smaller panel needs a wider margin
    big = vbcsim.partnership_models(vbcsim.defaults.provider_panel(60_000))
    assert big[NAMES[1]].contracts[2].minimum_savings_rate == pytest.approx(0.02)


def test_overrides(panel):
    models = vbcsim.partnership_models(
        panel,
        custom_contract={"sharing_rate": 0.7, "loss_cap": None},
        risk_network={"percent_of_premium": 0.8, "stop_loss_attachment": 100_000.0},
        third_party={"other_practices": 2},
        joint_venture={"partner_equity": 0.3},
    )
    ss = models[NAMES[0]].contracts[1]
    assert ss.sharing_rate == 0.7 and ss.loss_cap is None
    cap, sl = models[NAMES[3]].contracts
    assert cap.percent_of_premium == 0.8 and sl.attachment == 100_000.0
    assert len(models[NAMES[2]].pool) == 2 * 3
    assert dict(models[NAMES[4]].entities)["venture"].equity() == {"payer": 0.7, "provider": 0.3}
    # readable names and numbers are accepted as keys; an Arrangement replaces the model
    mine = vbcsim.Arrangement([FeeForService()])
    models = vbcsim.partnership_models(
        panel, **{"payer-branded value program": {"bonus_pmpm": 9.0}, "5": mine}
    )
    assert models[NAMES[1]].contracts[1].bonus_pmpm == 9.0
    assert models[NAMES[4]] is mine
    # a parameter object of the model's class works too
    models = vbcsim.partnership_models(panel, value_program=partnerships.ValueProgram(sharing_rate=0.5))
    assert models[NAMES[1]].contracts[2].sharing_rate == 0.5


@pytest.mark.parametrize(
    "overrides, exc, match",
    [
        ({"model_6": {}}, ValueError, "unknown partnership model 'model_6'"),
        (
            {"custom_contract": {"sharing_rat": 0.5}},
            ValueError,
            "custom_contract: unknown parameter 'sharing_rat'",
        ),
        ({"custom_contract": {"sharing_rate": 1.5}}, ValueError, "custom_contract: .*sharing_rate"),
        ({"custom_contract": {"sharing_rate": float("nan")}}, ValueError, "sharing_rate"),
        ({"value_program": {"bonus_pmpm": -1.0}}, ValueError, "bonus_pmpm"),
        ({"value_program": {"quality_low": 0.9, "quality_high": 0.5}}, ValueError, "quality_high"),
        ({"third_party": {"other_practices": -1}}, ValueError, "other_practices"),
        ({"third_party": {"other_practices": 2.5}}, TypeError, "other_practices"),
        ({"third_party": {"absorbs_losses": "yes"}}, TypeError, "absorbs_losses"),
        ({"risk_network": {"percent_of_premium": 0.0}}, ValueError, "percent_of_premium"),
        ({"risk_network": {"coinsurance": 1.0}}, ValueError, "coinsurance"),
        ({"joint_venture": {"efficiency": 1.2}}, ValueError, "efficiency"),
        ({"joint_venture": {"efficiency": 0.05, "efficiency_sd": 0.5}}, ValueError, "efficiency_sd"),
        ({"joint_venture": {"premium_pmpm": -3.0}}, ValueError, "premium_pmpm"),
        ({"joint_venture": "big"}, TypeError, "joint_venture: overrides must be a dict"),
        ({"joint_venture": partnerships.CustomContract()}, TypeError, "expected a JointVenture"),
        ({"1": {}, "custom_contract": {}}, ValueError, "overridden twice"),
    ],
)
def test_bad_overrides(panel, overrides, exc, match):
    with pytest.raises(exc, match=match):
        vbcsim.partnership_models(panel, **overrides)


def test_bad_arguments(panel):
    with pytest.raises(TypeError, match="population"):
        vbcsim.partnership_models("panel")
    with pytest.raises(TypeError, match="scenario_risk"):
        vbcsim.partnership_models(panel, scenario_risk=0.02)
    with pytest.raises(TypeError, match="population"):
        vbcsim.compare([1, 2], n_scenarios=10)
    with pytest.raises(ValueError, match="n_scenarios"):
        vbcsim.compare(panel, n_scenarios=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        vbcsim.compare(panel, n_scenarios=10, scenarios=3)


def conservation_gap(ds):
    """Σ net − (premium − own delivery − admin − care management − outside care − rebates), by scenario and model."""
    models = vbcsim.partnership_models()  # the default panel: same premiums and fixed costs
    members = int(ds.members.where(~ds.pooled, 0).sum()) if "pooled" in ds.coords else int(ds.members.sum())
    expected = []
    for m, name in enumerate(ds.model.values):
        arr = models[name]
        fixed = (arr.admin_pmpm + arr.care_management_pmpm) * 12 * members
        expected.append(
            ds.premium.values[m]
            - arr.delivery_ratio * arr.delivered_share * ds.medical_cost.values[:, m]
            - fixed
            - ds.outside_care.values[:, m]
            - ds.rebate.values[:, m]
        )
    return ds.net.sum("party").values - np.stack(expected, axis=1)


def test_compare_defaults(default_run):
    ds = default_run
    assert list(ds.model.values) == NAMES
    assert list(ds.model_key.values) == list(MODEL_KEYS)
    assert ds.net.dims == ("scenario", "model", "party")
    assert list(ds.party.values) == ["payer", "provider", "enabler", "reinsurer"]
    # the 20,000-member panel plus model 3's four pooled practices
    book = ds.members.where(~ds.pooled, 0).sum()
    assert int(book) == 20_000 and int(ds.members.sum()) == 100_000
    gap = conservation_gap(ds)
    assert np.abs(gap).max() <= 1e-9 * float(ds.premium.max())
    # outside care and MLR rebates leave the parties; only the joint venture has rebates
    models = vbcsim.partnership_models()
    for name in NAMES:
        share = models[name].delivered_share
        np.testing.assert_allclose(
            ds.outside_care.sel(model=name), (1 - share) * ds.medical_cost.sel(model=name)
        )
    assert (ds.rebate.sel(model=NAMES[:4]) == 0).all()
    assert float(ds.rebate.sel(model=NAMES[4]).mean()) > 0


def test_provider_risk_share_ordering(default_run):
    s = vbcsim.summarize(default_run)
    share = s.risk_share.sel(party="provider")
    # the risk each arrangement adds to the provider's fee-for-service position, whose risk share is
    # (delivery_ratio − 1) × delivered_share (it gains 15 cents on each dollar of care it delivers):
    # upside-only programme < two-sided contract < global capitation
    models = vbcsim.partnership_models()
    added = {n: float(share.sel(model=n)) - (0.85 - 1.0) * models[n].delivered_share for n in NAMES}
    assert added[NAMES[1]] < added[NAMES[0]] < added[NAMES[3]]
    # under every model the provider keeps some of the cost risk off its books, and none bears more than all
    assert ((share > -0.15 - 1e-9) & (share < 1.0)).all()


def test_risk_share_identity(default_run):
    ds = default_run
    s = vbcsim.summarize(ds)
    total = s.risk_share.sum("party")
    # models 1-4 have no rebates: the shares add up to the own delivery cost per allowed dollar plus
    # the outside share, exactly
    models = vbcsim.partnership_models()
    own = {n: 0.85 * models[n].delivered_share + 1 - models[n].delivered_share for n in NAMES}
    np.testing.assert_allclose(total.sel(model=NAMES[:4]).values, [own[n] for n in NAMES[:4]], atol=1e-9)
    # model 5: rebates absorb Cov(rebate, C) / Var(C) (negative: rebates fall as cost rises)
    c = ds.medical_cost.sel(model=NAMES[4]).values
    r = ds.rebate.sel(model=NAMES[4]).values
    absorbed = np.mean((r - r.mean()) * (c - c.mean())) / np.var(c)
    assert absorbed < 0
    assert float(total.sel(model=NAMES[4])) == pytest.approx(own[NAMES[4]] + absorbed, abs=1e-9)


def test_model_mechanics(default_run):
    ds = default_run
    models = vbcsim.partnership_models()
    st = ds.settlement
    # model 3: the pass-through is 60% of the provider's part of pooled savings, never negative
    pooled = st.sel(model=NAMES[2], contract="pooled_shared_savings").values
    passed = st.sel(model=NAMES[2], contract="savings_pass_through").values
    np.testing.assert_allclose(passed, 0.6 * np.maximum(pooled, 0.0), rtol=1e-12)
    assert (pooled < 0).any() and (pooled > 0).any()
    fee = 3.0 * 12 * 20_000
    np.testing.assert_allclose(st.sel(model=NAMES[2], contract="management_fee").values, fee)
    enabler = ds.net.sel(model=NAMES[2], party="enabler").values
    np.testing.assert_allclose(enabler, fee + pooled - passed - 5.0 * 12 * 20_000, rtol=1e-9)
    # model 4: the payer's result is fixed, premium - admin - capitation
    arr = models[NAMES[3]]
    payer = ds.net.sel(model=NAMES[3], party="payer").values
    premium = float(ds.premium.sel(model=NAMES[3]))
    np.testing.assert_allclose(payer, premium * (1 - 0.10 - 0.85), rtol=1e-12)
    assert arr.admin_pmpm * 12 * 20_000 == pytest.approx(0.10 * premium)
    # model 5: the venture is an entity owned 50/50; each owner gets half its whole result
    venture = ds.entity_net.sel(model=NAMES[4], entity="venture").values
    np.testing.assert_allclose(ds.net.sel(model=NAMES[4], party="payer").values, 0.5 * venture, rtol=1e-9)
    np.testing.assert_allclose(
        ds.net.sel(model=NAMES[4], party="provider").values,
        ds.own_net.sel(model=NAMES[4], party="provider").values + 0.5 * venture,
        rtol=1e-9,
    )
    # the joint venture's result is premium - claims - admin - care management - rebate
    c = ds.medical_cost.sel(model=NAMES[4]).values
    jv = models[NAMES[4]]
    u = (
        premium_of(ds, 4)
        - c
        - (jv.admin_pmpm + jv.care_management_pmpm) * 12 * 20_000
        - ds.rebate.values[:, 4]
    )
    np.testing.assert_allclose(venture, u, rtol=1e-9)
    # the MLR floor (45 CFR 158.232): claims plus rebate are at least 85% of premium less the
    # credibility adjustment of a 20,000 life-year block (1.6% at 25,000, 2.6% at 10,000,
    # interpolated), with equality wherever a rebate is paid
    from vbcsim.contracts.mlr import credibility_adjustment

    floor = (0.85 - credibility_adjustment(20_000)) * premium_of(ds, 4)
    assert (c + ds.rebate.values[:, 4] >= floor * (1 - 1e-12)).all()
    paid = ds.rebate.values[:, 4] > 0
    assert paid.any()
    np.testing.assert_allclose((c + ds.rebate.values[:, 4])[paid], floor, rtol=1e-9)
    # each model's efficiency is drawn with its documented mean (Beta, 2,000 draws, 4 standard errors)
    for name, mean, sd in zip(
        NAMES, (0.04, 0.02, 0.05, 0.06, 0.05), (0.02, 0.015, 0.025, 0.03, 0.03), strict=True
    ):
        assert abs(float(ds.efficiency.sel(model=name).mean()) - mean) < 4 * sd / np.sqrt(2_000)


def premium_of(ds, m):
    return float(ds.premium.values[m])


def test_pooling_lowers_the_provider_settlement_variance():
    # model 3's pass-through depends on a pool five times the panel: its random part is smaller than
    # model 1's own-panel settlement (same sharing scale), so settlements are triggered less by chance
    pop = vbcsim.defaults.provider_panel(2_000)
    base = {"efficiency": 0.0, "efficiency_sd": 0.0}
    common = {
        "sharing_rate": 0.5,
        "loss_sharing_rate": 0.5,
        "minimum_savings_rate": 0.0,
        "minimum_loss_rate": 0.0,
        "savings_cap": None,
        "loss_cap": None,
    }
    models = vbcsim.partnership_models(
        pop,
        None,
        custom_contract={**base, **common, "quality_gate": None, "outlier_attachment": None},
        third_party={**base, **common, "pass_through": 1.0, "absorbs_losses": False},
    )
    ds = vbcsim.compare(
        pop, {k: models[k] for k in NAMES[:3:2]}, n_scenarios=3_000, seed=2, scenario_risk=None
    )
    own = ds.settlement.sel(model=NAMES[0], contract="shared_savings")
    pooled = ds.settlement.sel(model=NAMES[2], contract="savings_pass_through")

    # pool of 5 equal panels: variance ratio 1/5.  The members' Pareto tails (alpha 2.5) have no
    # fourth moment, so the sample variances' ratio has no usable error bound; the squared ratio of
    # the interquartile ranges estimates the same 1/5 for the near-normal bulk of these sums, with
    # a relative standard error of at most 2·√2·1.166/√3,000 = 6% (each IQR's 1.166/√n for a
    # normal sample): within ±24% (4 standard errors)
    def iqr(x):
        q25, q75 = np.quantile(np.asarray(x), [0.25, 0.75])
        return q75 - q25

    ratio = (iqr(pooled) / iqr(own)) ** 2
    assert 0.2 * 0.76 < ratio < 0.2 * 1.24


def test_reproducible_across_threads(panel):
    a = vbcsim.compare(panel, n_scenarios=300, seed=9, threads=1)
    b = vbcsim.compare(panel, n_scenarios=300, seed=9, threads=2)
    assert a.net.equals(b.net) and a.settlement.equals(b.settlement)
    assert a.attrs["seed"] == 9 and a.attrs["n_scenarios"] == 300


def test_settlement_curve(panel):
    curve = vbcsim.settlement_curve(
        panel,
        sizes=(500, 20_000),
        n_scenarios=400,
        seed=1,
        overrides={"custom_contract": {"efficiency": 0.0, "efficiency_sd": 0.0}},
        scenario_risk=None,
    )
    assert curve.prob_payment.dims == ("panel_size", "model", "contract")
    assert list(curve.panel_size.values) == [500, 20_000]
    p = curve.prob_payment + curve.prob_recoupment
    # fee for service always pays; a model lacks other models' contracts (NaN)
    assert (curve.prob_payment.sel(contract="fee_for_service", model=NAMES[0]) == 1).all()
    assert curve.prob_payment.sel(contract="capitation", model=NAMES[0]).isnull().all()
    # no true savings and no systematic risk: a small panel settles by chance far more often
    ss = p.sel(model=NAMES[0], contract="shared_savings")
    assert float(ss.sel(panel_size=500)) > 0.5 > float(ss.sel(panel_size=20_000))
    with pytest.raises(ValueError, match="sizes"):
        vbcsim.settlement_curve(panel, sizes=(), n_scenarios=10)
    with pytest.raises(ValueError, match="sizes"):
        vbcsim.settlement_curve(panel, sizes=(0,), n_scenarios=10)


def test_all_eight_models_on_the_same_draws(panel):
    from vbcsim.partnerships.registry import ALL_MODEL_KEYS, ALL_MODEL_NAMES, PAYER_LED_CLASSES

    assert tuple(PAYER_LED_CLASSES) == ("mso_enablement", "platform_convener", "direct_ownership")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        models = vbcsim.partnership_models(panel, which="all", mso_enablement={"fee_pmpm": 3.0})
        ds = vbcsim.compare(panel, models="all", n_scenarios=60, seed=4)
        five = vbcsim.compare(panel, n_scenarios=60, seed=4)
    assert list(models) == list(ALL_MODEL_NAMES.values())
    assert ds.model_key.values.tolist() == list(ALL_MODEL_KEYS)
    # the five are the same cube's first five models, bit for bit: adding models changes nothing
    np.testing.assert_array_equal(ds.net.isel(model=slice(0, 5)).values, five.net.values)
    assert set(ds.entity.values.tolist()) == {"venture", "mso", "platform", "medical_group"}
    # numbers 6-8 and readable names select the payer-led models too
    assert vbcsim.partnership_models(panel, which="all", **{"8": {"payer_equity": 0.5}})
    with pytest.raises(ValueError, match="payer-led model, not one of the five: give which='all'"):
        vbcsim.partnership_models(panel, mso_enablement={"fee_pmpm": 3.0})
    with pytest.raises(ValueError, match="which must be one of 'five', 'all'"):
        vbcsim.partnership_models(panel, which="eight")
    with pytest.raises(ValueError, match="which must be one of"):
        vbcsim.compare(panel, models="some", n_scenarios=10)
