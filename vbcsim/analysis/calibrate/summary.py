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
        self._refined = self._edged = False
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

    def edge(self) -> float:
        """The largest share at this threshold over all feasible sigmas, not the grid's only.

        When the grid's largest share is at its last feasible sigma the feasible sigmas end before
        the next grid point (where the CV needs alpha above ALPHA_HI): that end is found by bisection
        (to 1e-7) and the share maximised up to it by Brent's method.  For ``"auto"`` only (an
        explicit threshold keeps the grid's refined peak, as before).
        """
        if not self._edged:
            self._edged = True
            self.refine()
            j = int(self.ok[-1])
            if self.j_max == j and j + 1 < self.sigmas.size:
                top1 = self.solver.top1
                a, b, share = float(self.sigmas[j]), float(self.sigmas[j + 1]), float(self.tops[j])
                while b - a > 1e-7:
                    mid = 0.5 * (a + b)
                    v = top1(mid)
                    if v is None:
                        b = mid
                    else:
                        a, share = mid, v
                best = (share, a)
                if a > self.sigmas[j]:
                    res = optimize.minimize_scalar(
                        lambda s: -(top1(s) or 0.0),
                        bounds=(float(self.sigmas[j]), a),
                        method="bounded",
                        options={"xatol": 1e-7},
                    )
                    best = max(best, (float(-res.fun), float(res.x)))
                if best[0] > self.t_max:
                    self.t_max, self.s_max = best
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
AUTO_RANGE = (3.0, 1.0e4)
#: ``"auto"`` keeps the target this far (in share) inside the range reached at the chosen threshold
AUTO_MARGIN = 1e-4
_STEP_UP = math.log(1.25)  # steps in log-threshold of the search for a larger share
_STEP_DOWN = math.log(1.1)  # the grid r = 3 x 1.1^k of the search for a smaller one


class _NotReached(ValueError):
    """No threshold reaches the target: ``side`` "high" or "low", ``bound`` the share reached, in ``rng``."""

    def __init__(self, side: str, bound: float, rng: _Range):
        super().__init__(side)
        self.side, self.bound, self.rng = side, bound, rng


