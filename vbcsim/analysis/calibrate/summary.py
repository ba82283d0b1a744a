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


class _Range:
    """The top-1% shares the splice reaches at one threshold, along the curve of equal mean and CV.

    A grid over the body sigma (:attr:`_Solver.SIGMAS`, extended while the share still rises), its
    rising branch from the least feasible sigma up to the largest share, and that peak refined by
    Brent's method between its grid neighbours (:meth:`refine`, done at most once).
    """

    def __init__(self, solver: _Solver):
        self.solver = solver
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
        self.sigmas = np.array(sigmas)
        self.tops = np.array([np.nan if v is None else v for v in tops])
        self.ok = np.flatnonzero(np.isfinite(self.tops))
        self.feasible = self.ok.size > 0
        self._refined = False
        if self.feasible:
            ok = self.ok
            self.j_max = int(ok[np.argmax(self.tops[ok])])
            self.rising = ok[ok <= self.j_max]
            self.s_max, self.t_max = float(self.sigmas[self.j_max]), float(self.tops[self.j_max])
            self.t_min = float(self.tops[self.rising[0]])

    @property
    def threshold(self) -> float:
        return self.solver.t

    def refine(self) -> float:
        """The largest share at this threshold, the grid's peak refined (once) by Brent's method."""
        if not self._refined:
            self._refined = True
            j_max, ok, sigmas = self.j_max, self.ok, self.sigmas
            lo = sigmas[max(j_max - 1, int(ok[0]))]
            hi = sigmas[min(j_max + 1, int(ok[-1]))]
            res = optimize.minimize_scalar(
                lambda s: -(self.solver.top1(s) or 0.0),
                bounds=(lo, hi),
                method="bounded",
                options={"xatol": 1e-6},
            )
            if -res.fun > self.t_max:
                self.s_max, self.t_max = float(res.x), float(-res.fun)
        return self.t_max

    def reaches(self, top1: float) -> bool:
        """Whether the rising branch reaches ``top1`` (refining the peak only when the grid falls short)."""
        if not self.feasible:
            return False
        if top1 > self.t_max:  # refine the peak before giving up
            self.refine()
        return self.t_min <= top1 <= self.t_max

    def solve(self, top1: float) -> Hurdle:
        """The hurdle with top-1% share ``top1`` (one this range :meth:`reaches`), on the rising branch."""
        sigmas, tops, rising, s_max = self.sigmas, self.tops, self.rising, self.s_max
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
            sigma = optimize.brentq(lambda s: self.solver.top1(s) - top1, a, b, xtol=1e-12, rtol=1e-14)
        return self.solver.dist(sigma)


#: where ``tail_threshold="auto"`` starts: the splice point of :mod:`vbcsim.defaults`
AUTO_START = 100_000.0
#: the thresholds ``"auto"`` searches, in multiples of the mean cost of members with cost
AUTO_RANGE = (1.0, 1.0e4)
#: ``"auto"`` keeps the target this far (in share) inside the range reached at the chosen threshold
AUTO_MARGIN = 1e-4
_STEP_UP = math.log(1.25)  # steps in log-threshold of the search for a larger share
_STEP_DOWN = math.log(1.1)  # ... and for a smaller one (on the grid r = 1.1^k: the floor is a function of the CV)


class _NotReached(ValueError):
    """No threshold reaches the target: ``side`` "high" or "low", ``bound`` the share reached, at ``threshold``."""

    def __init__(self, side: str, bound: float, rng: _Range):
        super().__init__(side)
        self.side, self.bound, self.rng = side, bound, rng


