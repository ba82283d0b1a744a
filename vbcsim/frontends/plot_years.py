"""Figures of a multi-year result cube: cumulative results and benchmarks over the agreement's years.

Both functions take a Dataset of :func:`vbcsim.compare` (or :func:`vbcsim.simulate` with
models) run with ``years=`` greater than one, whose per-scenario variables have a ``year``
dimension, and return a :class:`matplotlib.figure.Figure` made without pyplot, as every
figure of :mod:`vbcsim.frontends.plot` (both are importable from there too):

- :func:`fan_chart`: each party's cumulative net result by year, per model the median path
  and the central bands of the simulated paths;
- :func:`benchmark_path`: one model's benchmark against its actual cost, per member per
  month, by year, after the status-quo years that set the first benchmark.
"""

from __future__ import annotations

import json
import math
import numbers
import textwrap
from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from vbcsim._figures import MONEY
from vbcsim._validation import check_nonnegative, check_probability

__all__ = ["fan_chart", "benchmark_path"]

#: the hint of the errors on a cube without a ``year`` dimension
_YEARS_HINT = "needs a multi-year cube: simulate(..., years=...) or compare(..., years=...)"
#: the largest discount rate accepted: a rate above 100% a year is far more likely a percentage (5 for 5%)
MAX_DISCOUNT_RATE = 1.0


def _plot():
    """:mod:`vbcsim.frontends.plot`, imported on use: it imports this module at its end, so a top-level
    import here would fail when this module is imported first."""
    from vbcsim.frontends import plot

    return plot


def _multi_year(ds, owner: str) -> xr.Dataset:
    ds = _plot()._check_dataset(ds)
    if "year" not in ds.dims:
        raise ValueError(f"{owner} {_YEARS_HINT}; ds has no 'year' dimension")
    return ds.sortby("year")


def _year_dims(ds: xr.Dataset, name: str, rest: tuple[str, ...], hint: str) -> xr.DataArray:
    """``ds[name]`` as (scenario, year, *rest), after checking it has exactly these dims."""
    return _plot()._require(ds, name, ("scenario", "year", *rest), hint)


def _check_bands(bands) -> list[float]:
    """The central coverages of the bands, each in (0, 1), widest first."""
    if isinstance(bands, numbers.Real) and not isinstance(bands, bool):
        bands = (bands,)
    if isinstance(bands, (str, bytes)) or not isinstance(bands, Sequence):
        raise TypeError(f"fan_chart: bands must be a sequence of coverages such as (0.5, 0.9), got {bands!r}")
    out = sorted(
        {check_probability("bands", b, owner="fan_chart", open_low=True, open_high=True) for b in bands},
        reverse=True,
    )
    return out


def _band_alpha(k: int, n: int) -> float:
    """Opacity of band k of n, widest (k = 0) lightest; overlapping bands add up to darker centres."""
    return 0.12 if n == 1 else 0.10 + 0.06 * k


def _discounted_sum(net: xr.DataArray, rate: float) -> xr.DataArray:
    """Cumulative sum over ``year`` of ``net`` with year t (its t-th, from 1) discounted by (1 + rate)^-t."""
    if rate == 0:
        return net.cumsum("year")
    t = np.arange(1, net.sizes["year"] + 1, dtype=float)
    return (net * xr.DataArray((1.0 + rate) ** -t, dims="year", coords={"year": net["year"]})).cumsum("year")


def _percent(p: float) -> str:
    return f"{100 * p:.3g}%"


def _bands_text(bands: list[float]) -> str:
    """``middle 50% and 90% of paths`` (narrowest first)."""
    names = [_percent(b) for b in sorted(bands)]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"middle {joined} of paths"


# ----------------------------------------------------------------------------- fan chart