class _Search:
    """``tail_threshold="auto"``: the threshold nearest :data:`AUTO_START` (in log) that reaches the target.

    At a threshold ``t`` the splice reaches the shares from :attr:`_Range.t_min` (:meth:`floor`) to
    its largest (:meth:`peak`).  The search runs over ``x = log t`` within :data:`AUTO_RANGE` times the
    mean ``ms`` of the cost of members with cost (the shares and the CV depend on ``t / ms`` only).
    """

    def __init__(self, ms: float, cvs: float, p: float):
        self.ms, self.cvs, self.p = ms, cvs, p
        self.x_lo, self.x_hi = math.log(ms * AUTO_RANGE[0]), math.log(ms * AUTO_RANGE[1])
        self._exact: dict[float, float] = {}  # log-threshold -> threshold, where exp(log t) != t
        self._ranges: dict[float, _Range] = {}
        self._floors: dict[float, float | None] = {}

    def _t(self, x: float) -> float:
        return self._exact.get(x) or math.exp(x)

    def at(self, t: float) -> _Range:
        rng = self._ranges.get(t)
        if rng is None:
            rng = self._ranges[t] = _Range(_Solver(self.ms, self.cvs, self.p, t))
        return rng

    def peak(self, x: float) -> float:
        """The largest share at threshold ``exp(x)``, to the end of the feasible sigmas (-1 if none)."""
        rng = self.at(self._t(x))
        return rng.edge() if rng.feasible else -1.0

    def floor(self, x: float) -> float | None:
        """The least share at threshold ``exp(x)`` (None where no splice has this mean and CV).

        :attr:`_Range.t_min`, the share at the first feasible sigma of the grid, without the rest of
        the grid.
        """
        t = self._t(x)
        if t in self._ranges:
            rng = self._ranges[t]
            return rng.t_min if rng.feasible else None
        if t not in self._floors:
            solver = _Solver(self.ms, self.cvs, self.p, t)
            self._floors[t] = next((v for v in map(solver.top1, solver.SIGMAS) if v is not None), None)
        return self._floors[t]

    def start(self) -> float:
        """The first threshold tried: AUTO_START if the splice has this mean and CV there, else the
        nearest one that does on a walk towards 20 times the mean."""
        t0 = min(max(AUTO_START, math.exp(self.x_lo)), math.exp(self.x_hi))
        if self.at(t0).feasible:
            return t0
        x0 = math.log(t0)
        d = 1.0 if x0 < math.log(20.0 * self.ms) else -1.0
        x = x0 + d * _STEP_UP
        while self.x_lo <= x <= self.x_hi:
            if self.at(self._t(x)).feasible:
                return self._t(x)
            x += d * _STEP_UP
        return t0  # pragma: no cover  (no threshold gives this mean and CV: reported by the caller)

    def find(self, top1: float) -> _Range:
        """The range at the chosen threshold (it reaches ``top1``), or raise :class:`_NotReached`."""
        t0 = self.start()
        rng = self.at(t0)
        if not rng.feasible or rng.reaches(top1):
            return rng
        x0 = math.log(t0)
        self._exact[x0] = t0
        if top1 < rng.t_min:
            return self._below(x0, top1)
        if self.peak(x0) >= top1:  # reached beyond the grid's last feasible sigma
            return rng
        return self._above(x0, top1)

    def _above(self, x0: float, top1: float) -> _Range:
        """A larger share: walk in log-threshold towards the peak, locate it if the walk falls short,
        and solve ``peak(x) = top1 + AUTO_MARGIN`` next to the first threshold that reaches it."""
        target = top1 + AUTO_MARGIN
        seen: dict[float, float] = {}

        def peak(x):
            if x not in seen:
                seen[x] = self.peak(x)
            return seen[x]

        # which way the peak rises: the higher of the two neighbours
        xs, hs = [x0], [peak(x0)]
        probes = [(peak(x), x) for x in (x0 - _STEP_UP, x0 + _STEP_UP) if self.x_lo <= x <= self.x_hi]
        d = 0.0
        if probes and max(probes)[0] > hs[0]:
            h, x = max(probes)
            d = 1.0 if x > x0 else -1.0
            xs.append(x)
            hs.append(h)
        while d and hs[-1] < target and hs[-1] > hs[-2]:
            x = xs[-1] + d * _STEP_UP
            if not self.x_lo <= x <= self.x_hi:
                break
            xs.append(x)
            hs.append(peak(x))
        if hs[-1] < target:
            # short of the target: locate the local peak (Brent's method), and try the lowest
            # threshold, where a second, larger peak may lie when the CV of the members with cost is
            # about 1 or less
            k = int(np.argmax(hs))
            if d:
                lo, hi = xs[max(k - 1, 0)], xs[min(k + 1, len(xs) - 1)]
            else:
                lo, hi = x0 - _STEP_UP, x0 + _STEP_UP
            lo, hi = max(min(lo, hi), self.x_lo), min(max(lo, hi), self.x_hi)
            if hi > lo:
                optimize.minimize_scalar(
                    lambda x: -peak(x), bounds=(lo, hi), method="bounded", options={"xatol": 1e-3}
                )
            peak(self.x_lo)
        h_u, x_u = max((h, x) for x, h in seen.items())
        if h_u >= target:
            # the nearest threshold short of the target between the start and the one past it
            x_short = min(
                (x for x, h in seen.items() if h < target and (x - x0) * (x - x_u) <= 0),
                key=lambda x: abs(x - x_u),
            )
            beyond = [x for x, h in seen.items() if h >= target and (x - x_short) * (x_u - x0) > 0]
            return self._crossing(x_short, min(beyond, key=lambda x: abs(x - x_short)), target, top1)
        rng = self.at(self._t(x_u))
        if rng.reaches(top1):  # within the margin of the largest share
            return rng
        raise _NotReached("high", h_u, rng)

    def _crossing(self, x_short: float, x_over: float, target: float, top1: float) -> _Range:
        """The threshold between the two where the peak share is ``target`` (Brent's method)."""
        x = optimize.brentq(lambda x: self.peak(x) - target, x_short, x_over, xtol=1e-6)
        rng = self.at(self._t(x))
        if rng.feasible and rng.reaches(top1):
            return rng
        return self.at(self._t(x_over))  # pragma: no cover  (the root a hair short of the target)

    def _below(self, x0: float, top1: float) -> _Range:
        """A smaller share: of the thresholds ``3 ms 1.1^k`` up to ``1e4 ms`` (AUTO_RANGE), in order of
        distance from the start, the first whose least share is ``top1 - AUTO_MARGIN`` or less, then
        bisection towards the start."""
        target = top1 - AUTO_MARGIN
        n = int(math.floor((self.x_hi - self.x_lo) / _STEP_DOWN + 1e-9))
        grid = [self.x_lo + k * _STEP_DOWN for k in range(n + 1)]
        lowest = (self.floor(x0), x0)  # the start's, above top1: the floor reported may be the start's
        for x in sorted(grid, key=lambda x: abs(x - x0)):
            v = self.floor(x)
            if v is None:
                continue
            if v < lowest[0]:
                lowest = (v, x)
            if v <= target:
                toward = x + _STEP_DOWN if x < x0 else x - _STEP_DOWN
                x_bad = x0 if (toward - x0) * (x - x0) <= 0 else toward
                for x_try in (self._bisect(x_bad, x, target), x):
                    rng = self.at(self._t(x_try))
                    if rng.reaches(top1):
                        return rng
        rng = self.at(self._t(lowest[1]))
        if rng.reaches(top1):  # within the margin of the least share
            return rng
        raise _NotReached("low", lowest[0], rng)

    def _bisect(self, x_bad: float, x_good: float, target: float) -> float:
        """Bisection in log-threshold for the least share to reach ``target`` (it jumps with the grid of
        sigma), keeping the end that reaches it; to 1e-4."""
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


