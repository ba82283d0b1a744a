"""Fuzzing every public constructor with hostile values.

Each call either succeeds, and then whatever the engine or the contract computes from it is
finite, or raises ``ValueError``/``TypeError`` whose message names one of the arguments given.
Nothing may answer with another exception (a numba TypingError, an OverflowError, a
ZeroDivisionError), a silent infinity or NaN, or run without end (every call here is small,
so the bound below is a hang guard, not a speed target).

Set ``VBCSIM_FUZZ_REPORT=path.json`` to write the counts of calls and outcomes by class.
"""

from __future__ import annotations

import atexit
import dataclasses
import inspect
import json
import math
import os
import time
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vbcsim as v
from vbcsim import contracts as c

HANG_GUARD_S = 60.0  # far above any call here (each is a few members and scenarios)
EXAMPLES = int(os.environ.get("VBCSIM_FUZZ_EXAMPLES", "40"))  # raise it for a longer search

OUTCOMES: Counter = Counter()

#: the engine's work limit in this module: a fuzzed run of up to 1e8 member draws finishes in well
#: under a second, so every accepted call stays inside the hang guard; larger ones must be refused
#: up front with the estimate (the refusal path under test), as 1e12 draws are by default
FUZZ_MEMBER_DRAWS = 1e8


@pytest.fixture(autouse=True, scope="module")
def _small_work_limit():
    from vbcsim.results import plan

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plan, "MAX_MEMBER_DRAWS", FUZZ_MEMBER_DRAWS)
        yield


def _report():
    path = os.environ.get("VBCSIM_FUZZ_REPORT")
    if path and OUTCOMES:
        with open(path, "w") as f:
            json.dump(dict(sorted(OUTCOMES.items())), f, indent=1)


atexit.register(_report)

# hostile numbers mixed with plausible ones, so that some calls get past construction
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1.0, 1e-300, 1e-9, 0.5, 1.0, 1.5, 2.0, 50.0, 1e308, -1e308, 2**63, 2**64]),
    st.floats(0.0, 1.0),
    st.floats(0.01, 5_000.0),
    st.integers(-(2**70), 2**70),
    st.booleans(),
)
OTHER = st.one_of(st.none(), st.text(max_size=4), st.just([1, 2]), st.just({"a": 1}))
VALUES = st.one_of(NUMBERS, NUMBERS, NUMBERS, OTHER)
PARTIES = st.sampled_from(["payer", "provider", "enabler", "reinsurer", "nobody", "", 3])


def _value_for(param: inspect.Parameter):
    name = param.name
    if name in ("source", "target", "insurer", "partner", "claims_party", "party"):
        return PARTIES
    if name == "segments":
        return st.sampled_from([None, ("book",), ("book", "book"), ("elsewhere",), (), "book", 5])
    if name == "bands":
        return st.sampled_from(
            [
                c.ACO_REACH_GLOBAL_BANDS,
                ((0.0, math.inf, 0.5),),
                ((0.0, 0.1, 2.0), (0.1, math.inf, 0.5)),
                (),
                3,
            ]
        )
    if name == "savings":
        return st.sampled_from([c.SharedSavings(600.0, sharing_rate=0.5), None, 3])
    return VALUES


def _call(cls, draw, fixed=None):
    """Draw keyword arguments for ``cls`` (each optional one kept at its default half the time)."""
    kwargs = dict(fixed or {})
    for param in inspect.signature(cls).parameters.values():
        if param.name in kwargs or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        if param.default is not param.empty and draw(st.booleans()):
            continue
        kwargs[param.name] = draw(_value_for(param))
    return kwargs


def _outcome(kind: str, what: str, func):
    """Run ``func``; a ValueError/TypeError must name an argument; return the result or None."""
    start = time.perf_counter()
    try:
        result = func()
    except (ValueError, TypeError) as exc:
        OUTCOMES[f"{kind}: {type(exc).__name__}"] += 1
        return exc
    finally:
        assert time.perf_counter() - start < HANG_GUARD_S, f"{what} ran {time.perf_counter() - start:.0f} s"
    OUTCOMES[f"{kind}: accepted"] += 1
    return result


