"""Vectorised sampling for the single-year lognormal fast path: many generator lanes advanced together.

:func:`segment_block_vector` is a drop-in alternative to
:func:`vbcsim.engine._kernels.segment_block` for segments whose members have
one claim a year with a lognormal or spliced-on-a-lognormal-body severity (any
hurdle): :func:`supports` says which.  It computes the same statistics (per
scenario Σ factor × X and Σ (factor × X − attachment)+ over the members), from
the same distribution, by different random numbers: it is exact in
distribution, not bitwise equal to ``segment_block``.

Why
---
``segment_block`` draws one ziggurat normal per member from one xoroshiro128++
stream, member after member: each draw waits for the previous generator state,
and the ziggurat's table look-ups and branch stay scalar.  Here the members'
normals come from ``LANES`` independent xoroshiro128++ streams whose states are
advanced together, so that LLVM turns the lane loop into SIMD code (8 lanes of
64 bits per AVX-512 register): generator, ziggurat fast path (two gathers),
``fast_exp`` and the sums run on whole vectors.

Streams of a block
------------------
Block (segment, chunk) of a root key (key0, key1) uses, with
:func:`vbcsim.engine.rng.block_state`:

* lane ``l`` (0 ≤ l < LANES): ``block_state(key0, key1, STREAM_LANES, segment, chunk * LANES + l)``;
* the block's scalar stream: ``block_state(key0, key1, STREAM_SCALAR, segment, chunk)``.

Both stream ids are new (``STREAM_MEMBERS`` = 1 and ``STREAM_YEARS`` = 2 are
taken), so no block of any run shares a generator with another.  Everything
depends on (seed, segment, chunk) only, never on threads.

Order of the draws, per scenario
--------------------------------
1. Scalar stream: the number of members with cost, ``Binomial(members,
   p_nonzero)`` (:func:`~vbcsim.engine._kernels.sample_binomial`; skipped when
   ``p_nonzero`` is 1).  Spliced severity: then the number of those members in
   the tail, ``Binomial(n_cost, tail_weight)``, and their costs, threshold +
   tail draw, one after another.  (The statistics are symmetric in the members,
   so drawing the counts first has the law of a Bernoulli per member.)
2. The ``n`` body members, in rounds (:func:`_lane_steps`): every lane draws
   ``STEPS`` candidates, its next ``STEPS`` outputs; candidate k of lane l is
   number ``k × LANES + l`` of the round, and only the first ``min(missing,
   STEPS × LANES)`` are used (the others are drawn and discarded), so a round
   never yields more members than are missing.  A candidate is the ziggurat's
   first step on its 64 bits (the layer, sign and 52-bit abscissa of
   :func:`vbcsim.engine.rng.standard_normal`):

   * accepted by the fast path (about 98.8%): the member's normal z is the
     candidate.  Spliced severity: a z above ``z_top = (log threshold − mu) /
     sigma`` is discarded (rejection sampling of the body conditioned on X ≤
     threshold) and the member is still missing;
   * rejected by the fast path: the member's normal is the ziggurat's own
     continuation on that candidate (the wedge test, or the base strip's tail)
     with uniforms from the block's scalar stream, and a complete new
     :func:`~vbcsim.engine.rng.standard_normal` from the scalar stream if the
     wedge test fails (:func:`_finish_normal`); spliced: new scalar-stream
     normals while it exceeds ``z_top``.  These fix-ups run after each round,
     lane by lane and, within a lane, in candidate order.

   This is the ziggurat algorithm with its bits taken from independent
   streams, so each member's normal is exactly N(0, 1) (truncated at ``z_top``
   when spliced); which candidates are used depends only on earlier rounds.
   The cost is ``fast_exp(mu + sigma z)``.
3. The sums: per lane accumulators (cost and excess over the lowest
   threshold), added in lane order at the end of the scenario, plus the
   fix-ups' and tail members' costs; members above the lowest threshold add
   their excess over the other thresholds (recomputed from their 64 bits).

Integration
-----------
The driver's ``run_block`` would call :func:`segment_block_vector` in place of
``segment_block`` when :func:`supports` holds for the segment (for example
behind a ``sampler="vector"`` option), as a new stream definition: results
would change (in distribution they are the same) and the bitwise-determinism
tests pin the old streams.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vbcsim.engine._fastexp import fast_exp
from vbcsim.engine._kernels import (
    BODY_A,
    BODY_B,
    P_NONZERO,
    TAIL_A,
    TAIL_B,
    TAIL_KIND,
    TAIL_WEIGHT,
    THRESHOLD,
    lognormal_path,
    sample_basic,
    sample_binomial,
    z_limit,
)
from vbcsim.engine.rng import ZIG_F, ZIG_K, ZIG_W, ZIGGURAT_R, block_state, standard_normal, uniform

__all__ = [
    "LANES",
    "STEPS",
    "STREAM_LANES",
    "STREAM_SCALAR",
    "segment_block_vector",
    "supports",
    "lane_states",
    "sample_vector_members",
]

_U = np.uint64
_MASK52 = _U(0x000FFFFFFFFFFFFF)
_INV_R = 1.0 / ZIGGURAT_R

#: independent xoroshiro128++ streams per block, advanced together (two AVX-512 registers of 8)
LANES = 64
#: candidates per lane in one round of :func:`_lane_steps` (unrolled: the lane states stay in registers)
STEPS = 8
ROUND = LANES * STEPS

STREAM_LANES = 3  # a block's lane streams: block_state(key0, key1, 3, segment, chunk * LANES + lane)
STREAM_SCALAR = 4  # a block's scalar stream: counts, spliced tails and the ziggurat's fix-ups

# rows of the per-lane integer state
_S0, _S1, _REJ, _ABOVE, _SLOTS = 0, 1, 2, 3, 4
_LU_ROWS = 5
# rows of the per-lane float accumulators
_ACC, _EXC = 0, 1


def supports(prm) -> bool:
    """Whether :func:`segment_block_vector` samples this encoded distribution (the lognormal fast path)."""
    return bool(lognormal_path(prm))


@njit(nogil=True, cache=True, inline="always")
def _rotl(x, k):
    return (x << _U(k)) | (x >> _U(64 - k))


@njit(nogil=True, cache=True, inline="always", fastmath={"contract"})
def _candidate(s0, s1, mu, sigma, z_top, lowest):
    """One lane step: xoroshiro128++ bits r, the ziggurat's fast path on them and the cost.

    Returns (r, s0, s1, v, fast, keep): ``fast`` when the ziggurat's fast path
    accepts; ``keep`` when it does and z ≤ z_top; v the cost when ``keep``, else 0.
    Branch-free (selects), so that the lane loop vectorises.
    """
    t = s0 + s1
    r = _rotl(t, 17) + s0
    s1 ^= s0
    s0 = _rotl(s0, 49) ^ s1 ^ (s1 << _U(21))
    s1 = _rotl(s1, 28)
    idx = np.intp(r & _U(0xFF))
    rabs = np.int64((r >> _U(9)) & _MASK52)
    z = float(rabs) * ZIG_W[idx]
    z = -z if (r >> _U(8)) & _U(1) else z
    fast = rabs < ZIG_K[idx]
    keep = fast and z <= z_top
    v = fast_exp(mu + sigma * z)
    v = v if keep else 0.0
    return r, s0, s1, v, fast, keep


@njit(nogil=True, cache=True, inline="always", fastmath={"contract"})
def _lane_step(k, l, n, s0, s1, a, e, rej, above, slots, rbuf, mu, sigma, z_top, lowest, limit):
    r, s0, s1, v, fast, keep = _candidate(s0, s1, mu, sigma, z_top, lowest)
    rbuf[k, l] = r
    active = k * n + l < limit
    keep = keep and active
    v = v if active else 0.0
    a += v
    d = v - lowest
    e += d if d > 0.0 else 0.0
    rej |= (_U(1) << _U(k)) if active and not fast else _U(0)
    above |= (_U(1) << _U(k)) if d > 0.0 else _U(0)
    slots += _U(1) if keep or (active and not fast) else _U(0)
    return s0, s1, a, e, rej, above, slots


@njit(nogil=True, cache=True, fastmath={"contract"})
def _lane_steps(lu, lf, rbuf, mu, sigma, z_top, lowest, limit):
    """One round: ``STEPS`` candidates from each lane, vectorised over the lanes.

    ``lu`` uint64[5, LANES]: state s0, s1, then written: rejected-candidate and
    above-lowest bit masks (bit k: the lane's k-th candidate of the round), and
    added to: slots (candidates that are members: all but discarded ones).
    ``lf`` float64[2, LANES]: per lane cost and excess-over-lowest sums (added to).
    ``rbuf`` uint64[STEPS, LANES]: written, the candidates' bits.
    """
    n = lu.shape[1]  # a run-time trip count: LLVM vectorises this loop rather than unrolling it
    for l in range(n):
        s0 = lu[_S0, l]
        s1 = lu[_S1, l]
        a = lf[_ACC, l]
        e = lf[_EXC, l]
        slots = lu[_SLOTS, l]
        rej = _U(0)
        above = _U(0)
        # STEPS = 8 steps written out (numba's IR inlining; the lane state stays in registers)
        s0, s1, a, e, rej, above, slots = _lane_step(
            0, l, n, s0, s1, a, e, rej, above, slots, rbuf, mu, sigma, z_top, lowest, limit
        )
        s0, s1, a, e, rej, above, slots = _lane_step(
            1, l, n, s0, s1, a, e, rej, above, slots, rbuf, mu, sigma, z_top, lowest, limit
        )
        s0, s1, a, e, rej, above, slots = _lane_step(
            2, l, n, s0, s1, a, e, rej, above, slots, rbuf, mu, sigma, z_top, lowest, limit
        )
        s0, s1, a, e, rej, above, slots = _lane_step(
            3, l, n, s0, s1, a, e, rej, above, slots, rbuf, mu, sigma, z_top, lowest, limit
        )
        s0, s1, a, e, rej, above, slots = _lane_step(
            4, l, n, s0, s1, a, e, rej, above, slots, rbuf, mu, sigma, z_top, lowest, limit
        )
        s0, s1, a, e, rej, above, slots = _lane_step(
            5, l, n, s0, s1, a, e, rej, above, slots, rbuf, mu, sigma, z_top, lowest, limit
        )
        s0, s1, a, e, rej, above, slots = _lane_step(
            6, l, n, s0, s1, a, e, rej, above, slots, rbuf, mu, sigma, z_top, lowest, limit
        )
        s0, s1, a, e, rej, above, slots = _lane_step(
            7, l, n, s0, s1, a, e, rej, above, slots, rbuf, mu, sigma, z_top, lowest, limit
        )
        lu[_S0, l] = s0
        lu[_S1, l] = s1
        lu[_REJ, l] = rej
        lu[_ABOVE, l] = above
        lu[_SLOTS, l] = slots
        lf[_ACC, l] = a
        lf[_EXC, l] = e


@njit(nogil=True, cache=True)
def _finish_normal(r, s0, s1):
    """The ziggurat's normal for candidate bits ``r`` that its fast path rejected; (z, s0, s1).

    Continues :func:`vbcsim.engine.rng.standard_normal` exactly where its fast
    path fails, drawing from the scalar stream (s0, s1): the base strip's tail
    beyond r (Marsaglia 1964), or the wedge test of layer ``idx``, and when the
    wedge test fails a complete new ``standard_normal`` (the ziggurat's restart).
    """
    idx = np.intp(r & _U(0xFF))
    r >>= _U(8)
    rabs = np.int64((r >> _U(1)) & _MASK52)
    x = float(rabs) * ZIG_W[idx]
    if r & _U(1):
        x = -x
    if idx == 0:
        while True:
            u1, s0, s1 = uniform(s0, s1)
            u2, s0, s1 = uniform(s0, s1)
            xx = -_INV_R * math.log1p(-u1)
            yy = -math.log1p(-u2)
            if yy + yy > xx * xx:
                if (rabs >> 8) & 1:
                    return -(ZIGGURAT_R + xx), s0, s1
                return ZIGGURAT_R + xx, s0, s1
    u, s0, s1 = uniform(s0, s1)
    if (ZIG_F[idx - 1] - ZIG_F[idx]) * u + ZIG_F[idx] < math.exp(-0.5 * x * x):
        return x, s0, s1
    return standard_normal(s0, s1)


@njit(nogil=True, cache=True, inline="always")
def _add_excess(x, lowest, thr, acc):
    if x > lowest:
        for j in range(thr.size):
            e = x - thr[j]
            if e > 0.0:
                acc[j] += e


@njit(nogil=True, cache=True, fastmath={"contract"})
def _cost_of_bits(r, mu, sigma):
    """The fast-path cost of candidate bits ``r`` (as :func:`_candidate` computes it)."""
    idx = np.intp(r & _U(0xFF))
    rabs = np.int64((r >> _U(9)) & _MASK52)
    z = float(rabs) * ZIG_W[idx]
    z = -z if (r >> _U(8)) & _U(1) else z
    return fast_exp(mu + sigma * z)


@njit(nogil=True, cache=True, fastmath={"contract"})
def _fixed_normal(r, s0, s1, z_top):
    """A member's normal from a fast-path-rejected candidate: finished, then redrawn (scalar stream) above z_top."""
    z, s0, s1 = _finish_normal(r, s0, s1)
    while z > z_top:
        z, s0, s1 = standard_normal(s0, s1)
    return z, s0, s1


@njit(nogil=True, cache=True)
def lane_states(key0, key1, segment, chunk, lanes=LANES):
    """uint64[5, lanes]: the lane generators of block (segment, chunk) in rows 0-1, the rest zero."""
    lu = np.zeros((_LU_ROWS, lanes), dtype=np.uint64)
    for l in range(lanes):
        lu[_S0, l], lu[_S1, l] = block_state(key0, key1, STREAM_LANES, segment, chunk * lanes + l)
    return lu


@njit(nogil=True, cache=True, fastmath={"contract"})
def _body_members(lu, lf, rbuf, s0, s1, prm, z_top, n, thr, lowest, jlow, acc, trace):
    """Draw ``n`` body members' costs (the order of the module docstring) and add them up.

    Rounds of :func:`_lane_steps` over the first ``min(missing, ROUND)``
    candidates (candidate k of lane l is number k × LANES + l; the rest of the
    round is drawn and discarded), so a round never yields more members than
    are missing; then the round's fix-ups.  Adds the members' excess over every
    threshold but ``thr[jlow] = lowest`` to ``acc`` and returns (cost, excess
    over lowest, s0, s1).  ``trace``, when it has room, receives the members'
    costs (a test hook; size 0 otherwise).
    """
    mu = prm[BODY_A]
    sigma = prm[BODY_B]
    n_thr = thr.size
    n_lanes = lu.shape[1]
    lf[:, :] = 0.0
    scalar = 0.0
    scalar_exc = 0.0
    n_trace = 0
    done = 0
    while done < n:
        limit = min(n - done, n_lanes * STEPS)
        lu[_SLOTS, :] = _U(0)
        _lane_steps(lu, lf, rbuf, mu, sigma, z_top, lowest, limit)
        if trace.size:  # test hook: the round's fast-path members, lane by lane
            for l in range(n_lanes):
                for k in range(STEPS):
                    r = rbuf[k, l]
                    if k * n_lanes + l < limit and not (lu[_REJ, l] >> _U(k)) & _U(1):
                        idx = np.intp(r & _U(0xFF))
                        rabs = np.int64((r >> _U(9)) & _MASK52)
                        z = float(rabs) * ZIG_W[idx]
                        z = -z if (r >> _U(8)) & _U(1) else z
                        if z <= z_top and n_trace < trace.size:
                            trace[n_trace] = _cost_of_bits(r, mu, sigma)
                            n_trace += 1
        got = 0
        for l in range(n_lanes):
            got += np.int64(lu[_SLOTS, l])
            m = lu[_REJ, l]
            if m:
                for k in range(STEPS):
                    if (m >> _U(k)) & _U(1):
                        z, s0, s1 = _fixed_normal(rbuf[k, l], s0, s1, z_top)
                        x = fast_exp(mu + sigma * z)
                        scalar += x
                        if x > lowest:
                            scalar_exc += x - lowest
                            _add_excess_but(x, thr, jlow, acc)
                        if n_trace < trace.size:
                            trace[n_trace] = x
                            n_trace += 1
            if n_thr > 1:
                m = lu[_ABOVE, l]
                if m:
                    for k in range(STEPS):
                        if (m >> _U(k)) & _U(1):
                            _add_excess_but(_cost_of_bits(rbuf[k, l], mu, sigma), thr, jlow, acc)
        done += got
    a0 = 0.0
    e0 = 0.0
    for l in range(n_lanes):
        a0 += lf[_ACC, l]
        e0 += lf[_EXC, l]
    return a0 + scalar, e0 + scalar_exc, s0, s1


@njit(nogil=True, cache=True, inline="always")
def _add_excess_but(x, thr, jlow, acc):
    for j in range(thr.size):
        if j != jlow:
            e = x - thr[j]
            if e > 0.0:
                acc[j] += e


@njit(nogil=True, cache=True)
def _block(prm, members, factors, attachments, key0, key1, segment, chunk, cost_out, excess_out, trace):
    s0, s1 = block_state(key0, key1, STREAM_SCALAR, segment, chunk)
    lu = lane_states(key0, key1, segment, chunk, LANES)
    lf = np.zeros((2, LANES))
    rbuf = np.empty((STEPS, LANES), dtype=np.uint64)
    n_scen, n_views = factors.shape
    n_att = attachments.shape[1]
    n_thr = n_views * n_att
    thr = np.empty(n_thr)
    acc = np.empty(n_thr)
    path = lognormal_path(prm)
    z_top = z_limit(prm, path)
    p = prm[P_NONZERO]
    t_at = prm[THRESHOLD]
    w = prm[TAIL_WEIGHT]
    t_kind = prm[TAIL_KIND]
    t_a = prm[TAIL_A]
    t_b = prm[TAIL_B]
    traced = 0
    for s in range(n_scen):
        lowest = np.inf
        jlow = 0
        for v in range(n_views):
            for k in range(n_att):
                t = attachments[v, k] / factors[s, v]
                thr[v * n_att + k] = t
                if t < lowest:
                    lowest = t
                    jlow = v * n_att + k
        acc[:] = 0.0
        n_cost = members
        if p < 1.0:
            n_cost, s0, s1 = sample_binomial(s0, s1, members, p)
        total = 0.0
        n_body = n_cost
        if path == 2:
            n_tail = 0
            if w > 0.0:
                n_tail, s0, s1 = sample_binomial(s0, s1, n_cost, w)
            for _ in range(n_tail):
                y, s0, s1 = sample_basic(s0, s1, t_kind, t_a, t_b)
                x = t_at + y
                total += x
                _add_excess(x, lowest, thr, acc)
            n_body = n_cost - n_tail
        sub = trace[traced:] if traced < trace.shape[0] else trace[:0]
        body, body_exc, s0, s1 = _body_members(
            lu, lf, rbuf, s0, s1, prm, z_top, n_body, thr, lowest, jlow, acc, sub
        )
        traced += min(n_body, sub.size)
        total += body
        if n_thr:
            acc[jlow] += body_exc
        for v in range(n_views):
            f = factors[s, v]
            cost_out[s, v] = f * total
            for k in range(n_att):
                excess_out[s, v, k] = f * acc[v * n_att + k]


@njit(nogil=True, cache=True)
def segment_block_vector(
    prm, members, factors, attachments, key0, key1, segment, chunk, cost_out, excess_out
):
    """:func:`~vbcsim.engine._kernels.segment_block` on the vectorised path (same arguments and outputs).

    Only for distributions that :func:`supports` accepts (the lognormal fast path).
    """
    _block(prm, members, factors, attachments, key0, key1, segment, chunk, cost_out, excess_out, np.empty(0))


@njit(nogil=True, cache=True)
def sample_vector_members(prm, members, n_scen, key0, key1, segment, chunk):
    """Test hook: the body members' costs (not the spliced tail's) that block (segment, chunk) draws
    for ``n_scen`` scenarios, in the order they are drawn (each round's fast-path members lane by
    lane, then its fix-ups, then the scenario's last members), and the per-scenario totals.

    Returns (costs float64[sum of body counts], totals float64[n_scen])."""
    factors = np.ones((n_scen, 1))
    attachments = np.full((1, 1), np.inf)
    cost = np.zeros((n_scen, 1))
    excess = np.zeros((n_scen, 1, 1))
    trace = np.full(members * n_scen, np.nan)
    _block(prm, members, factors, attachments, key0, key1, segment, chunk, cost, excess, trace)
    k = 0
    while k < trace.size and not np.isnan(trace[k]):
        k += 1
    return trace[:k], cost[:, 0]
