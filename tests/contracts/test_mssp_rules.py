"""Today's MSSP rules in SharedSavings: the quality standards, the BASIC revenue-based loss limit,
sequestration, the retrospective benchmark update, and the MSR of panels below 5,000 members.

Hand-computed settlements on one segment of 1,000 members at 100 PMPM: B = 1,200,000.
"""

import warnings

import numpy as np
import pytest

import vbcsim as v
from vbcsim.contracts.base import Needs
from vbcsim.contracts.fee_for_service import FeeForService
from vbcsim.contracts.shared_savings import (
    MSSP_ALTERNATIVE_QUALITY_STANDARD,
    MSSP_BASIC_LEVELS,
    MSSP_QUALITY_STANDARD,
    MSSP_SEQUESTRATION,
    SharedSavings,
    mssp_minimum_savings_rate,
)
from vbcsim.partnerships.value_program import MSR_CONFIDENCE, ValueProgram, panel_minimum_savings_rate
from vbcsim.results.plan import _scenario_draws

from .helpers import assert_conserved, make_ctx

PMPM = 100.0
B = 1_200_000.0


def ctx_actual(actual, quality=None, market_factor=None):
    ctx = make_ctx([[a] for a in actual], [1_000], quality=quality)
    if market_factor is not None:
        ctx.market_factor = np.asarray(market_factor, dtype=float)
    return ctx


def exact(got, expected):
    """Equal to floating-point rounding of the hand computation."""
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0.0)


# ---------------------------------------------------------------------------------------------
# quality: the standard earns the maximum rate, the alternative standard the rate × q, else nothing


def test_mssp_quality_rule_one_sided_hand_computed():
    c = SharedSavings(PMPM, 0.5, 0.02, quality_rule="mssp")
    assert (c.quality_standard, c.alternative_standard) == (0.40, 0.10)
    assert (MSSP_QUALITY_STANDARD, MSSP_ALTERNATIVE_QUALITY_STANDARD) == (0.40, 0.10)
    assert c.needs() == Needs(quality=True)
    # savings 60,000 (5%) in every scenario; q below the alternative standard: nothing; at it and
    # between: 50% × q × 60,000; at and above the standard: 50% × 60,000 = 30,000
    q = [0.05, 0.10, 0.25, 0.40, 0.95]
    ctx = ctx_actual([1_140_000] * 5, quality=q)
    exact(c.final_sharing_rate(ctx), [0.0, 0.5 * 0.10, 0.5 * 0.25, 0.5, 0.5])
    exact(c.settle(ctx).amount, [0.0, 0.5 * 0.10 * 60_000, 0.5 * 0.25 * 60_000, 30_000.0, 30_000.0])
    assert_conserved(c.settle(ctx))
    # the linear rule of before on the same draws: rate × q at or above the gate
    linear = SharedSavings(PMPM, 0.5, 0.02, quality_gate=0.10)
    exact(
        linear.settle(ctx).amount,
        [0.0, 0.5 * 0.10 * 60_000, 0.5 * 0.25 * 60_000, 0.5 * 0.40 * 60_000, 0.5 * 0.95 * 60_000],
    )
    assert linear.quality_rule == "linear" and linear.quality_standard is None


def test_mssp_quality_rule_custom_thresholds_and_no_alternative_standard():
    # performance years 2021-2022: the standard alone (30th percentile), no alternative
    c = SharedSavings(PMPM, 0.5, 0.0, quality_rule="mssp", quality_standard=0.30, alternative_standard=0.30)
    ctx = ctx_actual([1_140_000] * 3, quality=[0.29, 0.30, 0.7])
    exact(c.settle(ctx).amount, [0.0, 30_000.0, 30_000.0])


def test_mssp_quality_rule_enhanced_losses_hand_computed():
    c = SharedSavings.mssp_enhanced(PMPM, minimum_savings_rate=0.0, sequestration=0.0)
    assert c.quality_rule == "mssp" and c.quality_scales_losses
    # losses 60,000 (5%); shared loss rate 1 − final sharing rate within [40%, 75%]:
    # q = .05 fails both standards: 75%; q = .2 (alternative): 1 − .75 × .2 = .85 -> 75%;
    # q = .36 (alternative): 1 − .75 × .36 = .73; q = .5 meets the standard: 1 − .75 = .25 -> 40%
    ctx = ctx_actual([1_260_000] * 4, quality=[0.05, 0.2, 0.36, 0.5])
    exact(c.shared_loss_rate(ctx), [0.75, 0.75, 1.0 - 0.75 * 0.36, 0.40])
    exact(c.settle(ctx).amount, [-45_000.0, -45_000.0, -(1.0 - 0.75 * 0.36) * 60_000, -24_000.0])
    # savings 60,000 at the same scores: 0, 75% × .2, 75% × .36, 75%
    ctx = ctx_actual([1_140_000] * 4, quality=[0.05, 0.2, 0.36, 0.5])
    exact(c.settle(ctx).amount, [0.0, 0.75 * 0.2 * 60_000, 0.75 * 0.36 * 60_000, 45_000.0])


