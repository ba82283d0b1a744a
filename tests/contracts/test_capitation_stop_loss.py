"""Capitation, specific and aggregate stop-loss: hand-computed settlements, references, properties, errors."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import vbcsim as v
from vbcsim.contracts.capitation import PROFESSIONAL_SHARE, Capitation
from vbcsim.contracts.stop_loss import AggregateStopLoss, SpecificStopLoss

from .helpers import check_transfer, make_ctx

# two segments, a (10 members) and b (5 members), three scenarios
COST = [[6_000.0, 4_000.0], [12_000.0, 8_000.0], [20_000.0, 10_000.0]]  # C = 10k, 20k, 30k
MEMBERS = [10, 5]
PREMIUM = [20_000.0, 25_000.0, 30_000.0]
EXCESS_1000 = [[500.0, 0.0], [3_000.0, 1_000.0], [7_000.0, 2_500.0]]  # sums 500, 4000, 9500
EXCESS_2000 = [[0.0, 0.0], [1_500.0, 400.0], [4_000.0, 1_500.0]]  # sums 0, 1900, 5500


def ctx_default(**kw):
    args = dict(
        excess={1_000.0: EXCESS_1000, 2_000.0: EXCESS_2000},
        premium=PREMIUM,
        expected_cost=20_000.0,
        expected_excess={1_000.0: 3_000.0, 2_000.0: 1_600.0},
    )
    args.update(kw)
    return make_ctx(COST, MEMBERS, **args)


# ---------------------------------------------------------------------------------------------
# independent per-scenario references (plain Python, no numpy vectorisation)


def ref_capitation(c: Capitation, ctx):
    names = list(ctx.segments) if c.segments is None else list(c.segments)
    idx = [ctx.segments.index(n) for n in names]
    covered = sum(int(ctx.members[g]) for g in idx)
    total = sum(int(m) for m in ctx.members)
    share = {"global": 1.0, "professional": PROFESSIONAL_SHARE}.get(c.scope, c.scope)
    out = []
    for s in range(ctx.n_scenarios):
        cost = sum(float(ctx.segment_cost[s][g]) for g in idx)
        if c.pmpm is not None:
            cap = c.pmpm * 12 * covered
        else:
            cap = c.percent_of_premium * float(ctx.premium[s]) * covered / total
        out.append(cap + (1 - share) * cost)
    return out


def ref_specific(c: SpecificStopLoss, ctx):
    names = list(ctx.segments) if c.segments is None else list(c.segments)
    idx = [ctx.segments.index(n) for n in names]
    covered = sum(int(ctx.members[g]) for g in idx)
    if c.premium_pmpm is not None:
        premium = c.premium_pmpm * 12 * covered
    else:
        premium = (1 - c.coinsurance) * ctx.expected_excess[c.attachment] * (1 + c.loading)
    table = ctx.excess_by_attachment[c.attachment]
    return [
        (1 - c.coinsurance) * sum(float(table[s][g]) for g in idx) - premium for s in range(ctx.n_scenarios)
    ]


def ref_aggregate(c: AggregateStopLoss, ctx):
    att = c.attachment_ratio * ctx.expected_cost
    lim = math.inf if c.limit_ratio is None else c.limit_ratio * ctx.expected_cost
    if c.premium_pmpm is not None:
        premium = c.premium_pmpm * 12 * sum(int(m) for m in ctx.members)
    else:
        top = 0.0 if c.limit_ratio is None else ctx.aggregate_stop_loss(lim)
        premium = (ctx.aggregate_stop_loss(att) - top) * (1 - c.coinsurance) * (1 + c.loading)
    out = []
    for s in range(ctx.n_scenarios):
        total = sum(float(x) for x in ctx.segment_cost[s])
        out.append((1 - c.coinsurance) * min(max(total - att, 0.0), lim - att) - premium)
    return out


# ---------------------------------------------------------------------------------------------
# capitation


def test_global_capitation_pmpm_hand_computed():
    c = Capitation(pmpm=100.0)
    ctx = ctx_default()
    st_ = c.settle(ctx)
    # 100 × 12 × 15 members = 18,000 whatever the cost: the provider bears all of it
    check_transfer(st_, "payer", "provider", [18_000.0, 18_000.0, 18_000.0])
    np.testing.assert_allclose(st_.amount, ref_capitation(c, ctx))
    assert c.share == 1.0 and c.claims_party == "provider"
    assert c.name == "capitation"
    assert c.needs() == v.contracts.Needs()


def test_professional_capitation_percent_of_premium_hand_computed():
    c = Capitation(percent_of_premium=0.8, scope="professional")
    ctx = ctx_default()
    st_ = c.settle(ctx)
    assert PROFESSIONAL_SHARE == pytest.approx(0.337)
    # cap = 0.8 × premium; the 66.3% of cost out of scope is still paid fee for service
    expected = [16_000.0 + 0.663 * 10_000.0, 20_000.0 + 0.663 * 20_000.0, 24_000.0 + 0.663 * 30_000.0]
    assert expected == pytest.approx([22_630.0, 33_260.0, 43_890.0])
    check_transfer(st_, "payer", "provider", expected)
    np.testing.assert_allclose(st_.amount, ref_capitation(c, ctx))
    assert c.claims_party == "payer"


def test_partial_capitation_on_a_segment():
    ctx = ctx_default()
    c = Capitation(pmpm=50.0, scope=0.5, segments=["b"])
    # 50 × 12 × 5 = 3,000 plus half of segment b's cost (4k, 8k, 10k)
    check_transfer(c.settle(ctx), "payer", "provider", [5_000.0, 7_000.0, 8_000.0])
    np.testing.assert_allclose(c.settle(ctx).amount, ref_capitation(c, ctx))
    assert c.claims_party == "payer"  # only part of the population is capitated
    # percent of premium on a segment: the segment's pro-rata premium (5 of 15 members)
    c = Capitation(percent_of_premium=0.9, scope="global", segments="b")
    assert c.segments == ("b",)
    check_transfer(c.settle(ctx), "payer", "provider", [6_000.0, 7_500.0, 9_000.0])
    np.testing.assert_allclose(c.settle(ctx).amount, ref_capitation(c, ctx))


def test_capitation_unknown_segment_is_named():
    with pytest.raises(ValueError, match="unknown segment 'z'"):
        Capitation(pmpm=10.0, segments=["z"]).settle(ctx_default())


# ---------------------------------------------------------------------------------------------
# specific stop-loss


def test_specific_stop_loss_priced_at_expected_plus_loading():
    ctx = ctx_default()
    c = SpecificStopLoss(1_000.0)
    # recovery Σ (X − 1000)+ = 500, 4000, 9500; premium 3000 × 1.25 = 3750
    assert c.needs().attachments == (1_000.0,)
    np.testing.assert_allclose(c.recovery(ctx), [500.0, 4_000.0, 9_500.0])
    assert c.premium(ctx) == pytest.approx(3_750.0)
    check_transfer(c.settle(ctx), "reinsurer", "payer", [-3_250.0, 250.0, 5_750.0])
    np.testing.assert_allclose(c.settle(ctx).amount, ref_specific(c, ctx))


def test_specific_stop_loss_coinsurance_and_loading():
    ctx = ctx_default()
    c = SpecificStopLoss(2_000.0, coinsurance=0.2, loading=0.1)
    # recovery 0.8 × (0, 1900, 5500) = 0, 1520, 4400; premium 0.8 × 1600 × 1.1 = 1408
    np.testing.assert_allclose(c.recovery(ctx), [0.0, 1_520.0, 4_400.0])
    np.testing.assert_allclose(c.recovery(ctx), 0.8 * ctx.excess(2_000.0))
    assert c.premium(ctx) == pytest.approx(0.8 * 1_600.0 * 1.1)
    check_transfer(c.settle(ctx), "reinsurer", "payer", [-1_408.0, 112.0, 2_992.0])
    np.testing.assert_allclose(c.settle(ctx).amount, ref_specific(c, ctx))


def test_specific_stop_loss_fixed_premium_and_segments():
    ctx = ctx_default()
    c = SpecificStopLoss(1_000.0, premium_pmpm=2.0, segments=["a"])
    # recovery on segment a only: 500, 3000, 7000; premium 2 × 12 × 10 = 240
    check_transfer(c.settle(ctx), "reinsurer", "payer", [260.0, 2_760.0, 6_760.0])
    np.testing.assert_allclose(c.settle(ctx).amount, ref_specific(c, ctx))
    c = SpecificStopLoss(1_000.0, premium_pmpm=2.0)  # all 15 members: 360
    check_transfer(c.settle(ctx), "reinsurer", "payer", [140.0, 3_640.0, 9_140.0])


def test_specific_stop_loss_insured_is_the_claims_party_unless_given():
    c = SpecificStopLoss(1_000.0)
    under_capitation = ctx_default(claims_party="provider")
    check_transfer(c.settle(under_capitation), "reinsurer", "provider", [-3_250.0, 250.0, 5_750.0])
    assert c.insured_party(under_capitation) == "provider"
    assert c.insured_party(ctx_default()) == "payer"
    forced = SpecificStopLoss(1_000.0, insured="enabler")
    check_transfer(forced.settle(under_capitation), "reinsurer", "enabler", [-3_250.0, 250.0, 5_750.0])


def test_specific_stop_loss_missing_statistics_are_explained():
    ctx = make_ctx(COST, MEMBERS, excess={1_000.0: EXCESS_1000})
    with pytest.raises(ValueError, match="no excess at attachment 5000"):
        SpecificStopLoss(5_000.0).settle(ctx)
    with pytest.raises(ValueError, match="expected_excess has no entry .*premium_pmpm"):
        SpecificStopLoss(1_000.0).settle(ctx)


# ---------------------------------------------------------------------------------------------
# aggregate stop-loss


def oracle(d):
    """A made-up E[(C − d)+] for the tests: 0.1 × (40,000 − d)+."""
    return 0.1 * max(40_000.0 - d, 0.0)


def test_aggregate_stop_loss_layer_hand_computed():
    # expected cost 20,000: attachment 25,000, limit 30,000; C = 10k, 27k, 40k
    ctx = make_ctx(
        [[10_000.0], [27_000.0], [40_000.0]], [15], expected_cost=20_000.0, aggregate_stop_loss=oracle
    )
    c = AggregateStopLoss(1.25, limit_ratio=1.5, coinsurance=0.2)
    assert c.attachment(ctx) == 25_000.0 and c.limit(ctx) == 30_000.0
    np.testing.assert_allclose(c.recovery(ctx), [0.0, 1_600.0, 4_000.0])
    # premium (1500 − 1000) × 0.8 × 1.25 = 500
    assert c.premium(ctx) == pytest.approx(500.0)
    check_transfer(c.settle(ctx), "reinsurer", "payer", [-500.0, 1_100.0, 3_500.0])
    np.testing.assert_allclose(c.settle(ctx).amount, ref_aggregate(c, ctx))


def test_aggregate_stop_loss_unlimited_and_fixed_premium():
    ctx = make_ctx(
        [[10_000.0], [27_000.0], [40_000.0]], [15], expected_cost=20_000.0, aggregate_stop_loss=oracle
    )
    c = AggregateStopLoss()  # 125%, unlimited, premium 1500 × 1.25 = 1875
    assert c.attachment_ratio == 1.25 and c.limit(ctx) == math.inf
    check_transfer(c.settle(ctx), "reinsurer", "payer", [-1_875.0, 125.0, 13_125.0])
    np.testing.assert_allclose(c.settle(ctx).amount, ref_aggregate(c, ctx))
    c = AggregateStopLoss(1.25, premium_pmpm=3.0, insured="provider")  # 3 × 12 × 15 = 540
    check_transfer(c.settle(ctx), "reinsurer", "provider", [-540.0, 1_460.0, 14_460.0])
    np.testing.assert_allclose(c.settle(ctx).amount, ref_aggregate(c, ctx))


def test_aggregate_stop_loss_insured_follows_claims_party():
    ctx = make_ctx(
        [[30_000.0]], [15], expected_cost=20_000.0, claims_party="provider", aggregate_stop_loss=oracle
    )
    check_transfer(AggregateStopLoss(premium_pmpm=0.0).settle(ctx), "reinsurer", "provider", [5_000.0])


def test_aggregate_stop_loss_without_oracle_needs_a_premium():
    ctx = make_ctx([[30_000.0]], [15], expected_cost=20_000.0)
    with pytest.raises(ValueError, match=r"aggregate_stop_loss is None.*premium_pmpm"):
        AggregateStopLoss(1.25).settle(ctx)
    check_transfer(AggregateStopLoss(1.25, premium_pmpm=0.0).settle(ctx), "reinsurer", "payer", [5_000.0])


# ---------------------------------------------------------------------------------------------
# properties

finite = st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def contexts(draw):
    n_scen = draw(st.integers(1, 12))
    n_seg = draw(st.integers(1, 3))
    cost = draw(hnp.arrays(float, (n_scen, n_seg), elements=finite))
    members = draw(hnp.arrays(np.int64, n_seg, elements=st.integers(1, 1_000)))
    excess = draw(hnp.arrays(float, (n_scen, n_seg), elements=finite))
    premium = draw(hnp.arrays(float, n_scen, elements=st.floats(1.0, 1e7)))
    return make_ctx(
        cost,
        members,
        excess={500.0: excess},
        premium=premium,
        expected_cost=draw(st.floats(1.0, 1e7)),
        expected_excess={500.0: draw(finite)},
        claims_party=draw(st.sampled_from(["payer", "provider"])),
        aggregate_stop_loss=oracle,
    )


contracts_under_test = st.one_of(
    st.builds(Capitation, pmpm=st.floats(0.01, 1e3), scope=st.sampled_from(["global", "professional", 0.25])),
    st.builds(Capitation, percent_of_premium=st.floats(0.01, 1.0), scope=st.floats(0.01, 1.0)),
    st.builds(SpecificStopLoss, st.just(500.0), coinsurance=st.floats(0.0, 0.9), loading=st.floats(0.0, 1.0)),
    st.builds(SpecificStopLoss, st.just(500.0), premium_pmpm=st.floats(0.0, 50.0), segments=st.just(["a"])),
    st.builds(AggregateStopLoss, st.floats(0.5, 2.0), coinsurance=st.floats(0.0, 0.9)),
    st.builds(
        AggregateStopLoss, st.just(1.1), limit_ratio=st.floats(1.2, 3.0), premium_pmpm=st.floats(0.0, 9.0)
    ),
)


@settings(deadline=None, max_examples=150)
@given(ctx=contexts(), contract=contracts_under_test)
def test_flows_are_transfers_that_sum_to_zero(ctx, contract):
    st_ = contract.settle(ctx)
    assert st_.external is None
    total = sum(st_.flows.values())
    scale = 1.0 + np.abs(st_.amount)
    assert np.all(np.abs(total) <= 1e-12 * scale)
    assert st_.amount.shape == (ctx.n_scenarios,)
    assert np.all(np.isfinite(st_.amount))
    ref = {Capitation: ref_capitation, SpecificStopLoss: ref_specific, AggregateStopLoss: ref_aggregate}[
        type(contract)
    ]
    np.testing.assert_allclose(st_.amount, ref(contract, ctx), rtol=1e-9, atol=1e-6)


def risk_share(flow, cost, delivery_ratio):
    """The provider's share of cost variation: −Cov(provider result, C) / Var(C)."""
    result = flow - delivery_ratio * cost
    return -np.cov(result, cost)[0, 1] / np.var(cost, ddof=1)


