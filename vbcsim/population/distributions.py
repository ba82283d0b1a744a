"""Annual cost and claim-count distributions.

Each distribution is a small frozen dataclass that validates its parameters on
construction and knows its exact moments.  The methods every distribution has:

``mean()``, ``var()``, ``std()``
    exact moments (``inf`` where the moment does not exist);
``limited_mean(d)``
    the limited expected value E[min(X, d)], vectorised over ``d``; the
    stop-loss premium is ``mean() - limited_mean(d)``;
``cdf(x)``, ``ppf(q)``
    distribution and quantile functions, vectorised;
``sample(size, rng)``
    plain numpy sampling, the reference implementation that the numba engine is
    tested against.

Continuous severities also have ``pdf``, ``sf`` and ``partial_moment(k, d)`` =
E[X^k; X <= d], from which the spliced and hurdle mixtures get their closed forms.

:class:`Compound` (a sum of claims) has exact moments; its distribution function,
quantiles and limited mean come from the FFT oracle in :mod:`vbcsim.exact`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import special, stats

from vbcsim._validation import (
    check_at_most,
    check_nonnegative,
    check_positive,
    check_probability,
    check_real,
)

__all__ = [
    "Distribution",
    "Severity",
    "Frequency",
    "Lognormal",
    "Gamma",
    "Pareto",
    "Spliced",
    "Hurdle",
    "Poisson",
    "NegativeBinomial",
    "Compound",
]


def _as_array(x):
    return np.asarray(x, dtype=float)


def _scalar_or_array(result, like):
    if np.ndim(like) == 0:
        return float(np.asarray(result).reshape(()))
    return result


def _exp(x: float) -> float:
    """math.exp that overflows to inf instead of raising OverflowError."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _check_q(q):
    q = _as_array(q)
    if np.any(np.isnan(q)) or np.any((q < 0) | (q > 1)):
        raise ValueError("q must be probabilities in [0, 1]")
    return q


def _check_rng(rng):
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")
    return rng


class Distribution:
    """Common interface of every cost distribution."""

    def mean(self) -> float:
        raise NotImplementedError

    def var(self) -> float:
        raise NotImplementedError

    def std(self) -> float:
        return math.sqrt(self.var())

    def cv(self) -> float:
        """Coefficient of variation std/mean."""
        return self.std() / self.mean()

    def second_moment(self) -> float:
        """E[X^2]."""
        m = self.mean()
        return self.var() + m * m

    def limited_mean(self, d):
        raise NotImplementedError

    def stop_loss(self, d):
        """E[(X - d)+], the expected amount above a per-member attachment ``d``."""
        return _scalar_or_array(self.mean() - _as_array(self.limited_mean(d)), d)

    def sample(self, size, rng=None) -> np.ndarray:
        raise NotImplementedError


class Severity(Distribution):
    """A continuous distribution on x >= 0 (a claim or a member's annual cost)."""

    # subclasses implement _cdf, _sf, _pdf, _ppf on arrays, and partial_moment

    def cdf(self, x):
        x = _as_array(x)
        return _scalar_or_array(np.where(x <= 0, 0.0, self._cdf(np.maximum(x, 0.0))), x)

    def sf(self, x):
        x = _as_array(x)
        return _scalar_or_array(np.where(x <= 0, 1.0, self._sf(np.maximum(x, 0.0))), x)

    def pdf(self, x):
        x = _as_array(x)
        return _scalar_or_array(np.where(x < 0, 0.0, self._pdf(np.maximum(x, 0.0))), x)

    def ppf(self, q):
        q = _check_q(q)
        return _scalar_or_array(self._ppf(q), q)

    def partial_moment(self, k: int, d):
        """E[X^k; X <= d] for k = 0, 1, 2 (vectorised over ``d``)."""
        raise NotImplementedError

    def limited_mean(self, d):
        d = _as_array(d)
        dd = np.maximum(d, 0.0)
        with np.errstate(invalid="ignore"):  # d = inf: inf * sf(inf) = inf * 0 counts as 0
            above = np.where(np.isinf(dd), 0.0, dd * _as_array(self.sf(dd)))
        out = _as_array(self.partial_moment(1, dd)) + above
        return _scalar_or_array(np.where(d <= 0, d, out), d)

    def sample(self, size, rng=None) -> np.ndarray:
        rng = _check_rng(rng)
        return self._ppf(rng.random(size))


