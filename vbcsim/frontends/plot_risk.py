"""The figure of a benchmark payment split into efficiency, selection, coding and chance.

:func:`decomposition` takes a Dataset of :func:`vbcsim.simulate` or :func:`vbcsim.compare` run
with a :class:`vbcsim.RiskScore` (``risk_score=``) or a segment's :class:`vbcsim.Selection`,
whose ``decomposition`` variable splits each model's benchmark-contract payment (payer ->
provider, the settlement of its shared-savings contract) into the four Shapley components of
:mod:`vbcsim.contracts.decompose`, and returns a :class:`matplotlib.figure.Figure` made
without pyplot, as every figure of :mod:`vbcsim.frontends.plot` (it is importable from there
too): one stacked bar per model, the mean of each component, with the mean total payment and
its ±2 standard errors.
"""

from __future__ import annotations

import math
import numbers
import textwrap
from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from vbcsim._figures import MONEY, format_money

__all__ = ["decomposition", "COMPONENT_COLORS"]

#: the colour of each component, the same in every figure
COMPONENT_COLORS = {"efficiency": "#2ca02c", "selection": "#ff7f0e", "coding": "#9467bd", "random": "#bdbdbd"}
#: the hint of the error on a cube without a decomposition
_HINT = (
    "run vbcsim.simulate or vbcsim.compare with risk_score= (a vbcsim.RiskScore) or a Selection on a "
    "segment (vbcsim.Segment(..., selection=vbcsim.Selection(...)))"
)


def _plot():
    """:mod:`vbcsim.frontends.plot`, imported on use: it imports this module at its end, so a top-level
    import here would fail when this module is imported first."""
    from vbcsim.frontends import plot

    return plot


def _pick_year(var: xr.DataArray, year) -> tuple[xr.DataArray, str]:
    """The decomposition of one year (``year``) or summed over the years (None), and the period's words."""
    multi = "year" in var.dims
    if year is None:
        if not multi:
            return var, "a year"
        years = sorted(var["year"].values.tolist())
        span = f"year {years[0]}" if len(years) == 1 else f"years {years[0]}\N{EN DASH}{years[-1]}"
        return var.sum("year", skipna=False), f"summed over {span}"
    if isinstance(year, bool) or not isinstance(year, numbers.Integral):
        raise TypeError(f"decomposition: year must be a whole number (a year of the cube), got {year!r}")
    if not multi:
        raise ValueError(
            "decomposition: year= picks one year of a multi-year cube (simulate(..., years=...)); "
            "ds has no 'year' dimension"
        )
    years = var["year"].values.tolist()
    if int(year) not in years:
        raise ValueError(f"decomposition: year {year} is not in the cube; its years are {years}")
    return var.sel(year=int(year)), f"in year {int(year)}"


