"""Multi-year runs: members who persist and churn, the year dimension, agreement periods."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import vbcsim
from vbcsim.contracts import FeeForService, SharedSavings
from vbcsim.contracts.agreement import Agreement, agreement_benchmark
from vbcsim.contracts.base import SettlementContext
from vbcsim.engine import _years as KY
from vbcsim.engine import driver
from vbcsim.engine.rng import root_key
from vbcsim.population.persistence import Persistence, member_costs, persistence_statistics

LOGNORMAL = vbcsim.Hurdle(0.8, vbcsim.Lognormal(7.0, 1.6))
GAMMA = vbcsim.Gamma(1.5, 2000.0)
SPLICED = vbcsim.Hurdle(
    0.85, vbcsim.Spliced(vbcsim.Lognormal(7.5, 1.5), vbcsim.Pareto(2.5, 100_000.0), 100_000.0, 0.005)
)
pytestmark = pytest.mark.filterwarnings("ignore:a panel of .* members is below the MSSP minimum")

COMPOUND = vbcsim.Compound(vbcsim.Poisson(2.0), vbcsim.Lognormal(6.0, 1.0))


def paths(dist, n, years, rho, churn, seed=1, block=(0, 0)):
    """The kernel's slots (occurrence, latent, cost, joined) of ``n`` members over ``years``."""
    yp = driver.encode_years(dist, rho, churn, years)
    key0, key1 = root_key(seed)
    return KY.member_paths(
        yp.prm, yp.mode, yp.table, yp.z0, yp.dz, yp.p, yp.p11, yp.p01, yp.rho, yp.churn,
        n, years, key0, key1, 7, *block, yp.risk, yp.score_table,
    )[:4]  # fmt: skip


# -- the member model ------------------------------------------------------------------------


@pytest.mark.parametrize("dist", [LOGNORMAL, GAMMA, SPLICED], ids=["lognormal", "gamma", "spliced"])
def test_kernel_matches_numpy_reference(dist):
    """The kernel's cost of each member-year is the numpy reference's map of its states."""
    occ, lat, cost, _ = paths(dist, 4000, 3, 0.7, 0.2)
    a = np.where(occ > 0, np.inf, -np.inf)  # the reference's occurrence latent: above or below the hurdle
    ref = member_costs(dist, a, lat)
    # lognormal: fast_exp within 1 ulp; other families: the quantile table, within 1e-5 relative
    rtol = 1e-13 if dist is LOGNORMAL else 1e-5
    np.testing.assert_allclose(cost, ref, rtol=rtol, atol=0)


