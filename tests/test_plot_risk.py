"""The figure of a benchmark payment split into efficiency, selection, coding and chance."""

import dataclasses
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.container import BarContainer, ErrorbarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import vbcsim  # noqa: E402
from vbcsim.contracts import FeeForService, SharedSavings  # noqa: E402
from vbcsim.frontends import plot  # noqa: E402
from vbcsim.frontends.plot_risk import COMPONENT_COLORS, decomposition  # noqa: E402

BENCHMARK_PMPM = 550.0


def _panel(members: int = 2_000) -> vbcsim.Population:
    """The built-in panel, chosen favourably: its expected cost is 93% of the population's."""
    selection = vbcsim.Selection(relative_cost=0.93)
    pop = vbcsim.defaults.provider_panel(members)
    return vbcsim.Population([dataclasses.replace(s, selection=selection) for s in pop.segments])


def _models() -> dict:
    def aco(efficiency, **terms):
        return vbcsim.Arrangement(
            (FeeForService(), SharedSavings(BENCHMARK_PMPM, 0.5, 0.02, **terms)), efficiency=efficiency
        )

    return {
        "shared savings": aco(vbcsim.Efficiency(0.03, 0.01)),
        "fee for service": vbcsim.Arrangement((FeeForService(),)),
        "risk adjusted": aco(vbcsim.Efficiency(0.0, 0.0), risk_adjusted=True),
    }


@pytest.fixture(scope="module")
def cube() -> xr.Dataset:
    """One year: a saving model, a model without a benchmark contract, a risk-adjusted coder."""
    return vbcsim.simulate(
        _panel(), _models(), n_scenarios=200, seed=4, risk_score=vbcsim.RiskScore(coding_intensity=0.05)
    )


@pytest.fixture(scope="module")
def cube_years() -> xr.Dataset:
    return vbcsim.simulate(
        _panel(),
        _models(),
        n_scenarios=100,
        seed=5,
        years=2,
        risk_score=vbcsim.RiskScore(coding_intensity=0.05),
    )


def _bars(fig: Figure) -> dict:
    """The stacked bars by component: (heights, bottoms) as float[models]."""
    ax = fig.axes[0]
    out = {}
    for container in ax.containers:
        if isinstance(container, BarContainer):
            out[container.get_label()] = (
                np.array([p.get_height() for p in container.patches]),
                np.array([p.get_y() for p in container.patches]),
            )
    return out


def _total(fig: Figure) -> tuple[np.ndarray, np.ndarray]:
    """The total markers' y values and their error bars' half lengths."""
    ax = fig.axes[0]
    drawn = [c for c in ax.containers if isinstance(c, ErrorbarContainer) and len(c.lines[0].get_ydata())]
    assert len(drawn) == 1
    line, _, (bars,) = drawn[0].lines
    y = np.asarray(line.get_ydata(), dtype=float)
    segments = bars.get_segments()
    half = np.array([(s[1][1] - s[0][1]) / 2 for s in segments])
    return y, half


