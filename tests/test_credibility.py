"""Credibility: settlement by chance alone against panel size, the minimum panel size, the implied MSR.

Oracles: the gamma family is closed under sums (n members with Gamma(k, theta) costs cost Gamma(n k,
theta) in total), so for a gamma population the exact method is checked against scipy's gamma
distribution; the simulated curve is checked against the exact one within binomial standard errors; and
the implied MSR of the built-in commercial population is compared with the central limit theorem and with
the MSSP table of 42 CFR 425.604(b).
"""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import integrate, stats  # noqa: E402

import vbcsim  # noqa: E402
from vbcsim import credibility  # noqa: E402
from vbcsim.contracts import FeeForService, SharedSavings, mssp_minimum_savings_rate  # noqa: E402
from vbcsim.contracts.shared_savings import MSSP_MSR_TABLE  # noqa: E402
from vbcsim.partnerships import DEFAULT_SCENARIO_RISK  # noqa: E402
from vbcsim.population.defaults import TAIL_ALPHA, provider_panel  # noqa: E402

GAMMA = vbcsim.Gamma.from_mean_cv(500.0, 1.5)  # shape 4/9, a monthly-like skewed cost
GAMMA_POP = vbcsim.Population([vbcsim.Segment("members", 1_000, GAMMA)])
PANEL = provider_panel()  # the built-in commercial panel, 20,000 members


def binomial_se(p, n):
    return np.sqrt(np.maximum(p * (1 - p), 1e-12) / n)


def gamma_total(n):
    """The exact total cost of n gamma members: Gamma(n k, theta)."""
    return stats.gamma(n * GAMMA.shape, scale=GAMMA.scale)


# ----------------------------------------------------------------------------- exact method vs closed forms


def test_exact_probability_matches_the_gamma_closed_form():
    sizes = [200, 2_000, 20_000]
    msr = 0.03
    curve = credibility.chance_settlement(GAMMA_POP, sizes=sizes, minimum_savings_rate=msr, method="exact")
    pay = curve.prob_payment.sel(contract="shared_savings").values
    for n, p in zip(sizes, pay, strict=True):
        benchmark = n * GAMMA.mean()
        want = gamma_total(n).cdf(benchmark * (1 - msr))
        # the FFT oracle's distribution function is accurate to about 1e-5 (vbcsim.exact's docstring)
        assert p == pytest.approx(want, abs=1e-4)
    assert np.all(curve.prob_recoupment.values == 0)  # one-sided
    np.testing.assert_array_equal(curve.prob_settlement.values, curve.prob_payment.values)
    assert curve.members.values.tolist() == sizes
    assert curve.attrs["method"] == "exact"


def test_exact_msr_matches_the_gamma_closed_form():
    sizes = [500, 5_000, 50_000]
    table = credibility.msr_for_confidence(GAMMA_POP, sizes=sizes, confidence=0.95, method="exact")
    for n, m in zip(sizes, table.msr.values, strict=True):
        want = 1 - gamma_total(n).ppf(0.05) / (n * GAMMA.mean())
        # quantiles of the oracle are accurate to about 1e-4 relative: 1e-4 of the benchmark here
        assert m == pytest.approx(want, abs=1e-4)
    # the normal approximation z CV / sqrt(n) is exact in the limit; the gamma total's skewness
    # 2 / sqrt(n k) lightens the left tail, so the exact MSR is below it by about (z^2 - 1) skew / 6
    # relative (Cornish-Fisher), which the exact values must follow to first order
    z = stats.norm.ppf(0.95)
    for n, m, m_norm in zip(sizes, table.msr.values, table.normal_msr.values, strict=True):
        assert m_norm == pytest.approx(z * 1.5 / math.sqrt(n), rel=1e-12)
        skew = 2 / math.sqrt(n * GAMMA.shape)
        cornish_fisher = 1.5 / math.sqrt(n) * (z - (z * z - 1) * skew / 6)
        # the next Cornish-Fisher terms (kurtosis 6 / (n k), skewness squared) are O(skew^2) relative
        assert m == pytest.approx(cornish_fisher, rel=0.5 * skew**2 + 1e-4)