def test_mssp_quality_rule_basic_losses_do_not_depend_on_quality():
    c = SharedSavings.mssp_basic(PMPM, level="E", minimum_savings_rate=0.0)
    ctx = ctx_actual([1_260_000] * 3, quality=[0.0, 0.2, 1.0])
    exact(c.settle(ctx).amount, [-18_000.0] * 3)  # 30% of 60,000 whatever the quality


# ---------------------------------------------------------------------------------------------
# the BASIC loss limit: the lesser of the revenue-based and the benchmark-based limits


def test_revenue_loss_cap_percentages_are_the_regulations():
    rates = {level: MSSP_BASIC_LEVELS[level]["revenue_loss_cap"] for level in "ABCDE"}
    assert rates == {"A": None, "B": None, "C": 0.02, "D": 0.04, "E": 0.08}
    caps = {level: MSSP_BASIC_LEVELS[level]["loss_cap"] for level in "CDE"}
    assert caps == {"C": 0.01, "D": 0.02, "E": 0.04}


@pytest.mark.parametrize(
    "level, revenue, limit",
    [
        ("E", 0.25, 0.08 * 0.25),  # revenue-based 2% of B < benchmark-based 4%
        ("E", 0.75, 0.04),  # revenue-based 6% > 4%: the benchmark-based limit
        ("C", 0.25, 0.02 * 0.25),  # 0.5% < 1%
        ("D", 2.0, 0.02),  # 8% > 2%
        ("D", 0.25, 0.04 * 0.25),  # 1% < 2%
    ],
)
def test_basic_loss_limit_is_the_lesser_hand_computed(level, revenue, limit):
    c = SharedSavings.mssp_basic(PMPM, level=level, minimum_savings_rate=0.0, participant_revenue=revenue)
    assert c.revenue_loss_cap == MSSP_BASIC_LEVELS[level]["revenue_loss_cap"]
    assert c.loss_limit == limit
    # losses of 300,000 (25%): 30% × 300,000 = 90,000, above every limit here: the limit × B;
    # losses of 6,000 (0.5%): 1,800, below every limit
    ctx = ctx_actual([1_500_000, 1_206_000], quality=[1.0, 1.0])
    exact(c.settle(ctx).amount, [-limit * B, -0.3 * 6_000])
    # without participant revenue, the benchmark-based limit alone (as before)
    alone = SharedSavings.mssp_basic(PMPM, level=level, minimum_savings_rate=0.0)
    exact(alone.settle(ctx).amount, [-MSSP_BASIC_LEVELS[level]["loss_cap"] * B, -0.3 * 6_000])


def test_revenue_loss_cap_on_a_plain_contract():
    c = SharedSavings(
        PMPM, 0.5, 0.0, minimum_loss_rate=0.0, loss_sharing_rate=0.5, loss_cap=None,
        participant_revenue=0.5, revenue_loss_cap=0.04,
    )  # fmt: skip
    assert c.loss_limit == 0.02
    # losses 120,000: 50% = 60,000 > 2% of B = 24,000
    exact(c.settle(ctx_actual([1_320_000])).amount, [-24_000.0])


# ---------------------------------------------------------------------------------------------
# sequestration: savings payments lose 2%, loss repayments do not


def test_sequestration_hand_computed():
    assert MSSP_SEQUESTRATION == 0.02
    c = SharedSavings(PMPM, 0.5, 0.02, minimum_loss_rate=0.02, loss_sharing_rate=0.3, sequestration=0.02)
    # savings 60,000: 30,000 × 0.98; savings 300,000: capped at 120,000, then × 0.98 (after the cap);
    # losses 60,000: 30% = 18,000, not reduced
    ctx = ctx_actual([1_140_000, 900_000, 1_260_000])
    exact(c.settle(ctx).amount, [30_000.0 * 0.98, 120_000.0 * 0.98, -18_000.0])
    exact(c.shared_losses(ctx), [0.0, 0.0, 18_000.0])
    # the default of a plain contract is none
    exact(SharedSavings(PMPM, 0.5, 0.02).settle(ctx).amount, [30_000.0, 120_000.0, 0.0])


# ---------------------------------------------------------------------------------------------
# the benchmark update: a market-wide shock is neither savings nor loss under a retrospective update


