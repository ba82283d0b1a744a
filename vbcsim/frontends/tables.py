"""The comparison as text: what ``vbcsim compare`` prints, and its ``--csv`` and ``--json`` files.

The table leads with what each model changes for each party against its own fee-for-service
status quo (``vbcsim.summarize(ds, baseline="fee_for_service")``), then gives the absolute
results.  Every figure carries its Monte Carlo standard error on the line below it, in
parentheses.  Amounts are dollars a year.

A multi-year cube (``vbcsim compare --years N``) prints with :func:`years_table`: the cumulative
change and net result over the years (the summary's ``cumulative_<metric>`` variables, present
values at its ``discount_rate``), the payer's and the provider's mean by year, and the break-even
of each owned entity; its ``--csv`` gains a ``year`` column and its ``--json`` a year level.
"""

from __future__ import annotations

import json
import math

import numpy as np

from vbcsim._version import __version__

__all__ = [
    "compare_table",
    "years_table",
    "cumulative",
    "describe_agreement",
    "tidy_csv",
    "summary_json",
    "money",
    "takes_part",
]

#: years per block of the by-year table (a longer run prints several blocks)
YEARS_PER_BLOCK = 8


def money(x: float) -> str:
    """An amount in dollars with thousands separators: ``$1,234``, ``-$56``, ``n/a``."""
    if not math.isfinite(x):
        return "n/a"
    text = f"${abs(x):,.0f}"
    return f"-{text}" if round(x) < 0 else text


def _error(x: float) -> str:
    return "(n/a)" if not math.isfinite(x) else f"(±{money(x)[1:] if x >= 0 else money(x)})"


def _panel(ds) -> tuple[int, int]:
    pooled = (
        ds["pooled"].values.astype(bool) if "pooled" in ds.coords else np.zeros(ds.sizes["segment"], bool)
    )
    return int(ds.members.values[~pooled].sum()), int(ds.members.values[pooled].sum())


def takes_part(absolute, model, party, *views) -> bool:
    """Whether ``party`` takes part in ``model``: its result (the ``absolute`` summary), or its
    change against the baseline in any of ``views``, is not identically 0 (a fixed capitation's
    payer has a constant result but a large change against fee for service)."""
    at = {"model": model, "party": party}
    for view in (absolute, *(v for v in views if v is not None)):
        if party in view["party"].values.tolist() and not (
            float(view["mean"].sel(at)) == 0 and float(view["std"].sel(at)) == 0
        ):
            return True
    return False


def _title(ds, model, i: int, members: int, change: bool) -> str:
    """A model's line above its parties' rows: its medical cost and, in the change view, its status quo."""
    cost = ds.medical_cost.sel(model=model).values
    pmpm = cost.mean() / members / 12
    title = f"{i}. {model} (medical cost {money(cost.mean())}, ${pmpm:,.2f} PMPM"
    if change and "status_quo_net" in ds:
        sq = ds.status_quo_net.sel(model=model).mean("scenario")
        title += (
            f"; status quo: payer {money(float(sq.sel(party='payer')))}, "
            f"provider {money(float(sq.sel(party='provider')))}"
        )
    return title + ")"


