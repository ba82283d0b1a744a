"""Pools in the engine: segments simulated for one model's pooled contracts, outside the book of business."""

import numpy as np
import pytest

import vbcsim as v
from vbcsim.contracts import (
    FeeForService,
    JointVenture,
    ManagementFee,
    PooledSavings,
    SavingsPassThrough,
    SharedSavings,
)

ADULT = v.Hurdle(0.8, v.Lognormal.from_mean_cv(5_000.0, 2.0))
CHILD = v.Gamma.from_mean_cv(2_000.0, 1.5)
POP = v.Population([v.Segment("adults", 300, ADULT), v.Segment("kids", 100, CHILD)])
BOOK = ["adults", "kids"]
POOL = (v.Segment("p2/adults", 600, ADULT), v.Segment("p2/kids", 200, CHILD))
POOL_NAMES = ["p2/adults", "p2/kids"]
BOOK_MEMBERS = 400
POOL_MEMBERS = 1_200  # book + pool segments
N = 400


def expected_pmpm():
    return POP.expected_cost() / POP.members / 12.0


# the terms of pooled_contracts() as ref_pool_savings takes them
POOL_TERMS = dict(msr=0.01, mlr=0.01, rate=0.6, loss_rate=0.6, cap=0.10, loss_cap=0.05)


def pooled_contracts(benchmark_pmpm=None, outlier_attachment=None, pool=POOL):
    savings = SharedSavings(
        expected_pmpm() if benchmark_pmpm is None else benchmark_pmpm,
        sharing_rate=0.6,
        minimum_savings_rate=0.01,
        minimum_loss_rate=0.01,
        loss_sharing_rate=0.6,
        savings_cap=0.10,
        loss_cap=0.05,
        outlier_attachment=outlier_attachment,
        segments=tuple(BOOK) + tuple(s.name for s in pool),
        target="enabler",
    )
    pooled = PooledSavings(savings)
    return [
        FeeForService(),
        ManagementFee(3.0),
        pooled,
        SavingsPassThrough(pooled, share=0.6),
    ]


def third_party(pool=POOL, **kw):
    """A model-3-like arrangement: fee, pooled two-sided savings with the enabler, pass-through."""
    terms = dict(
        admin_pmpm=10.0,
        care_management_pmpm=5.0,
        care_management_party="enabler",
        efficiency=v.Efficiency(0.05, 0.02),
        pool=pool,
    )
    terms.update(kw)
    return v.Arrangement(pooled_contracts(pool=pool), **terms)


def plain():
    """A model without a pool: fee-for-service plus shared savings on the book."""
    return v.Arrangement(
        [FeeForService(), SharedSavings(expected_pmpm(), 0.5, 0.02)], efficiency=0.03, admin_pmpm=8.0
    )


# ---------------------------------------------------------------------------------------------
# the cube


def test_pool_segments_in_cost_and_members_with_pooled_coordinate():
    ds = v.simulate(POP, {"tp": third_party(), "plain": plain()}, n_scenarios=N, seed=11)
    assert list(ds.segment.values) == BOOK + POOL_NAMES
    np.testing.assert_array_equal(ds.pooled.values, [False, False, True, True])
    assert ds.pooled.dims == ("segment",)
    np.testing.assert_array_equal(ds.members.values, [300, 100, 600, 200])
    assert ds.cost.sizes == {"scenario": N, "segment": 4}
    assert (ds.cost.sel(segment=POOL_NAMES) > 0).all()
    # selecting the book by the coordinate
    assert list(ds.segment.where(~ds.pooled, drop=True).values) == BOOK


def test_no_pooled_coordinate_without_a_pool():
    ds = v.simulate(POP, {"plain": plain()}, n_scenarios=20, seed=1)
    assert "pooled" not in ds.coords
    assert list(ds.segment.values) == BOOK