def _names_an_argument(exc: Exception, kwargs: dict, what: str, cls=None) -> None:
    """The message is one line and names a given argument (or, for "give exactly one of a and b"
    when neither was given, the alternatives of ``cls``'s signature it asks for)."""
    message = str(exc)
    if cls is not None and "one of" in message:
        kwargs = {**kwargs, **dict.fromkeys(inspect.signature(cls).parameters)}
    assert "\n" not in message.strip(), f"{what}: a one-line message, got {message!r}"
    assert any(name in message for name in kwargs), f"{what}: {message!r} names none of {sorted(kwargs)}"


BOOK = 6  # members of the small book every fuzzed contract and distribution is simulated on


def _simulate(cost=None, contract=None, n_scenarios=3):
    cost = cost if cost is not None else v.Lognormal(7.0, 1.0)
    population = v.Population([v.Segment("book", BOOK, cost)])
    models = None
    if contract is not None:
        base = [] if isinstance(contract, (c.FeeForService, c.Capitation)) else [c.FeeForService()]
        models = {"m": v.Arrangement([*base, contract])}
    return v.simulate(population, models, n_scenarios=n_scenarios, seed=1, attachments=[10_000.0])


def _finite(ds, what: str) -> None:
    for name, var in ds.data_vars.items():
        values = np.asarray(var.values, dtype=float)
        # NaN: no such contract in the model, no such entity owned by it
        values = values[~np.isnan(values)] if name in ("settlement", "entity_net") else values
        assert np.isfinite(values).all(), f"{what}: {name} is not finite"


# ------------------------------------------------------------------------------- distributions

DISTRIBUTIONS = [v.Lognormal, v.Gamma, v.Pareto, v.Poisson, v.NegativeBinomial]


@pytest.mark.parametrize("cls", DISTRIBUTIONS, ids=lambda k: k.__name__)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_distribution_constructors(cls, data):
    kwargs = _call(cls, data.draw)
    what = f"{cls.__name__}(**{kwargs!r})"
    dist = _outcome("distribution", what, lambda: cls(**kwargs))
    if isinstance(dist, Exception):
        _names_an_argument(dist, kwargs, what)
        return
    if cls in (v.Poisson, v.NegativeBinomial):
        dist = _outcome("distribution", what, lambda: v.Compound(dist, v.Lognormal(5.0, 1.0)))
        if isinstance(dist, Exception):
            return
    ds = _outcome("simulation", what, lambda: _simulate(cost=dist))
    if isinstance(ds, Exception):
        _names_an_argument(ds, {**kwargs, "cost": None, "members": None}, what)
        return
    _finite(ds, what)


@settings(max_examples=EXAMPLES, deadline=None)
@given(members=VALUES, name=st.one_of(st.text(max_size=3), VALUES))
def test_segment_constructor(members, name):
    what = f"Segment({name!r}, {members!r})"
    seg = _outcome("segment", what, lambda: v.Segment(name, members, v.Lognormal(7.0, 1.0)))
    if isinstance(seg, Exception):
        _names_an_argument(seg, {"members": 0, "name": 0}, what)
        return
    ds = _outcome("simulation", what, lambda: v.simulate(seg, n_scenarios=2, seed=1))
    if isinstance(ds, Exception):
        _names_an_argument(ds, {"members": 0, "n_scenarios": 0, "simulate": 0}, what)
        return
    _finite(ds, what)


@pytest.mark.parametrize("cls", [v.ScenarioRisk, v.Efficiency, v.Quality], ids=lambda k: k.__name__)
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_scenario_level_constructors(cls, data):
    kwargs = _call(cls, data.draw)
    what = f"{cls.__name__}(**{kwargs!r})"
    obj = _outcome("scenario-level", what, lambda: cls(**kwargs))
    if isinstance(obj, Exception):
        _names_an_argument(obj, kwargs, what)
        return
    population = v.Population([v.Segment("book", BOOK, v.Lognormal(7.0, 1.0))])
    if cls is v.ScenarioRisk:
        options = {"scenario_risk": obj}
    elif cls is v.Efficiency:
        options = {"models": {"m": v.Arrangement([c.FeeForService()], efficiency=obj)}}
    else:
        options = {"models": {"m": [c.FeeForService()]}, "quality": obj}
    ds = _outcome("simulation", what, lambda: v.simulate(population, n_scenarios=3, seed=1, **options))
    if isinstance(ds, Exception):
        _names_an_argument(ds, kwargs, what)
        return
    _finite(ds, what)


