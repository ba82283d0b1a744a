"""vbcsim.solve: contract terms that meet a target, on common random numbers, against known answers."""

import dataclasses
import math

import numpy as np
import pytest
import xarray as xr

import vbcsim
from vbcsim import exact
from vbcsim.analysis.solve import DEFAULT_BOUNDS, METRICS, SolveResult, Target, solve
from vbcsim.contracts import Capitation
from vbcsim.contracts.arrangement import Arrangement
from vbcsim.partnerships import DEFAULT_SCENARIO_RISK, CustomContract, RiskNetwork

N = 2_000  # scenarios: the solver's answers are exact for the sample, so tests need few


@pytest.fixture(scope="module")
def pop():
    return vbcsim.defaults.provider_panel(2_000)


def _one_sided_at_expected_cost():
    """FFS + one-sided shared savings from the first dollar, no MSR, cap, gate, truncation or efficiency.

    The benchmark is the panel's exact expected cost B = E[C], so the provider's
    net result is 0.15 C + s (B − C)+ per scenario (delivery ratio 0.85, all care delivered
    by the provider itself).
    """
    return CustomContract(
        delivered_share=1.0,
        efficiency=0.0,
        efficiency_sd=0.0,
        care_management_pmpm=0.0,
        minimum_savings_rate=0.0,
        minimum_loss_rate=0.0,
        loss_sharing_rate=0.0,
        savings_cap=None,
        loss_cap=None,
        quality_gate=None,
        outlier_attachment=None,
    )


def _mean(ds, party):
    return float(ds.net.isel(model=0).sel(party=party).mean())


# -- known answers ------------------------------------------------------------------------------


def test_shared_savings_rate_matches_the_exact_fft_expectation(pop):
    """Solve s in E[provider] = 0.15 E[C] + s E[(B − C)+] = T, with the exact oracle for E[(B − C)+].

    E[(B − C)+] = B − E[C] + E[(C − B)+] and E[(C − B)+] is the FFT stop-loss
    premium of the panel; T is built from s = 0.4, so 0.4 is the true answer.
    The Monte Carlo answer is ŝ = (T − 0.15 C̄)/M̂ with sample means C̄ and
    M̂ of C and (B − C)+; by the delta method ŝ − 0.4 ≈ −(0.15 (C̄ − E C) +
    0.4 (M̂ − M)) / M, whose standard error is sd(0.15 C + 0.4 (B − C)+) /
    (√n M): the tolerance is four of them.
    """
    n = 4_000
    model = _one_sided_at_expected_cost()
    agg = exact.aggregate_population(pop)
    B = pop.expected_cost()
    EC = agg.mean()
    M = B - EC + float(agg.stop_loss(B))
    T = 0.15 * EC + 0.4 * M

    r = solve(
        pop, model, "sharing_rate", Target("provider", "mean", T), n_scenarios=n, seed=11, scenario_risk=None
    )
    assert isinstance(r, SolveResult)
    ss = r.arrangement.contracts[1]
    assert ss.benchmark_pmpm * 12 * pop.members == pytest.approx(B, rel=1e-12)

    C = r.dataset.medical_cost.isel(model=0).values
    gain = np.maximum(B - C, 0.0)
    # the provider's result is exactly this function of the simulated cost
    np.testing.assert_allclose(
        r.dataset.net.isel(model=0).sel(party="provider").values, 0.15 * C + r.value * gain, rtol=0, atol=1e-6
    )
    # the objective is linear in s, so the solver hits the sample closed form to rounding
    s_sample = (T - 0.15 * C.mean()) / gain.mean()
    assert r.value == pytest.approx(s_sample, rel=1e-9, abs=1e-9)
    assert r.achieved == pytest.approx(T, rel=1e-9)
    # and the exact closed form to Monte Carlo error
    se = np.std(0.15 * C + 0.4 * gain, ddof=1) / math.sqrt(n) / M
    assert abs(r.value - 0.4) < 4 * se
    assert 0 < se < 0.02  # the test has power: 4 SE is a narrow band around 0.4
    assert r.engine_runs == 1 and not r.step  # the sharing rate leaves the engine's statistics as they are

    # ">=": the smallest rate that earns the provider at least T, satisfied at the value returned
    ge = solve(
        pop,
        model,
        "sharing_rate",
        Target("provider", "mean", T, kind=">="),
        n_scenarios=n,
        seed=11,
        scenario_risk=None,
    )
    assert ge.achieved >= T and ge.value == pytest.approx(r.value, abs=1e-6)


