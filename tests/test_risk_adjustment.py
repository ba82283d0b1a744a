"""Risk scores, coding intensity, selection and the decomposition of a provider's savings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import vbcsim
from vbcsim.contracts import Capitation, FeeForService, SharedSavings
from vbcsim.engine import _years as KY
from vbcsim.engine import driver
from vbcsim.engine.rng import root_key
from vbcsim.population.risk import RiskScore, Selection, reference_scores, selection_weights

pytestmark = pytest.mark.filterwarnings("ignore:a panel of .* members is below the MSSP minimum")

LN = vbcsim.Hurdle(0.8, vbcsim.Lognormal(7.0, 1.6))
GAMMA = vbcsim.Hurdle(0.9, vbcsim.Gamma(0.8, 5000.0))


def member_risk(dist, n, years, rho, churn, risk_score=None, selection=None, seed=1):
    """The kernel's slots with their panel weights and risk scores (member_paths)."""
    risk, table = driver.encode_risk(dist, rho, risk_score, selection)
    yp = driver.encode_years(dist, rho, churn, years, risk, table, True)
    key0, key1 = root_key(seed)
    occ, lat, cost, joined, w, s, hist = KY.member_paths(
        yp.prm, yp.mode, yp.table, yp.z0, yp.dz, yp.p, yp.p11, yp.p01, yp.rho, yp.churn,
        n, years, key0, key1, 9, 0, 0, yp.risk, yp.score_table,
    )  # fmt: skip
    return occ, lat, cost, joined, w, s, risk, hist


# -- the member model ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rs", [RiskScore(), RiskScore.concurrent(), RiskScore(r_squared=0.3, prospective=False)], ids=str
)
def test_risk_score_r_squared_recovered(rs):
    """The scores' R² on annual cost (continuing members) is the parameter, within 4 standard errors
    from the spread over independent batches; every score's mean is 1."""
    dist = vbcsim.Hurdle(0.85, vbcsim.Lognormal(7.0, 1.0))
    rho = 0.7
    _, _, cost, joined, _, s, _, _ = member_risk(dist, 400_000, 2, rho, 0.0, risk_score=rs, seed=3)
    x, score = cost[:, 1], s[:, 1]
    batches = np.array(
        [np.corrcoef(a, b)[0, 1] ** 2 for a, b in zip(np.split(x, 40), np.split(score, 40), strict=True)]
    )
    se = batches.std(ddof=1) / np.sqrt(batches.size)
    assert abs(np.corrcoef(x, score)[0, 1] ** 2 - rs.r_squared) <= 4 * se + 0.002
    assert abs(score.mean() - 1.0) <= 4 * score.std(ddof=1) / np.sqrt(score.size)


def test_scores_are_the_reference_map_of_a_noisy_signal():
    """A lognormal score is exp(σ c z − σ² c² / 2) of a standard normal signal z correlated λ with
    this year's latent (concurrent); new members of a prospective model score 1."""
    rs = RiskScore(r_squared=0.2, prospective=False)
    _, lat, _, _, _, s, risk, _ = member_risk(LN, 100_000, 1, 0.7, 0.0, risk_score=rs)
    c, lam, sigma = risk[KY.R_C], risk[KY.R_LAMBDA], risk[KY.R_SIGMA]
    z = (np.log(s[:, 0]) + 0.5 * sigma**2 * c**2) / (sigma * c)
    np.testing.assert_allclose(reference_scores(LN, c, z), s[:, 0], rtol=1e-12)
    assert abs(z.mean()) < 4 / np.sqrt(z.size) and abs(z.std() - 1) < 0.01
    assert np.corrcoef(z, lat[:, 0])[0, 1] == pytest.approx(lam, abs=0.01)
    _, _, _, joined, _, s, _, _ = member_risk(LN, 20_000, 3, 0.7, 0.3, risk_score=RiskScore())
    assert np.all(s[:, 1:][joined[:, 1:]] == 1.0)