#: smallest accepted lognormal ``sigma``: below it the cost is exp(mu) to the last digit that matters,
#: and far smaller ones (1e-300) overflow the standardised log cost (log x - mu) / sigma
MIN_LOGNORMAL_SIGMA = 1e-6
#: largest accepted lognormal ``sigma`` (a log-scale standard deviation; real cost data give 1-2.5)
MAX_LOGNORMAL_SIGMA = 100.0


@dataclass(frozen=True)
class Lognormal(Severity):
    """Lognormal: log X ~ Normal(mu, sigma^2).

    The workhorse of member cost models: right-skewed, all moments finite.
    ``sigma`` lies in [``MIN_LOGNORMAL_SIGMA``, ``MAX_LOGNORMAL_SIGMA``] = [1e-6, 100]: already at sigma = 38 the mean
    exp(mu + sigma^2 / 2) overflows a double for any cost-like mu, and the bound keeps
    sigma^2 finite in the closed forms (the engine refuses such costs anyway, see
    :mod:`vbcsim.population.limits`).
    """

    mu: float
    sigma: float

    def __post_init__(self):
        object.__setattr__(self, "mu", check_real("mu", self.mu, owner="Lognormal"))
        sigma = check_positive("sigma", self.sigma, owner="Lognormal")
        if sigma < MIN_LOGNORMAL_SIGMA:
            raise ValueError(
                f"Lognormal: sigma must be at least {MIN_LOGNORMAL_SIGMA!r} (distributions.MIN_LOGNORMAL_SIGMA; "
                f"a smaller one is a fixed cost exp(mu) for any purpose), got {sigma!r}"
            )
        check_at_most(
            "sigma", sigma, MAX_LOGNORMAL_SIGMA, owner="Lognormal", why="distributions.MAX_LOGNORMAL_SIGMA"
        )
        object.__setattr__(self, "sigma", sigma)

    @classmethod
    def from_mean_cv(cls, mean: float, cv: float) -> Lognormal:
        """The lognormal with the given mean and coefficient of variation."""
        mean = check_positive("mean", mean, owner="Lognormal.from_mean_cv")
        cv = check_positive("cv", cv, owner="Lognormal.from_mean_cv")
        s2 = math.log1p(cv * cv)
        return cls(math.log(mean) - 0.5 * s2, math.sqrt(s2))

    def mean(self):
        return _exp(self.mu + 0.5 * self.sigma * self.sigma)

    def var(self):
        s2 = self.sigma * self.sigma
        if s2 < 700.0 and 2 * self.mu + s2 < 700.0:
            return math.expm1(s2) * math.exp(2 * self.mu + s2)
        if s2 == 0.0:  # sigma so small that sigma^2 underflows
            return 0.0
        # log-space: var = exp(2 mu + s2) (exp(s2) - 1), inf when it overflows
        log_expm1 = s2 + math.log1p(-math.exp(-s2)) if s2 > 1.0 else math.log(math.expm1(s2))
        return _exp(2 * self.mu + s2 + log_expm1)

    def _z(self, x):
        with np.errstate(divide="ignore"):
            return (np.log(x) - self.mu) / self.sigma

    def _cdf(self, x):
        return special.ndtr(self._z(x))

    def _sf(self, x):
        return special.ndtr(-self._z(x))

    def _pdf(self, x):
        # a huge sigma overflows the denominator to inf: the density is then 0, as it should be
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            z = self._z(x)
            out = np.exp(-0.5 * z * z) / (x * self.sigma * math.sqrt(2 * math.pi))
        return np.where(x > 0, out, 0.0)

    def _ppf(self, q):
        return np.exp(self.mu + self.sigma * special.ndtri(q))

    def partial_moment(self, k, d):
        # E[X^k; X <= d] = exp(k mu + k^2 sigma^2 / 2) Phi((ln d - mu - k sigma^2) / sigma)
        d = _as_array(d)
        with np.errstate(divide="ignore"):
            z = (np.log(np.maximum(d, 0.0)) - self.mu - k * self.sigma * self.sigma) / self.sigma
        log_coef = k * self.mu + 0.5 * k * k * self.sigma * self.sigma
        coef = _exp(log_coef)
        if math.isfinite(coef):
            out = coef * special.ndtr(z)
        else:  # exp(k mu + k^2 sigma^2 / 2) overflows although E[X^k; X <= d] <= d^k need not
            with np.errstate(over="ignore", divide="ignore"):
                out = np.exp(log_coef + special.log_ndtr(z))
        return _scalar_or_array(np.where(d > 0, out, 0.0), d)


