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
from vbcsim.partnerships.direct_ownership import DirectOwnership
from vbcsim.partnerships.joint_venture import JointVenture
from vbcsim.partnerships.mso import MSOEnablement
from vbcsim.partnerships.platform import PlatformConvener
from vbcsim.partnerships.risk_network import RiskNetwork
from vbcsim.partnerships.third_party import ThirdParty
from vbcsim.partnerships.value_program import ValueProgram
from vbcsim.population.scenario import check_scenario_risk
from vbcsim.population.segments import Population

_DEFAULT = object()

#: the payer-led presets, in order 6-8
_PAYER_LED: tuple = (MSOEnablement, PlatformConvener, DirectOwnership)

#: The partnership models by identifier, in order 1-5: registering a model is adding its class here.
MODEL_CLASSES = {
    cls.key: cls for cls in (CustomContract, ValueProgram, ThirdParty, RiskNetwork, JointVenture)
}
#: Identifiers of the five models, in order 1-5 (the keys of ``partnership_models``' overrides).
MODEL_KEYS = tuple(MODEL_CLASSES)
#: Readable names of the five models (the ``model`` coordinate), by identifier.
MODEL_NAMES = {key: cls.title for key, cls in MODEL_CLASSES.items()}

#: The three payer-led care models of the seed article on payer-led managed care (provider
#: enablement through an MSO, a platform-based ecosystem convener, direct ownership of
#: care-delivery assets), in order 6-8: ``partnership_models(which="all")`` and
#: ``compare(models="all")`` add them to the five.
PAYER_LED_CLASSES = {cls.key: cls for cls in _PAYER_LED}
#: All eight models, in order 1-8.
ALL_MODEL_CLASSES = {**MODEL_CLASSES, **PAYER_LED_CLASSES}
#: Identifiers of all eight models, in order 1-8.
ALL_MODEL_KEYS = tuple(ALL_MODEL_CLASSES)
#: Readable names of all eight models, by identifier.
ALL_MODEL_NAMES = {key: cls.title for key, cls in ALL_MODEL_CLASSES.items()}
#: What ``which`` of :func:`partnership_models` (and a string ``models`` of :func:`compare`) selects.
WHICH = {"five": MODEL_CLASSES, "all": ALL_MODEL_CLASSES}


def _model_class(key):
    for number, cls in enumerate(ALL_MODEL_CLASSES.values(), start=1):
        if key in (cls.key, cls.title, str(number)):
            return cls
    raise ValueError(
        f"unknown partnership model {key!r}; expected one of {', '.join(ALL_MODEL_KEYS)} "
        f"(or the readable names {', '.join(repr(title) for title in ALL_MODEL_NAMES.values())})"
    )


def _check_which(which) -> dict:
    if not isinstance(which, str) or which not in WHICH:
        raise ValueError(f"which must be one of {', '.join(map(repr, WHICH))}, got {which!r}")
    return WHICH[which]


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


