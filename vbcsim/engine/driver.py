"""The engine driver: cuts the work into logical blocks and runs them on threads.

Blocks
------
A block is one segment × a run of consecutive scenarios.  The run length
depends only on the segment's size (about 2^20 member draws per block, at most
1,024 scenarios), never on the thread count or on ``n_scenarios``, and each
block draws from its own generator keyed by (seed, segment index, block index).
So a seed gives bitwise-identical output with any number of threads, and the
first ``n`` scenarios of a longer run equal an ``n``-scenario run.

Memory is O(scenarios × segments × views × attachments): members are drawn,
accumulated and forgotten inside the kernel.
"""

from __future__ import annotations

import numbers
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice

import numba
import numpy as np

from vbcsim._validation import check_nonnegative_int
from vbcsim.engine import _kernels as K
from vbcsim.engine import _vector as KV
from vbcsim.engine import _years as KY
from vbcsim.engine import _years_vector as KYV
from vbcsim.engine.rng import root_key
from vbcsim.population.distributions import Compound, Gamma, Hurdle, Lognormal, Pareto, Spliced

__all__ = [
    "encode",
    "encode_years",
    "encode_sampled",
    "YearParams",
    "VectorParams",
    "SAMPLERS",
    "block_layout",
    "run_blocks",
    "check_seed",
    "check_threads",
    "scenario_rng",
    "MAX_THREADS",
]

#: most worker threads a run may ask for: more than any machine vbcsim targets has cores (beyond
#: the cores, threads only add overhead, and each holds blocks in flight).  Raise this module
#: constant (``vbcsim.engine.driver.MAX_THREADS``) on a larger machine.
MAX_THREADS = 256

BLOCK_DRAWS = 2**20  # member draws per block: ~10 ms of work, large next to thread overhead
MAX_BLOCK_SCENARIOS = 1024

# streams for scenario-level variables (numpy generators, one per variable)
STREAM_TREND = 101
STREAM_SHOCK = 102
STREAM_QUALITY = 103
STREAM_MARKET = 104  # the market-wide part of the trend (ScenarioRisk.market_share_of_variance)
STREAM_EFFICIENCY = 1 << 32  # + a hash of the model's name
STREAM_SOBOL = 105  # the scrambling of the scenario-level Sobol' points (scenario_sampling="sobol")


#: largest log-cost a lognormal draw may reach: exp(709.7) is the largest double
_LOG_MAX = 709.0


def _encode_basic(dist):
    if isinstance(dist, Lognormal):
        # the ziggurat's normals stay below 14 in absolute value; beyond this costs would overflow
        if dist.mu + 14.0 * dist.sigma >= _LOG_MAX:
            raise ValueError(
                f"Lognormal(mu={dist.mu!r}, sigma={dist.sigma!r}): its draws reach exp(mu + 14 sigma), beyond "
                "the largest double; costs in currency units need mu + 14 sigma below 709"
            )
        return K.LOGNORMAL, dist.mu, dist.sigma
    if isinstance(dist, Gamma):
        return K.GAMMA, dist.shape, dist.scale
    if isinstance(dist, Pareto):
        return K.PARETO, dist.alpha, dist.scale
    raise TypeError(f"the engine cannot sample a {type(dist).__name__} as a basic severity")


def encode(dist) -> tuple:
    """The kernel's parameter tuple for a member cost distribution."""
    prm = np.zeros(K.N_PARAMS)
    prm[K.P_NONZERO] = 1.0
    if isinstance(dist, Hurdle):
        prm[K.P_NONZERO] = dist.p_nonzero
        dist = dist.severity
    if isinstance(dist, Compound):
        freq = dist.frequency
        if hasattr(freq, "lam"):
            prm[K.FREQ_KIND], prm[K.FREQ_A] = K.FREQ_POISSON, freq.lam
        else:
            prm[K.FREQ_KIND], prm[K.FREQ_A], prm[K.FREQ_B] = K.FREQ_NEGBIN, freq.mean(), freq.dispersion
        dist = dist.severity
    if isinstance(dist, Spliced):
        prm[K.SEV_KIND] = 1.0
        prm[K.BODY_KIND], prm[K.BODY_A], prm[K.BODY_B] = _encode_basic(dist.body)
        prm[K.TAIL_KIND], prm[K.TAIL_A], prm[K.TAIL_B] = _encode_basic(dist.tail)
        prm[K.THRESHOLD] = dist.threshold
        prm[K.TAIL_WEIGHT] = dist.tail_weight
        prm[K.BODY_CDF_T] = float(dist.body.cdf(dist.threshold))
    else:
        prm[K.BODY_KIND], prm[K.BODY_A], prm[K.BODY_B] = _encode_basic(dist)
    return tuple(float(v) for v in prm)