# ----------------------------------------------------------------------------------- contracts

CONTRACTS = [
    c.FeeForService,
    c.PayForPerformance,
    c.SharedSavings,
    c.Capitation,
    c.SpecificStopLoss,
    c.AggregateStopLoss,
    c.RiskCorridor,
    c.BundledPayment,
    c.MLRRebate,
    c.ManagementFee,
    c.SavingsPassThrough,
    c.JointVenture,
]


@pytest.mark.parametrize("cls", CONTRACTS, ids=lambda k: k.__name__)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_contract_constructors(cls, data):
    kwargs = _call(cls, data.draw)
    what = f"{cls.__name__}(**{kwargs!r})"
    contract = _outcome("contract", what, lambda: cls(**kwargs))
    if isinstance(contract, Exception):
        _names_an_argument(contract, kwargs, what, cls)
        return
    ds = _outcome("settlement", what, lambda: _simulate(contract=contract))
    if isinstance(ds, Exception):
        _names_an_argument(ds, {**kwargs, cls.__name__: None}, what)
        return
    _finite(ds, what)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_arrangement_constructor(data):
    fields = [
        f for f in dataclasses.fields(v.Arrangement) if f.name not in ("contracts", "efficiency", "pool")
    ]
    kwargs = {f.name: data.draw(VALUES) for f in fields if data.draw(st.booleans())}
    what = f"Arrangement(**{kwargs!r})"
    arr = _outcome("arrangement", what, lambda: v.Arrangement([c.FeeForService()], **kwargs))
    if isinstance(arr, Exception):
        _names_an_argument(arr, kwargs, what)
        return
    population = v.Population([v.Segment("book", BOOK, v.Lognormal(7.0, 1.0))])
    ds = _outcome("simulation", what, lambda: v.simulate(population, {"m": arr}, n_scenarios=3, seed=1))
    if isinstance(ds, Exception):
        _names_an_argument(ds, kwargs, what)
        return
    _finite(ds, what)


@settings(max_examples=EXAMPLES, deadline=None)
@given(n_scenarios=VALUES, seed=VALUES, threads=st.one_of(st.none(), VALUES), attachments=VALUES)
def test_simulate_arguments(n_scenarios, seed, threads, attachments):
    kwargs = {"n_scenarios": n_scenarios, "seed": seed, "threads": threads, "attachments": attachments}
    what = f"simulate(**{kwargs!r})"
    population = v.Population([v.Segment("book", BOOK, v.Lognormal(7.0, 1.0))])
    if isinstance(n_scenarios, (int, float)) and not isinstance(n_scenarios, bool) and n_scenarios > 2_000:
        kwargs["n_scenarios"] = n_scenarios = 2_000 if n_scenarios < 1e9 else n_scenarios  # keep it small
    ds = _outcome("simulate", what, lambda: v.simulate(population, **kwargs))
    if isinstance(ds, Exception):
        _names_an_argument(ds, kwargs, what)
        return
    _finite(ds, what)


# ------------------------------------------------------------------------------ partnership models

from vbcsim.partnerships.registry import MODEL_CLASSES  # noqa: E402

PANEL = v.defaults.provider_panel(60)


@pytest.mark.parametrize("key", list(MODEL_CLASSES), ids=str)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_partnership_model_terms(key, data):
    cls = MODEL_CLASSES[key]
    terms = {f.name: data.draw(VALUES) for f in dataclasses.fields(cls) if data.draw(st.booleans())}
    what = f"partnership_models({key}={terms!r})"
    models = _outcome("partnership model", what, lambda: v.partnership_models(PANEL, **{key: terms}))
    if isinstance(models, Exception):
        _names_an_argument(models, terms, what)
        return
    ds = _outcome("simulation", what, lambda: v.simulate(PANEL, models, n_scenarios=3, seed=1))
    if isinstance(ds, Exception):
        _names_an_argument(ds, terms, what)
        return
    _finite(ds, what)


