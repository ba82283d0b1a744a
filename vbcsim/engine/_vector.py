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

The loop's shape is what LLVM vectorises under numba, which leaves LLVM's SLP
vectoriser off: the loop over lanes has a run-time trip count (a constant one
is unrolled before the loop vectoriser sees it), and each iteration makes
``STEPS`` = 8 draws of its lane written out, so a lane's state stays in a
register for 8 draws instead of a round trip through memory per draw (16
steps and the vectoriser gives up).  64 lanes: with 16 the generator alone
drew 4 times slower (LLVM interleaves the vector loop, and a call's fixed cost
weighs on few iterations); 128 or 256 gain nothing more.  No
``fastmath`` beyond contraction: reassociation would undo ``fast_exp``'s
argument reduction, and the other flags measured no gain.

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
2. The ``n`` body members, in rounds: while at least ``STEPS × LANES``
   members are missing, every lane draws ``STEPS`` candidates, its next
   ``STEPS`` outputs (:func:`_lane_steps_full`; candidate k of lane l is number
   ``k × LANES + l`` of the round); then rounds of one candidate a lane
   (:func:`_lane_steps1`) of which only the first ``min(missing, LANES)``, by
   lane, are used (the others are drawn and discarded).  A candidate is the ziggurat's first step on its 64 bits (the layer, sign and
   52-bit abscissa of :func:`vbcsim.engine.rng.standard_normal`):

   * accepted by the fast path (about 98.5%): the member's normal z is the
     candidate.  Spliced severity: a z above ``z_top = (log threshold − mu) /
     sigma`` is discarded (rejection sampling of the body conditioned on X ≤
     threshold) and the member is still missing;
   * rejected by the fast path: queued (each round's, lane by lane and, within
     a lane, in candidate order) and counted as a member until its fix-up
     (:func:`_resolve`) runs, when no member is missing or the queue is nearly
     full: one uniform per queued candidate from the scalar stream, in queue
     order, for the ziggurat's wedge test (vectorised, :func:`_wedge_tests`),
     then in queue order the base strip's tail for layer-0 candidates (more
     scalar uniforms, :func:`_base_tail`).  A candidate failing the wedge
     test, or above ``z_top``, is discarded and its member is missing again:
     the ziggurat's restart is a new candidate from the lanes.

   This is the ziggurat algorithm (and rejection for the spliced body) with
   its bits taken from independent streams, so each member's normal is exactly
   N(0, 1) (truncated at ``z_top`` when spliced); which candidates are used
   depends only on earlier rounds, and a round never yields more members than
   are missing.  The cost is ``fast_exp(mu + sigma z)``.
3. The sums: per lane accumulators (cost and excess over the lowest
   threshold), added in lane order at the end of the scenario, plus the
   fix-ups' costs (queue order) and the tail members'; members above the
   lowest threshold add their excess over the other thresholds (recomputed
   from their 64 bits).

Speed
-----
On the standard workload (100,000 members, Hurdle(0.8, Lognormal with mean
6,000 and CV 3), one attachment at 50,000) on a 2-core AVX-512 AMD EPYC, with
``segment_block`` and this kernel run through the same threaded block runner,
about 2.4 times the member-years per second of ``segment_block`` per thread
(about 390 against 160 million); less for small segments, where a scenario's
last round of one candidate a lane wastes up to ``LANES - 1`` draws and the
per-scenario binomial weighs more (about 2.1 times at 2,000 members).

Integration
-----------
Both backends (threads and dask) call ``driver.run_block``, whose single-year
branch calls ``segment_block``: selecting ``segment_block_vector`` there when
:func:`supports` holds for the segment's encoded distribution (for example
under a ``sampler="vector"`` option of ``simulate`` passed down to
``run_block``) switches the whole engine.  The draws of a seed change (the
distribution does not), so tests that pin ``segment_block``'s streams bit for
bit (``sample_block_members``) would run with the scalar sampler or use
:func:`sample_vector_members`; multi-year runs are not concerned.  A cold numba
cache compiles this module in about 10 s more.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros as _trailing_zeros

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
from vbcsim.engine.rng import ZIG_F, ZIG_K, ZIG_W, ZIGGURAT_R, block_state, uniform

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

