"""The Monte Carlo engine (``vbcsim.simulate`` and its numba kernels) against references.

* distributional agreement of per-scenario segment totals with the plain-numpy
  reference ``naive.simulate_naive`` (two-sample KS) and with exact moments
  (``naive.total_moments``) and exact stop-loss premiums;
* the kernel samplers one by one (``_kernels.sample_members``) against the
  distributions' cdf (KS, chi-square) and exact moments, and bit for bit against the
  pure-Python transcription ``naive.sample_members_ref``;
* the block layout reproduced member by member from the block streams;
* scenario risk: moments of the multiplier and the variance decomposition;
* the Dataset's structure, reproducibility (same seed, prefix, thread count -- also
  across processes) and streaming memory;
* argument validation of every public entry point.

Tolerances
----------
All comparisons with an exact value use the standard error (SE) of the statistic under
the hypothesis that the engine is right, computed from *exact* moments wherever
possible:

* a sample mean of n values: SE = sigma / sqrt(n); tolerance 4.5 SE (two-sided normal
  tail 7e-6; with about 100 such checks the family-wise false alarm rate is < 1e-3);
* a sample variance: SE = sqrt((mu4 - sigma^4) / n) (delta method; mu4 the exact fourth
  central moment); tolerance 5 SE, a little wider because s^2 is right-skewed for
  skewed data.  Only done where mu4 is finite;
* a frequency: binomial SE sqrt(p (1 - p) / n); 4.5 SE;
* KS / chi-square tests: p-value above 1e-4.

Seeds are fixed, so every test is deterministic: a failure reproduces, and with these
tolerances it means a real disagreement, not bad luck.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from functools import cache

import numpy as np
import pytest
import xarray as xr
from naive import (
    central_moments,
    raw_moments,
    sample_members_ref,
    scenario_risk_raw_moments,
    simulate_naive,
    total_moments,
)
from scipy import stats

import vbcsim
from vbcsim import (
    Compound,
    Gamma,
    Hurdle,
    Lognormal,
    NegativeBinomial,
    Pareto,
    Poisson,
    Population,
    ScenarioRisk,
    Segment,
    Spliced,
    simulate,
)
from vbcsim.engine import _kernels as K
from vbcsim.engine import driver
from vbcsim.engine.rng import root_key
from vbcsim.results.variables import VARIABLES, validate

Z_MEAN = 4.5  # SEs for means and frequencies (see the module docstring)
Z_VAR = 5.0  # SEs for variances
P_MIN = 1e-4  # minimum p-value of KS and chi-square tests

N_KS = 2000  # scenarios of the engine-vs-naive two-sample comparisons
N_EXACT = 20_000  # engine scenarios compared with exact moments (cheap: ~1e6 draws)
N_SAMPLER = 200_000  # draws per direct sampler test


def _mean_ok(values, mean, var, z=Z_MEAN):
    n = len(values)
    se = math.sqrt(var / n)
    d = float(np.mean(values)) - mean
    assert abs(d) < z * se, f"mean {np.mean(values)!r} vs exact {mean!r}: {d / se:.2f} SE"


def _var_ok(values, var, mu4, z=Z_VAR):
    n = len(values)
    se = math.sqrt((mu4 - var * var) / n)
    d = float(np.var(values, ddof=1)) - var
    assert abs(d) < z * se, f"variance {np.var(values, ddof=1)!r} vs exact {var!r}: {d / se:.2f} SE"


def _ks2_ok(a, b, what=""):
    # (asymptotic p-value: exact for 2,000 + 2,000 values to well below P_MIN's precision)
    p = stats.ks_2samp(a, b, method="asymp").pvalue
    assert p > P_MIN, f"{what}: two-sample KS p = {p:.2e}"


# ---------------------------------------------------------------------------
# member cost distributions under test
# ---------------------------------------------------------------------------

# id -> (distribution, members per segment).  Pareto tails with alpha > 4 where the
# variance is tested (finite fourth moment); "pareto-heavy" has an infinite fourth moment
# and is only compared in distribution and mean.
CASES = {
    "hurdle-lognormal": (Hurdle(0.7, Lognormal(7.0, 1.0)), 40),
    "gamma-shape<1": (Gamma(0.5, 2000.0), 30),
    "gamma-shape>1": (Gamma(3.0, 1000.0), 30),
    "pareto": (Pareto(5.0, 4000.0), 30),
    "pareto-heavy": (Pareto(2.5, 3000.0), 30),
    "spliced-lognormal-pareto": (Spliced(Lognormal(7.0, 1.0), Pareto(5.0, 20000.0), 20000.0), 30),
    "spliced-gamma-body": (Spliced(Gamma(2.0, 1000.0), Pareto(4.5, 5000.0), 5000.0), 30),
    "spliced-gamma<1-body-lognormal-tail": (
        Spliced(Gamma(0.6, 2000.0), Lognormal(8.0, 1.0), 4000.0, 0.1),
        30,
    ),
    "spliced-pareto-body": (Spliced(Pareto(3.0, 2000.0), Pareto(5.0, 8000.0), 8000.0), 30),
    "compound-poisson-small-lam": (Compound(Poisson(0.3), Lognormal(7.0, 1.0)), 40),
    "compound-poisson-ptrs": (Compound(Poisson(12.0), Lognormal(6.0, 0.8)), 15),
    "compound-negbin-gamma": (Compound(NegativeBinomial(2.0, 1.5), Gamma(2.0, 500.0)), 30),
    "compound-negbin-ptrs": (Compound(NegativeBinomial(15.0, 4.0), Gamma(0.7, 300.0)), 10),
    "compound-poisson-spliced": (
        Compound(Poisson(2.0), Spliced(Lognormal(7.0, 1.0), Pareto(5.0, 20000.0), 20000.0)),
        20,
    ),
    "hurdle-compound": (Hurdle(0.6, Compound(Poisson(3.0), Gamma(1.5, 400.0))), 30),
}
CASE_IDS = list(CASES)


def _attachments(dist):
    # one attachment in the bulk (the mean) and one in the tail (mean + 2 sd) of a member's cost
    m = dist.mean()
    return (round(m, 2), round(m + 2.0 * dist.std(), 2))


def _pop(case):
    dist, members = CASES[case]
    return Population([Segment(case, members, dist)])


@cache
def _engine(case, n_scenarios, seed):
    dist, _ = CASES[case]
    return simulate(_pop(case), n_scenarios=n_scenarios, seed=seed, attachments=_attachments(dist))


@cache
def _naive(case, n_scenarios, seed):
    dist, _ = CASES[case]
    return simulate_naive(_pop(case), n_scenarios, np.random.default_rng(seed), _attachments(dist))


def _seed(case):
    return 1000 + CASE_IDS.index(case)


# ---------------------------------------------------------------------------
# engine vs the naive reference and exact moments
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_IDS)
def test_engine_matches_naive_in_distribution(case):
    ds = _engine(case, N_KS, _seed(case))
    cost, excess = _naive(case, N_KS, 50_000 + _seed(case))
    _ks2_ok(ds.cost.values[:, 0], cost[:, 0], f"{case} cost")
    for k, a in enumerate(ds.attachment.values):
        _ks2_ok(ds.excess.values[:, 0, k], excess[:, 0, k], f"{case} excess at {a}")


@pytest.mark.parametrize("case", CASE_IDS)
def test_mean_and_variance_match_exact(case):
    dist, members = CASES[case]
    mean, var, _, mu4 = total_moments(dist, members)
    assert mean == pytest.approx(members * dist.mean(), rel=1e-12)
    assert var == pytest.approx(members * dist.var(), rel=1e-9)
    engine = _engine(case, N_EXACT, _seed(case)).cost.values[:, 0]
    naive = _naive(case, N_KS, 50_000 + _seed(case))[0][:, 0]
    for values in (engine, naive):  # the reference must pass the same test
        _mean_ok(values, mean, var)
        if math.isfinite(mu4):
            _var_ok(values, var, mu4)


@pytest.mark.parametrize("case", CASE_IDS)
def test_excess_mean_is_stop_loss_premium(case):
    # E[excess] = members E[(X - a)+] = members (mean - limited_mean(a)) = members stop_loss(a).
    # SE from the sample standard deviation of the 20,000 scenario totals: every case has a
    # finite fourth moment of (X - a)+ except pareto-heavy, whose (X - a)+ still has finite
    # variance (alpha = 2.5 > 2), so the SE estimate is consistent
    dist, members = CASES[case]
    ds = _engine(case, N_EXACT, _seed(case))
    for k, a in enumerate(ds.attachment.values):
        x = ds.excess.values[:, 0, k]
        assert np.count_nonzero(x) > 1000  # enough positive totals for a sample SE
        expect = members * float(dist.stop_loss(a))
        assert expect == pytest.approx(members * (dist.mean() - float(dist.limited_mean(a))))
        se = np.std(x, ddof=1) / math.sqrt(x.size)
        assert abs(x.mean() - expect) < Z_MEAN * se, (a, x.mean(), expect, (x.mean() - expect) / se)


@pytest.mark.parametrize(
    "case", ["hurdle-lognormal", "gamma-shape<1", "spliced-gamma-body", "compound-negbin-gamma"]
)
def test_engine_totals_match_exact_aggregate(case):
    # the FFT oracle's distribution of the total of `members` members (a lattice with
    # a bucket of ~1e-3 standard deviations: its cdf error is far below the KS critical
    # value ~0.015 at n = 20,000)
    from vbcsim import exact

    dist, members = CASES[case]
    agg = exact.aggregate(dist, members)
    x = _engine(case, N_EXACT, _seed(case)).cost.values[:, 0]
    p = stats.kstest(x, agg.cdf).pvalue
    assert p > P_MIN, p


def test_excess_and_cost_relations():
    dist, members = CASES["hurdle-lognormal"]
    ds = _engine("hurdle-lognormal", N_KS, _seed("hurdle-lognormal"))
    cost, excess = ds.cost.values[:, 0], ds.excess.values[:, 0, :]
    assert np.all(cost >= 0) and np.all(excess >= 0)
    assert np.all(excess <= cost[:, None])
    assert np.all(np.diff(excess, axis=1) <= 0)  # attachments ascending: excess falls
    # (x - a)+ >= x - a: excess >= cost - members a (up to rounding)
    a = ds.attachment.values
    assert np.all(excess >= cost[:, None] - members * a - 1e-9 * cost[:, None])


# ---------------------------------------------------------------------------
# the samplers one by one
# ---------------------------------------------------------------------------

KEY0, KEY1 = (np.uint64(k) for k in root_key(31337))


def _draw(dist, n=N_SAMPLER, stream=9, a=0, b=0):
    return K.sample_members(driver.encode(dist), n, KEY0, KEY1, stream, a, b)


SEVERITIES = {
    "lognormal": Lognormal(7.0, 1.0),
    "lognormal-sigma2.5": Lognormal(-2.0, 2.5),
    "gamma-shape0.05": Gamma(0.05, 10.0),
    "gamma-shape0.5": Gamma(0.5, 2000.0),
    "gamma-exponential": Gamma(1.0, 1.0),
    "gamma-shape3": Gamma(3.0, 1000.0),
    "gamma-shape50": Gamma(50.0, 2.0),
    "pareto-infinite-mean": Pareto(0.8, 100.0),
    "pareto-2.2": Pareto(2.2, 3000.0),
    "pareto-5": Pareto(5.0, 4000.0),
    "spliced-lognormal-pareto": Spliced(Lognormal(7.0, 1.0), Pareto(2.5, 20000.0), 20000.0),
    "spliced-gamma-pareto": Spliced(Gamma(2.0, 1000.0), Pareto(4.5, 5000.0), 5000.0),
    "spliced-gamma<1-lognormal": Spliced(Gamma(0.6, 2000.0), Lognormal(8.0, 1.0), 4000.0, 0.1),
    "spliced-pareto-pareto": Spliced(Pareto(3.0, 2000.0), Pareto(5.0, 8000.0), 8000.0),
    # body mostly above the threshold: rejection with acceptance 0.24
    "spliced-lognormal-body-low-acceptance": Spliced(Lognormal(9.0, 2.0), Gamma(2.0, 5000.0), 2000.0, 0.3),
    "spliced-no-tail": Spliced(Lognormal(7.0, 1.0), Pareto(3.0, 5000.0), 5000.0, 0.0),
    "spliced-all-tail": Spliced(Lognormal(7.0, 1.0), Pareto(3.0, 5000.0), 5000.0, 1.0),
}


@pytest.mark.parametrize("name", list(SEVERITIES))
def test_severity_sampler_against_cdf_and_moments(name):
    dist = SEVERITIES[name]
    x = _draw(dist, stream=9, a=list(SEVERITIES).index(name))
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    if isinstance(dist, Spliced):
        t = dist.threshold
        assert np.all((x <= t) | (x > t))
        if dist.tail_weight == 0:
            assert np.all(x <= t)
        if dist.tail_weight == 1:
            assert np.all(x >= t)
    p = stats.kstest(x, dist.cdf).pvalue
    assert p > P_MIN, p
    mean, var, _, mu4 = central_moments(raw_moments(dist))
    if math.isfinite(var):
        _mean_ok(x, mean, var)
    if math.isfinite(mu4):
        _var_ok(x, var, mu4)


def test_spliced_rare_body():
    # the validated limit: 0.2% of the body below the threshold, ~500 rejections a draw
    body = Lognormal(9.0, 0.5)
    t = float(body.ppf(0.002))
    dist = Spliced(body, Pareto(3.0, t), t, 0.4)
    x = _draw(dist, n=20_000, stream=10)
    assert stats.kstest(x, dist.cdf).pvalue > P_MIN
    # the body part lies below t and follows the body conditioned on X <= t
    below = x[x <= t]
    assert stats.kstest(below, lambda v: body.cdf(v) / body.cdf(t)).pvalue > P_MIN


HURDLE_PS = [0.0, 0.01, 0.35, 0.999, 1.0, 1 - 2.0**-40]


@pytest.mark.parametrize("p", HURDLE_PS)
def test_hurdle_sampler(p):
    sev = Gamma(2.0, 500.0)
    x = _draw(Hurdle(p, sev), stream=11, a=HURDLE_PS.index(p))
    n = x.size
    nz = x[x > 0]
    if p == 0.0:
        assert nz.size == 0
        return
    if p == 1.0:
        assert nz.size == n
    # nonzero count is binomial(n, p)
    assert abs(nz.size - n * p) <= max(Z_MEAN * math.sqrt(n * p * (1 - p)), 1.0)
    if nz.size > 1000:
        assert stats.kstest(nz, sev.cdf).pvalue > P_MIN


# counts through a near-degenerate claim: Gamma(1e8, 1e-8) has mean 1 and sd 1e-4, so a
# total of N <= 1,000 claims is N +- 0.003 and rounds to N exactly
UNIT_CLAIM = Gamma(1e8, 1e-8)
FREQUENCIES = {
    "poisson-0.3": Poisson(0.3),
    "poisson-4": Poisson(4.0),
    "poisson-9.99": Poisson(9.99),
    "poisson-10-ptrs": Poisson(10.0),
    "poisson-37.5-ptrs": Poisson(37.5),
    "poisson-600-ptrs": Poisson(600.0),
    "negbin-2-1.5": NegativeBinomial(2.0, 1.5),
    "negbin-25-4-ptrs": NegativeBinomial(25.0, 4.0),
    "negbin-0.5-0.3": NegativeBinomial(0.5, 0.3),
}


def _pooled_bins(pmf, n, min_expected=20.0):
    """Left edges of count bins with at least ``min_expected`` expected draws (the last open)."""
    edges, acc = [0], 0.0
    for k, pk in enumerate(pmf):
        acc += pk * n
        if acc >= min_expected:
            edges.append(k + 1)
            acc = 0.0
    return np.array(edges[:-1] if len(edges) > 1 else edges)


@pytest.mark.parametrize("name", list(FREQUENCIES))
def test_count_samplers_chi_square(name):
    freq = FREQUENCIES[name]
    # (every claim is a gamma draw: 20,000 draws where the mean count is large)
    n = N_SAMPLER if freq.mean() < 50 else 20_000
    x = _draw(Compound(freq, UNIT_CLAIM), n=n, stream=12, a=list(FREQUENCIES).index(name))
    counts = np.rint(x)
    assert np.max(np.abs(x - counts)) < 0.05
    counts = counts.astype(np.int64)
    n = counts.size
    kmax = int(freq.ppf(1 - 1e-12)) + 2
    pmf = freq.pmf(np.arange(kmax))
    lefts = _pooled_bins(pmf, n)
    # expected per pooled bin [lefts[i], lefts[i+1]), the last bin open to infinity
    cdf_at = np.concatenate([freq.cdf(lefts[1:] - 1), [1.0]])
    expected = n * np.diff(np.concatenate([[0.0], cdf_at]))
    observed = np.bincount(np.searchsorted(lefts, counts, side="right") - 1, minlength=lefts.size)
    assert observed.sum() == n and expected.sum() == pytest.approx(n)
    p = stats.chisquare(observed, expected).pvalue
    assert p > P_MIN, (p, observed, expected.round(1))
    # moments of N: Poisson mu4 = lam + 3 lam^2; negative binomial from its cumulants
    mean, var, _, mu4 = central_moments(raw_moments(Compound(freq, UNIT_CLAIM)))
    _mean_ok(counts, freq.mean(), freq.var())
    assert var == pytest.approx(freq.var(), rel=1e-6)
    _var_ok(counts, freq.var(), mu4)


@pytest.mark.parametrize(
    "dist",
    [
        Compound(Poisson(0.3), Lognormal(7.0, 1.0)),
        Compound(Poisson(12.0), Lognormal(6.0, 0.8)),
        Compound(NegativeBinomial(2.0, 1.5), Gamma(2.0, 500.0)),
        Hurdle(0.6, Compound(Poisson(3.0), Gamma(1.5, 400.0))),
    ],
    ids=["poisson-small", "poisson-ptrs", "negbin", "hurdle"],
)
def test_compound_sampler(dist, request):
    x = _draw(dist, n=50_000, stream=13, a=request.node.callspec.indices["dist"])
    # the atom at zero: no claims (and, for the hurdle, no cost at all)
    inner, p = (dist.severity, dist.p_nonzero) if isinstance(dist, Hurdle) else (dist, 1.0)
    p0 = (1 - p) + p * float(inner.frequency.pmf(0))
    n = x.size
    assert abs(np.count_nonzero(x == 0) - n * p0) < Z_MEAN * math.sqrt(n * p0 * (1 - p0))
    # the positive part against the FFT oracle's cdf, conditioned on S > 0
    nz = x[x > 0]
    p = stats.kstest(nz, lambda v: (dist.cdf(v) - p0) / (1 - p0)).pvalue
    assert p > P_MIN, p
    mean, var, _, mu4 = central_moments(raw_moments(dist))
    assert mean == pytest.approx(dist.mean()) and var == pytest.approx(dist.var())
    _mean_ok(x, mean, var)
    _var_ok(x, var, mu4)


@pytest.mark.kernel
@pytest.mark.parametrize(
    "dist",
    [
        Lognormal(7.0, 1.0),
        Gamma(0.5, 2000.0),
        Gamma(3.0, 1000.0),
        Pareto(2.2, 3000.0),
        Spliced(Lognormal(7.0, 1.0), Pareto(2.5, 20000.0), 20000.0),
        Spliced(Gamma(0.6, 2000.0), Lognormal(8.0, 1.0), 4000.0, 0.1),
        Spliced(Pareto(3.0, 2000.0), Pareto(5.0, 8000.0), 8000.0),
        Hurdle(0.3, Lognormal(7.0, 1.0)),
        Hurdle(1 - 2.0**-40, Gamma(2.0, 3.0)),
        Compound(Poisson(0.3), Gamma(0.8, 100.0)),
        Compound(Poisson(40.0), Spliced(Gamma(2.0, 1000.0), Pareto(4.5, 5000.0), 5000.0)),
        Compound(NegativeBinomial(12.0, 0.7), Lognormal(5.0, 1.0)),
        Hurdle(0.5, Compound(NegativeBinomial(3.0, 2.0), Pareto(3.0, 1000.0))),
    ],
    ids=repr,
)
def test_kernel_matches_python_transcription(dist):
    # the same block stream must give the same draws as the pure-Python transcription of the
    # published algorithms; a few ulps of libm-vs-LLVM rounding are allowed, a shifted
    # stream (one draw more or fewer anywhere) is not
    got = K.sample_members(driver.encode(dist), 1500, KEY0, KEY1, 4, 5, 6)
    expect = sample_members_ref(dist, 1500, KEY0, KEY1, 4, 5, 6)
    np.testing.assert_allclose(got, expect, rtol=1e-13, atol=0)


@pytest.mark.kernel
def test_sample_members_streams():
    dist = Lognormal(0.0, 1.0)
    a = _draw(dist, n=1000, stream=1, a=2, b=3)
    np.testing.assert_array_equal(a, _draw(dist, n=1000, stream=1, a=2, b=3))
    for other in [(2, 2, 3), (1, 3, 3), (1, 2, 4)]:
        assert not np.any(a == _draw(dist, n=1000, stream=other[0], a=other[1], b=other[2]))
    # a longer draw from the same block starts with the shorter one
    np.testing.assert_array_equal(_draw(dist, n=3000, stream=1, a=2, b=3)[:1000], a)


def test_encode_layout():
    d = Hurdle(
        0.4, Compound(NegativeBinomial(3.0, 2.0), Spliced(Gamma(2.0, 100.0), Pareto(3.0, 900.0), 900.0, 0.2))
    )
    prm = driver.encode(d)
    assert isinstance(prm, tuple) and len(prm) == K.N_PARAMS and all(type(v) is float for v in prm)
    assert prm[K.P_NONZERO] == 0.4
    assert (prm[K.FREQ_KIND], prm[K.FREQ_A], prm[K.FREQ_B]) == (K.FREQ_NEGBIN, 3.0, 2.0)
    assert (prm[K.SEV_KIND], prm[K.BODY_KIND], prm[K.BODY_A], prm[K.BODY_B]) == (1.0, K.GAMMA, 2.0, 100.0)
    assert (prm[K.TAIL_KIND], prm[K.TAIL_A], prm[K.TAIL_B]) == (K.PARETO, 3.0, 900.0)
    assert (prm[K.THRESHOLD], prm[K.TAIL_WEIGHT]) == (900.0, 0.2)
    assert prm[K.BODY_CDF_T] == pytest.approx(float(Gamma(2.0, 100.0).cdf(900.0)))
    plain = driver.encode(Lognormal(1.0, 2.0))
    assert (plain[K.P_NONZERO], plain[K.FREQ_KIND], plain[K.SEV_KIND], plain[K.BODY_KIND]) == (
        1.0,
        K.FREQ_ONE,
        0.0,
        K.LOGNORMAL,
    )
    assert (plain[K.BODY_A], plain[K.BODY_B]) == (1.0, 2.0)


# ---------------------------------------------------------------------------
# the blocks, member by member
# ---------------------------------------------------------------------------


def test_blocks_reproduced_from_member_streams():
    # every scenario of every block = the block's stream: per scenario a binomial count of members
    # with cost, then their draws (``sample_block_members``, checked bit for bit against the
    # pure-Python ``segment_block_ref`` in test_binomial.py); three blocks in the big segment
    # (349 scenarios each), one in the small one
    risk = ScenarioRisk(0.05, 0.2, 0.3)
    segs = [
        Segment("big", 3000, Hurdle(0.8, Lognormal(7.0, 1.2))),
        Segment("small", 7, Compound(Poisson(2.0), Gamma(0.7, 800.0))),
    ]
    att = [500.0, 20_000.0]
    n_scen, seed = 800, 4242
    ds = simulate(
        Population(segs), n_scenarios=n_scen, seed=seed, attachments=att, scenario_risk=risk, sampler="scalar"
    )
    k0, k1 = (np.uint64(k) for k in root_key(seed))
    f = ds.scenario_factor.values
    blocks = driver.block_layout([s.members for s in segs], n_scen)
    assert [(b.segment, b.index, b.start, b.stop) for b in blocks] == [
        (0, 0, 0, 349),
        (0, 1, 349, 698),
        (0, 2, 698, 800),
        (1, 0, 0, 800),
    ]
    for b in blocks:
        seg = segs[b.segment]
        m, s = seg.members, b.stop - b.start
        x = K.sample_block_members(driver.encode(seg.cost), m, s, k0, k1, b.segment, b.index)
        x = x * f[b.start : b.stop, None]
        np.testing.assert_allclose(ds.cost.values[b.start : b.stop, b.segment], x.sum(axis=1), rtol=1e-12)
        for k, a in enumerate(att):
            expect = np.maximum(x - a, 0.0).sum(axis=1)
            np.testing.assert_allclose(
                ds.excess.values[b.start : b.stop, b.segment, k], expect, rtol=1e-10, atol=1e-8
            )


def test_block_layout_independent_of_scenarios_and_threads():
    for members in (1, 7, 1000, 3000, 2**20, 5 * 2**20):
        size = driver.block_scenarios(members)
        assert 1 <= size <= driver.MAX_BLOCK_SCENARIOS
        blocks = driver.block_layout([members], 2500)
        assert blocks[0].start == 0 and blocks[-1].stop == 2500
        assert all(b1.stop == b2.start for b1, b2 in zip(blocks, blocks[1:], strict=False))
        assert all(b.stop - b.start == size for b in blocks[:-1])
        # a shorter run's blocks are a prefix of the longer run's (same keys, same starts)
        short = driver.block_layout([members], 900)
        assert [(b.index, b.start) for b in short] == [(b.index, b.start) for b in blocks][: len(short)]


# ---------------------------------------------------------------------------
# scenario risk
# ---------------------------------------------------------------------------

RISK = ScenarioRisk(trend_cv=0.05, shock_probability=0.1, shock_size=0.3)
RISK_POP = Population(
    [
        Segment("adults", 40, Hurdle(0.7, Lognormal(7.0, 1.0))),
        Segment("claims", 15, Compound(Poisson(12.0), Lognormal(6.0, 0.8))),
    ]
)


@cache
def _risk_run(n, seed, risk=True):
    return simulate(
        RISK_POP,
        n_scenarios=n,
        seed=seed,
        attachments=[1000.0, 10_000.0],
        scenario_risk=RISK if risk else None,
    )


def test_scenario_factor_moments():
    raw = scenario_risk_raw_moments(RISK)
    mean, var, _, mu4 = central_moments(raw)
    assert mean == pytest.approx(RISK.mean()) and var == pytest.approx(RISK.var())
    assert RISK.mean() == pytest.approx(1.03)
    f = _risk_run(N_EXACT, 7).scenario_factor.values
    assert np.all(f > 0)
    _mean_ok(f, mean, var)
    _var_ok(f, var, mu4)
    # the shock years: a fraction 0.1 of scenarios sit 30% higher
    no_risk = ScenarioRisk(0.0, 0.1, 0.3)
    g = simulate(RISK_POP, n_scenarios=N_KS, seed=3, scenario_risk=no_risk).scenario_factor.values
    assert set(np.unique(g)) <= {1.0, 1.3}
    assert abs(np.mean(g == 1.3) - 0.1) < Z_MEAN * math.sqrt(0.1 * 0.9 / g.size)


def test_cost_moments_with_scenario_risk():
    # E[total] = members E[X] E[M]; Var(total) = E[M^2] n Var(X) + Var(M) (n E[X])^2;
    # the fourth central moment of M x S for the variance's SE, all exact
    ds = _risk_run(N_EXACT, 7)
    em = scenario_risk_raw_moments(RISK)
    for g, seg in enumerate(RISK_POP):
        d, n = seg.cost, seg.members
        mean, var, _, mu4 = total_moments(d, n, RISK)
        assert mean == pytest.approx(n * d.mean() * RISK.mean(), rel=1e-12)
        assert var == pytest.approx(em[1] * n * d.var() + RISK.var() * (n * d.mean()) ** 2, rel=1e-9)
        _mean_ok(ds.cost.values[:, g], mean, var)
        _var_ok(ds.cost.values[:, g], var, mu4)


def test_scenario_risk_scales_the_same_member_draws():
    # the multiplier is applied to the scenario's total of the same member draws:
    # cost / factor equals the run without scenario risk to rounding
    with_risk, without = _risk_run(N_KS, 8), _risk_run(N_KS, 8, risk=False)
    f = with_risk.scenario_factor.values
    np.testing.assert_allclose(with_risk.cost.values / f[:, None], without.cost.values, rtol=1e-15)
    np.testing.assert_array_equal(without.scenario_factor.values, 1.0)


def test_excess_with_scenario_risk_matches_naive():
    # excess is of the scaled cost: sum (M X - a)+; the naive reference with the same factors
    ds = _risk_run(N_KS, 9)
    f = ds.scenario_factor.values
    cost, excess = simulate_naive(RISK_POP, N_KS, np.random.default_rng(99), [1000.0, 10_000.0], f)
    for g in range(2):
        _ks2_ok(ds.cost.values[:, g], cost[:, g], f"cost {g}")
        for k in range(2):
            _ks2_ok(ds.excess.values[:, g, k], excess[:, g, k], f"excess {g} {k}")


# ---------------------------------------------------------------------------
# the Dataset
# ---------------------------------------------------------------------------

POP = Population(
    [
        Segment("adults", 120, Hurdle(0.8, Lognormal(7.5, 1.3))),
        Segment("children", 60, Compound(Poisson(1.5), Gamma(0.8, 400.0))),
        Segment("high cost", 3, Spliced(Lognormal(9.0, 1.0), Pareto(3.0, 50_000.0), 50_000.0)),
    ]
)


def test_dataset_structure():
    ds = simulate(POP, n_scenarios=50, seed=12, attachments=[25_000.0, 5_000.0])
    assert isinstance(ds, xr.Dataset)
    assert validate(ds) is ds
    assert set(ds.data_vars) == {"cost", "excess", "scenario_factor", "members"}
    assert ds.cost.dims == ("scenario", "segment") and ds.cost.shape == (50, 3)
    assert ds.excess.dims == ("scenario", "segment", "attachment") and ds.excess.shape == (50, 3, 2)
    assert ds.scenario_factor.dims == ("scenario",)
    assert ds.members.dims == ("segment",)
    assert ds.cost.dtype == np.float64 and ds.excess.dtype == np.float64
    assert ds.members.dtype == np.int64
    assert ds.members.values.tolist() == [120, 60, 3]
    assert ds.segment.values.tolist() == ["adults", "children", "high cost"]
    assert ds.attachment.dtype == np.float64 and ds.attachment.values.tolist() == [25_000.0, 5_000.0]
    np.testing.assert_array_equal(ds.scenario.values, np.arange(50))
    np.testing.assert_array_equal(ds.scenario_factor.values, 1.0)
    assert ds.attrs["seed"] == 12 and ds.attrs["n_scenarios"] == 50
    assert ds.attrs["vbcsim_version"] == vbcsim.__version__
    for name, var in ds.data_vars.items():
        assert var.dims == VARIABLES[name].dims
        assert var.attrs["units"] == VARIABLES[name].units
    assert np.all(np.isfinite(ds.cost.values)) and np.all(ds.cost.values > 0)


def test_dataset_without_attachments_and_single_segment():
    ds = simulate(POP.segments[0], n_scenarios=5, seed=1)
    assert "excess" not in ds and "attachment" not in ds.coords
    assert ds.segment.values.tolist() == ["adults"]
    validate(ds)


def test_attachment_order_and_presence_do_not_change_draws():
    a = simulate(POP, n_scenarios=300, seed=5, attachments=[1000.0, 25_000.0])
    b = simulate(POP, n_scenarios=300, seed=5, attachments=[25_000.0, 1000.0])
    c = simulate(POP, n_scenarios=300, seed=5)
    np.testing.assert_array_equal(a.cost.values, c.cost.values)
    np.testing.assert_array_equal(a.cost.values, b.cost.values)
    np.testing.assert_array_equal(a.excess.values, b.excess.values[:, :, ::-1])
    np.testing.assert_array_equal(
        a.excess.sel(attachment=1000.0).values, b.excess.sel(attachment=1000.0).values
    )


def test_appending_a_segment_keeps_the_others():
    # blocks are keyed by segment index: appending a segment leaves earlier segments' draws alone
    a = simulate(Population(POP.segments[:2]), n_scenarios=200, seed=5)
    b = simulate(POP, n_scenarios=200, seed=5)
    np.testing.assert_array_equal(a.cost.values, b.cost.values[:, :2])


def test_same_seed_identical_different_seed_different():
    a = simulate(POP, n_scenarios=200, seed=77, attachments=[5000.0], scenario_risk=RISK)
    b = simulate(POP, n_scenarios=200, seed=77, attachments=[5000.0], scenario_risk=RISK)
    assert a.identical(b)
    c = simulate(POP, n_scenarios=200, seed=78, attachments=[5000.0], scenario_risk=RISK)
    assert not np.any(a.cost.values == c.cost.values)
    assert not np.any(a.scenario_factor.values == c.scenario_factor.values)
    # a numpy integer seed is the same seed
    d = simulate(POP, n_scenarios=200, seed=np.int64(77), attachments=[5000.0], scenario_risk=RISK)
    np.testing.assert_array_equal(a.cost.values, d.cost.values)
    # a seed beyond 64 bits is accepted and differs from its low bits
    e = simulate(POP, n_scenarios=20, seed=2**70 + 77)
    assert not np.array_equal(e.cost.values, a.cost.values[:20])


@pytest.mark.parametrize("short,long", [(50, 200), (300, 500), (1, 1025)])
def test_prefix_property(short, long):
    # (300, 500) and (1, 1025) cross block boundaries (big: 2^20 // 5000 = 209 scenarios a block;
    # the others 1,024)
    pop = Population([*POP.segments, Segment("big", 5000, Gamma(0.5, 1000.0))])
    kw = dict(seed=2718, attachments=[2000.0, 40_000.0], scenario_risk=RISK)
    a = simulate(pop, n_scenarios=short, **kw)
    b = simulate(pop, n_scenarios=long, **kw)
    for name in ("cost", "excess", "scenario_factor"):
        np.testing.assert_array_equal(a[name].values, b[name].values[:short])


def test_progress_callback():
    calls = []
    simulate(POP, n_scenarios=3000, seed=1, progress=lambda done, total: calls.append((done, total)))
    n_blocks = len(driver.block_layout([s.members for s in POP], 3000))
    assert calls == [(i, n_blocks) for i in range(1, n_blocks + 1)]


# ---------------------------------------------------------------------------
# thread-count invariance, in process and across processes
# ---------------------------------------------------------------------------

DETERMINISM_CASE = textwrap.dedent(
    """
    import hashlib
    import vbcsim as v

    POP = v.Population([
        v.Segment("big", 5000, v.Hurdle(0.8, v.Lognormal(7.0, 1.2))),
        v.Segment("claims", 300, v.Compound(v.NegativeBinomial(3.0, 2.0), v.Gamma(0.7, 800.0))),
        v.Segment("one", 1, v.Spliced(v.Lognormal(8.0, 1.0), v.Pareto(3.0, 30000.0), 30000.0)),
    ])
    KW = dict(n_scenarios=1500, seed=987654321, attachments=[1000.0, 25000.0],
              scenario_risk=v.ScenarioRisk(0.04, 0.1, 0.25))

    def digest(ds):
        return [hashlib.sha256(ds[k].values.tobytes()).hexdigest() for k in ("cost", "excess", "scenario_factor")]
    """
)


def _determinism_namespace():
    ns = {}
    exec(DETERMINISM_CASE, ns)
    return ns


def test_threads_one_vs_two_in_process():
    ns = _determinism_namespace()
    pop, kw = ns["POP"], ns["KW"]
    # 8 + 2 + 2 blocks: enough for both threads to interleave
    assert len(driver.block_layout([s.members for s in pop], kw["n_scenarios"])) == 12
    one = simulate(pop, threads=1, **kw)
    two = simulate(pop, threads=2, **kw)
    four = simulate(pop, threads=4, **kw)
    for name in ("cost", "excess", "scenario_factor"):
        np.testing.assert_array_equal(one[name].values, two[name].values)
        np.testing.assert_array_equal(one[name].values, four[name].values)


def test_threads_invariance_across_processes():
    # NUMBA_NUM_THREADS=1 in a fresh interpreter (threads=None -> 1 thread) against
    # threads=2 here: the same bytes
    script = DETERMINISM_CASE + textwrap.dedent(
        """
        import numba
        from vbcsim.engine import driver
        assert numba.config.NUMBA_NUM_THREADS == 1
        assert driver.check_threads(None) == 1
        print(" ".join(digest(v.simulate(POP, **KW))))
        """
    )
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    ns = _determinism_namespace()
    here = ns["digest"](simulate(ns["POP"], threads=2, **ns["KW"]))
    assert out.stdout.split() == here


def test_streaming_memory():
    # 200,000 members x 100 scenarios: an O(members x scenarios) float64 array would be
    # 160 MB; the engine must stay within a few MB of its small-run peak
    script = textwrap.dedent(
        """
        import resource
        import vbcsim as v
        pop = v.Population([v.Segment("a", 200_000, v.Hurdle(0.8, v.Lognormal(8.0, 1.5)))])
        v.simulate(pop, n_scenarios=2, seed=1, attachments=[1e4])
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ds = v.simulate(pop, n_scenarios=100, seed=1, attachments=[1e4, 1e5], threads=2)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) // 1024)  # MiB (ru_maxrss is in KiB on Linux)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) < 40


