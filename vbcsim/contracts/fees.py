"""Fixed fees: a per-member-per-month payment that does not depend on cost or quality.

Value-based arrangements often carry fixed fees beside the risk terms: the
PMPM fee a payer pays a third-party enabler for its population-health
platform and care teams, or the care-coordination fee of a medical-home
programme.  A fee moves money but no risk: its risk share is zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbcsim.contracts.base import Contract, Settlement, SettlementContext, transfer
from vbcsim.contracts.capitation import _check_segments, _pmpm_nonnegative
from vbcsim.contracts.fee_for_service import _check_parties

__all__ = ["ManagementFee"]


@dataclass(frozen=True)
class ManagementFee(Contract):
    """A fixed fee per member per month from ``source`` to ``target``.

    Parameters
    ----------
    pmpm : float
        the fee per member per month, in [0, 1e7] (× 12 × members covered).
    segments : sequence of str, optional
        the segments whose members the fee is paid for (the book of business
        by default).
    source, target : str
        who pays and who is paid (default payer -> enabler).

    Notes
    -----
    Settlement, ``source`` -> ``target``, per scenario:
    ``amount = pmpm × 12 × members``, the same in every scenario.

    Examples
    --------
    >>> fee = ManagementFee(3.0)
    >>> fee.name
    'management_fee'
    >>> ccm = ManagementFee(2.5, target="provider")   # a care-coordination fee
    """

    pmpm: float
    segments: tuple[str, ...] | None = None
    source: str = "payer"
    target: str = "enabler"

    def __post_init__(self):
        owner = "ManagementFee"
        object.__setattr__(self, "pmpm", _pmpm_nonnegative("pmpm", self.pmpm, owner=owner))
        object.__setattr__(self, "segments", _check_segments(self.segments, owner=owner))
        _check_parties(self.source, self.target, owner=owner)

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Source -> target: ``pmpm × 12 × members`` in every scenario."""
        fee = self.pmpm * 12.0 * ctx.n_members(self.segments)
        return transfer(np.full(ctx.n_scenarios, fee), self.source, self.target)