def test_book_medical_cost_excludes_the_pool():
    # efficiency 0: the model's view of the cost is the baseline's (the same factor), so the book's
    # medical cost is the sum of the baseline cost over the book's segments
    arr = third_party(efficiency=0.0)
    ds = v.simulate(POP, {"tp": arr}, n_scenarios=N, seed=5)
    book = ds.cost.sel(segment=BOOK).sum("segment")
    everything = ds.cost.sum("segment")
    np.testing.assert_allclose(ds.medical_cost.sel(model="tp"), book, rtol=1e-12)
    assert (everything > book).all()
    # the premium is priced on the book only: expected book cost / 0.85
    assert ds.premium.sel(model="tp") == pytest.approx(POP.expected_cost() / 0.85, rel=1e-12)
    # the fee is paid for the book's members only
    np.testing.assert_allclose(
        ds.settlement.sel(model="tp", contract="management_fee"), 3.0 * 12 * BOOK_MEMBERS
    )


def test_a_pool_leaves_other_models_and_the_book_untouched():
    alone = v.simulate(POP, {"plain": plain()}, n_scenarios=N, seed=21)
    both = v.simulate(POP, {"plain": plain(), "tp": third_party()}, n_scenarios=N, seed=21)
    # the book's segments keep their indices (pool segments are appended after the population), and
    # the member draws are keyed by (seed, segment index, block), so the baseline is bitwise the same
    np.testing.assert_array_equal(alone.cost.values, both.cost.sel(segment=BOOK).values)
    # a model's view is factor × (1 − its efficiency, drawn from a stream keyed by its name) × the same
    # draws, its contracts default to the book's segments, and the quality score has its own stream:
    # so a model without a pool settles bitwise the same whether or not another model has one
    for var in ("net", "medical_cost", "rebate", "efficiency"):
        np.testing.assert_array_equal(
            alone[var].sel(model="plain").values, both[var].sel(model="plain").values
        )
    # (the contract coordinate is the union over models: compare the plain model's own contracts)
    own = list(alone.contract.values)
    np.testing.assert_array_equal(
        alone.settlement.sel(model="plain").values, both.settlement.sel(model="plain", contract=own).values
    )
    np.testing.assert_array_equal(alone.quality.values, both.quality.values)
    # What is *not* guaranteed: a pool segment's draws are keyed by its index among the simulated
    # segments, which depends on the other models' pools (the union is taken in model order).  A
    # pooled model's own results therefore change when a model listed before it adds another pool
    # segment (see test_pool_segment_draws_follow_their_position); only its book part is stable.


def test_pool_segment_draws_follow_their_position():
    other = v.Segment("q/adults", 50, ADULT)
    first = v.simulate(POP, {"tp": third_party()}, n_scenarios=50, seed=3)
    shifted = v.simulate(POP, {"x": third_party(pool=(other,)), "tp": third_party()}, n_scenarios=50, seed=3)
    assert list(shifted.segment.values) == BOOK + ["q/adults"] + POOL_NAMES
    np.testing.assert_array_equal(first.cost.sel(segment=BOOK), shifted.cost.sel(segment=BOOK))
    np.testing.assert_array_equal(first.medical_cost.sel(model="tp"), shifted.medical_cost.sel(model="tp"))
    # the p2 segments moved from indices 2, 3 to 3, 4: different draws (documented, not a promise)
    assert not np.array_equal(first.cost.sel(segment=POOL_NAMES), shifted.cost.sel(segment=POOL_NAMES))


def test_pool_name_clashing_with_the_population():
    clash = v.Arrangement([FeeForService()], pool=(v.Segment("adults", 600, ADULT),))
    with pytest.raises(
        ValueError, match=r"models\['tp'\]: pool segment 'adults' has the name of a population"
    ):
        v.simulate(POP, {"tp": clash}, n_scenarios=10, seed=1)


def test_different_pool_segments_of_one_name_are_rejected():
    a = third_party()
    b = third_party(pool=(v.Segment("p2/adults", 601, ADULT), POOL[1]))
    with pytest.raises(ValueError, match=r"models\['b'\]: pool segment 'p2/adults' differs"):
        v.simulate(POP, {"a": a, "b": b}, n_scenarios=10, seed=1)
    c = third_party(pool=(v.Segment("p2/adults", 600, CHILD), POOL[1]))
    with pytest.raises(ValueError, match="differs from another model's pool segment"):
        v.simulate(POP, {"a": a, "c": c}, n_scenarios=10, seed=1)


