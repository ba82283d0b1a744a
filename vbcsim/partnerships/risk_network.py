"""Model 4, the risk-bearing network collaboration.

A provider network takes a percent-of-premium global capitation, pays all claims and buys
specific stop-loss (Advisory Board, "Deep dive: 5 partnership models in commercial risk").
:class:`RiskNetwork` documents each default term and where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vbcsim.contracts import Capitation, SpecificStopLoss
from vbcsim.partnerships.base import DELIVERED_SHARE_SYSTEM, PartnershipModel


@dataclass(frozen=True)
class RiskNetwork(PartnershipModel):
    """Model 4, risk-bearing network collaboration: percent-of-premium global capitation plus stop-loss.

    The network receives a fixed share of premium, pays every claim (its own
    cost of care at ``delivery_ratio``) and buys specific stop-loss from a
    reinsurer.  Defaults:

    - ``percent_of_premium`` 85%: the payer keeps 15% for its administration
      (10%) and margin, the same expected margin it earns under fee for
      service at an 85% loss ratio;
    - ``stop_loss_attachment`` $200,000 per member with 10% coinsurance,
      priced at the exact expected recovery plus a 25% loading (the
      contract's default): provider-excess cover commonly attaches between
      $100k and $250k for a network of this size;
    - efficiency 6% ± 3% at $8 PMPM: full risk gives the strongest incentive
      and funds the most care management.
    - ``delivered_share`` 0.67: a network built around a health system delivers about two thirds
      of the care it is capitated for and pays outside providers for the rest (Benson et al.
      2023).
    """

    key = "risk_network"
    title = "risk-bearing network collaboration"

    efficiency: float = 0.06
    efficiency_sd: float = 0.03
    care_management_pmpm: float = 8.0
    delivered_share: float = field(default=DELIVERED_SHARE_SYSTEM, kw_only=True)
    percent_of_premium: float = 0.85
    stop_loss_attachment: float = 200_000.0
    coinsurance: float = 0.10
    stop_loss_loading: float = 0.25

    def _check_terms(self):
        if self.coinsurance >= 1:
            raise ValueError("RiskNetwork: coinsurance must be below 1")

    def contracts(self, population, scenario_risk):
        return [
            Capitation(percent_of_premium=self.percent_of_premium, scope="global"),
            SpecificStopLoss(
                self.stop_loss_attachment,
                coinsurance=self.coinsurance,
                loading=self.stop_loss_loading,
                insured="provider",
            ),
        ]
