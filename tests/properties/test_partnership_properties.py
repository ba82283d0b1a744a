"""Properties of the five partnership models over random terms: money is conserved, terms act monotonically."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import vbcsim
from vbcsim.partnerships import MODEL_NAMES

PANEL = vbcsim.defaults.provider_panel(600)
N = 150

rates = st.floats(0.0, 1.0)
small = st.floats(0.0, 0.05)

custom = st.fixed_dictionaries(
    {
        "sharing_rate": rates,
        "loss_sharing_rate": rates,
        "minimum_savings_rate": small,
        "minimum_loss_rate": small,
        "savings_cap": st.one_of(st.none(), st.floats(0.0, 0.2)),
        "loss_cap": st.one_of(st.none(), st.floats(0.0, 0.2)),
        "quality_gate": st.one_of(st.none(), rates),
        "efficiency": st.floats(-0.05, 0.1),
        "efficiency_sd": st.just(0.0),
        "care_management_pmpm": st.floats(0.0, 20.0),
    }
).filter(
    # an MSR that earns the savings cap from the first dollar contradicts it (refused), an MLR
    # that owes the loss cap warns: both are tested in tests/contracts/test_contradictory_terms.py
    lambda c: (
        not (c["savings_cap"] and c["sharing_rate"] * c["minimum_savings_rate"] >= c["savings_cap"])
        and not (c["loss_cap"] and c["loss_sharing_rate"] * c["minimum_loss_rate"] >= c["loss_cap"])
    )
)
program = st.fixed_dictionaries(
    {
        "sharing_rate": rates,
        "bonus_pmpm": st.floats(0.0, 20.0),
        "minimum_savings_rate": st.one_of(st.none(), small),
    }
).filter(
    # on this small panel the MSR derived from its own cost (about 14.4%) times a high sharing
    # rate reaches the 10% savings cap, terms the contract refuses as contradictory
    lambda p: p["minimum_savings_rate"] is not None or p["sharing_rate"] * 0.145 < 0.10
)
third = st.fixed_dictionaries(
    {
        "other_practices": st.integers(0, 3),
        "practice_size": st.floats(0.2, 2.0),
        "pass_through": rates,
        "absorbs_losses": st.booleans(),
        "fee_pmpm": st.floats(0.0, 10.0),
        "sharing_rate": rates,
    }
)
network = st.fixed_dictionaries(
    {
        "percent_of_premium": st.floats(0.5, 1.0),
        "stop_loss_attachment": st.floats(20_000.0, 500_000.0),
        "coinsurance": st.floats(0.0, 0.5),
        "admin_ratio": st.floats(0.0, 0.2),
    }
)
venture = st.fixed_dictionaries(
    {
        "partner_equity": rates,
        "minimum_loss_ratio": st.floats(0.7, 0.95),
        "price_efficiency": st.booleans(),
        "admin_ratio": st.floats(0.0, 0.2),
    }
)


@settings(deadline=None, max_examples=15)
@given(custom, program, third, network, venture, st.integers(0, 2**32 - 1))
def test_money_is_conserved_for_any_terms(c, p, t, n, v, seed):
    models = vbcsim.partnership_models(
        PANEL, custom_contract=c, value_program=p, third_party=t, risk_network=n, joint_venture=v
    )
    ds = vbcsim.compare(PANEL, models, n_scenarios=N, seed=seed)
    for m, arr in enumerate(models.values()):
        fixed = (arr.admin_pmpm + arr.care_management_pmpm) * 12 * PANEL.members
        expected = (
            ds.premium.values[m]
            - arr.delivery_ratio * arr.delivered_share * ds.medical_cost.values[:, m]
            - fixed
            - ds.outside_care.values[:, m]
            - ds.rebate.values[:, m]
        )
        got = ds.net.values[:, m, :].sum(axis=1)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * ds.premium.values[m])
    # the shares of cost risk add up to the own delivery cost per allowed dollar plus the outside
    # share, less what rebates absorb
    s = vbcsim.summarize(ds)
    c_ = ds.medical_cost.values
    r = ds.rebate.values
    absorbed = ((r - r.mean(0)) * (c_ - c_.mean(0))).mean(0) / c_.var(0)
    own = np.array([a.delivery_ratio * a.delivered_share + 1.0 - a.delivered_share for a in models.values()])
    np.testing.assert_allclose(s.risk_share.sum("party").values, own + absorbed, atol=1e-8)


@settings(deadline=None, max_examples=10)
@given(rates, rates, st.integers(0, 2**32 - 1))
def test_provider_gains_with_its_share(low, high, seed):
    low, high = sorted((low, high))
    name1, name3 = MODEL_NAMES["custom_contract"], MODEL_NAMES["third_party"]
    results = []
    for rate in (low, high):
        models = vbcsim.partnership_models(
            PANEL, custom_contract={"sharing_rate": rate}, third_party={"pass_through": rate}
        )
        ds = vbcsim.compare(PANEL, {k: models[k] for k in (name1, name3)}, n_scenarios=N, seed=seed)
        results.append(ds)
    a, b = results
    # same draws (common random numbers), a higher rate never lowers the provider's settlement
    for model, contract in ((name1, "shared_savings"), (name3, "savings_pass_through")):
        sa = a.settlement.sel(model=model, contract=contract).values
        sb = b.settlement.sel(model=model, contract=contract).values
        assert (sb >= sa - 1e-9 * np.abs(sa).max(initial=1.0)).all()
    # and the pass-through is paid by the enabler: its result falls as the provider's share rises
    ea = a.net.sel(model=name3, party="enabler").values
    eb = b.net.sel(model=name3, party="enabler").values
    assert (eb <= ea + 1e-6).all()


@settings(deadline=None, max_examples=12)
@given(custom, network, venture, st.integers(0, 2**32 - 1))
def test_status_quo_conserves_money_and_ignores_the_model_s_terms(c, n, v, seed):
    # each model's fee-for-service status quo: per scenario the parties share premium − admin −
    # the provider's own delivery cost − outside care, of the book's cost at the scenario factor;
    # and it is the same whatever the model's own contract terms
    models = vbcsim.partnership_models(PANEL, custom_contract=c, risk_network=n, joint_venture=v)
    ds = vbcsim.compare(PANEL, models, n_scenarios=N, seed=seed)
    plain = vbcsim.compare(PANEL, n_scenarios=N, seed=seed)
    book = ds.cost.where(~ds.pooled, 0.0).sum("segment").values if "pooled" in ds.coords else None
    book = ds.cost.sum("segment").values if book is None else book
    for m, arr in enumerate(models.values()):
        quo = arr.status_quo()
        premium = quo.premium_pmpm * 12 * PANEL.members
        expected = (
            premium
            - quo.admin_pmpm * 12 * PANEL.members
            - quo.delivery_ratio * quo.delivered_share * book
            - (1 - quo.delivered_share) * book
        )
        got = ds.status_quo_net.values[:, m, :].sum(axis=1)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * premium)
        # the provider's status quo is its margin on the care it delivers, the others have none
        np.testing.assert_allclose(
            ds.status_quo_net.values[:, m, 1], (1 - quo.delivery_ratio) * quo.delivered_share * book
        )
        assert (ds.status_quo_net.values[:, m, 2:] == 0).all()
    # terms that do not touch premium, admin or delivery leave the status quo bit for bit
    for name in (MODEL_NAMES["custom_contract"],):
        np.testing.assert_array_equal(
            ds.status_quo_net.sel(model=name).values, plain.status_quo_net.sel(model=name).values
        )


@settings(deadline=None, max_examples=6)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["random", "sobol"]))
def test_results_do_not_depend_on_threads_for_either_sampling(seed, sampling):
    a = vbcsim.compare(PANEL, n_scenarios=64, seed=seed, threads=1, scenario_sampling=sampling)
    b = vbcsim.compare(PANEL, n_scenarios=64, seed=seed, threads=2, scenario_sampling=sampling)
    for name in ("net", "status_quo_net", "quality", "efficiency", "scenario_factor"):
        np.testing.assert_array_equal(a[name].values, b[name].values)
