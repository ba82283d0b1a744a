"""Tests of vbcsim.exact, the FFT oracle for aggregate costs.

References are independent of the FFT: scipy's distributions (lognorm, gamma,
lomax) with stop-loss premiums by quadrature of the survival function; closed
forms for sums (n iid Gamma(k, theta) is Gamma(n k, theta); a compound Poisson
or negative binomial sum of Gamma claims with integer shape is a series of
gamma distributions, and n iid such members again a compound sum with count
Poisson(n lam) or NB(n r, p)); and, for panels without a closed form,
self-convergence against a much finer user-specified grid.  The target is 1e-3
relative (the measured errors are 1e-4 or below, mostly 1e-6 to 1e-5).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from vbcsim import Compound, Gamma, Hurdle, Lognormal, NegativeBinomial, Pareto, Poisson, Spliced, exact
from vbcsim.population.segments import Population, Segment

RTOL = 1e-3  # the accuracy target for VaR, TVaR and stop-loss premiums
QS = np.array([0.9, 0.95, 0.99, 0.995])


def _rel(got, ref):
    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    return float(np.max(np.abs(got / ref - 1.0)))


def _stop_loss_quad(sf, d):
    """E[(X - d)+] = integral_d^inf sf, by quad in log x (heavy tails decay exponentially there)."""

    def g(y):
        x = math.exp(y)
        return float(sf(x)) * x

    lo = math.log(d)
    edges = [lo, lo + 1.0, lo + 3.0, lo + 8.0, lo + 20.0, lo + 60.0, lo + 200.0]
    return sum(
        integrate.quad(g, a, b, limit=200, epsabs=0.0, epsrel=1e-11)[0]
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    )


def _check_against(agg, ppf, stop_loss, ds, rtol=RTOL):
    """VaR at QS, TVaR at QS and stop-loss at ds against reference functions; returns the errors."""
    var_ref = np.array([ppf(q) for q in QS])
    tvar_ref = var_ref + np.array([stop_loss(v) for v in var_ref]) / (1 - QS)
    sl_ref = np.array([stop_loss(d) for d in ds])
    errs = (_rel(agg.ppf(QS), var_ref), _rel(agg.tvar(QS), tvar_ref), _rel(agg.stop_loss(ds), sl_ref))
    assert errs[0] <= rtol, f"VaR off by {errs[0]:.2e}"
    assert errs[1] <= rtol, f"TVaR off by {errs[1]:.2e}"
    assert errs[2] <= rtol, f"stop-loss off by {errs[2]:.2e}"
    return errs


# ---------------------------------------------------------------------------
# one member against scipy
# ---------------------------------------------------------------------------

SCIPY_CASES = {
    "lognormal-0.5": (Lognormal(7.0, 0.5), stats.lognorm(0.5, scale=math.exp(7.0))),
    "lognormal-1": (Lognormal(7.0, 1.0), stats.lognorm(1.0, scale=math.exp(7.0))),
    "lognormal-1.5": (Lognormal(2.0, 1.5), stats.lognorm(1.5, scale=math.exp(2.0))),
    "lognormal-2": (Lognormal(0.0, 2.0), stats.lognorm(2.0)),
    "pareto-2.2": (Pareto(2.2, 3000.0), stats.lomax(2.2, scale=3000.0)),
    "pareto-3": (Pareto(3.0, 1.0), stats.lomax(3.0, scale=1.0)),
    "pareto-4": (Pareto(4.0, 500.0), stats.lomax(4.0, scale=500.0)),
    "gamma-2": (Gamma(2.0, 1000.0), stats.gamma(2.0, scale=1000.0)),
    "gamma-0.5": (Gamma(0.5, 3.0), stats.gamma(0.5, scale=3.0)),
    "gamma-40": (Gamma(40.0, 10.0), stats.gamma(40.0, scale=10.0)),
}


@pytest.mark.parametrize("name", SCIPY_CASES)
def test_single_member_against_scipy(name):
    dist, ref = SCIPY_CASES[name]
    agg = exact.aggregate(dist)
    ds = np.array([ref.mean(), ref.ppf(0.9), ref.ppf(0.99)])
    _check_against(agg, ref.ppf, lambda d: _stop_loss_quad(ref.sf, d), ds)
    assert agg.mean() == pytest.approx(ref.mean(), rel=1e-9)
    np.testing.assert_allclose(agg.cdf(ref.ppf(QS)), QS, rtol=0, atol=1e-5)


def _spliced(sigma, alpha, q_threshold, mu=7.0):
    body = Lognormal(mu, sigma)
    t = float(body.ppf(q_threshold))
    return Spliced(body, Pareto(alpha, t), t)


CLOSED_FORM_CASES = {
    "spliced-1.0-2.5": _spliced(1.0, 2.5, 0.99),
    "spliced-1.7-2.2": _spliced(1.7, 2.2, 0.98),
    "spliced-explicit-weight": Spliced(Lognormal(7.0, 1.2), Pareto(3.0, 8000.0), 8000.0, 0.03),
    "hurdle-lognormal": Hurdle(0.3, Lognormal(0.0, 1.5)),
    "hurdle-lognormal-2": Hurdle(0.8, Lognormal(5.0, 2.0)),
    "hurdle-spliced": Hurdle(0.85, _spliced(1.7, 2.5, 0.995)),
    "pareto-1.5-infinite-variance": Pareto(1.5, 10.0),
}


@pytest.mark.parametrize("name", CLOSED_FORM_CASES)
def test_single_member_against_closed_forms(name):
    # the distributions' own closed forms (checked against quadrature in test_distributions.py)
    dist = CLOSED_FORM_CASES[name]
    agg = exact.aggregate(dist)
    ds = np.array([dist.mean(), float(dist.ppf(0.9)), float(dist.ppf(0.99))])
    _check_against(agg, lambda q: float(dist.ppf(q)), lambda d: float(dist.stop_loss(d)), ds)
    assert agg.mean() == pytest.approx(dist.mean(), rel=1e-9)
    if math.isinf(dist.var()):
        assert agg.var() == math.inf


def test_hurdle_atom_at_zero():
    dist = Hurdle(0.3, Lognormal(0.0, 1.0))
    agg = exact.aggregate(dist)
    assert agg.cdf(0.0) == pytest.approx(0.7, abs=1e-12)
    assert agg.cdf(-1.0) == 0.0
    assert agg.ppf(0.5) == 0.0 and agg.ppf(0.7) == 0.0
    assert agg.ppf(0.7 + 1e-9) < 1e-3
    # TVaR inside the atom: the mean of the upper 1 - q tail
    assert agg.tvar(0.5) == pytest.approx(dist.mean() / 0.5, rel=1e-10)
    assert agg.tvar(0.0) == pytest.approx(dist.mean(), rel=1e-10)
    # compound: P(S = 0) = exp(-n lam) exactly
    comp = exact.aggregate(Compound(Poisson(0.5), Gamma(2.0, 1.0)), 3)
    assert comp.cdf(0.0) == pytest.approx(math.exp(-1.5), rel=1e-10)


# ---------------------------------------------------------------------------
# panels with closed forms
# ---------------------------------------------------------------------------


def _gamma_stop_loss(a, theta, d):
    # E[(G - d)+] for G ~ Gamma(a, theta)
    return a * theta * special.gammaincc(a + 1, d / theta) - d * special.gammaincc(a, d / theta)


@pytest.mark.parametrize(
    ("shape", "scale", "members"),
    [(2.0, 1000.0, 1000), (0.5, 3.0, 2500), (10.0, 1.0, 5000), (1.0, 250.0, 5000)],
)
def test_gamma_panel_against_gamma_sum(shape, scale, members):
    agg = exact.aggregate(Gamma(shape, scale), members)
    a = members * shape
    ref = stats.gamma(a, scale=scale)
    ds = np.array([ref.mean(), ref.ppf(0.9), ref.ppf(0.99)])
    _check_against(agg, ref.ppf, lambda d: _gamma_stop_loss(a, scale, d), ds)
    assert agg.mean() == pytest.approx(ref.mean(), rel=1e-9)
    # the lattice variance is the exact one plus the documented rounding noise, n h^2 / 6
    assert agg.discretisation_var == pytest.approx(members * agg.bucket**2 / 6, rel=1e-12)
    assert agg.var() == pytest.approx(ref.var() + agg.discretisation_var, rel=1e-6)
    assert agg.discretisation_var <= 2e-5 * ref.var()


def _compound_gamma_series(pmf, k, theta):
    """cdf, stop-loss, ppf and mean of sum_{i <= N} Y_i, P(N = j) = pmf[j], Y ~ Gamma(k, theta)."""
    j = np.arange(1, pmf.size)
    a = j * k

    def cdf(x):
        return pmf[0] + float(np.sum(pmf[1:] * special.gammainc(a, x / theta)))

    def stop_loss(d):
        return float(
            np.sum(
                pmf[1:]
                * (a * theta * special.gammaincc(a + 1, d / theta) - d * special.gammaincc(a, d / theta))
            )
        )

    mean = float(np.sum(pmf[1:] * a * theta))

    def ppf(q):
        if q <= pmf[0]:
            return 0.0
        return optimize.brentq(
            lambda x: cdf(x) - q, 0.0, 50 * mean + 500 * k * theta, xtol=1e-12 * mean, rtol=1e-13
        )

    return cdf, stop_loss, ppf, mean


def _poisson_pmf(lam):
    j = np.arange(int(lam + 40 * math.sqrt(lam) + 60))
    return stats.poisson.pmf(j, lam)


@pytest.mark.parametrize(
    ("lam", "shape", "members"),
    [(0.3, 2, 1), (3.0, 2, 1), (2.0, 1, 1000), (0.3, 2, 2000), (0.05, 3, 5000)],
)
def test_compound_poisson_gamma_against_series(lam, shape, members):
    theta = 700.0
    dist = Compound(Poisson(lam), Gamma(float(shape), theta))
    agg = exact.aggregate(dist, members)
    # n iid compound Poisson(lam) members: a compound Poisson(n lam) sum
    cdf, stop_loss, ppf, mean = _compound_gamma_series(_poisson_pmf(members * lam), shape, theta)
    ds = np.array([mean, ppf(0.9), ppf(0.99)])
    _check_against(agg, ppf, stop_loss, ds)
    np.testing.assert_allclose(agg.cdf(ds[1:]), [0.9, 0.99], rtol=0, atol=1e-5)
    # moments: E[S] = n E[N] E[Y], Var S = n E[N] E[Y^2] (+ the rounding noise of the lattice)
    m2 = shape * (shape + 1) * theta**2
    assert agg.mean() == pytest.approx(members * lam * shape * theta, rel=1e-9)
    assert agg.var() == pytest.approx(members * lam * m2 + agg.discretisation_var, rel=1e-6)


@pytest.mark.parametrize(
    ("mean_n", "dispersion", "shape", "members"),
    [(2.0, 1.5, 2, 1), (0.5, 0.8, 1, 1), (1.0, 2.0, 2, 1000)],
)
def test_compound_negative_binomial_gamma_against_series(mean_n, dispersion, shape, members):
    theta = 50.0
    freq = NegativeBinomial(mean_n, dispersion)
    dist = Compound(freq, Gamma(float(shape), theta))
    agg = exact.aggregate(dist, members)
    # n iid NB(r, p) counts sum to NB(n r, p)
    r = members * dispersion
    j = np.arange(int(stats.nbinom.ppf(1 - 1e-15, r, freq.p)) + 20)
    cdf, stop_loss, ppf, mean = _compound_gamma_series(stats.nbinom.pmf(j, r, freq.p), shape, theta)
    ds = np.array([mean, ppf(0.9), ppf(0.99)])
    _check_against(agg, ppf, stop_loss, ds)
    # moments: Var S = n (E[N] Var Y + Var N E[Y]^2)
    ey, vy = shape * theta, shape * theta**2
    assert agg.mean() == pytest.approx(members * mean_n * ey, rel=1e-9)
    var = members * (mean_n * vy + freq.var() * ey**2)
    assert agg.var() == pytest.approx(var + agg.discretisation_var, rel=1e-6)


def test_compound_poisson_lognormal_moments():
    dist = Compound(Poisson(2.0), Lognormal(6.0, 1.0))
    sev = dist.severity
    for members, tol in ((1, 2e-3), (500, 1e-5)):
        agg = exact.aggregate(dist, members)
        assert agg.mean() == pytest.approx(members * 2.0 * sev.mean(), rel=1e-9)
        # E[N] E[Y^2] plus the rounding noise, less the claims' second moment beyond the end of the claim
        # arrays (twice the 1 - 1e-5 / claims quantile): 1e-3 of it for 2 claims, 1e-6 for 1000
        var = members * 2.0 * sev.second_moment()
        assert agg.var() == pytest.approx(var + agg.discretisation_var, rel=tol)
        assert agg.var() <= var + agg.discretisation_var


def test_hurdle_of_compound_against_series():
    # Hurdle(p, Compound(Poisson(lam), Gamma(k))) is a compound sum with P(N = 0) = 1 - p + p e^-lam
    p, lam, k, theta = 0.4, 1.5, 2, 100.0
    dist = Hurdle(p, Compound(Poisson(lam), Gamma(float(k), theta)))
    agg = exact.aggregate(dist)
    pmf = p * _poisson_pmf(lam)
    pmf[0] += 1 - p
    cdf, stop_loss, ppf, mean = _compound_gamma_series(pmf, k, theta)
    _check_against(agg, ppf, stop_loss, np.array([mean, ppf(0.9), ppf(0.99)]))
    assert agg.cdf(0.0) == pytest.approx(pmf[0], rel=1e-10)


def test_population_of_segments():
    # segments with the same gamma claims: the total is Gamma(sum n k, theta)
    pop = Population([Segment("a", 1200, Gamma(2.0, 10.0)), Segment("b", 800, Gamma(3.0, 10.0))])
    agg = exact.aggregate_population(pop)
    a = 1200 * 2.0 + 800 * 3.0
    ref = stats.gamma(a, scale=10.0)
    _check_against(
        agg, ref.ppf, lambda d: _gamma_stop_loss(a, 10.0, d), np.array([ref.mean(), ref.ppf(0.99)])
    )
    # a mixed population: the moments add up
    mixed = [(Hurdle(0.8, Lognormal(7.0, 1.0)), 300), (Compound(Poisson(1.5), Gamma(2.0, 500.0)), 200)]
    agg = exact.aggregate_population(mixed)
    assert agg.mean() == pytest.approx(sum(n * d.mean() for d, n in mixed), rel=1e-9)
    assert agg.var() == pytest.approx(sum(n * d.var() for d, n in mixed) + agg.discretisation_var, rel=1e-5)
    assert len(agg.components) == 2


# ---------------------------------------------------------------------------
# panels without closed forms: moments and self-convergence
# ---------------------------------------------------------------------------


def _self_convergence(dist, members, refine=4, extra_log2=3):
    agg = exact.aggregate(dist, members)
    fine = exact.aggregate(dist, members, bucket=agg.bucket / refine, log2=agg.log2 + extra_log2)
    assert fine.bucket == agg.bucket / refine and fine.log2 == agg.log2 + extra_log2
    ds = np.asarray(fine.ppf([0.5, 0.9, 0.99]))
    errs = (
        _rel(agg.ppf(QS), fine.ppf(QS)),
        _rel(agg.tvar(QS), fine.tvar(QS)),
        _rel(agg.stop_loss(ds), fine.stop_loss(ds)),
    )
    assert max(errs) <= RTOL, errs
    return agg, fine


@pytest.mark.parametrize("members", [1000, 5000])
def test_lognormal_panel(members):
    dist = Lognormal(7.0, 1.0)
    agg, fine = _self_convergence(dist, members)
    for a in (agg, fine):
        assert a.mean() == pytest.approx(members * dist.mean(), rel=1e-9)
        # exact variance + rounding noise; what is left is the claim variance beyond the end of the
        # claim arrays (a claim rarer than 1e-5 / claims), about 1.5e-6 of the variance here
        assert a.var() == pytest.approx(members * dist.var() + a.discretisation_var, rel=1e-5)
    assert agg.var() == pytest.approx(members * dist.var(), rel=5e-5)


@pytest.mark.parametrize(
    "dist",
    [Lognormal(0.0, 2.0), Pareto(2.2, 1.0), Hurdle(0.85, _spliced(1.7, 2.5, 0.995))],
    ids=["lognormal-2", "pareto-2.2", "hurdle-spliced"],
)
def test_heavy_tailed_panel_self_convergence(dist):
    agg, _ = _self_convergence(dist, 1000, refine=2, extra_log2=1)
    assert agg.mean() == pytest.approx(1000 * dist.mean(), rel=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dist", "members"),
    [
        (Lognormal(0.0, 2.0), 5000),
        (Pareto(2.2, 1.0), 5000),
        (_spliced(1.7, 2.2, 0.98), 3000),
        (Hurdle(0.8, _spliced(1.7, 2.5, 0.995, mu=8.0)), 5000),
        (Compound(Poisson(2.0), Lognormal(0.0, 1.5)), 2000),
        (Compound(NegativeBinomial(3.0, 0.5), Pareto(3.0, 1.0)), 1000),
        (Pareto(1.5, 1.0), 1000),
    ],
    ids=repr,
)
def test_heavy_tailed_panel_self_convergence_slow(dist, members):
    agg, _ = _self_convergence(dist, members, refine=4, extra_log2=3)
    assert agg.mean() == pytest.approx(members * dist.mean(), rel=1e-6)


# ---------------------------------------------------------------------------
# the discretisation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dist", [Lognormal(0.0, 0.5), Gamma(2.0, 1.0), Pareto(3.0, 1.0), _spliced(1.0, 2.5, 0.99)], ids=repr
)
def test_discretisation_keeps_mean_and_limited_means(dist):
    # one member with one claim: the lattice is the discretised severity (no FFT)
    agg = exact.aggregate(dist)
    x, p, h = agg.x, agg.p, agg.bucket
    assert p.size == 2**agg.log2 and x[0] == 0.0 and agg.offset == 0
    assert np.all(p >= 0) and p.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.dot(x, p) == pytest.approx(dist.mean(), rel=1e-12)
    # local moment matching: the lattice's E[min(D, kh)] is LM(kh) at every lattice point kh (below the
    # claim quantile 1 - 1e-5, past which the mean-keeping correction for the end of the array acts)
    k = np.unique(np.round(np.geomspace(1, float(dist.ppf(1 - 1e-5)) / h, 40)).astype(int))
    lattice_lm = np.array([np.dot(np.minimum(x, kk * h), p) for kk in k])
    np.testing.assert_allclose(lattice_lm, dist.limited_mean(k * h), rtol=1e-10)
    assert agg.discretisation_var == pytest.approx(h * h / 6, rel=1e-12)


@pytest.mark.parametrize("dist", [Lognormal(0.0, 0.5), Gamma(2.0, 1.0), Gamma(0.5, 1.0)], ids=repr)
def test_discretisation_variance(dist):
    # the variance exceeds the exact one by about h^2 / 6: the rounding adds h^2 u (1 - u) given the
    # fractional part u of Y / h, and E[u (1 - u)] = 1/6 for u uniform (not h^2 / 12: that is rounding to
    # the nearest point, which shifts the mean).  (Heavier tails lose the second moment of the claims
    # beyond the end of the array, which is larger than h^2 / 6 for Pareto or lognormal tails.)
    agg = exact.aggregate(dist)
    h = agg.bucket
    assert agg.var() - dist.var() == pytest.approx(h * h / 6, rel=0.02)
    # for a total of n members: n h^2 / 6
    for members in (10, 1000):
        agg = exact.aggregate(dist, members)
        excess = agg.var() - members * dist.var()
        assert excess == pytest.approx(agg.discretisation_var, rel=0.02)
        assert agg.discretisation_var == pytest.approx(members * agg.bucket**2 / 6, rel=1e-12)
        assert agg.discretisation_var < 2e-5 * members * dist.var()


def test_discretised_mean_is_exact_for_heavy_tails():
    # the mass beyond the claim array is put at its end with the missing mean E[(Y - L)+]
    for dist in (Lognormal(0.0, 2.0), Pareto(2.2, 1.0), Pareto(1.3, 1.0), _spliced(1.7, 2.2, 0.98)):
        agg = exact.aggregate(dist)
        assert agg.mean() == pytest.approx(dist.mean(), rel=1e-12)
        assert agg.p.sum() == pytest.approx(1.0, abs=1e-14)
        assert agg.stop_loss(0.0) == pytest.approx(dist.mean(), rel=1e-9)


# ---------------------------------------------------------------------------
# the lattice's distribution: consistency, shapes, edge values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dist", "members"),
    [
        (Hurdle(0.3, Lognormal(0.0, 1.0)), 1),
        (Compound(Poisson(0.8), Gamma(0.7, 10.0)), 3),
        (Gamma(2.0, 1.0), 2000),
    ],
    ids=repr,
)
def test_internal_consistency(dist, members):
    agg = exact.aggregate(dist, members)
    q = np.linspace(0.01, 0.999, 60)
    v = agg.ppf(q)
    assert np.all(np.diff(v) >= 0)
    inside = q > agg.cdf(0.0)
    np.testing.assert_allclose(agg.cdf(v[inside]), q[inside], rtol=0, atol=1e-12)
    # stop-loss is the integral of the survival function (piecewise linear between the segment ends
    # x_k -+ h/2, and the end of the atom's spread at 1e-6 h: the trapezoidal rule on those is exact)
    h = agg.bucket
    lo, hi = agg.ppf(0.05), agg.ppf(0.999)
    for d in np.linspace(lo, hi, 5):
        knots = np.concatenate([agg.x - h / 2, [1e-6 * h, d, hi]])
        xs = np.unique(knots[(knots >= d) & (knots <= hi)])
        sfs = agg.sf(xs)
        tail = agg.stop_loss(hi) + float(np.sum(np.diff(xs) * (sfs[1:] + sfs[:-1]) / 2))
        assert agg.stop_loss(d) == pytest.approx(tail, rel=1e-10)
    # limited mean + stop-loss = mean
    d = np.linspace(-1.0, 2 * hi, 7)
    np.testing.assert_allclose(agg.limited_mean(d) + agg.stop_loss(d), agg.mean(), rtol=1e-9)
    # TVaR = average of VaR over the tail (midpoint rule on a fine grid of levels)
    u = 0.9 + 0.1 * (np.arange(200_000) + 0.5) / 200_000
    assert agg.tvar(0.9) == pytest.approx(float(np.mean(agg.ppf(u))), rel=1e-4)
    assert np.all(agg.tvar(q) >= v)


def test_scalars_arrays_and_edges():
    agg = exact.aggregate(Lognormal(0.0, 1.0), 10)
    for method in (agg.cdf, agg.ppf, agg.tvar, agg.stop_loss, agg.limited_mean, agg.sf):
        assert isinstance(method(0.5), float)
        out = method(np.array([[0.2, 0.5], [0.7, 0.9]]))
        assert isinstance(out, np.ndarray) and out.shape == (2, 2)
    assert isinstance(agg.mean(), float) and isinstance(agg.var(), float) and isinstance(agg.std(), float)
    assert agg.std() == pytest.approx(math.sqrt(agg.var()))
    assert agg.ppf(0.0) == 0.0 and agg.ppf(1.0) == math.inf and agg.tvar(1.0) == math.inf
    assert agg.cdf(-1.0) == 0.0 and agg.cdf(math.inf) == 1.0 and agg.sf(math.inf) == 0.0
    assert agg.stop_loss(-5.0) == pytest.approx(agg.mean() + 5.0)
    assert agg.stop_loss(math.inf) == 0.0 and agg.limited_mean(math.inf) == pytest.approx(agg.mean())
    assert agg.limited_mean(-2.0) == -2.0
    assert math.isnan(agg.cdf(math.nan)) and math.isnan(agg.stop_loss(math.nan))
    for bad in (-0.1, 1.1, math.nan):
        with pytest.raises(ValueError, match="q must be"):
            agg.ppf(bad)
        with pytest.raises(ValueError, match="q must be"):
            agg.tvar(bad)
    assert agg.x.size == agg.p.size == 2**agg.log2
    np.testing.assert_allclose(np.diff(agg.x), agg.bucket)


def test_no_claims_is_zero():
    for dist in (Compound(Poisson(0.0), Gamma(2.0, 1.0)), Hurdle(0.0, Pareto(0.8, 1.0))):
        agg = exact.aggregate(dist, 100)
        assert agg.mean() == 0.0 and agg.var() == 0.0
        assert agg.ppf(0.99) == 0.0 and agg.tvar(0.99) == 0.0
        assert agg.cdf(0.0) == 1.0 and agg.stop_loss(0.0) == 0.0


def test_user_grid_overrides():
    dist = Lognormal(7.0, 1.0)
    agg = exact.aggregate(dist, 10, bucket=5.0)
    assert agg.bucket == 5.0 and agg.x[-1] > 10 * float(dist.ppf(0.999))
    agg = exact.aggregate(dist, 10, log2=14)
    assert agg.log2 == 14 and agg.p.size == 2**14
    agg = exact.aggregate(dist, 10, bucket=5.0, log2=17)
    assert agg.bucket == 5.0 and agg.log2 == 17
    assert agg.mean() == pytest.approx(10 * dist.mean(), rel=1e-9)
    with pytest.warns(UserWarning, match="wraps around"):
        exact.aggregate(dist, 1000, bucket=1.0, log2=8)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (2.5, TypeError),
        ("a", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_bad_members(members, error):
    with pytest.raises(error, match="members"):
        exact.aggregate(Gamma(2.0, 1.0), members)


@pytest.mark.parametrize(
    ("bucket", "error"),
    [(-1.0, ValueError), (0.0, ValueError), (math.nan, ValueError), (math.inf, ValueError), ("x", TypeError)],
)
def test_bad_bucket(bucket, error):
    with pytest.raises(error, match="bucket"):
        exact.aggregate(Gamma(2.0, 1.0), bucket=bucket)


@pytest.mark.parametrize(
    ("log2", "error"),
    [
        (7, ValueError),
        (29, ValueError),
        (-3, ValueError),
        (2.5, TypeError),
        ("12", TypeError),
        (True, TypeError),
    ],
)
def test_bad_log2(log2, error):
    with pytest.raises(error, match="log2"):
        exact.aggregate(Gamma(2.0, 1.0), log2=log2)


@pytest.mark.parametrize("dist", ["lognormal", 3.0, None, Poisson(2.0), stats.lognorm(1.0)])
def test_bad_distribution(dist):
    with pytest.raises(TypeError, match="dist"):
        exact.aggregate(dist)


@pytest.mark.parametrize(
    "dist",
    [
        Pareto(1.0, 1.0),
        Pareto(0.7, 5.0),
        Hurdle(0.5, Pareto(0.9, 1.0)),
        Compound(Poisson(1.0), Pareto(0.5, 1.0)),
        Spliced(Lognormal(0.0, 1.0), Pareto(0.9, 2.0), 2.0),
    ],
    ids=repr,
)
def test_infinite_mean_is_a_value_error(dist):
    with pytest.raises(ValueError, match="infinite mean"):
        exact.aggregate(dist, 10)


def test_bad_population():
    with pytest.raises(TypeError, match="population"):
        exact.aggregate_population(3)
    with pytest.raises(ValueError, match="empty"):
        exact.aggregate_population([])
    with pytest.raises(TypeError, match="cost"):
        exact.aggregate_population([("x", 3)])
    with pytest.raises(ValueError, match="members"):
        exact.aggregate_population([(Gamma(2.0, 1.0), 0)])
