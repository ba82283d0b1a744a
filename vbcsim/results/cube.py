"""Assembling the result cube: the engine's per-scenario statistics and each model's settlement
into one ``xarray.Dataset`` whose variables follow the registry in :mod:`vbcsim.results.variables`."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import xarray as xr

from vbcsim._version import __version__
from vbcsim.contracts.base import PARTIES
from vbcsim.contracts.decompose import COMPONENTS
from vbcsim.contracts.settle import settle_models
from vbcsim.results.plan import Plan
from vbcsim.results.variables import VARIABLES, validate

__all__ = ["assemble", "assemble_years", "variables", "finish", "Rows"]


def assemble(plan: Plan, cost, excess, start: int, stop: int, aggregate_oracle=None) -> xr.Dataset:
    """The result Dataset for scenarios [start, stop) from the engine's cost[G, s, V], excess[G, s, V, K].

    In a multi-year run (``plan.multi_year``) the engine's rows are scenario-years
    (:func:`assemble_years`).
    """
    if plan.multi_year:
        return assemble_years(plan, cost, excess, start, stop, aggregate_oracle)
    sl = slice(start, stop)
    rows = Rows(
        scenarios=np.arange(start, stop),
        factor=plan.factor[sl],
        quality=None if plan.quality is None else plan.quality[sl],
        efficiency={m: e[sl] for m, e in plan.efficiency.items()},
        market=None if plan.market_factor is None else plan.market_factor[sl],
    )
    data, coords = variables(plan, cost, excess, rows, aggregate_oracle)
    return finish(plan, data, coords)


@dataclass
class Rows:
    """The scenario-level inputs of the rows being assembled (scenarios, or scenario-years)."""

    scenarios: np.ndarray  # the scenario coordinate (its length is the number of rows)
    factor: np.ndarray  # (n,) systematic multiplier
    quality: np.ndarray | None  # (n,) when there are models
    efficiency: dict  # model -> (n,)
    market: np.ndarray | None  # (n,) market-wide part of the factor (None: no split)
    timeline: dict | None = None  # the SettlementContext's multi-year fields


def variables(plan: Plan, cost, excess, rows: Rows, aggregate_oracle=None) -> tuple[dict, dict]:
    """The cube's variables and coordinates, with a ``scenario`` dimension over ``rows``."""
    n = len(rows.scenarios)
    att = plan.attachments
    names = plan.simulated.names
    coords = {"scenario": rows.scenarios, "segment": names}
    if len(plan.simulated) > len(plan.population):
        # segments simulated only for a model's pool (outside the parties' book of business)
        coords["pooled"] = ("segment", np.arange(len(plan.simulated)) >= len(plan.population))
    data = {
        "cost": (("scenario", "segment"), cost[:, :, 0].T),
        "scenario_factor": (("scenario",), rows.factor),
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
        q = rows.quality
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
            market_factor=rows.market,
            timeline=rows.timeline,
        )
        if plan.status_quo:
            data["status_quo_net"] = (
                ("scenario", "model", "party"),
                _status_quo_net(plan, cost, rows, aggregate_oracle),
            )
        coords["model"] = list(arrangements)
        coords["party"] = list(PARTIES)
        coords["contract"] = settled["contracts"]
        data["net"] = (("scenario", "model", "party"), settled["net"])
        data["medical_cost"] = (("scenario", "model"), settled["medical_cost"])
        data["settlement"] = (("scenario", "model", "contract"), settled["settlement"])
        data["premium"] = (("model",), settled["premium"])
        data["rebate"] = (("scenario", "model"), settled["rebate"])
        data["outside_care"] = (("scenario", "model"), settled["outside_care"])
        if settled["entities"]:  # some model owns entities: the entity and the owners' own views
            coords["entity"] = list(settled["entities"])
            data["entity_net"] = (("scenario", "model", "entity"), settled["entity_net"])
            data["own_net"] = (("scenario", "model", "party"), settled["own_net"])
            data["contributed_capital"] = (("model", "party"), _contributed_capital(arrangements))
            data["equity"] = (("model", "entity", "party"), _equity(arrangements, settled["entities"]))
        data["efficiency"] = (
            ("scenario", "model"),
            np.stack([rows.efficiency[m] for m in arrangements], axis=1).reshape(n, len(arrangements)),
        )
        data["quality"] = (("scenario",), q)
        data.update(_price_variables(arrangements, settled))
        if rows.timeline is not None:
            data["benchmark"] = (("scenario", "model"), settled["benchmark"])
        if settled.get("decomposition") is not None:
            data["decomposition"] = (("scenario", "model", "component"), settled["decomposition"])
    return data, coords