def _rows(ds, summary, absolute, level: float, members: int, *, change: bool, title=_title) -> list[str]:
    pct = f"{100 * level:g}%"
    worse = "P(worse)" if change else "P(loss)"
    header = (
        f"{'  party':<12}{'mean':>14}{'std':>14}{'VaR ' + pct:>14}{'TVaR ' + pct:>14}"
        f"{worse:>10}{'risk share':>12}{'capital':>14}"
    )
    lines = [header, "-" * len(header)]
    at_level = {
        name: summary[name].sel(level=level)
        for name in (
            "value_at_risk",
            "tail_value_at_risk",
            "value_at_risk_standard_error",
            "tail_value_at_risk_standard_error",
        )
    }
    for i, model in enumerate(summary.model.values.tolist(), start=1):
        lines.append(title(ds, model, i, members, change))
        for party in summary.party.values.tolist():
            at = {"model": model, "party": party}
            if not takes_part(absolute, model, party, summary):
                continue  # not a party to this model
            values = [
                float(summary["mean"].sel(at)),
                float(summary["std"].sel(at)),
                float(at_level["value_at_risk"].sel(at)),
                float(at_level["tail_value_at_risk"].sel(at)),
            ]
            errors = [
                float(summary["mean_standard_error"].sel(at)),
                float(summary["std_standard_error"].sel(at)),
                float(at_level["value_at_risk_standard_error"].sel(at)),
                float(at_level["tail_value_at_risk_standard_error"].sel(at)),
            ]
            prob, prob_se = float(summary.prob_loss.sel(at)), float(summary.prob_loss_standard_error.sel(at))
            share = float(summary.risk_share.sel(at)) + 0.0
            share_se = float(summary.risk_share_standard_error.sel(at))
            capital, capital_se = (
                float(summary.capital.sel(at)),
                float(summary.capital_standard_error.sel(at)),
            )
            lines.append(
                f"{'  ' + party:<12}" + "".join(f"{money(v):>14}" for v in values) + f"{prob:>10.1%}"
                f"{share:>12.3f}{money(capital):>14}"
            )
            lines.append(
                f"{'':<12}"
                + "".join(f"{_error(e):>14}" for e in errors)
                + f"{'(±' + f'{prob_se:.1%}' + ')':>10}"
                f"{'(±' + f'{share_se:.3f}' + ')' if math.isfinite(share_se) else '':>12}{_error(capital_se):>14}"
            )
    return lines


def describe_agreement(agreement) -> str:
    """One line on an :class:`vbcsim.Agreement`: its periods, benchmark years and adjustments."""
    weights = "/".join(f"{100 * w:g}%" for w in agreement.baseline_weights)
    text = (
        f"agreement: periods of {agreement.length} year{'s' if agreement.length != 1 else ''}, each "
        f"benchmark from the panel's cost in the {agreement.baseline_years} year"
        f"{'s' if agreement.baseline_years != 1 else ''} before, weighted {weights} (oldest first)"
    )
    cap = f"capped at {100 * agreement.adjustment_cap:g}%"
    if agreement.regional_blend:
        text += f"; regional blend {100 * agreement.regional_blend:g}% ({cap})"
    if agreement.prior_savings_adjustment:
        text += f"; prior savings adjustment {100 * agreement.prior_savings_share:g}% ({cap})"
    return text


def _header(ds, elapsed: float, scenario_risk, agreement, years: int | None = None) -> list[str]:
    members, others = _panel(ds)
    n_scen = ds.sizes["scenario"]
    span = f" x {years:,} years" if years is not None else ""
    lines = [
        f"vbcsim {__version__} compare: {members:,} members"
        + (f" (+{others:,} pooled from other practices)" if others else "")
        + f" x {n_scen:,} scenarios{span}, seed {ds.attrs.get('seed')}, {elapsed:.2f} s",
    ]
    if scenario_risk is not None:
        risk = (
            f"systematic risk: trend CV {scenario_risk.trend_cv:g}, shock probability "
            f"{scenario_risk.shock_probability:g}, shock size {scenario_risk.shock_size:g}"
        )
        if years is not None:
            risk += (
                f"; annual trend {100 * scenario_risk.annual_trend:g}%, trend persistence "
                f"{scenario_risk.trend_persistence:g}"
            )
        lines.append(risk)
    if agreement is not None:
        lines.append(describe_agreement(agreement))
    return lines


