"""What every partnership model shares: the :class:`PartnershipModel` base and its builders.

The base holds the premium, cost and efficiency assumptions every model has, validates the
terms by name (the same term means the same thing in every model: a ``sharing_rate`` is a
share wherever it stands), builds the :class:`vbcsim.Arrangement`, and offers the pieces
several presets build the same way: the priced premium, a shared-savings contract on the
model's own terms against its benchmark, and practices scaled from the panel.  The economic
conventions behind the defaults are documented in :mod:`vbcsim.partnerships`.

A new model is a frozen dataclass subclass in a module of its own: a ``key`` and a
``title``, its terms as fields (a term named like one below gets that term's check, any
other a non-negative number's; ``_check_terms`` adds what is particular to it), and
``contracts``; then it is registered in :mod:`vbcsim.partnerships.registry`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from vbcsim._validation import (
    check_nonnegative,
    check_nonnegative_int,
    check_positive,
    check_probability,
    check_real,
)
from vbcsim.contracts import SharedSavings
from vbcsim.contracts.arrangement import Arrangement, Efficiency
from vbcsim.contracts.capitation import MAX_PMPM
from vbcsim.population.limits import check_simulable
from vbcsim.population.scenario import ScenarioRisk
from vbcsim.population.segments import Population, Segment

#: share of its members' allowed cost that a health system (hospitals and employed physicians)
#: delivers itself: "approximately one-third of spending was for care occurring outside of the
#: ACO" in three commercial ACO contracts of a large health system, 453,573 members, 2015-2019
#: (Benson et al., "Population Turnover and Leakage in Commercial ACOs", Am J Manag Care
#: 2023;29(4):e104-e110).  Rounded to two thirds.
DELIVERED_SHARE_SYSTEM = 0.67

#: share that independent primary care practices deliver themselves: primary care is "just under
#: 6 percent of total health care spending for non-elderly adults with employer-sponsored
#: insurance" (Commonwealth Fund scorecard; 4.7% in 2019 by the narrow definition of the Primary
#: Care Collaborative; Reiff et al., JAMA 2019;322(22):2244 for 2013-2017 HCCI data).  The
#: practices' own visits and in-office services; every referral, admission and prescription is
#: outside care.
DELIVERED_SHARE_PRIMARY_CARE = 0.06

#: Systematic risk of the comparison: trend uncertainty with a 2% coefficient of variation
#: (the usual gap between priced and emerging commercial trend is a few percent) and a shock
#: year (a pandemic-like surge or a new high-cost therapy class) with probability 5% that
#: raises all costs by 8%.  Illustrative: systematic risk does not diversify with panel size,
#: so it is what a large risk-bearing party mostly carries.
#: Over several years: the expected trend is the Milliman Medical Index's average of 6.1% a
#: year since 2005 (Milliman Medical Index 2025; PwC's Health Research Institute projects 8% for
#: the group market in 2025), and misses against it persist (φ = 0.5, illustrative: the
#: underwriting cycle runs a few years).  A single-year run uses neither.
DEFAULT_SCENARIO_RISK = ScenarioRisk(
    trend_cv=0.02, shock_probability=0.05, shock_size=0.08, annual_trend=0.061, trend_persistence=0.5
)


@dataclass(frozen=True)
class PartnershipModel:
    """What every partnership model has: premium, cost and efficiency assumptions.

    Parameters
    ----------
    efficiency : float
        expected proportional reduction in medical cost from the model's care
        management (drawn per year from a Beta distribution).
    efficiency_sd : float
        its year-to-year standard deviation (0 for a fixed effect).
    care_management_pmpm : float
        the cost of the care management that produces the efficiency, per
        member per month.
    admin_ratio : float
        the payer's (or the insurer's) administrative cost as a share of
        premium.
    target_loss_ratio : float
        expected claims over premium used to price the premium.
    delivery_ratio : float
        the provider's cost of delivering care per dollar of allowed cost.
    premium_pmpm : float, optional
        an explicit premium per member per month instead of the priced one.
    delivered_share : float
        the share, in [0, 1], of the panel's allowed cost that the contracting
        provider organisation delivers itself (:class:`vbcsim.Arrangement`); the
        rest is bought from outside providers at allowed rates by whoever bears
        those claims.  Each model sets a documented default from
        :data:`DELIVERED_SHARE_SYSTEM` or :data:`DELIVERED_SHARE_PRIMARY_CARE`.
    """

    key = ""
    title = ""
    care_management_party = "provider"

    efficiency: float = 0.0
    efficiency_sd: float = 0.0
    care_management_pmpm: float = 0.0
    admin_ratio: float = 0.10
    target_loss_ratio: float = 0.85
    delivery_ratio: float = 0.85
    premium_pmpm: float | None = None
    # keyword-only, so that the models' own terms keep their positions
    delivered_share: float = dataclasses.field(default=1.0, kw_only=True)

    def __post_init__(self):
        owner = type(self).__name__
        for f in dataclasses.fields(self):
            name, value = f.name, getattr(self, f.name)
            if value is None and "None" in str(f.type):  # an optional term, None: not applied
                continue
            if isinstance(f.default, tuple):  # a sequence term, checked by the model (_check_terms)
                continue
            if isinstance(f.default, bool):
                if not isinstance(value, bool):
                    raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
            elif isinstance(f.default, int):
                value = check_nonnegative_int(name, value, owner=owner, strict=True)
            elif name == "efficiency":
                value = check_real(name, value, owner=owner)
            elif name in _PROBABILITIES:
                value = check_probability(name, value, owner=owner)
            elif name == "premium_pmpm" or name in _POSITIVE:
                value = check_positive(name, value, owner=owner)
            else:
                value = check_nonnegative(name, value, owner=owner)
            object.__setattr__(self, name, value)
        try:
            Efficiency(self.efficiency, self.efficiency_sd)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{owner}: efficiency={self.efficiency!r}, efficiency_sd={self.efficiency_sd!r}: {exc}"
            ) from None
        for f in dataclasses.fields(self):
            if f.name in _NONZERO and getattr(self, f.name) == 0:
                raise ValueError(f"{owner}: {f.name} must be positive")
        self._check_terms()

    def _check_terms(self) -> None:
        """Model-specific checks of the contract terms (a subclass hook)."""

    # -- building the arrangement ----------------------------------------------------------------

    def premium(self, population: Population, scenario_risk: ScenarioRisk | None) -> float:
        """Premium per member per month: ``premium_pmpm``, else expected cost / target loss ratio."""
        return self._priced_premium(population, scenario_risk)

    def _priced_premium(self, population, scenario_risk, cost_factor: float = 1.0) -> float:
        """``premium_pmpm``, else the expected cost times ``cost_factor`` over the target loss ratio."""
        if self.premium_pmpm is not None:
            return self.premium_pmpm
        return expected_pmpm(population, scenario_risk) * cost_factor / self.target_loss_ratio

    def contracts(self, population: Population, scenario_risk: ScenarioRisk | None) -> list:
        raise NotImplementedError  # pragma: no cover - interface

    def pool(self, population: Population) -> tuple[Segment, ...]:
        return ()

    def arrangement(self, population: Population, scenario_risk: ScenarioRisk | None = None) -> Arrangement:
        """The model's :class:`vbcsim.Arrangement` for ``population`` (the provider's panel).

        Every segment's cost must be one the engine simulates
        (:func:`vbcsim.population.limits.check_simulable`): the premium and the
        benchmark are priced at its expected cost.
        """
        for seg in population:
            check_simulable(seg.cost, owner=f"population: segment {seg.name!r} cost")
        premium = self.premium(population, scenario_risk)
        status_quo_premium = PartnershipModel.premium(self, population, scenario_risk)
        if self.premium_pmpm is None and not premium <= MAX_PMPM:
            # the user gave no premium: say it was priced from the population's cost, not blame premium_pmpm
            raise ValueError(
                f"population, target_loss_ratio: the premium priced as the population's expected cost / "
                f"target_loss_ratio={self.target_loss_ratio!r} is {premium:.3g} per member per month, more than "
                f"the settlement's limit of {MAX_PMPM:g} (capitation.MAX_PMPM); the segments' costs or the "
                "target loss ratio are far outside any book of business"
            )
        try:
            contracts = self.contracts(population, scenario_risk)
        except (TypeError, ValueError) as exc:
            # a contract refuses a term: say which of the model's own terms (named as the user
            # gave them, e.g. stop_loss_loading rather than the contract's loading) it came from
            raise type(exc)(f"{type(self).__name__}({self._changed_terms()}): {exc}") from None
        return Arrangement(
            contracts=contracts,
            premium_pmpm=premium,
            target_loss_ratio=self.target_loss_ratio,
            admin_pmpm=self.admin_ratio * premium,
            care_management_pmpm=self.care_management_pmpm,
            efficiency=Efficiency(self.efficiency, self.efficiency_sd),
            delivery_ratio=self.delivery_ratio,
            delivered_share=self.delivered_share,
            care_management_party=self.care_management_party,
            pool=self.pool(population),
            # the status quo is the payer's ordinary product: priced without this model's efficiency,
            # at the payer's ordinary administrative cost
            status_quo_premium_pmpm=status_quo_premium,
            status_quo_admin_pmpm=self.status_quo_admin_ratio() * status_quo_premium,
            **self.arrangement_terms(population, scenario_risk),
        )

    def arrangement_terms(self, population: Population, scenario_risk: ScenarioRisk | None) -> dict:
        """Further :class:`vbcsim.Arrangement` fields of the model (a subclass hook): the entities it
        owns, who carries the books (``insurer``), who delivers the care, its price levers."""
        return {}

    def status_quo_admin_ratio(self) -> float:
        """The payer's administrative cost over premium under the fee-for-service status quo."""
        return self.admin_ratio

    def _changed_terms(self) -> str:
        """The terms that differ from the model's defaults, as ``name=value`` (the user's overrides)."""
        changed = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if f.default is not dataclasses.MISSING and getattr(self, f.name) != f.default
        ]
        return ", ".join(changed) or "default terms"

    # -- pieces several models build the same way --------------------------------------------------

    def _shared_savings(self, population, scenario_risk, **terms) -> SharedSavings:
        """A :class:`vbcsim.contracts.SharedSavings` on the model's terms, for a model with a ``benchmark_ratio``.

        The contract's terms are the model's fields named as its parameters
        (:data:`_SAVINGS_TERMS`; a term the model lacks keeps the contract's
        default), then ``terms``.  The benchmark is ``benchmark_ratio`` times the
        panel's expected cost, truncated at the contract's ``outlier_attachment``
        per member (if any) like the actual cost it is compared with.
        """
        names = {f.name for f in dataclasses.fields(self)}
        own = {name: getattr(self, name) for name in _SAVINGS_TERMS if name in names}
        own.update(terms)
        truncation = own.get("outlier_attachment")
        return SharedSavings(
            self.benchmark_ratio * expected_pmpm(population, scenario_risk, truncation), **own
        )


