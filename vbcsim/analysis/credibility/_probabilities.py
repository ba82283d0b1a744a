"""The probability that each contract settles at one panel size: exactly, from the FFT distribution of the
panel's annual cost with the systematic multiplier, or by counting simulated years."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy import optimize, stats

from vbcsim.analysis.credibility._panel import _Builder, _quality, _savings_contract
from vbcsim.contracts.arrangement import Arrangement, Quality
from vbcsim.population.segments import Population

_MODEL = "chance"  # the model name in the simulated cube
_Z_SPAN = 10.0  # the trend quadrature covers +-_Z_SPAN standard normal deviations
_DZ_MAX = 0.05  # widest step of the trend quadrature (in standard deviations of log trend)
_DZ_RESOLVE = 0.05  # step at most this fraction of the panel's own CV, in log-trend units
_MAX_NODES = 400_001


# ----------------------------------------------------------------------------- exact probabilities


def _multiplier_nodes(scenario_risk, panel_cv: float):
    """Nodes and weights of the systematic multiplier M: E[g(M)] ≈ Σ w g(m)."""
    if scenario_risk is None:
        return np.ones(1), np.ones(1)
    p, c = scenario_risk.shock_probability, scenario_risk.shock_size
    shock_m = np.array([1.0, 1.0 + c])
    shock_w = np.array([1.0 - p, p])
    keep = shock_w > 0
    shock_m, shock_w = shock_m[keep], shock_w[keep]
    cv = scenario_risk.trend_cv
    if cv == 0:
        trend_m, trend_w = np.ones(1), np.ones(1)
    else:
        s = math.sqrt(math.log1p(cv * cv))
        dz = min(_DZ_MAX, _DZ_RESOLVE * panel_cv / s) if panel_cv > 0 else _DZ_MAX
        n = min(_MAX_NODES, 2 * math.ceil(_Z_SPAN / dz) + 1)
        z = np.linspace(-_Z_SPAN, _Z_SPAN, n)
        trend_w = np.exp(-0.5 * z * z)
        trend_w /= trend_w.sum()
        trend_m = np.exp(s * z - 0.5 * s * s)
    m = np.multiply.outer(shock_m, trend_m).ravel()
    w = np.multiply.outer(shock_w, trend_w).ravel()
    return m, w


class _ExactPanel:
    """The exact distribution of a set of segments' annual cost, with the systematic multiplier."""

    def __init__(self, segments, scenario_risk):
        from vbcsim.population.exact import aggregate_population

        self.agg = aggregate_population(segments)
        self.mean = self.agg.mean()
        cv = self.agg.std() / self.mean if self.mean > 0 else 0.0
        self.nodes, self.weights = _multiplier_nodes(scenario_risk, cv)

    def cdf(self, x: float) -> float:
        """P(M C ≤ x)."""
        return float(np.dot(self.weights, np.asarray(self.agg.cdf(x / self.nodes))))

    def sf(self, x: float) -> float:
        """P(M C > x)."""
        return float(np.dot(self.weights, np.asarray(self.agg.sf(x / self.nodes))))

    def ppf(self, q: float) -> float:
        """The q quantile of M C."""
        if self.nodes.size == 1:
            return float(self.agg.ppf(q)) * float(self.nodes[0])
        lo = float(self.agg.ppf(min(q, 1e-12))) * float(self.nodes.min())
        hi = float(self.agg.ppf(1.0 - 1e-12)) * float(self.nodes.max())
        return float(optimize.brentq(lambda x: self.cdf(x) - q, lo, hi, xtol=1e-12 * hi, rtol=1e-12))


