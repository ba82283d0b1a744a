"""Shared savings (MSSP-style): hand-computed settlements, an independent reference, properties, errors."""

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import vbcsim as v
from vbcsim.contracts.base import Needs
from vbcsim.contracts.fee_for_service import FeeForService
from vbcsim.contracts.shared_savings import (
    MSSP_BASIC_LEVELS,
    MSSP_ENHANCED,
    MSSP_MSR_TABLE,
    MSSP_SYMMETRIC_MSR_ELECTIONS,
    SharedSavings,
    mssp_minimum_savings_rate,
)

from .helpers import assert_conserved, make_ctx

# One segment of 1,000 members and a benchmark of 100 PMPM: B = 100 × 12 × 1,000 = 1,200,000.
PMPM = 100.0
B = 1_200_000.0


def ctx_actual(actual, quality=None, excess=None):
    """Scenarios whose actual cost (one segment, 1,000 members) is given."""
    return make_ctx([[a] for a in actual], [1_000], quality=quality, excess=excess)


# ---------------------------------------------------------------------------------------------
# an independent per-scenario reference (plain Python, scalar if/else)


def ref_shared_savings(c: SharedSavings, ctx):
    names = list(ctx.segments) if c.segments is None else list(c.segments)
    idx = [ctx.segments.index(n) for n in names]
    members = sum(int(ctx.members[g]) for g in idx)
    out = []
    for s in range(ctx.n_scenarios):
        bench = c.benchmark_pmpm * 12 * members
        if c.benchmark_update == "retrospective" and ctx.market_factor is not None:
            bench = bench * float(ctx.market_factor[s])
        actual = 0.0
        for g in idx:
            actual += float(ctx.segment_cost[s][g])
            if c.outlier_attachment is not None:
                actual -= float(ctx.excess_by_attachment[c.outlier_attachment][s][g])
        savings = bench - actual
        if c.quality_rule == "mssp":
            q = float(ctx.quality[s])
            if q >= c.quality_standard:
                rate = c.sharing_rate
            elif q >= c.alternative_standard:
                rate = c.sharing_rate * q
            else:
                rate = 0.0
        elif c.quality_gate is None:
            rate = c.sharing_rate
        else:
            q = float(ctx.quality[s])
            rate = c.sharing_rate * q if q >= c.quality_gate else 0.0
        amount = 0.0
        if savings > 0 and savings / bench >= c.minimum_savings_rate:
            base = savings if c.first_dollar else savings - c.minimum_savings_rate * bench
            amount = rate * base
            if c.savings_cap is not None and amount > c.savings_cap * bench:
                amount = c.savings_cap * bench
            amount = amount * (1.0 - c.sequestration)
        elif c.minimum_loss_rate is not None and savings < 0 and -savings / bench >= c.minimum_loss_rate:
            loss = -savings if c.first_dollar else -savings - c.minimum_loss_rate * bench
            if c.quality_scales_losses:
                floor = c.loss_sharing_floor or 0.0
                loss_rate = min(max(1.0 - rate, floor), c.loss_sharing_rate)
            else:
                loss_rate = c.loss_sharing_rate
            repay = loss_rate * loss
            limits = [] if c.loss_cap is None else [c.loss_cap * bench]
            if c.revenue_loss_cap is not None:
                limits.append(c.revenue_loss_cap * c.participant_revenue * bench)
            if limits and repay > min(limits):
                repay = min(limits)
            amount = -repay
        out.append(amount)
    return out


def check_against_reference(c, ctx):
    st_ = c.settle(ctx)
    np.testing.assert_allclose(st_.amount, ref_shared_savings(c, ctx), rtol=1e-9, atol=1e-6)
    assert_conserved(st_)
    return st_.amount


# ---------------------------------------------------------------------------------------------
# hand-computed settlements (B = 1,200,000 throughout)


def test_one_sided_around_the_msr():
    c = SharedSavings(PMPM, sharing_rate=0.5, minimum_savings_rate=0.02)
    # actual 1,140,000: savings 60,000 = 5% >= 2% -> 50% x 60,000 = 30,000
    # actual 1,188,000: savings 12,000 = 1% < 2%  -> 0
    # actual 1,176,000: savings 24,000 = 2% = MSR -> 12,000 (first dollar)
    # actual 1,260,000: losses of 5% -> one-sided: 0
    amount = check_against_reference(c, ctx_actual([1_140_000, 1_188_000, 1_176_000, 1_260_000]))
    np.testing.assert_allclose(amount, [30_000.0, 0.0, 12_000.0, 0.0])
    assert c.benchmark(ctx_actual([0.0])) == B
    assert not c.two_sided
    assert c.needs() == Needs()
    assert c.name == "shared_savings"


