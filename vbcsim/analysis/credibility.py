"""Credibility: how often a shared-savings contract settles by chance alone, by panel size.

A shared-savings contract pays when the panel's annual cost beats the
benchmark by at least the minimum savings rate (MSR).  Part of that happens
by chance: even with no true savings a small panel's cost wanders a few
percent around its expectation every year.  This module answers, for a
population and an arrangement:

- :func:`chance_settlement` — the probability that each contract pays (or
  recoups) in a year with *no true savings*, as a function of panel size;
- :func:`minimum_panel_size` — the smallest panel for which that probability
  is at most a target (5% by default);
- :func:`msr_for_confidence` — the MSR that makes a chance payment have
  probability 1 − confidence, beside the Medicare Shared Savings Program's
  size-based table (42 CFR 425.604(b), :data:`vbcsim.contracts.shared_savings.MSSP_MSR_TABLE`);
- :func:`plot` and :func:`plot_msr` — the figures.

"No true savings" means the arrangement's efficiency effect is forced to 0
(``dataclasses.replace(arrangement, efficiency=Efficiency(0.0))``): member
costs are drawn from the population exactly as priced, so whatever settles,
settles by chance.  Without ``scenario_risk`` (the default) the only
variation is between members, which diversifies: the probability of a chance
payment falls towards 0 as the panel grows, roughly as the normal tail
P(Z > MSR √n / CV) with CV the coefficient of variation of one member's
annual cost.  With systematic risk (a :class:`vbcsim.ScenarioRisk`, e.g.
:data:`vbcsim.partnerships.DEFAULT_SCENARIO_RISK`) it falls only to the
probability that the year's common cost multiplier alone clears the MSR.

Two methods
-----------
``method="simulate"`` runs :func:`vbcsim.simulate` for each panel size (the
same seed at every size: common scenario-level draws) and counts scenarios;
it handles any arrangement.  Its estimates carry binomial noise, standard
error sqrt(p (1 − p) / n_scenarios).

``method="exact"`` reads the probabilities off the exact distribution of the
panel's annual cost (:func:`vbcsim.exact.aggregate_population`, by FFT): a
:class:`~vbcsim.contracts.SharedSavings` contract with benchmark B, MSR m and
MLR l pays when the actual cost A ≤ B (1 − m) and recoups when
A ≥ B (1 + l).  It covers the arrangement's ``SharedSavings`` and
``PooledSavings`` contracts (other contracts are left out of its result and
listed in the ``left_out`` attribute) with

- a quality gate: the score is independent of cost, so the payment
  probability is multiplied by P(quality ≥ gate) under the Beta quality
  distribution — exact;
- systematic risk: A = M × C with M the scenario multiplier, so
  P(A ≤ x) = E[P(C ≤ x / M)], integrated over the lognormal trend (a fine
  normal-density grid, 20 standard deviations wide, fine enough to resolve
  the panel's own spread) and the shock — exact to quadrature error
  (below 1e-6 here);
- no outlier truncation: a contract with ``outlier_attachment`` settles on
  Σ min(X, a), whose distribution the FFT oracle does not compute, so it is
  rejected with a ``ValueError`` (use ``method="simulate"``).

The exact method is deterministic and, apart from the rounding of segment
sizes by :func:`vbcsim.partnerships.resize`, monotone in panel size; it takes
0.1 to 1.5 s a size.  :func:`minimum_panel_size` and :func:`msr_for_confidence`
use it by default (``method="auto"``) wherever it applies.

The arrangement
---------------
``arrangement`` says what contract is tested, and how its benchmark follows
the panel's size:

- ``None`` (default): a plain one-sided :class:`~vbcsim.contracts.SharedSavings`
  contract (50% sharing rate — the rate does not change *whether* it pays)
  whose benchmark is the panel's exact expected cost per member per month
  (with the mean of any systematic multiplier; truncated at
  ``outlier_attachment`` when given), and whose MSR is
  ``minimum_savings_rate`` or, when that is None, the MSSP table
  (:func:`~vbcsim.contracts.mssp_minimum_savings_rate`) at each panel size,
  which starts at 5,000 members;
- an :class:`vbcsim.Arrangement` (or a contract or a list of contracts): the
  same contracts at every size.  Benchmarks are per member per month, so they
  scale with the panel automatically; the MSR stays fixed; an arrangement's
  ``pool`` segments (other practices) keep their size;
- a partnership model: a key of :func:`vbcsim.partnership_models`
  (``"custom_contract"``, ``"value_program"``, ``"third_party"``,
  ``"risk_network"``, ``"joint_venture"``; the readable names and ``"1"``-``"5"``
  too) or a :class:`~vbcsim.partnerships.PartnershipModel` instance: the model
  is rebuilt for each resized panel — benchmark, size-based MSR and pool
  follow the panel — with ``model_overrides`` (a dict of the model's
  parameters) applied and its efficiency set to 0, so terms priced on the
  expected efficiency (the joint venture's premium) are priced on none;
- a callable ``size -> Arrangement``: full control.

Whatever is given, the efficiency effect is then forced to 0.

Examples
--------
>>> import vbcsim
>>> from vbcsim import credibility
>>> curve = credibility.chance_settlement(minimum_savings_rate=0.02, sizes=[5_000, 20_000], method="exact")
>>> curve.prob_payment.sel(contract="shared_savings").values.round(2).tolist()
[0.33, 0.18]
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping

import numpy as np
import xarray as xr
from scipy import optimize, stats

from vbcsim._validation import check_nonnegative_int, check_positive, check_positive_int, check_probability
from vbcsim.contracts import PooledSavings, SharedSavings
from vbcsim.contracts.arrangement import Arrangement, Efficiency, Quality, as_arrangement
from vbcsim.contracts.shared_savings import MSSP_MINIMUM_BENEFICIARIES, mssp_minimum_savings_rate
from vbcsim.partnerships import _check_population
from vbcsim.population.scenario import ScenarioRisk, check_scenario_risk
from vbcsim.population.segments import Population

__all__ = [
    "DEFAULT_SIZES",
    "chance_settlement",
    "minimum_panel_size",
    "msr_for_confidence",
    "plot",
    "plot_msr",
]

#: Panel sizes of the default curve: from the MSSP's 5,000-beneficiary minimum
#: (42 CFR 425.110(a)(1)) to 100,000 members.
DEFAULT_SIZES = (5_000, 10_000, 20_000, 50_000, 100_000)

METHODS = ("simulate", "exact", "auto")
EVENTS = ("payment", "recoupment", "settlement")
_MODEL = "chance"  # the model name in the simulated cube
_SHARING_RATE = 0.5  # of the default contract: irrelevant to whether it pays
_Z_SPAN = 10.0  # the trend quadrature covers +-_Z_SPAN standard normal deviations
_DZ_MAX = 0.05  # widest step of the trend quadrature (in standard deviations of log trend)
_DZ_RESOLVE = 0.05  # step at most this fraction of the panel's own CV, in log-trend units
_MAX_NODES = 400_001
_P_CLAMP = 1e-12  # probabilities are clamped to [_P_CLAMP, 1 - _P_CLAMP] on the probit scale of the search


# ----------------------------------------------------------------------------- input checks


def _sizes(sizes) -> list[int]:
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = [sizes]
    try:
        values = list(sizes)
    except TypeError:
        raise TypeError(
            f"sizes must be a sequence of positive integers, got {type(sizes).__name__}"
        ) from None
    if not values:
        raise ValueError("sizes must not be empty")
    out = []
    for s in values:
        if (
            isinstance(s, numbers.Real)
            and not isinstance(s, (bool, numbers.Integral))
            and float(s).is_integer()
        ):
            s = int(s)
        out.append(check_positive_int("sizes", s, strict=True))
    if len(set(out)) != len(out):
        raise ValueError(f"sizes must be distinct, got {values!r}")
    return sorted(out)


def _method(method, allowed=METHODS) -> str:
    if method not in allowed:
        raise ValueError(f"method must be one of {', '.join(map(repr, allowed))}, got {method!r}")
    return method


def _setup(population, arrangement, n_scenarios, seed, quality, **builder_options):
    """Checked run settings and the arrangement builder shared by the curve and the size search."""
    n_scenarios = check_positive_int("n_scenarios", n_scenarios, strict=True)
    seed = check_nonnegative_int("seed", seed, strict=True)
    _quality(quality)
    return n_scenarios, seed, _Builder(population, arrangement, **builder_options)


def _quality(quality) -> Quality:
    if quality is None:
        return Quality()
    if not isinstance(quality, Quality):
        raise TypeError(f"quality must be a vbcsim.Quality or None, got {type(quality).__name__}")
    return quality


def _open_probability(name: str, value) -> float:
    return check_probability(name, value, open_low=True, open_high=True)


# ----------------------------------------------------------------------------- the arrangement per size


class _Builder:
    """The panel and the no-savings arrangement at each panel size."""

    def __init__(
        self,
        population,
        arrangement,
        *,
        minimum_savings_rate,
        outlier_attachment,
        model_overrides,
        scenario_risk,
    ):
        from vbcsim.partnerships import PartnershipModel, _model_class

        self.population = _check_population(population)
        self.scenario_risk = check_scenario_risk(scenario_risk)
        self.default = arrangement is None
        self.kind = None
        if not self.default and (minimum_savings_rate is not None or outlier_attachment is not None):
            which = "minimum_savings_rate" if minimum_savings_rate is not None else "outlier_attachment"
            raise ValueError(
                f"{which} applies to the default contract only (arrangement=None); set it in the arrangement"
            )
        if model_overrides is not None and not (isinstance(arrangement, (str, PartnershipModel))):
            raise ValueError("model_overrides applies only when arrangement is a partnership model (a key)")
        self.msr = None
        if minimum_savings_rate is not None:
            self.msr = check_probability("minimum_savings_rate", minimum_savings_rate, open_high=True)
        self.outlier = None
        if outlier_attachment is not None:
            self.outlier = check_positive("outlier_attachment", outlier_attachment)
        if self.default:
            self.kind = "default"
        elif isinstance(arrangement, str):
            try:
                cls = _model_class(arrangement)
            except ValueError as exc:
                raise ValueError(f"arrangement: {exc}") from None
            params = dict(_overrides(model_overrides))
            params.update(efficiency=0.0, efficiency_sd=0.0)
            try:
                self.model = cls(**params)
            except TypeError as exc:
                raise ValueError(f"model_overrides: {exc}") from None
            self.kind = "model"
        elif isinstance(arrangement, PartnershipModel):
            model = arrangement
            if model_overrides:
                try:
                    model = dataclasses.replace(model, **_overrides(model_overrides))
                except TypeError as exc:
                    raise ValueError(f"model_overrides: {exc}") from None
            self.model = dataclasses.replace(model, efficiency=0.0, efficiency_sd=0.0)
            self.kind = "model"
        elif isinstance(arrangement, Arrangement):
            self.fixed = arrangement
            self.kind = "fixed"
        elif callable(arrangement):
            self.factory = arrangement
            self.kind = "callable"
        else:
            try:
                self.fixed = as_arrangement("arrangement", arrangement)
            except TypeError:
                raise TypeError(
                    "arrangement must be None, a vbcsim.Arrangement (or contracts), a partnership model key or "
                    f"PartnershipModel, or a callable size -> Arrangement; got {type(arrangement).__name__}"
                ) from None
            self.kind = "fixed"

    def check_size(self, size: int) -> None:
        if self.kind == "default" and self.msr is None and size < MSSP_MINIMUM_BENEFICIARIES:
            raise ValueError(
                f"sizes: the MSSP minimum savings rate table (42 CFR 425.604(b)) starts at "
                f"{MSSP_MINIMUM_BENEFICIARIES:,} members, got a panel of {size:,}; give minimum_savings_rate "
                "for smaller panels"
            )

    def panel(self, size: int) -> Population:
        from vbcsim.partnerships import resize

        return resize(self.population, size)

    def arrangement(self, size: int, panel: Population) -> Arrangement:
        from vbcsim.partnerships import expected_pmpm

        self.check_size(size)
        if self.kind == "default":
            msr = self.msr if self.msr is not None else mssp_minimum_savings_rate(size)
            benchmark = expected_pmpm(panel, self.scenario_risk, self.outlier)
            arr = Arrangement(
                [
                    SharedSavings(
                        benchmark,
                        sharing_rate=_SHARING_RATE,
                        minimum_savings_rate=msr,
                        outlier_attachment=self.outlier,
                    )
                ]
            )
        elif self.kind == "model":
            arr = self.model.arrangement(panel, self.scenario_risk)
        elif self.kind == "fixed":
            arr = self.fixed
        else:
            arr = self.factory(size)
            if not isinstance(arr, Arrangement):
                try:
                    arr = as_arrangement("arrangement", arr)
                except TypeError:
                    raise TypeError(
                        f"arrangement: the callable must return a vbcsim.Arrangement, got {type(arr).__name__} "
                        f"for size {size}"
                    ) from None
        return dataclasses.replace(arr, efficiency=Efficiency(0.0))


def _overrides(model_overrides) -> Mapping:
    if model_overrides is None:
        return {}
    if not isinstance(model_overrides, Mapping):
        raise TypeError(
            f"model_overrides must be a dict of model parameters, got {type(model_overrides).__name__}"
        )
    for key in ("efficiency", "efficiency_sd"):
        if key in model_overrides:
            raise ValueError(f"model_overrides: {key} is set to 0 here (no true savings); leave it out")
    return model_overrides


def _savings_contract(contract):
    """The SharedSavings inside a contract (itself, or a PooledSavings' pool contract), or None."""
    if isinstance(contract, SharedSavings):
        return contract
    if isinstance(contract, PooledSavings):
        return contract.savings
    return None


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
        gate = 1.0
        if ss.quality_gate is not None:
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


# ----------------------------------------------------------------------------- chance_settlement


def _curve(builder, sizes, *, method, n_scenarios, seed, quality, threads) -> xr.Dataset:
    from vbcsim.results.simulation import simulate

    for size in sizes:
        builder.check_size(size)
    rows, members, left_out = [], [], []  # left_out: contracts the exact method does not cover
    cache: dict = {}
    for size in sizes:
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
    out = xr.concat(rows, dim="panel_size", join="outer")
    out = out.assign_coords(panel_size=sizes, members=("panel_size", np.asarray(members, dtype=np.int64)))
    return out, left_out


def _finish(out: xr.Dataset, method, n_scenarios, seed, scenario_risk, left_out=()) -> xr.Dataset:
    out.prob_payment.attrs.update(
        units="1", description="P(settlement > 0) with no true savings: a payment by chance alone"
    )
    out.prob_recoupment.attrs.update(
        units="1", description="P(settlement < 0) with no true savings: a recoupment by chance alone"
    )
    out.prob_settlement.attrs.update(units="1", description="P(settlement != 0) with no true savings")
    out.minimum_savings_rate.attrs.update(
        units="1", description="the contract's minimum savings rate at this size (NaN: not shared savings)"
    )
    out.panel_size.attrs.update(units="members", description="requested panel size")
    out.members.attrs.update(units="members", description="members of the resized panel (segments rounded)")
    out.attrs.update(method=method, scenario_risk=repr(scenario_risk))
    if method == "simulate":
        out.attrs.update(n_scenarios=n_scenarios, seed=seed)
    if left_out:
        out.attrs["left_out"] = ", ".join(left_out)
    return out


def chance_settlement(
    population=None,
    arrangement=None,
    sizes=DEFAULT_SIZES,
    *,
    minimum_savings_rate: float | None = None,
    outlier_attachment: float | None = None,
    model_overrides: Mapping | None = None,
    n_scenarios: int = 4_000,
    seed: int = 0,
    scenario_risk: ScenarioRisk | None = None,
    quality: Quality | None = None,
    method: str = "simulate",
    threads: int | None = None,
) -> xr.Dataset:
    """The probability that each contract settles by chance alone (no true savings), by panel size.

    Parameters
    ----------
    population : Population, optional
        the panel whose case mix is rescaled to each size
        (:func:`vbcsim.partnerships.resize`); default the built-in commercial
        panel (:func:`vbcsim.defaults.provider_panel`).
    arrangement : None, Arrangement, str, PartnershipModel or callable
        what is tested (see the module docstring): None for a plain one-sided
        shared-savings contract benchmarked on the panel's expected cost; an
        Arrangement (PMPM benchmarks, so they scale with the panel); a
        partnership model key such as ``"custom_contract"`` (the model is
        rebuilt on each resized panel); or a callable ``size -> Arrangement``.
        Its efficiency effect is forced to 0.
    sizes : sequence of int
        panel sizes (members); sorted ascending in the result.
    minimum_savings_rate : float, optional
        the default contract's MSR; None: the MSSP table at each size (42 CFR
        425.604(b)), which needs sizes of at least 5,000.
    outlier_attachment : float, optional
        the default contract counts each member's annual cost up to this
        amount (the MSSP truncates at the 99th percentile of expenditure);
        simulation only.
    model_overrides : dict, optional
        parameters of the partnership model named by ``arrangement``.
    n_scenarios, seed : int
        simulated years per size and the root seed (the same at every size).
    scenario_risk : ScenarioRisk, optional
        systematic risk (default none: member-level random variation only).
    quality : Quality, optional
        the quality-score distribution of quality-gated contracts (default
        Beta(8, 2)).
    method : {"simulate", "exact", "auto"}
        Monte Carlo (any arrangement), the exact FFT oracle (SharedSavings and
        PooledSavings contracts without outlier truncation), or exact where it
        applies.
    threads : int, optional
        engine threads (simulation).

    Returns
    -------
    xarray.Dataset
        over (``panel_size``, ``contract``): ``prob_payment`` (P(settlement >
        0)), ``prob_recoupment`` (P(settlement < 0)), ``prob_settlement``
        (P(settlement ≠ 0)) and ``minimum_savings_rate``; coordinate
        ``members`` (panel_size), the resized panel's actual members.  NaN
        where a size's arrangement lacks a contract.  The exact method lists
        only the shared-savings contracts (the others in attrs ``left_out``).

    Raises
    ------
    ValueError
        for sizes that are not positive integers, an unknown partnership model
        key, sizes below 5,000 with the MSSP table, or an arrangement the
        exact method cannot compute.

    Examples
    --------
    >>> curve = chance_settlement(minimum_savings_rate=0.02, sizes=[5_000, 50_000], method="exact")
    >>> curve.prob_payment.sel(contract="shared_savings").values.round(3).tolist()
    [0.335, 0.071]
    """
    method = _method(method)
    sizes = _sizes(sizes)
    n_scenarios, seed, builder = _setup(
        population,
        arrangement,
        n_scenarios,
        seed,
        quality,
        minimum_savings_rate=minimum_savings_rate,
        outlier_attachment=outlier_attachment,
        model_overrides=model_overrides,
        scenario_risk=scenario_risk,
    )
    if method == "auto":
        method = "exact" if _exact_applies(builder, sizes[0]) else "simulate"
    out, left_out = _curve(
        builder, sizes, method=method, n_scenarios=n_scenarios, seed=seed, quality=quality, threads=threads
    )
    return _finish(out, method, n_scenarios, seed, builder.scenario_risk, left_out)


# ----------------------------------------------------------------------------- minimum panel size


def _choose_contract(arr: Arrangement, contract, method: str) -> str:
    names = arr.contract_names
    if contract is not None:
        if contract not in names:
            raise ValueError(f"contract must be one of the arrangement's contracts {names}, got {contract!r}")
        if method == "exact" and _savings_contract(arr.contracts[names.index(contract)]) is None:
            raise ValueError(
                f"contract {contract!r} is not a shared-savings contract, which method='exact' needs; "
                "use method='simulate'"
            )
        return contract
    found = [n for n, c in zip(names, arr.contracts, strict=True) if _savings_contract(c) is not None]
    if len(found) != 1:
        raise ValueError(
            f"contract: the arrangement has {len(found)} shared-savings contracts ({', '.join(names)}); "
            "name the one to test"
        )
    return found[0]


def minimum_panel_size(
    population=None,
    target: float = 0.05,
    arrangement=None,
    *,
    lo: int | None = None,
    hi: int = 1_000_000,
    event: str = "payment",
    contract: str | None = None,
    minimum_savings_rate: float | None = None,
    outlier_attachment: float | None = None,
    model_overrides: Mapping | None = None,
    scenario_risk: ScenarioRisk | None = None,
    quality: Quality | None = None,
    method: str = "auto",
    n_scenarios: int = 4_000,
    seed: int = 0,
    rtol: float = 0.001,
    threads: int | None = None,
) -> int:
    """The smallest panel size whose probability of a chance payment is at most ``target``.

    A bracketing search on the panel size between ``lo`` and ``hi``
    (false position on the probit of the probability against √n, where the
    normal approximation makes it a straight line, safeguarded by geometric
    bisection; about 6 to 16 evaluations), assuming the probability falls with
    size.  That holds for the exact method with a fixed MSR (up to the rounding
    of segment sizes by :func:`vbcsim.partnerships.resize`).  Under the MSSP
    table it holds except between 50,000 and 60,000 members, where the MSR
    falls from 2.2% to 2.0% slightly faster than 1/√n (MSR √n from 4.92 to
    4.90), so the chance probability rises a little (for the built-in panel
    from 5.24% to 5.36%); there the search returns *a* crossing of the target,
    the smallest one only if it is the only one.  With simulation every size
    uses the same seed (common scenario-level draws), but the estimates still
    carry binomial noise (standard error about 0.0034 at p = 0.05 with 4,000
    scenarios), which moves the answer by several percent; prefer the exact
    method, the default wherever it applies.

    Parameters
    ----------
    population, arrangement, minimum_savings_rate, outlier_attachment, model_overrides, scenario_risk, quality
        as for :func:`chance_settlement`.
    target : float
        the largest acceptable probability, in (0, 1).
    lo, hi : int
        the search range (members); ``lo`` defaults to 500, or 5,000 for the
        default contract with the MSSP table.
    event : {"payment", "recoupment", "settlement"}
        which chance settlement ``target`` bounds.
    contract : str, optional
        the contract tested; default the arrangement's only shared-savings
        contract.
    method : {"auto", "exact", "simulate"}
        "auto": exact where it applies (see :func:`chance_settlement`).
    n_scenarios, seed, threads
        simulation only.
    rtol : float
        the search stops when the bracket is narrower than ``rtol`` × its
        lower end (or 1 member); 0 for the exact integer.

    Returns
    -------
    int
        the smallest size n (to within ``rtol``) in [lo, hi] with
        P(chance ``event``) ≤ ``target``; ``lo`` if it already qualifies.

    Raises
    ------
    ValueError
        naming ``target`` when it is not in (0, 1) or the probability still
        exceeds it at ``hi`` (systematic risk, or an MSR of 0, keep it from
        falling that far); naming ``lo``/``hi`` for a bad range.
    """
    target = _open_probability("target", target)
    method = _method(method)
    if event not in EVENTS:
        raise ValueError(f"event must be one of {', '.join(map(repr, EVENTS))}, got {event!r}")
    rtol = float(check_probability("rtol", rtol, open_high=True))
    n_scenarios, seed, builder = _setup(
        population,
        arrangement,
        n_scenarios,
        seed,
        quality,
        minimum_savings_rate=minimum_savings_rate,
        outlier_attachment=outlier_attachment,
        model_overrides=model_overrides,
        scenario_risk=scenario_risk,
    )
    if lo is None:
        lo = MSSP_MINIMUM_BENEFICIARIES if (builder.kind == "default" and builder.msr is None) else 500
    lo = check_positive_int("lo", lo, strict=True)
    hi = check_positive_int("hi", hi, strict=True)
    if lo >= hi:
        raise ValueError(f"lo must be below hi, got lo={lo}, hi={hi}")
    try:
        builder.check_size(lo)
    except ValueError:
        raise ValueError(
            f"lo: the MSSP minimum savings rate table starts at {MSSP_MINIMUM_BENEFICIARIES:,} members, got "
            f"lo={lo}; raise lo or give minimum_savings_rate"
        ) from None
    if method == "auto":
        method = "exact" if _exact_applies(builder, lo, contract) else "simulate"
    first = builder.arrangement(lo, builder.panel(lo))
    name = _choose_contract(first, contract, method)
    var = f"prob_{event}"

    def prob(size: int) -> float:
        curve, _ = _curve(
            builder,
            [size],
            method=method,
            n_scenarios=n_scenarios,
            seed=seed,
            quality=quality,
            threads=threads,
        )
        if name not in curve.contract.values:
            raise ValueError(f"contract: the arrangement at size {size} has no contract {name!r}")
        return float(curve[var].sel(contract=name).values[0])

    p_hi = prob(hi)
    if not p_hi <= target:
        raise ValueError(
            f"target: P(chance {event}) is {p_hi:.4g} at hi={hi:,} members, above target={target:g}; the target "
            "is not reachable in [lo, hi] (raise hi, or the MSR: systematic risk or an MSR of 0 keep the "
            "probability from falling below a floor)"
        )
    p_lo = prob(lo)
    if p_lo <= target:
        return lo
    return _search(prob, target, lo, hi, p_lo, p_hi, rtol)


def _probit(p: float) -> float:
    return float(stats.norm.ppf(min(max(p, _P_CLAMP), 1.0 - _P_CLAMP)))


def _search(prob, target, lo, hi, p_lo, p_hi, rtol) -> int:
    """The smallest n in (lo, hi] with prob(n) <= target (to the tolerance), given prob(lo) > target >= prob(hi).

    A bracketing root search on f(n) = probit(prob(n)) - probit(target) against sqrt(n), which the normal
    approximation P = Phi(-MSR sqrt(n) / CV) makes nearly a straight line.  Each step interpolates f linearly
    between the ends of the bracket (false position).  When that estimate lies within the tolerance of an
    end, the step goes to exactly the tolerance beyond that end, so that a right estimate closes the bracket
    at once; otherwise the Illinois modification (the value at an end retained twice in a row is halved,
    Dowell & Jarratt 1971) keeps the far end from stalling, and a geometric bisection step is taken when
    the interpolation gives no usable point or has not halved the bracket (in log size) in two steps, so
    the search never needs more steps than about twice plain bisection's, even on noisy estimates.  It needs about 6 evaluations where plain bisection on
    [500, 1,000,000] at 0.1% needs about 13.
    """
    f_lo, f_hi = _probit(p_lo) - _probit(target), _probit(p_hi) - _probit(target)
    g_lo, g_hi = f_lo, f_hi  # Illinois-modified values
    side = 0
    widths = [math.log(hi / lo)]

    def interpolate(a, b):
        if not (math.isfinite(a) and math.isfinite(b)) or a == b:
            return None
        x_lo, x_hi = math.sqrt(lo), math.sqrt(hi)
        x = x_lo + (x_hi - x_lo) * a / (a - b)
        return int(round(x * x))

    while hi - lo > (tol := max(1, math.floor(rtol * lo))):
        mid = interpolate(f_lo, f_hi)
        if mid is not None and mid <= lo + tol:
            mid = lo + tol
        elif mid is not None and mid >= hi - tol:
            mid = hi - tol
        else:
            mid = interpolate(g_lo, g_hi)
            # bisect when the interpolation is unusable, or has not halved the bracket in two steps
            stalled = len(widths) >= 3 and widths[-1] > 0.5 * widths[-3]
            if mid is None or not lo < mid < hi or stalled:
                mid = int(round(math.sqrt(lo * hi)))
        mid = min(max(mid, lo + 1), hi - 1)
        f_mid = _probit(prob(mid)) - _probit(target)
        if f_mid <= 0.0:
            hi, f_hi, g_hi = mid, f_mid, f_mid
            if side == -1:
                g_lo /= 2.0
            side = -1
        else:
            lo, f_lo, g_lo = mid, f_mid, f_mid
            if side == 1:
                g_hi /= 2.0
            side = 1
        widths.append(math.log(hi / lo))
    return hi


# ----------------------------------------------------------------------------- MSR for a confidence


def msr_for_confidence(
    population=None,
    sizes=DEFAULT_SIZES,
    confidence: float = 0.90,
    *,
    outlier_attachment: float | None = None,
    scenario_risk: ScenarioRisk | None = None,
    method: str = "auto",
    n_scenarios: int = 4_000,
    seed: int = 0,
    threads: int | None = None,
) -> xr.Dataset:
    """The minimum savings rate that leaves a chance payment with probability 1 − ``confidence``.

    For a one-sided contract benchmarked on the panel's expected cost B, the
    MSR m at one-sided confidence c solves P(A ≤ B (1 − m)) = 1 − c with A
    the panel's annual cost and no true savings: m = 1 − F_A⁻¹(1 − c) / B.
    Savings beyond m are then unlikely (probability 1 − c) to be random
    variation.  Beside it the result gives the MSSP table and what the table
    means for *this* population.

    The MSSP's size-based MSR (42 CFR 425.604(b)) was set from the random
    variation of Medicare fee-for-service per-capita expenditure: CMS-1345-P
    (76 FR 19528, April 2011) explains it as confidence bounds that an ACO of
    a given size with average national per-capita expenditure would not earn
    a payment by chance alone, with the confidence level rising with size
    (lower for small ACOs so as not to shut them out) and blended linearly
    between neighbouring levels.  A normal approximation reproduces the table
    to within 0.1 percentage point with a per-beneficiary coefficient of
    variation of about 2.15 and one-sided confidence of about 90% at 5,000,
    95% at 20,000 and 99% at 50,000 beneficiaries (our back-calculation).  A
    commercial population with a different per-member variability needs a
    different MSR for the same confidence, which is what ``msr`` reports.

    Parameters
    ----------
    population : Population, optional
        rescaled to each size; default the built-in commercial panel.
    sizes : sequence of int
        panel sizes (members).
    confidence : float
        one-sided confidence in (0, 1): 0.90 by default (the MSSP's level at
        5,000 beneficiaries).
    outlier_attachment : float, optional
        each member's cost counts up to this amount (simulation only).
    scenario_risk : ScenarioRisk, optional
        systematic risk (default none); the benchmark includes its mean.
    method : {"auto", "exact", "simulate"}
        the exact FFT oracle (no outlier truncation) or Monte Carlo (the
        empirical quantile of ``n_scenarios`` years, ``seed``); "auto" is
        exact unless ``outlier_attachment`` is given.

    Returns
    -------
    xarray.Dataset
        over ``panel_size``: ``msr`` (the implied MSR at ``confidence``),
        ``normal_msr`` (its normal approximation z_c × CV of the panel's annual
        cost, CV from exact moments, or from the sample with
        ``outlier_attachment``), ``mssp_msr`` (the MSSP table, NaN below
        5,000), ``mssp_confidence`` (1 − P(chance payment) for this population
        under the MSSP MSR: the confidence the table gives it; NaN below
        5,000) and the coordinate ``members``.  ``.to_dataframe()`` is the
        comparison table.
    """
    from vbcsim.partnerships import expected_pmpm, resize

    population = _check_population(population)
    sizes = _sizes(sizes)
    confidence = _open_probability("confidence", confidence)
    method = _method(method)
    scenario_risk = check_scenario_risk(scenario_risk)
    n_scenarios = check_positive_int("n_scenarios", n_scenarios, strict=True)
    seed = check_nonnegative_int("seed", seed, strict=True)
    if outlier_attachment is not None:
        outlier_attachment = check_positive("outlier_attachment", outlier_attachment)
    if method == "auto":
        method = "simulate" if outlier_attachment is not None else "exact"
    if method == "exact" and outlier_attachment is not None:
        raise ValueError(
            "method='exact' has no distribution for costs truncated at outlier_attachment; use method='simulate'"
        )
    q = 1.0 - confidence
    z = float(stats.norm.ppf(confidence))
    rows = {k: [] for k in ("msr", "normal_msr", "mssp_msr", "mssp_confidence", "members")}
    for size in sizes:
        panel = resize(population, size)
        benchmark = expected_pmpm(panel, scenario_risk, outlier_attachment) * 12.0 * panel.members
        mssp = mssp_minimum_savings_rate(size) if size >= MSSP_MINIMUM_BENEFICIARIES else math.nan
        if method == "exact":
            dist = _ExactPanel(tuple(panel), scenario_risk)
            msr = 1.0 - dist.ppf(q) / benchmark
            conf = 1.0 - dist.cdf(benchmark * (1.0 - mssp)) if math.isfinite(mssp) else math.nan
            cv = _exact_cv(panel, scenario_risk)
        else:
            from vbcsim.results.simulation import simulate

            atts = [outlier_attachment] if outlier_attachment is not None else []
            ds = simulate(
                panel,
                n_scenarios=n_scenarios,
                seed=seed,
                attachments=atts,
                scenario_risk=scenario_risk,
                threads=threads,
            )
            actual = ds.cost.sum("segment").values
            if outlier_attachment is not None:
                actual = actual - ds.excess.sum("segment").values[:, 0]
            # the empirical 1 - c quantile (inverted cdf: the smallest sample value with F_n >= q)
            msr = 1.0 - float(np.quantile(actual, q, method="inverted_cdf")) / benchmark
            conf = (
                1.0 - float(np.mean(actual <= benchmark * (1.0 - mssp))) if math.isfinite(mssp) else math.nan
            )
            if outlier_attachment is None:
                cv = _exact_cv(panel, scenario_risk)
            else:
                cv = float(np.std(actual, ddof=1) / np.mean(actual))
        rows["msr"].append(msr)
        rows["normal_msr"].append(z * cv)
        rows["mssp_msr"].append(mssp)
        rows["mssp_confidence"].append(conf)
        rows["members"].append(panel.members)
    out = xr.Dataset(
        {k: ("panel_size", np.asarray(v, dtype=float)) for k, v in rows.items() if k != "members"},
        coords={"panel_size": sizes, "members": ("panel_size", np.asarray(rows["members"], dtype=np.int64))},
    )
    out.msr.attrs.update(
        units="1", description=f"MSR with P(chance payment) = {q:.3g} (one-sided {confidence:.3g})"
    )
    out.normal_msr.attrs.update(
        units="1", description="normal approximation z_c x CV of the panel's annual cost"
    )
    out.mssp_msr.attrs.update(
        units="1", description="MSSP one-sided MSR, 42 CFR 425.604(b) (NaN below 5,000)"
    )
    out.mssp_confidence.attrs.update(
        units="1", description="1 - P(chance payment) for this population under the MSSP MSR"
    )
    out.attrs.update(confidence=confidence, method=method, scenario_risk=repr(scenario_risk))
    if method == "simulate":
        out.attrs.update(n_scenarios=n_scenarios, seed=seed)
    return out


def _exact_cv(panel: Population, scenario_risk) -> float:
    """Coefficient of variation of the panel's annual cost M C from exact moments."""
    mean = panel.expected_cost()
    var = sum(s.members * s.cost.var() for s in panel)
    if scenario_risk is None:
        return math.sqrt(var) / mean
    m1, m2 = scenario_risk.mean(), scenario_risk.second_moment()
    total_var = m2 * (var + mean * mean) - (m1 * mean) ** 2
    return math.sqrt(max(total_var, 0.0)) / (m1 * mean)


# ----------------------------------------------------------------------------- figures


def _format_count(value: float, _pos=None) -> str:
    if not math.isfinite(value) or value <= 0:
        return ""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.0f}"


