"""A one-page, self-contained HTML report of a comparison of partnership models.

:func:`report` turns a result cube of :func:`vbcsim.compare` into one HTML file that a
strategy team can send: the question, the assumptions (population, each model's terms,
systematic risk, the full configuration), the comparison table with Monte Carlo standard
errors (first the change against each model's fee-for-service status quo, then the absolute
view), and the figures of :mod:`vbcsim.frontends.plot` (risk and return, the distribution of
each party's result, risk shares; the tornado of a sensitivity analysis when one is given; a
fan chart of cumulative results when the cube has a ``year`` dimension).

The file needs nothing beyond itself: figures are embedded as base64 PNG, styles are inline,
fonts are the reader's system fonts and no script is loaded.  It prints on A4 (the content is
at most 190 mm wide).  The page is rendered with Jinja2 from ``templates/report.html.j2``.
"""

from __future__ import annotations

import base64
import datetime
import io as _bytes_io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from vbcsim._version import __version__
from vbcsim.frontends.tables import takes_part as _takes_part

__all__ = ["report", "check_report_path"]

#: file name endings of the report
HTML_SUFFIXES = (".html", ".htm")
#: the model every other is compared with in the change view
BASELINE = "fee_for_service"
#: the parties the headline and the tornado speak of, in this order
MAIN_PARTIES = ("provider", "payer")
#: resolution of the embedded figures (dots per inch); 190 mm at 150 dpi is about 1,100 pixels
FIGURE_DPI = 150
#: the width of the page's column (190 mm), in inches
COLUMN_INCHES = 190 / 25.4
_MINUS = "\N{MINUS SIGN}"


# ----------------------------------------------------------------------------- formatting


