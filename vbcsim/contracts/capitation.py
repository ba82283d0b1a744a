"""Capitation: a fixed payment per member that replaces fee-for-service for the costs in scope.

Under capitation the payer pays the provider a fixed amount — per member per
month, or a percentage of premium — and the provider bears the medical cost of
the services in scope.  Services outside the scope are still paid fee for
service.  With every contract valuing medical cost C at allowed rates, the
payer's payment to the provider is

    cap + (1 − share) × C,

where ``share`` is the fraction of allowed cost in scope: 1.0 for global
(full-risk) capitation, :data:`PROFESSIONAL_SHARE` for professional-services
capitation, or any fraction in (0, 1].

Capitation is a *base payment*: an arrangement uses either a fee-for-service
contract or :class:`Capitation` to pay for care, never both for the same
members, or the out-of-scope cost would be paid twice.  (A capitation limited
to some ``segments`` replaces fee for service for those segments only; pair it
with a fee-for-service contract restricted to the other segments.)
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from vbcsim._validation import check_nonnegative, check_positive, check_probability, check_real
from vbcsim.contracts.base import Contract, Settlement, SettlementContext

__all__ = ["Capitation", "PROFESSIONAL_SHARE", "SCOPES"]

#: Share of total allowed cost that is professional services (physician and other
#: clinician services billed on professional claims) in commercial (employer-
#: sponsored) insurance: 33.7% — $1,985 of $5,892 per person in 2018 (Health Care
#: Cost Institute, *2018 Health Care Cost and Utilization Report*, February 2020;
#: 33.6% in the 2017 report).  The CMS National Health Expenditure Accounts put
#: physician and clinical services at about 20% of *national* health spending
#: (2017: 15.6% physician + 4.3% clinical), a broader base that includes
#: long-term care, public health and administration, so the HCCI figure is the
#: relevant one for a commercial population's allowed cost.
PROFESSIONAL_SHARE = 0.337

#: Named capitation scopes and the share of allowed cost each puts at risk.
SCOPES = {"global": 1.0, "professional": PROFESSIONAL_SHARE}


# -- small argument helpers shared by the contracts of this package -------------------------


def _check_segments(value, *, owner: str):
    """``None`` or a non-empty tuple of segment names (a single name is accepted)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    try:
        value = tuple(value)
    except TypeError:
        raise TypeError(
            f"{owner}: segments must be None or a sequence of segment names, got {type(value).__name__}"
        ) from None
    if not value:
        raise ValueError(f"{owner}: segments must not be empty (use None for all segments)")
    for s in value:
        if not isinstance(s, str) or not s.strip():
            raise TypeError(f"{owner}: segments must be non-empty strings, got {s!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{owner}: segments must not repeat, got {list(value)}")
    return value


def _check_optional_real(name: str, value, check, *, owner: str):
    return None if value is None else check(name, value, owner=owner)


#: Upper bounds on contract terms, far above any real contract, so that no amount a
#: contract computes from them overflows to inf (and then NaN) at settlement: a PMPM
#: amount (premium, capitation, fee, bonus, benchmark) is at most 10 million per member
#: per month, a loading 100 (10,000%), a ratio to expected cost 1,000, a price per
#: episode 1 billion.
MAX_PMPM = 1e7
MAX_LOADING = 100.0
MAX_RATIO = 1e3
MAX_EPISODE_PRICE = 1e9


def _check_bounded(
    name: str, value, check, bound: float, *, owner: str, why: str = "a larger term overflows the settlement"
):
    """``check(name, value)``, then at most ``bound``: a ValueError naming ``name`` (and ``why``) above it."""
    value = check(name, value, owner=owner)
    if value > bound:
        raise ValueError(f"{owner}: {name} must be at most {bound:g} ({why}), got {value!r}")
    return value


def _check_pmpm(name: str, value, check, *, owner: str):
    """An amount per member per month: ``check`` and at most :data:`MAX_PMPM`."""
    return _check_bounded(name, value, check, MAX_PMPM, owner=owner)


