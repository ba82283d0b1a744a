"""vbcsim.summarize: hand-computed values on small arrays, exact oracles, and bad input."""

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import vbcsim
from vbcsim import exact
from vbcsim.contracts import FeeForService
from vbcsim.results.metrics import risk_share, tail_value_at_risk, value_at_risk


def cube(net, cost, models=None, parties=None):
    """A minimal result cube: net (scenario, model, party), medical_cost (scenario, model)."""
    net = np.asarray(net, dtype=float)
    s, m, p = net.shape
    models = models or [f"m{i}" for i in range(m)]
    parties = parties or [f"p{i}" for i in range(p)]
    return xr.Dataset(
        {
            "net": (("scenario", "model", "party"), net),
            "medical_cost": (("scenario", "model"), np.asarray(cost, dtype=float)),
        },
        coords={"scenario": np.arange(s), "model": models, "party": parties},
    )


def test_var_and_tvar_by_hand():
    loss = np.arange(1.0, 11.0)  # 1..10, each with probability 0.1
    # smallest l with F(l) >= p: F(9) = 0.9
    assert value_at_risk(loss, 0.9) == 9.0
    assert value_at_risk(loss, 0.85) == 9.0
    assert value_at_risk(loss, 0.95) == 10.0
    # TVaR_0.9 = 9 + E[(L - 9)+] / 0.1 = 9 + 0.1 / 0.1 = 10: the mean of the worst 10%
    assert tail_value_at_risk(loss, 0.9) == pytest.approx(10.0)
    # TVaR_0.85 = 9 + 0.1 / 0.15: the worst 15% are 10 (probability 0.1) and half the atom at 9
    assert tail_value_at_risk(loss, 0.85) == pytest.approx(9 + 0.1 / 0.15)
    assert tail_value_at_risk(loss, 0.85) == pytest.approx((10 * 0.1 + 9 * 0.05) / 0.15)
    assert tail_value_at_risk(loss, 0.5) == pytest.approx(np.sort(loss)[5:].mean())


def test_summarize_hand_computed():
    n = 10
    cost = np.arange(100.0, 100.0 + n)  # C = 100..109
    # model 0: party 0 earns 50 - C (bears every dollar), party 1 earns 0.15 C (FFS margin)
    # model 1: party 0 is constant 5, party 1 has net = [-3, -2, ..., 6]
    net = np.zeros((n, 2, 2))
    net[:, 0, 0] = 50 - cost
    net[:, 0, 1] = 0.15 * cost
    net[:, 1, 0] = 5.0
    net[:, 1, 1] = np.arange(-3.0, 7.0)
    ds = cube(net, np.stack([cost, cost], axis=1), parties=["payer", "provider"])
    s = vbcsim.summarize(ds, levels=(0.9,), capital_level=0.9)

    assert s["mean"].sel(model="m0", party="payer") == pytest.approx(50 - 104.5)
    assert s["std"].sel(model="m0", party="payer") == pytest.approx(np.std(cost, ddof=1))
    assert s.risk_share.sel(model="m0", party="payer") == pytest.approx(1.0)
    assert s.risk_share.sel(model="m0", party="provider") == pytest.approx(-0.15)
    assert s.risk_share.sel(model="m1", party="payer") == pytest.approx(0.0)
    # loss of m0 payer: C - 50 = 50..59; VaR_0.9 = 58; TVaR = 58 + 0.1/0.1 = 59
    assert s.value_at_risk.sel(level=0.9, model="m0", party="payer") == pytest.approx(58.0)
    assert s.tail_value_at_risk.sel(level=0.9, model="m0", party="payer") == pytest.approx(59.0)
    assert s.prob_loss.sel(model="m0", party="payer") == 1.0
    assert s.prob_loss.sel(model="m0", party="provider") == 0.0
    # m1 provider: net -3..6, P(net < 0) = 3/10; loss 3..-6: VaR_0.9 = 2, TVaR = 2 + 0.1/0.1 = 3
    assert s.prob_loss.sel(model="m1", party="provider") == pytest.approx(0.3)
    assert s.tail_value_at_risk.sel(level=0.9, model="m1", party="provider") == pytest.approx(3.0)
    # capital = TVaR(L) - E[L] = 3 - (-1.5) = 4.5; return = mean / capital = 1.5 / 4.5
    assert s.capital.sel(model="m1", party="provider") == pytest.approx(4.5)
    assert s.return_on_capital.sel(model="m1", party="provider") == pytest.approx(1.5 / 4.5)
    # a constant result needs no capital; its return on capital is undefined
    assert s.capital.sel(model="m1", party="payer") == 0.0
    assert np.isnan(s.return_on_capital.sel(model="m1", party="payer"))
    # layout
    assert s.value_at_risk.dims == ("level", "model", "party")
    assert s["mean"].dims == ("model", "party")
    df = s.to_dataframe()
    assert len(df) == 1 * 2 * 2 and "risk_share" in df.columns


def test_risk_share_is_a_slope():
    rng = np.random.default_rng(3)
    cost = rng.gamma(4.0, 10.0, 500)
    noise = rng.normal(0, 1, 500)
    # net = a - b C + independent noise: the sample slope is b up to the noise's sample covariance
    net = 7.0 - 0.3 * cost
    assert risk_share(net, cost) == pytest.approx(0.3, abs=1e-12)
    got = risk_share(net + noise, cost)
    dc = cost - cost.mean()
    assert got == pytest.approx(0.3 - np.mean((noise - noise.mean()) * dc) / np.mean(dc * dc), abs=1e-12)
    assert np.isnan(risk_share(net, np.full(500, 3.0)))