@pytest.mark.parametrize(
    "sel", [Selection(relative_cost=0.9), Selection(relative_cost=1.15), Selection(exclude_top=0.05)]
)
@pytest.mark.parametrize("dist", [LN, GAMMA], ids=["lognormal", "gamma"])
def test_selection_weights_and_relative_cost(sel, dist):
    """The kernel's weights are the reference's function of the latent of the year before (for a
    continuing member, its latent last year); they average 1, and the panel's expected cost relative
    to the population's is the parameter (a tilt) within 4 standard errors."""
    rho = 0.7
    _, lat, cost, joined, w, _, _, hist = member_risk(dist, 300_000, 2, rho, 0.2, selection=sel, seed=4)
    np.testing.assert_allclose(w, selection_weights(sel, dist, hist, rho), rtol=1e-12)
    kept = ~joined[:, 1]
    np.testing.assert_array_equal(hist[kept, 1], lat[kept, 0])
    assert abs(w.mean() - 1.0) <= 4 * w.std(ddof=1) / np.sqrt(w.size)
    ratio = (w[:, 0] * cost[:, 0]).mean() / cost[:, 0].mean()
    expected = sel.expected_relative_cost(dist, rho)
    # the ratio's standard error by the delta method over members
    x, wx = cost[:, 0], w[:, 0] * cost[:, 0]
    se = np.std(wx - ratio * x, ddof=1) / np.sqrt(x.size) / x.mean()
    assert abs(ratio - expected) <= 4 * se


def test_bad_inputs():
    with pytest.raises(ValueError, match="r_squared"):
        RiskScore(r_squared=1.5)
    with pytest.raises(ValueError, match="not both"):
        RiskScore(r_squared=0.1, signal=0.5)
    with pytest.raises(ValueError, match="exactly one"):
        Selection()
    with pytest.raises(ValueError, match="relative_cost"):
        Selection(relative_cost=1.0)
    with pytest.raises(TypeError, match="selection"):
        vbcsim.Segment("a", 10, LN, selection=0.9)
    with pytest.raises(ValueError, match="out of reach"):
        RiskScore(r_squared=0.9).coefficient(LN, 0.6)
    with pytest.raises(TypeError, match="risk_score"):
        vbcsim.simulate(vbcsim.Segment("a", 10, LN), n_scenarios=2, seed=1, risk_score=0.12)


# -- settlements ------------------------------------------------------------------------------


def _panel(selection=None, members=20_000):
    return vbcsim.Population([vbcsim.Segment("a", members, LN, selection=selection)])


def _ss(risk_adjusted=False, efficiency=0.0, **terms):
    benchmark = LN.mean() / 12.0  # a member of the reference population
    return vbcsim.Arrangement(
        contracts=[FeeForService(), SharedSavings(benchmark, 0.5, 0.0, risk_adjusted=risk_adjusted, **terms)],
        efficiency=vbcsim.Efficiency(efficiency, 0.0),
    )


def _mean_se(x):
    x = np.asarray(x, dtype=float).ravel()
    return x.mean(), x.std(ddof=1) / np.sqrt(x.size)


def test_favourable_selection_earns_savings_without_efficiency():
    ds = vbcsim.simulate(_panel(Selection(relative_cost=0.9)), {"ss": _ss()}, n_scenarios=300, seed=2,
                         risk_score=RiskScore())  # fmt: skip
    paid = ds["settlement"].sel(model="ss", contract="shared_savings")
    mean, se = _mean_se(paid)
    assert mean > 4 * se
    parts = ds["decomposition"].sel(model="ss")
    sel_mean, sel_se = _mean_se(parts.sel(component="selection"))
    assert sel_mean > 4 * sel_se
    assert np.all(parts.sel(component="efficiency") == 0.0)
    assert np.all(parts.sel(component="coding") == 0.0)


