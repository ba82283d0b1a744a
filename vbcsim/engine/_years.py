"""numba kernel of multi-year runs: members who persist across years and churn.

A segment's ``members`` are slots.  The member in a slot carries two states
from year to year, independent of each other and of every other member:

- an occurrence indicator: whether the member has any cost this year (the
  hurdle, probability ``p``).  It is a stationary two-state Markov chain:
  P(cost next year | cost) = ``p11``, P(cost next year | none) = ``p01``,
  with ``p01 (1 − p) = (1 − p11) p`` so that every year P(cost) = p exactly.
  The driver sets ``p11`` so that a year's pair of indicators has the joint
  law of a Gaussian latent ``a > ndtri(1 − p)`` with correlation ρ
  (:func:`vbcsim.engine.driver.occurrence_transitions`);
- a severity latent ``b``, standard normal, a stationary Gaussian AR(1):
  ``b' = ρ b + √(1 − ρ²) ε``.  The member's cost, when it has any, is the
  severity's quantile at ``Φ(b)`` (``exp(mu + sigma b)`` for a lognormal, a
  table of the quantile function for the other families), or, for a
  compound cost, the claim count's quantile at ``Φ(b)`` with the claims'
  sizes drawn afresh each year.

So every year's cost has exactly the segment's distribution, consecutive years
are a Gaussian copula with latent correlation ρ (the pair's law, which is all
the persistence statistics of :mod:`vbcsim.population.persistence` read), and
high-cost members stay high-cost for a while, then regress.  At the start of
each year after the first the slot's member leaves with probability ``churn``
and a new member with fresh states takes the slot: churn is independent of
risk.  The numpy reference of the map from states to cost is
:func:`vbcsim.population.persistence.member_costs`.

The draws of a member-year are the same whatever its cost, so the stream of a
block is fixed by (seed, segment, block).  Memory is O(years × views × attachments) per block:
members are drawn, accumulated and forgotten one at a time.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vbcsim.engine._fastexp import fast_exp
from vbcsim.engine._kernels import STREAM_MEMBERS, sample_severity
from vbcsim.engine.rng import block_state, standard_normal, uniform

# how a member's severity latent b becomes its cost (``mode``)
MODE_LOGNORMAL = 0  # exp(mu + sigma b), exactly
MODE_TABLE = 1  # exp of the linear interpolation of log Q(Φ(z)) on an even grid of z
MODE_COMPOUND = 2  # claim count N = F_N^{-1}(Φ(b)) from a table of F_N, fresh claim sizes

STREAM_YEARS = 2  # the members' stream of multi-year runs (single-year runs use STREAM_MEMBERS)
assert STREAM_YEARS != STREAM_MEMBERS

_SQRT_HALF = 0.7071067811865476


@njit(nogil=True, cache=True, inline="always")
def _table_log(z, tab, z0, dz):
    t = (z - z0) / dz
    last = tab.size - 1
    if t <= 0.0:
        return tab[0] + (tab[1] - tab[0]) * t  # linear beyond the grid (1 in 1e17 members)
    if t >= last:
        return tab[last] + (tab[last] - tab[last - 1]) * (t - last)
    i = int(t)
    w = t - i
    return tab[i] + (tab[i + 1] - tab[i]) * w


@njit(nogil=True, cache=True, inline="always")
def _count(z, cdf):
    """The smallest n with F_N(n) ≥ Φ(z), from the table ``cdf`` (F_N(0), F_N(1), ...)."""
    u = 0.5 * math.erfc(-z * _SQRT_HALF)
    n = 0
    last = cdf.size - 1
    while n < last and cdf[n] < u:
        n += 1
    return n


@njit(nogil=True, cache=True, inline="always")
def member_cost(s0, s1, prm, mode, tab, z0, dz, b):
    """The cost of a member with cost (the hurdle passed) whose severity latent is ``b``."""
    if mode == MODE_LOGNORMAL:
        return fast_exp(prm[6] + prm[7] * b), s0, s1  # BODY_A, BODY_B of the parameter vector
    if mode == MODE_TABLE:
        return math.exp(_table_log(b, tab, z0, dz)), s0, s1
    n = _count(b, tab)
    total = 0.0
    for _ in range(n):
        x, s0, s1 = sample_severity(s0, s1, prm)
        total += x
    return total, s0, s1


#: slots per batch: their states and costs stay in L1 between the years
BATCH = 256


@njit(nogil=True, cache=True, fastmath={"contract"})
def year_batch(s0, s1, m, y, occ, state, xbuf, fresh, p, p11, p01, rho, innov, churn, prm, mode, tab, z0, dz):
    """Year ``y`` of ``m`` slots: update their states, write their costs to ``xbuf[:m]``.

    ``occ`` (float 0/1) and ``state`` hold each slot's occurrence indicator and severity
    latent from the year before (ignored in year 0).  Per slot, in order: one normal (the
    severity latent's innovation, or a new member's latent), one uniform (the occurrence
    transition), and one uniform when there is churn (whether a new member takes the slot).
    ``fresh[i]`` is set to whether slot i took a new member this year (year 0: every slot).
    Returns (joiners, s0, s1): how many did.
    """
    joiners = 0
    for i in range(m):
        e, s0, s1 = standard_normal(s0, s1)
        u, s0, s1 = uniform(s0, s1)
        new = y == 0
        if churn > 0.0 and not new:
            w, s0, s1 = uniform(s0, s1)
            new = w < churn
        fresh[i] = new
        if new:
            joiners += 1
            state[i] = e
            occ[i] = 1.0 if u < p else 0.0
        else:
            state[i] = rho * state[i] + innov * e
            occ[i] = 1.0 if u < (p11 if occ[i] > 0.0 else p01) else 0.0
    if mode == MODE_LOGNORMAL:
        mu = prm[6]  # BODY_A, BODY_B of the parameter vector
        sigma = prm[7]
        for i in range(m):  # vectorised: fast_exp is branch-free
            xbuf[i] = occ[i] * fast_exp(mu + sigma * state[i])
    elif mode == MODE_TABLE:
        for i in range(m):
            xbuf[i] = occ[i] * math.exp(_table_log(state[i], tab, z0, dz))
    else:
        for i in range(m):
            x = 0.0
            if occ[i] > 0.0:
                x, s0, s1 = member_cost(s0, s1, prm, mode, tab, z0, dz, state[i])
            xbuf[i] = x
    return joiners, s0, s1


# the layout of the ``risk`` vector: risk scores and selection (vbcsim.population.risk)
R_SCORE = 0  # 0: no scores, 1: lognormal severity exp(sigma c z - sigma^2 c^2 / 2), 2: table of h_c
R_C = 1  # c = lambda rho (prospective) or lambda (concurrent)
R_LAMBDA = 2  # the signal's weight on the latent
R_PROSPECTIVE = 3  # 1: from last year's latent (a new member scores 1), 0: this year's
R_SELECT = 4  # 0: none, 1: tilt exp(-k b - k^2 / 2), 2: exclude above q, weight 1 / Phi(q)
R_SELECT_A = 5  # k or q
R_SELECT_B = 6  # 1 / Phi(q)
R_SIGMA = 7  # the lognormal severity's sigma (R_SCORE 1)
N_RISK = 8


@njit(nogil=True, cache=True, inline="always")
def lognormal_score_terms(risk):
    """(a, b, shift) of a lognormal severity's score exp(a ref + b η + shift) (``R_SCORE`` 1):
    σ c λ, σ c √(1 − λ²) and −σ² c² / 2 (:mod:`vbcsim.population.risk`)."""
    c = risk[R_C]
    lam = risk[R_LAMBDA]
    sig = risk[R_SIGMA]
    return sig * c * lam, sig * c * math.sqrt(max(1.0 - lam * lam, 0.0)), -0.5 * sig * sig * c * c


@njit(nogil=True, cache=True, inline="always")
def selection_weights(m, prev, wbuf, risk):
    """Each of ``m`` slots' panel weight from its latent of the year before ``prev``, in ``wbuf``: a tilt
    exp(−κ b₋ − κ²/2) (``R_SELECT`` 1) or the exclusion 1[b₋ ≤ q] / Φ(q) (2); without selection
    ``wbuf`` is left as it is (ones)."""
    select = risk[R_SELECT]
    if select == 1.0:
        k = risk[R_SELECT_A]
        for i in range(m):
            wbuf[i] = fast_exp(-k * prev[i] - 0.5 * k * k)
    elif select == 2.0:
        q = risk[R_SELECT_A]
        inv = risk[R_SELECT_B]
        for i in range(m):
            wbuf[i] = inv if prev[i] <= q else 0.0


@njit(nogil=True, cache=True, fastmath={"contract"})
def risk_batch(s0, s1, m, y, rho, state, prev, fresh, noise_state, wbuf, sbuf, risk, stab, z0, dz):
    """Each slot's panel weight (``wbuf``) and risk score (``sbuf``) in year ``y``.

    Both read what is known of the member before the year: its latent of the year before
    (``prev``; ``prev`` is overwritten with it).  For a member without a year before in the
    run (year 0, or new this year) it is drawn from its law given this year's,
    ρ b + √(1 − ρ²) e (one normal), when a prospective score or selection needs it.  The
    score's noise η is the member's own (``noise_state``): drawn when it joins (year 0, or
    new), then kept while it stays — a condition coded or missed stays so — so that every
    year's scores have the R² they are set to and the draws cost nothing for staying
    members.  A prospective score of a member new this year (after year 0) is 1: the risk
    model has no history of it (a new enrollee's demographic score); selection sees the
    member's history all the same.
    """
    score = risk[R_SCORE]
    select = risk[R_SELECT]
    prospective = risk[R_PROSPECTIVE] > 0.0
    if (score > 0.0 and prospective) or select > 0.0:
        root = math.sqrt(max(1.0 - rho * rho, 0.0))
        for i in range(m):
            if y == 0 or fresh[i]:
                e, s0, s1 = standard_normal(s0, s1)
                prev[i] = rho * state[i] + root * e
    if score > 0.0:
        lam = risk[R_LAMBDA]
        noise = math.sqrt(max(1.0 - lam * lam, 0.0))
        for i in range(m):  # a joining member's noise, in slot order (the scores in vectorisable loops)
            if y == 0 or fresh[i]:
                noise_state[i], s0, s1 = standard_normal(s0, s1)
        ref = prev if prospective else state
        if score == 1.0:
            a, b, shift = lognormal_score_terms(risk)
            for i in range(m):
                sbuf[i] = fast_exp(a * ref[i] + b * noise_state[i] + shift)
        else:
            for i in range(m):
                sbuf[i] = math.exp(_table_log(lam * ref[i] + noise * noise_state[i], stab, z0, dz))
        if prospective and y > 0:
            for i in range(m):  # a new member: no history with the risk model, score 1
                if fresh[i]:
                    sbuf[i] = 1.0
    else:
        for i in range(m):
            sbuf[i] = 1.0
    selection_weights(m, prev, wbuf, risk)
    return s0, s1


@njit(nogil=True, cache=True)
def member_paths(prm, mode, tab, z0, dz, p, p11, p01, rho, churn, n, years, key0, key1, stream, a_, b_,
                 risk, stab):  # fmt: skip
    """``n`` slots over ``years`` years as :func:`segment_block_years` draws one scenario (a test hook).

    Returns (occurrence, latent, cost) as float[n, years], joined bool[n, years] (True
    where a new member took the slot that year; year 0: every slot), and the panel weight
    and risk score of each member-year, float[n, years], and the latent of the year before
    that selection and a prospective score read (:func:`risk_batch`), float[n, years].
    """
    s0, s1 = block_state(key0, key1, stream, a_, b_)
    occ_out = np.empty((n, years))
    lat_out = np.empty((n, years))
    cost = np.empty((n, years))
    joined = np.zeros((n, years), dtype=np.bool_)
    w_out = np.empty((n, years))
    s_out = np.empty((n, years))
    h_out = np.full((n, years), np.nan)
    innov = math.sqrt(1.0 - rho * rho)
    occ = np.zeros(BATCH)
    state = np.zeros(BATCH)
    prev = np.zeros(BATCH)
    noise_state = np.zeros(BATCH)
    fresh = np.zeros(BATCH, dtype=np.bool_)
    xbuf = np.empty(BATCH)
    wbuf = np.ones(BATCH)
    sbuf = np.empty(BATCH)
    active = risk[R_SCORE] > 0.0 or risk[R_SELECT] > 0.0
    for start in range(0, n, BATCH):
        m = min(BATCH, n - start)
        for y in range(years):
            prev[:m] = state[:m]
            _, s0, s1 = year_batch(
                s0, s1, m, y, occ, state, xbuf, fresh, p, p11, p01, rho, innov, churn, prm, mode, tab, z0, dz
            )
            if active:
                s0, s1 = risk_batch(
                    s0, s1, m, y, rho, state, prev, fresh, noise_state, wbuf, sbuf, risk, stab, z0, dz
                )
            else:
                wbuf[:m] = 1.0
                sbuf[:m] = 1.0
            for i in range(m):
                occ_out[start + i, y] = occ[i]
                lat_out[start + i, y] = state[i]
                cost[start + i, y] = xbuf[i]
                joined[start + i, y] = fresh[i]
                w_out[start + i, y] = wbuf[i]
                s_out[start + i, y] = sbuf[i]
                h_out[start + i, y] = prev[i]
    return occ_out, lat_out, cost, joined, w_out, s_out, h_out


@njit(nogil=True, cache=True, inline="always")
def _sum4(buf, m):
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    i = 0
    while i + 4 <= m:
        a0 += buf[i]
        a1 += buf[i + 1]
        a2 += buf[i + 2]
        a3 += buf[i + 3]
        i += 4
    while i < m:
        a0 += buf[i]
        i += 1
    return (a0 + a1) + (a2 + a3)


@njit(nogil=True, cache=True, inline="always")
def _excess(xbuf, wbuf, m, low, thr, base, n_thr, acc, weighted):
    for i in range(m):
        x = xbuf[i]
        if x > low:
            w = wbuf[i] if weighted else 1.0
            for j in range(n_thr):
                e = x - thr[base + j]
                if e > 0.0:
                    acc[base + j] += w * e


@njit(nogil=True, cache=True, inline="always")
def scenario_thresholds(s, years, n_views, n_att, factors, attachments, thr, lowest):
    """Each year's raw-draw thresholds attachment / factor of scenario ``s`` (and the lowest)."""
    n_thr = n_views * n_att
    for y in range(years):
        low = np.inf
        row = s * years + y
        for v in range(n_views):
            for k in range(n_att):
                t = attachments[v, k] / factors[row, v]
                thr[y * n_thr + v * n_att + k] = t
                low = min(low, t)
        lowest[y] = low


@njit(nogil=True, cache=True, inline="always")
def write_scenario(s, years, members, factors, n_att, total, acc, ref_total, ref_acc, scores, active, weighted,
                   cost_out, excess_out, ref_cost_out, ref_excess_out, score_out):  # fmt: skip
    """Scenario ``s``'s rows: each view's factor times the year's sums, and the score sums."""
    n_views = factors.shape[1]
    n_thr = n_views * n_att
    for y in range(years):
        row = s * years + y
        for j in range(3):
            score_out[row, j] = scores[y, j] if active else members
        for v in range(n_views):
            f = factors[row, v]
            cost_out[row, v] = f * total[y]
            for k in range(n_att):
                excess_out[row, v, k] = f * acc[y * n_thr + v * n_att + k]
            if weighted:
                ref_cost_out[row, v] = f * ref_total[y]
                for k in range(n_att):
                    ref_excess_out[row, v, k] = f * ref_acc[y * n_thr + v * n_att + k]


@njit(nogil=True, cache=True)
def segment_block_years(
    prm, mode, tab, z0, dz, p, p11, p01, rho, churn, members, years, factors, attachments, key0, key1,
    segment, chunk, cost_out, excess_out, joiners_out, risk, stab, ref_cost_out, ref_excess_out, score_out,
):  # fmt: skip
    """Simulate one logical block of a multi-year run: ``members`` slots over a run of scenarios.

    Rows run over scenario-years, row = scenario × years + year (year 0 first).  Slots are
    taken in batches of ``BATCH``; within a batch, year after year (:func:`year_batch`, then
    :func:`risk_batch` when the segment has risk scores or selection).

    Parameters
    ----------
    factors : float64[S × years, V]
        per scenario-year and view, all > 0.
    attachments : float64[V, K]
        per-member attachment points of each view (``inf`` pads unused slots).
    cost_out : float64[S × years, V], excess_out : float64[S × years, V, K]
        written: Σ w factor × X and Σ w (factor × X − attachment)+ over the members, w the
        member's panel weight (1 without selection).
    joiners_out : float64[S × years]
        written: members new to the segment that year (every member in year 0).
    risk : float64[N_RISK], stab : float64[:]
        risk scores and selection (see ``R_*``) and the score table (``R_SCORE`` 2).
    ref_cost_out, ref_excess_out : like cost_out, excess_out
        written with selection only: the unweighted sums (the population, not the panel).
    score_out : float64[S × years, 3]
        written: Σ w, Σ w s and Σ s over the members (s the risk score, 1 without scores).
    """
    s0, s1 = block_state(key0, key1, STREAM_YEARS, segment, chunk)
    n_rows, n_views = factors.shape
    n_scen = n_rows // years
    n_att = attachments.shape[1]
    n_thr = n_views * n_att
    thr = np.empty(years * n_thr)
    lowest = np.empty(years)
    acc = np.empty(years * n_thr)
    ref_acc = np.empty(years * n_thr)
    total = np.empty(years)
    ref_total = np.empty(years)
    scores = np.empty((years, 3))
    innov = math.sqrt(1.0 - rho * rho)
    occ = np.zeros(BATCH)
    state = np.zeros(BATCH)
    prev = np.zeros(BATCH)
    noise_state = np.zeros(BATCH)
    xbuf = np.empty(BATCH)
    wbuf = np.ones(BATCH)
    sbuf = np.ones(BATCH)
    tmp = np.empty(BATCH)
    fresh = np.zeros(BATCH, dtype=np.bool_)
    active = risk[R_SCORE] > 0.0 or risk[R_SELECT] > 0.0
    weighted = risk[R_SELECT] > 0.0
    for s in range(n_scen):
        scenario_thresholds(s, years, n_views, n_att, factors, attachments, thr, lowest)
        for y in range(years):
            total[y] = 0.0
            ref_total[y] = 0.0
            joiners_out[s * years + y] = 0.0
        acc[:] = 0.0
        ref_acc[:] = 0.0
        scores[:] = 0.0
        for start in range(0, members, BATCH):
            m = min(BATCH, members - start)
            for y in range(years):
                if active:
                    prev[:m] = state[:m]
                joiners, s0, s1 = year_batch(
                    s0, s1, m, y, occ, state, xbuf, fresh, p, p11, p01, rho, innov, churn, prm, mode, tab, z0, dz
                )  # fmt: skip
                joiners_out[s * years + y] += joiners
                base = y * n_thr
                if active:
                    s0, s1 = risk_batch(
                        s0, s1, m, y, rho, state, prev, fresh, noise_state, wbuf, sbuf, risk, stab, z0, dz
                    )
                    s_sum = _sum4(sbuf, m)
                    scores[y, 2] += s_sum
                    if weighted:
                        for i in range(m):
                            tmp[i] = wbuf[i] * sbuf[i]
                        scores[y, 0] += _sum4(wbuf, m)
                        scores[y, 1] += _sum4(tmp, m)
                    else:
                        scores[y, 0] += m
                        scores[y, 1] += s_sum
                if weighted:
                    ref_total[y] += _sum4(xbuf, m)
                    _excess(xbuf, wbuf, m, lowest[y], thr, base, n_thr, ref_acc, False)
                    for i in range(m):
                        tmp[i] = wbuf[i] * xbuf[i]
                    total[y] += _sum4(tmp, m)
                    _excess(xbuf, wbuf, m, lowest[y], thr, base, n_thr, acc, True)
                else:
                    total[y] += _sum4(xbuf, m)
                    _excess(xbuf, wbuf, m, lowest[y], thr, base, n_thr, acc, False)
        write_scenario(s, years, members, factors, n_att, total, acc, ref_total, ref_acc, scores, active, weighted,
                       cost_out, excess_out, ref_cost_out, ref_excess_out, score_out)  # fmt: skip
