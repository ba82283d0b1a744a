"""Matplotlib figures of the result cube.

Every function takes a Dataset from :func:`vbcsim.compare` (or
:func:`vbcsim.simulate` with models, or :func:`vbcsim.settlement_curve`) and
returns a :class:`matplotlib.figure.Figure`.  Figures are created with
``matplotlib.figure.Figure`` directly, so nothing is registered with pyplot and
nothing is shown: display the figure in a notebook, or save it with
``fig.savefig("risk_return.png")``.

Colours are fixed per model (its position in the ``model`` coordinate) and per
party, so the same model or party looks the same in every figure.
"""

from __future__ import annotations

import math
import numbers
import textwrap
from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator, PercentFormatter

# the figure conventions (tick labels, probability lines) live in the shared leaf vbcsim._figures;
# their old names here stay importable (vbcsim.plot._format_money, vbcsim.plot.probability_lines)
from vbcsim._figures import MONEY as _MONEY
from vbcsim._figures import format_count as _format_count
from vbcsim._figures import format_money as _format_money  # noqa: F401
from vbcsim._figures import probability_lines
from vbcsim._validation import check_positive_int, check_probability

__all__ = [
    "net_distributions",
    "risk_return",
    "risk_shares",
    "settlement_probability",
    "model_label",
    "tornado",
]

_PARTY_COLORS = {"payer": "#1f77b4", "provider": "#ff7f0e", "enabler": "#2ca02c", "reinsurer": "#d62728"}
_MODEL_CMAP = "tab10"
_NET_HINT = "run vbcsim.compare or vbcsim.simulate with models"


# ----------------------------------------------------------------------------- helpers


def model_label(index: int, name: Hashable, width: int | None = 28) -> str:
    """Readable label of a model: its number (1-based) and name, wrapped at ``width`` characters.

    Parameters
    ----------
    index : int
        0-based position of the model in the ``model`` coordinate.
    name : hashable
        the model's coordinate value, e.g. ``"custom risk-based contract"``.
    width : int, optional
        wrap the label onto lines of at most this many characters; ``None`` keeps one line.

    Returns
    -------
    str
        for example ``"1 custom risk-based contract"``.
    """
    text = f"{index + 1} {name}"
    if width is None:
        return text
    return "\n".join(textwrap.wrap(text, width=width)) or text


def _check_dataset(ds, what: str = "ds") -> xr.Dataset:
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"{what} must be an xarray.Dataset, got {type(ds).__name__}")
    return ds


def _require(ds: xr.Dataset, name: str, dims: tuple[str, ...], hint: str, what: str = "ds") -> xr.DataArray:
    """``ds[name]`` after checking it exists and has ``dims`` (in any order)."""
    if name not in ds.data_vars:
        raise ValueError(f"{what} has no {name!r} variable: {hint}")
    var = ds[name]
    if set(var.dims) != set(dims):
        raise ValueError(f"{what}[{name!r}] has dims {tuple(var.dims)}, expected {dims}")
    return var.transpose(*dims)


def _as_list(values) -> list:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        return [values]
    return list(values)


def _select(requested, valid: Sequence, what: str, numbered: bool = False) -> list:
    """Validate a user's choice of coordinate values (``None`` = all) and return them in the given order.

    With ``numbered`` a 1-based integer picks the coordinate value at that position (model numbers).
    """
    valid = list(valid)
    if requested is None:
        return valid
    chosen = []
    for item in _as_list(requested):
        if numbered and isinstance(item, numbers.Integral) and not isinstance(item, bool):
            if not 1 <= int(item) <= len(valid):
                raise ValueError(f"{what} number {item} out of range 1..{len(valid)}; valid {what}s: {valid}")
            item = valid[int(item) - 1]
        elif item not in valid:
            raise ValueError(f"unknown {what} {item!r}; valid {what}s: {valid}")
        if item not in chosen:
            chosen.append(item)
    if not chosen:
        raise ValueError(f"no {what} selected; valid {what}s: {valid}")
    return chosen


