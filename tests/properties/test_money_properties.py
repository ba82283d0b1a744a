"""Money is conserved across parties whatever the contracts (hypothesis)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vbcsim as v
from vbcsim.contracts.bundled import BundledPayment
from vbcsim.contracts.capitation import Capitation
from vbcsim.contracts.fee_for_service import FeeForService
from vbcsim.contracts.mlr import MLRRebate
from vbcsim.contracts.pay_for_performance import PayForPerformance
from vbcsim.contracts.risk_corridor import RiskCorridor
from vbcsim.contracts.shared_savings import SharedSavings
from vbcsim.contracts.stop_loss import AggregateStopLoss, SpecificStopLoss

POP = v.Population(
    [
        v.Segment("members", 300, v.Hurdle(0.8, v.Lognormal.from_mean_cv(5_000.0, 2.5))),
        v.Segment("episodes", 40, v.Gamma.from_mean_cv(30_000.0, 0.6)),
    ]
)
PMPM = POP.expected_cost() / POP.members / 12

rate = st.floats(0.0, 1.0)
small_rate = st.floats(0.0, 0.2)


@st.composite
def base_payment(draw):
    if draw(st.booleans()):
        return FeeForService()
    if draw(st.booleans()):
        return Capitation(
            pmpm=draw(st.floats(100.0, 1_000.0)), scope=draw(st.sampled_from(["global", "professional", 0.5]))
        )
    return Capitation(percent_of_premium=draw(st.floats(0.5, 0.95)))


@st.composite
def overlay(draw):
    kind = draw(st.integers(0, 5))
    if kind == 0:
        two_sided = draw(st.booleans())
        r, msr = draw(rate), draw(small_rate)
        mlr, lsr = (draw(small_rate), draw(rate)) if two_sided else (None, None)
        # caps above what the thresholds earn from the first dollar: an MSR that reaches the
        # savings cap contradicts it (refused), an MLR that reaches the loss cap warns
        cap, loss_cap = draw(st.floats(0.0, 0.5)), draw(st.floats(0.0, 0.5))
        if 0.0 < cap <= r * msr:
            cap = r * msr + 0.01
        if two_sided and 0.0 < loss_cap <= lsr * mlr:
            loss_cap = lsr * mlr + 0.01
        return SharedSavings(
            benchmark_pmpm=PMPM * draw(st.floats(0.8, 1.2)),
            sharing_rate=r,
            minimum_savings_rate=msr,
            minimum_loss_rate=mlr,
            loss_sharing_rate=lsr,
            savings_cap=cap,
            loss_cap=loss_cap,
            quality_gate=draw(st.none() | st.floats(0.0, 1.0)),
            outlier_attachment=draw(st.none() | st.floats(20_000.0, 200_000.0)),
            first_dollar=draw(st.booleans()),
        )
    if kind == 1:
        return PayForPerformance(bonus_pmpm=draw(st.floats(0.0, 20.0)))
    if kind == 2:
        return SpecificStopLoss(attachment=draw(st.floats(10_000.0, 300_000.0)), coinsurance=draw(small_rate))
    if kind == 3:
        return AggregateStopLoss(
            attachment_ratio=draw(st.floats(1.0, 1.5)),
            limit_ratio=None,
            premium_pmpm=draw(st.floats(0.0, 30.0)),
        )
    if kind == 4:
        return RiskCorridor.reach_global(benchmark_pmpm=PMPM * draw(st.floats(0.8, 1.2)))
    return BundledPayment(
        target_price=draw(st.floats(20_000.0, 40_000.0)),
        discount=0.03,
        stop_loss=0.2,
        stop_gain=0.2,
        segment="episodes",
    )


mix = st.builds(lambda b, o: [b, *o], base_payment(), st.lists(overlay(), max_size=3))


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(a=mix, b=mix, efficiency=st.floats(0.0, 0.1), share=rate, seed=st.integers(0, 2**32))
def test_party_totals_do_not_depend_on_contracts(a, b, efficiency, share, seed):
    """Parties + outside care + rebates = premium − own delivery cost − admin − care management."""
    common = {
        "efficiency": efficiency,
        "admin_pmpm": 25.0,
        "care_management_pmpm": 3.0,
        "delivered_share": share,
    }
    ds = v.simulate(
        POP, {"a": v.Arrangement(a, **common), "b": v.Arrangement(b, **common)}, n_scenarios=30, seed=seed
    )
    totals = ds.net.sum("party")
    scale = float(ds.premium.max())
    np.testing.assert_allclose(totals.sel(model="a"), totals.sel(model="b"), rtol=0, atol=1e-9 * scale)
    # every base payment covers the whole book, so all outside care is bought, by someone
    np.testing.assert_allclose(
        ds.outside_care, (1.0 - share) * ds.medical_cost, rtol=1e-12, atol=1e-9 * scale
    )
    expected = (
        ds.premium
        - 0.85 * share * ds.medical_cost
        - (25.0 + 3.0) * 12 * POP.members
        - ds.outside_care
        - ds.rebate
    )
    np.testing.assert_allclose(totals, expected.transpose(*totals.dims), rtol=0, atol=1e-9 * scale)


@settings(deadline=None, max_examples=15)
@given(a=mix, minimum=st.sampled_from([0.8, 0.85]), seed=st.integers(0, 2**32))
def test_rebates_leave_the_system(a, minimum, seed):
    arr = v.Arrangement([*a, MLRRebate(minimum_ratio=minimum)], premium_pmpm=PMPM * 1.3)
    ds = v.simulate(POP, {"m": arr}, n_scenarios=30, seed=seed)
    net = ds.net.sel(model="m").sum("party")
    rebate = ds.rebate.sel(model="m")
    assert (rebate >= 0).all()
    expected = ds.premium.sel(model="m") - 0.85 * ds.medical_cost.sel(model="m") - rebate
    scale = float(ds.premium.max())
    np.testing.assert_allclose(net, expected, rtol=0, atol=1e-9 * scale)
