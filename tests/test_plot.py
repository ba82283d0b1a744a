"""Figures of the result cube: structure of what is drawn, and checks on the input."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from vbcsim import plot  # noqa: E402

MODELS = ["custom risk-based contract", "payer-branded value program", "third party-mediated relationship"]
PARTIES = ["payer", "provider", "enabler", "reinsurer"]


def _cube(n: int = 400, seed: int = 0) -> xr.Dataset:
    """Small hand-made cube: enabler only in model 3, reinsurer only in model 1, constant payer in model 2."""
    rng = np.random.default_rng(seed)
    cost = 1e6 * (1.0 + 0.1 * rng.standard_normal(n))
    medical = np.stack([cost, 0.98 * cost, 0.97 * cost], axis=1)
    net = np.zeros((n, len(MODELS), len(PARTIES)))
    net[:, 0, 0] = 1.1e6 - 0.5 * medical[:, 0] - 2e5 * rng.random(n)
    net[:, 0, 1] = 0.5 * medical[:, 0] - 0.85 * medical[:, 0] + 4e5
    net[:, 0, 3] = 1e4 - 0.2 * np.maximum(medical[:, 0] - 1.1e6, 0)
    net[:, 1, 0] = 5e4  # capitated payer: the same result every year
    net[:, 1, 1] = 1.05e6 - 0.85 * medical[:, 1]
    net[:, 2, 0] = 1.1e6 - 0.6 * medical[:, 2]
    net[:, 2, 1] = 0.4 * medical[:, 2] - 0.85 * medical[:, 2] + 3e5
    net[:, 2, 2] = 2e4 + 3e4 * rng.standard_normal(n)
    return xr.Dataset(
        {
            "net": (("scenario", "model", "party"), net),
            "medical_cost": (("scenario", "model"), medical),
        },
        coords={"scenario": np.arange(n), "model": MODELS, "party": PARTIES},
    )


def _reference_summary(ds: xr.Dataset, levels=(0.95, 0.99)) -> xr.Dataset:
    """Summary with the contract's formulas, independent of vbcsim.metrics."""
    net, cost = ds.net, ds.medical_cost
    loss = -net
    var_, tvar = [], []
    for p in levels:
        q = loss.quantile(p, dim="scenario", method="inverted_cdf").drop_vars("quantile")
        var_.append(q)
        tvar.append(q + (loss - q).clip(min=0).mean("scenario") / (1 - p))
    dc = cost - cost.mean("scenario")
    share = -((net - net.mean("scenario")) * dc).mean("scenario") / (dc**2).mean("scenario")
    return xr.Dataset(
        {
            "mean": net.mean("scenario"),
            "std": net.std("scenario"),
            "risk_share": share,
            "value_at_risk": xr.concat(var_, dim="level").assign_coords(level=list(levels)),
            "tail_value_at_risk": xr.concat(tvar, dim="level").assign_coords(level=list(levels)),
        }
    ).transpose("level", "model", "party")


def _have_summarize() -> bool:
    try:
        from vbcsim.results.metrics import summarize  # noqa: F401
    except ImportError:
        return False
    return True


needs_summarize = pytest.mark.skipif(not _have_summarize(), reason="vbcsim.metrics.summarize not available")


@pytest.fixture(scope="module")
def cube() -> xr.Dataset:
    return _cube()


@pytest.fixture(scope="module")
def summary(cube) -> xr.Dataset:
    return _reference_summary(cube)


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    yield
    # the module never registers figures with pyplot
    assert plt.get_fignums() == before
    plt.close("all")


def _step_patches(ax):
    return [p for p in ax.patches if isinstance(p, StepPatch)]


def _legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


# ----------------------------------------------------------------------------- helpers


def test_money_format():
    f = plot._format_money
    assert f(0.0) == "$0"
    assert f(950.0) == "$950"
    assert f(12_000.0) == "$12k"
    assert f(1_500_000.0) == "$1.5M"
    assert f(-2_250_000.0) == "\N{MINUS SIGN}$2.25M"
    assert f(3e9) == "$3B"


