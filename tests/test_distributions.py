"""Tests of vbcsim.distributions: exact moments and limited means against numerical
integration, the scipy equivalents, the distributions' own samplers, and argument
validation (hypothesis property tests)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from vbcsim import Compound, Gamma, Hurdle, Lognormal, NegativeBinomial, Pareto, Poisson, Spliced
from vbcsim.population.distributions import Severity

# ---------------------------------------------------------------------------
# the parameter grid
# ---------------------------------------------------------------------------

SEVERITIES = {
    "lognormal": Lognormal(7.0, 1.0),
    "lognormal-sigma2": Lognormal(1.0, 2.0),
    "lognormal-mean-cv": Lognormal.from_mean_cv(5000.0, 3.0),
    "gamma-shape<1": Gamma(0.5, 2000.0),
    "gamma": Gamma(3.0, 1000.0),
    "pareto-2.2": Pareto(2.2, 3000.0),
    "pareto-1.5-infinite-var": Pareto(1.5, 3000.0),
    "pareto-3.5": Pareto(3.5, 1000.0),
    "spliced-lognormal-pareto": Spliced(Lognormal(7.0, 1.0), Pareto(2.5, 20000.0), 20000.0),
    "spliced-explicit-weight-infinite-var": Spliced(Lognormal(7.0, 1.2), Pareto(1.5, 10000.0), 10000.0, 0.05),
    "spliced-gamma-body": Spliced(Gamma(2.0, 1000.0), Pareto(3.0, 5000.0), 5000.0),
    "spliced-gamma-body-shape<1-lognormal-tail": Spliced(
        Gamma(0.6, 2000.0), Lognormal(8.0, 1.0), 4000.0, 0.1
    ),
}
HURDLES = {f"hurdle-{name}": Hurdle(0.35, dist) for name, dist in SEVERITIES.items()}
CONTINUOUS = {**SEVERITIES, **HURDLES}


def _severity_part(dist):
    return dist.severity if isinstance(dist, Hurdle) else dist


def _sf(dist, x):
    if isinstance(dist, Hurdle):
        # P(X > x) = p S_Y(x) for x >= 0 (1 - cdf would cancel in the far tail; that Hurdle.cdf
        # = 1 - p + p F_Y is checked in test_hurdle_cdf_ppf)
        return dist.p_nonzero * dist.severity.sf(x)
    return dist.sf(x)


def _breaks(dist):
    """Break points for quad: quantiles of the (severity part of the) distribution and the threshold."""
    sev = _severity_part(dist)
    qs = [0.1, 0.5, 0.9, 0.99, 0.999, 1 - 1e-5, 1 - 1e-7, 1 - 1e-9, 1 - 1e-11]
    points = {float(sev.ppf(q)) for q in qs}
    if isinstance(sev, Spliced):
        points.add(sev.threshold)
    return sorted(p for p in points if 0 < p < math.inf)


# "infinity" for the integrals: beyond x = e^345 ~ 1e150 even the heaviest tail here
# (x^2 f(x) ~ x^-1.2 for Pareto alpha 2.2) contributes a relative ~1e-30
Y_MAX = 345.0


def _in_log_x(f):
    def g(y):
        x = math.exp(y)
        return f(x) * x if x > 0 else 0.0  # (x underflows only where g is ~0)

    return g


def _quad(f, a, b, breaks=()):
    """integral_a^b f by quad, split at ``breaks`` (b may be inf).

    The first piece (from 0, where a Gamma density with shape < 1 is singular) and an
    infinite last piece (heavy tails) are integrated in log x, where the integrand
    f(e^y) e^y decays exponentially at both ends.
    """
    edges = [a, *(p for p in breaks if a < p < b), b]
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if lo == 0 or hi == math.inf:
            ylo = -math.inf if lo == 0 else math.log(lo)
            yhi = Y_MAX if hi == math.inf else math.log(hi)
            piece = integrate.quad(_in_log_x(f), ylo, yhi, limit=400, epsrel=1e-11)
        else:
            piece = integrate.quad(f, lo, hi, limit=400, epsabs=0.0, epsrel=1e-11)
        total += piece[0]
    return total


def _limited_second_moment(dist, d):
    """E[min(X, d)^2] from the closed-form partial moments."""
    sev = _severity_part(dist)
    out = float(sev.partial_moment(2, d)) + d * d * float(sev.sf(d))
    return dist.p_nonzero * out if isinstance(dist, Hurdle) else out


# ---------------------------------------------------------------------------
# exact moments and limited means against numerical integration
# ---------------------------------------------------------------------------

RTOL_QUAD = 1e-7


@pytest.mark.parametrize("name", CONTINUOUS)
def test_mean_against_quad(name):
    dist = CONTINUOUS[name]
    breaks = _breaks(dist)
    # E[X] = integral of the survival function
    assert dist.mean() == pytest.approx(_quad(lambda x: _sf(dist, x), 0, math.inf, breaks), rel=RTOL_QUAD)
    if isinstance(dist, Severity):
        # ... and of x f(x)
        assert dist.mean() == pytest.approx(
            _quad(lambda x: x * dist.pdf(x), 0, math.inf, breaks), rel=RTOL_QUAD
        )


@pytest.mark.parametrize("name", CONTINUOUS)
def test_second_moment_against_quad(name):
    dist = CONTINUOUS[name]
    if not math.isfinite(dist.var()):
        # infinite variance (tail alpha <= 2): the truncated second moment E[X^2; X <= x], by quad,
        # must keep growing with x (like x^(2 - alpha)) instead of converging
        sev = _severity_part(dist)
        m2 = [_quad(lambda y: y * y * sev.pdf(y), 0, x, _breaks(sev)) for x in (1e6, 1e9, 1e12)]
        assert m2[2] > 10 * m2[1] > 100 * m2[0]
        np.testing.assert_allclose([sev.partial_moment(2, x) for x in (1e6, 1e9, 1e12)], m2, rtol=1e-7)
        assert dist.std() == math.inf and dist.second_moment() == math.inf
        return
    breaks = _breaks(dist)
    m2 = _quad(lambda x: 2 * x * _sf(dist, x), 0, math.inf, breaks)  # E[X^2] = integral 2 x S(x)
    assert dist.second_moment() == pytest.approx(m2, rel=RTOL_QUAD)
    assert dist.var() == pytest.approx(m2 - dist.mean() ** 2, rel=1e-6)
    assert dist.std() == pytest.approx(math.sqrt(dist.var()), rel=1e-14)
    if isinstance(dist, Severity):
        assert dist.second_moment() == pytest.approx(
            _quad(lambda x: x * x * dist.pdf(x), 0, math.inf, breaks), rel=RTOL_QUAD
        )


def _d_grid(dist):
    sev = _severity_part(dist)
    ds = [float(sev.ppf(q)) for q in (0.01, 0.3, 0.5, 0.9, 0.99, 0.9999)] + [0.5 * sev.mean(), 3 * sev.mean()]
    if isinstance(sev, Spliced):
        ds += [sev.threshold, 0.5 * sev.threshold, 2 * sev.threshold]
    return [d for d in ds if math.isfinite(d)]


@pytest.mark.parametrize("name", CONTINUOUS)
def test_limited_mean_against_quad(name):
    dist = CONTINUOUS[name]
    breaks = _breaks(dist)
    ds = _d_grid(dist)
    for d in ds:
        expected = _quad(lambda x: _sf(dist, x), 0, d, breaks)  # E[min(X, d)] = integral_0^d S(x) dx
        assert dist.limited_mean(d) == pytest.approx(expected, rel=RTOL_QUAD), d
        assert dist.stop_loss(d) == pytest.approx(dist.mean() - expected, rel=1e-6, abs=1e-9 * dist.mean())
    # vectorised over d, scalar in -> float out
    np.testing.assert_allclose(
        dist.limited_mean(np.array(ds)), [dist.limited_mean(d) for d in ds], rtol=1e-14
    )
    assert isinstance(dist.limited_mean(ds[0]), float)
    assert dist.limited_mean(0.0) == 0.0
    assert dist.limited_mean(math.inf) == pytest.approx(dist.mean(), rel=1e-12)
    assert dist.stop_loss(math.inf) == pytest.approx(0.0, abs=1e-12 * dist.mean())


@pytest.mark.parametrize("name", SEVERITIES)
def test_partial_moments_against_quad(name):
    dist = SEVERITIES[name]
    breaks = _breaks(dist)
    for d in _d_grid(dist):
        for k in (0, 1, 2):
            expected = _quad(lambda x, k=k: x**k * dist.pdf(x), 0, d, breaks)
            assert float(dist.partial_moment(k, d)) == pytest.approx(expected, rel=1e-7), (k, d)


# ---------------------------------------------------------------------------
# against scipy.stats
# ---------------------------------------------------------------------------

SCIPY_CASES = [
    (Lognormal(7.0, 1.0), stats.lognorm(1.0, scale=math.exp(7.0))),
    (Lognormal(-1.0, 2.0), stats.lognorm(2.0, scale=math.exp(-1.0))),
    (Lognormal(3.0, 0.1), stats.lognorm(0.1, scale=math.exp(3.0))),
    (Gamma(0.5, 2000.0), stats.gamma(0.5, scale=2000.0)),
    (Gamma(3.0, 1000.0), stats.gamma(3.0, scale=1000.0)),
    (Gamma(40.0, 0.5), stats.gamma(40.0, scale=0.5)),
    (Pareto(2.2, 3000.0), stats.lomax(2.2, scale=3000.0)),
    (Pareto(1.5, 3000.0), stats.lomax(1.5, scale=3000.0)),
    (Pareto(0.8, 10.0), stats.lomax(0.8, scale=10.0)),
    (Pareto(6.0, 50.0), stats.lomax(6.0, scale=50.0)),
]
QS = np.array([0.0, 1e-9, 1e-4, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.9999, 1 - 1e-9])


@pytest.mark.parametrize(("dist", "ref"), SCIPY_CASES, ids=repr)
def test_against_scipy(dist, ref):
    x = ref.ppf(np.linspace(0.001, 0.999, 41))
    x = np.concatenate([[0.0, 1e-3], x, x * 10, [1e12]])
    np.testing.assert_allclose(dist.cdf(x), ref.cdf(x), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dist.sf(x), ref.sf(x), rtol=1e-10, atol=1e-14)
    xp = x[x > 0]
    np.testing.assert_allclose(dist.pdf(xp), ref.pdf(xp), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(dist.ppf(QS), ref.ppf(QS), rtol=1e-9)
    assert dist.ppf(1.0) == math.inf
    assert dist.mean() == pytest.approx(ref.mean(), rel=1e-12)
    if math.isfinite(ref.var()):
        assert dist.var() == pytest.approx(ref.var(), rel=1e-12)
    else:
        assert dist.var() == math.inf
    if math.isfinite(ref.mean()):
        for d in ref.ppf([0.1, 0.5, 0.9, 0.999]):
            assert dist.limited_mean(d) == pytest.approx(ref.expect(lambda y, d=d: min(y, d)), rel=1e-7)


def test_scalars_and_shapes():
    dist = Lognormal(7.0, 1.0)
    for method in (dist.cdf, dist.sf, dist.pdf, dist.limited_mean, dist.stop_loss):
        assert isinstance(method(1000.0), float)
        assert np.shape(method(np.ones((2, 3)))) == (2, 3)
    assert isinstance(dist.ppf(0.5), float)
    assert np.shape(dist.ppf(np.full((4, 1), 0.5))) == (4, 1)
    assert dist.cdf(-1.0) == 0.0 and dist.sf(-1.0) == 1.0 and dist.pdf(-1.0) == 0.0
    assert dist.limited_mean(-2.0) == -2.0  # min(X, d) = d for d < 0 <= X
    for bad in (-0.1, 1.1, math.nan):
        with pytest.raises(ValueError, match="q"):
            dist.ppf(bad)


# ---------------------------------------------------------------------------
# quantiles and the splice
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SEVERITIES)
def test_cdf_ppf_round_trip(name):
    dist = SEVERITIES[name]
    q = np.concatenate([QS[1:], np.linspace(0.001, 0.999, 97)])
    if isinstance(dist, Spliced):
        w = dist.tail_weight
        q = np.concatenate([q, [1 - w, 1 - w - 1e-9, 1 - w + 1e-9]])
    x = dist.ppf(q)
    assert np.all(np.diff(x[np.argsort(q)]) >= 0)
    np.testing.assert_allclose(dist.cdf(x), q, rtol=1e-9, atol=1e-13)
    assert dist.ppf(0.0) == 0.0 and dist.ppf(1.0) == math.inf


@pytest.mark.parametrize("name", HURDLES)
def test_hurdle_cdf_ppf(name):
    dist = HURDLES[name]
    p = dist.p_nonzero
    assert dist.cdf(0.0) == pytest.approx(1 - p)
    assert dist.cdf(-1e-9) == 0.0
    assert np.all(dist.ppf([0.0, 0.3, 1 - p]) == 0.0)  # the atom at zero
    assert dist.ppf(1.0) == math.inf
    q = 1 - p + p * np.linspace(0.001, 0.999, 51)
    np.testing.assert_allclose(dist.cdf(dist.ppf(q)), q, rtol=1e-9)
    x = np.array([0.5, 1.0, 10.0, 1e4]) * dist.severity.mean()
    np.testing.assert_allclose(dist.cdf(x), 1 - p + p * dist.severity.cdf(x), rtol=1e-14)


SPLICES = {n: d for n, d in SEVERITIES.items() if isinstance(d, Spliced)}


@pytest.mark.parametrize("name", SPLICES)
def test_spliced_structure(name):
    dist = SPLICES[name]
    t, w = dist.threshold, dist.tail_weight
    assert dist.cdf(t) == pytest.approx(1 - w, rel=1e-12)
    # below the threshold: the body conditioned on X <= t
    x = t * np.array([0.01, 0.3, 0.9, 1.0])
    np.testing.assert_allclose(dist.cdf(x), (1 - w) * dist.body.cdf(x) / dist.body.cdf(t), rtol=1e-12)
    # above: threshold + tail
    y = t * np.array([1.0001, 1.5, 10.0, 1000.0])
    np.testing.assert_allclose(dist.sf(y), w * dist.tail.sf(y - t), rtol=1e-10)
    np.testing.assert_allclose(dist.pdf(y), w * dist.tail.pdf(y - t), rtol=1e-10)
    if isinstance(dist.tail, Pareto) and dist.tail.scale == t:
        # tail = Pareto(alpha, scale=t): a Pareto I tail P(X > y) = w (t / y)^alpha above t
        np.testing.assert_allclose(dist.sf(y), w * (t / y) ** dist.tail.alpha, rtol=1e-10)


@pytest.mark.parametrize(
    "dist",
    [
        Spliced(Lognormal(7.0, 1.0), Pareto(2.5, 20000.0), 20000.0),
        Spliced(Gamma(2.0, 1000.0), Pareto(3.0, 5000.0), 5000.0),
        Spliced(Gamma(0.5, 1000.0), Pareto(1.2, 800.0), 800.0),
        Spliced(Lognormal(5.0, 2.0), Pareto(2.0, 30.0), 400.0),
        Spliced(Pareto(3.0, 1000.0), Pareto(2.0, 5000.0), 5000.0),
    ],
    ids=repr,
)
def test_spliced_density_continuous_when_weight_is_chosen(dist):
    t = dist.threshold
    assert 0 < dist.tail_weight < 1
    below, above = dist.pdf(t), dist.pdf(np.nextafter(t, math.inf))
    assert below == pytest.approx(above, rel=1e-9)
    # and the relation in the docstring
    assert (1 - dist.tail_weight) * dist.body.pdf(t) / dist.body.cdf(t) == pytest.approx(
        dist.tail_weight * dist.tail.pdf(0.0), rel=1e-12
    )


def test_spliced_edge_weights():
    body, tail, t = Gamma(0.7, 1000.0), Lognormal(6.0, 1.0), 3000.0
    only_tail = Spliced(body, tail, t, 1.0)
    assert only_tail.ppf(0.0) == t  # the support starts at the threshold
    assert only_tail.mean() == pytest.approx(t + tail.mean(), rel=1e-12)
    assert only_tail.var() == pytest.approx(tail.var(), rel=1e-9)
    assert np.all(np.isfinite(only_tail.pdf(np.array([0.0, 1.0, t, 2 * t]))))
    only_body = Spliced(body, Gamma(0.5, 10.0), t, 0.0)  # the tail has an infinite density at 0
    assert only_body.ppf(1.0) == pytest.approx(t)
    assert only_body.cdf(t) == 1.0
    assert np.all(np.isfinite(only_body.pdf(np.array([1.0, t, 2 * t]))))
    assert only_body.mean() == pytest.approx(float(body.partial_moment(1, t)) / body.cdf(t), rel=1e-12)
    x = only_body.sample(10_000, rng=1)
    assert x.max() <= t


# ---------------------------------------------------------------------------
# against their own samples
# ---------------------------------------------------------------------------
#
# Tolerance: with n draws the sample mean has standard error SE = std / sqrt(n), std the
# *exact* standard deviation.  We allow 4 SE: under the normal approximation a correct
# implementation lands outside that with probability ~6e-5, so a failure means a real
# disagreement, while a wrong mean or variance (or a sampler drawing from a different law)
# shifts the sample mean by far more than 4 SE at these n.  Seeds are fixed, so the tests
# are deterministic.  Where the variance is infinite (Pareto alpha <= 2 tails) the sample
# mean obeys no CLT, so we compare the sample mean of min(X, d), whose variance is finite,
# with limited_mean(d) instead (and do that for every distribution as well).

N_SAMPLE = 100_000
KS_MIN_P = 1e-3


@pytest.mark.parametrize("name", CONTINUOUS)
def test_sample_moments(name):
    dist = CONTINUOUS[name]
    rng = np.random.default_rng(sorted(CONTINUOUS).index(name) + 12345)
    x = dist.sample(N_SAMPLE, rng)
    assert x.shape == (N_SAMPLE,) and np.all(x >= 0) and np.all(np.isfinite(x))
    if math.isfinite(dist.var()):
        se = dist.std() / math.sqrt(N_SAMPLE)
        assert abs(x.mean() - dist.mean()) < 4 * se
    for d in _d_grid(dist)[1:5]:
        lm = dist.limited_mean(d)
        se = math.sqrt(max(_limited_second_moment(dist, d) - lm * lm, 0.0) / N_SAMPLE)
        assert abs(np.minimum(x, d).mean() - lm) < 4 * se + 1e-12 * d, d


@pytest.mark.parametrize("name", SEVERITIES)
def test_sample_ks(name):
    dist = SEVERITIES[name]
    x = dist.sample(N_SAMPLE, np.random.default_rng(sorted(SEVERITIES).index(name) + 777))
    assert stats.kstest(x, dist.cdf).pvalue > KS_MIN_P


@pytest.mark.parametrize("name", HURDLES)
def test_hurdle_sample(name):
    dist = HURDLES[name]
    x = dist.sample(N_SAMPLE, np.random.default_rng(sorted(HURDLES).index(name) + 999))
    p = dist.p_nonzero
    # the share of non-zero members: binomial, SE sqrt(p (1 - p) / n)
    assert abs(np.mean(x > 0) - p) < 4 * math.sqrt(p * (1 - p) / N_SAMPLE)
    # the non-zero part is a sample of the severity
    assert stats.kstest(x[x > 0], dist.severity.cdf).pvalue > KS_MIN_P


def test_sample_rng_handling():
    dist = Spliced(Lognormal(7.0, 1.0), Pareto(2.5, 20000.0), 20000.0)
    np.testing.assert_array_equal(dist.sample(100, 5), dist.sample(100, np.random.default_rng(5)))
    assert dist.sample((3, 4), 1).shape == (3, 4)
    assert dist.sample(0, 1).shape == (0,)
    assert Hurdle(0.5, dist).sample((2, 5), 2).shape == (2, 5)
    with pytest.raises(TypeError, match="rng"):
        dist.sample(10, "seed")


FREQUENCIES = [
    Poisson(0.3),
    Poisson(4.0),
    Poisson(0.0),
    NegativeBinomial(2.0, 0.5),
    NegativeBinomial(0.2, 3.0),
    NegativeBinomial(10.0, 50.0),
]


@pytest.mark.parametrize("freq", FREQUENCIES, ids=repr)
def test_frequency_exact(freq):
    m = freq.mean()
    if isinstance(freq, NegativeBinomial):
        assert freq.var() == pytest.approx(m + m * m / freq.dispersion, rel=1e-14)
    else:
        assert freq.var() == m
    ks = np.arange(2000)
    pmf = freq.pmf(ks)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert (ks * pmf).sum() == pytest.approx(m, rel=1e-10, abs=1e-300)
    assert ((ks - m) ** 2 * pmf).sum() == pytest.approx(freq.var(), rel=1e-10, abs=1e-300)
    for z in (0.0, 0.3, 0.9):
        assert float(freq.pgf(z)) == pytest.approx((z**ks * pmf).sum(), rel=1e-12)
    for d in (0.0, 0.4, 1.0, 2.5, 7.0, 30.0, 1e9, math.inf):
        assert freq.limited_mean(d) == pytest.approx((np.minimum(ks, d) * pmf).sum(), rel=1e-10, abs=1e-15)
    for k in range(8):  # ppf(cdf(k)) = k for the support points with positive mass
        if freq.pmf(k) > 1e-12 and freq.cdf(k) < 1:
            assert freq.ppf(freq.cdf(k)) == k
    assert freq.ppf(0.0) == 0.0


@pytest.mark.parametrize("freq", FREQUENCIES, ids=repr)
def test_frequency_sample(freq):
    n = 200_000
    x = freq.sample(n, np.random.default_rng(2024))
    assert x.shape == (n,) and np.all(x >= 0)
    m, v = freq.mean(), freq.var()
    if v == 0:
        assert np.all(x == 0)
        return
    # mean: SE = std / sqrt(n); variance: SE of the sample variance = sqrt((mu4 - var^2) / n),
    # mu4 the exact fourth central moment (from scipy's excess kurtosis)
    ref = stats.poisson(m) if isinstance(freq, Poisson) else stats.nbinom(freq.dispersion, freq.p)
    _, var_ref, _, kurt = (float(s) for s in ref.stats(moments="mvsk"))
    assert v == pytest.approx(var_ref, rel=1e-12)
    mu4 = (kurt + 3) * v * v
    assert abs(x.mean() - m) < 4 * math.sqrt(v / n)
    assert abs(x.var(ddof=1) - v) < 4 * math.sqrt((mu4 - v * v) / n)


COMPOUNDS = [
    Compound(Poisson(2.0), Lognormal(6.0, 1.0)),
    Compound(NegativeBinomial(1.5, 0.8), Gamma(0.7, 500.0)),
    Compound(Poisson(0.5), Spliced(Lognormal(7.0, 1.0), Pareto(4.5, 5000.0), 5000.0)),
    Compound(NegativeBinomial(3.0, 2.0), Pareto(5.0, 1000.0)),
]


@pytest.mark.parametrize("dist", COMPOUNDS, ids=repr)
def test_compound_moments_and_sample(dist):
    freq, sev = dist.frequency, dist.severity
    assert dist.mean() == pytest.approx(freq.mean() * sev.mean(), rel=1e-14)
    assert dist.var() == pytest.approx(freq.mean() * sev.var() + freq.var() * sev.mean() ** 2, rel=1e-14)
    n = 200_000
    x = dist.sample(n, np.random.default_rng(31))
    assert x.shape == (n,) and np.all(x >= 0)
    assert np.mean(x == 0) == pytest.approx(float(freq.pmf(0)), abs=4 * math.sqrt(0.25 / n))
    # mean: 4 exact SEs.  Variance: the SE of the sample variance is sqrt((mu4 - var^2) / n);
    # the compound's fourth moment is not to hand, so mu4 is estimated from the sample itself
    # (all severities here have a finite fourth moment, so that estimate is consistent).
    assert abs(x.mean() - dist.mean()) < 4 * dist.std() / math.sqrt(n)
    dev2 = (x - x.mean()) ** 2
    assert abs(x.var(ddof=1) - dist.var()) < 4 * dev2.std() / math.sqrt(n)


def test_compound_sample_shapes_and_zero_frequency():
    dist = COMPOUNDS[0]
    assert dist.sample((3, 4), 1).shape == (3, 4)
    assert dist.sample(0, 1).shape == (0,)
    np.testing.assert_array_equal(dist.sample(50, 9), dist.sample(50, np.random.default_rng(9)))
    none = Compound(Poisson(0.0), Pareto(0.8, 1.0))  # no claims: 0, not 0 * inf
    assert none.mean() == 0.0 and none.var() == 0.0
    assert np.all(none.sample(100, 1) == 0)
    assert Compound(Poisson(1.0), Pareto(1.5, 1.0)).var() == math.inf
    assert Hurdle(0.4, dist).mean() == pytest.approx(0.4 * dist.mean(), rel=1e-14)
    assert Hurdle(0.4, dist).second_moment() == pytest.approx(0.4 * dist.second_moment(), rel=1e-14)


@pytest.mark.parametrize("dist", COMPOUNDS[:2], ids=repr)
def test_compound_distribution_via_exact(dist):
    # Compound's cdf/ppf/limited_mean come from vbcsim.exact.aggregate (a separate module)
    exact = pytest.importorskip("vbcsim.exact")
    if not hasattr(exact, "aggregate"):
        pytest.skip("vbcsim.exact.aggregate (the FFT oracle) is not there yet")
    n = 200_000
    x = dist.sample(n, np.random.default_rng(47))
    # the FFT oracle is documented as accurate to about 1e-3 relative; add that to the 4 SE
    for q in (0.5, 0.9, 0.99):
        c = float(np.quantile(x, q))
        assert abs(float(dist.cdf(c)) - q) < 4 * math.sqrt(q * (1 - q) / n) + 2e-3
    for d in np.quantile(x, [0.5, 0.9, 0.99]):
        lm = float(dist.limited_mean(d))
        y = np.minimum(x, d)
        assert abs(y.mean() - lm) < 4 * y.std() / math.sqrt(n) + 2e-3 * lm
    # a compound sum has an atom at 0 (no claims): inside it cdf(ppf(q)) = P(S = 0) >= q
    atom = float(dist.frequency.pmf(0))
    q = np.array([0.1, 0.5, 0.9, 0.99])
    expected = np.where(q <= atom, atom, q)
    np.testing.assert_allclose(dist.cdf(dist.ppf(q)), expected, atol=2e-3)


# ---------------------------------------------------------------------------
# regressions: infinities and overflow
# ---------------------------------------------------------------------------


def test_infinite_and_overflowing_moments_are_inf_not_errors():
    assert Pareto(1.0, 5.0).mean() == math.inf
    assert Pareto(0.8, 5.0).limited_mean(math.inf) == math.inf
    assert Pareto(2.0, 5.0).var() == math.inf
    assert Lognormal(800.0, 1.0).mean() == math.inf
    assert Lognormal(800.0, 1.0).var() == math.inf
    assert Lognormal(0.0, 40.0).var() == math.inf
    big = Lognormal(0.0, 40.0)  # mean e^800 overflows, but E[min(X, 10)] <= 10 does not
    assert 0 < big.limited_mean(10.0) <= 10.0
    assert Gamma(1.0, 1e200).var() == math.inf
    assert Pareto(3.0, 1e200).var() == math.inf
    assert NegativeBinomial(1e200, 1.0).var() == math.inf
    assert Hurdle(0.0, Pareto(0.8, 1.0)).mean() == 0.0  # always zero: 0, not 0 * inf
    assert Hurdle(0.0, Pareto(0.8, 1.0)).limited_mean(5.0) == 0.0
    assert Hurdle(0.5, Pareto(0.8, 1.0)).mean() == math.inf
    for dist in (Pareto(2.2, 3.0), Gamma(3.0, 1.0), Lognormal(0.0, 1.0)):
        assert dist.cdf(math.inf) == 1.0 and dist.sf(math.inf) == 0.0 and dist.pdf(math.inf) == 0.0
    assert Poisson(3.0).limited_mean(math.inf) == 3.0


# ---------------------------------------------------------------------------
# validation (hypothesis)
# ---------------------------------------------------------------------------

_BODY, _TAIL = Lognormal(7.0, 1.0), Pareto(2.5, 20000.0)

# constructor, valid keyword arguments, and the kind of each checked argument
CONSTRUCTORS = {
    "Lognormal": (Lognormal, {"mu": 7.0, "sigma": 1.0}, {"mu": "real", "sigma": "positive"}),
    "Lognormal.from_mean_cv": (
        Lognormal.from_mean_cv,
        {"mean": 1e3, "cv": 2.0},
        {"mean": "positive", "cv": "positive"},
    ),
    "Gamma": (Gamma, {"shape": 2.0, "scale": 100.0}, {"shape": "positive", "scale": "positive"}),
    "Gamma.from_mean_cv": (
        Gamma.from_mean_cv,
        {"mean": 1e3, "cv": 2.0},
        {"mean": "positive", "cv": "positive"},
    ),
    "Pareto": (Pareto, {"alpha": 2.5, "scale": 100.0}, {"alpha": "positive", "scale": "positive"}),
    "Spliced": (
        Spliced,
        {"body": _BODY, "tail": _TAIL, "threshold": 20000.0, "tail_weight": 0.05},
        {"threshold": "positive", "tail_weight": "probability"},
    ),
    "Hurdle": (Hurdle, {"p_nonzero": 0.3, "severity": _BODY}, {"p_nonzero": "probability"}),
    "Poisson": (Poisson, {"lam": 2.0}, {"lam": "nonnegative"}),
    "NegativeBinomial": (
        NegativeBinomial,
        {"mean": 2.0, "dispersion": 0.5},
        {"mean": "positive", "dispersion": "positive"},
    ),
}
ARGUMENTS = [(c, arg) for c, (_, _, kinds) in CONSTRUCTORS.items() for arg in kinds]

NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
BAD_VALUES = {
    "real": NON_FINITE,
    "positive": NON_FINITE | st.floats(max_value=0.0, allow_nan=False) | st.integers(max_value=0),
    "nonnegative": NON_FINITE
    | st.floats(max_value=0.0, exclude_max=True, allow_nan=False)
    | st.integers(max_value=-1),
    "probability": NON_FINITE
    | st.floats(max_value=0.0, exclude_max=True, allow_nan=False)
    | st.floats(min_value=1.0, exclude_min=True, allow_nan=False)
    | st.integers(min_value=2)
    | st.integers(max_value=-1),
}
BAD_TYPES = st.sampled_from(["1.0", "abc", None, True, [1.0], 1j, {"x": 1}])


@pytest.mark.parametrize(("ctor", "arg"), ARGUMENTS)
@settings(deadline=None, max_examples=40)
@given(data=st.data())
def test_bad_values_raise_value_error_naming_the_argument(ctor, arg, data):
    factory, kwargs, kinds = CONSTRUCTORS[ctor]
    bad = data.draw(BAD_VALUES[kinds[arg]], label=arg)
    with pytest.raises(ValueError, match=rf"\b{arg}\b"):
        factory(**{**kwargs, arg: bad})


@pytest.mark.parametrize(("ctor", "arg"), ARGUMENTS)
@settings(deadline=None, max_examples=20)
@given(bad=BAD_TYPES)
def test_bad_types_raise_type_error_naming_the_argument(ctor, arg, bad):
    factory, kwargs, _ = CONSTRUCTORS[ctor]
    if arg == "tail_weight" and bad is None:
        return  # None is valid: the continuous splice
    with pytest.raises(TypeError, match=rf"\b{arg}\b"):
        factory(**{**kwargs, arg: bad})


@pytest.mark.parametrize(
    ("factory", "arg"),
    [
        (lambda v: Spliced(v, _TAIL, 20000.0), "body"),
        (lambda v: Spliced(_BODY, v, 20000.0), "tail"),
        (lambda v: Hurdle(0.5, v), "severity"),
        (lambda v: Compound(v, _BODY), "frequency"),
        (lambda v: Compound(Poisson(1.0), v), "severity"),
    ],
)
@pytest.mark.parametrize("bad", [None, "lognormal", 3.0, Poisson(1.0), Hurdle(0.5, _BODY)])
def test_bad_components_raise_type_error(factory, arg, bad):
    if arg == "frequency" and isinstance(bad, Poisson):
        return  # valid
    with pytest.raises(TypeError, match=rf"\b{arg}\b"):
        factory(bad)


def test_spliced_rejects_impossible_splices():
    with pytest.raises(ValueError, match="threshold"):  # (almost) no body mass below the threshold
        Spliced(Lognormal(10.0, 0.5), _TAIL, 10.0)
    with pytest.raises(ValueError, match="tail_weight"):  # tail density 0 at 0: no continuous splice
        Spliced(_BODY, Gamma(3.0, 100.0), 5000.0)
    with pytest.raises(ValueError, match="tail_weight"):  # tail density inf at 0
        Spliced(_BODY, Gamma(0.5, 100.0), 5000.0)


# -- valid random parameters ------------------------------------------------

mus = st.floats(-5.0, 12.0)
sigmas = st.floats(0.05, 3.0)
positive_scales = st.floats(1e-2, 1e5)
lognormals = st.builds(Lognormal, mus, sigmas)
gammas = st.builds(Gamma, st.floats(0.05, 50.0), positive_scales)
paretos = st.builds(Pareto, st.floats(1.05, 10.0), positive_scales)  # finite mean


@st.composite
def spliceds(draw):
    body = draw(lognormals | gammas)
    t = float(body.ppf(draw(st.floats(0.5, 0.999))))
    tail = draw(st.builds(Pareto, st.floats(1.1, 5.0), st.just(t)) | st.builds(Lognormal, mus, sigmas))
    weight = draw(st.none() | st.floats(0.0, 1.0)) if isinstance(tail, Pareto) else draw(st.floats(0.0, 1.0))
    return Spliced(body, tail, t, weight)


severities = lognormals | gammas | paretos | spliceds()
costs = severities | st.builds(Hurdle, st.floats(1e-6, 1.0), severities)
frequencies = st.builds(Poisson, st.floats(0.0, 100.0)) | st.builds(
    NegativeBinomial, st.floats(1e-3, 100.0), st.floats(1e-2, 100.0)
)


@settings(deadline=None, max_examples=150)
@given(dist=costs)
def test_valid_parameters_give_finite_moments(dist):
    m, v = dist.mean(), dist.var()
    assert math.isfinite(m) and m > 0
    assert v >= 0 and not math.isnan(v)
    assert dist.second_moment() >= m * m * (1 - 1e-12) or v == math.inf


@settings(deadline=None, max_examples=150)
@given(dist=costs, factors=st.lists(st.just(0.0) | st.floats(1e-100, 50.0), min_size=2, max_size=12))
def test_limited_mean_monotone_and_bounded(dist, factors):
    m = dist.mean()
    d = np.sort(np.array(factors) * m)
    lm = np.asarray(dist.limited_mean(d))
    tol = 1e-10 * m
    assert np.all(np.isfinite(lm))
    assert np.all(np.diff(lm) >= -tol)  # non-decreasing in d
    assert np.all(lm >= -tol)
    assert np.all(lm <= np.minimum(d, m) + tol)  # E[min(X, d)] <= min(d, E[X])
    sl = np.asarray(dist.stop_loss(d))
    assert np.all(np.diff(sl) <= tol)  # the stop-loss premium is non-increasing in d
    assert np.all(sl >= -tol) and np.all(sl <= m + tol)


@settings(deadline=None, max_examples=100)
@given(
    dist=st.builds(Pareto, st.floats(0.05, 1.0), positive_scales),
    d=st.lists(st.just(0.0) | st.floats(1e-100, 1e12), min_size=2, max_size=12),
)
def test_limited_mean_infinite_mean(dist, d):
    assert dist.mean() == math.inf and dist.var() == math.inf
    d = np.sort(np.array(d))
    lm = np.asarray(dist.limited_mean(d))
    assert np.all(np.isfinite(lm)) and np.all(lm >= 0)
    assert np.all(np.diff(lm) >= -1e-12 * lm[1:])
    assert np.all(lm <= d * (1 + 1e-12))
    assert np.all(np.asarray(dist.stop_loss(d)) == math.inf)


@settings(deadline=None, max_examples=100)
@given(dist=frequencies, factors=st.lists(st.just(0.0) | st.floats(1e-100, 20.0), min_size=2, max_size=8))
def test_frequencies_valid(dist, factors):
    m = dist.mean()
    assert math.isfinite(m) and m >= 0
    assert dist.var() >= m * (1 - 1e-12)  # Poisson: = mean, negative binomial: overdispersed
    d = np.sort(np.array(factors) * max(m, 1.0))
    lm = np.asarray(dist.limited_mean(d))
    tol = 1e-10 * max(m, 1.0)
    assert np.all(np.diff(lm) >= -tol)
    assert np.all(lm <= np.minimum(d, m) + tol)


@settings(deadline=None, max_examples=50)
@given(sev=severities, freq=frequencies)
def test_compound_valid(sev, freq):
    dist = Compound(freq, sev)
    assert dist.mean() == pytest.approx(freq.mean() * sev.mean(), rel=1e-14)
    assert dist.var() >= 0


@settings(deadline=None, max_examples=200)
@given(mean=st.floats(1e-3, 1e7), cv=st.floats(1e-3, 20.0), cls=st.sampled_from([Lognormal, Gamma]))
def test_from_mean_cv_is_exact(mean, cv, cls):
    dist = cls.from_mean_cv(mean, cv)
    assert dist.mean() == pytest.approx(mean, rel=1e-12)
    assert dist.cv() == pytest.approx(cv, rel=1e-12)
    assert dist.std() == pytest.approx(mean * cv, rel=1e-12)