@dataclass(frozen=True)
class Gamma(Severity):
    """Gamma with shape k and scale theta (mean k theta)."""

    shape: float
    scale: float

    def __post_init__(self):
        object.__setattr__(self, "shape", check_positive("shape", self.shape, owner="Gamma"))
        object.__setattr__(self, "scale", check_positive("scale", self.scale, owner="Gamma"))

    @classmethod
    def from_mean_cv(cls, mean: float, cv: float) -> Gamma:
        mean = check_positive("mean", mean, owner="Gamma.from_mean_cv")
        cv = check_positive("cv", cv, owner="Gamma.from_mean_cv")
        return cls(1.0 / (cv * cv), mean * cv * cv)

    def mean(self):
        return self.shape * self.scale

    def var(self):
        return self.shape * self.scale * self.scale

    def _cdf(self, x):
        return special.gammainc(self.shape, x / self.scale)

    def _sf(self, x):
        return special.gammaincc(self.shape, x / self.scale)

    def _pdf(self, x):
        finite = np.isfinite(x)  # scipy gives nan at x = inf for shape > 1
        return np.where(finite, stats.gamma.pdf(np.where(finite, x, 1.0), self.shape, scale=self.scale), 0.0)

    def _ppf(self, q):
        return self.scale * special.gammaincinv(self.shape, q)

    def partial_moment(self, k, d):
        # E[X^k; X <= d] = theta^k Gamma(a + k) / Gamma(a) P(a + k, d / theta)
        d = _as_array(d)
        a = self.shape
        coef = math.exp(k * math.log(self.scale) + special.gammaln(a + k) - special.gammaln(a))
        out = coef * special.gammainc(a + k, np.maximum(d, 0.0) / self.scale)
        return _scalar_or_array(np.where(d > 0, out, 0.0), d)


@dataclass(frozen=True)
class Pareto(Severity):
    """Pareto type II (Lomax) on x >= 0: P(X > x) = (scale / (x + scale))^alpha.

    ``threshold + Pareto(alpha, scale=threshold)`` is the classic (type I) Pareto
    tail above ``threshold``, which is how :class:`Spliced` uses it.  The mean
    exists for alpha > 1 and the variance for alpha > 2.
    """

    alpha: float
    scale: float

    def __post_init__(self):
        object.__setattr__(self, "alpha", check_positive("alpha", self.alpha, owner="Pareto"))
        object.__setattr__(self, "scale", check_positive("scale", self.scale, owner="Pareto"))

    def mean(self):
        return self.scale / (self.alpha - 1.0) if self.alpha > 1 else math.inf

    def var(self):
        a = self.alpha
        if a <= 2:
            return math.inf
        return self.scale * self.scale * a / ((a - 1.0) * (a - 1.0) * (a - 2.0))

    def _log_u(self, x):
        # log(scale / (x + scale)), accurate for x << scale (log of a ratio near 1 is not) and
        # -inf at x = inf without a divide-by-zero warning
        return -np.log1p(x / self.scale)

    def _cdf(self, x):
        return -np.expm1(self.alpha * self._log_u(x))

    def _sf(self, x):
        return np.exp(self.alpha * self._log_u(x))

    def _pdf(self, x):
        return self.alpha / self.scale * np.exp((self.alpha + 1) * self._log_u(x))

    def _ppf(self, q):
        with np.errstate(divide="ignore"):
            return self.scale * np.expm1(-np.log1p(-q) / self.alpha)

    def partial_moment(self, k, d):
        d = np.maximum(_as_array(d), 0.0)
        a, t = self.alpha, self.scale
        log_u = self._log_u(d)  # u = t / (d + t), P(X > d) = u^alpha
        if k == 0:
            out = -np.expm1(a * log_u)
        elif k == 1:
            # E[X; X <= d] = E[min(X, d)] - d P(X > d)
            with np.errstate(invalid="ignore"):  # d = inf: inf * 0 counts as 0
                out = self._limited_mean(d) - np.where(np.isinf(d), 0.0, d * np.exp(a * log_u))
        elif k == 2:
            # X = t (V - 1) with V = 1/u Pareto I; integrate t^2 (v - 1)^2 a v^(-a-1) on [1, 1/u]
            out = t * t * a * (self._vint(a - 1, log_u) - 2 * self._vint(a, log_u) + self._vint(a + 1, log_u))
        else:
            raise ValueError(f"partial_moment: k must be 0, 1 or 2, got {k!r}")
        return _scalar_or_array(out, d)

    @staticmethod
    def _vint(b, log_u):
        # integral over v in [1, 1/u] of v^(-b) dv
        if b == 1:
            return -log_u
        return -np.expm1((b - 1) * log_u) / (b - 1)

    def _limited_mean(self, d):
        a, t = self.alpha, self.scale
        log_u = self._log_u(d)
        if a == 1:
            return -t * log_u
        return -t / (a - 1.0) * np.expm1((a - 1.0) * log_u)

    def limited_mean(self, d):
        d = _as_array(d)
        return _scalar_or_array(np.where(d > 0, self._limited_mean(np.maximum(d, 0.0)), d), d)