@settings(deadline=None, max_examples=100)
@given(
    cost=hnp.arrays(float, 20, elements=st.floats(1_000.0, 1e6)),
    low=st.floats(0.01, 0.95),
    step=st.floats(0.05, 1.0),
    delivery_ratio=st.floats(0.5, 1.0),
    pmpm=st.floats(10.0, 1_000.0),
)
def test_provider_risk_share_rises_with_the_capitation_scope(cost, low, step, delivery_ratio, pmpm):
    assume(np.ptp(cost) > 100.0)
    high = low + (1.0 - low) * step
    ctx = make_ctx(cost[:, None], [100], delivery_ratio=delivery_ratio)
    shares = []
    for share in (low, high):
        flow = Capitation(pmpm=pmpm, scope=share).settle(ctx).flows["provider"]
        rs = risk_share(flow, cost, delivery_ratio)
        assert rs == pytest.approx(share + delivery_ratio - 1.0, abs=1e-6)
        shares.append(rs)
    assert shares[1] > shares[0]
    # global capitation: the provider carries the full variation of its delivery cost
    flow = Capitation(pmpm=pmpm).settle(ctx).flows["provider"]
    assert risk_share(flow, cost, delivery_ratio) == pytest.approx(delivery_ratio, abs=1e-6)


@settings(deadline=None, max_examples=100)
@given(
    x=hnp.arrays(float, (6, 2, 5), elements=st.floats(0.0, 5e5)),
    a1=st.floats(1.0, 2e5),
    gap=st.floats(0.0, 2e5),
    coinsurance=st.floats(0.0, 0.9),
)
def test_specific_recovery_is_non_increasing_in_the_attachment(x, a1, gap, coinsurance):
    a2 = a1 + gap
    assume(a2 > 0)
    excess = {a: np.maximum(x - a, 0.0).sum(axis=2) for a in {a1, a2}}
    ctx = make_ctx(x.sum(axis=2), [5, 5], excess=excess)
    r1 = SpecificStopLoss(a1, coinsurance=coinsurance, premium_pmpm=0.0).settle(ctx).amount
    r2 = SpecificStopLoss(a2, coinsurance=coinsurance, premium_pmpm=0.0).settle(ctx).amount
    assert np.all(r2 <= r1)
    np.testing.assert_allclose(r1, (1 - coinsurance) * excess[a1].sum(axis=1), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# argument validation

NAN = float("nan")

BAD = [
    (lambda: Capitation(), ValueError, "exactly one of pmpm and percent_of_premium"),
    (
        lambda: Capitation(pmpm=10.0, percent_of_premium=0.8),
        ValueError,
        "exactly one of pmpm and percent_of_premium",
    ),
    (lambda: Capitation(pmpm=-10.0), ValueError, "Capitation: pmpm must be positive"),
    (lambda: Capitation(pmpm=NAN), ValueError, "Capitation: pmpm must be finite"),
    (lambda: Capitation(pmpm="10"), TypeError, "Capitation: pmpm must be a real number"),
    (lambda: Capitation(percent_of_premium=1.5), ValueError, "percent_of_premium must be a probability"),
    (lambda: Capitation(percent_of_premium=0.0), ValueError, "percent_of_premium must be a probability"),
    (lambda: Capitation(percent_of_premium=NAN), ValueError, "percent_of_premium must be finite"),
    (
        lambda: Capitation(pmpm=10.0, scope="dental"),
        ValueError,
        "scope must be one of 'global', 'professional'",
    ),
    (lambda: Capitation(pmpm=10.0, scope=0.0), ValueError, "scope must be a probability in \\(0, 1\\]"),
    (lambda: Capitation(pmpm=10.0, scope=1.2), ValueError, "scope must be a probability"),
    (lambda: Capitation(pmpm=10.0, scope=True), TypeError, "scope must be a real number"),
    (lambda: Capitation(pmpm=10.0, scope=None), TypeError, "scope must be a real number"),
    (lambda: Capitation(pmpm=10.0, segments=[]), ValueError, "segments must not be empty"),
    (lambda: Capitation(pmpm=10.0, segments=[3]), TypeError, "segments must be non-empty strings"),
    (lambda: Capitation(pmpm=10.0, segments=["a", "a"]), ValueError, "segments must not repeat"),
    (lambda: SpecificStopLoss(0.0), ValueError, "SpecificStopLoss: attachment must be positive"),
    (lambda: SpecificStopLoss(-5.0), ValueError, "attachment must be positive"),
    (lambda: SpecificStopLoss(NAN), ValueError, "attachment must be finite"),
    (lambda: SpecificStopLoss("1000"), TypeError, "attachment must be a real number"),
    (lambda: SpecificStopLoss(1e3, coinsurance=-0.1), ValueError, "coinsurance must be a probability"),
    (
        lambda: SpecificStopLoss(1e3, coinsurance=1.0),
        ValueError,
        "coinsurance must be a probability in \\[0, 1\\)",
    ),
    (lambda: SpecificStopLoss(1e3, premium_pmpm=-1.0), ValueError, "premium_pmpm must be non-negative"),
    (lambda: SpecificStopLoss(1e3, premium_pmpm=NAN), ValueError, "premium_pmpm must be finite"),
    (lambda: SpecificStopLoss(1e3, loading=-0.25), ValueError, "loading must be non-negative"),
    (lambda: SpecificStopLoss(1e3, insured="members"), ValueError, "insured must be one of payer, provider"),
    (lambda: SpecificStopLoss(1e3, insured="reinsurer"), ValueError, "insured must not be the reinsurer"),
    (lambda: SpecificStopLoss(1e3, segments=["a"]), ValueError, "segments=\\['a'\\] needs premium_pmpm"),
    (lambda: AggregateStopLoss(0.0), ValueError, "attachment_ratio must be positive"),
    (lambda: AggregateStopLoss(NAN), ValueError, "attachment_ratio must be finite"),
    (
        lambda: AggregateStopLoss(1.25, limit_ratio=1.2),
        ValueError,
        "limit_ratio must exceed attachment_ratio",
    ),
    (lambda: AggregateStopLoss(1.25, limit_ratio=-1.0), ValueError, "limit_ratio must be positive"),
    (lambda: AggregateStopLoss(coinsurance=NAN), ValueError, "coinsurance must be finite"),
    (lambda: AggregateStopLoss(premium_pmpm=-3.0), ValueError, "premium_pmpm must be non-negative"),
    (lambda: AggregateStopLoss(loading=-1.0), ValueError, "loading must be non-negative"),
    (lambda: AggregateStopLoss(insured="employer"), ValueError, "insured must be one of"),
]


@pytest.mark.parametrize("make, exc, match", BAD)
def test_bad_arguments_are_named(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_contracts_are_frozen_and_hashable():
    c = SpecificStopLoss(1_000, coinsurance=0)
    assert isinstance(c.attachment, float)
    with pytest.raises(AttributeError):
        c.attachment = 5.0
    assert hash(Capitation(pmpm=10.0)) == hash(Capitation(pmpm=10))
    assert Capitation(pmpm=10.0, segments=["a"]) == Capitation(pmpm=10.0, segments=("a",))


# ---------------------------------------------------------------------------------------------
# in the engine


def test_capitation_with_specific_stop_loss_in_simulate():
    """Global capitation makes the provider the insured of an unassigned specific stop-loss."""
    cost = v.Gamma.from_mean_cv(6_000.0, 2.0)
    pop = v.Population([v.Segment("a", 400, cost), v.Segment("b", 100, cost)])
    attachment = 20_000.0
    arr = v.Arrangement([Capitation(pmpm=550.0), SpecificStopLoss(attachment)], delivery_ratio=0.9)
    assert arr.claims_party == "provider"
    ds = v.simulate(pop, {"cap": arr}, n_scenarios=300, seed=11)
    cap = ds.settlement.sel(model="cap", contract="capitation").values
    ssl = ds.settlement.sel(model="cap", contract="specific_stop_loss").values
    np.testing.assert_allclose(cap, 550.0 * 12 * 500)
    expected_premium = 500 * cost.stop_loss(attachment) * 1.25
    net = ds.net.sel(model="cap")
    c = ds.medical_cost.sel(model="cap").values
    np.testing.assert_allclose(net.sel(party="reinsurer"), -ssl)
    np.testing.assert_allclose(net.sel(party="provider"), cap - 0.9 * c + ssl, rtol=1e-10)
    # the recovery is never negative, so the settlement is at least minus the premium
    assert np.all(ssl >= -expected_premium * (1 + 1e-9))
    assert np.any(ssl > -expected_premium)


def test_exact_premiums_match_simulated_recoveries():
    """Priced at expected recovery × 1.25, the mean recovery is premium / 1.25 (engine end to end)."""
    cost = v.Gamma.from_mean_cv(5_000.0, 2.0)
    pop = v.Population([v.Segment("a", 200, cost)])
    ssl = SpecificStopLoss(15_000.0, coinsurance=0.1)
    asl = AggregateStopLoss(1.05, limit_ratio=1.25, coinsurance=0.1, insured="payer")
    n_scen = 20_000
    ds = v.simulate(pop, {"m": [Capitation(pmpm=500.0), ssl, asl]}, n_scenarios=n_scen, seed=21)
    # specific: premium from the exact per-member stop-loss transform
    settlement = ds.settlement.sel(model="m", contract="specific_stop_loss").values
    premium = 200 * 0.9 * cost.stop_loss(15_000.0) * 1.25
    se = settlement.std(ddof=1) / math.sqrt(n_scen)
    assert abs(settlement.mean() + premium - premium / 1.25) < 4.5 * se  # false alarm about 1 in 150,000
    # aggregate: the recovery from the simulated totals, the premium from the FFT oracle
    total = ds.medical_cost.sel(model="m").values
    expected = pop.expected_cost()
    recovery = 0.9 * np.clip(total - 1.05 * expected, 0.0, 0.20 * expected)
    settlement = ds.settlement.sel(model="m", contract="aggregate_stop_loss").values
    premium = recovery - settlement
    np.testing.assert_allclose(premium, premium[0], rtol=1e-9)
    se = recovery.std(ddof=1) / math.sqrt(n_scen)
    assert abs(recovery.mean() - premium[0] / 1.25) < 4.5 * se
    net = ds.net.sel(model="m")
    np.testing.assert_allclose(
        net.sel(party="reinsurer"),
        -ds.settlement.sel(model="m", contract=["specific_stop_loss", "aggregate_stop_loss"]).sum("contract"),
    )
