"""What every payment-model contract is: the statistics it needs and how it settles.

A contract is a small frozen dataclass.  The engine asks each contract what it
:meth:`~Contract.needs` (per-member attachment points, the scenario's quality
score), computes only those statistics for the contract's model in the member
loop, and then calls :meth:`~Contract.settle` once per model with a
:class:`SettlementContext` holding per-scenario arrays.  ``settle`` is
vectorised over scenarios and returns a :class:`Settlement`: the amount the
contract moved (signed from its ``source`` to its ``target`` party) and each
party's change in net result.

Money conventions (see the project's ARCHITECTURE.md): amounts are per year;
medical cost C is valued at allowed (fee-for-service) rates; the contracting
provider delivers a share ``delivered_share`` of it itself, at a cost of
``delivery_ratio`` per allowed dollar, and the rest (outside care) is bought
from other providers at allowed rates by whoever bears those claims; internal
transfers between parties sum to zero, and only outside care and MLR rebates
(to members) leave the parties.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "PARTIES",
    "ENTITIES",
    "Needs",
    "Settlement",
    "SettlementContext",
    "Contract",
    "check_party",
    "transfer",
]

PARTIES = ("payer", "provider", "enabler", "reinsurer")

#: organisations the parties may own, which contracts can pay and charge like parties; an
#: arrangement that names one declares its owners (:class:`vbcsim.contracts.Entity`), and after
#: settlement each entity's whole result passes to its owners by equity
ENTITIES = ("venture", "mso", "medical_group", "platform")


def check_party(name: str, value, *, owner: str = "") -> str:
    """A party or entity name, or a ValueError naming the argument and the known names."""
    where = f"{owner}: " if owner else ""
    if value not in PARTIES and value not in ENTITIES:
        raise ValueError(
            f"{where}{name} must be one of {', '.join(PARTIES)} (or an entity the arrangement owns: "
            f"{', '.join(ENTITIES)}); got {value!r}"
        )
    return value


@dataclass(frozen=True)
class Needs:
    """Statistics a contract needs from the engine."""

    attachments: tuple[float, ...] = ()  # per-member attachment points, annual allowed cost
    quality: bool = False  # the scenario's quality score


@dataclass
class Settlement:
    """A contract's effect in every scenario.

    ``amount`` is what the contract moved, signed from ``source`` to ``target``
    (for example payer -> provider); ``flows`` maps each party to its change in
    net result.  ``external`` is money that leaves the parties (MLR rebates paid
    to members) and ``outside_care`` the care the contract's paying party buys
    from providers outside the contracting organisation at allowed rates:
    sum of flows = −external − outside_care.  ``from_members`` is money that
    enters the parties from members (the balance billing a reference-based
    price cap leaves them, :class:`~vbcsim.contracts.ReferenceBasedPricing`):
    then sum of flows = from_members − external − outside_care.
    """

    amount: np.ndarray
    flows: dict[str, np.ndarray]
    external: np.ndarray | None = None
    outside_care: np.ndarray | None = None
    from_members: np.ndarray | None = None


def transfer(amount, source: str, target: str) -> Settlement:
    """A settlement that moves ``amount`` (per scenario) from ``source`` to ``target``."""
    amount = np.asarray(amount, dtype=float)
    return Settlement(amount=amount, flows={source: -amount, target: amount})


@dataclass
class SettlementContext:
    """Per-scenario statistics of one model, handed to every contract of that model.

    Arrays run over scenarios (length S) and, where noted, segments (G).
    """

    model: str
    segments: tuple[str, ...]
    members: np.ndarray  # (G,) members per segment
    segment_cost: np.ndarray  # (S, G) the model's medical cost by segment (after efficiency)
    excess_by_attachment: dict[float, np.ndarray]  # attachment -> (S, G) sum of (X - a)+
    premium: np.ndarray  # (S,) premium of the arrangement
    quality: np.ndarray | None  # (S,) quality score in [0, 1], when a contract needs it
    expected_cost: float  # exact expected baseline medical cost of the whole population
    expected_excess: dict[float, float] = field(default_factory=dict)  # exact E[sum (X - a)+], baseline
    claims_party: str = "payer"  # who bears claims cost: the payer, or the provider under global capitation
    delivery_ratio: float = 0.85
    # exact E[(C - d)+] of the whole population's baseline annual cost C (FFT oracle), for
    # pricing aggregate protections; None when unavailable
    aggregate_stop_loss: Callable[[float], float] | None = None
    # the segments of the parties' book of business, which contracts cover by default; the other
    # segments are simulated only for pooled contracts (e.g. other practices of an enabler's pool).
    # None: all segments
    book: tuple[str, ...] | None = None
    admin: float = 0.0  # the arrangement's annual administrative cost (borne by its insurer)
    care_management: float = 0.0  # the arrangement's annual care-management cost
    care_management_party: str = "provider"  # who bears it
    # the share of the book's allowed cost the contracting provider delivers itself; the rest is
    # bought from outside providers at allowed rates by the party that bears those claims
    delivered_share: float = 1.0
    # the run's systematic risk (None: none), for pricing protections under it
    scenario_risk: object | None = None
    # (S,) the market-wide part of each scenario's systematic multiplier, shared with the
    # benchmark's reference population (a retrospective benchmark update follows it); None: 1
    market_factor: np.ndarray | None = None
    # (name, contract, Settlement) of the arrangement's contracts settled before this one, in
    # order: a contract that settles on the others' flows (an MLR on what the insurer incurs)
    # reads them here
    settled: list = field(default_factory=list)
    # every contract of the arrangement, in order (a contract that depends on another's terms,
    # as aggregate stop-loss does on a specific cover of the same insured, finds it here)
    contracts: tuple = ()
    # the parties' book of business (a Population), for exact pricing on it; None when unknown
    population: object | None = None
    # multi-year runs (docs/multi_year.md): the rows of every per-scenario array are then
    # scenario-years, row = scenario × years + (year − 1), in year-1 currency (each year's costs
    # divided by the expected trend index, so currency terms are indexed at the expected trend)
    years: int = 1
    year: np.ndarray | None = None  # (n,) the performance year (1..years) of each row; None: one year
    baseline_years: int = 0  # years simulated before year 1 (the status quo), for benchmarks
    baseline_segment_cost: np.ndarray | None = None  # (S, baseline_years, G) their cost by segment
    market_path: np.ndarray | None = None  # (S, baseline_years + years) the market factor of every year
    reference_per_capita: float = 0.0  # the reference population's expected cost per member (year 1)
    annual_trend: float = 0.0  # the run's expected trend (ScenarioRisk.annual_trend)
    trend_index: np.ndarray | None = None  # (n,) each row's expected trend index (year t: (1 + trend)^(t-1))
    # risk scores and selection (docs/risk_adjustment.md): per row and segment the sums Σ w, Σ w s
    # and Σ s over the members (w the panel weight, s the risk score), the same of the baseline
    # years, each row's coding factor, and which view the contract settles on: the panel (or the
    # whole population, a counterfactual), with the provider's coding (or without)
    score_sums: np.ndarray | None = None  # (n, G, 3)
    baseline_score_sums: np.ndarray | None = None  # (S, baseline_years, G, 3)
    coding: np.ndarray | None = None  # (n,)
    panel: bool = True
    coded: bool = True
    # attachment -> (S, baseline_years, G): Σ (X − a)+ in the baseline years, for a truncated benchmark
    baseline_excess_by_attachment: dict | None = None
    # the same two of the whole population (with selection: the counterfactual of ``panel`` off)
    baseline_reference_cost: np.ndarray | None = None
    baseline_reference_excess_by_attachment: dict | None = None

    def baseline(self) -> tuple:
        """(cost (S, B, G), excess by attachment) of the baseline years: the panel's, or the
        population's when ``panel`` is off and the run has them."""
        if not self.panel and self.baseline_reference_cost is not None:
            return self.baseline_reference_cost, self.baseline_reference_excess_by_attachment
        return self.baseline_segment_cost, self.baseline_excess_by_attachment

    def risk_score(self, segments=None) -> np.ndarray:
        """The covered members' mean risk score per row (ones without risk scores).

        The panel's Σ w s / Σ w (the population's Σ s / members when ``panel`` is off),
        times the coding factor when ``coded``.
        """
        if self.score_sums is None:
            return np.ones(self.n_scenarios)
        sums = np.asarray(self.score_sums)[:, self._columns(segments), :].sum(axis=1)
        if self.panel:
            score = sums[:, 1] / sums[:, 0]
        else:
            score = sums[:, 2] / self.n_members(segments)
        if self.coded and self.coding is not None:
            score = score * np.asarray(self.coding, dtype=float)
        return score

    def baseline_risk_score(self, segments=None) -> np.ndarray:
        """The covered members' mean risk score in each baseline year: (S, baseline_years)."""
        if self.baseline_score_sums is None:
            return np.ones((self.n_scenarios // self.years, self.baseline_years))
        sums = np.asarray(self.baseline_score_sums)[:, :, self._columns(segments), :].sum(axis=2)
        if self.panel:
            return sums[..., 1] / sums[..., 0]
        return sums[..., 2] / self.n_members(segments)

    def nominal(self) -> np.ndarray:
        """Each row's factor from year-1 currency to its own year's (the trend index; ones in one year)."""
        if self.trend_index is None:
            return np.ones(self.n_scenarios)
        return np.asarray(self.trend_index, dtype=float)

    @property
    def n_scenarios(self) -> int:
        """Rows of the per-scenario arrays: scenarios, or scenario-years in a multi-year run."""
        return self.segment_cost.shape[0]

    def by_year(self, values) -> np.ndarray:
        """A per-row array as (scenario, year): float[n_scenarios // years, years]."""
        return np.asarray(values).reshape(-1, self.years)

    def _columns(self, segments):
        if segments is None:
            if self.book is None or len(self.book) == len(self.segments):
                return slice(None)
            return [self.segments.index(s) for s in self.book]
        idx = []
        for s in segments:
            if s not in self.segments:
                raise ValueError(f"segments: unknown segment {s!r}; the population has {list(self.segments)}")
            idx.append(self.segments.index(s))
        return idx

    def cost(self, segments=None) -> np.ndarray:
        """Medical cost per scenario of the given segments (all by default)."""
        return self.segment_cost[:, self._columns(segments)].sum(axis=1)

    @property
    def medical_cost(self) -> np.ndarray:
        """Medical cost per scenario of the book of business (all segments when there is no pool)."""
        return self.cost()

    def excess(self, attachment: float, segments=None) -> np.ndarray:
        """Σ over members of (X − attachment)+ per scenario."""
        return self.excess_by_attachment[float(attachment)][:, self._columns(segments)].sum(axis=1)

    def n_members(self, segments=None) -> int:
        """Members of the given segments (the book of business by default)."""
        return int(np.asarray(self.members)[self._columns(segments)].sum())


def _snake(name: str) -> str:
    # FeeForService -> fee_for_service, MLRRebate -> mlr_rebate
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class Contract:
    """Base class of payment-model contracts (subclasses are frozen dataclasses)."""

    @property
    def name(self) -> str:
        """Default name of the contract in the result cube's ``contract`` coordinate."""
        return _snake(type(self).__name__)

    def needs(self) -> Needs:
        return Needs()

    def settle(self, ctx: SettlementContext) -> Settlement:  # pragma: no cover - interface
        raise NotImplementedError
