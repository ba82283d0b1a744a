"""Figure conventions shared by every figure: money and head-count tick labels, probability lines.

The figures of the result cube (:mod:`vbcsim.frontends.plot`) and of the credibility analysis
(:mod:`vbcsim.analysis.credibility`) draw their axes the same way.  This is a leaf module: it
imports matplotlib and numpy, nothing of the package, so every stage may use it.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

__all__ = ["MONEY", "format_count", "format_money", "probability_lines"]

_CURRENCY = "$"
_MINUS = "\N{MINUS SIGN}"


def format_money(value: float, _pos=None) -> str:
    """Tick label in currency: $950, $12k, $1.5M, $2.25B (minus sign for negatives)."""
    if not math.isfinite(value):
        return ""
    sign = _MINUS if value < 0 else ""
    a = abs(value)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{sign}{_CURRENCY}{a / scale:.3g}{suffix}"
    return f"{sign}{_CURRENCY}{a:.3g}" if a else f"{_CURRENCY}0"


#: the tick formatter of money axes
MONEY = FuncFormatter(format_money)


def format_count(value: float, _pos=None) -> str:
    """Tick label of a head count (panel sizes on a log axis): 500, 2k, 2.5k, 1.2M; blank where the
    value is not a positive finite number."""
    if not math.isfinite(value) or value <= 0:
        return ""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.0f}"


def probability_lines(ax: Axes, sizes, p, r, contract: str, color) -> float:
    """P(payment) (solid) and P(recoupment) (dashed) of one contract against panel size, where not
    identically zero; returns the largest probability drawn (0 when none)."""
    top = 0.0
    for values, style, what in ((p, "-", "payment"), (r, "--", "recoupment")):
        if np.any(np.nan_to_num(values) != 0):
            ax.plot(
                sizes,
                values,
                color=color,
                marker="o",
                markersize=3,
                linestyle=style,
                label=f"{contract}: P({what})",
            )
            top = max(top, float(np.nanmax(values)))
    return top