@pytest.mark.parametrize(
    "dist", [LOGNORMAL, GAMMA, SPLICED, COMPOUND], ids=["ln", "gamma", "spliced", "compound"]
)
def test_each_year_has_the_segment_distribution(dist):
    """Every year's costs are draws from the segment's distribution: the mean within 4 standard errors,
    the share with cost within 4 binomial errors, and (continuous) a KS test of the positive part."""
    n, years = 40_000, 4
    _, _, cost, _ = paths(dist, n, years, 0.8, 0.1, seed=3)
    p = dist.p_nonzero if isinstance(dist, vbcsim.Hurdle) else 1.0
    sev = dist.severity if isinstance(dist, vbcsim.Hurdle) else dist
    for y in range(years):
        x = cost[:, y]
        se = x.std(ddof=1) / np.sqrt(n)
        assert abs(x.mean() - dist.mean()) < 4 * se
        share = (x > 0).mean()
        if not isinstance(sev, vbcsim.Compound):
            assert abs(share - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12
            assert stats.kstest(x[x > 0], sev.cdf).pvalue > 1e-4


@pytest.mark.parametrize(
    "persistence", [Persistence(), Persistence(top_decile_stay=0.6), Persistence(rank_correlation=0.5)]
)
def test_persistence_statistic_recovered(persistence):
    """The simulated statistic of consecutive years matches the parameter within 4 standard errors."""
    rho = persistence.latent_correlation(LOGNORMAL)
    _, _, cost, _ = paths(LOGNORMAL, 60_000, 2, rho, 0.0, seed=5)
    got = persistence_statistics(cost[:, 0], cost[:, 1])
    name, value = persistence.statistic
    assert abs(got[name] - value) <= 4 * got[f"{name}_se"]


def test_churn_recovered_and_independent_of_risk():
    churn = 0.2
    n, years = 50_000, 5
    occ, lat, cost, joined = paths(LOGNORMAL, n, years, 0.9, churn, seed=9)
    assert joined[:, 0].all()
    share = joined[:, 1:].mean(axis=0)
    assert np.all(np.abs(share - churn) <= 4 * np.sqrt(churn * (1 - churn) / n))
    # a new member's latent is fresh: independent of the slot's previous member's
    new = joined[:, 1]
    r = np.corrcoef(lat[new, 0], lat[new, 1])[0, 1]
    assert abs(r) < 4 / np.sqrt(new.sum())
    kept = ~new
    assert np.corrcoef(lat[kept, 0], lat[kept, 1])[0, 1] == pytest.approx(0.9, abs=0.01)


def test_lag_correlation_decays_geometrically():
    """High-cost members regress: the latent's lag-k correlation is rho^k."""
    _, lat, _, _ = paths(LOGNORMAL, 40_000, 4, 0.7, 0.0, seed=11)
    for k in (1, 2, 3):
        r = np.corrcoef(lat[:, 0], lat[:, k])[0, 1]
        assert r == pytest.approx(0.7**k, abs=4 / np.sqrt(40_000))


def test_occurrence_chain_keeps_the_hurdle_each_year():
    occ, _, _, _ = paths(LOGNORMAL, 80_000, 6, 0.8, 0.0, seed=13)
    p11, _ = driver.occurrence_transitions(0.8, 0.8)
    assert np.all(np.abs(occ.mean(axis=0) - 0.8) <= 4 * np.sqrt(0.16 / 80_000))
    had = occ[:, 0] > 0
    assert (occ[had, 1] > 0).mean() == pytest.approx(p11, abs=4 * np.sqrt(p11 * (1 - p11) / had.sum()))


# -- the cube ----------------------------------------------------------------------------------

POP = vbcsim.Population(
    [
        vbcsim.Segment("a", 3000, LOGNORMAL, annual_churn=0.2),
        vbcsim.Segment("b", 1000, SPLICED, annual_churn=0.1),
    ]
)


def test_years_one_is_the_single_year_run():
    models = vbcsim.partnership_models(POP)
    one = vbcsim.simulate(POP, models, n_scenarios=40, seed=2, years=1, baseline=True)
    plain = vbcsim.simulate(POP, models, n_scenarios=40, seed=2, baseline=True)
    assert "year" not in one.dims
    for name in plain.data_vars:
        np.testing.assert_array_equal(one[name].values, plain[name].values)
    assert one.attrs["config"] == plain.attrs["config"]


def test_year_dimension_and_money_identities():
    risk = vbcsim.ScenarioRisk(trend_cv=0.03, annual_trend=0.06, trend_persistence=0.5)
    models = vbcsim.partnership_models(POP, risk)
    ds = vbcsim.simulate(POP, models, n_scenarios=60, seed=4, years=4, scenario_risk=risk, baseline=True)
    assert ds["net"].dims == ("scenario", "year", "model", "party")
    assert ds["premium"].dims == ("year", "model")
    np.testing.assert_allclose(ds["trend_index"].values, 1.06 ** np.arange(4))
    np.testing.assert_allclose(ds["cumulative_net"].values, ds["net"].cumsum("year").values)
    # every year's premium is year 1's indexed at the expected trend
    np.testing.assert_allclose(
        ds["premium"].values, ds["premium"].values[:1] * ds["trend_index"].values[:, None]
    )
    # money is conserved in every year: the parties' results sum to the premium less what leaves them
    for m in ds["model"].values:
        total = ds["net"].sel(model=m).sum("party")
        assert np.isfinite(total.values).all()
    ffs = vbcsim.Arrangement(
        contracts=[vbcsim.contracts.FeeForService()], efficiency=vbcsim.Efficiency(0.05, 0.01)
    )
    one = vbcsim.simulate(POP, {"ffs": ffs}, n_scenarios=30, seed=4, years=3, scenario_risk=risk)
    book = one["cost"].sum("segment")
    expected = book * (1 - one["efficiency"].sel(model="ffs"))
    np.testing.assert_allclose(one["medical_cost"].sel(model="ffs").values, expected.values, rtol=1e-12)
    # parties sum to premium − delivery − admin − outside care (fee for service: the payer pays C)
    arr = one.sel(model="ffs")
    total = arr["net"].sum("party")
    c = arr["medical_cost"]
    delivery = 0.85 * c  # the default delivery ratio, the provider delivers all the care
    admin = ffs.admin_pmpm * 12 * POP.members * one["trend_index"]
    expected = (arr["premium"] - delivery - admin).transpose("scenario", "year")
    np.testing.assert_allclose(total.values, expected.values, rtol=1e-9)


def test_each_year_cost_matches_the_exact_mean():
    """The panel's cost in each year has the exact expected cost × the trend index (no scenario risk)."""
    risk = vbcsim.ScenarioRisk(annual_trend=0.05)
    ds = vbcsim.simulate(POP, n_scenarios=400, seed=6, years=3, scenario_risk=risk)
    cost = ds["cost"].sum("segment")
    for y in range(3):
        x = cost.isel(year=y).values
        expected = POP.expected_cost() * 1.05**y
        assert abs(x.mean() - expected) <= 4 * x.std(ddof=1) / np.sqrt(x.size)


def test_excess_matches_exact_stop_loss_each_year():
    seg = vbcsim.Segment("a", 2000, LOGNORMAL)
    ds = vbcsim.simulate(seg, n_scenarios=300, seed=8, years=3, attachments=[50_000.0])
    per_member = float(LOGNORMAL.stop_loss(50_000.0))
    for y in range(3):
        x = ds["excess"].isel(year=y, attachment=0).sum("segment").values
        assert abs(x.mean() - 2000 * per_member) <= 4 * x.std(ddof=1) / np.sqrt(x.size)


def test_trend_path_mean_and_year_one():
    risk = vbcsim.ScenarioRisk(trend_cv=0.04, shock_probability=0.1, shock_size=0.1, annual_trend=0.07,
                               trend_persistence=0.6, market_share_of_variance=0.5)  # fmt: skip
    ds = vbcsim.simulate(
        vbcsim.Segment("a", 10, LOGNORMAL), n_scenarios=20_000, seed=1, years=4, scenario_risk=risk
    )
    f = ds["scenario_factor"].values
    expected = risk.mean() * 1.07 ** np.arange(4)
    se = f.std(axis=0, ddof=1) / np.sqrt(f.shape[0])
    assert np.all(np.abs(f.mean(axis=0) - expected) <= 4 * se)
    single = vbcsim.simulate(
        vbcsim.Segment("a", 10, LOGNORMAL), n_scenarios=20_000, seed=1, scenario_risk=risk
    )
    np.testing.assert_array_equal(f[:, 0], single["scenario_factor"].values)


def test_bitwise_across_threads():
    models = vbcsim.partnership_models(POP)
    a = vbcsim.simulate(POP, models, n_scenarios=30, seed=5, years=3, threads=1)
    b = vbcsim.simulate(POP, models, n_scenarios=30, seed=5, years=3, threads=2)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values)
    # the first scenarios of a longer run are a shorter run
    c = vbcsim.simulate(POP, models, n_scenarios=12, seed=5, years=3, threads=2)
    np.testing.assert_array_equal(a["net"].values[:12], c["net"].values)