def _crossing(sizes: np.ndarray, probs: np.ndarray, target: float) -> float | None:
    """The first size where the curve falls to ``target``, interpolated linearly in log size."""
    for i in range(len(sizes)):
        if probs[i] <= target:
            if i == 0:
                return float(sizes[0])
            a, b = probs[i - 1], probs[i]
            t = (a - target) / (a - b) if a != b else 1.0
            return float(np.exp(np.log(sizes[i - 1]) + t * (np.log(sizes[i]) - np.log(sizes[i - 1]))))
    return None


def plot(curve: xr.Dataset, *, target: float | None = None, minimum_size: int | None = None):
    """Probability of a chance payment (and recoupment) against panel size.

    Parameters
    ----------
    curve : xarray.Dataset
        a result of :func:`chance_settlement`.
    target : float, optional
        drawn as a horizontal line.
    minimum_size : int, optional
        a result of :func:`minimum_panel_size`, marked on the target line;
        with ``target`` but no ``minimum_size`` the first crossing of the
        first payment curve is interpolated (linearly in log size) and marked
        as approximate.

    Returns
    -------
    matplotlib.figure.Figure
        log panel size on x; P(payment) solid and P(recoupment) dashed per
        contract, leaving out contracts that always or never settle (fee for
        service).
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator, PercentFormatter

    from vbcsim.frontends.plot import probability_lines

    if not isinstance(curve, xr.Dataset):
        raise TypeError(f"curve must be an xarray.Dataset from chance_settlement, got {type(curve).__name__}")
    for name in ("prob_payment", "prob_recoupment"):
        if name not in curve or set(curve[name].dims) != {"panel_size", "contract"}:
            raise ValueError(
                f"curve must have {name} over (panel_size, contract): make it with chance_settlement"
            )
    if target is not None:
        target = _open_probability("target", target)
    if minimum_size is not None:
        minimum_size = check_positive_int("minimum_size", minimum_size, strict=True)
    curve = curve.sortby("panel_size")
    sizes = np.asarray(curve.panel_size.values, dtype=float)
    pay = curve.prob_payment.transpose("panel_size", "contract").values
    rec = curve.prob_recoupment.transpose("panel_size", "contract").values
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    first_pay = None
    top = 0.0
    for k, contract in enumerate(curve.contract.values.tolist()):
        p, r = pay[:, k], rec[:, k]
        interior = np.any((p > 0) & (p < 1)) or np.any((r > 0) & (r < 1))
        if not interior:
            continue
        top = max(top, probability_lines(ax, sizes, p, r, contract, f"C{k % 10}"))
        if first_pay is None and np.any(np.nan_to_num(p) != 0):
            first_pay = p
    if target is not None:
        ax.axhline(target, color="0.35", linewidth=1, linestyle=":", label=f"target {target:.3g}")
        top = max(top, target)
        marker, label = minimum_size, None
        if marker is not None:
            label = f"minimum panel size {marker:,}"
        elif first_pay is not None:
            found = _crossing(sizes, first_pay, target)
            if found is not None:
                marker, label = found, f"≈ {found:,.0f} (interpolated)"
        if marker is not None:
            ax.axvline(marker, color="0.35", linewidth=1, linestyle=":")
            ax.plot(
                [marker], [target], marker="D", color="black", markersize=6, linestyle="none", label=label
            )
            sizes = np.append(sizes, marker)
    ax.set_xscale("log")
    lo, hi = float(np.min(sizes)), float(np.max(sizes))
    ax.set_xlim(lo / 1.25, hi * 1.25)
    ticks = np.asarray(curve.panel_size.values, dtype=float)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(_format_count))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(0.0, min(1.02, max(top, 0.01) * 1.12))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0 if top > 0.1 else 1))
    ax.set_xlabel("panel size (members)")
    ax.set_ylabel("probability with no true savings")
    ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper right")
    method = curve.attrs.get("method", "")
    ax.set_title(
        f"Settlement by chance alone ({method})" if method else "Settlement by chance alone", fontsize=10
    )
    return fig


def plot_msr(table: xr.Dataset):
    """The implied minimum savings rate against panel size, beside the MSSP table.

    Parameters
    ----------
    table : xarray.Dataset
        a result of :func:`msr_for_confidence`.

    Returns
    -------
    matplotlib.figure.Figure
        log panel size on x: the implied MSR (solid), its normal
        approximation (dashed) and the MSSP table (steps of 42 CFR
        425.604(b), where defined).
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator, PercentFormatter

    if not isinstance(table, xr.Dataset):
        raise TypeError(
            f"table must be an xarray.Dataset from msr_for_confidence, got {type(table).__name__}"
        )
    for name in ("msr", "normal_msr", "mssp_msr"):
        if name not in table or table[name].dims != ("panel_size",):
            raise ValueError(f"table must have {name} over panel_size: make it with msr_for_confidence")
    table = table.sortby("panel_size")
    sizes = np.asarray(table.panel_size.values, dtype=float)
    conf = table.attrs.get("confidence")
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    label = f"this population, {conf:.0%} one-sided" if conf is not None else "this population"
    ax.plot(sizes, table.msr.values, marker="o", markersize=4, color="C0", label=label)
    ax.plot(
        sizes, table.normal_msr.values, linestyle="--", color="C0", alpha=0.7, label="normal approximation"
    )
    lo_n, hi_n = sizes.min(), sizes.max()
    grid = np.unique(
        np.concatenate([np.geomspace(max(lo_n, MSSP_MINIMUM_BENEFICIARIES), max(hi_n, 5_001), 400)])
    )
    grid = grid[grid >= MSSP_MINIMUM_BENEFICIARIES]
    if grid.size:
        ax.plot(
            grid,
            [mssp_minimum_savings_rate(int(n)) for n in grid],
            color="C3",
            label="MSSP table, 42 CFR 425.604(b)",
        )
    ax.set_xscale("log")
    ax.set_xlim(lo_n / 1.25, hi_n * 1.25)
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_major_formatter(FuncFormatter(_format_count))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(0.0, None)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.set_xlabel("panel size (members)")
    ax.set_ylabel("minimum savings rate")
    ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("Minimum savings rate that chance alone rarely beats", fontsize=10)
    return fig
