"""The vectorised lognormal fast path (``vbcsim.engine._vector``) against exact values.

``segment_block_vector`` draws from different streams than ``segment_block``, so
it is checked in distribution, not bit for bit:

* per-scenario totals: the mean of Σ X and of Σ (X − a)+ against members ×
  ``dist.mean()`` and members × ``dist.stop_loss(a)`` (views with factors, several
  attachments, a spliced severity, a hurdle);
* member draws (the ``sample_vector_members`` hook): KS and chi-square against the
  distribution's cdf, and the frequency of the normals beyond the ziggurat's base
  strip (|z| > r, drawn only by the fix-up path);
* determinism for a seed (whatever the order and thread of the blocks) and the lanes'
  streams distinct from each other and from every other stream of the block.

Tolerances as in test_engine.py: means within 4 standard errors (SE from the sample),
goodness-of-fit p-values above 1e-4.  Seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import special, stats

import vbcsim
from vbcsim.engine import _kernels as K
from vbcsim.engine import _vector as V
from vbcsim.engine import driver
from vbcsim.engine.rng import ZIGGURAT_R, block_state, root_key

Z_TOL = 4.0
P_MIN = 1e-4

STANDARD = vbcsim.Hurdle(0.8, vbcsim.Lognormal.from_mean_cv(6_000.0, 3.0))
SPLICED = vbcsim.Hurdle(
    0.7, vbcsim.Spliced(vbcsim.Lognormal(7.5, 1.4), vbcsim.Pareto(2.5, 60_000.0), 60_000.0, 0.02)
)
# a body with little mass below the threshold: most candidates are discarded
SPLICED_LOW = vbcsim.Spliced(vbcsim.Lognormal(8.0, 2.0), vbcsim.Lognormal(9.0, 1.0), 5_000.0, 0.3)


def run(dist, members, scenarios, factors_row, attachments, *, seed=3, threads=1, order=None):
    """The vector kernel over a run's blocks (the driver's layout): cost[S, V], excess[S, V, K]."""
    prm = driver.encode(dist)
    factors = np.tile(np.asarray(factors_row, dtype=float), (scenarios, 1))
    att = np.asarray(attachments, dtype=float)
    key0, key1 = root_key(seed)
    cost = np.zeros((scenarios, att.shape[0]))
    excess = np.zeros((scenarios, att.shape[0], att.shape[1]))
    blocks = driver.block_layout([members], scenarios)

    def one(b):
        rows = slice(b.start, b.stop)
        V.segment_block_vector(
            prm, members, factors[rows], att, key0, key1, b.segment, b.index, cost[rows], excess[rows]
        )

    blocks = blocks if order is None else [blocks[i] for i in order(len(blocks))]
    if threads == 1:
        for b in blocks:
            one(b)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, blocks))
    return cost, excess


def z_score(x, exact):
    return (x.mean() - exact) / (x.std(ddof=1) / np.sqrt(x.size))


def test_supports_the_lognormal_fast_path_only():
    assert V.supports(driver.encode(STANDARD))
    assert V.supports(driver.encode(SPLICED))
    assert V.supports(driver.encode(vbcsim.Lognormal(7.0, 1.5)))
    assert not V.supports(driver.encode(vbcsim.Gamma(2.0, 100.0)))
    assert not V.supports(driver.encode(vbcsim.Compound(vbcsim.Poisson(1.0), vbcsim.Lognormal(7.0, 1.0))))
    assert not V.supports(driver.encode(vbcsim.Spliced(vbcsim.Gamma(2.0, 1e3), vbcsim.Pareto(2.5, 1e4), 1e4)))


@pytest.mark.parametrize(
    ("dist", "members", "factors_row", "attachments"),
    [
        pytest.param(STANDARD, 20_000, [1.0], [[50_000.0]], id="standard"),
        pytest.param(
            vbcsim.Lognormal.from_mean_cv(6_000.0, 3.0),
            5_000,
            [1.0, 1.3],
            [[20_000.0, 50_000.0], [10_000.0, 100_000.0]],
            id="no-hurdle-two-views",
        ),
        pytest.param(
            SPLICED, 20_000, [1.0, 0.9], [[50_000.0, 150_000.0], [40_000.0, 80_000.0]], id="spliced"
        ),
        pytest.param(SPLICED_LOW, 5_000, [1.0], [[1_000.0, 20_000.0]], id="spliced-low-threshold"),
        pytest.param(vbcsim.Hurdle(0.01, vbcsim.Lognormal(8.0, 1.0)), 3_000, [1.0], [[5_000.0]], id="sparse"),
    ],
)
def test_totals_against_exact_mean_and_stop_loss(dist, members, factors_row, attachments):
    scenarios = 400
    cost, excess = run(dist, members, scenarios, factors_row, attachments)
    for v, f in enumerate(factors_row):
        assert abs(z_score(cost[:, v], members * f * dist.mean())) < Z_TOL
        for k, a in enumerate(attachments[v]):
            # (f X - a)+ = f (X - a / f)+
            assert abs(z_score(excess[:, v, k], members * f * float(dist.stop_loss(a / f)))) < Z_TOL


def test_infinite_attachment_and_zero_members():
    cost, excess = run(STANDARD, 1_000, 3, [1.0], [[np.inf]])
    assert np.all(excess == 0.0) and np.all(cost > 0.0)
    key0, key1 = root_key(1)
    cost, excess = np.ones((3, 1)), np.ones((3, 1, 1))
    V.segment_block_vector(
        driver.encode(STANDARD), 0, np.ones((3, 1)), np.full((1, 1), 10.0), key0, key1, 0, 0, cost, excess
    )
    assert np.all(cost == 0.0) and np.all(excess == 0.0)


def _members(dist, members, n_scen, chunk=0):
    key0, key1 = root_key(11)
    return V.sample_vector_members(driver.encode(dist), members, n_scen, key0, key1, 0, chunk)


def test_member_draws_against_cdf():
    """2 million lognormal members: KS and 100-bin chi-square on the normals, and the base strip's tail."""
    dist = vbcsim.Lognormal(7.6, 1.5)
    x, totals = _members(dist, 100_000, 20)
    assert x.size == 2_000_000
    # the hook's members are those the totals add up
    np.testing.assert_allclose(x.reshape(20, -1).sum(axis=1), totals, rtol=1e-10)
    assert stats.kstest(x, dist.cdf).pvalue > P_MIN
    z = (np.log(x) - dist.mu) / dist.sigma
    edges = special.ndtri(np.linspace(0.0, 1.0, 101))
    counts = np.histogram(z, edges)[0]
    assert stats.chisquare(counts).pvalue > P_MIN
    # |z| > r only comes from the fix-ups of the base strip (Marsaglia's tail algorithm)
    p_tail = 2.0 * special.ndtr(-ZIGGURAT_R)
    n = z.size
    assert (
        abs((np.count_nonzero(np.abs(z) > ZIGGURAT_R) - n * p_tail) / np.sqrt(n * p_tail * (1 - p_tail)))
        < 4.5
    )


