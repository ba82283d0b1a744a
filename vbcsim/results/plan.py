"""The plan of a run: its inputs checked, the scenario-level draws made, and the engine's views laid out.

Everything a run needs besides the engine's member draws.  :func:`make_plan` draws the
systematic multiplier, each model's efficiency and the quality score from their own streams
(keyed by the seed, so adding a model leaves the others' draws as they are) and lays out one
engine *view* per model (its cost multiplier, the systematic factor × (1 − efficiency) × the
arrangement's unit-price index, and its attachments); :func:`run_engine` runs the
engine's blocks for that layout on threads or Dask.  Both the in-memory cube
(:mod:`vbcsim.results.cube`) and the streamed store (:mod:`vbcsim.results.store`) start from a plan.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass

import numpy as np

from vbcsim.contracts.arrangement import Quality, as_arrangement
from vbcsim.engine import driver
from vbcsim.population.distributions import Compound, Hurdle
from vbcsim.population.limits import check_simulable
from vbcsim.population.scenario import ScenarioRisk
from vbcsim.population.segments import Population

__all__ = [
    "Plan",
    "make_plan",
    "run_engine",
    "describe",
    "scenario_factors",
    "check_run_size",
    "BACKENDS",
    "MAX_MEMBER_DRAWS",
    "MAX_MEMORY_BYTES",
]


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): a generous fixed figure
        return 64 * 2**30


#: most member draws (members × scenarios × claims per member, summed over the simulated segments,
#: models' pool segments included) a run may take: at about 1.5e7 draws per second per thread,
#: 1e12 draws take some 5 hours on 4 threads.  A larger run is refused up front with the
#: estimate; raise this module constant (``vbcsim.results.plan.MAX_MEMBER_DRAWS``) to allow it.
MAX_MEMBER_DRAWS = 1e12

#: rough engine speed per thread, used only to put a time on the estimate in messages
DRAWS_PER_THREAD_SECOND = 1.5e7

#: most bytes the arrays of a run may take (the engine's statistics and the cube; with ``out``
#: only the scenario-level arrays, the rest is streamed): this machine's physical memory
#: (64 GiB where it cannot be read).  Raise this module constant to allow more.
MAX_MEMORY_BYTES = _physical_memory()


def _claims_per_member(cost) -> float:
    """Draws the engine makes per member: its expected claims for a Compound, else 1."""
    p = 1.0
    if isinstance(cost, Hurdle):
        p, cost = cost.p_nonzero, cost.severity
    if isinstance(cost, Compound):
        return max(1.0, p * cost.frequency.mean())
    return 1.0


def check_run_size(
    simulated, arrangements, n_scenarios, att, *, threads=None, streamed=False, owner="simulate"
):
    """Refuse, before any work, a run that cannot finish (``MAX_MEMBER_DRAWS``) or fit (``MAX_MEMORY_BYTES``).

    ``simulated`` is the population with the models' pool segments.  Every segment's cost must
    be one the engine can simulate (:func:`vbcsim.population.limits.check_simulable`).
    """
    for seg in simulated:
        check_simulable(seg.cost, owner=f"{owner}: segment {seg.name!r} cost")
    draws = float(sum(seg.members * _claims_per_member(seg.cost) for seg in simulated)) * n_scenarios
    if draws > MAX_MEMBER_DRAWS:
        rate = DRAWS_PER_THREAD_SECOND * (threads or 1)
        raise ValueError(
            f"{owner}: {draws:.3g} member draws (about {draws / rate:.2g} s at {rate:.2g} draws/s) is more "
            f"than the limit of {MAX_MEMBER_DRAWS:.3g} (plan.MAX_MEMBER_DRAWS); reduce members or n_scenarios"
        )
    n_seg = len(simulated.segments)
    n_mod = len(arrangements)
    n_views = 1 + n_mod
    width = max([len(att)] + [len(arr.attachments()) for arr in arrangements.values()])
    n_contracts = sum(len(arr.contracts) for arr in arrangements.values())
    # per scenario, in doubles: factors and scenario-level draws, and unless streamed the engine's
    # cost and excess (twice: the engine's arrays and the cube's) and the models' variables
    per_scenario = 2 * n_views + n_mod + 2
    if not streamed:
        per_scenario += 2 * n_seg * n_views * (1 + width) + n_mod * 12 + n_contracts
    need = 8.0 * per_scenario * n_scenarios
    if need > MAX_MEMORY_BYTES:
        raise ValueError(
            f"{owner}: about {need / 2**30:.3g} GiB of arrays for {n_scenarios} scenarios × {n_seg} segments × "
            f"{n_views} views × {width} attachments is more than the limit of {MAX_MEMORY_BYTES / 2**30:.3g} GiB "
            "(plan.MAX_MEMORY_BYTES, this machine's memory); reduce n_scenarios"
            + ("" if streamed else ", or stream the run to a store with out=")
        )


def describe(obj):
    """A JSON-able description of a configuration object (dataclasses, tuples, numbers)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        out = {"type": type(obj).__name__}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if f.metadata.get("omit_default") and value == f.default:
                continue  # a field added later, at its default: the description stays as before
            out[f.metadata.get("name", f.name)] = describe(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [describe(o) for o in obj]
    if isinstance(obj, dict):
        return {str(k): describe(v) for k, v in obj.items()}
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if callable(obj):
        return _describe_callable(obj)
    return getattr(obj, "__qualname__", None) or repr(obj)


def _describe_callable(func) -> str:
    """A function's name and a hash of its code, so an edited kernel is a different configuration."""
    py = getattr(func, "py_func", func)  # a numba dispatcher's Python function
    name = f"{getattr(py, '__module__', '')}.{getattr(py, '__qualname__', repr(py))}"
    code = getattr(py, "__code__", None)
    if code is None:
        return name
    h = hashlib.sha256()
    h.update(code.co_code)
    h.update(repr(code.co_consts).encode())
    h.update(repr(getattr(py, "__defaults__", None)).encode())
    return f"{name}#{h.hexdigest()[:16]}"


def _check_attachments(attachments) -> np.ndarray:
    if isinstance(attachments, numbers.Real) and not isinstance(attachments, bool):
        attachments = (attachments,)
    try:
        values = list(attachments)
    except TypeError:
        raise TypeError(
            f"attachments must be a sequence of positive numbers, got {type(attachments).__name__}"
        ) from None
    out = []
    for a in values:
        if isinstance(a, bool) or not isinstance(a, numbers.Real):
            raise TypeError(f"attachments must be positive numbers, got {type(a).__name__} {a!r}")
        a = float(a)
        if not (math.isfinite(a) and a > 0):
            raise ValueError(f"attachments must be finite and positive, got {a!r}")
        out.append(a)
    if len(set(out)) != len(out):
        raise ValueError(f"attachments must be distinct, got {out}")
    return np.asarray(out, dtype=float)


def _check_models(models) -> dict:
    if models is None:
        return {}
    if not isinstance(models, Mapping):
        raise TypeError(
            f"models must be a dict of model name -> Arrangement or contracts, got {type(models).__name__}"
        )
    if not models:
        raise ValueError("models must not be empty (pass None for no payment models)")
    out = {}
    for name, value in models.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"models: names must be non-empty strings, got {name!r}")
        out[name] = as_arrangement(name, value)
    return out


