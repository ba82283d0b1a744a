"""Figures of a multi-year cube: the fan chart of cumulative results and the benchmark path."""

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import vbcsim  # noqa: E402
from vbcsim.contracts import FeeForService, SharedSavings  # noqa: E402
from vbcsim.contracts.agreement import Agreement  # noqa: E402
from vbcsim.frontends import plot  # noqa: E402
from vbcsim.frontends.plot_years import benchmark_path, fan_chart  # noqa: E402


@pytest.fixture(scope="module")
def cube() -> xr.Dataset:
    """The five partnership models over three years."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return vbcsim.compare(n_scenarios=64, seed=1, years=3)


@pytest.fixture(scope="module")
def agreement_cube() -> xr.Dataset:
    """An ACO whose benchmark is set from three status-quo years and rebased every two years, beside a
    plain fee-for-service model without a benchmark."""
    aco = vbcsim.Arrangement(
        (FeeForService(), SharedSavings(None, 0.5, 0.02, agreement=Agreement(length=2))),
        efficiency=vbcsim.Efficiency(0.04, 0.02),
    )
    ffs = vbcsim.Arrangement((FeeForService(),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return vbcsim.compare(
            vbcsim.defaults.provider_panel(4_000),
            models={"ACO": aco, "fee for service": ffs},
            n_scenarios=64,
            seed=3,
            years=3,
        )


def _xs(line) -> tuple:
    """A line's x values as a tuple of numbers."""
    return tuple(np.asarray(line.get_xdata(), dtype=float).tolist())


def _median_lines(ax) -> dict:
    """The panel's median lines (those with a label) by label."""
    return {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}


# ----------------------------------------------------------------------------- fan chart


def test_fan_chart_medians_start_at_the_origin(cube):
    fig = fan_chart(cube)
    fig.savefig("/tmp/plot_years_fan.png", dpi=100)
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert [ax.get_title(loc="left") for ax in axes] == ["provider", "payer"]
    for ax, party in zip(axes, ["provider", "payer"], strict=True):
        assert ax.get_xlabel() == "year of the agreement"
        assert ax.get_ylabel() == "cumulative net result ($)"
        lines = _median_lines(ax)
        for model, line in lines.items():
            x, y = line.get_data()
            np.testing.assert_array_equal(x, [0, 1, 2, 3])
            assert y[0] == 0.0
            expected = np.median(cube["cumulative_net"].sel(model=model, party=party).values, axis=0)
            np.testing.assert_allclose(y[1:], expected, rtol=1e-12)
        # every model is drawn with a median and two bands in both panels
        assert set(lines) == set(cube["model"].values.tolist())
        assert len(ax.collections) == 2 * len(lines)
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_texts[0] == "1 custom risk-based contract" and len(legend_texts) == 5
    assert "median (line), middle 50% and 90% of paths (bands)" in fig._suptitle.get_text()


def test_fan_chart_discounts_at_the_end_of_each_year(cube):
    rate = 0.05
    fig = fan_chart(cube, parties="payer", models=[1, "joint venture insurance product"], discount_rate=rate)
    fig.savefig("/tmp/plot_years_fan_pv.png", dpi=100)
    (ax,) = fig.axes
    assert "present value" in ax.get_ylabel()
    assert "present value at 5% a year" in fig._suptitle.get_text()
    net = cube["net"].sel(model="custom risk-based contract", party="payer").values  # scenario, year
    pv = np.cumsum(net * 1.05 ** -np.arange(1, 4), axis=1)
    _, y = _median_lines(ax)["custom risk-based contract"].get_data()
    np.testing.assert_allclose(y[1:], np.median(pv, axis=0), rtol=1e-12)
    assert set(_median_lines(ax)) == {"custom risk-based contract", "joint venture insurance product"}


def test_fan_chart_without_cumulative_net_sums_net(cube):
    ds = cube.drop_vars("cumulative_net")
    (ax,) = fan_chart(ds, parties=["provider"], models=2, bands=0.8).axes
    _, y = _median_lines(ax)["payer-branded value program"].get_data()
    cum = ds["net"].sel(model="payer-branded value program", party="provider").cumsum("year")
    np.testing.assert_allclose(y[1:], np.median(cum.values, axis=0), rtol=1e-12)
    assert len(ax.collections) == 1  # one band


def test_fan_chart_leaves_out_a_model_where_the_party_takes_no_part(cube):
    (ax,) = fan_chart(cube, parties="enabler").axes
    assert set(_median_lines(ax)) == {"third party-mediated relationship"}
    assert ax.get_title(loc="right") == "not a party in models 1, 2, 4, 5"


def test_fan_chart_is_also_vbcsim_plot_fan_chart():
    assert plot.fan_chart is fan_chart and plot.benchmark_path is benchmark_path
    assert vbcsim.plot.fan_chart is fan_chart


def test_fan_chart_rejects_bad_input(cube):
    single = cube.isel(year=0).drop_vars(["year", "trend_index"])
    with pytest.raises(
        ValueError, match=r"fan_chart needs a multi-year cube: simulate\(\.\.\., years=\.\.\.\)"
    ):
        fan_chart(single)
    with pytest.raises(ValueError, match="unknown party 'investor'"):
        fan_chart(cube, parties="investor")
    with pytest.raises(ValueError, match="unknown model 'capitation'"):
        fan_chart(cube, models="capitation")
    with pytest.raises(ValueError, match="model number 6 out of range"):
        fan_chart(cube, models=6)
    with pytest.raises(ValueError, match="bands must be a probability in"):
        fan_chart(cube, bands=(0.5, 1.0))
    with pytest.raises(ValueError, match="discount_rate must be at most"):
        fan_chart(cube, discount_rate=5)
    with pytest.raises(ValueError, match="discount_rate must be non-negative"):
        fan_chart(cube, discount_rate=-0.01)
    with pytest.raises(TypeError, match="ds must be an xarray.Dataset"):
        fan_chart(cube["net"])
    with pytest.raises(ValueError, match="no 'net' or 'cumulative_net'"):
        fan_chart(cube.drop_vars(["net", "cumulative_net"]))