def _not_reached_message(
    err: _NotReached, top1: float, cv: float, p_zero: float, ms: float, cvs: float, p: float
):
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
            f"{err.rng.s_max:.2f}; at thresholds from {AUTO_RANGE[0]:g} to {AUTO_RANGE[1]:g} times that mean, "
            f"tending to the lognormal's {_lognormal_top1(cvs, p):.4f} as the tail moves out): lower top1_share "
            "or raise cv"
        )
    return (
        f"{head}: its top-1% share is at least {err.bound:.4f} ({where}, body sigma "
        f"{err.rng.sigmas[err.rng.rising[0]]:.1f}, the least feasible there, the CV carried by a tail of index "
        f"near 2; any distribution needs more than 0.01 / (1 - p_zero) = {0.01 / p:.4f}): raise top1_share"
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
    tail_threshold : float or "auto"
        Where the Pareto tail starts (annual cost per member).  ``"auto"``, the
        default (None means the same): $100,000, as in :mod:`vbcsim.defaults`,
        when the splice reaches ``top1_share`` there, with exactly the result of
        ``tail_threshold=100_000``; otherwise the threshold nearest to $100,000
        (on a log scale) that reaches it, among 3 to 10,000 times the mean cost
        of the members with cost (see the notes).  ``describe(d)["tail_threshold"]``
        (or ``d.severity.threshold``) gives the one used.  Used only with
        ``top1_share``.

    Returns
    -------
    Hurdle
        ``Hurdle(1 - p_zero, Lognormal(mu, sigma))``, or with ``top1_share``
        ``Hurdle(1 - p_zero, Spliced(Lognormal(mu, sigma), Pareto(alpha, t), t))``
        with the continuous splice weight and ``alpha > 2``.  :func:`describe`
        of it returns the inputs (to about 1e-9 relative; in practice 1e-12) and
        the threshold.  Passing the threshold chosen by ``"auto"`` explicitly
        gives the same distribution, unless the share is reached only by a body
        sigma past the last feasible point of the grid (up to where the CV would
        need ``alpha > 1002``): ``"auto"`` looks there, an explicit threshold
        keeps the grid's peak and refuses, as before.

    Raises
    ------
    ValueError
        Non-positive ``pmpm`` or ``cv``; a ``tail_threshold`` that is not positive,
        is NaN or infinite, or is a string other than ``"auto"``; ``p_zero``
        outside [0, 1); a ``cv`` too small for ``p_zero``; a ``top1_share``
        outside the bounds every distribution obeys; with a numeric threshold, a
        ``top1_share`` outside the range the splice reaches there (the message
        gives the range); with ``"auto"``, one beyond the bounds ``L(cv, p_zero)``
        and ``U(cv, p_zero)`` of the notes (the message gives the bound).
    TypeError
        An input that is not a real number (``tail_threshold``: nor a string).

    Notes
    -----
    *Which top-1% shares the splice reaches with a given CV.*  The top 1% of
    members are the costliest ``f = 0.01 / (1 - p_zero)`` of the members with
    cost, so the share is that of the severity ``S``'s top ``f``, and ``S`` has
    CV ``cv_s``, ``cv_s^2 = (1 + cv^2)(1 - p_zero) - 1``.  Scaling ``S`` by ``c``
    (``mu + log c``, ``c t``) changes neither the CV nor the share, so both
    depend on ``sigma``, ``alpha`` and ``r = t / E[S]`` only.  At a given ``r``
    the mean fixes ``mu`` and the CV fixes ``alpha``, leaving a curve in
    ``sigma``; along it the share runs from ``s_lo(r)`` (the least feasible
    ``sigma`` of the grid) up to ``s_hi(r)`` (its largest).  A share is therefore
    reached at some threshold if and only if ``L <= share <= U`` with::

        U(cv, p_zero) = max over r of s_hi(r),    L(cv, p_zero) = min over r of s_lo(r).

    As ``r -> inf`` the continuous splice weight, ``w / (1 - w) = phi(z) /
    (sigma alpha Phi(z))`` with ``z = (log t - mu) / sigma``, vanishes and ``S``
    becomes the lognormal with CV ``cv_s``, whose share is ``Phi(sigma_s -
    z_(1-f))``, ``sigma_s^2 = log(1 + cv_s^2)``.  Bringing the tail in lets it
    carry part of the variance: ``s_hi`` rises above the lognormal's share to a
    single peak, at ``r`` of about 20 to 150 (larger for larger CVs), and falls
    for lower thresholds (when ``cv_s`` is about 1 or less it rises again towards
    the lowest ones).  So ``U`` exceeds the lognormal's share and stays below the
    Cauchy-Schwarz bound ``sqrt(0.01 (1 + cv^2))``.  At the other end a tail of
    index close to 2 carries any CV with almost no mass, so ``L`` is set by the
    least body spread the solver admits: about 1.6 to 2.1 times
    ``0.01 / (1 - p_zero)``, nearly independent of ``cv`` (fits near it have
    ``alpha`` within 1e-5 of 2).  Both are computed, not closed forms: ``U`` by
    walking ``log t`` in steps of 1.25x towards the peak and Brent's method on
    ``s_hi`` (and ``s_hi`` at the lowest threshold), ``L`` over the thresholds
    ``3 E[S] 1.1^k``; the threshold range is ``3 <= r <= 10^4``.  Examples (``p_zero = 0.15``): ``cv = 1.5``: ``0.0195 <=
    share <= 0.1057``; ``cv = 3``: 0.0247 to 0.2427; ``cv = 5``: 0.0247 to 0.4327;
    ``cv = 8``: 0.0247 to 0.7092.

    *Choosing the threshold.*  $100,000 when it reaches the share.  A larger
    share: the walk above, then Brent's method for the threshold nearest
    $100,000 where ``s_hi = top1_share + 1e-4`` (the margin keeps the final solve
    for ``sigma`` a clean root); a smaller one: the nearest of the thresholds
    ``3 E[S] 1.1^k`` where ``s_lo <= top1_share - 1e-4``, then bisection towards
    $100,000.  At the threshold chosen ``(mu, sigma, alpha)`` are solved as for
    an explicit one, so the figures are as exact.

    Examples
    --------
    >>> d = from_summary(550.0, 3.25, 0.156, 0.215)       # the built-in defaults' targets
    >>> round(describe(d)["top1_share"], 3), describe(d)["tail_threshold"]
    (0.215, 100000.0)
    >>> d = from_summary(500.0, 3.0, 0.15, 0.22)          # beyond what $100,000 reaches (0.2165)
    >>> round(describe(d)["tail_threshold"], -3)
    109000.0
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