def _number(x, text, rounded) -> str:
    """``text(|x|)`` with a minus sign where ``x`` rounds below zero; ``n/a`` for None, NaN, inf."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{_MINUS}{text(abs(x))}" if rounded(x) < 0 else text(abs(x))


def money(x: float) -> str:
    """An amount in whole dollars with thousands separators: ``$1,234``, ``−$56``, ``n/a``."""
    return _number(x, lambda a: f"${a:,.0f}", round)


def signed_money(x: float) -> str:
    """A change in whole dollars with its sign: ``+$1,234``, ``−$56``, ``$0``."""
    text = money(x)
    return f"+{text}" if text.startswith("$") and round(x) > 0 else text


def percent(x: float, digits: int = 1) -> str:
    """A probability or ratio as a percentage: ``12.3%``."""
    return _number(x, lambda a: f"{100 * a:.{digits}f}%", lambda v: round(100 * v, digits))


def share(x: float) -> str:
    """A risk share with three decimals: ``0.412``, ``−0.050``."""
    return _number(x, lambda a: f"{a:.3f}", lambda v: round(v, 3))


def pmpm(x: float) -> str:
    """An amount per member per month in dollars and cents: ``$512.34``."""
    return _number(x, lambda a: f"${a:,.2f}", lambda v: round(v, 2))


# ----------------------------------------------------------------------------- checks


def check_report_path(path, *, name: str = "path") -> Path:
    """Check, before any work is done, that the report can be written to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        the HTML file (ending in ``.html`` or ``.htm``).
    name : str
        what the path is called in error messages.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        if ``path`` is not a path.
    ValueError
        for another ending, a missing directory, or a directory at ``path``.
    """
    from vbcsim.results import io

    return io.check_text_path(path, HTML_SUFFIXES, name=name)


def _annual(ds: xr.Dataset) -> xr.Dataset:
    """The cube with every variable that has a ``year`` dimension averaged over the years."""
    if "year" not in ds.dims:
        return ds
    out = ds.copy()
    for name in list(out.data_vars):
        if "year" in out[name].dims:
            out[name] = out[name].mean("year")
    return out.drop_dims("year", errors="ignore")


def _baseline(summary: xr.Dataset) -> str | None:
    """What a summary is compared with (``attrs["baseline"]``), or None for the absolute view."""
    value = summary.attrs.get("baseline")
    return None if value is None or str(value) in ("", "none", "None") else str(value)


def _baseline_label(summary: xr.Dataset | None) -> str:
    """``fee for service``, or the model a change summary is compared with."""
    value = _baseline(summary) if summary is not None else BASELINE
    return "fee for service" if value in (None, BASELINE) else f"model {value!r}"


def _summaries(ds: xr.Dataset, summary) -> tuple[xr.Dataset, xr.Dataset | None, str | None]:
    """The absolute summary, the change against fee for service (or None) and why it is missing."""
    if summary is None or isinstance(summary, xr.Dataset):
        given = [] if summary is None else [summary]
    elif isinstance(summary, (Mapping, Sequence)) and not isinstance(summary, (str, bytes)):
        given = list(summary.values() if isinstance(summary, Mapping) else summary)
    else:
        raise TypeError(
            f"summary must be an xarray.Dataset from vbcsim.summarize, got {type(summary).__name__}"
        )
    absolute = change = None
    for s in given:
        if not isinstance(s, xr.Dataset):
            raise TypeError(
                f"summary must hold xarray.Datasets from vbcsim.summarize, got {type(s).__name__}"
            )
        for name in ("mean", "std", "prob_loss", "risk_share", "tail_value_at_risk"):
            if name not in s.data_vars:
                raise ValueError(f"summary has no {name!r} variable: make it with vbcsim.summarize(ds)")
        if _baseline(s) is not None:
            change = s
        else:
            absolute = s
    from vbcsim.results.metrics import summarize

    if absolute is None:
        absolute = summarize(ds)
    missing = None
    if change is None:
        if "status_quo_net" not in ds.data_vars:
            missing = (
                "the result has no fee-for-service status quo (status_quo_net); "
                "run it with a vbcsim.compare that records it"
            )
        else:
            try:
                change = summarize(ds, baseline=BASELINE)
            except TypeError:
                missing = "this vbcsim's summarize has no baseline argument"
    return absolute, change, missing


def _config_text(config, ds: xr.Dataset) -> str | None:
    """The configuration as given (``config``, else the cube's ``compare_config``), as JSON."""
    if config is None:
        config = ds.attrs.get("compare_config")
    if config is None:
        return None
    if hasattr(config, "source") and not isinstance(config, Mapping):  # a CompareConfig
        config = config.source
    if isinstance(config, (str, bytes)):
        try:
            config = json.loads(config)
        except ValueError:
            return str(config)
    if isinstance(config, Mapping) and not config:
        return None  # the built-in defaults: the run's full configuration says it all
    if not isinstance(config, Mapping):
        raise TypeError(
            f"config must be a mapping (the TOML read), a CompareConfig or JSON text, got {type(config).__name__}"
        )
    return json.dumps(config, indent=2, default=str, sort_keys=False)


def _run_config(ds: xr.Dataset) -> dict:
    """The run's resolved configuration recorded by the engine (``ds.attrs['config']``), or {}."""
    try:
        out = json.loads(ds.attrs.get("config") or "{}")
    except (TypeError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


# ----------------------------------------------------------------------------- figures


def _png(fig) -> str:
    """A matplotlib figure as a ``data:`` URI of a PNG, at most as wide as the page's column, so that
    its text prints at the size it was set in."""
    width, height = fig.get_size_inches()
    if width > COLUMN_INCHES:
        fig.set_size_inches(COLUMN_INCHES, height * COLUMN_INCHES / width)
    buffer = _bytes_io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(make, caption: str, alt: str) -> dict:
    """A figure for the template: its image, caption and alternative text, or the error that stopped it."""
    try:
        fig = make()
    except (ValueError, TypeError) as exc:
        return {"error": " ".join(str(exc).split()), "caption": caption, "alt": alt}
    return {"src": _png(fig), "caption": caption, "alt": alt}


def _fan_chart(ds: xr.Dataset):
    """Fan chart of the provider's and the payer's cumulative net result over the cube's years:
    per model the median (line), the middle 50% and 90% of simulated paths (bands)."""
    from vbcsim.frontends.plot_years import fan_chart

    parties = [p for p in MAIN_PARTIES if p in ds["party"].values.tolist()]
    return fan_chart(ds, parties=parties, bands=(0.5, 0.9))


def _sensitivity_note(sensitivity) -> str | None:
    """How the sensitivity analysis was run: its scenarios per run, seed and number of runs."""
    if sensitivity is None:
        return None
    a = sensitivity.attrs
    parts = [f"{int(a['n_scenarios']):,} simulated years a run" if "n_scenarios" in a else None]
    parts += [f"seed {a['seed']}" if "seed" in a else None, f"{a['runs']} runs" if "runs" in a else None]
    return ", ".join(p for p in parts if p) or None


def _tornado_pair(sensitivity: xr.Dataset, model: str, number: int, parties: Sequence[str]):
    """:func:`vbcsim.plot.tornado` of ``parties`` of one model side by side in a 190 mm column: the
    assumptions that are terms of the model only, each panel titled with its party and base value,
    one legend below."""
    from matplotlib.figure import Figure

    from vbcsim.frontends.plot import tornado

    sens = sensitivity
    if "applies" in sens.data_vars:  # leave out the assumptions that are not terms of the model
        keep = np.flatnonzero(sens["applies"].sel(model=model).values.astype(bool))
        sens = sens.isel(factor=keep) if keep.size else sens
    against = sens.attrs.get("baseline") == BASELINE
    fig = Figure(figsize=(7.5, 1.4 + 0.42 * sens.sizes["factor"]), layout="constrained")
    axes = fig.subplots(1, len(parties), squeeze=False).ravel()
    for k, (ax, party) in enumerate(zip(axes, parties, strict=True)):
        tornado(sens, model, party, ax=ax)
        base = float(sens["base"].sel(model=model, party=party))
        ax.set_title(f"{party} (base {signed_money(base) if against else money(base)} a year)", fontsize=9)
        ax.set_xlabel(f"{'change vs fee for service' if against else 'expected annual result'} ($ a year)")
        ax.set_ylabel("assumption" if k == 0 else "")
        ax.tick_params(labelsize=7.5)
        for text in ax.texts:  # the settings at the bars' ends, and room for them in a narrow panel
            text.set_fontsize(7)
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo - 0.12 * (hi - lo), hi + 0.12 * (hi - lo))
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    handles, labels = axes[0].get_legend_handles_labels()
    labels = ["base (line)" if t.startswith("base") else t for t in labels]
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=7.5, frameon=False)
    fig.suptitle(f"{number}. {model}: what moves the expected result", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- assumptions


def _distribution(description):
    """Rebuild a cost distribution from the engine's description of it (None if it cannot)."""
    from vbcsim.population import distributions as dist

    if not isinstance(description, Mapping) or "type" not in description:
        return None
    cls = getattr(dist, str(description["type"]), None)
    if not isinstance(cls, type):
        return None
    kwargs = {}
    for key, value in description.items():
        if key == "type":
            continue
        if isinstance(value, Mapping):
            value = _distribution(value)
            if value is None:
                return None
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError):
        return None


