"""numba kernels of the Monte Carlo engine.

A member's cost distribution arrives as a flat float64 parameter vector (see
``encode`` in :mod:`vbcsim.engine.driver` for the layout).  The kernels assume
valid input: validation happens in the Python API.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vbcsim.engine._fastexp import FAST_EXP_LIMIT, fast_exp
from vbcsim.engine.rng import block_state, next_uint64, standard_normal, uniform

_U = np.uint64

# parameter vector layout
P_NONZERO = 0  # probability that the member has any cost (hurdle)
FREQ_KIND = 1  # 0: one claim (the severity is the annual cost), 1: Poisson, 2: negative binomial
FREQ_A = 2  # Poisson lambda / negative binomial mean
FREQ_B = 3  # negative binomial dispersion r
SEV_KIND = 4  # 0: basic severity (BODY_*), 1: spliced
BODY_KIND = 5  # 1 lognormal(mu, sigma), 2 gamma(shape, scale), 3 Lomax(alpha, scale)
BODY_A = 6
BODY_B = 7
THRESHOLD = 8  # spliced: threshold
TAIL_WEIGHT = 9  # spliced: probability of the tail
TAIL_KIND = 10
TAIL_A = 11
TAIL_B = 12
BODY_CDF_T = 13  # spliced: body cdf at the threshold
N_PARAMS = 14

LOGNORMAL, GAMMA, PARETO = 1, 2, 3
FREQ_ONE, FREQ_POISSON, FREQ_NEGBIN = 0, 1, 2

# logical random streams of one root seed
STREAM_MEMBERS = 1


# Every sampler takes and returns the generator state (s0, s1) and reads the
# distribution from ``prm``, a tuple of N_PARAMS floats (a tuple, not an array:
# arrays passed between compiled functions cost a reference-count update each).


@njit(nogil=True, cache=True)
def sample_gamma(s0, s1, shape):
    """Gamma(shape, 1) by Marsaglia & Tsang (ACM TOMS 26(3), 2000)."""
    boost = 1.0
    if shape < 1.0:
        # G(a) = G(a + 1) U^(1/a) (Marsaglia & Tsang, section 6)
        u, s0, s1 = uniform(s0, s1)
        boost = math.exp(math.log1p(-u) / shape)
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        z, s0, s1 = standard_normal(s0, s1)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        u, s0, s1 = uniform(s0, s1)
        if u < 1.0 - 0.0331 * z * z * z * z:
            return d * v * boost, s0, s1
        if math.log(u) < 0.5 * z * z + d * (1.0 - v + math.log(v)):
            return d * v * boost, s0, s1


@njit(nogil=True, cache=True)
def sample_poisson(s0, s1, lam):
    """Poisson(lam): multiplication method below 10, PTRS (Hörmann 1993) above."""
    if lam <= 0.0:
        return 0, s0, s1
    if lam < 10.0:
        limit = math.exp(-lam)
        k = 0
        prod, s0, s1 = uniform(s0, s1)
        while prod > limit:
            k += 1
            u, s0, s1 = uniform(s0, s1)
            prod *= u
        return k, s0, s1
    # W. Hörmann, "The transformed rejection method for generating Poisson random
    # variables", Insurance: Mathematics and Economics 12 (1993) 39-45
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u, s0, s1 = uniform(s0, s1)
        v, s0, s1 = uniform(s0, s1)
        u -= 0.5
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return int(k), s0, s1
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= -lam + k * loglam - math.lgamma(
            k + 1.0
        ):
            return int(k), s0, s1


@njit(nogil=True, cache=True, inline="always")
def sample_basic(s0, s1, kind, a, b):
    if kind == LOGNORMAL:
        z, s0, s1 = standard_normal(s0, s1)
        return math.exp(a + b * z), s0, s1
    if kind == GAMMA:
        g, s0, s1 = sample_gamma(s0, s1, a)
        return b * g, s0, s1
    # Lomax by inversion: scale ((1 - U)^(-1/alpha) - 1)
    u, s0, s1 = uniform(s0, s1)
    return b * math.expm1(-math.log1p(-u) / a), s0, s1


@njit(nogil=True, cache=True, inline="always")
def sample_severity(s0, s1, prm):
    if prm[SEV_KIND] == 0.0:
        return sample_basic(s0, s1, prm[BODY_KIND], prm[BODY_A], prm[BODY_B])
    t = prm[THRESHOLD]
    u, s0, s1 = uniform(s0, s1)
    if u < prm[TAIL_WEIGHT]:
        x, s0, s1 = sample_basic(s0, s1, prm[TAIL_KIND], prm[TAIL_A], prm[TAIL_B])
        return t + x, s0, s1
    kind = prm[BODY_KIND]
    if kind == PARETO:
        # the Lomax body conditioned on X <= t by inversion of u F(t)
        u, s0, s1 = uniform(s0, s1)
        u *= prm[BODY_CDF_T]
        return min(prm[BODY_B] * math.expm1(-math.log1p(-u) / prm[BODY_A]), t), s0, s1
    while True:  # rejection: acceptance F_body(t), validated >= 1e-3
        x, s0, s1 = sample_basic(s0, s1, kind, prm[BODY_A], prm[BODY_B])
        if x <= t:
            return x, s0, s1


@njit(nogil=True, cache=True)
def sample_beta(s0, s1, a, b):
    """Beta(a, b) as G_a / (G_a + G_b)."""
    x, s0, s1 = sample_gamma(s0, s1, a)
    y, s0, s1 = sample_gamma(s0, s1, b)
    return x / (x + y), s0, s1


@njit(nogil=True, cache=True)
def sample_binomial(s0, s1, n, p):
    """Binomial(n, p) exactly, by Knuth's order-statistic recursion (TAOCP vol. 2, 3.4.1 F).

    The a-th smallest of n uniforms, a = 1 + n // 2, is Beta(a, n + 1 − a).  If
    it is at least p, the count below p is among the a − 1 smaller uniforms,
    which are uniform on [0, X): Binomial(a − 1, p / X).  Otherwise those a are
    all below p and the other n − a are uniform on (X, 1): a + Binomial(n − a,
    (p − X) / (1 − X)).  About log2(n) steps of two gamma draws each, then
    Bernoulli trials for the last few.
    """
    k = 0
    while n > 16:
        a = 1 + n // 2
        b = n + 1 - a
        x, s0, s1 = sample_beta(s0, s1, float(a), float(b))
        if x >= p:
            n = a - 1
            p = p / x
        else:
            k += a
            n = b - 1
            p = (p - x) / (1.0 - x)
    for _ in range(n):
        u, s0, s1 = uniform(s0, s1)
        if u < p:
            k += 1
    return k, s0, s1


@njit(nogil=True, cache=True, inline="always")
def sample_member(s0, s1, prm):
    """One member's annual cost; returns (cost, s0, s1)."""
    p = prm[P_NONZERO]
    if p < 1.0:
        # u >= p with u = (r >> 11) 2^-53, compared in integers (no conversion per member)
        r, s0, s1 = next_uint64(s0, s1)
        if np.int64(r >> _U(11)) >= np.int64(math.ceil(p * 9007199254740992.0)):
            return 0.0, s0, s1
    return sample_nonzero(s0, s1, prm)


