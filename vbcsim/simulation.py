"""``vbcsim.simulate``: a population's annual costs over many scenarios, as an xarray cube."""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass

import numpy as np
import xarray as xr

from vbcsim import __version__
from vbcsim._validation import check_positive_int
from vbcsim.arrangement import Quality, as_arrangement
from vbcsim.contracts.base import PARTIES
from vbcsim.engine import driver
from vbcsim.population import Population, Segment
from vbcsim.scenario import ScenarioRisk, check_scenario_risk
from vbcsim.settle import settle_models
from vbcsim.variables import VARIABLES, validate

__all__ = ["simulate", "describe"]


def describe(obj):
    """A JSON-able description of a configuration object (dataclasses, tuples, numbers)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        out = {"type": type(obj).__name__}
        for f in fields(obj):
            out[f.metadata.get("name", f.name)] = describe(getattr(obj, f.name))
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


def check_population(population, default=None) -> Population:
    """A Population (a Segment becomes one); None gives ``default()`` when a default is offered."""
    if population is None and default is not None:
        return default()
    if isinstance(population, Segment):
        return Population([population])
    if not isinstance(population, Population):
        allowed = (
            "a vbcsim.Population, a Segment or None"
            if default is not None
            else "a vbcsim.Population or Segment"
        )
        raise TypeError(f"population must be {allowed}, got {type(population).__name__}")
    return population


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


def simulate(
    population,
    models=None,
    *,
    n_scenarios: int,
    seed: int,
    attachments=(),
    scenario_risk: ScenarioRisk | None = None,
    quality: Quality | None = None,
    threads: int | None = None,
    progress=None,
    backend: str = "threads",
    out=None,
    overwrite: bool = False,
) -> xr.Dataset:
    """Simulate the annual medical cost of every member, ``n_scenarios`` times.

    Parameters
    ----------
    population : Population or Segment
        who is simulated.
    models : dict, optional
        payment models to settle on the same member draws: a mapping from a
        model name to a :class:`vbcsim.Arrangement`, a contract or a list of
        contracts.  All models see the same member draws (common random
        numbers); each model's efficiency effect scales its members' costs
        before its per-member attachments apply.
    n_scenarios : int
        number of simulated years.
    seed : int
        root seed; the same seed gives a bitwise-identical Dataset whatever
        ``threads`` is.
    attachments : sequence of float
        per-member attachment points a (currency per year): the cube gets
        ``excess`` = Σ over members of (X − a)+, what a specific stop-loss at a
        would recover.
    scenario_risk : ScenarioRisk, optional
        systematic risk shared by all members of a scenario; without it members
        are independent.
    quality : Quality, optional
        distribution of the scenario's quality score (default ``Quality()``,
        Beta(8, 2)), drawn when models are given.
    threads : int, optional
        worker threads (default: ``numba.config.NUMBA_NUM_THREADS``, which the
        ``NUMBA_NUM_THREADS`` environment variable sets).
    progress : callable, optional
        called as ``progress(done, total)`` after each block.
    backend : {"threads", "dask"}
        where the engine's blocks run: this process's threads (default), or
        Dask tasks on the active ``dask.distributed`` client (dask's default
        scheduler when there is none); needs ``pip install vbcsim[distributed]``.
        The result is bitwise identical either way, whatever the number of
        workers.
    out : str or path, optional
        a zarr store (``results.zarr``) to stream the result to, block by
        block, so a run larger than memory completes; the Dataset returned is
        then opened lazily from it.  An interrupted run resumes where it
        stopped when called again with the same inputs and ``out``: finished
        blocks are not recomputed and stay intact.  A store holding a finished
        run of the same inputs is returned as it is.
    overwrite : bool
        with ``out``: replace a store that holds a different run (by default
        that is an error).

    Returns
    -------
    xarray.Dataset
        ``cost`` (scenario, segment), ``excess`` (scenario, segment, attachment)
        when attachments are given, ``scenario_factor`` (scenario) and
        ``members`` (segment); with models also ``net`` (scenario, model,
        party), ``medical_cost`` (scenario, model), ``settlement`` (scenario,
        model, contract; NaN where a model has no such contract), ``premium``
        (model), ``efficiency`` (scenario, model), ``rebate`` (scenario, model)
        and ``quality`` (scenario).  attrs ``seed``, ``n_scenarios``,
        ``vbcsim_version`` and ``config`` (JSON of the inputs).

    Examples
    --------
    >>> import vbcsim
    >>> pop = vbcsim.Population([vbcsim.Segment("adults", 1000, vbcsim.Hurdle(0.8, vbcsim.Lognormal(8, 1.5)))])
    >>> ds = vbcsim.simulate(pop, n_scenarios=100, seed=1, attachments=[50_000])
    >>> ds.cost.dims
    ('scenario', 'segment')
    """
    population = check_population(population)
    n_scenarios = check_positive_int("n_scenarios", n_scenarios, strict=True)
    seed = driver.check_seed(seed)
    att = _check_attachments(attachments)
    scenario_risk = check_scenario_risk(scenario_risk)
    threads = driver.check_threads(threads)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")

    arrangements = _check_models(models)
    if quality is not None and not isinstance(quality, Quality):
        raise TypeError(f"quality must be a vbcsim.Quality or None, got {type(quality).__name__}")

    backend = _check_backend(backend)
    plan = make_plan(population, arrangements, n_scenarios, seed, att, scenario_risk, quality)
    if out is not None:
        from vbcsim.store import simulate_to_zarr

        return simulate_to_zarr(
            plan, out, backend=backend, threads=threads, progress=progress, overwrite=overwrite
        )
    cost, excess = run_engine(plan, backend, threads, progress)
    return assemble(plan, cost, excess, 0, n_scenarios)


BACKENDS = ("threads", "dask")


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

    def config(self) -> dict:
        return {
            "population": describe(self.population),
            "scenario_risk": describe(self.scenario_risk),
            "attachments": self.attachments.tolist(),
            "models": describe(self.arrangements),
            "quality": describe(self.quality_dist),
        }


def make_plan(population, arrangements, n_scenarios, seed, att, scenario_risk, quality) -> Plan:
    """Draw the scenario-level variables and lay out the engine's views."""
    factor = scenario_factors(scenario_risk, n_scenarios, seed)
    efficiency = {
        name: arr.efficiency.sample(n_scenarios, driver.scenario_rng(seed, _model_stream(name)))
        for name, arr in arrangements.items()
    }
    # view 0: the baseline cost with the requested attachments; view m + 1: model m
    view_att = [tuple(att)] + [arr.attachments() for arr in arrangements.values()]
    width = max(len(a) for a in view_att)
    att_table = np.full((len(view_att), width), np.inf)
    for v, a in enumerate(view_att):
        att_table[v, : len(a)] = a
    factors = np.empty((n_scenarios, len(view_att)))
    factors[:, 0] = factor
    for v, name in enumerate(arrangements, start=1):
        factors[:, v] = factor * (1.0 - efficiency[name])
    q = None
    if arrangements:
        q = (quality or Quality()).sample(n_scenarios, driver.scenario_rng(seed, driver.STREAM_QUALITY))
    simulated = _with_pools(population, arrangements)
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
        params=[driver.encode(s.cost) for s in simulated],
        members=[s.members for s in simulated],
    )