#: the grid of the quantile tables of multi-year runs: z from -8.5 to 8.5 in steps of 1/256
#: (log Q(Φ(z)) is smooth in z, so linear interpolation is within 1e-5 relative of the exact
#: quantile, closest to it away from a spliced severity's threshold; tested)
TABLE_Z0 = -8.5
TABLE_DZ = 1.0 / 256.0
TABLE_POINTS = 4353
#: the claim-count table of compound costs stops where F_N reaches 1 − 1e-16 (or this many counts)
COUNT_TABLE_MAX = 1_000_000


@dataclass(frozen=True, eq=False)
class YearParams:
    """A segment's member model in a multi-year run (:mod:`vbcsim.engine._years`)."""

    prm: tuple  # the encoded distribution (:func:`encode`)
    mode: int  # how the severity latent becomes a cost: KY.MODE_*
    table: np.ndarray  # log-quantile table (MODE_TABLE) or claim-count cdf (MODE_COMPOUND)
    z0: float
    dz: float
    p: float  # probability that a member has cost in a year
    p11: float  # ... next year, given it has cost this year
    p01: float  # ... next year, given none this year
    rho: float  # year-to-year correlation of the latents
    churn: float  # probability that the slot's member is replaced at the start of a year
    years: int  # simulated years (baseline years included)
    # risk scores and selection (vbcsim.population.risk; the layout of KY.R_*), the score table,
    # and whether the block's output carries the panel's and the population's sums and the score
    # sums (the same for every segment of a run: see output_views)
    risk: np.ndarray = None
    score_table: np.ndarray = None
    extended: bool = False
    vector: bool = False  # draw on the vectorised path (vbcsim.engine._years_vector)


def _table_origin(dist) -> float:
    """The grid's first z: TABLE_Z0, shifted for a spliced severity so that its kink is a grid point.

    A spliced quantile function has a kink where the tail starts, at z = Φ⁻¹(1 − tail_weight);
    with a grid point there, linear interpolation never straddles it.
    """
    if not isinstance(dist, Spliced):
        return TABLE_Z0
    from scipy.special import ndtri

    kink = float(ndtri(1.0 - dist.tail_weight))
    return kink - np.ceil((kink - TABLE_Z0) / TABLE_DZ) * TABLE_DZ


def _severity_table(dist, z0: float = TABLE_Z0) -> np.ndarray:
    """log Q(Φ(z)) of a (non-compound) severity on the table grid from ``z0``, linear beyond z = 8."""
    from scipy.special import ndtr

    z = z0 + TABLE_DZ * np.arange(TABLE_POINTS)
    q = ndtr(z)
    with np.errstate(divide="ignore"):
        logq = np.log(np.asarray(dist.ppf(np.where(z <= 8.0, q, ndtr(8.0))), dtype=float))
    top = int(np.searchsorted(z, 8.0, side="right")) - 1  # extend linearly from the last two points ≤ 8
    slope = (logq[top] - logq[top - 1]) / TABLE_DZ
    logq[top + 1 :] = logq[top] + slope * (z[top + 1 :] - z[top])
    if not np.all(np.isfinite(logq)):
        bad = z[~np.isfinite(logq)]
        raise ValueError(f"{dist!r}: its quantile function is not positive and finite at z = {bad[:3]}")
    return logq


def _count_table(freq) -> np.ndarray:
    """F_N(0), F_N(1), ... up to 1 − 1e-16 (at most COUNT_TABLE_MAX counts)."""
    hi = int(freq.ppf(1.0 - 1e-16)) if freq.mean() > 0 else 0
    n = np.arange(min(max(hi, 0), COUNT_TABLE_MAX) + 1)
    cdf = np.asarray(freq.cdf(n), dtype=float)
    cdf[-1] = 1.0
    return cdf


