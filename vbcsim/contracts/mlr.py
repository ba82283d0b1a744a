"""Medical loss ratio (MLR) rebates: premium returned to members when claims are too low a share of it.

Section 2718 of the Public Health Service Act (added by the Affordable Care
Act) and its regulation, 45 CFR Part 158, require a health insurance issuer
whose medical loss ratio for a market in a State falls below the minimum to
rebate the difference to enrollees (45 CFR 158.210, 158.240):

- large group market: 85% (:data:`MLR_LARGE_GROUP`),
- small group and individual markets: 80% (:data:`MLR_SMALL_GROUP`,
  :data:`MLR_INDIVIDUAL`; a State may set a higher standard, 45 CFR 158.211).

The rebate is (minimum − MLR) × premium.  It is the only money that leaves
the parties in vbcsim: it goes to members, so the settlement's ``external``
equals the rebate and the flows sum to −rebate.

Simplifications: the MLR here is medical cost at allowed rates over premium,
for one year.  The regulatory MLR adds expenses for activities that improve
health care quality to the numerator, deducts federal and State taxes and
licensing and regulatory fees from premium, applies a credibility adjustment
for small blocks of business, aggregates by State and market, and averages
over three years (45 CFR 158.220-158.232); none of that is modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbcsim._validation import check_probability
from vbcsim.contracts.base import Contract, Settlement, SettlementContext, check_party
from vbcsim.contracts.capitation import _as_scenarios

__all__ = ["MLRRebate", "MLR_LARGE_GROUP", "MLR_SMALL_GROUP", "MLR_INDIVIDUAL", "MLR_MINIMUMS"]

MLR_LARGE_GROUP = 0.85  # 45 CFR 158.210(a)
MLR_SMALL_GROUP = 0.80  # 45 CFR 158.210(b)
MLR_INDIVIDUAL = 0.80  # 45 CFR 158.210(c)
MLR_MINIMUMS = {"large_group": MLR_LARGE_GROUP, "small_group": MLR_SMALL_GROUP, "individual": MLR_INDIVIDUAL}


@dataclass(frozen=True)
class MLRRebate(Contract):
    """The insurer's MLR rebate to members when medical cost / premium is below the minimum.

    Parameters
    ----------
    minimum_ratio : float
        the minimum medical loss ratio, in (0, 1]: 0.85 for the large group
        market (default), 0.80 for the small group and individual markets
        (see :meth:`for_market`).
    insurer : str
        the party that collects the premium and pays the rebate (default the
        payer).

    Notes
    -----
    ``rebate = max(minimum_ratio − C / premium, 0) × premium
    = max(minimum_ratio × premium − C, 0)`` per scenario, with C the model's
    medical cost at allowed rates and premium ``ctx.premium``.  Settlement:
    ``amount = rebate``, flows ``{insurer: −rebate}``, ``external = rebate``.
    See the module docstring for the simplifications against 45 CFR Part 158.

    Examples
    --------
    >>> large = MLRRebate()
    >>> small = MLRRebate.for_market("small_group")
    >>> small.minimum_ratio
    0.8
    """

    minimum_ratio: float = MLR_LARGE_GROUP
    insurer: str = "payer"

    def __post_init__(self):
        owner = "MLRRebate"
        object.__setattr__(
            self,
            "minimum_ratio",
            check_probability("minimum_ratio", self.minimum_ratio, owner=owner, open_low=True),
        )
        check_party("insurer", self.insurer, owner=owner)

    @classmethod
    def for_market(cls, market: str, insurer: str = "payer") -> MLRRebate:
        """The federal minimum for ``market``: "large_group" (85%), "small_group" or "individual" (80%)."""
        if market not in MLR_MINIMUMS:
            raise ValueError(
                f"MLRRebate.for_market: market must be one of {', '.join(map(repr, MLR_MINIMUMS))}, got {market!r}"
            )
        return cls(MLR_MINIMUMS[market], insurer)

    @property
    def name(self) -> str:
        return "mlr_rebate"

    def rebate(self, ctx: SettlementContext) -> np.ndarray:
        """The rebate per scenario: max(minimum_ratio × premium − C, 0)."""
        premium = _as_scenarios("ctx.premium", ctx.premium, ctx.n_scenarios, owner="MLRRebate")
        return np.maximum(self.minimum_ratio * premium - ctx.medical_cost, 0.0)

    def settle(self, ctx: SettlementContext) -> Settlement:
        """The insurer pays the rebate to members (outside the parties)."""
        rebate = self.rebate(ctx)
        return Settlement(amount=rebate, flows={self.insurer: -rebate}, external=rebate.copy())