def _model_colors(all_models: Sequence) -> dict:
    import matplotlib

    cmap = matplotlib.colormaps[_MODEL_CMAP]
    return {m: cmap(i % cmap.N) for i, m in enumerate(all_models)}


def _party_color(party: Hashable, i: int):
    return _PARTY_COLORS.get(str(party), f"C{(i + 4) % 10}")


def _is_constant(values: np.ndarray) -> bool:
    """All finite values equal up to floating noise."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return True
    lo, hi = float(values.min()), float(values.max())
    return hi - lo <= 1e-9 * max(abs(lo), abs(hi), 1.0)


def _grid(fig: Figure, n: int, ncols: int) -> list[Axes]:
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        fig.delaxes(ax)
    return list(axes[:n])


def _choose(models, all_models: list, parties, all_parties: list, active) -> tuple[list, list]:
    """The requested models and parties (numbers or names); without parties, those ``active(models)``
    finds taking part."""
    models = _select(models, all_models, "model", numbered=True)
    if parties is None:
        parties = active(models)
        if not parties:
            raise ValueError("every party's result is zero in the chosen models: nothing to plot")
    else:
        parties = _select(parties, all_parties, "party")
    return models, parties


def _panels(parties: list, width: float, height: float, extra: float) -> tuple[Figure, list[Axes]]:
    """A figure with one panel per party, two columns (one for a single party)."""
    ncols = 1 if len(parties) == 1 else 2
    nrows = math.ceil(len(parties) / ncols)
    fig = Figure(figsize=(width * ncols, height * nrows + extra), layout="constrained")
    return fig, _grid(fig, len(parties), ncols)


def _model_legend(fig: Figure, handles: dict, models: list, all_models: list, **options) -> None:
    """One legend entry per drawn model, numbered by its place among all models, below the panels."""
    order = [m for m in models if m in handles]
    fig.legend(
        [handles[m] for m in order],
        [model_label(all_models.index(m), m, width=None) for m in order],
        loc="outside lower center",
        ncols=2 if len(order) > 2 else len(order) or 1,
        fontsize=8,
        frameon=False,
        **options,
    )


def _active_parties(net: xr.DataArray, models: list) -> list:
    """Parties whose net result is not identically zero in at least one of ``models``."""
    sub = net.sel(model=models)
    keep = (sub != 0).any(("scenario", "model")).values
    return [p for p, k in zip(net["party"].values.tolist(), keep, strict=True) if k]


# ----------------------------------------------------------------------------- net distributions


def net_distributions(
    ds: xr.Dataset,
    parties: str | Sequence[str] | None = None,
    models: str | int | Sequence[str | int] | None = None,
    bins: int = 60,
) -> Figure:
    """Distribution of each party's annual net result, one panel per party, one step line per model.

    Parameters
    ----------
    ds : xarray.Dataset
        result of :func:`vbcsim.compare`; needs ``net`` (scenario, model, party).
    parties : str or sequence of str, optional
        parties to show (default: every party whose result is not identically zero in some
        of the chosen models; ``enabler`` only exists in the third party-mediated model).
    models : str, int or sequence, optional
        models to show, by name or 1-based number (default: all).
    bins : int
        histogram bins per panel; all models in a panel share the same bins.

    Returns
    -------
    matplotlib.figure.Figure
        per panel, one step histogram (share of scenarios per bin) and one dashed vertical
        line at the mean for each model whose result varies; a model whose result is the same
        in every scenario gets only the (solid) line at that value, and a model in which the
        party takes no part is left out of that panel.
    """
    ds = _check_dataset(ds)
    net = _require(ds, "net", ("scenario", "model", "party"), _NET_HINT)
    bins = check_positive_int("bins", bins, owner="net_distributions", strict=True)
    all_models = net["model"].values.tolist()
    models, parties = _choose(
        models, all_models, parties, net["party"].values.tolist(), lambda m: _active_parties(net, m)
    )
    colors = _model_colors(all_models)
    fig, axes = _panels(parties, 5.2, 3.2, 0.5 + 0.3 * len(models))
    values = net.sel(model=models).values  # scenario, model, party (all parties)
    party_index = {p: i for i, p in enumerate(net["party"].values.tolist())}
    handles: dict = {}
    for ax, party in zip(axes, parties, strict=True):
        data = values[:, :, party_index[party]]
        finite = data[np.isfinite(data)]
        absent = [m for j, m in enumerate(models) if np.all(data[:, j] == 0)]
        shown = [j for j, m in enumerate(models) if m not in absent]
        varying = [j for j in shown if not _is_constant(data[:, j])]
        if varying:
            pooled = np.concatenate([data[np.isfinite(data[:, j]), j] for j in varying])
            edges = np.histogram_bin_edges(pooled, bins=bins)
        for j, model in enumerate(models):
            if j not in shown:
                continue
            column = data[np.isfinite(data[:, j]), j]
            mean = float(column.mean()) if column.size else float("nan")
            color = colors[model]
            if j in varying:
                counts, _ = np.histogram(column, bins=edges)
                patch = ax.stairs(counts / max(column.size, 1), edges, color=color, linewidth=1.4)
                ax.axvline(mean, color=color, linestyle="--", linewidth=1.0)
                handles.setdefault(model, patch)
            else:
                line = ax.axvline(mean, color=color, linestyle="-", linewidth=1.6)
                handles.setdefault(model, line)
        ax.set_title(str(party), loc="left")
        ax.xaxis.set_major_formatter(_MONEY)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("annual net result")
        ax.set_ylabel("share of scenarios")
        ax.axvline(0.0, color="0.6", linewidth=0.8, zorder=0)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        if absent:
            numbers_ = ", ".join(str(all_models.index(m) + 1) for m in absent)
            plural = "s" if len(absent) > 1 else ""
            ax.set_title(f"not a party in model{plural} {numbers_}", loc="right", fontsize=8, color="0.4")
        if not finite.size:
            ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center", va="center")
    _model_legend(fig, handles, models, all_models, title="model (dashed line: mean)", title_fontsize=8)
    fig.suptitle("Annual net result by party")
    return fig


# ----------------------------------------------------------------------------- summary-based figures


def _summary(ds, summary, levels: tuple[float, ...], needs: tuple[str, ...], owner: str) -> xr.Dataset:
    """The summary Dataset: ``summary`` after checks, or ``vbcsim.summarize(ds, levels)``."""
    if summary is None:
        if ds is None:
            raise ValueError(f"{owner}: give ds (a result of vbcsim.compare) or a summary Dataset")
        ds = _check_dataset(ds)
        _require(ds, "net", ("scenario", "model", "party"), _NET_HINT)
        from vbcsim.results.metrics import summarize

        summary = summarize(ds, levels=levels)
    else:
        summary = _check_dataset(summary, "summary")
    for name in needs:
        if name not in summary.data_vars:
            raise ValueError(f"summary has no {name!r} variable: make it with vbcsim.summarize(ds)")
    return summary


def _summary_parties(summary: xr.Dataset, models: list) -> list:
    """Parties that are not identically zero (mean and std both 0) in every one of ``models``."""
    sub = summary.sel(model=models)
    zero = sub["mean"].fillna(0) == 0
    if "std" in sub.data_vars:
        zero = zero & (sub["std"].fillna(0) == 0)
    absent = zero.all("model").transpose("party").values
    return [p for p, a in zip(summary["party"].values.tolist(), absent, strict=True) if not a]


_LABEL_OFFSETS = ((4, 3), (4, -3), (-4, 3), (-4, -3))


def _label_offsets(points: list[tuple[float, float]], near: float = 0.04) -> list[tuple[int, int]]:
    """Offsets (points) of the labels of scattered points: crowded points get different corners.

    Two points are crowded when they lie within ``near`` of the points' spread (zero included, as
    the axes show it) along both axes.  Points are visited from the top down and each takes the
    first corner (upper right, lower right, upper left, lower left) that no crowded point visited
    before it uses, so of two close points the higher one is labelled above.
    """
    if not points:
        return []
    xy = np.asarray(points, dtype=float)
    span = np.ptp(np.vstack([xy, np.zeros((1, 2))]), axis=0)
    span[span == 0] = 1.0
    chosen: dict[int, tuple[int, int]] = {}
    for n, i in enumerate(np.argsort(-xy[:, 1], kind="stable")):
        used = {o for j, o in chosen.items() if np.all(np.abs(xy[j] - xy[i]) <= near * span)}
        free = [o for o in _LABEL_OFFSETS if o not in used]
        chosen[int(i)] = free[0] if free else _LABEL_OFFSETS[n % len(_LABEL_OFFSETS)]
    return [chosen[i] for i in range(len(xy))]


def risk_return(
    ds: xr.Dataset | None,
    level: float = 0.99,
    summary: xr.Dataset | None = None,
    *,
    parties: str | Sequence[str] | None = None,
    models: str | int | Sequence[str | int] | None = None,
) -> Figure:
    """Mean net result against tail value at risk of the loss, per party, one labelled point per model.

    Parameters
    ----------
    ds : xarray.Dataset or None
        result of :func:`vbcsim.compare`; may be ``None`` when ``summary`` is given.
    level : float
        TVaR level in (0, 1), e.g. 0.99 for the mean loss in the worst 1 % of years.
    summary : xarray.Dataset, optional
        output of :func:`vbcsim.summarize` containing ``level`` (computed from ``ds`` when omitted).
    parties, models : optional
        restrict the parties (panels) or models (points, by name or 1-based number).

    Returns
    -------
    matplotlib.figure.Figure
        one panel per party: x = TVaR of the loss at ``level`` (risk), y = mean annual net
        result (return); each model is a point labelled with its number, the legend names
        the numbers.  A model in which the party takes no part has no point in that panel.
    """
    level = check_probability("level", level, owner="risk_return", open_low=True, open_high=True)
    summary = _summary(ds, summary, (level,), ("mean", "tail_value_at_risk"), "risk_return")
    levels = np.asarray(summary["level"].values, dtype=float)
    hit = np.flatnonzero(np.isclose(levels, level, rtol=0.0, atol=1e-12))
    if hit.size == 0:
        raise ValueError(f"summary has no level {level}; its levels are {levels.tolist()}")
    tvar = summary["tail_value_at_risk"].isel(level=int(hit[0])).transpose("model", "party")
    mean = summary["mean"].transpose("model", "party")
    all_models = summary["model"].values.tolist()
    models, parties = _choose(
        models, all_models, parties, summary["party"].values.tolist(), lambda m: _summary_parties(summary, m)
    )
    colors = _model_colors(all_models)
    fig, axes = _panels(parties, 5.0, 3.6, 0.4 + 0.28 * len(models))
    std = summary["std"].transpose("model", "party") if "std" in summary.data_vars else None
    handles: dict = {}
    for ax, party in zip(axes, parties, strict=True):
        points = []
        for model in models:
            m, t = float(mean.sel(model=model, party=party)), float(tvar.sel(model=model, party=party))
            if std is not None and m == 0 and float(std.sel(model=model, party=party)) == 0:
                continue  # not a party in this model
            if math.isfinite(m) and math.isfinite(t):
                points.append((model, t, m))
        offsets = _label_offsets([(t, m) for _, t, m in points])
        for (model, t, m), offset in zip(points, offsets, strict=True):
            point = ax.scatter(
                [t], [m], color=colors[model], s=36, zorder=3, edgecolor="white", linewidth=0.5
            )
            handles.setdefault(model, point)
            ax.annotate(
                str(all_models.index(model) + 1),
                (t, m),
                xytext=offset,
                textcoords="offset points",
                fontsize=9,
                color=colors[model],
                fontweight="bold",
                ha="left" if offset[0] > 0 else "right",
                va="bottom" if offset[1] > 0 else "top",
            )
        ax.axhline(0.0, color="0.6", linewidth=0.8, zorder=0)
        ax.axvline(0.0, color="0.6", linewidth=0.8, zorder=0)
        ax.margins(0.15)
        ax.set_title(str(party))
        ax.xaxis.set_major_formatter(_MONEY)
        ax.yaxis.set_major_formatter(_MONEY)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.set_xlabel(f"TVaR {level:.3g} of loss (risk)")
        ax.set_ylabel("mean annual net result")
    _model_legend(fig, handles, models, all_models)
    fig.suptitle(f"Return and tail risk by party (TVaR at {level:.3g})")
    return fig


def risk_shares(
    ds: xr.Dataset | None,
    summary: xr.Dataset | None = None,
    *,
    parties: str | Sequence[str] | None = None,
    models: str | int | Sequence[str | int] | None = None,
) -> Figure:
    """Grouped bars of each party's share of the medical-cost risk, one group per model.

    The risk share of a party is ``-Cov(net, medical_cost) / Var(medical_cost)``: how much of
    each extra dollar of medical cost it bears.  Across all parties the shares add up to the
    cost of each allowed dollar to the parties (``delivery_ratio × delivered_share`` for the care
    the provider delivers plus ``1 − delivered_share`` bought from outside providers) less what
    MLR rebates absorb; that total is written above each group.

    Parameters
    ----------
    ds : xarray.Dataset or None
        result of :func:`vbcsim.compare`; may be ``None`` when ``summary`` is given.
    summary : xarray.Dataset, optional
        output of :func:`vbcsim.summarize` (computed from ``ds`` when omitted).
    parties, models : optional
        restrict the parties (bars in a group) or models (groups, by name or 1-based number).

    Returns
    -------
    matplotlib.figure.Figure
        one axes; one bar container per party, bar heights equal to ``risk_share``.
    """
    summary = _summary(ds, summary, (0.99,), ("risk_share",), "risk_shares")
    share = summary["risk_share"].transpose("model", "party")
    all_models = summary["model"].values.tolist()
    all_parties = summary["party"].values.tolist()
    models, parties = _choose(
        models, all_models, parties, all_parties, lambda m: _summary_parties(summary, m)
    )

    fig = Figure(figsize=(max(6.0, 1.5 * len(models) + 2.5), 4.6), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(models))
    width = 0.8 / len(parties)
    for i, party in enumerate(parties):
        heights = share.sel(model=models, party=party).values.astype(float)
        ax.bar(
            x + (i - (len(parties) - 1) / 2) * width,
            heights,
            width,
            label=str(party),
            color=_party_color(party, all_parties.index(party)),
        )
    totals = share.sel(model=models).sum("party", skipna=True).values
    top = np.nanmax(np.maximum(share.sel(model=models, party=parties).values, 0.0), axis=1)
    for xi, total, t in zip(x, totals, top, strict=True):
        ax.annotate(
            f"\N{N-ARY SUMMATION} {total:.2f}",
            (xi, t),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color="0.25",
        )
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(x, [model_label(all_models.index(m), m, width=16) for m in models], fontsize=8)
    ax.set_ylabel("risk share (of each extra $ of medical cost)")
    ax.margins(y=0.12)
    ax.legend(title="party", fontsize=8, title_fontsize=8, loc="best")
    ax.set_title(
        "Who bears the medical-cost risk\n"
        "(\N{N-ARY SUMMATION} over parties = cost of care per allowed $ less what MLR rebates absorb)",
        fontsize=10,
    )
    return fig


# ----------------------------------------------------------------------------- settlement curve


def settlement_probability(curve: xr.Dataset) -> Figure:
    """Probability that each contingent contract pays or recoups, against panel size, per model.

    Parameters
    ----------
    curve : xarray.Dataset
        result of :func:`vbcsim.settlement_curve`: ``prob_payment`` and ``prob_recoupment``
        over (panel_size, model, contract).

    Returns
    -------
    matplotlib.figure.Figure
        one panel per model (log panel size on x).  A contract is drawn when its probability of
        payment or recoupment lies strictly between 0 and 1 at some panel size: P(payment) as a
        solid line and P(recoupment) as a dashed line of the same colour, each only if it is
        not zero at every size.  Contracts the model lacks (NaN) and contracts that always or
        never settle (such as ``fee_for_service``) are left out.
    """
    curve = _check_dataset(curve, "curve")
    dims = ("panel_size", "model", "contract")
    hint = "make it with vbcsim.settlement_curve"
    pay = _require(curve, "prob_payment", dims, hint, what="curve")
    rec = _require(curve, "prob_recoupment", dims, hint, what="curve")
    sizes = np.asarray(curve["panel_size"].values, dtype=float)
    if sizes.size == 0 or not np.all(sizes > 0):
        raise ValueError("curve's panel_size values must be positive (they are drawn on a log axis)")
    order = np.argsort(sizes)
    sizes = sizes[order]
    pay_v = pay.values[order]
    rec_v = rec.values[order]
    all_models = curve["model"].values.tolist()
    contracts = curve["contract"].values.tolist()

    def _interior(a: np.ndarray) -> bool:
        return bool(np.any((a > 0) & (a < 1)))

    n = len(all_models)
    ncols = 1 if n == 1 else 2 if n <= 4 else 3
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(4.4 * ncols, 3.2 * nrows + 0.6), layout="constrained")
    axes = _grid(fig, n, ncols)
    for j, (ax, model) in enumerate(zip(axes, all_models, strict=True)):
        drawn = 0
        for k, contract in enumerate(contracts):
            p, r = pay_v[:, j, k], rec_v[:, j, k]
            if np.all(np.isnan(p)) and np.all(np.isnan(r)):
                continue  # the model lacks the contract
            if not (_interior(p) or _interior(r)):
                continue  # always or never settles
            probability_lines(ax, sizes, p, r, contract, f"C{k % 10}")
            drawn += 1
        ax.set_xscale("log")
        ax.set_xlim(sizes[0] / 1.25, sizes[-1] * 1.25)
        ax.xaxis.set_major_locator(FixedLocator(sizes))
        ax.xaxis.set_major_formatter(FuncFormatter(_format_count))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_ylim(-0.03, 1.03)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_title(model_label(j, model, width=34), fontsize=9)
        ax.set_xlabel("panel size (members)")
        ax.set_ylabel("probability")
        if drawn:
            ax.legend(fontsize=7, loc="best")
        else:
            ax.text(
                0.5,
                0.5,
                "no contingent settlement",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=8,
                color="0.4",
            )
    fig.suptitle("Probability of a payment (solid) or recoupment (dashed) by panel size")
    return fig


# ----------------------------------------------------------------------------- tornado

_LOW_COLOR, _HIGH_COLOR = "#9ecae1", "#3182bd"  # light: the low setting, dark: the high one


def _setting_label(value: float, units: str) -> str:
    """A factor's setting as the tornado labels it: ×0.5, 40%, $100k, $6 PMPM, 10,000 members."""
    if units == "multiplier":
        return f"\N{MULTIPLICATION SIGN}{value:g}"
    if units == "members":
        return f"{value:,.0f} members"
    if units == "currency per year":
        return _format_money(value)
    if units == "currency per member per month":
        return f"{_format_money(value)} PMPM"
    if 0.0 <= value <= 1.0:
        return f"{100 * value:.3g}%"
    return f"{value:g}"


