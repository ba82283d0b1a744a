"""Calibration: member cost distributions from claims data or from published summary figures.

Two ways in:

:func:`fit`
    maximum likelihood on member-level annual costs (an array, a list, a pandas
    Series or a one-dimensional xarray DataArray): a :class:`~vbcsim.Lognormal`,
    :class:`~vbcsim.Gamma`, :class:`~vbcsim.Pareto` (Lomax) or a
    :class:`~vbcsim.Spliced` body/tail, wrapped in a :class:`~vbcsim.Hurdle` when
    some members cost nothing.  The result, a :class:`Fit`, carries the
    log-likelihood, AIC/BIC, standard errors, a goodness-of-fit
    :meth:`~Fit.summary` and a :meth:`~Fit.qq_plot`.
:func:`from_summary`
    a hurdle distribution that reproduces, exactly, the figures actuaries and
    surveys publish: cost per member per month, coefficient of variation, share
    of members with no cost and (optionally) share of spending by the top 1% of
    members.

:func:`describe` and :func:`top_share` compute those published figures, exactly,
for any member cost distribution (the inverse of :func:`from_summary`).

Fitting claims
--------------
*Zeros.*  Members with no cost are a point mass: ``p_nonzero`` is the share of
positive claims (its MLE), and the continuous family is fitted to the positive
claims only.  The log-likelihood reported is that of all members,
``n_zero log(1 - p) + n_pos log p + sum log f(x_i)`` (a density with respect to
Lebesgue measure plus an atom at zero), so fits of different families to the
same claims are comparable by AIC.

*Families.*  Lognormal: closed form (mean and standard deviation of log claims,
``ddof=0``).  Gamma: the shape solves ``log k - digamma(k) = log(mean x) -
mean(log x)`` (Brent's method), scale = mean / shape; standard errors from the
expected information.  Pareto (vbcsim's Lomax, ``P(X > x) = (s / (x + s))^alpha``):
for a given scale ``s`` the MLE of alpha is ``n / sum log(1 + x/s)``, so the
likelihood is profiled over ``log s`` (a grid, then a bounded Brent search);
standard errors from the observed information (analytic Hessian).  When the
profile keeps rising as ``s -> inf`` the claims are lighter-tailed than any
Pareto (the limit is an exponential) and the fit is refused.

*Spliced.*  :class:`~vbcsim.Spliced` is ``(1 - w) x body | body <= t`` plus
``w x (t + tail)``: the tail distribution is that of the *excess over the
threshold*.  Given the threshold ``t`` the spliced likelihood separates:
``w`` = the share of positive claims above ``t`` (its MLE); the body
(lognormal or gamma) by maximum likelihood on the claims ``<= t`` with the
density truncated at ``t`` (``f(x) / F(t)``; Nelder-Mead on sufficient
statistics); the tail by maximum likelihood on the excesses ``x - t`` of the
claims above ``t``: a Lomax with free scale (``tail="pareto"``, a generalised
Pareto with positive shape) or with scale fixed at ``t`` (``tail="pareto1"``,
so that ``X | X > t`` is a classic Pareto type I, alpha by the Hill estimator
``n_t / sum log(x / t)``).  Body standard errors come from a numerical Hessian
of the truncated likelihood; all standard errors are conditional on ``t``.

``threshold="auto"`` (or None) chooses ``t`` by profile likelihood: every
candidate ``t`` gives a proper density for *all* positive claims, so the total
spliced log-likelihoods are comparable; the candidates are the empirical
quantiles of the positive claims at levels 0.900, 0.905, ..., 0.995 (20 of them),
keeping those with at least 30 claims above and 10 below and a finite tail
MLE, and the one with the largest likelihood wins.  The threshold then counts
as one more parameter in the AIC.  (A mean-excess plot is the classical
graphical alternative; the likelihood is used because it needs no judgement
and fits the body at the same time.)

*Goodness of fit* (:meth:`Fit.summary`): Kolmogorov-Smirnov statistic and
p-value and the Anderson-Darling statistic of the positive claims against the
fitted continuous part (the p-value treats the parameters as known, so it is
conservative: too large), and a table of data versus fitted mean, CV, share of
zeros, quantiles and top-1% share.

From summary figures
--------------------
The member's annual cost is ``Hurdle(1 - p_zero, S)``.  With ``m = 12 pmpm`` and
``cv_s`` the CV of the cost of members who have any, the hurdle's moments give::

    E X = (1 - p_zero) E S,    CV^2 = (1 + cv_s^2) / (1 - p_zero) - 1,

so a CV is feasible only if ``cv^2 > p_zero / (1 - p_zero)`` (equality: every
member with cost costs the same).  Without ``top1_share``, ``S`` is the
lognormal with mean ``m / (1 - p_zero)`` and CV ``cv_s`` (closed form).  A
lognormal's top-1% share is then fixed by its CV; with ``top1_share`` the
severity is a lognormal body spliced at ``tail_threshold`` to a Pareto type I
tail, ``Spliced(Lognormal(mu, sigma), Pareto(alpha, t), t)`` with the weight
that makes the density continuous (the shape of the built-in defaults), and
``(mu, sigma, alpha)`` solve the three equations mean, CV and top-1% share:

* for a given ``(sigma, alpha)``, ``mu`` matches the mean (the mean rises with
  ``mu``: Brent's method);
* for a given ``sigma``, ``alpha`` in (2, 1002] matches the CV (the CV falls as the
  tail thins; ``alpha > 2`` keeps the variance finite);
* ``sigma`` matches the top-1% share.  Along the curve of equal mean and CV the
  top-1% share first rises with ``sigma`` (heavier body, lighter tail), peaks
  and then falls slowly; the solution is taken on the rising branch (the lighter
  body and heavier tail: the one that looks like commercial claims) and found by
  a grid over ``sigma`` in [0.1, 4] (step 0.1, extended by steps of 0.25 up
  to 8 while the share still rises) and Brent's method.

The top-1% share is computed exactly:
``share = (E[(X - q)+] + 0.01 q) / E[X]`` with ``q`` the 99% quantile of the member
distribution (``E[X; X > q] / E[X]`` when ``X`` has no atom at ``q``).  Any
distribution obeys ``0.01 / (1 - p_zero) <= share <= sqrt(0.01 (1 + cv^2))``
(equal costs; Cauchy-Schwarz); targets outside are rejected with that
explanation, targets inside that the splice cannot reach with the rest of the
inputs with the range it can reach.

Sources of the built-in commercial defaults (:mod:`vbcsim.defaults`): about 15%
of people with no health care expenditure in a year, the top 1% of people
accounting for 21.9% of spending (top 5%: 50.0%) in 2016 (AHRQ, MEPS Statistical
Brief #521, E. M. Mitchell, February 2019) and 24% in 2021 with the bottom half
under 3% (MEPS Statistical Brief #556, A. Hernandez-Viver and E. M. Mitchell,
March 2024); cost levels of about $550 PMPM in line with per-person spending of
people with employer-sponsored insurance (Health Care Cost Institute, *Health
Care Cost and Utilization Report*, e.g. $5,607 per person in 2020) trended
forward.  MEPS covers the whole civilian noninstitutionalized population (all
payers, elderly included), so its concentration figures are a proxy for a
commercial book.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from vbcsim._validation import check_positive, check_real
from vbcsim.population.distributions import (
    Compound,
    Distribution,
    Gamma,
    Hurdle,
    Lognormal,
    Pareto,
    Severity,
    Spliced,
)

__all__ = ["Fit", "fit", "from_summary", "describe", "top_share", "FAMILIES"]

#: families :func:`fit` knows
FAMILIES = ("lognormal", "gamma", "pareto", "spliced")
_BODIES = ("lognormal", "gamma")
_TAILS = ("pareto", "pareto1")

MIN_POSITIVE = 10  # positive claims needed to fit any family (and below a splice threshold)
MIN_TAIL = 30  # claims above a splice threshold needed to fit its tail
AUTO_LEVELS = np.linspace(0.90, 0.995, 20)  # candidate thresholds: quantiles of the positive claims

_LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------------------------
# input
# ----------------------------------------------------------------------------------------------


def _claims_array(claims, name: str = "claims") -> np.ndarray:
    """Member-level annual costs as a 1-d float array, or raise naming ``name``."""
    if claims is None or isinstance(claims, (str, bytes, dict)):
        raise TypeError(f"{name} must be an array of member costs, got {type(claims).__name__}")
    if hasattr(claims, "data_vars"):  # xarray Dataset
        raise TypeError(f"{name} must be one variable (a DataArray), not a Dataset: pass ds['cost']")
    if hasattr(claims, "columns"):  # pandas DataFrame
        raise TypeError(f"{name} must be one column, not a DataFrame: pass df['cost']")
    dims = getattr(claims, "dims", None)
    if dims is not None and not isinstance(claims, np.ndarray):  # xarray DataArray
        if len(dims) != 1:
            raise ValueError(
                f"{name} must be one-dimensional (one value per member), got a DataArray with dims {tuple(dims)}"
            )
        values = np.asarray(claims.values)
    elif hasattr(claims, "to_numpy"):  # pandas Series (nullable dtypes: missing values become NaN)
        try:
            values = claims.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must hold numbers, got a Series of dtype {claims.dtype}") from err
    else:
        if isinstance(claims, np.ma.MaskedArray):
            raise TypeError(
                f"{name} is a masked array: pass claims.compressed() (drop the masked members) or "
                "claims.filled(...) explicitly"
            )
        values = np.asarray(claims)
    if values.dtype == bool or getattr(getattr(claims, "dtype", None), "kind", None) == "b":
        raise TypeError(f"{name} must hold numbers, got booleans")
    if values.dtype.kind == "O":
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values.ravel()):
            raise TypeError(f"{name} must hold real numbers, got objects such as {values.ravel()[:1]!r}")
        values = values.astype(float)
    elif values.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {values.dtype}")
    x = values.astype(float, copy=True)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one value per member), got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty")
    bad = int(np.isnan(x).sum())
    if bad:
        raise ValueError(f"{name} has {bad} missing (NaN) values: drop or fill them before fitting")
    bad = int(np.isinf(x).sum())
    if bad:
        raise ValueError(f"{name} has {bad} infinite values")
    bad = int((x < 0).sum())
    if bad:
        raise ValueError(
            f"{name} has {bad} negative values (smallest {x.min()!r}): annual costs must be >= 0 "
            "(net out recoveries and reversals per member first)"
        )
    return x


def _choice(name: str, value, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


# ----------------------------------------------------------------------------------------------
# maximum likelihood by family (on positive values)
# ----------------------------------------------------------------------------------------------


def _se_from_hessian(h: np.ndarray) -> np.ndarray:
    """Standard errors sqrt(diag((-H)^-1)); nan where the information is not positive definite."""
    try:
        cov = np.linalg.inv(-h)
    except np.linalg.LinAlgError:
        return np.full(h.shape[0], np.nan)
    d = np.diag(cov)
    if not np.all(np.isfinite(d)) or np.any(d <= 0) or np.any(np.linalg.eigvalsh(-h) <= 0):
        return np.full(h.shape[0], np.nan)
    return np.sqrt(d)


def _numerical_hessian(f, theta, rel: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function at ``theta``."""
    theta = np.asarray(theta, dtype=float)
    k = theta.size
    step = rel * np.maximum(np.abs(theta), 1e-2)
    h = np.empty((k, k))
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = step[i]
        h[i, i] = (f(theta + ei) - 2.0 * f(theta) + f(theta - ei)) / step[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = step[j]
            h[i, j] = h[j, i] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4.0 * step[i] * step[j])
    return h