def test_large_scenario_resolves_a_full_queue():
    """400,000 members in one scenario: about 6,000 fast-path rejections, more than the queue holds."""
    dist = vbcsim.Lognormal(7.6, 1.5)
    x, totals = _members(dist, 400_000, 1, chunk=3)
    assert x.size == 400_000 and 400_000 * 0.012 > V.QUEUE
    np.testing.assert_allclose(x.sum(), totals[0], rtol=1e-10)
    assert stats.kstest(x, dist.cdf).pvalue > P_MIN


def test_spliced_body_draws_against_conditioned_cdf():
    """Body members of a spliced severity: the body conditioned on X ≤ threshold."""
    body, t = SPLICED_LOW.body, SPLICED_LOW.threshold
    x, _ = _members(SPLICED_LOW, 20_000, 10)
    assert x.max() <= t
    # 200,000 members, of which about 30% in the tail (not traced)
    assert abs(x.size - 0.7 * 200_000) < 4.5 * np.sqrt(200_000 * 0.21)
    fb = float(body.cdf(t))
    assert stats.kstest(x, lambda v: np.minimum(body.cdf(v) / fb, 1.0)).pvalue > P_MIN


def test_fixups_complete_the_normal_law():
    """Candidates the fast path rejects, queued and resolved by ``_resolve``, complete N(0, 1).

    Random 64-bit candidates: those the fast path accepts give z directly; the
    rejected ones (about 1.5%) go through the wedge test or the base strip's tail,
    and the ones failing the wedge test are discarded (the ziggurat's restart).  What
    is kept must be exactly N(0, 1): a KS test, and one on |z| > 2.5, the layers
    where the wedges weigh most, so that a wrong wedge test or tail shows at once.
    """
    rng = np.random.default_rng(5)
    r = rng.integers(0, np.iinfo(np.int64).max, 3_000_000, dtype=np.int64).astype(np.uint64)
    r = r * np.uint64(2) + rng.integers(0, 2, r.size).astype(np.uint64)
    idx = (r & np.uint64(0xFF)).astype(np.intp)
    rabs = ((r >> np.uint64(9)) & np.uint64(0x000FFFFFFFFFFFFF)).astype(np.int64)
    fast = rabs < V.ZIG_K[idx]
    z_fast = rabs[fast] * V.ZIG_W[idx[fast]] * np.where((r[fast] >> np.uint64(8)) & np.uint64(1), -1.0, 1.0)
    queue = r[~fast]
    ubuf, xbuf = np.empty(queue.size), np.empty(queue.size)
    s0, s1 = block_state(1, 2, V.STREAM_SCALAR, 0, 0)
    got, *_ = V._resolve(
        queue, queue.size, ubuf, xbuf, np.uint64(s0), np.uint64(s1), 0.0, 1.0, np.inf, np.empty(0), 0
    )
    assert got == np.count_nonzero(xbuf) and 0.4 < got / queue.size < 0.7  # the wedge test keeps about 55%
    z = np.concatenate([z_fast, np.log(xbuf[xbuf > 0.0])])
    assert stats.kstest(z, "norm").pvalue > P_MIN
    zb = np.abs(z[np.abs(z) > 2.5])
    p_big = 2.0 * special.ndtr(-2.5)
    assert stats.kstest(zb, lambda v: 1.0 - 2.0 * special.ndtr(-v) / p_big).pvalue > P_MIN


