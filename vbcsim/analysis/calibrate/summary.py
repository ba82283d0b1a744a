"""A hurdle distribution from published figures: :func:`from_summary` and its solver of the lognormal/Pareto splice.

The equations and the search are described in the package documentation, *From summary figures*.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from vbcsim._validation import check_positive, check_real
from vbcsim.analysis.calibrate.likelihood import _LOG_2PI
from vbcsim.analysis.calibrate.published import describe, top_share
from vbcsim.population.distributions import Hurdle, Lognormal, Pareto, Spliced

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