def partnership_models(
    population=None, scenario_risk=_DEFAULT, *, which: str = "five", **overrides
) -> dict[str, Arrangement]:
    """The five partnership models for a provider's panel, in order 1-5 (or all eight).

    Parameters
    ----------
    population : Population, optional
        the provider's panel (default :func:`vbcsim.defaults.provider_panel`,
        20,000 commercial members).  Benchmarks and premiums are priced on its
        exact expected cost.
    scenario_risk : ScenarioRisk or None
        systematic risk whose mean enters the priced benchmark and premium
        (default :data:`DEFAULT_SCENARIO_RISK`).
    which : {"five", "all"}
        the five commercial partnership models (default), or all eight: the
        five and the three payer-led care models (:data:`PAYER_LED_CLASSES`),
        in order 1-8.
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
    classes = _check_which(which)
    if scenario_risk is _DEFAULT:
        scenario_risk = DEFAULT_SCENARIO_RISK
    check_scenario_risk(scenario_risk)
    chosen = {}
    for key, params in overrides.items():
        cls = _model_class(key)
        if cls.key not in classes:
            raise ValueError(
                f"{cls.key} is a payer-led model, not one of the five: give which='all' to include it"
            )
        if cls.key in chosen:
            raise ValueError(f"model {cls.key!r} is overridden twice (as {key!r})")
        chosen[cls.key] = params
    out = {}
    for cls in classes.values():
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
    target_error: float | None = None,
    target_metric: str = "mean",
    target_party: str = "provider",
    max_scenarios: int = 1_000_000,
    agreement=None,
    **options,
) -> xr.Dataset:
    """Run the five partnership models (or ``models``) on the same member draws.

    Parameters
    ----------
    population : Population, optional
        the provider's panel (default :func:`vbcsim.defaults.provider_panel`).
    models : dict or str, optional
        model name -> Arrangement (or contracts); default
        :func:`partnership_models` for ``population``: the five models.
        ``"all"``: all eight, the five and the three payer-led care models
        (``partnership_models(..., which="all")``); ``"five"``: the default.
    n_scenarios, seed :
        as for :func:`vbcsim.simulate`.
    baseline : bool
        settle each model's fee-for-service status quo on the same draws too
        (default True): the cube's ``status_quo_net`` (scenario, model,
        party), the reference that ``vbcsim.summarize(ds,
        baseline="fee_for_service")`` subtracts.  False leaves it out.
    target_error : float, optional
        run until the Monte Carlo error is small enough: the relative standard
        error of ``target_metric`` for ``target_party`` under every model
        (its standard error over its absolute value, from
        :func:`vbcsim.summarize`; of the change against fee for service when
        ``baseline``) must be at most ``target_error`` (e.g. 0.02 for 2%).
        ``n_scenarios`` is the first run's size; each further run at least
        doubles it and at most multiplies it by eight, towards the size that
        the measured error says is needed, up to ``max_scenarios``; so the
        runs together cost at most twice the last.  A run of n scenarios is the first n scenarios of
        any longer run with the same seed, so the result is the same as one
        run of the final size, and the same seed gives the same final size:
        reproducible.  The cube's attrs ``target_error``,
        ``achieved_error`` and ``target_runs`` say what happened; a
        UserWarning says when ``max_scenarios`` stopped it first.  A metric
        whose party's result never varies (a party the model does not
        involve, a fixed capitation) is met; a tail measure whose error is
        NaN (fewer than 10 scenarios beyond its level) is not.  Refused with
        ``out``: the reruns stay in memory (rerun the final size with
        ``out`` for the same cube, streamed).
    target_metric : str
        one of the metrics of :func:`vbcsim.summarize` (default ``mean``;
        for VaR and TVaR the highest level).
    target_party : str
        the party whose metric is held to ``target_error`` (default provider).
    max_scenarios : int
        the most scenarios ``target_error`` may run (default 1,000,000).
    agreement : Agreement, optional
        set every shared-savings benchmark of the models from the panel's own
        cost in the years before each agreement period and rebase it each
        period (:class:`vbcsim.Agreement`, :func:`vbcsim.contracts.agreement.with_agreement`)
        instead of the presets' fixed benchmarks: with ``years=`` the ratchet
        shows (docs/multi_year.md).
    **options
        passed to :func:`vbcsim.simulate`: ``years`` (performance years,
        default 1), ``scenario_risk`` (default
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
    if target_error is not None:
        return _compare_to_error(
            population,
            models,
            n_scenarios=n_scenarios,
            seed=seed,
            baseline=baseline,
            target_error=target_error,
            target_metric=target_metric,
            target_party=target_party,
            max_scenarios=max_scenarios,
            scenario_risk=scenario_risk,
            agreement=agreement,
            **options,
        )
    which = "five"
    if isinstance(models, str):
        _check_which(models)
        which, models = models, None
    default_models = models is None
    if default_models:
        models = partnership_models(population, scenario_risk, which=which)
    if agreement is not None:
        from vbcsim.contracts.agreement import with_agreement
        from vbcsim.results.plan import _check_models

        models = {name: with_agreement(arr, agreement) for name, arr in _check_models(models).items()}
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
        ds = ds.assign_coords(model_key=("model", list(WHICH[which])))
    return ds


def _relative_error(ds, metric: str, party: str, baseline: bool) -> float:
    """The largest relative standard error of ``metric`` for ``party`` over the models of ``ds``."""
    import numpy as np

    from vbcsim.results.metrics import summarize

    change = baseline and "status_quo_net" in ds
    s = summarize(ds, baseline="fee_for_service" if change else None)
    value, error = s[metric], s[f"{metric}_standard_error"]
    if "level" in value.dims:
        value, error = value.isel(level=-1), error.isel(level=-1)
    value = np.abs(value.sel(party=party).values)
    error = error.sel(party=party).values
    result = ds["net"] - ds["status_quo_net"] if change else ds["net"]
    result = result.sel(party=party)
    # a result that never varies is known exactly (a party a model does not involve, a fixed
    # capitation): it meets any target; anything else needs a finite error below the target
    constant = (result.max("scenario") == result.min("scenario")).values
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = error / value
    relative = np.where(np.isfinite(relative), relative, np.inf)
    relative = np.where(constant, 0.0, relative)
    return float(relative.max())


def _compare_to_error(
    population,
    models,
    *,
    n_scenarios,
    seed,
    baseline,
    target_error,
    target_metric,
    target_party,
    max_scenarios,
    **options,
) -> xr.Dataset:
    """:func:`compare` rerun with more scenarios until ``target_metric``'s relative error is met."""
    import math
    import warnings

    from vbcsim._validation import check_positive
    from vbcsim.contracts.base import PARTIES
    from vbcsim.results.metrics import METRICS

    target_error = check_positive("target_error", target_error)
    if target_metric not in METRICS:
        raise ValueError(f"target_metric must be one of {', '.join(METRICS)}, got {target_metric!r}")
    if target_party not in PARTIES:
        raise ValueError(f"target_party must be one of {', '.join(PARTIES)}, got {target_party!r}")
    max_scenarios = check_positive_int("max_scenarios", max_scenarios, strict=True)
    n = check_positive_int("n_scenarios", n_scenarios, strict=True)
    if n < 2:
        raise ValueError(f"n_scenarios must be at least 2 with target_error, got {n}")
    if n > max_scenarios:
        raise ValueError(f"n_scenarios={n} is above max_scenarios={max_scenarios}")
    if options.get("out") is not None:
        raise ValueError(
            "out: target_error reruns the comparison at growing sizes, so it keeps them in memory; "
            "run with target_error first, then compare(n_scenarios=ds.sizes['scenario'], out=...) "
            "gives the same cube, streamed"
        )
    runs = 0
    while True:
        ds = compare(population, models, n_scenarios=n, seed=seed, baseline=baseline, **options)
        runs += 1
        achieved = _relative_error(ds, target_metric, target_party, baseline)
        if achieved <= target_error or n >= max_scenarios:
            break
        # the error falls as 1/sqrt(n): the size it asks for, 10% more for the error's own noise
        # at least doubled (few runs), at most eightfold: a small first run's error is itself rough
        factor = min(8.0, (achieved / target_error) ** 2 * 1.1) if achieved < 8 * target_error else 8.0
        n = int(min(max_scenarios, max(2 * n, math.ceil(n * factor))))
    if achieved > target_error:
        warnings.warn(
            f"compare: target_error={target_error:g} not reached within max_scenarios={max_scenarios:,}: "
            f"the relative error of {target_metric} for the {target_party} is {achieved:.3g}",
            UserWarning,
            stacklevel=3,
        )
    ds.attrs.update(
        target_error=target_error,
        target_metric=target_metric,
        target_party=target_party,
        achieved_error=achieved,
        target_runs=runs,
    )
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
    which: str = "five",
    **options,
) -> xr.Dataset:
    """How often each contract settles, as a function of the panel's size.

    The population's members are rescaled to each size (same case mix) and
    the comparison rerun; with ``models`` None the five partnership models are
    rebuilt for each size (benchmarks, MSRs and pools follow the panel), with
    ``overrides`` passed to :func:`partnership_models`.

    which : {"five", "all"}
        with ``models`` None: the five partnership models (default) or all
        eight, as for :func:`partnership_models`.

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
        ms = (
            models
            if models is not None
            else partnership_models(pop, scenario_risk, which=which, **dict(overrides or {}))
        )
        ds = compare(
            pop,
            ms,
            n_scenarios=n_scenarios,
            seed=seed,
            scenario_risk=scenario_risk,
            baseline=False,
            **options,
        )
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
