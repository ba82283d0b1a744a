"""The engine against the best plain-numpy implementation of the same workload, and the engine's other figures.

    python benchmarks/compare.py [--quick] [--json PATH] [--threads T] [--repeat R] [--cold | --no-cold]
                                 [--years Y] [--no-multi-year]

Everything runs in one invocation, so the figures that matter are ratios
measured side by side (the machines are noisy, absolute rates drift):

1. **Throughput** on the standard workload — one segment of 100,000 members
   with a hurdle-lognormal annual cost (80% of members with cost, mean $6,000
   and CV 3 given cost), a specific stop-loss split at $50,000, 2,000
   scenarios — for the engine with both of its samplers side by side
   (``sampler="vector"``, the default: 64 generator lanes advanced together;
   ``sampler="scalar"``: the engine as it was before the vectorised path), each
   on 1 and on T threads (default 2), and for a numpy baseline
   (:func:`numpy_run`) computing the same statistics: per scenario the total
   cost and Σ (X − 50,000)+.  The five are timed in interleaved rounds and the
   best round of each is kept.  Printed: member-years per second, each ÷ numpy,
   vector ÷ scalar, and the 1 → T thread scaling of each sampler.  Each sampler
   and the numpy baseline must agree in distribution (means of both
   statistics within 5 standard errors of each other and of the exact
   expectation), or the script exits with status 1.
2. **Peak memory** beyond the interpreter, measured in a child process (see
   :func:`child_main`): for the standard workload (engine and numpy) and for
   10 thousand vs 10 million members at the same scenario count, where the
   engine's growth should not depend on the members.
3. **Five-model comparison** (:func:`vbcsim.compare` on the built-in provider
   panel of 100,000 members, 10,000 scenarios): the five models as
   :func:`vbcsim.compare` runs them (model 3 simulates a pool of 4 other
   practices of the panel's size, so 500,000 members are simulated), the
   five with ``third_party={"other_practices": 0}`` (the panel's 100,000
   members only), one model alone (model 1, the custom risk-based contract)
   and the panel's cost without models; ratios to one model.  Best of 2
   interleaved rounds, the pooled run (tens of seconds) in the first only.
4. **First-call time**: in this process (the numba cache as found), and in
   fresh processes with a warm cache and with a cold one (``NUMBA_CACHE_DIR``
   pointed at an empty temporary directory, so every kernel compiles).
5. **5-year run** (``--years``, default 5; ``--no-multi-year`` skips it): the
   standard workload with members persisting over the years
   (``simulate(..., years=5)``) at a fifth of the scenarios (400 × 5 against
   2,000 × 1: the same member-years), timed in interleaved rounds with the
   single-year engine at the full scenario count, on 1 and T threads, and
   with a numpy baseline of the same multi-year member model
   (:func:`numpy_years_run`).  Printed: member-years per second, the ratio
   to the single-year engine with the default sampler (target ≥ 0.5; and,
   for comparison with earlier figures, to the single-year scalar sampler),
   engine ÷ numpy and the 1 → T scaling; the engine and numpy must agree in distribution (every year's
   means, and the year-to-year correlation, :func:`years_agreement`) or the
   exit status is 1.  Its peak memory (standard workload, and 10 thousand vs
   10 million members) is measured with the rest, and the five models are
   timed over 5 years against one year at the same member-years
   (:func:`five_model_years`).

``--quick`` uses small sizes (standard workload 20,000 members × 500
scenarios, five models 20,000 × 500, members-flatness at 4 scenarios; the
5-year runs at a fifth of those scenarios) and no cold-cache child; it
finishes in a few seconds and asserts nothing about speed.  ``--json PATH`` also writes every figure as JSON
(atomically: a temporary file renamed over PATH).
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

import vbcsim
from vbcsim import defaults
from vbcsim.engine import driver
from vbcsim.partnerships import DEFAULT_SCENARIO_RISK

ATTACHMENT = 50_000.0  # the specific stop-loss split of the standard workload
P_NONZERO = 0.8
MEAN_GIVEN_COST = 6_000.0
CV_GIVEN_COST = 3.0
CHUNK = 1 << 16  # numpy baseline: draws per chunk (512 KiB of float64), the fastest of 2^14 .. 2^18
Z_LIMIT = 5.0  # agreement check: |difference| / standard error

FULL = dict(
    members=100_000,
    scenarios=2_000,
    repeat=3,
    five_members=100_000,
    five_scenarios=10_000,
    five_repeat=2,
    five_pool_repeat=1,
    small_members=10_000,
    large_members=10_000_000,
    flat_scenarios=20,
    years=5,
    five_years_repeat=2,
    cold=True,
)
QUICK = FULL | dict(
    members=20_000,
    scenarios=500,
    five_members=20_000,
    five_scenarios=500,
    five_repeat=3,
    five_pool_repeat=3,
    flat_scenarios=4,
    five_years_repeat=1,
    cold=False,
)

#: the engine's samplers, timed side by side: the previous engine, then the vectorised one
SAMPLERS = ("scalar", "vector")
SAMPLER_LABEL = {"scalar": "scalar sampler (previous engine)", "vector": "vector sampler"}

TARGETS = {
    "vector_vs_scalar": 2.0,  # vector sampler ÷ scalar sampler (the previous engine), both on 2 threads, at least
    "vector_vs_numpy": 9.0,  # vector sampler on 2 threads ÷ numpy baseline, at least
    "member_years_per_s_2_threads": 250e6,  # the default sampler on 2 threads, at least
    "scaling_1_to_2": 1.8,  # the vector sampler's 1 -> 2 thread scaling, at least
    "memory_standard_mb": 100.0,  # peak growth of the standard workload, at most
    "five_over_one": 1.3,  # five-model time ÷ one-model time (no pool), at most
    "eight_over_five": 1.5,  # all eight models ÷ the five (both with model 3's pool), at most
    "multi_year_vs_single": 0.5,  # a 5-year run's member-years/s ÷ the single-year engine's, at least
}
FLAT_TOLERANCE_MB = 1.0  # 10 million members may use this much more than 10 thousand (page noise)


# ---------------------------------------------------------------------------------------------
# the workload, the engine and the numpy baseline


def standard_cost():
    """The standard workload's member cost: Hurdle(0.8, Lognormal with mean 6,000 and CV 3)."""
    return vbcsim.Hurdle(P_NONZERO, vbcsim.Lognormal.from_mean_cv(MEAN_GIVEN_COST, CV_GIVEN_COST))


def standard_population(members: int) -> vbcsim.Population:
    """One segment of ``members`` members costing :func:`standard_cost`."""
    return vbcsim.Population([vbcsim.Segment("members", members, standard_cost())])


def default_sampler() -> str:
    """The sampler :func:`vbcsim.simulate` uses when none is given."""
    return inspect.signature(vbcsim.simulate).parameters["sampler"].default


