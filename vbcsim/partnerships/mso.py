"""Payer-led model: provider enablement through a payer-owned management-services organisation.

One of the three ways payers take a direct role in care delivery that the project's seed
article on payer-led managed care names ("provider enablement via a management-services
organization (MSO) or other services organization", *Innovation and value: What payer-led
managed-care models may look like*, McKinsey, March 2022).  The payer owns an MSO that
supplies independent primary care practices with data, care management and administration
for a PMPM fee and a share of the practices' shared savings; the MSO is an entity
(:class:`vbcsim.contracts.Entity`) whose whole result passes to the payer, so the payer's
consolidated result includes the MSO's.  :class:`MSOEnablement` documents each default term
and where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vbcsim._validation import check_probability
from vbcsim.contracts import FeeForService, ManagementFee, PooledSavings, SavingsPassThrough
from vbcsim.contracts.entities import Entity
from vbcsim.partnerships.base import DELIVERED_SHARE_PRIMARY_CARE, PartnershipModel
from vbcsim.partnerships.value_program import panel_minimum_savings_rate
from vbcsim.population.scenario import ScenarioRisk
from vbcsim.population.segments import Population

__all__ = ["MSOEnablement"]


@dataclass(frozen=True)
class MSOEnablement(PartnershipModel):
    """Payer-owned MSO enablement: the payer's MSO runs the practices' care model for a fee and a share.

    Independent primary care practices (the provider's panel) stay on fee for
    service and hold an upside-only shared-savings contract with the payer.  A
    management-services organisation the payer owns outright supplies them with
    data, care management and administration; the practices pay it a PMPM fee
    and pass it a share of their shared-savings settlement.  The MSO runs (and
    pays for) the care management that produces the efficiency effect.  It is an
    entity of the arrangement, ``{"mso": Entity({"payer": 1.0}, capital=...)}``:
    after settlement its whole result (fee + savings share − care-management
    cost) passes to the payer, whose consolidated result (the cube's ``net``)
    includes it; ``entity_net`` shows the MSO's own result and ``own_net`` the
    payer's result from its own flows.

    Parameters
    ----------
    efficiency : float
        expected proportional reduction in medical cost from the MSO's care
        management (default 0.05).
    efficiency_sd : float
        its year-to-year standard deviation (default 0.025).
    care_management_pmpm : float
        the MSO's operating cost, per member per month (default $5), borne by
        the MSO.
    delivered_share : float
        the share of allowed cost the practices deliver themselves (default
        :data:`~vbcsim.partnerships.base.DELIVERED_SHARE_PRIMARY_CARE`, 0.06).
    benchmark_ratio : float
        the shared-savings benchmark over the panel's expected cost (default 1.0).
    sharing_rate : float
        the practices' share of savings, in [0, 1] (default 0.5).
    minimum_savings_rate : float, optional
        the savings corridor; None (default): size-based,
        :func:`~vbcsim.partnerships.value_program.panel_minimum_savings_rate`.
    savings_cap : float, optional
        the most the payer pays, as a share of the benchmark (default 0.10).
    fee_pmpm : float
        the MSO's fee, practices → MSO, per member per month (default $2.50).
    savings_share : float
        the MSO's share, in [0, 1], of the practices' shared-savings settlement,
        practices → MSO (default 0.40).
    capital_years : float
        the capital the payer puts into the MSO, in years of the MSO's
        operating cost (default 1.75).

    Notes
    -----
    Defaults and their sources:

    - ``fee_pmpm`` $2.50, practices → MSO: the care-management fee a commercial
      payer paid practices per member per month (EmblemHealth, $2.50 PMPM,
      within the $0.50-$9.00 PMPM range of 26 medical-home initiatives; Bailit
      Health Purchasing, *Payment Rate Brief*, March 2011), charged here by the
      MSO that now does that work.  On the built-in panel (about $552 PMPM of
      expected cost, 6% delivered by the practices) it is about 7.5% of the
      practices' fee-for-service collections from these members, just below the
      8-18% of collections a percent-of-collections MSO fee typically runs at
      (Lemma, *MSO management fees and banking documentation*, 2024), as befits
      a fee for part of a back office rather than all of it;
    - ``savings_share`` 40% of the practices' settlement goes to the MSO, the
      practices keep 60%: the split an enablement company reported for its
      Medicare ACOs in 2019 (Aledade, 23 September 2020: of the $180 million
      saved, the part not kept by CMS went mostly, $55 million, to the
      practices, about 60%), the same 60% that model 3's enabler passes on
      (:class:`~vbcsim.partnerships.ThirdParty` ``pass_through``).  Only
      savings are shared: the MSO never pays toward a loss
      (:class:`~vbcsim.contracts.SavingsPassThrough` ``absorbs_losses``), and
      with an upside-only contract there is none;
    - ``sharing_rate`` 50%, upside only, with ``savings_cap`` 10% of the
      benchmark: "commonly 50 percent according to some surveys and the
      Medicare Shared Savings Program final rule" (Texas Medical Association,
      *ACO shared savings payment model*); the one-sided MSSP's 50% rate and
      10% limit (42 CFR 425.604(d), (e));
    - ``minimum_savings_rate`` None: the one-sided MSSP table by panel size
      (42 CFR 425.604(b)), derived from the table's own principle below 5,000
      members, with a UserWarning (as model 2's;
      :func:`~vbcsim.partnerships.value_program.panel_minimum_savings_rate`);
      a prospective benchmark at the panel's expected cost with trend
      (``benchmark_ratio`` 1.0), as models 2 and 3 use: the payer fixes the
      practices' PMPM target in advance;
    - ``efficiency`` 5% ± 2.5% at ``care_management_pmpm`` $5, paid by the MSO:
      the MSO supplies what model 3's enabler does (data, analytics and care
      teams for independent practices), so it gets the same care-model
      assumptions (:class:`~vbcsim.partnerships.ThirdParty`; in the 2-6% of
      cost and $2-8 PMPM range of the package conventions,
      :mod:`vbcsim.partnerships`), and the two models differ in their
      contracts and ownership only.  A payer-run programme has reported less:
      total medical cost 2% better than market in arrangements in place two
      years or more (Cigna, *Cigna achieves goal of 100 collaborative care
      arrangements*, 8 July 2014);
    - ``capital_years`` 1.75: the payer's capital in the MSO is 1.75 years of
      its operating cost (``care_management_pmpm`` × 12 × members), the
      ratio of what a new ACO risks before shared savings start to flow ($3.5
      million on average) to its first-year start-up cost ($2.0 million) in
      the National Association of ACOs' survey of 35 MSSP ACOs of 5,100-78,000
      beneficiaries (NAACOS, 27 January 2014): savings settle after the year,
      so about a second year of operation is funded before the first arrives.
      The base of the return on contributed capital that
      :func:`vbcsim.summarize` reports;
    - ``delivered_share`` 0.06: independent primary care practices
      (:data:`~vbcsim.partnerships.base.DELIVERED_SHARE_PRIMARY_CARE`).

    Premium, administrative cost and the provider's cost of care follow the
    package conventions (:mod:`vbcsim.partnerships`).

    Examples
    --------
    >>> MSOEnablement().key
    'mso_enablement'
    >>> MSOEnablement(fee_pmpm=3.0, savings_share=0.3).savings_share
    0.3
    """

    key = "mso_enablement"
    title = "payer-owned MSO enablement"
    care_management_party = "mso"

    efficiency: float = 0.05
    efficiency_sd: float = 0.025
    care_management_pmpm: float = 5.0
    delivered_share: float = field(default=DELIVERED_SHARE_PRIMARY_CARE, kw_only=True)
    benchmark_ratio: float = 1.0
    sharing_rate: float = 0.5
    minimum_savings_rate: float | None = None
    savings_cap: float | None = 0.10
    fee_pmpm: float = 2.5
    savings_share: float = 0.4
    capital_years: float = 1.75

    def _check_terms(self) -> None:
        check_probability("savings_share", self.savings_share, owner="MSOEnablement")

    def msr(self, population: Population) -> float:
        """``minimum_savings_rate``, else :func:`~vbcsim.partnerships.value_program.panel_minimum_savings_rate`."""
        if self.minimum_savings_rate is not None:
            return self.minimum_savings_rate
        return panel_minimum_savings_rate(population)

    def capital(self, population: Population) -> float:
        """The payer's capital in the MSO: ``capital_years`` × the MSO's annual operating cost."""
        return self.capital_years * self.care_management_pmpm * 12.0 * population.members

    def ownership(self, population: Population) -> dict[str, Entity]:
        """The arrangement's entities: the MSO, 100% owned by the payer, with its capital."""
        return {"mso": Entity({"payer": 1.0}, capital={"payer": self.capital(population)})}

    def contracts(self, population, scenario_risk):
        # the practices' own contract with the payer, a "pool" of their panel alone (weight 1), so
        # that SavingsPassThrough can pass the MSO its share of the practices' settlement
        savings = PooledSavings(
            self._shared_savings(
                population,
                scenario_risk,
                minimum_savings_rate=self.msr(population),
                benchmark_update="prospective",
                segments=tuple(population.names),
                target="provider",
            )
        )
        return [
            FeeForService(),
            ManagementFee(self.fee_pmpm, source="provider", target="mso"),
            savings,
            SavingsPassThrough(savings, share=self.savings_share, absorbs_losses=True, target="mso"),
        ]

    def arrangement_terms(self, population: Population, scenario_risk: ScenarioRisk | None) -> dict:
        """The MSO as the arrangement's entity, owned by the payer (the base's hook)."""
        return {"entities": self.ownership(population)}