def encode_years(dist, rho: float, churn: float, years: int, risk=None, score_table=None,
                 extended: bool = False, vector: bool = False) -> YearParams:  # fmt: skip
    """The kernel's member model of a multi-year run for a member cost distribution.

    ``risk`` (float64[KY.N_RISK]) and ``score_table`` set risk scores and selection
    (:func:`encode_risk`); ``extended`` makes the blocks' output carry the panel's and the
    population's sums and the score sums (:func:`output_views`).
    """
    prm = encode(dist)
    p = prm[K.P_NONZERO]
    p11, p01 = occurrence_transitions(p, rho)
    sev = dist.severity if isinstance(dist, Hurdle) else dist
    empty = np.zeros(2)
    z0 = TABLE_Z0
    if isinstance(sev, Compound):
        mode, table = KY.MODE_COMPOUND, _count_table(sev.frequency)
    elif isinstance(sev, Lognormal) and abs(sev.mu) + 14.0 * sev.sigma < K.FAST_EXP_LIMIT:
        mode, table = KY.MODE_LOGNORMAL, empty
    else:
        z0 = _table_origin(sev)
        mode, table = KY.MODE_TABLE, _severity_table(sev, z0)
    risk = np.zeros(KY.N_RISK) if risk is None else np.asarray(risk, dtype=np.float64)
    score_table = np.zeros(2) if score_table is None else np.asarray(score_table, dtype=np.float64)
    return YearParams(
        prm, mode, table, z0, TABLE_DZ, p, p11, p01, float(rho), float(churn), int(years),
        risk, score_table, bool(extended), bool(vector),
    )  # fmt: skip


def encode_risk(dist, rho: float, risk_score=None, selection=None):
    """(risk, score_table): the kernel's risk-score and selection parameters for a segment.

    ``risk_score`` a :class:`vbcsim.RiskScore` (None: no scores), ``selection`` a
    :class:`vbcsim.Selection` (None: the panel is the population).  The score table is
    h_c of :mod:`vbcsim.population.risk` on the grid of :data:`TABLE_Z0`, :data:`TABLE_DZ`.
    """
    from vbcsim.population.risk import score_table as make_table

    risk = np.zeros(KY.N_RISK)
    table = np.zeros(2)
    sev = dist.severity if isinstance(dist, Hurdle) else dist
    if risk_score is not None:
        c = risk_score.coefficient(dist, rho)
        top = rho if risk_score.prospective else 1.0
        risk[KY.R_C] = c
        risk[KY.R_LAMBDA] = c / top if top > 0 else 0.0
        risk[KY.R_PROSPECTIVE] = 1.0 if risk_score.prospective else 0.0
        if isinstance(sev, Lognormal):
            risk[KY.R_SCORE] = 1.0
            risk[KY.R_SIGMA] = sev.sigma
        else:
            risk[KY.R_SCORE] = 2.0
            with np.errstate(divide="ignore"):  # on the severity table's grid (the kernel reads both from z0)
                table = np.log(make_table(dist, c, _table_origin(sev), TABLE_DZ, TABLE_POINTS))
    if selection is not None:
        from scipy.special import ndtr

        a = selection.parameter(dist, rho)
        if selection.kind == "tilt":
            risk[KY.R_SELECT], risk[KY.R_SELECT_A] = 1.0, a
        else:
            risk[KY.R_SELECT], risk[KY.R_SELECT_A], risk[KY.R_SELECT_B] = 2.0, a, 1.0 / float(ndtr(a))
    return risk, table


def output_views(params, n_views: int) -> tuple[int, int]:
    """(cost columns, excess columns) of the blocks' output for ``n_views`` views.

    ``n_views`` each, unless the run's segments are ``extended`` (risk scores or selection):
    then the panel's views, the population's views and, in cost, three score sums (Σ w,
    Σ w s, Σ s): 2 n_views + 3 and 2 n_views.
    """
    if params and isinstance(params[0], YearParams) and params[0].extended:
        return 2 * n_views + 3, 2 * n_views
    return n_views, n_views