def test_savings_cap_binds():
    c = SharedSavings(PMPM, 0.5, 0.02, savings_cap=0.10)
    # actual 900,000: savings 300,000 (25%) -> 150,000 > cap 10% x 1.2M = 120,000 -> 120,000
    # actual 960,000: savings 240,000 (20%) -> 120,000 = cap exactly
    amount = check_against_reference(c, ctx_actual([900_000, 960_000]))
    np.testing.assert_allclose(amount, [120_000.0, 120_000.0])
    uncapped = SharedSavings(PMPM, 0.5, 0.02, savings_cap=None)
    np.testing.assert_allclose(uncapped.settle(ctx_actual([900_000])).amount, [150_000.0])


def test_first_dollar_or_beyond_the_msr():
    first = SharedSavings(PMPM, 0.5, 0.02, first_dollar=True)
    beyond = SharedSavings(PMPM, 0.5, 0.02, first_dollar=False)
    ctx = ctx_actual([1_140_000, 1_176_000, 1_188_000])
    # savings 60,000: first dollar 30,000; beyond MSR: 50% x (60,000 - 24,000) = 18,000
    # savings 24,000 (= MSR): 12,000 vs 0; savings 12,000 (< MSR): 0 both
    np.testing.assert_allclose(check_against_reference(first, ctx), [30_000.0, 12_000.0, 0.0])
    np.testing.assert_allclose(check_against_reference(beyond, ctx), [18_000.0, 0.0, 0.0])


def test_two_sided_around_the_mlr_and_loss_cap():
    c = SharedSavings(PMPM, 0.5, 0.02, minimum_loss_rate=0.02, loss_sharing_rate=0.3, loss_cap=0.04)
    # actual 1,260,000: losses 60,000 (5%) >= MLR -> repay 30% x 60,000 = 18,000
    # actual 1,212,000: losses 12,000 (1%) < MLR -> 0
    # actual 1,224,000: losses 24,000 (2%) = MLR -> repay 7,200
    # actual 1,500,000: losses 300,000 -> 90,000 > cap 4% x 1.2M = 48,000 -> 48,000
    # actual 1,140,000: savings 60,000 -> 30,000
    amount = check_against_reference(c, ctx_actual([1_260_000, 1_212_000, 1_224_000, 1_500_000, 1_140_000]))
    np.testing.assert_allclose(amount, [-18_000.0, 0.0, -7_200.0, -48_000.0, 30_000.0])
    np.testing.assert_allclose(c.shared_losses(ctx_actual([1_260_000])), [18_000.0])
    np.testing.assert_allclose(c.shared_savings(ctx_actual([1_260_000])), [0.0])
    assert c.two_sided
    # losses beyond the MLR only: 30% x (60,000 - 24,000) = 10,800
    beyond = SharedSavings(
        PMPM, 0.5, 0.02, minimum_loss_rate=0.02, loss_sharing_rate=0.3, loss_cap=None, first_dollar=False
    )
    np.testing.assert_allclose(
        check_against_reference(beyond, ctx_actual([1_260_000, 1_500_000])), [-10_800.0, -82_800.0]
    )


def test_quality_gate_below_at_and_above():
    c = SharedSavings(PMPM, 0.5, 0.02, quality_gate=0.7)
    ctx = ctx_actual([1_140_000] * 4, quality=[0.6, 0.7, 0.9, 1.0])
    # savings 60,000; q below gate: 0; q = .7: 50% x .7 x 60,000 = 21,000; .9: 27,000; 1: 30,000
    np.testing.assert_allclose(check_against_reference(c, ctx), [0.0, 21_000.0, 27_000.0, 30_000.0])
    assert c.needs() == Needs(quality=True)
    np.testing.assert_allclose(c.final_sharing_rate(ctx), [0.0, 0.35, 0.45, 0.5])


def test_quality_does_not_scale_losses_by_default():
    c = SharedSavings(PMPM, 0.5, 0.02, minimum_loss_rate=0.0, loss_sharing_rate=0.3, quality_gate=0.7)
    ctx = ctx_actual([1_260_000] * 3, quality=[0.2, 0.7, 1.0])
    np.testing.assert_allclose(check_against_reference(c, ctx), [-18_000.0] * 3)


