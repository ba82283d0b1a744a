"""The result cube of a multi-year run: a ``year`` dimension after ``scenario``.

The engine's rows are scenario-years (:mod:`vbcsim.engine._years`); the first
``baseline_years`` of each scenario are the status quo before the agreement
(the cube's ``baseline_cost``), the rest the performance years 1..years.  The
models are settled on the performance years' rows in year-1 currency (each
year's cost divided by the expected trend index of
:class:`vbcsim.ScenarioRisk` ``annual_trend``: every currency term of a
contract is indexed at the expected trend), with the baseline years and the
market's path in the context for benchmarks (:class:`vbcsim.Agreement`).
Every currency variable is then reported at its year's level (times the trend
index), and ``cumulative_net`` sums ``net`` over the years.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from vbcsim.results.cube import Rows, finish, variables
from vbcsim.results.plan import Plan
from vbcsim.results.variables import VARIABLES

__all__ = ["assemble_years"]


def assemble_years(plan: Plan, cost, excess, start: int, stop: int, aggregate_oracle=None) -> xr.Dataset:
    """The Dataset of scenarios [start, stop) of a multi-year run from the engine's scenario-year rows."""
    sl = slice(start, stop)
    n = stop - start
    lead, years, total = plan.baseline_years, plan.years, plan.simulated_years
    n_seg, _, n_views = cost.shape
    by_year = cost.reshape(n_seg, n, total, n_views)
    perf_cost = np.ascontiguousarray(by_year[:, :, lead:]).reshape(n_seg, n * years, n_views)
    perf_excess = np.ascontiguousarray(
        excess.reshape(n_seg, n, total, *excess.shape[2:])[:, :, lead:]
    ).reshape(n_seg, n * years, *excess.shape[2:])
    market = None if plan.market_factor is None else plan.market_factor[sl]
    baseline = np.ascontiguousarray(by_year[:, :, :lead, 0].transpose(1, 2, 0))  # (n, lead, G)
    timeline = {
        "years": years,
        "year": np.tile(np.arange(1, years + 1), n),
        "baseline_years": lead,
        "baseline_segment_cost": baseline,
        "market_path": market,
        "annual_trend": 0.0 if plan.scenario_risk is None else plan.scenario_risk.annual_trend,
        "trend_index": np.tile(plan.trend_index[lead:], n),
    }
    rows = Rows(
        scenarios=np.arange(n * years),
        factor=plan.factor[sl][:, lead:].reshape(-1),
        quality=None if plan.quality is None else plan.quality[sl].reshape(-1),
        efficiency={m: np.repeat(e[sl], years) for m, e in plan.efficiency.items()},
        market=None if market is None else market[:, lead:].reshape(-1),
        timeline=timeline,
    )
    flat, coords = variables(plan, perf_cost, perf_excess, rows, aggregate_oracle)
    index = plan.trend_index
    level = index[lead:]  # (years,)
    data = {}
    for name, (dims, values) in flat.items():
        values = np.asarray(values)
        # currency per year, and the systematic multiplier, at each year's expected level
        money = VARIABLES[name].units == "currency per year" or name == "scenario_factor"
        if dims and dims[0] == "scenario":
            values = values.reshape(n, years, *values.shape[1:])
            if money:
                values = values * level.reshape((1, years) + (1,) * (values.ndim - 2))
            dims = ("scenario", "year", *dims[1:])
        elif name == "premium":
            values = level[:, None] * values[None, :]
            dims = ("year", "model")
        data[name] = (dims, values)
    coords["scenario"] = np.arange(start, stop)
    coords["year"] = np.arange(1, years + 1)
    coords["trend_index"] = ("year", level)
    if lead:
        coords["baseline_year"] = np.arange(1 - lead, 1)
        data["baseline_cost"] = (
            ("scenario", "baseline_year", "segment"),
            baseline * index[None, :lead, None],
        )
    if "net" in data:
        data["cumulative_net"] = (("scenario", "year", "model", "party"), np.cumsum(data["net"][1], axis=1))
    return finish(plan, data, coords)