def decomposition(
    ds: xr.Dataset,
    models: str | int | Sequence[str | int] | None = None,
    year: int | None = None,
) -> Figure:
    """What each model's benchmark payment to the provider is made of: efficiency, selection, coding, chance.

    Parameters
    ----------
    ds : xarray.Dataset
        a result of :func:`vbcsim.simulate` (with models) or :func:`vbcsim.compare` run with
        ``risk_score=`` or a segment's :class:`vbcsim.Selection`: ``decomposition``
        (scenario[, year], model, component), the Shapley split of each model's
        benchmark-contract payment (payer -> provider) into efficiency, selection, coding and
        random, summing to the payment in every scenario.
    models : str, int or sequence, optional
        models to show, by name or 1-based number (default: all).  Models without a benchmark
        contract (their decomposition is NaN) are left out and named below the axis.
    year : int, optional
        a multi-year cube: the year to show (a value of its ``year`` coordinate).  None
        (default): each scenario's payments summed over the years.

    Returns
    -------
    matplotlib.figure.Figure
        one axes: per model a stacked bar of the mean of each component over the scenarios
        (positive components stacked up from zero, negative ones down from zero, in the order
        efficiency, selection, coding, random), a diamond at the mean total payment with
        error bars of ±2 standard errors of that mean, and its value written above the bar;
        amounts in the cube's currency per year (or over the years summed).

    Raises
    ------
    TypeError
        ``ds`` is not an xarray.Dataset, or ``year`` is not a whole number.
    ValueError
        ``ds`` has no ``decomposition`` (a run without a risk score or a selection), an
        unknown model or year, ``year`` on a single-year cube, or none of the chosen models
        has a benchmark contract.
    """
    plot = _plot()
    ds = plot._check_dataset(ds)
    if "decomposition" not in ds.data_vars:
        raise ValueError(f"ds has no 'decomposition' variable: {_HINT}")
    multi = "year" in ds["decomposition"].dims
    dims = ("scenario", "year", "model", "component") if multi else ("scenario", "model", "component")
    var = plot._require(ds, "decomposition", dims, _HINT)
    components = var["component"].values.tolist()
    unknown = [c for c in components if c not in COMPONENT_COLORS]
    if unknown:
        raise ValueError(
            f"ds['decomposition'] has unknown components {unknown}; expected {list(COMPONENT_COLORS)}"
        )
    var, period = _pick_year(var, year)
    var = var.transpose("scenario", "model", "component")
    all_models = var["model"].values.tolist()
    models = plot._select(models, all_models, "model", numbered=True)
    values = var.sel(model=models).values  # scenario, model, component
    without = [m for j, m in enumerate(models) if np.all(np.isnan(values[:, j, :]))]
    shown = [j for j, m in enumerate(models) if m not in without]
    if not shown:
        names = ", ".join(plot.model_label(all_models.index(m), m, width=None) for m in without)
        raise ValueError(
            f"none of the chosen models has a benchmark contract (a SharedSavings or a glide path): {names}; "
            "nothing to decompose"
        )

    n = len(shown)
    fig = Figure(figsize=(max(5.0, 1.25 * n + 2.8), 4.8), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(n, dtype=float)
    up, down = np.zeros(n), np.zeros(n)
    means = np.empty((n, len(components)))
    totals, errors = np.empty(n), np.empty(n)
    for i, j in enumerate(shown):
        rows = values[:, j, :]
        rows = rows[np.all(np.isfinite(rows), axis=1)]
        means[i] = rows.mean(axis=0)
        total = rows.sum(axis=1)
        totals[i] = total.mean()
        errors[i] = total.std(ddof=1) / math.sqrt(total.size) if total.size > 1 else 0.0
    for k, component in enumerate(components):
        heights = means[:, k]
        bottom = np.where(heights >= 0.0, up, down)
        ax.bar(
            x,
            heights,
            0.6,
            bottom=bottom,
            color=COMPONENT_COLORS[component],
            edgecolor="white",
            linewidth=0.6,
            label=component,
        )
        up = np.where(heights >= 0.0, up + heights, up)
        down = np.where(heights < 0.0, down + heights, down)
    ax.errorbar(
        x,
        totals,
        yerr=2.0 * errors,
        fmt="D",
        color="black",
        markerfacecolor="white",
        markersize=6,
        elinewidth=1.2,
        capsize=4,
        zorder=3,
    )
    top = np.maximum(up, totals + 2.0 * errors)
    for xi, total, t in zip(x, totals, top, strict=True):
        total = 0.0 if abs(total) < 0.005 else total  # components that cancel leave rounding noise, not cents
        ax.annotate(
            f"\N{N-ARY SUMMATION} {format_money(total)}",
            (xi, t),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color="0.2",
        )
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(
        x, [plot.model_label(all_models.index(models[j]), models[j], width=16) for j in shown], fontsize=8
    )
    ax.yaxis.set_major_formatter(MONEY)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.margins(y=0.12)
    ax.set_ylabel("mean payment to the provider ($)")
    xlabel = "model"
    if without:
        names = ", ".join(plot.model_label(all_models.index(m), m, width=None) for m in without)
        note = textwrap.fill(f"not shown, no benchmark contract: {names}", width=int(11 * fig.get_figwidth()))
        xlabel += "\n" + note
    ax.set_xlabel(xlabel, fontsize=9)
    ax.grid(axis="y", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    handles = [
        Patch(color=COMPONENT_COLORS[c], label="random (chance)" if c == "random" else c) for c in components
    ]
    handles.append(
        ax.errorbar(
            [],
            [],
            yerr=[],
            fmt="D",
            color="black",
            markerfacecolor="white",
            capsize=4,
            label="total, mean \N{PLUS-MINUS SIGN} 2 SE",
        )
    )
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    ax.set_title(
        f"What the provider's benchmark payment is made of\n(mean per scenario, {period})", fontsize=10
    )
    return fig