#: independent xoroshiro128++ streams per block, advanced together (8 AVX-512 registers of 8 lanes)
LANES = 64
#: candidates per lane in one round of :func:`_lane_steps_full` (unrolled: the lane states stay in registers)
STEPS = 8
ROUND = LANES * STEPS
#: fast-path-rejected candidates queued before their fix-ups run (:func:`_resolve`)
QUEUE = 4096

STREAM_LANES = 3  # a block's lane streams: block_state(key0, key1, 3, segment, chunk * LANES + lane)
STREAM_SCALAR = 4  # a block's scalar stream: counts, spliced tails and the ziggurat's fix-ups

# rows of the per-lane integer state
_S0, _S1, _REJ, _ABOVE, _KEPT = 0, 1, 2, 3, 4
_LU_ROWS = 5
# rows of the per-lane float accumulators
_ACC, _EXC = 0, 1


if numba.config.DISABLE_JIT:  # the kernels run as plain Python (the CI kernel job)

    def _trailing_zeros(w):
        w = int(w)
        return (w & -w).bit_length() - 1


def supports(prm) -> bool:
    """Whether :func:`segment_block_vector` samples this encoded distribution (the lognormal fast path)."""
    return bool(lognormal_path(prm))


@njit(nogil=True, cache=True, inline="always")
def _rotl(x, k):
    return (x << _U(k)) | (x >> _U(64 - k))


@njit(nogil=True, cache=True, inline="always", fastmath={"contract"})
def _candidate(s0, s1, mu, sigma, z_top):
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
def _lane_step(k, lane, n, s0, s1, a, e, rej, above, kept, rbuf, mu, sigma, z_top, lowest, limit, full):
    """Candidate ``k`` of ``lane``: the state, sums, masks and count after it.

    ``full`` (a constant where it is inlined): every candidate of the round is used, no test
    against ``limit`` (the constant folds the test away).
    """
    r, s0, s1, v, fast, keep = _candidate(s0, s1, mu, sigma, z_top)
    rbuf[k, lane] = r
    if not full:
        active = k * n + lane < limit
        keep = keep and active
        fast = fast or not active  # an unused candidate is not queued
        v = v if active else 0.0
    a += v
    d = v - lowest
    e += d if d > 0.0 else 0.0
    rej |= _U(0) if fast else (_U(1) << _U(k))
    above |= (_U(1) << _U(k)) if d > 0.0 else _U(0)
    kept += _U(1) if keep else _U(0)
    return s0, s1, a, e, rej, above, kept


@njit(nogil=True, cache=True, inline="always", fastmath={"contract"})
def _lane_round(lu, lf, rbuf, mu, sigma, z_top, lowest, limit, full):
    """A round of ``STEPS`` candidates from each lane, vectorised over the lanes (the body of
    :func:`_lane_steps_full`; ``full`` as :func:`_lane_step`, a constant
    where inlined)."""
    n = lu.shape[1]  # a run-time trip count: LLVM vectorises this loop rather than unrolling it
    for lane in range(n):
        s0 = lu[_S0, lane]
        s1 = lu[_S1, lane]
        a = lf[_ACC, lane]
        e = lf[_EXC, lane]
        kept = lu[_KEPT, lane]
        rej = _U(0)
        above = _U(0)
        # STEPS = 8 steps written out (numba's IR inlining; the lane state stays in registers)
        s0, s1, a, e, rej, above, kept = _lane_step(
            0, lane, n, s0, s1, a, e, rej, above, kept, rbuf, mu, sigma, z_top, lowest, limit, full
        )
        s0, s1, a, e, rej, above, kept = _lane_step(
            1, lane, n, s0, s1, a, e, rej, above, kept, rbuf, mu, sigma, z_top, lowest, limit, full
        )
        s0, s1, a, e, rej, above, kept = _lane_step(
            2, lane, n, s0, s1, a, e, rej, above, kept, rbuf, mu, sigma, z_top, lowest, limit, full
        )
        s0, s1, a, e, rej, above, kept = _lane_step(
            3, lane, n, s0, s1, a, e, rej, above, kept, rbuf, mu, sigma, z_top, lowest, limit, full
        )
        s0, s1, a, e, rej, above, kept = _lane_step(
            4, lane, n, s0, s1, a, e, rej, above, kept, rbuf, mu, sigma, z_top, lowest, limit, full
        )
        s0, s1, a, e, rej, above, kept = _lane_step(
            5, lane, n, s0, s1, a, e, rej, above, kept, rbuf, mu, sigma, z_top, lowest, limit, full
        )
        s0, s1, a, e, rej, above, kept = _lane_step(
            6, lane, n, s0, s1, a, e, rej, above, kept, rbuf, mu, sigma, z_top, lowest, limit, full
        )
        s0, s1, a, e, rej, above, kept = _lane_step(
            7, lane, n, s0, s1, a, e, rej, above, kept, rbuf, mu, sigma, z_top, lowest, limit, full
        )
        lu[_S0, lane] = s0
        lu[_S1, lane] = s1
        lu[_REJ, lane] = rej
        lu[_ABOVE, lane] = above
        lu[_KEPT, lane] = kept
        lf[_ACC, lane] = a
        lf[_EXC, lane] = e


