"""Management fee, pooled savings with pass-through, joint venture: hand-computed settlements and errors."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbcsim.contracts import (
    FeeForService,
    JointVenture,
    ManagementFee,
    PayForPerformance,
    PooledSavings,
    SavingsPassThrough,
    SharedSavings,
)
from vbcsim.contracts.base import PARTIES, Needs

from .helpers import assert_conserved, make_ctx, reference_credibility

# ---------------------------------------------------------------------------------------------
# a small pooled context: the book is segments a (100 members) and b (50), the pool adds the
# other practices' segments p2 (200) and p3 (150).  Book 150 members, pool 500: weight 0.3.

SEGMENTS = ("a", "b", "p2", "p3")
BOOK = ("a", "b")
MEMBERS = [100, 50, 200, 150]
W = 150 / 500

# per scenario: a, b, p2, p3.  Pool benchmark at 100 PMPM: B = 100 × 12 × 500 = 600,000.
# The book alone (B_book = 180,000) would settle differently: s0 is a loss on the book alone.
POOL_COST = [
    [
        120_000.0,
        80_000.0,
        200_000.0,
        140_000.0,
    ],  # pool 540,000: savings 60,000 (10%) -> 0.5 × 60,000 = 30,000
    [60_000.0, 30_000.0, 300_000.0, 204_000.0],  # pool 594,000: savings 6,000 (1% < MSR 2%) -> 0
    [100_000.0, 50_000.0, 300_000.0, 210_000.0],  # pool 660,000: losses 60,000 (10%) -> −0.4 × 60,000
    [50_000.0, 30_000.0, 200_000.0, 120_000.0],  # pool 400,000: savings 200,000 -> 100,000, cap 60,000
]
POOL_AMOUNT = np.array([30_000.0, 0.0, -24_000.0, 60_000.0])  # the pool-level settlement
BOOK_AMOUNT = W * POOL_AMOUNT  # [9,000, 0, −7,200, 18,000]


def pooled_ctx(segment_cost=POOL_COST, members=MEMBERS, book=BOOK, **kw):
    ctx = make_ctx(segment_cost, members, segments=SEGMENTS, **kw)
    return dataclasses.replace(ctx, book=book)


def pool_savings(segments=SEGMENTS, **kw):
    terms = dict(
        minimum_loss_rate=0.02,
        loss_sharing_rate=0.4,
        savings_cap=0.10,
        loss_cap=0.05,
        segments=segments,
        target="enabler",
    )
    terms.update(kw)
    return SharedSavings(100.0, 0.5, 0.02, **terms)


# ---------------------------------------------------------------------------------------------
# ManagementFee


def test_management_fee_book_members_by_default():
    fee = ManagementFee(3.0)
    st_ = fee.settle(pooled_ctx())
    # 3 × 12 × 150 book members = 5,400 in every scenario (the pool's members are not the book's)
    np.testing.assert_array_equal(st_.amount, np.full(4, 5_400.0))
    np.testing.assert_array_equal(st_.flows["payer"], np.full(4, -5_400.0))
    np.testing.assert_array_equal(st_.flows["enabler"], np.full(4, 5_400.0))
    assert set(st_.flows) == {"payer", "enabler"}
    assert_conserved(st_)
    assert fee.name == "management_fee"
    assert fee.needs() == Needs()


def test_management_fee_given_segments_and_no_book():
    # segments p2 and p3: 2.5 × 12 × 350 = 10,500
    fee = ManagementFee(2.5, segments=["p2", "p3"], source="enabler", target="provider")
    st_ = fee.settle(pooled_ctx())
    np.testing.assert_array_equal(st_.amount, np.full(4, 10_500.0))
    np.testing.assert_array_equal(st_.flows["enabler"], np.full(4, -10_500.0))
    np.testing.assert_array_equal(st_.flows["provider"], np.full(4, 10_500.0))
    assert_conserved(st_)
    # a single name is accepted
    assert ManagementFee(1.0, segments="a").segments == ("a",)
    np.testing.assert_array_equal(ManagementFee(1.0, segments="a").settle(pooled_ctx()).amount, 1_200.0)
    # without a book every segment is covered: 3 × 12 × 500 = 18,000
    np.testing.assert_array_equal(ManagementFee(3.0).settle(pooled_ctx(book=None)).amount, 18_000.0)
    # a zero fee is allowed and moves nothing
    np.testing.assert_array_equal(ManagementFee(0.0).settle(pooled_ctx()).amount, 0.0)


def test_management_fee_constant_whatever_the_cost():
    low = pooled_ctx(np.zeros((4, 4)))
    high = pooled_ctx(np.full((4, 4), 1e9))
    fee = ManagementFee(4.25)
    np.testing.assert_array_equal(fee.settle(low).amount, fee.settle(high).amount)
    assert np.ptp(fee.settle(high).amount) == 0.0


def test_management_fee_unknown_segment_at_settlement():
    with pytest.raises(ValueError, match="unknown segment 'zz'"):
        ManagementFee(3.0, segments=["zz"]).settle(pooled_ctx())


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(pmpm=-1.0), ValueError, "pmpm must be non-negative"),
        (dict(pmpm=math.nan), ValueError, "pmpm must be finite"),
        (dict(pmpm=math.inf), ValueError, "pmpm must be finite"),
        (dict(pmpm="3"), TypeError, "pmpm must be a real number"),
        (dict(pmpm=True), TypeError, "pmpm must be a real number"),
        (dict(pmpm=3.0, source="members"), ValueError, "source must be one of"),
        (dict(pmpm=3.0, target="members"), ValueError, "target must be one of"),
        (dict(pmpm=3.0, source="payer", target="payer"), ValueError, "source and target must differ"),
        (dict(pmpm=3.0, segments=()), ValueError, "segments must not be empty"),
        (dict(pmpm=3.0, segments=["a", "a"]), ValueError, "segments must not repeat"),
        (dict(pmpm=3.0, segments=[1]), TypeError, "segments must be non-empty strings"),
    ],
)
def test_management_fee_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match) as info:
        ManagementFee(**kwargs)
    assert "ManagementFee" in str(info.value)


# ---------------------------------------------------------------------------------------------
# PooledSavings


def test_pooled_savings_hand_computed():
    ctx = pooled_ctx()
    savings = pool_savings()
    pooled = PooledSavings(savings)
    assert pooled.weight(ctx) == pytest.approx(0.3, rel=1e-15)
    # the pool-level contract itself settles on the pool's totals
    np.testing.assert_allclose(savings.settle(ctx).amount, POOL_AMOUNT, rtol=1e-12)
    st_ = pooled.settle(ctx)
    np.testing.assert_allclose(st_.amount, [9_000.0, 0.0, -7_200.0, 18_000.0], rtol=1e-12)
    np.testing.assert_allclose(st_.flows["payer"], -st_.amount)
    np.testing.assert_allclose(st_.flows["enabler"], st_.amount)
    assert set(st_.flows) == {"payer", "enabler"}
    assert_conserved(st_)
    assert (pooled.source, pooled.target) == ("payer", "enabler")
    assert pooled.name == "pooled_shared_savings"
    # the book alone would settle differently (s0 is a 11% loss on the book's 180,000 benchmark)
    book_only = pool_savings(segments=BOOK)
    assert book_only.settle(ctx).amount[0] < 0


def test_pooled_savings_weight_follows_members():
    # double the other practices' members: weight 150 / 850
    members = [100, 50, 400, 300]
    ctx = pooled_ctx(members=members)
    pooled = PooledSavings(pool_savings())
    assert pooled.weight(ctx) == pytest.approx(150 / 850, rel=1e-15)
    np.testing.assert_allclose(
        pooled.settle(ctx).amount, 150 / 850 * pool_savings().settle(ctx).amount, rtol=1e-12
    )
    # a pool that is just the book: weight 1, the plain contract on the book
    ctx = pooled_ctx()
    just_book = PooledSavings(pool_savings(segments=BOOK))
    assert just_book.weight(ctx) == 1.0
    np.testing.assert_allclose(just_book.settle(ctx).amount, pool_savings(segments=BOOK).settle(ctx).amount)
    # without a book (ctx.book None) every segment is the book: the pool must name them all
    ctx_all = pooled_ctx(book=None)
    assert PooledSavings(pool_savings()).weight(ctx_all) == 1.0


def test_pooled_savings_needs_follow_the_pool_contract():
    pooled = PooledSavings(pool_savings(outlier_attachment=50_000.0, quality_gate=0.5))
    assert pooled.needs() == Needs(attachments=(50_000.0,), quality=True)
    assert PooledSavings(pool_savings()).needs() == Needs()


def test_pooled_savings_with_outlier_truncation():
    # truncating 60,000 of pool cost above the attachment turns s1 (1% savings) into 11% savings
    excess = np.zeros((4, 4))
    excess[1, 2] = 60_000.0
    ctx = pooled_ctx(excess={50_000.0: excess})
    pooled = PooledSavings(pool_savings(outlier_attachment=50_000.0))
    # s1: A = 594,000 − 60,000 = 534,000, savings 66,000 -> 33,000; × 0.3 = 9,900
    np.testing.assert_allclose(pooled.settle(ctx).amount, [9_000.0, 9_900.0, -7_200.0, 18_000.0], rtol=1e-12)


def test_pooled_savings_errors():
    with pytest.raises(ValueError, match="savings.segments must name the pool's segments"):
        PooledSavings(SharedSavings(100.0, 0.5, 0.02))
    with pytest.raises(TypeError, match="savings must be a SharedSavings contract, got ManagementFee"):
        PooledSavings(ManagementFee(3.0))
    with pytest.raises(TypeError, match="savings must be a SharedSavings"):
        PooledSavings(None)
    # the pool must include every book segment
    missing_b = PooledSavings(pool_savings(segments=("a", "p2", "p3")))
    with pytest.raises(ValueError, match=r"must include the book's segments; missing \['b'\]"):
        missing_b.settle(pooled_ctx())
    # a pool segment the context does not have
    unknown = PooledSavings(pool_savings(segments=("a", "b", "p9")))
    with pytest.raises(ValueError, match="unknown segment 'p9'"):
        unknown.settle(pooled_ctx())


# ---------------------------------------------------------------------------------------------
# SavingsPassThrough


def test_pass_through_absorbing_losses():
    pooled = PooledSavings(pool_savings())
    pt = SavingsPassThrough(pooled, share=0.6)
    st_ = pt.settle(pooled_ctx())
    # 0.6 × max(book amount, 0): savings 9,000 -> 5,400; corridor 0; losses absorbed 0; 18,000 -> 10,800
    np.testing.assert_allclose(st_.amount, [5_400.0, 0.0, 0.0, 10_800.0], rtol=1e-12)
    np.testing.assert_allclose(st_.flows["enabler"], -st_.amount)
    np.testing.assert_allclose(st_.flows["provider"], st_.amount)
    assert set(st_.flows) == {"enabler", "provider"}
    assert_conserved(st_)
    assert pt.source == "enabler"
    assert pt.name == "savings_pass_through"
    assert pt.absorbs_losses is True


def test_pass_through_sharing_losses():
    pooled = PooledSavings(pool_savings())
    pt = SavingsPassThrough(pooled, share=0.6, absorbs_losses=False)
    st_ = pt.settle(pooled_ctx())
    # 0.6 × book amount: the provider repays 0.6 × 7,200 = 4,320 of the loss
    np.testing.assert_allclose(st_.amount, [5_400.0, 0.0, -4_320.0, 10_800.0], rtol=1e-12)
    np.testing.assert_allclose(st_.flows["provider"], [5_400.0, 0.0, -4_320.0, 10_800.0], rtol=1e-12)
    assert_conserved(st_)


def test_pass_through_shares_zero_and_one_and_needs():
    pooled = PooledSavings(pool_savings(quality_gate=0.0))
    ctx = pooled_ctx(quality=[1.0] * 4)
    np.testing.assert_array_equal(SavingsPassThrough(pooled, share=0.0).settle(ctx).amount, 0.0)
    full = SavingsPassThrough(pooled, share=1.0, absorbs_losses=False).settle(ctx).amount
    np.testing.assert_allclose(full, pooled.settle(ctx).amount)
    assert SavingsPassThrough(pooled).needs() == pooled.needs() == Needs(quality=True)
    # a pass-through to another party
    other = SavingsPassThrough(pooled, share=0.5, target="reinsurer").settle(ctx)
    assert set(other.flows) == {"enabler", "reinsurer"}


def test_pass_through_when_pool_pays_the_provider_directly():
    # the pooled contract's target is the source of the pass-through
    pooled = PooledSavings(pool_savings(target="provider"))
    pt = SavingsPassThrough(pooled, share=0.5, target="enabler")
    st_ = pt.settle(pooled_ctx())
    np.testing.assert_allclose(st_.flows["provider"], -0.5 * np.maximum(BOOK_AMOUNT, 0.0), rtol=1e-12)


pool_costs = st.lists(
    st.lists(st.floats(0.0, 400_000.0, allow_nan=False), min_size=4, max_size=4), min_size=1, max_size=6
)


@settings(deadline=None, max_examples=100)
@given(cost=pool_costs, s1=st.floats(0.0, 1.0), s2=st.floats(0.0, 1.0))
def test_pass_through_monotone_in_share(cost, s1, s2):
    lo, hi = sorted((s1, s2))
    ctx = pooled_ctx(cost)
    pooled = PooledSavings(pool_savings())
    a_lo = SavingsPassThrough(pooled, share=lo).settle(ctx).amount
    a_hi = SavingsPassThrough(pooled, share=hi).settle(ctx).amount
    # absorbing losses, the provider's pass-through never falls as its share rises, and is never negative
    assert np.all(a_lo <= a_hi)
    assert np.all(a_lo >= 0.0)
    # sharing losses, the amount moves away from zero as the share rises (in both directions)
    b_lo = SavingsPassThrough(pooled, share=lo, absorbs_losses=False).settle(ctx).amount
    b_hi = SavingsPassThrough(pooled, share=hi, absorbs_losses=False).settle(ctx).amount
    assert np.all(np.abs(b_lo) <= np.abs(b_hi))
    book = pooled.settle(ctx).amount
    np.testing.assert_allclose(a_hi, hi * np.maximum(book, 0.0), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(b_hi, hi * book, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(share=1.5), ValueError, r"share must be a probability in \[0, 1\]"),
        (dict(share=-0.1), ValueError, "share must be a probability"),
        (dict(share=math.nan), ValueError, "share must be finite"),
        (dict(share="0.6"), TypeError, "share must be a real number"),
        (dict(absorbs_losses=1), TypeError, "absorbs_losses must be True or False"),
        (dict(target="members"), ValueError, "target must be one of"),
        (dict(target="enabler"), ValueError, "target must differ from the party that receives"),
    ],
)
def test_pass_through_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match) as info:
        SavingsPassThrough(PooledSavings(pool_savings()), **kwargs)
    assert "SavingsPassThrough" in str(info.value)


def test_pass_through_needs_a_pooled_contract():
    with pytest.raises(TypeError, match="pooled must be a PooledSavings contract, got SharedSavings"):
        SavingsPassThrough(pool_savings())


# ---------------------------------------------------------------------------------------------
# JointVenture
#
# The book is segments a (1,500 members) and b (1,000); the pool segment p2 holds a large cost
# the venture must ignore.  2,500 life-years: partially credible, base credibility factor 5.2%
# (a point of Table 1 to 45 CFR 158.232), so the 85% floor binds at 85% − 5.2% = 79.8%.
# P = 1,000,000; C = 700,000, 900,000, 1,100,000, 800,000; admin A = 100,000; care management
# M = 20,000.  With no earlier contract the plan's incurred claims are C (the fallback):
# rebate = max(798,000 − C, 0) = 98,000, 0, 0, 0.
#
# Changed from the old rule (rebate = max(0.85 P − C, 0) = 150,000, 0, 0, 50,000 on a
# 200-member book): the credibility adjustment of 45 CFR 158.232 lowers the standard (and a
# 200-member book would be non-credible and owe nothing, see test_joint_venture_non_credible).

JV_SEGMENTS = ("a", "b", "p2")
JV_MEMBERS = [1_500, 1_000, 1_000]
JV_COST = [
    [500_000.0, 200_000.0, 9e6],
    [600_000.0, 300_000.0, 9e6],
    [800_000.0, 300_000.0, 9e6],
    [400_000.0, 400_000.0, 9e6],
]
C = np.array([700_000.0, 900_000.0, 1_100_000.0, 800_000.0])
P = 1_000_000.0
ADJ = 0.052  # Table 1 to 45 CFR 158.232 at 2,500 life-years
REBATE = np.array([98_000.0, 0.0, 0.0, 0.0])
OLD_REBATE = np.array([150_000.0, 0.0, 0.0, 50_000.0])  # without credibility: max(0.85 P − C, 0)


def jv_ctx(
    care_management_party="payer", admin=100_000.0, care_management=20_000.0, premium=P, members=JV_MEMBERS
):
    ctx = make_ctx(JV_COST, members, segments=JV_SEGMENTS, premium=premium)
    return dataclasses.replace(
        ctx,
        book=("a", "b"),
        admin=admin,
        care_management=care_management,
        care_management_party=care_management_party,
    )


def settled(ctx, *contracts):
    """``ctx`` with ``contracts`` settled in order, as ``settle_models`` records them."""
    for c in contracts:
        ctx.settled.append((c.name, c, c.settle(ctx)))
    return ctx


def assert_conserved_with_rebate(st_):
    """Flows name known parties; they sum to −external (the rebate leaves the parties)."""
    assert set(st_.flows) <= set(PARTIES)
    total = sum(np.asarray(f, dtype=float) for f in st_.flows.values())
    np.testing.assert_allclose(total, -np.asarray(st_.external), rtol=0, atol=1e-9)


def test_joint_venture_hand_computed():
    jv = JointVenture()  # 50/50, MLR floor 85%, payer insurer, provider partner, credibility on
    ctx = jv_ctx()
    np.testing.assert_allclose(ctx.medical_cost, C)
    assert ctx.n_members() == 2_500
    assert jv.mlr_floor().credibility_adjustment(ctx) == ADJ
    np.testing.assert_allclose(jv.rebate(ctx), REBATE, rtol=1e-12)
    # U = P − C − A − M − rebate = 82,000, −20,000, −220,000, 80,000
    u = np.array([82_000.0, -20_000.0, -220_000.0, 80_000.0])
    np.testing.assert_allclose(jv.underwriting_result(ctx), u, rtol=1e-12)
    st_ = jv.settle(ctx)
    np.testing.assert_allclose(st_.amount, [41_000.0, -10_000.0, -110_000.0, 40_000.0], rtol=1e-12)
    np.testing.assert_allclose(st_.flows["provider"], st_.amount)
    np.testing.assert_allclose(st_.flows["payer"], [-139_000.0, 10_000.0, 110_000.0, -40_000.0], rtol=1e-12)
    np.testing.assert_allclose(st_.external, REBATE, rtol=1e-12)
    assert set(st_.flows) == {"payer", "provider"}
    assert_conserved_with_rebate(st_)
    assert jv.name == "joint_venture"
    assert jv.needs() == Needs()


def test_joint_venture_without_credibility_keeps_the_old_numbers():
    # credibility off: rebate = max(0.85 P − C, 0), as before
    jv = JointVenture(credibility=False)
    ctx = jv_ctx()
    np.testing.assert_allclose(jv.rebate(ctx), OLD_REBATE, rtol=1e-12)
    np.testing.assert_allclose(jv.underwriting_result(ctx), [30_000.0, -20_000.0, -220_000.0, 30_000.0])


def test_joint_venture_non_credible():
    # 200 life-years: non-credible, presumed to meet the standard (45 CFR 158.230(d)): no rebate
    ctx = jv_ctx(members=[100, 100, 1_000])
    jv = JointVenture()
    np.testing.assert_array_equal(jv.rebate(ctx), 0.0)
    np.testing.assert_allclose(jv.underwriting_result(ctx), P - C - 120_000.0)
    # the same book counted as part of a 2,500-life-year block
    np.testing.assert_allclose(JointVenture(life_years=2_500).rebate(ctx), REBATE, rtol=1e-12)


def test_joint_venture_owners_end_with_their_equity_share():
    # with the arrangement's own flows and fee-for-service claims (settled before the venture), the
    # insurer's result is (1 − e) U and the partner's e U plus its delivery margin (1 − delivery ratio) C
    e = 0.4
    ctx = settled(jv_ctx(), FeeForService())
    jv = JointVenture(partner_equity=e)
    u = jv.underwriting_result(ctx)
    np.testing.assert_allclose(u, [82_000.0, -20_000.0, -220_000.0, 80_000.0], rtol=1e-12)
    ffs = ctx.settled[0][2]
    st_ = jv.settle(ctx)
    payer = P - 100_000.0 - 20_000.0 + ffs.flows["payer"] + st_.flows["payer"]
    provider = -0.85 * C + ffs.flows["provider"] + st_.flows["provider"]
    np.testing.assert_allclose(payer, (1 - e) * u, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(provider, e * u + 0.15 * C, rtol=1e-12, atol=1e-6)
    # all parties: premium − delivery − admin − care management − rebate
    np.testing.assert_allclose(payer + provider, P - 0.85 * C - 120_000.0 - REBATE, rtol=1e-12)


def test_joint_venture_incurred_claims_are_what_the_plan_pays():
    # fee for service with 70% delivered by the partner: the plan pays 0.7 C to the provider and
    # 0.3 C of outside care, so its incurred claims are still C; a P4P bonus of 5 PMPM × 2,500 ×
    # 12 = 150,000 at full quality is an incentive payment and adds to them:
    # rebate = max(798,000 − C − 150,000, 0) = 0 everywhere; U = P − C − 150,000 − A − M
    ctx = dataclasses.replace(jv_ctx(), delivered_share=0.7, quality=np.ones(4))
    ctx = settled(ctx, FeeForService(), PayForPerformance(bonus_pmpm=5.0))
    jv = JointVenture()
    np.testing.assert_allclose(jv.mlr_floor().incurred_claims(ctx), C + 150_000.0, rtol=1e-12)
    np.testing.assert_array_equal(jv.rebate(ctx), 0.0)
    np.testing.assert_allclose(jv.underwriting_result(ctx), P - C - 150_000.0 - 120_000.0, rtol=1e-12)
    # a management fee the plan pays is a cost of the plan (U) but not claims (the MLR): 2 PMPM
    ctx = settled(jv_ctx(), FeeForService(), ManagementFee(2.0))
    fee = 2.0 * 12 * 2_500
    np.testing.assert_allclose(jv.rebate(ctx), REBATE, rtol=1e-12)
    np.testing.assert_allclose(
        jv.underwriting_result(ctx), [82_000.0 - fee, -20_000.0 - fee, -220_000.0 - fee, 80_000.0 - fee]
    )


def test_joint_venture_taxes_and_quality_improvement():
    # taxes and fees 2% of premium: P' = 980,000; quality improvement 1 PMPM: Q = 30,000;
    # rebate = max((0.85 − 0.052) × 980,000 − Q − C, 0) = max(752,040 − C, 0) = 52,040, 0, 0, 0.
    # U = P − C − A − M − rebate: taxes and quality improvement are already part of A and M
    jv = JointVenture(taxes_and_fees_ratio=0.02, quality_improvement_pmpm=1.0)
    ctx = jv_ctx()
    np.testing.assert_allclose(jv.rebate(ctx), [52_040.0, 0.0, 0.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(
        jv.underwriting_result(ctx), [127_960.0, -20_000.0, -220_000.0, 80_000.0], rtol=1e-12
    )


def test_joint_venture_care_management_only_when_the_insurer_bears_it():
    jv = JointVenture()
    # the provider bears care management: U = P − C − A − rebate = 102,000, 0, −200,000, 100,000
    u = [102_000.0, 0.0, -200_000.0, 100_000.0]
    np.testing.assert_allclose(jv.underwriting_result(jv_ctx("provider")), u, rtol=1e-12)
    np.testing.assert_allclose(jv.underwriting_result(jv_ctx("enabler")), u, rtol=1e-12)
    # an enabler that carries the plan's books and its care management
    enabler_jv = JointVenture(insurer="enabler", partner="payer")
    np.testing.assert_allclose(
        enabler_jv.underwriting_result(jv_ctx("enabler")),
        [82_000.0, -20_000.0, -220_000.0, 80_000.0],
        rtol=1e-12,
    )
    st_ = enabler_jv.settle(jv_ctx("enabler"))
    assert set(st_.flows) == {"enabler", "payer"}
    assert_conserved_with_rebate(st_)


def test_joint_venture_without_mlr_floor():
    jv = JointVenture(minimum_loss_ratio=None)
    assert jv.mlr_floor() is None
    ctx = jv_ctx()
    np.testing.assert_array_equal(jv.rebate(ctx), 0.0)
    # U = P − C − A − M = 180,000, −20,000, −220,000, 80,000
    np.testing.assert_allclose(jv.underwriting_result(ctx), [180_000.0, -20_000.0, -220_000.0, 80_000.0])
    st_ = jv.settle(ctx)
    np.testing.assert_allclose(st_.amount, [90_000.0, -10_000.0, -110_000.0, 40_000.0])
    np.testing.assert_array_equal(st_.external, 0.0)
    assert_conserved_with_rebate(st_)


def test_joint_venture_equity_zero_and_one():
    ctx = jv_ctx()
    u = JointVenture().underwriting_result(ctx)
    none = JointVenture(partner_equity=0.0).settle(ctx)
    np.testing.assert_array_equal(none.amount, 0.0)
    np.testing.assert_array_equal(none.flows["provider"], 0.0)
    np.testing.assert_allclose(none.flows["payer"], -REBATE, rtol=1e-12)
    assert_conserved_with_rebate(none)
    full = JointVenture(partner_equity=1.0).settle(ctx)
    np.testing.assert_allclose(full.amount, u)
    np.testing.assert_allclose(full.flows["payer"], -REBATE - u, rtol=1e-12)
    assert_conserved_with_rebate(full)


def test_joint_venture_mlr_floor_of_one_and_premium_per_scenario():
    # floor 100% less the 5.2% adjustment: rebate = max(0.948 P − C, 0); premium may vary by scenario
    # (old rule, max(P − C, 0): 100,000, 0, 0, 400,000)
    premium = np.array([800_000.0, 900_000.0, 1_000_000.0, 1_200_000.0])
    ctx = jv_ctx(premium=premium)
    jv = JointVenture(minimum_loss_ratio=1.0)
    np.testing.assert_allclose(jv.rebate(ctx), [58_400.0, 0.0, 0.0, 337_600.0], rtol=1e-12)
    # U = P − C − A − M − rebate = −120,000 + 0.052 P whenever a rebate is paid
    np.testing.assert_allclose(
        jv.underwriting_result(ctx), [-78_400.0, -120_000.0, -220_000.0, -57_600.0], rtol=1e-12
    )


@settings(deadline=None, max_examples=150)
@given(
    costs=st.lists(st.floats(0.0, 2e6, allow_nan=False), min_size=1, max_size=8),
    premium=st.floats(1e5, 2e6),
    admin=st.floats(0.0, 2e5),
    care=st.floats(0.0, 1e5),
    equity=st.floats(0.0, 1.0),
    mlr=st.one_of(st.none(), st.floats(0.5, 1.0)),
    cm_party=st.sampled_from(["payer", "provider", "enabler"]),
    members=st.sampled_from([100, 999, 1_000, 1_750, 20_000, 74_999, 75_000, 200_000]),
    credibility=st.booleans(),
)
def test_joint_venture_properties(costs, premium, admin, care, equity, mlr, cm_party, members, credibility):
    ctx = make_ctx([[c] for c in costs], [members], premium=premium)
    ctx = dataclasses.replace(ctx, admin=admin, care_management=care, care_management_party=cm_party)
    jv = JointVenture(partner_equity=equity, minimum_loss_ratio=mlr, credibility=credibility)
    st_ = jv.settle(ctx)
    c = np.asarray(costs)
    if mlr is None or (credibility and members < 1_000):
        rebate = np.zeros_like(c)
    else:
        adj = (reference_credibility(members) or 0.0) if credibility else 0.0
        rebate = np.maximum((mlr - adj) * premium - c, 0.0)
    u = premium - c - admin - (care if cm_party == "payer" else 0.0) - rebate
    np.testing.assert_allclose(st_.external, rebate, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(st_.amount, equity * u, rtol=1e-12, atol=1e-6)
    assert np.all(st_.external >= 0.0)
    assert_conserved_with_rebate(st_)
    # the parties' results with the arrangement's flows and fee-for-service claims add up to
    # premium − delivery − admin − care management − rebate
    ffs = FeeForService().settle(ctx)
    total = premium - admin - 0.85 * c - care + sum(ffs.flows.values()) + sum(st_.flows.values())
    np.testing.assert_allclose(total, premium - 0.85 * c - admin - care - rebate, rtol=1e-12, atol=1e-6)


def test_joint_venture_rejects_a_premium_of_the_wrong_shape():
    ctx = dataclasses.replace(jv_ctx(), premium=np.ones(3))
    with pytest.raises(ValueError, match=r"ctx.premium must have shape \(4,\)"):
        JointVenture().settle(ctx)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(partner_equity=1.5), ValueError, r"partner_equity must be a probability in \[0, 1\]"),
        (dict(partner_equity=-0.5), ValueError, "partner_equity must be a probability"),
        (dict(partner_equity=math.nan), ValueError, "partner_equity must be finite"),
        (dict(partner_equity=None), TypeError, "partner_equity must be a real number"),
        (dict(minimum_loss_ratio=0.0), ValueError, r"minimum_loss_ratio must be a probability in \(0, 1\]"),
        (dict(minimum_loss_ratio=1.2), ValueError, "minimum_loss_ratio must be a probability"),
        (dict(minimum_loss_ratio=math.inf), ValueError, "minimum_loss_ratio must be finite"),
        (dict(minimum_loss_ratio="0.85"), TypeError, "minimum_loss_ratio must be a real number"),
        (dict(insurer="members"), ValueError, "must be one of payer, provider, enabler, reinsurer"),
        (dict(partner="members"), ValueError, "must be one of payer, provider, enabler, reinsurer"),
        (dict(insurer="provider", partner="provider"), ValueError, "must differ"),
        (
            dict(taxes_and_fees_ratio=1.0),
            ValueError,
            r"taxes_and_fees_ratio must be a probability in \[0, 1\)",
        ),
        (dict(quality_improvement_pmpm=-1.0), ValueError, "quality_improvement_pmpm must be non-negative"),
        (dict(credibility=1), TypeError, "credibility must be True or False"),
        (dict(life_years=-5.0), ValueError, "life_years must be non-negative"),
        (dict(deductible_factor=0.0), ValueError, "deductible_factor must be positive"),
        (dict(reinsurance="gross"), ValueError, "reinsurance must be one of 'direct', 'net'"),
    ],
)
def test_joint_venture_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match) as info:
        JointVenture(**kwargs)
    assert "JointVenture" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(insurer="members"), "insurer must be one of"),
        (dict(partner="members"), "partner must be one of"),
        (dict(insurer="provider", partner="provider"), "insurer and partner must differ"),
    ],
)
def test_joint_venture_party_errors_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        JointVenture(**kwargs)