def test_exact_systematic_risk_matches_quadrature_of_the_closed_form():
    """P(M C <= x) with a lognormal trend and a shock, against adaptive quadrature of the gamma cdf."""
    risk = vbcsim.ScenarioRisk(trend_cv=0.02, shock_probability=0.1, shock_size=0.05)
    n, msr = 20_000, 0.01
    curve = credibility.chance_settlement(
        GAMMA_POP, sizes=[n], minimum_savings_rate=msr, scenario_risk=risk, method="exact"
    )
    benchmark = n * GAMMA.mean() * risk.mean()  # the default contract prices the mean multiplier in
    x = benchmark * (1 - msr)
    s = math.sqrt(math.log1p(risk.trend_cv**2))
    total = gamma_total(n)

    def given_trend(z, shock):
        return total.cdf(x / (shock * math.exp(s * z - s * s / 2))) * stats.norm.pdf(z)

    want = sum(
        w * integrate.quad(given_trend, -12, 12, args=(shock,), epsabs=1e-12, limit=400)[0]
        for shock, w in ((1.0, 0.9), (1.05, 0.1))
    )
    # the gamma part is the oracle's (1e-4); the quadrature over the multiplier adds < 1e-6
    assert float(curve.prob_payment.values[0, 0]) == pytest.approx(want, abs=1e-4)


# ----------------------------------------------------------------------------- simulation vs exact


def _within_se(sim, exact, n_scenarios, k=4.0):
    se = binomial_se(exact, n_scenarios)
    assert np.all(np.abs(sim - exact) <= k * se + 1e-12), (sim, exact, se)


def test_simulated_curve_agrees_with_exact_within_binomial_errors():
    sizes = [2_000, 10_000]
    n_scen = 3_000
    kw = dict(sizes=sizes, minimum_savings_rate=0.02)
    exact = credibility.chance_settlement(PANEL, method="exact", **kw)
    sim = credibility.chance_settlement(PANEL, method="simulate", n_scenarios=n_scen, seed=3, **kw)
    assert sim.attrs["method"] == "simulate" and sim.attrs["n_scenarios"] == n_scen
    _within_se(sim.prob_payment.values, exact.prob_payment.values, n_scen)
    # the probabilities are far from 0 and 1 here, so the check has power: 4 SE is about 0.03
    assert np.all((exact.prob_payment.values > 0.1) & (exact.prob_payment.values < 0.5))


def test_two_sided_gated_model_exact_agrees_with_simulation_with_systematic_risk():
    """Model 1 (custom contract): two-sided, quality gate 0.6; no outlier truncation so the oracle applies."""
    sizes = [3_000, 12_000]
    n_scen = 3_000
    kw = dict(sizes=sizes, model_overrides={"outlier_attachment": None}, scenario_risk=DEFAULT_SCENARIO_RISK)
    exact = credibility.chance_settlement(PANEL, "custom_contract", method="exact", **kw)
    sim = credibility.chance_settlement(
        PANEL, "custom_contract", method="simulate", n_scenarios=n_scen, seed=1, **kw
    )
    assert exact.contract.values.tolist() == ["shared_savings"]
    assert exact.attrs["left_out"] == "fee_for_service"
    assert sim.contract.values.tolist() == ["fee_for_service", "shared_savings"]
    ss = sim.sel(contract="shared_savings")
    for var in ("prob_payment", "prob_recoupment", "prob_settlement"):
        _within_se(ss[var].values, exact[var].sel(contract="shared_savings").values, n_scen)
    # fee for service pays every year: no chance about it
    np.testing.assert_array_equal(sim.prob_payment.sel(contract="fee_for_service").values, 1.0)
    # the gate is independent of cost: the payment probability is P(quality >= 0.6) times that of the
    # same corridor without a gate (the default contract: the same benchmark, the panel's expected cost)
    ungated = credibility.chance_settlement(
        PANEL, sizes=sizes, minimum_savings_rate=0.02, scenario_risk=DEFAULT_SCENARIO_RISK, method="exact"
    )
    gate = stats.beta.sf(0.6, 8, 2)
    np.testing.assert_allclose(
        exact.prob_payment.values[:, 0], gate * ungated.prob_payment.values[:, 0], rtol=1e-12
    )


