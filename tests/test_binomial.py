"""The engine's binomial sampler and the count-first member loop of ``segment_block``.

``segment_block`` draws, per scenario, how many of a hurdle segment's members have any
cost (Binomial(members, p)), then only those members' costs.  The sampler is checked bit
for bit against the pure-Python transcription in ``tests/naive.py`` and in distribution
against the exact binomial; the block kernel is checked against ``segment_block_ref``.
"""

import math

import numpy as np
import pytest
from naive import XoroshiroRef, block_state_ref, segment_block_ref
from scipy import stats

import vbcsim
from vbcsim.engine import _kernels as K
from vbcsim.engine.driver import encode

KEY0, KEY1 = np.uint64(0x1234_5678_9ABC_DEF0), np.uint64(0x0FED_CBA9_8765_4321)


@pytest.mark.parametrize("n, p", [(0, 0.5), (5, 0.3), (16, 0.85), (17, 0.85), (1_000, 0.01), (100_000, 0.85)])
@pytest.mark.kernel
def test_binomial_bit_for_bit(n, p):
    got = K.sample_binomials(n, p, 50, KEY0, KEY1, 7, 1, 2)
    g = XoroshiroRef(*block_state_ref(int(KEY0), int(KEY1), 7, 1, 2))
    want = [g.binomial(n, p) for _ in range(50)]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n, p", [(12, 0.4), (40, 0.3), (200, 0.85), (1_000, 0.02)])
def test_binomial_chi_square(n, p):
    draws = 40_000
    x = K.sample_binomials(n, p, draws, KEY0, KEY1, 9, n, 0)
    # cells with expected count >= 20; the tails pooled into the end cells
    lo, hi = (int(v) for v in stats.binom.ppf([1e-3, 1 - 1e-3], n, p))
    edges = np.arange(lo, hi + 1)
    observed = np.array([(x <= lo).sum()] + [(x == k).sum() for k in edges[1:-1]] + [(x >= hi).sum()])
    expected = draws * np.concatenate(
        [[stats.binom.cdf(lo, n, p)], stats.binom.pmf(edges[1:-1], n, p), [stats.binom.sf(hi - 1, n, p)]]
    )
    chi2 = ((observed - expected) ** 2 / expected).sum()
    # a false alarm with probability 1e-4 per test
    assert chi2 < stats.chi2.ppf(1 - 1e-4, len(expected) - 1)


def test_binomial_large_n_moments():
    n, p, draws = 100_000, 0.85, 20_000
    x = K.sample_binomials(n, p, draws, KEY0, KEY1, 11, 0, 0).astype(float)
    var = n * p * (1 - p)
    # mean within 4 standard errors; variance within 4 (normal-theory) standard errors
    assert abs(x.mean() - n * p) < 4 * math.sqrt(var / draws)
    assert abs(x.var(ddof=1) / var - 1) < 4 * math.sqrt(2 / (draws - 1))
    assert x.min() >= 0 and x.max() <= n


@pytest.mark.kernel
def test_binomial_edges():
    assert (K.sample_binomials(1_000, 1.0, 20, KEY0, KEY1, 1, 0, 0) == 1_000).all()
    assert (K.sample_binomials(1_000, 0.0, 20, KEY0, KEY1, 1, 0, 0) == 0).all()
    assert (K.sample_binomials(0, 0.3, 20, KEY0, KEY1, 1, 0, 0) == 0).all()


@pytest.mark.kernel
@pytest.mark.parametrize(
    "dist",
    [
        vbcsim.Hurdle(0.8, vbcsim.Lognormal(7.0, 1.5)),
        vbcsim.Lognormal(6.0, 1.0),
        vbcsim.Hurdle(0.3, vbcsim.Compound(vbcsim.Poisson(2.0), vbcsim.Gamma(2.0, 500.0))),
        # spliced on a lognormal body: the fast path's tail members and body rejection
        vbcsim.Hurdle(
            0.9, vbcsim.Spliced(vbcsim.Lognormal(8.0, 1.7), vbcsim.Pareto(2.5, 20_000.0), 20_000.0)
        ),
        vbcsim.defaults.provider_panel(3).segments[2].cost,
        # a lognormal whose draws could leave fast_exp's range takes the general path
        vbcsim.Lognormal(650.0, 3.6),
    ],
)
def test_segment_block_matches_reference(dist):
    factors = np.array([[1.0, 0.95], [1.1, 1.0], [0.9, 0.8]])
    attachments = np.array([[5_000.0, np.inf], [2_000.0, 8_000.0]])
    if dist.mean() > 1e100:
        attachments = attachments * 1e280
    cost = np.zeros((3, 2))
    excess = np.zeros((3, 2, 2))
    K.segment_block(encode(dist), 60, factors, attachments, KEY0, KEY1, 3, 4, cost, excess)
    want_cost, want_excess = segment_block_ref(dist, 60, factors, attachments, KEY0, KEY1, 3, 4)
    np.testing.assert_allclose(cost, want_cost, rtol=1e-12)
    np.testing.assert_allclose(excess, want_excess, rtol=1e-12, atol=1e-9)
    # the test hook draws the same members
    x = K.sample_block_members(encode(dist), 60, 3, KEY0, KEY1, 3, 4)
    np.testing.assert_allclose(x.sum(axis=1)[:, None] * factors, want_cost, rtol=1e-12)


@pytest.mark.kernel
def test_tiny_comparison_end_to_end():
    # the whole path (driver, blocks, every partnership model's settlement) at a size the
    # kernel job can run with NUMBA_DISABLE_JIT=1
    pop = vbcsim.defaults.provider_panel(200)
    ds = vbcsim.compare(pop, n_scenarios=12, seed=3, threads=2)
    models = vbcsim.partnership_models(pop)
    for m, arr in enumerate(models.values()):
        fixed = (arr.admin_pmpm + arr.care_management_pmpm) * 12 * pop.members
        own = arr.delivery_ratio * arr.delivered_share * ds.medical_cost.values[:, m]
        expect = ds.premium.values[m] - own - fixed - ds.outside_care.values[:, m]
        expect = expect - ds.rebate.values[:, m]
        np.testing.assert_allclose(ds.net.values[:, m].sum(axis=1), expect, rtol=0, atol=1e-6)
