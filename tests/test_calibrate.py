"""vbcsim.calibrate: maximum-likelihood fits to claims and distributions from published summary figures.

Tolerances are in standard errors (SE) of the quantity checked, with the SE from
a closed form: K = 4 SE for parameter recovery (a two-sided normal tail of 6e-5
per check) and 5 SE for simulation checks of heavy-tailed statistics, whose
sampling distributions are skewed.  Seeds are fixed, so the tests are
deterministic; the bounds say why they pass for any seed with high probability.
"""

import io
import math
import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import optimize, special, stats

from vbcsim import calibrate
from vbcsim.analysis.calibrate import Fit, describe, fit, from_summary, top_share
from vbcsim.population.defaults import BODY_SIGMA, TAIL_ALPHA, commercial_population
from vbcsim.population.distributions import Compound, Gamma, Hurdle, Lognormal, Pareto, Poisson, Spliced

K = 4.0  # parameter recovery: within K standard errors
N = 20_000


def _within(fitted: Fit, truth: dict, k: float = K):
    for name, value in truth.items():
        est, se = fitted.params[name], fitted.stderr[name]
        assert abs(est - value) < k * se, f"{name}: {est} vs {value} (SE {se})"


def _pdf_loglik(dist, x):
    """Log-likelihood of all members from vbcsim's own pdf (an independent check of Fit.loglik)."""
    if isinstance(dist, Hurdle):
        pos = x[x > 0]
        p = dist.p_nonzero
        return (x.size - pos.size) * math.log1p(-p) + pos.size * math.log(p) + _pdf_loglik(dist.severity, pos)
    return float(np.log(dist.pdf(x)).sum())


# ----------------------------------------------------------------------------------------------
# parameter recovery
# ----------------------------------------------------------------------------------------------


def test_lognormal_recovery_closed_form():
    x = Lognormal(7.5, 1.7).sample(N, 1)
    f = fit(x, "lognormal")
    _within(f, {"mu": 7.5, "sigma": 1.7})
    assert f.params["mu"] == pytest.approx(np.log(x).mean(), rel=1e-12)
    assert f.params["sigma"] == pytest.approx(np.log(x).std(), rel=1e-12)
    assert f.stderr["sigma"] == pytest.approx(f.params["sigma"] / math.sqrt(2 * N))
    assert isinstance(f.distribution, Lognormal) and f.n_zero == 0 and f.n_params == 2
    assert f.loglik == pytest.approx(_pdf_loglik(f.distribution, x), rel=1e-10)
    assert f.aic == pytest.approx(4 - 2 * f.loglik) and f.bic == pytest.approx(2 * math.log(N) - 2 * f.loglik)


def test_gamma_recovery_matches_scipy():
    x = Gamma(0.8, 5_000.0).sample(N, 2)
    f = fit(x, "gamma")
    _within(f, {"shape": 0.8, "scale": 5_000.0})
    shape, _, scale = stats.gamma.fit(x, floc=0)
    assert f.params["shape"] == pytest.approx(shape, rel=1e-5)
    assert f.params["scale"] == pytest.approx(scale, rel=1e-5)
    assert f.loglik == pytest.approx(_pdf_loglik(f.distribution, x), rel=1e-10)


def test_pareto_recovery_and_observed_information():
    x = Pareto(3.0, 20_000.0).sample(N, 3)
    f = fit(x, "pareto")
    _within(f, {"alpha": 3.0, "scale": 20_000.0})
    a, s = f.params["alpha"], f.params["scale"]
    # the likelihood is at its maximum: at least as high as scipy's Lomax fit, and the gradient vanishes
    c, _, sc = stats.lomax.fit(x, floc=0)
    assert f.loglik >= stats.lomax.logpdf(x, c, scale=sc).sum() - 1e-6
    assert f.loglik == pytest.approx(_pdf_loglik(f.distribution, x), rel=1e-10)
    # analytic Hessian == numerical Hessian of the log-likelihood
    h = calibrate._lomax_hessian(x, a, s)
    num = calibrate._numerical_hessian(lambda th: calibrate._lomax_loglik(x, th[0], th[1]), [a, s])
    np.testing.assert_allclose(h, num, rtol=1e-4)


def test_hurdle_zero_share_within_binomial_se():
    x = Hurdle(0.85, Lognormal(7.5, 1.7)).sample(N, 4)
    f = fit(x, "lognormal")
    p = f.params["p_nonzero"]
    assert abs(p - 0.85) < K * math.sqrt(0.85 * 0.15 / N)
    assert f.stderr["p_nonzero"] == pytest.approx(math.sqrt(p * (1 - p) / N))
    _within(f, {"mu": 7.5, "sigma": 1.7})
    assert isinstance(f.distribution, Hurdle) and f.distribution.p_nonzero == p
    assert f.n == N and f.n_zero == int((x == 0).sum()) and f.n_params == 3
    assert f.positive_claims.size == N - f.n_zero and not f.positive_claims.flags.writeable
    assert f.loglik == pytest.approx(_pdf_loglik(f.distribution, x), rel=1e-10)
    with pytest.raises(ValueError, match="zeros='hurdle'"):
        fit(x, zeros="error")


