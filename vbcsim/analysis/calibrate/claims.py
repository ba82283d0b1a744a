"""Fitting member-level claims: checking the claims array and :func:`fit`, the family's MLE with the zeros as a hurdle."""

from __future__ import annotations

import numbers

import numpy as np

from vbcsim.analysis.calibrate.likelihood import (
    MIN_POSITIVE,
    _fit_gamma,
    _fit_lognormal,
    _fit_pareto,
    _fit_spliced,
    _share,
)
from vbcsim.analysis.calibrate.result import Fit
from vbcsim.population.distributions import Hurdle

#: families :func:`fit` knows
FAMILIES = ("lognormal", "gamma", "pareto", "spliced")
_BODIES = ("lognormal", "gamma")
_TAILS = ("pareto", "pareto1")
#: the families fitted in one step: (severity, params, standard errors, log-likelihood) of the positive claims
_TWO_PARAMETER = {"lognormal": _fit_lognormal, "gamma": _fit_gamma, "pareto": _fit_pareto}


def _claims_array(claims, name: str = "claims") -> np.ndarray:
    """Member-level annual costs as a 1-d float array, or raise naming ``name``."""
    if claims is None or isinstance(claims, (str, bytes, dict)):
        raise TypeError(f"{name} must be an array of member costs, got {type(claims).__name__}")
    if hasattr(claims, "data_vars"):  # xarray Dataset
        raise TypeError(f"{name} must be one variable (a DataArray), not a Dataset: pass ds['cost']")
    if hasattr(claims, "columns"):  # pandas DataFrame
        raise TypeError(f"{name} must be one column, not a DataFrame: pass df['cost']")
    dims = getattr(claims, "dims", None)
    if dims is not None and not isinstance(claims, np.ndarray):  # xarray DataArray
        if len(dims) != 1:
            raise ValueError(
                f"{name} must be one-dimensional (one value per member), got a DataArray with dims {tuple(dims)}"
            )
        values = np.asarray(claims.values)
    elif hasattr(claims, "to_numpy"):  # pandas Series (nullable dtypes: missing values become NaN)
        try:
            values = claims.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must hold numbers, got a Series of dtype {claims.dtype}") from err
    else:
        if isinstance(claims, np.ma.MaskedArray):
            raise TypeError(
                f"{name} is a masked array: pass claims.compressed() (drop the masked members) or "
                "claims.filled(...) explicitly"
            )
        values = np.asarray(claims)
    if values.dtype == bool or getattr(getattr(claims, "dtype", None), "kind", None) == "b":
        raise TypeError(f"{name} must hold numbers, got booleans")
    if values.dtype.kind == "O":
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values.ravel()):
            raise TypeError(f"{name} must hold real numbers, got objects such as {values.ravel()[:1]!r}")
        values = values.astype(float)
    elif values.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {values.dtype}")
    x = values.astype(float, copy=True)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one value per member), got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty")
    bad = int(np.isnan(x).sum())
    if bad:
        raise ValueError(f"{name} has {bad} missing (NaN) values: drop or fill them before fitting")
    bad = int(np.isinf(x).sum())
    if bad:
        raise ValueError(f"{name} has {bad} infinite values")
    bad = int((x < 0).sum())
    if bad:
        raise ValueError(
            f"{name} has {bad} negative values (smallest {x.min()!r}): annual costs must be >= 0 "
            "(net out recoveries and reversals per member first)"
        )
    return x


def _choice(name: str, value, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def fit(
    claims,
    family: str = "lognormal",
    *,
    zeros: str = "hurdle",
    threshold=None,
    body: str = "lognormal",
    tail: str = "pareto",
) -> Fit:
    """Fit a member cost distribution to member-level annual costs by maximum likelihood.

    Parameters
    ----------
    claims : array_like, pandas.Series or xarray.DataArray
        One annual cost per member (>= 0, no missing values); one-dimensional.
    family : {"lognormal", "gamma", "pareto", "spliced"}
        The distribution of the positive claims.  ``"pareto"`` is vbcsim's
        :class:`~vbcsim.Pareto` (Lomax, scale estimated); ``"spliced"`` is a
        ``body`` distribution below ``threshold`` and a Pareto ``tail`` above it.
    zeros : {"hurdle", "error"}
        ``"hurdle"``: zero-cost members become a point mass, the result a
        :class:`~vbcsim.Hurdle` with ``p_nonzero`` = the share of positive
        claims (no zeros: the plain severity).  ``"error"``: zeros are refused.
    threshold : float, "auto" or None
        Spliced fits only: the splice point, or ``"auto"``/None to choose it by
        profile likelihood among the 90%-99.5% quantiles of the positive claims
        (see the module documentation).
    body : {"lognormal", "gamma"}
        Spliced fits: the body family, fitted with its density truncated at
        the threshold.
    tail : {"pareto", "pareto1"}
        Spliced fits: the distribution of the excess over the threshold, a Lomax
        with free scale (``"pareto"``) or with scale = threshold (``"pareto1"``:
        a classic Pareto type I above the threshold, as in
        :mod:`vbcsim.defaults`).

    Returns
    -------
    Fit

    Raises
    ------
    ValueError
        NaN, infinite or negative claims, zeros with ``zeros="error"``, fewer
        than 10 positive claims, a threshold leaving fewer than 10 claims below
        or 30 above it, or a Pareto likelihood without a finite maximum.
    TypeError
        Claims that are not numbers, a DataFrame or a Dataset.

    Examples
    --------
    >>> f = fit(costs, "spliced", threshold=100_000)          # doctest: +SKIP
    >>> f.distribution, f.aic, f.summary()["table"]            # doctest: +SKIP
    >>> f.qq_plot().savefig("qq.png")                          # doctest: +SKIP
    """
    family = _choice("family", family, FAMILIES)
    zeros = _choice("zeros", zeros, ("hurdle", "error"))
    x = _claims_array(claims)
    if family == "spliced":
        body = _choice("body", body, _BODIES)
        tail = _choice("tail", tail, _TAILS)
    elif threshold is not None:
        raise ValueError(f"threshold applies to family='spliced' only, got threshold={threshold!r}")
    elif body != "lognormal" or tail != "pareto":
        raise ValueError(f"body and tail apply to family='spliced' only, got body={body!r}, tail={tail!r}")
    n = x.size
    pos = np.sort(x[x > 0])
    n_zero = n - pos.size
    if n_zero and zeros == "error":
        raise ValueError(
            f"claims has {n_zero} zero values (of {n}); pass zeros='hurdle' to model them as a point mass"
        )
    if pos.size < MIN_POSITIVE:
        raise ValueError(f"claims has {pos.size} positive values; at least {MIN_POSITIVE} are needed to fit")
    if not pos[-1] > pos[0]:
        raise ValueError(f"claims: all {pos.size} positive values equal {pos[0]!r}; no spread to fit")

    if family == "spliced":
        sev, params, se, loglik, k = _fit_spliced(pos, threshold, body, tail)
    else:
        sev, params, se, loglik = _TWO_PARAMETER[family](pos)
        k = 2

    if n_zero:
        p, p_ll, p_se = _share(pos.size, n)
        loglik += p_ll
        params = {"p_nonzero": p, **params}
        se = {"p_nonzero": p_se, **se}
        dist = Hurdle(p, sev)
        k += 1
    else:
        dist = sev
    pos.flags.writeable = False
    return Fit(dist, family, params, se, float(loglik), n, n_zero, k, pos)
