"""A payer-led care model: the payer-run platform that convenes a network (issue 16, part 2).

The payer-led managed-care article among the project's seed articles ("Innovation and value:
What payer-led managed-care models may look like") names three ways a payer takes a direct
role in care delivery; the second is "a platform-based ecosystem convener".  The payer runs a
platform that steers its members to a network of providers and digital services.  The
platform's revenue is its fees; its lever is *where* care goes, that is unit price and site of
care, not how much care is used.  The payer–provider collaboration seed article names the same
lever: plans use "reference pricing, or limited networks to steer care toward high-value
options".  :class:`PlatformConvener` documents each default term and where it comes from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from vbcsim.contracts import FeeForService, ManagementFee
from vbcsim.contracts.entities import Entity
from vbcsim.partnerships.base import PartnershipModel

#: Narrow-network price relative to a broad network: 1 / 1.157.  Expanding both the hospital and
#: the physician network of a marketplace plan from narrow to broad was associated with a 15.7%
#: higher premium (Dafny, Hendel, Marone, Ody, "Narrow Networks On The Health Insurance
#: Marketplaces: Prospects For Cost Savings", Health Affairs 2017;36(9):1606-1614; silver plans
#: of eight states, 2014-2015).  A premium difference also holds some utilisation management,
#: so this is the upper end of the price differential; Polsky, Cidav and Swanson (Health Affairs
#: 2016;35(10):1842-1848) find 6.7% lower premiums for extra-small physician networks within a
#: market and plan design, a lower end (``steered_price`` 0.933).
NARROW_NETWORK_PRICE = 1.0 / 1.157

#: Share of members who moved to limited-network plans when the Massachusetts Group Insurance
#: Commission gave them a three-month premium holiday: "31% of state employees are volunteering
#: to move to lower cost health plans" (WBUR CommonHealth, 2012; the experiment Gruber and
#: McKnight study in NBER Working Paper 20462, 2014).  Taken as the share of care the platform
#: steers, which assumes the steered members cost what the others do (switchers were likely
#: healthier, so the share of *cost* is likely lower).
STEERED_SHARE = 0.31

#: A navigation platform's fee per employee per month: $20.50 in Accolade's 2023 contract with
#: the City of Jeffersonville, Indiana (contract coversheet, 13 September 2023: "approximately
#: $8610.00/$20.50 per month").
NAVIGATION_FEE_PEPM = 20.50

#: Members per employee, used to turn a per-employee fee into a per-member one.  Derived, not
#: measured for this panel: subscriber-to-member ratios of 1.8 to 2.2 are quoted for a subscriber
#: with one dependent (BenefitsLink discussion "Subscriber to member ratio"); 2.0 is their
#: midpoint.  Replace with the plan's own ratio.
MEMBERS_PER_EMPLOYEE = 2.0

#: A navigation platform's operating margin on its fees: Accolade, the public care-navigation
#: company, guided to an adjusted EBITDA margin of 2% to 4% for fiscal 2025, its first forecast
#: year of positive adjusted EBITDA (Q3 fiscal 2024 earnings call, January 2024).  The midpoint,
#: 3%: the platform's operating cost is 97% of its fees.
PLATFORM_MARGIN = 0.03


@dataclass(frozen=True)
class PlatformConvener(PartnershipModel):
    """Payer-run platform convener: the payer's platform steers members to a lower-priced network.

    The payer (``payer``) owns all of the platform (the entity ``"platform"``), pays it a fee
    per member per month, and pays the network's providers (``provider``) fee for service.
    The platform bears its own operating cost and, by steering, moves a share of care to the
    network at a lower unit price.  Its whole result passes to the payer (consolidation): the
    payer's ``net`` is its own result plus the platform's, the fee cancels out, and what is
    left to the payer is the price saving and the small utilisation effect less the platform's
    operating cost.  Unit price and utilisation show apart in the results: ``price_index`` and
    ``price_effect`` are the steering, ``efficiency`` the utilisation effect (docs/prices.md).

    Parameters
    ----------
    steered_share : float
        share of the panel's care, in [0, 1], steered to the platform's network (0.31,
        :data:`STEERED_SHARE`: the share of Massachusetts state employees who moved to
        limited-network plans for a three-month premium holiday).
    steered_price : float
        the network's unit price relative to ``price_level`` (0.864,
        :data:`NARROW_NETWORK_PRICE`: narrow networks' premiums 15.7% below broad ones,
        Dafny et al. 2017; 0.933 for the 6.7% of Polsky et al. 2016).
    leakage_share : float
        share of care, in [0, 1], that leaks out of network *because of* the platform, beyond
        the out-of-network care already in the allowed-cost baseline (about 6.1% of commercial
        spending in 2014-2016, Song et al., Health Affairs 2020;39(6):1032).  Default 0: no
        study measuring a platform's added leakage was found.  ``steered_share +
        leakage_share`` is at most 1.
    leakage_price : float
        the leaked care's unit price relative to ``price_level`` (default 1.0, neutral, as
        ``leakage_share`` is 0: out-of-network prices are higher than in-network ones, Song et
        al. 2020, but no ratio was found to set a default; give the market's own).
    price_level : float
        the arrangement's negotiated price level relative to the allowed-cost baseline (1.0:
        the network's providers keep the plan's ordinary rates outside the steered care).
    platform_fee_pmpm : float
        the fee per member per month the payer's plan pays the platform (10.25: a navigation
        platform's $20.50 per employee per month, :data:`NAVIGATION_FEE_PEPM`, over
        :data:`MEMBERS_PER_EMPLOYEE` 2.0).  The sources describe per-employee subscription
        fees, not a share of the network's revenue, so the fee is per member.
    care_management_pmpm : float, optional
        the platform's operating cost per member per month, borne by the platform; None
        (default) for ``platform_fee_pmpm × (1 − PLATFORM_MARGIN)``, 97% of its fees (a 3%
        operating margin, :data:`PLATFORM_MARGIN`).
    efficiency, efficiency_sd : float
        the platform's small utilisation effect: 1% ± 0.5%.  Derived, not measured: no
        study isolating a navigation platform's effect on utilisation (as opposed to its price
        savings) was found; half the value program's 2% ± 1.5% (the comparison's lightest
        care model, :class:`vbcsim.partnerships.ValueProgram`), as the platform manages no
        care itself, only where it goes.
    capital_months : float
        the payer's capital in the platform, in months of its operating cost (12: the payer
        funds one year of the platform's operations before its fees come in).  A stated
        principle, not a source: no published figure for a payer-run platform's capital was
        found.  The capital is ``capital_months × care_management_pmpm × members``.
    delivered_share : float, optional
        the share of the panel's allowed cost the network's providers deliver and are paid
        fee for service for; None (default) for the steered care's share of the priced cost,
        ``s × p_s / (1 − s − l + s × p_s + l × p_l)``, so that fee for service pays the
        network exactly for the steered care at its price.  The rest is bought from other
        providers by the payer (``outside_care``).

    Notes
    -----
    Per scenario, with C the panel's medical cost after the utilisation effect and at the
    arrangement's price index π (the engine multiplies the baseline cost by π), d the
    delivered share, δ the delivery ratio, N the members, F the fee and K the operating cost:

    - payer (own): premium − admin − C − 12 N F (it pays the network d C, outside providers
      (1 − d) C, and the platform's fee);
    - platform: 12 N (F − K);
    - provider (the network): (1 − δ) d C;
    - payer (consolidated): own + platform.

    Not modelled: bundled payments for the network (add a
    :class:`~vbcsim.contracts.BundledPayment` to an arrangement built from this one for an
    episode segment), members' cost-sharing incentives that produce the steering, and any
    change in the network's negotiated rates over the years.

    Examples
    --------
    >>> import vbcsim
    >>> from vbcsim.partnerships.platform import PlatformConvener
    >>> arr = PlatformConvener().arrangement(vbcsim.defaults.provider_panel(2000))
    >>> round(arr.price_index(), 4), dict(arr.entities)["platform"].equity()
    (0.9579, {'payer': 1.0})
    """

    key = "platform_convener"
    title = "payer-run platform convener"
    care_management_party = "platform"

    efficiency: float = 0.01
    efficiency_sd: float = 0.005
    care_management_pmpm: float | None = None
    delivered_share: float | None = field(default=None, kw_only=True)
    steered_share: float = STEERED_SHARE
    steered_price: float = NARROW_NETWORK_PRICE
    leakage_share: float = 0.0
    leakage_price: float = 1.0
    price_level: float = 1.0
    platform_fee_pmpm: float = NAVIGATION_FEE_PEPM / MEMBERS_PER_EMPLOYEE
    capital_months: float = 12.0

    def _check_terms(self) -> None:
        owner = type(self).__name__
        for name in ("steered_share", "leakage_share"):
            value = getattr(self, name)
            if value > 1.0:
                raise ValueError(f"{owner}: {name} must be a share in [0, 1], got {value!r}")
        if self.steered_share + self.leakage_share > 1.0:
            raise ValueError(
                f"{owner}: steered_share + leakage_share must be at most 1 (shares of the same care), got "
                f"steered_share={self.steered_share!r} + leakage_share={self.leakage_share!r}"
            )
        for name in ("steered_price", "leakage_price", "price_level"):
            if getattr(self, name) == 0.0:
                raise ValueError(
                    f"{owner}: {name} must be positive (a price relative to the baseline), got 0.0"
                )

    # -- the economics --------------------------------------------------------------------------

    def price_mix(self) -> float:
        """The care mix's price relative to ``price_level``: ``1 − s − l + s p_s + l p_l``."""
        s, leak = self.steered_share, self.leakage_share
        return (1.0 - s - leak) + s * self.steered_price + leak * self.leakage_price

    def price_index(self) -> float:
        """The arrangement's unit-price index, ``price_level × price_mix()`` (docs/prices.md)."""
        return self.price_level * self.price_mix()

    def network_share(self) -> float:
        """The steered care's share of the priced allowed cost: ``s p_s / price_mix()``."""
        return self.steered_share * self.steered_price / self.price_mix()

    def operating_cost_pmpm(self) -> float:
        """The platform's operating cost per member per month (``care_management_pmpm`` or 97% of the fee)."""
        if self.care_management_pmpm is not None:
            return self.care_management_pmpm
        return self.platform_fee_pmpm * (1.0 - PLATFORM_MARGIN)

    def capital(self, members: int) -> float:
        """The payer's capital in the platform: ``capital_months`` of its operating cost for ``members``."""
        return self.capital_months * self.operating_cost_pmpm() * members

    # -- building the arrangement ---------------------------------------------------------------

    def resolved(self) -> PlatformConvener:
        """These terms with the derived defaults (operating cost, delivered share) filled in."""
        filled = {}
        if self.care_management_pmpm is None:
            filled["care_management_pmpm"] = self.operating_cost_pmpm()
        if self.delivered_share is None:
            filled["delivered_share"] = self.network_share()
        return dataclasses.replace(self, **filled) if filled else self

    def arrangement(self, population, scenario_risk=None):
        """The model's :class:`vbcsim.Arrangement`: the base's, on the resolved terms."""
        terms = self.resolved()
        if terms is not self:
            return terms.arrangement(population, scenario_risk)
        return super().arrangement(population, scenario_risk)

    def arrangement_terms(self, population, scenario_risk) -> dict:
        """The platform (owned by the payer, with its capital) and the price levers.

        A price whose share is 0 is passed as 1.0, so that a platform that steers nothing has no
        price lever at all (its cube has no ``price_index``, as a plain run's).
        """
        entity = Entity({"payer": 1.0}, capital={"payer": self.capital(population.members)})
        return {
            "entities": {"platform": entity},
            "price_level": self.price_level,
            "steered_share": self.steered_share,
            "steered_price": self.steered_price if self.steered_share > 0 else 1.0,
            "leakage_share": self.leakage_share,
            "leakage_price": self.leakage_price if self.leakage_share > 0 else 1.0,
        }

    def contracts(self, population, scenario_risk):
        return [
            FeeForService(),
            ManagementFee(self.platform_fee_pmpm, source="payer", target="platform"),
        ]