def _fit_lognormal(x: np.ndarray):
    y = np.log(x)
    n = y.size
    mu = float(y.mean())
    sigma = float(np.sqrt(np.mean((y - mu) ** 2)))
    if not sigma > 0:
        raise ValueError("claims: the positive claims are all equal; no spread to fit")
    loglik = float(-y.sum() - n * math.log(sigma) - 0.5 * n * _LOG_2PI - 0.5 * n)
    se = {"mu": sigma / math.sqrt(n), "sigma": sigma / math.sqrt(2.0 * n)}
    return Lognormal(mu, sigma), {"mu": mu, "sigma": sigma}, se, loglik


def _gamma_shape(s: float) -> float:
    """The k solving log k - digamma(k) = s (> 0): the gamma MLE shape."""

    def g(lk):
        k = math.exp(lk)
        return math.log(k) - float(special.digamma(k)) - s

    lo, hi = math.log(1e-8), math.log(1e12)
    if not (g(lo) > 0 > g(hi)):
        raise ValueError("claims: the positive claims have (almost) no spread; no gamma shape fits")
    return math.exp(optimize.brentq(g, lo, hi, xtol=1e-14, rtol=1e-14))


def _fit_gamma(x: np.ndarray):
    n = x.size
    mean = float(x.mean())
    s = math.log(mean) - float(np.log(x).mean())
    if not s > 0:
        raise ValueError("claims: the positive claims are all equal; no spread to fit")
    k = _gamma_shape(s)
    theta = mean / k
    loglik = float(stats.gamma.logpdf(x, k, scale=theta).sum())
    t1 = float(special.polygamma(1, k))
    det = k * t1 - 1.0  # n * det / theta^2 is the determinant of the expected information
    se = {"shape": math.sqrt(k / (n * det)), "scale": math.sqrt(theta * theta * t1 / (n * det))}
    return Gamma(k, theta), {"shape": k, "scale": theta}, se, loglik