def _with_pools(population: Population, arrangements: dict) -> Population:
    """The population plus the segments simulated for models' pools (shared when identical)."""
    extra = {}
    for name, arr in arrangements.items():
        for seg in arr.pool:
            if seg.name in population.names:
                raise ValueError(
                    f"models[{name!r}]: pool segment {seg.name!r} has the name of a population segment"
                )
            if seg.name in extra and extra[seg.name] != seg:
                raise ValueError(
                    f"models[{name!r}]: pool segment {seg.name!r} differs from another model's pool segment "
                    "of that name"
                )
            extra[seg.name] = seg
    if not extra:
        return population
    return Population(list(population) + list(extra.values()))


def _model_stream(name: str) -> int:
    # keyed by the model's name, so adding or reordering models leaves each model's draws as they are
    return driver.STREAM_EFFICIENCY + zlib.crc32(name.encode())


def scenario_factors(scenario_risk, n_scenarios: int, seed: int) -> np.ndarray:
    """The systematic multiplier of each scenario (ones without scenario risk)."""
    if scenario_risk is None:
        return np.ones(n_scenarios)
    return scenario_risk.sample(
        n_scenarios,
        driver.scenario_rng(seed, driver.STREAM_TREND),
        driver.scenario_rng(seed, driver.STREAM_SHOCK),
    )