def engine_run(
    members: int, scenarios: int, *, threads: int, seed: int = 1, sampler: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The engine on the standard workload: (total cost, Σ (X − 50,000)+) per scenario.

    ``sampler`` is passed to :func:`vbcsim.simulate` (``"vector"`` or
    ``"scalar"``); None leaves the engine's default.
    """
    ds = vbcsim.simulate(
        standard_population(members),
        n_scenarios=scenarios,
        seed=seed,
        attachments=[ATTACHMENT],
        threads=threads,
        **({} if sampler is None else {"sampler": sampler}),
    )
    return ds.cost.values.sum(axis=1), ds.excess.values[:, :, 0].sum(axis=1)


def numpy_run(
    members: int,
    scenarios: int,
    *,
    seed: int = 1,
    chunk: int = CHUNK,
    cost=None,
    attachment: float = ATTACHMENT,
) -> tuple[np.ndarray, np.ndarray]:
    """The numpy baseline: (total cost, Σ (X − attachment)+) per scenario, X ~ ``cost``.

    ``cost`` is a ``Hurdle(p, Lognormal(mu, sigma))`` (default
    :func:`standard_cost`).  The fastest plain-numpy form we found (see
    benchmarks/README.md for the alternatives timed):

    - per scenario, the number of members with cost is drawn at once for all
      scenarios, ``Generator.binomial(members, p, scenarios)``; only that many
      lognormals are then drawn, never one variate per member;
    - the draws of all scenarios form one stream, cut into chunks of ``chunk``
      variates written into one preallocated buffer
      (``standard_normal(out=...)``, scaled by σ in place, ``np.exp`` in
      place), so memory stays bounded whatever the members and small
      scenarios pay no per-scenario Python overhead;
    - X = e^μ · e^{σZ}: the factor e^μ is applied once to the sums, and the
      excess sums e^{σZ} − a·e^{−μ} over the few draws above the scaled
      attachment (a boolean mask: about 1.5% of draws), scattered to their
      scenarios with ``np.bincount``; the per-scenario cost sums are
      ``np.add.reduceat`` over the chunk.
    """
    cost = standard_cost() if cost is None else cost
    p = float(cost.p_nonzero)
    mu, sigma = float(cost.severity.mu), float(cost.severity.sigma)
    rng = np.random.default_rng(seed)
    scale = math.exp(mu)
    threshold = attachment / scale
    counts = rng.binomial(members, p, size=scenarios)
    ends = np.cumsum(counts)
    starts = ends - counts
    total = int(ends[-1]) if scenarios else 0
    cost_sum = np.zeros(scenarios)
    excess_sum = np.zeros(scenarios)
    buf = np.empty(min(chunk, max(total, 1)))
    done = 0
    while done < total:
        k = min(chunk, total - done)
        y = buf[:k]
        rng.standard_normal(out=y)
        y *= sigma
        np.exp(y, out=y)
        # scenarios with draws in [done, done + k): the first whose end lies beyond done, up to the
        # last that starts before done + k
        lo = int(np.searchsorted(ends, done, side="right"))
        hi = int(np.searchsorted(starts, done + k, side="left"))
        first = np.maximum(starts[lo:hi] - done, 0)
        last = np.minimum(ends[lo:hi] - done, k)
        sums = np.add.reduceat(y, first)
        sums[first == last] = 0.0  # reduceat returns y[first] for an empty range
        cost_sum[lo:hi] += sums
        above = np.flatnonzero(y > threshold)
        if above.size:
            owner = np.searchsorted(ends, done + above, side="right")
            excess_sum += np.bincount(owner, weights=y[above] - threshold, minlength=scenarios)
        done += k
    return cost_sum * scale, excess_sum * scale


def numpy_run_per_scenario(
    members: int, scenarios: int, *, seed: int = 1, cost=None, attachment: float = ATTACHMENT
) -> tuple[np.ndarray, np.ndarray]:
    """The straightforward numpy form, for reference: per scenario ``rng.lognormal`` of the nonzero members."""
    cost = standard_cost() if cost is None else cost
    mu, sigma = float(cost.severity.mu), float(cost.severity.sigma)
    rng = np.random.default_rng(seed)
    counts = rng.binomial(members, float(cost.p_nonzero), size=scenarios)
    cost_sum = np.empty(scenarios)
    excess_sum = np.empty(scenarios)
    for s, n in enumerate(counts):
        x = rng.lognormal(mu, sigma, int(n))
        cost_sum[s] = x.sum()
        excess_sum[s] = np.maximum(x - attachment, 0.0).sum()
    return cost_sum, excess_sum


def agreement(engine: tuple, baseline: tuple, members: int) -> dict:
    """z-scores of the engine's and the baseline's means, against each other and the exact means.

    ``engine`` and ``baseline`` are (cost, excess) arrays over scenarios;
    ``ok`` is whether every |z| is below :data:`Z_LIMIT`.  The standard
    deviations' ratio (engine ÷ baseline) is reported too, unchecked.
    """
    cost = standard_cost()
    exact = {"cost": members * cost.mean(), "excess": members * cost.stop_loss(ATTACHMENT)}
    out = {}
    ok = True
    for k, name in enumerate(("cost", "excess")):
        e, b = np.asarray(engine[k], float), np.asarray(baseline[k], float)
        se_e = e.std(ddof=1) / math.sqrt(e.size)
        se_b = b.std(ddof=1) / math.sqrt(b.size)
        z = {
            "engine_vs_numpy": (e.mean() - b.mean()) / math.hypot(se_e, se_b),
            "engine_vs_exact": (e.mean() - exact[name]) / se_e,
            "numpy_vs_exact": (b.mean() - exact[name]) / se_b,
        }
        ok = ok and all(abs(v) < Z_LIMIT for v in z.values())
        out[name] = {
            "exact_mean": exact[name],
            "engine_mean": float(e.mean()),
            "numpy_mean": float(b.mean()),
            "sd_ratio": float(e.std(ddof=1) / b.std(ddof=1)),
            **{f"z_{key}": float(v) for key, v in z.items()},
        }
    out["ok"] = bool(ok)
    return out


# ---------------------------------------------------------------------------------------------
# the 5-year run: the engine and the numpy baseline of the multi-year member model


def year_params(cost=None, years: int = FULL["years"], churn: float = 0.0):
    """The engine's member model of a multi-year run of ``cost`` (:func:`vbcsim.engine.driver.encode_years`).

    The persistence is the segment's default (``Segment.latent_correlation``:
    ρ ≈ 0.69 for the standard cost) and there is no churn, as in
    :func:`engine_years_run`.
    """
    cost = standard_cost() if cost is None else cost
    rho = vbcsim.Segment("members", 1, cost, annual_churn=churn).latent_correlation()
    return driver.encode_years(cost, rho, churn, years)


def engine_years_run(
    members: int, scenarios: int, *, years: int = FULL["years"], threads: int, seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The engine on the standard workload over ``years`` years: (total cost, Σ (X − 50,000)+) per [scenario, year]."""
    ds = vbcsim.simulate(
        standard_population(members),
        n_scenarios=scenarios,
        seed=seed,
        attachments=[ATTACHMENT],
        threads=threads,
        years=years,
    )
    return ds.cost.values.sum(axis=2), ds.excess.values[:, :, :, 0].sum(axis=2)


def numpy_years_run(
    members: int,
    scenarios: int,
    *,
    years: int = FULL["years"],
    seed: int = 1,
    chunk: int = CHUNK,
    cost=None,
    attachment: float = ATTACHMENT,
) -> tuple[np.ndarray, np.ndarray]:
    """The numpy baseline of a multi-year run: (total cost, Σ (X − attachment)+) per [scenario, year].

    The same member model as the engine's kernel (:mod:`vbcsim.engine._years`,
    parameters from :func:`year_params`): each member carries an occurrence
    indicator, a two-state Markov chain (P(cost) = p in year 0, then ``p11``
    after a year with cost and ``p01`` after one without), and a standard
    normal severity latent b, a Gaussian AR(1) (b' = ρ b + √(1 − ρ²) ε); its
    cost is exp(μ + σ b) in the years it has any.  ``cost`` is a
    ``Hurdle(p, Lognormal(mu, sigma))`` (default :func:`standard_cost`).

    Vectorised over members the way :func:`numpy_run` is: the member slots of
    all scenarios form one stream (slot i belongs to scenario i // members),
    cut into chunks of ``chunk`` slots; a chunk's states live in preallocated
    buffers and go through the years one after the other (per year one normal
    and one uniform per slot, drawn in place), so memory stays bounded
    whatever the members and no member × year × scenario array exists.  Per
    year the costs e^{σb} (zero without cost) are summed per scenario with
    ``np.add.reduceat``, the excess over the few draws above a·e^{−μ}
    (``np.bincount``), and e^μ multiplies the sums once at the end.
    """
    cost = standard_cost() if cost is None else cost
    yp = year_params(cost, years)
    p, p11, p01, rho = float(yp.p), float(yp.p11), float(yp.p01), float(yp.rho)
    mu, sigma = float(cost.severity.mu), float(cost.severity.sigma)
    innov = math.sqrt(1.0 - rho * rho)
    rng = np.random.default_rng(seed)
    scale = math.exp(mu)
    threshold = attachment / scale
    total = members * scenarios
    cost_sum = np.zeros((scenarios, years))
    excess_sum = np.zeros((scenarios, years))
    n = min(chunk, max(total, 1))
    b_buf, e_buf, u_buf, q_buf, y_buf = (np.empty(n) for _ in range(5))
    occ_buf = np.empty(n, dtype=bool)
    done = 0
    while done < total:
        k = min(chunk, total - done)
        b, e, u, q, y, occ = b_buf[:k], e_buf[:k], u_buf[:k], q_buf[:k], y_buf[:k], occ_buf[:k]
        lo = done // members  # the scenarios of slots [done, done + k)
        hi = (done + k - 1) // members + 1
        first = np.maximum(np.arange(lo, hi) * members - done, 0)
        for t in range(years):
            if t == 0:  # a new member: its latent and whether it has cost
                rng.standard_normal(out=b)
                rng.random(out=u)
                np.less(u, p, out=occ)
            else:
                rng.standard_normal(out=e)
                e *= innov
                b *= rho
                b += e
                rng.random(out=u)
                np.multiply(occ, p11 - p01, out=q)  # P(cost this year | last year's indicator)
                q += p01
                np.less(u, q, out=occ)
            np.multiply(b, sigma, out=y)
            np.exp(y, out=y)
            y *= occ
            cost_sum[lo:hi, t] += np.add.reduceat(y, first)
            above = np.flatnonzero(y > threshold)
            if above.size:
                owner = (done + above) // members - lo
                excess_sum[lo:hi, t] += np.bincount(owner, weights=y[above] - threshold, minlength=hi - lo)
        done += k
    return cost_sum * scale, excess_sum * scale