def test_spliced_known_threshold_recovers_body_and_tail():
    truth = Spliced(Lognormal(8.0, 1.2), Pareto(2.5, 50_000.0), 50_000.0, tail_weight=0.05)
    x = Hurdle(0.9, truth).sample(N, 5)
    f = fit(x, "spliced", threshold=50_000.0)
    _within(
        f,
        {
            "p_nonzero": 0.9,
            "body_mu": 8.0,
            "body_sigma": 1.2,
            "tail_alpha": 2.5,
            "tail_scale": 50_000.0,
            "tail_weight": 0.05,
        },
    )
    sev = f.severity
    assert isinstance(sev, Spliced) and sev.threshold == 50_000.0 and f.threshold == 50_000.0
    assert sev.tail_weight == f.params["tail_weight"]
    assert f.n_params == 1 + 2 + 2 + 1  # hurdle, body, tail, weight (threshold given)
    assert f.loglik == pytest.approx(_pdf_loglik(f.distribution, x), rel=1e-10)
    # Pareto type I tail (scale = threshold): alpha by the Hill estimator, SE alpha / sqrt(n_tail)
    f1 = fit(x, "spliced", threshold=50_000.0, tail="pareto1")
    _within(f1, {"tail_alpha": 2.5, "body_mu": 8.0, "body_sigma": 1.2})
    excess = f1.positive_claims[f1.positive_claims > 50_000.0]
    assert f1.params["tail_alpha"] == pytest.approx(excess.size / np.log(excess / 50_000.0).sum())
    assert f1.params["tail_scale"] == 50_000.0 and "tail_scale" not in f1.stderr
    assert f1.n_params == 1 + 2 + 1 + 1


def test_spliced_gamma_body():
    truth = Spliced(Gamma(1.5, 5_000.0), Pareto(2.5, 20_000.0), 50_000.0, tail_weight=0.05)
    f = fit(truth.sample(N, 6), "spliced", threshold=50_000.0, body="gamma")
    _within(f, {"body_shape": 1.5, "body_scale": 5_000.0, "tail_alpha": 2.5, "tail_scale": 20_000.0})


def test_truncated_body_is_a_maximum():
    # the Nelder-Mead optimum of the truncated likelihood: moving any body parameter lowers it
    truth = Spliced(Lognormal(8.0, 1.2), Pareto(2.5, 50_000.0), 50_000.0, tail_weight=0.05)
    x = truth.sample(5_000, 7)
    f = fit(x, "spliced", threshold=50_000.0)
    mu, sigma = f.params["body_mu"], f.params["body_sigma"]
    w, a, s = f.params["tail_weight"], f.params["tail_alpha"], f.params["tail_scale"]
    for dmu, dsig in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        moved = Spliced(
            Lognormal(mu + 0.05 * dmu * f.stderr["body_mu"], sigma + 0.05 * dsig * f.stderr["body_sigma"]),
            Pareto(a, s),
            50_000.0,
            tail_weight=w,
        )
        assert _pdf_loglik(moved, x) < f.loglik


def test_standard_errors_are_calibrated():
    # the spread of estimates over 200 replications matches the mean reported SE (the sd of an sd
    # estimated from 200 draws is about 5%, so 20% is 4 of those)
    rng = np.random.default_rng(8)
    truth = Spliced(Lognormal(8.0, 1.2), Pareto(2.5, 50_000.0), 50_000.0, tail_weight=0.05)
    names = ("body_mu", "body_sigma", "tail_alpha", "tail_weight")
    est = {k: [] for k in names}
    se = {k: [] for k in names}
    lomax, lomax_se = [], []
    for _ in range(200):
        f = fit(truth.sample(2_000, rng), "spliced", threshold=50_000.0, tail="pareto1")
        for k in names:
            est[k].append(f.params[k])
            se[k].append(f.stderr[k])
        g = fit(Pareto(3.0, 20_000.0).sample(1_000, rng), "pareto")
        lomax.append(g.params["alpha"])
        lomax_se.append(g.stderr["alpha"])
    for k in names:
        assert np.std(est[k]) == pytest.approx(np.mean(se[k]), rel=0.2), k
    assert np.std(lomax) == pytest.approx(np.mean(lomax_se), rel=0.2)


def test_auto_threshold_finds_the_splice():
    truth = Spliced(Lognormal(8.0, 1.2), Pareto(2.5, 50_000.0), 50_000.0, tail_weight=0.05)
    x = truth.sample(N, 9)
    f = fit(x, "spliced", threshold="auto")
    assert f.threshold == pytest.approx(50_000.0, rel=0.05)
    assert f.n_params == 2 + 2 + 1 + 1  # the threshold counts
    assert fit(x, "spliced").threshold == f.threshold  # None means auto
    # the spliced fit beats the single families on AIC
    assert f.aic < min(fit(x, fam).aic for fam in ("lognormal", "gamma", "pareto"))