def _random_source(seed: int):
    """The generator of each scenario-level stream under ``scenario_sampling="random"``."""
    return lambda stream: driver.scenario_rng(seed, stream)


def _scenario_draws(
    scenario_risk, n_scenarios: int, seed: int, source=None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Each scenario's systematic multiplier (:func:`scenario_factors`) and its market-wide part.

    The market part (None without scenario risk) comes from the same trend and shock draws,
    split by :meth:`vbcsim.ScenarioRisk.sample_with_market`: a retrospectively updated
    benchmark follows it, the shock year included.
    """
    if scenario_risk is None:
        return np.ones(n_scenarios), None
    if source is None:
        source = _random_source(seed)
    return scenario_risk.sample_with_market(
        n_scenarios, source(driver.STREAM_TREND), source(driver.STREAM_SHOCK), source(driver.STREAM_MARKET)
    )


BACKENDS = ("threads", "dask")

#: how the scenario-level variables (trend, shock, market part, quality, each model's
#: efficiency) are drawn: independent pseudo-random streams, or one scrambled Sobol' sequence
SCENARIO_SAMPLING = ("random", "sobol")


class _Uniforms:
    """One column of quasi-random uniforms, offered as the numpy Generator methods the
    scenario-level samplers call (each stream is drawn once, n values, in scenario order)."""

    def __init__(self, u: np.ndarray):
        # a scrambled point is never exactly 0 or 1 in exact arithmetic; in floats keep it inside
        self.u = np.clip(u, np.finfo(float).tiny, 1.0 - np.finfo(float).epsneg)

    def random(self, n: int) -> np.ndarray:
        return self.u[:n].copy()

    def standard_normal(self, n: int) -> np.ndarray:
        from scipy.special import ndtri

        return ndtri(self.u[:n])

    def beta(self, a: float, b: float, n: int) -> np.ndarray:
        from scipy.special import betaincinv

        return betaincinv(a, b, self.u[:n])


def _sobol(n_scenarios: int, dimensions: int, rng: np.random.Generator) -> np.ndarray:
    """The first ``n_scenarios`` points of a scrambled Sobol' sequence (those of any longer run)."""
    import warnings

    from scipy.stats import qmc

    engine = qmc.Sobol(dimensions, scramble=True, seed=rng)
    with warnings.catch_warnings():  # balance is best at powers of 2; any n is still a valid sample
        warnings.simplefilter("ignore", UserWarning)
        return engine.random(n_scenarios)


#: the scenario-level streams that share one Sobol' sequence; each model's efficiency has its own
SOBOL_STREAMS = (driver.STREAM_TREND, driver.STREAM_SHOCK, driver.STREAM_MARKET, driver.STREAM_QUALITY)


def _sobol_source(n_scenarios: int, seed: int):
    """The uniforms of each scenario-level stream under ``scenario_sampling="sobol"``.

    Trend, shock, market part and quality are the four columns of one scrambled sequence; each
    model's efficiency is a one-dimensional scrambled sequence of its own, keyed by the model's
    stream (a hash of its name), so adding, removing or reordering models leaves every other
    draw as it is, as with random sampling.
    """
    shared = _sobol(n_scenarios, len(SOBOL_STREAMS), driver.scenario_rng(seed, driver.STREAM_SOBOL))
    columns = {stream: _Uniforms(shared[:, i]) for i, stream in enumerate(SOBOL_STREAMS)}

    def source(stream: int) -> _Uniforms:
        if stream not in columns:  # a model's efficiency
            rng = driver.scenario_rng(seed, stream)
            columns[stream] = _Uniforms(_sobol(n_scenarios, 1, rng)[:, 0])
        return columns[stream]

    return source


def check_scenario_sampling(value) -> str:
    if value not in SCENARIO_SAMPLING:
        raise ValueError(
            f"scenario_sampling must be one of {', '.join(map(repr, SCENARIO_SAMPLING))}, got {value!r}"
        )
    return value


def _check_backend(backend) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
    return backend


@dataclass(frozen=True)
class Plan:
    """Everything a run needs besides the engine's output: inputs, scenario-level draws, views."""

    population: Population  # the parties' book of business
    simulated: Population  # the book plus models' pool segments
    arrangements: dict
    n_scenarios: int
    seed: int
    attachments: np.ndarray  # the baseline view's attachments
    scenario_risk: ScenarioRisk | None
    quality_dist: Quality | None
    factor: np.ndarray  # (S,) systematic multiplier
    efficiency: dict  # model -> (S,)
    quality: np.ndarray | None  # (S,) when there are models
    view_attachments: list  # per view (0: baseline, m + 1: model m)
    factors: np.ndarray  # (S, V)
    attachment_table: np.ndarray  # (V, K) padded with inf
    params: list  # encoded distributions of the simulated segments
    members: list
    # (S,) the market-wide part of ``factor``, shared with a benchmark's reference population
    # (None: systematic risk is not split; contracts then take it as 1)
    market_factor: np.ndarray | None = None
    # settle each model's fee-for-service status quo too (the cube's ``status_quo_net``)
    status_quo: bool = False
    scenario_sampling: str = "random"
    # multi-year runs (docs/multi_year.md): performance years, the status-quo years simulated before
    # them for benchmarks, and the expected trend index of every simulated year (baseline first).
    # Then ``factor`` and ``market_factor`` are (S, baseline_years + years), relative to the trend
    # index, ``quality`` is (S, years), and the rows of ``factors`` and of the engine's output are
    # scenario-years (row = scenario × (baseline_years + years) + year index)
    years: int = 1
    baseline_years: int = 0
    trend_index: np.ndarray | None = None
    # risk scores and selection (vbcsim.population.risk; docs/risk_adjustment.md): the run's risk
    # model, and whether the engine's output carries the panel's and the population's sums, the
    # score sums and, for each model, a view without its efficiency (for the decomposition)
    risk_score: object | None = None
    extended: bool = False
    sampler: str = "vector"  # how the engine draws members (driver.SAMPLERS)
    device: str = "cpu"  # where the engine's blocks run: "cpu", or "gpu" (vbcsim.engine._gpu)

    @property
    def multi_year(self) -> bool:
        """Whether the run simulates members across years (more than one year, baseline years,
        or risk scores and selection, which follow the members' state)."""
        return self.years > 1 or self.baseline_years > 0 or self.extended

    @property
    def simulated_years(self) -> int:
        return self.baseline_years + self.years

    def config(self) -> dict:
        out = {
            "population": describe(self.population),
            "scenario_risk": describe(self.scenario_risk),
            "attachments": self.attachments.tolist(),
            "models": describe(self.arrangements),
            "quality": describe(self.quality_dist),
        }
        if self.status_quo:
            out["baseline"] = "fee_for_service"
        if self.scenario_sampling != "random":
            out["scenario_sampling"] = self.scenario_sampling
        if self.multi_year:
            out["years"] = self.years
            out["baseline_years"] = self.baseline_years
        if self.risk_score is not None:
            out["risk_score"] = describe(self.risk_score)
        if self.sampler != "vector":
            out["sampler"] = self.sampler
        if self.device != "cpu":
            out["device"] = self.device
        return out


def make_plan(
    population,
    arrangements,
    n_scenarios,
    seed,
    att,
    scenario_risk,
    quality,
    *,
    threads=None,
    streamed=False,
    status_quo=False,
    scenario_sampling="random",
    years=1,
    risk_score=None,
    sampler="vector",
) -> Plan:
    """Draw the scenario-level variables and lay out the engine's views.

    The run's size is checked first (:func:`check_run_size`), so a run that cannot finish or fit
    is refused before anything is drawn.
    """
    simulated = _with_pools(population, arrangements)
    lead = baseline_years_needed(arrangements)
    extended = risk_score is not None or any(s.selection is not None for s in simulated)
    if years > 1 or lead > 0 or extended:
        return _multi_year_plan(
            population, simulated, arrangements, n_scenarios, seed, att, scenario_risk, quality,
            threads=threads, streamed=streamed, status_quo=status_quo,
            scenario_sampling=scenario_sampling, years=years, lead=lead,
            risk_score=risk_score, extended=extended, sampler=sampler,
        )  # fmt: skip
    check_run_size(simulated, arrangements, n_scenarios, att, threads=threads, streamed=streamed)
    if check_scenario_sampling(scenario_sampling) == "sobol":
        source = _sobol_source(n_scenarios, seed)
    else:
        source = _random_source(seed)
    factor, market = _scenario_draws(scenario_risk, n_scenarios, seed, source)
    efficiency = {
        name: arr.efficiency.sample(n_scenarios, source(_model_stream(name)))
        for name, arr in arrangements.items()
    }
    view_att, att_table = _views(att, arrangements)
    factors = np.empty((n_scenarios, len(view_att)))
    factors[:, 0] = factor
    for v, (name, arr) in enumerate(arrangements.items(), start=1):
        factors[:, v] = factor * (1.0 - efficiency[name])
        index = arr.price_index()
        if index != 1.0:  # unit prices (docs/prices.md); at 1.0 the factor stays bit for bit
            factors[:, v] = factors[:, v] * index
    q = None
    if arrangements:
        q = (quality or Quality()).sample(n_scenarios, source(driver.STREAM_QUALITY))
    return Plan(
        population=population,
        simulated=simulated,
        arrangements=arrangements,
        n_scenarios=n_scenarios,
        seed=seed,
        attachments=att,
        scenario_risk=scenario_risk,
        quality_dist=quality,
        factor=factor,
        efficiency=efficiency,
        quality=q,
        view_attachments=view_att,
        factors=factors,
        attachment_table=att_table,
        params=[driver.encode_sampled(s.cost, sampler) for s in simulated],
        members=[s.members for s in simulated],
        market_factor=market,
        status_quo=bool(status_quo and arrangements),
        scenario_sampling=scenario_sampling,
        sampler=sampler,
    )


def _views(att, arrangements, twins: bool = False):
    """The views' attachments (0: the baseline cost with ``att``; m + 1: model m) and their table.

    With ``twins``, view M + m + 1 is model m without its efficiency, with the model's attachments.
    """
    view_att = [tuple(att)] + [arr.attachments() for arr in arrangements.values()]
    if twins:
        view_att += [arr.attachments() for arr in arrangements.values()]
    width = max(len(a) for a in view_att)
    att_table = np.full((len(view_att), width), np.inf)
    for v, a in enumerate(view_att):
        att_table[v, : len(a)] = a
    return view_att, att_table


def baseline_years_needed(arrangements) -> int:
    """Status-quo years to simulate before year 1: the most any contract's agreement needs."""
    need = 0
    for arr in arrangements.values():
        for contract in arr.contracts:
            for c in getattr(contract, "stages", (contract,)):  # a GlidePath's stages
                agreement = getattr(c, "agreement", None)
                if agreement is not None:
                    need = max(need, agreement.baseline_years)
    return need


#: streams of the scenario-level draws of the years after the first in a multi-year run
STREAM_YEARS_TREND = 111
STREAM_YEARS_SHOCK = 112
STREAM_YEARS_QUALITY = 113
STREAM_YEARS_MARKET = 114
#: ... and of the baseline years before year 1 (an agreement's), drawn backward from year 1
STREAM_BACK_TREND = 121
STREAM_BACK_SHOCK = 122
STREAM_BACK_MARKET = 123


def _multi_year_plan(
    population, simulated, arrangements, n_scenarios, seed, att, scenario_risk, quality, *,
    threads, streamed, status_quo, scenario_sampling, years, lead, risk_score=None, extended=False,
    sampler="vector",
) -> Plan:  # fmt: skip
    """:func:`make_plan` of a run over ``years`` performance years after ``lead`` baseline years.

    The first simulated year's scenario-level draws come from the streams of a single-year run
    (under ``scenario_sampling="sobol"`` from its Sobol' points); the later years' from streams of
    their own, pseudo-random.  Each model's efficiency is drawn once per scenario and applies in
    every performance year; the baseline years are the status quo (no efficiency, no price lever).
    """
    total = lead + years
    check_run_size(simulated, arrangements, n_scenarios * total, att, threads=threads, streamed=streamed)
    source = _sobol_source(n_scenarios, seed) if scenario_sampling == "sobol" else _random_source(seed)
    later = _random_source(seed)
    if scenario_risk is None:
        factor, market, index = np.ones((n_scenarios, total)), None, np.ones(total)
    else:
        factor, market = scenario_risk.sample_path(
            n_scenarios,
            total,
            tuple(source(s) for s in (driver.STREAM_TREND, driver.STREAM_SHOCK, driver.STREAM_MARKET)),
            tuple(later(s) for s in (STREAM_YEARS_TREND, STREAM_YEARS_SHOCK, STREAM_YEARS_MARKET)),
            tuple(later(s) for s in (STREAM_BACK_TREND, STREAM_BACK_SHOCK, STREAM_BACK_MARKET)),
            lead=lead,
        )
        index = scenario_risk.trend_index(total, first=1 - lead)
    efficiency = {
        name: arr.efficiency.sample(n_scenarios, source(_model_stream(name)))
        for name, arr in arrangements.items()
    }
    view_att, att_table = _views(att, arrangements, twins=extended)
    factors = np.empty((n_scenarios, total, len(view_att)))
    factors[:, :, 0] = factor
    n_models = len(arrangements)
    for v, (name, arr) in enumerate(arrangements.items(), start=1):
        factors[:, :, v] = factor
        modelled = factor[:, lead:] * (1.0 - efficiency[name])[:, None]
        factors[:, lead:, v] = modelled * arr.price_index()
        if extended:  # the model's twin view: the same prices, no efficiency (the decomposition's)
            factors[:, :, v + n_models] = factor
            factors[:, lead:, v + n_models] = factor[:, lead:] * arr.price_index()
    q = None
    if arrangements:
        dist = quality or Quality()
        q = np.empty((n_scenarios, years))
        q[:, 0] = dist.sample(n_scenarios, source(driver.STREAM_QUALITY))
        if years > 1:
            q[:, 1:] = dist.sample(n_scenarios * (years - 1), later(STREAM_YEARS_QUALITY)).reshape(
                n_scenarios, years - 1
            )
    return Plan(
        population=population,
        simulated=simulated,
        arrangements=arrangements,
        n_scenarios=n_scenarios,
        seed=seed,
        attachments=att,
        scenario_risk=scenario_risk,
        quality_dist=quality,
        factor=factor,
        efficiency=efficiency,
        quality=q,
        view_attachments=view_att,
        factors=factors.reshape(n_scenarios * total, len(view_att)),
        attachment_table=att_table,
        params=[_encode_segment(s, total, risk_score, extended, sampler == "vector") for s in simulated],
        members=[s.members for s in simulated],
        market_factor=market,
        status_quo=bool(status_quo and arrangements),
        scenario_sampling=scenario_sampling,
        years=years,
        baseline_years=lead,
        trend_index=index,
        risk_score=risk_score,
        extended=extended,
        sampler=sampler,
    )


def _encode_segment(segment, total: int, risk_score, extended: bool, vector: bool = False):
    """A segment's member model in a multi-year run, with its risk scores and selection."""
    rho = segment.latent_correlation()
    risk, table = (None, None)
    if extended:
        try:
            risk, table = driver.encode_risk(segment.cost, rho, risk_score, segment.selection)
        except ValueError as exc:
            raise ValueError(f"segment {segment.name!r}: {exc}") from None
    return driver.encode_years(segment.cost, rho, segment.annual_churn, total, risk, table, extended, vector)


def run_engine(plan: Plan, backend: str, threads: int, progress=None, blocks=None, sink=None):
    """Run the engine's blocks on threads, dask or the GPU: cost[G, S, V], excess[G, S, V, K] (or feed ``sink``)."""
    args = (plan.params, plan.members, plan.factors, plan.attachment_table, plan.seed)
    if plan.device == "gpu":
        from vbcsim.engine._gpu import run_blocks_gpu

        params = [p.prm if isinstance(p, driver.VectorParams) else p for p in plan.params]
        return run_blocks_gpu(params, *args[1:], progress=progress, blocks=blocks, sink=sink)
    if backend == "dask":
        from vbcsim.engine.dask_backend import run_blocks_dask

        return run_blocks_dask(*args, progress=progress, blocks=blocks, sink=sink)
    return driver.run_blocks(*args, threads, progress=progress, blocks=blocks, sink=sink)