def test_model_keys_rebuild_the_model_per_size():
    sizes = [5_000, 40_000]
    default = credibility.chance_settlement(PANEL, sizes=sizes, method="exact")
    # the value program is upside-only shared savings on the expected cost with the MSSP MSR: the default
    value = credibility.chance_settlement(PANEL, "value_program", sizes=sizes, method="exact")
    np.testing.assert_allclose(value.prob_payment.values, default.prob_payment.values, rtol=1e-12)
    np.testing.assert_allclose(
        value.minimum_savings_rate.values[:, 0], [0.039, mssp_minimum_savings_rate(40_000)]
    )
    assert set(value.attrs["left_out"].split(", ")) == {"fee_for_service", "pay_for_performance"}
    # the same by number and by readable name, and as a model instance
    by_number = credibility.chance_settlement(PANEL, "2", sizes=sizes, method="exact")
    instance = credibility.chance_settlement(
        PANEL, vbcsim.partnerships.ValueProgram(), sizes=sizes, method="exact"
    )
    np.testing.assert_array_equal(by_number.prob_payment.values, value.prob_payment.values)
    np.testing.assert_array_equal(instance.prob_payment.values, value.prob_payment.values)


def test_pooled_model_equals_a_panel_five_times_the_size():
    """Model 3 settles on a pool of five equal practices: the chance of a pool payment is that of a panel
    five times the size under the same two-sided 1% corridor (2,000 and 10,000 members resize exactly)."""
    pooled = credibility.chance_settlement(PANEL, "third_party", sizes=[2_000], method="exact")
    assert pooled.contract.values.tolist() == ["pooled_shared_savings"]
    big = SharedSavings(
        vbcsim.partnerships.expected_pmpm(PANEL),
        0.6,
        0.01,
        minimum_loss_rate=0.01,
        loss_sharing_rate=0.6,
    )
    single = credibility.chance_settlement(PANEL, vbcsim.Arrangement([big]), sizes=[10_000], method="exact")
    for var in ("prob_payment", "prob_recoupment"):
        assert float(pooled[var].values[0, 0]) == pytest.approx(float(single[var].values[0, 0]), rel=1e-9)


def test_arrangement_and_callable_give_the_same_curve():
    sizes = [1_000, 4_000]
    pmpm = vbcsim.partnerships.expected_pmpm(GAMMA_POP)
    arr = vbcsim.Arrangement(
        [FeeForService(), SharedSavings(pmpm, 0.5, 0.025)], efficiency=vbcsim.Efficiency(0.05, 0.02)
    )
    fixed = credibility.chance_settlement(GAMMA_POP, arr, sizes=sizes, method="exact")
    made = credibility.chance_settlement(GAMMA_POP, lambda size: arr, sizes=sizes, method="exact")
    plain = credibility.chance_settlement(GAMMA_POP, sizes=sizes, minimum_savings_rate=0.025, method="exact")
    np.testing.assert_array_equal(fixed.prob_payment.values, made.prob_payment.values)
    np.testing.assert_array_equal(fixed.prob_payment.values, plain.prob_payment.values)
    # the arrangement's 5% efficiency is ignored: with it a payment would be likely, not the chance ~15%
    sim = credibility.chance_settlement(GAMMA_POP, arr, sizes=[4_000], n_scenarios=2_000, seed=0)
    p = float(sim.prob_payment.sel(contract="shared_savings").values[0])
    _within_se(np.array([p]), fixed.prob_payment.values[1:, 0], 2_000)


# ----------------------------------------------------------------------------- monotonicity


def test_probability_falls_with_panel_size():
    sizes = [300, 1_000, 3_000, 10_000, 30_000, 100_000]
    exact = credibility.chance_settlement(GAMMA_POP, sizes=sizes, minimum_savings_rate=0.02, method="exact")
    p = exact.prob_payment.values[:, 0]
    assert np.all(np.diff(p) < 0)
    # simulated with one seed at every size: falls too, beyond noise between sizes this far apart
    sim = credibility.chance_settlement(
        GAMMA_POP, sizes=sizes[:4], minimum_savings_rate=0.02, n_scenarios=2_000, seed=0
    )
    assert np.all(np.diff(sim.prob_payment.values[:, 0]) < 0)


