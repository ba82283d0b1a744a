"""The registered partnership models and the functions over all of them.

:data:`MODEL_CLASSES` lists the models in order (model 1 first); :data:`MODEL_KEYS`,
:data:`MODEL_NAMES`, the overrides of :func:`partnership_models` (by identifier, readable
name or number), :func:`compare` and :func:`settlement_curve` all follow it.  A new model is
a module with its :class:`~vbcsim.partnerships.base.PartnershipModel` subclass, added to
:data:`MODEL_CLASSES` here (and exported from :mod:`vbcsim.partnerships`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import xarray as xr

from vbcsim._validation import check_positive_int
from vbcsim.contracts.arrangement import Arrangement
from vbcsim.partnerships.base import DEFAULT_SCENARIO_RISK, PartnershipModel, scaled_segments
from vbcsim.partnerships.custom_contract import CustomContract
from vbcsim.partnerships.joint_venture import JointVenture
from vbcsim.partnerships.risk_network import RiskNetwork
from vbcsim.partnerships.third_party import ThirdParty
from vbcsim.partnerships.value_program import ValueProgram
from vbcsim.population.scenario import check_scenario_risk
from vbcsim.population.segments import Population

_DEFAULT = object()

#: The partnership models by identifier, in order 1-5: registering a model is adding its class here.
MODEL_CLASSES = {
    cls.key: cls for cls in (CustomContract, ValueProgram, ThirdParty, RiskNetwork, JointVenture)
}
#: Identifiers of the five models, in order 1-5 (the keys of ``partnership_models``' overrides).
MODEL_KEYS = tuple(MODEL_CLASSES)
#: Readable names of the five models (the ``model`` coordinate), by identifier.
MODEL_NAMES = {key: cls.title for key, cls in MODEL_CLASSES.items()}


def _model_class(key):
    for number, cls in enumerate(MODEL_CLASSES.values(), start=1):
        if key in (cls.key, cls.title, str(number)):
            return cls
    raise ValueError(
        f"unknown partnership model {key!r}; expected one of {', '.join(MODEL_KEYS)} "
        f"(or the readable names {', '.join(repr(title) for title in MODEL_NAMES.values())})"
    )


def _build(cls, params) -> PartnershipModel:
    if isinstance(params, PartnershipModel):
        if not isinstance(params, cls):
            raise TypeError(f"{cls.key}: expected a {cls.__name__}, got {type(params).__name__}")
        return params
    if not isinstance(params, Mapping):
        raise TypeError(
            f"{cls.key}: overrides must be a dict of parameters or an Arrangement, got {type(params).__name__}"
        )
    known = [f.name for f in dataclasses.fields(cls)]
    for name in params:
        if name not in known:
            raise ValueError(f"{cls.key}: unknown parameter {name!r}; {cls.__name__} has {', '.join(known)}")
    return cls(**params)


def _check_population(population) -> Population:
    """The provider's panel: ``population``, or the built-in one for None."""
    from vbcsim.population.defaults import provider_panel
    from vbcsim.population.segments import check_population

    return check_population(population, default=provider_panel)


def partnership_models(population=None, scenario_risk=_DEFAULT, **overrides) -> dict[str, Arrangement]:
    """The five partnership models for a provider's panel, in order 1-5.

    Parameters
    ----------
    population : Population, optional
        the provider's panel (default :func:`vbcsim.defaults.provider_panel`,
        20,000 commercial members).  Benchmarks and premiums are priced on its
        exact expected cost.
    scenario_risk : ScenarioRisk or None
        systematic risk whose mean enters the priced benchmark and premium
        (default :data:`DEFAULT_SCENARIO_RISK`).
    **overrides
        keyed by model identifier (``custom_contract``, ``value_program``,
        ``third_party``, ``risk_network``, ``joint_venture``; the readable
        names and "1"-"5" are accepted too): a dict of that model's
        parameters (the fields of :class:`CustomContract`,
        :class:`ValueProgram`, :class:`ThirdParty`, :class:`RiskNetwork`,
        :class:`JointVenture`), an instance of that class, or an
        :class:`vbcsim.Arrangement` that replaces the model.

    Returns
    -------
    dict
        readable model name -> :class:`vbcsim.Arrangement`, in order 1-5.

    Examples
    --------
    >>> models = partnership_models(custom_contract={"sharing_rate": 0.6})
    >>> list(models)[0]
    'custom risk-based contract'
    """
    population = _check_population(population)
    if scenario_risk is _DEFAULT:
        scenario_risk = DEFAULT_SCENARIO_RISK
    check_scenario_risk(scenario_risk)
    chosen = {}
    for key, params in overrides.items():
        cls = _model_class(key)
        if cls.key in chosen:
            raise ValueError(f"model {cls.key!r} is overridden twice (as {key!r})")
        chosen[cls.key] = params
    out = {}
    for cls in MODEL_CLASSES.values():
        params = chosen.get(cls.key, {})
        if isinstance(params, Arrangement):
            out[cls.title] = params
            continue
        try:
            model = _build(cls, params)
            out[cls.title] = model.arrangement(population, scenario_risk)
        except (TypeError, ValueError) as exc:
            msg = str(exc)
            prefix = f"{cls.key}: "
            raise type(exc)(msg if msg.startswith(prefix) else prefix + msg) from None
    return out