def _exact_contracts(panel: Population, arr: Arrangement, scenario_risk, quality: Quality, cache: dict):
    """Exact P(payment), P(recoupment) and MSR of each SharedSavings/PooledSavings contract."""
    segments = {s.name: s for s in panel}
    segments.update({s.name: s for s in arr.pool})
    out, left_out = {}, []
    for name, contract in zip(arr.contract_names, arr.contracts, strict=True):
        ss = _savings_contract(contract)
        if ss is None:
            left_out.append(name)
            continue
        if ss.outlier_attachment is not None:
            raise ValueError(
                f"method='exact': contract {name!r} truncates each member's cost at outlier_attachment="
                f"{ss.outlier_attachment!r}, and the exact oracle has no distribution for the truncated total; "
                "use method='simulate'"
            )
        if ss.segments is None:
            covered = tuple(panel)
        else:
            missing = [s for s in ss.segments if s not in segments]
            if missing:
                raise ValueError(
                    f"contract {name!r}: segments {missing} are neither in the population nor the pool"
                )
            covered = tuple(segments[s] for s in ss.segments)
        key = (covered, scenario_risk)
        if key not in cache:
            cache[key] = _ExactPanel(covered, scenario_risk)
        dist = cache[key]
        benchmark = ss.benchmark_pmpm * 12.0 * sum(s.members for s in covered)
        if ss.benchmark_update == "retrospective" and scenario_risk is not None:
            raise ValueError(
                f"method='exact': contract {name!r} updates its benchmark retrospectively by the market "
                "part of the systematic risk, which the exact oracle does not model jointly with the "
                "panel's cost; use method='simulate'"
            )
        gate = 1.0
        if ss.quality_rule == "mssp":
            # savings are shared at some rate when the score meets the alternative standard, or the
            # quality standard where there is none (42 CFR 425.512, 425.605(d), 425.610(d))
            floor = ss.alternative_standard if ss.alternative_standard is not None else ss.quality_standard
            gate = float(stats.beta.sf(floor, quality.alpha, quality.beta))
        elif ss.quality_gate is not None:
            gate = float(stats.beta.sf(ss.quality_gate, quality.alpha, quality.beta))
        pays = ss.sharing_rate > 0 and (ss.savings_cap is None or ss.savings_cap > 0)
        pay = gate * dist.cdf(benchmark * (1.0 - ss.minimum_savings_rate)) if pays else 0.0
        rec = 0.0
        if ss.two_sided and ss.loss_sharing_rate > 0 and (ss.loss_cap is None or ss.loss_cap > 0):
            rec = dist.sf(benchmark * (1.0 + ss.minimum_loss_rate))
        out[name] = (pay, rec, ss.minimum_savings_rate)
    if not out:
        raise ValueError(
            "method='exact' needs a SharedSavings or PooledSavings contract in the arrangement; it has "
            f"{', '.join(arr.contract_names)}: use method='simulate'"
        )
    return out, left_out


def _exact_applies(builder: _Builder, size: int, contract: str | None = None) -> bool:
    """Whether method='exact' can compute the arrangement at ``size`` (for method='auto'); with
    ``contract``, whether it can compute that contract."""
    panel = builder.panel(size)
    arr = builder.arrangement(size, panel)
    found = False
    for name, c in zip(arr.contract_names, arr.contracts, strict=True):
        if contract is not None and name != contract:
            continue
        ss = _savings_contract(c)
        if ss is not None:
            if ss.outlier_attachment is not None:
                return False
            found = True
    return found


def _curve(builder, sizes, *, method, n_scenarios, seed, quality, threads, progress=None) -> xr.Dataset:
    from vbcsim.results.simulation import simulate

    for size in sizes:
        builder.check_size(size)
    rows, members, left_out = [], [], []  # left_out: contracts the exact method does not cover
    cache: dict = {}
    for done, size in enumerate(sizes, start=1):
        panel = builder.panel(size)
        arr = builder.arrangement(size, panel)
        members.append(panel.members)
        if method == "exact":
            probs, left = _exact_contracts(panel, arr, builder.scenario_risk, _quality(quality), cache)
            cache.clear()  # each size is its own panel
            left_out.extend(n for n in left if n not in left_out)
            names = list(probs)
            pay = np.array([probs[n][0] for n in names])
            rec = np.array([probs[n][1] for n in names])
            msr = np.array([probs[n][2] for n in names])
            row = xr.Dataset(
                {
                    "prob_payment": ("contract", pay),
                    "prob_recoupment": ("contract", rec),
                    "prob_settlement": ("contract", pay + rec),
                    "minimum_savings_rate": ("contract", msr),
                },
                coords={"contract": names},
            )
        else:
            ds = simulate(
                panel,
                {_MODEL: arr},
                n_scenarios=n_scenarios,
                seed=seed,
                scenario_risk=builder.scenario_risk,
                quality=quality,
                threads=threads,
                progress=False,
            )
            s = ds.settlement.sel(model=_MODEL, drop=True)
            valid = s.notnull().all("scenario")
            msr = [
                _savings_contract(c).minimum_savings_rate if _savings_contract(c) is not None else np.nan
                for c in arr.contracts
            ]
            row = xr.Dataset(
                {
                    "prob_payment": (s > 0).mean("scenario").where(valid),
                    "prob_recoupment": (s < 0).mean("scenario").where(valid),
                    "prob_settlement": (s != 0).mean("scenario").where(valid),
                    "minimum_savings_rate": ("contract", np.asarray(msr, dtype=float)),
                }
            )
            row = row.sel(contract=arr.contract_names)
        rows.append(row)
        if progress is not None:
            progress(done, len(sizes))
    out = xr.concat(rows, dim="panel_size", join="outer")
    out = out.assign_coords(panel_size=sizes, members=("panel_size", np.asarray(members, dtype=np.int64)))
    return out, left_out
