"""Contradictory contract terms and out-of-range values: refused (or warned of) naming the term.

Each test is a reproducer of a case that used to be accepted silently, or to fail later with a
message that blamed something else (a settlement whose flows "do not balance (nan)", ``levels``
for ``capital_level``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import vbcsim as v
from vbcsim.contracts import (
    AggregateStopLoss,
    BundledPayment,
    Capitation,
    FeeForService,
    ManagementFee,
    PayForPerformance,
    PooledSavings,
    RiskCorridor,
    SavingsPassThrough,
    SharedSavings,
    SpecificStopLoss,
    UserContract,
)

from .helpers import make_ctx

BOOK = v.Population([v.Segment("book", 40, v.Lognormal(7.0, 1.0))])


def _zero(medical_cost, excess, quality, premium, members, params):
    return np.zeros_like(medical_cost)


# -- shared savings: a minimum rate that leaves only the cap ----------------------------------------


def test_msr_whose_first_dollar_share_reaches_the_savings_cap_warns_naming_both():
    # all or nothing: the terms settle coherently (the cap whenever savings meet the MSR), and a
    # preset's MSR derived from a tiny panel's own cost reaches them without a user's choice
    with pytest.warns(UserWarning, match="minimum_savings_rate=0.2 reaches savings_cap=0.1"):
        ss = SharedSavings(500, sharing_rate=0.5, minimum_savings_rate=0.2, savings_cap=0.1)
    ctx = make_ctx([[5_000.0], [4_700.0], [4_000.0]], [1], expected_cost=6_000.0)
    # benchmark 6,000: savings 1,000 (16.7%, below the MSR), 1,300 (21.7%), 2,000 (33%) -> cap 600
    np.testing.assert_allclose(ss.settle(ctx).amount, [0.0, 600.0, 600.0])


@pytest.mark.parametrize(
    "terms",
    [
        {"sharing_rate": 0.4, "minimum_savings_rate": 0.2, "savings_cap": 0.1},  # pays 8-10%: coherent
        {"sharing_rate": 0.5, "minimum_savings_rate": 0.2, "savings_cap": 0.1, "first_dollar": False},
        {"sharing_rate": 0.5, "minimum_savings_rate": 0.2, "savings_cap": None},
        {"sharing_rate": 0.5, "minimum_savings_rate": 0.2, "savings_cap": 0.0},  # no savings paid at all
        {"sharing_rate": 0.0, "minimum_savings_rate": 0.2, "savings_cap": 0.1},
    ],
)
def test_msr_and_savings_cap_that_leave_the_sharing_rate_a_role_are_accepted(terms):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SharedSavings(500, **terms)


def test_mlr_whose_first_dollar_share_reaches_the_loss_cap_warns_naming_both():
    with pytest.warns(
        UserWarning, match="minimum_loss_rate=0.2 with loss_sharing_rate=0.5 reaches loss_cap=0.1"
    ):
        c = SharedSavings(500, 0.5, 0.01, minimum_loss_rate=0.2, loss_sharing_rate=0.5, loss_cap=0.1)
    assert c.two_sided


def test_mssp_basic_level_c_reaches_its_loss_cap_without_a_warning():
    # 30% of losses above a 3.9% MLR is 1.17% of the benchmark, above level C's 1% cap: the regulation's own terms
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = SharedSavings.mssp_basic(900.0, beneficiaries=5_000, level="C")
    assert c.loss_sharing_rate * c.minimum_loss_rate >= c.loss_cap


# -- arrangements: base payments ------------------------------------------------------------------


@pytest.mark.parametrize(
    "contracts, names",
    [
        (
            [FeeForService(), FeeForService()],
            ("contracts[0] (FeeForService)", "contracts[1] (FeeForService)"),
        ),
        (
            [FeeForService(), Capitation(pmpm=400.0)],
            ("contracts[0] (FeeForService)", "contracts[1] (Capitation)"),
        ),
        (
            [Capitation(pmpm=100.0, scope="professional"), SharedSavings(450.0, 0.5, 0.02), FeeForService()],
            ("contracts[0] (Capitation)", "contracts[2] (FeeForService)"),
        ),
        (
            [FeeForService(segments=["a", "b"]), Capitation(pmpm=400.0, segments=["b"])],
            ("contracts[0]", "contracts[1]", "['b']"),
        ),
        ([FeeForService(segments=["a"]), Capitation(pmpm=400.0)], ("contracts[0]", "contracts[1]", "['a']")),
    ],
)
def test_two_base_payments_for_the_same_members_are_refused_naming_them(contracts, names):
    with pytest.raises(ValueError, match="paid twice") as info:
        v.Arrangement(contracts)
    for name in names:
        assert name in str(info.value)


def test_base_payments_on_separate_segments_are_accepted():
    v.Arrangement([FeeForService(segments=["a"]), Capitation(pmpm=400.0, segments=["b"])])
    # a pool segment is outside the book that segments=None covers
    pool = (v.Segment("p2", 40, v.Lognormal(7.0, 1.0)),)
    v.Arrangement([FeeForService(), FeeForService(segments=["p2"])], pool=pool)


def test_an_arrangement_needs_at_least_one_contract():
    with pytest.raises(ValueError, match="contracts must hold at least one contract"):
        v.Arrangement([])
    with pytest.raises(ValueError, match="contracts must hold at least one contract"):
        v.simulate(BOOK, {"m": []}, n_scenarios=3, seed=1)


def test_an_arrangement_without_a_base_payment_is_accepted():
    # a contract that only reports or moves money (no one pays for care): legitimate, e.g. a probe
    arr = v.Arrangement([UserContract("probe", _zero)])
    ds = v.simulate(BOOK, {"m": arr}, n_scenarios=3, seed=1)
    assert np.isfinite(ds.net.values).all()


# -- arrangements: delivery ratio, efficiency, quality --------------------------------------------


@pytest.mark.parametrize("ratio", [0.0, -0.1, 2.5, 5.0, 85.0])
def test_delivery_ratio_outside_zero_to_two_is_refused(ratio):
    with pytest.raises(ValueError, match="delivery_ratio"):
        v.Arrangement([FeeForService()], delivery_ratio=ratio)


def test_delivery_ratio_above_one_warns_and_up_to_two_is_accepted():
    with pytest.warns(UserWarning, match="delivery_ratio=1.2 is above 1"):
        arr = v.Arrangement([FeeForService()], delivery_ratio=1.2)
    assert arr.delivery_ratio == 1.2
    with pytest.warns(UserWarning, match="delivery_ratio"):
        v.Arrangement([FeeForService()], delivery_ratio=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v.Arrangement([FeeForService()], delivery_ratio=1.0)
        v.Arrangement([FeeForService()], delivery_ratio=0.85)


def test_a_cost_increase_is_accepted_fixed_or_uncertain_alike():
    assert v.Efficiency(mean=-1.0).sample(3, np.random.default_rng(0)).tolist() == [-1.0] * 3
    e = v.Efficiency(mean=-0.05, sd=0.03).sample(100_000, np.random.default_rng(0))
    assert e.mean() == pytest.approx(-0.05, abs=1e-3)
    assert e.std() == pytest.approx(0.03, rel=0.02)
    assert -1.0 < e.min() and e.max() < 1.0
    ds = v.simulate(
        BOOK,
        {"m": v.Arrangement([FeeForService()], efficiency=v.Efficiency(-0.05, 0.03))},
        n_scenarios=5,
        seed=1,
    )
    assert np.isfinite(ds.net.values).all()


def test_a_positive_efficiency_keeps_its_beta_on_zero_to_one():
    e = v.Efficiency(0.05, 0.02).sample(10_000, np.random.default_rng(0))
    assert (e > 0.0).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mean": -1.5}, "mean must be at least -1"),
        ({"mean": -1e300}, "mean must be at least -1"),
        ({"mean": -1.0, "sd": 0.01}, "needs mean above -1"),
        ({"mean": -0.5, "sd": 0.9}, "sd must satisfy"),
        ({"mean": 0.05, "sd": 0.3}, "sd must satisfy"),
    ],
)
def test_efficiency_out_of_range_names_the_term(kwargs, match):
    with pytest.raises(ValueError, match=match):
        v.Efficiency(**kwargs)


def test_an_efficiency_below_minus_one_given_to_an_arrangement_names_efficiency():
    with pytest.raises(ValueError, match="efficiency.*mean must be at least -1"):
        v.Arrangement([FeeForService()], efficiency=-2.0)


@pytest.mark.parametrize("name", ["alpha", "beta"])
def test_quality_parameters_beyond_the_beta_sampler_are_refused(name):
    with pytest.raises(ValueError, match=f"Quality: {name} must be at most"):
        v.Quality(**{name: 1e308})


# -- summarize ----------------------------------------------------------------------------------


def test_summarize_capital_level_errors_name_capital_level():
    ds = v.simulate(BOOK, {"m": [FeeForService()]}, n_scenarios=20, seed=1)
    with pytest.raises(ValueError, match="^capital_level must be"):
        v.summarize(ds, capital_level=1.5)
    with pytest.raises(TypeError, match="^capital_level must be"):
        v.summarize(ds, capital_level=True)
    with pytest.raises(ValueError, match="^capital_level must be"):
        v.summarize(ds, capital_level=float("nan"))


# -- huge finite terms: refused at construction, naming the term -----------------------------------


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda x: Capitation(pmpm=x), "pmpm"),
        (lambda x: SpecificStopLoss(1e5, loading=x), "loading"),
        (lambda x: SpecificStopLoss(1e5, premium_pmpm=x), "premium_pmpm"),
        (lambda x: AggregateStopLoss(attachment_ratio=x), "attachment_ratio"),
        (lambda x: AggregateStopLoss(1.1, limit_ratio=x), "limit_ratio"),
        (lambda x: AggregateStopLoss(loading=x), "loading"),
        (lambda x: AggregateStopLoss(premium_pmpm=x), "premium_pmpm"),
        (lambda x: SharedSavings(x, 0.5, 0.02), "benchmark_pmpm"),
        (lambda x: RiskCorridor(x, [(0.0, float("inf"), 0.5)]), "benchmark_pmpm"),
        (lambda x: PayForPerformance(bonus_pmpm=x), "bonus_pmpm"),
        (lambda x: ManagementFee(x), "pmpm"),
        (lambda x: BundledPayment(x, 0.03, 0.2, 0.2, "book"), "target_price"),
        (lambda x: v.Arrangement([FeeForService()], premium_pmpm=x), "premium_pmpm"),
        (lambda x: v.Arrangement([FeeForService()], admin_pmpm=x), "admin_pmpm"),
        (lambda x: v.Arrangement([FeeForService()], care_management_pmpm=x), "care_management_pmpm"),
    ],
)
def test_terms_that_would_overflow_the_settlement_are_refused_naming_them(build, name):
    with pytest.raises(ValueError, match=f": {name} must be at most"):
        build(1e308)


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda x: Capitation(pmpm=x), "pmpm"),
        (lambda x: SpecificStopLoss(1e5, loading=x), "loading"),
        (lambda x: AggregateStopLoss(attachment_ratio=x), "attachment_ratio"),
        (lambda x: SharedSavings(500.0, x, 0.02), "sharing_rate"),
        (lambda x: BundledPayment(30_000.0, x, 0.2, 0.2, "book"), "discount"),
        (lambda x: v.Arrangement([FeeForService()], delivery_ratio=x), "delivery_ratio"),
    ],
)
@pytest.mark.parametrize("bad, exc", [(float("nan"), ValueError), (True, TypeError)])
def test_nan_and_bool_terms_are_refused_naming_them(build, name, bad, exc):
    with pytest.raises(exc, match=name):
        build(bad)


def test_terms_at_their_bounds_settle_to_finite_flows():
    arr = v.Arrangement(
        [
            Capitation(pmpm=1e7),
            SpecificStopLoss(1e5, loading=100.0),
            AggregateStopLoss(attachment_ratio=1e3, premium_pmpm=1e7),
        ],
        premium_pmpm=1e7,
    )
    ds = v.simulate(BOOK, {"m": arr}, n_scenarios=4, seed=1)
    assert np.isfinite(ds.net.values).all()


# -- pooled savings: errors name the argument that holds the failing term --------------------------


def _pool(segments=("book", "p2")):
    return PooledSavings(SharedSavings(600.0, 0.5, 0.01, segments=list(segments), target="enabler"))


def test_pass_through_share_out_of_range_names_share():
    with pytest.raises(ValueError, match="SavingsPassThrough: share must be a probability"):
        SavingsPassThrough(_pool(), share=1.5)


def test_pass_through_settlement_error_names_pooled():
    bad = SavingsPassThrough(_pool(segments=("p2",)), share=0.5)
    pool = (v.Segment("p2", 40, v.Lognormal(7.0, 1.0)),)
    arr = v.Arrangement([FeeForService(), bad], pool=pool)
    with pytest.raises(ValueError, match="SavingsPassThrough: pooled: PooledSavings: savings.segments"):
        v.simulate(BOOK, {"m": arr}, n_scenarios=3, seed=1)