def finish(plan: Plan, data: dict, coords: dict) -> xr.Dataset:
    """The Dataset of ``data`` and ``coords``: units and descriptions from the registry, the run's attrs."""
    ds = xr.Dataset(data, coords=coords)
    for name in ds.data_vars:
        spec = VARIABLES[name]
        ds[name].attrs.update(units=spec.units, description=spec.description)
    seed = int(plan.seed)
    ds.attrs.update(
        # the seed may be any non-negative int: ``seed`` is an int where it fits int64 (a decimal
        # string beyond), ``seed_text`` always the exact decimal (netCDF3 holds only int32 attributes)
        seed=seed if seed < 2**63 else str(seed),
        seed_text=str(seed),
        n_scenarios=plan.n_scenarios,
        vbcsim_version=__version__,
        config=json.dumps(plan.config()),
    )
    return validate(ds)


def _equity(arrangements, entities) -> np.ndarray:
    """(model, entity, party): each party's equity share of each entity the model owns (0 elsewhere)."""
    out = np.zeros((len(arrangements), len(entities), len(PARTIES)))
    for m, arr in enumerate(arrangements.values()):
        for name, entity in arr.entities:
            for party, share in entity.owners:
                out[m, entities.index(name), PARTIES.index(party)] = share
    return out


def _contributed_capital(arrangements) -> np.ndarray:
    """(model, party): the capital each party contributed to the model's entities."""
    out = np.zeros((len(arrangements), len(PARTIES)))
    for m, arr in enumerate(arrangements.values()):
        for _, entity in arr.entities:
            for party, amount in entity.contributed().items():
                out[m, PARTIES.index(party)] += amount
    return out


def _price_variables(arrangements, settled) -> dict:
    """The unit-price variables (docs/prices.md), only where some model uses them.

    ``price_index`` (model) and ``price_effect`` (scenario, model) when some model has a
    non-default price lever (:meth:`Arrangement.has_price_levers`); ``balance_billing``
    (scenario, model) when some model has a contract that bills members (its class sets
    ``bills_members = True``, as :class:`~vbcsim.contracts.ReferenceBasedPricing` does).  Which
    variables exist depends on the models only, never on the draws, so every chunk of a
    streamed run has the same ones; a run without these levers has none of them.
    """
    out = {}
    if any(arr.has_price_levers() for arr in arrangements.values()):
        index = np.array([arr.price_index() for arr in arrangements.values()])
        medical = settled["medical_cost"]
        out["price_index"] = (("model",), index)
        out["price_effect"] = (("scenario", "model"), medical - medical / index)
    if any(getattr(c, "bills_members", False) for arr in arrangements.values() for c in arr.contracts):
        out["balance_billing"] = (("scenario", "model"), settled["balance_billing"])
    return out


def _status_quo_net(plan: Plan, cost, rows: Rows, aggregate_oracle) -> np.ndarray:
    """Each model's parties under its fee-for-service status quo, settled on the baseline view.

    The status quo has no efficiency effect and no per-member attachments, so the engine's view 0
    (the book's cost at the scenario's systematic factor) is all it needs: no extra engine work.
    """
    book = len(plan.population)
    models = list(plan.arrangements)
    status_quo = {name: arr.status_quo() for name, arr in plan.arrangements.items()}
    base = np.ascontiguousarray(cost[:book, :, :1])
    settled = settle_models(
        plan.population,
        status_quo,
        np.repeat(base, len(models), axis=2),
        np.zeros((book, base.shape[1], len(models), 0)),
        [()] * len(models),
        rows.quality,
        plan.scenario_risk,
        segments=tuple(plan.population.names),
        aggregate_oracle=aggregate_oracle,
        market_factor=rows.market,
        timeline=rows.timeline,
    )
    return settled["net"]


# -- multi-year runs ----------------------------------------------------------------------------