def test_model_label_numbers_and_wraps():
    assert plot.model_label(0, "custom risk-based contract", width=None) == "1 custom risk-based contract"
    wrapped = plot.model_label(4, "joint venture insurance product", width=16)
    assert wrapped.startswith("5 joint venture")
    assert all(len(line) <= 16 for line in wrapped.split("\n"))


def test_label_offsets_separate_crowded_points():
    offsets = plot._label_offsets([(0.0, 1.0), (10.0, 20.0), (10.1, 20.2), (10.0, 19.9), (5.0, 5.0)])
    assert offsets[0] == offsets[4] == (4, 3)  # alone: upper right
    assert offsets[2] == (4, 3)  # the highest of the crowded three is labelled above
    assert offsets[1] == (4, -3)
    assert offsets[3] == (-4, 3)
    assert plot._label_offsets([]) == []


# ----------------------------------------------------------------------------- net_distributions


def test_net_distributions_default_panels_skip_zero_parties(cube):
    fig = plot.net_distributions(cube, bins=20)
    assert isinstance(fig, Figure)
    # every party takes part in some model here
    assert [ax.get_title(loc="left") for ax in fig.axes] == PARTIES
    by_party = dict(zip(PARTIES, fig.axes, strict=True))
    # payer: models 1 and 3 vary (step line + mean line), model 2 is constant (mean line only)
    payer = by_party["payer"]
    assert len(_step_patches(payer)) == 2
    assert all(len(p.get_data().values) == 20 for p in _step_patches(payer))
    assert len(payer.lines) == 3 + 1  # one per model + the zero line
    means = sorted(line.get_xdata()[0] for line in payer.lines[:-1] if line.get_linestyle() == "--")
    np.testing.assert_allclose(
        means, sorted(float(cube.net.sel(model=m, party="payer").mean()) for m in MODELS[::2])
    )
    # histogram heights are shares of scenarios
    for patch in _step_patches(payer):
        assert patch.get_data().values.sum() == pytest.approx(1.0)
    # enabler only in model 3, reinsurer only in model 1; the others are noted, not drawn
    assert len(_step_patches(by_party["enabler"])) == 1
    assert len(_step_patches(by_party["reinsurer"])) == 1
    assert by_party["enabler"].get_title(loc="right") == "not a party in models 1, 2"
    assert by_party["reinsurer"].get_title(loc="right") == "not a party in models 2, 3"
    assert by_party["payer"].get_title(loc="right") == ""
    assert _legend_texts(fig) == [f"{i + 1} {m}" for i, m in enumerate(MODELS)]


def test_net_distributions_skips_party_zero_everywhere(cube):
    ds = cube.copy(deep=True)
    ds["net"].loc[{"party": "reinsurer"}] = 0.0
    fig = plot.net_distributions(ds)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["payer", "provider", "enabler"]