def test_bitwise_on_dask():
    pytest.importorskip("dask")
    a = vbcsim.simulate(POP, n_scenarios=20, seed=5, years=2)
    b = vbcsim.simulate(POP, n_scenarios=20, seed=5, years=2, backend="dask")
    np.testing.assert_array_equal(a["cost"].values, b["cost"].values)


def test_zarr_resume(tmp_path):
    pytest.importorskip("zarr")
    from vbcsim.results import store

    agreement = Agreement(length=2)
    arr = vbcsim.Arrangement(
        premium_pmpm=None,
        contracts=[vbcsim.contracts.FeeForService(), SharedSavings(None, 0.5, 0.02, agreement=agreement)],
        efficiency=vbcsim.Efficiency(0.03, 0.01),
    )
    kw = dict(n_scenarios=50, seed=3, years=3, models={"ss": arr})
    full = vbcsim.simulate(POP, **kw)
    out = tmp_path / "r.zarr"
    calls = {"n": 0}

    def stop_after_two(done, total):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        vbcsim.simulate(POP, out=str(out), progress=stop_after_two, threads=1, **kw)
    assert (tmp_path / "r.zarr.partial").exists()
    resumed = vbcsim.simulate(POP, out=str(out), threads=1, **kw).load()
    for name in ("net", "cost", "baseline_cost", "benchmark", "cumulative_net"):
        np.testing.assert_array_equal(resumed[name].values, full[name].values)
    assert store.SETTLE_SCENARIOS > 0