@njit(nogil=True, cache=True, fastmath={"contract"})
def _lane_steps_full(lu, lf, rbuf, mu, sigma, z_top, lowest):
    """One round: ``STEPS`` candidates from each lane, vectorised over the lanes, all used.

    Candidate k of lane l is number k × n_lanes + l of the round.  ``lu``
    uint64[5, n_lanes]: the states s0, s1 (advanced); written: bit masks of the
    candidates that the fast path rejected and of the members above ``lowest``
    (bit k: the lane's k-th candidate); added to:
    the count of members kept by the fast path.  ``lf`` float64[2, n_lanes]:
    per lane sums of the kept members' costs and of their excess over
    ``lowest`` (added to).  ``rbuf`` uint64[STEPS, n_lanes]: the candidates'
    bits.  One compiled loop for every case: a copy without the mask for one
    threshold and without the count for a plain lognormal measured 0–3% faster
    and cost a cold compile about 15 s more.
    """
    _lane_round(lu, lf, rbuf, mu, sigma, z_top, lowest, 0, True)


@njit(nogil=True, cache=True, fastmath={"contract"})
def _lane_steps1(lu, lf, rbuf, mu, sigma, z_top, lowest, limit):
    """A round of one candidate per lane (:func:`_lane_steps_full` with STEPS = 1), of which
    candidate ``lane`` is used when ``lane < limit``: a scenario's last members."""
    n = lu.shape[1]
    for lane in range(n):
        s0 = lu[_S0, lane]
        s1 = lu[_S1, lane]
        a = lf[_ACC, lane]
        e = lf[_EXC, lane]
        kept = lu[_KEPT, lane]
        s0, s1, a, e, rej, above, kept = _lane_step(
            0, lane, n, s0, s1, a, e, _U(0), _U(0), kept, rbuf, mu, sigma, z_top, lowest, limit, False
        )
        lu[_S0, lane] = s0
        lu[_S1, lane] = s1
        lu[_REJ, lane] = rej
        lu[_ABOVE, lane] = above
        lu[_KEPT, lane] = kept
        lf[_ACC, lane] = a
        lf[_EXC, lane] = e


@njit(nogil=True, cache=True, fastmath={"contract"})
def _wedge_tests(queue, ubuf, xbuf, m, mu, sigma, z_top):
    """The ziggurat's wedge test on queued candidates ``queue[:m]`` with uniforms ``ubuf[:m]``, vectorised.

    Writes ``xbuf[j]``: the member's cost ``fast_exp(mu + sigma z)`` when the
    candidate's layer is not 0 and it passes the wedge test of
    :func:`vbcsim.engine.rng.standard_normal` (its density at z above the
    layer's linear interpolation at u) and z ≤ z_top; 0 when it fails (the
    candidate is discarded); -1 for the base layer (its tail: :func:`_base_tail`).
    """
    for j in range(m):
        r = queue[j]
        idx = np.intp(r & _U(0xFF))
        rabs = np.int64((r >> _U(9)) & _MASK52)
        x = float(rabs) * ZIG_W[idx]
        x = -x if (r >> _U(8)) & _U(1) else x
        lo = ZIG_F[idx]
        hi = ZIG_F[max(idx - 1, 0)]
        ok = (hi - lo) * ubuf[j] + lo < fast_exp(-0.5 * x * x) and x <= z_top
        v = fast_exp(mu + sigma * x)
        v = v if ok else 0.0
        xbuf[j] = v if idx != 0 else -1.0


