"""Statistical and bit-level validation of vbcsim.rng: xoroshiro128++, block seeding, the ziggurat.

Tolerances
----------
Every statistic is compared with its exact expectation using its standard error
(SE) under the hypothesis that the generator is correct:

* sample means and frequencies: 4.5 SE.  A two-sided normal tail beyond 4.5 SE has
  probability 7e-6, so the ~40 such checks in this file have a family-wise false alarm
  rate below 3e-4, while a real defect of the size the SE resolves fails every time;
* KS and chi-square tests: p-value above 1e-4 (again a negligible family-wise false
  alarm rate for the handful of tests here).

The seeds are fixed, so the tests are deterministic; a failure is reproducible and
means the generator (or its tables) differs from the distribution it claims.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from naive import XoroshiroRef, block_state_ref, splitmix64
from numba import njit
from scipy import special, stats

from vbcsim import rng as R

U64 = np.uint64
Z_TOL = 4.5  # standard errors, see the module docstring
P_MIN = 1e-4  # minimum p-value of a goodness-of-fit test


# ---------------------------------------------------------------------------
# njit helpers: draw arrays through the (value, s0, s1) interface
# ---------------------------------------------------------------------------


@njit(cache=False)
def draw_uniform(s0, s1, n):
    out = np.empty(n)
    for i in range(n):
        out[i], s0, s1 = R.uniform(s0, s1)
    return out


@njit(cache=False)
def draw_normal(s0, s1, n):
    out = np.empty(n)
    for i in range(n):
        out[i], s0, s1 = R.standard_normal(s0, s1)
    return out


@njit(cache=False)
def draw_bits(s0, s1, n):
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i], s0, s1 = R.next_uint64(s0, s1)
    return out


@njit(cache=False)
def draw_normal_from_block(key0, key1, stream, a, b, n):
    s0, s1 = R.block_state(key0, key1, stream, a, b)
    out = np.empty(n)
    for i in range(n):
        out[i], s0, s1 = R.standard_normal(s0, s1)
    return out


@njit(cache=False)
def normal_tail_beyond(key0, key1, stream, a, b, n, t):
    """|z| for the draws with |z| > t among n normals of block (stream, a, b)."""
    s0, s1 = R.block_state(key0, key1, stream, a, b)
    out = []
    for _ in range(n):
        z, s0, s1 = R.standard_normal(s0, s1)
        if abs(z) > t:
            out.append(abs(z))
    return np.array(out)


@njit(cache=False)
def first_uniforms(key0, key1, stream, a, n_blocks):
    """The first uniform of blocks (stream, a, 0..n_blocks-1)."""
    out = np.empty(n_blocks)
    for b in range(n_blocks):
        s0, s1 = R.block_state(key0, key1, stream, a, b)
        out[b], s0, s1 = R.uniform(s0, s1)
    return out


def _state(seed=12345, stream=7, a=0, b=0):
    k0, k1 = (U64(k) for k in R.root_key(seed))
    # (numba hands uint64 results back as Python ints: re-type them for the next call)
    return tuple(U64(s) for s in R.block_state(k0, k1, stream, a, b))


@pytest.fixture(scope="module")
def normals():
    """4,000,000 ziggurat normals (about 40 ms)."""
    s0, s1 = _state(2024)
    return draw_normal(s0, s1, 4_000_000)


@pytest.fixture(scope="module")
def uniforms():
    s0, s1 = _state(99)
    return draw_uniform(s0, s1, 2_000_000)


# ---------------------------------------------------------------------------
# bit-exact agreement with the published algorithms
# ---------------------------------------------------------------------------


@pytest.mark.kernel
def test_splitmix64_reference_vector():
    # SplitMix64 from state 0 (Vigna's splitmix64.c): the first three outputs are the
    # widely published test vector; our Python reference must produce them ...
    x, out = 0, []
    for _ in range(3):
        out.append(splitmix64(x))
        x = (x + 0x9E3779B97F4A7C15) & ((1 << 64) - 1)
    assert out == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    # ... and so must the compiled mixer (uint64 wrap-around in numba)
    assert [int(R._splitmix64(U64(v))) for v in (0, 0x9E3779B97F4A7C15, 0x3C6EF372FE94F82A)] == out


@pytest.mark.kernel
@pytest.mark.parametrize("key", [(0, 0), (1, 2), (2**64 - 1, 2**63 + 5), (0xDEADBEEF, 0x12345678ABCDEF)])
@pytest.mark.parametrize(
    "block", [(0, 0, 0), (1, 0, 0), (1, 3, 17), (101, 2**31, 2**40), (2**63, 5, 2**64 - 1)]
)
def test_block_state_matches_reference(key, block):
    s = R.block_state(U64(key[0]), U64(key[1]), U64(block[0]), U64(block[1]), U64(block[2]))
    assert tuple(int(v) for v in s) == block_state_ref(*key, *block)


@pytest.mark.kernel
def test_next_uint64_matches_xoroshiro128pp_reference():
    s0, s1 = _state(3)
    ref = XoroshiroRef(int(s0), int(s1))
    assert [int(v) for v in draw_bits(s0, s1, 5000)] == [ref.next_uint64() for _ in range(5000)]


@pytest.mark.kernel
def test_uniform_and_normal_match_reference():
    s0, s1 = _state(4)
    ref = XoroshiroRef(int(s0), int(s1))
    np.testing.assert_array_equal(draw_uniform(s0, s1, 3000), [ref.uniform() for _ in range(3000)])
    # 20,000 normals reach every branch: fast path, wedges and (about 5 times) the base tail
    ref = XoroshiroRef(int(s0), int(s1))
    expect = np.array([ref.standard_normal() for _ in range(20_000)])
    got = draw_normal(s0, s1, 20_000)
    assert np.sum(np.abs(expect) > R.ZIGGURAT_R) >= 1
    # a few ulps: the only differences allowed are libm vs LLVM rounding of log1p/exp
    np.testing.assert_allclose(got, expect, rtol=1e-14, atol=0)


@pytest.mark.kernel
def test_xoroshiro_known_state_sequence():
    # hand-checkable first step from state (1, 2): result = rotl(1 + 2, 17) + 1 = 3 * 2^17 + 1
    r, s0, s1 = R.next_uint64(U64(1), U64(2))
    assert int(r) == 3 * 2**17 + 1
    # s1 ^= s0 -> 3; s0' = rotl(1, 49) ^ 3 ^ (3 << 21); s1' = rotl(3, 28)
    assert int(s0) == (1 << 49) ^ 3 ^ (3 << 21)
    assert int(s1) == 3 << 28


# ---------------------------------------------------------------------------
# uniform
# ---------------------------------------------------------------------------


def test_uniform_range_and_resolution(uniforms):
    assert uniforms.min() >= 0.0 and uniforms.max() < 1.0
    # 53-bit doubles: u 2^53 is a whole number
    scaled = uniforms * 2.0**53
    assert np.all(scaled == np.floor(scaled))


def test_uniform_moments(uniforms):
    n = uniforms.size
    # mean: Var U = 1/12
    assert abs(uniforms.mean() - 0.5) < Z_TOL * math.sqrt(1 / 12 / n)
    # variance: SE of the sample variance = sqrt((mu4 - sigma^4) / n), mu4 = 1/80 for U(0, 1)
    assert abs(uniforms.var() - 1 / 12) < Z_TOL * math.sqrt((1 / 80 - 1 / 144) / n)
    # lag-1 serial correlation: SE 1/sqrt(n) for independent draws
    r = np.corrcoef(uniforms[:-1], uniforms[1:])[0, 1]
    assert abs(r) < Z_TOL / math.sqrt(n)


def test_uniform_ks_and_chi_square(uniforms):
    assert stats.kstest(uniforms[:500_000], "uniform").pvalue > P_MIN
    # 1,000 equal bins: finer-grained than KS in the middle of the range
    counts = np.bincount((uniforms * 1000).astype(np.int64), minlength=1000)
    assert stats.chisquare(counts).pvalue > P_MIN


def test_every_output_bit_is_fair():
    s0, s1 = _state(5)
    bits = draw_bits(s0, s1, 1_000_000)
    n = bits.size
    ones = np.array([int(np.count_nonzero((bits >> U64(k)) & U64(1))) for k in range(64)])
    # each bit is Bernoulli(1/2): SE = sqrt(n / 4); 64 bits at 5 SE (p 6e-7 each)
    assert np.all(np.abs(ones - n / 2) < 5.0 * math.sqrt(n / 4)), ones - n / 2


# ---------------------------------------------------------------------------
# ziggurat normal
# ---------------------------------------------------------------------------


def test_normal_ks(normals):
    assert stats.kstest(normals[:1_000_000], "norm").pvalue > P_MIN


def test_normal_chi_square_equiprobable_bins(normals):
    # 2,000 equiprobable bins (2,000 expected per bin): each bin is a thin slice of the
    # density, so a wrong layer table or wedge test shows up as a run of bad bins
    edges = stats.norm.ppf(np.linspace(0, 1, 2001)[1:-1])
    counts = np.bincount(np.searchsorted(edges, normals), minlength=2000)
    assert stats.chisquare(counts).pvalue > P_MIN


def test_normal_moments(normals):
    n = normals.size
    m = normals.mean()
    c = normals - m
    var = np.mean(c * c)
    skew = np.mean(c**3) / var**1.5
    exkurt = np.mean(c**4) / var**2 - 3.0
    # standard errors for N(0, 1) data: mean 1/sqrt(n), variance sqrt(2/n) (mu4 - sigma^4 = 2),
    # skewness sqrt(6/n), excess kurtosis sqrt(24/n)
    assert abs(m) < Z_TOL / math.sqrt(n)
    assert abs(var - 1.0) < Z_TOL * math.sqrt(2 / n)
    assert abs(skew) < Z_TOL * math.sqrt(6 / n)
    assert abs(exkurt) < Z_TOL * math.sqrt(24 / n)


@pytest.mark.parametrize("t", [1.0, 2.0, 3.0, R.ZIGGURAT_R, 4.0])
def test_normal_tail_frequencies(normals, t):
    # P(|Z| > t) = 2 sf(t); the count is binomial: SE = sqrt(n p (1 - p)).  t = r = 3.654 is
    # where the base strip's tail algorithm takes over; t = 4 lies inside that tail (p = 6e-5,
    # 250 expected: the normal approximation to the binomial is still fine at 4.5 SE)
    n = normals.size
    p = 2 * stats.norm.sf(t)
    k = np.count_nonzero(np.abs(normals) > t)
    assert abs(k - n * p) < Z_TOL * math.sqrt(n * p * (1 - p)), (k, n * p)
    # each side separately (the tail's sign comes from a different bit than the body's)
    for side in (normals > t, normals < -t):
        q = p / 2
        assert abs(np.count_nonzero(side) - n * q) < Z_TOL * math.sqrt(n * q * (1 - q))


def test_normal_tail_beyond_r_shape():
    # the Marsaglia (1964) tail sampler: |Z| given |Z| > r has cdf
    # (Phi(x) - Phi(r)) / (1 - Phi(r)); 4e7 normals give about 10,000 tail draws
    k0, k1 = (U64(k) for k in R.root_key(77))
    r = R.ZIGGURAT_R
    tail = normal_tail_beyond(k0, k1, U64(3), U64(0), U64(0), 40_000_000, r)
    sf_r = stats.norm.sf(r)
    assert tail.size > 8000
    assert stats.kstest(tail, lambda x: 1.0 - stats.norm.sf(x) / sf_r).pvalue > P_MIN


def test_normal_symmetry(normals):
    n = normals.size
    assert abs(np.count_nonzero(normals < 0) - n / 2) < Z_TOL * math.sqrt(n / 4)


# ---------------------------------------------------------------------------
# ziggurat tables
# ---------------------------------------------------------------------------


def test_ziggurat_tables_equal_area():
    m = 2.0**52
    r, v = R.ZIGGURAT_R, R.ZIGGURAT_V
    x = R.ZIG_W * m  # layer right edges x_1 < ... < x_255 = r (x_0: the base strip's width)
    f = R.ZIG_F
    assert R.ZIG_K.shape == R.ZIG_W.shape == R.ZIG_F.shape == (256,)
    assert x[255] == pytest.approx(r, rel=1e-15)
    assert np.all(np.diff(x[1:]) > 0) and np.all(np.diff(f) < 0)
    # f_i = exp(-x_i^2 / 2), f_0 = 1
    np.testing.assert_allclose(f[1:], np.exp(-0.5 * x[1:] ** 2), rtol=1e-14)
    assert f[0] == 1.0
    # equal areas: the rectangle of layer i+1, width x_{i+1}, height f_i - f_{i+1}, has area v.
    # The recurrence builds these to rounding (1e-12 relative leaves room for 255 steps)
    areas = x[2:] * (f[1:255] - f[2:])
    np.testing.assert_allclose(areas, v, rtol=1e-12)
    # the top layer closes the recursion: x_1 (1 - f_1) = v.  It holds only as well as the
    # published v (12 significant digits, about 1e-12) propagated down 254 layers: the
    # recursion amplifies the error ~1e3 times, measured 1e-9; 1e-8 bounds the resulting
    # density error far below anything a sample could show
    assert x[1] * (1.0 - f[1]) == pytest.approx(v, rel=1e-8)
    # base strip: rectangle r f(r) plus the tail integral of exp(-x^2/2) beyond r
    base = r * math.exp(-0.5 * r * r) + math.sqrt(math.pi / 2) * special.erfc(r / math.sqrt(2))
    assert base == pytest.approx(v, rel=1e-10)
    # its virtual width q = v / f(r) is what w_0 scales
    assert x[0] == pytest.approx(v / math.exp(-0.5 * r * r), rel=1e-14)


def test_ziggurat_accept_thresholds():
    # k_i = floor(2^52 x_{i-1} / x_i): rabs < k_i means the point lies under layer i-1's edge,
    # inside the curve, accepted without a density evaluation; k_1 = 0 (the top layer always
    # tests), k_0 = floor(2^52 r / q) for the base strip
    m = 2.0**52
    x = R.ZIG_W * m
    k = R.ZIG_K
    assert k[1] == 0
    assert abs(int(k[0]) - math.floor(R.ZIGGURAT_R / x[0] * m)) <= 1
    expect = np.floor(x[1:-1] / x[2:] * m)
    assert np.all(np.abs(k[2:] - expect) <= 1)
    assert np.all(k < 2**52)


# ---------------------------------------------------------------------------
# block seeding
# ---------------------------------------------------------------------------


def test_block_states_distinct_over_a_grid():
    k0, k1 = (U64(k) for k in R.root_key(1))
    seen = {}
    for stream in (0, 1, 2, 101, 102, 103, 2**32 + 7):
        for a in range(16):
            for b in range(64):
                s = tuple(int(v) for v in R.block_state(k0, k1, U64(stream), U64(a), U64(b)))
                assert s != (0, 0)
                assert s not in seen, (stream, a, b, seen.get(s))
                seen[s] = (stream, a, b)


def test_block_state_deterministic_and_keyed():
    k0, k1 = (U64(k) for k in R.root_key(1))
    s = R.block_state(k0, k1, U64(1), U64(2), U64(3))
    assert R.block_state(k0, k1, U64(1), U64(2), U64(3)) == s
    # swapping a and b, or changing either key word, changes the state
    assert R.block_state(k0, k1, U64(1), U64(3), U64(2)) != s
    assert R.block_state(k0 ^ U64(1), k1, U64(1), U64(2), U64(3)) != s
    assert R.block_state(k0, k1 ^ U64(1), U64(1), U64(2), U64(3)) != s
    # the root key: same seed -> same key, different seeds -> different keys
    np.testing.assert_array_equal(R.root_key(5), R.root_key(5))
    assert not np.array_equal(R.root_key(5), R.root_key(6))


def test_same_block_same_stream_different_blocks_different_streams():
    k0, k1 = (U64(k) for k in R.root_key(8))
    a = draw_normal_from_block(k0, k1, U64(1), U64(0), U64(0), 1000)
    np.testing.assert_array_equal(a, draw_normal_from_block(k0, k1, U64(1), U64(0), U64(0), 1000))
    for other in [(2, 0, 0), (1, 1, 0), (1, 0, 1)]:
        b = draw_normal_from_block(k0, k1, *(U64(v) for v in other), 1000)
        assert not np.any(a == b)


def test_adjacent_blocks_are_independent():
    k0, k1 = (U64(k) for k in R.root_key(11))
    # first draws of 200,000 consecutive blocks are uniform ...
    u = first_uniforms(k0, k1, U64(1), U64(0), 200_000)
    assert stats.kstest(u, "uniform").pvalue > P_MIN
    # ... and uncorrelated with the neighbouring block's (SE of a correlation: 1/sqrt(n))
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < Z_TOL / math.sqrt(u.size)
    # whole sequences of neighbouring blocks are uncorrelated too
    x = draw_normal_from_block(k0, k1, U64(1), U64(0), U64(0), 200_000)
    y = draw_normal_from_block(k0, k1, U64(1), U64(0), U64(1), 200_000)
    assert abs(np.corrcoef(x, y)[0, 1]) < Z_TOL / math.sqrt(x.size)


# ---------------------------------------------------------------------------
# normal_pair: Box–Muller from two words (a joining member's draws in the vectorised kernel)
# ---------------------------------------------------------------------------


@njit(cache=False, error_model="numpy")
def draw_pairs(w1, w2):
    a = np.empty(w1.size)
    b = np.empty(w1.size)
    for i in range(w1.size):
        a[i], b[i] = R.normal_pair(w1[i], w2[i])
    return a, b


def _pairs_reference(w1, w2):
    """normal_pair in numpy: √(−2 ln u) (cos θ, sin θ), u = (k + 1) 2^-53, θ = q π/2 + (t − ½) π/2."""
    u = ((w1 >> U64(11)).astype(np.float64) + 1.0) * 2.0**-53
    r = np.sqrt(-2.0 * np.log(u))
    q = (w2 >> U64(62)).astype(np.int64)
    phi = (((w2 >> U64(11)) & U64(2**51 - 1)).astype(np.float64) * 2.0**-51 - 0.5) * (0.5 * np.pi)
    c, s = np.cos(phi), np.sin(phi)
    quadrant = [q == 0, q == 1, q == 2, q == 3]
    return r * np.select(quadrant, [c, -s, -c, s]), r * np.select(quadrant, [s, c, -s, -c])


def _words(seed, n):
    s0, s1 = _state(seed)
    w = draw_bits(s0, s1, 2 * n)
    return w[:n], w[n:]


@pytest.mark.kernel
def test_normal_pair_matches_reference():
    # fdlibm's log, sin and cos kernels are within 1 ulp, as numpy's: a few ulps of the pair apart
    w1, w2 = _words(5, 20_000)
    extreme = np.array([0, 2**64 - 1, 2**63, 2**62, 3 * 2**62, 2**11], dtype=np.uint64)
    w1, w2 = np.concatenate([w1, extreme]), np.concatenate([w2, extreme[::-1]])
    got = draw_pairs(w1, w2)
    want = _pairs_reference(w1, w2)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=4e-15, atol=4e-15)
    # the words' extremes: u = 2^-53 gives the largest radius, √(2 · 53 ln 2); u = 1 gives 0
    a, b = R.normal_pair(U64(0), U64(0))
    assert math.isclose(math.hypot(a, b), math.sqrt(2.0 * 53.0 * math.log(2.0)), rel_tol=1e-15)
    assert math.hypot(*R.normal_pair(U64(2**64 - 1), U64(12345))) == 0.0


def test_normal_pair_is_two_independent_standard_normals():
    n = 1_000_000
    a, b = draw_pairs(*_words(31, n))
    for z in (a, b):
        assert stats.kstest(z, special.ndtr).pvalue > P_MIN
        counts = np.histogram(z, special.ndtri(np.linspace(0.0, 1.0, 101)))[0]
        assert stats.chisquare(counts).pvalue > P_MIN
        for t in (2.0, 3.0, 4.0):  # tail frequencies: binomial counts
            p = 2.0 * stats.norm.sf(t)
            k = np.count_nonzero(np.abs(z) > t)
            assert abs(k - n * p) < Z_TOL * math.sqrt(n * p * (1 - p))
    # independent: uncorrelated, and so are their squares (Var(Z²) = 2), and the angle is uniform
    assert abs(np.corrcoef(a, b)[0, 1]) < Z_TOL / math.sqrt(n)
    assert abs(np.corrcoef(a * a, b * b)[0, 1]) < Z_TOL / math.sqrt(n)
    angle = np.histogram(np.arctan2(b, a), np.linspace(-np.pi, np.pi, 65))[0]
    assert stats.chisquare(angle).pvalue > P_MIN
    # the radius is Rayleigh: r² ~ chi-square with 2 degrees of freedom
    assert stats.kstest(a * a + b * b, stats.chi2(2).cdf).pvalue > P_MIN
