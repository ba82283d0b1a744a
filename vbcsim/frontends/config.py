"""The ``vbcsim compare`` configuration file (TOML).

A configuration describes one comparison of the partnership models: who is
simulated, the systematic risk they share, which models are compared and how
each preset's parameters are overridden.  Every section is optional; an empty
file (or no file at all) compares the five models on the built-in defaults.
``examples/compare.toml`` is a commented example of every section.

Sections
--------
``[simulation]``
    ``n_scenarios``, ``seed``, ``threads`` and ``years`` (performance years per
    scenario, default 1, at most 50; the command-line flags override them).
``[population]``
    either ``scale`` (the built-in commercial population of 100,000 × scale
    members) or an array of ``[[population.segments]]`` tables with ``name``,
    ``members``, a ``cost`` distribution table (see below) and, for runs over
    several years, optional ``annual_churn`` (the share of members leaving a
    year, in [0, 1); default 0) and ``persistence`` (a table with one of
    ``top_decile_stay`` or ``rank_correlation``, :class:`vbcsim.Persistence`;
    default: a top-decile stay of 0.434).  Without the section: the
    comparison's default provider panel.
``[scenario_risk]``
    ``trend_cv``, ``shock_probability``, ``shock_size``,
    ``market_share_of_variance``, ``annual_trend``, ``trend_persistence``: each
    given value overrides the comparison's default systematic risk
    (:class:`vbcsim.ScenarioRisk`).
``[agreement]``
    agreement periods that set every shared-savings benchmark from the panel's
    own cost in the years before each period, rebased each period
    (:class:`vbcsim.Agreement`): ``length``, ``baseline_years``,
    ``baseline_weights``, ``regional_blend``, ``prior_savings_adjustment``,
    ``adjustment_cap``, ``prior_savings_share``; unset keys take the
    Agreement's defaults.  Without the section: the presets' fixed benchmarks.
``[compare]``
    ``models``: the short identifiers of the models to compare, in order
    (default: the five partnership models), or ``"all"`` for all eight (the
    five and the three payer-led care models).
``[models.<identifier>]``
    parameter overrides of one partnership preset (identifiers as in
    :data:`vbcsim.partnerships.MODEL_KEYS`); ``"none"`` sets an optional
    parameter to None (TOML has no null).
``[settlement_curve]``
    ``sizes`` (panel sizes) and ``n_scenarios`` of the settlement-probability
    curve that ``--plots`` draws.

Cost distribution tables have a ``type`` and that distribution's parameters:

=====================  =====================================================
``type``               parameters
=====================  =====================================================
``lognormal``          ``mu`` and ``sigma``, or ``mean`` and ``cv``
``gamma``              ``shape`` and ``scale``, or ``mean`` and ``cv``
``pareto``             ``alpha`` and ``scale`` (Lomax)
``spliced``            ``body``, ``tail`` (tables), ``threshold``, optional ``tail_weight``
``hurdle``             ``p_nonzero`` and ``severity`` (table)
``compound``           ``frequency`` and ``severity`` (tables)
``poisson``            ``lam`` (a compound frequency)
``negative_binomial``  ``mean`` and ``dispersion`` (a compound frequency)
=====================  =====================================================

Every problem raises :class:`ConfigError` with a one-line message that starts
with the path of the offending field, for example
``population.segments[1].members: must be a positive integer, got -5``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from vbcsim._validation import check_nonnegative_int, check_positive_int
from vbcsim.contracts.agreement import Agreement
from vbcsim.population import distributions as dist
from vbcsim.population.persistence import Persistence
from vbcsim.population.scenario import ScenarioRisk
from vbcsim.population.segments import Population, Segment

__all__ = ["CompareConfig", "ConfigError", "load_config", "parse_config"]

SECTIONS = (
    "simulation",
    "population",
    "scenario_risk",
    "agreement",
    "compare",
    "models",
    "settlement_curve",
)


class ConfigError(ValueError):
    """An invalid ``vbcsim compare`` configuration.

    The message is one line and starts with the path of the offending field
    (``population.segments[0].cost.sigma: must be positive, got -1.0``).
    """


@dataclass(frozen=True)
class CompareConfig:
    """A parsed and validated ``vbcsim compare`` configuration.

    Attributes
    ----------
    population : Population or None
        who is simulated; None for the comparison's default provider panel.
    scenario_risk : ScenarioRisk
        systematic risk shared by all members of a scenario (the comparison's
        default with the configured values overriding it).
    models : dict
        the compared models, readable name -> :class:`vbcsim.Arrangement`, in order.
    model_keys : tuple of str
        their identifiers (:data:`vbcsim.partnerships.MODEL_KEYS`), in the same order.
    overrides : dict
        the parameter overrides by model identifier, as passed to
        :func:`vbcsim.partnership_models` (for reruns at other panel sizes).
    n_scenarios, seed, threads, years : int or None
        simulation settings from ``[simulation]``; None where not given.
    agreement : Agreement or None
        the ``[agreement]`` section, passed to :func:`vbcsim.compare`; None without it.
    curve_sizes : tuple of int or None
        panel sizes of the settlement-probability curve; None for the default.
    curve_scenarios : int or None
        scenarios per panel size of that curve; None for the default.
    source : dict
        the configuration as read (plain TOML values), recorded in the result's attributes.
    """

    population: Population | None
    scenario_risk: ScenarioRisk
    models: dict[str, Any]
    model_keys: tuple[str, ...]
    overrides: dict[str, dict] = field(default_factory=dict)
    n_scenarios: int | None = None
    seed: int | None = None
    threads: int | None = None
    curve_sizes: tuple[int, ...] | None = None
    curve_scenarios: int | None = None
    source: dict = field(default_factory=dict)
    years: int | None = None
    agreement: Agreement | None = None


def load_config(path) -> CompareConfig:
    """Read, parse and validate the TOML configuration file at ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        the configuration file.

    Returns
    -------
    CompareConfig

    Raises
    ------
    ConfigError
        if the file cannot be read, is not valid TOML (the message gives the
        line and column) or does not describe a valid comparison.
    """
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror or exc}") from None
    try:
        raw = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(raw)


def parse_config(raw: Mapping[str, Any]) -> CompareConfig:
    """Validate a configuration given as a mapping (what ``tomllib`` reads).

    Parameters
    ----------
    raw : mapping
        the configuration; see the module documentation for its sections.

    Returns
    -------
    CompareConfig

    Raises
    ------
    ConfigError
        naming the first invalid field.  Any ``ValueError``, ``TypeError`` or
        ``OverflowError`` that a check of the library raises while the
        configuration is parsed comes out as a one-line ConfigError.
    """
    try:
        return _parse(raw)
    except ConfigError:
        raise
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"configuration: {message}") from None


def _parse(raw: Mapping[str, Any]) -> CompareConfig:
    raw = _table(raw, "configuration")
    _check_keys(raw, SECTIONS, "", what="section")
    sim = _table(raw.get("simulation", {}), "simulation")
    _check_keys(sim, ("n_scenarios", "seed", "threads", "years"), "simulation")
    n_scenarios = _optional(sim, "n_scenarios", "simulation", _positive_int)
    seed = _optional(sim, "seed", "simulation", _seed)
    threads = _optional(sim, "threads", "simulation", _threads)
    years = _optional(sim, "years", "simulation", _years)

    population = _population(raw["population"]) if "population" in raw else None
    scenario_risk = _scenario_risk(raw.get("scenario_risk", {}))
    agreement = _agreement(raw["agreement"]) if "agreement" in raw else None
    subset = _model_subset(raw.get("compare", {}))
    overrides = _overrides(raw.get("models", {}))
    models, model_keys = _models(overrides, population, scenario_risk, subset)

    curve = _table(raw.get("settlement_curve", {}), "settlement_curve")
    _check_keys(curve, ("sizes", "n_scenarios"), "settlement_curve")
    sizes = _optional(curve, "sizes", "settlement_curve", _sizes)
    curve_scenarios = _optional(curve, "n_scenarios", "settlement_curve", _positive_int)
    return CompareConfig(
        population=population,
        scenario_risk=scenario_risk,
        models=models,
        model_keys=model_keys,
        overrides=overrides,
        n_scenarios=n_scenarios,
        seed=seed,
        threads=threads,
        curve_sizes=sizes,
        curve_scenarios=curve_scenarios,
        source=dict(raw),
        years=years,
        agreement=agreement,
    )


# ---------------------------------------------------------------------------------------------------------
# helpers: tables, keys, values


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value) -> str:
    if isinstance(value, Mapping):
        return "table"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _table(value, path: str) -> dict:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a table, got {_type_name(value)} {value!r}")
    return dict(value)


def _check_keys(table: Mapping, allowed, path: str, *, what: str = "key") -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{_join(path, str(key))}: unknown {what}; {hint}expected one of {', '.join(allowed)}"
            )


def _optional(table: Mapping, key: str, path: str, parse: Callable):
    return parse(table[key], _join(path, key)) if key in table else None


def _rest(message: str) -> str:
    """``'Owner: name must be x'`` -> ``'must be x'``."""
    m = re.match(r"^(?:.*?: )?\w+ (must .*)$", message, re.S)
    return m.group(1) if m else message


def _positive_int(value, path: str) -> int:
    try:
        return check_positive_int("value", value, strict=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(f"{path}: {_rest(str(exc))}") from None


def _nonnegative_int(value, path: str) -> int:
    try:
        return check_nonnegative_int("value", value, strict=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(f"{path}: {_rest(str(exc))}") from None


def _engine_checked(check, value, path: str):
    """``check(value)`` of the engine's, its error as a one-line ConfigError naming ``path``."""
    try:
        return check(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(f"{path}: {_rest(' '.join(str(exc).split()))}") from None


def _seed(value, path: str) -> int:
    """A seed as the engine accepts it (:func:`vbcsim.engine.driver.check_seed`)."""
    from vbcsim.engine.driver import check_seed

    return _engine_checked(check_seed, _nonnegative_int(value, path), path)


def _threads(value, path: str) -> int:
    """A thread count as the engine accepts it (:func:`vbcsim.engine.driver.check_threads`)."""
    from vbcsim.engine.driver import check_threads

    return _engine_checked(check_threads, _positive_int(value, path), path)


def _years(value, path: str) -> int:
    """Performance years as the engine accepts them (:func:`vbcsim.results.simulation.check_years`)."""
    from vbcsim.results.simulation import check_years

    return _engine_checked(check_years, _positive_int(value, path), path)


def _string(value, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: must be a non-empty string, got {_type_name(value)} {value!r}")
    return value


def _array(value, path: str) -> list:
    if not isinstance(value, list):
        raise ConfigError(f"{path}: expected an array, got {_type_name(value)} {value!r}")
    return value


def _sizes(value, path: str) -> tuple[int, ...]:
    value = _array(value, path)
    if not value:
        raise ConfigError(f"{path}: must not be empty")
    return tuple(_positive_int(v, f"{path}[{i}]") for i, v in enumerate(value))


def _wrap(exc: Exception, path: str, names) -> ConfigError:
    """A library ``ValueError``/``TypeError`` as a ConfigError naming the field it is about."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    m = re.match(r"^(?:.*?: )?(\w+) (must .*)$", message, re.S)
    if m and m.group(1) in names:
        return ConfigError(f"{_join(path, m.group(1))}: {m.group(2)}")
    message = re.sub(r"^(?:[A-Za-z_][\w.]*: )+", "", message)  # drop "Owner: " prefixes
    found = [(m.start(), name) for name in names if (m := re.search(rf"\b{re.escape(name)}\b", message))]
    if found:  # a message that names a field without the "x must" form: the first one named
        return ConfigError(f"{_join(path, min(found)[1])}: {message}")
    return ConfigError(f"{path}: {message}")


# ---------------------------------------------------------------------------------------------------------
# population and cost distributions

SEVERITIES = ("lognormal", "gamma", "pareto")
FREQUENCIES = ("poisson", "negative_binomial")
COSTS = (*SEVERITIES, "spliced", "hurdle", "compound")


def _population(value) -> Population:
    table = _table(value, "population")
    _check_keys(table, ("scale", "segments"), "population")
    if ("scale" in table) == ("segments" in table):
        raise ConfigError(
            "population: give either scale (the built-in population) or [[population.segments]]"
        )
    if "scale" in table:
        return _scaled_population(table["scale"])
    segments = _array(table["segments"], "population.segments")
    if not segments:
        raise ConfigError("population.segments: must not be empty")
    parsed = [_segment(s, f"population.segments[{i}]") for i, s in enumerate(segments)]
    try:
        return Population(parsed)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(f"population.segments: {str(exc).removeprefix('Population: ')}") from None


def _scaled_population(scale) -> Population:
    """The built-in commercial population times ``scale``; every error names ``population.scale``."""
    from vbcsim.population.defaults import commercial_population

    try:
        return commercial_population(scale)
    except (TypeError, ValueError, OverflowError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        message = re.sub(r"^(?:[A-Za-z_][\w.]*: )+", "", message).removeprefix("scale ")
        raise ConfigError(f"population.scale: {message}") from None


SEGMENT_KEYS = ("name", "members", "cost", "annual_churn", "persistence")


def _segment(value, path: str) -> Segment:
    table = _table(value, path)
    _check_keys(table, SEGMENT_KEYS, path)
    for key in ("name", "members", "cost"):
        if key not in table:
            raise ConfigError(f"{_join(path, key)}: missing")
    name = _string(table["name"], _join(path, "name"))
    members = _positive_int(table["members"], _join(path, "members"))
    cost = _distribution(table["cost"], _join(path, "cost"), COSTS)
    extra = {}
    if "annual_churn" in table:
        extra["annual_churn"] = table["annual_churn"]
    if "persistence" in table:
        extra["persistence"] = _persistence(table["persistence"], _join(path, "persistence"))
    try:
        segment = Segment(name, members, cost, **extra)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _wrap(exc, path, SEGMENT_KEYS) from None
    if "persistence" in extra:  # a persistence the cost cannot reach fails now, not in the run
        try:
            segment.latent_correlation()
        except (TypeError, ValueError, OverflowError) as exc:
            raise _wrap(exc, _join(path, "persistence"), PERSISTENCE_KEYS) from None
    return segment


PERSISTENCE_KEYS = ("top_decile_stay", "rank_correlation")


def _persistence(value, path: str) -> Persistence:
    """A ``persistence`` table: one of top_decile_stay or rank_correlation (:class:`vbcsim.Persistence`)."""
    table = _table(value, path)
    _check_keys(table, PERSISTENCE_KEYS, path)
    if len(table) > 1:
        raise ConfigError(f"{path}: give one of top_decile_stay or rank_correlation, not both")
    try:
        return Persistence(**table)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _wrap(exc, path, PERSISTENCE_KEYS) from None


# type -> (parameter sets accepted, one of which must be given in full; optional parameters)
_PARAMETERS: dict[str, tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]] = {
    "lognormal": ((("mu", "sigma"), ("mean", "cv")), ()),
    "gamma": ((("shape", "scale"), ("mean", "cv")), ()),
    "pareto": ((("alpha", "scale"),), ()),
    "spliced": ((("body", "tail", "threshold"),), ("tail_weight",)),
    "hurdle": ((("p_nonzero", "severity"),), ()),
    "compound": ((("frequency", "severity"),), ()),
    "poisson": ((("lam",),), ()),
    "negative_binomial": ((("mean", "dispersion"),), ()),
}


def _distribution(value, path: str, allowed: tuple[str, ...]):
    table = _table(value, path)
    if "type" not in table:
        raise ConfigError(f"{_join(path, 'type')}: missing; expected one of {', '.join(allowed)}")
    kind = table.pop("type")
    if kind not in allowed:
        close = difflib.get_close_matches(str(kind), list(allowed), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"{_join(path, 'type')}: unknown distribution {kind!r}; {hint}expected one of {', '.join(allowed)}"
        )
    alternatives, optional = _PARAMETERS[kind]
    known = tuple(dict.fromkeys(k for keys in alternatives for k in (*keys, *optional)))
    _check_keys(table, known, path, what=f"{kind} parameter")
    given = [keys for keys in alternatives if any(k in table for k in keys)]
    if len(given) != 1:
        forms = " or ".join(" and ".join(keys) for keys in alternatives)
        what = "mixes the parameter sets" if given else "has no parameters"
        raise ConfigError(f"{path}: {kind} {what}; give {forms}")
    keys = given[0]
    for k in keys:
        if k not in table:
            raise ConfigError(f"{_join(path, k)}: missing ({kind} needs {' and '.join(keys)})")
    p = dict(table)
    if kind == "spliced":
        p["body"] = _distribution(p["body"], _join(path, "body"), SEVERITIES)
        p["tail"] = _distribution(p["tail"], _join(path, "tail"), SEVERITIES)
    elif kind == "hurdle":
        p["severity"] = _distribution(
            p["severity"], _join(path, "severity"), (*SEVERITIES, "spliced", "compound")
        )
    elif kind == "compound":
        p["frequency"] = _distribution(p["frequency"], _join(path, "frequency"), FREQUENCIES)
        p["severity"] = _distribution(p["severity"], _join(path, "severity"), (*SEVERITIES, "spliced"))
    try:
        return _build(kind, keys, p)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _wrap(exc, path, tuple(p)) from None


def _build(kind: str, keys: tuple[str, ...], p: dict):
    if kind in ("lognormal", "gamma") and keys == ("mean", "cv"):
        cls = dist.Lognormal if kind == "lognormal" else dist.Gamma
        return cls.from_mean_cv(p["mean"], p["cv"])
    classes = {
        "lognormal": dist.Lognormal,
        "gamma": dist.Gamma,
        "pareto": dist.Pareto,
        "spliced": dist.Spliced,
        "hurdle": dist.Hurdle,
        "compound": dist.Compound,
        "poisson": dist.Poisson,
        "negative_binomial": dist.NegativeBinomial,
    }
    return classes[kind](**p)


# ---------------------------------------------------------------------------------------------------------
# systematic risk and models


def _scenario_risk(value) -> ScenarioRisk:
    from vbcsim.partnerships import DEFAULT_SCENARIO_RISK

    table = _table(value, "scenario_risk")
    names = tuple(f.name for f in dataclasses.fields(ScenarioRisk))
    _check_keys(table, names, "scenario_risk")
    base = DEFAULT_SCENARIO_RISK if DEFAULT_SCENARIO_RISK is not None else ScenarioRisk()
    try:
        return dataclasses.replace(base, **table)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _wrap(exc, "scenario_risk", names) from None


AGREEMENT_KEYS = tuple(f.name for f in dataclasses.fields(Agreement) if f.init)


def _agreement(value) -> Agreement:
    """The ``[agreement]`` section: :class:`vbcsim.Agreement` with the given fields."""
    table = _table(value, "agreement")
    _check_keys(table, AGREEMENT_KEYS, "agreement")
    if "baseline_weights" in table:
        weights = _array(table["baseline_weights"], "agreement.baseline_weights")
        table["baseline_weights"] = tuple(weights)
    try:
        return Agreement(**table)
    except (TypeError, ValueError, OverflowError) as exc:
        error = _wrap(exc, "agreement", AGREEMENT_KEYS)
        if str(error).startswith("agreement.baseline_weights:") and "baseline_weights" not in table:
            error = ConfigError(f"{error} (the default; give baseline_weights, one per baseline year)")
        raise error from None


def _model_subset(value) -> tuple[str, ...] | None:
    from vbcsim.partnerships.registry import ALL_MODEL_KEYS as MODEL_KEYS

    table = _table(value, "compare")
    _check_keys(table, ("models",), "compare")
    if "models" not in table:
        return None
    if table["models"] == "all":  # the five and the three payer-led models
        return tuple(MODEL_KEYS)
    keys = _array(table["models"], "compare.models")
    if not keys:
        raise ConfigError("compare.models: must name at least one model")
    for i, key in enumerate(keys):
        if key not in MODEL_KEYS:
            close = difflib.get_close_matches(str(key), list(MODEL_KEYS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"compare.models[{i}]: unknown model {key!r}; {hint}expected one of {', '.join(MODEL_KEYS)}"
            )
        if key in keys[:i]:
            raise ConfigError(f"compare.models[{i}]: {key!r} is listed twice")
    return tuple(keys)


def _model_class(key: str):
    """The preset dataclass of model ``key`` (``custom_contract`` -> ``CustomContract``), or None."""
    from vbcsim import partnerships

    classes = getattr(partnerships.registry, "ALL_MODEL_CLASSES", None)
    if isinstance(classes, Mapping) and key in classes:
        return classes[key]
    cls = getattr(partnerships, "".join(part.capitalize() for part in key.split("_")), None)
    return cls if isinstance(cls, type) and dataclasses.is_dataclass(cls) else None


def _convert(value, annotation, path: str):
    """A TOML value as a model parameter of type ``annotation``.

    TOML has no null: the string ``"none"`` stands for None where the parameter
    accepts it (say ``quality_gate = "none"``: no quality gate).  A table given
    for a dataclass-typed parameter becomes that dataclass.
    """
    if isinstance(value, str) and value.lower() == "none" and type(None) in typing.get_args(annotation):
        return None
    if not isinstance(value, Mapping):
        return value
    candidates = [annotation, *typing.get_args(annotation)]
    for cls in candidates:
        if isinstance(cls, type) and dataclasses.is_dataclass(cls):
            names = tuple(f.name for f in dataclasses.fields(cls) if f.init)
            _check_keys(value, names, path)
            try:
                return cls(**value)
            except (TypeError, ValueError, OverflowError) as exc:
                raise _wrap(exc, path, names) from None
    return dict(value)


def _overrides(value) -> dict[str, dict]:
    from vbcsim import partnerships

    table = _table(value, "models")
    _check_keys(table, partnerships.registry.ALL_MODEL_KEYS, "models", what="model")
    overrides = {}
    for key, params in table.items():
        path = f"models.{key}"
        params = _table(params, path)
        cls = _model_class(key)
        if cls is not None:
            names = tuple(f.name for f in dataclasses.fields(cls) if f.init)
            _check_keys(params, names, path, what="parameter")
            try:
                hints = typing.get_type_hints(cls)
            except Exception:  # unresolvable annotations: tables pass through as dicts
                hints = {}
            params = {k: _convert(v, hints.get(k), _join(path, k)) for k, v in params.items()}
        overrides[key] = params
    return overrides


def _models(overrides, population, scenario_risk, subset) -> tuple[dict[str, Any], tuple[str, ...]]:
    from vbcsim import partnerships

    registry = partnerships.registry
    wanted = set(subset or ()) | set(overrides)
    which = "all" if wanted & set(registry.PAYER_LED_CLASSES) else "five"
    try:
        built = partnerships.partnership_models(population, scenario_risk, which=which, **overrides)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _model_error(exc, overrides) from None
    keys = subset if subset is not None else tuple(partnerships.MODEL_KEYS)
    return {registry.ALL_MODEL_NAMES[k]: built[registry.ALL_MODEL_NAMES[k]] for k in keys}, keys


def _model_error(exc: Exception, table: Mapping) -> ConfigError:
    """Name the model (and where possible the parameter) a preset's error is about."""
    from vbcsim.partnerships import MODEL_NAMES

    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for key, params in table.items():
        cls = _model_class(key)
        owners = (key, MODEL_NAMES.get(key, key), cls.__name__ if cls is not None else key)
        if any(o and o in message for o in owners) or len(table) == 1:
            return _wrap(exc, f"models.{key}", tuple(params) if isinstance(params, Mapping) else ())
    return ConfigError(f"models: {message}")