@njit(nogil=True, cache=True, inline="always")
def sample_nonzero(s0, s1, prm):
    """The annual cost of a member who has cost (the hurdle passed); returns (cost, s0, s1)."""
    fk = prm[FREQ_KIND]
    if fk == FREQ_ONE:
        return sample_severity(s0, s1, prm)
    lam = prm[FREQ_A]
    if fk == FREQ_NEGBIN:
        r = prm[FREQ_B]
        g, s0, s1 = sample_gamma(s0, s1, r)
        lam = g * (lam / r)
    n, s0, s1 = sample_poisson(s0, s1, lam)
    total = 0.0
    for _ in range(n):
        x, s0, s1 = sample_severity(s0, s1, prm)
        total += x
    return total, s0, s1


@njit(nogil=True, cache=True)
def sample_members(prm, n, key0, key1, stream, a, b):
    """``n`` member costs from block (stream, a, b): a test hook for the samplers."""
    s0, s1 = block_state(key0, key1, stream, a, b)
    out = np.empty(n)
    for i in range(n):
        out[i], s0, s1 = sample_member(s0, s1, prm)
    return out


@njit(nogil=True, cache=True)
def sample_block_members(prm, members, n_scen, key0, key1, segment, chunk):
    """The member costs ``segment_block`` draws for block (segment, chunk), as float[n_scen, members]:
    per scenario the members with cost first, zeros after (a test hook for the block layout)."""
    s0, s1 = block_state(key0, key1, STREAM_MEMBERS, segment, chunk)
    out = np.zeros((n_scen, members))
    path = lognormal_path(prm)
    z_top = z_limit(prm, path)
    for s in range(n_scen):
        n_cost = members
        if prm[P_NONZERO] < 1.0:
            n_cost, s0, s1 = sample_binomial(s0, s1, members, prm[P_NONZERO])
        for i in range(n_cost):
            if path:
                in_tail, v, s0, s1 = fast_draw(s0, s1, prm, path, z_top)
                out[s, i] = v if in_tail else fast_exp(prm[BODY_A] + prm[BODY_B] * v)
            else:
                out[s, i], s0, s1 = sample_nonzero(s0, s1, prm)
    return out