def _lomax_loglik(x: np.ndarray, alpha: float, scale: float) -> float:
    n = x.size
    return float(n * math.log(alpha) - n * math.log(scale) - (alpha + 1.0) * np.log1p(x / scale).sum())


def _lomax_hessian(x: np.ndarray, alpha: float, scale: float) -> np.ndarray:
    """Analytic Hessian of the Lomax log-likelihood in (alpha, scale)."""
    n, a, s = x.size, alpha, scale
    r = x / (s * (s + x))  # d/ds of -log(1 + x/s)
    d2s = n / (s * s) - (a + 1.0) * float(np.sum(x * (2.0 * s + x) / (s * s * (s + x) ** 2)))
    return np.array([[-n / (a * a), float(r.sum())], [float(r.sum()), d2s]])


def _fit_lomax(x: np.ndarray, what: str = "claims"):
    """Lomax MLE by profiling the scale; raises when the likelihood has no finite maximum."""
    n = x.size

    def profile(u):  # log-likelihood maximised over alpha, for scale exp(u)
        total = float(np.log1p(x / math.exp(u)).sum())
        return n * math.log(n / total) - n * u - n - total

    lo = math.log(float(x.min())) - 12.0
    hi = math.log(float(x.max())) + 12.0
    grid = np.linspace(lo, hi, 121)
    values = np.array([profile(u) for u in grid])
    j = int(np.argmax(values))
    for _ in range(50):  # a very heavy tail (alpha near 0) puts the scale far below the data
        if j > 0:
            break
        step = grid[1] - grid[0]
        grid = np.linspace(grid[0] - 120 * step, grid[0], 121)
        values = np.array([profile(u) for u in grid])
        j = int(np.argmax(values))
    else:
        raise ValueError(
            f"{what}: no finite Pareto (Lomax) maximum-likelihood fit: the likelihood keeps rising as the "
            "scale falls towards 0 (alpha -> 0); the values are heavier-tailed than any Pareto with a mean"
        )
    if j == grid.size - 1:
        raise ValueError(
            f"{what}: no finite Pareto (Lomax) maximum-likelihood fit: the likelihood keeps rising as "
            "alpha -> inf, i.e. the values are lighter-tailed than any Pareto (their limit, an "
            "exponential, fits better); try a lognormal or gamma, or a higher threshold"
        )
    j = max(j, 1)
    res = optimize.minimize_scalar(
        lambda u: -profile(u), bounds=(grid[j - 1], grid[j + 1]), method="bounded", options={"xatol": 1e-10}
    )
    scale = math.exp(float(res.x))
    alpha = n / float(np.log1p(x / scale).sum())
    se = _se_from_hessian(_lomax_hessian(x, alpha, scale))
    return alpha, scale, {"alpha": float(se[0]), "scale": float(se[1])}, _lomax_loglik(x, alpha, scale)


def _fit_pareto(x: np.ndarray):
    alpha, scale, se, loglik = _fit_lomax(x)
    return Pareto(alpha, scale), {"alpha": alpha, "scale": scale}, se, loglik