# ----------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------


def test_accepts_lists_series_and_dataarrays():
    x = Hurdle(0.8, Lognormal(7.0, 1.5)).sample(500, 10)
    ref = fit(x)
    for claims in (
        list(x),
        tuple(x),
        pd.Series(x, name="cost"),
        pd.Series(x).astype("Float64"),
        xr.DataArray(x, dims="member"),
        x[:, None][:, 0],
    ):
        f = fit(claims)
        assert f.params == pytest.approx(ref.params, rel=1e-12)
        assert f.n == ref.n and f.n_zero == ref.n_zero
    assert fit(np.round(x).astype(int)).n == 500  # integer costs


@pytest.mark.parametrize(
    ("claims", "error", "match"),
    [
        ([1.0, np.nan] + [2.0] * 20, ValueError, "claims has 1 missing"),
        (pd.Series([1.0, None] + [2.0, 3.0] * 10), ValueError, "missing"),
        (pd.Series([1, None] + [2, 3] * 10, dtype="Int64"), ValueError, "missing"),
        ([1.0, np.inf] + [2.0, 3.0] * 10, ValueError, "infinite"),
        ([1.0, -5.0] + [2.0, 3.0] * 10, ValueError, "negative"),
        ([], ValueError, "empty"),
        (np.ones((5, 5)), ValueError, "one-dimensional"),
        (
            xr.DataArray(np.ones((3, 10)), dims=("scenario", "member")),
            ValueError,
            r"dims \('scenario', 'member'\)",
        ),
        (pd.DataFrame({"cost": [1.0, 2.0]}), TypeError, "one column"),
        (xr.Dataset({"cost": ("member", [1.0, 2.0])}), TypeError, "Dataset"),
        (["a", "b"], TypeError, "numbers"),
        (np.array([True, False]), TypeError, "booleans"),
        ("costs.csv", TypeError, "array"),
        (None, TypeError, "array"),
        (5.0, ValueError, "one-dimensional"),
        ([0.0] * 100 + [1.0, 2.0], ValueError, "2 positive values; at least 10"),
        ([0.0] * 5 + [7.0] * 20, ValueError, "all 20 positive values equal"),
    ],
)
def test_bad_claims_are_rejected_naming_the_argument(claims, error, match):
    with pytest.raises(error, match=match) as err:
        fit(claims)
    assert "claims" in str(err.value)


def test_bad_options_are_rejected():
    x = Lognormal(7.0, 1.5).sample(2_000, 11)
    with pytest.raises(ValueError, match="family must be one of"):
        fit(x, "weibull")
    with pytest.raises(ValueError, match="zeros must be one of"):
        fit(x, zeros="drop")
    with pytest.raises(ValueError, match="threshold applies to family='spliced' only"):
        fit(x, "lognormal", threshold=10_000.0)
    with pytest.raises(ValueError, match="body and tail apply to family='spliced' only"):
        fit(x, "gamma", tail="pareto1")
    with pytest.raises(ValueError, match="body must be one of"):
        fit(x, "spliced", body="pareto")
    with pytest.raises(ValueError, match="tail must be one of"):
        fit(x, "spliced", tail="gamma")
    with pytest.raises(
        ValueError, match=r"leaves .* above it; a splice needs at least 10 below and 30 above"
    ):
        fit(x, "spliced", threshold=float(np.quantile(x, 0.995)))
    with pytest.raises(ValueError, match="threshold must be positive"):
        fit(x, "spliced", threshold=-1.0)
    with pytest.raises(ValueError, match="threshold must be a positive number, 'auto' or None"):
        fit(x, "spliced", threshold="best")
    # a light (exponential-like) tail has no finite Pareto MLE: refused with the reason
    with pytest.raises(ValueError, match="lighter-tailed than any Pareto"):
        fit(Gamma(3.0, 1_000.0).sample(2_000, 12), "pareto")


# ----------------------------------------------------------------------------------------------
# summary and QQ plot
# ----------------------------------------------------------------------------------------------