def fan_chart(
    ds: xr.Dataset,
    parties: str | Sequence[str] = ("provider", "payer"),
    models: str | int | Sequence[str | int] | None = None,
    bands: Sequence[float] = (0.5, 0.9),
    discount_rate: float = 0.0,
) -> Figure:
    """Each party's cumulative net result over the years of the agreement: median and bands per model.

    Parameters
    ----------
    ds : xarray.Dataset
        a multi-year result of :func:`vbcsim.compare` or :func:`vbcsim.simulate`
        (``years=`` > 1 or an agreement): ``cumulative_net`` (scenario, year, model, party),
        or ``net`` (scenario, year, model, party), summed here over the years.
    parties : str or sequence of str
        one panel per party, in this order (default the provider's, then the payer's).
    models : str, int or sequence, optional
        models to show, by name or 1-based number (default: all).
    bands : sequence of float
        central coverages of the shaded bands, each in (0, 1): 0.9 shades the paths between
        the 5th and the 95th percentile of each year (default the middle 50% and 90%).
    discount_rate : float
        annual rate in [0, 1] at which each year's net result is discounted to the start of
        the agreement, at the end of its year: year t of the agreement (the t-th value of the
        ``year`` coordinate) counts ``(1 + rate)^-t``, so the cumulative result is a present
        value.  Default 0: plain sums, in each year's currency.

    Returns
    -------
    matplotlib.figure.Figure
        one panel per party; per model (one colour each) the median over scenarios of the
        cumulative result at the end of each year (line with markers) and the bands of
        ``bands`` (quantiles of the same, per year).  The x-axis starts the year before the
        first (0 for years 1, 2, ...) at zero, where every path starts.  A model in which the
        party's result is zero in every scenario and year (it takes no part) is left out of
        that panel and named at its top right.

    Raises
    ------
    ValueError
        for a cube without a ``year`` dimension, an unknown party or model, or a bad band or
        discount rate (TypeError for a value of the wrong type).
    """
    plot = _plot()
    ds = _multi_year(ds, "fan_chart")
    hint = "run vbcsim.compare or vbcsim.simulate with models and years"
    rate = check_nonnegative("discount_rate", discount_rate, owner="fan_chart")
    if rate > MAX_DISCOUNT_RATE:
        raise ValueError(
            f"fan_chart: discount_rate must be at most {MAX_DISCOUNT_RATE} (a rate per year, 0.03 for 3%), "
            f"got {discount_rate!r}"
        )
    bands = _check_bands(bands)
    dims = ("model", "party")
    if rate == 0 and "cumulative_net" in ds.data_vars:
        cumulative = _year_dims(ds, "cumulative_net", dims, hint)
    elif "net" in ds.data_vars:
        cumulative = _discounted_sum(_year_dims(ds, "net", dims, hint), rate)
    elif "cumulative_net" in ds.data_vars:  # discounted: each year's net from the cumulative one
        running = _year_dims(ds, "cumulative_net", dims, hint)
        net = running - running.shift(year=1, fill_value=0.0)
        cumulative = _discounted_sum(net, rate)
    else:
        raise ValueError(f"ds has no 'net' or 'cumulative_net' variable: {hint}")
    all_models = cumulative["model"].values.tolist()
    all_parties = cumulative["party"].values.tolist()
    models = plot._select(models, all_models, "model", numbered=True)
    parties = plot._select(parties, all_parties, "party")
    years = np.asarray(cumulative["year"].values)
    x = np.concatenate([[years[0] - 1], years])
    colors = plot._model_colors(all_models)
    fig, axes = plot._panels(parties, 4.6, 3.4, 0.5 + 0.25 * math.ceil(len(models) / 2))
    values = cumulative.transpose("scenario", "year", "model", "party").values
    model_index = {m: i for i, m in enumerate(all_models)}
    party_index = {p: i for i, p in enumerate(all_parties)}
    handles: dict = {}
    for ax, party in zip(axes, parties, strict=True):
        absent = []
        for model in models:
            paths = values[:, :, model_index[model], party_index[party]]  # scenario, year
            if not np.any(paths):
                absent.append(model)
                continue
            color = colors[model]
            for k, b in enumerate(bands):
                lo, hi = np.nanquantile(paths, (0.5 - b / 2, 0.5 + b / 2), axis=0)
                ax.fill_between(
                    x,
                    np.concatenate([[0.0], lo]),
                    np.concatenate([[0.0], hi]),
                    color=color,
                    alpha=_band_alpha(k, len(bands)),
                    linewidth=0,
                )
            median = np.concatenate([[0.0], np.nanmedian(paths, axis=0)])
            (line,) = ax.plot(
                x, median, color=color, linewidth=1.6, marker="o", markersize=3, label=str(model)
            )
            handles.setdefault(model, line)
        ax.axhline(0.0, color="0.6", linewidth=0.8, zorder=0)
        ax.set_xlim(x[0], x[-1] + 0.03 * (x[-1] - x[0]))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(MONEY)
        ax.set_title(str(party), loc="left")
        ax.set_xlabel("year of the agreement")
        ax.set_ylabel("cumulative net result, present value ($)" if rate > 0 else "cumulative net result ($)")
        ax.grid(color="0.92", linewidth=0.8)
        ax.set_axisbelow(True)
        if absent:
            numbers_ = ", ".join(str(all_models.index(m) + 1) for m in absent)
            plural = "s" if len(absent) > 1 else ""
            ax.set_title(f"not a party in model{plural} {numbers_}", loc="right", fontsize=8, color="0.4")
    plot._model_legend(fig, handles, models, all_models)
    what = "Cumulative net result"
    if rate > 0:
        what += f", present value at {100 * rate:.3g}% a year (end-of-year discounting)"
    title = f"{what}: median (line), {_bands_text(bands)} (bands)"
    # about 12 characters of 10-point text an inch: wrap the title to the figure's width
    fig.suptitle("\n".join(textwrap.wrap(title, width=int(12 * fig.get_figwidth()))), fontsize=10)
    return fig