def lag1_correlation_exact(cost=None, years: int = FULL["years"]) -> float:
    """The correlation of a member's costs in consecutive years under the multi-year model (no churn).

    With X = I · e^{μ + σb} (I the occurrence indicator, independent of b):
    E[X X'] = p·p11 · e^{2μ + σ²(1 + ρ)}, E[X²] = p e^{2μ + 2σ²}, E[X] = p e^{μ + σ²/2}.  Scenario
    totals of independent members have the same correlation from year to year.
    """
    cost = standard_cost() if cost is None else cost
    yp = year_params(cost, years)
    p, p11, rho = float(yp.p), float(yp.p11), float(yp.rho)
    s2 = float(cost.severity.sigma) ** 2
    cov = p * p11 * math.exp(s2 * (1.0 + rho)) - p * p * math.exp(s2)  # over e^{2μ}
    var = p * math.exp(2.0 * s2) - p * p * math.exp(s2)
    return cov / var


def _lag1(x: np.ndarray) -> float:
    """The mean over consecutive year pairs of the correlation of scenario totals (x: [scenario, year])."""
    if x.shape[0] < 3 or x.shape[1] < 2:
        return math.nan
    return float(np.mean([np.corrcoef(x[:, t], x[:, t + 1])[0, 1] for t in range(x.shape[1] - 1)]))


MIN_CHECKED_SCENARIOS = 30  # the multi-year agreement is checked (exit status) from this many scenarios


def years_agreement(engine: tuple, baseline: tuple, members: int) -> dict:
    """Agreement of the engine's and the baseline's multi-year runs: per year, and the persistence.

    ``engine`` and ``baseline`` are (cost, excess) arrays [scenario, year].
    Per year, the z-scores of the means of both statistics (engine vs numpy,
    each vs the exact members × ``cost.mean()`` and members ×
    ``cost.stop_loss(50,000)``: every year has the segment's distribution);
    and the lag-1 correlation of the scenario totals (mean over consecutive
    years), engine vs numpy and vs :func:`lag1_correlation_exact`, as Fisher
    z-scores (standard error of one pair's correlation: conservative for the
    mean).  ``ok``: every |z| below :data:`Z_LIMIT`; ``checked``: whether
    there were at least :data:`MIN_CHECKED_SCENARIOS` scenarios (with fewer,
    the figures are printed but ``ok`` stays True).
    """
    years = engine[0].shape[1]
    per_year = [
        agreement((engine[0][:, t], engine[1][:, t]), (baseline[0][:, t], baseline[1][:, t]), members)
        for t in range(years)
    ]
    n = engine[0].shape[0]
    exact_r = lag1_correlation_exact(years=years)
    r_e, r_b = _lag1(engine[0]), _lag1(baseline[0])
    se = 1.0 / math.sqrt(n - 3) if n > 3 else math.nan
    with np.errstate(all="ignore"):
        z_r = {
            "engine_vs_numpy": (np.arctanh(r_e) - np.arctanh(r_b)) / (math.sqrt(2.0) * se),
            "engine_vs_exact": (np.arctanh(r_e) - np.arctanh(exact_r)) / se,
            "numpy_vs_exact": (np.arctanh(r_b) - np.arctanh(exact_r)) / se,
        }
    zs = [
        abs(v)
        for y in per_year
        for k in ("cost", "excess")
        for key, v in y[k].items()
        if key.startswith("z_")
    ]
    zs += [abs(float(v)) for v in z_r.values()]
    checked = n >= MIN_CHECKED_SCENARIOS
    worst = max(zs) if zs and all(math.isfinite(z) for z in zs) else math.nan
    return {
        "per_year": per_year,
        "lag1_correlation": {
            "exact": exact_r,
            "engine": r_e,
            "numpy": r_b,
            **{f"z_{k}": float(v) for k, v in z_r.items()},
        },
        "max_abs_z": worst,
        "checked": checked,
        "ok": bool((not checked) or (math.isfinite(worst) and worst < Z_LIMIT)),
    }


# ---------------------------------------------------------------------------------------------
# measurements


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def throughput(members: int, scenarios: int, *, threads: int, repeat: int, seed: int = 1) -> dict:
    """Best times of the numpy baseline and of both samplers on 1 and ``threads`` threads, in interleaved rounds.

    Runs, in this order in every round: ``numpy`` (:func:`numpy_run`), then
    for n in (1, ``threads``) ``scalar_n`` and ``vector_n`` (:func:`engine_run`
    with ``sampler="scalar"``, the engine before the vectorised path, and
    ``sampler="vector"``, the default); the best of ``repeat`` rounds is kept.
    Ratios: each run ÷ numpy (``vs_numpy``), vector ÷ scalar at the same
    thread count (``vector_vs_scalar``), each sampler's 1 → ``threads``
    scaling (``scaling``).  ``agreement``: each sampler's last ``threads``-
    thread run against the last numpy run (:func:`agreement`); ``ok`` when
    both agree.  ``bitwise_different``: the two samplers gave different
    numbers (they should: same distribution, different draws), a check that
    the sampler option took effect.
    """
    tcounts = tuple(dict.fromkeys((1, threads)))
    runs = {"numpy": lambda: numpy_run(members, scenarios, seed=seed)}
    for n in tcounts:
        for s in SAMPLERS:
            runs[f"{s}_{n}"] = lambda n=n, s=s: engine_run(
                members, scenarios, threads=n, seed=seed, sampler=s
            )
    best = dict.fromkeys(runs, math.inf)
    last = {}
    for _ in range(repeat):
        for name, fn in runs.items():
            t, last[name] = _timed(fn)
            best[name] = min(best[name], t)
    member_years = members * scenarios
    rate = {k: member_years / t for k, t in best.items()}
    agree = {s: agreement(last[f"{s}_{threads}"], last["numpy"], members) for s in SAMPLERS}
    agree["ok"] = all(agree[s]["ok"] for s in SAMPLERS)
    return {
        "members": members,
        "scenarios": scenarios,
        "threads": threads,
        "repeat": repeat,
        "samplers": list(SAMPLERS),
        "default_sampler": default_sampler(),
        "seconds": best,
        "member_years_per_s": rate,
        "vs_numpy": {k: rate[k] / rate["numpy"] for k in runs if k != "numpy"},
        "vector_vs_scalar": {f"{n}_thread": rate[f"vector_{n}"] / rate[f"scalar_{n}"] for n in tcounts},
        "scaling": {s: rate[f"{s}_{threads}"] / rate[f"{s}_1"] for s in SAMPLERS},
        "agreement": agree,
        "bitwise_different": not all(
            np.array_equal(a, b)
            for a, b in zip(last[f"vector_{threads}"], last[f"scalar_{threads}"], strict=True)
        ),
    }


