"""Arrangements: a payment model's contracts plus its economic assumptions.

An arrangement is what one model of :func:`vbcsim.simulate` runs: the
contracts that move money between the parties, and the assumptions every
contract shares — the premium, administrative and care-management costs, the
provider's cost of delivering care, and the efficiency effect (expected cost
reduction from care management).

Each party's net result in a scenario starts from the arrangement's own flows

- payer: + premium − administrative cost,
- provider: − delivery_ratio × medical cost − care-management cost,

and every contract then adds its transfers.  So, per scenario, the parties'
results add up to premium − delivery cost − admin − care management − MLR
rebates, whatever the contracts.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass

import numpy as np

from vbcsim._validation import (
    check_instances,
    check_nonnegative,
    check_positive,
    check_probability,
    check_real,
)
from vbcsim.contracts.base import ENTITIES, Contract, check_party
from vbcsim.contracts.capitation import Capitation, _check_bounded, _check_pmpm
from vbcsim.contracts.entities import check_entities
from vbcsim.contracts.fee_for_service import FeeForService
from vbcsim.population.segments import Segment, check_segments

__all__ = ["Arrangement", "Efficiency", "Quality", "as_arrangement"]

#: The largest ``delivery_ratio`` accepted: a provider whose cost of care is twice the
#: allowed fee-for-service rate.  Above 1 the provider loses on every fee-for-service
#: dollar, which does happen (MedPAC reports hospitals' overall Medicare margin at
#: about -12% in 2022, a cost of about 1.13 per dollar paid), so (1, 2] is accepted with
#: a warning; above 2 the value is far more likely a percentage or a typo.
MAX_DELIVERY_RATIO = 2.0

#: The largest Beta parameter of :class:`Quality`: numpy's Beta sampler returns 0 for
#: parameters near the float range (Beta(1e308, 1e308) gives 0, not 0.5), and at 1e6
#: the score's standard deviation is already below 0.0005.
MAX_BETA_PARAMETER = 1e6

#: The largest unit-price lever accepted (``price_level``, ``steered_price``,
#: ``leakage_price``): ten times the allowed-cost baseline.  A guard, not a market
#: figure: above it a value is far more likely a percentage (110 for 1.10) or a typo.
MAX_PRICE_RATIO = 10.0


@dataclass(frozen=True)
class Efficiency:
    """Expected cost reduction from care management, uncertain from year to year.

    The reduction e is drawn per scenario from a Beta distribution with the
    given ``mean`` and ``sd`` (fixed at ``mean`` when ``sd`` is 0); the model's
    members' costs are multiplied by (1 − e) before its per-member attachments
    apply.  A negative ``mean`` models a cost increase (a programme that adds
    cost, e.g. by finding unmet need), fixed or uncertain alike.

    Parameters
    ----------
    mean : float
        the expected reduction, in [−1, 1): from a doubling of cost (−1) to
        almost all of it saved.
    sd : float
        its standard deviation, ≥ 0.  With ``sd`` > 0, e is Beta distributed on
        (0, 1) when ``mean`` > 0 (a programme that saves little or much but
        never adds cost), which needs ``sd² < mean (1 − mean)``; and on
        (−1, 1) when ``mean`` ≤ 0 (a cost increase on average, possibly a
        saving in some years), which needs ``mean`` > −1 and
        ``sd² < (1 + mean)(1 − mean)``.
    """

    mean: float = 0.0
    sd: float = 0.0

    def __post_init__(self):
        m = check_real("mean", self.mean, owner="Efficiency")
        sd = check_nonnegative("sd", self.sd, owner="Efficiency")
        if not m < 1.0:
            raise ValueError(
                f"Efficiency: mean must be below 1 (a cost reduction of 100% or more), got {m!r}"
            )
        if m < -1.0:
            raise ValueError(
                f"Efficiency: mean must be at least -1 (a cost increase of at most 100%), got {m!r}"
            )
        if sd > 0:
            low = self._low(m)
            if not m > low:
                raise ValueError(
                    f"Efficiency: an uncertain efficiency (sd={sd!r} > 0) needs mean above -1 for its "
                    f"Beta distribution on (-1, 1), got mean={m!r}"
                )
            bound = (m - low) * (1.0 - m)
            if sd * sd >= bound:
                where = (
                    "(0, 1): sd^2 < mean (1 - mean)" if low == 0.0 else "(-1, 1): sd^2 < (1 + mean)(1 - mean)"
                )
                raise ValueError(
                    f"Efficiency: sd must satisfy, for a Beta distribution of mean={m!r} on {where} = "
                    f"{bound:.4g}, got sd={sd!r}"
                )
            width = 1.0 - low
            mu = (m - low) / width
            k = mu * (1.0 - mu) / (sd / width) ** 2 - 1.0 if sd / width > 1e-150 else math.inf
            if max(mu * k, (1.0 - mu) * k) > MAX_BETA_PARAMETER:
                raise ValueError(
                    f"Efficiency: sd={sd!r} is so small that its Beta distribution's parameters exceed "
                    f"{MAX_BETA_PARAMETER:.0e} (arrangement.MAX_BETA_PARAMETER); give sd=0 for a fixed efficiency"
                )
        object.__setattr__(self, "mean", m)
        object.__setattr__(self, "sd", sd)

    @staticmethod
    def _low(mean: float) -> float:
        # the lower end of the reduction's support: 0 for a saving on average, -1 for a cost increase
        return 0.0 if mean > 0.0 else -1.0

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.sd == 0:
            return np.full(n, self.mean)
        low = self._low(self.mean)
        if low == 0.0:  # Beta on (0, 1), as before cost increases were allowed: the same draws
            k = self.mean * (1 - self.mean) / self.sd**2 - 1.0
            return rng.beta(self.mean * k, (1 - self.mean) * k, n)
        width = 1.0 - low
        mu, sd = (self.mean - low) / width, self.sd / width
        k = mu * (1 - mu) / sd**2 - 1.0
        return low + width * rng.beta(mu * k, (1 - mu) * k, n)


@dataclass(frozen=True)
class Quality:
    """The scenario's quality score in [0, 1], Beta(alpha, beta) distributed.

    The default Beta(8, 2) has mean 0.8 and sd 0.12: most years' quality
    scores fall between 0.6 and 0.95, the range in which quality gates and
    pay-for-performance thresholds typically sit.  ``alpha`` and ``beta`` are
    positive and at most :data:`MAX_BETA_PARAMETER` (10⁶).
    """

    alpha: float = 8.0
    beta: float = 2.0

    def __post_init__(self):
        for name in ("alpha", "beta"):
            value = _check_bounded(
                name,
                getattr(self, name),
                check_positive,
                MAX_BETA_PARAMETER,
                owner="Quality",
                why="numpy's Beta sampler fails near the float range; at 1e6 the score is already fixed",
            )
            object.__setattr__(self, name, value)

    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.beta(self.alpha, self.beta, n)


def _check_efficiency(value) -> Efficiency:
    if isinstance(value, Efficiency):
        return value
    try:
        return Efficiency(mean=value)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"Arrangement: efficiency must be a number in [-1, 1) or an Efficiency; {exc}"
        ) from None


def _base_payment_overlap(a, b, pool: set) -> str | None:
    """The members two base-payment contracts both pay for, in words, or None when they are apart.

    ``segments=None`` covers the book of business: every segment that is not one of the
    arrangement's pool segments.
    """
    if a.segments is None and b.segments is None:
        return "the whole book of business (both have segments=None)"
    if a.segments is None or b.segments is None:
        named = a.segments if a.segments is not None else b.segments
        book = [s for s in named if s not in pool]
        return f"segments {book} (segments=None covers the whole book)" if book else None
    common = [s for s in a.segments if s in b.segments]
    return f"segments {common}" if common else None


def _check_delivery_ratio(value) -> float:
    value = _check_bounded(
        "delivery_ratio",
        value,
        check_positive,
        MAX_DELIVERY_RATIO,
        owner="Arrangement",
        why="a cost per dollar of allowed cost; above 2 it is likely a percentage or a typo",
    )
    if value > 1.0:
        warnings.warn(
            f"Arrangement: delivery_ratio={value!r} is above 1: the provider's cost of care exceeds the "
            f"allowed rate, so it loses {value - 1.0:.4g} on every fee-for-service dollar",
            UserWarning,
            stacklevel=4,
        )
    return value


def _check_contracts(contracts, pool) -> None:
    """At least one contract, and no member's care paid by two base payments."""
    if not contracts:
        raise ValueError(
            "Arrangement: contracts must hold at least one contract (typically a base payment, "
            "FeeForService or Capitation, that pays for care, plus any overlays), got none"
        )
    pool_names = {s.name for s in pool}
    bases = [(i, c) for i, c in enumerate(contracts) if isinstance(c, (FeeForService, Capitation))]
    for k, (i, a) in enumerate(bases):
        for j, b in bases[k + 1 :]:
            where = _base_payment_overlap(a, b, pool_names)
            if where is not None:
                raise ValueError(
                    f"Arrangement: contracts[{i}] ({type(a).__name__}) and contracts[{j}] "
                    f"({type(b).__name__}) are both base payments for {where}, so that care would be "
                    "paid twice; give each base payment its own segments"
                )


