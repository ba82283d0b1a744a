"""The assumptions a sensitivity analysis moves: their names, default ranges and how a setting applies.

A *factor* is a named assumption and a *setting* is one value of it.  Four kinds of factor:

- ``efficiency``: a **multiplier** of each model's own expected efficiency (the ``efficiency``
  term of the preset, or the mean of an :class:`vbcsim.Arrangement`'s ``efficiency``), its
  year-to-year standard deviation kept.  A multiplier rather than one absolute value, so that
  the five models keep their order (stronger incentives buy more efficiency, see
  :mod:`vbcsim.partnerships`) while the size of the effect is moved;
- a field of :class:`vbcsim.ScenarioRisk` (``trend_cv``, ``shock_probability``,
  ``shock_size``, ``market_share_of_variance``): the systematic risk of every scenario, for
  every model (the priced premium and benchmarks follow its mean, as they do in
  :func:`vbcsim.partnership_models`);
- ``panel_size``: the provider's panel in members, the population rescaled by
  :func:`vbcsim.partnerships.resize` (same case mix); every model is rebuilt for it;
- any other term of the partnership presets (the dataclass fields of
  :class:`~vbcsim.partnerships.CustomContract`, ..., :class:`~vbcsim.partnerships.JointVenture`:
  ``sharing_rate``, ``percent_of_premium``, ``stop_loss_attachment``, ``minimum_savings_rate``,
  ``care_management_pmpm``, ...): an **absolute** value of that term, applied to the models
  whose preset has it.  A model without the term, or one given as a fixed
  :class:`vbcsim.Arrangement` in ``overrides``, is left as it is.

:data:`DEFAULT_RANGES` holds the documented default (low, high) settings of the default
factors; each cites where its range comes from.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

from vbcsim.contracts.arrangement import Arrangement, Efficiency
from vbcsim.contracts.shared_savings import MSSP_BASIC_LEVELS, MSSP_ENHANCED
from vbcsim.partnerships import (
    DEFAULT_SCENARIO_RISK,
    MODEL_KEYS,
    PartnershipModel,
    _build,
    _check_population,
    _model_class,
    partnership_models,
    resize,
)
from vbcsim.partnerships.registry import MODEL_CLASSES
from vbcsim.population.scenario import ScenarioRisk, check_scenario_risk

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_INDEX_FACTORS",
    "DEFAULT_RANGES",
    "PANEL_SIZE_RANGE",
    "Factor",
    "Setup",
    "Run",
    "factor",
    "parse_factors",
    "make_setup",
    "applies",
    "configure",
]

#: The factors of :func:`vbcsim.sensitivity` when ``factors`` is None, in this order.
DEFAULT_FACTORS = (
    "efficiency",
    "trend_cv",
    "shock_size",
    "shock_probability",
    "sharing_rate",
    "percent_of_premium",
    "panel_size",
    "stop_loss_attachment",
)

#: The uncertain scenario-level assumptions of :func:`vbcsim.sensitivity_indices` when
#: ``factors`` is None, each uniform over its :data:`DEFAULT_RANGES` range.
DEFAULT_INDEX_FACTORS = ("efficiency", "trend_cv", "shock_probability", "shock_size")

_SCENARIO = DEFAULT_SCENARIO_RISK

#: Default (low, high) settings by factor (``panel_size`` is relative: :data:`PANEL_SIZE_RANGE`).
DEFAULT_RANGES = {
    # half to one and a half times each model's expected efficiency: for model 1's 4% that is
    # 2%-6%, the range of the presets' efficiencies, which "are in the range that commercial ACO
    # and capitation evaluations report" (vbcsim.partnerships module docstring)
    "efficiency": (0.5, 1.5),
    # half to double each part of DEFAULT_SCENARIO_RISK (trend CV 2%, "the usual gap between
    # priced and emerging commercial trend is a few percent"; a 5% chance of an 8% shock year,
    # both illustrative, vbcsim.partnerships.base): 1%-4% trend CV, a shock year once in 40 to
    # once in 10 years, a 4%-16% shock (docs/settlement.md illustrates with a 15% shock)
    "trend_cv": (0.5 * _SCENARIO.trend_cv, 2.0 * _SCENARIO.trend_cv),
    "shock_size": (0.5 * _SCENARIO.shock_size, 2.0 * _SCENARIO.shock_size),
    "shock_probability": (0.5 * _SCENARIO.shock_probability, 2.0 * _SCENARIO.shock_probability),
    # the MSSP's sharing rates: 40%, the BASIC track's one-sided levels A and B (42 CFR
    # 425.605(d)(1)(i)-(ii)), to 75%, the ENHANCED track's maximum (42 CFR 425.610(d))
    "sharing_rate": (MSSP_BASIC_LEVELS["A"]["sharing_rate"], MSSP_ENHANCED["sharing_rate"]),
    # model 4's 85% +/- 5 points: at 90% the payer keeps only its administrative cost (10% of
    # premium, "commercial insurers' administrative expense typically runs at 10-12% of
    # premium", vbcsim.partnerships), no margin; at 80% it keeps twice its 5% margin
    "percent_of_premium": (0.80, 0.90),
    # "provider-excess cover commonly attaches between $100k and $250k for a network of this
    # size" (vbcsim.partnerships.RiskNetwork)
    "stop_loss_attachment": (100_000.0, 250_000.0),
}

#: ``panel_size``'s default settings as multiples of the population's members: half and double
#: (10,000-40,000 for the built-in 20,000-member panel, inside the 5,000-60,000 members of the
#: MSSP's minimum-savings-rate table, 42 CFR 425.604(b)).
PANEL_SIZE_RANGE = (0.5, 2.0)

_SCENARIO_FIELDS = tuple(f.name for f in dataclasses.fields(ScenarioRisk))
_TERMS = {f.name: f for cls in MODEL_CLASSES.values() for f in dataclasses.fields(cls)}


@dataclass(frozen=True)
class Factor:
    """One assumption a sensitivity analysis moves.

    Parameters
    ----------
    name : str
        the factor's name (``efficiency``, a :class:`vbcsim.ScenarioRisk` field,
        ``panel_size`` or a term of the partnership presets).
    kind : str
        ``"efficiency"``, ``"scenario"``, ``"panel"`` or ``"term"``.
    units : str
        what a setting is: ``"multiplier"`` (of each model's expected
        efficiency), ``"members"``, ``"currency per year"``, ``"currency per
        member per month"`` or ``"1"`` (a share or a plain number).
    integer : bool
        whether a setting must be a whole number (``panel_size``, integer terms
        such as ``other_practices``).
    """

    name: str
    kind: str
    units: str
    integer: bool = False


def factor(name) -> Factor:
    """The :class:`Factor` called ``name``, or a ValueError listing the known names."""
    if not isinstance(name, str):
        raise TypeError(f"factors: a factor name must be a string, got {type(name).__name__} {name!r}")
    if name == "efficiency":
        return Factor(name, "efficiency", "multiplier")
    if name in _SCENARIO_FIELDS:
        return Factor(name, "scenario", "1")
    if name == "panel_size":
        return Factor(name, "panel", "members", integer=True)
    if name in _TERMS:
        default = _TERMS[name].default
        integer = isinstance(default, int) and not isinstance(default, bool)
        if name.endswith("_pmpm"):
            units = "currency per member per month"
        elif name.endswith("attachment"):
            units = "currency per year"
        else:
            units = "1"
        return Factor(name, "term", units, integer=integer)
    raise ValueError(
        f"factors: unknown factor {name!r}; expected 'efficiency', 'panel_size', a ScenarioRisk field "
        f"({', '.join(_SCENARIO_FIELDS)}) or a term of the partnership models ({', '.join(sorted(_TERMS))})"
    )


def _default_range(f: Factor, population) -> tuple[float, float]:
    if f.name == "panel_size":
        n = population.members
        return (max(1, round(PANEL_SIZE_RANGE[0] * n)), max(2, round(PANEL_SIZE_RANGE[1] * n)))
    if f.name not in DEFAULT_RANGES:
        raise ValueError(
            f"factors[{f.name!r}]: this factor has no default range; give its (low, high) settings "
            f"(defaults exist for {', '.join(DEFAULT_RANGES)} and panel_size)"
        )
    return DEFAULT_RANGES[f.name]


def _check_setting(f: Factor, side: str, value, *, rounded: bool = False):
    where = f"factors[{f.name!r}]"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{where}: the {side} setting must be a finite number, got {type(value).__name__} {value!r}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where}: the {side} setting must be a finite number, got {value!r}")
    if f.integer:
        if rounded:
            return int(round(value))
        if not value.is_integer():
            raise ValueError(f"{where}: the {side} setting must be a whole number ({f.units}), got {value!r}")
        return int(value)
    return value


def parse_factors(factors, population, defaults) -> list[tuple[Factor, object, object]]:
    """``factors`` checked: a list of (factor, low, high) with low < high.

    ``factors`` is None (``defaults``), a sequence of names (their default ranges) or a mapping
    name -> (low, high) settings (None: the default range).
    """
    if factors is None:
        factors = dict.fromkeys(defaults)
    elif isinstance(factors, str):
        factors = {factors: None}
    elif not isinstance(factors, Mapping):
        try:
            names = list(factors)
        except TypeError:
            raise TypeError(
                f"factors must be a mapping of factor name -> (low, high), a sequence of names or None, "
                f"got {type(factors).__name__}"
            ) from None
        if len(set(map(repr, names))) != len(names):
            raise ValueError(f"factors: each factor may be named once, got {names!r}")
        factors = dict.fromkeys(names)
    if not factors:
        raise ValueError("factors must name at least one factor")
    out = []
    for name, settings in factors.items():
        f = factor(name)
        if settings is None:
            settings = _default_range(f, population)
        if isinstance(settings, (str, bytes, Mapping)):
            raise TypeError(
                f"factors[{name!r}] must be two numbers (low, high), got {type(settings).__name__}"
            )
        try:
            pair = tuple(settings)
        except TypeError:
            raise TypeError(
                f"factors[{name!r}] must be two numbers (low, high), got {type(settings).__name__} {settings!r}"
            ) from None
        if len(pair) != 2:
            raise ValueError(f"factors[{name!r}] must be two numbers (low, high), got {len(pair)}: {pair!r}")
        low, high = (_check_setting(f, side, v) for side, v in zip(("low", "high"), pair, strict=True))
        if not low < high:
            raise ValueError(f"factors[{name!r}]: the low setting must be below the high one, got {pair!r}")
        out.append((f, low, high))
    return out


@dataclass(frozen=True)
class Setup:
    """The base of an analysis: the panel, the systematic risk and each model as overridden.

    ``models`` maps each model identifier (:data:`vbcsim.partnerships.MODEL_KEYS`, in order)
    to its preset (a :class:`vbcsim.partnerships.PartnershipModel`) or to the fixed
    :class:`vbcsim.Arrangement` given in ``overrides``.
    """

    population: object
    scenario_risk: ScenarioRisk | None
    models: dict


@dataclass(frozen=True)
class Run:
    """One run of :func:`vbcsim.compare`: its panel, systematic risk and models (name -> Arrangement)."""

    population: object
    scenario_risk: ScenarioRisk | None
    models: dict


def make_setup(population, scenario_risk, overrides) -> Setup:
    """The checked base: ``population`` (None: the built-in panel), ``scenario_risk``, ``overrides``."""
    population = _check_population(population)
    scenario_risk = check_scenario_risk(scenario_risk)
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        raise TypeError(
            f"overrides must be a dict keyed by model identifier (as for vbcsim.partnership_models), "
            f"got {type(overrides).__name__}"
        )
    chosen = {}
    for key, params in overrides.items():
        try:
            cls = _model_class(key)
        except ValueError as exc:
            raise ValueError(f"overrides: {exc}") from None
        if cls.key not in MODEL_CLASSES:
            raise ValueError(
                f"overrides: {cls.key} is a payer-led model; the sensitivity analyses cover the five "
                f"partnership models ({', '.join(MODEL_KEYS)})"
            )
        if cls.key in chosen:
            raise ValueError(f"overrides: model {cls.key!r} is overridden twice (as {key!r})")
        if isinstance(params, Arrangement):
            chosen[cls.key] = params
            continue
        try:
            chosen[cls.key] = _build(cls, params)
        except (TypeError, ValueError) as exc:
            msg = str(exc)
            raise type(exc)(f"overrides: {msg if msg.startswith(cls.key) else f'{cls.key}: {msg}'}") from None
    models = {key: chosen.get(key, MODEL_CLASSES[key]()) for key in MODEL_KEYS}
    setup = Setup(population, scenario_risk, models)
    try:
        partnership_models(population, scenario_risk, **models)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"overrides: {exc}") from None
    return setup


def applies(f: Factor, model) -> bool:
    """Whether factor ``f`` changes ``model`` (a preset or a fixed Arrangement)."""
    if f.kind in ("scenario", "panel", "efficiency"):
        return True
    return isinstance(model, PartnershipModel) and f.name in {x.name for x in dataclasses.fields(model)}


def configure(setup: Setup, settings, where: str) -> Run:
    """The run of ``settings`` ((factor, setting) pairs) on ``setup``, with only the models they change.

    No settings: the base run, with every model.

    Errors (a setting the panel, the systematic risk or a model refuses) are re-raised with
    ``where`` (the argument and setting being applied) in front.
    """
    settings = list(settings)
    factors = {f.name: (f, value) for f, value in settings}
    changed = [key for key, model in setup.models.items() if any(applies(f, model) for f, _ in settings)]
    if not settings:  # the base run: every model
        changed = list(setup.models)
    try:
        population = setup.population
        scenario_risk = setup.scenario_risk
        if "panel_size" in factors:
            population = resize(population, factors["panel_size"][1])
        risk = {name: value for name, (f, value) in factors.items() if f.kind == "scenario"}
        if risk:
            scenario_risk = dataclasses.replace(scenario_risk or ScenarioRisk(), **risk)
        overrides = {}
        for key in changed:
            overrides[key] = _changed_model(setup.models[key], factors)
        built = partnership_models(population, scenario_risk, **overrides)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None
    titles = {cls.key: cls.title for cls in MODEL_CLASSES.values()}
    return Run(population, scenario_risk, {titles[key]: built[titles[key]] for key in changed})


def _changed_model(model, factors: dict):
    multiplier = factors["efficiency"][1] if "efficiency" in factors else None
    if isinstance(model, Arrangement):
        if multiplier is None:
            return model
        e = model.efficiency
        try:
            return dataclasses.replace(model, efficiency=Efficiency(multiplier * e.mean, e.sd))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"the model's Arrangement: {exc}") from None
    names = {x.name for x in dataclasses.fields(model)}
    changes = {name: value for name, (f, value) in factors.items() if f.kind == "term" and name in names}
    if multiplier is not None:
        changes["efficiency"] = multiplier * model.efficiency
    if not changes:
        return model
    try:
        return dataclasses.replace(model, **changes)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{model.key}: {exc}") from None