def test_quality_scales_losses_enhanced_rule():
    # 75% max sharing, gate .4, shared loss rate 1 - final sharing rate within [40%, 75%]
    c = SharedSavings(
        PMPM,
        0.75,
        0.0,
        minimum_loss_rate=0.0,
        loss_sharing_rate=0.75,
        loss_cap=0.15,
        quality_gate=0.4,
        quality_scales_losses=True,
        loss_sharing_floor=0.40,
    )
    ctx = ctx_actual([1_260_000] * 4, quality=[0.3, 0.5, 0.8, 0.9])
    # final sharing rate: 0 (gate failed), .375, .6, .675 -> loss rate .75, .625, .40, .40 (floor)
    np.testing.assert_allclose(c.shared_loss_rate(ctx), [0.75, 0.625, 0.40, 0.40])
    # losses 60,000: repay 45,000, 37,500, 24,000, 24,000
    np.testing.assert_allclose(check_against_reference(c, ctx), [-45_000.0, -37_500.0, -24_000.0, -24_000.0])


def test_outlier_truncation():
    # segment cost 1,220,000 of which 80,000 above the 100,000 attachment: A = 1,140,000
    excess = {100_000.0: [[80_000.0], [0.0]]}
    ctx = ctx_actual([1_220_000, 1_220_000], excess=excess)
    truncated = SharedSavings(PMPM, 0.5, 0.02, outlier_attachment=100_000.0)
    plain = SharedSavings(PMPM, 0.5, 0.02)
    np.testing.assert_allclose(truncated.actual(ctx), [1_140_000.0, 1_220_000.0])
    # truncated: savings 60,000 -> 30,000; untruncated: losses -> 0 (one-sided)
    np.testing.assert_allclose(check_against_reference(truncated, ctx), [30_000.0, 0.0])
    np.testing.assert_allclose(check_against_reference(plain, ctx), [0.0, 0.0])
    assert truncated.needs() == Needs(attachments=(100_000.0,))


def test_segments_restrict_benchmark_and_cost():
    # a: 1,000 members cost 1,140,000; b: 500 members cost 900,000 (not covered)
    ctx = make_ctx([[1_140_000.0, 900_000.0]], [1_000, 500])
    c = SharedSavings(PMPM, 0.5, 0.02, segments=["a"])
    np.testing.assert_allclose(check_against_reference(c, ctx), [30_000.0])
    # both segments: B = 1,800,000, A = 2,040,000 -> losses, one-sided 0
    np.testing.assert_allclose(SharedSavings(PMPM, 0.5, 0.02).settle(ctx).amount, [0.0])


def test_target_party():
    c = SharedSavings(PMPM, 0.5, 0.02, target="enabler")
    st_ = c.settle(ctx_actual([1_140_000]))
    np.testing.assert_allclose(st_.flows["enabler"], [30_000.0])
    np.testing.assert_allclose(st_.flows["payer"], [-30_000.0])


# ---------------------------------------------------------------------------------------------
# the MSR table (42 CFR 425.604(b)) and the MSSP presets


@pytest.mark.parametrize(
    "n, msr",
    [
        (5_000, 0.039),
        (5_999, 0.036),
        (6_000, 0.036),
        (6_999, 0.034),
        (7_000, 0.034),
        (7_999, 0.032),
        (8_000, 0.032),
        (8_999, 0.031),
        (9_000, 0.031),
        (9_999, 0.030),
        (10_000, 0.030),
        (14_999, 0.027),
        (15_000, 0.027),
        (19_999, 0.025),
        (20_000, 0.025),
        (49_999, 0.022),
        (50_000, 0.022),
        (59_999, 0.020),
        (60_000, 0.020),
        (1_000_000, 0.020),
    ],
)
def test_msr_table_end_points(n, msr):
    assert mssp_minimum_savings_rate(n) == pytest.approx(msr, abs=1e-15)


def test_msr_interpolation():
    # CMS's example: 7,500 beneficiaries lie midway between 7,000 (3.4%) and 7,999 (3.2%): ~3.3%
    assert mssp_minimum_savings_rate(7_500) == pytest.approx(0.034 - 0.002 * 500 / 999, rel=1e-12)
    assert round(mssp_minimum_savings_rate(7_500), 3) == 0.033
    # 12,000: 3.0% - 0.3% x 2,000 / 4,999
    assert mssp_minimum_savings_rate(12_000) == pytest.approx(0.030 - 0.003 * 2_000 / 4_999, rel=1e-12)
    assert mssp_minimum_savings_rate(5_000.0) == 0.039  # an integral float is a count