# ---------------------------------------------------------------------------
# argument validation
# ---------------------------------------------------------------------------

SEG = Segment("s", 10, Gamma(2.0, 100.0))


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(n_scenarios=0), ValueError, "n_scenarios"),
        (dict(n_scenarios=-1), ValueError, "n_scenarios"),
        (dict(n_scenarios=2.5), TypeError, "n_scenarios"),
        (dict(n_scenarios="x"), TypeError, "n_scenarios"),
        (dict(n_scenarios=True), TypeError, "n_scenarios"),
        (dict(n_scenarios=None), TypeError, "n_scenarios"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=1.5), TypeError, "seed"),
        (dict(seed=None), TypeError, "seed"),
        (dict(seed="1"), TypeError, "seed"),
        (dict(attachments=[-5.0]), ValueError, "attachments"),
        (dict(attachments=[0.0]), ValueError, "attachments"),
        (dict(attachments=[float("nan")]), ValueError, "attachments"),
        (dict(attachments=[float("inf")]), ValueError, "attachments"),
        (dict(attachments=[1000.0, 1000.0]), ValueError, "attachments"),
        (dict(attachments=["1000"]), TypeError, "attachments"),
        (dict(attachments="1000"), TypeError, "attachments"),
        (dict(attachments=[True]), TypeError, "attachments"),
        (dict(attachments=object()), TypeError, "attachments"),
        (dict(threads=0), ValueError, "threads"),
        (dict(threads=-2), ValueError, "threads"),
        (dict(threads=1.5), ValueError, "threads"),
        (dict(scenario_risk=0.05), TypeError, "scenario_risk"),
        (dict(progress=5), TypeError, "progress"),
    ],
    ids=lambda v: repr(v) if not isinstance(v, dict) else ",".join(f"{k}={w!r}" for k, w in v.items()),
)
def test_simulate_rejects_bad_arguments(kwargs, exc, match):
    args = dict(n_scenarios=10, seed=1)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        simulate(Population([SEG]), **args)