def test_net_distributions_selection_by_name_and_number(cube):
    fig = plot.net_distributions(cube, parties="provider", models=[3, "custom risk-based contract"])
    assert len(fig.axes) == 1
    (ax,) = fig.axes
    assert len(_step_patches(ax)) == 2
    assert _legend_texts(fig) == ["3 third party-mediated relationship", "1 custom risk-based contract"]
    # tick labels are currency
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all("$" in t for t in labels)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parties": "insurer"}, "unknown party 'insurer'; valid partys: \\['payer'"),
        ({"models": "model 9"}, "unknown model 'model 9'; valid models"),
        ({"models": 4}, "model number 4 out of range 1..3"),
        ({"models": []}, "no model selected"),
    ],
)
def test_net_distributions_bad_selection(cube, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot.net_distributions(cube, **kwargs)


def test_net_distributions_bad_input(cube):
    with pytest.raises(ValueError, match="ds has no 'net' variable: run vbcsim.compare"):
        plot.net_distributions(cube.drop_vars("net"))
    with pytest.raises(ValueError, match="has dims"):
        plot.net_distributions(cube.assign(net=cube.net.isel(party=0)))
    with pytest.raises(TypeError, match="xarray.Dataset"):
        plot.net_distributions(cube.net)
    with pytest.raises(ValueError, match="bins"):
        plot.net_distributions(cube, bins=0)
    with pytest.raises(ValueError, match="nothing to plot"):
        plot.net_distributions(cube.assign(net=cube.net * 0))


# ----------------------------------------------------------------------------- risk_return


def test_risk_return_points_per_model(cube, summary):
    fig = plot.risk_return(cube, level=0.95, summary=summary)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == PARTIES
    by_party = dict(zip(PARTIES, fig.axes, strict=True))
    payer = by_party["payer"]
    assert len(payer.collections) == 3
    assert [t.get_text() for t in payer.texts] == ["1", "2", "3"]
    for i, model in enumerate(MODELS):
        (x, y) = payer.collections[i].get_offsets()[0]
        assert x == pytest.approx(
            float(summary.tail_value_at_risk.sel(level=0.95, model=model, party="payer"))
        )
        assert y == pytest.approx(float(summary["mean"].sel(model=model, party="payer")))
    # models in which a party takes no part have no point
    assert [t.get_text() for t in by_party["enabler"].texts] == ["3"]
    assert [t.get_text() for t in by_party["reinsurer"].texts] == ["1"]
    assert "TVaR 0.95" in payer.get_xlabel()
    assert _legend_texts(fig) == [f"{i + 1} {m}" for i, m in enumerate(MODELS)]


def test_risk_return_selection(summary):
    fig = plot.risk_return(None, level=0.99, summary=summary, parties=["provider"], models=[2, 3])
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.texts] == ["2", "3"]


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1])
def test_risk_return_level_outside_unit_interval(cube, summary, level):
    with pytest.raises(ValueError, match="level"):
        plot.risk_return(cube, level=level, summary=summary)


def test_risk_return_bad_input(cube, summary):
    with pytest.raises(ValueError, match="summary has no level 0.9; its levels are \\[0.95, 0.99\\]"):
        plot.risk_return(cube, level=0.9, summary=summary)
    with pytest.raises(ValueError, match="summary has no 'tail_value_at_risk' variable"):
        plot.risk_return(cube, summary=summary.drop_vars("tail_value_at_risk"))
    with pytest.raises(ValueError, match="give ds"):
        plot.risk_return(None)
    with pytest.raises(ValueError, match="ds has no 'net' variable"):
        plot.risk_return(cube.drop_vars("net"))
    with pytest.raises(ValueError, match="unknown party 'members'"):
        plot.risk_return(cube, summary=summary, parties="members")


@needs_summarize
def test_risk_return_computes_summary(cube):
    fig = plot.risk_return(cube, level=0.975)
    assert "TVaR 0.975" in fig.axes[0].get_xlabel()
    assert len(fig.axes[0].collections) == 3


# ----------------------------------------------------------------------------- risk_shares


def test_risk_shares_bar_heights(cube, summary):
    fig = plot.risk_shares(cube, summary=summary)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_label() for b in bars] == PARTIES
    for party, container in zip(PARTIES, bars, strict=True):
        heights = [rect.get_height() for rect in container]
        np.testing.assert_allclose(heights, summary.risk_share.sel(party=party, model=MODELS).values)
    # line at zero, totals above the groups, the identity in the title
    assert any(np.all(np.asarray(line.get_ydata()) == 0) for line in ax.lines)
    totals = summary.risk_share.sum("party").values
    assert [t.get_text() for t in ax.texts] == [f"\N{N-ARY SUMMATION} {t:.2f}" for t in totals]
    assert "cost of care per allowed $ less what MLR rebates absorb" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()][0].startswith("1 custom")