# ----------------------------------------------------------------------------- benchmark path


def _model_config(ds: xr.Dataset, model) -> dict:
    """The model's entry of the run's recorded configuration (``ds.attrs['config']``), or {}."""
    try:
        config = json.loads(ds.attrs.get("config") or "{}")
    except (TypeError, ValueError):
        return {}
    found = config.get("models") if isinstance(config, dict) else None
    if not isinstance(found, dict):
        return {}
    keys = [model]
    if "model_key" in ds.coords:
        keys.append(str(ds["model_key"].sel(model=model).values))
    for key in keys:
        if isinstance(found.get(key), dict):
            return found[key]
    return {}


def _benchmark_terms(ds: xr.Dataset, model) -> dict:
    """The recorded terms of the model's first benchmark contract (a SharedSavings), or {}."""
    for contract in _model_config(ds, model).get("contracts") or ():
        if isinstance(contract, dict) and contract.get("type") == "SharedSavings":
            return contract
    return {}


def _periods(ds: xr.Dataset, model, periods, n_years: int) -> list[int]:
    """First years (1-based positions) of the agreement periods: given, or from the recorded agreement."""
    if periods is None:
        agreement = _benchmark_terms(ds, model).get("agreement")
        length = agreement.get("length") if isinstance(agreement, dict) else None
        if not isinstance(length, int) or length < 1:
            return []
        return list(range(1, n_years + 1, length))
    out = []
    for p in [periods] if isinstance(periods, numbers.Integral) else periods:
        if isinstance(p, bool) or not isinstance(p, numbers.Integral):
            raise TypeError(f"benchmark_path: periods must hold whole years, got {p!r}")
        if not 1 <= int(p) <= n_years:
            raise ValueError(f"benchmark_path: periods must be years in 1..{n_years}, got {p!r}")
        out.append(int(p))
    return sorted(set(out))


def _gap_label(gap: float, benchmark: float) -> str:
    """A bar's label: the mean gap in dollars PMPM (cents below $10) over its share of the benchmark."""
    sign = "+" if gap > 0 else "\N{MINUS SIGN}" if gap < 0 else ""
    dollars = f"{sign}${abs(gap):,.2f}" if abs(gap) < 10 else f"{sign}${abs(gap):,.0f}"
    if not benchmark or not math.isfinite(benchmark):
        return dollars
    share = 100 * gap / benchmark
    text = "0.0%" if abs(share) < 0.05 else f"{share:+.1f}%".replace("-", "\N{MINUS SIGN}")
    return f"{dollars}\n{text}"


def _book(ds: xr.Dataset) -> list:
    """The segments of the parties' book of business: those not marked ``pooled``."""
    names = ds["segment"].values.tolist()
    if "pooled" in ds.coords:
        return [s for s, p in zip(names, ds["pooled"].values.tolist(), strict=True) if not p]
    return names


