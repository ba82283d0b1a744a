"""Risk corridors (and the ACO REACH presets): hand-computed settlements, a reference, properties, errors."""

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbcsim.contracts.base import Needs
from vbcsim.contracts.risk_corridor import ACO_REACH_GLOBAL_BANDS, ACO_REACH_PROFESSIONAL_BANDS, RiskCorridor

from .helpers import assert_conserved, make_ctx

INF = math.inf


# One segment of 1,000 members and a target of 100 PMPM: B = 1,200,000.
PMPM = 100.0
B = 1_200_000.0


def ctx_actual(actual):
    return make_ctx([[a] for a in actual], [1_000])


def ref_corridor(c: RiskCorridor, ctx):
    """Per scenario: walk the bands, taking each band's slice of |S| at its share."""
    names = list(ctx.segments) if c.segments is None else list(c.segments)
    idx = [ctx.segments.index(n) for n in names]
    bench = c.benchmark_pmpm * 12 * sum(int(ctx.members[g]) for g in idx)
    out = []
    for s in range(ctx.n_scenarios):
        gap = bench - sum(float(ctx.segment_cost[s][g]) for g in idx)
        remaining = abs(gap)
        kept = 0.0
        for lower, upper, share in c.bands:
            if remaining <= 0:
                break
            width = (upper - lower) * bench
            piece = remaining if width >= remaining else width
            kept += share * piece
            remaining -= piece
        if gap > 0:
            out.append(kept)
        elif gap < 0:
            out.append(-kept)
        else:
            out.append(0.0)
    return out


def check(c, ctx):
    st_ = c.settle(ctx)
    np.testing.assert_allclose(st_.amount, ref_corridor(c, ctx), rtol=1e-9, atol=1e-6)
    assert_conserved(st_)
    return st_.amount


# ---------------------------------------------------------------------------------------------
# hand-computed settlements


def test_reach_global_across_bands():
    c = RiskCorridor.reach_global(PMPM)
    actual = [1_140_000, 840_000, 720_000, 480_000, 1_560_000, 1_200_000, 900_000]
    # S = 60k (5%): all in band 1 at 100%                        -> 60,000
    # S = 360k (30%): 300k x 1 + 60k x .5                          -> 330,000
    # S = 480k (40%): 300k + 120k x .5 + 60k x .25                 -> 375,000
    # S = 720k (60%): 300k + 60k + 180k x .25 + 120k x .1           -> 417,000
    # S = −360k: losses mirror savings                             -> −330,000
    # S = 0                                                        -> 0
    # S = 300k (25%, a band edge): 300k x 1                        -> 300,000
    np.testing.assert_allclose(
        check(c, ctx_actual(actual)), [60_000.0, 330_000.0, 375_000.0, 417_000.0, -330_000.0, 0.0, 300_000.0]
    )
    assert c.bands == ACO_REACH_GLOBAL_BANDS
    assert c.name == "risk_corridor"
    assert c.needs() == Needs()


def test_reach_professional_across_bands():
    c = RiskCorridor.reach_professional(PMPM)
    # S = 60k (5%): 50% -> 30,000
    # S = 150k (12.5%): 60k x .5 + 60k x .35 + 30k x .15 = 30,000 + 21,000 + 4,500 -> 55,500
    # S = −240k (20%): −(30,000 + 21,000 + 60k x .15 + 60k x .05) = −(30,000 + 21,000 + 9,000 + 3,000)
    np.testing.assert_allclose(
        check(c, ctx_actual([1_140_000, 1_050_000, 1_440_000])), [30_000.0, 55_500.0, -63_000.0]
    )
    assert c.bands == ACO_REACH_PROFESSIONAL_BANDS


def test_custom_bands_with_a_dead_zone():
    c = RiskCorridor(PMPM, [(0.0, 0.02, 0.0), (0.02, 0.10, 0.5), (0.10, INF, 0.2)])
    # S = 60k (5%): 0 on the first 24k, 50% of the next 36k -> 18,000
    # S = −12k (1%): inside the dead zone -> 0
    # S = 240k (20%): 50% x 96k + 20% x 120k = 48,000 + 24,000 -> 72,000
    np.testing.assert_allclose(
        check(c, ctx_actual([1_140_000, 1_212_000, 960_000])), [18_000.0, 0.0, 72_000.0]
    )


def test_segments_and_parties():
    # a: 1,000 members cost 1,140,000 (S = 60k); b: 500 members cost 900,000 (not covered)
    ctx = make_ctx([[1_140_000.0, 900_000.0]], [1_000, 500])
    c = RiskCorridor.reach_professional(PMPM, segments=["a"], target="enabler")
    st_ = c.settle(ctx)
    np.testing.assert_allclose(st_.amount, [30_000.0])
    np.testing.assert_allclose(st_.flows["enabler"], [30_000.0])
    np.testing.assert_allclose(st_.flows["payer"], [-30_000.0])
    # both segments: B = 1.8M, C = 2.04M, losses 240k (13.33%), bands of 90k:
    # −(90k x .5 + 90k x .35 + 60k x .15) = −(45,000 + 31,500 + 9,000)
    np.testing.assert_allclose(check(RiskCorridor.reach_professional(PMPM), ctx), [-85_500.0])


def test_bands_accept_lists_and_normalise_to_floats():
    c = RiskCorridor(PMPM, [[0, 1, 1], [1, INF, 0]])
    assert c.bands == ((0.0, 1.0, 1.0), (1.0, INF, 0.0))
    assert all(isinstance(x, float) for band in c.bands for x in band)


