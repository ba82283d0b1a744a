"""The minimum savings rate that a chance payment beats with a given probability, beside the MSSP table:
:func:`msr_for_confidence`."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy import stats

from vbcsim._progress import as_callback
from vbcsim._validation import check_nonnegative_int, check_positive, check_positive_int
from vbcsim.analysis.credibility._panel import DEFAULT_SIZES, _method, _open_probability, _sizes
from vbcsim.analysis.credibility._probabilities import _ExactPanel
from vbcsim.contracts.shared_savings import MSSP_MINIMUM_BENEFICIARIES, mssp_minimum_savings_rate
from vbcsim.partnerships import _check_population
from vbcsim.population.scenario import ScenarioRisk, check_scenario_risk
from vbcsim.population.segments import Population


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
    progress=None,
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
    progress : None, bool or callable
        a progress bar over the panel sizes (``tqdm.auto``; see
        :func:`vbcsim.simulate`): None shows one when someone is watching,
        True always, False never; a callable gets ``progress(done, total)``.

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
    bar = as_callback(progress, "msr_for_confidence", unit="size")
    for done, size in enumerate(sizes, start=1):
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
                progress=False,
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
        if bar is not None:
            bar(done, len(sizes))
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