def run_engine(plan: Plan, backend: str, threads: int, progress=None, blocks=None, sink=None):
    """Run the engine's blocks on threads or dask: cost[G, S, V], excess[G, S, V, K] (or feed ``sink``)."""
    args = (plan.params, plan.members, plan.factors, plan.attachment_table, plan.seed)
    if backend == "dask":
        from vbcsim.engine.dask_backend import run_blocks_dask

        return run_blocks_dask(*args, progress=progress, blocks=blocks, sink=sink)
    return driver.run_blocks(*args, threads, progress=progress, blocks=blocks, sink=sink)


def assemble(plan: Plan, cost, excess, start: int, stop: int, aggregate_oracle=None) -> xr.Dataset:
    """The result Dataset for scenarios [start, stop) from the engine's cost[G, s, V], excess[G, s, V, K]."""
    sl = slice(start, stop)
    n = stop - start
    att = plan.attachments
    names = plan.simulated.names
    coords = {"scenario": np.arange(start, stop), "segment": names}
    if len(plan.simulated) > len(plan.population):
        # segments simulated only for a model's pool (outside the parties' book of business)
        coords["pooled"] = ("segment", np.arange(len(plan.simulated)) >= len(plan.population))
    data = {
        "cost": (("scenario", "segment"), cost[:, :, 0].T),
        "scenario_factor": (("scenario",), plan.factor[sl]),
        "members": (("segment",), np.asarray(plan.members, dtype=np.int64)),
    }
    if att.size:
        coords["attachment"] = att
        data["excess"] = (
            ("scenario", "segment", "attachment"),
            excess[:, :, 0, : att.size].transpose(1, 0, 2),
        )
    arrangements = plan.arrangements
    if arrangements:
        q = plan.quality[sl]
        settled = settle_models(
            plan.population,
            arrangements,
            cost[:, :, 1:],
            excess[:, :, 1:],
            plan.view_attachments[1:],
            q,
            plan.scenario_risk,
            segments=tuple(names),
            aggregate_oracle=aggregate_oracle,
        )
        coords["model"] = list(arrangements)
        coords["party"] = list(PARTIES)
        coords["contract"] = settled["contracts"]
        data["net"] = (("scenario", "model", "party"), settled["net"])
        data["medical_cost"] = (("scenario", "model"), settled["medical_cost"])
        data["settlement"] = (("scenario", "model", "contract"), settled["settlement"])
        data["premium"] = (("model",), settled["premium"])
        data["rebate"] = (("scenario", "model"), settled["rebate"])
        data["efficiency"] = (
            ("scenario", "model"),
            np.stack([plan.efficiency[m][sl] for m in arrangements], axis=1).reshape(n, len(arrangements)),
        )
        data["quality"] = (("scenario",), q)
    ds = xr.Dataset(data, coords=coords)
    for name in ds.data_vars:
        spec = VARIABLES[name]
        ds[name].attrs.update(units=spec.units, description=spec.description)
    ds.attrs.update(
        seed=plan.seed,
        n_scenarios=plan.n_scenarios,
        vbcsim_version=__version__,
        config=json.dumps(plan.config()),
    )
    return validate(ds)