# ----------------------------------------------------------------------------- minimum panel size


def test_minimum_panel_size_is_where_the_curve_crosses_the_target():
    target, msr = 0.05, 0.02
    n = credibility.minimum_panel_size(GAMMA_POP, target, minimum_savings_rate=msr, rtol=0)
    curve = credibility.chance_settlement(
        GAMMA_POP, sizes=[n - 1, n], minimum_savings_rate=msr, method="exact"
    )
    before, at = curve.prob_payment.values[:, 0]
    assert at <= target < before
    # closed form: the smallest n with P(Gamma(n k) <= n k (1 - msr)) <= target
    closed = [m for m in range(n - 20, n + 21) if gamma_total(m).cdf(m * GAMMA.mean() * (1 - msr)) <= target]
    assert abs(n - closed[0]) <= 1  # the oracle's 1e-5 accuracy moves the crossing by at most a member
    # normal approximation: n = (z CV / msr)^2, about 15,200; the total's skewness 2 / sqrt(n k) = 0.024
    # lowers the exact n by about 2 (z^2 - 1) skew / (6 z) = 0.8% (Cornish-Fisher)
    assert n == pytest.approx((stats.norm.ppf(1 - target) * 1.5 / msr) ** 2, rel=0.02)
    # with the default relative tolerance: within 0.1% above the exact crossing
    coarse = credibility.minimum_panel_size(GAMMA_POP, target, minimum_savings_rate=msr)
    assert n <= coarse <= n * 1.001 + 1


def test_minimum_panel_size_by_simulation_is_consistent_with_its_curve():
    target, msr = 0.2, 0.05
    kw = dict(minimum_savings_rate=msr, n_scenarios=1_000, seed=2)
    n = credibility.minimum_panel_size(
        GAMMA_POP, target, lo=100, hi=5_000, method="simulate", rtol=0.02, **kw
    )
    p = float(credibility.chance_settlement(GAMMA_POP, sizes=[n], **kw).prob_payment.values[0, 0])
    assert p <= target
    exact = credibility.minimum_panel_size(GAMMA_POP, target, minimum_savings_rate=msr, lo=100, hi=5_000)
    # Normal approximation P = Phi(-z), z = msr sqrt(n) / CV: dP/dn = -phi(z) z / (2 n) = -0.118 / n at
    # P = 0.2, so one binomial SE of 1,000 scenarios (0.0126) moves the crossing by about 11% of n: allow 4
    assert n == pytest.approx(exact, rel=0.45)


def test_minimum_panel_size_returns_lo_when_already_met():
    assert credibility.minimum_panel_size(GAMMA_POP, 0.45, minimum_savings_rate=0.05, lo=1_000) == 1_000


# ----------------------------------------------------------------------------- implied MSR vs CLT and MSSP


@pytest.fixture(scope="module")
def commercial_msr():
    """Implied MSR at 90% one-sided confidence for the commercial panel, exact, 5,000 to 1,000,000."""
    return credibility.msr_for_confidence(PANEL, sizes=[5_000, 10_000, 20_000, 60_000, 100_000, 1_000_000])