def _pmpm_row(name: str, members: int, exact, cost) -> dict:
    """A row of the population table: members, exact PMPM and simulated PMPM ± its error."""
    row = {"name": name, "members": f"{members:,}", "exact": pmpm(exact), "simulated": "n/a", "se": None}
    if cost is not None and members and cost.size > 1:
        per = cost / members / 12.0
        row["simulated"] = pmpm(float(per.mean()))
        row["se"] = pmpm(float(per.std(ddof=1) / math.sqrt(per.size)))
    return row


def _population(ds: xr.Dataset, run: dict) -> dict:
    """Segments of the panel (members, exact and simulated PMPM) and the pooled members."""
    described = {
        str(seg["name"]): seg.get("cost")
        for seg in (run.get("population") or {}).get("segments", []) or []
        if isinstance(seg, Mapping) and "name" in seg
    }
    names = ds["segment"].values.tolist() if "segment" in ds.coords else []
    pooled = ds["pooled"].values.astype(bool).tolist() if "pooled" in ds.coords else [False] * len(names)
    members = ds["members"].values.tolist() if "members" in ds.data_vars else [0] * len(names)
    rows, other, total_members, total_exact, total_cost = [], 0, 0, 0.0, 0.0
    for name, is_pooled, m in zip(names, pooled, members, strict=True):
        if is_pooled:
            other += int(m)
            continue
        dist = _distribution(described.get(str(name)))
        exact = float(dist.mean()) / 12.0 if dist is not None else None
        cost = ds["cost"].sel(segment=name).values if "cost" in ds.data_vars else None
        rows.append(_pmpm_row(str(name), int(m), exact, cost))
        total_members += int(m)
        total_exact = None if exact is None or total_exact is None else total_exact + exact * int(m)
        total_cost = None if cost is None or total_cost is None else total_cost + cost
    total = None
    if rows and total_members:
        exact = total_exact / total_members if total_exact is not None else None
        total = _pmpm_row("panel", total_members, exact, total_cost)
    pooled_text = f"{other:,}" if other else None
    return {"segments": rows, "total": total, "pooled": pooled_text, "members": total_members}


