"""Maximum likelihood by family on positive claims: lognormal, gamma, Lomax, truncated bodies, splices.

The methods (closed forms, profile likelihoods, standard errors, the automatic threshold) are
described in the package documentation, *Fitting claims*.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats

from vbcsim._validation import check_positive
from vbcsim.population.distributions import Gamma, Lognormal, Pareto, Spliced

MIN_POSITIVE = 10  # positive claims needed to fit any family (and below a splice threshold)
MIN_TAIL = 30  # claims above a splice threshold needed to fit its tail
AUTO_LEVELS = np.linspace(0.90, 0.995, 20)  # candidate thresholds: quantiles of the positive claims

_LOG_2PI = math.log(2.0 * math.pi)


def _share(hits: int, n: int) -> tuple[float, float, float]:
    """A share estimated by its MLE ``hits / n``: (share, Bernoulli log-likelihood, standard error)."""
    p = hits / n
    return p, (n - hits) * math.log1p(-p) + hits * math.log(p), math.sqrt(p * (1.0 - p) / n)


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
    for _ in range(50):  # a very heavy tail (alpha near 0) puts the scale far below the data
        j = int(np.argmax([profile(u) for u in grid]))
        if j > 0:
            break
        step = grid[1] - grid[0]
        grid = np.linspace(grid[0] - 120 * step, grid[0], 121)
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
    w, w_ll, w_se = _share(n_tail, n)
    b_dist, b_par, b_se, b_ll = _fit_truncated_body(body, lower, t)
    if tail == "pareto":
        alpha, scale, t_se, t_ll = _fit_lomax(excess, what=f"claims above {what}={t!r}")
    else:  # Pareto type I above t: Lomax with scale t, alpha by the Hill estimator
        alpha, scale = n_tail / float(np.log1p(excess / t).sum()), t
        t_se, t_ll = {"alpha": alpha / math.sqrt(n_tail)}, _lomax_loglik(excess, alpha, t)
    loglik = w_ll + b_ll + t_ll
    dist = Spliced(b_dist, Pareto(alpha, scale), t, tail_weight=w)
    params = {f"body_{p}": v for p, v in b_par.items()}
    params.update(tail_alpha=alpha, tail_scale=scale, tail_weight=w, threshold=t)
    se = {f"body_{p}": v for p, v in b_se.items()}
    se.update({f"tail_{p}": v for p, v in t_se.items()})
    se["tail_weight"] = w_se
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