def _quantiles(
    values: np.ndarray, bands: list[float]
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Median and (low, high) of each band over axis 0."""
    median = np.nanmedian(values, axis=0)
    return median, [tuple(np.nanquantile(values, (0.5 - b / 2, 0.5 + b / 2), axis=0)) for b in bands]


def benchmark_path(
    ds: xr.Dataset,
    model: str | int,
    segments: str | Sequence[str] | None = None,
    periods: int | Sequence[int] | None = None,
) -> Figure:
    """One model's benchmark against its actual cost, per member per month, year by year.

    Parameters
    ----------
    ds : xarray.Dataset
        a multi-year result of :func:`vbcsim.compare` or :func:`vbcsim.simulate`:
        ``benchmark`` and ``medical_cost`` (scenario, year, model), ``members`` (segment);
        ``baseline_cost`` (scenario, baseline_year, segment) when a contract has an
        agreement (:class:`vbcsim.contracts.agreement.Agreement`), ``cost`` (scenario, year,
        segment) when ``segments`` is a part of the book.
    model : str or int
        the model, by name, identifier (``model_key``) or 1-based number; it must have a
        benchmark contract (:class:`vbcsim.contracts.SharedSavings`).
    segments : str or sequence of str, optional
        the segments the benchmark covers, whose members divide both amounts (default: the
        recorded ``segments`` of the model's shared-savings contract, else the book of
        business: every segment not ``pooled``).  For a part of the book the model's cost
        (``medical_cost``, the whole book's) is apportioned by the segments' share of the
        book's cost in each scenario and year.
    periods : int or sequence of int, optional
        first years of the agreement periods, marked by dotted lines (default: from the
        agreement recorded in ``ds.attrs['config']``, none for a fixed benchmark; ``()`` for
        none).

    Returns
    -------
    matplotlib.figure.Figure
        upper panel: per member per month, the median over scenarios (line) and the middle
        50% and 90% of scenarios (bands) of the benchmark (black) and of the model's actual
        cost (the model's colour) in each performance year; before year 1 the status-quo
        cost of the baseline years (grey), from which an agreement sets its first benchmark.
        Dotted vertical lines mark where each agreement period starts (its benchmark is
        rebased).  Lower panel: the mean gap, benchmark − actual cost per member per month,
        by year (positive: savings against the benchmark), labelled with it as a share of
        the mean benchmark.  Amounts are in each year's currency; the cost is before any
        outlier truncation of the contract.

    Raises
    ------
    ValueError
        for a cube without a ``year`` dimension, an unknown model or segment, or a model
        without a benchmark.
    """
    plot = _plot()
    ds = _multi_year(ds, "benchmark_path")
    hint = "run vbcsim.compare or vbcsim.simulate with models and years"
    bench = _year_dims(ds, "benchmark", ("model",), "the cube has no benchmark: " + hint)
    cost = _year_dims(ds, "medical_cost", ("model",), hint)
    if "members" not in ds.data_vars or ds["members"].dims != ("segment",):
        raise ValueError("ds has no 'members' (segment) variable: " + hint)
    all_models = bench["model"].values.tolist()
    if "model_key" in ds.coords and model in ds["model_key"].values.tolist():
        model = all_models[ds["model_key"].values.tolist().index(model)]
    chosen = plot._select(model, all_models, "model", numbered=True)
    if len(chosen) != 1:
        raise ValueError(f"benchmark_path shows one model, got {model!r}")
    model = chosen[0]
    number = all_models.index(model)
    b = bench.sel(model=model).values  # scenario, year
    if np.all(np.isnan(b)):
        raise ValueError(
            f"model {model!r} has no benchmark (no SharedSavings contract): benchmark_path needs a model "
            "that settles against one"
        )
    book = _book(ds)
    if segments is None:
        recorded = _benchmark_terms(ds, model).get("segments")
        segments = recorded if recorded else book
    segments = plot._select(segments, ds["segment"].values.tolist(), "segment")
    outside = [s for s in segments if s not in book]
    if outside:
        raise ValueError(f"segments must be of the book of business (not pooled), got {outside}")
    members = float(ds["members"].sel(segment=segments).sum())
    if members <= 0:
        raise ValueError(f"segments {segments} have no members")
    per_month = 12.0 * members
    c = cost.sel(model=model).values
    if set(segments) != set(book):
        seg_cost = _year_dims(ds, "cost", ("segment",), hint)
        share = seg_cost.sel(segment=segments).sum("segment") / seg_cost.sel(segment=book).sum("segment")
        c = c * share.values
    b_pm, c_pm = b / per_month, c / per_month
    n_years = ds.sizes["year"]
    years = np.arange(1, n_years + 1)  # positions: year t of the agreement
    labels = [str(y) for y in ds["year"].values.tolist()]
    bands = [0.9, 0.5]
    colors = plot._model_colors(all_models)

    fig = Figure(figsize=(8.0, 5.8), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3.0, 1.25]})
    handles, names = [], []

    def _fan(ax, x, values, color, name, style="-"):
        median, qs = _quantiles(values, bands)
        for k, (lo, hi) in enumerate(qs):
            ax.fill_between(x, lo, hi, color=color, alpha=_band_alpha(k, len(qs)), linewidth=0)
        (line,) = ax.plot(x, median, color=color, linestyle=style, linewidth=1.7, marker="o", markersize=3.5)
        handles.append(line)
        names.append(name)
        return median

    ticks, tick_labels = list(years), list(labels)
    if "baseline_cost" in ds.data_vars:
        base = plot._require(ds, "baseline_cost", ("scenario", "baseline_year", "segment"), hint)
        by = np.asarray(base["baseline_year"].values)
        order = np.argsort(by)
        base_pm = base.sel(segment=segments).sum("segment").values[:, order] / per_month
        bx = by[order]
        _fan(top, bx, base_pm, "0.45", "status-quo cost (baseline years)")
        ticks = list(bx) + ticks
        tick_labels = [f"{int(v)}".replace("-", "\N{MINUS SIGN}") for v in bx] + tick_labels
        top.axvspan(bx[0] - 0.4, 0.5, color="0.96", zorder=0, linewidth=0)
        top.text(
            (bx[0] - 0.4 + 0.5) / 2,
            0.98,
            "baseline years\n(status quo)",
            transform=top.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=7.5,
            color="0.35",
        )
    _fan(top, years, c_pm, colors[model], "actual cost under the model")
    _fan(top, years, b_pm, "black", "benchmark", style="--")
    starts = _periods(ds, model, periods, n_years)
    for k, first in enumerate(starts):
        for ax in (top, bottom):
            ax.axvline(first - 0.5, color="0.3", linestyle=":", linewidth=1.1, zorder=1)
        top.annotate(
            f"period {k + 1}",
            (first - 0.5, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -3),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=7.5,
            color="0.3",
        )
    top.yaxis.set_major_formatter(MONEY)
    top.set_ylabel("$ per member per month")
    top.grid(axis="y", color="0.92", linewidth=0.8)
    top.set_axisbelow(True)
    top.margins(y=0.12)

    gap = np.nanmean(b_pm - c_pm, axis=0)
    mean_b = np.nanmean(b_pm, axis=0)
    bar_colors = ["#2ca02c" if g >= 0 else "#d62728" for g in np.nan_to_num(gap)]
    bottom.bar(years, np.nan_to_num(gap), width=0.55, color=bar_colors, alpha=0.8)
    for x, g, mb in zip(years, gap, mean_b, strict=True):
        if not math.isfinite(g):
            continue
        bottom.annotate(
            _gap_label(g, mb),
            (x, g),
            xytext=(0, 3 if g >= 0 else -3),
            textcoords="offset points",
            ha="center",
            va="bottom" if g >= 0 else "top",
            fontsize=7,
            linespacing=1.1,
        )
    bottom.axhline(0.0, color="0.4", linewidth=0.8)
    bottom.margins(y=0.45)
    bottom.yaxis.set_major_formatter(MONEY)
    bottom.yaxis.set_major_locator(MaxNLocator(nbins=3))
    bottom.set_ylabel("mean gap\n(PMPM)")
    bottom.set_xticks(ticks, tick_labels)
    bottom.set_xlim(min(ticks) - 0.4, max(ticks) + 0.4)
    bottom.set_xlabel(
        "year of the agreement (≤ 0: status-quo years before it)"
        if len(ticks) > n_years
        else "year of the agreement"
    )
    bottom.set_title(
        "benchmark − actual cost, mean over scenarios (positive: savings; % of the benchmark)",
        fontsize=8,
        loc="left",
        color="0.25",
    )
    fig.legend(handles, names, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    fig.suptitle(
        f"{plot.model_label(number, model, width=None)}: benchmark and actual cost per member per month "
        f"({int(members):,} members)\nmedian (line), middle 50% and 90% of scenarios (bands)"
        + ("; dotted lines: a new agreement period" if starts else ""),
        fontsize=10,
    )
    return fig