def test_equal_means_percent_of_premium_matches_the_model_flows(pop):
    """Risk network: payer = P − A − pP, provider = pP − (0.85 s + 1 − s) C − cm + stop-loss.

    The provider delivers a share s of the care at 0.85 per allowed dollar and buys the rest
    at allowed rates; stop-loss settles recovery − premium.  Equal means at
    p* = (P − A + (0.85 s + 1 − s) E C + cm − E[stop-loss]) / (2P), with the
    sample means of the run; an independent run at the default 85% gives the
    same p* by common random numbers (the provider's result moves one for one
    with the capitation, nothing else changes).
    """
    sr = DEFAULT_SCENARIO_RISK
    r = solve(
        pop, "risk_network", "percent_of_premium", Target.equal_means("payer", "provider"), n_scenarios=N
    )
    ds = r.dataset
    assert _mean(ds, "payer") == pytest.approx(_mean(ds, "provider"), rel=1e-9)
    assert abs(r.achieved) < 1e-6 * _mean(ds, "payer")
    assert r.target.other == "provider" and r.target.kind == "=="

    arr = r.arrangement
    P = float(ds.premium.isel(model=0))
    A = arr.admin_pmpm * 12 * pop.members
    cm = arr.care_management_pmpm * 12 * pop.members
    C = float(ds.medical_cost.isel(model=0).mean())
    sl = float(ds.settlement.isel(model=0).sel(contract="specific_stop_loss").mean())
    s = arr.delivered_share
    p_star = (P - A + (arr.delivery_ratio * s + 1.0 - s) * C + cm - sl) / (2 * P)
    assert r.value == pytest.approx(p_star, rel=1e-9)
    assert r.arrangement.contracts[0].percent_of_premium == r.value

    # the same model name as solve's (the partnership model's title): the same efficiency draws
    other = RiskNetwork(percent_of_premium=0.85).arrangement(pop, sr)
    d85 = vbcsim.simulate(pop, {r.model: other}, n_scenarios=N, seed=0, scenario_risk=sr)
    k = _mean(d85, "provider") - 0.85 * P  # provider's mean net less its capitation
    assert (P - A - k) / (2 * P) == pytest.approx(r.value, rel=1e-9)


def test_callable_model_capitation_equal_means(pop):
    """Any term through a callable: global capitation percent in a plain Arrangement, exact by linearity."""
    admin, cm = 50.0, 5.0

    def model(p):
        return Arrangement([Capitation(percent_of_premium=p)], admin_pmpm=admin, care_management_pmpm=cm)

    r = solve(
        pop,
        model,
        "percent_of_premium",
        {"party": "payer", "other": "provider"},
        bounds=(0.5, 1.0),
        n_scenarios=N,
        scenario_risk=None,
    )
    ds = r.dataset
    P = float(ds.premium.isel(model=0))
    C = float(ds.medical_cost.isel(model=0).mean())
    yearly = 12 * pop.members
    expected = (P - admin * yearly + 0.85 * C + cm * yearly) / (2 * P)
    assert r.value == pytest.approx(expected, rel=1e-9)
    assert r.model == "model"
    with pytest.raises(ValueError, match="no default bounds"):
        solve(pop, model, "percent_of_premium", Target.equal_means("payer", "provider"), n_scenarios=N)