# -- agreement periods ---------------------------------------------------------------------------


def _context(base, perf, market=None, members=100, agreement_years=None):
    """A hand-made context: base (S, B) and perf (S, Y) per capita costs of one segment."""
    base = np.asarray(base, dtype=float)
    perf = np.asarray(perf, dtype=float)
    n_paths, years = perf.shape
    rows = n_paths * years
    return SettlementContext(
        model="m",
        segments=("s",),
        members=np.array([members]),
        segment_cost=(perf * members).reshape(rows, 1),
        excess_by_attachment={},
        premium=np.zeros(rows),
        quality=None,
        expected_cost=1.0,
        years=years,
        year=np.tile(np.arange(1, years + 1), n_paths),
        baseline_years=base.shape[1],
        baseline_segment_cost=(base * members)[:, :, None],
        market_path=market,
        reference_per_capita=1000.0,
    )


def test_two_period_rebasing_by_hand():
    """Benchmark years 900, 1000, 1100 → 0.1·900 + 0.3·1000 + 0.6·1100 = 1050 for years 1-2; the
    second period's benchmark years are years 0, 1, 2 (1100, 950, 940) → 0.1·1100 + 0.3·950 + 0.6·940 = 959."""
    ctx = _context([[900.0, 1000.0, 1100.0]], [[950.0, 940.0, 930.0, 920.0]])
    b = agreement_benchmark(Agreement(length=2), ctx, None, update="prospective") / 100
    np.testing.assert_allclose(b, [1050.0, 1050.0, 959.0, 959.0])


def test_rebasing_with_market_trend_regional_blend_and_prior_savings():
    market = np.array([[1.0, 1.02, 1.05, 1.08, 1.10, 1.13]])  # years -2..3
    ctx = _context([[900.0, 1000.0, 1100.0]], [[950.0, 940.0, 930.0]], market=market)
    ag = Agreement(length=2, regional_blend=0.5, prior_savings_adjustment=True)
    b = agreement_benchmark(ag, ctx, None, update="retrospective") / 100
    # period 1: each benchmark year trended to year 0 by the market, then to the performance year
    hist = 0.1 * 900 * 1.05 / 1.0 + 0.3 * 1000 * 1.05 / 1.02 + 0.6 * 1100
    region = 1000.0 * 1.05
    adj = np.clip(0.5 * (region - hist), -0.05 * region, 0.05 * region)
    p1 = hist + adj
    np.testing.assert_allclose(b[:2], [p1 * 1.08 / 1.05, p1 * 1.10 / 1.05])
    # period 2: benchmark years 0, 1, 2 trended to year 2; the prior savings of years 1 and 2
    hist2 = 0.1 * 1100 * 1.10 / 1.05 + 0.3 * 950 * 1.10 / 1.08 + 0.6 * 940
    region2 = 1000.0 * 1.10
    adj2 = np.clip(0.5 * (region2 - hist2), -0.05 * region2, 0.05 * region2)
    savings = np.mean([b[0] - 950.0, b[1] - 940.0])
    psa = min(0.5 * max(savings, 0.0), 0.05 * region2)
    np.testing.assert_allclose(b[2], (hist2 + max(adj2, psa)) * 1.13 / 1.10)


def test_agreement_needs_baseline_years_and_no_pmpm():
    with pytest.raises(ValueError, match="benchmark_pmpm must be None"):
        SharedSavings(900.0, 0.5, 0.02, agreement=Agreement())
    with pytest.raises(ValueError, match="baseline_weights"):
        Agreement(baseline_weights=(0.5, 0.6, 0.0))
    with pytest.raises(ValueError, match="length"):
        Agreement(length=0)
    with pytest.raises(TypeError, match="agreement"):
        SharedSavings(None, 0.5, 0.02, agreement="mssp")
    with pytest.raises(ValueError, match="years"):
        vbcsim.simulate(POP, n_scenarios=2, seed=1, years=0)