def _full_money(value: float) -> str:
    """An amount in currency with thousands separators, $ escaped for matplotlib: $1,234,567."""
    sign = "\N{MINUS SIGN}" if value < 0 else ""
    return f"{sign}\\${abs(value):,.0f}"


def tornado(sens: xr.Dataset, model: str | int, party: str = "provider", ax: Axes | None = None) -> Figure:
    """Tornado chart of a one-at-a-time sensitivity analysis: one bar pair per factor.

    Parameters
    ----------
    sens : xarray.Dataset
        result of :func:`vbcsim.sensitivity`: ``value`` and
        ``value_standard_error`` (factor, side, model, party) and ``base``
        (model, party).
    model : str or int
        the model, by readable name, identifier (``model_key``) or 1-based
        number.
    party : str
        the party whose expected result is shown (default ``"provider"``).
    ax : matplotlib.axes.Axes, optional
        draw into these axes (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
        one axes: for each factor, sorted by the size of its swing (largest
        on top), a pair of horizontal bars from the base value to the value
        at the low setting (light, upper bar) and at the high setting (dark,
        lower bar), each labelled with its setting and with an error bar of
        ±2 paired standard errors at its end; the base value as a vertical
        line.  A factor that is not a term of the model has bars of zero
        length and says so in its label.  The title names the model and the
        party and says whether the values are changes against fee for
        service.
    """
    sens = _check_dataset(sens, "sens")
    hint = "make it with vbcsim.sensitivity"
    dims = ("factor", "side", "model", "party")
    value = _require(sens, "value", dims, hint, what="sens")
    se = _require(sens, "value_standard_error", dims, hint, what="sens")
    base = _require(sens, "base", ("model", "party"), hint, what="sens")
    all_models = sens["model"].values.tolist()
    if "model_key" in sens.coords and model in sens["model_key"].values.tolist():
        model = all_models[sens["model_key"].values.tolist().index(model)]
    model = _select(model, all_models, "model", numbered=True)
    if len(model) != 1:
        raise ValueError(f"tornado shows one model, got {model!r}")
    model = model[0]
    (party,) = _select(party, sens["party"].values.tolist(), "party")
    sides = sens["side"].values.tolist()
    if sorted(sides) != ["high", "low"]:
        raise ValueError(f"sens's side coordinate must be ['low', 'high'], got {sides}")
    v = value.sel(model=model, party=party).transpose("factor", "side").sel(side=["low", "high"]).values
    e = se.sel(model=model, party=party).transpose("factor", "side").sel(side=["low", "high"]).values
    b = float(base.sel(model=model, party=party))
    b_se = (
        float(sens["base_standard_error"].sel(model=model, party=party))
        if "base_standard_error" in sens
        else 0.0
    )
    factors = sens["factor"].values.tolist()
    settings = [
        sens[c].values.tolist() if c in sens.coords else [math.nan] * len(factors)
        for c in ("low_setting", "high_setting")
    ]
    units = sens["setting_units"].values.tolist() if "setting_units" in sens.coords else ["1"] * len(factors)
    applies = (
        sens["applies"].sel(model=model).transpose("factor").values.tolist()
        if "applies" in sens.data_vars
        else [True] * len(factors)
    )
    swing = np.nan_to_num(np.abs(v[:, 1] - v[:, 0]))
    reach = np.nan_to_num(np.abs(v - b).max(axis=1))
    order = sorted(range(len(factors)), key=lambda i: (-swing[i], -reach[i], i))
    n = len(factors)

    if ax is None:
        fig = Figure(figsize=(8.0, 1.6 + 0.62 * n), layout="constrained")
        ax = fig.add_subplot()
        own = True
    else:
        fig, own = ax.figure, False
    ys = np.array([n - 1 - rank for rank in range(n)], dtype=float)  # largest swing on top
    error_style = {"fmt": "none", "ecolor": "0.25", "elinewidth": 0.9, "capsize": 2.5}
    for j, (side, color, dy) in enumerate((("low", _LOW_COLOR, 0.2), ("high", _HIGH_COLOR, -0.2))):
        vals = np.array([v[i, j] for i in order])
        errs = np.array([2.0 * e[i, j] for i in order])
        ax.barh(ys + dy, np.nan_to_num(vals - b), left=b, height=0.38, color=color, label=f"{side} setting")
        ax.errorbar(vals, ys + dy, xerr=np.nan_to_num(errs), **error_style)
        for y, i, val, err in zip(ys + dy, order, vals, errs, strict=True):
            if not applies[i] or not (math.isfinite(val) and math.isfinite(settings[j][i])):
                continue
            right = val >= b
            ax.annotate(
                _setting_label(float(settings[j][i]), units[i]),
                (val + (err if right else -err), y),
                xytext=(4 if right else -4, 0),
                textcoords="offset points",
                ha="left" if right else "right",
                va="center",
                fontsize=8,
                color="0.15",
            )
    ax.axvline(b, color="black", linewidth=1.1, label=f"base {_full_money(b)} (SE {_full_money(b_se)})")
    ax.errorbar([], [], xerr=[], label="\N{PLUS-MINUS SIGN}2 paired SE", **error_style)
    labels = [factors[i] if applies[i] else f"{factors[i]}\n(not a term of this model)" for i in order]
    ax.set_yticks(ys, labels, fontsize=9)
    for tick, i in zip(ax.get_yticklabels(), order, strict=True):
        if not applies[i]:
            tick.set_color("0.5")
    ax.set_ylim(-0.7, n - 0.3)
    # room for the setting labels beyond the bars' ends: their width as a share of the axes
    ends = np.concatenate([(v - 2 * e).ravel(), (v + 2 * e).ravel(), [b]])
    ends = ends[np.isfinite(ends)]
    lo, hi = float(ends.min()), float(ends.max())
    span = hi - lo or max(abs(b), 1.0)
    longest = max(
        (
            len(_setting_label(float(x), u))
            for pair in settings
            for x, u in zip(pair, units, strict=True)
            if math.isfinite(x)
        ),
        default=0,
    )
    axes_inches = ax.get_position().width * fig.get_figwidth()
    share = min(0.35, (0.075 * longest + 0.15) / max(axes_inches, 1.0))
    pad = span * share / (1.0 - 2.0 * share) + 0.02 * span
    ax.set_xlim(lo - pad, hi + pad)
    if lo - pad < 0.0 < hi + pad:
        ax.axvline(0.0, color="0.6", linewidth=0.8, zorder=0)
    ax.xaxis.set_major_formatter(_MONEY)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    against = sens.attrs.get("baseline") == "fee_for_service"
    what = "change in expected annual result against fee for service" if against else "expected annual result"
    ax.set_xlabel(f"{what} (per year)")
    ax.set_ylabel("assumption (sorted by swing)")
    number = all_models.index(model)
    ax.set_title(
        f"{model_label(number, model, width=None)}: {party}\n{what}, one assumption at a time", fontsize=10
    )
    ax.grid(axis="x", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    if own:
        fig.legend(loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    else:
        ax.legend(fontsize=7, loc="best")
    return fig


# the decomposition of a benchmark payment (vbcsim.plot.decomposition) lives in plot_risk, the
# multi-year figures (vbcsim.plot.fan_chart, vbcsim.plot.benchmark_path) in plot_years
from vbcsim.frontends.plot_risk import decomposition  # noqa: E402,F401
from vbcsim.frontends.plot_years import benchmark_path, fan_chart  # noqa: E402,F401
