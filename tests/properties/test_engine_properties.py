"""Properties of ``vbcsim.simulate`` that hold for every distribution, size and seed (hypothesis).

The inequalities are checked *exactly*, without tolerance, where floating point
guarantees them: the kernel accumulates, member by member and in the same order,
terms (x - a/f)+ that are term-wise ordered across attachments and bounded by x, and
rounding is monotone, so ``excess`` is exactly non-increasing in the attachment and
exactly at most ``cost``.  Only ``cost - excess <= members x a`` (a sum of min(f x, a))
needs a rounding allowance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vbcsim import (
    Compound,
    Gamma,
    Hurdle,
    Lognormal,
    NegativeBinomial,
    Pareto,
    Poisson,
    Population,
    ScenarioRisk,
    Segment,
    Spliced,
    simulate,
)

SETTINGS = dict(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

basic = st.one_of(
    st.builds(Lognormal, st.floats(3.0, 9.0), st.floats(0.2, 2.0)),
    st.builds(Gamma, st.floats(0.1, 5.0), st.floats(10.0, 5000.0)),
    st.builds(Pareto, st.floats(1.2, 6.0), st.floats(100.0, 20_000.0)),
)


@st.composite
def spliced(draw):
    body = draw(basic)
    threshold = float(body.ppf(draw(st.floats(0.3, 0.99))))
    return Spliced(body, draw(basic), threshold, draw(st.floats(0.0, 1.0)))


severity = st.one_of(basic, spliced())
frequency = st.one_of(
    st.builds(Poisson, st.floats(0.0, 15.0)),
    st.builds(NegativeBinomial, st.floats(0.1, 15.0), st.floats(0.2, 10.0)),
)
compound = st.builds(Compound, frequency, severity)
member_cost = st.one_of(
    severity, compound, st.builds(Hurdle, st.floats(0.0, 1.0), st.one_of(severity, compound))
)
scenario_risk = st.none() | st.builds(
    ScenarioRisk, st.floats(0.0, 0.3), st.floats(0.0, 1.0), st.floats(-0.9, 2.0)
)


@st.composite
def populations(draw):
    n = draw(st.integers(1, 3))
    return Population([Segment(f"s{i}", draw(st.integers(1, 40)), draw(member_cost)) for i in range(n)])


attachment_lists = st.lists(st.floats(1.0, 1e6), min_size=1, max_size=5, unique=True).map(sorted)

# ---------------------------------------------------------------------------
# excess and cost
# ---------------------------------------------------------------------------


@settings(**SETTINGS)
@given(
    pop=populations(),
    n=st.integers(1, 30),
    attachments=attachment_lists,
    seed=st.integers(0, 2**64),
    risk=scenario_risk,
)
def test_excess_monotone_bounded_nonnegative(pop, n, attachments, seed, risk):
    ds = simulate(pop, n_scenarios=n, seed=seed, attachments=attachments, scenario_risk=risk)
    cost = ds.cost.values
    excess = ds.excess.values
    assert cost.shape == (n, len(pop)) and excess.shape == (n, len(pop), len(attachments))
    assert not np.any(np.isnan(cost)) and not np.any(np.isnan(excess))
    assert np.all(cost >= 0.0)
    assert np.all(excess >= 0.0)
    assert np.all(excess <= cost[:, :, None])
    # sorted attachments: excess non-increasing along the attachment axis
    assert np.all(np.diff(excess, axis=2) <= 0.0)
    # what stays below the attachment is at most a per member: sum min(f x, a) <= members a
    members = ds.members.values[None, :, None]
    a = np.asarray(attachments)[None, None, :]
    retained = cost[:, :, None] - excess
    finite = np.isfinite(cost)[:, :, None]
    slack = 1e-9 * np.abs(cost)[:, :, None]
    assert np.all(~finite | (retained <= members * a + slack))


@settings(**{**SETTINGS, "max_examples": 15})
@given(
    pop=populations(),
    n=st.integers(1, 40),
    extra=st.integers(1, 40),
    seed=st.integers(0, 2**32),
    risk=scenario_risk,
)
def test_prefix_and_threads(pop, n, extra, seed, risk):
    kw = dict(seed=seed, attachments=[5000.0], scenario_risk=risk)
    short = simulate(pop, n_scenarios=n, threads=1, **kw)
    long = simulate(pop, n_scenarios=n + extra, threads=2, **kw)
    for name in ("cost", "excess", "scenario_factor"):
        np.testing.assert_array_equal(short[name].values, long[name].values[:n])


@settings(**{**SETTINGS, "max_examples": 25})
@given(dist=member_cost, members=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_zero_cost_members(dist, members, seed):
    # a hurdle that never fires, or a compound without claims, costs exactly nothing
    for d in (
        Hurdle(0.0, dist if not isinstance(dist, Hurdle) else dist.severity),
        Compound(Poisson(0.0), Gamma(2.0, 1.0)),
    ):
        ds = simulate(Segment("z", members, d), n_scenarios=5, seed=seed, attachments=[1.0])
        assert np.all(ds.cost.values == 0.0) and np.all(ds.excess.values == 0.0)


# ---------------------------------------------------------------------------
# validation: random invalid values are rejected, naming the argument
# ---------------------------------------------------------------------------

POP = Population([Segment("s", 5, Gamma(2.0, 100.0))])
non_integral = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not float(x).is_integer())
bad_attachment = st.one_of(
    st.floats(max_value=0.0, allow_nan=False),  # zero, negative, -inf
    st.just(math.nan),
    st.just(math.inf),
)


@settings(**SETTINGS)
@given(value=st.integers(max_value=0))
def test_nonpositive_n_scenarios(value):
    with pytest.raises(ValueError, match="n_scenarios"):
        simulate(POP, n_scenarios=value, seed=1)


@settings(**SETTINGS)
@given(value=st.one_of(non_integral, st.text(), st.none(), st.booleans()))
def test_non_integer_n_scenarios(value):
    with pytest.raises(TypeError, match="n_scenarios"):
        simulate(POP, n_scenarios=value, seed=1)


@settings(**SETTINGS)
@given(value=st.one_of(st.integers(max_value=-1), non_integral, st.text(), st.none()))
def test_bad_seed(value):
    with pytest.raises((ValueError, TypeError), match="seed"):
        simulate(POP, n_scenarios=2, seed=value)


@settings(**SETTINGS)
@given(
    good=st.lists(st.floats(1.0, 1e6), max_size=4, unique=True), bad=bad_attachment, where=st.integers(0, 4)
)
def test_bad_attachment(good, bad, where):
    atts = list(good)
    atts.insert(min(where, len(atts)), bad)
    with pytest.raises(ValueError, match="attachments"):
        simulate(POP, n_scenarios=2, seed=1, attachments=atts)


@settings(**SETTINGS)
@given(good=st.lists(st.floats(1.0, 1e6), min_size=1, max_size=4, unique=True), where=st.integers(0, 4))
def test_duplicate_attachment(good, where):
    atts = list(good)
    atts.insert(min(where, len(atts)), good[where % len(good)])
    with pytest.raises(ValueError, match="attachments"):
        simulate(POP, n_scenarios=2, seed=1, attachments=atts)


@settings(**SETTINGS)
@given(value=st.one_of(st.integers(max_value=0), non_integral))
def test_bad_threads(value):
    with pytest.raises(ValueError, match="threads"):
        simulate(POP, n_scenarios=2, seed=1, threads=value)


@settings(**SETTINGS)
@given(value=st.one_of(st.integers(max_value=0), non_integral))
def test_bad_members(value):
    with pytest.raises((ValueError, TypeError), match="members"):
        Segment("s", value, Gamma(2.0, 1.0))


@settings(**SETTINGS)
@given(
    field=st.sampled_from(["trend_cv", "shock_probability", "shock_size"]),
    data=st.data(),
)
def test_bad_scenario_risk(field, data):
    bad = {
        "trend_cv": st.one_of(st.floats(max_value=-1e-300), st.just(math.nan), st.just(math.inf)),
        "shock_probability": st.one_of(
            st.floats(max_value=-1e-300), st.floats(min_value=1.0 + 1e-12), st.just(math.nan)
        ),
        "shock_size": st.one_of(st.floats(max_value=-1.0), st.just(math.nan), st.just(math.inf)),
    }[field]
    with pytest.raises(ValueError, match=field):
        ScenarioRisk(**{field: data.draw(bad)})