def test_perfect_risk_adjustment_removes_the_selection_gain():
    """With a perfect score (signal 1, concurrent) and a risk-adjusted benchmark, the panel's benchmark
    follows its expected cost: the selection part of the savings is zero within Monte Carlo error.

    A symmetric contract (savings and losses shared 50/50 from the first dollar, no caps) is linear
    in the savings, so the expected selection part is exactly zero; a one-sided contract keeps a
    small option value from the panel's different variance (docs/risk_adjustment.md)."""
    perfect = RiskScore(signal=1.0, prospective=False)
    linear = {"minimum_loss_rate": 0.0, "loss_sharing_rate": 0.5, "savings_cap": None, "loss_cap": None}
    ds = vbcsim.simulate(_panel(Selection(relative_cost=0.9)), {"ss": _ss(risk_adjusted=True, **linear)},
                         n_scenarios=400, seed=5, risk_score=perfect)  # fmt: skip
    part = ds["decomposition"].sel(model="ss", component="selection").values
    mean, se = _mean_se(part)
    assert abs(mean) <= 4 * se
    # while without risk adjustment the same panel earns from selection
    plain = vbcsim.simulate(_panel(Selection(relative_cost=0.9)), {"ss": _ss()}, n_scenarios=400, seed=5,
                            risk_score=perfect)  # fmt: skip
    assert plain["decomposition"].sel(model="ss", component="selection").mean() > 10 * se


def test_decomposition_adds_up_in_every_scenario():
    arr = _ss(risk_adjusted=True, efficiency=0.03)
    ds = vbcsim.simulate(_panel(Selection(exclude_top=0.03)), {"ss": arr, "ffs": [FeeForService()]},
                         n_scenarios=80, seed=7, years=3, risk_score=RiskScore(coding_intensity=0.04))  # fmt: skip
    parts = ds["decomposition"].sel(model="ss").sum("component")
    paid = ds["settlement"].sel(model="ss", contract="shared_savings")
    np.testing.assert_allclose(parts.values, paid.values, rtol=1e-9, atol=1e-6)
    assert np.isnan(ds["decomposition"].sel(model="ffs")).all()
    assert ds["decomposition"].dims == ("scenario", "year", "model", "component")
    assert (ds["decomposition"].sel(model="ss", component="efficiency").mean() > 0).item()


def _coding_context(years, coding, cap):
    """A context of one path: constant scores 1 before coding, the coding factor (1 + coding)^t."""
    members = 1000
    rows = years
    ctx = vbcsim.contracts.SettlementContext(
        model="m", segments=("s",), members=np.array([members]), segment_cost=np.full((rows, 1), 1.0),
        excess_by_attachment={}, premium=np.zeros(rows), quality=None, expected_cost=1.0, years=years,
        year=np.arange(1, years + 1), score_sums=np.full((rows, 1, 3), float(members)),
        coding=RiskScore(coding_intensity=coding).coding_factor(np.arange(1, years + 1)),
    )  # fmt: skip
    return ctx, SharedSavings(100.0, 0.5, 0.0, risk_adjusted=True, risk_cap=cap)


def test_coding_drift_compounds_without_a_cap_and_is_held_to_the_cap():
    years = 4
    ctx, ss = _coding_context(years, 0.05, None)
    b = ss.benchmark(ctx) / (100.0 * 12 * 1000)
    np.testing.assert_allclose(
        b, 1.05 ** np.arange(1, years + 1)
    )  # the benchmark follows the compounded drift
    ctx, ss = _coding_context(years, 0.05, 0.03)
    b = ss.benchmark(ctx) / (100.0 * 12 * 1000)
    assert np.all(b / b[0] <= 1.03 + 1e-12)
    np.testing.assert_allclose(b, 1.05 * np.minimum(1.05 ** np.arange(years), 1.03))
    # normalisation: a provider coding like the reference population gains nothing
    rs = RiskScore(coding_intensity=0.05, reference_coding=0.05)
    np.testing.assert_allclose(rs.coding_factor(np.arange(5)), 1.0)


def test_risk_adjusted_capitation_pays_for_the_panels_risk():
    perfect = RiskScore(signal=1.0, prospective=False)
    cap = vbcsim.Arrangement(contracts=[Capitation(pmpm=LN.mean() / 12.0, risk_adjusted=True)])
    ds = vbcsim.simulate(_panel(Selection(relative_cost=0.85)), {"cap": cap}, n_scenarios=50, seed=3,
                         risk_score=perfect)  # fmt: skip
    paid = ds["settlement"].sel(model="cap", contract="capitation")
    score = ds["risk_score"].sel(segment="a")
    np.testing.assert_allclose(paid.values, (LN.mean() * 20_000 * score).values, rtol=1e-12)
    assert float(score.mean()) == pytest.approx(0.85, abs=0.01)