def _ratchet_run(n_scenarios=300):
    arr = vbcsim.Arrangement(
        premium_pmpm=None,
        contracts=[
            vbcsim.contracts.FeeForService(),
            SharedSavings(None, 0.5, 0.0, agreement=Agreement(length=3)),
        ],
        efficiency=vbcsim.Efficiency(0.05, 0.0),
    )
    return vbcsim.simulate(POP, {"ss": arr}, n_scenarios=n_scenarios, seed=12, years=6)


def test_ratchet_shrinks_second_period_savings():
    """With a true 5% efficiency, the first period's benchmark comes from status-quo years and the
    second's from years with the efficiency in them: the provider's shared savings shrink."""
    ds = _ratchet_run()
    ss = ds["settlement"].sel(model="ss", contract="shared_savings") / ds["trend_index"]
    first, second = ss.sel(year=[1, 2, 3]).mean("year"), ss.sel(year=[4, 5, 6]).mean("year")
    diff = (first - second).values
    assert diff.mean() > 4 * diff.std(ddof=1) / np.sqrt(diff.size)
    # the second benchmark is about 5% lower than the first (the efficiency it absorbed)
    bench = ds["benchmark"].sel(model="ss") / ds["trend_index"]
    ratio = (bench.sel(year=4) / bench.sel(year=1)).mean().item()
    assert ratio == pytest.approx(0.95, abs=0.01)


# -- money over time -----------------------------------------------------------------------------


def _rows_context(years, n_paths=1, members=1000, trend=0.0):
    rows = years * n_paths
    ctx = _context(np.ones((n_paths, 3)), np.ones((n_paths, years)), members=members)
    ctx.trend_index = np.tile((1.0 + trend) ** np.arange(years), n_paths)
    ctx.annual_trend = trend
    ctx.premium = np.full(rows, 1.0)
    return ctx


def test_advance_payment_recoupment_by_hand():
    """$250k + $10 PMPM × 1,000 members (120k a year) in years 1-2; shared savings of 0, 200k, 50k, 400k
    recoup 0, 200k, 50k, 240k (the balance: 370k + 120k − 200k − 50k = 240k); nothing is left."""
    from vbcsim.contracts import AdvancePayment
    from vbcsim.contracts.base import transfer

    ctx = _rows_context(4)
    ctx.settled.append(
        ("shared_savings", None, transfer(np.array([0.0, 200e3, 50e3, 400e3]), "payer", "provider"))
    )
    aip = AdvancePayment(upfront=250e3, pmpm=10.0, years_paid=2)
    advanced, recouped = aip.flows_by_year(ctx)
    np.testing.assert_allclose(advanced, [370e3, 120e3, 0.0, 0.0])
    np.testing.assert_allclose(recouped, [0.0, 200e3, 50e3, 240e3])
    st = aip.settle(ctx)
    np.testing.assert_allclose(st.amount, [370e3, -80e3, -50e3, -240e3])
    np.testing.assert_allclose(st.flows["payer"] + st.flows["provider"], 0.0)
    # savings too small: the balance stays outstanding unless repaid at the end
    ctx.settled[0] = ("shared_savings", None, transfer(np.array([0.0, 0.0, 10e3, 0.0]), "payer", "provider"))
    _, recouped = aip.flows_by_year(ctx)
    np.testing.assert_allclose(recouped, [0.0, 0.0, 10e3, 0.0])
    _, recouped = AdvancePayment(upfront=250e3, pmpm=10.0, repay_at_end=True).flows_by_year(ctx)
    np.testing.assert_allclose(recouped, [0.0, 0.0, 10e3, 480e3])


def test_advance_payment_is_nominal_under_trend():
    from vbcsim.contracts import AdvancePayment
    from vbcsim.contracts.base import transfer

    ctx = _rows_context(2, trend=0.1)
    ctx.settled.append(("shared_savings", None, transfer(np.array([0.0, 1e9]), "payer", "provider")))
    advanced, recouped = AdvancePayment(upfront=0.0, pmpm=10.0, years_paid=2).flows_by_year(ctx)
    # year 2's $120k is 120k / 1.1 in year-1 currency; the recoupment takes back both years' 240k nominal
    np.testing.assert_allclose(advanced, [120e3, 120e3 / 1.1])
    np.testing.assert_allclose(recouped, [0.0, 240e3 / 1.1])