def multi_year_throughput(
    members: int, scenarios: int, *, years: int, threads: int, repeat: int, seed: int = 1
) -> dict:
    """The 5-year run against the single-year engine and the multi-year numpy baseline, in interleaved rounds.

    The standard workload over ``years`` years at ``scenarios`` scenarios,
    against the single-year standard workload at ``scenarios × years``
    scenarios: the same member-years.  Per round: the multi-year numpy
    baseline (:func:`numpy_years_run`), then on 1 thread and on ``threads``
    the single-year engine with the default sampler (``single_n``) and with
    ``sampler="scalar"`` (``single_scalar_n``) and the multi-year engine
    (``years_n``; multi-year runs draw with the scalar kernel whatever the
    sampler); the best of ``repeat`` rounds is kept.  Ratios: the multi-year
    engine's member-years per second to the single-year engine's (same
    thread count; ``years_vs_single`` with the default sampler, the target's,
    and ``years_vs_single_scalar``) and to the numpy baseline's, and its
    1 → ``threads`` scaling.
    """
    tcounts = tuple(dict.fromkeys((1, threads)))
    runs = {"numpy_years": lambda: numpy_years_run(members, scenarios, years=years, seed=seed)}
    for t in tcounts:
        runs[f"single_{t}"] = lambda t=t: engine_run(members, scenarios * years, threads=t, seed=seed)
        runs[f"single_scalar_{t}"] = lambda t=t: engine_run(
            members, scenarios * years, threads=t, seed=seed, sampler="scalar"
        )
        runs[f"years_{t}"] = lambda t=t: engine_years_run(
            members, scenarios, years=years, threads=t, seed=seed
        )
    best = dict.fromkeys(runs, math.inf)
    best_cpu = dict.fromkeys(runs, math.inf)
    last = {}
    for _ in range(repeat):
        for name, fn in runs.items():
            cpu = time.process_time()
            t, last[name] = _timed(fn)
            best_cpu[name] = min(best_cpu[name], time.process_time() - cpu)
            best[name] = min(best[name], t)
    member_years = members * scenarios * years
    rate = {k: member_years / t for k, t in best.items()}
    # the same on the process's CPU time (all its threads): the work done, much less sensitive than
    # wall time to other jobs on the machine (a figure of its own, not the target's)
    cpu_rate = {k: member_years / t for k, t in best_cpu.items()}
    return {
        "members": members,
        "scenarios": scenarios,
        "years": years,
        "single_year_scenarios": scenarios * years,
        "threads": threads,
        "repeat": repeat,
        "seconds": best,
        "member_years_per_s": rate,
        "single_year_sampler": default_sampler(),
        "years_vs_single": {f"{t}_thread": rate[f"years_{t}"] / rate[f"single_{t}"] for t in tcounts},
        "years_vs_single_scalar": {
            f"{t}_thread": rate[f"years_{t}"] / rate[f"single_scalar_{t}"] for t in tcounts
        },
        "years_vs_numpy": {f"{t}_thread": rate[f"years_{t}"] / rate["numpy_years"] for t in tcounts},
        "scaling": rate[f"years_{threads}"] / rate["years_1"],
        "single_scaling": rate[f"single_{threads}"] / rate["single_1"],
        "cpu_seconds": best_cpu,
        "cpu_years_vs_single": {
            f"{t}_thread": cpu_rate[f"years_{t}"] / cpu_rate[f"single_{t}"] for t in tcounts
        },
        "cpu_years_vs_numpy": {
            f"{t}_thread": cpu_rate[f"years_{t}"] / cpu_rate["numpy_years"] for t in tcounts
        },
        "agreement": years_agreement(last[f"years_{threads}"], last["numpy_years"], members),
    }


def five_model_years(
    members: int, scenarios: int, *, years: int, threads: int, repeat: int, seed: int = 1
) -> dict:
    """:func:`vbcsim.compare` of the five models over ``years`` years against one year, at the same member-years.

    The provider panel of ``members`` (the five models with
    ``third_party={"other_practices": 0}``: the panel's members only, as the
    like-for-like row of :func:`five_model`), default scenario risk:

    - *one year*: ``scenarios × years`` scenarios;
    - *``years`` years*: ``scenarios`` scenarios, ``years=years``, the presets'
      fixed benchmarks;
    - *``years`` years with an agreement*: the same with
      ``agreement=vbcsim.Agreement(length=3)``, which also simulates the
      agreement's 3 baseline years before the first performance year (so
      ``years + 3`` simulated years per scenario).

    Best of ``repeat`` interleaved rounds; ratios to the one-year run.
    """
    panel = defaults.provider_panel(members)
    models = vbcsim.partnership_models(panel, third_party={"other_practices": 0})
    agree = vbcsim.Agreement(length=3)

    def run(**kw):
        return lambda: vbcsim.compare(panel, models, seed=seed, threads=threads, **kw)

    runs = {
        "one_year": run(n_scenarios=scenarios * years),
        "years": run(n_scenarios=scenarios, years=years),
        "years_agreement": run(n_scenarios=scenarios, years=years, agreement=agree),
    }
    best = dict.fromkeys(runs, math.inf)
    for _ in range(repeat):
        for name, fn in runs.items():
            best[name] = min(best[name], _timed(fn)[0])
    return {
        "members": panel.members,
        "scenarios": scenarios,
        "years": years,
        "one_year_scenarios": scenarios * years,
        "agreement_baseline_years": agree.baseline_years,
        "threads": threads,
        "repeat": repeat,
        "seconds": best,
        "years_over_one_year": best["years"] / best["one_year"],
        "years_agreement_over_one_year": best["years_agreement"] / best["one_year"],
    }


def baseline_variants(members: int, scenarios: int, *, repeat: int) -> dict:
    """Member-years per second of the numpy forms tried (``--baseline-variants``)."""
    forms = {
        "lognormal per scenario (np.maximum)": lambda: numpy_run_per_scenario(members, scenarios),
        "chunked stream, 2^14": lambda: numpy_run(members, scenarios, chunk=1 << 14),
        "chunked stream, 2^16 (used)": lambda: numpy_run(members, scenarios, chunk=1 << 16),
        "chunked stream, 2^18": lambda: numpy_run(members, scenarios, chunk=1 << 18),
    }
    out = {}
    for name, fn in forms.items():
        out[name] = members * scenarios / min(_timed(fn)[0] for _ in range(repeat))
    return out


def five_model(
    members: int, scenarios: int, *, threads: int, repeat: int, pool_repeat: int = 1, seed: int = 1
) -> dict:
    """Times of :func:`vbcsim.compare` on the provider panel: five models (with and without model 3's pool), one, none.

    Best of ``repeat`` interleaved rounds; the five models with model 3's pool
    (five times the members, the longest run by far) run in the first
    ``pool_repeat`` rounds only.
    """
    panel = defaults.provider_panel(members)
    with_pool = vbcsim.partnership_models(panel)
    eight = vbcsim.partnership_models(panel, which="all")  # the five and the three payer-led models
    no_pool = vbcsim.partnership_models(panel, third_party={"other_practices": 0})
    first = next(iter(no_pool))
    runs = {
        "five": lambda: vbcsim.compare(panel, with_pool, n_scenarios=scenarios, seed=seed, threads=threads),
        "eight": lambda: vbcsim.compare(panel, eight, n_scenarios=scenarios, seed=seed, threads=threads),
        "five_no_pool": lambda: vbcsim.compare(
            panel, no_pool, n_scenarios=scenarios, seed=seed, threads=threads
        ),
        "one": lambda: vbcsim.compare(
            panel, {first: no_pool[first]}, n_scenarios=scenarios, seed=seed, threads=threads
        ),
        "none": lambda: vbcsim.simulate(
            panel, n_scenarios=scenarios, seed=seed, scenario_risk=DEFAULT_SCENARIO_RISK, threads=threads
        ),
    }
    best = dict.fromkeys(runs, math.inf)
    for r in range(max(repeat, pool_repeat)):
        for name, fn in runs.items():
            if r < (pool_repeat if name in ("five", "eight") else repeat):
                best[name] = min(best[name], _timed(fn)[0])
    pool_members = sum(s.members for arr in with_pool.values() for s in arr.pool)
    return {
        "members": panel.members,
        "scenarios": scenarios,
        "threads": threads,
        "repeat": repeat,
        "pool_repeat": pool_repeat,
        "one_model": first,
        "simulated_members": {"five": panel.members + pool_members, "five_no_pool": panel.members},
        "seconds": best,
        "five_over_one": best["five_no_pool"] / best["one"],
        "five_with_pool_over_one": best["five"] / best["one"],
        "eight_over_five": best["eight"] / best["five"],
        "models_in_eight": len(eight),
        "one_over_none": best["one"] / best["none"],
    }


