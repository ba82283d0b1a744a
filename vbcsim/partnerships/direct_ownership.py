"""Payer-led care model: direct ownership of care-delivery assets.

The project's seed article on payer-led managed care (McKinsey, "Innovation and value: What
payer-led managed-care models may look like", 2022) names three ways a payer takes a direct
role in care delivery: provider enablement through an MSO, a platform-based ecosystem
convener, and "direct ownership of care-delivery assets".  This module is the third: the payer
buys the care-delivery group (all of it, or a stake with the rest kept by its physicians), pays
it fee for service like any provider, and consolidates its result by its equity.

:class:`DirectOwnership` documents each default term and where it comes from.  The model is
one year: the acquisition cost is the capital the payer contributes (the base of the return
on contributed capital that :func:`vbcsim.summarize` reports); a multi-year path of
integration effects comes later.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from vbcsim.contracts import FeeForService
from vbcsim.contracts.arrangement import MAX_PRICE_RATIO, Arrangement
from vbcsim.contracts.entities import Entity
from vbcsim.partnerships.base import DELIVERED_SHARE_SYSTEM, PartnershipModel, expected_pmpm

__all__ = ["DirectOwnership", "ACQUISITION_MULTIPLE"]

#: Enterprise value over EBITDA paid for a physician group: 8×.  Published ranges, from
#: valuation firms' summaries of disclosed transactions (web pages, not peer-reviewed): 5-10×
#: EBITDA for primary care practices, 7× typical (valzura.com, "Medical Practice (Primary
#: Care) Valuation", 2025); a median of 12× (interquartile range 5.5-16.6×) over 113 disclosed
#: primary care deals (exitvalue.ai); 8-14× for a *platform* acquisition, a group bought whole
#: for its scale and management, against 4-7× for an add-on (thesorso.com, citing Bain's
#: healthcare private-equity reports).  A payer buying a whole group buys a platform: 8× is
#: the low end of the platform range and just above the 7× typical of the practice range.
ACQUISITION_MULTIPLE = 8.0


@dataclass(frozen=True)
class DirectOwnership(PartnershipModel):
    """Payer-owned care delivery: the payer owns the group that delivers its members' care.

    The payer buys ``payer_equity`` of a care-delivery group (its physicians, the provider
    party, keep the rest), pays it fee for service for the care it delivers, pays outside
    providers for the rest, and consolidates the group's whole result by its equity.  The group
    (the entity ``"medical_group"``) bears the cost of delivering its care and of the
    integrated care model's care management.  Defaults:

    - ``payer_equity`` 1.0: the payer buys the group outright, as a payer's care-delivery
      arm typically does; give a stake below 1 for a partial acquisition (the physicians'
      share of the group's result is then the provider party's);
    - ``acquisition_multiple`` 8 (:data:`ACQUISITION_MULTIPLE`) times the group's
      stand-alone EBITDA, the expected annual margin it earned as an independent group on
      fee for service before the purchase, ``(1 − delivery_ratio) × delivered_share ×`` the
      panel's expected annual cost with trend; the payer pays its stake of that value.
      ``acquisition_cost`` gives the price in currency instead.  Either way it is the
      capital the payer contributes (``Entity(capital=...)``), the cube's
      ``contributed_capital``;
    - ``price_level`` 1.0: no net change in unit prices.  The evidence on prices after
      vertical integration is of *hospital* buyers: physician prices rose 14.1% after
      hospitals acquired practices (Capps, Dranove and Ody, J Health Econ 2018), 15.1%
      two years after, with hospital prices up 3.3% (Cooper et al., NBER w34039, 2025),
      2.1-12.0% for primary care physicians (Curto, Sinaiko and Rosenthal, Health Aff
      2022;41(5):741).  A payer owner gains nothing from raising its own group's prices at
      a 100% stake (UnitedHealthcare's higher relative prices to its Optum providers, 17%
      above competitors', Arnold and Fulton, Health Aff 2025, are transfers inside the
      group) and its lever runs the other way, to lower-cost sites (Medicare pays an
      ambulatory surgery centre about 53% of the hospital outpatient rate for the same
      procedure), but no study measures the net price level after a payer acquisition.
      Give 1.05-1.15 for a hospital-affiliated group whose prices the payer keeps, or below
      1 for a site-of-care shift; it multiplies the model's whole medical cost (docs/prices.md);
    - efficiency 3% ± 2% at $6 PMPM of care management, paid by the group: the payer
      controls the care model but the group is still paid fee for service; integration's
      measured utilisation effects are small (admissions fell only slightly as hospital-
      physician integration rose, Baker, Bundorf and Kessler, Health Aff 2014;33(5):756),
      so between the value program's 2% and the custom contract's 4%, at a health system's
      care-management cost;
    - ``delivered_share`` 0.67 (:data:`~vbcsim.partnerships.base.DELIVERED_SHARE_SYSTEM`):
      the care-delivery asset is a health system's scale of group (hospitals and employed
      physicians, or a large multispecialty group), delivering about two thirds of its
      members' care; give
      :data:`~vbcsim.partnerships.base.DELIVERED_SHARE_PRIMARY_CARE` for a primary care group.
    - premium, administration (10%) and the group's cost of care (85% of allowed cost) as in
      every model (:mod:`vbcsim.partnerships`).

    Parameters
    ----------
    payer_equity : float
        the payer's stake in the group, in (0, 1].
    acquisition_multiple : float
        the price paid for the whole group over its stand-alone annual EBITDA, positive.
    acquisition_cost : float, optional
        the price the payer pays for its stake, in currency (instead of
        ``acquisition_multiple``), positive.
    price_level : float
        the model's unit-price level relative to the allowed-cost baseline, in (0, 10]
        (:attr:`vbcsim.Arrangement.price_level`).

    Examples
    --------
    >>> import vbcsim
    >>> panel = vbcsim.defaults.provider_panel(2000)
    >>> arr = DirectOwnership(payer_equity=0.8).arrangement(panel)
    >>> arr.delivering_party, dict(arr.entities)["medical_group"].equity()
    ('medical_group', {'payer': 0.8, 'provider': 0.2})
    """

    key = "direct_ownership"
    title = "payer-owned care delivery"

    efficiency: float = 0.03
    efficiency_sd: float = 0.02
    care_management_pmpm: float = 6.0
    delivered_share: float = field(default=DELIVERED_SHARE_SYSTEM, kw_only=True)
    payer_equity: float = 1.0
    acquisition_multiple: float = ACQUISITION_MULTIPLE
    acquisition_cost: float | None = None
    price_level: float = 1.0

    def _check_terms(self) -> None:
        owner = type(self).__name__
        if not 0.0 < self.payer_equity <= 1.0:
            raise ValueError(
                f"{owner}: payer_equity must be the payer's stake in the group, in (0, 1], "
                f"got {self.payer_equity!r}"
            )
        if not self.acquisition_multiple > 0.0:
            raise ValueError(
                f"{owner}: acquisition_multiple must be positive, got {self.acquisition_multiple!r}"
            )
        if self.acquisition_cost is not None and not self.acquisition_cost > 0.0:
            raise ValueError(f"{owner}: acquisition_cost must be positive, got {self.acquisition_cost!r}")
        if not 0.0 < self.price_level <= MAX_PRICE_RATIO:
            raise ValueError(
                f"{owner}: price_level must be in (0, {MAX_PRICE_RATIO:g}] (a ratio to the allowed-cost "
                f"baseline, not a percentage), got {self.price_level!r}"
            )

    def contracts(self, population, scenario_risk):
        """The payer's fee for service, as it pays an independent group.

        The base builds its arrangement from these before the group is declared an entity;
        :meth:`arrangement` then directs the fee for service to the owned group
        (``FeeForService(target="medical_group")``).  The payer pays outside providers for the
        rest of the care either way.
        """
        return [FeeForService()]

    def standalone_ebitda(self, population, scenario_risk=None) -> float:
        """The group's expected annual margin as an independent group, before the purchase.

        ``(1 − delivery_ratio) × delivered_share ×`` the panel's expected annual cost with
        trend: its fee-for-service margin, at baseline prices and without the integrated
        care model.

        Parameters
        ----------
        population : vbcsim.Population
            the panel.
        scenario_risk : vbcsim.ScenarioRisk, optional
            systematic risk, whose mean multiplies the expected cost.

        Returns
        -------
        float
            currency a year.
        """
        annual = expected_pmpm(population, scenario_risk) * 12.0 * population.members
        return (1.0 - self.delivery_ratio) * self.delivered_share * annual

    def acquisition_price(self, population, scenario_risk=None) -> float:
        """What the payer pays for its stake: ``acquisition_cost``, else multiple × stake × EBITDA.

        Parameters
        ----------
        population : vbcsim.Population
            the panel.
        scenario_risk : vbcsim.ScenarioRisk, optional
            systematic risk, whose mean multiplies the expected cost.

        Returns
        -------
        float
            currency, positive: the payer's contributed capital.
        """
        if self.acquisition_cost is not None:
            return self.acquisition_cost
        price = (
            self.acquisition_multiple * self.payer_equity * self.standalone_ebitda(population, scenario_risk)
        )
        if not price > 0.0:
            raise ValueError(
                f"{type(self).__name__}: delivery_ratio={self.delivery_ratio!r}, delivered_share="
                f"{self.delivered_share!r}: the group has no positive stand-alone margin to price its "
                "acquisition on (acquisition_multiple × EBITDA); give acquisition_cost"
            )
        return price

    def arrangement(self, population, scenario_risk=None) -> Arrangement:
        """The model's :class:`vbcsim.Arrangement`: the base's, with the owned group declared.

        The group (``"medical_group"``) delivers the care and runs the care management; the
        payer owns ``payer_equity`` of it and contributed :meth:`acquisition_price` as capital,
        the provider party (its physicians) the rest.
        """
        base = super().arrangement(population, scenario_risk)
        owners = {"payer": self.payer_equity}
        if self.payer_equity < 1.0:
            # rounded off the float noise of 1 − e (0.2, not 0.19999999999999996); the shares still add to 1
            owners["provider"] = round(1.0 - self.payer_equity, 12)
        capital = {"payer": self.acquisition_price(population, scenario_risk)}
        owned = tuple(
            dataclasses.replace(c, target="medical_group") if isinstance(c, FeeForService) else c
            for c in base.contracts
        )
        return dataclasses.replace(
            base,
            contracts=owned,
            delivering_party="medical_group",
            care_management_party="medical_group",
            entities={"medical_group": Entity(owners, capital=capital)},
            price_level=self.price_level,
        )