def test_msr_table_is_monotone_and_continuous_everywhere():
    values = np.array([mssp_minimum_savings_rate(n) for n in range(5_000, 61_001)])
    assert (np.diff(values) <= 0).all()
    assert np.abs(np.diff(values)).max() < 1e-5  # no jumps between ranges
    assert values[0] == 0.039 and values[-1] == 0.020
    # the table's ranges are contiguous and each high-end MSR is the next low-end MSR
    for (_, hi1, _, m_hi), (lo2, _, m_lo, _) in pairwise(MSSP_MSR_TABLE):
        assert hi1 + 1 == lo2 and m_hi == m_lo


@settings(deadline=None, max_examples=200)
@given(n1=st.integers(5_000, 200_000), n2=st.integers(5_000, 200_000))
def test_msr_monotone_non_increasing(n1, n2):
    lo, hi = sorted((n1, n2))
    assert mssp_minimum_savings_rate(hi) <= mssp_minimum_savings_rate(lo)
    assert 0.020 <= mssp_minimum_savings_rate(hi) <= 0.039


@pytest.mark.parametrize(
    "n, exc",
    [
        (4_999, ValueError),
        (0, ValueError),
        (-5, ValueError),
        (5_000.5, TypeError),
        ("6000", TypeError),
        (True, TypeError),
    ],
)
def test_msr_bad_input(n, exc):
    with pytest.raises(exc, match="beneficiaries"):
        mssp_minimum_savings_rate(n)


def test_mssp_basic_levels():
    e = SharedSavings.mssp_basic(900.0, beneficiaries=12_000)
    assert (e.sharing_rate, e.savings_cap, e.loss_sharing_rate, e.loss_cap) == (0.50, 0.10, 0.30, 0.04)
    assert e.minimum_savings_rate == e.minimum_loss_rate == mssp_minimum_savings_rate(12_000)
    assert e.first_dollar and e.two_sided and not e.quality_scales_losses
    c = SharedSavings.mssp_basic(900.0, level="C", minimum_savings_rate=0.01)
    assert (c.minimum_savings_rate, c.minimum_loss_rate, c.loss_cap) == (0.01, 0.01, 0.01)
    d = SharedSavings.mssp_basic(900.0, None, "d", minimum_savings_rate=0.0)
    assert d.loss_cap == 0.02 and d.minimum_loss_rate == 0.0
    a = SharedSavings.mssp_basic(900.0, 5_000, level="A")
    assert (a.sharing_rate, a.savings_cap, a.two_sided, a.minimum_savings_rate) == (0.40, 0.10, False, 0.039)
    assert SharedSavings.mssp_basic(900.0, 60_000, level="B", quality_gate=0.5).quality_gate == 0.5
    assert set(MSSP_BASIC_LEVELS) == set("ABCDE")
    # today's rules by default: the MSSP quality rule, 2% sequestration, a retrospective benchmark
    assert (e.quality_rule, e.quality_standard, e.alternative_standard) == ("mssp", 0.40, 0.10)
    assert (e.sequestration, e.benchmark_update, e.participant_revenue) == (0.02, "retrospective", None)
    assert e.needs() == Needs(quality=True)
    gated = SharedSavings.mssp_basic(900.0, 60_000, level="B", quality_gate=0.5)
    assert gated.quality_rule == "linear"  # a gate asks for the pre-2021 linear rule


