"""Reference-based pricing: the plan pays at most a multiple of a reference price.

A unit-price lever (docs/prices.md), apart from the utilisation effect of care
management (``Arrangement.efficiency``).  Under reference-based pricing the plan
pays a provider at most ``multiple`` × a reference price (typically Medicare's
rate for the same service); a provider whose price is higher may bill the member
for the rest (balance billing).  Providers' prices relative to the reference, the
markup M, vary from provider to provider: here M is lognormal, with the mean and
spread of commercial hospital prices as a multiple of Medicare that RAND's
employer-led hospital price transparency studies report.

With the book's medical cost C valued at providers' allowed prices (on average
E[M] × the reference), the share of allowed cost above the cap is

    r = E[(M − k)+] / E[M] = Φ(d₁) − (k / E[M]) Φ(d₂),

    d₁ = (ln(E[M] / k) + σ² / 2) / σ,  d₂ = d₁ − σ,

for ln M normal with standard deviation σ (the Black–Scholes form of a
lognormal's stop-loss transform; r = max(E[M] − k, 0) / E[M] when σ = 0).  The
party that pays the claims pays ``(1 − r) × C`` instead of C, and members pay
``r × C``: money that enters the parties from outside (the cube's
``balance_billing``).  Providers are still paid their full price, part of it by
members, so their results do not change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from vbcsim._validation import check_nonnegative, check_positive
from vbcsim.contracts.base import Contract, Settlement, SettlementContext, check_party
from vbcsim.contracts.capitation import _check_bounded, _check_segments

__all__ = [
    "ReferenceBasedPricing",
    "RAND_COMMERCIAL_TO_MEDICARE",
    "RAND_MARKUP_SIGMA",
    "lognormal_excess_share",
]

#: Commercial hospital prices as a multiple of Medicare's for the same services at the same
#: facilities, all inpatient and outpatient services (facility and related professional), 2022:
#: 254%.  RAND, "Prices Paid to Hospitals by Private Health Plans: Findings from Round 5.1 of an
#: Employer-Led Transparency Initiative" (Whaley et al., December 2024; summary at
#: employerptp.org/studies/pt5).  A spending-weighted average, i.e. E[M].
RAND_COMMERCIAL_TO_MEDICARE = 2.54

# RAND Round 5 (Whaley, Kerber, Wang, Kofner, Briscombe, RAND RR-A1144-2, May 2024), key findings:
# only Arkansas had an overall relative price below 170% of Medicare, and seven states (California,
# Florida, Georgia, New York, South Carolina, West Virginia, Wisconsin) were above 300%; 49 states
# and DC (Maryland excluded).
_RAND_LOW, _RAND_SHARE_BELOW_LOW = 1.70, 1 / 50
_RAND_HIGH, _RAND_SHARE_ABOVE_HIGH = 3.00, 7 / 50

#: The markup's log-standard deviation: the lognormal σ that puts 1.70 at the 2nd and 3.00 at the
#: 86th percentile (1 of 50 state prices below 1.70, 7 of 50 above 3.00, RAND Round 5), about 0.181.
#: A derivation from state averages, so a lower bound on the spread between hospitals, within
#: which state averages smooth the variation out; give a market's own figure where known.
RAND_MARKUP_SIGMA = math.log(_RAND_HIGH / _RAND_LOW) / (
    NormalDist().inv_cdf(1.0 - _RAND_SHARE_ABOVE_HIGH) - NormalDist().inv_cdf(_RAND_SHARE_BELOW_LOW)
)

#: The largest ``multiple`` and ``markup_mean`` accepted: 20 times the reference price.  A guard,
#: not a market figure: above it a value is far more likely a percentage (150 for 150%).
MAX_REFERENCE_MULTIPLE = 20.0

#: The largest ``markup_sigma`` accepted: at σ = 3 the markup's 99th percentile is already
#: about 1,000 times its median.
MAX_MARKUP_SIGMA = 3.0


def lognormal_excess_share(mean: float, sigma: float, cap: float) -> float:
    """E[(M − cap)+] / E[M] for a lognormal M of mean ``mean`` and log-standard deviation ``sigma``.

    Parameters
    ----------
    mean : float
        E[M], positive.
    sigma : float
        the standard deviation of ln M, ≥ 0 (0: M = ``mean``).
    cap : float
        the cap k, positive.

    Returns
    -------
    float
        the share, in [0, 1), of E[M] above the cap:
        ``Φ(d₁) − (k / E[M]) Φ(d₂)`` with ``d₁ = (ln(E[M] / k) + σ² / 2) / σ``
        and ``d₂ = d₁ − σ``.

    Examples
    --------
    >>> round(lognormal_excess_share(2.0, 0.0, 1.5), 12)
    0.25
    """
    if sigma == 0.0:
        return max(mean - cap, 0.0) / mean
    d1 = (math.log(mean / cap) + 0.5 * sigma * sigma) / sigma
    phi = NormalDist().cdf
    return max(phi(d1) - (cap / mean) * phi(d1 - sigma), 0.0)


@dataclass(frozen=True)
class ReferenceBasedPricing(Contract):
    """The plan pays at most ``multiple`` × a reference price; members are balance-billed the rest.

    Parameters
    ----------
    multiple : float
        the cap, as a multiple of the reference price (e.g. 1.5 for 150% of
        Medicare), in (0, :data:`MAX_REFERENCE_MULTIPLE`].  No default: a
        plan's cap is its own term.
    markup_mean : float
        E[M], the average of providers' prices as a multiple of the reference
        price (default :data:`RAND_COMMERCIAL_TO_MEDICARE`, 2.54: RAND Round
        5.1, commercial hospital prices in 2022 as a multiple of Medicare).
    markup_sigma : float
        the standard deviation of ln M, ≥ 0 and at most
        :data:`MAX_MARKUP_SIGMA` (default :data:`RAND_MARKUP_SIGMA`, about
        0.181, derived from RAND Round 5's spread of state prices; a lower
        bound on the spread between hospitals).
    segments : sequence of str, optional
        the segments whose care is priced by reference (the book of business
        by default).
    party : str, optional
        who pays the claims and so keeps the saving (default the
        arrangement's claims party: the payer, or the provider under global
        capitation).

    Notes
    -----
    Settlement, members -> ``party``, per scenario: ``amount = r × C``, with C
    the medical cost of the covered segments at providers' allowed prices
    (after the arrangement's efficiency and price index) and
    ``r = E[(M − k)+] / E[M]`` (:meth:`capped_share`, closed form in
    :func:`lognormal_excess_share`).  ``party`` gains ``r × C``; the same
    amount is the settlement's ``from_members`` (the cube's
    ``balance_billing``), so money is conserved: sum of flows = from_members.
    In the MLR the saving reduces the insurer's incurred claims (role "care").
    The markup is independent of the member's cost: each dollar of allowed
    cost has the same expected share above the cap.  Balance billing is the
    members' exposure; plans often negotiate part of it away after the fact,
    which this contract does not model.

    Examples
    --------
    >>> rbp = ReferenceBasedPricing(multiple=2.0)
    >>> rbp.name
    'reference_based_pricing'
    >>> 0.0 < rbp.capped_share() < 1.0
    True
    """

    multiple: float
    markup_mean: float = RAND_COMMERCIAL_TO_MEDICARE
    markup_sigma: float = RAND_MARKUP_SIGMA
    segments: tuple[str, ...] | None = None
    party: str | None = None

    #: the cube shows what this contract takes from members as ``balance_billing``
    bills_members = True
    #: the saving reduces the insurer's incurred claims (vbcsim.contracts.mlr.mlr_role)
    mlr_role = "care"

    def __post_init__(self):
        owner = "ReferenceBasedPricing"
        why = "a multiple of the reference price; above 20 it is likely a percentage"
        for name in ("multiple", "markup_mean"):
            value = _check_bounded(
                name, getattr(self, name), check_positive, MAX_REFERENCE_MULTIPLE, owner=owner, why=why
            )
            object.__setattr__(self, name, value)
        sigma = _check_bounded(
            "markup_sigma",
            self.markup_sigma,
            check_nonnegative,
            MAX_MARKUP_SIGMA,
            owner=owner,
            why="the standard deviation of the log markup",
        )
        object.__setattr__(self, "markup_sigma", sigma)
        object.__setattr__(self, "segments", _check_segments(self.segments, owner=owner))
        if self.party is not None:
            check_party("party", self.party, owner=owner)

    def capped_share(self) -> float:
        """r = E[(M − multiple)+] / E[M]: the expected share of allowed cost above the cap."""
        return lognormal_excess_share(self.markup_mean, self.markup_sigma, self.multiple)

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Members -> the claims party: the allowed cost above the cap, ``r × C``."""
        billed = self.capped_share() * np.array(ctx.cost(self.segments), dtype=float)
        party = self.party or ctx.claims_party
        return Settlement(amount=billed, flows={party: billed}, from_members=billed)