def test_scan_finds_a_crossing_inside_a_non_monotone_range(pop):
    """The payer's mean under capitation at 50% + |v| of premium is V-shaped in v: the ends don't bracket."""
    admin = 40.0

    def model(v):
        return Arrangement([Capitation(percent_of_premium=0.5 + abs(v))], admin_pmpm=admin)

    ds = vbcsim.simulate(pop, {"model": model(0.2)}, n_scenarios=N, seed=0)
    goal = _mean(ds, "payer")  # reached at v = -0.2 and v = +0.2
    t = Target("payer", "mean", goal)
    with pytest.raises(ValueError, match="unreachable"):
        solve(pop, model, "v", t, bounds=(-0.3, 0.3), n_scenarios=N, scenario_risk=None)
    r = solve(pop, model, "v", t, bounds=(-0.3, 0.3), n_scenarios=N, scenario_risk=None, scan=2)
    assert r.value == pytest.approx(-0.2, abs=1e-6)  # the first crossing from the low end
    assert r.achieved == pytest.approx(goal, rel=1e-9)


def test_tvar_target_on_a_monotone_term(pop):
    """Provider TVaR99 of the loss rises with the loss sharing rate; solve for a value inside its range."""
    kw = dict(n_scenarios=N, seed=3)
    sr = DEFAULT_SCENARIO_RISK

    def tvar(rate):
        arr = CustomContract(loss_sharing_rate=rate).arrangement(pop, sr)
        ds = vbcsim.simulate(pop, {"custom risk-based contract": arr}, scenario_risk=sr, **kw)
        return float(vbcsim.summarize(ds).tail_value_at_risk.sel(level=0.99, party="provider").item())

    t0, t1 = tvar(0.0), tvar(1.0)
    assert t0 < t1
    goal = 0.5 * (t0 + t1)
    r = solve(
        pop, "custom_contract", "loss_sharing_rate", Target("provider", "tail_value_at_risk", goal), **kw
    )
    assert r.history[0] == (0.0, t0) and r.history[1] == (1.0, t1)  # same draws as the separate runs
    assert abs(r.achieved - goal) < 1e-4 * (t1 - t0)
    assert r.value in r.bracket and r.bracket[1] - r.bracket[0] < 1e-5
    assert r.iterations >= 1 and r.evaluations in (len(r.history), len(r.history) + 1)
    assert not r.step
    # common random numbers: a separate run just above (below) the answer lands above (below) the target
    assert tvar(r.value + 1e-3) > goal > tvar(r.value - 1e-3)
    assert tvar(r.value) == pytest.approx(r.achieved, rel=0, abs=1e-6)

    # "<=": the largest loss sharing rate whose TVaR stays within the goal, satisfied at the value returned
    le = solve(
        pop,
        "custom_contract",
        "loss_sharing_rate",
        Target("provider", "tail_value_at_risk", goal, kind="<="),
        **kw,
    )
    assert le.achieved <= goal
    assert abs(le.value - r.value) < 1e-5
    if le.bracket[0] < le.bracket[1]:  # the other end of the bracket breaks the bound
        assert tvar(le.bracket[1] if le.value == le.bracket[0] else le.bracket[0]) > goal
    else:  # or the value met the goal exactly (TVaR is piecewise linear in the rate)
        assert le.achieved == goal