# ---------------------------------------------------------------------------------------------
# child processes: first-call times and peak memory


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset this process's peak resident set (VmHWM) to its current size; False where Linux won't."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    hwm, rss = _status_kb("VmHWM"), _status_kb("VmRSS")
    return hwm is not None and rss is not None and hwm <= rss + 64


def _ru_maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux


def _measurement(spec: dict):
    kind, members, scenarios = spec["kind"], spec["members"], spec["scenarios"]
    if kind == "engine":
        return vbcsim.simulate(
            standard_population(members),
            n_scenarios=scenarios,
            seed=1,
            attachments=[ATTACHMENT],
            threads=spec["threads"],
        )
    if kind == "numpy":
        return numpy_run(members, scenarios)
    if kind == "engine_years":
        return vbcsim.simulate(
            standard_population(members),
            n_scenarios=scenarios,
            seed=1,
            attachments=[ATTACHMENT],
            threads=spec["threads"],
            years=spec["years"],
        )
    if kind == "numpy_years":
        return numpy_years_run(members, scenarios, years=spec["years"])
    if kind == "calibration":  # touch ``members`` MiB: the method should report about that growth
        return np.ones(members * 2**17)
    raise ValueError(f"unknown measurement kind {kind!r}")


def _nbytes(result) -> int:
    if isinstance(result, tuple):
        return sum(r.nbytes for r in result)
    return int(result.nbytes)  # an xarray Dataset


def child_main(spec: dict, import_s: float) -> dict:
    """What a child process measures, after ``import vbcsim`` took ``import_s`` seconds.

    First-call times (a tiny :func:`vbcsim.simulate` with an attachment, then
    a tiny five-model :func:`vbcsim.compare`): these compile the kernels or
    load them from numba's cache.  Then, for each of ``spec["measurements"]``,
    the peak memory growth: after a garbage collection the kernel's record of
    the peak resident set (VmHWM) is reset to the current one
    (``/proc/self/clear_refs``), the measurement runs, and the growth is the
    new peak minus the resident set before.  Where the reset is unavailable
    (not Linux) ``reset`` is False and the parent falls back to one child per
    measurement (see :func:`memory`).
    """
    threads = spec["threads"]
    out = {"import_s": import_s}
    t, _ = _timed(
        lambda: vbcsim.simulate(
            standard_population(100), n_scenarios=4, seed=1, attachments=[ATTACHMENT], threads=threads
        )
    )
    out["first_simulate_s"] = t
    panel = defaults.provider_panel(300)
    t, _ = _timed(lambda: vbcsim.compare(panel, n_scenarios=8, seed=1, threads=threads))
    out["first_compare_s"] = t
    numpy_run(100, 4)  # numpy's own first-call costs, outside any measurement
    if any(m["kind"].endswith("_years") for m in spec.get("measurements", [])):
        # the multi-year kernel's first call (cache load or compilation), outside any measurement
        engine_years_run(100, 2, years=2, threads=threads)
        numpy_years_run(100, 2, years=2)
    gc.collect()
    out["rss_mb"] = (_status_kb("VmRSS") or 0) / 1024
    out["reset"] = _reset_peak()
    results = []
    for m in spec.get("measurements", []):
        gc.collect()
        _reset_peak()
        before = _status_kb("VmRSS")
        result = _measurement(m)
        peak = _status_kb("VmHWM")
        row = {**m, "output_mb": _nbytes(result) / 2**20, "ru_maxrss_mb": _ru_maxrss_mb()}
        if out["reset"] and before is not None and peak is not None:
            row["growth_mb"] = (peak - before) / 1024
        del result
        results.append(row)
    out["ru_maxrss_mb"] = _ru_maxrss_mb()
    out["measurements"] = results
    return out


_CHILD_BOOT = """\
import json, sys, time
t0 = time.perf_counter()
import vbcsim
import_s = time.perf_counter() - t0
import importlib.util
spec = importlib.util.spec_from_file_location("_vbcsim_bench_compare", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
print("CHILD-RESULT " + json.dumps(mod.child_main(json.loads(sys.argv[2]), import_s)))
"""


