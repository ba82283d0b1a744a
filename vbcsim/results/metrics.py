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
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import xarray as xr

__all__ = ["summarize", "value_at_risk", "tail_value_at_risk", "risk_share"]


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


def summarize(ds: xr.Dataset, levels=(0.95, 0.99), capital_level: float = 0.99) -> xr.Dataset:
    """Reward and risk of each party under each model.

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

    Returns
    -------
    xarray.Dataset
        ``mean``, ``std``, ``prob_loss``, ``risk_share``, ``capital`` and
        ``return_on_capital`` over (model, party); ``value_at_risk`` and
        ``tail_value_at_risk`` (of losses, L = −net) over (level, model,
        party).  See the module docstring for the definitions.
        ``summary.to_dataframe()`` gives one row per (level, model, party).
        Select variables by key: ``summary["mean"]`` and ``summary["std"]``
        (``summary.mean`` is the Dataset method).

    Examples
    --------
    >>> import vbcsim
    >>> ds = vbcsim.compare(vbcsim.defaults.provider_panel(2_000), n_scenarios=200, seed=1)
    >>> s = vbcsim.summarize(ds)
    >>> s.risk_share.dims
    ('model', 'party')
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
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
    cost = np.asarray(ds["medical_cost"].values, dtype=float)[:, :, None]  # (S, M, 1)
    loss = -net

    mean = net.mean(axis=0)
    std = net.std(axis=0, ddof=1)
    var = np.stack([value_at_risk(loss, p) for p in levels])
    tvar = np.stack([tail_value_at_risk(loss, p) for p in levels])
    capital = tail_value_at_risk(loss, capital_level) + mean  # TVaR(L) − E[L], E[L] = −mean
    scale = np.abs(net).max(axis=0)
    capital = np.where(capital > 1e-12 * np.maximum(scale, 1.0), capital, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        roc = np.where(capital > 0, mean / np.where(capital > 0, capital, 1.0), np.nan)

    coords = {"model": ds["model"].values, "party": ds["party"].values, "level": list(levels)}
    mp = ("model", "party")
    lmp = ("level", "model", "party")
    out = xr.Dataset(
        {
            "mean": (mp, mean),
            "std": (mp, std),
            "value_at_risk": (lmp, var),
            "tail_value_at_risk": (lmp, tvar),
            "prob_loss": (mp, (net < 0).mean(axis=0)),
            "risk_share": (mp, risk_share(net, cost)),
            "capital": (mp, capital),
            "return_on_capital": (mp, roc),
        },
        coords=coords,
    )
    for extra in ("model_key",):
        if extra in ds.coords and ds.coords[extra].dims == ("model",):
            out = out.assign_coords({extra: ds.coords[extra]})
    units = {
        "mean": ("currency per year", "expected annual net result"),
        "std": ("currency per year", "standard deviation of the annual net result"),
        "value_at_risk": ("currency per year", "lower level-quantile of the loss (-net)"),
        "tail_value_at_risk": (
            "currency per year",
            "expected shortfall of the loss (-net): VaR + E[(L - VaR)+] / (1 - level)",
        ),
        "prob_loss": ("1", "probability that the net result is negative"),
        "risk_share": ("1", "-Cov(net, medical cost) / Var(medical cost)"),
        "capital": ("currency per year", f"TVaR{capital_level:g} of the loss minus its mean"),
        "return_on_capital": ("1", "mean net result / capital"),
    }
    for name, (u, d) in units.items():
        out[name].attrs.update(units=u, description=d)
    out.attrs.update(capital_level=capital_level, n_scenarios=n)
    return out