def _fit_truncated_body(family: str, x: np.ndarray, t: float):
    """MLE of a lognormal or gamma truncated to (0, t] on the claims ``x <= t``.

    Returns (distribution, params, standard errors, log-likelihood sum log f(x) - n log F(t)).
    """
    n = x.size
    y = np.log(x)
    s1, s2, sx = float(y.sum()), float((y * y).sum()), float(x.sum())
    log_t = math.log(t)
    if family == "lognormal":
        names = ("mu", "sigma")

        def loglik(theta):
            mu, sigma = theta
            if not sigma > 0:
                return -math.inf
            quad = (s2 - 2.0 * mu * s1 + n * mu * mu) / (2.0 * sigma * sigma)
            return (
                -s1
                - n * math.log(sigma)
                - 0.5 * n * _LOG_2PI
                - quad
                - n * float(special.log_ndtr((log_t - mu) / sigma))
            )

        mu0 = s1 / n
        start = np.array([mu0, math.sqrt(max(s2 / n - mu0 * mu0, 1e-12))])
        to_nat = lambda z: np.array([z[0], math.exp(z[1])])  # noqa: E731
        to_free = lambda th: np.array([th[0], math.log(th[1])])  # noqa: E731
        make = Lognormal
    else:
        names = ("shape", "scale")

        def loglik(theta):
            k, theta_ = theta
            if not (k > 0 and theta_ > 0):
                return -math.inf
            return (
                (k - 1.0) * s1
                - sx / theta_
                - n * k * math.log(theta_)
                - n * float(special.gammaln(k))
                - n * float(stats.gamma.logcdf(t, k, scale=theta_))
            )

        k0 = _gamma_shape(math.log(sx / n) - s1 / n)
        start = np.array([k0, sx / n / k0])
        to_nat = lambda z: np.exp(z)  # noqa: E731
        to_free = lambda th: np.log(th)  # noqa: E731
        make = Gamma

    def neg(z):
        value = loglik(to_nat(z))
        return -value / n if math.isfinite(value) else 1e300

    res = optimize.minimize(
        neg, to_free(start), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000}
    )
    theta = to_nat(res.x)
    se = _se_from_hessian(_numerical_hessian(loglik, theta))
    params = {k: float(v) for k, v in zip(names, theta, strict=True)}
    return make(*theta), params, dict(zip(names, map(float, se), strict=True)), float(loglik(theta))


def _fit_spliced_at(x: np.ndarray, t: float, body: str, tail: str, what: str = "threshold"):
    """Spliced fit of the sorted positive claims ``x`` at threshold ``t``."""
    n = x.size
    k = int(np.searchsorted(x, t, side="right"))  # claims <= t
    n_tail = n - k
    if k < MIN_POSITIVE or n_tail < MIN_TAIL:
        raise ValueError(
            f"{what}={t!r} leaves {k} positive claims at or below it and {n_tail} above it; "
            f"a splice needs at least {MIN_POSITIVE} below and {MIN_TAIL} above"
        )
    lower, excess = x[:k], x[k:] - t
    if not lower[-1] > lower[0]:
        raise ValueError(f"{what}={t!r}: the claims below it are all equal; no body to fit")
    w = n_tail / n
    b_dist, b_par, b_se, b_ll = _fit_truncated_body(body, lower, t)
    if tail == "pareto":
        alpha, scale, t_se, t_ll = _fit_lomax(excess, what=f"claims above {what}={t!r}")
    else:  # Pareto type I above t: Lomax with scale t, alpha by the Hill estimator
        alpha, scale = n_tail / float(np.log1p(excess / t).sum()), t
        t_se, t_ll = {"alpha": alpha / math.sqrt(n_tail)}, _lomax_loglik(excess, alpha, t)
    loglik = k * math.log1p(-w) + n_tail * math.log(w) + b_ll + t_ll
    dist = Spliced(b_dist, Pareto(alpha, scale), t, tail_weight=w)
    params = {f"body_{p}": v for p, v in b_par.items()}
    params.update(tail_alpha=alpha, tail_scale=scale, tail_weight=w, threshold=t)
    se = {f"body_{p}": v for p, v in b_se.items()}
    se.update({f"tail_{p}": v for p, v in t_se.items()})
    se["tail_weight"] = math.sqrt(w * (1.0 - w) / n)
    n_params = len(b_par) + (2 if tail == "pareto" else 1) + 1
    return dist, params, se, loglik, n_params


def _fit_spliced(x: np.ndarray, threshold, body: str, tail: str):
    if threshold is None or (isinstance(threshold, str) and threshold == "auto"):
        best, tried = None, []
        for t in np.unique(np.quantile(x, AUTO_LEVELS, method="inverted_cdf")):
            try:
                out = _fit_spliced_at(x, float(t), body, tail)
            except ValueError as err:
                tried.append(str(err))
                continue
            if best is None or out[3] > best[3]:
                best = out
        if best is None:
            raise ValueError(
                "threshold='auto': no candidate threshold (the 90%-99.5% quantiles of the positive claims) "
                f"gave a spliced fit; the first problem: {tried[0] if tried else 'no candidates'}"
            )
        dist, params, se, loglik, n_params = best
        return dist, params, se, loglik, n_params + 1  # the threshold was estimated
    if isinstance(threshold, str):
        raise ValueError(f"threshold must be a positive number, 'auto' or None, got {threshold!r}")
    t = check_positive("threshold", threshold, owner="fit")
    return _fit_spliced_at(x, t, body, tail)


# ----------------------------------------------------------------------------------------------
# the result
# ----------------------------------------------------------------------------------------------


def _empirical_top_share(sorted_x: np.ndarray, fraction: float = 0.01) -> float:
    total = float(sorted_x.sum())
    if total <= 0:
        return math.nan
    k = max(1, round(fraction * sorted_x.size))
    return float(sorted_x[-k:].sum()) / total