def test_mssp_advance_investment_payment():
    from vbcsim.contracts import AdvancePayment

    aip = AdvancePayment.mssp(20_000)
    # $45 a quarter for at most 10,000 beneficiaries, spread over 20,000 members' months
    assert aip.upfront == 250_000.0
    assert aip.pmpm * 12 * 20_000 == pytest.approx(45 * 4 * 10_000)
    with pytest.raises(ValueError, match="per_beneficiary_quarterly"):
        AdvancePayment.mssp(5_000, per_beneficiary_quarterly=50.0)
    with pytest.raises(ValueError, match="recoup_from"):
        AdvancePayment().settle(_rows_context(2))


def test_mlr_three_year_aggregation_by_hand():
    """Claims 80, 90, 70, 80 on premium 100 each year (large group, 85%): the aggregated MLRs are
    80%, 85%, 80%, 80% ((90 + 70 + 80) / 300), so the rebates are 5, 0, 5, 5."""
    from vbcsim.contracts import MLRRebate

    ctx = _rows_context(4, members=100_000)  # fully credible
    ctx.premium = np.full(4, 100.0)
    ctx.segment_cost = np.array([[80.0], [90.0], [70.0], [80.0]])
    ctx.claims_party = "payer"
    from vbcsim.contracts import FeeForService

    ctx.settled.append(("fee_for_service", FeeForService(), FeeForService().settle(ctx)))
    rebate = MLRRebate(credibility=False).rebate(ctx)
    np.testing.assert_allclose(rebate, [5.0, 0.0, 5.0, 5.0])
    single = MLRRebate(credibility=False, aggregation_years=1).rebate(ctx)
    np.testing.assert_allclose(single, [5.0, 0.0, 15.0, 5.0])


