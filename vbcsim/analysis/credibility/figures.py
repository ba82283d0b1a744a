"""The credibility figures: chance settlement against panel size (:func:`plot`) and the implied MSR beside
the MSSP table (:func:`plot_msr`)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from vbcsim._validation import check_positive_int
from vbcsim.analysis.credibility._panel import _open_probability
from vbcsim.contracts.shared_savings import MSSP_MINIMUM_BENEFICIARIES, mssp_minimum_savings_rate


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

    from vbcsim._figures import format_count, probability_lines

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
    ax.xaxis.set_major_formatter(FuncFormatter(format_count))
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

    from vbcsim._figures import format_count

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
    ax.xaxis.set_major_formatter(FuncFormatter(format_count))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(0.0, None)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.set_xlabel("panel size (members)")
    ax.set_ylabel("minimum savings rate")
    ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("Minimum savings rate that chance alone rarely beats", fontsize=10)
    return fig