def test_identical_pool_segments_are_shared():
    a = third_party()
    b = third_party(pool=(v.Segment("p2/adults", 600, ADULT), v.Segment("p2/kids", 200, CHILD)))
    ds = v.simulate(POP, {"a": a, "b": b}, n_scenarios=N, seed=9)
    assert list(ds.segment.values) == BOOK + POOL_NAMES
    # both models settle on the same pool draws: with equal terms they agree except for their
    # own efficiency draws (keyed by model name), so compare with a fixed efficiency instead
    fixed_a = third_party(efficiency=0.04)
    fixed_b = third_party(pool=b.pool, efficiency=0.04)
    ds = v.simulate(POP, {"a": fixed_a, "b": fixed_b}, n_scenarios=N, seed=9)
    np.testing.assert_array_equal(ds.settlement.sel(model="a"), ds.settlement.sel(model="b"))
    np.testing.assert_array_equal(ds.net.sel(model="a"), ds.net.sel(model="b"))


def test_arrangement_pool_validation():
    assert v.Arrangement([FeeForService()], pool=POOL[0]).pool == (POOL[0],)
    assert v.Arrangement([FeeForService()]).pool == ()
    with pytest.raises(TypeError, match="pool must hold vbcsim.Segment objects"):
        v.Arrangement([FeeForService()], pool=["p2"])
    with pytest.raises(TypeError, match="pool must be a sequence of Segment"):
        v.Arrangement([FeeForService()], pool=3)
    with pytest.raises(ValueError, match=r"pool segment names must be unique, repeated: \['p2/adults'\]"):
        v.Arrangement([FeeForService()], pool=(POOL[0], POOL[0]))


# ---------------------------------------------------------------------------------------------
# conservation and a numpy reference


def test_conservation_per_scenario_with_a_pool():
    risk = v.ScenarioRisk(shock_probability=0.1, shock_size=0.2)
    jv = v.Arrangement(
        [FeeForService(), JointVenture(0.5, minimum_loss_ratio=0.85, credibility=False)],
        admin_pmpm=30.0,
        care_management_pmpm=6.0,
        care_management_party="payer",
        efficiency=v.Efficiency(0.05, 0.03),
    )
    models = {"tp": third_party(), "jv": jv, "plain": plain()}
    ds = v.simulate(POP, models, n_scenarios=N, seed=17, scenario_risk=risk)
    for name, arr in models.items():
        net = ds.net.sel(model=name).sum("party").values
        c_book = ds.medical_cost.sel(model=name).values
        admin = arr.admin_pmpm * 12 * BOOK_MEMBERS
        care = arr.care_management_pmpm * 12 * BOOK_MEMBERS
        expected = (
            float(ds.premium.sel(model=name)) - arr.delivery_ratio * c_book - admin - care
        ) - ds.rebate.sel(model=name).values
        scale = float(ds.premium.sel(model=name))
        np.testing.assert_allclose(net, expected, rtol=1e-9, atol=1e-9 * scale)
    # the joint venture pays rebates in some scenarios, the pooled model none
    assert (ds.rebate.sel(model="jv") > 0).any()
    np.testing.assert_array_equal(ds.rebate.sel(model="tp"), 0.0)
    # the enabler's result in the pooled model: fee + book part of the pool − pass-through − care management
    s = ds.settlement.sel(model="tp")
    enabler = (
        s.sel(contract="management_fee")
        + s.sel(contract="pooled_shared_savings")
        - s.sel(contract="savings_pass_through")
        - 5.0 * 12 * BOOK_MEMBERS
    )
    np.testing.assert_allclose(ds.net.sel(model="tp", party="enabler"), enabler, rtol=1e-12, atol=1e-6)


def ref_pool_savings(cost, excess, members, benchmark_pmpm, *, msr, mlr, rate, loss_rate, cap, loss_cap):
    """Two-sided first-dollar shared savings on the pool's totals (per scenario, plain numpy)."""
    b = benchmark_pmpm * 12.0 * members.sum()
    actual = cost.sum(axis=1) - (0.0 if excess is None else excess.sum(axis=1))
    s = b - actual
    out = np.zeros(len(s))
    save = (s > 0) & (s / b >= msr)
    out[save] = np.minimum(rate * s[save], cap * b)
    lose = (s < 0) & (-s / b >= mlr)
    out[lose] = -np.minimum(loss_rate * -s[lose], loss_cap * b)
    return out


