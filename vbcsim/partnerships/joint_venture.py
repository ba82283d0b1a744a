"""Model 5, the joint venture insurance product.

Payer and provider co-own an insurer; its underwriting result is split by equity, under the
MLR rebate floor (Advisory Board, "Deep dive: 5 partnership models in commercial risk").
:class:`JointVenture` documents each default term and where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vbcsim.contracts import FeeForService
from vbcsim.contracts import JointVenture as JointVentureContract
from vbcsim.contracts.entities import Entity
from vbcsim.contracts.start_up import StartUpCost
from vbcsim.partnerships.base import DELIVERED_SHARE_SYSTEM, PartnershipModel


@dataclass(frozen=True)
class JointVenture(PartnershipModel):
    """Model 5, joint venture insurance product: a co-owned insurer, result split by equity.

    Payer and provider launch a plan together: premium in, claims (fee for
    service to the provider) and admin out, the MLR rebate floor applied, and
    the underwriting result split by equity.  The plan is an entity
    (:class:`vbcsim.contracts.Entity` ``"venture"``) that carries its own
    books — premium, administrative and care-management costs, claims, the
    rebate, and any stop-loss, bonus or fee contract added to the model — and
    its whole result passes to its owners by equity: the cube's
    ``entity_net`` holds it, ``net`` the owners' consolidated results.
    Defaults:

    - ``partner_equity`` 50%: 50/50 equity partnerships are common among
      partners that pursue ambitious clinical transformation (Oliver Wyman
      Health, summarised in the project's seed article "What Makes
      Payor-Provider Relationships Successful?");
    - ``minimum_loss_ratio`` 85%: the large-group MLR floor (45 CFR
      158.210(a)); the venture's product is its own book, so the floor binds
      on it directly (in models 1-4 the contract is a small part of the
      payer's book and the floor applies across that book).  The MLR is the
      regulation's (:class:`vbcsim.contracts.mlr.MLRRebate`): the venture's
      incurred claims (its fee-for-service payments, outside care included)
      plus ``quality_improvement_pmpm`` over premium less
      ``taxes_and_fees_ratio`` of premium;
    - ``credibility`` True: the credibility rules of 45 CFR 158.230-158.232 on
      the venture's members as life-years — no rebate below 1,000 life-years
      (non-credible, 158.230(d)), the base credibility factor of Table 1 to
      158.232 added to the MLR from 1,000 to 75,000 (1.93% for the default
      panel's 20,000 members), none from 75,000;
    - ``taxes_and_fees_ratio`` 0 and ``quality_improvement_pmpm`` 0: no
      deduction of taxes and fees from premium (45 CFR 158.161, 158.162) and
      no quality-improvement expenses (45 CFR 158.150) unless given; the
      venture's care management may qualify as quality improvement (set
      ``quality_improvement_pmpm`` to the part that does);
    - ``admin_ratio`` 12%: a new plan runs at higher administrative cost than
      an established payer's 10% until it reaches scale;
    - ``price_efficiency`` True: the venture prices its premium on its
      expected cost after the efficiency it expects, to win members on price;
    - efficiency 5% ± 3% at $6 PMPM of care management paid by the venture;
    - ``contributed_capital`` None: the capital the owners put into the plan,
      split by equity, is not assumed (a plan's required capital depends on
      its state's risk-based capital rules); give it (currency) to have the
      cube's ``contributed_capital`` and :func:`vbcsim.summarize`'s
      ``return_on_contributed_capital`` report each owner's return on it.
    - ``start_up_costs`` (): the venture's launch costs in currency in its first years
      (:class:`vbcsim.contracts.StartUpCost`: systems, network, marketing, regulatory work),
      none by default (no source gives a figure for a plan of a given size); over several
      years (``years=``) they set when the venture breaks even
      (:func:`vbcsim.capital_path`, ``entity=True``): provider-sponsored plans have been
      described as a five- to seven-year journey to break even (Modern Healthcare, 2015).
    - ``delivered_share`` 0.67: the provider partner, a health system, delivers about two thirds
      of the plan members' care; the plan pays other providers for the rest.
    """

    key = "joint_venture"
    title = "joint venture insurance product"
    care_management_party = "venture"

    efficiency: float = 0.05
    efficiency_sd: float = 0.03
    care_management_pmpm: float = 6.0
    delivered_share: float = field(default=DELIVERED_SHARE_SYSTEM, kw_only=True)
    admin_ratio: float = 0.12
    partner_equity: float = 0.5
    minimum_loss_ratio: float | None = 0.85
    price_efficiency: bool = True
    taxes_and_fees_ratio: float = 0.0
    quality_improvement_pmpm: float = 0.0
    credibility: bool = True
    contributed_capital: float | None = None
    start_up_costs: tuple = field(default=(), metadata={"omit_default": True})

    def _check_terms(self) -> None:
        try:
            launch = StartUpCost(self.start_up_costs, party="venture")
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                str(exc).replace("StartUpCost: amounts", "JointVenture: start_up_costs")
            ) from None
        object.__setattr__(self, "start_up_costs", launch.amounts)
        if self.taxes_and_fees_ratio >= 1.0:
            raise ValueError(
                f"JointVenture: taxes_and_fees_ratio must be a share of premium in [0, 1), "
                f"got {self.taxes_and_fees_ratio!r}"
            )

    def status_quo_admin_ratio(self) -> float:
        # without the venture the payer sells its ordinary product at its ordinary overhead
        return PartnershipModel.admin_ratio

    def premium(self, population, scenario_risk):
        factor = 1.0 - self.efficiency if self.price_efficiency else 1.0
        return self._priced_premium(population, scenario_risk, factor)

    def contracts(self, population, scenario_risk):
        # the venture's plan carries its own books: it pays the claims fee for service and, under
        # the MLR floor, rebates to members; its whole result then passes to its owners by equity
        # (the entity of arrangement_terms).  The same MLR rule as the JointVenture contract's floor.
        floor = JointVentureContract(
            partner_equity=self.partner_equity,
            minimum_loss_ratio=self.minimum_loss_ratio,
            insurer="venture",
            taxes_and_fees_ratio=self.taxes_and_fees_ratio,
            quality_improvement_pmpm=self.quality_improvement_pmpm,
            credibility=self.credibility,
        ).mlr_floor()
        launch = [StartUpCost(tuple(self.start_up_costs), party="venture")] if self.start_up_costs else []
        return [FeeForService(source="venture")] + launch + ([floor] if floor is not None else [])

    def arrangement_terms(self, population, scenario_risk) -> dict:
        owners = {"payer": 1.0 - self.partner_equity, "provider": self.partner_equity}
        capital = {}
        if self.contributed_capital is not None:
            capital = {party: share * self.contributed_capital for party, share in owners.items()}
        return {"insurer": "venture", "entities": {"venture": Entity(owners, capital=capital)}}