def test_mssp_basic_level_e_hand_computed():
    # 1,000 members, 100 PMPM -> B = 1.2M; elected MSR/MLR 2%; quality meets the standard
    c = SharedSavings.mssp_basic(PMPM, level="E", minimum_savings_rate=0.02)
    # savings 5% -> 50% x 60,000 = 30,000, less 2% sequestration: 29,400; savings 25% -> capped at
    # 10% = 120,000, less 2%: 117,600; losses 5% -> 30% x 60,000 = 18,000 (no sequestration);
    # losses 25% -> capped at 4% = 48,000
    ctx = ctx_actual([1_140_000, 900_000, 1_260_000, 1_500_000], quality=[0.9] * 4)
    amount = check_against_reference(c, ctx)
    np.testing.assert_allclose(amount, [29_400.0, 117_600.0, -18_000.0, -48_000.0], rtol=1e-15)
    # the rules of before: no quality adjustment, no sequestration, a fixed benchmark
    old = SharedSavings.mssp_basic(
        PMPM, level="E", minimum_savings_rate=0.02, quality_rule="linear", sequestration=0.0,
        benchmark_update="prospective",
    )  # fmt: skip
    amount = check_against_reference(old, ctx_actual([1_140_000, 900_000, 1_260_000, 1_500_000]))
    np.testing.assert_allclose(amount, [30_000.0, 120_000.0, -18_000.0, -48_000.0], rtol=1e-15)


def test_mssp_enhanced():
    c = SharedSavings.mssp_enhanced(PMPM, minimum_savings_rate=0.0, quality_gate=0.4)
    assert (c.sharing_rate, c.savings_cap, c.loss_cap) == (0.75, 0.20, 0.15)
    assert (c.loss_sharing_rate, c.loss_sharing_floor, c.quality_scales_losses) == (0.75, 0.40, True)
    assert MSSP_ENHANCED["loss_sharing_floor"] == 0.40
    ctx = ctx_actual([1_140_000, 600_000, 1_260_000, 1_260_000, 1_800_000], quality=[1.0, 1.0, 0.3, 0.8, 0.3])
    # savings 60,000 at q=1: 75% -> 45,000, less 2% sequestration: 44,100; savings 600,000:
    # 450,000 capped at 20% = 240,000, less 2%: 235,200
    # losses 60,000: q=.3 fails the gate -> 75% = 45,000; q=.8: 1 - .6 = 40% -> 24,000
    # losses 600,000 at 75% = 450,000, capped at 15% = 180,000
    amount = check_against_reference(c, ctx)
    np.testing.assert_allclose(amount, [44_100.0, 235_200.0, -45_000.0, -24_000.0, -180_000.0], rtol=1e-15)
    # the MSSP quality rule, standard met: 75% of savings (less 2%), 40% of losses
    plain = SharedSavings.mssp_enhanced(PMPM, 20_000)
    assert plain.minimum_savings_rate == 0.025
    ctx = ctx_actual([1_140_000, 1_260_000], quality=[0.5, 0.5])
    np.testing.assert_allclose(plain.settle(ctx).amount, [44_100.0, -24_000.0], rtol=1e-15)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: SharedSavings.mssp_basic(900.0, level="F", minimum_savings_rate=0.0), "level"),
        (lambda: SharedSavings.mssp_basic(900.0, level="A"), "beneficiaries"),
        (lambda: SharedSavings.mssp_basic(900.0, level="A", minimum_savings_rate=0.02), "beneficiaries"),
        (lambda: SharedSavings.mssp_basic(900.0, level="E"), "beneficiaries"),
        (
            lambda: SharedSavings.mssp_basic(900.0, level="E", minimum_savings_rate=0.007),
            "minimum_savings_rate",
        ),
        (lambda: SharedSavings.mssp_basic(900.0, 4_000, level="E"), "beneficiaries"),
        (lambda: SharedSavings.mssp_enhanced(900.0), "beneficiaries"),
        (lambda: SharedSavings.mssp_enhanced(900.0, minimum_savings_rate=-0.01), "minimum_savings_rate"),
        (lambda: SharedSavings.mssp_enhanced(-900.0, minimum_savings_rate=0.0), "benchmark_pmpm"),
        (lambda: SharedSavings.mssp_enhanced(900.0, minimum_savings_rate=0.0, target="bank"), "target"),
    ],
)
def test_mssp_preset_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_elections_are_the_regulatory_ones():
    assert MSSP_SYMMETRIC_MSR_ELECTIONS == (0.0, 0.005, 0.010, 0.015, 0.020)
    for rate in MSSP_SYMMETRIC_MSR_ELECTIONS:
        assert SharedSavings.mssp_enhanced(900.0, minimum_savings_rate=rate).minimum_loss_rate == rate


# ---------------------------------------------------------------------------------------------
# bad input