def occurrence_transitions(p: float, rho: float) -> tuple[float, float]:
    """(p11, p01): the occurrence chain whose consecutive years have the law of a Gaussian latent.

    With ``c = ndtri(1 − p)`` and (a, a') standard bivariate normal with correlation ρ,
    p11 = P(a' > c | a > c) = P(a > c, a' > c) / p and p01 = (p − p p11) / (1 − p), so the
    chain keeps P(cost) = p every year.
    """
    if p >= 1.0:
        return 1.0, 1.0
    if p <= 0.0:
        return 0.0, 0.0
    if rho <= 0.0:
        return p, p
    from scipy.special import ndtri
    from scipy.stats import multivariate_normal

    c = float(ndtri(1.0 - p))
    # P(a > c, a' > c) = P(-a < -c, -a' < -c): the bivariate normal cdf at (-c, -c)
    both = float(multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]]).cdf([-c, -c]))
    p11 = min(1.0, max(p, both / p))
    p01 = max(0.0, (p - p * p11) / (1.0 - p))
    return p11, p01


def _years_of(params) -> int:
    """Years per scenario of the encoded segments (1: a single-year run)."""
    return params[0].years if params and isinstance(params[0], YearParams) else 1


#: how the engine draws members: "vector" (default), many generator lanes advanced together,
#: which LLVM vectorises (:mod:`vbcsim.engine._vector`; the lognormal fast path, other
#: distributions fall back to scalar), or "scalar", one generator per block, member after member
#: (the engine's draws before the vectorised path: the same numbers for a seed as then).  The two
#: give the same distribution, not the same bits.
SAMPLERS = ("vector", "scalar")


@dataclass(frozen=True, eq=False)
class VectorParams:
    """A single-year segment sampled on the vectorised path (:mod:`vbcsim.engine._vector`)."""

    prm: tuple


def encode_sampled(dist, sampler: str = "vector"):
    """The kernel's parameters of a single-year segment for ``sampler`` (see :data:`SAMPLERS`)."""
    prm = encode(dist)
    if sampler == "vector" and KV.supports(prm):
        return VectorParams(prm)
    return prm