def test_risk_shares_hand_made_values():
    summary = xr.Dataset(
        {
            "risk_share": (("model", "party"), [[0.5, 0.35, 0.0, 0.0], [0.0, 0.85, 0.0, 0.0]]),
            "mean": (("model", "party"), [[1.0, 2.0, 0.0, 0.0], [5.0, 3.0, 0.0, 0.0]]),
            "std": (("model", "party"), [[1.0, 2.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]]),
        },
        coords={"model": ["a", "b"], "party": PARTIES},
    )
    fig = plot.risk_shares(None, summary=summary)
    (ax,) = fig.axes
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_label() for b in bars] == ["payer", "provider"]  # enabler, reinsurer absent
    assert [r.get_height() for r in bars[0]] == [0.5, 0.0]
    assert [r.get_height() for r in bars[1]] == [0.35, 0.85]
    assert [t.get_text() for t in ax.texts] == ["\N{N-ARY SUMMATION} 0.85", "\N{N-ARY SUMMATION} 0.85"]


def test_risk_shares_bad_input(cube, summary):
    with pytest.raises(ValueError, match="summary has no 'risk_share' variable"):
        plot.risk_shares(cube, summary=summary.drop_vars("risk_share"))
    with pytest.raises(ValueError, match="unknown model 'x'"):
        plot.risk_shares(cube, summary=summary, models=["x"])
    with pytest.raises(ValueError, match="ds has no 'net' variable"):
        plot.risk_shares(cube.drop_vars("net"))


@needs_summarize
def test_risk_shares_computes_summary(cube, summary):
    fig = plot.risk_shares(cube)
    bars = [c for c in fig.axes[0].containers if isinstance(c, BarContainer)]
    heights = [r.get_height() for r in bars[1]]
    np.testing.assert_allclose(heights, summary.risk_share.sel(party="provider").values, rtol=1e-6)


# ----------------------------------------------------------------------------- settlement_probability


def _curve() -> xr.Dataset:
    sizes = [1_000, 5_000, 20_000]
    contracts = ["fee_for_service", "shared_savings", "risk_corridor", "specific_stop_loss"]
    nan = np.nan
    pay = np.array(
        [  # panel_size, model, contract
            [[1.0, 0.40, nan, nan], [nan, nan, 0.30, 0.9], [1.0, nan, nan, 0.0]],
            [[1.0, 0.30, nan, nan], [nan, nan, 0.20, 0.7], [1.0, nan, nan, 0.0]],
            [[1.0, 0.10, nan, nan], [nan, nan, 0.00, 0.4], [1.0, nan, nan, 0.0]],
        ]
    )
    rec = np.array(
        [
            [[0.0, 0.0, nan, nan], [nan, nan, 0.30, 0.0], [0.0, nan, nan, 0.0]],
            [[0.0, 0.0, nan, nan], [nan, nan, 0.10, 0.0], [0.0, nan, nan, 0.0]],
            [[0.0, 0.0, nan, nan], [nan, nan, 0.05, 0.0], [0.0, nan, nan, 0.0]],
        ]
    )
    dims = ("panel_size", "model", "contract")
    return xr.Dataset(
        {"prob_payment": (dims, pay), "prob_recoupment": (dims, rec)},
        coords={"panel_size": sizes, "model": MODELS, "contract": contracts},
    )