def test_retrospective_benchmark_follows_the_market_factor_hand_computed():
    retro = SharedSavings(
        PMPM, 0.5, 0.02, minimum_loss_rate=0.02, loss_sharing_rate=0.3, benchmark_update="retrospective"
    )
    pro = SharedSavings(PMPM, 0.5, 0.02, minimum_loss_rate=0.02, loss_sharing_rate=0.3)
    assert pro.benchmark_update == "prospective"
    # a market-wide shock of +10% raises the whole market's cost, the panel's to 1,320,000:
    #   prospective: losses 120,000 (10%) -> repay 30% = 36,000;
    #   retrospective: benchmark 1,320,000 -> no savings, no losses
    # market factor 0.95 and actual 1,026,000: the updated benchmark is 1,140,000, savings 114,000
    # (10% of it) -> 57,000; prospective savings 174,000 (14.5%) -> 87,000
    ctx = ctx_actual([1_320_000, 1_026_000], market_factor=[1.1, 0.95])
    exact(retro.updated_benchmark(ctx), [B * 1.1, B * 0.95])
    assert retro.benchmark(ctx) == B  # before the update
    exact(retro.settle(ctx).amount, [0.0, 0.5 * (B * 0.95 - 1_026_000)])
    exact(pro.settle(ctx).amount, [-36_000.0, 87_000.0])
    # the caps apply to the updated benchmark: savings of 40% of it, capped at 10% × B × 0.95
    exact(retro.settle(ctx_actual([0.6 * B * 0.95], market_factor=[0.95])).amount, [0.1 * B * 0.95])
    # no market factor in the context (no scenario risk): the benchmark as given
    exact(retro.settle(ctx_actual([1_320_000])).amount, [-36_000.0])


def test_retrospective_update_rejects_bad_market_factors():
    retro = SharedSavings(PMPM, 0.5, 0.02, benchmark_update="retrospective")
    for bad in ([1.0, 1.0], [-1.0], [np.nan]):
        with pytest.raises(ValueError, match="market_factor"):
            retro.settle(ctx_actual([1_000_000], market_factor=bad))


def test_mssp_presets_update_retrospectively():
    c = SharedSavings.mssp_basic(PMPM, level="E", minimum_savings_rate=0.02, sequestration=0.0)
    # the whole market 10% above its trend: the panel's 1,320,000 is exactly its updated benchmark
    exact(c.settle(ctx_actual([1_320_000], quality=[1.0], market_factor=[1.1])).amount, [0.0])
    fixed = SharedSavings.mssp_basic(
        PMPM, level="E", minimum_savings_rate=0.02, benchmark_update="prospective"
    )
    exact(fixed.settle(ctx_actual([1_320_000], quality=[1.0], market_factor=[1.1])).amount, [-36_000.0])


def test_retrospective_update_in_the_engine():
    pop = v.Population([v.Segment("a", 200, v.Gamma.from_mean_cv(4_000.0, 1.0))])
    risk = v.ScenarioRisk(trend_cv=0.05, shock_probability=0.2, shock_size=0.15, market_share_of_variance=0.6)
    pmpm = pop.expected_cost() / pop.members / 12  # the benchmark before the update
    retro = SharedSavings(pmpm, 0.5, 0.0, minimum_loss_rate=0.0, loss_sharing_rate=0.5, loss_cap=None,
                          benchmark_update="retrospective")  # fmt: skip
    n, seed = 64, 5
    ds = v.simulate(pop, {"m": [FeeForService(), retro]}, n_scenarios=n, seed=seed, scenario_risk=risk)
    market = _scenario_draws(risk, n, seed)[1]
    assert market is not None and market.shape == (n,)
    assert not np.allclose(market, 1.0)
    ctx = make_ctx(ds.medical_cost.sel(model="m").values[:, None], [pop.members])
    ctx.market_factor = market
    np.testing.assert_allclose(
        ds.settlement.sel(model="m", contract="shared_savings").values, retro.settle(ctx).amount, rtol=1e-12
    )


# ---------------------------------------------------------------------------------------------
# panels below 5,000: the table's principle on the panel's own cost, with a warning


def test_panel_msr_below_5000_is_the_90_percent_bound_of_its_own_cost():
    from vbcsim.analysis.credibility import msr_for_confidence

    panel = v.defaults.provider_panel(2_000)
    with pytest.warns(UserWarning, match=r"5,000 assigned beneficiaries \(42 CFR 425.110"):
        msr = panel_minimum_savings_rate(panel)
    assert MSR_CONFIDENCE == 0.90
    table = msr_for_confidence(panel, sizes=[2_000], confidence=0.90, method="exact")
    assert msr == pytest.approx(float(table.msr.values[0]), rel=1e-12)
    assert msr > mssp_minimum_savings_rate(5_000)  # no clamp at the table's 3.9%
    # the value program uses it
    with pytest.warns(UserWarning, match="425.110"):
        arr = ValueProgram().arrangement(panel)
    ss = next(c for c in arr.contracts if isinstance(c, SharedSavings))
    assert ss.minimum_savings_rate == msr
    assert ss.benchmark_update == "prospective" and ss.quality_rule == "linear"