#: terms that must be strictly positive (a zero would make a contract meaningless)
_POSITIVE = {"outlier_attachment", "benchmark_ratio", "stop_loss_attachment", "practice_size"}
_PROBABILITIES = {
    "admin_ratio",
    "delivered_share",
    "target_loss_ratio",
    "sharing_rate",
    "loss_sharing_rate",
    "minimum_savings_rate",
    "minimum_loss_rate",
    "quality_gate",
    "coinsurance",
    "pass_through",
    "partner_equity",
    "minimum_loss_ratio",
    "percent_of_premium",
    "quality_low",
    "quality_high",
}
#: shares that must not be zero (a premium, a capitation or a rebate floor of nothing)
_NONZERO = {"target_loss_ratio", "percent_of_premium", "minimum_loss_ratio"}
#: the terms of :class:`vbcsim.contracts.SharedSavings` a model carries as fields of the same name
_SAVINGS_TERMS = (
    "sharing_rate",
    "minimum_savings_rate",
    "minimum_loss_rate",
    "loss_sharing_rate",
    "savings_cap",
    "loss_cap",
    "quality_gate",
    "outlier_attachment",
)


def expected_pmpm(
    population: Population, scenario_risk: ScenarioRisk | None = None, truncation: float | None = None
) -> float:
    """The exact expected medical cost per member per month, with the mean systematic multiplier.

    With ``truncation`` a, each member's cost counts up to a: E[min(X, a)] (times the mean
    multiplier, which ignores the small interaction between systematic risk and the cap).
    """
    trend = scenario_risk.mean() if scenario_risk is not None else 1.0
    if truncation is None:
        total = population.expected_cost()
    else:
        total = sum(s.members * s.cost.limited_mean(truncation) for s in population)
    return total * trend / population.members / 12.0


def scaled_segments(population: Population, scale: float, prefix: str = "") -> list[Segment]:
    """``population``'s segments with their members times ``scale`` (each ≥ 1), names prefixed."""
    return [Segment(f"{prefix}{s.name}", max(1, round(s.members * scale)), s.cost) for s in population]
