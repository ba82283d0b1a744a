"""Start-up costs: what launching a venture costs in its first years, before it reaches scale.

A new plan spends on systems, network contracting, marketing and regulatory work before its
membership and margins carry it; provider-sponsored plans have been described as a "five- to
seven-year journey" to break even (Modern Healthcare, 2015, quoting SelectHealth, which took
six years).  :class:`StartUpCost` charges a party or entity a cost in each of its first
years; with :func:`vbcsim.capital_path` (``entity=True``) it gives the venture's break-even
year and its distribution.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from vbcsim.contracts.base import Contract, Settlement, SettlementContext, check_party

__all__ = ["StartUpCost"]


@dataclass(frozen=True)
class StartUpCost(Contract):
    """Costs in currency that ``party`` pays in years 1, 2, ... of the run (``amounts``).

    Parameters
    ----------
    amounts : sequence of float
        the cost of each year from year 1 (≥ 0, nominal: not indexed by the trend); later
        years cost nothing.  A single-year run charges the first.
    party : str
        who pays: a party, or an entity the arrangement owns (default ``"venture"``).

    The money leaves the parties (to vendors): the settlement's ``external``.  It is not
    claims in an MLR (``mlr_role`` "other").

    Examples
    --------
    >>> StartUpCost((3e6, 1.5e6)).name
    'start_up_cost'
    """

    mlr_role = "other"  # an administrative cost, not claims (45 CFR 158.160); not a field

    amounts: tuple = ()
    party: str = "venture"

    def __post_init__(self):
        owner = "StartUpCost"
        values = self.amounts
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"{owner}: amounts must be a sequence of numbers, got {type(values).__name__}")
        out = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{owner}: amounts must be finite non-negative numbers, got {v!r}")
            out.append(float(v))
        object.__setattr__(self, "amounts", tuple(out))
        check_party("party", self.party, owner=owner)

    def cost(self, ctx: SettlementContext) -> np.ndarray:
        """The cost of each row in the rows' currency (year-1 currency in a multi-year run)."""
        year = np.ones(ctx.n_scenarios, dtype=int) if ctx.year is None else np.asarray(ctx.year, dtype=int)
        table = np.array(self.amounts + (0.0,))
        nominal = table[np.minimum(year, len(table)) - 1]
        return nominal / ctx.nominal()

    def settle(self, ctx: SettlementContext) -> Settlement:
        cost = self.cost(ctx)
        return Settlement(amount=cost, flows={self.party: -cost}, external=cost.copy())