def block_scenarios(members: int, years: int = 1) -> int:
    """Scenarios per block for a segment of ``members`` members simulated over ``years`` years."""
    return int(min(MAX_BLOCK_SCENARIOS, max(1, BLOCK_DRAWS // (members * years))))


@dataclass(frozen=True)
class Block:
    segment: int
    index: int  # block number within the segment
    start: int  # first scenario
    stop: int


def block_layout(members_per_segment, n_scenarios: int, years: int = 1) -> list[Block]:
    """The fixed logical blocks of a run (independent of threads and workers)."""
    blocks = []
    for g, members in enumerate(members_per_segment):
        size = block_scenarios(int(members), years)
        for i, start in enumerate(range(0, n_scenarios, size)):
            blocks.append(Block(g, i, start, min(start + size, n_scenarios)))
    return blocks


def check_seed(seed) -> int:
    return check_nonnegative_int("seed", seed, strict=True)


def check_threads(threads) -> int:
    """``threads`` as an int in [1, ``MAX_THREADS``]; None gives ``numba.config.NUMBA_NUM_THREADS``."""
    if threads is None:
        return int(numba.config.NUMBA_NUM_THREADS)
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    if threads > MAX_THREADS:
        raise ValueError(
            f"threads must be at most {MAX_THREADS} (driver.MAX_THREADS; this machine has "
            f"{os.cpu_count()} cores), got {threads!r}"
        )
    return int(threads)


def scenario_rng(seed: int, stream: int) -> np.random.Generator:
    """A numpy generator for one scenario-level variable (drawn in scenario order)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))


def block_rows(block: Block, years: int) -> slice:
    """The rows of a block's scenario-years (row = scenario × years + year)."""
    return slice(block.start * years, block.stop * years)


def run_block(param, members, factors, attachments, key0, key1, block: Block):
    """One block's statistics: cost float64[r, V] and excess float64[r, V, K] for its rows.

    ``factors`` holds the block's rows: its scenarios, or in a multi-year run its
    scenario-years (``param`` a :class:`YearParams`).
    """
    n_views, n_att = attachments.shape
    s = factors.shape[0]
    cost = np.zeros((s, n_views))
    excess = np.zeros((s, n_views, n_att))
    if isinstance(param, YearParams):
        ref_cost = np.zeros((s, n_views))
        ref_excess = np.zeros((s, n_views, n_att))
        scores = np.zeros((s, 3))
        kernel = KYV.segment_block_years_vector if param.vector else KY.segment_block_years
        kernel(
            param.prm,
            param.mode,
            param.table,
            param.z0,
            param.dz,
            param.p,
            param.p11,
            param.p01,
            param.rho,
            param.churn,
            int(members),
            param.years,
            np.ascontiguousarray(factors, dtype=np.float64),
            np.ascontiguousarray(attachments, dtype=np.float64),
            key0,
            key1,
            block.segment,
            block.index,
            cost,
            excess,
            np.zeros(s),
            param.risk,
            param.score_table,
            ref_cost,
            ref_excess,
            scores,
        )
        if not param.extended:
            return cost, excess
        if param.risk[KY.R_SELECT] == 0.0:  # no selection: the panel is the population
            ref_cost, ref_excess = cost, excess
        return np.concatenate([cost, ref_cost, scores], axis=1), np.concatenate([excess, ref_excess], axis=1)
    kernel = K.segment_block
    if isinstance(param, VectorParams):
        kernel, param = KV.segment_block_vector, param.prm
    kernel(
        param,
        int(members),
        np.ascontiguousarray(factors, dtype=np.float64),
        np.ascontiguousarray(attachments, dtype=np.float64),
        key0,
        key1,
        block.segment,
        block.index,
        cost,
        excess,
    )
    return cost, excess


def run_blocks(params, members, factors, attachments, seed, threads, progress=None, blocks=None, sink=None):
    """Run the blocks; return cost[segment, scenario, view], excess[segment, scenario, view, k].

    ``params`` is a list of encoded distributions, ``members`` their counts,
    ``factors`` float64[n_scenarios, V] (> 0), ``attachments`` float64[V, K].
    In a multi-year run (``params`` of :func:`encode_years`) the rows of
    ``factors`` and of the results are scenario-years, row = scenario × years + year.
    ``blocks`` restricts the run to some blocks (default: all of
    :func:`block_layout`).  With ``sink``, each finished block is handed to
    ``sink(block, cost, excess)`` in this thread, in block order, and nothing
    is returned.
    """
    n_rows, n_views = factors.shape
    n_att = attachments.shape[1]
    n_seg = len(params)
    years = _years_of(params)
    key0, key1 = root_key(seed)
    factors = np.ascontiguousarray(factors, dtype=np.float64)
    attachments = np.ascontiguousarray(attachments, dtype=np.float64)
    if blocks is None:
        blocks = block_layout(members, n_rows // years, years)
    if sink is None:
        width, ex_width = output_views(params, n_views)
        cost = np.zeros((n_seg, n_rows, width))
        excess = np.zeros((n_seg, n_rows, ex_width, n_att))

        def sink(b, c, e):
            cost[b.segment, block_rows(b, years)] = c
            excess[b.segment, block_rows(b, years)] = e

        result = (cost, excess)
    else:
        result = None

    def run(b: Block):
        f = factors[block_rows(b, years)]
        return b, *run_block(params[b.segment], members[b.segment], f, attachments, key0, key1, b)

    workers = min(threads, max(1, len(blocks)))
    if workers == 1:
        for done, b in enumerate(blocks, start=1):
            sink(*run(b))
            if progress is not None:
                progress(done, len(blocks))
        return result
    # at most a few blocks in flight per thread, taken in block order: finished blocks wait for
    # the sink (which may be writing to disk) without piling up in memory
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = deque()
        it = iter(blocks)
        for b in islice(it, 4 * workers):
            pending.append(pool.submit(run, b))
        done = 0
        while pending:
            sink(*pending.popleft().result())
            done += 1
            if progress is not None:
                progress(done, len(blocks))
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(run, nxt))
    return result
