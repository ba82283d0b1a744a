"""Fee for service and pay for performance: hand-computed settlements, references, properties, errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbcsim.contracts.base import Needs
from vbcsim.contracts.fee_for_service import FeeForService
from vbcsim.contracts.pay_for_performance import PayForPerformance

from .helpers import assert_conserved, make_ctx

# two segments, a (10 members) and b (5 members), five scenarios
COST = [
    [6_000.0, 4_000.0],
    [12_000.0, 8_000.0],
    [20_000.0, 10_000.0],
    [1_000.0, 0.0],
    [0.0, 0.0],
]  # C = 10k, 20k, 30k, 1k, 0
MEMBERS = [10, 5]
QUALITY = [0.4, 0.5, 0.7, 0.9, 1.0]


# ---------------------------------------------------------------------------------------------
# independent per-scenario references (plain Python)


def ref_ffs(c: FeeForService, ctx):
    names = list(ctx.segments) if c.segments is None else list(c.segments)
    idx = [ctx.segments.index(n) for n in names]
    return [sum(float(ctx.segment_cost[s][g]) for g in idx) for s in range(ctx.n_scenarios)]


def ref_p4p(c: PayForPerformance, ctx):
    names = list(ctx.segments) if c.segments is None else list(c.segments)
    idx = [ctx.segments.index(n) for n in names]
    members = sum(int(ctx.members[g]) for g in idx)
    out = []
    for s in range(ctx.n_scenarios):
        cost = sum(float(ctx.segment_cost[s][g]) for g in idx)
        full = c.bonus_pmpm * 12 * members if c.bonus_pmpm is not None else c.bonus_percent * cost
        q = float(ctx.quality[s])
        if c.quality_high == c.quality_low:
            scale = 1.0 if q >= c.quality_high else 0.0
        elif q <= c.quality_low:
            scale = 0.0
        elif q >= c.quality_high:
            scale = 1.0
        else:
            scale = (q - c.quality_low) / (c.quality_high - c.quality_low)
        out.append(scale * full)
    return out


# ---------------------------------------------------------------------------------------------
# fee for service


def test_ffs_pays_the_allowed_cost():
    ctx = make_ctx(COST, MEMBERS)
    st_ = FeeForService().settle(ctx)
    np.testing.assert_array_equal(st_.amount, [10_000.0, 20_000.0, 30_000.0, 1_000.0, 0.0])
    np.testing.assert_array_equal(st_.flows["payer"], [-10_000.0, -20_000.0, -30_000.0, -1_000.0, 0.0])
    np.testing.assert_array_equal(st_.flows["provider"], st_.amount)
    assert st_.external is None
    assert_conserved(st_)
    np.testing.assert_array_equal(st_.amount, ref_ffs(FeeForService(), ctx))


def test_ffs_segments_and_parties():
    ctx = make_ctx(COST, MEMBERS)
    carve = FeeForService(segments=["b"])
    np.testing.assert_array_equal(carve.settle(ctx).amount, [4_000.0, 8_000.0, 10_000.0, 0.0, 0.0])
    assert FeeForService(segments="a").segments == ("a",)
    st_ = FeeForService(source="enabler", target="provider").settle(ctx)
    np.testing.assert_array_equal(st_.flows["enabler"], -st_.amount)
    assert FeeForService().name == "fee_for_service"
    assert FeeForService().needs() == Needs()
    assert FeeForService().claims_party == "payer"
    assert FeeForService(segments=["a"], source="enabler").claims_party == "payer"
    assert FeeForService(source="enabler").claims_party == "enabler"


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"source": "bank"}, ValueError, "source"),
        ({"target": "members"}, ValueError, "target"),
        ({"source": "provider"}, ValueError, "source and target must differ"),
        ({"segments": []}, ValueError, "segments"),
        ({"segments": [1]}, TypeError, "segments"),
    ],
)
def test_ffs_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        FeeForService(**kwargs)


def test_ffs_unknown_segment_at_settlement():
    with pytest.raises(ValueError, match="unknown segment"):
        FeeForService(segments=["zzz"]).settle(make_ctx(COST, MEMBERS))


# ---------------------------------------------------------------------------------------------
# pay for performance


def test_p4p_pmpm_hand_computed():
    # full bonus 10 × 12 × 15 = 1,800; scale at q = .4 .5 .7 .9 1.0 between .5 and .9: 0, 0, .5, 1, 1
    ctx = make_ctx(COST, MEMBERS, quality=QUALITY)
    c = PayForPerformance(bonus_pmpm=10.0)
    st_ = c.settle(ctx)
    np.testing.assert_allclose(st_.amount, [0.0, 0.0, 900.0, 1_800.0, 1_800.0], rtol=1e-12)
    np.testing.assert_allclose(st_.amount, ref_p4p(c, ctx), rtol=1e-12)
    np.testing.assert_array_equal(st_.flows["payer"], -st_.amount)
    assert_conserved(st_)
    assert c.needs() == Needs(quality=True)
    assert c.name == "pay_for_performance"


def test_p4p_percent_of_allowed_cost_hand_computed():
    # 2% of C = 200, 400, 600, 20, 0; scale 0, 0, .5, 1, 1
    ctx = make_ctx(COST, MEMBERS, quality=QUALITY)
    c = PayForPerformance(bonus_percent=0.02)
    np.testing.assert_allclose(c.settle(ctx).amount, [0.0, 0.0, 300.0, 20.0, 0.0], rtol=1e-12, atol=1e-12)
    # segment b only: 2% of 4k, 8k, 10k, 0, 0
    cb = PayForPerformance(bonus_percent=0.02, segments=["b"])
    np.testing.assert_allclose(cb.settle(ctx).amount, [0.0, 0.0, 100.0, 0.0, 0.0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cb.settle(ctx).amount, ref_p4p(cb, ctx), rtol=1e-12, atol=1e-12)


def test_p4p_thresholds():
    ctx = make_ctx(COST, MEMBERS, quality=QUALITY)
    # 5 PMPM on segment a (10 members): full 600; scale between .6 and .8: 0, 0, .5, 1, 1
    ramp = PayForPerformance(bonus_pmpm=5.0, quality_low=0.6, quality_high=0.8, segments=["a"])
    np.testing.assert_allclose(ramp.settle(ctx).amount, [0.0, 0.0, 300.0, 600.0, 600.0], rtol=1e-12)
    # all or nothing at 0.7: paid at 0.7 and above
    step = PayForPerformance(bonus_pmpm=5.0, quality_low=0.7, quality_high=0.7, segments=["a"])
    np.testing.assert_array_equal(step.settle(ctx).amount, [0.0, 0.0, 600.0, 600.0, 600.0])
    np.testing.assert_allclose(step.settle(ctx).amount, ref_p4p(step, ctx))
    # at exactly quality_low nothing, at exactly quality_high everything
    edge = make_ctx(COST[:2], MEMBERS, quality=[0.5, 0.9])
    np.testing.assert_allclose(PayForPerformance(bonus_pmpm=10.0).settle(edge).amount, [0.0, 1_800.0])


def test_p4p_quality_missing_or_bad():
    c = PayForPerformance(bonus_pmpm=10.0)
    with pytest.raises(ValueError, match="quality"):
        c.settle(make_ctx(COST, MEMBERS))
    with pytest.raises(ValueError, match="quality"):
        c.settle(make_ctx(COST, MEMBERS, quality=[0.4, 0.5, math.nan, 0.9, 1.0]))
    with pytest.raises(ValueError, match="quality"):
        c.settle(make_ctx(COST, MEMBERS, quality=[0.4, 0.5, 1.2, 0.9, 1.0]))
    with pytest.raises(ValueError, match="quality"):
        c.settle(make_ctx(COST, MEMBERS, quality=[0.4, 0.5]))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({}, ValueError, "exactly one of bonus_pmpm and bonus_percent"),
        ({"bonus_pmpm": 5.0, "bonus_percent": 0.01}, ValueError, "exactly one"),
        ({"bonus_pmpm": -1.0}, ValueError, "bonus_pmpm"),
        ({"bonus_pmpm": math.nan}, ValueError, "bonus_pmpm"),
        ({"bonus_pmpm": "5"}, TypeError, "bonus_pmpm"),
        ({"bonus_percent": -0.01}, ValueError, "bonus_percent"),
        ({"bonus_percent": 2.0}, ValueError, "bonus_percent"),
        ({"bonus_percent": math.inf}, ValueError, "bonus_percent"),
        ({"bonus_pmpm": 5.0, "quality_low": -0.1}, ValueError, "quality_low"),
        ({"bonus_pmpm": 5.0, "quality_high": 1.1}, ValueError, "quality_high"),
        ({"bonus_pmpm": 5.0, "quality_low": math.nan}, ValueError, "quality_low"),
        ({"bonus_pmpm": 5.0, "quality_low": 0.9, "quality_high": 0.5}, ValueError, "quality_high"),
        ({"bonus_pmpm": 5.0, "target": "doctor"}, ValueError, "target"),
        ({"bonus_pmpm": 5.0, "source": "Payer"}, ValueError, "source"),
        ({"bonus_pmpm": 5.0, "segments": ()}, ValueError, "segments"),
    ],
)
def test_p4p_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        PayForPerformance(**kwargs)


# ---------------------------------------------------------------------------------------------
# properties

money = st.floats(0.0, 1e6, allow_nan=False)
unit = st.floats(0.0, 1.0)


@st.composite
def p4p_case(draw):
    n = draw(st.integers(1, 8))
    cost = [[draw(money), draw(money)] for _ in range(n)]
    members = [draw(st.integers(0, 50)), draw(st.integers(1, 50))]
    quality = [draw(unit) for _ in range(n)]
    low = draw(unit)
    high = draw(st.floats(low, 1.0))
    if draw(st.booleans()):
        c = PayForPerformance(bonus_pmpm=draw(st.floats(0.0, 50.0)), quality_low=low, quality_high=high)
    else:
        c = PayForPerformance(
            bonus_percent=draw(unit),
            quality_low=low,
            quality_high=high,
            segments=draw(st.sampled_from([None, ["a"], ["b"], ["a", "b"]])),
        )
    return c, make_ctx(cost, members, quality=quality)


@settings(deadline=None, max_examples=150)
@given(case=p4p_case())
def test_p4p_matches_reference_and_is_bounded(case):
    c, ctx = case
    st_ = c.settle(ctx)
    ref = ref_p4p(c, ctx)
    np.testing.assert_allclose(st_.amount, ref, rtol=1e-9, atol=1e-9)
    full = c.full_bonus(ctx)
    assert (st_.amount >= 0).all() and (st_.amount <= full * (1 + 1e-12)).all()
    assert_conserved(st_)


@settings(deadline=None, max_examples=100)
@given(q1=unit, q2=unit, low=unit, width=st.floats(0.0, 1.0))
def test_p4p_scale_is_monotone_in_quality(q1, q2, low, width):
    high = min(low + width, 1.0)
    c = PayForPerformance(bonus_pmpm=1.0, quality_low=low, quality_high=high)
    lo, hi = sorted((q1, q2))
    s_lo, s_hi = c.scale(lo), c.scale(hi)
    assert 0.0 <= s_lo <= s_hi <= 1.0


@settings(deadline=None, max_examples=60)
@given(
    cost=st.lists(st.tuples(money, money), min_size=1, max_size=8), seg=st.sampled_from([None, ["a"], ["b"]])
)
def test_ffs_matches_reference(cost, seg):
    ctx = make_ctx([list(r) for r in cost], MEMBERS)
    c = FeeForService(segments=seg)
    st_ = c.settle(ctx)
    np.testing.assert_allclose(st_.amount, ref_ffs(c, ctx), rtol=1e-12)
    assert_conserved(st_)