def run_child(spec: dict, env: dict | None = None) -> dict:
    """Run :func:`child_main` in a fresh interpreter (with ``env`` added to the environment)."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD_BOOT, os.path.abspath(__file__), json.dumps(spec)],
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("CHILD-RESULT "):
            return json.loads(line[len("CHILD-RESULT ") :])
    raise RuntimeError(f"benchmark child failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def years_sizes(cfg: dict) -> dict:
    """Scenario counts of the multi-year runs: a ``years``-th of their single-year counterparts'.

    So a multi-year run simulates the member-years of the single-year run it
    is compared with (the standard workload: 400 scenarios × 5 years against
    2,000 × 1).
    """
    y = cfg["years"]
    return {
        "scenarios": max(1, cfg["scenarios"] // y),
        "five_scenarios": max(1, cfg["five_scenarios"] // y),
        "flat_scenarios": max(1, cfg["flat_scenarios"] // y),
    }


def memory_specs(cfg: dict, threads: int, multi_year: bool = True) -> list[dict]:
    """The memory measurements: the standard workload and members-flatness (engine, numpy), and a calibration.

    With ``multi_year``, also the 5-year run: the standard workload at a
    ``years``-th of the scenarios (engine and numpy) and members-flatness of
    the engine (10 thousand vs 10 million members, a ``years``-th of the
    flatness scenarios: the same member-years and output size as the
    single-year flatness rows).  A member × year × scenario array, or a
    member × year one, would show there: 10 million members × 5 years of
    float64 is 400 MB.

    The calibration allocates and fills a 64 MiB array: the method must report
    a growth of about 64 MB for it.
    """
    specs = [
        {"label": "standard", "kind": kind, "members": cfg["members"], "scenarios": cfg["scenarios"]}
        for kind in ("engine", "numpy")
    ]
    for kind in ("engine", "numpy"):
        for size in ("small", "large"):
            specs.append(
                {
                    "label": f"flat_{size}",
                    "kind": kind,
                    "members": cfg[f"{size}_members"],
                    "scenarios": cfg["flat_scenarios"],
                }
            )
    if multi_year:
        ys = years_sizes(cfg)
        for kind in ("engine_years", "numpy_years"):
            specs.append(
                {
                    "label": "years_standard",
                    "kind": kind,
                    "members": cfg["members"],
                    "scenarios": ys["scenarios"],
                }
            )
        for size in ("small", "large"):
            specs.append(
                {
                    "label": f"years_flat_{size}",
                    "kind": "engine_years",
                    "members": cfg[f"{size}_members"],
                    "scenarios": ys["flat_scenarios"],
                }
            )
    specs.append({"label": "calibration", "kind": "calibration", "members": 64, "scenarios": 0})
    for s in specs:
        s["threads"] = threads
        s["years"] = cfg["years"] if s["kind"].endswith("_years") else 1
    return specs


def memory(specs: list[dict], threads: int) -> dict:
    """Peak memory growth of each measurement, and the warm-cache first-call times (one child process).

    Method ``vmhwm-reset`` (Linux): one child, the peak reset before each
    measurement (:func:`child_main`).  Fallback ``ru_maxrss-difference``: one
    child per measurement, each reporting its ``ru_maxrss`` (its peak resident
    set), minus that of a child that only imports and makes the first calls.
    A transient peak of the imports and first calls (compilation, say) sits in
    both and hides up to its own size of a measurement's growth, so the
    fallback is a lower bound.  The environment variable
    ``VBCSIM_BENCH_MEMORY=ru_maxrss`` forces it.
    """
    child = run_child({"threads": threads, "measurements": specs})
    if child["reset"] and os.environ.get("VBCSIM_BENCH_MEMORY") != "ru_maxrss":
        method, rows = "vmhwm-reset", child["measurements"]
    else:
        method = "ru_maxrss-difference"
        base = run_child({"threads": threads, "measurements": []})["ru_maxrss_mb"]
        rows = []
        for s in specs:
            row = run_child({"threads": threads, "measurements": [s]})["measurements"][0]
            row["growth_mb"] = max(row["ru_maxrss_mb"] - base, 0.0)
            rows.append(row)
    return {
        "method": method,
        "interpreter_rss_mb": child["rss_mb"],
        "rows": rows,
        "warm_first_call": {k: child[k] for k in ("import_s", "first_simulate_s", "first_compare_s")},
    }


def cold_first_call(threads: int) -> dict:
    """First-call times in a child whose numba cache is an empty temporary directory (everything compiles)."""
    cache = tempfile.mkdtemp(prefix="vbcsim-numba-cache-")
    try:
        child = run_child({"threads": threads, "measurements": []}, env={"NUMBA_CACHE_DIR": cache})
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {k: child[k] for k in ("import_s", "first_simulate_s", "first_compare_s")}


# ---------------------------------------------------------------------------------------------
# report


def _count(n: int) -> str:
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % div == 0:
            return f"{n // div}{suffix}"
    return f"{n:,}"


def _mb(x) -> str:
    return "n/a" if x is None else f"{x:,.1f} MB"


def _row(*cells, widths=(46, 12, 14, 12)) -> str:
    out = []
    for k, (c, w) in enumerate(zip(cells, widths, strict=False)):
        out.append(f"{c:<{w}}" if k == 0 else f"{c:>{w}}")
    return "  ".join(out).rstrip()


def targets(report: dict) -> list[dict]:
    """Each target of the performance issue: the figure measured, the target and whether it is met."""
    rows = []
    tp = report.get("throughput")
    if tp:
        t = tp["threads"]
        ratio = tp["vector_vs_scalar"][f"{t}_thread"]
        rows.append(
            {
                "figure": f"vector / scalar sampler, {t} threads",
                "target": f">= {TARGETS['vector_vs_scalar']}x",
                "measured": ratio,
                "met": ratio >= TARGETS["vector_vs_scalar"],
                "unit": "x",
            }
        )
        ratio = tp["vs_numpy"][f"vector_{t}"]
        rows.append(
            {
                "figure": f"vector ({t} threads) / numpy baseline",
                "target": f">= {TARGETS['vector_vs_numpy']}x",
                "measured": ratio,
                "met": ratio >= TARGETS["vector_vs_numpy"],
                "unit": "x",
            }
        )
        rate = tp["member_years_per_s"][f"{tp['default_sampler']}_{t}"]
        rows.append(
            {
                "figure": f"{tp['default_sampler']} member-years/s, {t} threads",
                "target": f">= {TARGETS['member_years_per_s_2_threads'] / 1e6:.0f} M",
                "measured": rate / 1e6,
                "met": rate >= TARGETS["member_years_per_s_2_threads"],
                "unit": " M",
            }
        )
        rows.append(
            {
                "figure": f"vector scaling 1 -> {t} threads",
                "target": f">= {TARGETS['scaling_1_to_2']}x",
                "measured": tp["scaling"]["vector"],
                "met": tp["scaling"]["vector"] >= TARGETS["scaling_1_to_2"],
                "unit": "x",
            }
        )
    mem = report.get("memory")
    if mem:
        grow = {(r["label"], r["kind"]): r.get("growth_mb") for r in mem["rows"]}
        sizes = {r["label"]: r["members"] for r in mem["rows"]}
        std = grow.get(("standard", "engine"))
        if std is not None:
            rows.append(
                {
                    "figure": "peak memory growth, standard workload",
                    "target": f"< {TARGETS['memory_standard_mb']:.0f} MB",
                    "measured": std,
                    "met": std < TARGETS["memory_standard_mb"],
                    "unit": " MB",
                }
            )
        small, large = grow.get(("flat_small", "engine")), grow.get(("flat_large", "engine"))
        if small is not None and large is not None:
            rows.append(
                {
                    "figure": f"memory {_count(sizes['flat_large'])} - {_count(sizes['flat_small'])} members",
                    "target": f"<= {FLAT_TOLERANCE_MB:.0f} MB",
                    "measured": large - small,
                    "met": large - small <= FLAT_TOLERANCE_MB,
                    "unit": " MB",
                }
            )
    my = report.get("multi_year")
    if my:
        for key, ratio in my["years_vs_single"].items():
            n = key.split("_")[0]
            rows.append(
                {
                    "figure": f"{my['years']}-year / 1-year ({my['single_year_sampler']}) m-y/s, {n} thr",
                    "target": f">= {TARGETS['multi_year_vs_single']}x",
                    "measured": ratio,
                    "met": ratio >= TARGETS["multi_year_vs_single"],
                    "unit": "x",
                }
            )
    if mem:
        small, large = (
            grow.get(("years_flat_small", "engine_years")),
            grow.get(("years_flat_large", "engine_years")),
        )
        if small is not None and large is not None:
            rows.append(
                {
                    "figure": f"memory {_count(sizes['years_flat_large'])} - "
                    f"{_count(sizes['years_flat_small'])} members, multi-year",
                    "target": f"<= {FLAT_TOLERANCE_MB:.0f} MB",
                    "measured": large - small,
                    "met": large - small <= FLAT_TOLERANCE_MB,
                    "unit": " MB",
                }
            )
    five = report.get("five_model")
    if five:
        rows.append(
            {
                "figure": "five models / one model (no pool)",
                "target": f"< {TARGETS['five_over_one']}x",
                "measured": five["five_over_one"],
                "met": five["five_over_one"] < TARGETS["five_over_one"],
                "unit": "x",
            }
        )
        rows.append(
            {
                "figure": f"all {five['models_in_eight']} models / the five",
                "target": f"< {TARGETS['eight_over_five']}x",
                "measured": five["eight_over_five"],
                "met": five["eight_over_five"] < TARGETS["eight_over_five"],
                "unit": "x",
            }
        )
    return rows


def render(report: dict) -> str:
    """The report as a plain-text table."""
    lines = []
    m = report["machine"]
    lines.append(
        f"vbcsim {m['vbcsim']} benchmark ({report['mode']}): {m['cpus']} CPUs, python {m['python']}, "
        f"numpy {m['numpy']}, numba {m['numba']}"
    )
    first = report["first_call_this_process_s"]
    lines.append(f"first call in this process (numba cache as found): {first:.2f} s")
    if "first_multi_year_call_this_process_s" in report:
        lines.append(
            f"first multi-year call in this process: {report['first_multi_year_call_this_process_s']:.2f} s"
        )
    tp = report.get("throughput")
    if tp:
        t = tp["threads"]
        lines.append("")
        lines.append(
            f"Standard workload: {tp['members']:,} members, Hurdle(0.8, Lognormal mean 6,000 CV 3), "
            f"Σ(X - 50,000)+, {tp['scenarios']:,} scenarios (best of {tp['repeat']} interleaved rounds; "
            f"the engine's default sampler: {tp['default_sampler']})"
        )
        widths = (46, 10, 14, 10, 10)
        lines.append(_row("", "time", "member-yrs/s", "vs numpy", "vs scalar", widths=widths))
        rate = tp["member_years_per_s"]
        lines.append(
            _row(
                "numpy baseline (1 thread)",
                f"{tp['seconds']['numpy']:.3f} s",
                f"{rate['numpy'] / 1e6:,.1f} M",
                "1.00x",
                "",
                widths=widths,
            )
        )
        for s in tp["samplers"]:
            for n in dict.fromkeys((1, t)):
                key = f"{s}_{n}"
                lines.append(
                    _row(
                        f"{SAMPLER_LABEL.get(s, s)}, {n} thread" + ("s" if n > 1 else ""),
                        f"{tp['seconds'][key]:.3f} s",
                        f"{rate[key] / 1e6:,.1f} M",
                        f"{tp['vs_numpy'][key]:.2f}x",
                        f"{tp['vector_vs_scalar'][f'{n}_thread']:.2f}x" if s == "vector" else "",
                        widths=widths,
                    )
                )
        lines.append(
            _row(
                f"scaling 1 -> {t} threads: vector (scalar)",
                "",
                "",
                f"{tp['scaling']['vector']:.2f}x",
                f"({tp['scaling']['scalar']:.2f}x)",
                widths=widths,
            )
        )
        for s in tp["samplers"]:
            ag = tp["agreement"][s]
            lines.append(
                "agreement, {} sampler (z-scores of means; |z| < {:.0f}): cost {}-numpy {:+.2f}, "
                "{}-exact {:+.2f}, numpy-exact {:+.2f}; excess {:+.2f}, {:+.2f}, {:+.2f}; sd ratio to numpy "
                "{:.3f}, {:.3f} -> {}".format(
                    s,
                    Z_LIMIT,
                    s,
                    ag["cost"]["z_engine_vs_numpy"],
                    s,
                    ag["cost"]["z_engine_vs_exact"],
                    ag["cost"]["z_numpy_vs_exact"],
                    ag["excess"]["z_engine_vs_numpy"],
                    ag["excess"]["z_engine_vs_exact"],
                    ag["excess"]["z_numpy_vs_exact"],
                    ag["cost"]["sd_ratio"],
                    ag["excess"]["sd_ratio"],
                    "agree" if ag["ok"] else "DISAGREE",
                )
            )
        lines.append(
            "the two samplers' numbers differ bitwise (same distribution, other draws): "
            + ("yes" if tp["bitwise_different"] else "NO (was the sampler option ignored?)")
        )
    my = report.get("multi_year")
    if my:
        t = my["threads"]
        lines.append("")
        lines.append(
            f"{my['years']}-year run: the standard workload, {my['members']:,} members persisting over "
            f"{my['years']} years, {my['scenarios']:,} scenarios, against one year at "
            f"{my['single_year_scenarios']:,} (the same member-years; best of {my['repeat']} interleaved rounds)"
        )
        widths = (46, 12, 14, 12, 12)
        lines.append(_row("", "time", "member-yrs/s", "vs 1 year", "vs numpy", widths=widths))
        rate, sec = my["member_years_per_s"], my["seconds"]
        lines.append(
            _row(
                f"numpy baseline, {my['years']} years (1 thread)",
                f"{sec['numpy_years']:.3f} s",
                f"{rate['numpy_years'] / 1e6:,.1f} M",
                "",
                "1.00x",
                widths=widths,
            )
        )
        for n in dict.fromkeys((1, t)):
            thr = f"{n} thread" + ("s" if n > 1 else "")
            lines.append(
                _row(
                    f"engine, 1 year, {my['single_year_sampler']}, {thr}",
                    f"{sec[f'single_{n}']:.3f} s",
                    f"{rate[f'single_{n}'] / 1e6:,.1f} M",
                    "1.00x",
                    "",
                    widths=widths,
                )
            )
            lines.append(
                _row(
                    f"engine, 1 year, scalar, {thr}",
                    f"{sec[f'single_scalar_{n}']:.3f} s",
                    f"{rate[f'single_scalar_{n}'] / 1e6:,.1f} M",
                    f"{rate[f'single_scalar_{n}'] / rate[f'single_{n}']:.2f}x",
                    "",
                    widths=widths,
                )
            )
            lines.append(
                _row(
                    f"engine, {my['years']} years, {thr}",
                    f"{sec[f'years_{n}']:.3f} s",
                    f"{rate[f'years_{n}'] / 1e6:,.1f} M",
                    f"{my['years_vs_single'][f'{n}_thread']:.2f}x",
                    f"{my['years_vs_numpy'][f'{n}_thread']:.2f}x",
                    widths=widths,
                )
            )
        lines.append(
            _row(
                f"scaling 1 -> {t} threads: {my['years']} years (1 year)",
                "",
                "",
                f"{my['scaling']:.2f}x",
                f"({my['single_scaling']:.2f}x)",
                widths=widths,
            )
        )
        lines.append(
            "{} years (the default sampler's multi-year kernel) / 1 year with the scalar sampler: {}".format(
                my["years"],
                ", ".join(
                    f"{v:.2f}x ({k.split('_')[0]} thr)" for k, v in my["years_vs_single_scalar"].items()
                ),
            )
        )
        cy, cn = my["cpu_years_vs_single"], my["cpu_years_vs_numpy"]
        lines.append(
            "on CPU time (all threads; less sensitive to other jobs): {} years / 1 year {}; "
            "{} years / numpy {}".format(
                my["years"],
                ", ".join(f"{v:.2f}x ({k.split('_')[0]} thr)" for k, v in cy.items()),
                my["years"],
                ", ".join(f"{v:.2f}x ({k.split('_')[0]} thr)" for k, v in cn.items()),
            )
        )
        ag = my["agreement"]

        def zmax(k, key):
            return max(abs(y[k][key]) for y in ag["per_year"])

        lc = ag["lag1_correlation"]
        verdict = (
            ("agree" if ag["ok"] else "DISAGREE")
            if ag["checked"]
            else (f"unchecked: fewer than {MIN_CHECKED_SCENARIOS} scenarios")
        )
        lines.append(
            "agreement per year (largest |z| over the years; |z| < {:.0f}): cost engine-numpy {:.2f}, "
            "engine-exact {:.2f}, numpy-exact {:.2f}; excess {:.2f}, {:.2f}, {:.2f}".format(
                Z_LIMIT,
                zmax("cost", "z_engine_vs_numpy"),
                zmax("cost", "z_engine_vs_exact"),
                zmax("cost", "z_numpy_vs_exact"),
                zmax("excess", "z_engine_vs_numpy"),
                zmax("excess", "z_engine_vs_exact"),
                zmax("excess", "z_numpy_vs_exact"),
            )
        )
        lines.append(
            f"year-to-year correlation of scenario totals: engine {lc['engine']:.3f}, numpy {lc['numpy']:.3f}, "
            f"exact {lc['exact']:.3f} (z {lc['z_engine_vs_numpy']:+.2f}, {lc['z_engine_vs_exact']:+.2f}, "
            f"{lc['z_numpy_vs_exact']:+.2f}) -> {verdict}"
        )
    variants = report.get("baseline_variants")
    if variants:
        lines.append("")
        lines.append("numpy forms tried (member-years/s):")
        for name, rate in variants.items():
            lines.append(_row(f"  {name}", "", f"{rate / 1e6:,.1f} M"))
    mem = report.get("memory")
    if mem:
        lines.append("")
        lines.append(
            f"Peak memory growth beyond the interpreter ({mem['method']}; the engine's default sampler; "
            f"child at {mem['interpreter_rss_mb']:,.0f} MB after imports and first calls)"
        )
        lines.append(_row("", "members", "scenarios", "growth", "output", widths=(36, 12, 10, 12, 12)))
        for r in mem["rows"]:
            if r["kind"] == "calibration":
                lines.append(
                    _row(
                        f"calibration: {r['members']} MiB array",
                        "",
                        "",
                        _mb(r.get("growth_mb")),
                        _mb(r["output_mb"]),
                        widths=(36, 12, 10, 12, 12),
                    )
                )
                continue
            label = {
                "standard": "standard workload",
                "flat_small": "flatness",
                "flat_large": "flatness",
                "years_standard": "standard workload",
                "years_flat_small": "flatness",
                "years_flat_large": "flatness",
            }[r["label"]]
            if r["kind"].endswith("_years"):
                label = f"{r['kind'][: -len('_years')]}, {r['years']} years, {label}"
            else:
                label = f"{r['kind']}, {label}"
            lines.append(
                _row(
                    label,
                    f"{r['members']:,}",
                    f"{r['scenarios']:,}",
                    _mb(r.get("growth_mb")),
                    _mb(r["output_mb"]),
                    widths=(36, 12, 10, 12, 12),
                )
            )
    five = report.get("five_model")
    if five:
        s = five["seconds"]
        lines.append("")
        lines.append(
            f"Five-model comparison: provider panel {five['members']:,} members, {five['scenarios']:,} scenarios, "
            f"{five['threads']} threads, the default sampler (best of {five['repeat']}; with the pool, "
            f"of {five['pool_repeat']})"
        )
        sim = five["simulated_members"]
        lines.append(
            _row(
                f"five models, model 3 pools 4 other practices ({sim['five']:,} simulated)",
                f"{s['five']:.2f} s",
                f"{s['five'] / s['one']:.2f}x one",
                widths=(70, 10, 12),
            )
        )
        lines.append(
            _row(
                f"five models, third_party other_practices=0 ({sim['five_no_pool']:,} simulated)",
                f"{s['five_no_pool']:.2f} s",
                f"{five['five_over_one']:.2f}x one",
                widths=(70, 10, 12),
            )
        )
        lines.append(
            _row(
                f"all {five['models_in_eight']} models: the five and the payer-led care models",
                f"{s['eight']:.2f} s",
                f"{five['eight_over_five']:.2f}x five",
                widths=(70, 10, 12),
            )
        )
        lines.append(
            _row(f"one model alone ({five['one_model']})", f"{s['one']:.2f} s", "", widths=(70, 10, 12))
        )
        lines.append(
            _row(
                "the panel's cost only, no models",
                f"{s['none']:.2f} s",
                f"{s['none'] / s['one']:.2f}x one",
                widths=(70, 10, 12),
            )
        )
    fy = report.get("five_model_years")
    if fy:
        s = fy["seconds"]
        y = fy["years"]
        lines.append("")
        lines.append(
            f"Five models, {y} years: provider panel {fy['members']:,} members (other_practices=0), "
            f"{fy['threads']} threads, against one year at the same member-years (best of {fy['repeat']})"
        )
        lines.append(
            _row(
                f"one year, {fy['one_year_scenarios']:,} scenarios",
                f"{s['one_year']:.2f} s",
                "1.00x",
                widths=(70, 10, 12),
            )
        )
        lines.append(
            _row(
                f"{y} years, {fy['scenarios']:,} scenarios, the presets' fixed benchmarks",
                f"{s['years']:.2f} s",
                f"{fy['years_over_one_year']:.2f}x",
                widths=(70, 10, 12),
            )
        )
        lines.append(
            _row(
                f"{y} years, Agreement(length=3) (+{fy['agreement_baseline_years']} baseline years simulated)",
                f"{s['years_agreement']:.2f} s",
                f"{fy['years_agreement_over_one_year']:.2f}x",
                widths=(70, 10, 12),
            )
        )
    lines.append("")
    lines.append("First call (a tiny simulate, then a tiny five-model compare) in a fresh process:")
    for key, label in (
        ("warm_first_call", "warm numba cache"),
        ("cold_first_call", "cold cache (NUMBA_CACHE_DIR empty)"),
    ):
        fc = report.get(key) or (report.get("memory") or {}).get(key)
        if fc:
            lines.append(
                f"  {label}: import {fc['import_s']:.2f} s, first simulate {fc['first_simulate_s']:.2f} s, "
                f"first compare {fc['first_compare_s']:.2f} s"
            )
        elif key == "cold_first_call":
            lines.append(f"  {label}: skipped (pass --cold)")
    rows = report.get("targets") or []
    if rows:
        lines.append("")
        note = " (quick sizes: indicative only)" if report["mode"] == "quick" else ""
        lines.append(f"Targets (2 cores){note}:")
        for r in rows:
            lines.append(
                _row(
                    f"  {r['figure']}",
                    r["target"],
                    f"{round(r['measured'], 2) + 0.0:,.2f}{r['unit']}",
                    "met" if r["met"] else "not met",
                    widths=(46, 12, 14, 8),
                )
            )
    return "\n".join(lines)


def write_json(path: str, report: dict) -> None:
    """Write ``report`` as JSON to ``path`` atomically (a temporary file in the same folder, renamed)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".compare-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(report, f, indent=2, default=float)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "vbcsim": vbcsim.__version__,
    }


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options; the sizes default to :data:`FULL`, or :data:`QUICK` with ``--quick``."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds (for CI)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument(
        "--threads", type=int, default=2, help="threads of the multi-threaded runs (default 2)"
    )
    parser.add_argument(
        "--cold",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure the first call with a cold numba cache (default: on, off with --quick)",
    )
    parser.add_argument(
        "--memory",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure peak memory and warm first calls in a child process (default on)",
    )
    parser.add_argument(
        "--five",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the five-model comparison (default on)",
    )
    parser.add_argument(
        "--multi-year",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the multi-year run (--years years, default 5) and the five models over it (default on)",
    )
    parser.add_argument(
        "--baseline-variants",
        action="store_true",
        help="also time the other numpy forms tried for the baseline",
    )
    for key in FULL:
        if key == "cold":
            continue
        parser.add_argument(
            f"--{key.replace('_', '-')}",
            type=int,
            metavar="N",
            help=f"default {FULL[key]:,} ({QUICK[key]:,} with --quick)",
        )
    args = parser.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    for key in cfg:
        value = getattr(args, key)
        if value is not None:
            cfg[key] = value
    for key, value in cfg.items():
        if key != "cold" and value < 1:
            parser.error(f"--{key.replace('_', '-')} must be at least 1, got {value}")
    if cfg["years"] < 2:
        parser.error(f"--years must be at least 2 (a multi-year run), got {cfg['years']}")
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    args.cfg = cfg
    return args