@njit(nogil=True, cache=True)
def _base_tail(r, s0, s1):
    """The base strip's tail beyond r (Marsaglia 1964) for candidate bits ``r`` of layer 0; (z, s0, s1).

    As :func:`vbcsim.engine.rng.standard_normal` (its sign from bit 8 of the abscissa).
    """
    rabs = np.int64((r >> _U(9)) & _MASK52)
    while True:
        u1, s0, s1 = uniform(s0, s1)
        u2, s0, s1 = uniform(s0, s1)
        xx = -_INV_R * math.log1p(-u1)
        yy = -math.log1p(-u2)
        if yy + yy > xx * xx:
            if (rabs >> 8) & 1:
                return -(ZIGGURAT_R + xx), s0, s1
            return ZIGGURAT_R + xx, s0, s1


@njit(nogil=True, cache=True, fastmath={"contract"})
def _resolve(queue, m, ubuf, xbuf, s0, s1, mu, sigma, z_top, trace, n_trace):
    """The fix-ups of the queued candidates ``queue[:m]``, all rejected by the ziggurat's fast path.

    Scalar stream: one uniform per queued candidate, in queue order, for the
    wedge tests (:func:`_wedge_tests`); then, in queue order, the base strip's
    tail for the candidates of layer 0 (:func:`_base_tail`).  A candidate
    whose wedge test fails, or whose z exceeds z_top, is discarded (the
    ziggurat's restart: its member is drawn again from the lanes).

    Returns (members, values in xbuf[:m] with 0 for discarded ones, s0, s1, n_trace).
    """
    for j in range(m):
        ubuf[j], s0, s1 = uniform(s0, s1)
    _wedge_tests(queue, ubuf, xbuf, m, mu, sigma, z_top)
    members = 0
    for j in range(m):
        x = xbuf[j]
        if x < 0.0:  # layer 0: the tail, always a normal (kept if ≤ z_top)
            z, s0, s1 = _base_tail(queue[j], s0, s1)
            x = fast_exp(mu + sigma * z) if z <= z_top else 0.0
            xbuf[j] = x
        members += 1 if x > 0.0 else 0  # no branch: about 55% pass
    if trace.size:
        for j in range(m):
            if xbuf[j] > 0.0 and n_trace < trace.size:
                trace[n_trace] = xbuf[j]
                n_trace += 1
    return members, s0, s1, n_trace


@njit(nogil=True, cache=True, inline="always")
def _add_excess(x, lowest, thr, acc):
    if x > lowest:
        for j in range(thr.size):
            e = x - thr[j]
            if e > 0.0:
                acc[j] += e


@njit(nogil=True, cache=True, inline="always")
def _add_excess_but(x, thr, jlow, acc):
    for j in range(thr.size):
        if j != jlow:
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


@njit(nogil=True, cache=True)
def lane_states(key0, key1, segment, chunk, lanes=LANES):
    """uint64[5, lanes]: the lane generators of block (segment, chunk) in rows 0-1, the rest zero."""
    lu = np.zeros((_LU_ROWS, lanes), dtype=np.uint64)
    for lane in range(lanes):
        lu[_S0, lane], lu[_S1, lane] = block_state(key0, key1, STREAM_LANES, segment, chunk * lanes + lane)
    return lu