def test_summary_goodness_of_fit():
    x = Hurdle(0.85, Lognormal(7.5, 1.7)).sample(N, 13)
    good, bad = fit(x, "lognormal"), fit(x, "gamma")
    s = good.summary()
    assert {
        "family",
        "n",
        "n_zero",
        "loglik",
        "aic",
        "bic",
        "ks_statistic",
        "ks_pvalue",
        "ad_statistic",
    } <= set(s)
    table = s["table"]
    assert list(table.columns) == ["data", "fitted"]
    assert list(table.index) == [
        "mean",
        "cv",
        "p_zero",
        "q50",
        "q75",
        "q90",
        "q95",
        "q99",
        "q99.9",
        "top1_share",
    ]
    assert table.loc["p_zero", "data"] == table.loc["p_zero", "fitted"] == pytest.approx((x == 0).mean())
    assert table.loc["mean", "data"] == pytest.approx(x.mean())
    assert table.loc["q50", "fitted"] == pytest.approx(good.distribution.ppf(0.5))
    assert table.loc["q90", "data"] == pytest.approx(table.loc["q90", "fitted"], rel=0.05)
    assert s["ks_pvalue"] > 0.01 and s["ad_statistic"] < 2.5  # 2.5: the 5% critical value, known parameters
    sb = bad.summary()
    assert sb["ks_statistic"] > 5 * s["ks_statistic"] and sb["ks_pvalue"] < 1e-6 and sb["ad_statistic"] > 100
    assert bad.aic > good.aic
    # Anderson-Darling, textbook formula on the log claims (a lognormal fit is a normal fit of the logs)
    y = np.log(good.positive_claims)
    z = (y - good.params["mu"]) / good.params["sigma"]
    i = np.arange(1, z.size + 1)
    ad = -z.size - np.mean((2 * i - 1) * (stats.norm.logcdf(z) + stats.norm.logsf(z[::-1])))
    assert s["ad_statistic"] == pytest.approx(ad, rel=1e-8)


def test_qq_plot_returns_a_figure():
    from matplotlib.figure import Figure

    truth = Spliced(Lognormal(8.0, 1.2), Pareto(2.5, 50_000.0), 50_000.0, tail_weight=0.05)
    f = fit(Hurdle(0.9, truth).sample(N, 14), "spliced", threshold=50_000.0)
    fig = f.qq_plot(max_points=500)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    points = ax.lines[0]
    assert 300 <= len(points.get_xdata()) <= 500
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert "zeros not shown" in ax.get_title()
    assert any(line.get_label() == "threshold" for line in ax.lines)
    fig.savefig(io.BytesIO(), format="png")
    # into given axes: that figure comes back
    other = Figure()
    ax2 = other.add_subplot(1, 2, 2)
    assert fit(truth.sample(1_000, 15)).qq_plot(ax=ax2) is other


# ----------------------------------------------------------------------------------------------
# exact summary figures
# ----------------------------------------------------------------------------------------------


def test_top_share_closed_forms():
    # lognormal: the top f of members hold Phi(sigma - z_{1-f}) of the total
    for sigma in (0.5, 1.5, 2.5):
        z = special.ndtri(0.99)
        assert top_share(Lognormal(7.0, sigma)) == pytest.approx(special.ndtr(sigma - z), rel=1e-10)
    # Pareto type I above t (Lomax shifted): the top f hold f^(1 - 1/alpha) of the total
    d = Spliced(Lognormal(0.0, 1.0), Pareto(2.5, 1.0), 1.0, tail_weight=1.0)
    assert top_share(d, 0.05) == pytest.approx(0.05 ** (1 - 1 / 2.5), rel=1e-10)
    # an atom at the quantile is split: a hurdle whose top 20% includes zeros
    h = Hurdle(0.1, Lognormal(7.0, 1.0))
    assert top_share(h, 0.2) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="fraction must be in"):
        top_share(h, 1.0)
    with pytest.raises(TypeError, match="dist must be a cost distribution"):
        top_share(3.0)


def test_top_share_matches_an_independent_computation():
    # as tests/test_defaults.py does: brentq on the cdf, then the partial moment above it
    d = Hurdle(0.844, Spliced(Lognormal(7.6, 1.76), Pareto(2.5, 1e5), 1e5))
    q = optimize.brentq(lambda t: d.cdf(t) - 0.99, 1e-9, 1e8, xtol=1e-9)
    s = d.severity
    want = d.p_nonzero * (s.mean() - s.partial_moment(1, q)) / d.mean()
    assert top_share(d) == pytest.approx(want, rel=1e-8)


def test_describe():
    d = Hurdle(0.8, Lognormal(7.0, 1.5))
    got = describe(d)
    assert got["pmpm"] == pytest.approx(d.mean() / 12) and got["mean"] == d.mean()
    assert got["cv"] == pytest.approx(d.cv()) and got["p_zero"] == pytest.approx(0.2)
    assert got["top1_threshold"] == pytest.approx(d.ppf(0.99))
    c = Compound(Poisson(1.5), Gamma(2.0, 1_000.0))
    assert describe(c)["p_zero"] == pytest.approx(math.exp(-1.5))
    assert describe(Hurdle(0.5, c))["p_zero"] == pytest.approx(0.5 + 0.5 * math.exp(-1.5))


def test_splice_moments_match_spliced():
    for mu, sigma, alpha in ((7.6, 1.76, 2.5), (6.0, 0.8, 2.05), (9.0, 2.5, 40.0)):
        d = Spliced(Lognormal(mu, sigma), Pareto(alpha, 1e5), 1e5)
        m1, m2, w = calibrate._splice_moments(mu, sigma, alpha, 1e5)
        assert w == pytest.approx(d.tail_weight, rel=1e-10)
        assert m1 == pytest.approx(d.mean(), rel=1e-10)
        assert m2 == pytest.approx(d.second_moment(), rel=1e-10)