def _panel_members(ds: xr.Dataset) -> int:
    """Members of the provider's panel (segments not pooled from other practices)."""
    if "members" not in ds.data_vars:
        return 0
    members = ds["members"].values
    if "pooled" in ds.coords:
        members = members[~ds["pooled"].values.astype(bool)]
    return int(members.sum())


def _risk(run: dict) -> dict | None:
    risk = run.get("scenario_risk")
    if not isinstance(risk, Mapping):
        return None
    get = risk.get
    return {
        "trend_cv": percent(float(get("trend_cv", 0.0))),
        "shock_probability": percent(float(get("shock_probability", 0.0))),
        "shock_size": percent(float(get("shock_size", 0.0))),
        "market": percent(float(get("market_share_of_variance", 0.0)), 0)
        if float(get("market_share_of_variance", 0.0))
        else None,
    }


_SKIP_TERMS = ("type", "source", "target", "segments")


def _defaults(kind: str) -> dict:
    """The default terms of the contract class named ``kind`` (by their described names), or {}."""
    import dataclasses

    from vbcsim import contracts

    cls = getattr(contracts, kind, None)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        return {}
    return {
        f.metadata.get("name", f.name): f.default
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING
    }


def _default_term(key: str, value, defaults: dict) -> bool:
    """A term left at its contract's default that says nothing: a switch, a rule's name or a zero.
    Numbers other than zero are shown even at their default (a 10% savings cap is a term)."""
    if key not in defaults or defaults[key] != value:
        return False
    return isinstance(value, (bool, str)) or value == 0


def _term(key: str, value, seen: dict) -> str | None:
    """One contract term as text, or None when it is not set."""
    label = key.replace("_", " ")
    if value is None or value is False or (isinstance(value, (list, tuple)) and not value):
        return None
    if isinstance(value, Mapping):
        text = _contract(value, seen)
        return f"{label}: {text}"
    if value is True:
        return label
    if isinstance(value, (int, float)):
        if key.endswith("pmpm"):
            return f"{label} {pmpm(float(value))}"
        if abs(value) >= 1000:
            return f"{label} {money(float(value))}"
        return f"{label} {value:.4g}"
    if isinstance(value, (list, tuple)):
        return f"{label} {', '.join(map(str, value))}"
    return f"{label} {value}"


def _contract(description: Mapping, seen: dict | None = None) -> str:
    """A contract's type, who pays whom, and its terms other than the contract's defaults.

    ``seen`` maps the contracts already described in the same model to their type, so that a
    contract nested in another (a pooled contract in a pass-through) is named, not repeated.
    """
    seen = {} if seen is None else seen
    name = str(description.get("type", "contract"))
    key = json.dumps(description, sort_keys=True, default=str)
    if key in seen:
        return f"the {seen[key]} above"
    flow = ""
    if description.get("source") and description.get("target"):
        flow = f" ({description['source']} \N{RIGHTWARDS ARROW} {description['target']})"
    defaults = _defaults(name)
    terms = [
        t
        for k, v in description.items()
        if k not in _SKIP_TERMS and not _default_term(k, v, defaults) and (t := _term(k, v, seen))
    ]
    seen[key] = name
    return f"{name}{flow}" + (f": {'; '.join(terms)}" if terms else "")