@njit(nogil=True, cache=True, fastmath={"contract"})
def _body_members(lu, lf, rbuf, queue, ubuf, xbuf, s0, s1, prm, z_top, n, thr, lowest, jlow, acc, trace):
    """Draw ``n`` body members' costs (the order of the module docstring) and add them up.

    Rounds of :func:`_lane_steps_full` while at least ``ROUND`` members are
    missing, then of :func:`_lane_steps1` over the first ``min(missing,
    LANES)`` candidates, counting queued candidates as members until their fix-ups
    (:func:`_resolve`: when no member is missing or the queue is nearly full)
    say otherwise, so that no round yields more members than are missing.
    Adds the members' excess over every threshold but ``thr[jlow] = lowest``
    to ``acc`` and returns (cost, excess over lowest, s0, s1).  ``trace``, when
    it has room, receives the members' costs (a test hook; size 0 otherwise).
    """
    mu = prm[BODY_A]
    sigma = prm[BODY_B]
    n_thr = thr.size
    n_lanes = lu.shape[1]
    lf[:, :] = 0.0
    lu[_KEPT, :] = _U(0)
    fixed = 0.0
    fixed_exc = 0.0
    n_trace = 0
    missing = n
    m = 0  # queued candidates
    seen = 0  # members the lanes' counts held after the last round
    while missing > 0 or m > 0:
        if missing > 0:
            if missing >= n_lanes * STEPS:
                limit = n_lanes * STEPS
                _lane_steps_full(lu, lf, rbuf, mu, sigma, z_top, lowest)
            else:  # the last members: rounds of one candidate a lane (at most LANES - 1 drawn in vain)
                limit = min(missing, n_lanes)
                _lane_steps1(lu, lf, rbuf, mu, sigma, z_top, lowest, limit)
            counted = 0
            for lane in range(n_lanes):  # a vectorised sum
                counted += np.int64(lu[_KEPT, lane])
            kept = counted - seen
            seen = counted
            m0 = m
            for lane in range(n_lanes):  # queue order: lane by lane, candidates in order
                q = lu[_REJ, lane]
                while q:
                    queue[m] = rbuf[np.intp(_trailing_zeros(q)), lane]
                    m += 1
                    q &= q - _U(1)
            if n_thr > 1:
                for lane in range(n_lanes):
                    q = lu[_ABOVE, lane]
                    while q:
                        _add_excess_but(
                            _cost_of_bits(rbuf[np.intp(_trailing_zeros(q)), lane], mu, sigma), thr, jlow, acc
                        )
                        q &= q - _U(1)
            if trace.size:  # test hook: the round's fast-path members, lane by lane
                for lane in range(n_lanes):
                    for k in range(STEPS):
                        r = rbuf[k, lane]
                        if k * n_lanes + lane < limit and not (lu[_REJ, lane] >> _U(k)) & _U(1):
                            idx = np.intp(r & _U(0xFF))
                            z = float(np.int64((r >> _U(9)) & _MASK52)) * ZIG_W[idx]
                            z = -z if (r >> _U(8)) & _U(1) else z
                            if z <= z_top and n_trace < trace.size:
                                trace[n_trace] = _cost_of_bits(r, mu, sigma)
                                n_trace += 1
            missing -= kept + (m - m0)
        if missing == 0 or m > queue.size - ROUND:
            got, s0, s1, n_trace = _resolve(queue, m, ubuf, xbuf, s0, s1, mu, sigma, z_top, trace, n_trace)
            for j in range(m):
                x = xbuf[j]
                fixed += x
                if x > lowest:
                    fixed_exc += x - lowest
                    _add_excess_but(x, thr, jlow, acc)
            missing += m - got
            m = 0
    a0 = 0.0
    e0 = 0.0
    for lane in range(n_lanes):
        a0 += lf[_ACC, lane]
        e0 += lf[_EXC, lane]
    return a0 + fixed, e0 + fixed_exc, s0, s1


@njit(nogil=True, cache=True)
def _block(prm, members, factors, attachments, key0, key1, segment, chunk, cost_out, excess_out, trace):
    s0, s1 = block_state(key0, key1, STREAM_SCALAR, segment, chunk)
    lu = lane_states(key0, key1, segment, chunk, LANES)
    lf = np.zeros((2, LANES))
    rbuf = np.empty((STEPS, LANES), dtype=np.uint64)
    queue = np.empty(QUEUE, dtype=np.uint64)
    ubuf = np.empty(QUEUE)
    xbuf = np.empty(QUEUE)
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
            lu, lf, rbuf, queue, ubuf, xbuf, s0, s1, prm, z_top, n_body, thr, lowest, jlow, acc, sub
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

    Only for distributions that :func:`supports` accepts (the lognormal fast path); like the other
    kernels it assumes valid input (factors > 0, attachments > 0 or ``inf``, as the API validates).
    """
    _block(prm, members, factors, attachments, key0, key1, segment, chunk, cost_out, excess_out, np.empty(0))


@njit(nogil=True, cache=True)
def sample_vector_members(prm, members, n_scen, key0, key1, segment, chunk):
    """Test hook: the body members' costs (not the spliced tail's) that block (segment, chunk) draws
    for ``n_scen`` scenarios (each round's fast-path members lane by lane, each queue's fix-ups in
    queue order), and the per-scenario totals.

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
