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
explanation.

*The threshold.*  With an explicit ``tail_threshold`` a target inside those
bounds that the splice cannot reach there is rejected with the range it can
reach.  ``tail_threshold="auto"`` (the default) keeps $100,000 when it reaches
the target and otherwise searches ``log t`` for the threshold nearest to it that
does, among 3 to 10,000 times the mean cost of members with cost: the shares
and the CV depend on the threshold only through ``r = t / E[S]``; at each ``r``
the splice reaches the shares ``[s_lo(r), s_hi(r)]`` along the curve of equal
mean and CV; so with a given CV it reaches exactly the shares from
``L = min_r s_lo(r)`` to ``U = max_r s_hi(r)``, the bounds the CV implies for
this family (derivation, search and values: :func:`from_summary`, *Notes*, and
``docs/calibration.md``).  ``U`` lies between the lognormal's top-1% share
(the limit ``r -> inf``) and the Cauchy-Schwarz bound, e.g. 0.2427 at
``cv = 3``, ``p_zero = 0.15``; targets beyond ``L`` or ``U`` are rejected with
the bound.

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

from vbcsim.analysis.calibrate.claims import FAMILIES, fit
from vbcsim.analysis.calibrate.likelihood import (  # noqa: F401  (module-level names of the former module)
    AUTO_LEVELS,
    MIN_POSITIVE,
    MIN_TAIL,
    _lomax_hessian,
    _lomax_loglik,
    _numerical_hessian,
)
from vbcsim.analysis.calibrate.published import describe, top_share
from vbcsim.analysis.calibrate.result import Fit
from vbcsim.analysis.calibrate.summary import _splice_moments, from_summary  # noqa: F401

__all__ = ["Fit", "fit", "from_summary", "describe", "top_share", "FAMILIES"]