def _models(ds: xr.Dataset, run: dict) -> list[dict]:
    """Each model's premium, costs, efficiency, delivered share and contracts."""
    described = run.get("models") if isinstance(run.get("models"), Mapping) else {}
    out = []
    for i, model in enumerate(ds["model"].values.tolist(), start=1):
        d = described.get(str(model), {})
        eff = d.get("efficiency") if isinstance(d.get("efficiency"), Mapping) else None

        def value(name, d=d):
            v = d.get(name)
            return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

        seen: dict = {}
        out.append(
            {
                "number": i,
                "name": str(model),
                "premium_pmpm": pmpm(value("premium_pmpm")),
                "admin_pmpm": pmpm(value("admin_pmpm")),
                "care_management_pmpm": pmpm(value("care_management_pmpm")),
                "efficiency": "n/a"
                if eff is None
                else f"{percent(eff.get('mean'))} \N{PLUS-MINUS SIGN} {percent(eff.get('sd'))}",
                "delivered_share": percent(value("delivered_share"), 0),
                "contracts": [_contract(c, seen) for c in d.get("contracts", []) if isinstance(c, Mapping)],
            }
        )
    return out


# ----------------------------------------------------------------------------- tables


def _level(summary: xr.Dataset) -> float:
    """The VaR/TVaR level the tables show: the capital level if the summary has it, else its highest."""
    levels = [float(v) for v in np.atleast_1d(summary["level"].values)]
    want = float(summary.attrs.get("capital_level", 0.99))
    return (
        min(levels, key=lambda p: abs(p - want))
        if any(abs(p - want) < 1e-12 for p in levels)
        else max(levels)
    )


def _cell(summary: xr.Dataset, name: str, at: dict, fmt, level: float | None = None) -> dict:
    """A table cell: the formatted value, its standard error (or None) and the raw number."""

    def get(var):
        if var not in summary.data_vars:
            return None
        da = summary[var]
        if level is not None and "level" in da.dims:
            da = da.sel(level=level, method="nearest")
        return float(da.sel(at))

    v = get(name)
    se = get(f"{name}_standard_error")
    se = se if se is not None and math.isfinite(se) else None
    return {
        "metric": name,
        "value": v,
        "text": fmt(v) if v is not None else "n/a",
        "se": fmt(abs(se)).lstrip("+") if se is not None else None,
    }


def _rows(ds, summary, absolute, columns) -> list[dict]:
    """Rows of a table: per model a heading, then one row per party taking part."""
    members = _panel_members(ds) or None
    level = _level(summary)
    out = []
    for i, model in enumerate(summary["model"].values.tolist(), start=1):
        heading = f"{i}. {model}"
        if "medical_cost" in ds.data_vars and members:
            cost = float(ds["medical_cost"].sel(model=model).mean())
            heading += f" \N{EM DASH} medical cost {money(cost)} a year ({pmpm(cost / members / 12)} PMPM)"
        parties = []
        for party in summary["party"].values.tolist():
            if not _takes_part(absolute, model, party, summary):
                continue
            at = {"model": model, "party": party}
            cells = [
                _cell(summary, name, at, fmt, level if by_level else None) for name, fmt, by_level in columns
            ]
            parties.append({"party": str(party), "cells": cells})
        out.append({"model": str(model), "number": i, "heading": heading, "parties": parties})
    return out


def _headline(absolute, change) -> list[dict]:
    """Per model: what the provider and the payer expect (the change against fee for service when
    there is one) and how often they come out worse, and which party carries the most cost risk."""
    view = change if change is not None else absolute
    rows = []
    for i, model in enumerate(absolute["model"].values.tolist(), start=1):
        row = {"number": i, "model": str(model), "parties": {}}
        for party in MAIN_PARTIES:
            if party not in view["party"].values.tolist() or not _takes_part(absolute, model, party, view):
                row["parties"][party] = None
                continue
            at = {"model": model, "party": party}
            fmt = signed_money if change is not None else money
            mean = _cell(view, "mean", at, fmt)
            row["parties"][party] = {"mean": mean, "prob": _cell(view, "prob_loss", at, percent)}
        shares = absolute["risk_share"].sel(model=model)
        values = np.asarray(shares.values, dtype=float)
        if np.isfinite(values).any():
            top = int(np.nanargmax(values))
            row["carrier"] = f"{shares['party'].values[top]}: {percent(float(values[top]), 0)}"
        else:
            row["carrier"] = "n/a"
        rows.append(row)
    return rows


