"""``vbcsim.sensitivity_indices``: variance-based (Sobol) indices of each party's expected result.

The uncertain assumptions are drawn together, each uniform over its range, on SALib's Saltelli
design (scrambled Sobol points, :func:`SALib.sample.sobol.sample`), the five partnership models
are compared at every design point on the same seed (common random numbers: the expected
result is then a deterministic function of the assumptions, without fresh Monte Carlo noise at
every point), and :func:`SALib.analyze.sobol.analyze` estimates each factor's first-order index
(the share of the variance of the expected result that the factor explains alone) and its
total-order index (alone and through its interactions with the others), with bootstrap
confidence intervals.  Second-order indices are not computed, which keeps the design at
``n_base × (D + 2)`` points for D factors.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from vbcsim._validation import check_positive_int, check_probability
from vbcsim.analysis.sensitivity._runs import (
    MODEL_TITLES,
    UNITS,
    check_common,
    progress_bar,
    run_metric,
)
from vbcsim.analysis.sensitivity.factors import (
    DEFAULT_INDEX_FACTORS,
    _check_setting,
    configure,
    make_setup,
    parse_factors,
)
from vbcsim.contracts.base import PARTIES
from vbcsim.partnerships import DEFAULT_SCENARIO_RISK, MODEL_KEYS

__all__ = ["sensitivity_indices", "METHODS"]

#: the accepted ``method`` arguments
METHODS = ("sobol",)


def _constant(y: np.ndarray) -> bool:
    """No variance to apportion: all values equal up to floating noise (or any not finite)."""
    if not np.all(np.isfinite(y)):
        return True
    lo, hi = float(y.min()), float(y.max())
    return hi - lo <= 1e-9 * max(abs(lo), abs(hi), 1.0)


def sensitivity_indices(
    population=None,
    factors=None,
    *,
    n_base: int = 64,
    n_scenarios: int = 500,
    seed: int = 0,
    method: str = "sobol",
    scenario_risk=DEFAULT_SCENARIO_RISK,
    overrides=None,
    baseline: str | None = "fee_for_service",
    threads: int | None = None,
    progress=None,
    num_resamples: int = 100,
    conf_level: float = 0.95,
) -> xr.Dataset:
    """Global variance-based (Sobol) sensitivity indices of each party's expected result.

    The factors vary together, each uniform over its (low, high) range; every design point
    runs :func:`vbcsim.compare` on the same ``seed``.  The metric is that of
    :func:`vbcsim.sensitivity`: each party's expected annual result, as a change against fee
    for service where the cube has ``status_quo_net`` and ``baseline`` asks for it.

    The cost is ``n_base × (D + 2)`` compare runs of ``n_scenarios`` scenarios for D factors:
    by default 64 × 6 = 384 runs of 500 scenarios, 192,000 simulated years of the
    20,000-member panel (pooled to 100,000 in model 3); see ``docs/sensitivity.md`` for
    measured times.

    Parameters
    ----------
    population : Population, optional
        the provider's panel (default :func:`vbcsim.defaults.provider_panel`).
    factors : mapping, sequence of str or None
        factor name -> (low, high) bounds of its uniform distribution (None:
        the default range), or a sequence of names; default
        :data:`DEFAULT_INDEX_FACTORS` (``efficiency``, ``trend_cv``,
        ``shock_probability``, ``shock_size``) over :data:`DEFAULT_RANGES`.
        Names as for :func:`vbcsim.sensitivity`; whole-number factors
        (``panel_size``) are rounded at each design point.
    n_base : int
        the base sample size N of the Saltelli design (a power of 2 keeps the
        balance of the Sobol points; SALib warns otherwise).
    n_scenarios : int
        scenarios of every run (at least 2).
    seed : int
        the root seed of every run, and the seed of the design's scrambling
        and of the bootstrap.
    method : {"sobol"}
        the estimator: Sobol indices by SALib.
    scenario_risk, overrides, baseline, threads, progress :
        as for :func:`vbcsim.sensitivity`.
    num_resamples : int
        bootstrap resamples of the confidence intervals (default 100).
    conf_level : float
        their confidence level, in (0, 1) (default 0.95).

    Returns
    -------
    xarray.Dataset
        over (``factor``, ``model``, ``party``): ``first_order``,
        ``first_order_confidence``, ``total_order`` and
        ``total_order_confidence`` (half-widths of the bootstrap intervals at
        ``conf_level``), NaN for a (model, party) whose expected result does
        not vary over the design (a party that takes no part, or one no factor
        moves); over (``model``, ``party``): ``output_mean`` and
        ``output_std`` of the expected result over the design points.
        Coordinates ``low_bound``, ``high_bound`` and ``setting_units``
        (``factor``) and ``model_key`` (``model``); attributes ``n_base``,
        ``n_scenarios``, ``seed``, ``method``, ``baseline``, ``units``,
        ``runs`` and ``conf_level``.

    Raises
    ------
    ValueError, TypeError
        naming the argument, as for :func:`vbcsim.sensitivity`, and for
        ``n_base``, ``method``, ``num_resamples`` and ``conf_level``.
    """
    n_scenarios, seed, baseline, threads, progress = check_common(
        n_scenarios, seed, baseline, threads, progress, owner="sensitivity_indices"
    )
    n_base = check_positive_int("n_base", n_base, owner="sensitivity_indices", strict=True)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"sensitivity_indices: method must be one of {METHODS}, got {method!r}")
    num_resamples = check_positive_int(
        "num_resamples", num_resamples, owner="sensitivity_indices", strict=True
    )
    conf_level = check_probability(
        "conf_level", conf_level, owner="sensitivity_indices", open_low=True, open_high=True
    )
    setup = make_setup(population, scenario_risk, overrides)
    parsed = parse_factors(factors, setup.population, DEFAULT_INDEX_FACTORS)

    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    problem = {
        "num_vars": len(parsed),
        "names": [f.name for f, _, _ in parsed],
        "bounds": [[float(low), float(high)] for _, low, high in parsed],
    }
    for f, low, high in parsed:  # the ends of each range first: a refused one is named as in sensitivity
        for side, value in (("low", low), ("high", high)):
            configure(setup, [(f, value)], f"factors[{f.name!r}]: the {side} setting {value!r}")
    design = sobol_sample.sample(problem, n_base, calc_second_order=False, scramble=True, seed=seed)
    runs = []
    for point in design:
        settings = [
            (f, _check_setting(f, "design", float(x), rounded=True))
            for (f, _, _), x in zip(parsed, point, strict=True)
        ]
        shown = ", ".join(f"{f.name}={value!r}" for f, value in settings)
        runs.append(configure(setup, settings, f"factors: the design point ({shown})"))
    y = np.empty((len(runs), len(MODEL_KEYS), len(PARTIES)))
    used = False
    bar = progress_bar(progress, len(runs), "sensitivity_indices")
    try:
        for r, run in enumerate(runs):
            metric, keys, used = run_metric(run, n_scenarios, seed, threads, baseline)
            y[r] = np.nan  # a model no factor changes is left out of its run: no variance
            y[r, [MODEL_KEYS.index(k) for k in keys]] = metric.mean(axis=0)
            bar.update()
    finally:
        bar.close()

    shape = (len(parsed), len(MODEL_KEYS), len(PARTIES))
    results = {name: np.full(shape, np.nan) for name in ("S1", "S1_conf", "ST", "ST_conf")}
    for m in range(len(MODEL_KEYS)):
        for p in range(len(PARTIES)):
            column = y[:, m, p]
            if _constant(column):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                si = sobol_analyze.analyze(
                    problem,
                    column,
                    calc_second_order=False,
                    num_resamples=num_resamples,
                    conf_level=conf_level,
                    seed=seed,
                )
            for name in results:
                results[name][:, m, p] = si[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns of models no factor moves
        output_mean = np.nanmean(y, axis=0)
        output_std = np.nanstd(y, axis=0, ddof=1)
    fmp = ("factor", "model", "party")
    out = xr.Dataset(
        {
            "first_order": (fmp, results["S1"]),
            "first_order_confidence": (fmp, results["S1_conf"]),
            "total_order": (fmp, results["ST"]),
            "total_order_confidence": (fmp, results["ST_conf"]),
            "output_mean": (("model", "party"), output_mean),
            "output_std": (("model", "party"), output_std),
        },
        coords={
            "factor": problem["names"],
            "model": list(MODEL_TITLES),
            "party": list(PARTIES),
            "model_key": ("model", list(MODEL_KEYS)),
            "low_bound": ("factor", [float(low) for _, low, _ in parsed]),
            "high_bound": ("factor", [float(high) for _, _, high in parsed]),
            "setting_units": ("factor", [f.units for f, _, _ in parsed]),
        },
    )
    what = "change in expected annual result against fee for service" if used else "expected annual result"
    out["first_order"].attrs.update(units="1", description=f"first-order Sobol index of the {what}")
    out["total_order"].attrs.update(units="1", description=f"total-order Sobol index of the {what}")
    for name in ("first_order_confidence", "total_order_confidence"):
        out[name].attrs.update(
            units="1", description=f"half-width of the {conf_level:.0%} bootstrap interval"
        )
    out["output_mean"].attrs.update(units=UNITS, description=f"mean of the {what} over the design")
    out["output_std"].attrs.update(
        units=UNITS, description=f"standard deviation of the {what} over the design"
    )
    out.attrs.update(
        n_base=n_base,
        n_scenarios=n_scenarios,
        seed=seed,
        method=method,
        baseline="fee_for_service" if used else "none",
        units="1",
        runs=len(runs),
        conf_level=conf_level,
        description=f"Sobol sensitivity indices of each party's {what}",
    )
    return out