def main(argv=None) -> int:
    """Run the benchmark, print the table (and write JSON); 1 if the engine and numpy disagree."""
    args = parse_args(argv)
    cfg, threads = args.cfg, args.threads
    report = {"mode": "quick" if args.quick else "full", "config": cfg, "machine": _machine()}
    t, _ = _timed(
        lambda: vbcsim.simulate(
            standard_population(100), n_scenarios=4, seed=1, attachments=[ATTACHMENT], threads=threads
        )
    )
    report["first_call_this_process_s"] = t
    for s in SAMPLERS:  # the other sampler's kernel too (cache load or compilation), outside the timings
        engine_run(100, 4, threads=threads, sampler=s)
    numpy_run(100, 4)
    report["throughput"] = throughput(cfg["members"], cfg["scenarios"], threads=threads, repeat=cfg["repeat"])
    if args.baseline_variants:
        report["baseline_variants"] = baseline_variants(
            cfg["members"], cfg["scenarios"], repeat=cfg["repeat"]
        )
    ys = years_sizes(cfg)
    if args.multi_year:
        t, _ = _timed(lambda: engine_years_run(100, 2, years=2, threads=threads))
        report["first_multi_year_call_this_process_s"] = t
        numpy_years_run(100, 2, years=2)
        report["multi_year"] = multi_year_throughput(
            cfg["members"], ys["scenarios"], years=cfg["years"], threads=threads, repeat=cfg["repeat"]
        )
    if args.five:
        report["five_model"] = five_model(
            cfg["five_members"],
            cfg["five_scenarios"],
            threads=threads,
            repeat=cfg["five_repeat"],
            pool_repeat=cfg["five_pool_repeat"],
        )
        if args.multi_year:
            report["five_model_years"] = five_model_years(
                cfg["five_members"],
                ys["five_scenarios"],
                years=cfg["years"],
                threads=threads,
                repeat=cfg["five_years_repeat"],
            )
    if args.memory:
        report["memory"] = memory(memory_specs(cfg, threads, multi_year=args.multi_year), threads)
        report["warm_first_call"] = report["memory"].pop("warm_first_call")
    if cfg["cold"]:
        report["cold_first_call"] = cold_first_call(threads)
    report["targets"] = targets(report)
    print(render(report))
    if args.json:
        write_json(args.json, report)
    status = 0
    if not report["throughput"]["agreement"]["ok"]:
        bad = [s for s in SAMPLERS if not report["throughput"]["agreement"][s]["ok"]]
        print(
            f"ERROR: the engine ({', '.join(bad)} sampler) and the numpy baseline disagree in distribution",
            file=sys.stderr,
        )
        status = 1
    if args.multi_year and not report["multi_year"]["agreement"]["ok"]:
        print(
            "ERROR: the multi-year engine and the multi-year numpy baseline disagree in distribution",
            file=sys.stderr,
        )
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