def test_glide_path_settles_each_year_with_its_level():
    from vbcsim.contracts import GlidePath

    path = GlidePath.mssp_basic(benchmark_pmpm=100.0, minimum_savings_rate=0.0, beneficiaries=20_000)
    assert [s.sharing_rate for s in path.stages] == [0.4, 0.4, 0.5, 0.5, 0.5]
    members = 1000
    years = 6
    ctx = _context(np.ones((1, 3)) * 1200, np.full((1, years), 1100.0), members=members)
    ctx.quality = np.ones(years)
    benchmark = 100.0 * 12 * members
    ctx.segment_cost = np.full((years, 1), benchmark * 0.95)  # 5% savings every year
    st = path.settle(ctx)
    rates = np.array([0.4, 0.4, 0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(st.amount, rates * 0.05 * benchmark * (1 - 0.02))
    with pytest.raises(ValueError, match="one class"):
        GlidePath((SharedSavings(100.0, 0.5, 0.0), vbcsim.contracts.FeeForService()))


def test_summarize_years_and_capital_path():
    ffs = vbcsim.Arrangement(
        contracts=[vbcsim.contracts.FeeForService()], efficiency=vbcsim.Efficiency(0.02, 0.01)
    )
    ds = vbcsim.simulate(POP, {"ffs": ffs}, n_scenarios=200, seed=3, years=3, baseline=True)
    s = vbcsim.summarize(ds, discount_rate=0.05)
    assert s["mean"].dims == ("year", "model", "party")
    pv = (ds["net"] / 1.05 ** ds["year"]).sum("year").mean("scenario")
    np.testing.assert_allclose(s["cumulative_mean"].values, pv.values, rtol=1e-12)
    for y in (1, 2, 3):
        np.testing.assert_allclose(
            s["mean"].sel(year=y).values, ds["net"].sel(year=y).mean("scenario").values, rtol=1e-12
        )
    c = vbcsim.capital_path(ds, reserves={"provider": 0.0})
    cum = ds["net"].cumsum("year")
    ruin = (cum.min("year") < 0).mean("scenario")
    np.testing.assert_allclose(c["ruin_probability"].values, ruin.values)
    first = (cum > 0).argmax("year") + 1
    never = ~(cum > 0).any("year")
    expected = xr_where(never, np.nan, first)
    np.testing.assert_array_equal(c["break_even_year"].values, expected.values)
    with pytest.raises(ValueError, match="year dimension"):
        vbcsim.capital_path(vbcsim.simulate(POP, {"ffs": ffs}, n_scenarios=5, seed=1))
    with pytest.raises(ValueError, match="unknown party"):
        vbcsim.capital_path(ds, reserves={"insurer": 1.0})


def xr_where(cond, a, b):
    import xarray as xr

    return xr.where(cond, a, b)


def test_start_up_costs_and_the_venture_break_even():
    from vbcsim.contracts import StartUpCost
    from vbcsim.partnerships.joint_venture import JointVenture

    ctx = _rows_context(4, trend=0.05)
    cost = StartUpCost((3e6, 1e6)).cost(ctx)
    np.testing.assert_allclose(cost * ctx.nominal(), [3e6, 1e6, 0.0, 0.0])
    with pytest.raises(ValueError, match="start_up_costs"):
        JointVenture(start_up_costs=(-1.0,))
    pop = vbcsim.defaults.provider_panel(4_000)
    risk = vbcsim.ScenarioRisk(annual_trend=0.05)
    plain = JointVenture().arrangement(pop, risk)
    launched = JointVenture(start_up_costs=(2e6, 1e6)).arrangement(pop, risk)
    kw = dict(n_scenarios=60, seed=2, years=4, scenario_risk=risk)
    a = vbcsim.simulate(pop, {"jv": plain}, **kw)
    b = vbcsim.simulate(pop, {"jv": launched}, **kw)
    # the launch costs are the venture's, in each year's currency, and nothing else changes
    # before the MLR (which does not count them as claims)
    diff = (a["entity_net"] - b["entity_net"]).sel(model="jv", entity="venture").mean("scenario")
    np.testing.assert_allclose(diff.values, [2e6, 1e6, 0.0, 0.0], rtol=1e-9, atol=1e-6)
    c = vbcsim.capital_path(b, entity=True)
    cum = b["entity_net"].sel(entity="venture").cumsum("year")
    np.testing.assert_allclose(
        c["break_even_probability"].sel(entity="venture").values,
        ((cum > 0).cumsum("year") > 0).mean("scenario").values,
    )


def test_block_kernel_accumulates_the_members_of_its_first_scenario():
    """The block kernel's first scenario is member_paths on the block's own stream: its per-year
    totals and excesses are the numpy sums of those members' costs, times each row's factor."""
    members, years, att = 700, 3, 20_000.0
    dist = SPLICED
    yp = driver.encode_years(dist, 0.6, 0.15, years)
    key0, key1 = root_key(4)
    factors = np.array([[1.0, 0.9], [1.1, 1.0], [0.95, 1.2]] * 2)  # 2 scenarios × 3 years, 2 views
    attachments = np.array([[att], [np.inf]])
    block = driver.Block(segment=1, index=0, start=0, stop=2)
    cost, excess = driver.run_block(yp, members, factors, attachments, key0, key1, block)
    _, _, x, _ = KY.member_paths(
        yp.prm, yp.mode, yp.table, yp.z0, yp.dz, yp.p, yp.p11, yp.p01, yp.rho, yp.churn,
        members, years, key0, key1, KY.STREAM_YEARS, 1, 0, yp.risk, yp.score_table,
    )[:4]  # fmt: skip
    for y in range(years):
        for v in range(2):
            f = factors[y, v]
            np.testing.assert_allclose(cost[y, v], f * x[:, y].sum(), rtol=1e-12)
        expected = factors[y, 0] * np.maximum(x[:, y] - att / factors[y, 0], 0.0).sum()
        np.testing.assert_allclose(excess[y, 0, 0], expected, rtol=1e-12)
        assert excess[y, 1, 0] == 0.0


def test_fixed_benchmark_with_an_agreed_trend():
    ctx = _rows_context(3, trend=0.06)
    ss = SharedSavings(100.0, 0.5, 0.0, benchmark_trend=0.03)
    b = ss.benchmark(ctx)
    # in year-1 currency: (1.03 / 1.06)^(t − 1); in each year's own currency, 1.03^(t − 1)
    np.testing.assert_allclose(b * ctx.nominal(), 100.0 * 12 * 1000 * 1.03 ** np.arange(3))
    assert SharedSavings(100.0, 0.5, 0.0).benchmark(ctx) == 100.0 * 12 * 1000
    with pytest.raises(ValueError, match="benchmark_trend"):
        SharedSavings(100.0, 0.5, 0.0, benchmark_trend=2.0)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=8, deadline=None)
@given(
    years=st.integers(2, 4),
    length=st.integers(1, 3),
    trend=st.floats(0.0, 0.1),
    churn=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**16),
)
def test_money_is_conserved_every_year(years, length, trend, churn, seed):
    """In every scenario, year and model the parties' results sum to the premium less the provider's
    own cost of care, admin, care management, outside care and what leaves as rebates."""
    pop = vbcsim.Population([vbcsim.Segment("a", 1500, LOGNORMAL, annual_churn=churn)])
    risk = vbcsim.ScenarioRisk(trend_cv=0.03, annual_trend=trend, trend_persistence=0.3)
    models = vbcsim.partnership_models(pop, risk)
    ds = vbcsim.compare(pop, models, n_scenarios=8, seed=seed, years=years, scenario_risk=risk,
                        agreement=Agreement(length=length), progress=False)  # fmt: skip
    n = pop.members
    for name, arr in models.items():
        m = ds.sel(model=name)
        total = m["net"].sum("party")
        c = m["medical_cost"]
        index = ds["trend_index"]
        expected = (
            m["premium"]
            - arr.delivery_ratio * arr.delivered_share * c / arr.price_index()
            - (arr.admin_pmpm + arr.care_management_pmpm) * 12 * n * index
            - m["outside_care"]
            - m["rebate"]
        ).transpose("scenario", "year")
        np.testing.assert_allclose(total.values, expected.values, rtol=1e-9, atol=1e-3)
        np.testing.assert_allclose(
            m["cumulative_net"].isel(year=-1).values, m["net"].sum("year").values, rtol=1e-12
        )