_CHANGE_COLUMNS = (
    ("mean", "expected change vs {baseline}", signed_money, False),
    ("mean_unpaired_standard_error", "SE if not paired", money, False),
    ("prob_loss", "P(worse off than {baseline})", percent, False),
    ("std", "sd of the change", money, False),
    ("tail_value_at_risk", "shortfall vs {baseline}, TVaR {level}", money, True),
    ("risk_share", "extra risk share", share, False),
)
_ABSOLUTE_COLUMNS = (
    ("mean", "mean", money, False),
    ("std", "sd", money, False),
    ("value_at_risk", "VaR {level} of loss", money, True),
    ("tail_value_at_risk", "TVaR {level} of loss", money, True),
    ("prob_loss", "P(loss)", percent, False),
    ("risk_share", "risk share", share, False),
    ("capital", "capital", money, False),
    ("return_on_capital", "return on capital", percent, False),
)


def _table(ds, summary, absolute, spec) -> dict:
    level = _level(summary)
    columns = [(n, f, by) for n, _, f, by in spec if n in summary.data_vars]
    headers = [
        {"metric": n, "label": label.format(level=f"{100 * level:g}%", baseline=_baseline_label(summary))}
        for n, label, _, _ in spec
        if n in summary.data_vars
    ]
    with_se = any(f"{n}_standard_error" in summary.data_vars for n, _, _ in columns)
    return {
        "headers": headers,
        "rows": _rows(ds, summary, absolute, columns),
        "level": level,
        "with_se": with_se,
    }


# ----------------------------------------------------------------------------- the report


