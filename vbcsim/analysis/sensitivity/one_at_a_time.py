"""``vbcsim.sensitivity``: one-at-a-time swings of named assumptions on common random numbers.

Each factor is set to its low and then its high setting, all other assumptions at their base,
and the five partnership models are compared again on the same seed.  The difference between
a setting's expected result and the base run's is then a *paired* difference: both runs see the
same scenarios, so the scenario-to-scenario noise that both share cancels, and its standard
error comes from the per-scenario differences (:func:`paired_standard_error`), far smaller than
the standard error of either mean.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from vbcsim.analysis.sensitivity._runs import (
    MODEL_TITLES,
    UNITS,
    check_common,
    paired_standard_error,
    progress_bar,
    run_metric,
)
from vbcsim.analysis.sensitivity.factors import (
    DEFAULT_FACTORS,
    applies,
    configure,
    make_setup,
    parse_factors,
)
from vbcsim.contracts.base import PARTIES
from vbcsim.partnerships import DEFAULT_SCENARIO_RISK, MODEL_KEYS

__all__ = ["sensitivity", "SIDES"]

#: the ``side`` coordinate
SIDES = ("low", "high")


def sensitivity(
    population=None,
    factors=None,
    *,
    n_scenarios: int = 2_000,
    seed: int = 0,
    scenario_risk=DEFAULT_SCENARIO_RISK,
    overrides=None,
    baseline: str | None = "fee_for_service",
    threads: int | None = None,
    progress=None,
) -> xr.Dataset:
    """Which assumption moves each party's expected result most: one-at-a-time swings.

    Each factor is moved to its low and to its high setting, the others held at their base,
    and the five partnership models (:func:`vbcsim.compare`) run again on the same ``seed``:
    every run sees the same scenarios (common random numbers), so the differences between
    runs are paired and carry little Monte Carlo noise.  Only the models a setting changes
    are run again; a factor a model lacks (``sharing_rate`` for the risk-bearing network, a
    stop-loss attachment for a shared-savings contract) leaves that model's result exactly as
    in the base run, a swing of exactly 0.

    Parameters
    ----------
    population : Population, optional
        the provider's panel (default :func:`vbcsim.defaults.provider_panel`,
        20,000 commercial members).
    factors : mapping, sequence of str or None
        factor name -> (low, high) settings (``None`` for the factor's default
        range), or a sequence of names (their default ranges); default
        :data:`DEFAULT_FACTORS` with :data:`DEFAULT_RANGES`.  A name is
        ``efficiency`` (a multiplier of each model's own expected efficiency),
        ``panel_size`` (members, the population rescaled by
        :func:`vbcsim.partnerships.resize`), a field of
        :class:`vbcsim.ScenarioRisk` (``trend_cv``, ``shock_probability``,
        ``shock_size``, ``market_share_of_variance``) or a term of the
        partnership presets (``sharing_rate``, ``percent_of_premium``,
        ``stop_loss_attachment``, ``minimum_savings_rate``, ...; an absolute
        value, applied to the models that have the term).  See
        :mod:`vbcsim.analysis.sensitivity.factors` and ``docs/sensitivity.md``.
    n_scenarios : int
        scenarios of every run (at least 2).
    seed : int
        the root seed, the same for every run.
    scenario_risk : ScenarioRisk or None
        the base systematic risk (default
        :data:`vbcsim.partnerships.DEFAULT_SCENARIO_RISK`); a factor on one of
        its fields replaces that field (None counts as no systematic risk).
    overrides : dict, optional
        the base models' terms, keyed by model identifier, as for
        :func:`vbcsim.partnership_models`.  A model given as an
        :class:`vbcsim.Arrangement` is fixed: only ``efficiency``,
        ``panel_size`` and the systematic risk move it.
    baseline : {"fee_for_service", None}
        the metric: with ``"fee_for_service"`` (default) the mean of
        ``net - status_quo_net``, each party's change against the model's
        fee-for-service status quo on the same draws, where the result cube
        has ``status_quo_net``; with None (or a cube without it) the mean of
        ``net``.  The ``baseline`` attribute of the result says which.
    threads : int, optional
        the engine's worker threads (as for :func:`vbcsim.simulate`).
    progress : None, bool or callable
        a progress bar over the runs (``tqdm.auto``; see
        :func:`vbcsim.simulate`): None (default) shows one when someone is
        watching, True always, False never; a callable gets
        ``progress(done, total)``.

    Returns
    -------
    xarray.Dataset
        over (``factor``, ``side`` = ["low", "high"], ``model``, ``party``):
        ``value`` (the metric at that setting) and ``value_standard_error``
        (the paired standard error of ``value - base``, from the per-scenario
        differences); over (``model``, ``party``): ``base`` and
        ``base_standard_error`` (the ordinary standard error of the base
        mean); over (``factor``, ``model``, ``party``): ``swing`` (high - low)
        and ``swing_standard_error`` (paired, of high - low); ``applies``
        (``factor``, ``model``): whether the factor changes the model.
        Coordinates ``low_setting``, ``high_setting`` and ``setting_units``
        (``factor``) and ``model_key`` (``model``); attributes
        ``n_scenarios``, ``seed``, ``baseline`` ("fee_for_service" or
        "none"), ``units`` and ``runs`` (the number of compare runs).

    Raises
    ------
    ValueError, TypeError
        naming the argument: an unknown factor, settings that are not two
        finite numbers with low < high, a setting a model refuses, an unknown
        model in ``overrides``.

    Examples
    --------
    >>> import vbcsim
    >>> sens = vbcsim.sensitivity(
    ...     vbcsim.defaults.provider_panel(2_000), {"sharing_rate": (0.4, 0.6)}, n_scenarios=200, progress=False
    ... )
    >>> float(sens.swing.sel(factor="sharing_rate", model="risk-bearing network collaboration").sum())
    0.0
    """
    n_scenarios, seed, baseline, threads, progress = check_common(
        n_scenarios, seed, baseline, threads, progress, owner="sensitivity"
    )
    setup = make_setup(population, scenario_risk, overrides)
    parsed = parse_factors(factors, setup.population, DEFAULT_FACTORS)
    # every setting is applied before any run, so a refused one fails fast
    runs = [
        [
            configure(setup, [(f, value)], f"factors[{f.name!r}]: the {side} setting {value!r}")
            for side, value in zip(SIDES, (low, high), strict=True)
        ]
        for f, low, high in parsed
    ]
    base_run = configure(setup, [], "the base run")
    models, parties = len(MODEL_KEYS), len(PARTIES)
    shape = (len(parsed), len(SIDES), models, parties)
    value = np.empty(shape)
    value_se = np.empty(shape)
    swing_se = np.empty((len(parsed), models, parties))
    bar = progress_bar(progress, 1 + sum(len(pair) for pair in runs), "sensitivity")
    try:
        base, _, used = run_metric(base_run, n_scenarios, seed, threads, baseline)
        bar.update()
        for i, pair in enumerate(runs):
            at_setting = []
            for run in pair:
                y = base.copy()  # models the setting leaves alone keep the base run's results
                if run.models:
                    sub, keys, _ = run_metric(run, n_scenarios, seed, threads, baseline)
                    y[:, [MODEL_KEYS.index(k) for k in keys]] = sub
                at_setting.append(y)
                bar.update()
            for j, y in enumerate(at_setting):
                value[i, j] = y.mean(axis=0)
                value_se[i, j] = paired_standard_error(y - base)
            swing_se[i] = paired_standard_error(at_setting[1] - at_setting[0])
    finally:
        bar.close()
    base_mean = base.mean(axis=0)
    base_se = base.std(axis=0, ddof=1) / np.sqrt(n_scenarios)
    names = [f.name for f, _, _ in parsed]
    fmp = ("factor", "model", "party")
    out = xr.Dataset(
        {
            "value": (("factor", "side", "model", "party"), value),
            "value_standard_error": (("factor", "side", "model", "party"), value_se),
            "base": (("model", "party"), base_mean),
            "base_standard_error": (("model", "party"), base_se),
            "swing": (fmp, value[:, 1] - value[:, 0]),
            "swing_standard_error": (fmp, swing_se),
            "applies": (
                ("factor", "model"),
                np.array([[applies(f, setup.models[k]) for k in MODEL_KEYS] for f, _, _ in parsed]),
            ),
        },
        coords={
            "factor": names,
            "side": list(SIDES),
            "model": list(MODEL_TITLES),
            "party": list(PARTIES),
            "model_key": ("model", list(MODEL_KEYS)),
            "low_setting": ("factor", [float(low) for _, low, _ in parsed]),
            "high_setting": ("factor", [float(high) for _, _, high in parsed]),
            "setting_units": ("factor", [f.units for f, _, _ in parsed]),
        },
    )
    what = "change in expected annual result against fee for service" if used else "expected annual result"
    descriptions = {
        "value": what + " at the factor's setting",
        "value_standard_error": "paired standard error of value - base (per-scenario differences)",
        "base": what + " with every factor at its base",
        "base_standard_error": "standard error of base",
        "swing": "value at the high setting - value at the low setting",
        "swing_standard_error": "paired standard error of swing (per-scenario differences)",
    }
    for name, text in descriptions.items():
        out[name].attrs.update(units=UNITS, description=text)
    out["applies"].attrs.update(
        description="whether the factor changes the model (else its swing is exactly 0)"
    )
    out.attrs.update(
        n_scenarios=n_scenarios,
        seed=seed,
        baseline="fee_for_service" if used else "none",
        units=UNITS,
        description=f"one-at-a-time sensitivity of each party's {what}",
        runs=1 + sum(1 for pair in runs for run in pair if run.models),
    )
    return out
