"""vbcsim.sensitivity and vbcsim.sensitivity_indices: paired swings, Sobol indices, the tornado."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

import vbcsim
from vbcsim import plot
from vbcsim.analysis.sensitivity import DEFAULT_FACTORS, DEFAULT_RANGES
from vbcsim.analysis.sensitivity._runs import paired_standard_error
from vbcsim.contracts import FeeForService
from vbcsim.partnerships import DEFAULT_SCENARIO_RISK, MODEL_KEYS
from vbcsim.partnerships.registry import MODEL_CLASSES

# the value program warns that a panel below 5,000 members has no MSSP MSR table
pytestmark = pytest.mark.filterwarnings("ignore:a panel of:UserWarning")

N, SEED = 300, 7
NAMES = [cls.title for cls in MODEL_CLASSES.values()]


@pytest.fixture(scope="module")
def panel():
    return vbcsim.defaults.provider_panel(2_000)


@pytest.fixture(scope="module")
def sens(panel):
    return vbcsim.sensitivity(panel, n_scenarios=N, seed=SEED, progress=False)


def _metric(ds):
    """Each party's per-scenario result as sensitivity defines it (change against FFS where available)."""
    net = ds["net"].transpose("scenario", "model", "party").values
    if "status_quo_net" in ds:
        net = net - ds["status_quo_net"].transpose("scenario", "model", "party").values
    return np.asarray(net, dtype=float)


def _run(panel, **overrides):
    models = vbcsim.partnership_models(panel, DEFAULT_SCENARIO_RISK, **overrides)
    return vbcsim.compare(panel, models, n_scenarios=N, seed=SEED, scenario_risk=DEFAULT_SCENARIO_RISK)


