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

import math
from dataclasses import dataclass

import numpy as np

from vbcsim._validation import (
    check_instances,
    check_nonnegative,
    check_positive,
    check_probability,
    check_real,
)
from vbcsim.contracts.base import Contract, check_party
from vbcsim.population.segments import Segment, check_segments

__all__ = ["Arrangement", "Efficiency", "Quality", "as_arrangement"]


@dataclass(frozen=True)
class Efficiency:
    """Expected cost reduction from care management, uncertain from year to year.

    The reduction e is drawn per scenario from a Beta distribution with the
    given ``mean`` and ``sd`` (fixed at ``mean`` when ``sd`` is 0); the model's
    members' costs are multiplied by (1 − e) before its per-member attachments
    apply.  A negative ``mean`` with ``sd`` 0 models a cost increase.
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
        if sd > 0:
            if not 0.0 < m < 1.0:
                raise ValueError(
                    f"Efficiency: an uncertain efficiency (sd > 0) needs mean in (0, 1), got {m!r}"
                )
            if sd * sd >= m * (1.0 - m):
                raise ValueError(
                    f"Efficiency: sd must satisfy sd^2 < mean (1 - mean) = {m * (1 - m):.4g} for a Beta "
                    f"distribution, got sd={sd!r}"
                )
        object.__setattr__(self, "mean", m)
        object.__setattr__(self, "sd", sd)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.sd == 0:
            return np.full(n, self.mean)
        k = self.mean * (1 - self.mean) / self.sd**2 - 1.0
        return rng.beta(self.mean * k, (1 - self.mean) * k, n)


@dataclass(frozen=True)
class Quality:
    """The scenario's quality score in [0, 1], Beta(alpha, beta) distributed.

    The default Beta(8, 2) has mean 0.8 and sd 0.12: most years' quality
    scores fall between 0.6 and 0.95, the range in which quality gates and
    pay-for-performance thresholds typically sit.
    """

    alpha: float = 8.0
    beta: float = 2.0

    def __post_init__(self):
        object.__setattr__(self, "alpha", check_positive("alpha", self.alpha, owner="Quality"))
        object.__setattr__(self, "beta", check_positive("beta", self.beta, owner="Quality"))

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
        raise type(exc)(f"Arrangement: efficiency must be a number below 1 or an Efficiency; {exc}") from None


@dataclass(frozen=True)
class Arrangement:
    """A payment model: contracts plus premium, cost and efficiency assumptions.

    Parameters
    ----------
    contracts : sequence of Contract
        the contracts, settled in order.
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
        the provider's cost of delivering care per dollar of allowed cost.
    care_management_party : str
        who pays for care management (default the provider).
    pool : sequence of Segment
        segments simulated for this model's contracts only: for example the
        other practices an enabler pools with the provider's panel (model 3 of
        :func:`vbcsim.partnership_models`).  They are outside the parties' book
        of business: no premium, claims, delivery or care-management flows
        arise from them, and a contract reaches them only by naming them in its
        ``segments``.  Their draws use the arrangement's efficiency effect and
        share the engine's single pass with every other model.
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
                self, "premium_pmpm", check_positive("premium_pmpm", self.premium_pmpm, owner="Arrangement")
            )
        object.__setattr__(
            self,
            "target_loss_ratio",
            check_probability(
                "target_loss_ratio", self.target_loss_ratio, owner="Arrangement", open_low=True
            ),
        )
        object.__setattr__(
            self, "admin_pmpm", check_nonnegative("admin_pmpm", self.admin_pmpm, owner="Arrangement")
        )
        object.__setattr__(
            self,
            "care_management_pmpm",
            check_nonnegative("care_management_pmpm", self.care_management_pmpm, owner="Arrangement"),
        )
        object.__setattr__(self, "efficiency", _check_efficiency(self.efficiency))
        object.__setattr__(
            self,
            "delivery_ratio",
            check_nonnegative("delivery_ratio", self.delivery_ratio, owner="Arrangement"),
        )
        check_party("care_management_party", self.care_management_party, owner="Arrangement")
        object.__setattr__(self, "pool", check_segments(self.pool, owner="Arrangement", name="pool"))

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

    def needs_quality(self) -> bool:
        return any(c.needs().quality for c in self.contracts)


def as_arrangement(name: str, value) -> Arrangement:
    """A model given as an Arrangement, a single contract or a list of contracts."""
    if isinstance(value, Arrangement):
        return value
    try:
        return Arrangement(contracts=value)
    except TypeError as exc:
        raise TypeError(f"models[{name!r}]: {exc}") from None