def ss(**kw):
    args = {"benchmark_pmpm": PMPM, "sharing_rate": 0.5, "minimum_savings_rate": 0.02}
    args.update(kw)
    return SharedSavings(**args)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"benchmark_pmpm": 0.0}, ValueError, "benchmark_pmpm"),
        ({"benchmark_pmpm": -10.0}, ValueError, "benchmark_pmpm"),
        ({"benchmark_pmpm": math.nan}, ValueError, "benchmark_pmpm"),
        ({"benchmark_pmpm": "100"}, TypeError, "benchmark_pmpm"),
        ({"sharing_rate": -0.1}, ValueError, "sharing_rate"),
        ({"sharing_rate": 1.5}, ValueError, "sharing_rate"),
        ({"sharing_rate": math.nan}, ValueError, "sharing_rate"),
        ({"minimum_savings_rate": -0.01}, ValueError, "minimum_savings_rate"),
        ({"minimum_savings_rate": 1.0}, ValueError, "minimum_savings_rate"),
        ({"minimum_savings_rate": math.nan}, ValueError, "minimum_savings_rate"),
        ({"minimum_savings_rate": None}, TypeError, "minimum_savings_rate"),
        ({"loss_sharing_rate": 0.3}, ValueError, "needs minimum_loss_rate"),
        ({"minimum_loss_rate": 0.02}, ValueError, "needs loss_sharing_rate"),
        ({"minimum_loss_rate": -0.02, "loss_sharing_rate": 0.3}, ValueError, "minimum_loss_rate"),
        ({"minimum_loss_rate": 0.02, "loss_sharing_rate": -0.3}, ValueError, "loss_sharing_rate"),
        ({"minimum_loss_rate": 0.02, "loss_sharing_rate": 1.3}, ValueError, "loss_sharing_rate"),
        ({"minimum_loss_rate": 0.02, "loss_sharing_rate": math.nan}, ValueError, "loss_sharing_rate"),
        ({"savings_cap": -0.1}, ValueError, "savings_cap"),
        ({"savings_cap": math.nan}, ValueError, "savings_cap"),
        ({"loss_cap": -0.01}, ValueError, "loss_cap"),
        ({"loss_cap": math.inf}, ValueError, "loss_cap"),
        ({"quality_gate": 1.2}, ValueError, "quality_gate"),
        ({"quality_gate": -0.2}, ValueError, "quality_gate"),
        ({"outlier_attachment": 0.0}, ValueError, "outlier_attachment"),
        ({"outlier_attachment": -1.0}, ValueError, "outlier_attachment"),
        ({"first_dollar": "yes"}, TypeError, "first_dollar"),
        ({"quality_scales_losses": 1}, TypeError, "quality_scales_losses"),
        ({"quality_scales_losses": True}, ValueError, "quality_scales_losses"),
        ({"loss_sharing_floor": 0.4}, ValueError, "loss_sharing_floor"),
        (
            {
                "minimum_loss_rate": 0.0,
                "loss_sharing_rate": 0.3,
                "quality_scales_losses": True,
                "loss_sharing_floor": 0.4,
            },
            ValueError,
            "loss_sharing_floor",
        ),
        ({"segments": []}, ValueError, "segments"),
        ({"source": "bank"}, ValueError, "source"),
        ({"target": "members"}, ValueError, "target"),
        ({"target": "payer"}, ValueError, "source and target must differ"),
    ],
)
def test_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ss(**kwargs)


def test_settlement_time_errors():
    with pytest.raises(ValueError, match="quality"):
        ss(quality_gate=0.5).settle(ctx_actual([1_000_000]))
    with pytest.raises(ValueError, match="outlier_attachment"):
        ss(outlier_attachment=50_000.0).settle(ctx_actual([1_000_000]))
    with pytest.raises(ValueError, match="unknown segment"):
        ss(segments=["z"]).settle(ctx_actual([1_000_000]))
    with pytest.raises(ValueError, match="no members"):
        ss().settle(make_ctx([[0.0]], [0]))


# ---------------------------------------------------------------------------------------------
# properties