def test_panel_msr_from_5000_is_the_table_without_a_warning():
    panel = v.defaults.provider_panel(12_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert panel_minimum_savings_rate(panel) == mssp_minimum_savings_rate(12_000)
        # an explicit MSR needs no table
        arr = ValueProgram(minimum_savings_rate=0.03).arrangement(v.defaults.provider_panel(2_000))
    assert next(c for c in arr.contracts if isinstance(c, SharedSavings)).minimum_savings_rate == 0.03


def test_panel_msr_bad_input():
    with pytest.raises(TypeError, match="population"):
        panel_minimum_savings_rate(2_000)
    panel = v.defaults.provider_panel(2_000)
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="confidence"):
            panel_minimum_savings_rate(panel, confidence=bad)


# ---------------------------------------------------------------------------------------------
# bad input names the argument


def ss(**kw):
    args = {"benchmark_pmpm": PMPM, "sharing_rate": 0.5, "minimum_savings_rate": 0.02}
    args.update(kw)
    return SharedSavings(**args)


TWO = {"minimum_loss_rate": 0.02, "loss_sharing_rate": 0.3}


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"quality_rule": "cms"}, ValueError, "quality_rule"),
        ({"quality_rule": None}, TypeError, "quality_rule"),
        ({"quality_standard": 0.4}, ValueError, "quality_standard=0.4 applies only with quality_rule='mssp'"),
        ({"alternative_standard": 0.1}, ValueError, "alternative_standard"),
        ({"quality_rule": "mssp", "quality_gate": 0.5}, ValueError, "quality_gate"),
        ({"quality_rule": "mssp", "quality_standard": 1.2}, ValueError, "quality_standard"),
        ({"quality_rule": "mssp", "quality_standard": "high"}, TypeError, "quality_standard"),
        ({"quality_rule": "mssp", "alternative_standard": -0.1}, ValueError, "alternative_standard"),
        (
            {"quality_rule": "mssp", "quality_standard": 0.3, "alternative_standard": 0.5},
            ValueError,
            "alternative_standard=0.5 must not exceed quality_standard=0.3",
        ),
        ({**TWO, "participant_revenue": 0.5}, ValueError, "participant_revenue needs revenue_loss_cap"),
        ({**TWO, "revenue_loss_cap": 0.02}, ValueError, "revenue_loss_cap needs participant_revenue"),
        ({"participant_revenue": 0.5, "revenue_loss_cap": 0.02}, ValueError, "one-sided"),
        ({**TWO, "participant_revenue": 0.0, "revenue_loss_cap": 0.02}, ValueError, "participant_revenue"),
        ({**TWO, "participant_revenue": 1e4, "revenue_loss_cap": 0.02}, ValueError, "participant_revenue"),
        ({**TWO, "participant_revenue": "1", "revenue_loss_cap": 0.02}, TypeError, "participant_revenue"),
        ({**TWO, "participant_revenue": 0.5, "revenue_loss_cap": 1.5}, ValueError, "revenue_loss_cap"),
        ({"sequestration": 1.0}, ValueError, "sequestration"),
        ({"sequestration": -0.02}, ValueError, "sequestration"),
        ({"sequestration": "2%"}, TypeError, "sequestration"),
        ({"benchmark_update": "annual"}, ValueError, "benchmark_update"),
        ({"benchmark_update": 1}, TypeError, "benchmark_update"),
    ],
)
def test_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ss(**kwargs)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: SharedSavings.mssp_basic(PMPM, 6_000, "A", participant_revenue=0.5), ValueError, "participant_revenue"),
        (lambda: SharedSavings.mssp_basic(PMPM, level="E", minimum_savings_rate=0.0, sequestration=2.0), ValueError, "sequestration"),
        (lambda: SharedSavings.mssp_enhanced(PMPM, minimum_savings_rate=0.0, quality_rule="best"), ValueError, "quality_rule"),
        (lambda: SharedSavings.mssp_enhanced(PMPM, minimum_savings_rate=0.0, quality_rule="mssp", quality_gate=0.4), ValueError, "quality_gate"),
        (lambda: SharedSavings.mssp_enhanced(PMPM, minimum_savings_rate=0.0, benchmark_update="x"), ValueError, "benchmark_update"),
    ],
)  # fmt: skip
def test_preset_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_quality_rule_needs_the_quality_score():
    with pytest.raises(ValueError, match="quality"):
        ss(quality_rule="mssp").settle(ctx_actual([1_000_000]))