# --------------------------------------------------------------------------------- the TOML schema

import copy  # noqa: E402
from pathlib import Path  # noqa: E402

from vbcsim.frontends.config import (  # noqa: E402
    ConfigError,
    parse_config,
    tomllib,  # noqa: E402
)

EXAMPLE = tomllib.loads((Path(__file__).resolve().parents[2] / "examples" / "compare.toml").read_text())


def _leaf_paths(node, path=()):
    if isinstance(node, dict):
        for k, x in node.items():
            yield from _leaf_paths(x, (*path, k))
    elif isinstance(node, list) and node and isinstance(node[0], dict):
        for i, x in enumerate(node):
            yield from _leaf_paths(x, (*path, i))
    else:
        yield path


LEAVES = list(_leaf_paths(EXAMPLE))
#: what TOML itself can hold (no None); strings of key names, so unknown-key paths get drawn too
TOML_VALUES = st.one_of(
    NUMBERS.filter(lambda x: not isinstance(x, int) or -(2**63) <= x < 2**63),
    st.text(max_size=4),
    st.just([1, 2]),
    st.just({"a": 1}),
    st.sampled_from(["lognormal", "gamma", "pareto", "hurdle", "compound", "custom_contract"]),
)


@settings(max_examples=4 * EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_toml_schema(data):
    raw = copy.deepcopy(EXAMPLE)
    changed = []
    for path in data.draw(st.lists(st.sampled_from(LEAVES), min_size=1, max_size=3, unique=True)):
        node = raw
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = data.draw(TOML_VALUES)
        changed.append(path)
    if data.draw(st.booleans()):  # an unknown key beside a mutated one
        path = changed[0]
        node = raw
        for k in path[:-1]:
            node = node[k]
        if isinstance(node, dict):
            node["surplus_key"] = 1
            changed.append((*path[:-1], "surplus_key"))
    what = f"config with {changed}"
    start = time.perf_counter()
    try:
        parse_config(raw)
        OUTCOMES["config: accepted"] += 1
    except ConfigError as exc:
        OUTCOMES["config: ConfigError"] += 1
        message = str(exc)
        assert "\n" not in message.strip(), f"{what}: {message!r}"
        names = {str(k) for p in changed for k in p if isinstance(k, str)} | {"configuration"}
        assert any(n in message for n in names), f"{what}: {message!r} names none of {sorted(names)}"
    finally:
        assert time.perf_counter() - start < HANG_GUARD_S


# ------------------------------------------------------------------------------------- output files


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=VALUES, suffix=st.sampled_from([".nc", ".zarr", ".csv"]), seed=st.integers(0, 2**70))
def test_outputs_are_whole_or_absent(members, suffix, seed, tmp_path_factory):
    """A fuzzed run writing a result either leaves the whole file or nothing at all (no temporaries)."""
    out_dir = tmp_path_factory.mktemp("out")
    out = out_dir / f"r{suffix}"
    what = f"members={members!r}, out={out.name}, seed={seed}"

    def run():
        from vbcsim.results.io import write_results

        ds = v.simulate(v.Segment("book", members, v.Lognormal(7.0, 1.0)), n_scenarios=3, seed=seed)
        return write_results(ds, out)

    result = _outcome("output", what, run)
    left = sorted(p.name for p in out_dir.iterdir())
    if isinstance(result, Exception):
        _names_an_argument(result, {"members": 0, "out": 0}, what)
        assert left == [], f"{what}: a refused run left {left}"
        return
    assert left == [out.name], f"{what}: {left}"
    import xarray as xr

    from vbcsim.results.io import seed_of

    opened = xr.open_zarr(out) if suffix == ".zarr" else xr.open_dataset(out)
    with opened as ds:
        assert seed_of(ds) == seed and ds.sizes["scenario"] == 3