@pytest.mark.parametrize("population", [None, "pop", [SEG], (SEG,), 5, Gamma(2.0, 1.0)])
def test_simulate_rejects_non_population(population):
    with pytest.raises(TypeError, match="population"):
        simulate(population, n_scenarios=10, seed=1)


@pytest.mark.parametrize(
    "members,exc",
    [
        (0, ValueError),
        (-5, ValueError),
        (2.5, TypeError),
        ("a", TypeError),
        (None, TypeError),
        (True, TypeError),  # a bool is not a member count
    ],
)
def test_segment_rejects_bad_members(members, exc):
    with pytest.raises(exc, match="members"):
        Segment("s", members, Gamma(2.0, 1.0))


def test_segment_accepts_whole_float_members():
    assert Segment("s", 3.0, Gamma(2.0, 1.0)).members == 3


@pytest.mark.parametrize("cost", [None, 5.0, "lognormal", Poisson(2.0), NegativeBinomial(2.0, 1.0)])
def test_segment_rejects_non_distribution(cost):
    with pytest.raises(TypeError, match="cost"):
        Segment("s", 10, cost)


@pytest.mark.parametrize("name", ["", "   ", None, 5])
def test_segment_rejects_bad_name(name):
    with pytest.raises(TypeError, match="name"):
        Segment(name, 10, Gamma(2.0, 1.0))