# ----------------------------------------------------------------------------- benchmark path


def test_benchmark_path_with_an_agreement(agreement_cube):
    ds = agreement_cube
    fig = benchmark_path(ds, "ACO")
    fig.savefig("/tmp/plot_years_benchmark.png", dpi=100)
    assert isinstance(fig, Figure)
    top, bottom = fig.axes
    assert top.get_ylabel() == "$ per member per month"
    assert bottom.get_xlabel().startswith("year of the agreement")
    members = float(ds["members"].sum())
    lines = top.get_lines()
    medians = {_xs(line): line.get_ydata() for line in lines if line.get_linestyle() != ":"}
    # the status-quo baseline years, then the model's cost and the benchmark in years 1..3
    base = ds["baseline_cost"].sum("segment").values / (12 * members)
    np.testing.assert_allclose(medians[(-2, -1, 0)], np.median(base, axis=0), rtol=1e-12)
    bench = ds["benchmark"].sel(model="ACO").values / (12 * members)
    cost = ds["medical_cost"].sel(model="ACO").values / (12 * members)
    drawn = [line.get_ydata() for line in lines if _xs(line) == (1, 2, 3)]
    np.testing.assert_allclose(drawn[0], np.median(cost, axis=0), rtol=1e-12)
    np.testing.assert_allclose(drawn[1], np.median(bench, axis=0), rtol=1e-12)
    # periods of two years from the recorded agreement: dotted lines before years 1 and 3
    dotted = sorted({line.get_xdata()[0] for line in lines if line.get_linestyle() == ":"})
    assert dotted == [0.5, 2.5]
    # the mean gap, benchmark - cost, by year
    heights = [patch.get_height() for patch in bottom.patches]
    np.testing.assert_allclose(heights, (bench - cost).mean(axis=0), rtol=1e-9)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["status-quo cost (baseline years)", "actual cost under the model", "benchmark"]
    assert "1 ACO" in fig._suptitle.get_text()


def test_benchmark_path_periods_and_segments(agreement_cube):
    ds = agreement_cube
    fig = benchmark_path(ds, 1, segments=["adults_45_64"], periods=())
    top, _ = fig.axes
    assert not [line for line in top.get_lines() if line.get_linestyle() == ":"]
    members = float(ds["members"].sel(segment="adults_45_64"))
    share = ds["cost"].sel(segment="adults_45_64") / ds["cost"].sum("segment")
    cost = (ds["medical_cost"].sel(model="ACO") * share).values / (12 * members)
    drawn = [line.get_ydata() for line in top.get_lines() if _xs(line) == (1, 2, 3)]
    np.testing.assert_allclose(drawn[0], np.median(cost, axis=0), rtol=1e-12)
    fig = benchmark_path(ds, "ACO", periods=[2])
    dotted = {line.get_xdata()[0] for line in fig.axes[0].get_lines() if line.get_linestyle() == ":"}
    assert dotted == {1.5}


def test_benchmark_path_of_a_fixed_benchmark(cube):
    fig = benchmark_path(cube, "custom_contract")  # by model_key
    fig.savefig("/tmp/plot_years_benchmark_fixed.png", dpi=100)
    top, bottom = fig.axes
    assert bottom.get_xlabel() == "year of the agreement"  # no baseline years without an agreement
    assert not [line for line in top.get_lines() if line.get_linestyle() == ":"]
    book = int(cube["members"].where(~cube["pooled"], 0).sum())
    bench = cube["benchmark"].sel(model="custom risk-based contract").values / (12 * book)
    (drawn,) = [line.get_ydata() for line in top.get_lines() if line.get_linestyle() == "--"]
    np.testing.assert_allclose(drawn, np.median(bench, axis=0), rtol=1e-12)


def test_benchmark_path_rejects_bad_input(cube, agreement_cube):
    single = cube.isel(year=0).drop_vars(["year", "trend_index"])
    with pytest.raises(ValueError, match="benchmark_path needs a multi-year cube"):
        benchmark_path(single, 1)
    with pytest.raises(ValueError, match="has no benchmark"):
        benchmark_path(agreement_cube, "fee for service")
    with pytest.raises(ValueError, match="has no benchmark"):
        benchmark_path(cube, 4)  # capitation
    with pytest.raises(ValueError, match="unknown model 'ACO 2'"):
        benchmark_path(agreement_cube, "ACO 2")
    with pytest.raises(ValueError, match="shows one model"):
        benchmark_path(agreement_cube, ["ACO", "fee for service"])
    with pytest.raises(ValueError, match="unknown segment 'seniors'"):
        benchmark_path(agreement_cube, "ACO", segments="seniors")
    with pytest.raises(ValueError, match="book of business"):
        benchmark_path(cube, 1, segments="practice_2/children")
    with pytest.raises(ValueError, match=r"periods must be years in 1\.\.3"):
        benchmark_path(agreement_cube, "ACO", periods=[4])
    with pytest.raises(TypeError, match="periods must hold whole years"):
        benchmark_path(agreement_cube, "ACO", periods=[1.5])