def _expected(dec: xr.DataArray, models: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Component means (model, component), total means and their standard errors."""
    sub = dec.sel(model=models).transpose("scenario", "model", "component")
    means = sub.mean("scenario").values
    total = sub.sum("component").values
    se = total.std(axis=0, ddof=1) / math.sqrt(total.shape[0])
    return means, total.mean(axis=0), se


# ----------------------------------------------------------------------------- the figure


def test_bar_heights_are_the_component_means(cube):
    fig = decomposition(cube)
    fig.savefig("/tmp/plot_risk_decomposition.png", dpi=100)
    assert isinstance(fig, Figure)
    shown = ["shared savings", "risk adjusted"]
    means, _, _ = _expected(cube["decomposition"], shown)
    bars = _bars(fig)
    assert list(bars) == list(COMPONENT_COLORS)
    for k, component in enumerate(cube["component"].values.tolist()):
        heights, _ = bars[component]
        np.testing.assert_allclose(heights, means[:, k], rtol=1e-12, atol=1e-6)
    # the run has every effect: efficiency in model 1, selection in both, coding in the risk-adjusted one
    assert means[0, 0] > 0 and means[1, 0] == 0
    assert np.all(means[:, 1] > 0)
    assert means[0, 2] == 0 and means[1, 2] > 0


def test_total_marker_is_the_settlement_mean_with_two_standard_errors(cube):
    fig = decomposition(cube)
    shown = ["shared savings", "risk adjusted"]
    y, half = _total(fig)
    settlement = cube["settlement"].sel(model=shown, contract="shared_savings")
    np.testing.assert_allclose(y, settlement.mean("scenario").values, rtol=1e-9)
    se = settlement.std("scenario", ddof=1).values / math.sqrt(cube.sizes["scenario"])
    np.testing.assert_allclose(half, 2 * se, rtol=1e-9)
    _, totals, errors = _expected(cube["decomposition"], shown)
    np.testing.assert_allclose(y, totals, rtol=1e-9)
    np.testing.assert_allclose(half, 2 * errors, rtol=1e-9)


def test_models_without_a_benchmark_contract_are_left_out_and_named(cube):
    fig = decomposition(cube)
    ax = fig.axes[0]
    labels = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    assert labels == ["1 shared savings", "3 risk adjusted"]
    assert "no benchmark contract: 2 fee for service" in ax.get_xlabel().replace("\n", " ")
    assert ax.get_ylabel() == "mean payment to the provider ($)"
    assert "a year" in ax.get_title()


def test_models_by_name_or_number(cube):
    fig = decomposition(cube, models=[3])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["3 risk adjusted"]
    assert "not shown" not in fig.axes[0].get_xlabel()
    means, _, _ = _expected(cube["decomposition"], ["risk adjusted"])
    np.testing.assert_allclose(_bars(fig)["coding"][0], means[:, 2], rtol=1e-12)
    assert len(decomposition(cube, models="shared savings").axes[0].get_xticklabels()) == 1


def _synthetic(values: np.ndarray) -> xr.Dataset:
    """A cube with a given decomposition (scenario, model, component)."""
    models = [f"m{j}" for j in range(values.shape[1])]
    return xr.Dataset(
        {"decomposition": (("scenario", "model", "component"), values)},
        coords={"model": models, "component": list(COMPONENT_COLORS)},
    )


def test_negative_components_stack_below_zero():
    values = np.array(
        [
            [[3.0, -2.0, 1.0, -1.0], [np.nan] * 4, [-1.0, -1.0, 2.0, 0.5]],
            [[5.0, -4.0, 1.0, -3.0], [np.nan] * 4, [-3.0, -1.0, 2.0, 1.5]],
        ]
    )
    ds = _synthetic(values)
    fig = decomposition(ds)
    fig.savefig("/tmp/plot_risk_negative.png", dpi=100)
    bars = _bars(fig)
    # means: m0 (4, -3, 1, -2), m2 (-2, -1, 2, 1)
    np.testing.assert_allclose(bars["efficiency"][0], [4, -2])
    np.testing.assert_allclose(bars["efficiency"][1], [0, 0])
    np.testing.assert_allclose(bars["selection"][1], [0, -2])  # m0 from zero down; m2 below efficiency
    np.testing.assert_allclose(bars["coding"][1], [4, 0])  # stacked on the positive side
    np.testing.assert_allclose(bars["random"][1], [-3, 2])
    y, half = _total(fig)
    np.testing.assert_allclose(y, [0.0, 0.0])
    # totals per scenario: m0 (1, -1), m2 (0.5, -0.5); standard errors of their means 1 and 0.5
    np.testing.assert_allclose(half, [2.0, 1.0])
    assert "no benchmark contract: 2 m1" in fig.axes[0].get_xlabel().replace("\n", " ")


# ----------------------------------------------------------------------------- years


def test_a_multi_year_cube_sums_over_the_years_or_shows_one(cube_years):
    dec = cube_years["decomposition"]
    assert dec.dims == ("scenario", "year", "model", "component")
    shown = ["shared savings", "risk adjusted"]
    fig = decomposition(cube_years)
    fig.savefig("/tmp/plot_risk_years.png", dpi=100)
    means, totals, _ = _expected(dec.sum("year"), shown)
    bars = _bars(fig)
    np.testing.assert_allclose(bars["selection"][0], means[:, 1], rtol=1e-12)
    y, _ = _total(fig)
    settlement = cube_years["settlement"].sel(model=shown, contract="shared_savings").sum("year")
    np.testing.assert_allclose(y, settlement.mean("scenario").values, rtol=1e-9)
    assert "summed over years 1\N{EN DASH}2" in fig.axes[0].get_title()

    fig = decomposition(cube_years, year=2)
    means, totals, errors = _expected(dec.sel(year=2), shown)
    np.testing.assert_allclose(_bars(fig)["coding"][0], means[:, 2], rtol=1e-12)
    y, half = _total(fig)
    np.testing.assert_allclose(y, totals, rtol=1e-9)
    np.testing.assert_allclose(half, 2 * errors, rtol=1e-9)
    assert "in year 2" in fig.axes[0].get_title()


# ----------------------------------------------------------------------------- errors


def test_errors(cube, cube_years):
    with pytest.raises(TypeError, match="xarray.Dataset"):
        decomposition(cube["decomposition"])
    plain = vbcsim.simulate(
        vbcsim.defaults.provider_panel(500), {"aco": _models()["shared savings"]}, n_scenarios=20, seed=1
    )
    with pytest.raises(ValueError, match="run vbcsim.simulate or vbcsim.compare with risk_score="):
        decomposition(plain)
    with pytest.raises(ValueError, match="no 'year' dimension"):
        decomposition(cube, year=1)
    with pytest.raises(ValueError, match="year 3 is not in the cube"):
        decomposition(cube_years, year=3)
    with pytest.raises(TypeError, match="whole number"):
        decomposition(cube_years, year="1")
    with pytest.raises(TypeError, match="whole number"):
        decomposition(cube_years, year=True)
    with pytest.raises(ValueError, match="none of the chosen models has a benchmark contract"):
        decomposition(cube, models="fee for service")
    with pytest.raises(ValueError, match="unknown model"):
        decomposition(cube, models="capitation")
    with pytest.raises(ValueError, match="out of range"):
        decomposition(cube, models=4)


def test_reachable_from_vbcsim_plot():
    import vbcsim.plot

    assert vbcsim.plot.decomposition is decomposition
    assert plot.decomposition is decomposition