def test_settlement_probability_lines():
    curve = _curve()
    fig = plot.settlement_probability(curve)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    first, second, third = fig.axes
    assert first.get_title().startswith("1 custom risk-based")
    # model 1: fee_for_service always pays (skipped); shared savings pays, never recoups
    assert [line.get_label() for line in first.lines] == ["shared_savings: P(payment)"]
    np.testing.assert_allclose(first.lines[0].get_ydata(), [0.4, 0.3, 0.1])
    np.testing.assert_allclose(first.lines[0].get_xdata(), [1_000, 5_000, 20_000])
    # model 2: corridor pays and recoups; stop-loss pays
    assert [line.get_label() for line in second.lines] == [
        "risk_corridor: P(payment)",
        "risk_corridor: P(recoupment)",
        "specific_stop_loss: P(payment)",
    ]
    assert second.lines[1].get_linestyle() == "--"
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    fig.canvas.draw()
    assert [t.get_text() for t in first.get_xticklabels()] == ["1k", "5k", "20k"]
    # model 3: nothing contingent
    assert len(third.lines) == 0
    assert [t.get_text() for t in third.texts] == ["no contingent settlement"]


def test_settlement_probability_sorts_sizes():
    curve = _curve().isel(panel_size=[2, 0, 1])
    fig = plot.settlement_probability(curve)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_xdata(), [1_000, 5_000, 20_000])
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [0.4, 0.3, 0.1])


def test_settlement_probability_bad_input(cube):
    curve = _curve()
    with pytest.raises(ValueError, match="curve has no 'prob_recoupment' variable: make it with"):
        plot.settlement_probability(curve.drop_vars("prob_recoupment"))
    with pytest.raises(ValueError, match="curve has no 'prob_payment' variable"):
        plot.settlement_probability(cube)
    with pytest.raises(ValueError, match="positive"):
        plot.settlement_probability(curve.assign_coords(panel_size=[0, 5_000, 20_000]))
    with pytest.raises(TypeError, match="curve must be an xarray.Dataset"):
        plot.settlement_probability(curve.prob_payment)


def test_figures_save_to_png(tmp_path, cube, summary):
    for i, fig in enumerate(
        [
            plot.net_distributions(cube),
            plot.risk_return(cube, summary=summary),
            plot.risk_shares(cube, summary=summary),
            plot.settlement_probability(_curve()),
        ]
    ):
        path = tmp_path / f"f{i}.png"
        fig.savefig(path, dpi=40)
        assert path.stat().st_size > 0


# ----------------------------------------------------------------------------- end to end


def test_end_to_end_compare():
    import vbcsim
    from vbcsim.population.defaults import commercial_population

    population = commercial_population(0.02)
    ds = vbcsim.compare(population, n_scenarios=200, seed=1)
    models = ds["model"].values.tolist()
    summary = vbcsim.summarize(ds)
    takes_part = (ds.net != 0).any("scenario")  # model, party

    fig = plot.net_distributions(ds)
    parties = [p for p in ds["party"].values.tolist() if bool(takes_part.sel(party=p).any())]
    assert [ax.get_title(loc="left") for ax in fig.axes] == parties
    for ax, party in zip(fig.axes, parties, strict=True):
        n_models = int(takes_part.sel(party=party).sum())
        drawn = len(_step_patches(ax)) + sum(line.get_linestyle() == "-" for line in ax.lines[:-1])
        assert drawn == n_models
    assert len(_legend_texts(fig)) == len(models) == 5

    fig = plot.risk_return(ds)
    for ax, party in zip(fig.axes, parties, strict=True):
        numbers = [str(i + 1) for i, m in enumerate(models) if bool(takes_part.sel(model=m, party=party))]
        assert [t.get_text() for t in ax.texts] == numbers

    fig = plot.risk_shares(ds, summary=summary)
    bars = [c for c in fig.axes[0].containers if isinstance(c, BarContainer)]
    for container in bars:
        heights = [r.get_height() for r in container]
        np.testing.assert_allclose(heights, summary.risk_share.sel(party=container.get_label()).values)

    curve = vbcsim.settlement_curve(population, sizes=(500, 2_000), n_scenarios=100, seed=1)
    fig = plot.settlement_probability(curve)
    assert len(fig.axes) == len(models)
    for ax in fig.axes:
        assert all(not label.startswith("fee_for_service") for label in (ln.get_label() for ln in ax.lines))