@njit(nogil=True, cache=True)
def sample_binomials(n, p, count, key0, key1, stream, a, b):
    """``count`` Binomial(n, p) draws from block (stream, a, b): a test hook for the sampler."""
    s0, s1 = block_state(key0, key1, stream, a, b)
    out = np.empty(count, dtype=np.int64)
    for i in range(count):
        out[i], s0, s1 = sample_binomial(s0, s1, n, p)
    return out


#: members drawn per batch on the lognormal fast path (two 2 KiB buffers, in L1)
BATCH = 256
# the ziggurat's normals stay below 14 in absolute value: r + (-log(2^-53)) / r < 13.7
_Z_BOUND = 14.0


@njit(nogil=True, cache=True)
def lognormal_path(prm):
    """0: the general path; 1: lognormal members; 2: spliced members with a lognormal body.

    The fast path needs one claim per member and every body draw's log within
    ``FAST_EXP_LIMIT`` (|mu| + 14 sigma below it).
    """
    if prm[FREQ_KIND] != FREQ_ONE or prm[BODY_KIND] != LOGNORMAL:
        return 0
    if abs(prm[BODY_A]) + _Z_BOUND * prm[BODY_B] >= FAST_EXP_LIMIT:
        return 0
    return 1 if prm[SEV_KIND] == 0.0 else 2


@njit(nogil=True, cache=True, inline="always")
def _add_excess(x, lowest, thr, acc):
    if x > lowest:
        for j in range(thr.size):
            e = x - thr[j]
            if e > 0.0:
                acc[j] += e


@njit(nogil=True, cache=True, inline="always")
def fast_draw(s0, s1, prm, path, z_top):
    """One member of the lognormal fast path: (in_tail, value, s0, s1).

    A spliced member (path 2) draws a uniform first: in the tail (probability
    ``TAIL_WEIGHT``) the value is its cost, ``THRESHOLD`` plus a tail draw.
    Otherwise the value is the body's standard normal z, drawn again until
    ``z ≤ z_top = (log THRESHOLD − mu) / sigma`` (the lognormal value is then at
    most the threshold); the cost is ``exp(mu + sigma z)``.
    """
    if path == 2:
        u, s0, s1 = uniform(s0, s1)
        if u < prm[TAIL_WEIGHT]:
            y, s0, s1 = sample_basic(s0, s1, prm[TAIL_KIND], prm[TAIL_A], prm[TAIL_B])
            return True, prm[THRESHOLD] + y, s0, s1
    while True:
        z, s0, s1 = standard_normal(s0, s1)
        if z <= z_top:
            return False, z, s0, s1


@njit(nogil=True, cache=True)
def z_limit(prm, path):
    """The largest body normal of the fast path: (log THRESHOLD − mu) / sigma when spliced."""
    return (math.log(prm[THRESHOLD]) - prm[BODY_A]) / prm[BODY_B] if path == 2 else np.inf