@pytest.mark.parametrize("outlier", [None, 40_000.0])
def test_pooled_settlement_matches_a_numpy_reference(outlier):
    # Efficiency 0: the model's view of every segment is the baseline factor × the same draws, so the
    # pool's cost (and its excess over an attachment also requested in `attachments`) is what the cube's
    # baseline `cost` (and `excess`) hold.  The engine exposes the model's own cost only for the book.
    arr = v.Arrangement(pooled_contracts(outlier_attachment=outlier), pool=POOL)
    ds = v.simulate(
        POP,
        {"tp": arr},
        n_scenarios=N,
        seed=23,
        attachments=[] if outlier is None else [outlier],
        scenario_risk=v.ScenarioRisk(shock_probability=0.1, shock_size=0.2),
    )
    segs = BOOK + POOL_NAMES
    cost = ds.cost.sel(segment=segs).values
    excess = None if outlier is None else ds.excess.sel(segment=segs, attachment=outlier).values
    members = ds.members.sel(segment=segs).values
    assert members.sum() == POOL_MEMBERS
    pool_amount = ref_pool_savings(
        cost,
        excess,
        members,
        expected_pmpm(),
        **POOL_TERMS,
    )
    book_amount = BOOK_MEMBERS / POOL_MEMBERS * pool_amount
    got = ds.settlement.sel(model="tp", contract="pooled_shared_savings").values
    np.testing.assert_allclose(got, book_amount, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(
        ds.settlement.sel(model="tp", contract="savings_pass_through").values,
        0.6 * np.maximum(book_amount, 0.0),
        rtol=1e-9,
        atol=1e-6,
    )
    # the test exercises savings, the corridor and losses (and the caps)
    assert (pool_amount > 0).any() and (pool_amount < 0).any() and (pool_amount == 0).any()


def test_pooled_settlement_with_uncertain_efficiency():
    # with an efficiency e per scenario, the pool's model-view cost is (1 − e) × the baseline cost (to
    # rounding: the engine multiplies factor × (1 − e) before the sum of draws)
    arr = v.Arrangement(pooled_contracts(), pool=POOL, efficiency=v.Efficiency(0.05, 0.02))
    ds = v.simulate(POP, {"tp": arr}, n_scenarios=N, seed=29)
    e = ds.efficiency.sel(model="tp").values
    segs = BOOK + POOL_NAMES
    cost = (1.0 - e)[:, None] * ds.cost.sel(segment=segs).values
    np.testing.assert_allclose(ds.medical_cost.sel(model="tp"), cost[:, :2].sum(axis=1), rtol=1e-12)
    pool_amount = ref_pool_savings(
        cost,
        None,
        ds.members.sel(segment=segs).values,
        expected_pmpm(),
        **POOL_TERMS,
    )
    got = ds.settlement.sel(model="tp", contract="pooled_shared_savings").values
    np.testing.assert_allclose(got, BOOK_MEMBERS / POOL_MEMBERS * pool_amount, rtol=1e-9, atol=1e-6)


def test_pooling_dampens_the_book_settlement():
    # the book's part of a pooled settlement varies less than the same contract on the book alone
    ds = v.simulate(
        POP,
        {
            "pooled": v.Arrangement(pooled_contracts(), pool=POOL),
            "alone": v.Arrangement(
                [
                    FeeForService(),
                    SharedSavings(
                        expected_pmpm(),
                        0.6,
                        0.01,
                        minimum_loss_rate=0.01,
                        loss_sharing_rate=0.6,
                        savings_cap=0.10,
                        loss_cap=0.05,
                        target="enabler",
                    ),
                ]
            ),
        },
        n_scenarios=N,
        seed=31,
    )
    pooled = ds.settlement.sel(model="pooled", contract="pooled_shared_savings")
    alone = ds.settlement.sel(model="alone", contract="shared_savings")
    assert float(pooled.std()) < float(alone.std())