@dataclass(frozen=True)
class Fit:
    """A fitted member cost distribution (the result of :func:`fit`).

    Attributes
    ----------
    distribution : Distribution
        The fitted distribution: a ``Hurdle(p_nonzero, severity)`` when the
        claims had zeros, else the severity itself.  Use it directly in a
        :class:`~vbcsim.Segment`.
    family : str
        ``"lognormal"``, ``"gamma"``, ``"pareto"`` or ``"spliced"``.
    params : dict
        Fitted parameters by name (``p_nonzero`` first when there are zeros;
        spliced: ``body_*``, ``tail_alpha``, ``tail_scale``, ``tail_weight``,
        ``threshold``).
    stderr : dict
        Asymptotic standard errors of the parameters that have one (closed
        forms, expected or observed information; spliced: conditional on the
        threshold).  Parameters that were fixed or chosen on a grid (a
        threshold, a ``pareto1`` tail scale) have none.
    loglik : float
        Log-likelihood of all ``n`` members, zeros included.
    n, n_zero : int
        Members, and members with zero cost.
    n_params : int
        Free parameters (for AIC/BIC): the family's, plus ``p_nonzero`` when
        there are zeros, plus the threshold when it was chosen by ``"auto"``.
    positive_claims : numpy.ndarray
        The sorted positive claims the severity was fitted to (read-only).
    """

    distribution: Distribution
    family: str
    params: dict
    stderr: dict
    loglik: float
    n: int
    n_zero: int
    n_params: int
    positive_claims: np.ndarray = field(repr=False, compare=False)

    @property
    def severity(self) -> Severity:
        """The fitted distribution of the positive claims."""
        d = self.distribution
        return d.severity if isinstance(d, Hurdle) else d

    @property
    def aic(self) -> float:
        """Akaike information criterion 2 k - 2 loglik (smaller is better)."""
        return 2.0 * self.n_params - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        """Bayesian information criterion k log n - 2 loglik (smaller is better)."""
        return self.n_params * math.log(self.n) - 2.0 * self.loglik

    @property
    def threshold(self) -> float | None:
        """The splice threshold (spliced fits), else None."""
        return self.params.get("threshold")

    def summary(self) -> dict:
        """Goodness of fit and a data-versus-fitted table.

        Returns
        -------
        dict
            ``family``, ``n``, ``n_zero``, ``loglik``, ``aic``, ``bic``;
            ``ks_statistic`` and ``ks_pvalue`` (Kolmogorov-Smirnov, positive claims
            against the fitted severity; the p-value treats the parameters as
            known, so it is conservative); ``ad_statistic`` (Anderson-Darling
            A^2, same comparison; no p-value); and ``table``, a
            :class:`pandas.DataFrame` with rows ``mean``, ``cv``, ``p_zero``,
            ``q50``, ``q75``, ``q90``, ``q95``, ``q99``, ``q99.9``, ``top1_share``
            and columns ``data`` and ``fitted`` (all members, zeros included;
            the fitted values are exact).
        """
        import pandas as pd

        sev, x = self.severity, self.positive_claims
        m = x.size
        ks = stats.kstest(x, sev.cdf)
        with np.errstate(divide="ignore"):
            log_f = np.log(np.maximum(np.asarray(sev.cdf(x), dtype=float), 1e-300))
            log_s = np.log(np.maximum(np.asarray(sev.sf(x), dtype=float), 1e-300))
        i = np.arange(1, m + 1)
        ad = float(-m - np.sum((2 * i - 1) * (log_f + log_s[::-1])) / m)

        data = np.concatenate([np.zeros(self.n_zero), x])
        dist = self.distribution
        levels = {"q50": 0.5, "q75": 0.75, "q90": 0.9, "q95": 0.95, "q99": 0.99, "q99.9": 0.999}
        rows = {
            "mean": (float(data.mean()), dist.mean()),
            "cv": (float(data.std(ddof=1) / data.mean()), _safe(dist.cv)),
            "p_zero": (self.n_zero / self.n, self.n_zero / self.n),
        }
        for name, q in levels.items():
            rows[name] = (float(np.quantile(data, q)), float(dist.ppf(q)))
        rows["top1_share"] = (_empirical_top_share(data), _safe(lambda: top_share(dist)))
        table = pd.DataFrame.from_dict(rows, orient="index", columns=["data", "fitted"])
        return {
            "family": self.family,
            "n": self.n,
            "n_zero": self.n_zero,
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "ks_statistic": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue),
            "ad_statistic": ad,
            "table": table,
        }

    def qq_plot(self, ax=None, *, max_points: int = 2000):
        """Quantile-quantile plot of the positive claims against the fitted severity.

        Log-log axes; the points should lie on the diagonal.  Zero-cost members
        (an atom that the plot cannot show) are left out; a spliced fit marks its
        threshold.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Draw into these axes; by default a new
            :class:`matplotlib.figure.Figure` (no pyplot state is touched).
        max_points : int
            At most about this many points are drawn: evenly spaced order
            statistics plus the largest 200 claims.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from matplotlib.figure import Figure

        if ax is None:
            fig = Figure(figsize=(5.0, 5.0), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        x = self.positive_claims
        m = x.size
        top = min(m, 200)
        idx = np.unique(
            np.r_[
                np.linspace(0, m - 1, max(2, int(max_points) - top)).round().astype(int),
                np.arange(m - top, m),
            ]
        )
        theo = np.asarray(self.severity.ppf((idx + 0.5) / m), dtype=float)
        keep = theo > 0
        ax.loglog(theo[keep], x[idx][keep], ".", ms=3, color="C0", label="positive claims")
        lo = float(min(theo[keep].min(), x[idx][keep].min()))
        hi = float(max(theo[keep].max(), x.max()))
        ax.plot([lo, hi], [lo, hi], color="0.3", lw=1, label="y = x")
        if self.threshold is not None:
            ax.axvline(self.threshold, ls=":", color="C3", lw=1, label="threshold")
        ax.set_xlabel("fitted quantile")
        ax.set_ylabel("claim (order statistic)")
        zeros = f", {self.n_zero} zeros not shown" if self.n_zero else ""
        ax.set_title(f"QQ plot: {self.family} fit ({m} positive claims{zeros})", fontsize="medium")
        ax.legend(loc="upper left", fontsize="small")
        return fig


def _safe(f):
    try:
        value = f()
    except (ValueError, ZeroDivisionError, OverflowError):
        return math.nan
    return float(value)


def fit(
    claims,
    family: str = "lognormal",
    *,
    zeros: str = "hurdle",
    threshold=None,
    body: str = "lognormal",
    tail: str = "pareto",
) -> Fit:
    """Fit a member cost distribution to member-level annual costs by maximum likelihood.

    Parameters
    ----------
    claims : array_like, pandas.Series or xarray.DataArray
        One annual cost per member (>= 0, no missing values); one-dimensional.
    family : {"lognormal", "gamma", "pareto", "spliced"}
        The distribution of the positive claims.  ``"pareto"`` is vbcsim's
        :class:`~vbcsim.Pareto` (Lomax, scale estimated); ``"spliced"`` is a
        ``body`` distribution below ``threshold`` and a Pareto ``tail`` above it.
    zeros : {"hurdle", "error"}
        ``"hurdle"``: zero-cost members become a point mass, the result a
        :class:`~vbcsim.Hurdle` with ``p_nonzero`` = the share of positive
        claims (no zeros: the plain severity).  ``"error"``: zeros are refused.
    threshold : float, "auto" or None
        Spliced fits only: the splice point, or ``"auto"``/None to choose it by
        profile likelihood among the 90%-99.5% quantiles of the positive claims
        (see the module documentation).
    body : {"lognormal", "gamma"}
        Spliced fits: the body family, fitted with its density truncated at
        the threshold.
    tail : {"pareto", "pareto1"}
        Spliced fits: the distribution of the excess over the threshold, a Lomax
        with free scale (``"pareto"``) or with scale = threshold (``"pareto1"``:
        a classic Pareto type I above the threshold, as in
        :mod:`vbcsim.defaults`).

    Returns
    -------
    Fit

    Raises
    ------
    ValueError
        NaN, infinite or negative claims, zeros with ``zeros="error"``, fewer
        than 10 positive claims, a threshold leaving fewer than 10 claims below
        or 30 above it, or a Pareto likelihood without a finite maximum.
    TypeError
        Claims that are not numbers, a DataFrame or a Dataset.

    Examples
    --------
    >>> f = fit(costs, "spliced", threshold=100_000)          # doctest: +SKIP
    >>> f.distribution, f.aic, f.summary()["table"]            # doctest: +SKIP
    >>> f.qq_plot().savefig("qq.png")                          # doctest: +SKIP
    """
    family = _choice("family", family, FAMILIES)
    zeros = _choice("zeros", zeros, ("hurdle", "error"))
    x = _claims_array(claims)
    if family == "spliced":
        body = _choice("body", body, _BODIES)
        tail = _choice("tail", tail, _TAILS)
    elif threshold is not None:
        raise ValueError(f"threshold applies to family='spliced' only, got threshold={threshold!r}")
    elif body != "lognormal" or tail != "pareto":
        raise ValueError(f"body and tail apply to family='spliced' only, got body={body!r}, tail={tail!r}")
    n = x.size
    pos = np.sort(x[x > 0])
    n_zero = n - pos.size
    if n_zero and zeros == "error":
        raise ValueError(
            f"claims has {n_zero} zero values (of {n}); pass zeros='hurdle' to model them as a point mass"
        )
    if pos.size < MIN_POSITIVE:
        raise ValueError(f"claims has {pos.size} positive values; at least {MIN_POSITIVE} are needed to fit")
    if not pos[-1] > pos[0]:
        raise ValueError(f"claims: all {pos.size} positive values equal {pos[0]!r}; no spread to fit")

    if family == "lognormal":
        sev, params, se, loglik = _fit_lognormal(pos)
        k = 2
    elif family == "gamma":
        sev, params, se, loglik = _fit_gamma(pos)
        k = 2
    elif family == "pareto":
        sev, params, se, loglik = _fit_pareto(pos)
        k = 2
    else:
        sev, params, se, loglik, k = _fit_spliced(pos, threshold, body, tail)

    if n_zero:
        p = pos.size / n
        loglik += n_zero * math.log1p(-p) + pos.size * math.log(p)
        params = {"p_nonzero": p, **params}
        se = {"p_nonzero": math.sqrt(p * (1.0 - p) / n), **se}
        dist = Hurdle(p, sev)
        k += 1
    else:
        dist = sev
    pos.flags.writeable = False
    return Fit(dist, family, params, se, float(loglik), n, n_zero, k, pos)


# ----------------------------------------------------------------------------------------------
# published figures
# ----------------------------------------------------------------------------------------------


def _check_dist(name, dist):
    if not isinstance(dist, (Severity, Compound, Hurdle)):
        raise TypeError(
            f"{name} must be a cost distribution (Lognormal, Gamma, Pareto, Spliced, Hurdle or Compound), "
            f"got {type(dist).__name__}"
        )


def top_share(dist: Distribution, fraction: float = 0.01) -> float:
    """Share of total cost from the costliest ``fraction`` of members, exactly.

    ``(E[(X - q)+] + fraction q) / E[X]`` with ``q`` the ``1 - fraction`` quantile:
    the expected cost of the top ``fraction`` of members over the mean (equal to
    ``E[X; X > q] / E[X]`` when there is no atom at ``q``; ties at an atom are
    split).

    Parameters
    ----------
    dist : Distribution
        A member cost distribution with finite mean.
    fraction : float
        The top share of members, in (0, 1); 0.01 for the top 1%.
    """
    _check_dist("dist", dist)
    fraction = check_real("fraction", fraction, owner="top_share")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"top_share: fraction must be in (0, 1), got {fraction!r}")
    mean = dist.mean()
    if not (math.isfinite(mean) and mean > 0):
        raise ValueError(f"top_share: the distribution's mean must be finite and positive, got {mean!r}")
    q = float(dist.ppf(1.0 - fraction))
    return (float(dist.stop_loss(q)) + fraction * q) / mean


def describe(dist: Distribution) -> dict:
    """The published summary figures of a member cost distribution, exactly.

    Returns
    -------
    dict
        ``pmpm`` (mean / 12), ``mean`` (annual), ``cv``, ``p_zero`` (share of
        members with no cost), ``top1_share`` and ``top1_threshold`` (the 99%
        quantile: the cost that puts a member in the top 1%).  What
        :func:`from_summary` takes, so ``describe(from_summary(...))`` returns its
        inputs.
    """
    _check_dist("dist", dist)
    mean = dist.mean()
    return {
        "pmpm": mean / 12.0,
        "mean": mean,
        "cv": _safe(dist.cv),
        "p_zero": _p_zero(dist),
        "top1_share": _safe(lambda: top_share(dist)),
        "top1_threshold": float(dist.ppf(0.99)),
    }


def _p_zero(dist) -> float:
    if isinstance(dist, Hurdle):
        return (1.0 - dist.p_nonzero) + dist.p_nonzero * _p_zero(dist.severity)
    if isinstance(dist, Compound):
        return float(dist.frequency.pmf(0))
    return 0.0


_Z_MIN = float(special.ndtri(2e-3))  # keep >= 0.2% of the body below the threshold (Spliced needs 0.1%)


def _splice_moments(mu: float, sigma: float, alpha: float, t: float):
    """Mean and second moment of Spliced(Lognormal(mu, sigma), Pareto(alpha, t), t), continuous weight.

    The same closed forms as :class:`~vbcsim.Spliced` (checked against it in the tests), as plain
    floats for the solver's inner loops.
    """
    z = (math.log(t) - mu) / sigma
    log_fb = float(special.log_ndtr(z))
    # body density at t over F_body(t), against the tail density at 0 (alpha / t)
    log_a = -0.5 * z * z - 0.5 * _LOG_2PI - math.log(t * sigma) - log_fb
    b = alpha / t
    w = 1.0 / (1.0 + b * math.exp(-log_a)) if log_a > -700 else 0.0
    m1b = math.exp(mu + 0.5 * sigma * sigma + float(special.log_ndtr(z - sigma)) - log_fb)
    m2b = math.exp(2 * mu + 2 * sigma * sigma + float(special.log_ndtr(z - 2 * sigma)) - log_fb)
    m1t = t * alpha / (alpha - 1.0)
    m2t = t * t * alpha / (alpha - 2.0)
    return (1 - w) * m1b + w * m1t, (1 - w) * m2b + w * m2t, w


class _Solver:
    """Solve (mu, sigma, alpha) of the hurdle lognormal/Pareto splice for mean, CV and top-1% share."""

    ALPHA_LO, ALPHA_HI = 2.0 + 1e-6, 1002.0
    SIGMAS = np.round(np.arange(0.1, 4.0001, 0.1), 10)
    SIGMA_MAX = 8.0

    def __init__(self, ms: float, cvs: float, p: float, t: float):
        self.ms, self.cvs, self.p, self.t = ms, cvs, p, t

    def mu(self, sigma, alpha):
        """mu giving the severity mean ms, or None when the threshold is too low for it."""
        ms, t = self.ms, self.t

        def g(mu):
            return math.log(_splice_moments(mu, sigma, alpha, t)[0] / ms)

        hi = math.log(t) - _Z_MIN * sigma  # body at least 0.2% below t
        if g(hi) < 0:
            return None
        lo = math.log(ms) - 0.5 * sigma * sigma - 1.0
        for _ in range(60):
            if g(lo) < 0:
                break
            lo -= 2.0
        else:
            return None
        return optimize.brentq(g, lo, hi, xtol=1e-13, rtol=1e-15)

    def cv(self, sigma, alpha):
        mu = self.mu(sigma, alpha)
        if mu is None:
            return None, None
        m1, m2, _ = _splice_moments(mu, sigma, alpha, self.t)
        return math.sqrt(max(m2 - m1 * m1, 0.0)) / m1, mu

    def alpha(self, sigma):
        """(alpha, mu) matching the CV for this sigma, or None."""
        lo, hi = math.log(self.ALPHA_LO - 2.0), math.log(self.ALPHA_HI - 2.0)
        c_lo, _ = self.cv(sigma, 2.0 + math.exp(lo))
        c_hi, _ = self.cv(sigma, 2.0 + math.exp(hi))
        if c_lo is None or c_hi is None or not (c_lo > self.cvs > c_hi):
            return None
        la = optimize.brentq(
            lambda la: self.cv(sigma, 2.0 + math.exp(la))[0] - self.cvs, lo, hi, xtol=1e-13, rtol=1e-15
        )
        alpha = 2.0 + math.exp(la)
        return alpha, self.mu(sigma, alpha)

    def dist(self, sigma):
        sol = self.alpha(sigma)
        if sol is None:
            return None
        alpha, mu = sol
        try:
            return Hurdle(self.p, Spliced(Lognormal(mu, sigma), Pareto(alpha, self.t), self.t))
        except ValueError:
            return None

    def top1(self, sigma):
        d = self.dist(sigma)
        return None if d is None else top_share(d)


def from_summary(
    pmpm: float,
    cv: float,
    p_zero: float,
    top1_share: float | None = None,
    *,
    tail_threshold: float = 100_000.0,
) -> Hurdle:
    """A member cost distribution that reproduces published summary figures exactly.

    Parameters
    ----------
    pmpm : float
        Mean cost per member per month (the annual mean is ``12 * pmpm``).
    cv : float
        Coefficient of variation of a member's annual cost, zero-cost members
        included.  Must exceed ``sqrt(p_zero / (1 - p_zero))``, the CV that the
        zeros alone produce.
    p_zero : float
        Share of members with no cost in the year, in [0, 1).
    top1_share : float, optional
        Share of total cost from the costliest 1% of members (e.g. 0.219).
        Without it the severity is a lognormal; with it a lognormal body
        spliced at ``tail_threshold`` to a Pareto type I tail whose index is
        solved for (see the module documentation).
    tail_threshold : float
        Where the Pareto tail starts (annual cost per member; default $100,000,
        as in :mod:`vbcsim.defaults`).  Used only with ``top1_share``.

    Returns
    -------
    Hurdle
        ``Hurdle(1 - p_zero, Lognormal(mu, sigma))``, or with ``top1_share``
        ``Hurdle(1 - p_zero, Spliced(Lognormal(mu, sigma), Pareto(alpha, t), t))``
        with the continuous splice weight and ``alpha > 2``.  :func:`describe`
        of it returns the inputs (to about 1e-9 relative).

    Raises
    ------
    ValueError
        Non-positive ``pmpm``, ``cv`` or ``tail_threshold``; ``p_zero`` outside
        [0, 1); a ``cv`` too small for ``p_zero``; a ``top1_share`` outside the
        bounds every distribution obeys, or outside the range the splice reaches
        with the other inputs (the message gives the range).

    Examples
    --------
    >>> d = from_summary(550.0, 3.25, 0.156, 0.215)       # the built-in defaults' targets
    >>> round(describe(d)["top1_share"], 3)
    0.215
    """
    owner = "from_summary"
    pmpm = check_positive("pmpm", pmpm, owner=owner)
    cv = check_positive("cv", cv, owner=owner)
    p_zero = check_real("p_zero", p_zero, owner=owner)
    if not 0.0 <= p_zero < 1.0:
        raise ValueError(f"{owner}: p_zero must be in [0, 1) (some members must have cost), got {p_zero!r}")
    p = 1.0 - p_zero
    cvs2 = (1.0 + cv * cv) * p - 1.0
    if not cvs2 > 0:
        least = math.sqrt(p_zero / p)
        raise ValueError(
            f"{owner}: cv={cv!r} is infeasible with p_zero={p_zero!r}: with a share p_zero of members at zero, "
            f"CV^2 = (1 + cv_s^2) / (1 - p_zero) - 1 where cv_s is the CV among members with cost, so the CV "
            f"is at least sqrt(p_zero / (1 - p_zero)) = {least:.4g} (every member with cost costing the same); "
            "raise cv or lower p_zero"
        )
    m = 12.0 * pmpm
    ms, cvs = m / p, math.sqrt(cvs2)
    t = check_positive("tail_threshold", tail_threshold, owner=owner)
    if top1_share is None:
        return Hurdle(p, Lognormal.from_mean_cv(ms, cvs))

    top1 = check_real("top1_share", top1_share, owner=owner)
    if p <= 0.01:
        raise ValueError(
            f"{owner}: with p_zero={p_zero!r} the top 1% of members includes members without cost; "
            "top1_share needs p_zero < 0.99"
        )
    least, most = 0.01 / p, min(1.0, math.sqrt(0.01 * (1.0 + cv * cv)))
    if not least < top1 < most:
        raise ValueError(
            f"{owner}: top1_share={top1!r} is infeasible for any distribution with cv={cv!r} and "
            f"p_zero={p_zero!r}: it must lie strictly between 0.01 / (1 - p_zero) = {least:.4g} (every member "
            f"with cost costing the same) and sqrt(0.01 (1 + cv^2)) = {most:.4g} (Cauchy-Schwarz: "
            "E[X; top 1%] <= sqrt(0.01 E[X^2]))"
        )

    solver = _Solver(ms, cvs, p, t)
    sigmas = list(solver.SIGMAS)
    tops = [solver.top1(s) for s in sigmas]
    # the share may still be rising at the end of the grid (large CVs): carry on up to SIGMA_MAX
    while (
        sigmas[-1] < solver.SIGMA_MAX
        and tops[-1] is not None
        and (len(tops) < 2 or tops[-2] is None or tops[-1] > tops[-2])
    ):
        sigmas.append(round(sigmas[-1] + 0.25, 10))
        tops.append(solver.top1(sigmas[-1]))
    sigmas = np.array(sigmas)
    tops = np.array([np.nan if v is None else v for v in tops])
    ok = np.flatnonzero(np.isfinite(tops))
    if ok.size == 0:
        raise ValueError(
            f"{owner}: no lognormal body spliced at tail_threshold={t!r} to a Pareto tail reproduces "
            f"an annual mean of {m:.6g} with cv={cv!r} and p_zero={p_zero!r} (mean cost of members with cost "
            f"{ms:.6g}); the threshold may be too low for that mean: raise tail_threshold"
        )
    j_max = int(ok[np.argmax(tops[ok])])
    rising = ok[ok <= j_max]
    s_max, t_max = float(sigmas[j_max]), float(tops[j_max])
    if top1 > t_max:  # refine the peak before giving up
        lo = sigmas[max(j_max - 1, int(ok[0]))]
        hi = sigmas[min(j_max + 1, int(ok[-1]))]
        res = optimize.minimize_scalar(
            lambda s: -(solver.top1(s) or 0.0), bounds=(lo, hi), method="bounded", options={"xatol": 1e-6}
        )
        if -res.fun > t_max:
            s_max, t_max = float(res.x), float(-res.fun)
    t_min = float(tops[rising[0]])
    if not t_min <= top1 <= t_max:
        raise ValueError(
            f"{owner}: top1_share={top1!r} is not reachable with pmpm={pmpm!r}, cv={cv!r} and p_zero={p_zero!r}: "
            f"a lognormal body spliced at {t:.6g} to a Pareto tail (alpha > 2) gives top-1% shares from "
            f"{t_min:.4f} to at most {t_max:.4f} with this mean and CV (the largest at body sigma "
            f"{s_max:.2f}); to reach a larger top-1% share raise cv or tail_threshold, for a smaller one lower cv"
        )
    # bracket on the rising branch: the first grid step that crosses the target
    a, b = float(sigmas[rising[0]]), s_max
    for j0, j1 in zip(rising[:-1], rising[1:], strict=True):
        if tops[j0] <= top1 <= tops[j1]:
            a, b = float(sigmas[j0]), float(sigmas[j1])
            break
    else:  # between the last grid point and the refined peak
        below = [j for j in rising if sigmas[j] < s_max and tops[j] <= top1]
        a = float(sigmas[below[-1]]) if below else s_max
    if a == b:
        sigma = a
    else:
        sigma = optimize.brentq(lambda s: solver.top1(s) - top1, a, b, xtol=1e-12, rtol=1e-14)
    dist = solver.dist(sigma)
    got = describe(dist)
    for name, want in (("pmpm", pmpm), ("cv", cv), ("p_zero", p_zero), ("top1_share", top1)):
        if not math.isclose(got[name], want, rel_tol=1e-7, abs_tol=1e-12):  # pragma: no cover
            raise RuntimeError(f"{owner}: the solver missed {name}: {got[name]!r} instead of {want!r}")
    return dist