def test_implied_msr_scales_as_one_over_root_n(commercial_msr):
    t = commercial_msr
    n = t.panel_size.values.astype(float)
    msr, normal = t.msr.values, t.normal_msr.values
    # the normal approximation is z_0.90 CV / sqrt(n) with CV the member's (3.2): exactly 1/sqrt(n)
    np.testing.assert_allclose(normal * np.sqrt(n), normal[0] * math.sqrt(n[0]), rtol=1e-6)
    # CLT: msr sqrt(n) is roughly constant.  Tolerance 15% over 5k-100k: the total is a sum of right-skewed
    # costs, whose left tail is lighter than the normal one, so msr < normal, by a relative amount that
    # decays with n (below).  Measured: 8% at 5,000.
    core = (n >= 5_000) & (n <= 100_000)
    scaled = msr[core] * np.sqrt(n[core])
    assert scaled.max() / scaled.min() < 1.15
    ratio = msr / normal
    assert np.all((ratio > 0.85) & (ratio < 1.0))
    assert np.all(np.diff(ratio) > 0)  # approaching the normal limit from below
    # Rate: with a Pareto tail of index alpha in (2, 3) the third moment is infinite and the normal
    # approximation's error decays as n^-(alpha - 2)/2 (the Katz-Petrov rate with 2 + delta moments,
    # delta < alpha - 2), here n^-0.25, rather than the n^-0.5 of a finite third moment
    slope = np.polyfit(np.log(n), np.log(1 - ratio), 1)[0]
    assert slope == pytest.approx(-(TAIL_ALPHA - 2) / 2, abs=0.1)


def test_commercial_msr_beside_the_mssp_table(commercial_msr):
    t = commercial_msr.sel(panel_size=[5_000, 10_000, 20_000, 60_000])
    n = t.panel_size.values.astype(float)
    mssp = t.mssp_msr.values
    np.testing.assert_allclose(mssp, [0.039, 0.030, 0.025, 0.020])
    assert mssp[0] == MSSP_MSR_TABLE[0][2]
    # both fall with size
    assert np.all(np.diff(mssp) < 0) and np.all(np.diff(t.msr.values) < 0)
    # but differently: CMS raised the confidence with size (lower for small ACOs, CMS-1345-P), so the
    # table's MSR sqrt(n) grows, while at one confidence level this population's stays nearly constant
    assert np.all(np.diff(mssp * np.sqrt(n)) > 0)
    # (except between 50,000 and 60,000, where the table's MSR falls from 2.2% to 2.0% a little faster than
    # 1 / sqrt(n): minimum_panel_size documents the dip)
    assert mssp_minimum_savings_rate(59_999) * math.sqrt(59_999) < 0.022 * math.sqrt(50_000)
    # hence the table gives this population a confidence that rises with size
    conf = t.mssp_confidence.values
    assert np.all(np.diff(conf) > 0)
    # At 5,000 the table's 3.9% is what 90% one-sided confidence gives a member CV of
    # 0.039 sqrt(5000) / z_0.90 = 2.15 (the Medicare per-capita variability it was set for); the
    # commercial member's CV is 3.2, 50% more, far beyond the at most 15% lighter left tail shown above:
    # the table gives this population less than 90% confidence at 5,000 members (a chance payment in more
    # than 1 year in 10) ...
    cv_medicare = 0.039 * math.sqrt(5_000) / stats.norm.ppf(0.90)
    assert cv_medicare == pytest.approx(2.15, abs=0.01)
    assert mssp[0] < 0.85 * t.normal_msr.values[0] <= t.msr.values[0]
    assert conf[0] < 0.90
    # ... and more than 90% at 60,000, where even the normal approximation asks for less than 2%
    assert t.normal_msr.values[-1] < 0.020 and conf[-1] > 0.90
    # mssp_confidence is 1 - P(chance payment) under the table's MSR, the default contract's curve
    curve = credibility.chance_settlement(PANEL, sizes=[5_000], method="exact")
    assert conf[0] == pytest.approx(1 - float(curve.prob_payment.values[0, 0]), abs=1e-12)