def test_stop_loss_attachment_capital_bound_resimulates_on_the_same_draws(pop):
    """Raising the attachment raises the network's capital; find where it reaches $2M.

    The attachment changes what the engine accumulates, so every trial is a new
    simulation, yet the members' costs are the same draws in each.
    """
    sr = DEFAULT_SCENARIO_RISK
    goal = 2_000_000.0
    r = solve(
        pop,
        "risk_network",
        "stop_loss_attachment",
        Target("provider", "capital", goal, kind="<="),
        n_scenarios=N,
    )
    assert r.achieved <= goal
    assert DEFAULT_BOUNDS["stop_loss_attachment"][0] < r.value < DEFAULT_BOUNDS["stop_loss_attachment"][1]
    assert r.arrangement.contracts[1].attachment == r.value
    # the bracket's other end breaks the bound, within a dollar of the answer
    other = r.bracket[1] if r.value == r.bracket[0] else r.bracket[0]
    assert other > r.value and other - r.value <= 1.0
    assert dict(r.history)[other] > goal
    assert r.engine_runs == r.evaluations  # each attachment is a new engine run
    # capital in the summary of the final run is the achieved metric
    assert float(r.summary().capital.sel(party="provider").item()) == r.achieved
    # common random numbers: the baseline cost is the plain simulation's, bit for bit
    plain = vbcsim.simulate(pop, n_scenarios=N, seed=0, scenario_risk=sr)
    np.testing.assert_array_equal(r.dataset.cost.values, plain.cost.values)
    cmp = vbcsim.simulate(
        pop,
        {
            "risk-bearing network collaboration": RiskNetwork(stop_loss_attachment=r.value).arrangement(
                pop, sr
            )
        },
        n_scenarios=N,
        seed=0,
        scenario_risk=sr,
    )
    np.testing.assert_array_equal(r.dataset.net.values, cmp.net.values)


@pytest.mark.parametrize(
    "model, parameter, target",
    [
        ("custom_contract", "sharing_rate", Target("provider", "capital", 0.0)),
        ("third_party", "pass_through", Target("provider", "mean", 0.0)),
    ],
)
def test_terms_that_keep_the_draws_settle_one_engine_run_again(pop, model, parameter, target):
    """Sharing rates and pass-through change no attachment, efficiency or pool: one engine run serves all.

    The target is set half-way between the metric at the ends of the bounds;
    the final Dataset is the one vbcsim.simulate gives at the solution.
    """
    sr = DEFAULT_SCENARIO_RISK
    probe = {}
    for x in (0.0, 1.0):
        arr = vbcsim.partnership_models(pop, sr, **{model: {parameter: x}})
        name = vbcsim.partnerships.MODEL_NAMES[model]
        ds = vbcsim.simulate(pop, {name: arr[name]}, n_scenarios=500, seed=0, scenario_risk=sr)
        probe[x] = target.measure(ds, name)
    goal = 0.5 * (probe[0.0] + probe[1.0])
    r = solve(pop, model, parameter, dataclasses.replace(target, value=goal), n_scenarios=500)
    assert r.engine_runs == 1 < r.evaluations
    assert r.history[:2] == ((0.0, probe[0.0]), (1.0, probe[1.0]))
    assert r.achieved == pytest.approx(goal, rel=1e-6)
    ref = vbcsim.simulate(pop, {r.model: r.arrangement}, n_scenarios=500, seed=0, scenario_risk=sr)
    xr.testing.assert_identical(r.dataset, ref)


def test_step_metric_prob_loss_locates_the_jump(pop):
    """P(loss) on 2,000 scenarios moves in steps of 1/2,000: a target between steps is met at a jump."""
    goal = 0.10025  # half-way between two steps
    r = solve(pop, "risk_network", "percent_of_premium", Target("provider", "prob_loss", goal), n_scenarios=N)
    assert r.step
    lo, hi = r.bracket
    q = dict(r.history)
    assert hi - lo <= 1e-6 * 0.5 + 1e-15
    # the provider loses less often with more of the premium: the jump straddles the goal
    assert q[lo] > goal > q[hi]
    assert abs(q[lo] - q[hi]) == pytest.approx(1 / N)
    assert r.achieved in (q[lo], q[hi])


# -- errors -------------------------------------------------------------------------------------


