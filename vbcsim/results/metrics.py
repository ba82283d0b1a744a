"""Risk measures of each party's annual net result, by model.

:func:`summarize` reduces the result cube's ``net`` (scenario, model, party) to
per-model, per-party measures of reward and risk.  Losses are L = −net, so a
party that earns money in a scenario has a negative loss there.

Definitions (n scenarios, empirical distribution of L):

- ``mean``, ``std``: of net (std with n − 1 in the denominator);
- ``value_at_risk`` at level p: the smallest l with P(L ≤ l) ≥ p (the lower
  p-quantile, ``numpy.quantile(..., method="inverted_cdf")``);
- ``tail_value_at_risk`` at level p: VaR_p + E[(L − VaR_p)+] / (1 − p), the
  Acerbi–Tasche expected shortfall: the mean of the worst (1 − p) share of
  outcomes, coherent also when L has atoms (Acerbi & Tasche, "On the
  coherence of expected shortfall", J. Banking & Finance 26 (2002));
- ``prob_loss``: P(net < 0);
- ``risk_share``: −Cov(net, C) / Var(C) with C the model's medical cost: the
  part of each extra dollar of medical cost the party bears (the slope of its
  result on cost).  Across parties the shares sum to ``delivery_ratio ×
  delivered_share + 1 − delivered_share`` less what MLR rebates absorb,
  because per scenario Σ net = premium − delivery ratio × delivered share × C
  − outside care − fixed costs − rebates; plain fee for service gives the
  provider a negative share ((delivery ratio − 1) × delivered share: its
  margin grows with the volume it delivers).  A
  slope says nothing about the size of the tail, so read it beside the
  downside measures;
- ``capital``: TVaR at ``capital_level`` (99%) of L minus E[L] (≥ 0): the
  capital that covers the party's bad years beyond what it expects, the
  usual economic-capital definition on a TVaR basis;
- ``return_on_capital``: mean / capital (NaN where the capital is zero: a
  party with no risk needs none).

Monte Carlo error.  Every metric m comes with ``m_standard_error``, its
standard error over the n scenarios, from its influence function ψ (the
metric's first-order change when one scenario is added; SE = sd(ψ) / √n),
which gives the closed forms where they exist:

- mean: sd / √n; ``prob_loss``: √(p (1 − p) / n);
- std: ψ = ((x − x̄)² − s²) / (2 s) (the delta method);
- ``tail_value_at_risk``: ψ = VaR + (L − VaR)+ / (1 − p) − TVaR, so
  SE = sd((L − VaR)+) / ((1 − p) √n) (the expected-shortfall estimator's
  asymptotic variance: Acerbi & Tasche 2002; Yamai & Yoshiba, "Comparative
  analyses of expected shortfall and value-at-risk", Monetary and Economic
  Studies 20(1), 2002);
- ``capital`` = TVaR − E[L]: ψ = ψ_TVaR − (L − E[L]);
- ``return_on_capital`` = mean / capital: ψ = (ψ_mean · capital − mean ·
  ψ_capital) / capital² (NaN where the capital is zero);
- ``risk_share`` = −Cov(x, C) / Var(C): ψ = −(C − C̄)(x − x̄ − β (C − C̄)) /
  Var(C), β = Cov / Var (the heteroscedasticity-robust, HC0, standard error
  of a regression slope);
- ``value_at_risk``: the quantile's influence function needs the density, so
  the distribution-free order-statistic interval is used instead: the number
  of the n losses below the true p-quantile is Binomial(n, p), so the order
  statistics one binomial standard deviation, m = ⌈√(n p (1 − p))⌉ ranks,
  either side of the VaR's rank k bracket it with about 68% probability, and
  SE = (L₍k+m₎ − L₍k−m₎) / 2 (ranks clipped to [1, n]).

These are asymptotic: with few scenarios beyond the VaR the tail measures'
errors are themselves rough, and with fewer than ``MIN_TAIL_SCENARIOS`` (10)
of them (n (1 − p) < 10: below 1,000 scenarios at 99%) the errors of VaR,
TVaR, capital and return on capital are NaN rather than a number resting on
a handful of points (with none at all they would read 0).  ``tests/test_metrics_errors.py`` checks each against the spread of the
metric over independent seeds.

Against a baseline.  With ``baseline="fee_for_service"`` every metric
describes Δ = net − status_quo_net: what the model changes for each party
compared with its own fee-for-service status quo on the same draws (the
cube's ``status_quo_net``, :meth:`vbcsim.Arrangement.status_quo`);
``prob_loss`` is then P(Δ < 0), the chance the party ends the year worse off
than under fee for service, and VaR/TVaR those of the incremental loss −Δ.
Common random numbers make the paired Δ precise where the two results move
together (the payer's premium-less-claims swings cancel);
``mean_unpaired_standard_error`` = √((s²_net + s²_status quo) / n) is what two
independent runs would give, for comparison.  ``baseline`` may also name a
model of the cube (by name or identifier): each model is then compared with
that model's results.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import xarray as xr

__all__ = ["summarize", "value_at_risk", "tail_value_at_risk", "risk_share", "tidy", "METRICS"]

#: the metrics of :func:`summarize`, in table order; each has a ``<metric>_standard_error``
METRICS = (
    "mean",
    "std",
    "value_at_risk",
    "tail_value_at_risk",
    "prob_loss",
    "risk_share",
    "capital",
    "return_on_capital",
)


def _check_level(name: str, p) -> float:
    """One confidence level strictly between 0 and 1, or an error naming ``name``."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name} must be a number strictly between 0 and 1, got {type(p).__name__} {p!r}")
    if not 0.0 < float(p) < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {p!r}")
    return float(p)


