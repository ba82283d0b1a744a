"""Who delivers the care: base payments with outside care, hand-computed, and in the engine."""

import dataclasses

import numpy as np
import pytest

import vbcsim as v
from vbcsim.contracts import Capitation, FeeForService, SpecificStopLoss

from .helpers import make_ctx

COST = [[600.0, 400.0], [1_500.0, 500.0]]  # two scenarios, segments a and b: C = 1,000 and 2,000


def _ctx(share, **kw):
    return dataclasses.replace(make_ctx(COST, [10, 5], premium=3_000.0, **kw), delivered_share=share)


def test_fee_for_service_pays_the_provider_only_for_the_care_it_delivers():
    st = FeeForService().settle(_ctx(0.25))
    np.testing.assert_array_equal(st.amount, [250.0, 500.0])
    np.testing.assert_array_equal(st.flows["payer"], [-1_000.0, -2_000.0])
    np.testing.assert_array_equal(st.flows["provider"], [250.0, 500.0])
    np.testing.assert_array_equal(st.outside_care, [750.0, 1_500.0])
    # a carve-out pays its own segments' outside care
    st = FeeForService(segments=["b"]).settle(_ctx(0.25))
    np.testing.assert_array_equal(st.outside_care, [300.0, 375.0])


def test_global_capitation_leaves_the_outside_care_with_the_provider():
    st = Capitation(pmpm=10.0).settle(_ctx(0.25))  # cap = 10 x 12 x 15 = 1,800
    np.testing.assert_array_equal(st.amount, [1_800.0, 1_800.0])
    np.testing.assert_array_equal(st.flows["payer"], [-1_800.0, -1_800.0])
    np.testing.assert_array_equal(st.flows["provider"], [1_800.0 - 750.0, 1_800.0 - 1_500.0])
    np.testing.assert_array_equal(st.outside_care, [750.0, 1_500.0])


def test_partial_scope_splits_outside_care_between_provider_and_payer():
    # scope 0.4: the provider bears 40% of C; 60% is paid fee for service by the payer
    st = Capitation(pmpm=10.0, scope=0.4).settle(_ctx(0.25))
    c = np.array([1_000.0, 2_000.0])
    to_provider = 1_800.0 + 0.25 * 0.6 * c  # cap + the delivered part of the out-of-scope care
    np.testing.assert_allclose(st.amount, to_provider, rtol=1e-15)
    np.testing.assert_allclose(st.flows["payer"], -(1_800.0 + 0.6 * c), rtol=1e-15)
    np.testing.assert_allclose(st.flows["provider"], to_provider - 0.75 * 0.4 * c, rtol=1e-15)
    np.testing.assert_allclose(st.outside_care, 0.75 * c, rtol=1e-15)


@pytest.mark.parametrize(
    "contract", [FeeForService(), Capitation(pmpm=10.0), Capitation(pmpm=10.0, scope=0.4)]
)
def test_all_care_delivered_is_the_old_settlement_bit_for_bit(contract):
    st = contract.settle(_ctx(1.0))
    np.testing.assert_array_equal(st.outside_care, 0.0)
    assert set(st.flows) == {"payer", "provider"}
    np.testing.assert_array_equal(st.flows["payer"], -st.flows["provider"])


def test_delivered_share_is_validated_naming_it():
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="delivered_share"):
            v.Arrangement([FeeForService()], delivered_share=bad)
    with pytest.raises(TypeError, match="delivered_share"):
        v.Arrangement([FeeForService()], delivered_share="half")
    with pytest.raises(ValueError, match="delivered_share"):
        v.partnership_models(risk_network={"delivered_share": 2.0})


def test_engine_results_by_hand():
    """Provider under FFS: (1 − d) s C; under global capitation: cap − d s C − (1 − s) C + stop-loss."""
    pop = v.Population([v.Segment("a", 300, v.Gamma(2.0, 3_000.0))])
    s, d = 0.4, 0.85
    models = {
        "ffs": v.Arrangement([FeeForService()], delivered_share=s, premium_pmpm=600.0),
        "cap": v.Arrangement(
            [Capitation(pmpm=480.0), SpecificStopLoss(30_000.0, premium_pmpm=2.0)],
            delivered_share=s,
            premium_pmpm=600.0,
        ),
    }
    ds = v.simulate(pop, models, n_scenarios=50, seed=4, attachments=[30_000.0])
    c = ds.medical_cost.sel(model="ffs").values
    np.testing.assert_allclose(ds.net.sel(model="ffs", party="provider"), (1 - d) * s * c, rtol=1e-12)
    np.testing.assert_allclose(ds.net.sel(model="ffs", party="payer"), 600.0 * 12 * 300 - c, rtol=1e-12)
    np.testing.assert_allclose(ds.outside_care.sel(model="ffs"), (1 - s) * c, rtol=1e-12)
    recovery = ds.excess.sel(attachment=30_000.0).sum("segment").values
    provider = 480.0 * 12 * 300 - d * s * c - (1 - s) * c + recovery - 2.0 * 12 * 300
    np.testing.assert_allclose(ds.net.sel(model="cap", party="provider"), provider, rtol=1e-12)
    # the risk share of the provider: 1 + s (d − 1) under global capitation, (d − 1) s under FFS
    summary = v.summarize(ds)
    assert float(summary.risk_share.sel(model="ffs", party="provider")) == pytest.approx(
        (d - 1) * s, abs=1e-12
    )