def report(ds, path, *, summary=None, sensitivity=None, config=None, title=None) -> Path:
    """Write a self-contained one-page HTML report of a comparison of partnership models.

    Parameters
    ----------
    ds : xarray.Dataset
        result of :func:`vbcsim.compare` (``net`` (scenario, model, party), ``medical_cost``;
        ``status_quo_net`` for the change against fee for service).  A cube with a ``year``
        dimension also gets a fan chart of cumulative results; its other sections then show
        the average annual result over the years.
    path : str or os.PathLike
        the HTML file to write (``.html``); its directory must exist.  Written atomically.
    summary : xarray.Dataset or sequence of them, optional
        output of :func:`vbcsim.summarize`: the absolute view and/or the change view
        (``summarize(ds, baseline="fee_for_service")``, told apart by ``attrs["baseline"]``).
        A view not given is computed from ``ds``.
    sensitivity : xarray.Dataset, optional
        output of :func:`vbcsim.sensitivity` (factor, side, model, party): adds the tornado
        of the provider and the payer of each model (:func:`vbcsim.plot.tornado`).
    config : mapping, CompareConfig or str, optional
        the configuration as given (the TOML read, a
        :class:`vbcsim.frontends.config.CompareConfig` or JSON text), shown in full; default
        ``ds.attrs["compare_config"]``.  The run's resolved configuration
        (``ds.attrs["config"]``) is always shown beside it.
    title : str, optional
        the page title (default: the number of models and members compared).

    Returns
    -------
    pathlib.Path
        the path written.

    Examples
    --------
    >>> import vbcsim
    >>> ds = vbcsim.compare(vbcsim.defaults.provider_panel(2_000), n_scenarios=200, seed=1)  # doctest: +SKIP
    >>> vbcsim.report(ds, "report.html")  # doctest: +SKIP
    PosixPath('report.html')
    """
    import jinja2

    from vbcsim.frontends import plot
    from vbcsim.results import io

    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    path = check_report_path(path)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string, got {type(title).__name__}")
    if sensitivity is not None and not isinstance(sensitivity, xr.Dataset):
        raise TypeError(
            f"sensitivity must be an xarray.Dataset from vbcsim.sensitivity, got {type(sensitivity).__name__}"
        )
    annual = _annual(ds)
    absolute, change, change_missing = _summaries(annual, summary)
    run = _run_config(ds)
    population = _population(annual, run)
    n_models = annual.sizes.get("model", 0)
    if title is None:
        title = f"Who carries the risk: {n_models} partnership models compared on {population['members']:,} members"
    level = _level(absolute)

    figures = {
        "risk_return": _figure(
            lambda: plot.risk_return(annual, level=level, summary=absolute),
            f"Expected annual net result (y, $ a year) against the tail value at risk of the loss at "
            f"{100 * level:g}% (x, $ a year: the mean loss in the worst {100 * (1 - level):.3g}% of years), "
            "one point per model, numbered as in the table. Up and to the left is better.",
            "risk and return of each party under each model",
        ),
        "distributions": _figure(
            lambda: plot.net_distributions(annual),
            "Share of simulated years (y) by annual net result (x, $ a year), one line per model; "
            "dashed lines mark the means, the grey line zero.",
            "distribution of each party's annual net result",
        ),
        "risk_shares": _figure(
            lambda: plot.risk_shares(annual, summary=absolute),
            "Risk share: the part of each extra dollar of medical cost that a party bears "
            "(\N{MINUS SIGN}Cov(net, cost) / Var(cost); no unit). Above each model: the sum over parties.",
            "share of the medical-cost risk each party bears under each model",
        ),
    }
    tornados, tornado_missing = [], None
    if sensitivity is not None:
        if getattr(plot, "tornado", None) is None:
            tornado_missing = "this vbcsim has no vbcsim.plot.tornado"
        else:
            s_models = sensitivity["model"].values.tolist() if "model" in sensitivity.coords else []
            for i, model in enumerate(annual["model"].values.tolist(), start=1):
                parties = [p for p in MAIN_PARTIES if _takes_part(absolute, model, p, change)]
                if model in s_models and parties:
                    tornados.append(
                        _figure(
                            lambda m=model, i=i, p=parties: _tornado_pair(sensitivity, m, i, p),
                            f"{i}. {model}: each bar moves one assumption to the low (light) or high (dark) end "
                            "of its range, the others at their base; whiskers \N{PLUS-MINUS SIGN}2 paired "
                            "standard errors; $ a year.",
                            f"sensitivity of the provider's and the payer's expected result under {model}",
                        )
                    )
    fan = None
    if "year" in ds.dims and "net" in ds.data_vars and "year" in ds["net"].dims:
        fan = _figure(
            lambda: _fan_chart(ds),
            f"Cumulative net result ($) by year over {ds.sizes['year']} years: median (line), "
            "middle 50% and 90% of simulated paths (bands), one colour per model.",
            "fan chart of cumulative net results",
        )

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    n_scen = annual.sizes.get("scenario", 0)
    html = env.get_template("report.html.j2").render(
        title=title,
        version=ds.attrs.get("vbcsim_version", __version__),
        generated=datetime.date.today().isoformat(),
        seed=ds.attrs.get("seed_text", ds.attrs.get("seed", "n/a")),
        n_scenarios=f"{n_scen:,}",
        n_models=n_models,
        years=ds.sizes.get("year"),
        headline=_headline(absolute, change),
        headline_change=change is not None,
        population=population,
        risk=_risk(run),
        models=_models(annual, run),
        config_text=_config_text(config, ds),
        run_config_text=json.dumps(run, indent=2) if run else None,
        change=_table(annual, change, absolute, _CHANGE_COLUMNS) if change is not None else None,
        change_missing=change_missing,
        baseline=_baseline_label(change),
        absolute=_table(annual, absolute, absolute, _ABSOLUTE_COLUMNS),
        level=f"{100 * level:g}%",
        level_years=f"{1 / (1 - level):,.0f}",
        figures=figures,
        tornados=tornados,
        tornado_missing=tornado_missing,
        with_sensitivity=sensitivity is not None,
        sensitivity_note=_sensitivity_note(sensitivity),
        fan=fan,
    )
    return io.write_text(html, path)