def test_selection_keeps_the_population_and_single_year_runs_unchanged():
    pop = _panel()
    plain = vbcsim.simulate(pop, {"ss": _ss()}, n_scenarios=20, seed=1)
    assert "risk_score" not in plain and "decomposition" not in plain
    sel = vbcsim.simulate(_panel(Selection(relative_cost=0.9)), {"ss": _ss()}, n_scenarios=200, seed=1)
    ratio = sel["cost"].sum() / sel["reference_cost"].sum()
    assert float(ratio) == pytest.approx(0.9, abs=0.02)
    assert float(sel["panel_members"].mean()) == pytest.approx(20_000, rel=0.01)
    both = vbcsim.simulate(
        _panel(Selection(relative_cost=0.9)), {"ss": _ss()}, n_scenarios=20, seed=1, threads=1
    )
    again = vbcsim.simulate(
        _panel(Selection(relative_cost=0.9)), {"ss": _ss()}, n_scenarios=20, seed=1, threads=2
    )
    for name in both.data_vars:
        np.testing.assert_array_equal(both[name].values, again[name].values)
    assert (
        dataclasses.replace(pop.segments[0], selection=Selection(exclude_top=0.1)).selection.kind
        == "exclude_top"
    )


def test_counterfactual_without_selection_is_the_unselected_run():
    """On the same draws, the decomposition's "random" part (no efficiency, no selection, no coding)
    of a selected panel is the unselected panel's, bit for bit: the counterfactual is the population,
    its benchmark years included (an agreement sets the benchmark from the panel's own history)."""
    agreement = vbcsim.Agreement(length=2)
    arr = vbcsim.Arrangement(
        contracts=[
            FeeForService(),
            SharedSavings(None, 0.5, 0.0, agreement=agreement, outlier_attachment=80_000.0),
        ],
        efficiency=vbcsim.Efficiency(0.02, 0.0),
    )
    kw = dict(n_scenarios=40, seed=9, years=3, risk_score=RiskScore(coding_intensity=0.02))
    picked = vbcsim.simulate(_panel(Selection(relative_cost=0.92), 4000), {"ss": arr}, **kw)
    plain = vbcsim.simulate(_panel(None, 4000), {"ss": arr}, **kw)
    np.testing.assert_array_equal(
        picked["decomposition"].sel(component="random").values,
        plain["decomposition"].sel(component="random").values,
    )
    np.testing.assert_array_equal(picked["reference_cost"].values, plain["cost"].values)
    assert np.all(plain["decomposition"].sel(component="selection").values == 0.0)


@pytest.mark.kernel
def test_small_risk_kernel_run():
    """Scores and weights of a few members (run again in CI with the kernels as plain Python)."""
    sel = Selection(relative_cost=0.9)
    _, lat, cost, joined, w, s, risk, hist = member_risk(LN, 300, 3, 0.7, 0.2, RiskScore(), sel, seed=5)
    np.testing.assert_allclose(w, selection_weights(sel, LN, hist, 0.7), rtol=1e-12)
    assert np.all(s[:, 1:][joined[:, 1:]] == 1.0) and np.all(s > 0)
    yp = driver.encode_years(LN, 0.7, 0.2, 2, risk, None, True)
    key0, key1 = root_key(2)
    c, e = driver.run_block(
        yp, 50, np.ones((2, 1)), np.array([[10_000.0]]), key0, key1, driver.Block(0, 0, 0, 1)
    )
    # the panel's view, the population's view, then Σ w, Σ w s, Σ s
    assert c.shape == (2, 1 + 1 + 3) and e.shape == (2, 2, 1)
    assert np.all(np.isfinite(c)) and np.all(c[:, 2:] > 0)
    assert np.all(e[:, 1, 0] <= c[:, 1] + 1e-9)