def assemble_years(plan: Plan, cost, excess, start: int, stop: int, aggregate_oracle=None) -> xr.Dataset:
    """The Dataset of scenarios [start, stop) of a multi-year run from the engine's scenario-year rows.
    The result cube of a multi-year run: a ``year`` dimension after ``scenario``.

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
    sl = slice(start, stop)
    n = stop - start
    lead, years, total = plan.baseline_years, plan.years, plan.simulated_years
    n_seg, _, width = cost.shape
    n_att = excess.shape[-1]

    def perf(values):  # the performance years' rows: (G, n × years, ...)
        v = values.reshape(n_seg, n, total, *values.shape[2:])[:, :, lead:]
        return np.ascontiguousarray(v).reshape(n_seg, n * years, *values.shape[2:])

    views = len(plan.view_attachments)
    market = None if plan.market_factor is None else plan.market_factor[sl]
    extra = {}
    if plan.extended:  # panel views, population views, score sums (driver.output_views)
        scores = cost[:, :, 2 * views :]
        reference_cost, reference_excess = cost[:, :, views : 2 * views], excess[:, :, views:]
        cost, excess = cost[:, :, :views], excess[:, :, :views]
        extra = _extended_inputs(plan, perf, reference_cost, reference_excess, cost, excess, scores, n, lead)
    by_year = cost.reshape(n_seg, n, total, cost.shape[2])
    n_models = len(plan.arrangements)
    perf_cost = perf(cost)[:, :, : 1 + n_models]
    perf_excess = perf(excess)[:, :, : 1 + n_models]
    baseline = np.ascontiguousarray(by_year[:, :, :lead, 0].transpose(1, 2, 0))  # (n, lead, G)
    # the models' excess in the baseline years (their views there have no efficiency): (G, n, lead, M, K)
    ex_years = excess.reshape(n_seg, n, total, excess.shape[2], n_att)
    baseline_excess = np.ascontiguousarray(ex_years[:, :, :lead, 1 : 1 + n_models])
    del width
    timeline = {
        "years": years,
        "year": np.tile(np.arange(1, years + 1), n),
        "baseline_years": lead,
        "baseline_segment_cost": baseline,
        "baseline_excess": baseline_excess,
        "market_path": market,
        "annual_trend": 0.0 if plan.scenario_risk is None else plan.scenario_risk.annual_trend,
        "trend_index": np.tile(plan.trend_index[lead:], n),
        **extra.get("timeline", {}),
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
    flat.update(extra.get("variables", {}))
    if "decomposition" in flat:
        coords["component"] = list(COMPONENTS)
    index = plan.trend_index
    level = index[lead:]  # (years,)
    data = {}
    one = years == 1  # one performance year (an agreement's baseline years, or risk scores): no year dim
    for name, (dims, values) in flat.items():
        values = np.asarray(values)
        # currency per year, and the systematic multiplier, at each year's expected level
        money = VARIABLES[name].units == "currency per year" or name == "scenario_factor"
        if dims and dims[0] == "scenario":
            values = values.reshape(n, years, *values.shape[1:])
            if money:
                values = values * level.reshape((1, years) + (1,) * (values.ndim - 2))
            if one:
                values = values[:, 0]
            else:
                dims = ("scenario", "year", *dims[1:])
        elif name == "premium" and not one:
            values = level[:, None] * values[None, :]
            dims = ("year", "model")
        data[name] = (dims, values)
    coords["scenario"] = np.arange(start, stop)
    if not one:
        coords["year"] = np.arange(1, years + 1)
        coords["trend_index"] = ("year", level)
    if lead:
        coords["baseline_year"] = np.arange(1 - lead, 1)
        data["baseline_cost"] = (
            ("scenario", "baseline_year", "segment"),
            baseline * index[None, :lead, None],
        )
    if "net" in data and not one:
        data["cumulative_net"] = (("scenario", "year", "model", "party"), np.cumsum(data["net"][1], axis=1))
    return finish(plan, data, coords)


def _extended_inputs(
    plan: Plan, perf, reference_cost, reference_excess, cost, excess, scores, n, lead
) -> dict:
    """The risk-score and selection inputs of the settlement and the cube's variables for them.

    ``cost``/``excess`` are the panel's views (baseline, the models, the models' twins without
    efficiency), ``reference_*`` the population's, ``scores`` the sums Σ w, Σ w s, Σ s.
    """
    n_models = len(plan.arrangements)
    models = slice(1, 1 + n_models)
    twins = slice(1 + n_models, 1 + 2 * n_models)
    years = plan.years
    rs = plan.risk_score
    coding = np.ones(n * years) if rs is None else np.tile(rs.coding_factor(np.arange(1, years + 1)), n)
    perf_scores = perf(scores)  # (G, n × years, 3)
    n_seg, total = scores.shape[0], plan.simulated_years
    by_year = scores.reshape(n_seg, n, total, 3)
    ref_years = reference_cost.reshape(n_seg, n, total, reference_cost.shape[2])
    ref_excess_years = reference_excess.reshape(n_seg, n, total, *reference_excess.shape[2:])
    timeline = {
        # the population's (not the panel's) baseline years, for the counterfactual without selection
        "baseline_reference_cost": np.ascontiguousarray(ref_years[:, :, :lead, 0].transpose(1, 2, 0)),
        "baseline_reference_excess": np.ascontiguousarray(ref_excess_years[:, :, :lead, models]),
        "score_sums": np.ascontiguousarray(perf_scores.transpose(1, 0, 2)),  # (rows, G, 3)
        "baseline_score_sums": np.ascontiguousarray(by_year[:, :, :lead].transpose(1, 2, 0, 3)),
        "coding": coding,
        # the decomposition's counterfactual views: (efficiency, selection) -> cost (G, rows, M)
        "variants": {
            (1, 1): (perf(cost)[:, :, models], perf(excess)[:, :, models]),
            (0, 1): (perf(cost)[:, :, twins], perf(excess)[:, :, twins]),
            (1, 0): (perf(reference_cost)[:, :, models], perf(reference_excess)[:, :, models]),
            (0, 0): (perf(reference_cost)[:, :, twins], perf(reference_excess)[:, :, twins]),
        },
    }
    w, ws = perf_scores[:, :, 0], perf_scores[:, :, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = np.where(w > 0, ws / w, np.nan) * coding[None, :]
    variables = {
        "risk_score": (("scenario", "segment"), mean_score.T),
        "panel_members": (("scenario", "segment"), w.T),
        "reference_cost": (("scenario", "segment"), perf(reference_cost)[:, :, 0].T),
    }
    return {"timeline": timeline, "variables": variables}