@settings(deadline=None, max_examples=40)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=5, max_size=60),
    st.floats(0.5, 0.995),
)
def test_tvar_properties(values, level):
    loss = np.asarray(values)
    var = value_at_risk(loss, level)
    tvar = tail_value_at_risk(loss, level)
    scale = 1e-9 * max(1.0, np.abs(loss).max())
    # VaR is an order statistic; TVaR lies between VaR and the maximum, and above the mean
    assert var in loss
    assert var - scale <= tvar <= loss.max() + scale
    assert tvar >= loss.mean() - scale
    # TVaR is the mean of the worst (1 - level) share, splitting the atom at VaR
    k = (1 - level) * loss.size
    worst = np.sort(loss)[::-1]
    whole = int(math.floor(k))
    brute = (worst[:whole].sum() + (k - whole) * (worst[whole] if whole < loss.size else 0.0)) / k
    assert tvar == pytest.approx(brute, rel=1e-9, abs=scale)


def test_var_and_tvar_against_the_exact_aggregate():
    # fee for service, no efficiency and no systematic risk: the payer's loss is C - P + admin
    # exactly, so its VaR and TVaR are the FFT oracle's shifted by the constant.
    pop = vbcsim.defaults.provider_panel(2_000)
    arr = vbcsim.Arrangement([FeeForService()], admin_pmpm=50.0)
    n = 20_000
    ds = vbcsim.simulate(pop, {"ffs": arr}, n_scenarios=n, seed=11)
    s = vbcsim.summarize(ds, levels=(0.95, 0.99))
    shift = float(ds.premium.sel(model="ffs")) - 50.0 * 12 * pop.members
    loss = -ds.net.sel(model="ffs", party="payer").values
    agg = exact.aggregate_population(pop)
    for p in (0.95, 0.99):
        var_exact = agg.ppf(p) - shift
        # the empirical cdf at the exact quantile is within 4 binomial standard errors of p
        assert abs(np.mean(loss <= var_exact) - p) < 4 * math.sqrt(p * (1 - p) / n)
        # TVaR: to first order the VaR's error does not move v + E(L - v)+/(1 - p), so the
        # estimator's standard error is sd((L - VaR)+) / (sqrt(n) (1 - p))
        tvar_exact = agg.tvar(p) - shift
        se = np.std(np.maximum(loss - var_exact, 0.0)) / (math.sqrt(n) * (1 - p))
        got = float(s.tail_value_at_risk.sel(level=p, model="ffs", party="payer"))
        assert abs(got - tvar_exact) < 4 * se
    # the payer bears every dollar, the provider gains 15 cents of margin per dollar
    assert float(s.risk_share.sel(model="ffs", party="payer")) == pytest.approx(1.0, abs=1e-9)
    assert float(s.risk_share.sel(model="ffs", party="provider")) == pytest.approx(-0.15, abs=1e-9)


def test_summarize_keeps_model_coordinates():
    ds = cube(np.zeros((4, 2, 1)) + np.arange(4.0)[:, None, None], np.ones((4, 2)) * np.arange(4.0)[:, None])
    ds = ds.assign_coords(model_key=("model", ["a", "b"]))
    s = vbcsim.summarize(ds)
    assert list(s.model_key.values) == ["a", "b"]
    assert list(s.level.values) == [0.95, 0.99]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"levels": (0.0,)}, ValueError, "levels"),
        ({"levels": (1.0,)}, ValueError, "levels"),
        ({"levels": (float("nan"),)}, ValueError, "levels"),
        ({"levels": ()}, ValueError, "levels"),
        ({"levels": (0.9, 0.9)}, ValueError, "distinct"),
        ({"levels": "x"}, ValueError, "levels"),
        ({"levels": None}, TypeError, "levels"),
        ({"capital_level": 1.5}, ValueError, "capital_level"),
    ],
)
def test_bad_levels(kwargs, exc, match):
    ds = cube(np.zeros((5, 1, 1)), np.arange(5.0)[:, None])
    with pytest.raises(exc, match=match):
        vbcsim.summarize(ds, **kwargs)


def test_bad_datasets():
    with pytest.raises(TypeError, match="xarray.Dataset"):
        vbcsim.summarize({"net": 1})
    pop = vbcsim.defaults.provider_panel(300)
    bare = vbcsim.simulate(pop, n_scenarios=20, seed=1)
    with pytest.raises(ValueError, match="no 'net' variable"):
        vbcsim.summarize(bare)
    ds = cube(np.zeros((5, 1, 1)), np.arange(5.0)[:, None])
    with pytest.raises(ValueError, match="dims"):
        vbcsim.summarize(ds.transpose("model", "scenario", "party"))
    with pytest.raises(ValueError, match="at least 2 scenarios"):
        vbcsim.summarize(ds.isel(scenario=[0]))
    bad = ds.copy(deep=True)
    bad["net"][0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        vbcsim.summarize(bad)


def test_var_index_is_not_moved_by_rounding():
    # 100 x 0.07 = 7.000000000000001 in floating point: the lower quantile is still the 7th value
    loss = np.arange(1.0, 101.0)
    for p in (0.07, 0.14, 0.28, 0.55, 0.56):
        assert value_at_risk(loss, p) == round(100 * p)