_BASIC = (Lognormal, Gamma, Pareto)


@dataclass(frozen=True)
class Spliced(Severity):
    """A body below ``threshold`` spliced to a tail above it.

    With probability ``1 - tail_weight`` a draw from ``body`` conditioned on
    X <= threshold, otherwise ``threshold + `` a draw from ``tail``.  With
    ``tail=Pareto(alpha, scale=threshold)`` the part above the threshold is a
    Pareto type I tail.  When ``tail_weight`` is None it is chosen so that the
    density is continuous at the threshold:
    (1 - w) f_body(t) / F_body(t) = w f_tail(0).
    """

    body: Severity
    tail: Severity
    threshold: float
    tail_weight: float | None = None

    def __post_init__(self):
        if not isinstance(self.body, _BASIC):
            raise TypeError(
                f"Spliced: body must be a Lognormal, Gamma or Pareto, got {type(self.body).__name__}"
            )
        if not isinstance(self.tail, _BASIC):
            raise TypeError(
                f"Spliced: tail must be a Lognormal, Gamma or Pareto, got {type(self.tail).__name__}"
            )
        t = check_positive("threshold", self.threshold, owner="Spliced")
        object.__setattr__(self, "threshold", t)
        fb = float(self.body.cdf(t))
        if fb < 1e-3:
            # the engine samples the conditioned body by rejection: it needs some mass below t
            raise ValueError(
                f"Spliced: threshold {t!r} leaves only {fb:.2e} of the body's probability below it; "
                "raise the threshold or change the body"
            )
        if self.tail_weight is None:
            a = float(self.body.pdf(t)) / fb
            b = float(self.tail.pdf(0.0))
            if not (math.isfinite(b) and a + b > 0):
                raise ValueError(
                    "Spliced: cannot make the density continuous with this tail (its density at 0 is "
                    f"{b!r}); give tail_weight explicitly"
                )
            w = a / (a + b)
            if not 0.0 < w < 1.0:
                raise ValueError(
                    f"Spliced: the continuous splice gives tail_weight={w!r}, outside (0, 1); give tail_weight explicitly"
                )
            object.__setattr__(self, "tail_weight", w)
        else:
            object.__setattr__(
                self, "tail_weight", check_probability("tail_weight", self.tail_weight, owner="Spliced")
            )

    @cached_property
    def _fb(self) -> float:
        return float(self.body.cdf(self.threshold))

    def _body_moment(self, k):
        # E[B^k | B <= t]
        return float(self.body.partial_moment(k, self.threshold)) / self._fb

    def mean(self):
        w, t = self.tail_weight, self.threshold
        tail = t + self.tail.mean() if w > 0 else 0.0
        return (1 - w) * self._body_moment(1) + w * tail

    def second_moment(self):
        w, t = self.tail_weight, self.threshold
        tail = t * t + 2 * t * self.tail.mean() + self.tail.second_moment() if w > 0 else 0.0
        return (1 - w) * self._body_moment(2) + w * tail

    def var(self):
        m2 = self.second_moment()
        m = self.mean()
        return m2 - m * m if math.isfinite(m2) else math.inf

    def _cdf(self, x):
        w, t = self.tail_weight, self.threshold
        below = (1 - w) * _as_array(self.body.cdf(np.minimum(x, t))) / self._fb
        above = (1 - w) + w * _as_array(self.tail.cdf(np.maximum(x - t, 0.0)))
        return np.where(x <= t, below, above)

    def _sf(self, x):
        w, t = self.tail_weight, self.threshold
        below = 1 - (1 - w) * _as_array(self.body.cdf(np.minimum(x, t))) / self._fb
        above = w * _as_array(self.tail.sf(np.maximum(x - t, 0.0)))
        return np.where(x <= t, below, above)

    def _pdf(self, x):
        w, t = self.tail_weight, self.threshold
        # (a weight of 0 times an infinite density at 0, e.g. Gamma shape < 1, is 0, not nan)
        below = (1 - w) * _as_array(self.body.pdf(np.minimum(x, t))) / self._fb if w < 1 else np.zeros_like(x)
        above = w * _as_array(self.tail.pdf(np.maximum(x - t, 0.0))) if w > 0 else np.zeros_like(x)
        return np.where(x <= t, below, above)

    def _ppf(self, q):
        w, t = self.tail_weight, self.threshold
        qb = np.clip(q / (1 - w), 0.0, 1.0) if w < 1 else np.zeros_like(q)
        body = _as_array(self.body.ppf(qb * self._fb))
        # (q = 1 maps to 1 exactly: (1 - (1 - w)) / w can round below 1, making ppf(1) finite)
        qt = np.where(q >= 1, 1.0, np.clip((q - (1 - w)) / w, 0.0, 1.0)) if w > 0 else np.zeros_like(q)
        tail = t + _as_array(self.tail.ppf(qt))
        return np.where((q <= 1 - w) & (w < 1), np.minimum(body, t), tail)

    def partial_moment(self, k, d):
        d = _as_array(d)
        w, t = self.tail_weight, self.threshold
        dd = np.maximum(d, 0.0)
        body = (1 - w) * _as_array(self.body.partial_moment(k, np.minimum(dd, t))) / self._fb
        y = np.maximum(dd - t, 0.0)  # tail part: E[(t + T)^k; T <= d - t]
        if k == 0:
            tail = _as_array(self.tail.partial_moment(0, y))
        elif k == 1:
            tail = t * _as_array(self.tail.partial_moment(0, y)) + _as_array(self.tail.partial_moment(1, y))
        elif k == 2:
            tail = (
                t * t * _as_array(self.tail.partial_moment(0, y))
                + 2 * t * _as_array(self.tail.partial_moment(1, y))
                + _as_array(self.tail.partial_moment(2, y))
            )
        else:
            raise ValueError(f"partial_moment: k must be 0, 1 or 2, got {k!r}")
        out = body + np.where(dd > t, w * tail, 0.0)
        return _scalar_or_array(np.where(d > 0, out, 0.0), d)

    def sample(self, size, rng=None):
        rng = _check_rng(rng)
        u = rng.random(size)
        in_tail = rng.random(size) < self.tail_weight
        body = _as_array(self.body.ppf(u * self._fb))
        tail = self.threshold + _as_array(self.tail.ppf(u))
        return np.where(in_tail, tail, np.minimum(body, self.threshold))