# ---------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "bands, exc, match",
    [
        ([], ValueError, "must not be empty"),
        ("bands", TypeError, "bands"),
        (5, TypeError, "bands"),
        ([(0.0, INF)], TypeError, r"bands\[0\]"),
        ([(0.0, INF, "half")], TypeError, r"bands\[0\]"),
        ([(0.05, INF, 0.5)], ValueError, "start at 0"),
        ([(0.0, 0.1, 1.0), (0.2, INF, 0.5)], ValueError, "contiguous"),
        ([(0.0, 0.2, 1.0), (0.1, INF, 0.5)], ValueError, "contiguous"),
        ([(0.0, 0.1, 1.0), (0.1, 0.5, 0.5)], ValueError, "unbounded"),
        ([(0.0, 0.0, 1.0), (0.0, INF, 0.5)], ValueError, r"bands\[0\] upper"),
        ([(0.0, INF, 1.5)], ValueError, r"bands\[0\] provider_share"),
        ([(0.0, INF, -0.1)], ValueError, r"bands\[0\] provider_share"),
        ([(0.0, 0.1, 1.0), (0.1, INF, math.nan)], ValueError, r"bands\[1\] provider_share"),
        ([(math.nan, INF, 1.0)], ValueError, r"bands\[0\] lower"),
        ([(-0.1, INF, 1.0)], ValueError, r"bands\[0\] lower"),
        ([(0.0, math.nan, 1.0)], ValueError, r"bands\[0\] upper"),
    ],
)
def test_bad_bands(bands, exc, match):
    with pytest.raises(exc, match=match):
        RiskCorridor(PMPM, bands)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"benchmark_pmpm": 0.0}, ValueError, "benchmark_pmpm"),
        ({"benchmark_pmpm": -5.0}, ValueError, "benchmark_pmpm"),
        ({"benchmark_pmpm": math.nan}, ValueError, "benchmark_pmpm"),
        ({"source": "bank"}, ValueError, "source"),
        ({"target": "members"}, ValueError, "target"),
        ({"target": "payer"}, ValueError, "source and target must differ"),
        ({"segments": []}, ValueError, "segments"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = {"benchmark_pmpm": PMPM, "bands": ACO_REACH_GLOBAL_BANDS}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        RiskCorridor(**args)


def test_settlement_time_errors():
    with pytest.raises(ValueError, match="unknown segment"):
        RiskCorridor.reach_global(PMPM, segments=["z"]).settle(ctx_actual([1.0]))
    with pytest.raises(ValueError, match="no members"):
        RiskCorridor.reach_global(PMPM).settle(make_ctx([[0.0]], [0]))


# ---------------------------------------------------------------------------------------------
# properties


@st.composite
def bands_strategy(draw):
    cuts = sorted(set(draw(st.lists(st.floats(0.001, 1.0), min_size=0, max_size=4))))
    edges = [0.0, *cuts, INF]
    return tuple((lo, hi, draw(st.floats(0.0, 1.0))) for lo, hi in pairwise(edges))


@st.composite
def corridor_case(draw):
    c = RiskCorridor(
        draw(st.floats(10.0, 2_000.0)),
        draw(bands_strategy()),
        segments=draw(st.sampled_from([None, ["a"], ["b"]])),
    )
    members = [draw(st.integers(1, 30)), draw(st.integers(1, 30))]
    n = draw(st.integers(1, 10))
    cost = [[draw(st.floats(0.0, 3.0)) * c.benchmark_pmpm * 12 * m for m in members] for _ in range(n)]
    return c, make_ctx(cost, members)


@settings(deadline=None, max_examples=200)
@given(case=corridor_case())
def test_matches_reference_and_is_bounded(case):
    c, ctx = case
    amount = check(c, ctx)
    s = c.savings(ctx)
    scale = max(1.0, float(np.abs(s).max()))
    # the provider never keeps more than the whole gap, and always on the gap's side
    assert (np.abs(amount) <= np.abs(s) + 1e-9 * scale).all()
    assert (amount * s >= -1e-9 * scale * scale).all()


@settings(deadline=None, max_examples=150)
@given(bands=bands_strategy(), gaps=st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=10))
def test_symmetric_for_savings_and_losses(bands, gaps):
    c = RiskCorridor(PMPM, bands)
    gain = c.settle(ctx_actual([B * (1 - g) for g in gaps])).amount
    loss = c.settle(ctx_actual([B * (1 + g) for g in gaps])).amount
    np.testing.assert_allclose(gain, -loss, rtol=1e-9, atol=1e-6)


@settings(deadline=None, max_examples=150)
@given(bands=bands_strategy(), costs=st.lists(st.floats(0.0, 3.0 * B), min_size=2, max_size=10))
def test_non_increasing_in_cost(bands, costs):
    c = RiskCorridor(PMPM, bands)
    costs = sorted(costs)
    amount = c.settle(ctx_actual(costs)).amount
    assert (np.diff(amount) <= 1e-9 * B).all()


def test_continuous_at_band_edges():
    c = RiskCorridor.reach_global(PMPM)
    for edge in (0.25, 0.35, 0.50):
        eps = 1e-6 * B
        left, mid, right = c.settle(
            ctx_actual([B * (1 - edge) + eps, B * (1 - edge), B * (1 - edge) - eps])
        ).amount
        assert abs(left - mid) <= eps and abs(right - mid) <= eps