def test_agreement_benchmark_truncates_like_the_actual_spend():
    """With an outlier attachment the benchmark years' costs are truncated as the performance years'
    are: with no efficiency and no trend the benchmark is the truncated cost's level, not the raw's."""
    arr = vbcsim.Arrangement(
        contracts=[
            FeeForService(),
            SharedSavings(None, 0.5, 0.0, outlier_attachment=50_000.0, agreement=Agreement(length=2)),
        ],  # fmt: skip
        efficiency=vbcsim.Efficiency(0.0, 0.0),
    )
    ds = vbcsim.simulate(POP, {"ss": arr}, n_scenarios=300, seed=3, years=2)
    expected = sum(s.members * s.cost.limited_mean(50_000.0) for s in POP)  # E[Σ min(X, a)]
    ratio = ds["benchmark"].sel(model="ss") / expected
    assert float(ratio.mean()) == pytest.approx(1.0, abs=0.01)


@pytest.mark.kernel
@pytest.mark.parametrize("dist", [LOGNORMAL, SPLICED, COMPOUND], ids=["lognormal", "spliced", "compound"])
def test_small_kernel_run(dist):
    """A few members through the multi-year kernels (run again in CI with the kernels as plain Python):
    the costs are the reference map of the states, churn leaves fresh states, sums add up."""
    occ, lat, cost, joined = paths(dist, 300, 3, 0.6, 0.3, seed=21)
    if dist is not COMPOUND:
        ref = member_costs(dist, np.where(occ > 0, np.inf, -np.inf), lat)
        np.testing.assert_allclose(cost, ref, rtol=1e-5 if dist is SPLICED else 1e-12)
    assert joined[:, 0].all() and 0 < joined[:, 1:].sum() < joined[:, 1:].size
    assert np.all(cost[occ == 0] == 0.0)
    yp = driver.encode_years(dist, 0.6, 0.3, 3)
    key0, key1 = root_key(2)
    c, e = driver.run_block(
        yp, 40, np.ones((6, 1)), np.array([[10_000.0]]), key0, key1, driver.Block(0, 0, 0, 2)
    )
    assert c.shape == (6, 1) and np.all(c >= 0) and np.all(e[:, :, 0] <= c + 1e-9)