class Frequency(Distribution):
    """A claim-count distribution on 0, 1, 2, ... with a probability generating function."""

    _scipy = None  # frozen scipy.stats distribution

    def pmf(self, k):
        return self._frozen.pmf(k)

    def cdf(self, x):
        return self._frozen.cdf(x)

    def ppf(self, q):
        # scipy returns -1 at q = 0; the support starts at 0
        return np.maximum(self._frozen.ppf(_check_q(q)), 0.0)

    def pgf(self, z):
        raise NotImplementedError

    def _mean_upto(self, n):
        """E[N; N <= n] for whole numbers n (vectorised)."""
        raise NotImplementedError

    def limited_mean(self, d):
        # E[min(N, d)] = E[N; N <= n] + d P(N > n) with n = floor(d), in closed form
        # (inf d gives the mean; no loop over 0..d, no overflow)
        d = _as_array(d)
        dd = np.maximum(d, 0.0)
        n = np.floor(dd)
        with np.errstate(invalid="ignore"):
            above = np.where(np.isinf(dd), 0.0, dd * self._frozen.sf(n))
        out = _as_array(self._mean_upto(n)) + above
        return _scalar_or_array(np.where(d > 0, out, d), d)

    def sample(self, size, rng=None):
        return self._frozen.rvs(size=size, random_state=_check_rng(rng))