# ----------------------------------------------------------------------------------------------
# from_summary
# ----------------------------------------------------------------------------------------------

CASES = [
    (550.0, 3.245, 0.156, None),
    (550.0, 3.245, 0.156, 0.215),
    (550.0, 3.245, 0.15, 0.219),
    (550.0, 5.0, 0.156, 0.28),
    (550.0, 5.0, 0.156, 0.30),  # body sigma just above 4: the grid is extended
    (300.0, 3.0, 0.3, 0.2),
    (550.0, 3.0, 0.0, 0.2),
    (1_200.0, 2.0, 0.05, 0.12),
]


@pytest.mark.parametrize(("pmpm", "cv", "p_zero", "top1"), CASES)
def test_from_summary_reproduces_its_inputs_exactly(pmpm, cv, p_zero, top1):
    d = from_summary(pmpm, cv, p_zero, top1)
    got = describe(d)
    assert isinstance(d, Hurdle)
    assert got["pmpm"] == pytest.approx(pmpm, rel=1e-9)
    assert got["cv"] == pytest.approx(cv, rel=1e-9)
    assert got["p_zero"] == pytest.approx(p_zero, abs=1e-12)
    if top1 is None:
        assert isinstance(d.severity, Lognormal)
    else:
        assert got["top1_share"] == pytest.approx(top1, rel=1e-9)
        s = d.severity
        assert isinstance(s, Spliced) and s.threshold == 100_000.0 and s.tail.scale == 100_000.0
        assert s.tail.alpha > 2.0
        # the continuous splice (the weight was not given)
        assert s.tail_weight == pytest.approx(Spliced(s.body, s.tail, s.threshold).tail_weight)


def test_from_summary_tail_threshold():
    # a top-1% share out of reach with the tail at $100,000 is reached with the tail further out
    with pytest.raises(ValueError, match="raise cv or tail_threshold"):
        from_summary(550.0, 8.0, 0.156, 0.4, tail_threshold=100_000.0)
    d = from_summary(550.0, 8.0, 0.156, 0.4, tail_threshold=200_000.0)
    assert d.severity.threshold == d.severity.tail.scale == 200_000.0
    assert describe(d)["top1_share"] == pytest.approx(0.4, rel=1e-9)
    assert describe(d)["cv"] == pytest.approx(8.0, rel=1e-9)


def _mixture_figures(pop):
    """Exact pmpm, CV, zero share and top-1% share of the built-in population (a segment mixture)."""
    w = np.array([s.members for s in pop], dtype=float)
    w /= w.sum()
    dists = [s.cost for s in pop]
    mean = sum(wi * d.mean() for wi, d in zip(w, dists, strict=True))
    m2 = sum(wi * d.second_moment() for wi, d in zip(w, dists, strict=True))
    p_zero = sum(wi * (1 - d.p_nonzero) for wi, d in zip(w, dists, strict=True))
    q = optimize.brentq(
        lambda t: sum(wi * d.cdf(t) for wi, d in zip(w, dists, strict=True)) - 0.99, 1e-9, 1e8, xtol=1e-9
    )
    above = sum(
        wi * d.p_nonzero * (d.severity.mean() - d.severity.partial_moment(1, q))
        for wi, d in zip(w, dists, strict=True)
    )
    return mean / 12, math.sqrt(m2 - mean * mean) / mean, p_zero, above / mean


def test_from_summary_reproduces_the_published_targets_of_the_defaults():
    # MEPS Statistical Brief #521 (2016): about 15% of people with no expenditure, top 1% hold 21.9%;
    # $550 PMPM commercial cost level; the CV (not published by MEPS) is that of the built-in population
    pmpm, cv, p_zero, top1 = _mixture_figures(commercial_population())
    assert pmpm == pytest.approx(550.0, rel=2e-3)
    assert (p_zero, top1) == pytest.approx((0.156, 0.215), abs=2e-3)
    assert cv == pytest.approx(3.245, abs=1e-3)
    for target_p0, target_top1 in ((0.15, 0.219), (p_zero, top1)):
        d = from_summary(550.0, cv, target_p0, target_top1)
        got = describe(d)
        assert got["pmpm"] == pytest.approx(550.0, rel=1e-9)
        assert got["p_zero"] == pytest.approx(target_p0, abs=1e-12)
        assert got["top1_share"] == pytest.approx(target_top1, rel=1e-9)
        # one segment lands near the shape of the three built-in segments (sigma 1.7, alpha 2.5)
        assert d.severity.body.sigma == pytest.approx(BODY_SIGMA, abs=0.25)
        assert d.severity.tail.alpha == pytest.approx(TAIL_ALPHA, abs=0.1)
        # MEPS 2016: the top 1% started at $62,188 (all payers, 2016 dollars); same order here
        assert 5e4 < got["top1_threshold"] < 1e5


