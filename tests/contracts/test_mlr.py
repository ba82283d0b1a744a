"""MLR rebates under 45 CFR part 158: incurred claims per contract class, credibility, taxes, properties.

Hand-made contexts: two segments a (200 members) and b (50), premium P = 1,000,000 and medical
cost C = a + b = 700,000, 800,000, 950,000 in three scenarios.  The rule tests give the MLR
contract ``life_years=75_000`` (a fully credible block, no credibility adjustment, 45 CFR
158.230(c)(1)) so that each rule's numbers stand alone; the credibility tests use the book's
members.  Earlier contracts are settled by hand into ``ctx.settled``, as ``settle_models`` does.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vbcsim as v
from vbcsim.contracts import (
    AggregateStopLoss,
    BundledPayment,
    Capitation,
    FeeForService,
    JointVenture,
    ManagementFee,
    PayForPerformance,
    PooledSavings,
    RiskCorridor,
    SavingsPassThrough,
    SharedSavings,
    SpecificStopLoss,
    UserContract,
)
from vbcsim.contracts.mlr import (
    BASE_CREDIBILITY_FACTORS,
    FULLY_CREDIBLE_LIFE_YEARS,
    MLR_INDIVIDUAL,
    MLR_LARGE_GROUP,
    MLR_SMALL_GROUP,
    PARTIALLY_CREDIBLE_LIFE_YEARS,
    MLRRebate,
    base_credibility_factor,
    credibility_adjustment,
    credibility_class,
    incurred_claims,
    mlr_role,
)

from .helpers import make_ctx

COST = [[600_000.0, 100_000.0], [500_000.0, 300_000.0], [700_000.0, 250_000.0]]
C = np.array([700_000.0, 800_000.0, 950_000.0])
P = 1_000_000.0
FULL = dict(life_years=75_000)  # a fully credible block: no credibility adjustment
EXACT = dict(rtol=1e-12, atol=1e-9)


def ctx_(cost=COST, members=(200, 50), premium=P, **kw):
    ctx = make_ctx(cost, list(members), premium=premium)
    return dataclasses.replace(ctx, **kw) if kw else ctx


def settle_in_order(ctx, *contracts):
    """Settle ``contracts`` in order into ``ctx.settled`` (as settle_models does); return ctx."""
    for c in contracts:
        ctx.settled.append((c.name, c, c.settle(ctx)))
    return ctx


def pay_all(medical_cost, excess, quality, premium, members, params):
    return medical_cost.copy()


def reinsurer_pays(medical_cost, excess, quality, premium, members, params):
    return np.full(medical_cost.shape, params[0])


# ---------------------------------------------------------------------------------------------
# the regulation's figures


def test_minimums_45_cfr_158_210():
    assert (MLR_LARGE_GROUP, MLR_SMALL_GROUP, MLR_INDIVIDUAL) == (0.85, 0.80, 0.80)
    assert MLRRebate.for_market("large_group").minimum_ratio == 0.85


def test_credibility_table_45_cfr_158_232():
    assert BASE_CREDIBILITY_FACTORS == (
        (1_000, 0.083),
        (2_500, 0.052),
        (5_000, 0.037),
        (10_000, 0.026),
        (25_000, 0.016),
        (50_000, 0.012),
        (75_000, 0.0),
    )
    assert (PARTIALLY_CREDIBLE_LIFE_YEARS, FULLY_CREDIBLE_LIFE_YEARS) == (1_000, 75_000)
    # at the table's points, exactly its values
    for life_years, factor in BASE_CREDIBILITY_FACTORS[:-1]:
        assert base_credibility_factor(life_years) == factor
        assert credibility_class(life_years) == "partially credible"
    # linear interpolation between them (158.232(b)(2))
    assert base_credibility_factor(1_750) == pytest.approx(0.083 - 0.5 * 0.031, rel=1e-12)  # 6.75%
    assert base_credibility_factor(20_000) == pytest.approx(0.026 - 0.010 * 10_000 / 15_000, rel=1e-12)
    assert base_credibility_factor(62_500) == pytest.approx(0.006, rel=1e-12)
    assert 0.0 < base_credibility_factor(74_999) < 1e-6
    # non-credible and fully credible: zero (158.232(b)(1))
    assert base_credibility_factor(999.9) == 0.0 and credibility_class(999.9) == "non-credible"
    assert base_credibility_factor(0) == 0.0
    assert base_credibility_factor(75_000) == 0.0 and credibility_class(75_000) == "fully credible"
    assert base_credibility_factor(1e9) == 0.0
    # adjustment = base factor × deductible factor (158.232(a))
    assert credibility_adjustment(2_500) == 0.052
    assert credibility_adjustment(2_500, 1.5) == pytest.approx(0.078, rel=1e-12)
    with pytest.raises(ValueError, match="life_years must be non-negative"):
        base_credibility_factor(-1)
    with pytest.raises(ValueError, match="deductible_factor must be positive"):
        credibility_adjustment(2_500, 0.0)


def test_mlr_roles():
    pool = PooledSavings(SharedSavings(300.0, 0.5, 0.0, segments=["a", "b"], target="enabler"))
    assert mlr_role(FeeForService()) == mlr_role(Capitation(pmpm=1.0)) == "base"
    assert mlr_role(UserContract("k", pay_all)) == "base"
    for c in (
        BundledPayment(100.0, 0.0, None, None, "b"),
        PayForPerformance(bonus_pmpm=1.0),
        SharedSavings(300.0, 0.5, 0.0),
        RiskCorridor(300.0, [(0.0, float("inf"), 0.5)]),
        pool,
        SavingsPassThrough(pool),
    ):
        assert mlr_role(c) == "care", c
    assert mlr_role(SpecificStopLoss(1e4)) == mlr_role(AggregateStopLoss()) == "reinsurance"
    assert mlr_role(UserContract("k", pay_all, source="reinsurer")) == "reinsurance"
    assert mlr_role(ManagementFee(1.0)) == mlr_role(MLRRebate()) == mlr_role(JointVenture()) == "other"


# ---------------------------------------------------------------------------------------------
# incurred claims, one rule per contract class


def test_alone_falls_back_to_the_medical_cost():
    # no earlier contract pays for care: incurred claims = C, rebate = max(0.85 P − C, 0)
    ctx = ctx_()
    c = MLRRebate(**FULL)
    np.testing.assert_allclose(c.incurred_claims(ctx), C, **EXACT)
    np.testing.assert_allclose(c.ratio(ctx), [0.70, 0.80, 0.95], **EXACT)
    st_ = c.settle(ctx)
    np.testing.assert_allclose(st_.amount, [150_000.0, 50_000.0, 0.0], **EXACT)
    np.testing.assert_allclose(st_.external, st_.amount)
    np.testing.assert_allclose(st_.flows["payer"], -st_.amount)
    assert set(st_.flows) == {"payer"}


def test_fee_for_service_pays_the_provider_and_outside_care():
    # 75% delivered by the contracting provider, 25% bought outside: the payer pays C either way
    ctx = settle_in_order(ctx_(delivered_share=0.75), FeeForService())
    ffs = ctx.settled[0][2]
    np.testing.assert_allclose(ffs.amount + ffs.outside_care, C, **EXACT)
    np.testing.assert_allclose(incurred_claims(ctx), C, **EXACT)
    np.testing.assert_allclose(MLRRebate(**FULL).rebate(ctx), [150_000.0, 50_000.0, 0.0], **EXACT)
    # seen from the provider, the rule nets what it receives: −0.75 C (the payments it is paid)
    np.testing.assert_allclose(incurred_claims(ctx, "provider"), -0.75 * C, **EXACT)


def test_fee_for_service_paid_by_another_party_leaves_the_fallback():
    # the enabler pays the claims: no base payment by the payer, so its claims fall back to C
    ctx = settle_in_order(ctx_(), FeeForService(source="enabler"))
    np.testing.assert_allclose(incurred_claims(ctx, "payer"), C, **EXACT)
    np.testing.assert_allclose(incurred_claims(ctx, "enabler"), C, **EXACT)


def test_capitation_of_86_percent_of_premium_owes_no_rebate():
    # global capitation: the payer's claims are the capitation, 860,000 = 86% of premium
    for scale in (0.01, 1.0, 3.0):
        cost = [[x * scale for x in row] for row in COST]
        ctx = settle_in_order(ctx_(cost, delivered_share=0.6), Capitation(percent_of_premium=0.86))
        np.testing.assert_allclose(incurred_claims(ctx), 860_000.0, **EXACT)
        np.testing.assert_array_equal(MLRRebate(**FULL).rebate(ctx), 0.0)
        np.testing.assert_array_equal(MLRRebate().rebate(ctx), 0.0)  # 250 members: non-credible anyway
        np.testing.assert_array_equal(MLRRebate(credibility=False).rebate(ctx), 0.0)
    # 80% of premium: MLR 80%, rebate 5% of premium whatever the cost
    ctx = settle_in_order(ctx_(), Capitation(percent_of_premium=0.80))
    np.testing.assert_allclose(MLRRebate(**FULL).rebate(ctx), 50_000.0, **EXACT)


@settings(deadline=None, max_examples=60)
@given(
    cost=st.lists(st.floats(0.0, 1e8, allow_nan=False), min_size=2, max_size=2),
    share=st.floats(0.0, 1.0),
    members=st.sampled_from([(200, 50), (1_500, 1_000), (60_000, 20_000)]),
    credibility=st.booleans(),
)
def test_capitation_of_86_percent_owes_no_rebate_whatever_the_cost(cost, share, members, credibility):
    ctx = settle_in_order(ctx_([cost], members, delivered_share=share), Capitation(percent_of_premium=0.86))
    np.testing.assert_array_equal(MLRRebate(credibility=credibility).rebate(ctx), 0.0)


def test_partial_capitation_out_of_scope_is_fee_for_service():
    # 30% of premium for a quarter of the cost; the payer pays the other 75% fee for service (its
    # share of outside care included); the provider pays the in-scope outside care from the
    # capitation, which is not the payer's claims: I = 300,000 + 0.75 C = 825,000, 900,000, 1,012,500
    ctx = settle_in_order(ctx_(delivered_share=0.8), Capitation(percent_of_premium=0.30, scope=0.25))
    np.testing.assert_allclose(incurred_claims(ctx), [825_000.0, 900_000.0, 1_012_500.0], **EXACT)
    np.testing.assert_allclose(MLRRebate(**FULL).rebate(ctx), [25_000.0, 0.0, 0.0], **EXACT)


def test_fee_for_service_carve_out_with_capitation():
    # segment a fee for service, segment b capitated at 300 PMPM × 12 × 50 = 180,000:
    # I = a + 180,000 = 780,000, 680,000, 880,000; rebate = 70,000, 170,000, 0
    ctx = settle_in_order(ctx_(), FeeForService(segments=["a"]), Capitation(pmpm=300.0, segments=["b"]))
    np.testing.assert_allclose(incurred_claims(ctx), [780_000.0, 680_000.0, 880_000.0], **EXACT)
    np.testing.assert_allclose(MLRRebate(**FULL).rebate(ctx), [70_000.0, 170_000.0, 0.0], **EXACT)


def test_bundled_payment_reconciliation_is_claims():
    # target 4,800 × 50 episodes = 240,000 against segment b: reconciliation = 140,000, −60,000,
    # −10,000 (repayments reduce claims): I = 840,000, 740,000, 940,000; rebate = 10,000, 110,000, 0
    ctx = settle_in_order(ctx_(), FeeForService(), BundledPayment(4_800.0, 0.0, None, None, "b"))
    np.testing.assert_allclose(incurred_claims(ctx), [840_000.0, 740_000.0, 940_000.0], **EXACT)
    np.testing.assert_allclose(MLRRebate(**FULL).rebate(ctx), [10_000.0, 110_000.0, 0.0], **EXACT)


def test_pay_for_performance_bonus_is_claims():
    # 2% of C scaled by quality 1, 0.7, 0.3 (ramp 0.5-0.9: 1, 0.5, 0): 14,000, 8,000, 0
    ctx = settle_in_order(
        ctx_(quality=np.array([1.0, 0.7, 0.3])), FeeForService(), PayForPerformance(bonus_percent=0.02)
    )
    np.testing.assert_allclose(incurred_claims(ctx), [714_000.0, 808_000.0, 950_000.0], **EXACT)
    np.testing.assert_allclose(MLRRebate(**FULL).rebate(ctx), [136_000.0, 42_000.0, 0.0], **EXACT)


def test_shared_savings_paid_and_shared_losses_repaid():
    # benchmark 300 × 12 × 250 = 900,000; S = 200,000, 100,000, −50,000; half shared both ways:
    # 100,000, 50,000 paid, 25,000 repaid: I = 800,000, 850,000, 925,000; rebate = 50,000, 0, 0
    ss = SharedSavings(
        300.0, 0.5, 0.0, minimum_loss_rate=0.0, loss_sharing_rate=0.5, savings_cap=None, loss_cap=None
    )
    ctx = settle_in_order(ctx_(), FeeForService(), ss)
    np.testing.assert_allclose(incurred_claims(ctx), [800_000.0, 850_000.0, 925_000.0], **EXACT)
    np.testing.assert_allclose(MLRRebate(**FULL).rebate(ctx), [50_000.0, 0.0, 0.0], **EXACT)
    # the same through a risk corridor keeping half of every band
    ctx = settle_in_order(ctx_(), FeeForService(), RiskCorridor(300.0, [(0.0, float("inf"), 0.5)]))
    np.testing.assert_allclose(incurred_claims(ctx), [800_000.0, 850_000.0, 925_000.0], **EXACT)


def test_pooled_savings_with_the_enabler_and_pass_through():
    # book a (200 members), pool a + p (250): weight 0.8; pool benchmark 300 × 12 × 250 = 900,000,
    # pool S = 200,000, 100,000, −50,000, half of savings to the enabler, one-sided:
    # 100,000, 50,000, 0 × 0.8 = 80,000, 40,000, 0.  The payer pays the book's care (a) plus that;
    # the pass-through moves money from the enabler to the provider, not the payer's:
    # I = 680,000, 540,000, 700,000; rebate = 170,000, 310,000, 150,000
    ctx = make_ctx(COST, [200, 50], segments=("a", "p"), premium=P)
    ctx = dataclasses.replace(ctx, book=("a",))
    pooled = PooledSavings(
        SharedSavings(300.0, 0.5, 0.0, savings_cap=None, segments=["a", "p"], target="enabler")
    )
    settle_in_order(ctx, FeeForService(), pooled, SavingsPassThrough(pooled, share=0.6))
    np.testing.assert_allclose(incurred_claims(ctx), [680_000.0, 540_000.0, 700_000.0], **EXACT)
    np.testing.assert_allclose(MLRRebate(**FULL).rebate(ctx), [170_000.0, 310_000.0, 150_000.0], **EXACT)
    # the enabler's own view: it pays the provider 60% of the pool's payments (48,000, 24,000, 0) and
    # receives them (80,000, 40,000, 0); no base payment of its own, so the fallback adds the book's C
    np.testing.assert_allclose(incurred_claims(ctx, "enabler"), [568_000.0, 484_000.0, 700_000.0], **EXACT)


def test_management_fee_is_not_claims():
    ctx = settle_in_order(ctx_(), FeeForService(), ManagementFee(5.0))
    np.testing.assert_allclose(incurred_claims(ctx), C, **EXACT)
    np.testing.assert_allclose(MLRRebate(**FULL).rebate(ctx), [150_000.0, 50_000.0, 0.0], **EXACT)


def test_user_contract_is_a_base_payment_or_reinsurance():
    # a kernel that pays C is the base payment (no fallback on top)
    ctx = settle_in_order(ctx_(), UserContract("ffs", pay_all))
    np.testing.assert_allclose(incurred_claims(ctx), C, **EXACT)
    # a kernel with the reinsurer (20,000 to the payer) is reinsurance: ignored on the direct basis,
    # a recovery on the net basis (its premium and recovery cannot be told apart)
    ctx = settle_in_order(
        ctx_(),
        FeeForService(),
        UserContract("xl", reinsurer_pays, source="reinsurer", target="payer", params=(20_000.0,)),
    )
    np.testing.assert_allclose(incurred_claims(ctx), C, **EXACT)
    np.testing.assert_allclose(incurred_claims(ctx, reinsurance="net"), C - 20_000.0, **EXACT)


# ---------------------------------------------------------------------------------------------
# reinsurance: the direct basis of 45 CFR 158.140(a), and the net basis on request

SL_EXCESS = {50_000.0: [[20_000.0, 0.0], [0.0, 40_000.0], [100_000.0, 0.0]]}


def test_specific_stop_loss_direct_and_net():
    # recoveries 20,000, 40,000, 100,000; premium 30 PMPM × 12 × 250 = 90,000
    ctx = make_ctx(COST, [200, 50], premium=P, excess=SL_EXCESS)
    settle_in_order(ctx, FeeForService(), SpecificStopLoss(50_000.0, premium_pmpm=30.0))
    # direct (default): reinsurance does not enter: the FFS numbers
    np.testing.assert_allclose(incurred_claims(ctx), C, **EXACT)
    np.testing.assert_allclose(MLRRebate(**FULL).rebate(ctx), [150_000.0, 50_000.0, 0.0], **EXACT)
    # net: I = C − recoveries = 680,000, 760,000, 850,000; P' = 910,000; 0.85 P' = 773,500
    net = MLRRebate(reinsurance="net", **FULL)
    np.testing.assert_allclose(net.incurred_claims(ctx), [680_000.0, 760_000.0, 850_000.0], **EXACT)
    np.testing.assert_allclose(net.adjusted_premium(ctx), 910_000.0, **EXACT)
    np.testing.assert_allclose(net.rebate(ctx), [93_500.0, 13_500.0, 0.0], **EXACT)


def test_aggregate_stop_loss_net_and_other_insured():
    # attachment 1.0 × expected 800,000: recovery 0, 0, 150,000; premium 30 PMPM × 12 × 250
    ctx = make_ctx(COST, [200, 50], premium=P, expected_cost=800_000.0)
    settle_in_order(ctx, FeeForService(), AggregateStopLoss(1.0, premium_pmpm=30.0))
    net = MLRRebate(reinsurance="net", **FULL)
    np.testing.assert_allclose(net.incurred_claims(ctx), [700_000.0, 800_000.0, 800_000.0], **EXACT)
    np.testing.assert_allclose(net.rebate(ctx), [73_500.0, 0.0, 0.0], **EXACT)
    # stop-loss bought by the provider is not the payer's, even on the net basis
    ctx = make_ctx(COST, [200, 50], premium=P, expected_cost=800_000.0)
    settle_in_order(ctx, FeeForService(), AggregateStopLoss(1.0, premium_pmpm=30.0, insured="provider"))
    np.testing.assert_allclose(net.incurred_claims(ctx), C, **EXACT)
    np.testing.assert_allclose(net.adjusted_premium(ctx), P, **EXACT)


# ---------------------------------------------------------------------------------------------
# denominator, quality improvement, credibility


def test_taxes_and_fees_and_quality_improvement():
    # taxes and fees 3%: P' = 970,000; quality improvement 2 PMPM × 12 × 250 = 6,000:
    # rebate = max(0.85 × 970,000 − 6,000 − C, 0) = 118,500, 18,500, 0
    c = MLRRebate(taxes_and_fees_ratio=0.03, quality_improvement_pmpm=2.0, **FULL)
    ctx = settle_in_order(ctx_(), FeeForService())
    np.testing.assert_allclose(c.adjusted_premium(ctx), 970_000.0, **EXACT)
    assert c.quality_improvement(ctx) == 6_000.0
    np.testing.assert_allclose(c.ratio(ctx), (C + 6_000.0) / 970_000.0, **EXACT)
    np.testing.assert_allclose(c.rebate(ctx), [118_500.0, 18_500.0, 0.0], **EXACT)


def test_credibility_of_the_book():
    ffs = FeeForService()
    # 2,500 life-years: 5.2% (Table 1 to 45 CFR 158.232): rebate = max(0.798 P − C, 0) = 98,000, 0, 0
    ctx = settle_in_order(ctx_(members=(1_500, 1_000)), ffs)
    c = MLRRebate()
    assert c.experience_life_years(ctx) == 2_500 and c.credibility_adjustment(ctx) == 0.052
    np.testing.assert_allclose(c.rebate(ctx), [98_000.0, 0.0, 0.0], **EXACT)
    # with a deductible factor of 1.5: 7.8%, rebate = max(0.772 P − C, 0) = 72,000, 0, 0
    np.testing.assert_allclose(MLRRebate(deductible_factor=1.5).rebate(ctx), [72_000.0, 0.0, 0.0], **EXACT)
    # 900 life-years: non-credible, presumed to meet the standard (158.230(d)): no rebate
    small = settle_in_order(ctx_(members=(500, 400)), ffs)
    assert not c.credible(small)
    np.testing.assert_array_equal(c.rebate(small), 0.0)
    # unless the credibility rules are off, or the book is part of a larger block
    np.testing.assert_allclose(
        MLRRebate(credibility=False).rebate(small), [150_000.0, 50_000.0, 0.0], **EXACT
    )
    np.testing.assert_allclose(MLRRebate(life_years=2_500).rebate(small), [98_000.0, 0.0, 0.0], **EXACT)
    # 75,000 or more: fully credible, no adjustment
    big = settle_in_order(ctx_(members=(60_000, 15_000)), ffs)
    np.testing.assert_allclose(c.rebate(big), [150_000.0, 50_000.0, 0.0], **EXACT)


# ---------------------------------------------------------------------------------------------
# properties


@settings(deadline=None, max_examples=100)
@given(
    cost=st.lists(st.floats(0.0, 2e6, allow_nan=False), min_size=2, max_size=2),
    bonus=st.lists(st.floats(0.0, 500.0), min_size=2, max_size=2),
    members=st.sampled_from([(200, 50), (1_500, 1_000), (30_000, 20_000), (60_000, 15_000)]),
    minimum=st.floats(0.5, 1.0),
    taxes=st.floats(0.0, 0.1),
)
def test_rebate_non_increasing_in_incurred_claims(cost, bonus, members, minimum, taxes):
    low, high = sorted(bonus)
    rebates = []
    for b in (low, high):
        ctx = ctx_([cost], members, quality=np.ones(1))
        settle_in_order(
            ctx, FeeForService(), PayForPerformance(bonus_pmpm=b, quality_low=0.0, quality_high=0.0)
        )
        c = MLRRebate(minimum, taxes_and_fees_ratio=taxes)
        rebates.append((c.incurred_claims(ctx), c.rebate(ctx)))
    (claims_low, rebate_low), (claims_high, rebate_high) = rebates
    assert np.all(claims_low <= claims_high)
    assert np.all(rebate_high <= rebate_low)
    assert np.all(rebate_low >= 0.0)


@settings(deadline=None, max_examples=100)
@given(
    cost=st.lists(st.floats(0.0, 2e6, allow_nan=False), min_size=2, max_size=2),
    scale=st.floats(1.0, 3.0),
    low=st.floats(0.5, 1.0),
    high=st.floats(0.5, 1.0),
    members=st.sampled_from([(200, 50), (1_500, 1_000), (60_000, 15_000)]),
    credibility=st.booleans(),
)
def test_rebate_monotone_in_cost_and_minimum(cost, scale, low, high, members, credibility):
    low, high = sorted((low, high))
    small = settle_in_order(ctx_([cost], members), FeeForService())
    large = settle_in_order(ctx_([[scale * x for x in cost]], members), FeeForService())
    for m in (low, high):
        c = MLRRebate(m, credibility=credibility)
        assert np.all(c.rebate(large) <= c.rebate(small))
    assert np.all(
        MLRRebate(low, credibility=credibility).rebate(small)
        <= MLRRebate(high, credibility=credibility).rebate(small)
    )


# ---------------------------------------------------------------------------------------------
# in the engine: settle_models records the earlier settlements


def test_in_simulate_capitation_and_shared_savings():
    pop = v.Population([v.Segment("members", 1_200, v.Gamma.from_mean_cv(5_000.0, 1.5))])
    pmpm = 560.0
    premium = pmpm * 12 * 1_200
    models = {
        "cap": v.Arrangement([Capitation(percent_of_premium=0.86), MLRRebate()], premium_pmpm=pmpm),
        "ss": v.Arrangement(
            [FeeForService(), SharedSavings(430.0, 0.5, 0.0, savings_cap=None), MLRRebate()],
            premium_pmpm=pmpm,
        ),
    }
    ds = v.simulate(pop, models, n_scenarios=200, seed=11)
    # 86% of premium as capitation: never a rebate
    np.testing.assert_array_equal(ds.rebate.sel(model="cap"), 0.0)
    # fee for service plus shared savings: I = C + shared savings; 1,200 life-years:
    # adjustment 8.3% − (200 / 1,500) × 3.1% (45 CFR 158.232)
    adj = 0.083 - (200 / 1_500) * 0.031
    c = ds.medical_cost.sel(model="ss").values
    shared = ds.settlement.sel(model="ss", contract="shared_savings").values
    expected = np.maximum((0.85 - adj) * premium - (c + shared), 0.0)
    np.testing.assert_allclose(ds.rebate.sel(model="ss"), expected, rtol=1e-12, atol=1e-6)
    assert expected.max() > 0 and (expected == 0).any()
    # the rebate leaves the parties: premium − delivery cost − rebate
    total = ds.net.sel(model="ss").sum("party").values
    np.testing.assert_allclose(total, premium - 0.85 * c - expected, rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# errors


def test_unknown_declared_role_and_bad_arguments():
    class Odd(FeeForService):
        mlr_role = "weird"

    ctx = ctx_()
    ctx.settled.append(("odd", Odd(), Odd().settle(ctx)))
    with pytest.raises(ValueError, match="Odd: mlr_role must be one of base, care, reinsurance, other"):
        incurred_claims(ctx)
    with pytest.raises(ValueError, match="incurred_claims: insurer must be one of"):
        incurred_claims(ctx_(), "members")
    with pytest.raises(ValueError, match="incurred_claims: reinsurance must be one of"):
        incurred_claims(ctx_(), reinsurance="gross")
    with pytest.raises(ValueError, match=r"MLRRebate: ctx.premium must have shape \(3,\)"):
        MLRRebate().rebate(dataclasses.replace(ctx_(), premium=np.ones(2)))