def _check_price_levers(arr) -> None:
    """Validate (and store as floats) the unit-price levers, naming the field at fault."""
    why = "a price relative to the allowed-cost baseline; far above it is likely a percentage or a typo"
    for name in ("price_level", "steered_price", "leakage_price"):
        value = _check_bounded(
            name, getattr(arr, name), check_positive, MAX_PRICE_RATIO, owner="Arrangement", why=why
        )
        object.__setattr__(arr, name, value)
    for name in ("steered_share", "leakage_share"):
        object.__setattr__(arr, name, check_probability(name, getattr(arr, name), owner="Arrangement"))
    if arr.steered_share + arr.leakage_share > 1.0:
        raise ValueError(
            f"Arrangement: steered_share + leakage_share must be at most 1 (shares of the same care), got "
            f"steered_share={arr.steered_share!r} + leakage_share={arr.leakage_share!r}"
        )


@dataclass(frozen=True)
class Arrangement:
    """A payment model: contracts plus premium, cost and efficiency assumptions.

    Parameters
    ----------
    contracts : sequence of Contract
        the contracts, settled in order; at least one.  Typically one base
        payment (:class:`~vbcsim.contracts.FeeForService` or
        :class:`~vbcsim.contracts.Capitation`) plus overlays; two base
        payments whose segments overlap are refused (that care would be paid
        twice).  An arrangement without a base payment is accepted (a
        contract that only reports a statistic, a pooled pass-through): then
        no one pays for care and the parties' results are the premium, the
        costs and the contracts' transfers.
    premium_pmpm : float, optional
        premium per member per month; by default the exact expected medical
        cost (with the mean of any systematic risk) divided by
        ``target_loss_ratio``.
    target_loss_ratio : float
        expected claims over premium used for the default premium (0.85, the
        large-group minimum medical loss ratio of 45 CFR 158.210).
    admin_pmpm : float
        the payer's administrative cost per member per month.
    care_management_pmpm : float
        the cost of the care-management programme per member per month, borne
        by ``care_management_party``.
    efficiency : float or Efficiency
        expected proportional cost reduction from care management (a fixed
        number or an uncertain :class:`Efficiency`).
    delivery_ratio : float
        the provider's cost of delivering care per dollar of allowed cost at
        baseline prices (a unit-price lever changes what the care is paid, not
        what it costs to deliver), in
        (0, :data:`MAX_DELIVERY_RATIO`] (2).  Above 1 the provider loses
        ``delivery_ratio − 1`` on every fee-for-service dollar: accepted (a
        provider paid below cost, as many hospitals are by Medicare) with a
        UserWarning.
    care_management_party : str
        who pays for care management (default the provider).
    delivered_share : float
        the fraction, in [0, 1], of the book's allowed cost that the
        contracting provider organisation delivers itself (default 1.0: it
        delivers all of it).  The provider's own cost of care is
        ``delivery_ratio × delivered_share × C``; the rest of the care,
        ``(1 − delivered_share) × C``, is bought from other providers
        (hospitals, specialists outside the group) at allowed rates by the
        party that bears those claims (the payer under fee for service, the
        provider under global capitation, the insurer of a joint venture) and
        leaves the parties, reported as the cube's ``outside_care``.  Fee for
        service pays the contracting provider only for the care it delivers,
        so it earns its delivery margin only on that care.
    pool : sequence of Segment
        segments simulated for this model's contracts only: for example the
        other practices an enabler pools with the provider's panel (model 3 of
        :func:`vbcsim.partnership_models`).  They are outside the parties' book
        of business: no premium, claims, delivery or care-management flows
        arise from them, and a contract reaches them only by naming them in its
        ``segments``.  Their draws use the arrangement's efficiency effect and
        share the engine's single pass with every other model.
    status_quo_premium_pmpm : float, optional
        the premium per member per month of the arrangement's fee-for-service
        status quo (:meth:`status_quo`) where it differs from ``premium_pmpm``:
        a venture that prices its expected efficiency into a lower premium is
        compared with the payer's ordinary product at the ordinary premium.
        Default: the same premium.
    status_quo_admin_pmpm : float, optional
        the payer's administrative cost per member per month under the status
        quo where it differs from ``admin_pmpm`` (a new venture's overhead is
        not the payer's ordinary one).  Default: the same.
    entities : mapping of str to Entity, optional
        organisations the parties own in this arrangement (names from
        :data:`vbcsim.contracts.ENTITIES`: ``venture``, ``mso``,
        ``medical_group``, ``platform``), each a
        :class:`vbcsim.contracts.Entity` (or a mapping of its owners' equity).
        Contracts pay and charge an entity like a party; after settlement its
        whole result passes to its owners by equity (see
        :mod:`vbcsim.contracts.entities`).  Every entity a contract, the
        ``insurer`` or the ``care_management_party`` names must be declared.
    insurer : str
        who collects the premium and pays the administrative cost (default
        the payer; a joint venture's plan, ``"venture"``, carries its own
        books).
    delivering_party : str
        who bears the cost of delivering the care the contracting organisation
        delivers itself, ``delivery_ratio × delivered_share × C`` (default the
        provider; a medical group a payer owns, ``"medical_group"``, whose
        result the payer then consolidates by its stake).
    price_level : float
        the arrangement's negotiated unit-price level relative to the
        allowed-cost baseline the population is calibrated to (default 1.0),
        in (0, :data:`MAX_PRICE_RATIO`].  A unit-price lever, apart from the
        ``efficiency`` effect (utilisation): see :meth:`price_index` and
        docs/prices.md.
    steered_share, steered_price : float
        the share of care, in [0, 1], steered to a narrow network, and that
        network's price relative to ``price_level`` (default 0 and 1.0).
    leakage_share, leakage_price : float
        the share of care, in [0, 1], that leaks out of network, and its price
        relative to ``price_level`` (default 0 and 1.0; typically above 1).
        ``steered_share + leakage_share`` is at most 1.
    """

    contracts: tuple[Contract, ...]
    premium_pmpm: float | None = None
    target_loss_ratio: float = 0.85
    admin_pmpm: float = 0.0
    care_management_pmpm: float = 0.0
    efficiency: Efficiency = Efficiency()
    delivery_ratio: float = 0.85
    care_management_party: str = "provider"
    pool: tuple[Segment, ...] = ()
    delivered_share: float = 1.0
    status_quo_premium_pmpm: float | None = dataclasses.field(default=None, kw_only=True)
    status_quo_admin_pmpm: float | None = dataclasses.field(default=None, kw_only=True)
    entities: tuple = dataclasses.field(default=(), kw_only=True)
    insurer: str = dataclasses.field(default="payer", kw_only=True)
    delivering_party: str = dataclasses.field(default="provider", kw_only=True)
    # unit-price levers (docs/prices.md): the defaults leave every result bit for bit
    price_level: float = dataclasses.field(default=1.0, kw_only=True)
    steered_share: float = dataclasses.field(default=0.0, kw_only=True)
    steered_price: float = dataclasses.field(default=1.0, kw_only=True)
    leakage_share: float = dataclasses.field(default=0.0, kw_only=True)
    leakage_price: float = dataclasses.field(default=1.0, kw_only=True)

    def __post_init__(self):
        contracts = check_instances(
            "contracts",
            self.contracts,
            Contract,
            owner="Arrangement",
            what="contracts",
            item="vbcsim contracts",
        )
        object.__setattr__(self, "contracts", contracts)
        if self.premium_pmpm is not None:
            object.__setattr__(
                self,
                "premium_pmpm",
                _check_pmpm("premium_pmpm", self.premium_pmpm, check_positive, owner="Arrangement"),
            )
        object.__setattr__(
            self,
            "target_loss_ratio",
            check_probability(
                "target_loss_ratio", self.target_loss_ratio, owner="Arrangement", open_low=True
            ),
        )
        object.__setattr__(
            self,
            "admin_pmpm",
            _check_pmpm("admin_pmpm", self.admin_pmpm, check_nonnegative, owner="Arrangement"),
        )
        object.__setattr__(
            self,
            "care_management_pmpm",
            _check_pmpm(
                "care_management_pmpm", self.care_management_pmpm, check_nonnegative, owner="Arrangement"
            ),
        )
        object.__setattr__(self, "efficiency", _check_efficiency(self.efficiency))
        object.__setattr__(self, "delivery_ratio", _check_delivery_ratio(self.delivery_ratio))
        check_party("care_management_party", self.care_management_party, owner="Arrangement")
        object.__setattr__(
            self,
            "delivered_share",
            check_probability("delivered_share", self.delivered_share, owner="Arrangement"),
        )
        for name, check in (
            ("status_quo_premium_pmpm", check_positive),
            ("status_quo_admin_pmpm", check_nonnegative),
        ):
            if getattr(self, name) is not None:
                object.__setattr__(
                    self, name, _check_pmpm(name, getattr(self, name), check, owner="Arrangement")
                )
        object.__setattr__(self, "pool", check_segments(self.pool, owner="Arrangement", name="pool"))
        _check_contracts(self.contracts, self.pool)
        object.__setattr__(self, "entities", check_entities(self.entities))
        check_party("insurer", self.insurer, owner="Arrangement")
        check_party("delivering_party", self.delivering_party, owner="Arrangement")
        _check_entities_declared(self)
        _check_price_levers(self)

    @property
    def contract_names(self) -> list[str]:
        """Names of the contracts, made unique with a numeric suffix where repeated."""
        names, seen = [], {}
        for c in self.contracts:
            base = c.name
            seen[base] = seen.get(base, 0) + 1
            names.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
        return names

    @property
    def claims_party(self) -> str:
        """Who bears the claims cost: the provider under global capitation, else the payer."""
        for c in self.contracts:
            party = getattr(c, "claims_party", None)
            if party is not None and party != "payer":
                return party
        return "payer"

    def attachments(self) -> tuple[float, ...]:
        """Per-member attachment points the contracts need (sorted, unique)."""
        out = set()
        for c in self.contracts:
            for a in c.needs().attachments:
                a = float(a)
                if not (math.isfinite(a) and a > 0):
                    raise ValueError(
                        f"contract {c.name!r}: attachment must be finite and positive, got {a!r}"
                    )
                out.add(a)
        return tuple(sorted(out))

    @property
    def entity_names(self) -> tuple[str, ...]:
        """The declared entities, in :data:`vbcsim.contracts.ENTITIES` order."""
        return tuple(name for name, _ in self.entities)

    def needs_quality(self) -> bool:
        return any(c.needs().quality for c in self.contracts)

    def price_index(self) -> float:
        """The arrangement's unit-price index relative to the allowed-cost baseline.

        ``price_level × ((1 − s − l) + s × steered_price + l × leakage_price)``
        with s the steered and l the leakage share: 1.0 exactly with the
        default levers.  Every model's medical cost is multiplied by it (with
        the efficiency effect, before per-member attachments apply), so claims,
        stop-loss layers and every cost-driven settlement see the priced cost.

        Returns
        -------
        float
            the price index, positive.

        Examples
        --------
        >>> from vbcsim.contracts import FeeForService
        >>> Arrangement(contracts=(FeeForService(),), price_level=0.9).price_index()
        0.9
        """
        s, leak = self.steered_share, self.leakage_share
        mix = (1.0 - s - leak) + s * self.steered_price + leak * self.leakage_price
        return self.price_level * mix

    def has_price_levers(self) -> bool:
        """True when any unit-price lever differs from its default (a price index other than 1 may follow)."""
        return (
            self.price_level != 1.0
            or self.steered_share != 0.0
            or self.steered_price != 1.0
            or self.leakage_share != 0.0
            or self.leakage_price != 1.0
        )

    def status_quo(self) -> Arrangement:
        """This arrangement's fee-for-service status quo: what the same parties do without it.

        The same members, premium (``status_quo_premium_pmpm`` where given, else the same
        premium or premium pricing), administrative cost (``status_quo_admin_pmpm`` where given),
        provider
        (``delivery_ratio``, ``delivered_share``) and outside care, paid by plain
        :class:`~vbcsim.contracts.FeeForService`, with no care-management programme, hence no
        efficiency effect, and none of the arrangement's overlays or pools.  The baseline that
        :func:`vbcsim.summarize` subtracts with ``baseline="fee_for_service"``: on the same
        draws, the change against it isolates what the arrangement does.
        """
        with warnings.catch_warnings():  # a delivery ratio above 1 was warned of with this arrangement
            warnings.simplefilter("ignore", UserWarning)
            return Arrangement(
                contracts=(FeeForService(),),
                premium_pmpm=self.status_quo_premium_pmpm or self.premium_pmpm,
                target_loss_ratio=self.target_loss_ratio,
                admin_pmpm=self.admin_pmpm
                if self.status_quo_admin_pmpm is None
                else self.status_quo_admin_pmpm,
                delivery_ratio=self.delivery_ratio,
                delivered_share=self.delivered_share,
            )