@dataclass(frozen=True)
class Poisson(Frequency):
    """Poisson claim count with mean ``lam``."""

    lam: float

    def __post_init__(self):
        object.__setattr__(self, "lam", check_nonnegative("lam", self.lam, owner="Poisson"))

    @cached_property
    def _frozen(self):
        return stats.poisson(self.lam)

    def mean(self):
        return self.lam

    def var(self):
        return self.lam

    def pgf(self, z):
        return np.exp(self.lam * (np.asarray(z) - 1.0))

    def _mean_upto(self, n):
        # k P(N = k) = lam P(N = k - 1)
        return self.lam * self._frozen.cdf(np.asarray(n) - 1.0)

    def sample(self, size, rng=None):
        return _check_rng(rng).poisson(self.lam, size)


@dataclass(frozen=True)
class NegativeBinomial(Frequency):
    """Negative binomial claim count: variance = mean + mean^2 / dispersion.

    ``dispersion`` is the size parameter r: a Poisson count whose mean is
    Gamma(r, mean / r) distributed, so small r means more overdispersion.
    """

    mean_: float = field(metadata={"name": "mean"})
    dispersion: float

    def __init__(self, mean: float, dispersion: float):
        object.__setattr__(self, "mean_", check_positive("mean", mean, owner="NegativeBinomial"))
        object.__setattr__(
            self, "dispersion", check_positive("dispersion", dispersion, owner="NegativeBinomial")
        )

    def __repr__(self):
        return f"NegativeBinomial(mean={self.mean_!r}, dispersion={self.dispersion!r})"

    @property
    def p(self) -> float:
        """Success probability in scipy's parametrisation."""
        return self.dispersion / (self.dispersion + self.mean_)

    @cached_property
    def _frozen(self):
        return stats.nbinom(self.dispersion, self.p)

    def mean(self):
        return self.mean_

    def var(self):
        return self.mean_ + self.mean_ * self.mean_ / self.dispersion

    def pgf(self, z):
        return (1.0 + self.mean_ * (1.0 - np.asarray(z)) / self.dispersion) ** (-self.dispersion)

    def _mean_upto(self, n):
        # k P(N = k) = mean P(N' = k - 1) with N' ~ NB(r + 1, p)
        return self.mean_ * stats.nbinom.cdf(np.asarray(n) - 1.0, self.dispersion + 1.0, self.p)

    def sample(self, size, rng=None):
        return _check_rng(rng).negative_binomial(self.dispersion, self.p, size)