def _check_levels(levels) -> tuple[float, ...]:
    if isinstance(levels, numbers.Real) and not isinstance(levels, bool):
        levels = (levels,)
    try:
        out = tuple(levels)
    except TypeError:
        raise TypeError(
            f"levels must be a sequence of numbers in (0, 1), got {type(levels).__name__}"
        ) from None
    if not out:
        raise ValueError("levels must not be empty")
    for p in out:
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 < float(p) < 1.0:
            raise ValueError(f"levels must be numbers strictly between 0 and 1, got {p!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"levels must be distinct, got {list(out)}")
    return tuple(float(p) for p in out)


def value_at_risk(loss: np.ndarray, level: float, axis: int = 0) -> np.ndarray:
    """Lower ``level``-quantile of ``loss`` along ``axis``: the smallest l with F(l) ≥ level.

    With n values that is the k-th smallest, k = ⌈n · level⌉, where n · level is rounded to 9
    decimals first so that, say, 100 × 0.07 = 7.000000000000001 gives the 7th value, not the 8th.
    """
    loss = np.asarray(loss, dtype=float)
    n = loss.shape[axis]
    k = max(1, math.ceil(round(n * level, 9)))
    return np.take(np.partition(loss, k - 1, axis=axis), k - 1, axis=axis)


def tail_value_at_risk(loss: np.ndarray, level: float, axis: int = 0) -> np.ndarray:
    """Expected shortfall of ``loss`` at ``level``: VaR + E[(L − VaR)+] / (1 − level)."""
    var = value_at_risk(loss, level, axis=axis)
    excess = np.maximum(loss - np.expand_dims(var, axis), 0.0).mean(axis=axis)
    return var + excess / (1.0 - level)


def risk_share(net: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """−Cov(net, cost) / Var(cost) along axis 0 (``net`` (S, ...), ``cost`` (S,) broadcastable)."""
    net = np.asarray(net, dtype=float)
    cost = np.asarray(cost, dtype=float)
    dc = cost - cost.mean(axis=0)
    var = (dc * dc).mean(axis=0)
    cov = ((net - net.mean(axis=0)) * dc).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(var > 0, -cov / np.where(var > 0, var, 1.0), np.nan)


def _se(influence: np.ndarray) -> np.ndarray:
    """sd(ψ) / √n along axis 0: the standard error of a metric from its influence values ψ."""
    n = influence.shape[0]
    return influence.std(axis=0, ddof=1) / math.sqrt(n)


def _var_standard_error(sorted_loss: np.ndarray, level: float) -> np.ndarray:
    """Half the spread of the order statistics one binomial sd either side of the VaR's rank."""
    n = sorted_loss.shape[0]
    k = max(1, math.ceil(round(n * level, 9)))
    m = max(1, math.ceil(math.sqrt(n * level * (1.0 - level))))
    lo, hi = max(1, k - m), min(n, k + m)
    return (sorted_loss[hi - 1] - sorted_loss[lo - 1]) / 2.0


#: the fewest scenarios beyond a VaR for which the tail measures' standard errors are reported;
#: with fewer, the influence-function and order-statistic estimates rest on a handful of points
#: (none at all below 1 / (1 - level) scenarios, where they would read 0) and are NaN instead
MIN_TAIL_SCENARIOS = 10


def _tail_error(error: np.ndarray, n: int, level: float, constant: np.ndarray) -> np.ndarray:
    """``error``, or NaN where fewer than :data:`MIN_TAIL_SCENARIOS` scenarios lie beyond the level
    (but 0 where the result is ``constant``: then every measure of it is exact)."""
    if n * (1.0 - level) < MIN_TAIL_SCENARIOS:
        error = np.full(np.shape(error), np.nan)
    return np.where(constant, 0.0, error)


def _tail(loss: np.ndarray, level: float):
    """VaR, TVaR and TVaR's influence values of ``loss`` along axis 0."""
    var = value_at_risk(loss, level)
    excess = np.maximum(loss - var, 0.0)
    tvar = var + excess.mean(axis=0) / (1.0 - level)
    return var, tvar, var + excess / (1.0 - level) - tvar


def _baseline_net(ds: xr.Dataset, baseline) -> tuple[np.ndarray, str]:
    """The (S, M, P) results each model is compared with, and how the baseline was read."""
    if not isinstance(baseline, str):
        raise TypeError(
            f"baseline must be None, 'fee_for_service' or a model's name, got {type(baseline).__name__} "
            f"{baseline!r}"
        )
    models = [str(m) for m in ds["model"].values]
    keys = [str(k) for k in ds.coords["model_key"].values] if "model_key" in ds.coords else []
    if baseline == "fee_for_service" and "status_quo_net" in ds:
        sq = ds["status_quo_net"]
        if tuple(sq.dims) != ("scenario", "model", "party"):
            raise ValueError(f"ds['status_quo_net'] must have dims (scenario, model, party), got {sq.dims}")
        return np.asarray(sq.values, dtype=float), "each model's fee-for-service status quo"
    for names in (models, keys):
        if baseline in names:
            i = names.index(baseline)
            net = np.asarray(ds["net"].values, dtype=float)
            return np.broadcast_to(net[:, i : i + 1, :], net.shape), f"model {models[i]!r}"
    hint = (
        "the cube has no status_quo_net: run vbcsim.compare (baseline=True, the default) or "
        "vbcsim.simulate(..., baseline=True), or name one of its models"
        if baseline == "fee_for_service"
        else "name one of its models"
    )
    raise ValueError(f"baseline {baseline!r} is not in ds: {hint} ({', '.join(map(repr, models))})")


def summarize(
    ds: xr.Dataset,
    levels=(0.95, 0.99),
    capital_level: float = 0.99,
    baseline: str | None = None,
    discount_rate: float = 0.0,
) -> xr.Dataset:
    """Reward and risk of each party under each model, with their Monte Carlo errors.

    Parameters
    ----------
    ds : xarray.Dataset
        a result cube with ``net`` (scenario, model, party) and
        ``medical_cost`` (scenario, model), as returned by
        :func:`vbcsim.compare` or :func:`vbcsim.simulate` with models.
    levels : sequence of float
        confidence levels in (0, 1) of ``value_at_risk`` and
        ``tail_value_at_risk``.
    capital_level : float
        the TVaR level of ``capital`` (default 0.99).
    baseline : str, optional
        None (default): the parties' results as they are.
        ``"fee_for_service"``: what each model changes against its own
        fee-for-service status quo on the same draws (needs the cube's
        ``status_quo_net``, which :func:`vbcsim.compare` settles by default);
        a model's name or identifier: the change against that model.
    discount_rate : float
        multi-year cubes only: the annual rate at which the cumulative
        metrics discount each year's result to the start of the agreement,
        at the end of its year, ÷ (1 + rate)^year (default 0: plain sums).

    A multi-year cube (``year`` dimension, :func:`vbcsim.simulate` ``years=``)
    gives every metric per year (a ``year`` dimension) and, as
    ``cumulative_<metric>`` (model, party) with its standard error, of each
    party's result summed over the years (its present value at
    ``discount_rate``): the mean cumulative result, its risk, the probability
    that the agreement as a whole loses money.  Year by year paths (ruin,
    break-even) are :func:`vbcsim.capital_path`'s.

    Returns
    -------
    xarray.Dataset
        ``mean``, ``std``, ``prob_loss``, ``risk_share``, ``capital`` and
        ``return_on_capital`` over (model, party); ``value_at_risk`` and
        ``tail_value_at_risk`` (of losses, L = −net) over (level, model,
        party); for every metric m, ``m_standard_error`` with the same dims;
        with a baseline also ``mean_unpaired_standard_error``.  attrs
        ``baseline`` (None or what was subtracted), ``n_scenarios``,
        ``capital_level``.  See the module docstring for the definitions and
        the error estimators.  ``summary.to_dataframe()`` gives one row per
        (level, model, party); :func:`tidy` gives one row per (model, party,
        metric, level) with the value and its standard error.  Select
        variables by key: ``summary["mean"]`` and ``summary["std"]``
        (``summary.mean`` is the Dataset method).

    Examples
    --------
    >>> import vbcsim
    >>> ds = vbcsim.compare(vbcsim.defaults.provider_panel(2_000), n_scenarios=200, seed=1)
    >>> s = vbcsim.summarize(ds, baseline="fee_for_service")
    >>> s.mean_standard_error.dims
    ('model', 'party')
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if "year" in ds.dims:
        from vbcsim.results.horizon import summarize_years

        return summarize_years(summarize, ds, levels, capital_level, baseline, discount_rate)
    if discount_rate != 0.0:
        raise ValueError(
            "discount_rate applies to a multi-year cube (simulate(..., years=...)), not to one year"
        )
    for name, dims in (("net", ("scenario", "model", "party")), ("medical_cost", ("scenario", "model"))):
        if name not in ds:
            raise ValueError(
                f"ds has no {name!r} variable: run vbcsim.compare, or vbcsim.simulate with models"
            )
        if tuple(ds[name].dims) != dims:
            raise ValueError(f"ds[{name!r}] must have dims {dims}, got {tuple(ds[name].dims)}")
    levels = _check_levels(levels)
    capital_level = _check_level("capital_level", capital_level)
    n = ds.sizes["scenario"]
    if n < 2:
        raise ValueError(f"ds needs at least 2 scenarios, got {n}")

    net = np.asarray(ds["net"].values, dtype=float)  # (S, M, P)
    if not np.isfinite(net).all():
        raise ValueError("ds['net'] has NaN or infinite values")
    described = None
    unpaired = None
    if baseline is not None:
        reference, described = _baseline_net(ds, baseline)
        if not np.isfinite(reference).all():
            raise ValueError(f"baseline {baseline!r}: its results have NaN or infinite values")
        unpaired = np.sqrt((net.var(axis=0, ddof=1) + reference.var(axis=0, ddof=1)) / n)
        net = net - reference
    cost = np.asarray(ds["medical_cost"].values, dtype=float)[:, :, None]  # (S, M, 1)
    loss = -net

    mean = net.mean(axis=0)
    std = net.std(axis=0, ddof=1)
    dx = net - mean
    sorted_loss = np.sort(loss, axis=0)
    constant = sorted_loss[0] == sorted_loss[-1]  # a party whose result never varies
    var_se = np.stack([_tail_error(_var_standard_error(sorted_loss, p), n, p, constant) for p in levels])
    tails = [_tail(loss, p) for p in levels]  # (VaR, TVaR, TVaR's influence values) per level
    var = np.stack([t[0] for t in tails])
    tvar = np.stack([t[1] for t in tails])
    tvar_se = np.stack([_tail_error(_se(t[2]), n, p, constant) for t, p in zip(tails, levels, strict=True)])
    _, cap_tvar, cap_psi = _tail(loss, capital_level)
    capital = cap_tvar + mean  # TVaR(L) − E[L], E[L] = −mean
    capital_psi = cap_psi + dx  # ψ_TVaR − (L − E[L]) = ψ_TVaR + (x − x̄)
    scale = np.abs(net).max(axis=0)
    has_capital = capital > 1e-12 * np.maximum(scale, 1.0)
    capital = np.where(has_capital, capital, 0.0)
    safe_capital = np.where(has_capital, capital, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        roc = np.where(has_capital, mean / safe_capital, np.nan)
        roc_se = np.where(
            has_capital, _se((dx * safe_capital - mean * capital_psi) / safe_capital**2), np.nan
        )
    capital_se = _tail_error(np.where(has_capital, _se(capital_psi), 0.0), n, capital_level, constant)
    roc_se = np.where(has_capital, _tail_error(roc_se, n, capital_level, constant), np.nan)
    safe_std = np.where(std > 0, std, 1.0)
    std_se = np.where(std > 0, _se((dx * dx - std * std) / (2.0 * safe_std)), 0.0)
    prob_loss = (net < 0).mean(axis=0)

    dc = cost - cost.mean(axis=0)
    var_c = (dc * dc).mean(axis=0)
    safe_var_c = np.where(var_c > 0, var_c, 1.0)
    beta = (dx * dc).mean(axis=0) / safe_var_c
    share_se = np.where(var_c > 0, _se(-dc * (dx - beta * dc) / safe_var_c), np.nan)

    coords = {"model": ds["model"].values, "party": ds["party"].values, "level": list(levels)}
    mp = ("model", "party")
    lmp = ("level", "model", "party")
    data = {
        "mean": (mp, mean),
        "std": (mp, std),
        "value_at_risk": (lmp, var),
        "tail_value_at_risk": (lmp, tvar),
        "prob_loss": (mp, prob_loss),
        "risk_share": (mp, risk_share(net, cost)),
        "capital": (mp, capital),
        "return_on_capital": (mp, roc),
        "mean_standard_error": (mp, std / math.sqrt(n)),
        "std_standard_error": (mp, std_se),
        "value_at_risk_standard_error": (lmp, var_se),
        "tail_value_at_risk_standard_error": (lmp, tvar_se),
        "prob_loss_standard_error": (mp, np.sqrt(prob_loss * (1.0 - prob_loss) / n)),
        "risk_share_standard_error": (mp, share_se),
        "capital_standard_error": (mp, capital_se),
        "return_on_capital_standard_error": (mp, roc_se),
    }
    if unpaired is not None:
        data["mean_unpaired_standard_error"] = (mp, unpaired)
    if {"contributed_capital", "entity_net", "equity"} <= set(ds.data_vars):
        # the owners' return on the capital they put into their entities: each owner's equity
        # share of the entities' results, per scenario, over the capital it contributed
        contributed = np.asarray(ds["contributed_capital"].values, dtype=float)
        safe = np.where(contributed > 0, contributed, 1.0)
        entity = np.nan_to_num(np.asarray(ds["entity_net"].transpose("scenario", "model", "entity").values))
        equity = np.asarray(ds["equity"].transpose("model", "entity", "party").values, dtype=float)
        income = np.einsum("sme,mep->smp", entity, equity)  # (S, M, P)
        data["return_on_contributed_capital"] = (mp, np.where(contributed > 0, income.mean(0) / safe, np.nan))
        data["return_on_contributed_capital_standard_error"] = (
            mp,
            np.where(contributed > 0, income.std(0, ddof=1) / math.sqrt(n) / safe, np.nan),
        )
    out = xr.Dataset(data, coords=coords)
    for extra in ("model_key",):
        if extra in ds.coords and ds.coords[extra].dims == ("model",):
            out = out.assign_coords({extra: ds.coords[extra]})
    what = "net result" if baseline is None else "change in the net result against the baseline"
    units = {
        "mean": ("currency per year", f"expected annual {what}"),
        "std": ("currency per year", f"standard deviation of the annual {what}"),
        "value_at_risk": ("currency per year", f"lower level-quantile of the loss (-{what})"),
        "tail_value_at_risk": (
            "currency per year",
            f"expected shortfall of the loss (-{what}): VaR + E[(L - VaR)+] / (1 - level)",
        ),
        "prob_loss": ("1", f"probability that the {what} is negative"),
        "risk_share": ("1", f"-Cov({what}, medical cost) / Var(medical cost)"),
        "capital": ("currency per year", f"TVaR{capital_level:g} of the loss minus its mean"),
        "return_on_capital": ("1", "mean / capital"),
    }
    for name, (u, d) in units.items():
        out[name].attrs.update(units=u, description=d)
        out[f"{name}_standard_error"].attrs.update(
            units=u, description=f"Monte Carlo standard error of {name} (see vbcsim.results.metrics)"
        )
    if "return_on_contributed_capital" in out:
        out["return_on_contributed_capital"].attrs.update(
            units="1 per year",
            description="the party's equity share of its entities' mean results / the capital it contributed "
            "to them (the return on the investment, not on the party's whole book)",
        )
        out["return_on_contributed_capital_standard_error"].attrs.update(
            units="1 per year", description="Monte Carlo standard error of return_on_contributed_capital"
        )
    if unpaired is not None:
        out["mean_unpaired_standard_error"].attrs.update(
            units="currency per year",
            description="standard error of the mean change had the model and the baseline been run on "
            "independent draws: sqrt((var(net) + var(baseline)) / n)",
        )
    out.attrs.update(
        capital_level=capital_level,
        n_scenarios=n,
        baseline="none" if baseline is None else str(baseline),
        baseline_description="none" if described is None else described,
    )
    return out


def tidy(summary: xr.Dataset):
    """The summary as a tidy pandas table: one row per (model, party, metric, level).

    Columns ``model``, ``party``, ``metric``, ``level`` (NaN for metrics without one), ``value``
    and ``standard_error``; ``model_key`` too when the summary has it.  What the CLI's ``--csv``
    writes.
    """
    import pandas as pd

    if not isinstance(summary, xr.Dataset) or "mean" not in summary:
        raise TypeError("summary must be the Dataset returned by vbcsim.summarize")
    rows = []
    keys = summary.coords["model_key"].values.tolist() if "model_key" in summary.coords else None
    for metric in METRICS:
        value, error = summary[metric], summary[f"{metric}_standard_error"]
        levels = summary["level"].values.tolist() if "level" in value.dims else [math.nan]
        for level in levels:
            v = value.sel(level=level) if "level" in value.dims else value
            e = error.sel(level=level) if "level" in error.dims else error
            for i, model in enumerate(summary["model"].values.tolist()):
                for party in summary["party"].values.tolist():
                    row = {"model": model}
                    if keys is not None:
                        row["model_key"] = keys[i]
                    row.update(
                        party=party,
                        metric=metric,
                        level=level,
                        value=float(v.sel(model=model, party=party)),
                        standard_error=float(e.sel(model=model, party=party)),
                    )
                    rows.append(row)
    return pd.DataFrame(rows)
