"""Bundled payments, MLR rebates and user kernels: hand-computed settlements, references, properties, errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numba import njit

import vbcsim as v
from vbcsim.contracts.bundled import (
    BPCI_ADVANCED_DISCOUNT,
    BPCI_ADVANCED_DISCOUNTS,
    BPCI_ADVANCED_STOP_GAIN,
    BPCI_ADVANCED_STOP_LOSS,
    BundledPayment,
)
from vbcsim.contracts.mlr import MLR_LARGE_GROUP, MLR_SMALL_GROUP, MLRRebate
from vbcsim.contracts.user import UserContract

from .helpers import check_transfer, make_ctx, reference_credibility

# ---------------------------------------------------------------------------------------------
# independent per-scenario references


def ref_bundled(c: BundledPayment, ctx):
    g = ctx.segments.index(c.segment)
    episodes = int(ctx.members[g])
    target = c.target_price * (1 - c.discount) * episodes
    out = []
    for s in range(ctx.n_scenarios):
        r = target - float(ctx.segment_cost[s][g])
        if c.stop_gain is not None and r > c.stop_gain * target:
            r = c.stop_gain * target
        if c.stop_loss is not None and r < -c.stop_loss * target:
            r = -c.stop_loss * target
        out.append(r)
    return out


def ref_mlr(c: MLRRebate, ctx):
    """The rebate with no earlier contract: incurred claims are the medical cost C (the fallback)."""
    members = int(sum(int(m) for m in ctx.members))
    adj = reference_credibility(members) if c.credibility else 0.0
    out = []
    for s in range(ctx.n_scenarios):
        if adj is None:
            out.append(0.0)
            continue
        premium = float(ctx.premium[s]) * (1.0 - c.taxes_and_fees_ratio)
        cost = sum(float(x) for x in ctx.segment_cost[s]) + c.quality_improvement_pmpm * 12 * members
        ratio = cost / premium
        out.append(max(c.minimum_ratio - (ratio + adj * c.deductible_factor), 0.0) * premium)
    return out


# ---------------------------------------------------------------------------------------------
# bundled payment

# segment "knee": 4 episodes; segment "other" is ignored by the contract
EPISODE_COST = [[30_000.0, 1e6], [38_000.0, 1e6], [40_000.0, 1e6], [60_000.0, 1e6]]


def knee_ctx():
    return make_ctx(EPISODE_COST, [4, 100], segments=("knee", "other"))


def test_bundled_payment_hand_computed_with_caps_binding():
    ctx = knee_ctx()
    c = BundledPayment(10_000.0, 0.03, 0.20, 0.20, "knee")
    # target 10,000 × 0.97 × 4 = 38,800; raw 8,800, 800, −1,200, −21,200; caps ±7,760
    assert c.target(ctx) == pytest.approx(38_800.0)
    expected = [7_760.0, 800.0, -1_200.0, -7_760.0]
    check_transfer(c.settle(ctx), "payer", "provider", expected)
    np.testing.assert_allclose(c.settle(ctx).amount, ref_bundled(c, ctx))
    assert c.name == "bundled_payment"


def test_bundled_payment_asymmetric_and_missing_caps():
    ctx = knee_ctx()
    c = BundledPayment(10_000.0, 0.0, 0.05, None, "knee")  # target 40,000: losses capped at 2,000
    check_transfer(c.settle(ctx), "payer", "provider", [10_000.0, 2_000.0, 0.0, -2_000.0])
    np.testing.assert_allclose(c.settle(ctx).amount, ref_bundled(c, ctx))
    c = BundledPayment(10_000.0, 0.0, 0.0, 0.0, "knee")  # no risk either way
    check_transfer(c.settle(ctx), "payer", "provider", [0.0, 0.0, 0.0, 0.0])
    c = BundledPayment(10_000.0, 0.0, None, None, "knee")
    check_transfer(c.settle(ctx), "payer", "provider", [10_000.0, 2_000.0, 0.0, -20_000.0])


def test_bundled_payment_presets():
    bpci = BundledPayment.bpci_advanced(10_000.0, "knee")
    assert (bpci.discount, bpci.stop_loss, bpci.stop_gain) == (0.03, 0.20, 0.20)
    assert (BPCI_ADVANCED_DISCOUNT, BPCI_ADVANCED_STOP_LOSS, BPCI_ADVANCED_STOP_GAIN) == (0.03, 0.20, 0.20)
    check_transfer(bpci.settle(knee_ctx()), "payer", "provider", [7_760.0, 800.0, -1_200.0, -7_760.0])

    py1 = BundledPayment.cjr(10_000.0, "knee", performance_year=1)
    assert (py1.discount, py1.stop_loss, py1.stop_gain) == (0.03, 0.0, 0.05)
    # target 38,800: gains capped at 1,940, no repayment in the first year
    check_transfer(py1.settle(knee_ctx()), "payer", "provider", [1_940.0, 800.0, 0.0, 0.0])
    py3 = BundledPayment.cjr(10_000.0, "knee", performance_year=3, quality="good")
    assert (py3.discount, py3.stop_loss, py3.stop_gain) == (0.02, 0.10, 0.10)
    # target 39,200: raw 9,200, 1,200, −800, −20,800; caps ±3,920
    check_transfer(py3.settle(knee_ctx()), "payer", "provider", [3_920.0, 1_200.0, -800.0, -3_920.0])
    rural = BundledPayment.cjr(10_000.0, "knee", performance_year=2, quality="excellent", rural=True)
    assert (rural.discount, rural.stop_loss, rural.stop_gain) == (0.015, 0.03, 0.05)
    py5 = BundledPayment.cjr(10_000.0, "knee", performance_year=5, quality="below_acceptable")
    assert (py5.stop_loss, py5.stop_gain) == (0.20, 0.0)
    assert BundledPayment.cjr(10_000.0, "knee", performance_year=8).stop_loss == 0.20


def test_bpci_advanced_discount_by_episode_type_and_model_year():
    # Model Years 1-5: 3% for every episode; from Model Year 6: 2% medical, 3% surgical
    assert set(BPCI_ADVANCED_DISCOUNTS) == set(range(1, 9))
    for year in range(1, 6):
        assert BPCI_ADVANCED_DISCOUNTS[year] == {"medical": 0.03, "surgical": 0.03}
    for year in (6, 7, 8):
        assert BPCI_ADVANCED_DISCOUNTS[year] == {"medical": 0.02, "surgical": 0.03}
    medical = BundledPayment.bpci_advanced(10_000.0, "knee", episode_type="medical", model_year=6)
    assert (medical.discount, medical.stop_loss, medical.stop_gain) == (0.02, 0.20, 0.20)
    # target 10,000 × 0.98 × 4 = 39,200; raw 9,200, 1,200, −800, −20,800; caps ±7,840
    assert medical.target(knee_ctx()) == 10_000.0 * 0.98 * 4
    check_transfer(medical.settle(knee_ctx()), "payer", "provider", [7_840.0, 1_200.0, -800.0, -7_840.0])
    np.testing.assert_allclose(
        medical.settle(knee_ctx()).amount, ref_bundled(medical, knee_ctx()), rtol=1e-15
    )
    # surgical episodes keep 3% (target 38,800, as the preset without arguments)
    surgical = BundledPayment.bpci_advanced(10_000.0, "knee", episode_type="surgical", model_year=6)
    assert surgical == BundledPayment.bpci_advanced(10_000.0, "knee")
    check_transfer(surgical.settle(knee_ctx()), "payer", "provider", [7_760.0, 800.0, -1_200.0, -7_760.0])
    assert (
        BundledPayment.bpci_advanced(10_000.0, "knee", episode_type="medical", model_year=5).discount == 0.03
    )
    assert BundledPayment.bpci_advanced(10_000.0, "knee", model_year=4).discount == 0.03
    assert BundledPayment.bpci_advanced(10_000.0, "knee", episode_type="surgical").discount == 0.03


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"episode_type": "medical"}, ValueError, "model_year"),  # 3% or 2% depends on the year
        ({"model_year": 6}, ValueError, "episode_type"),
        ({"episode_type": "outpatient", "model_year": 6}, ValueError, "episode_type"),
        ({"episode_type": 1, "model_year": 6}, TypeError, "episode_type"),
        ({"episode_type": "medical", "model_year": 9}, ValueError, "model_year"),
        ({"episode_type": "medical", "model_year": 0}, ValueError, "model_year"),
        ({"episode_type": "medical", "model_year": 6.0}, TypeError, "model_year"),
        ({"episode_type": "medical", "model_year": True}, TypeError, "model_year"),
    ],
)
def test_bpci_advanced_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        BundledPayment.bpci_advanced(10_000.0, "knee", **kwargs)


def test_bundled_payment_unknown_segment_is_named():
    with pytest.raises(ValueError, match="unknown segment 'hip'"):
        BundledPayment.bpci_advanced(10_000.0, "hip").settle(knee_ctx())


# ---------------------------------------------------------------------------------------------
# MLR rebate


def test_mlr_rebate_below_and_above_the_minimum():
    # 75,000 members: fully credible, no credibility adjustment (45 CFR 158.230(c)(1)); no earlier
    # contract, so the incurred claims are the medical cost C.  (The old test used 10 members: under
    # 45 CFR 158.230(d) that book is non-credible and owes no rebate, see below.)
    cost = [[70_000.0], [85_000.0], [90_000.0], [80_000.0]]
    ctx = make_ctx(cost, [75_000], premium=100_000.0)
    c = MLRRebate()
    assert c.minimum_ratio == MLR_LARGE_GROUP == 0.85 and c.name == "mlr_rebate"
    st_ = c.settle(ctx)
    # MLR 70%: rebate 15% of premium; at or above 85% nothing
    np.testing.assert_allclose(st_.amount, [15_000.0, 0.0, 0.0, 5_000.0])
    np.testing.assert_allclose(st_.external, [15_000.0, 0.0, 0.0, 5_000.0])
    assert set(st_.flows) == {"payer"}
    np.testing.assert_allclose(st_.flows["payer"], [-15_000.0, 0.0, 0.0, -5_000.0])
    np.testing.assert_allclose(st_.amount, ref_mlr(c, ctx))
    small = MLRRebate.for_market("small_group", insurer="provider")
    assert small.minimum_ratio == MLR_SMALL_GROUP == 0.80
    st_ = small.settle(ctx)
    np.testing.assert_allclose(st_.amount, [10_000.0, 0.0, 0.0, 0.0])
    assert set(st_.flows) == {"provider"}
    np.testing.assert_allclose(st_.flows["provider"], -st_.external)
    np.testing.assert_allclose(st_.amount, ref_mlr(small, ctx))
    assert MLRRebate.for_market("individual").minimum_ratio == 0.80
    # 10 members: non-credible, no rebate; without the credibility rules the old numbers
    tiny = make_ctx(cost, [10], premium=100_000.0)
    np.testing.assert_array_equal(c.settle(tiny).external, 0.0)
    np.testing.assert_allclose(MLRRebate(credibility=False).rebate(tiny), [15_000.0, 0.0, 0.0, 5_000.0])
    assert MLRRebate.for_market("small_group", credibility=False).credibility is False


# ---------------------------------------------------------------------------------------------
# user kernels


@njit(cache=False)
def keep_savings(medical_cost, excess, quality, premium, members, params):
    """The provider keeps params[1] of the savings below params[0] per member per month."""
    target = params[0] * 12.0 * members
    out = np.empty_like(medical_cost)
    for s in range(medical_cost.shape[0]):
        out[s] = params[1] * max(target - medical_cost[s], 0.0)
    return out


@njit(cache=False)
def quality_weighted_excess(medical_cost, excess, quality, premium, members, params):
    """Pays quality × (excess at the first attachment − excess at the second) + params[0] × premium."""
    return quality * (excess[:, 0] - excess[:, 1]) + params[0] * premium


def test_user_kernel_numba_hand_computed():
    # 10 members: target 450 × 12 × 10 = 54,000
    ctx = make_ctx([[40_000.0], [54_000.0], [70_000.0]], [10])
    c = UserContract("savings_bonus", keep_savings, params=(450.0, 0.10))
    assert c.name == "savings_bonus"
    assert c.needs() == v.contracts.Needs()
    check_transfer(c.settle(ctx), "payer", "provider", [1_400.0, 0.0, 0.0])


def test_user_kernel_reads_excess_quality_premium_and_segments():
    excess = {1_000.0: [[500.0, 100.0], [2_000.0, 0.0]], 5_000.0: [[0.0, 50.0], [800.0, 0.0]]}
    ctx = make_ctx(
        [[9_000.0, 1_000.0], [20_000.0, 0.0]],
        [3, 2],
        excess=excess,
        quality=[0.5, 1.0],
        premium=[100.0, 200.0],
    )
    c = UserContract(
        "qx",
        quality_weighted_excess,
        attachments=(1_000, 5_000),
        needs_quality=True,
        params=[0.1],
        source="reinsurer",
        target="enabler",
    )
    assert c.needs() == v.contracts.Needs(attachments=(1_000.0, 5_000.0), quality=True)
    # scenario 0: 0.5 × (600 − 50) + 10 = 285; scenario 1: 1.0 × (2000 − 800) + 20 = 1220
    check_transfer(c.settle(ctx), "reinsurer", "enabler", [285.0, 1_220.0])
    on_a = UserContract(
        "qa",
        quality_weighted_excess,
        attachments=(1_000, 5_000),
        needs_quality=True,
        params=[0.0],
        segments=["a"],
    )
    check_transfer(on_a.settle(ctx), "payer", "provider", [250.0, 1_200.0])


def test_user_kernel_plain_python_and_inputs():
    seen = {}

    def flat_fee(medical_cost, excess, quality, premium, members, params):
        seen.update(cost=medical_cost, excess=excess, quality=quality, premium=premium, members=members)
        return [params[0] * members] * len(medical_cost)

    ctx = make_ctx([[1.0, 2.0], [3.0, 4.0]], [3, 4], premium=50.0)
    c = UserContract("fee", flat_fee, params=(2.5,))
    check_transfer(c.settle(ctx), "payer", "provider", [17.5, 17.5])
    np.testing.assert_array_equal(seen["cost"], [3.0, 7.0])
    assert seen["excess"].shape == (2, 0) and seen["excess"].dtype == np.float64
    np.testing.assert_array_equal(seen["quality"], [0.0, 0.0])
    np.testing.assert_array_equal(seen["premium"], [50.0, 50.0])
    assert seen["members"] == 7 and isinstance(seen["members"], int)


@njit(cache=False)
def wrong_shape(medical_cost, excess, quality, premium, members, params):
    return np.zeros(medical_cost.shape[0] + 1)


def test_user_kernel_bad_output_is_named():
    ctx = make_ctx([[1.0], [2.0]], [1])
    with pytest.raises(ValueError, match=r"UserContract 'bad': kernel must return an array of shape \(2,\)"):
        UserContract("bad", wrong_shape).settle(ctx)
    with pytest.raises(ValueError, match="kernel returned 1 non-finite"):
        UserContract("nan", lambda c, *a: np.where(c > 1.5, np.nan, 0.0)).settle(ctx)
    with pytest.raises(TypeError, match="kernel must return a float array"):
        UserContract("text", lambda *a: "oops").settle(ctx)
    with pytest.raises(RuntimeError, match="kernel raised ZeroDivisionError"):
        UserContract("boom", lambda *a: 1 / 0).settle(ctx)
    with pytest.raises(ValueError, match="needs_quality is set but the context has no quality"):
        UserContract("q", keep_savings, needs_quality=True).settle(ctx)
    with pytest.raises(ValueError, match="no excess at attachment 100"):
        UserContract("x", keep_savings, attachments=[100.0]).settle(ctx)


# ---------------------------------------------------------------------------------------------
# properties

money = st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def contexts(draw):
    n_scen = draw(st.integers(1, 12))
    cost = draw(hnp.arrays(float, (n_scen, 2), elements=money))
    members = draw(hnp.arrays(np.int64, 2, elements=st.integers(1, 500)))
    premium = draw(hnp.arrays(float, n_scen, elements=st.floats(1.0, 2e6)))
    excess = draw(hnp.arrays(float, (n_scen, 2), elements=money))
    quality = draw(hnp.arrays(float, n_scen, elements=st.floats(0.0, 1.0)))
    return make_ctx(cost, members, excess={250.0: excess}, premium=premium, quality=quality)


caps = st.one_of(st.none(), st.floats(0.0, 1.0))
contracts_under_test = st.one_of(
    st.builds(
        BundledPayment, st.floats(1.0, 1e5), st.floats(0.0, 0.5), caps, caps, st.sampled_from(["a", "b"])
    ),
    st.builds(
        MLRRebate,
        st.floats(0.5, 1.0),
        st.sampled_from(["payer", "provider", "enabler"]),
        taxes_and_fees_ratio=st.floats(0.0, 0.1),
        quality_improvement_pmpm=st.floats(0.0, 10.0),
        credibility=st.booleans(),
    ),
    st.builds(
        UserContract,
        st.just("savings"),
        st.just(keep_savings),
        params=st.tuples(st.floats(0.0, 1e3), st.floats(0.0, 1.0)),
        source=st.just("enabler"),
    ),
    st.builds(
        UserContract,
        st.just("qx"),
        st.just(quality_weighted_excess),
        attachments=st.just((250.0, 250.0)),
        needs_quality=st.just(True),
        params=st.tuples(st.floats(-1.0, 1.0)),
    ),
)


@settings(deadline=None, max_examples=150)
@given(ctx=contexts(), contract=contracts_under_test)
def test_flows_sum_to_minus_external(ctx, contract):
    st_ = contract.settle(ctx)
    assert st_.amount.shape == (ctx.n_scenarios,)
    total = sum(st_.flows.values())
    external = np.zeros(ctx.n_scenarios) if st_.external is None else st_.external
    np.testing.assert_allclose(total, -external, rtol=1e-12, atol=1e-6)
    if isinstance(contract, MLRRebate):
        assert np.all(st_.external >= 0)
        np.testing.assert_allclose(st_.amount, ref_mlr(contract, ctx), rtol=1e-9, atol=1e-6)
    else:
        assert st_.external is None
    if isinstance(contract, BundledPayment):
        np.testing.assert_allclose(st_.amount, ref_bundled(contract, ctx), rtol=1e-9, atol=1e-6)
        target = contract.target(ctx)
        if contract.stop_gain is not None:
            assert np.all(st_.amount <= contract.stop_gain * target * (1 + 1e-12))
        if contract.stop_loss is not None:
            assert np.all(st_.amount >= -contract.stop_loss * target * (1 + 1e-12))


@settings(deadline=None, max_examples=100)
@given(ctx=contexts(), low=st.floats(0.5, 1.0), high=st.floats(0.5, 1.0))
def test_mlr_rebate_rises_with_the_minimum(ctx, low, high):
    low, high = sorted((low, high))
    assert np.all(MLRRebate(low).settle(ctx).external <= MLRRebate(high).settle(ctx).external)


# ---------------------------------------------------------------------------------------------
# argument validation

NAN = float("nan")

BAD = [
    (
        lambda: BundledPayment(0.0, 0.03, 0.2, 0.2, "knee"),
        ValueError,
        "BundledPayment: target_price must be positive",
    ),
    (lambda: BundledPayment(NAN, 0.03, 0.2, 0.2, "knee"), ValueError, "target_price must be finite"),
    (lambda: BundledPayment(1e4, -0.03, 0.2, 0.2, "knee"), ValueError, "discount must be a probability"),
    (
        lambda: BundledPayment(1e4, 1.0, 0.2, 0.2, "knee"),
        ValueError,
        "discount must be a probability in \\[0, 1\\)",
    ),
    (lambda: BundledPayment(1e4, 0.03, -0.2, 0.2, "knee"), ValueError, "stop_loss must be non-negative"),
    (lambda: BundledPayment(1e4, 0.03, 0.2, -0.2, "knee"), ValueError, "stop_gain must be non-negative"),
    (lambda: BundledPayment(1e4, 0.03, NAN, 0.2, "knee"), ValueError, "stop_loss must be finite"),
    (lambda: BundledPayment(1e4, 0.03, 0.2, 0.2, ""), TypeError, "segment must be a non-empty segment name"),
    (lambda: BundledPayment(1e4, 0.03, 0.2, 0.2, ["knee"]), TypeError, "segment must be a non-empty"),
    (
        lambda: BundledPayment.cjr(1e4, "knee", performance_year=9),
        ValueError,
        "performance_year must be 1 to 8",
    ),
    (lambda: BundledPayment.cjr(1e4, "knee", quality="great"), ValueError, "quality must be one of"),
    (lambda: BundledPayment.cjr(1e4, "knee", rural="no"), TypeError, "rural must be True or False"),
    (lambda: MLRRebate(0.0), ValueError, "MLRRebate: minimum_ratio must be a probability in \\(0, 1\\]"),
    (lambda: MLRRebate(1.2), ValueError, "minimum_ratio must be a probability"),
    (lambda: MLRRebate(NAN), ValueError, "minimum_ratio must be finite"),
    (lambda: MLRRebate(insurer="members"), ValueError, "MLRRebate: insurer must be one of payer"),
    (lambda: MLRRebate.for_market("medicare"), ValueError, "market must be one of"),
    (
        lambda: MLRRebate(taxes_and_fees_ratio=1.0),
        ValueError,
        "MLRRebate: taxes_and_fees_ratio must be a probability in \\[0, 1\\)",
    ),
    (lambda: MLRRebate(taxes_and_fees_ratio=NAN), ValueError, "taxes_and_fees_ratio must be finite"),
    (
        lambda: MLRRebate(quality_improvement_pmpm=-1.0),
        ValueError,
        "quality_improvement_pmpm must be non-negative",
    ),
    (lambda: MLRRebate(quality_improvement_pmpm=1e8), ValueError, "quality_improvement_pmpm must be at most"),
    (lambda: MLRRebate(credibility="yes"), TypeError, "MLRRebate: credibility must be True or False"),
    (lambda: MLRRebate(life_years=-1.0), ValueError, "life_years must be non-negative"),
    (lambda: MLRRebate(life_years="many"), TypeError, "life_years must be a real number"),
    (lambda: MLRRebate(deductible_factor=0.0), ValueError, "deductible_factor must be positive"),
    (
        lambda: MLRRebate(reinsurance="gross"),
        ValueError,
        "MLRRebate: reinsurance must be one of 'direct', 'net'",
    ),
    (lambda: MLRRebate(reinsurance=None), ValueError, "reinsurance must be one of"),
    (lambda: UserContract("", keep_savings), TypeError, "UserContract: name must be a non-empty string"),
    (lambda: UserContract(None, keep_savings), TypeError, "name must be a non-empty string"),
    (lambda: UserContract("x", 5), TypeError, "UserContract 'x': kernel must be a callable"),
    (
        lambda: UserContract("x", keep_savings, attachments=(0.0,)),
        ValueError,
        "attachments\\[0\\] must be positive",
    ),
    (
        lambda: UserContract("x", keep_savings, attachments=(NAN,)),
        ValueError,
        "attachments\\[0\\] must be finite",
    ),
    (
        lambda: UserContract("x", keep_savings, params=("a",)),
        TypeError,
        "params\\[0\\] must be a real number",
    ),
    (lambda: UserContract("x", keep_savings, params=(1.0, NAN)), ValueError, "params\\[1\\] must be finite"),
    (lambda: UserContract("x", keep_savings, params=3.0), TypeError, "params must be a sequence"),
    (lambda: UserContract("x", keep_savings, source="members"), ValueError, "source must be one of"),
    (lambda: UserContract("x", keep_savings, target="payer"), ValueError, "source and target must differ"),
    (
        lambda: UserContract("x", keep_savings, needs_quality="yes"),
        TypeError,
        "needs_quality must be True or False",
    ),
    (lambda: UserContract("x", keep_savings, segments=[""]), TypeError, "segments must be non-empty strings"),
]


@pytest.mark.parametrize("make, exc, match", BAD)
def test_bad_arguments_are_named(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_user_contract_is_frozen_and_named():
    c = UserContract("bonus", keep_savings, params=np.array([1.0, 2.0]))
    assert c.params == (1.0, 2.0)
    with pytest.raises(AttributeError):
        c.name = "other"
    assert c == UserContract("bonus", keep_savings, params=(1, 2))
    assert hash(c) == hash(UserContract("bonus", keep_savings, params=(1, 2)))


# ---------------------------------------------------------------------------------------------
# in the engine


def test_bundle_rebate_and_user_kernel_in_simulate():
    cost = v.Gamma.from_mean_cv(20_000.0, 0.5)
    pop = v.Population(
        [v.Segment("members", 300, v.Gamma.from_mean_cv(5_000.0, 2.0)), v.Segment("knee", 40, cost)]
    )

    @njit(cache=False)
    def pay_all(medical_cost, excess, quality, premium, members, params):
        return medical_cost.copy()

    arr = v.Arrangement(
        [
            UserContract("ffs", pay_all),
            BundledPayment.bpci_advanced(20_000.0, "knee"),
            MLRRebate(0.95, credibility=False),
        ],
        premium_pmpm=650.0,
    )
    ds = v.simulate(pop, {"m": arr}, n_scenarios=200, seed=5)
    c = ds.medical_cost.sel(model="m").values
    np.testing.assert_allclose(ds.settlement.sel(model="m", contract="ffs"), c)
    knee = ds.cost.sel(segment="knee").values
    target = 20_000.0 * 0.97 * 40
    np.testing.assert_allclose(
        ds.settlement.sel(model="m", contract="bundled_payment"),
        np.clip(target - knee, -0.2 * target, 0.2 * target),
    )
    premium = 650.0 * 12 * 340
    # the insurer's incurred claims: the kernel's base payment C plus the bundle's reconciliation
    # (a bonus, or a repayment that reduces them); the old rule used C alone.  340 members would
    # be non-credible (no rebate), so the credibility rules are off here.
    bundle = ds.settlement.sel(model="m", contract="bundled_payment").values
    rebate = np.maximum(0.95 * premium - (c + bundle), 0.0)
    np.testing.assert_allclose(ds.rebate.sel(model="m"), rebate, rtol=1e-12, atol=1e-6)
    assert rebate.max() > 0
    # conservation: the parties' results add up to premium − delivery cost − rebates
    total = ds.net.sel(model="m").sum("party").values
    np.testing.assert_allclose(total, premium - 0.85 * c - rebate, rtol=1e-9)
    assert math.isclose(float(ds.premium.sel(model="m")), premium)