@njit(nogil=True, cache=True, fastmath={"contract"})
def lognormal_members(s0, s1, prm, path, n, thr, lowest, acc, zbuf, xbuf):
    """The cost of ``n`` members who have cost, lognormal (path 1) or spliced on a lognormal body (path 2).

    Draws are made in batches: each member's normal first (:func:`fast_draw`,
    one member after another from the block's stream; spliced tail members'
    costs are added at once), then the lognormal values of the whole batch
    with :func:`fast_exp` in one vectorised loop, then their sum (four partial
    sums) and their excess over the thresholds.  Returns (total, s0, s1).
    """
    mu = prm[BODY_A]
    sigma = prm[BODY_B]
    z_top = z_limit(prm, path)
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    tail = 0.0
    done = 0
    while done < n:
        m = min(BATCH, n - done)
        k = 0
        for _ in range(m):
            in_tail, v, s0, s1 = fast_draw(s0, s1, prm, path, z_top)
            if in_tail:
                tail += v
                _add_excess(v, lowest, thr, acc)
            else:
                zbuf[k] = v
                k += 1
        for i in range(k):
            xbuf[i] = fast_exp(mu + sigma * zbuf[i])
        i = 0
        while i + 4 <= k:
            a0 += xbuf[i]
            a1 += xbuf[i + 1]
            a2 += xbuf[i + 2]
            a3 += xbuf[i + 3]
            i += 4
        while i < k:
            a0 += xbuf[i]
            i += 1
        for i in range(k):
            _add_excess(xbuf[i], lowest, thr, acc)
        done += m
    return ((a0 + a1) + (a2 + a3)) + tail, s0, s1


@njit(nogil=True, cache=True)
def segment_block(prm, members, factors, attachments, key0, key1, segment, chunk, cost_out, excess_out):
    """Simulate one logical block: ``members`` members over a run of scenarios.

    Parameters
    ----------
    prm : tuple of N_PARAMS floats
        the members' cost distribution.
    factors : float64[S, V]
        per scenario and view (a view is a model's version of the cost: the
        systematic multiplier times its efficiency factor), all > 0.
    attachments : float64[V, K]
        per-member attachment points of each view (``inf`` pads unused slots).
    cost_out : float64[S, V], excess_out : float64[S, V, K]
        written: Σ factor × X and Σ (factor × X − attachment)+ over members.
    """
    s0, s1 = block_state(key0, key1, STREAM_MEMBERS, segment, chunk)
    n_scen, n_views = factors.shape
    n_att = attachments.shape[1]
    n_thr = n_views * n_att
    # (f x - a)+ = f (x - a / f)+: compare raw draws with attachment / factor
    thr = np.empty(n_thr)
    acc = np.empty(n_thr)
    path = lognormal_path(prm)
    zbuf = np.empty(BATCH)
    xbuf = np.empty(BATCH)
    for s in range(n_scen):
        lowest = np.inf
        for v in range(n_views):
            for k in range(n_att):
                t = attachments[v, k] / factors[s, v]
                thr[v * n_att + k] = t
                lowest = min(lowest, t)
        acc[:] = 0.0
        total = 0.0
        # members with no cost add nothing: draw how many have cost, then only their costs (no
        # per-member hurdle draw, and no unpredictable branch on it in the hot loop)
        n_cost = members
        if prm[P_NONZERO] < 1.0:
            n_cost, s0, s1 = sample_binomial(s0, s1, members, prm[P_NONZERO])
        if path:
            total, s0, s1 = lognormal_members(s0, s1, prm, path, n_cost, thr, lowest, acc, zbuf, xbuf)
        else:
            for _ in range(n_cost):
                x, s0, s1 = sample_nonzero(s0, s1, prm)
                total += x
                _add_excess(x, lowest, thr, acc)
        for v in range(n_views):
            f = factors[s, v]
            cost_out[s, v] = f * total
            for k in range(n_att):
                excess_out[s, v, k] = f * acc[v * n_att + k]
