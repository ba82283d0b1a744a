"""The probability that each contract settles by chance alone, by panel size: :func:`chance_settlement`."""

from __future__ import annotations

from collections.abc import Mapping

import xarray as xr

from vbcsim._progress import as_callback
from vbcsim.analysis.credibility._panel import DEFAULT_SIZES, _method, _setup, _sizes
from vbcsim.analysis.credibility._probabilities import _curve, _exact_applies
from vbcsim.contracts.arrangement import Quality
from vbcsim.population.scenario import ScenarioRisk


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
    progress=None,
) -> xr.Dataset:
    """The probability that each contract settles by chance alone (no true savings), by panel size.

    Parameters
    ----------
    population : Population, optional
        the panel whose case mix is rescaled to each size
        (:func:`vbcsim.partnerships.resize`); default the built-in commercial
        panel (:func:`vbcsim.defaults.provider_panel`).
    arrangement : None, Arrangement, str, PartnershipModel or callable
        what is tested (see :mod:`vbcsim.credibility`): None for a plain one-sided
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
    progress : None, bool or callable
        a progress bar over the panel sizes (``tqdm.auto``; see :func:`vbcsim.simulate`): None
        shows one when someone is watching, True always, False never; a callable gets
        ``progress(done, total)``.

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
        builder,
        sizes,
        method=method,
        n_scenarios=n_scenarios,
        seed=seed,
        quality=quality,
        threads=threads,
        progress=as_callback(progress, "chance_settlement", unit="size"),
    )
    return _finish(out, method, n_scenarios, seed, builder.scenario_risk, left_out)
