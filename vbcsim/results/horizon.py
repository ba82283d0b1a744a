"""Money over time in a multi-year cube: per-year and cumulative metrics, present values, capital paths.

:func:`summarize_years` is what :func:`vbcsim.summarize` does with a cube that
has a ``year`` dimension.  :func:`capital_path` follows each party's cash year
by year from its starting reserves: the probability that it falls below zero in
some year (ruin), the expected shortfall, and the year its cumulative result
turns positive (break-even) with its distribution.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import xarray as xr

from vbcsim.contracts.base import PARTIES

__all__ = ["summarize_years", "capital_path", "discount_factors", "present_value"]

#: the per-scenario variables that are a party's or a model's money, summed over the years
_FLOWS = ("net", "status_quo_net", "medical_cost")


def _check_rate(rate) -> float:
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not math.isfinite(rate):
        raise TypeError(f"discount_rate must be a finite number, got {rate!r}")
    if not -0.5 < rate <= 1.0:
        raise ValueError(f"discount_rate must be in (-0.5, 1], got {rate!r}")
    return float(rate)


def _check_years_cube(ds) -> None:
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if "year" not in ds.dims:
        raise ValueError("ds has no year dimension: run vbcsim.simulate or vbcsim.compare with years=")
    if "net" not in ds:
        raise ValueError("ds has no 'net' variable: run vbcsim.compare, or vbcsim.simulate with models")


def discount_factors(ds: xr.Dataset, rate: float) -> xr.DataArray:
    """1 / (1 + rate)^year over the cube's years: each year's result at the end of its year."""
    rate = _check_rate(rate)
    return xr.DataArray((1.0 + rate) ** -np.asarray(ds["year"].values, dtype=float), dims="year")


def present_value(ds: xr.Dataset, rate: float = 0.0, variable: str = "net") -> xr.DataArray:
    """Each scenario's present value of ``variable`` over the years at ``rate`` (the sum at 0)."""
    _check_years_cube(ds)
    return (ds[variable] * discount_factors(ds, rate)).sum("year")


def summarize_years(summarize, ds, levels, capital_level, baseline, discount_rate) -> xr.Dataset:
    """Per-year metrics (a ``year`` dimension) and ``cumulative_<metric>`` of the present values."""
    _check_years_cube(ds)
    rate = _check_rate(discount_rate)
    years = ds["year"]
    per = [summarize(ds.isel(year=i), levels, capital_level, baseline) for i in range(ds.sizes["year"])]
    out = xr.concat(per, dim=years, data_vars="all", coords="minimal", compat="override")
    weights = discount_factors(ds, rate)
    total = ds.drop_dims("year")
    for name in _FLOWS:
        if name in ds:
            total[name] = (ds[name] * weights).sum("year")
    cumulative = summarize(total, levels, capital_level, baseline)
    for name, var in cumulative.data_vars.items():
        out[f"cumulative_{name}"] = var
    out.attrs.update(per[0].attrs)
    out.attrs["discount_rate"] = rate
    return out


def capital_path(
    ds: xr.Dataset, reserves=None, discount_rate: float = 0.0, entity: bool = False
) -> xr.Dataset:
    """Each party's cash year by year: ruin, shortfall and break-even.

    Parameters
    ----------
    ds : xarray.Dataset
        a multi-year cube (``years=`` of :func:`vbcsim.simulate` / :func:`vbcsim.compare`).
    reserves : float or dict, optional
        each party's starting reserves in currency (a number for every party, or
        party -> amount; default 0: the party's own result alone): its cash at the end of
        year t is reserves + its cumulative result to t.  For ``entity=True`` the reserves
        of each entity (default: the capital its owners contributed, ``contributed_capital``
        summed over the parties; give ``reserves`` for a model with several entities).
    discount_rate : float
        rate at which ``expected_shortfall`` and the cumulative results are discounted
        to the start (default 0).
    entity : bool
        follow the owned entities (``entity_net``, e.g. the joint-venture plan) instead of
        the parties.

    Returns
    -------
    xarray.Dataset
        over (model, party) — or (model, entity) —:

        - ``ruin_probability``: P(cash < 0 at the end of some year), with its binomial
          ``ruin_probability_standard_error``;
        - ``expected_shortfall``: E[the largest deficit below zero over the years]
          (0 in a scenario that never falls below zero), discounted, with its standard
          error;
        - ``break_even_year`` (scenario, model, party): the first year whose cumulative
          result (without the reserves) is positive, NaN if none; and
          ``break_even_probability`` (year, model, party): P(broken even by the end of the
          year); ``median_break_even_year``: the first year by which half the scenarios
          have broken even (NaN if within the horizon they do not);
        - ``cash`` quantiles are left to the fan chart (:func:`vbcsim.plot.fan_chart`).
    """
    _check_years_cube(ds)
    rate = _check_rate(discount_rate)
    if entity:
        if "entity_net" not in ds:
            raise ValueError("ds has no entity_net: no model of the cube owns an entity")
        flows = ds["entity_net"].fillna(0.0)
        who = "entity"
        if reserves is None:  # the capital the owners put in (a model with one entity: all of it)
            start = ds["contributed_capital"].sum("party") if "contributed_capital" in ds else 0.0
        else:
            start = _reserves(reserves, ds["entity"].values.tolist(), "entity")
    else:
        flows = ds["net"]
        who = "party"
        start = 0.0 if reserves is None else _reserves(reserves, list(PARTIES), "party")
    d = discount_factors(ds, rate)
    cumulative = (flows * d).cumsum("year")
    cash = cumulative + start
    n = ds.sizes["scenario"]
    low = cash.min("year")
    ruined = (low < 0.0).astype(float)
    shortfall = (-low).clip(min=0.0)
    p = ruined.mean("scenario")
    out = xr.Dataset()
    out["ruin_probability"] = p
    out["ruin_probability_standard_error"] = np.sqrt(p * (1.0 - p) / n)
    out["expected_shortfall"] = shortfall.mean("scenario")
    out["expected_shortfall_standard_error"] = shortfall.std("scenario", ddof=1) / math.sqrt(n)
    positive = flows.cumsum("year") > 0.0
    reached = positive.cumsum("year") > 0  # broken even by the end of the year (stays so once reached)
    years = ds["year"]
    first = xr.where(reached.any("year"), years.where(reached).min("year"), np.nan)
    out["break_even_year"] = first
    prob = reached.astype(float).mean("scenario")
    out["break_even_probability"] = prob
    out["break_even_probability_standard_error"] = np.sqrt(prob * (1.0 - prob) / n)
    half = prob >= 0.5
    out["median_break_even_year"] = xr.where(half.any("year"), years.where(half).min("year"), np.nan)
    out.attrs.update(discount_rate=rate, n_scenarios=n, who=who)
    return out


def _reserves(reserves, names: list, what: str):
    if isinstance(reserves, numbers.Real) and not isinstance(reserves, bool):
        if not math.isfinite(reserves):
            raise ValueError(f"reserves must be finite, got {reserves!r}")
        return float(reserves)
    if not isinstance(reserves, dict):
        raise TypeError(
            f"reserves must be a number or a dict of {what} -> amount, got {type(reserves).__name__}"
        )
    unknown = sorted(set(reserves) - set(names))
    if unknown:
        raise ValueError(f"reserves: unknown {what} {unknown}; the cube has {names}")
    values = []
    for name in names:
        v = reserves.get(name, 0.0)
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise TypeError(f"reserves[{name!r}] must be a finite number, got {v!r}")
        values.append(float(v))
    return xr.DataArray(values, dims=what, coords={what: names})
