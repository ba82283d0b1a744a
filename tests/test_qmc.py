"""Quasi-Monte Carlo scenario-level draws: ``simulate(..., scenario_sampling="sobol")``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import vbcsim
from vbcsim.contracts import FeeForService

POP = vbcsim.Population([vbcsim.Segment("adults", 20_000, vbcsim.Gamma(4.0, 1_500.0))])
RISK = vbcsim.ScenarioRisk(trend_cv=0.10, shock_probability=0.1, shock_size=0.2)
MODELS = {"ffs": vbcsim.Arrangement([FeeForService()], efficiency=vbcsim.Efficiency(0.04, 0.02))}


def _run(n, seed, sampling, **kw):
    return vbcsim.simulate(
        POP, MODELS, n_scenarios=n, seed=seed, scenario_risk=RISK, scenario_sampling=sampling, threads=1, **kw
    )


def test_sobol_keeps_each_variable_s_distribution():
    ds = _run(1024, 3, "sobol")
    # a scrambled Sobol' sample of 1,024 is far more even than a random one: KS distances of the
    # transformed variables are well inside a random sample's 1% critical value (0.051)
    q = ds.quality.values
    assert stats.kstest(q, stats.beta(8, 2).cdf).statistic < 0.01
    e = ds.efficiency.sel(model="ffs").values
    mean, sd = 0.04, 0.02
    k = mean * (1 - mean) / sd**2 - 1
    assert stats.kstest(e, stats.beta(mean * k, (1 - mean) * k).cdf).statistic < 0.01
    # the factor's mean: E = 1 + p c exactly; QMC error far below MC's sd / sqrt(n)
    mc_se = np.sqrt(RISK.var() / 1024)
    assert abs(ds.scenario_factor.mean() - RISK.mean()) < 0.5 * mc_se


def test_sobol_is_reproducible_and_prefix_stable():
    a, b = _run(256, 5, "sobol"), _run(512, 5, "sobol")
    np.testing.assert_array_equal(a.net.values, b.net.values[:256])
    np.testing.assert_array_equal(a.quality.values, _run(256, 5, "sobol").quality.values)
    assert b.attrs["config"].count('"scenario_sampling": "sobol"') == 1
    # the members' draws are those of the random path: a run without scenario risk or models is identical
    plain = vbcsim.simulate(POP, n_scenarios=64, seed=5, threads=1)
    sobol = vbcsim.simulate(POP, n_scenarios=64, seed=5, threads=1, scenario_sampling="sobol")
    np.testing.assert_array_equal(plain.cost.values, sobol.cost.values)


def test_sobol_reduces_the_variance_of_a_systematic_estimate():
    # the mean annual cost over 256 scenarios, repeated over 16 seeds: its spread is mostly the
    # systematic trend and shock, which the Sobol' points stratify.  Under equal variances the
    # ratio of two sample variances with 15 and 15 degrees of freedom exceeds 4.2 with probability
    # 0.5% (F distribution); the reduction here is far larger
    def spread(sampling):
        return np.var([float(_run(256, s, sampling).medical_cost.mean()) for s in range(100, 116)], ddof=1)

    ratio = spread("random") / spread("sobol")
    assert ratio > stats.f(15, 15).ppf(0.995), ratio


def test_unknown_sampling_is_refused():
    with pytest.raises(ValueError, match="scenario_sampling must be one of 'random', 'sobol'"):
        _run(8, 1, "halton")


def test_a_model_s_sobol_draws_do_not_depend_on_the_other_models():
    # as with random sampling: adding or reordering models leaves every model's draws as they are
    two = {
        "ffs": MODELS["ffs"],
        "other": vbcsim.Arrangement([FeeForService()], efficiency=vbcsim.Efficiency(0.1, 0.05)),
    }
    alone = _run(128, 9, "sobol")
    both = vbcsim.simulate(
        POP,
        dict(reversed(two.items())),
        n_scenarios=128,
        seed=9,
        scenario_risk=RISK,
        scenario_sampling="sobol",
        threads=1,
    )
    np.testing.assert_array_equal(alone.quality.values, both.quality.values)
    np.testing.assert_array_equal(alone.scenario_factor.values, both.scenario_factor.values)
    np.testing.assert_array_equal(alone.net.sel(model="ffs").values, both.net.sel(model="ffs").values)
