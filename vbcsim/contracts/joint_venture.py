"""Joint venture: a co-owned insurer whose underwriting result is split by equity.

In a joint-venture insurance product the payer and the provider own a new
health plan together: it collects the premium, pays the claims (fee for
service to the provider here) and its administrative and care-management
costs, is subject to the medical loss ratio rebate floor, and its
underwriting result goes to the owners in proportion to their equity.  50/50
equity is common among partners with low market share that pursue ambitious
clinical transformation (Oliver Wyman Health, as summarised in
"What Makes Payor-Provider Relationships Successful?", the project's seed
article on partnership lessons).

In vbcsim the ``insurer`` party (the payer by default) carries the plan's
books through the arrangement's flows: premium in, administrative cost out,
claims out through the fee-for-service contract.  :class:`JointVenture` pays
the MLR rebate to members and then moves the partner's equity share of the
underwriting result from the insurer to the partner, so each owner ends with
its share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbcsim._validation import check_probability
from vbcsim.contracts.base import Contract, Settlement, SettlementContext, check_party
from vbcsim.contracts.capitation import _as_scenarios, _check_optional_real

__all__ = ["JointVenture"]


@dataclass(frozen=True)
class JointVenture(Contract):
    """The partner's equity share of a co-owned insurer's underwriting result, after MLR rebates.

    Parameters
    ----------
    partner_equity : float
        the partner's equity share in [0, 1] (default 0.5: a 50/50 venture).
    minimum_loss_ratio : float or None
        the MLR floor in (0, 1] below which the plan rebates premium to
        members: 0.85 in the large group market (45 CFR 158.210(a)), 0.80 in
        the small group and individual markets; None for no floor.
    insurer, partner : str
        the party that carries the plan's books (default the payer) and the
        co-owner that receives its equity share (default the provider).  In
        an :class:`~vbcsim.Arrangement` the premium and the administrative
        cost are the payer's flows, so the insurer is the payer there; another
        insurer party needs contracts that move the premium and admin to it.

    Notes
    -----
    Per scenario, with P the premium, C the claims (medical cost at allowed
    rates), A the administrative cost and M the care-management cost when the
    insurer bears it:

    - ``rebate = max(minimum_loss_ratio × P − C, 0)``, paid to members
      (``external``);
    - underwriting result ``U = P − C − A − M − rebate``;
    - settlement, insurer -> partner: ``amount = partner_equity × U`` (negative
      when the plan loses money: the partner funds its share of the loss).

    Flows: insurer ``−rebate − amount``, partner ``+amount``.  The contract
    assumes claims are paid at allowed rates through a fee-for-service
    contract from the insurer, as in model 5 of
    :func:`vbcsim.partnership_models`.

    Examples
    --------
    >>> jv = JointVenture()
    >>> jv.partner_equity
    0.5
    >>> JointVenture(partner_equity=0.4, minimum_loss_ratio=0.80).name
    'joint_venture'
    """

    partner_equity: float = 0.5
    minimum_loss_ratio: float | None = 0.85
    insurer: str = "payer"
    partner: str = "provider"

    def __post_init__(self):
        owner = "JointVenture"
        object.__setattr__(
            self, "partner_equity", check_probability("partner_equity", self.partner_equity, owner=owner)
        )
        object.__setattr__(
            self,
            "minimum_loss_ratio",
            _check_optional_real(
                "minimum_loss_ratio",
                self.minimum_loss_ratio,
                lambda n, v, owner: check_probability(n, v, owner=owner, open_low=True),
                owner=owner,
            ),
        )
        check_party("insurer", self.insurer, owner=owner)
        check_party("partner", self.partner, owner=owner)
        if self.insurer == self.partner:
            raise ValueError(f"{owner}: insurer and partner must differ, both are {self.insurer!r}")

    def rebate(self, ctx: SettlementContext) -> np.ndarray:
        """The MLR rebate per scenario: ``max(minimum_loss_ratio × P − C, 0)``."""
        if self.minimum_loss_ratio is None:
            return np.zeros(ctx.n_scenarios)
        premium = _as_scenarios("ctx.premium", ctx.premium, ctx.n_scenarios, owner="JointVenture")
        return np.maximum(self.minimum_loss_ratio * premium - ctx.medical_cost, 0.0)

    def underwriting_result(self, ctx: SettlementContext) -> np.ndarray:
        """``U = P − C − A − M − rebate`` per scenario."""
        premium = _as_scenarios("ctx.premium", ctx.premium, ctx.n_scenarios, owner="JointVenture")
        care = ctx.care_management if ctx.care_management_party == self.insurer else 0.0
        return premium - ctx.medical_cost - ctx.admin - care - self.rebate(ctx)

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Insurer -> partner: the partner's equity share of the underwriting result; rebates to members."""
        rebate = self.rebate(ctx)
        amount = self.partner_equity * self.underwriting_result(ctx)
        return Settlement(
            amount=amount,
            flows={self.insurer: -rebate - amount, self.partner: amount},
            external=rebate,
        )