class _Search:
    """``tail_threshold="auto"``: the threshold nearest :data:`AUTO_START` (in log) that reaches the target.

    The shares reached at a threshold ``t`` form the interval ``[_Range.t_min, _Range.refine()]``; the
    search works on ``x = log t`` within :data:`AUTO_RANGE` times the mean ``ms`` of the cost of members
    with cost (the shares and the CV depend on ``t / ms`` only).
    """

    def __init__(self, ms: float, cvs: float, p: float):
        self.ms, self.cvs, self.p = ms, cvs, p
        self.x_lo, self.x_hi = math.log(ms * AUTO_RANGE[0]), math.log(ms * AUTO_RANGE[1])
        self._cache: dict[float, _Range] = {}
        self._floors: dict[float, float | None] = {}

    def at(self, t: float) -> _Range:
        rng = self._cache.get(t)
        if rng is None:
            rng = self._cache[t] = _Range(_Solver(self.ms, self.cvs, self.p, t))
        return rng

    def peak(self, x: float) -> float:
        """The largest share reached at threshold ``exp(x)`` (-1 where no splice has this mean and CV)."""
        rng = self.at(math.exp(x))
        return rng.refine() if rng.feasible else -1.0

    def start(self) -> float:
        """``log`` of the first threshold tried: AUTO_START if feasible, else the nearest feasible on a walk."""
        t0 = min(max(AUTO_START, math.exp(self.x_lo)), math.exp(self.x_hi))
        if self.at(t0).feasible:
            return t0
        x0 = math.log(t0)
        d = 1.0 if x0 < math.log(20.0 * self.ms) else -1.0
        x = x0 + d * _STEP_UP
        while self.x_lo <= x <= self.x_hi:
            if self.at(math.exp(x)).feasible:
                return math.exp(x)
            x += d * _STEP_UP
        return t0  # pragma: no cover  (no threshold gives this mean and CV: reported by the caller)

    def find(self, top1: float) -> _Range:
        """The range at the chosen threshold (it reaches ``top1``), or raise :class:`_NotReached`."""
        t0 = self.start()
        rng = self.at(t0)
        if rng.reaches(top1) or not rng.feasible:
            return rng
        if top1 > rng.t_max:
            return self._above(math.log(t0), top1)
        return self._below(math.log(t0), top1)

    def _above(self, x0: float, top1: float) -> _Range:
        """A larger share: walk in log-threshold towards the peak, then solve ``peak(x) = top1 + margin``."""
        target = top1 + AUTO_MARGIN
        xs, hs = [x0], [self.peak(x0)]
        d = 0.0
        for s in (1.0, -1.0):  # which way the peak share rises
            x = x0 + s * _STEP_UP
            if self.x_lo <= x <= self.x_hi:
                h = self.peak(x)
                if h > hs[0]:
                    d = s
                    xs.append(x)
                    hs.append(h)
                    break
        while d and hs[-1] < target and hs[-1] > hs[-2]:
            x = xs[-1] + d * _STEP_UP
            if not self.x_lo <= x <= self.x_hi:
                break
            xs.append(x)
            hs.append(self.peak(x))
        if hs[-1] >= target:
            return self._crossing(xs[-2], xs[-1], target, top1)
        # the walk passed the peak (or met the end of the range) short of the target: refine the peak
        k = int(np.argmax(hs))
        if d:
            lo, hi = xs[max(k - 1, 0)], xs[min(k + 1, len(xs) - 1)]
        else:
            lo, hi = x0 - _STEP_UP, x0 + _STEP_UP
        lo, hi = max(min(lo, hi), self.x_lo), min(max(lo, hi), self.x_hi)
        seen = [(hs[k], xs[k])]

        def minus_peak(x):
            h = self.peak(x)
            seen.append((h, x))
            return -h

        if hi > lo:
            optimize.minimize_scalar(minus_peak, bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
        u, x_u = max(seen)
        if u >= target:  # between the last walk point short of the target and the peak
            x_short = xs[k - 1] if d and k > 0 else x0
            return self._crossing(x_short, x_u, target, top1)
        rng = self.at(math.exp(x_u))
        if u >= top1 and rng.reaches(top1):
            return rng
        raise _NotReached("high", u, rng)

    def _crossing(self, x_short: float, x_over: float, target: float, top1: float) -> _Range:
        """The threshold between the two where the peak share equals ``target`` (Brent's method)."""
        try:
            x = optimize.brentq(lambda x: self.peak(x) - target, x_short, x_over, xtol=1e-6)
        except ValueError:  # pragma: no cover  (the peak share jumps over the target: keep the end past it)
            x = x_over
        rng = self.at(math.exp(x))
        if rng.reaches(top1):
            return rng
        return self.at(math.exp(x_over))  # pragma: no cover  (a jump at the root)

    def floor(self, x: float) -> float | None:
        """The least share at threshold ``exp(x)``: :attr:`_Range.t_min`, the share at the first feasible
        sigma of the grid, without the rest of the grid (None where no splice has this mean and CV)."""
        t = math.exp(x)
        if t in self._cache:
            rng = self._cache[t]
            return rng.t_min if rng.feasible else None
        if t not in self._floors:
            solver = _Solver(self.ms, self.cvs, self.p, t)
            self._floors[t] = next((v for v in map(solver.top1, solver.SIGMAS) if v is not None), None)
        return self._floors[t]

    def _below(self, x0: float, top1: float) -> _Range:
        """A smaller share: walk down the thresholds ``ms 1.1^k``, then bisect to the one nearest the start."""
        target = top1 - AUTO_MARGIN
        base = math.log(self.ms)
        k = math.ceil((x0 - base) / _STEP_DOWN - 1e-9) - 1
        x_prev, lowest = x0, None
        while k >= 0:
            x = base + k * _STEP_DOWN
            v = self.floor(x)
            if v is None:
                break
            if lowest is None or v < lowest[0]:
                lowest = (v, x)
            if v <= target:
                x_good = self._bisect(x_prev, x, target)
                for x_try in (x_good, x):
                    rng = self.at(math.exp(x_try))
                    if rng.reaches(top1):
                        return rng
            x_prev, k = x, k - 1
        if lowest is None:  # pragma: no cover  (no feasible threshold below the start)
            lowest = (self.floor(x0), x0)
        rng = self.at(math.exp(lowest[1]))
        if rng.reaches(top1):  # within the margin of the floor
            return rng
        raise _NotReached("low", lowest[0], rng)

    def _bisect(self, x_bad: float, x_good: float, target: float) -> float:
        """Bisect in log-threshold for the floor to reach ``target`` (it jumps with the grid of sigma),
        keeping the end that reaches it; to 1e-4 in log-threshold."""
        while abs(x_good - x_bad) > 1e-4:
            mid = 0.5 * (x_bad + x_good)
            v = self.floor(mid)
            if v is not None and v <= target:
                x_good = mid
            else:
                x_bad = mid
        return x_good


def _lognormal_top1(cvs: float, p: float) -> float:
    """Top-1% share of the hurdle lognormal with severity CV ``cvs``: Phi(sigma - z_(1 - 0.01 / p))."""
    sigma = math.sqrt(math.log1p(cvs * cvs))
    return float(special.ndtr(sigma - special.ndtri(1.0 - 0.01 / p)))


def _check_threshold(value, owner: str) -> float | None:
    """A positive finite threshold, or None for ``"auto"`` (and None, as :func:`fit` takes it)."""
    if value is None or (isinstance(value, str) and value == "auto"):
        return None
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{owner}: tail_threshold must be a positive number or 'auto', got {value!r}")
    return check_positive("tail_threshold", value, owner=owner)


def _not_reached_message(err: _NotReached, top1: float, cv: float, p_zero: float, ms: float, cvs: float, p: float):
    """One line: why no threshold reaches ``top1`` with this CV, and the bound."""
    t = err.rng.threshold
    where = f"tail from {t:.6g}, {t / ms:.3g} times the mean cost of members with cost"
    head = (
        f"from_summary: top1_share={top1!r} is infeasible with cv={cv!r} (p_zero={p_zero!r}) for a lognormal "
        "body spliced to a Pareto tail (alpha > 2) at any threshold"
    )
    if err.side == "high":
        return (
            f"{head}: with this CV its top-1% share is at most {err.bound:.4f} ({where}, body sigma "
            f"{err.rng.s_max:.2f}; lower thresholds leave less room to the tail and higher ones tend to the "
            f"lognormal's {_lognormal_top1(cvs, p):.4f}): lower top1_share or raise cv"
        )
    return (
        f"{head}: its top-1% share is at least {err.bound:.4f} ({where}, body sigma "
        f"{err.rng.sigmas[err.rng.rising[0]]:.1f}: the least spread of the body the solver admits, the CV carried "
        f"by the tail; any distribution needs more than 0.01 / (1 - p_zero) = {0.01 / p:.4f}): raise top1_share"
    )


def from_summary(
    pmpm: float,
    cv: float,
    p_zero: float,
    top1_share: float | None = None,
    *,
    tail_threshold: float | str = "auto",
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
    t = _check_threshold(tail_threshold, owner)
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

    if t is None:  # "auto"
        try:
            rng = _Search(ms, cvs, p).find(top1)
        except _NotReached as err:
            raise ValueError(_not_reached_message(err, top1, cv, p_zero, ms, cvs, p)) from None
        if not rng.feasible:  # pragma: no cover  (every CV above the zeros' has some threshold)
            raise ValueError(
                f"{owner}: no lognormal body spliced to a Pareto tail at any threshold from "
                f"{AUTO_RANGE[0]:g} to {AUTO_RANGE[1]:g} times the mean cost of members with cost reproduces "
                f"cv={cv!r} with p_zero={p_zero!r}; pass tail_threshold explicitly"
            )
    else:
        rng = _Range(_Solver(ms, cvs, p, t))
        if not rng.feasible:
            raise ValueError(
                f"{owner}: no lognormal body spliced at tail_threshold={t!r} to a Pareto tail reproduces "
                f"an annual mean of {m:.6g} with cv={cv!r} and p_zero={p_zero!r} (mean cost of members with cost "
                f"{ms:.6g}); the threshold may be too low for that mean: raise tail_threshold"
            )
        if not rng.reaches(top1):
            raise ValueError(
                f"{owner}: top1_share={top1!r} is not reachable with pmpm={pmpm!r}, cv={cv!r} and p_zero={p_zero!r}: "
                f"a lognormal body spliced at {t:.6g} to a Pareto tail (alpha > 2) gives top-1% shares from "
                f"{rng.t_min:.4f} to at most {rng.t_max:.4f} with this mean and CV (the largest at body sigma "
                f"{rng.s_max:.2f}); to reach a larger top-1% share raise cv or tail_threshold, for a smaller one "
                "lower cv"
            )
    dist = rng.solve(top1)
    got = describe(dist)
    for name, want in (("pmpm", pmpm), ("cv", cv), ("p_zero", p_zero), ("top1_share", top1)):
        if not math.isclose(got[name], want, rel_tol=1e-7, abs_tol=1e-12):  # pragma: no cover
            raise RuntimeError(f"{owner}: the solver missed {name}: {got[name]!r} instead of {want!r}")
    return dist