def test_unreachable_target_names_parameter_bounds_and_end_values(pop):
    with pytest.raises(ValueError) as err:
        solve(pop, "value_program", "sharing_rate", Target("provider", "mean", 1e12), n_scenarios=500)
    msg = str(err.value)
    assert "unreachable" in msg and "sharing_rate" in msg and "[0, 1]" in msg
    assert "1,000,000,000,000" in msg and "at sharing_rate=0" in msg and "at sharing_rate=1" in msg

    with pytest.raises(ValueError, match=r"stop_loss_attachment in \[10,000, 1,000,000\]"):
        solve(
            pop, "risk_network", "stop_loss_attachment", Target("provider", "capital", 1.0), n_scenarios=500
        )


def test_not_binding_inequality_and_scan(pop):
    # every sharing rate keeps the value program's provider mean above zero
    with pytest.raises(ValueError, match="not binding"):
        solve(
            pop, "value_program", "sharing_rate", Target("provider", "mean", 0.0, kind=">="), n_scenarios=500
        )
    # scan reports the range it saw when nothing brackets the target
    with pytest.raises(ValueError, match="over 5 values scanned"):
        solve(pop, "value_program", "sharing_rate", Target("provider", "mean", 1e12), n_scenarios=500, scan=3)


@pytest.mark.parametrize(
    "call, match",
    [
        (dict(model="no_such_model"), "unknown partnership model.*custom_contract.*joint_venture"),
        (
            dict(parameter="sharing_rat"),
            "parameter 'sharing_rat' of custom_contract is unknown.*sharing_rate",
        ),
        (dict(model="third_party", parameter="other_practices"), "not a continuous term.*pass_through"),
        (dict(parameter="benchmark_ratio"), "no default bounds for parameter 'benchmark_ratio'"),
        (dict(bounds=(1.0, 0.0)), "low < high"),
        (dict(parameter="sharing_rate", bounds=(0.0, 2.0)), "sharing_rate=2 is not a valid term"),
    ],
)
def test_bad_model_parameter_and_bounds(pop, call, match):
    args = dict(model="custom_contract", parameter="sharing_rate", bounds=None)
    args.update(call)
    with pytest.raises(ValueError, match=match):
        solve(
            pop, args["model"], args["parameter"], Target("provider"), bounds=args["bounds"], n_scenarios=100
        )


def test_target_validation():
    with pytest.raises(
        ValueError, match="unknown party 'doctor'; parties are payer, provider, enabler, reinsurer"
    ):
        Target("doctor")
    with pytest.raises(ValueError, match="unknown metric 'sharpe'; metrics are " + ", ".join(METRICS)):
        Target("payer", "sharpe")
    with pytest.raises(ValueError, match="unknown kind"):
        Target("payer", kind="<")
    with pytest.raises(ValueError, match="level applies only to"):
        Target("payer", "mean", level=0.9)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        Target("payer", "value_at_risk", level=1.0)
    with pytest.raises(ValueError, match="other must differ"):
        Target.equal_means("payer", "payer")
    with pytest.raises(ValueError, match="unknown key 'metrc'"):
        solve(None, "risk_network", "percent_of_premium", {"party": "payer", "metrc": "mean"})
    with pytest.raises(TypeError, match="target must be"):
        solve(None, "risk_network", "percent_of_premium", ("payer", "mean"))
    assert Target("provider", "tail_value_at_risk", 2e6).level == 0.99
    assert Target("provider", "capital", 2e6, level=0.995, kind="<=").describe() == (
        "capital[0.995](provider) <= 2,000,000"
    )
    assert Target.equal_means("payer", "provider").describe() == "mean(payer) - mean(provider) == 0"


def test_options_are_checked(pop):
    t = Target.equal_means("payer", "provider")
    with pytest.raises(TypeError, match="unknown option 'out'; the options passed to simulate are quality"):
        solve(pop, "risk_network", "percent_of_premium", t, out="results.zarr")
    with pytest.raises(TypeError, match="model must be"):
        solve(pop, 3.5, "percent_of_premium", t)
    with pytest.raises(ValueError, match="tol must be positive"):
        solve(pop, "risk_network", "percent_of_premium", t, tol=0.0)