def compare(
    population=None,
    models=None,
    *,
    n_scenarios: int = 10_000,
    seed: int = 0,
    baseline: bool = True,
    **options,
) -> xr.Dataset:
    """Run the five partnership models (or ``models``) on the same member draws.

    Parameters
    ----------
    population : Population, optional
        the provider's panel (default :func:`vbcsim.defaults.provider_panel`).
    models : dict, optional
        model name -> Arrangement (or contracts); default
        :func:`partnership_models` for ``population``.
    n_scenarios, seed :
        as for :func:`vbcsim.simulate`.
    baseline : bool
        settle each model's fee-for-service status quo on the same draws too
        (default True): the cube's ``status_quo_net`` (scenario, model,
        party), the reference that ``vbcsim.summarize(ds,
        baseline="fee_for_service")`` subtracts.  False leaves it out.
    **options
        passed to :func:`vbcsim.simulate`: ``scenario_risk`` (default
        :data:`DEFAULT_SCENARIO_RISK`; None for none), ``quality``,
        ``attachments``, ``threads``, ``progress``, ``backend`` ("dask" to run
        on a Dask cluster), ``out`` (a zarr store to stream to and resume
        from) and ``overwrite``.

    Returns
    -------
    xarray.Dataset
        the result cube: ``net`` (scenario, model, party) and the other
        model variables of :func:`vbcsim.simulate`; with the default models
        the ``model`` coordinate lists the five in order 1-5 by readable name
        and a ``model_key`` coordinate holds their identifiers.
    """
    from vbcsim.results.simulation import simulate

    population = _check_population(population)
    scenario_risk = options.pop("scenario_risk", DEFAULT_SCENARIO_RISK)
    default_models = models is None
    if default_models:
        models = partnership_models(population, scenario_risk)
    ds = simulate(
        population,
        models,
        n_scenarios=n_scenarios,
        seed=seed,
        scenario_risk=scenario_risk,
        baseline=baseline,
        **options,
    )
    if default_models:
        ds = ds.assign_coords(model_key=("model", list(MODEL_KEYS)))
    return ds


def resize(population: Population, members: int) -> Population:
    """``population`` with its segments' members scaled to about ``members`` in total (each ≥ 1)."""
    population = _check_population(population)
    members = check_positive_int("members", members, strict=True)
    return Population(scaled_segments(population, members / population.members))


def settlement_curve(
    population=None,
    models=None,
    *,
    sizes=(1_000, 2_000, 5_000, 10_000, 20_000, 50_000),
    n_scenarios: int = 2_000,
    seed: int = 0,
    overrides: Mapping | None = None,
    **options,
) -> xr.Dataset:
    """How often each contract settles, as a function of the panel's size.

    The population's members are rescaled to each size (same case mix) and
    the comparison rerun; with ``models`` None the five partnership models are
    rebuilt for each size (benchmarks, MSRs and pools follow the panel), with
    ``overrides`` passed to :func:`partnership_models`.

    Returns
    -------
    xarray.Dataset
        over (``panel_size``, ``model``, ``contract``): ``prob_payment``
        (P(settlement > 0), money to the contract's target) and
        ``prob_recoupment`` (P(settlement < 0)), NaN where a model lacks the
        contract.  Settlement probabilities of shared-savings contracts fall
        with panel size towards the probability that true savings (the
        efficiency effect) clear the minimum savings rate.
    """
    population = _check_population(population)
    try:
        sizes = [check_positive_int("sizes", s, strict=True) for s in sizes]
    except TypeError:
        raise TypeError(f"sizes must be a sequence of positive integers, got {sizes!r}") from None
    if not sizes:
        raise ValueError("sizes must not be empty")
    scenario_risk = options.pop("scenario_risk", DEFAULT_SCENARIO_RISK)
    if options.get("out") is not None:
        raise ValueError("settlement_curve keeps its runs in memory: out= is for compare and simulate")
    results = []
    for size in sizes:
        pop = resize(population, size)
        ms = models if models is not None else partnership_models(pop, scenario_risk, **dict(overrides or {}))
        ds = compare(pop, ms, n_scenarios=n_scenarios, seed=seed, scenario_risk=scenario_risk, **options)
        s = ds.settlement
        valid = s.notnull().all("scenario")
        results.append(
            xr.Dataset(
                {
                    "prob_payment": (s > 0).mean("scenario").where(valid),
                    "prob_recoupment": (s < 0).mean("scenario").where(valid),
                }
            )
        )
    out = xr.concat(results, dim="panel_size", join="outer")
    out = out.assign_coords(panel_size=sizes)
    out.prob_payment.attrs.update(units="1", description="P(settlement > 0)")
    out.prob_recoupment.attrs.update(units="1", description="P(settlement < 0)")
    out.attrs.update(n_scenarios=n_scenarios, seed=seed)
    return out
