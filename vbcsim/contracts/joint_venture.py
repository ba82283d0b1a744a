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
its share.  The MLR floor is the rule of :class:`~vbcsim.contracts.mlr.MLRRebate`
(45 CFR part 158: the plan's incurred claims, premium less taxes and fees,
the credibility adjustment), applied to the plan's own book.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbcsim._validation import check_probability
from vbcsim.contracts.base import Contract, Settlement, SettlementContext, check_party
from vbcsim.contracts.capitation import _as_scenarios, _check_optional_real
from vbcsim.contracts.mlr import MLRRebate, _check_mlr_terms, _flow, incurred_claims
from vbcsim.contracts.mlr import mlr_role as _mlr_role  # the function; the class attribute below is JV's own

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
        the small group and individual markets (158.210(b), (c)); None for no
        floor.
    insurer, partner : str
        the party that carries the plan's books (default the payer) and the
        co-owner that receives its equity share (default the provider).  In
        an :class:`~vbcsim.Arrangement` the premium and the administrative
        cost are the payer's flows, so the insurer is the payer there; another
        insurer party needs contracts that move the premium and admin to it.
    taxes_and_fees_ratio, quality_improvement_pmpm, credibility, life_years, deductible_factor, reinsurance
        the terms of the MLR floor, as for
        :class:`~vbcsim.contracts.mlr.MLRRebate` (defaults: no taxes and fees,
        no quality-improvement expenses, the credibility rules of 45 CFR
        158.230-158.232 on the book's members, direct basis for reinsurance).

    Notes
    -----
    Per scenario, with P the premium, A the administrative cost, M the
    care-management cost when the insurer bears it, I the plan's incurred
    claims (what the insurer pays for care: fee-for-service payments and the
    outside care it buys, bonuses, less repayments; the medical cost C when
    no earlier contract pays its claims, see
    :func:`~vbcsim.contracts.mlr.incurred_claims`) and F the insurer's other
    flows in the contracts settled before (stop-loss, fees):

    - ``rebate`` = :meth:`MLRRebate.rebate <vbcsim.contracts.mlr.MLRRebate.rebate>`
      with ``minimum_ratio = minimum_loss_ratio`` — with the defaults
      ``max((minimum_loss_ratio − c) × P − I, 0)``, c the credibility
      adjustment, and 0 for a non-credible book (fewer than 1,000
      life-years); paid to members (``external``);
    - underwriting result ``U = P − A − M − I + F − rebate``, the insurer's
      whole book;
    - settlement, insurer -> partner: ``amount = partner_equity × U`` (negative
      when the plan loses money: the partner funds its share of the loss).

    Flows: insurer ``−rebate − amount``, partner ``+amount``.  Place the
    contract last, after the contracts that pay the plan's claims (model 5
    of :func:`vbcsim.partnership_models` pays them fee for service).

    Examples
    --------
    >>> jv = JointVenture()
    >>> jv.partner_equity
    0.5
    >>> JointVenture(partner_equity=0.4, minimum_loss_ratio=0.80).name
    'joint_venture'
    >>> JointVenture().mlr_floor().minimum_ratio
    0.85
    """

    mlr_role = "other"  # the equity transfer is not claims (class attribute, not a field)

    partner_equity: float = 0.5
    minimum_loss_ratio: float | None = 0.85
    insurer: str = "payer"
    partner: str = "provider"
    taxes_and_fees_ratio: float = 0.0
    quality_improvement_pmpm: float = 0.0
    credibility: bool = True
    life_years: float | None = None
    deductible_factor: float = 1.0
    reinsurance: str = "direct"

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
        _check_mlr_terms(self, owner)

    def mlr_floor(self) -> MLRRebate | None:
        """The MLR rule of the floor (an :class:`~vbcsim.contracts.mlr.MLRRebate`), None without a floor."""
        if self.minimum_loss_ratio is None:
            return None
        return MLRRebate(
            self.minimum_loss_ratio,
            self.insurer,
            taxes_and_fees_ratio=self.taxes_and_fees_ratio,
            quality_improvement_pmpm=self.quality_improvement_pmpm,
            credibility=self.credibility,
            life_years=self.life_years,
            deductible_factor=self.deductible_factor,
            reinsurance=self.reinsurance,
        )

    def rebate(self, ctx: SettlementContext) -> np.ndarray:
        """The MLR rebate per scenario, by the rule of :class:`~vbcsim.contracts.mlr.MLRRebate`."""
        floor = self.mlr_floor()
        if floor is None:
            return np.zeros(ctx.n_scenarios)
        return floor.rebate(ctx)

    def underwriting_result(self, ctx: SettlementContext) -> np.ndarray:
        """``U = P − A − M − I + F − rebate`` per scenario (see the class notes)."""
        return self._before_rebate(ctx) - self.rebate(ctx)

    def _before_rebate(self, ctx: SettlementContext) -> np.ndarray:
        """``P − A − M − I + F``: the underwriting result before the MLR rebate."""
        n = ctx.n_scenarios
        premium = _as_scenarios("ctx.premium", ctx.premium, n, owner="JointVenture")
        care = ctx.care_management if ctx.care_management_party == self.insurer else 0.0
        claims = incurred_claims(ctx, self.insurer)  # direct basis: the cash the plan pays for care
        other = np.zeros(n)
        for _name, contract, st in ctx.settled:
            if _mlr_role(contract) in ("base", "care"):
                continue
            flow = _flow(st, self.insurer, n)
            if flow is not None:
                other = other + flow
        return premium - ctx.admin - care - claims + other

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Insurer -> partner: the partner's equity share of the underwriting result; rebates to members."""
        rebate = self.rebate(ctx)
        amount = self.partner_equity * (self._before_rebate(ctx) - rebate)
        return Settlement(
            amount=amount,
            flows={self.insurer: -rebate - amount, self.partner: amount},
            external=rebate,
        )