def compare_table(
    ds, summary, elapsed: float, scenario_risk, *, change=None, level: float = 0.99, agreement=None
) -> str:
    """The comparison as printed by ``vbcsim compare``: the change against fee for service (when
    ``change``, the summary with ``baseline="fee_for_service"``, is given), then the absolute results.
    ``agreement`` (an :class:`vbcsim.Agreement`) adds a line that describes it."""
    members, _ = _panel(ds)
    lines = _header(ds, elapsed, scenario_risk, agreement)
    pct = f"{100 * level:g}%"
    errors = "Monte Carlo standard errors in parentheses"
    if change is not None:
        lines += [
            "",
            "What each model changes against its fee-for-service status quo (same members, premium and "
            "provider, on the same draws),",
            f"dollars a year: mean change; loss = the shortfall against fee for service (VaR, TVaR, capital "
            f"at {pct}); {errors}",
        ]
        lines += _rows(ds, change, summary, level, members, change=True)
    lines += [
        "",
        f"Annual net result by model and party, dollars a year (loss = -net; VaR, TVaR and capital at {pct}); "
        f"{errors}",
    ]
    lines += _rows(ds, summary, summary, level, members, change=False)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# multi-year cubes (a ``year`` dimension): the cumulative result first, then year by year


def cumulative(summary):
    """The ``cumulative_<metric>`` variables of a multi-year summary as a summary of their own
    (``mean``, ``mean_standard_error``, ...): the present value over the years."""
    import xarray as xr

    prefix = "cumulative_"
    out = xr.Dataset(
        {name[len(prefix) :]: var for name, var in summary.data_vars.items() if name.startswith(prefix)}
    )
    out = out.drop_vars([c for c in out.coords if "year" in out[c].dims or c == "year"])
    out.attrs.update(summary.attrs)
    return out


def _amounts(rate: float) -> str:
    """How the cumulative tables add up the years."""
    if rate == 0:
        return "the sum of each year's amount at its year's cost level (present value at 0%)"
    return f"present value at {100 * rate:g}% a year: each year's amount at its year's cost level, discounted to the start"


def _cumulative_title(rate: float):
    """The model line of the cumulative tables: mean cost a year, the status quo's present value."""

    def title(ds, model, i: int, members: int, change: bool) -> str:
        from vbcsim.results.horizon import discount_factors

        per_year = float(ds.medical_cost.sel(model=model).mean())
        text = f"{i}. {model} (medical cost {money(per_year)} a year, ${per_year / members / 12:,.2f} PMPM"
        if change and "status_quo_net" in ds:
            sq = (ds.status_quo_net.sel(model=model).mean("scenario") * discount_factors(ds, rate)).sum(
                "year"
            )
            text += (
                f"; status quo over the years: payer {money(float(sq.sel(party='payer')))}, "
                f"provider {money(float(sq.sel(party='provider')))}"
            )
        return text + ")"

    return title


def _by_year(view, absolute, change, parties=("payer", "provider")) -> list[str]:
    """Each model's mean for ``parties`` year by year, its standard error beneath; blocks of
    :data:`YEARS_PER_BLOCK` years."""
    years = view["year"].values.tolist()
    models = view["model"].values.tolist()
    shown = [p for p in parties if p in view["party"].values.tolist()]
    lines = []
    for start in range(0, len(years), YEARS_PER_BLOCK):
        block = years[start : start + YEARS_PER_BLOCK]
        header = f"{'  party':<12}" + "".join(f"{'year ' + str(y):>14}" for y in block)
        lines += ([""] if start else []) + [header, "-" * len(header)]
        for i, model in enumerate(models, start=1):
            lines.append(f"{i}. {model}")
            for party in shown:
                if not takes_part(absolute, model, party, change):
                    continue
                at = {"model": model, "party": party}
                mean, error = view["mean"].sel(at), view["mean_standard_error"].sel(at)
                lines.append(
                    f"{'  ' + party:<12}" + "".join(f"{money(float(mean.sel(year=y))):>14}" for y in block)
                )
                lines.append(f"{'':<12}" + "".join(f"{_error(float(error.sel(year=y))):>14}" for y in block))
    return lines