def _as_scenarios(name: str, value, n: int, *, owner: str) -> np.ndarray:
    """A per-scenario float array of shape (n,) (a scalar is broadcast)."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{owner}: {name} must have shape ({n},), got {arr.shape}")
    return arr


def _pmpm_positive(name: str, value, *, owner: str) -> float:
    return _check_pmpm(name, value, check_positive, owner=owner)


def _pmpm_nonnegative(name: str, value, *, owner: str) -> float:
    return _check_pmpm(name, value, check_nonnegative, owner=owner)


# -- the contract ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capitation(Contract):
    """A fixed payment to the provider, who bears the cost of the services in scope.

    Parameters
    ----------
    pmpm : float, optional
        capitation per member per month (× 12 × members covered), in
        (0, :data:`MAX_PMPM`].  Give
        exactly one of ``pmpm`` and ``percent_of_premium``.
    percent_of_premium : float, optional
        capitation as a fraction in (0, 1] of the arrangement's premium
        (``ctx.premium``); with ``segments``, of the covered members' pro-rata
        share of the premium (premium × covered members / all members).
    scope : {"global", "professional"} or float
        the share of allowed cost the provider takes on: ``"global"`` (1.0,
        full risk), ``"professional"`` (:data:`PROFESSIONAL_SHARE`, 33.7% of
        commercial allowed cost) or a fraction in (0, 1].
    segments : sequence of str, optional
        the segments capitated (all by default).

    Notes
    -----
    Settlement, payer -> provider, per scenario:
    ``cap + s × (1 − share) × C`` where C is the covered segments' medical
    cost at allowed rates and s the arrangement's ``delivered_share``.  Care
    delivered outside the organisation, ``(1 − s) × C``, is paid at allowed
    rates by whoever bears it: the provider for the in-scope part
    ``(1 − s) × share × C`` (a capitated network pays the hospitals and
    specialists it refers to), the payer for the rest (fee for service outside
    the scope); it leaves the parties as the settlement's ``outside_care``.  The capitation replaces fee-for-service payment for the
    in-scope cost, so an arrangement uses either a fee-for-service contract
    or ``Capitation`` as its base payment for a member, not both.

    The provider's own cost of care (``delivery_ratio × s × C``) is charged by
    the arrangement, so with s = 1 the provider's result from care and this
    contract is ``cap − (share + delivery_ratio − 1) × C``: its risk share,
    −Cov(result, C) / Var(C), is ``share + delivery_ratio − 1`` and rises one
    for one with the scope; in general it is
    ``share + s × (delivery_ratio − 1)``: under global capitation a provider
    that delivers little of the care bears almost all of its cost.

    Global capitation of the whole population makes the provider the party
    that bears claims cost (:attr:`claims_party`), so a
    :class:`~vbcsim.contracts.stop_loss.SpecificStopLoss` without an explicit
    ``insured`` protects the provider.

    Examples
    --------
    >>> full_risk = Capitation(pmpm=450.0)
    >>> full_risk.claims_party
    'provider'
    >>> professional = Capitation(percent_of_premium=0.30, scope="professional")
    >>> professional.share
    0.337
    >>> partial = Capitation(pmpm=60.0, scope=0.25, segments=["chronic"])

    ``risk_adjusted=True`` multiplies the payment by the covered members' mean risk score
    (a run with ``risk_score=``, :class:`vbcsim.RiskScore`): a rate for a member of average
    risk paid for the panel's risk (docs/risk_adjustment.md).
    """

    pmpm: float | None = None
    percent_of_premium: float | None = None
    scope: str | float = "global"
    segments: tuple[str, ...] | None = None
    risk_adjusted: bool = field(default=False, metadata={"omit_default": True})

    def __post_init__(self):
        owner = "Capitation"
        if not isinstance(self.risk_adjusted, bool):
            raise TypeError(f"{owner}: risk_adjusted must be True or False, got {self.risk_adjusted!r}")
        if (self.pmpm is None) == (self.percent_of_premium is None):
            raise ValueError(
                f"{owner}: give exactly one of pmpm and percent_of_premium, got "
                f"pmpm={self.pmpm!r}, percent_of_premium={self.percent_of_premium!r}"
            )
        object.__setattr__(self, "pmpm", _check_optional_real("pmpm", self.pmpm, _pmpm_positive, owner=owner))
        if self.percent_of_premium is not None:
            object.__setattr__(
                self,
                "percent_of_premium",
                check_probability("percent_of_premium", self.percent_of_premium, owner=owner, open_low=True),
            )
        scope = self.scope
        if isinstance(scope, str):
            if scope not in SCOPES:
                raise ValueError(
                    f"{owner}: scope must be one of {', '.join(map(repr, SCOPES))} or a share in (0, 1], got {scope!r}"
                )
        elif isinstance(scope, numbers.Real) and not isinstance(scope, bool):
            scope = check_probability("scope", scope, owner=owner, open_low=True)
        else:
            check_real("scope", scope, owner=owner)  # raises TypeError naming scope
        object.__setattr__(self, "scope", scope)
        object.__setattr__(self, "segments", _check_segments(self.segments, owner=owner))

    @property
    def share(self) -> float:
        """Fraction of the covered members' allowed cost the provider bears."""
        return SCOPES[self.scope] if isinstance(self.scope, str) else float(self.scope)

    @property
    def claims_party(self) -> str:
        """Who bears the claims cost under this contract: the provider under global capitation
        of the whole population, else the payer (the engine reads this attribute)."""
        return "provider" if self.share == 1.0 and self.segments is None else "payer"

    def capitation(self, ctx: SettlementContext) -> np.ndarray:
        """The fixed payment per scenario, (S,); × the covered members' mean risk score when ``risk_adjusted``."""
        n = ctx.n_scenarios
        if self.pmpm is not None:
            cap = np.full(n, self.pmpm * 12.0 * ctx.n_members(self.segments))
        else:
            premium = _as_scenarios("ctx.premium", ctx.premium, n, owner="Capitation")
            covered = ctx.n_members(self.segments) / ctx.n_members() if self.segments is not None else 1.0
            cap = self.percent_of_premium * premium * covered
        return cap * ctx.risk_score(self.segments) if self.risk_adjusted else cap

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Payer -> provider: capitation plus fee-for-service payment for the cost out of scope.

        Outside care: the provider pays the in-scope part, the payer the rest (see the class notes).
        """
        cap = self.capitation(ctx)
        cost = ctx.cost(self.segments)
        s = ctx.delivered_share
        out_of_scope = (1.0 - self.share) * cost
        amount = cap + s * out_of_scope  # payer -> provider
        provider_outside = (1.0 - s) * self.share * cost
        return Settlement(
            amount=amount,
            flows={"payer": -(cap + out_of_scope), "provider": amount - provider_outside},
            outside_care=(1.0 - s) * cost,
        )