def test_population_rejects_bad_segments():
    with pytest.raises(ValueError, match="unique"):
        Population([SEG, Segment("s", 5, Lognormal(1.0, 1.0))])
    with pytest.raises(ValueError, match="segments"):
        Population([])
    with pytest.raises(TypeError, match="segments"):
        Population([SEG, "other"])
    with pytest.raises(TypeError, match="segments"):
        Population(5)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(trend_cv=-0.1), ValueError, "trend_cv"),
        (dict(trend_cv=float("nan")), ValueError, "trend_cv"),
        (dict(trend_cv=float("inf")), ValueError, "trend_cv"),
        (dict(trend_cv="0.1"), TypeError, "trend_cv"),
        (dict(shock_probability=1.5), ValueError, "shock_probability"),
        (dict(shock_probability=-0.1), ValueError, "shock_probability"),
        (dict(shock_probability=float("nan")), ValueError, "shock_probability"),
        (dict(shock_size=-1.0), ValueError, "shock_size"),
        (dict(shock_size=-3.0), ValueError, "shock_size"),
        (dict(shock_size=float("nan")), ValueError, "shock_size"),
        (dict(shock_size=None), TypeError, "shock_size"),
    ],
    ids=lambda v: ",".join(f"{k}={w!r}" for k, w in v.items()) if isinstance(v, dict) else repr(v),
)
def test_scenario_risk_rejects_bad_values(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ScenarioRisk(**kwargs)