def _break_even(ds, capital) -> list[str]:
    """A line per model and owned entity: its median break-even year and P(broken even by the last year)."""
    if capital is None or "entity_net" not in ds:
        return []
    last = int(ds["year"].values[-1])
    n_years = ds.sizes["year"]
    lines = []
    for i, model in enumerate(ds["model"].values.tolist(), start=1):
        for entity in capital["entity"].values.tolist():
            if not bool(ds["entity_net"].sel(model=model, entity=entity).notnull().any()):
                continue  # the model does not own this entity
            at = {"model": model, "entity": entity}
            median = float(capital["median_break_even_year"].sel(at))
            p = float(capital["break_even_probability"].sel(at).sel(year=last))
            se = float(capital["break_even_probability_standard_error"].sel(at).sel(year=last))
            when = f"year {median:.0f}" if math.isfinite(median) else f"not within {n_years} years"
            lines.append(
                f"  {i}. {model}, {entity}: median break-even {when}; "
                f"P(broken even by year {last}) {p:.1%} (±{se:.1%})"
            )
    if not lines:
        return []
    return [
        "",
        "Break-even of the owned entity: the first year its cumulative result from year 1 is positive "
        "(the owners' contributed capital not counted)",
        *lines,
    ]


def years_table(
    ds, summary, elapsed: float, scenario_risk, *, change=None, capital=None, agreement=None, level=0.99
) -> str:
    """A multi-year comparison as printed by ``vbcsim compare --years N``: the cumulative change
    against fee for service (when ``change`` is given) and the cumulative net result, both as
    present values at the summaries' ``discount_rate`` with their errors; the mean change (or
    net result) of the payer and the provider year by year; and the break-even of each owned
    entity from ``capital`` (:func:`vbcsim.capital_path` with ``entity=True``), if given."""
    members, _ = _panel(ds)
    years = ds["year"].values.tolist()
    rate = float(summary.attrs.get("discount_rate", 0.0))
    span = f"years {years[0]}-{years[-1]}" if len(years) > 1 else f"year {years[0]}"
    lines = _header(ds, elapsed, scenario_risk, agreement, years=len(years))
    pct = f"{100 * level:g}%"
    errors = "Monte Carlo standard errors in parentheses"
    amounts = _amounts(rate)
    title = _cumulative_title(rate)
    total, total_change = cumulative(summary), (cumulative(change) if change is not None else None)
    if change is not None:
        lines += [
            "",
            f"Cumulative change over {span} against each model's fee-for-service status quo (same members, "
            "premium and provider, on the same draws),",
            f"{amounts}; loss = the shortfall against fee for service (VaR, TVaR, capital at {pct}); {errors}",
        ]
        lines += _rows(ds, total_change, total, level, members, change=True, title=title)
    lines += [
        "",
        f"Cumulative net result over {span} by model and party (loss = -net; VaR, TVaR and capital at {pct}),",
        f"{amounts}; {errors}",
    ]
    lines += _rows(ds, total, total, level, members, change=False, title=title)
    what = "Mean change against fee for service" if change is not None else "Mean net result"
    lines += ["", f"{what} by year, dollars at each year's cost level; {errors}"]
    lines += _by_year(change if change is not None else summary, total, total_change)
    lines += _break_even(ds, capital)
    return "\n".join(lines)


def _tidy_years(s):
    """:func:`vbcsim.results.metrics.tidy` of a multi-year summary: ``year`` "cumulative" (the
    present value), then each year."""
    import pandas as pd

    from vbcsim.results.metrics import tidy

    frames = [tidy(cumulative(s)).assign(year="cumulative")]
    for y in s["year"].values.tolist():
        frames.append(tidy(s.sel(year=y)).assign(year=str(y)))
    return pd.concat(frames, ignore_index=True)


def tidy_csv(summary, change=None) -> str:
    """Both views as one tidy CSV: ``view`` (``change_vs_fee_for_service`` or ``absolute``), then
    the columns of :func:`vbcsim.results.metrics.tidy`.  A multi-year summary adds a ``year``
    column after ``view``: ``cumulative`` (the present value over the years at the summary's
    ``discount_rate``), then ``1``, ``2``, ...  (each year's own metrics)."""
    import pandas as pd

    from vbcsim.results.metrics import tidy

    years = "year" in summary.dims
    table = _tidy_years if years else tidy
    frames = []
    if change is not None:
        frames.append(table(change).assign(view="change_vs_fee_for_service"))
    frames.append(table(summary).assign(view="absolute"))
    frame = pd.concat(frames, ignore_index=True)
    first = ["view", "year"] if years else ["view"]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    return frame.to_csv(index=False, float_format="%.10g")


