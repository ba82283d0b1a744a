"""Model 3, the third party-mediated relationship.

An enabler takes two-sided risk from the payer on a pool of practices, charges a fee, passes
part of the savings on to the practices and absorbs their part of any loss (Advisory Board,
"Deep dive: 5 partnership models in commercial risk").  :class:`ThirdParty` documents each
default term and where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vbcsim.contracts import FeeForService, ManagementFee, PooledSavings, SavingsPassThrough
from vbcsim.partnerships.base import DELIVERED_SHARE_PRIMARY_CARE, PartnershipModel, scaled_segments

#: most practices an enabler may pool besides the provider's: each is simulated as segments of
#: its own, so the pool's size is work the engine does.  A thousand practices of a 20,000-member
#: panel is a 20-million-member pool, larger than any enabler's commercial book.  Raise this
#: module constant (``vbcsim.partnerships.third_party.MAX_OTHER_PRACTICES``) to allow more.
MAX_OTHER_PRACTICES = 1000


@dataclass(frozen=True)
class ThirdParty(PartnershipModel):
    """Model 3, third party-mediated relationship: an enabler pools practices and takes their risk.

    An enabler signs one two-sided contract with the payer for a pool of
    practices (the provider's panel plus ``other_practices`` others, each
    ``practice_size`` times the panel's size, with the same case mix), runs
    the care model, charges the payer a fee, passes ``pass_through`` of the
    provider's member-weighted part of the pool's savings on to the provider
    and absorbs its part of any loss.  Defaults:

    - ``other_practices`` 4 of the same size: the pool is five times the
      panel, so the random variation of its cost per member is about
      1/√5 ≈ 45% of the panel's;
    - ``sharing_rate``/``loss_sharing_rate`` 60% with a 1% corridor and caps
      of 10% (savings) and 5% (losses): enablers take more risk than a
      practice would alone because the pool diversifies it;
    - ``fee_pmpm`` $3 from the payer to the enabler, and care management of
      $5 PMPM paid by the enabler;
    - ``pass_through`` 60% of the provider's part of savings goes to the
      provider; the enabler keeps the rest for its risk and investment;
    - efficiency 5% ± 2.5%: the enabler's analytics and care teams.
    - a prospective benchmark: the enabler's commercial contract with the payer fixes the
      pool's PMPM target in advance, not updated by the year's market trend (the MSSP's
      retrospective update is a Medicare rule); the linear quality rule, no sequestration.
    - ``delivered_share`` 0.06: the enabler's independent primary care practices deliver about
      6% of their members' allowed cost themselves.
    """

    key = "third_party"
    title = "third party-mediated relationship"
    care_management_party = "enabler"

    efficiency: float = 0.05
    efficiency_sd: float = 0.025
    care_management_pmpm: float = 5.0
    delivered_share: float = field(default=DELIVERED_SHARE_PRIMARY_CARE, kw_only=True)
    benchmark_ratio: float = 1.0
    other_practices: int = 4
    practice_size: float = 1.0
    fee_pmpm: float = 3.0
    sharing_rate: float = 0.6
    loss_sharing_rate: float = 0.6
    minimum_savings_rate: float = 0.01
    minimum_loss_rate: float = 0.01
    savings_cap: float | None = 0.10
    loss_cap: float | None = 0.05
    pass_through: float = 0.6
    absorbs_losses: bool = True

    def _check_terms(self) -> None:
        if self.other_practices > MAX_OTHER_PRACTICES:
            raise ValueError(
                f"ThirdParty: other_practices must be at most {MAX_OTHER_PRACTICES} "
                f"(third_party.MAX_OTHER_PRACTICES: each practice is simulated), got {self.other_practices!r}"
            )

    def pool(self, population):
        out = []
        for p in range(2, self.other_practices + 2):
            out.extend(scaled_segments(population, self.practice_size, prefix=f"practice_{p}/"))
        return tuple(out)

    def contracts(self, population, scenario_risk):
        segments = tuple(population.names) + tuple(s.name for s in self.pool(population))
        pooled = PooledSavings(
            self._shared_savings(
                population, scenario_risk, segments=segments, target="enabler", benchmark_update="prospective"
            )
        )
        return [
            FeeForService(),
            ManagementFee(self.fee_pmpm, source="payer", target="enabler"),
            pooled,
            SavingsPassThrough(pooled, share=self.pass_through, absorbs_losses=self.absorbs_losses),
        ]