@st.composite
def contract_and_ctx(
    draw, *, one_sided=None, with_quality=True, caps=True, outliers=True, scales=True, mssp=True
):
    two = draw(st.booleans()) if one_sided is None else not one_sided
    gate = draw(st.none() | st.floats(0.0, 1.0)) if with_quality else None
    # today's MSSP rules: the standards-based quality rule, sequestration, a revenue-based loss
    # limit and a retrospective benchmark update (market factors drawn per scenario)
    rule = "mssp" if with_quality and mssp and gate is None and draw(st.booleans()) else "linear"
    standards = sorted(draw(st.floats(0.0, 1.0)) for _ in range(2)) if rule == "mssp" else [None, None]
    revenue = two and caps and mssp and draw(st.booleans())
    retro = mssp and draw(st.booleans())
    scales_losses = two and scales and draw(st.booleans())
    loss_rate = draw(st.floats(0.0, 1.0)) if two else None
    att = draw(st.sampled_from([None, 5_000.0])) if outliers else None
    kw = dict(
        benchmark_pmpm=draw(st.floats(10.0, 2_000.0)),
        sharing_rate=draw(st.floats(0.0, 1.0)),
        minimum_savings_rate=draw(st.floats(0.0, 0.1)),
        minimum_loss_rate=draw(st.floats(0.0, 0.1)) if two else None,
        loss_sharing_rate=loss_rate,
        savings_cap=draw(st.none() | st.floats(0.0, 0.5)) if caps else None,
        loss_cap=draw(st.none() | st.floats(0.0, 0.5)) if caps else None,
        quality_gate=gate,
        outlier_attachment=att,
        first_dollar=draw(st.booleans()),
        segments=draw(st.sampled_from([None, ["a"], ["b"]])),
        quality_scales_losses=scales_losses,
        loss_sharing_floor=draw(st.floats(0.0, loss_rate)) if scales_losses and draw(st.booleans()) else None,
        quality_rule=rule,
        alternative_standard=standards[0],
        quality_standard=standards[1],
        participant_revenue=draw(st.floats(0.05, 3.0)) if revenue else None,
        revenue_loss_cap=draw(st.floats(0.0, 0.1)) if revenue else None,
        sequestration=draw(st.sampled_from([0.0, 0.02])) if mssp else 0.0,
        benchmark_update="retrospective" if retro else "prospective",
    )
    cap = kw["savings_cap"]
    if kw["first_dollar"] and cap and kw["minimum_savings_rate"] >= cap:
        # sharing_rate × MSR ≥ cap is refused (test_contradictory_terms.py): keep MSR below the cap so
        # that any sharing rate in [0, 1] (tests replace it) stays coherent
        kw["minimum_savings_rate"] = 0.5 * cap
    n = draw(st.integers(2, 12))
    members = [draw(st.integers(1, 30)), draw(st.integers(1, 30))]
    pmpm = kw["benchmark_pmpm"]
    # per-member annual cost around the benchmark (0x to 2x), so savings and losses both occur
    cost = [[draw(st.floats(0.0, 2.0)) * pmpm * 12 * m for m in members] for _ in range(n)]
    excess = [[draw(st.floats(0.0, 1.0)) * c for c in row] for row in cost]
    quality = [draw(st.floats(0.0, 1.0)) for _ in range(n)]
    ctx = make_ctx(cost, members, quality=quality, excess={5_000.0: excess})
    if mssp and draw(st.booleans()):
        ctx.market_factor = np.array([draw(st.floats(0.7, 1.4)) for _ in range(n)])
    return kw, ctx


@settings(deadline=None, max_examples=200)
@given(case=contract_and_ctx())
def test_matches_reference(case):
    kw, ctx = case
    c = SharedSavings(**kw)
    amount = check_against_reference(c, ctx)
    b = c.updated_benchmark(ctx)
    if c.savings_cap is not None:
        assert (amount <= c.savings_cap * b * (1 + 1e-12)).all()
    if c.loss_limit is not None and c.two_sided:
        assert (amount >= -c.loss_limit * b * (1 + 1e-12)).all()


@settings(deadline=None, max_examples=150)
@given(case=contract_and_ctx(one_sided=True))
def test_one_sided_never_charges_the_provider(case):
    kw, ctx = case
    st_ = SharedSavings(**kw).settle(ctx)
    assert (st_.amount >= 0).all()
    assert (st_.flows["provider"] >= 0).all()
    assert_conserved(st_)


@settings(deadline=None, max_examples=150)
@given(case=contract_and_ctx(), r1=st.floats(0.0, 1.0), r2=st.floats(0.0, 1.0))
def test_settlement_non_decreasing_in_sharing_rate(case, r1, r2):
    kw, ctx = case
    lo, hi = sorted((r1, r2))
    a_lo = SharedSavings(**{**kw, "sharing_rate": lo}).settle(ctx).amount
    a_hi = SharedSavings(**{**kw, "sharing_rate": hi}).settle(ctx).amount
    scale = max(1.0, float(np.abs(a_hi).max()), float(np.abs(a_lo).max()))
    assert (a_hi >= a_lo - 1e-9 * scale).all()
    # where there are savings, a higher sharing rate pays at least as much
    savings = SharedSavings(**kw).savings(ctx) > 0
    assert (a_hi[savings] >= a_lo[savings] - 1e-9 * scale).all()


