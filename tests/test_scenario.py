"""Systematic scenario risk: exact moments, sampling and validation."""

import math

import numpy as np
import pytest

from vbcsim import ScenarioRisk


@pytest.mark.parametrize(
    "risk",
    [
        ScenarioRisk(),
        ScenarioRisk(trend_cv=0.05),
        ScenarioRisk(shock_probability=0.1, shock_size=0.2),
        ScenarioRisk(trend_cv=0.03, shock_probability=0.05, shock_size=-0.3),
    ],
)
def test_moments_against_sample(risk):
    n = 400_000
    m = risk.sample(n, np.random.default_rng(1), np.random.default_rng(2))
    assert m.shape == (n,)
    assert np.all(m > 0)
    sd = math.sqrt(risk.var())
    # sample mean within 4.5 standard errors (about 1 in 150,000 false alarms)
    assert abs(m.mean() - risk.mean()) <= 4.5 * sd / math.sqrt(n) + 1e-15
    if sd > 0:
        # sample variance: SE of s^2 is about sqrt((mu4 - sigma^4) / n); bound mu4 by the sample's own
        mu4 = np.mean((m - m.mean()) ** 4)
        assert abs(m.var() - risk.var()) <= 4.5 * math.sqrt(mu4 / n)


def test_trend_multiplier_has_mean_one():
    risk = ScenarioRisk(trend_cv=0.1)
    assert risk.mean() == 1.0
    assert risk.var() == pytest.approx(0.01)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"trend_cv": -0.1}, "trend_cv"),
        ({"trend_cv": float("nan")}, "trend_cv"),
        ({"shock_probability": 1.5}, "shock_probability"),
        ({"shock_probability": -0.1}, "shock_probability"),
        ({"shock_size": -1.0}, "shock_size"),
        ({"shock_size": float("inf")}, "shock_size"),
    ],
)
def test_bad_values(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ScenarioRisk(**kwargs)


def test_bad_types():
    with pytest.raises(TypeError, match="trend_cv"):
        ScenarioRisk(trend_cv="high")
