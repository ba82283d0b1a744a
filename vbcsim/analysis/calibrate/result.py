"""The result of a fit to claims: :class:`Fit`, with its information criteria, goodness of fit and QQ plot."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from vbcsim.analysis.calibrate.published import _safe, top_share
from vbcsim.population.distributions import Distribution, Hurdle, Severity


def _empirical_top_share(sorted_x: np.ndarray, fraction: float = 0.01) -> float:
    total = float(sorted_x.sum())
    if total <= 0:
        return math.nan
    k = max(1, round(fraction * sorted_x.size))
    return float(sorted_x[-k:].sum()) / total


@dataclass(frozen=True)
class Fit:
    """A fitted member cost distribution (the result of :func:`fit`).

    Attributes
    ----------
    distribution : Distribution
        The fitted distribution: a ``Hurdle(p_nonzero, severity)`` when the
        claims had zeros, else the severity itself.  Use it directly in a
        :class:`~vbcsim.Segment`.
    family : str
        ``"lognormal"``, ``"gamma"``, ``"pareto"`` or ``"spliced"``.
    params : dict
        Fitted parameters by name (``p_nonzero`` first when there are zeros;
        spliced: ``body_*``, ``tail_alpha``, ``tail_scale``, ``tail_weight``,
        ``threshold``).
    stderr : dict
        Asymptotic standard errors of the parameters that have one (closed
        forms, expected or observed information; spliced: conditional on the
        threshold).  Parameters that were fixed or chosen on a grid (a
        threshold, a ``pareto1`` tail scale) have none.
    loglik : float
        Log-likelihood of all ``n`` members, zeros included.
    n, n_zero : int
        Members, and members with zero cost.
    n_params : int
        Free parameters (for AIC/BIC): the family's, plus ``p_nonzero`` when
        there are zeros, plus the threshold when it was chosen by ``"auto"``.
    positive_claims : numpy.ndarray
        The sorted positive claims the severity was fitted to (read-only).
    """

    distribution: Distribution
    family: str
    params: dict
    stderr: dict
    loglik: float
    n: int
    n_zero: int
    n_params: int
    positive_claims: np.ndarray = field(repr=False, compare=False)

    @property
    def severity(self) -> Severity:
        """The fitted distribution of the positive claims."""
        d = self.distribution
        return d.severity if isinstance(d, Hurdle) else d

    @property
    def aic(self) -> float:
        """Akaike information criterion 2 k - 2 loglik (smaller is better)."""
        return 2.0 * self.n_params - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        """Bayesian information criterion k log n - 2 loglik (smaller is better)."""
        return self.n_params * math.log(self.n) - 2.0 * self.loglik

    @property
    def threshold(self) -> float | None:
        """The splice threshold (spliced fits), else None."""
        return self.params.get("threshold")

    def summary(self) -> dict:
        """Goodness of fit and a data-versus-fitted table.

        Returns
        -------
        dict
            ``family``, ``n``, ``n_zero``, ``loglik``, ``aic``, ``bic``;
            ``ks_statistic`` and ``ks_pvalue`` (Kolmogorov-Smirnov, positive claims
            against the fitted severity; the p-value treats the parameters as
            known, so it is conservative); ``ad_statistic`` (Anderson-Darling
            A^2, same comparison; no p-value); and ``table``, a
            :class:`pandas.DataFrame` with rows ``mean``, ``cv``, ``p_zero``,
            ``q50``, ``q75``, ``q90``, ``q95``, ``q99``, ``q99.9``, ``top1_share``
            and columns ``data`` and ``fitted`` (all members, zeros included;
            the fitted values are exact).
        """
        import pandas as pd

        sev, x = self.severity, self.positive_claims
        m = x.size
        ks = stats.kstest(x, sev.cdf)
        with np.errstate(divide="ignore"):
            log_f = np.log(np.maximum(np.asarray(sev.cdf(x), dtype=float), 1e-300))
            log_s = np.log(np.maximum(np.asarray(sev.sf(x), dtype=float), 1e-300))
        i = np.arange(1, m + 1)
        ad = float(-m - np.sum((2 * i - 1) * (log_f + log_s[::-1])) / m)

        data = np.concatenate([np.zeros(self.n_zero), x])
        dist = self.distribution
        levels = {"q50": 0.5, "q75": 0.75, "q90": 0.9, "q95": 0.95, "q99": 0.99, "q99.9": 0.999}
        rows = {
            "mean": (float(data.mean()), dist.mean()),
            "cv": (float(data.std(ddof=1) / data.mean()), _safe(dist.cv)),
            "p_zero": (self.n_zero / self.n, self.n_zero / self.n),
        }
        for name, q in levels.items():
            rows[name] = (float(np.quantile(data, q)), float(dist.ppf(q)))
        rows["top1_share"] = (_empirical_top_share(data), _safe(lambda: top_share(dist)))
        table = pd.DataFrame.from_dict(rows, orient="index", columns=["data", "fitted"])
        return {
            "family": self.family,
            "n": self.n,
            "n_zero": self.n_zero,
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "ks_statistic": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue),
            "ad_statistic": ad,
            "table": table,
        }

    def qq_plot(self, ax=None, *, max_points: int = 2000):
        """Quantile-quantile plot of the positive claims against the fitted severity.

        Log-log axes; the points should lie on the diagonal.  Zero-cost members
        (an atom that the plot cannot show) are left out; a spliced fit marks its
        threshold.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Draw into these axes; by default a new
            :class:`matplotlib.figure.Figure` (no pyplot state is touched).
        max_points : int
            At most about this many points are drawn: evenly spaced order
            statistics plus the largest 200 claims.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from matplotlib.figure import Figure

        if ax is None:
            fig = Figure(figsize=(5.0, 5.0), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        x = self.positive_claims
        m = x.size
        top = min(m, 200)
        idx = np.unique(
            np.r_[
                np.linspace(0, m - 1, max(2, int(max_points) - top)).round().astype(int),
                np.arange(m - top, m),
            ]
        )
        theo = np.asarray(self.severity.ppf((idx + 0.5) / m), dtype=float)
        keep = theo > 0
        ax.loglog(theo[keep], x[idx][keep], ".", ms=3, color="C0", label="positive claims")
        lo = float(min(theo[keep].min(), x[idx][keep].min()))
        hi = float(max(theo[keep].max(), x.max()))
        ax.plot([lo, hi], [lo, hi], color="0.3", lw=1, label="y = x")
        if self.threshold is not None:
            ax.axvline(self.threshold, ls=":", color="C3", lw=1, label="threshold")
        ax.set_xlabel("fitted quantile")
        ax.set_ylabel("claim (order statistic)")
        zeros = f", {self.n_zero} zeros not shown" if self.n_zero else ""
        ax.set_title(f"QQ plot: {self.family} fit ({m} positive claims{zeros})", fontsize="medium")
        ax.legend(loc="upper left", fontsize="small")
        return fig