def risk_share(flow, cost):
    """The provider's risk share −Cov(flow, C) / Var(C) (population moments)."""
    flow, cost = np.asarray(flow, dtype=float), np.asarray(cost, dtype=float)
    dc = cost - cost.mean()
    return -float(np.mean((flow - flow.mean()) * dc)) / float(np.mean(dc * dc))


@settings(deadline=None, max_examples=150)
@given(
    case=contract_and_ctx(with_quality=False, caps=False, outliers=False, scales=False, mssp=False),
    r1=st.floats(0.0, 1.0),
    r2=st.floats(0.0, 1.0),
)
def test_risk_share_increases_with_sharing_rate(case, r1, r2):
    # Without a savings cap, a quality gate or outlier truncation, raising the sharing rate
    # adds (r2 − r1) × h(C) to the provider's flow, with h non-increasing in C; by Chebyshev's
    # sum inequality Cov(h(C), C) ≤ 0, so the risk share cannot fall.  (A binding cap can
    # make it fall: more scenarios hit the cap, which is independent of C.)
    kw, ctx = case
    c = SharedSavings(**kw)
    cost = ctx.cost(c.segments)
    assume(np.ptp(cost) > 1e-6 * max(1.0, float(np.abs(cost).max())))
    lo, hi = sorted((r1, r2))
    rs_lo = risk_share(SharedSavings(**{**kw, "sharing_rate": lo}).settle(ctx).flows["provider"], cost)
    rs_hi = risk_share(SharedSavings(**{**kw, "sharing_rate": hi}).settle(ctx).flows["provider"], cost)
    assert rs_hi >= rs_lo - 1e-9


def test_risk_share_strictly_increases_in_a_typical_book():
    rng = np.random.default_rng(3)
    cost = B * rng.uniform(0.8, 1.2, 400)
    ctx = ctx_actual(cost)
    shares = [
        risk_share(SharedSavings(PMPM, r, 0.02, savings_cap=None).settle(ctx).flows["provider"], cost)
        for r in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    assert shares[0] == 0.0
    assert all(b > a for a, b in pairwise(shares))
    # two-sided adds risk: at 50%/30% the provider carries more than one-sided at 50%
    two = SharedSavings(
        PMPM, 0.5, 0.02, minimum_loss_rate=0.02, loss_sharing_rate=0.3, savings_cap=None, loss_cap=None
    )
    assert risk_share(two.settle(ctx).flows["provider"], cost) > shares[2]


# ---------------------------------------------------------------------------------------------
# through the engine


def test_in_the_engine():
    pop = v.Population(
        [
            v.Segment("a", 300, v.Hurdle(0.8, v.Lognormal.from_mean_cv(5_000.0, 2.5))),
            v.Segment("b", 40, v.Gamma.from_mean_cv(30_000.0, 0.6)),
        ]
    )
    pmpm = pop.expected_cost() / pop.members / 12
    ss_ = SharedSavings(pmpm, 0.5, 0.02, outlier_attachment=50_000.0, quality_gate=0.6)
    enh = SharedSavings.mssp_enhanced(pmpm, minimum_savings_rate=0.0)  # MSSP quality rule: needs quality
    ds = v.simulate(pop, {"m": [FeeForService(), ss_, enh]}, n_scenarios=60, seed=11)
    settle = ds.settlement.sel(model="m")
    np.testing.assert_allclose(
        settle.sel(contract="fee_for_service"), ds.medical_cost.sel(model="m"), rtol=1e-12
    )
    ss_amount = settle.sel(contract="shared_savings").values
    assert (ss_amount >= 0).all()
    assert (ss_amount[ds.quality.values < 0.6] == 0).all()
    # the ENHANCED settlement depends on cost and quality (no scenario risk: no benchmark update)
    c = ds.medical_cost.sel(model="m").values
    ctx = make_ctx(c[:, None], [pop.members], quality=ds.quality.values)
    np.testing.assert_allclose(
        settle.sel(contract="shared_savings_2").values, enh.settle(ctx).amount, rtol=1e-9
    )