def _hurdle_partial(d, k, x):
    """E[X^k; X > x] for a hurdle (x > 0)."""
    s = d.severity
    total = {0: 1.0, 1: s.mean(), 2: s.second_moment()}[k]
    return d.p_nonzero * (total - float(s.partial_moment(k, x)))


def test_from_summary_by_simulation_lognormal():
    # all moments of the plain lognormal hurdle exist: the delta method gives the SE of the sample CV
    d = from_summary(550.0, 3.245, 0.156)
    n = 1_000_000
    x = d.sample(n, 16)
    p, mu, sigma = d.p_nonzero, d.severity.mu, d.severity.sigma
    m = [p * math.exp(k * mu + 0.5 * k * k * sigma * sigma) for k in range(5)]
    m[0] = 1.0
    cov = np.array([[m[2] - m[1] ** 2, m[3] - m[1] * m[2]], [m[3] - m[1] * m[2], m[4] - m[2] ** 2]]) / n
    cv = math.sqrt(m[2] - m[1] ** 2) / m[1]
    grad = np.array([-m[2] / (cv * m[1] ** 3), 1.0 / (2.0 * cv * m[1] ** 2)])
    se_cv = math.sqrt(grad @ cov @ grad)
    sample_cv = x.std() / x.mean()
    assert abs(sample_cv - 3.245) < 5 * se_cv
    assert abs(x.mean() - 6_600.0) < 5 * math.sqrt(cov[0, 0])
    assert abs((x == 0).mean() - 0.156) < 5 * math.sqrt(0.156 * 0.844 / n)
    # the sample CV's SE is wide (heavy right tail); the logs of the costs pin the same parameters
    # tightly: log X | X > 0 is Normal(mu, sigma), so its mean has SE sigma / sqrt(k) and its
    # standard deviation SE sigma / sqrt(2 k) (k members with cost)
    logs = np.log(x[x > 0])
    k = logs.size
    assert abs(logs.mean() - mu) < 5 * sigma / math.sqrt(k)
    assert abs(logs.std() - sigma) < 5 * sigma / math.sqrt(2 * k)


