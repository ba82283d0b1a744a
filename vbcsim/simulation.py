"""``vbcsim.simulate``: a population's annual costs over many scenarios, as an xarray cube."""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import fields, is_dataclass

import numpy as np
import xarray as xr

from vbcsim import __version__
from vbcsim.engine import driver
from vbcsim.population import Population, Segment
from vbcsim.scenario import ScenarioRisk
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
    return obj


def _check_population(population) -> Population:
    if isinstance(population, Segment):
        return Population([population])
    if not isinstance(population, Population):
        raise TypeError(f"population must be a vbcsim.Population or Segment, got {type(population).__name__}")
    return population


def _check_n_scenarios(n_scenarios) -> int:
    if isinstance(n_scenarios, bool) or not isinstance(n_scenarios, numbers.Integral):
        raise TypeError(f"n_scenarios must be a positive integer, got {type(n_scenarios).__name__} {n_scenarios!r}")
    if n_scenarios < 1:
        raise ValueError(f"n_scenarios must be a positive integer, got {n_scenarios!r}")
    return int(n_scenarios)


def _check_attachments(attachments) -> np.ndarray:
    if isinstance(attachments, numbers.Real) and not isinstance(attachments, bool):
        attachments = (attachments,)
    try:
        values = [a for a in attachments]
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


def _check_scenario_risk(scenario_risk):
    if scenario_risk is None or isinstance(scenario_risk, ScenarioRisk):
        return scenario_risk
    raise TypeError(f"scenario_risk must be a vbcsim.ScenarioRisk or None, got {type(scenario_risk).__name__}")


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
    *,
    n_scenarios: int,
    seed: int,
    attachments=(),
    scenario_risk: ScenarioRisk | None = None,
    threads: int | None = None,
    progress=None,
) -> xr.Dataset:
    """Simulate the annual medical cost of every member, ``n_scenarios`` times.

    Parameters
    ----------
    population : Population or Segment
        who is simulated.
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
    threads : int, optional
        worker threads (default: ``numba.config.NUMBA_NUM_THREADS``, which the
        ``NUMBA_NUM_THREADS`` environment variable sets).
    progress : callable, optional
        called as ``progress(done, total)`` after each block.

    Returns
    -------
    xarray.Dataset
        ``cost`` (scenario, segment), ``excess`` (scenario, segment, attachment)
        when attachments are given, ``scenario_factor`` (scenario) and
        ``members`` (segment); attrs ``seed``, ``n_scenarios``,
        ``vbcsim_version`` and ``config`` (JSON of the inputs).

    Examples
    --------
    >>> import vbcsim
    >>> pop = vbcsim.Population([vbcsim.Segment("adults", 1000, vbcsim.Hurdle(0.8, vbcsim.Lognormal(8, 1.5)))])
    >>> ds = vbcsim.simulate(pop, n_scenarios=100, seed=1, attachments=[50_000])
    >>> ds.cost.dims
    ('scenario', 'segment')
    """
    population = _check_population(population)
    n_scenarios = _check_n_scenarios(n_scenarios)
    seed = driver.check_seed(seed)
    att = _check_attachments(attachments)
    scenario_risk = _check_scenario_risk(scenario_risk)
    threads = driver.check_threads(threads)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")

    factor = scenario_factors(scenario_risk, n_scenarios, seed)
    params = [driver.encode(s.cost) for s in population]
    members = [s.members for s in population]
    cost, excess = driver.run_blocks(
        params,
        members,
        factor[:, None],
        att[None, :],
        seed,
        threads,
        progress=progress,
    )
    names = population.names
    coords = {"scenario": np.arange(n_scenarios), "segment": names}
    data = {
        "cost": (("scenario", "segment"), cost[:, :, 0].T),
        "scenario_factor": (("scenario",), factor),
        "members": (("segment",), np.asarray(members, dtype=np.int64)),
    }
    if att.size:
        coords["attachment"] = att
        data["excess"] = (("scenario", "segment", "attachment"), excess[:, :, 0, :].transpose(1, 0, 2))
    ds = xr.Dataset(data, coords=coords)
    for name in ds.data_vars:
        spec = VARIABLES[name]
        ds[name].attrs.update(units=spec.units, description=spec.description)
    config = {
        "population": describe(population),
        "scenario_risk": describe(scenario_risk),
        "attachments": att.tolist(),
    }
    ds.attrs.update(
        seed=seed,
        n_scenarios=n_scenarios,
        vbcsim_version=__version__,
        config=json.dumps(config),
    )
    return validate(ds)