def _check_books(arr: Arrangement, declared: set) -> None:
    """Contracts that settle on the payer's and the provider's books agree with who carries them."""
    from vbcsim.contracts.bundled import BundledPayment
    from vbcsim.contracts.joint_venture import JointVenture
    from vbcsim.contracts.mlr import MLRRebate

    moved = arr.insurer != "payer" or arr.delivering_party != "provider"
    for i, c in enumerate(arr.contracts):
        where = f"Arrangement: contracts[{i}] ({type(c).__name__})"
        if moved and isinstance(c, (Capitation, BundledPayment)):
            raise ValueError(
                f"{where} pays from the payer to the provider, but this arrangement's insurer is "
                f"{arr.insurer!r} and its delivering party {arr.delivering_party!r}: capitation and bundles "
                "settle on the payer's and the provider's books only"
            )
        if isinstance(c, MLRRebate) and c.insurer != arr.insurer:
            raise ValueError(
                f"{where}: insurer={c.insurer!r}, but the arrangement's insurer (who collects the premium) is "
                f"{arr.insurer!r}; give MLRRebate(..., insurer={arr.insurer!r})"
            )
        if isinstance(c, JointVenture) and (c.insurer in declared or c.partner in declared):
            raise ValueError(
                f"{where} splits an insurer's result between two parties, but here the plan is the entity "
                f"{c.insurer if c.insurer in declared else c.partner!r}, whose result already passes to its "
                "owners by equity: use an MLRRebate on the entity instead"
            )


def _check_entities_declared(arr: Arrangement) -> None:
    """Every entity the arrangement's flows reach is declared with its owners."""
    declared = {name for name, _ in arr.entities}
    named = [
        ("insurer", arr.insurer),
        ("care_management_party", arr.care_management_party),
        ("delivering_party", arr.delivering_party),
    ]
    for i, c in enumerate(arr.contracts):
        if dataclasses.is_dataclass(c):
            for f in dataclasses.fields(c):
                value = getattr(c, f.name)
                if isinstance(value, str):
                    named.append((f"contracts[{i}] ({type(c).__name__}).{f.name}", value))
    _check_books(arr, declared)
    for where, value in named:
        if value in ENTITIES and value not in declared:
            raise ValueError(
                f"Arrangement: {where} is the entity {value!r}, which the arrangement does not declare: give "
                f"entities={{{value!r}: Entity(owners={{...}})}} with its owners' equity"
            )


def as_arrangement(name: str, value) -> Arrangement:
    """A model given as an Arrangement, a single contract or a list of contracts."""
    if isinstance(value, Arrangement):
        return value
    try:
        return Arrangement(contracts=value)
    except TypeError as exc:
        raise TypeError(f"models[{name!r}]: {exc}") from None