def test_msr_by_simulation_agrees_with_exact_and_truncation_lowers_it():
    sizes, n_scen, conf = [2_000, 8_000], 2_000, 0.9
    exact = credibility.msr_for_confidence(PANEL, sizes=sizes, confidence=conf)
    # an attachment no member reaches: the simulated quantile of the untruncated cost
    sim = credibility.msr_for_confidence(
        PANEL, sizes=sizes, confidence=conf, outlier_attachment=1e12, n_scenarios=n_scen, seed=4
    )
    assert sim.attrs["method"] == "simulate" and exact.attrs["method"] == "exact"
    # the sample quantile's SE is sqrt(q (1 - q) / N) / f(x_q); in MSR units, with the normal density of the
    # relative total (sd CV / sqrt(n)): sqrt(q (1 - q) / N) CV_n / phi(z_q)
    z = stats.norm.ppf(conf)
    cv_n = exact.normal_msr.values / z
    se = math.sqrt(0.1 * 0.9 / n_scen) * cv_n / stats.norm.pdf(z)
    assert np.all(np.abs(sim.msr.values - exact.msr.values) <= 4 * se)
    assert np.isnan(sim.mssp_msr.values[0]) and sim.mssp_msr.values[1] == pytest.approx(
        mssp_minimum_savings_rate(8_000)
    )
    # truncating each member's cost at $100,000 (as the MSSP truncates outliers) removes most of the
    # Pareto tail's variance, so the same confidence needs a smaller MSR
    cut = credibility.msr_for_confidence(
        PANEL, sizes=sizes, confidence=conf, outlier_attachment=100_000, n_scenarios=n_scen, seed=4
    )
    assert np.all(cut.msr.values + 4 * se < exact.msr.values)
    assert np.all(cut.normal_msr.values < exact.normal_msr.values)


# ----------------------------------------------------------------------------- figures


def test_plot_curve_marks_target_and_minimum():
    curve = credibility.chance_settlement(
        PANEL, "custom_contract", sizes=[2_000, 20_000], n_scenarios=300, seed=0
    )
    fig = credibility.plot(curve, target=0.05, minimum_size=12_345)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert "shared_savings: P(payment)" in labels and "shared_savings: P(recoupment)" in labels
    assert not any(lab.startswith("fee_for_service") for lab in labels)  # always pays: not drawn
    assert "target 0.05" in labels and "minimum panel size 12,345" in labels
    # without a minimum, the crossing is interpolated from the curve
    pay = curve.prob_payment.sel(contract="shared_savings").values
    fig2 = credibility.plot(curve, target=float(pay.mean()))
    assert any("interpolated" in line.get_label() for line in fig2.axes[0].get_lines())


def test_plot_msr():
    table = credibility.msr_for_confidence(GAMMA_POP, sizes=[2_000, 10_000, 60_000])
    fig = credibility.plot_msr(table)
    assert isinstance(fig, Figure)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == [
        "this population, 90% one-sided",
        "normal approximation",
        "MSSP table, 42 CFR 425.604(b)",
    ]
    with pytest.raises(ValueError, match="msr"):
        credibility.plot_msr(table.drop_vars("msr"))
    with pytest.raises(ValueError, match="prob_payment"):
        credibility.plot(table)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("target", [0, 1, 1.5, -0.1])
def test_target_outside_unit_interval(target):
    with pytest.raises(ValueError, match="target"):
        credibility.minimum_panel_size(GAMMA_POP, target, minimum_savings_rate=0.02)


@pytest.mark.parametrize("sizes", [[0], [-5, 100], [100, 100], []])
def test_bad_sizes(sizes):
    with pytest.raises(ValueError, match="sizes"):
        credibility.chance_settlement(GAMMA_POP, sizes=sizes, minimum_savings_rate=0.02, method="exact")


def test_sizes_below_the_mssp_table_need_an_msr():
    with pytest.raises(ValueError, match="sizes.*5,000"):
        credibility.chance_settlement(GAMMA_POP, sizes=[1_000], method="exact")
    with pytest.raises(ValueError, match="lo"):
        credibility.minimum_panel_size(GAMMA_POP, lo=1_000)


def test_unknown_model_key():
    with pytest.raises(ValueError, match="arrangement.*unknown partnership model 'nope'"):
        credibility.chance_settlement(PANEL, "nope", sizes=[5_000])


def test_unreachable_target():
    # systematic risk does not diversify: a 2% trend CV keeps P(chance payment) near P(trend < 0.98)
    with pytest.raises(ValueError, match="target.*not reachable"):
        credibility.minimum_panel_size(
            GAMMA_POP, 0.05, minimum_savings_rate=0.02, scenario_risk=vbcsim.ScenarioRisk(trend_cv=0.05)
        )
    with pytest.raises(ValueError, match="target.*hi=2,000"):
        credibility.minimum_panel_size(GAMMA_POP, 0.01, minimum_savings_rate=0.02, hi=2_000)