@dataclass(frozen=True)
class Compound(Distribution):
    """A member's annual cost as the sum of ``frequency`` claims of size ``severity``.

    Moments are exact: E[S] = E[N] E[Y], Var S = E[N] Var Y + Var N E[Y]^2.
    ``cdf``, ``ppf`` and ``limited_mean`` come from the FFT oracle
    (:func:`vbcsim.exact.aggregate`), accurate to about 1e-3 relative or better.
    """

    frequency: Frequency
    severity: Severity

    def __post_init__(self):
        if not isinstance(self.frequency, Frequency):
            raise TypeError(
                f"Compound: frequency must be a Poisson or NegativeBinomial, got {type(self.frequency).__name__}"
            )
        if not isinstance(self.severity, Severity):
            raise TypeError(
                "Compound: severity must be a Lognormal, Gamma, Pareto or Spliced, "
                f"got {type(self.severity).__name__}"
            )

    def mean(self):
        if self.frequency.mean() == 0:  # no claims: 0, not 0 * inf
            return 0.0
        return self.frequency.mean() * self.severity.mean()

    def var(self):
        if self.frequency.mean() == 0:
            return 0.0
        m = self.severity.mean()
        return self.frequency.mean() * self.severity.var() + self.frequency.var() * m * m

    @cached_property
    def _exact(self):
        from vbcsim.population import exact

        return exact.aggregate(self)

    def cdf(self, x):
        return self._exact.cdf(x)

    def ppf(self, q):
        return self._exact.ppf(_check_q(q))

    def limited_mean(self, d):
        d = _as_array(d)
        out = self.mean() - _as_array(self._exact.stop_loss(np.maximum(d, 0.0)))
        return _scalar_or_array(np.where(d > 0, out, d), d)

    def sample(self, size, rng=None):
        rng = _check_rng(rng)
        counts = np.asarray(self.frequency.sample(size, rng))
        total = int(counts.sum())
        claims = self.severity.sample(total, rng)
        flat = counts.ravel()
        ends = np.cumsum(flat)
        sums = (
            np.add.reduceat(np.concatenate([claims, [0.0]]), np.r_[0, ends[:-1]]) if flat.size else claims[:0]
        )
        sums = np.where(flat > 0, sums, 0.0)
        return sums.reshape(counts.shape)


@dataclass(frozen=True)
class Hurdle(Distribution):
    """Zero cost with probability ``1 - p_nonzero``, else a draw from ``severity``.

    Most members of a commercial population cost little or nothing in a year and
    a few cost a great deal: a point mass at zero plus a skewed severity captures
    both.
    """

    p_nonzero: float
    severity: Distribution

    def __post_init__(self):
        object.__setattr__(self, "p_nonzero", check_probability("p_nonzero", self.p_nonzero, owner="Hurdle"))
        if not isinstance(self.severity, (Severity, Compound)):
            raise TypeError(
                "Hurdle: severity must be a Lognormal, Gamma, Pareto, Spliced or Compound, "
                f"got {type(self.severity).__name__}"
            )

    def mean(self):
        if self.p_nonzero == 0:  # always zero: 0, not 0 * inf
            return 0.0
        return self.p_nonzero * self.severity.mean()

    def second_moment(self):
        if self.p_nonzero == 0:
            return 0.0
        return self.p_nonzero * self.severity.second_moment()

    def var(self):
        m2 = self.second_moment()
        m = self.mean()
        return m2 - m * m if math.isfinite(m2) else math.inf

    def limited_mean(self, d):
        d = _as_array(d)
        if self.p_nonzero == 0:
            out = np.zeros_like(d)
        else:
            out = self.p_nonzero * _as_array(self.severity.limited_mean(np.maximum(d, 0.0)))
        return _scalar_or_array(np.where(d > 0, out, d), d)

    def cdf(self, x):
        x = _as_array(x)
        p = self.p_nonzero
        return _scalar_or_array(np.where(x < 0, 0.0, (1 - p) + p * _as_array(self.severity.cdf(x))), x)

    def ppf(self, q):
        q = _check_q(q)
        p = self.p_nonzero
        qs = np.where(q >= 1, 1.0, np.clip((q - (1 - p)) / p, 0.0, 1.0)) if p > 0 else np.zeros_like(q)
        return _scalar_or_array(np.where(q <= 1 - p, 0.0, _as_array(self.severity.ppf(qs))), q)

    def sample(self, size, rng=None):
        rng = _check_rng(rng)
        nonzero = rng.random(size) < self.p_nonzero
        out = np.zeros(np.shape(nonzero))
        out[nonzero] = self.severity.sample(int(nonzero.sum()), rng)
        return out


def check_distribution(name: str, dist) -> Distribution:
    """Raise a ``TypeError`` naming ``name`` unless ``dist`` is a member cost distribution."""
    if not isinstance(dist, (Severity, Compound, Hurdle)):
        raise TypeError(
            f"{name} must be a cost distribution (Lognormal, Gamma, Pareto, Spliced, Hurdle or Compound), "
            f"got {type(dist).__name__}"
        )
    return dist