def test_from_summary_by_simulation_spliced():
    d = from_summary(550.0, 3.245, 0.156, 0.215)
    n = 1_000_000
    x = np.sort(d.sample(n, 17))
    mean, var = d.mean(), d.var()
    # mean: the CLT with the exact variance (finite: alpha > 2)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / n)
    # zero share: binomial
    assert abs((x == 0).mean() - 0.156) < 5 * math.sqrt(0.156 * 0.844 / n)
    # top-1% share R = (E(X - q)+ + f q) / E X.  Its empirical version has influence function
    # ((X - q)+ - R X + f q) / E X (the derivative in q vanishes), so its SE is
    # sqrt(Var((X - q)+ - R X) / n) / E X, from exact partial moments
    f, r = 0.01, top_share(d)
    q = float(d.ppf(1 - f))
    e0, e1, e2 = (_hurdle_partial(d, k, q) for k in (0, 1, 2))
    e_plus2 = e2 - 2 * q * e1 + q * q * e0  # E[(X - q)+^2]
    e_x_plus = e2 - q * e1  # E[X (X - q)+]
    var_h = e_plus2 - 2 * r * e_x_plus + r * r * d.second_moment() - (f * q) ** 2
    se_top = math.sqrt(var_h / n) / mean
    sample_top = x[-n // 100 :].sum() / x.sum()
    assert abs(sample_top - 0.215) < 5 * se_top
    assert se_top < 0.01  # the check has teeth: 5 SE is under 0.05 in share
    # CV: with alpha = 2.5 the fourth moment is infinite and the sample CV has no usable SE, so check
    # the second moment capped at c (bounded, so its sample variance is a valid SE); the exact CV
    # itself is checked above to 1e-9
    c = 1e6
    capped = np.minimum(x, c) ** 2
    exact = d.p_nonzero * (float(d.severity.partial_moment(2, c)) + c * c * float(d.severity.sf(c)))
    assert abs(capped.mean() - exact) < 5 * capped.std() / math.sqrt(n)


# ----------------------------------------------------------------------------------------------
# from_summary: bad inputs
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((0.0, 3.0, 0.15), {}, ValueError, "pmpm must be positive"),
        ((-550.0, 3.0, 0.15), {}, ValueError, "pmpm must be positive"),
        ((550.0, 0.0, 0.15), {}, ValueError, "cv must be positive"),
        ((550.0, -1.0, 0.15), {}, ValueError, "cv must be positive"),
        ((550.0, float("nan"), 0.15), {}, ValueError, "cv must be finite"),
        ((550.0, 3.0, -0.1), {}, ValueError, r"p_zero must be in \[0, 1\)"),
        ((550.0, 3.0, 1.0), {}, ValueError, r"p_zero must be in \[0, 1\)"),
        ((550.0, 3.0, 1.5), {}, ValueError, r"p_zero must be in \[0, 1\)"),
        ((550.0, True, 0.15), {}, TypeError, "cv must be a real number"),
        ((550.0, 3.0, "15%"), {}, TypeError, "p_zero must be a real number"),
        # zeros alone give CV >= sqrt(p0 / (1 - p0)) = 1 at p0 = 0.5
        ((550.0, 0.9, 0.5), {}, ValueError, r"cv=0.9 is infeasible with p_zero=0.5.*at least sqrt"),
        ((550.0, 1.0, 0.5), {}, ValueError, "infeasible"),
        # bounds every distribution obeys
        (
            (550.0, 3.0, 0.15, 0.011),
            {},
            ValueError,
            r"infeasible for any distribution.*0.01 / \(1 - p_zero\)",
        ),
        ((550.0, 3.0, 0.15, 0.35), {}, ValueError, r"infeasible for any distribution.*Cauchy-Schwarz"),
        ((550.0, 3.0, 0.15, 1.2), {}, ValueError, "infeasible for any distribution"),
        ((550.0, 30.0, 0.995, 0.5), {}, ValueError, "p_zero < 0.99"),
        # within those bounds, but not with this family: the message gives the range it reaches
        (
            (550.0, 3.245, 0.156, 0.24),
            {"tail_threshold": 100_000.0},
            ValueError,
            r"not reachable.*to at most 0\.22\d\d",
        ),
        (
            (550.0, 3.245, 0.156, 0.03),
            {"tail_threshold": 100_000.0},
            ValueError,
            r"not reachable.*from 0\.0\d+",
        ),
        ((550.0, 3.245, 0.156, 0.2), {"tail_threshold": 0.0}, ValueError, "tail_threshold must be positive"),
        ((550.0, 3.245, 0.156, 0.2), {"tail_threshold": 2_000.0}, ValueError, "raise tail_threshold"),
    ],
)
def test_from_summary_rejects_bad_inputs(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        from_summary(*args, **kwargs)


def test_very_heavy_pareto_tail_is_the_maximum_likelihood_fit():
    # alpha 0.05 puts the scale far below most of the data: the search must still find the maximum
    from scipy import stats

    x = Pareto(0.05, 1000.0).sample(5000, 1)
    f = fit(x, "pareto")
    alpha, _, scale = stats.lomax.fit(x, floc=0)
    assert f.params["alpha"] == pytest.approx(alpha, rel=1e-4)
    assert f.params["scale"] == pytest.approx(scale, rel=1e-3)


@pytest.mark.parametrize(
    "claims, match",
    [
        (np.ma.array(np.arange(1.0, 31.0), mask=[0, 1, 0] * 10), "masked array"),
        (np.full(30, 1.0 + 1.0j), "complex"),
        (np.array(["1.5"] * 30), "real numbers"),
        (np.arange(30).astype("timedelta64[s]"), "timedelta"),
    ],
)
def test_claims_of_the_wrong_kind_are_rejected(claims, match):
    with pytest.raises(TypeError, match=match):
        fit(claims)


def test_from_summary_checks_the_threshold_without_a_top_share():
    with pytest.raises(ValueError, match="tail_threshold"):
        from_summary(550.0, 3.0, 0.15, tail_threshold=-5.0)


# ----------------------------------------------------------------------------------------------
# from_summary: tail_threshold="auto"
# ----------------------------------------------------------------------------------------------


def _assert_reproduces(d, pmpm, cv, p_zero, top1):
    """The inputs back from describe (to 1e-9 relative) and the shape of a spliced from_summary."""
    got = describe(d)
    assert got["pmpm"] == pytest.approx(pmpm, rel=1e-9)
    assert got["cv"] == pytest.approx(cv, rel=1e-9)
    assert got["p_zero"] == pytest.approx(p_zero, rel=1e-9, abs=1e-12)
    assert got["top1_share"] == pytest.approx(top1, rel=1e-9)
    s = d.severity
    assert isinstance(s, Spliced) and s.tail.scale == s.threshold == got["tail_threshold"]
    assert s.tail.alpha > 2.0
    assert s.tail_weight == pytest.approx(Spliced(s.body, s.tail, s.threshold).tail_weight)
    return got


def test_from_summary_auto_reaches_the_issue_reproducer():
    # at $100,000 the splice reaches a top-1% share of at most 0.2165 with this mean and CV ...
    with pytest.raises(ValueError, match=r"not reachable.*at most 0\.2165"):
        from_summary(pmpm=500, cv=3.0, p_zero=0.15, top1_share=0.22, tail_threshold=100_000)
    # ... "auto", the default, moves the tail out, just far enough
    d = from_summary(pmpm=500, cv=3.0, p_zero=0.15, top1_share=0.22)
    t = _assert_reproduces(d, 500, 3.0, 0.15, 0.22)["tail_threshold"]
    assert 100_000 < t < 115_000
    with pytest.raises(ValueError, match="not reachable"):
        from_summary(500, 3.0, 0.15, 0.22, tail_threshold=t / 1.01)
    # the threshold chosen, passed explicitly, gives the same distribution, bit for bit
    assert from_summary(500, 3.0, 0.15, 0.22, tail_threshold=t) == d


# p_zero = 0.15: between the bounds of docs/calibration.md, the least share L = 0.0195 (cv 1.5) or
# 0.0247 and the largest U = 0.1057 (cv 1.5), 0.2427 (3), 0.4327 (5), 0.7092 (8); the first of each
# CV needs a threshold below $100,000, the last one above it
AUTO_GRID = [
    (1.5, 0.03),
    (1.5, 0.07),
    (1.5, 0.105),
    (3.0, 0.03),
    (3.0, 0.15),
    (3.0, 0.24),
    (5.0, 0.03),
    (5.0, 0.3),
    (5.0, 0.43),
    (8.0, 0.03),
    (8.0, 0.45),
    (8.0, 0.7),
]


@pytest.mark.parametrize(("cv", "top1"), AUTO_GRID)
def test_from_summary_auto_meets_feasible_pairs_exactly(cv, top1):
    d = from_summary(500.0, cv, 0.15, top1)
    t = _assert_reproduces(d, 500.0, cv, 0.15, top1)["tail_threshold"]
    ms = 12 * 500.0 / 0.85  # mean cost of the members with cost: thresholds from 3 to 1e4 times it
    assert 3 * ms * (1 - 1e-12) <= t <= 1e4 * ms
    # $100,000 where it reaches the pair, else further in for a smaller share, further out for a larger
    try:
        at_default = from_summary(500.0, cv, 0.15, top1, tail_threshold=100_000.0)
    except ValueError as err:
        least = float(re.search(r"shares from (0\.\d+) to", str(err)).group(1))
        assert (t < 100_000.0) if top1 < least else (t > 100_000.0)
    else:
        assert d == at_default


@pytest.mark.parametrize(
    ("cv", "outside", "inside", "match"),
    [
        # the bounds of the table in docs/calibration.md (p_zero = 0.15), to 4 decimals
        (3.0, 0.2430, 0.2424, r"top1_share=0\.243 is infeasible with cv=3\.0 .*at most 0\.2427 "),
        (3.0, 0.0244, 0.0250, r"top1_share=0\.0244 is infeasible with cv=3\.0 .*at least 0\.0247 "),
    ],
)
def test_from_summary_auto_refuses_pairs_beyond_the_bound(cv, outside, inside, match):
    with pytest.raises(ValueError, match=match) as info:
        from_summary(500.0, cv, 0.15, outside)
    assert "\n" not in str(info.value)
    # and just inside the bound the pair is met
    _assert_reproduces(from_summary(500.0, cv, 0.15, inside), 500.0, cv, 0.15, inside)


def test_from_summary_auto_keeps_100000_where_it_reaches():
    # the built-in targets and every pair reached at $100,000: what the explicit $100,000 gives, bit for bit
    for pmpm, cv, p_zero, top1 in CASES:
        d = from_summary(pmpm, cv, p_zero, top1)
        assert d == from_summary(pmpm, cv, p_zero, top1, tail_threshold=100_000.0)
        assert d == from_summary(pmpm, cv, p_zero, top1, tail_threshold=None)
    # as before "auto" (computed with the former default tail_threshold=100_000.0)
    s = from_summary(550.0, 3.245, 0.156, 0.215).severity
    assert s.threshold == 100_000.0
    assert s.body.mu == pytest.approx(7.614967555212048, rel=1e-12)
    assert s.body.sigma == pytest.approx(1.7637777189153363, rel=1e-12)
    assert s.tail.alpha == pytest.approx(2.495189633407158, rel=1e-12)
    # an explicit threshold is used as given
    s = from_summary(550.0, 8.0, 0.156, 0.4, tail_threshold=200_000.0).severity
    assert s.body.mu == pytest.approx(5.910369895885505, rel=1e-12)
    assert s.body.sigma == pytest.approx(2.8631006216488375, rel=1e-12)
    assert s.tail.alpha == pytest.approx(2.168372168692766, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (float("nan"), ValueError, "tail_threshold must be finite"),
        (float("inf"), ValueError, "tail_threshold must be finite"),
        (-100_000.0, ValueError, "tail_threshold must be positive"),
        (0, ValueError, "tail_threshold must be positive"),
        ("Auto", ValueError, "tail_threshold must be a positive number or 'auto', got 'Auto'"),
        ("100000", ValueError, "tail_threshold must be a positive number or 'auto'"),
        (b"auto", ValueError, "tail_threshold must be a positive number or 'auto'"),
        (True, TypeError, "tail_threshold must be a real number"),
        ([100_000.0], TypeError, "tail_threshold must be a real number"),
    ],
)
def test_from_summary_rejects_bad_tail_thresholds(value, error, match):
    with pytest.raises(error, match=match):
        from_summary(550.0, 3.245, 0.156, 0.215, tail_threshold=value)
    with pytest.raises(error, match=match):  # checked without a top-1% share too
        from_summary(550.0, 3.245, 0.156, tail_threshold=value)
