"""Monte Carlo standard errors of ``summarize``: closed forms, the spread over seeds, the baseline.

Two kinds of check.  On synthetic normal results every error has an exact large-sample value
(σ/√n for the mean, σ/√(2n) for the sd, √(p(1-p)/n)/φ(z_p) σ for a quantile, the expected
shortfall's asymptotic variance), so a 200,000-scenario sample pins the estimators to a few
percent.  On real comparisons the standard error a single run reports must match the spread of
the metric across independent seeds: with R runs the sample sd of R estimates has a relative
standard error of about 1/√(2(R − 1)), so the ratio (reported error / spread) is held to
1 ± 4 of those (± 0.40 at R = 50); checked on a light-tailed panel (Gamma costs), where the
asymptotics hold at a few hundred scenarios.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import vbcsim
from vbcsim.contracts import FeeForService, SharedSavings
from vbcsim.results.metrics import METRICS, tidy


def _cube(net: np.ndarray, cost: np.ndarray | None = None) -> xr.Dataset:
    n = net.shape[0]
    cost = np.linspace(1.0, 2.0, n) if cost is None else cost
    return xr.Dataset(
        {
            "net": (("scenario", "model", "party"), net.reshape(n, 1, 1)),
            "medical_cost": (("scenario", "model"), cost.reshape(n, 1)),
        },
        coords={"model": ["m"], "party": ["payer"]},
    )


def test_errors_match_the_normal_closed_forms():
    n, mu, sigma, p = 1_000_000, 5.0, 2.0, 0.95
    x = np.random.default_rng(7).normal(mu, sigma, n)
    s = vbcsim.summarize(_cube(x), levels=(p,), capital_level=p).isel(model=0, party=0)
    z = stats.norm.ppf(p)
    phi = stats.norm.pdf(z)
    exact = {
        "mean": sigma / math.sqrt(n),
        "std": sigma / math.sqrt(2 * n),
        "value_at_risk": sigma * math.sqrt(p * (1 - p) / n) / phi,
        # ES of a normal loss: ψ = VaR + (L − VaR)+/(1 − p) − ES, Var ψ by numerical integration
        "tail_value_at_risk": sigma
        * math.sqrt(
            stats.norm.expect(lambda t: np.maximum(t - z, 0) ** 2) / (1 - p) ** 2
            - (stats.norm.expect(lambda t: np.maximum(t - z, 0)) / (1 - p)) ** 2
        )
        / math.sqrt(n),
        "prob_loss": math.sqrt(stats.norm.cdf(-mu / sigma) * stats.norm.sf(-mu / sigma) / n),
    }
    m = math.ceil(math.sqrt(n * p * (1 - p)))
    for name, want in exact.items():
        got = float(s[f"{name}_standard_error"].squeeze())
        # the influence-function errors are sample moments: at n = 10^6 within 1% or so; the VaR's
        # order-statistic interval is the spacing of 2m = 436 ranks, itself uncertain by about
        # 1/√(2m) = 4.8% relative: four of those
        tolerance = 4 / math.sqrt(2 * m) if name == "value_at_risk" else 0.03
        assert got == pytest.approx(want, rel=tolerance), name


def test_risk_share_error_is_the_regression_slope_error():
    # net = −0.3 C + independent noise: the OLS slope's standard error is sd(noise)/(sd(C) √n)
    n = 100_000
    rng = np.random.default_rng(3)
    cost = rng.normal(100.0, 10.0, n)
    net = -0.3 * cost + rng.normal(0.0, 5.0, n)
    s = vbcsim.summarize(_cube(net, cost)).isel(model=0, party=0)
    assert float(s.risk_share) == pytest.approx(0.3, abs=4 * 5.0 / (10.0 * math.sqrt(n)))
    assert float(s.risk_share_standard_error) == pytest.approx(5.0 / (10.0 * math.sqrt(n)), rel=0.02)


def _light_tailed():
    cost = vbcsim.Gamma(4.0, 1_500.0)  # mean 6,000 a year, CV 0.5
    return vbcsim.Population([vbcsim.Segment("adults", 400, cost)])


def _models(pop):
    expected = pop.expected_cost() / pop.members / 12
    return {
        "shared savings": vbcsim.Arrangement(
            [FeeForService(), SharedSavings(expected, sharing_rate=0.5, minimum_savings_rate=0.01)],
            efficiency=vbcsim.Efficiency(0.03, 0.02),
            care_management_pmpm=5.0,
            admin_pmpm=50.0,
        ),
        "two-sided": vbcsim.Arrangement(
            [
                FeeForService(),
                SharedSavings(
                    expected,
                    sharing_rate=0.6,
                    loss_sharing_rate=0.6,
                    minimum_savings_rate=0.0,
                    minimum_loss_rate=0.0,
                ),
            ],
            efficiency=0.02,
            admin_pmpm=50.0,
        ),
    }


@pytest.fixture(scope="module")
def seeds():
    pop = _light_tailed()
    models = _models(pop)
    risk = vbcsim.ScenarioRisk(trend_cv=0.03)
    out = []
    for seed in range(50):
        ds = vbcsim.simulate(
            pop, models, n_scenarios=400, seed=10_000 + seed, scenario_risk=risk, baseline=True, threads=1
        )
        out.append(vbcsim.summarize(ds, levels=(0.9,), capital_level=0.9, baseline="fee_for_service"))
    return xr.concat(out, "run")


@pytest.mark.parametrize("metric", METRICS)
def test_reported_errors_match_the_spread_over_seeds(seeds, metric):
    runs = seeds.sizes["run"]
    spread = seeds[metric].std("run", ddof=1)
    reported = seeds[f"{metric}_standard_error"].mean("run")
    ratio = (reported / spread).values.ravel()
    ratio = ratio[np.isfinite(ratio)]
    assert ratio.size >= 2
    tolerance = 4 / math.sqrt(2 * (runs - 1))
    assert np.all(np.abs(ratio - 1) < tolerance), (metric, ratio)


def test_paired_error_is_smaller_than_unpaired_for_the_payer():
    # the payer's premium less claims swings the same way under the model and under fee for
    # service on the same draws: the paired difference cancels most of it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds = vbcsim.compare(vbcsim.defaults.provider_panel(2_000), n_scenarios=500, seed=2)
    s = vbcsim.summarize(ds, baseline="fee_for_service").sel(party="payer")
    paired, unpaired = s.mean_standard_error, s.mean_unpaired_standard_error
    claims_at_risk = [m for m in s.model.values if "network" not in str(m)]
    assert np.all(paired.sel(model=claims_at_risk) < 0.6 * unpaired.sel(model=claims_at_risk))
    # under global capitation (model 4) the payer's result no longer moves with claims: nothing
    # cancels, and the paired error is the unpaired one
    network = [m for m in s.model.values if "network" in str(m)]
    np.testing.assert_allclose(paired.sel(model=network), unpaired.sel(model=network), rtol=1e-9)
    # the change's mean is net − status quo, scenario by scenario
    delta = (ds.net - ds.status_quo_net).sel(party="payer")
    np.testing.assert_allclose(s["mean"].values, delta.mean("scenario").values, rtol=1e-12)
    np.testing.assert_allclose(
        s.mean_standard_error.values, delta.std("scenario", ddof=1).values / math.sqrt(500), rtol=1e-12
    )


def test_baseline_names_a_model_or_fails_clearly():
    pop = _light_tailed()
    ds = vbcsim.simulate(pop, _models(pop), n_scenarios=50, seed=1)
    s = vbcsim.summarize(ds, baseline="two-sided")
    assert np.all(s["mean"].sel(model="two-sided").values == 0)
    np.testing.assert_allclose(
        s["mean"].sel(model="shared savings").values,
        (ds.net.sel(model="shared savings") - ds.net.sel(model="two-sided")).mean("scenario").values,
    )
    with pytest.raises(ValueError, match="baseline 'fee_for_service'.*status_quo_net"):
        vbcsim.summarize(ds, baseline="fee_for_service")
    with pytest.raises(ValueError, match="baseline 'nope'"):
        vbcsim.summarize(ds, baseline="nope")
    with pytest.raises(TypeError, match="baseline must be"):
        vbcsim.summarize(ds, baseline=1)


def test_status_quo_is_plain_fee_for_service_on_the_same_draws():
    pop = _light_tailed()
    models = _models(pop)
    ds = vbcsim.simulate(pop, models, n_scenarios=200, seed=4, baseline=True)
    plain = vbcsim.simulate(pop, {"ffs": [FeeForService()]}, n_scenarios=200, seed=4)
    # no efficiency, no care management: the book's cost at the scenario factor, fee for service
    ffs_net = plain.net.sel(model="ffs")
    for model, arr in models.items():
        sq = ds.status_quo_net.sel(model=model)
        # the plain run has no admin cost; the status quo keeps the arrangement's
        admin = arr.admin_pmpm * 12 * pop.members
        np.testing.assert_allclose(sq.sel(party="payer").values, ffs_net.sel(party="payer").values - admin)
        np.testing.assert_allclose(sq.sel(party="provider").values, ffs_net.sel(party="provider").values)
    # and the cube's other variables are those of a run without the baseline, bit for bit
    without = vbcsim.simulate(pop, models, n_scenarios=200, seed=4)
    xr.testing.assert_identical(ds.drop_vars("status_quo_net").drop_attrs(), without.drop_attrs())


def test_tidy_table_has_a_row_per_metric_and_level():
    pop = _light_tailed()
    ds = vbcsim.simulate(pop, _models(pop), n_scenarios=100, seed=1, baseline=True)
    s = vbcsim.summarize(ds, levels=(0.9, 0.99), baseline="fee_for_service")
    frame = tidy(s)
    assert list(frame.columns) == ["model", "party", "metric", "level", "value", "standard_error"]
    per_model_party = 2 * 4  # models × parties
    assert len(frame) == per_model_party * (len(METRICS) + 2)  # VaR and TVaR at two levels
    row = frame[(frame.metric == "mean") & (frame.party == "payer") & (frame.model == "two-sided")]
    assert float(row.value.iloc[0]) == float(s["mean"].sel(model="two-sided", party="payer"))
    wide = s.to_dataframe()
    assert {"mean", "mean_standard_error", "value_at_risk_standard_error"} <= set(wide.columns)


def test_tail_errors_need_enough_scenarios_beyond_the_level():
    # 400 scenarios at 99%: 4 beyond the VaR, too few for an error (NaN, not a misleading 0);
    # at 95%, 20: reported.  A party whose result never varies is known exactly (errors 0)
    pop = _light_tailed()
    ds = vbcsim.simulate(pop, _models(pop), n_scenarios=400, seed=2, baseline=True)
    s = vbcsim.summarize(ds, levels=(0.95, 0.99), capital_level=0.99)
    for name in ("value_at_risk_standard_error", "tail_value_at_risk_standard_error"):
        assert np.isnan(s[name].sel(level=0.99, party="payer")).all()
        assert (s[name].sel(level=0.95, party="payer") > 0).all()
    assert np.isnan(s.capital_standard_error.sel(party="payer")).all()
    idle = s.sel(party="reinsurer")  # no reinsurer in these models
    for name in (
        "value_at_risk_standard_error",
        "tail_value_at_risk_standard_error",
        "capital_standard_error",
    ):
        assert (idle[name] == 0).all()
