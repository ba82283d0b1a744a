"""The comparison as text: what ``vbcsim compare`` prints, and its ``--csv`` and ``--json`` files.

The table leads with what each model changes for each party against its own fee-for-service
status quo (``vbcsim.summarize(ds, baseline="fee_for_service")``), then gives the absolute
results.  Every figure carries its Monte Carlo standard error on the line below it, in
parentheses.  Amounts are dollars a year.
"""

from __future__ import annotations

import json
import math

import numpy as np

from vbcsim._version import __version__

__all__ = ["compare_table", "tidy_csv", "summary_json", "money", "takes_part"]


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


def _rows(ds, summary, absolute, level: float, members: int, *, change: bool) -> list[str]:
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
        cost = ds.medical_cost.sel(model=model).values
        pmpm = cost.mean() / members / 12
        title = f"{i}. {model} (medical cost {money(cost.mean())}, ${pmpm:,.2f} PMPM"
        if change and "status_quo_net" in ds:
            sq = ds.status_quo_net.sel(model=model).mean("scenario")
            title += (
                f"; status quo: payer {money(float(sq.sel(party='payer')))}, "
                f"provider {money(float(sq.sel(party='provider')))}"
            )
        lines.append(title + ")")
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


def compare_table(ds, summary, elapsed: float, scenario_risk, *, change=None, level: float = 0.99) -> str:
    """The comparison as printed by ``vbcsim compare``: the change against fee for service (when
    ``change``, the summary with ``baseline="fee_for_service"``, is given), then the absolute results."""
    members, others = _panel(ds)
    n_scen = ds.sizes["scenario"]
    lines = [
        f"vbcsim {__version__} compare: {members:,} members"
        + (f" (+{others:,} pooled from other practices)" if others else "")
        + f" x {n_scen:,} scenarios, seed {ds.attrs.get('seed')}, {elapsed:.2f} s",
    ]
    if scenario_risk is not None:
        lines.append(
            f"systematic risk: trend CV {scenario_risk.trend_cv:g}, shock probability "
            f"{scenario_risk.shock_probability:g}, shock size {scenario_risk.shock_size:g}"
        )
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


def tidy_csv(summary, change=None) -> str:
    """Both views as one tidy CSV: ``view`` (``change_vs_fee_for_service`` or ``absolute``), then
    the columns of :func:`vbcsim.results.metrics.tidy`."""
    import pandas as pd

    from vbcsim.results.metrics import tidy

    frames = []
    if change is not None:
        frames.append(tidy(change).assign(view="change_vs_fee_for_service"))
    frames.append(tidy(summary).assign(view="absolute"))
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[["view"] + [c for c in frame.columns if c != "view"]]
    return frame.to_csv(index=False, float_format="%.10g")


def summary_json(ds, summary, change=None) -> str:
    """Both views as JSON: run facts, then ``views`` → view → model → party → metric → value and
    standard error (VaR and TVaR by level)."""
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
    if change is not None:
        doc["views"]["change_vs_fee_for_service"] = view(change)
    doc["views"]["absolute"] = view(summary)
    return json.dumps(doc, indent=1)


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