def test_other_bad_input():
    with pytest.raises(ValueError, match="method"):
        credibility.chance_settlement(GAMMA_POP, sizes=[100], minimum_savings_rate=0.02, method="fft")
    with pytest.raises(ValueError, match="confidence"):
        credibility.msr_for_confidence(GAMMA_POP, sizes=[100], confidence=1.0)
    with pytest.raises(ValueError, match="minimum_savings_rate applies to the default contract"):
        credibility.chance_settlement(GAMMA_POP, "value_program", sizes=[5_000], minimum_savings_rate=0.02)
    with pytest.raises(ValueError, match="outlier_attachment.*simulate"):
        credibility.chance_settlement(
            GAMMA_POP, sizes=[100], minimum_savings_rate=0.02, outlier_attachment=1e4, method="exact"
        )
    with pytest.raises(ValueError, match="SharedSavings or PooledSavings"):
        credibility.chance_settlement(
            GAMMA_POP, vbcsim.Arrangement([FeeForService()]), sizes=[100], method="exact"
        )
    with pytest.raises(ValueError, match="efficiency"):
        credibility.chance_settlement(
            PANEL, "custom_contract", model_overrides={"efficiency": 0.1}, sizes=[5_000]
        )
    with pytest.raises(ValueError, match="contract"):
        credibility.minimum_panel_size(
            GAMMA_POP, arrangement=vbcsim.Arrangement([FeeForService()]), contract="shared_savings"
        )
    with pytest.raises(TypeError, match="arrangement"):
        credibility.chance_settlement(GAMMA_POP, arrangement=3.5, sizes=[100])
    with pytest.raises(TypeError, match="population"):
        credibility.chance_settlement("panel", sizes=[100])


def test_auto_method_follows_the_named_contract():
    # the value program's quality bonus has no exact counterpart: 'auto' must simulate it rather than
    # refuse because another contract of the model could be computed exactly
    from vbcsim.analysis.credibility import minimum_panel_size

    pop = vbcsim.defaults.provider_panel(5_000)
    with pytest.raises(ValueError, match="target"):  # the bonus pays in most years at any size
        minimum_panel_size(
            pop, 0.05, "value_program", contract="pay_for_performance", lo=5_000, hi=6_000, n_scenarios=200
        )


def test_exact_follows_the_mssp_quality_rule_and_refuses_a_retrospective_benchmark():
    """Under the MSSP rule savings are shared whenever quality meets the alternative standard."""
    pmpm = PANEL.expected_cost() / PANEL.members / 12
    terms = dict(sharing_rate=0.5, minimum_savings_rate=0.02, quality_rule="mssp")
    arr = vbcsim.Arrangement(
        [FeeForService(), SharedSavings(pmpm, quality_standard=0.85, alternative_standard=0.8, **terms)]
    )
    sizes, n_scen = [3_000, 12_000], 3_000
    exact = credibility.chance_settlement(PANEL, arr, sizes=sizes, method="exact")
    sim = credibility.chance_settlement(
        PANEL, arr, sizes=sizes, method="simulate", n_scenarios=n_scen, seed=2
    )
    _within_se(
        sim.prob_payment.sel(contract="shared_savings").values, exact.prob_payment.values[:, 0], n_scen
    )
    ungated = credibility.chance_settlement(PANEL, sizes=sizes, minimum_savings_rate=0.02, method="exact")
    np.testing.assert_allclose(
        exact.prob_payment.values[:, 0],
        stats.beta.sf(0.8, 8, 2) * ungated.prob_payment.values[:, 0],
        rtol=1e-12,
    )
    retro = vbcsim.Arrangement(
        [FeeForService(), SharedSavings(pmpm, benchmark_update="retrospective", **terms)]
    )
    with pytest.raises(ValueError, match="retrospectively.*method='simulate'"):
        credibility.chance_settlement(
            PANEL, retro, sizes=sizes, method="exact", scenario_risk=DEFAULT_SCENARIO_RISK
        )
