"""Vectorised draws for the multi-year kernel: the members' normals and uniforms from many lanes.

:func:`segment_block_years_vector` is a drop-in alternative to
:func:`vbcsim.engine._years.segment_block_years`: the same arguments in the
same order and the same outputs (``cost_out``, ``excess_out``, ``joiners_out``,
``ref_cost_out``, ``ref_excess_out``, ``score_out``) of the same member model
(the occurrence chain ``p11``/``p01``, the AR(1) severity latent, churn, the
severity maps ``MODE_LOGNORMAL``, ``MODE_TABLE`` and ``MODE_COMPOUND``, and
risk scores and selection with the semantics of
:func:`~vbcsim.engine._years.risk_batch`).  It is exact in distribution but
draws other random numbers: not bitwise equal to ``segment_block_years``.
:func:`member_paths_vector` is its test hook (``member_paths`` of this kernel).

Why
---
``segment_block_years`` draws, per member-year, one ziggurat normal, one
uniform and (with churn) one more uniform from one xoroshiro128++ stream, slot
after slot: each draw waits for the previous state and the ziggurat's branch
stays scalar.  Here the words of a batch-year come from the ``LANES`` = 64
lanes of :mod:`vbcsim.engine._vector`'s design, advanced together so that LLVM
turns the lane loop into SIMD code; the ziggurat's fast path, the uniforms
(compared in integers), the state update, the cost map and the sums then run
in branch-free loops over the batch's slots, and the fast path's rare
rejections are fixed up from a scalar stream.

Streams of a block
------------------
Block (segment, chunk) of a root key (key0, key1) uses, with
:func:`vbcsim.engine.rng.block_state`:

* lane ``l`` (0 ≤ l < LANES): ``block_state(key0, key1, STREAM_YEAR_LANES, segment, chunk * LANES + l)``;
* the block's scalar stream: ``block_state(key0, key1, STREAM_YEAR_SCALAR, segment, chunk)``.

Both stream ids (5 and 6) are new: ``STREAM_MEMBERS`` = 1, ``STREAM_YEARS`` = 2
and :mod:`~vbcsim.engine._vector`'s 3 and 4 are taken, so no block of any run
shares a generator with another.  Everything depends on (seed, segment,
chunk) only, never on threads.

Order of the draws
------------------
Scenario after scenario, batch of ``BATCH`` = 4,096 slots after batch, year
after year (as ``segment_block_years``).  In a batch-year of ``m`` slots, slot
``i`` is lane ``i % LANES`` of row ``i // LANES``; the rows are drawn one
after the other (:func:`_draw_row2`, :func:`_draw_row3`), each lane making
for its slot, in order, the words of

1. the ziggurat's first step (layer, sign and 52-bit abscissa, as
   :func:`vbcsim.engine.rng.standard_normal`): the slot's normal when the
   fast path accepts (about 98.5%);
2. a uniform (53 bits): the occurrence transition (or a new member's hurdle);
3. when ``churn`` > 0 and after year 0, a uniform: whether a new member takes
   the slot.

A lane of the last, partial row whose slot does not exist draws all the same
(the words are discarded).  Then:

* the slots' new states (:func:`_slots`, vectorised); a slot whose candidate
  the fast path rejected keeps its latent for now;
* in slot order, those candidates' fix-ups from the scalar stream
  (:func:`_fix_ups`, :func:`_fix_up`): the base layer's tail
  (:func:`vbcsim.engine._vector._base_tail`) or the wedge test on one
  uniform, and when that fails the ziggurat's restart, a whole new normal
  (:func:`vbcsim.engine.rng.standard_normal`).  Each slot's normal is so the
  ziggurat's output on bits of its own, exactly N(0, 1) and independent of
  every other draw: which bits a slot uses never depends on another slot's
  values;
* the costs: ``MODE_LOGNORMAL`` ``fast_exp(mu + sigma b)`` as
  ``segment_block_years``; ``MODE_TABLE`` the same interpolation of the log
  quantile table written branch-free (:func:`_table_exp`: a clamped index,
  linear beyond the grid, ``fast_exp``, within 1 ulp of ``math.exp``);
  ``MODE_COMPOUND`` the claim count from the latent and fresh claim sizes from
  the scalar stream, slot by slot (:func:`vbcsim.engine._years.member_cost`);
* with risk scores or selection (:func:`_risk_batch`), in a batch-year with
  joiners: a joining member's latent of the year before (when selection reads
  it, or a prospective score in year 0: a member joining later scores 1) and
  its score noise (when there are scores), the pair of normals that
  :func:`vbcsim.engine.rng.normal_pair` (Box–Muller, branch-free) makes from
  two more lane words of its slot (rows of :func:`_draw_row2`); after year 0,
  when at most half the slots join, the words go to the joiners only,
  gathered in slot order (joiner j of the batch-year takes the words of slot
  j, and when a joiner needs one normal only, joiners 0 .. k − 1 take the
  first normals of the k = ⌈J/2⌉ pairs and joiners k .. J − 1 the second);
  scores and weights in branch-free loops.  A ziggurat there cost three times
  the words: its table gathers and scalar fix-ups.  Prospective scores
  without selection read a stayer's latent before the year's update and are
  computed then (:func:`_before_year`, :func:`_risk_step`).

Vectorising the table's gathers needs LLVM to know that the loop's stores do
not write the table: scoped no-alias metadata on those loads and stores
(:mod:`vbcsim.engine._noalias`; plain indexing when numba's JIT is disabled).

Speed
-----
On a 2-core AVX-512 AMD EPYC (the 100,000-member standard workload,
Hurdle(0.8, Lognormal with mean 6,000 and CV 3), attachment 50,000, 5 years,
400 scenarios, blocks of the driver's layout, interleaved rounds, best of 3),
about 2.9 times the member-years per second of ``segment_block_years`` (351
against 120 million per thread through ``simulate``), 3.6 times with churn
0.215, 3.6-3.8 times for the built-in panel's spliced cost (``MODE_TABLE``),
3.1 times with risk scores and 2.75 times with risk scores and selection
(``benchmarks/risk_scores.py``).  A cold numba cache compiles this module in
about 13 s more.

Integration
-----------
``driver.run_block`` calls ``segment_block_years`` for a :class:`YearParams`
segment; calling ``segment_block_years_vector`` there instead (same arguments)
switches multi-year runs.  The draws of a seed change, not their distribution,
so tests that pin ``segment_block_years``'s streams (``member_paths`` on
``STREAM_YEARS``, the block's first scenario) would use
:func:`member_paths_vector` with (segment, chunk) instead.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vbcsim.engine._fastexp import fast_exp
from vbcsim.engine._noalias import load_beside_table, store_beside_table, table_load
from vbcsim.engine._vector import LANES, _base_tail, _rotl, _trailing_zeros
from vbcsim.engine._years import (
    MODE_LOGNORMAL,
    MODE_TABLE,
    R_LAMBDA,
    R_PROSPECTIVE,
    R_SCORE,
    R_SELECT,
    _excess,
    lognormal_score_terms,
    member_cost,
    scenario_thresholds,
    selection_weights,
    write_scenario,
)
from vbcsim.engine.rng import ZIG_F, ZIG_K, ZIG_W, block_state, normal_pair, standard_normal, uniform

__all__ = [
    "STREAM_YEAR_LANES",
    "STREAM_YEAR_SCALAR",
    "segment_block_years_vector",
    "member_paths_vector",
    "year_lane_states",
]

STREAM_YEAR_LANES = 5  # a block's lane streams: block_state(key0, key1, 5, segment, chunk * LANES + lane)
STREAM_YEAR_SCALAR = 6  # a block's scalar stream: the ziggurat's fix-ups and compound claims

_U = np.uint64
_MASK52 = _U(0x000FFFFFFFFFFFFF)
#: slots of a batch: 4,096 (the scalar kernel's 256 gave 7% fewer member-years per second than 1,024
#: without risk scores and 13% fewer with them, and 1,024 about 3% fewer than 4,096 without and 5%
#: fewer with them: each batch-year's calls and their array arguments cost about 0.1 to 0.3
#: microsecond, and more slots amortise them; the buffers stay under 0.5 MB a thread, in L2)
BATCH = 4096
_ROWS = (BATCH + LANES - 1) // LANES


@njit(nogil=True, cache=True, inline="always")
def _next(s0, s1):
    """xoroshiro128++: (bits, s0, s1) (as :func:`vbcsim.engine.rng.next_uint64`, inlined in the lane loop)."""
    r = _rotl(s0 + s1, 17) + s0
    s1 ^= s0
    return r, _rotl(s0, 49) ^ s1 ^ (s1 << _U(21)), _rotl(s1, 28)


@njit(nogil=True, cache=True, inline="always")
def _lane_words(ls, i, rbuf, qbuf, cbuf, churn_word):
    """Lane ``i``'s words for its slot of a row: the normal's candidate, the occurrence's, the churn's."""
    s0 = ls[0, i]
    s1 = ls[1, i]
    rbuf[i], s0, s1 = _next(s0, s1)
    qbuf[i], s0, s1 = _next(s0, s1)
    if churn_word:
        cbuf[i], s0, s1 = _next(s0, s1)
    ls[0, i] = s0
    ls[1, i] = s1


@njit(nogil=True, cache=True, inline="always")
def _draw_row2(ls, base, rbuf, qbuf, cbuf):
    """The words of one row of slots ``base .. base + n_lanes``: two per lane (no churn word)."""
    n = ls.shape[1]  # a run-time trip count: LLVM vectorises the loop rather than unrolling it
    r, q, c = rbuf[base : base + n], qbuf[base : base + n], cbuf[base : base + n]
    for lane in range(n):  # indices from the range: no wrap-around selects in the stores
        _lane_words(ls, lane, r, q, c, False)


@njit(nogil=True, cache=True, inline="always")
def _draw_row3(ls, base, rbuf, qbuf, cbuf):
    """The words of one row of slots: three per lane (the third: the churn uniform's)."""
    n = ls.shape[1]
    r, q, c = rbuf[base : base + n], qbuf[base : base + n], cbuf[base : base + n]
    for lane in range(n):
        _lane_words(ls, lane, r, q, c, True)


@njit(nogil=True, cache=True, inline="always")
def _candidate(r):
    """The ziggurat's first step on bits ``r`` (:func:`vbcsim.engine.rng.standard_normal`): (z, fast)."""
    idx = np.intp(r & _U(0xFF))
    rabs = np.int64((r >> _U(9)) & _MASK52)
    z = float(rabs) * ZIG_W[idx]
    z = -z if (r >> _U(8)) & _U(1) else z
    return z, rabs < ZIG_K[idx]


@njit(nogil=True, cache=True, inline="always")
def _table_exp(v, tab, z0, inv_dz, top):
    """exp of the table's linear interpolation at ``v`` (as :func:`vbcsim.engine._years._table_log`: linear
    beyond the grid at either end), branch-free: a clamped index, the table's loads in their alias scope,
    and ``fast_exp`` (within 1 ulp of ``math.exp``).  ``inv_dz`` is 1 / dz (a multiplication: no
    division check in the loop; exact for the driver's dz = 1/256), ``top`` is ``tab.size - 2``."""
    t = (v - z0) * inv_dz
    j = np.intp(min(max(t, 0.0), top))
    a = table_load(tab, j)
    return fast_exp(a + (table_load(tab, j + 1) - a) * (t - j))


@njit(nogil=True, cache=True, fastmath={"contract"})
def _table_costs(m, occ, state, xbuf, tab, z0, inv_dz):
    """Each slot's cost in MODE_TABLE, vectorised: occurrence × exp of the log-quantile table at its latent."""
    top = float(tab.size - 2)
    for i in range(m):
        x = load_beside_table(occ, i) * _table_exp(load_beside_table(state, i), tab, z0, inv_dz, top)
        store_beside_table(xbuf, i, x)


@njit(nogil=True, cache=True, fastmath={"contract"})
def _table_scores(m, ref, noise_state, sbuf, stab, z0, inv_dz, lam, noise):
    """Each slot's risk score from the score table (``R_SCORE`` 2), vectorised: exp h_c(λ ref + √(1 − λ²) η)."""
    top = float(stab.size - 2)
    for i in range(m):
        v = lam * load_beside_table(ref, i) + noise * load_beside_table(noise_state, i)
        store_beside_table(sbuf, i, _table_exp(v, stab, z0, inv_dz, top))


@njit(nogil=True, cache=True, inline="always")
def _below(x):
    """The integer k0 with ``u < x`` ⇔ ``k < k0`` for a uniform u = k 2^-53 (k the word's top 53 bits)."""
    return np.int64(math.ceil(x * 9007199254740992.0))


@njit(nogil=True, cache=True, inline="always")
def _slot(i, first, occ, state, fresh, rej, rbuf, qbuf, cbuf, kp, k11, k01, kc, rho, innov):
    """Slot ``i``'s year from its words: (occurrence, latent, fast), written to occ, state, fresh, rej.

    The uniforms are compared in integers (:func:`_below`: ``kp``, ``k11``, ``k01`` and ``kc`` for p,
    p11, p01 and churn).  A candidate rejected by the fast path leaves the latent as it was (its
    fix-up updates it).
    """
    z, fast = _candidate(rbuf[i])
    new = first | (np.int64(cbuf[i] >> _U(11)) < kc)  # no short circuit: no branch in the loop
    old = state[i]
    b = z if new else rho * old + innov * z
    b = b if fast else old
    state[i] = b
    k = k11 if occ[i] > 0.0 else k01
    k = kp if new else k
    o = 1.0 if np.int64(qbuf[i] >> _U(11)) < k else 0.0
    occ[i] = o
    fresh[i] = new
    rej[i] = 0 if fast else 1
    return o, b, fast


@njit(nogil=True, cache=True, inline="always")
def _slots(m, first, occ, state, fresh, rej, rbuf, qbuf, cbuf, kp, k11, k01, kc, rho, innov):
    """Every slot's year from its words, branch-free: (joiners, rejected candidates).

    Writes occ, state, fresh and rej (:func:`_slot`).  ``kc`` is 0 when the churn words were not
    drawn (year 0 or no churn).
    """
    joiners = 0
    rejected = 0
    for i in range(m):
        o, b, fast = _slot(i, first, occ, state, fresh, rej, rbuf, qbuf, cbuf, kp, k11, k01, kc, rho, innov)
        joiners += 1 if fresh[i] else 0
        rejected += 0 if fast else 1
    return joiners, rejected


@njit(nogil=True, cache=True)
def _fix_up(r, x, s0, s1):
    """The ziggurat after its fast path rejected candidate bits ``r`` (abscissa ``x``): (z, s0, s1).

    Layer 0: the base strip's tail; other layers: the wedge test on one uniform, and on failure the
    ziggurat's restart (a whole new normal).  All from the scalar stream (s0, s1).
    """
    idx = np.intp(r & _U(0xFF))
    if idx == 0:
        return _base_tail(r, s0, s1)
    u, s0, s1 = uniform(s0, s1)
    if (ZIG_F[idx - 1] - ZIG_F[idx]) * u + ZIG_F[idx] < math.exp(-0.5 * x * x):
        return x, s0, s1
    return standard_normal(s0, s1)


@njit(nogil=True, cache=True, inline="always")
def _fix_ups(m, state, fresh, rej, rbuf, rho, innov, s0, s1):
    """The slots whose candidate the fast path rejected (``rej``), in slot order, from the scalar stream:
    their normal (:func:`_fix_up`) and latent."""
    words = rej.view(np.uint64)  # 8 slots a word (little-endian: slot 8 j + k in byte k)
    for j in range((m + 7) // 8):
        w = words[j]
        while w:  # the flagged slots of the word, by their lowest set bit (about 60 in a batch of 4,096)
            i = 8 * j + np.intp(_trailing_zeros(w) >> _U(3))
            w &= w - _U(1)  # a flag is 1: its byte's only bit
            if i < m:
                r = rbuf[i]
                z, _ = _candidate(r)
                e, s0, s1 = _fix_up(r, z, s0, s1)
                b = e if fresh[i] else rho * state[i] + innov * e
                state[i] = b
    return s0, s1


@njit(nogil=True, cache=True, inline="always")
def _joiner_words(ls, n, wbuf, wbuf2):
    """Two lane words for each of the first ``n`` slots (rows of :func:`_draw_row2`): a joiner's pair of
    normals by :func:`vbcsim.engine.rng.normal_pair` (Box–Muller, vectorised: no table gathers and no
    fix-ups, which cost a ziggurat here three times what the words do)."""
    n_lanes = ls.shape[1]
    for k in range((n + n_lanes - 1) // n_lanes):
        _draw_row2(ls, k * n_lanes, wbuf, wbuf2, wbuf2)


@njit(nogil=True, cache=True, inline="always")
def _compact(fresh, m, jidx):
    """The slots whose member joins, in slot order, in ``jidx[:J]``: J (branch-free appends)."""
    n = 0
    for i in range(m):
        jidx[n] = i
        n += 1 if fresh[i] else 0
    return n


@njit(nogil=True, cache=True, fastmath={"contract"})
def _scores(m, ref, noise_state, sbuf, risk, stab, z0, dz):
    """Each slot's risk score from its reference latent ``ref`` and its noise η, vectorised: a lognormal's
    exp(σ c (λ ref + √(1 − λ²) η) − σ² c² / 2) (``R_SCORE`` 1), else the score table's (:func:`_table_scores`)."""
    if risk[R_SCORE] == 1.0:
        a, b, shift = lognormal_score_terms(risk)
        for i in range(m):
            sbuf[i] = fast_exp(a * ref[i] + b * noise_state[i] + shift)
    else:
        lam = risk[R_LAMBDA]
        _table_scores(
            m, ref, noise_state, sbuf, stab, z0, 1.0 / dz, lam, math.sqrt(max(1.0 - lam * lam, 0.0))
        )


@njit(nogil=True, cache=True, fastmath={"contract"}, error_model="numpy")
def _risk_batch(ls, m, y, joiners, rho, state, prev, fresh, noise_state, wbuf, sbuf, risk, stab, z0, dz, words,
                words2, ebuf, ebuf2, jidx, scored):  # fmt: skip
    """:func:`vbcsim.engine._years.risk_batch` (same semantics) with the joiners' normals from the lanes.

    In a batch-year with ``joiners``, a joining member's latent of the year before,
    ρ b + √(1 − ρ²) e, is drawn when selection reads it or, in year 0, a prospective score (a
    member joining later scores 1 and, without selection, nothing reads that latent), and its
    score noise η when there are scores: e and η are the pair of normals
    :func:`vbcsim.engine.rng.normal_pair` makes from the slot's two words (:func:`_joiner_words`).
    After year 0, when at most half the slots join (churn), the joiners are first gathered in slot
    order (``jidx``) and only their normals drawn, as if they were the batch's first slots (both
    normals of a pair go to two joiners when each needs one), and only their slots updated.  Then
    the scores (:func:`_scores`; ``scored``: ``sbuf`` already holds them, computed from the
    latents before this year's update, and only a joiner's is set to 1) and the selection
    weights, in branch-free loops.  ``prev`` holds the latents of the year before where
    selection or a prospective score reads them; ``words``, ``words2``, ``ebuf``, ``ebuf2`` and
    ``jidx`` are scratch.
    """
    score = risk[R_SCORE]
    select = risk[R_SELECT]
    prospective = risk[R_PROSPECTIVE] > 0.0
    first = y == 0
    need_h = joiners > 0 and (select > 0.0 or (first and score > 0.0 and prospective))
    need_eta = joiners > 0 and score > 0.0
    root = math.sqrt(max(1.0 - rho * rho, 0.0))
    n = m
    compact = not first and 2 * joiners <= m and (need_h or need_eta)
    if compact:  # the joiners' slots only: their normals first drawn in a vectorised loop, then scattered
        n = _compact(fresh, m, jidx)
        both = need_h and need_eta
        k = n if both else (n + 1) // 2  # one normal each: joiner j takes pair j's first or j − k's second
        _joiner_words(ls, k, words, words2)
        for j in range(k):
            ebuf[j], ebuf2[j] = normal_pair(words[j], words2[j])
        for j in range(n):
            i = jidx[j]
            if both:
                prev[i] = rho * state[i] + root * ebuf[j]
                noise_state[i] = ebuf2[j]
            else:
                v = ebuf[j] if j < k else ebuf2[j - k]
                if need_h:
                    prev[i] = rho * state[i] + root * v
                else:
                    noise_state[i] = v
    elif need_h or need_eta:  # every slot's pair, kept where the slot's member joins
        _joiner_words(ls, m, words, words2)
        for i in range(m):
            e, eta = normal_pair(words[i], words2[i])
            joins = first | fresh[i]
            if need_h:
                prev[i] = rho * state[i] + root * e if joins else prev[i]
            if need_eta:
                noise_state[i] = eta if joins else noise_state[i]
    if score > 0.0:
        if not scored:
            _scores(m, prev if prospective else state, noise_state, sbuf, risk, stab, z0, dz)
        if prospective and not first and joiners:  # a new member: no history with the risk model, score 1
            if compact:
                for j in range(n):
                    sbuf[jidx[j]] = 1.0
            else:
                for i in range(m):
                    sbuf[i] = 1.0 if fresh[i] else sbuf[i]
    else:
        sbuf[:m] = 1.0
    selection_weights(m, prev, wbuf, risk)


@njit(nogil=True, cache=True, inline="always")
def _scored_before_update(y, risk):
    """Whether year ``y`` scores the stayers before the members' update: prospective scores without
    selection, after year 0 (they read a stayer's latent of the year before, ``state`` as it is then)."""
    return y > 0 and risk[R_SCORE] > 0.0 and risk[R_PROSPECTIVE] > 0.0 and risk[R_SELECT] == 0.0


@njit(nogil=True, cache=True, inline="always")
def _before_year(m, y, state, prev, noise_state, sbuf, risk, stab, z0, dz):
    """What a batch-year's risk scores and selection need before the members' update.

    Selection reads every member's latent of the year before: it is kept in ``prev``.  Prospective
    scores without selection read a stayer's from ``state`` before the update instead
    (:func:`_scored_before_update`): the batch is scored now, and :func:`_risk_step` only gives the
    joiners a score of 1 after it.
    """
    if risk[R_SELECT] > 0.0:
        prev[:m] = state[:m]
    elif _scored_before_update(y, risk):
        _scores(m, state, noise_state, sbuf, risk, stab, z0, dz)


@njit(nogil=True, cache=True, inline="always")
def _risk_step(ls, m, y, joiners, rho, state, prev, fresh, noise_state, wbuf, sbuf, risk, stab, z0, dz, words,
               words2, ebuf, ebuf2, jidx):  # fmt: skip
    """:func:`_risk_batch` after the members' update, unless it has nothing to do: a batch-year
    scored before the update (:func:`_before_year`) in which nobody joins (a call with a dozen array
    arguments costs about 0.3 µs)."""
    scored = _scored_before_update(y, risk)
    if joiners > 0 or not scored:
        _risk_batch(
            ls, m, y, joiners, rho, state, prev, fresh, noise_state, wbuf, sbuf, risk, stab, z0, dz, words,
            words2, ebuf, ebuf2, jidx, scored,
        )  # fmt: skip


@njit(nogil=True, cache=True, fastmath={"contract", "reassoc"})
def _weighted_sums(xbuf, wbuf, m, low):
    """(Σ w x, Σ w (x − low)+) over the first ``m`` slots, vectorised (reassociated)."""
    a = 0.0
    e = 0.0
    for i in range(m):
        x = xbuf[i]
        w = wbuf[i]
        a += w * x
        e += w * max(x - low, 0.0)
    return a, e


@njit(nogil=True, cache=True, fastmath={"contract", "reassoc"})
def _sum(xbuf, m):
    """Σ x over ``xbuf[:m]``, vectorised (reassociated)."""
    a = 0.0
    for i in range(m):
        a += xbuf[i]
    return a


@njit(nogil=True, cache=True, fastmath={"contract", "reassoc"})
def _score_sums(wbuf, sbuf, m):
    """(Σ w, Σ w s, Σ s) over the first ``m`` slots, vectorised (reassociated)."""
    a = 0.0
    b = 0.0
    c = 0.0
    for i in range(m):
        w = wbuf[i]
        x = sbuf[i]
        a += w
        b += w * x
        c += x
    return a, b, c


@njit(nogil=True, cache=True)
def year_lane_states(key0, key1, segment, chunk):
    """uint64[2, LANES]: the lane generators (s0, s1) of block (segment, chunk)."""
    ls = np.empty((2, LANES), dtype=np.uint64)
    for lane in range(LANES):
        ls[0, lane], ls[1, lane] = block_state(key0, key1, STREAM_YEAR_LANES, segment, chunk * LANES + lane)
    return ls


@njit(nogil=True, cache=True, fastmath={"contract"})
def _year_batch(ls, s0, s1, m, y, occ, state, xbuf, fresh, rbuf, qbuf, cbuf, rej,
                p, p11, p01, rho, innov, churn, prm, mode, tab, z0, dz):  # fmt: skip
    """Year ``y`` of ``m`` slots (:func:`vbcsim.engine._years.year_batch` from the lanes): (joiners, s0, s1).

    ``ls`` the lane states, (s0, s1) the scalar stream; the buffers hold ``_ROWS × LANES`` slots.
    """
    n_lanes = ls.shape[1]
    churn_word = churn > 0.0 and y > 0
    for k in range((m + n_lanes - 1) // n_lanes):
        if churn_word:
            _draw_row3(ls, k * n_lanes, rbuf, qbuf, cbuf)
        else:
            _draw_row2(ls, k * n_lanes, rbuf, qbuf, cbuf)
    kc = _below(churn) if churn_word else np.int64(0)
    joiners, rejected = _slots(
        m, y == 0, occ, state, fresh, rej, rbuf, qbuf, cbuf, _below(p), _below(p11), _below(p01), kc, rho, innov,
    )  # fmt: skip
    if rejected:
        s0, s1 = _fix_ups(m, state, fresh, rej, rbuf, rho, innov, s0, s1)
    if mode == MODE_LOGNORMAL:
        mu = prm[6]  # BODY_A, BODY_B of the parameter vector
        sigma = prm[7]
        for i in range(m):  # vectorised: fast_exp is branch-free
            xbuf[i] = occ[i] * fast_exp(mu + sigma * state[i])
    elif mode == MODE_TABLE:
        _table_costs(m, occ, state, xbuf, tab, z0, 1.0 / dz)
    else:
        for i in range(m):
            x = 0.0
            if occ[i] > 0.0:
                x, s0, s1 = member_cost(s0, s1, prm, mode, tab, z0, dz, state[i])
            xbuf[i] = x
    return joiners, s0, s1


@njit(nogil=True, cache=True, fastmath={"contract", "reassoc"})
def _sum_excess(xbuf, m, low):
    """(Σ x, Σ (x − low)+) over ``xbuf[:m]``, vectorised (reassociated: a sum in another order)."""
    a = 0.0
    e = 0.0
    for i in range(m):
        x = xbuf[i]
        a += x
        e += max(x - low, 0.0)
    return a, e


@njit(nogil=True, cache=True)
def _buffers():
    size = _ROWS * LANES
    return (
        np.zeros(size, dtype=np.uint64),  # rbuf: the words of the normals' candidates
        np.zeros(size, dtype=np.uint64),  # qbuf: the words of the occurrence uniforms
        np.zeros(size, dtype=np.uint64),  # cbuf: the words of the churn uniforms
        np.zeros(size, dtype=np.uint8),  # rej: the fast path rejected the slot's candidate
    )


@njit(nogil=True, cache=True)
def segment_block_years_vector(
    prm, mode, tab, z0, dz, p, p11, p01, rho, churn, members, years, factors, attachments, key0, key1,
    segment, chunk, cost_out, excess_out, joiners_out, risk, stab, ref_cost_out, ref_excess_out, score_out,
):  # fmt: skip
    """:func:`~vbcsim.engine._years.segment_block_years` with the members' draws from the lanes.

    Same arguments in the same order, same outputs (see ``segment_block_years``); exact in
    distribution, other random numbers (the module docstring's streams and order of draws).
    """
    ls = year_lane_states(key0, key1, segment, chunk)
    s0, s1 = block_state(key0, key1, STREAM_YEAR_SCALAR, segment, chunk)
    rbuf, qbuf, cbuf, rej = _buffers()
    n_rows, n_views = factors.shape
    n_scen = n_rows // years
    n_att = attachments.shape[1]
    n_thr = n_views * n_att
    thr = np.empty(years * n_thr)
    lowest = np.empty(years)
    acc = np.empty(years * n_thr)
    ref_acc = np.empty(years * n_thr)
    low_acc = np.empty(years)  # one threshold: Σ w (x − lowest)+, summed vectorised
    ref_low_acc = np.empty(years)  # ... and Σ (x − lowest)+ with selection
    total = np.empty(years)
    ref_total = np.empty(years)
    scores = np.empty((years, 3))
    innov = math.sqrt(1.0 - rho * rho)
    size = rbuf.size
    occ = np.zeros(size)
    state = np.zeros(size)
    prev = np.zeros(size)
    noise_state = np.zeros(size)
    xbuf = np.empty(size)
    wbuf = np.ones(size)
    sbuf = np.ones(size)
    ebuf = np.empty(size)
    ebuf2 = np.empty(size)
    jidx = np.empty(size, dtype=np.intp)
    fresh = np.zeros(size, dtype=np.bool_)
    active = risk[R_SCORE] > 0.0 or risk[R_SELECT] > 0.0
    weighted = risk[R_SELECT] > 0.0
    single = n_thr == 1
    for s in range(n_scen):
        scenario_thresholds(s, years, n_views, n_att, factors, attachments, thr, lowest)
        for y in range(years):
            total[y] = 0.0
            ref_total[y] = 0.0
            low_acc[y] = 0.0
            ref_low_acc[y] = 0.0
            joiners_out[s * years + y] = 0.0
        acc[:] = 0.0
        ref_acc[:] = 0.0
        scores[:] = 0.0
        for start in range(0, members, BATCH):
            m = min(BATCH, members - start)
            for y in range(years):
                if active:
                    _before_year(m, y, state, prev, noise_state, sbuf, risk, stab, z0, dz)
                joiners, s0, s1 = _year_batch(
                    ls, s0, s1, m, y, occ, state, xbuf, fresh, rbuf, qbuf, cbuf, rej,
                    p, p11, p01, rho, innov, churn, prm, mode, tab, z0, dz,
                )  # fmt: skip
                joiners_out[s * years + y] += joiners
                base = y * n_thr
                if active:
                    _risk_step(
                        ls, m, y, joiners, rho, state, prev, fresh, noise_state, wbuf, sbuf, risk, stab, z0, dz,
                        rbuf, qbuf, ebuf, ebuf2, jidx,
                    )  # fmt: skip
                    if weighted:
                        w_sum, ws_sum, s_sum = _score_sums(wbuf, sbuf, m)
                        scores[y, 0] += w_sum
                        scores[y, 1] += ws_sum
                    else:
                        s_sum = _sum(sbuf, m)
                        scores[y, 0] += m
                        scores[y, 1] += s_sum
                    scores[y, 2] += s_sum
                a, e = _sum_excess(xbuf, m, lowest[y])
                if weighted:
                    ref_total[y] += a
                    wa, we = _weighted_sums(xbuf, wbuf, m, lowest[y])
                    total[y] += wa
                    if single:
                        ref_low_acc[y] += e
                        low_acc[y] += we
                    else:
                        _excess(xbuf, wbuf, m, lowest[y], thr, base, n_thr, ref_acc, False)
                        _excess(xbuf, wbuf, m, lowest[y], thr, base, n_thr, acc, True)
                else:
                    total[y] += a
                    if single:
                        low_acc[y] += e
                    else:
                        _excess(xbuf, wbuf, m, lowest[y], thr, base, n_thr, acc, False)
        if single:
            for y in range(years):
                acc[y] = low_acc[y]
                ref_acc[y] = ref_low_acc[y]
        write_scenario(s, years, members, factors, n_att, total, acc, ref_total, ref_acc, scores, active, weighted,
                       cost_out, excess_out, ref_cost_out, ref_excess_out, score_out)  # fmt: skip


@njit(nogil=True, cache=True)
def member_paths_vector(prm, mode, tab, z0, dz, p, p11, p01, rho, churn, n, years, key0, key1, segment, chunk,
                        risk, stab):  # fmt: skip
    """``n`` slots over ``years`` years as :func:`segment_block_years_vector` draws the first scenario of
    block (segment, chunk) (a test hook; :func:`vbcsim.engine._years.member_paths` of this kernel).

    Returns (occurrence, latent, cost) as float[n, years], joined bool[n, years] (True where a new
    member took the slot that year; year 0: every slot), and the panel weight, the risk score and the
    latent of the year before that selection and a prospective score read, float[n, years] (NaN for
    a joiner whose latent of the year before nothing reads: after year 0 without selection, or in
    year 0 with neither selection nor a prospective score).
    """
    ls = year_lane_states(key0, key1, segment, chunk)
    s0, s1 = block_state(key0, key1, STREAM_YEAR_SCALAR, segment, chunk)
    rbuf, qbuf, cbuf, rej = _buffers()
    occ_out = np.empty((n, years))
    lat_out = np.empty((n, years))
    cost = np.empty((n, years))
    joined = np.zeros((n, years), dtype=np.bool_)
    w_out = np.empty((n, years))
    s_out = np.empty((n, years))
    h_out = np.full((n, years), np.nan)
    innov = math.sqrt(1.0 - rho * rho)
    size = rbuf.size
    occ = np.zeros(size)
    state = np.zeros(size)
    prev = np.zeros(size)
    noise_state = np.zeros(size)
    fresh = np.zeros(size, dtype=np.bool_)
    xbuf = np.empty(size)
    wbuf = np.ones(size)
    sbuf = np.empty(size)
    ebuf = np.empty(size)
    ebuf2 = np.empty(size)
    jidx = np.empty(size, dtype=np.intp)
    last = np.zeros(size)  # the latents of the year before (the kernel keeps them only for selection)
    active = risk[R_SCORE] > 0.0 or risk[R_SELECT] > 0.0
    select = risk[R_SELECT] > 0.0
    for start in range(0, n, BATCH):
        m = min(BATCH, n - start)
        for y in range(years):
            last[:m] = state[:m]
            if active:
                _before_year(m, y, state, prev, noise_state, sbuf, risk, stab, z0, dz)
            joiners, s0, s1 = _year_batch(
                ls, s0, s1, m, y, occ, state, xbuf, fresh, rbuf, qbuf, cbuf, rej,
                p, p11, p01, rho, innov, churn, prm, mode, tab, z0, dz,
            )  # fmt: skip
            if active:
                _risk_step(
                    ls, m, y, joiners, rho, state, prev, fresh, noise_state, wbuf, sbuf, risk, stab, z0, dz,
                    rbuf, qbuf, ebuf, ebuf2, jidx,
                )  # fmt: skip
            else:
                wbuf[:m] = 1.0
                sbuf[:m] = 1.0
            # a joiner's latent of the year before is drawn when something reads it
            drawn = select or (y == 0 and risk[R_SCORE] > 0.0 and risk[R_PROSPECTIVE] > 0.0)
            for i in range(m):
                occ_out[start + i, y] = occ[i]
                lat_out[start + i, y] = state[i]
                cost[start + i, y] = xbuf[i]
                joined[start + i, y] = fresh[i]
                w_out[start + i, y] = wbuf[i]
                s_out[start + i, y] = sbuf[i]
                stays = not (fresh[i] or y == 0)
                h_out[start + i, y] = last[i] if stays else (prev[i] if drawn else np.nan)
    return occ_out, lat_out, cost, joined, w_out, s_out, h_out