def test_shape_coords_and_attrs(sens, panel):
    assert dict(sens.sizes) == {"factor": len(DEFAULT_FACTORS), "side": 2, "model": 5, "party": 4}
    assert sens["factor"].values.tolist() == list(DEFAULT_FACTORS)
    assert sens["side"].values.tolist() == ["low", "high"]
    assert sens["model"].values.tolist() == NAMES
    assert sens["model_key"].values.tolist() == list(MODEL_KEYS)
    assert sens.value.dims == ("factor", "side", "model", "party")
    assert sens.base.dims == sens.base_standard_error.dims == ("model", "party")
    assert sens.swing.dims == ("factor", "model", "party")
    np.testing.assert_array_equal(sens.swing, sens.value.sel(side="high") - sens.value.sel(side="low"))
    low, high = sens.low_setting.to_series(), sens.high_setting.to_series()
    assert (low["efficiency"], high["efficiency"]) == DEFAULT_RANGES["efficiency"]
    assert (low["sharing_rate"], high["sharing_rate"]) == (0.40, 0.75)
    assert (low["panel_size"], high["panel_size"]) == (panel.members // 2, panel.members * 2)
    assert sens.attrs["n_scenarios"] == N and sens.attrs["seed"] == SEED
    assert sens.attrs["baseline"] in ("fee_for_service", "none")
    assert sens.attrs["units"] == "currency per year"
    assert np.isfinite(sens.value).all() and (sens.value_standard_error >= 0).all()


def test_a_factor_a_model_lacks_has_swing_exactly_zero(sens, panel):
    lacks = {
        "sharing_rate": ["risk_network", "joint_venture"],
        "percent_of_premium": ["custom_contract", "value_program", "third_party", "joint_venture"],
        "stop_loss_attachment": ["custom_contract", "value_program", "third_party", "joint_venture"],
    }
    for factor, keys in lacks.items():
        for key in MODEL_KEYS:
            sel = {"factor": factor, "model": NAMES[MODEL_KEYS.index(key)]}
            assert bool(sens.applies.sel(sel)) is (key not in keys)
            if key in keys:
                assert (sens.swing.sel(sel) == 0).all()
                assert (sens.swing_standard_error.sel(sel) == 0).all()
                assert (sens.value.sel(sel) == sens.base.sel(model=sel["model"])).all()
                assert (sens.value_standard_error.sel(sel) == 0).all()
    # and where a model has the term, it moves: the network's provider and reinsurer
    assert float(sens.swing.sel(factor="stop_loss_attachment", model=NAMES[3], party="reinsurer")) < 0
    # a full run with the setting leaves the models that lack it bitwise as they were
    base = _run(panel)
    other = _run(panel, risk_network={"stop_loss_attachment": 100_000.0})
    for i in (0, 1, 2, 4):
        np.testing.assert_array_equal(base.net.values[:, i], other.net.values[:, i])


def test_efficiency_up_raises_the_payers_result_under_shared_savings(sens):
    for model in NAMES[:3]:  # fee for service plus shared savings (pooled in model 3)
        sel = {"factor": "efficiency", "model": model, "party": "payer"}
        swing = float(sens.swing.sel(sel))
        assert swing > 3 * float(sens.swing_standard_error.sel(sel)) > 0


def test_efficiency_swing_matches_two_explicit_runs_bitwise(panel):
    sens = vbcsim.sensitivity(panel, {"efficiency": (0.5, 1.5)}, n_scenarios=N, seed=SEED, progress=False)
    base = _metric(vbcsim.compare(panel, n_scenarios=N, seed=SEED))
    runs = {}
    for side, c in (("low", 0.5), ("high", 1.5)):
        overrides = {key: {"efficiency": c * cls.efficiency} for key, cls in MODEL_CLASSES.items()}
        runs[side] = _metric(_run(panel, **overrides))
        assert np.array_equal(sens.value.sel(factor="efficiency", side=side).values, runs[side].mean(axis=0))
        se = np.std(runs[side] - base, axis=0, ddof=1) / math.sqrt(N)
        np.testing.assert_allclose(
            sens.value_standard_error.sel(factor="efficiency", side=side), se, rtol=1e-12
        )
    hand = runs["high"].mean(axis=0) - runs["low"].mean(axis=0)
    assert np.array_equal(sens.swing.sel(factor="efficiency").values, hand)
    assert sens.swing.sel(factor="efficiency", model=NAMES[0], party="payer") > 0
    np.testing.assert_array_equal(sens.base, base.mean(axis=0))


def test_paired_standard_error_is_smaller_than_unpaired(sens, panel):
    rate = {"sharing_rate": 0.75}
    high = _metric(_run(panel, custom_contract=rate, value_program=rate, third_party=rate))
    se_high = high.std(axis=0, ddof=1) / math.sqrt(N)
    unpaired = np.sqrt(se_high**2 + sens.base_standard_error.values**2)
    paired = sens.value_standard_error.sel(factor="sharing_rate", side="high").values
    for m in range(3):  # the shared-savings models, payer and provider
        for p in range(2):
            assert 0 < paired[m, p] < unpaired[m, p] / 2
    # efficiency is drawn again from a Beta of another mean, so it pairs less well, but still does
    for factor in ("efficiency", "stop_loss_attachment", "shock_probability"):
        se = sens.value_standard_error.sel(factor=factor, side="high")
        assert (se <= sens.base_standard_error * math.sqrt(2)).all()


def test_percent_of_premium_moves_the_network_payer_by_exactly_the_premium_share(sens, panel):
    # under global capitation the payer keeps premium x (1 - percent) less its admin, whatever the
    # year's cost: the swing from 80% to 90% is exactly -10% of the annual premium, with no noise
    premium = float(vbcsim.compare(panel, n_scenarios=2, seed=SEED).premium.sel(model=NAMES[3]))
    sel = {"factor": "percent_of_premium", "model": NAMES[3], "party": "payer"}
    assert float(sens.swing.sel(sel)) == pytest.approx(-0.10 * premium, rel=1e-9)
    assert float(sens.swing_standard_error.sel(sel)) <= 1e-9 * premium
    # the provider takes the other side
    sel["party"] = "provider"
    assert float(sens.swing.sel(sel)) == pytest.approx(0.10 * premium, rel=1e-9)


def test_baseline_none_is_the_mean_of_net(panel):
    sens = vbcsim.sensitivity(panel, ["trend_cv"], n_scenarios=N, seed=SEED, baseline=None, progress=False)
    ds = vbcsim.compare(panel, n_scenarios=N, seed=SEED)
    assert sens.attrs["baseline"] == "none"
    np.testing.assert_array_equal(
        sens.base, ds.net.transpose("scenario", "model", "party").values.mean(axis=0)
    )


def test_a_fixed_arrangement_moves_only_with_efficiency_panel_and_risk(panel):
    fixed = vbcsim.Arrangement([FeeForService()], efficiency=vbcsim.Efficiency(0.03, 0.01))
    sens = vbcsim.sensitivity(
        panel,
        {"sharing_rate": None, "efficiency": None},
        n_scenarios=100,
        seed=SEED,
        overrides={"custom_contract": fixed},
        progress=False,
    )
    assert not bool(sens.applies.sel(factor="sharing_rate", model=NAMES[0]))
    assert (sens.swing.sel(factor="sharing_rate", model=NAMES[0]) == 0).all()
    assert float(sens.swing.sel(factor="efficiency", model=NAMES[0], party="payer")) > 0


def test_progress_bar(panel, capsys, monkeypatch):
    from vbcsim import _progress

    monkeypatch.setattr(_progress, "DELAY", 0.0)  # bars appear after 2 s; this run is shorter
    vbcsim.sensitivity(panel, {"stop_loss_attachment": None}, n_scenarios=50, progress=True)
    assert "sensitivity" in capsys.readouterr().err
    vbcsim.sensitivity(panel, {"stop_loss_attachment": None}, n_scenarios=50, progress=False)
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- Sobol indices


@pytest.fixture(scope="module")
def indices_one(panel):
    return vbcsim.sensitivity_indices(
        panel, {"efficiency": None}, n_base=16, n_scenarios=200, seed=3, progress=False
    )


def test_indices_with_one_factor_are_one(indices_one):
    si = indices_one
    assert dict(si.sizes) == {"factor": 1, "model": 5, "party": 4}
    assert si.attrs["runs"] == 16 * 3 and si.attrs["method"] == "sobol"
    # the provider under global capitation: its result is linear in the efficiency
    sel = {"factor": "efficiency", "model": NAMES[3], "party": "provider"}
    for name in ("first_order", "total_order"):
        assert abs(float(si[name].sel(sel)) - 1.0) <= float(si[f"{name}_confidence"].sel(sel)) + 0.05
    # parties whose result does not vary get NaN, not an error: the network's payer keeps a fixed
    # share of premium whatever the efficiency, and model 1 has no enabler
    for model, party in ((NAMES[3], "payer"), (NAMES[0], "enabler"), (NAMES[0], "reinsurer")):
        assert np.isnan(si.first_order.sel(model=model, party=party)).all()
        assert np.isnan(si.total_order_confidence.sel(model=model, party=party)).all()


def test_indices_sum_to_at_most_one(panel):
    si = vbcsim.sensitivity_indices(
        panel, ["efficiency", "trend_cv", "shock_size"], n_base=16, n_scenarios=200, seed=11, progress=False
    )
    assert si.attrs["runs"] == 16 * 5
    assert si["factor"].values.tolist() == ["efficiency", "trend_cv", "shock_size"]
    total = si.first_order.sum("factor", skipna=False)
    tolerance = np.sqrt((si.first_order_confidence**2).sum("factor", skipna=False))
    ok = total.notnull()
    assert int(ok.sum()) >= 8
    assert bool((total.where(ok) <= 1 + tolerance.where(ok)).where(ok, True).all())
    # a factor's total-order index is not below its first-order one, within the confidence
    gap = si.first_order - si.total_order - si.first_order_confidence - si.total_order_confidence
    assert bool((gap.fillna(-1) <= 0).all())


# ----------------------------------------------------------------------------- tornado


def test_tornado(sens):
    fig = plot.tornado(sens, 1)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2 and all(len(b) == len(DEFAULT_FACTORS) for b in bars)
    labels = [t.get_text().split("\n")[0] for t in ax.get_yticklabels()]
    positions = ax.get_yticks()
    top_down = [label for _, label in sorted(zip(-positions, labels, strict=True))]
    swing = np.abs(sens.swing.sel(model=NAMES[0], party="provider").to_series())
    assert top_down == swing.sort_values(ascending=False, kind="stable").index.tolist()
    assert ax.get_xlabel() and ax.get_ylabel()
    assert NAMES[0] in ax.get_title() and "provider" in ax.get_title()
    if sens.attrs["baseline"] == "fee_for_service":
        assert "against fee for service" in ax.get_title()
    # the same model by identifier or by name, into given axes
    other = Figure()
    given_ax = other.add_subplot()
    assert plot.tornado(sens, "risk_network", "payer", ax=given_ax) is other
    assert plot.tornado(sens, NAMES[3], party="reinsurer").axes[0].get_title().startswith("4 ")


def test_tornado_errors(sens):
    with pytest.raises(ValueError, match="unknown model"):
        plot.tornado(sens, "model_6")
    with pytest.raises(ValueError, match="number 9 out of range"):
        plot.tornado(sens, 9)
    with pytest.raises(ValueError, match="unknown party"):
        plot.tornado(sens, 1, party="insurer")
    with pytest.raises(ValueError, match="no 'value' variable"):
        plot.tornado(sens.drop_vars("value"), 1)
    with pytest.raises(TypeError, match="sens must be an xarray.Dataset"):
        plot.tornado(sens.value, 1)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"factors": {"nonsense": (0, 1)}}, ValueError, r"factors: unknown factor 'nonsense'"),
        ({"factors": {"sharing_rate": (0.4,)}}, ValueError, r"factors\['sharing_rate'\] must be two numbers"),
        ({"factors": {"sharing_rate": 0.4}}, TypeError, r"factors\['sharing_rate'\] must be two numbers"),
        ({"factors": {"sharing_rate": (0.4, math.nan)}}, ValueError, r"factors\['sharing_rate'\].*finite"),
        ({"factors": {"sharing_rate": ("a", 0.5)}}, TypeError, r"factors\['sharing_rate'\].*finite number"),
        ({"factors": {"sharing_rate": (True, 0.5)}}, TypeError, r"factors\['sharing_rate'\]"),
        ({"factors": {"sharing_rate": (0.6, 0.4)}}, ValueError, r"low setting must be below the high"),
        (
            {"factors": {"sharing_rate": (0.4, 1.5)}},
            ValueError,
            r"factors\['sharing_rate'\]: the high setting 1.5: custom_contract: .*probability",
        ),
        ({"factors": {"trend_cv": (0.01, 5.0)}}, ValueError, r"factors\['trend_cv'\]: the high setting 5.0"),
        (
            {"factors": {"efficiency": (0.5, 30.0)}},
            ValueError,
            r"factors\['efficiency'\]: the high setting 30.0",
        ),
        ({"factors": {"panel_size": (1000.5, 2000)}}, ValueError, r"factors\['panel_size'\].*whole number"),
        ({"factors": {"minimum_savings_rate": None}}, ValueError, r"no default range"),
        ({"factors": 3}, TypeError, r"factors must be a mapping"),
        ({"factors": {}}, ValueError, r"factors must name at least one"),
        ({"overrides": {"model_6": {}}}, ValueError, r"overrides: unknown partnership model 'model_6'"),
        (
            {"overrides": {"custom_contract": {"bogus": 1}}},
            ValueError,
            r"overrides: custom_contract: unknown",
        ),
        ({"overrides": {"custom_contract": {"sharing_rate": 2.0}}}, ValueError, r"overrides: .*sharing_rate"),
        ({"overrides": [("custom_contract", {})]}, TypeError, r"overrides must be a dict"),
        ({"baseline": "fee for service"}, ValueError, r"baseline must be 'fee_for_service' or None"),
        ({"progress": "yes"}, TypeError, r"progress must be None, True, False or a callable"),
        ({"n_scenarios": 1}, ValueError, r"n_scenarios must be at least 2"),
        ({"n_scenarios": 10.0}, TypeError, r"n_scenarios must be an integer"),
        ({"seed": -1}, ValueError, r"seed"),
        ({"threads": 0}, ValueError, r"threads"),
        ({"scenario_risk": 0.02}, TypeError, r"scenario_risk must be a vbcsim.ScenarioRisk"),
    ],
)
@pytest.mark.parametrize("function", ["sensitivity", "sensitivity_indices"])
def test_bad_input(panel, function, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        getattr(vbcsim, function)(panel, **kwargs)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"n_base": 0}, ValueError, r"n_base must be a positive integer"),
        ({"n_base": 16.0}, TypeError, r"n_base must be an integer"),
        ({"n_base": True}, TypeError, r"n_base must be an integer"),
        ({"method": "morris"}, ValueError, r"method must be one of"),
        ({"conf_level": 1.0}, ValueError, r"conf_level"),
        ({"num_resamples": 0}, ValueError, r"num_resamples"),
    ],
)
def test_bad_input_of_indices(panel, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        vbcsim.sensitivity_indices(panel, **kwargs)


@settings(deadline=None, max_examples=25)
@given(
    st.one_of(
        st.just(math.inf),
        st.just(-math.inf),
        st.just(math.nan),
        st.text(max_size=3),
        st.none(),
        st.booleans(),
        st.lists(st.floats(0, 1), max_size=1),
    )
)
def test_a_bad_setting_names_the_factor(bad):
    with pytest.raises((TypeError, ValueError), match=r"factors\['shock_size'\]"):
        vbcsim.sensitivity(
            vbcsim.defaults.provider_panel(2_000), {"shock_size": (0.05, bad)}, n_scenarios=10, progress=False
        )


# ----------------------------------------------------------------------------- plain numpy


@settings(deadline=None, max_examples=50)
@given(
    st.integers(2, 40),
    st.floats(-1e6, 1e6),
    st.integers(0, 2**32 - 1),
)
def test_paired_standard_error_is_the_standard_error_of_the_differences(n, shift, seed):
    rng = np.random.default_rng(seed)
    base = rng.normal(1e6, 2e5, size=(n, 3))
    moved = base + shift + rng.normal(0, 1e3, size=(n, 3))
    se = paired_standard_error(moved - base)
    d = moved - base
    expected = np.sqrt(((d - d.mean(axis=0)) ** 2).sum(axis=0) / (n - 1) / n)
    np.testing.assert_allclose(se, expected, rtol=1e-9)
    # a setting that shifts every scenario alike has no noise; one that changes nothing has exactly 0
    assert np.all(paired_standard_error(base + 0.0 - base) == 0)
    assert np.all(paired_standard_error(np.full((n, 3), shift)) <= 1e-9 * max(abs(shift), 1.0))