def summary_json(ds, summary, change=None) -> str:
    """Both views as JSON: run facts, then ``views`` → view → model → party → metric → value and
    standard error (VaR and TVaR by level).

    A multi-year summary adds ``years`` and ``discount_rate`` to the run facts, and each view is
    ``{"cumulative": model → ..., "years": {"1": model → ..., ...}}``: the present value over the
    years, then each year's own metrics.  With owned entities (``entity_net``) ``break_even``
    gives model → entity → ``median_break_even_year`` and ``break_even_probability`` by year.
    """
    from vbcsim.results.metrics import METRICS

    def view(s) -> dict:
        out = {}
        for model in s.model.values.tolist():
            out[model] = {}
            for party in s.party.values.tolist():
                at = {"model": model, "party": party}
                metrics = {}
                for m in METRICS:
                    value, error = s[m].sel(at), s[f"{m}_standard_error"].sel(at)
                    if "level" in value.dims:
                        metrics[m] = {
                            f"{level:g}": {
                                "value": _finite(value.sel(level=level)),
                                "standard_error": _finite(error.sel(level=level)),
                            }
                            for level in s.level.values.tolist()
                        }
                    else:
                        metrics[m] = {"value": _finite(value), "standard_error": _finite(error)}
                out[model][party] = metrics
        return out

    members, others = _panel(ds)
    doc = {
        "vbcsim_version": __version__,
        "members": members,
        "pooled_members": others,
        "n_scenarios": int(ds.sizes["scenario"]),
        "seed": ds.attrs.get("seed_text", ds.attrs.get("seed")),
        "units": "currency per year (probabilities and risk shares: 1)",
        "capital_level": summary.attrs.get("capital_level"),
        "views": {},
    }
    if "year" in summary.dims:
        doc["years"] = int(summary.sizes["year"])
        doc["discount_rate"] = float(summary.attrs.get("discount_rate", 0.0))
        doc["units"] = (
            "currency per year at each year's cost level; cumulative: the present value over the years "
            "at discount_rate (probabilities and risk shares: 1)"
        )
        one_view = view

        def view(s) -> dict:  # the present value over the years, then each year
            years = {str(y): one_view(s.sel(year=y)) for y in s["year"].values.tolist()}
            return {"cumulative": one_view(cumulative(s)), "years": years}

        if "entity_net" in ds and "year" in ds.dims:
            doc["break_even"] = _break_even_json(ds)
    if change is not None:
        doc["views"]["change_vs_fee_for_service"] = view(change)
    doc["views"]["absolute"] = view(summary)
    return json.dumps(doc, indent=1)


def _break_even_json(ds) -> dict:
    """model → entity → median break-even year and P(broken even) by year, for the owned entities."""
    from vbcsim.results.horizon import capital_path

    capital = capital_path(ds, entity=True)
    out = {}
    for model in ds["model"].values.tolist():
        for entity in capital["entity"].values.tolist():
            if not bool(ds["entity_net"].sel(model=model, entity=entity).notnull().any()):
                continue
            at = {"model": model, "entity": entity}
            p, se = (
                capital["break_even_probability"].sel(at),
                capital["break_even_probability_standard_error"].sel(at),
            )
            out.setdefault(model, {})[entity] = {
                "median_break_even_year": _finite(capital["median_break_even_year"].sel(at)),
                "break_even_probability": {
                    str(y): {"value": _finite(p.sel(year=y)), "standard_error": _finite(se.sel(year=y))}
                    for y in ds["year"].values.tolist()
                },
            }
    return out


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