def test_deterministic_whatever_the_threads_and_block_order():
    args = (STANDARD, 3_000, 700, [1.0, 1.2], [[5_000.0, 50_000.0], [20_000.0, np.inf]])
    first = run(*args)
    again = run(*args, threads=2, order=lambda n: list(range(n))[::-1])
    assert first[0].shape == (700, 2) and len(driver.block_layout([3_000], 700)) > 1
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    other = run(*args, seed=4)
    assert not np.any(other[0] == first[0])


def test_blocks_are_independent_of_the_scenarios_around_them():
    # the first n scenarios of a longer run equal an n-scenario run
    short = run(STANDARD, 3_000, 300, [1.0], [[20_000.0]])
    long = run(STANDARD, 3_000, 1_000, [1.0], [[20_000.0]])
    np.testing.assert_array_equal(short[0], long[0][:300])
    np.testing.assert_array_equal(short[1], long[1][:300])


def test_lane_streams_distinct():
    key0, key1 = root_key(1)
    states = []
    for segment in range(3):
        for chunk in range(4):
            lu = V.lane_states(key0, key1, segment, chunk)
            assert lu.shape == (5, V.LANES)
            states += [(int(lu[0, lane]), int(lu[1, lane])) for lane in range(V.LANES)]
            states.append(tuple(int(v) for v in block_state(key0, key1, V.STREAM_SCALAR, segment, chunk)))
            states.append(tuple(int(v) for v in block_state(key0, key1, K.STREAM_MEMBERS, segment, chunk)))
    assert len(set(states)) == len(states)
    assert V.STREAM_LANES not in (K.STREAM_MEMBERS, 2) and V.STREAM_SCALAR not in (K.STREAM_MEMBERS, 2)
    # and the lanes' outputs differ: the first rounds of two lanes share no 64-bit value
    x, _ = _members(vbcsim.Lognormal(7.0, 1.0), V.LANES * V.STEPS, 4)
    assert np.unique(x).size == x.size


@pytest.mark.kernel
def test_small_block_adds_up_its_members():
    """A tiny block, also run as plain Python by CI's kernel job: the totals are the members' sums."""
    dist = vbcsim.Lognormal(7.0, 1.0)
    x, totals = _members(dist, 700, 2)
    assert x.size == 1_400 and np.all(x > 0)
    np.testing.assert_allclose(x.reshape(2, -1).sum(axis=1), totals, rtol=1e-10)


def test_simulate_vector_and_scalar_samplers_agree_in_distribution():
    """simulate's two samplers draw the same distribution (two-sample KS on scenario totals) and are
    each reproducible across thread counts; a scalar run's config says so, the default's does not."""
    from scipy import stats

    import vbcsim

    pop = vbcsim.Population([vbcsim.Segment("m", 2_000, vbcsim.Hurdle(0.8, vbcsim.Lognormal(7.0, 1.4)))])
    vec = vbcsim.simulate(pop, n_scenarios=4_000, seed=3, attachments=[20_000.0])
    sca = vbcsim.simulate(pop, n_scenarios=4_000, seed=4, attachments=[20_000.0], sampler="scalar")
    assert stats.ks_2samp(vec.cost.values.ravel(), sca.cost.values.ravel()).pvalue > 1e-3
    assert stats.ks_2samp(vec.excess.values.ravel(), sca.excess.values.ravel()).pvalue > 1e-3
    one = vbcsim.simulate(pop, n_scenarios=300, seed=3, attachments=[20_000.0], threads=1)
    two = vbcsim.simulate(pop, n_scenarios=300, seed=3, attachments=[20_000.0], threads=2)
    np.testing.assert_array_equal(one.cost.values, two.cost.values)
    np.testing.assert_array_equal(one.cost.values, vec.cost.values[:300])
    assert '"sampler": "scalar"' in sca.attrs["config"] and "sampler" not in vec.attrs["config"]
    with pytest.raises(ValueError, match="sampler"):
        vbcsim.simulate(pop, n_scenarios=2, seed=1, sampler="simd")
