"""Medical loss ratio (MLR) rebates on what the insurer incurs, following 45 CFR part 158.

Section 2718 of the Public Health Service Act (added by the Affordable Care
Act) and its regulation, 45 CFR part 158, require a health insurance issuer
whose MLR for a market in a State falls below the minimum to rebate the
difference to enrollees (45 CFR 158.210, 158.240):

- large group market: 85% (:data:`MLR_LARGE_GROUP`, 45 CFR 158.210(a)),
- small group and individual markets: 80% (:data:`MLR_SMALL_GROUP`,
  :data:`MLR_INDIVIDUAL`, 45 CFR 158.210(b), (c)); a State may set a higher
  standard (45 CFR 158.211).

The ratio (45 CFR 158.221; 158.101(b) calls it the share of *adjusted*
premium revenue spent on permitted costs) is

    MLR = (incurred claims + quality-improvement expenses) / (premium − taxes and fees)

- **incurred claims** (45 CFR 158.140, "reimbursement for clinical
  services"): what the insurer pays for its enrollees' care, including under
  capitation contracts, plus incentive and bonus payments to providers, net
  of what providers pay back.  vbcsim reads them from the settlements of the
  contracts settled before the MLR contract (``ctx.settled``):
  :func:`incurred_claims` documents the rule for each contract class;
- **quality-improvement expenses** (45 CFR 158.150, 158.151):
  ``quality_improvement_pmpm``;
- **taxes and fees**: Federal and State taxes and licensing and regulatory
  fees (45 CFR 158.161, 158.162), ``taxes_and_fees_ratio`` of premium.

**Credibility** (45 CFR 158.230-158.232).  The experience of fewer than
1,000 life-years is non-credible and the issuer is presumed to meet the
standard (158.230(c)(3), (d)): no rebate; from 1,000 to fewer than 75,000
life-years it is partially credible and the credibility adjustment, the base
credibility factor of Table 1 to 158.232 (linearly interpolated,
158.232(b)(2)) times the deductible factor (158.232(a), (c)), is added to the
MLR; 75,000 life-years or more are fully credible, with no adjustment
(158.230(c)(1), 158.232(b)(1)).  Life-years are months of coverage / 12
(158.230(b)): the book's members in a one-year run.

**Rebate** (45 CFR 158.240): ``max(minimum − (MLR + credibility adjustment),
0) × (premium − taxes and fees)``.  It is the only money, besides outside
care, that leaves the parties in vbcsim: it goes to members, so a
settlement's ``external`` is the rebate and its flows sum to −rebate.

Not modelled (documented simplifications):

- the three-year aggregation of 158.220(b) and the three years of life-years
  of 158.231(a): vbcsim settles one year at a time and has no multi-year
  results yet, so the MLR is the year's; once multi-year results exist the
  numerator, denominator and life-years should each be summed over the
  reporting year and the two before it;
- aggregation by State and market (158.220(a)): the MLR is that of the
  arrangement's book; when the book is part of a larger block of the
  issuer's business, give the block's size as ``life_years``;
- the deductible factor of Table 2 to 158.232, a function of the block's
  average per-person deductible (158.232(c)(1)): Table 2's values could not
  be retrieved from the sources at hand, so it is the parameter
  ``deductible_factor`` (default 1, no deductible effect); give Table 2's
  value for the block's average deductible;
- reinsurance: claims are reported as *direct* claims paid to or received
  by providers, including under capitation contracts (45 CFR 158.140(a), in
  the wording the CMS MLR Annual Reporting Form Filing Instructions repeat
  for the claims section, Part 2 section 2, 2015 MLR reporting year; the
  section's own text could not be retrieved here).  Those instructions bring
  reinsurance in only through 100% assumption reinsurance (with a novation)
  and 100% indemnity reinsurance agreements entered into and effective before
  March 23, 2010, which move a whole block to the assuming issuer; partial
  reinsurance such as stop-loss does not enter.  So by default
  (``reinsurance="direct"``) stop-loss premiums and recoveries do not enter
  the MLR.  ``reinsurance="net"`` puts the ratio on a net-of-reinsurance
  basis instead (recoveries the insurer receives reduce its claims, the
  stop-loss premium it pays reduces its premium), for comparison with a
  net-basis loss ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vbcsim._validation import check_nonnegative, check_positive, check_positive_int, check_probability
from vbcsim.contracts.base import Contract, Settlement, SettlementContext, check_party
from vbcsim.contracts.bundled import BundledPayment
from vbcsim.contracts.capitation import (
    MAX_RATIO,
    Capitation,
    _as_scenarios,
    _check_bounded,
    _pmpm_nonnegative,
)
from vbcsim.contracts.fee_for_service import FeeForService, _check_bool
from vbcsim.contracts.fees import ManagementFee
from vbcsim.contracts.pay_for_performance import PayForPerformance
from vbcsim.contracts.pooled import PooledSavings, SavingsPassThrough
from vbcsim.contracts.risk_corridor import RiskCorridor
from vbcsim.contracts.shared_savings import SharedSavings
from vbcsim.contracts.stop_loss import AggregateStopLoss, SpecificStopLoss
from vbcsim.contracts.user import UserContract

__all__ = [
    "MLRRebate",
    "MLR_LARGE_GROUP",
    "MLR_SMALL_GROUP",
    "MLR_INDIVIDUAL",
    "MLR_MINIMUMS",
    "PARTIALLY_CREDIBLE_LIFE_YEARS",
    "FULLY_CREDIBLE_LIFE_YEARS",
    "BASE_CREDIBILITY_FACTORS",
    "MLR_ROLES",
    "REINSURANCE_BASES",
    "credibility_class",
    "base_credibility_factor",
    "credibility_adjustment",
    "mlr_role",
    "incurred_claims",
]

MLR_LARGE_GROUP = 0.85  # 45 CFR 158.210(a)
#: the MLR of a reporting year aggregates it and the two years before (45 CFR 158.220(b))
MLR_AGGREGATION_YEARS = 3
MLR_SMALL_GROUP = 0.80  # 45 CFR 158.210(b)
MLR_INDIVIDUAL = 0.80  # 45 CFR 158.210(c)
MLR_MINIMUMS = {"large_group": MLR_LARGE_GROUP, "small_group": MLR_SMALL_GROUP, "individual": MLR_INDIVIDUAL}

#: Experience of at least 1,000 life-years is partially credible; below, non-credible
#: (45 CFR 158.230(c)(2), (3)), and the issuer is presumed to meet the standard (158.230(d)).
PARTIALLY_CREDIBLE_LIFE_YEARS = 1_000
#: Experience of 75,000 life-years or more is fully credible (45 CFR 158.230(c)(1)).
FULLY_CREDIBLE_LIFE_YEARS = 75_000

#: Base credibility factors by life-years, Table 1 to 45 CFR 158.232: 8.3% at 1,000, 5.2% at
#: 2,500, 3.7% at 5,000, 2.6% at 10,000, 1.6% at 25,000, 1.2% at 50,000 and 0.0% (full
#: credibility) at 75,000 or more; linearly interpolated between the points (158.232(b)(2)).
BASE_CREDIBILITY_FACTORS = (
    (1_000, 0.083),
    (2_500, 0.052),
    (5_000, 0.037),
    (10_000, 0.026),
    (25_000, 0.016),
    (50_000, 0.012),
    (75_000, 0.0),
)
_TABLE_LIFE_YEARS = np.array([p[0] for p in BASE_CREDIBILITY_FACTORS], dtype=float)
_TABLE_FACTORS = np.array([p[1] for p in BASE_CREDIBILITY_FACTORS], dtype=float)

#: How a contract's settlement enters the insurer's MLR (see :func:`mlr_role`).
MLR_ROLES = ("base", "care", "reinsurance", "other")
#: The bases on which reinsurance enters the MLR (see the module docstring).
REINSURANCE_BASES = ("direct", "net")


# -- credibility (45 CFR 158.230-158.232) ------------------------------------------------------


def _check_life_years(life_years, *, owner: str) -> float:
    return check_nonnegative("life_years", life_years, owner=owner)


def credibility_class(life_years) -> str:
    """ "non-credible", "partially credible" or "fully credible" experience (45 CFR 158.230(c)).

    >>> credibility_class(999), credibility_class(1_000), credibility_class(75_000)
    ('non-credible', 'partially credible', 'fully credible')
    """
    n = _check_life_years(life_years, owner="credibility_class")
    if n < PARTIALLY_CREDIBLE_LIFE_YEARS:
        return "non-credible"
    if n < FULLY_CREDIBLE_LIFE_YEARS:
        return "partially credible"
    return "fully credible"


def base_credibility_factor(life_years) -> float:
    """The base credibility factor of 45 CFR 158.232(b) for ``life_years``.

    Zero for non-credible (fewer than 1,000 life-years) and fully credible
    (75,000 or more) experience (158.232(b)(1)); in between, Table 1 to
    158.232 (:data:`BASE_CREDIBILITY_FACTORS`) linearly interpolated
    (158.232(b)(2)).

    >>> base_credibility_factor(2_500)
    0.052
    >>> round(base_credibility_factor(1_750), 6)
    0.0675
    """
    n = _check_life_years(life_years, owner="base_credibility_factor")
    if n < PARTIALLY_CREDIBLE_LIFE_YEARS or n >= FULLY_CREDIBLE_LIFE_YEARS:
        return 0.0
    return float(np.interp(n, _TABLE_LIFE_YEARS, _TABLE_FACTORS))


def credibility_adjustment(life_years, deductible_factor: float = 1.0) -> float:
    """The credibility adjustment added to the MLR: base factor × deductible factor (45 CFR 158.232(a)).

    ``deductible_factor`` is Table 2 to 158.232's factor for the block's average
    per-person deductible (158.232(c)); its values are not built in (see the
    module docstring), so the default 1 applies no deductible effect.
    """
    d = _check_bounded(
        "deductible_factor", deductible_factor, check_positive, MAX_RATIO, owner="credibility_adjustment"
    )
    return base_credibility_factor(life_years) * d


# -- incurred claims (45 CFR 158.140) ------------------------------------------------------------

_BASE = (FeeForService, Capitation)
_CARE = (BundledPayment, PayForPerformance, SharedSavings, PooledSavings, SavingsPassThrough, RiskCorridor)
_REINSURANCE = (SpecificStopLoss, AggregateStopLoss)
_OTHER = (ManagementFee,)


def mlr_role(contract) -> str:
    """How ``contract``'s settlement enters an insurer's MLR: "base", "care", "reinsurance" or "other".

    - "base": a base payment for care — :class:`FeeForService`,
      :class:`Capitation`, a :class:`UserContract` between two parties neither
      of which is the reinsurer (a kernel may be the base payment), and any
      other contract class that does not say otherwise;
    - "care": an overlay that pays for care or rewards it — bundled-payment
      reconciliation, pay for performance, shared savings and losses, pooled
      savings and their pass-through, risk corridors (incentive and bonus
      payments to providers, and what providers pay back, 45 CFR 158.140);
    - "reinsurance": :class:`SpecificStopLoss`, :class:`AggregateStopLoss`, a
      :class:`UserContract` with the reinsurer;
    - "other": not claims — :class:`ManagementFee` (an administrative or
      platform fee: a non-claims cost, 45 CFR 158.160), MLR rebates and the
      joint venture's equity transfer.

    A contract class may declare its own role with a class attribute
    ``mlr_role`` (one of :data:`MLR_ROLES`).
    """
    declared = getattr(contract, "mlr_role", None)
    if declared is not None:
        if declared not in MLR_ROLES:
            raise ValueError(
                f"{type(contract).__name__}: mlr_role must be one of {', '.join(MLR_ROLES)}, got {declared!r}"
            )
        return declared
    if isinstance(contract, _BASE):
        return "base"
    if isinstance(contract, _CARE):
        return "care"
    if isinstance(contract, _REINSURANCE):
        return "reinsurance"
    if isinstance(contract, _OTHER):
        return "other"
    if isinstance(contract, UserContract) and "reinsurer" in (contract.source, contract.target):
        return "reinsurance"
    return "base"


def _flow(st: Settlement, party: str, n: int) -> np.ndarray | None:
    flow = st.flows.get(party)
    if flow is None:
        return None
    return np.broadcast_to(np.asarray(flow, dtype=float), (n,))


def _care_payments(ctx: SettlementContext, insurer: str) -> np.ndarray:
    """The insurer's net payments for care (outside care included), with the fallback to C."""
    n = ctx.n_scenarios
    paid = np.zeros(n)
    has_base = False
    for _name, contract, st in ctx.settled:
        role = mlr_role(contract)
        if role not in ("base", "care"):
            continue
        flow = _flow(st, insurer, n)
        if flow is None:
            continue
        paid = paid - flow
        has_base = has_base or role == "base"
    if not has_base:
        paid = paid + np.asarray(ctx.medical_cost, dtype=float)
    return paid


def _reinsurance(ctx: SettlementContext, insurer: str) -> tuple[np.ndarray, np.ndarray]:
    """(recoveries net of what cannot be split, premiums ceded) of the insurer's reinsurance, per scenario."""
    n = ctx.n_scenarios
    recovered = np.zeros(n)
    ceded = np.zeros(n)
    for _name, contract, st in ctx.settled:
        if mlr_role(contract) != "reinsurance":
            continue
        flow = _flow(st, insurer, n)
        if flow is None:
            continue
        if isinstance(contract, _REINSURANCE):
            # the settlement moved recovery − premium to the insured: split it by the premium
            premium = float(contract.premium(ctx))
            recovered = recovered + flow + premium
            ceded = ceded + premium
        else:  # premium and recovery cannot be told apart: the net receipt counts as a recovery
            recovered = recovered + flow
    return recovered, ceded


def incurred_claims(
    ctx: SettlementContext, insurer: str = "payer", *, reinsurance: str = "direct"
) -> np.ndarray:
    """The insurer's incurred claims per scenario (45 CFR 158.140), from the contracts settled before.

    Rule: the insurer's net outflow under every contract of role "base" or
    "care" (:func:`mlr_role`) in ``ctx.settled``, i.e. what it pays providers
    and the enabler for care and as incentives, plus the outside care it buys
    at allowed rates, less what they pay it back.  Per contract class, with
    the insurer the payer:

    - :class:`FeeForService` (insurer the source): the allowed cost of the
      covered segments, ``C`` — ``s × C`` to the provider and ``(1 − s) × C``
      of outside care;
    - :class:`Capitation`: the capitation plus fee for service for the cost
      out of scope, ``cap + (1 − share) × C`` (the in-scope outside care is the
      provider's, paid from the capitation, so an insurer that pays 86% of
      premium as global capitation has an MLR of 86% whatever the cost);
    - :class:`BundledPayment`: the reconciliation amount (a repayment counts
      negative);
    - :class:`PayForPerformance`: the bonus paid;
    - :class:`SharedSavings`, :class:`RiskCorridor`: shared savings paid less
      shared losses repaid;
    - :class:`PooledSavings`: the book's part of the pool's settlement with the
      enabler; :class:`SavingsPassThrough` moves money between enabler and
      provider only, so it is not the payer's;
    - :class:`UserContract`: the amount moved, as a base payment (or, with the
      reinsurer, as reinsurance);
    - :class:`SpecificStopLoss`, :class:`AggregateStopLoss`: not claims on the
      regulation's direct basis (``reinsurance="direct"``, the default); with
      ``reinsurance="net"`` the recoveries the insurer receives reduce its
      claims (its stop-loss premium then reduces premium, see
      :class:`MLRRebate`);
    - :class:`ManagementFee`: an administrative cost, not claims;
    - earlier MLR rebates and joint-venture transfers: not claims.

    When no earlier contract of role "base" involves the insurer (an MLR
    contract alone, or overlays without a base payment), the insurer is taken
    to pay every claim at allowed rates: the book's medical cost ``C`` is
    added (the rule vbcsim used before, so existing uses keep working).

    Parameters
    ----------
    ctx : SettlementContext
        the model's context; ``ctx.settled`` holds the contracts settled
        before (``settle_models`` appends each).
    insurer : str
        the party whose MLR it is (default the payer).
    reinsurance : {"direct", "net"}
        the basis for reinsurance (default the regulation's direct basis).
    """
    check_party("insurer", insurer, owner="incurred_claims")
    if reinsurance not in REINSURANCE_BASES:
        raise ValueError(
            f"incurred_claims: reinsurance must be one of {', '.join(map(repr, REINSURANCE_BASES))}, "
            f"got {reinsurance!r}"
        )
    claims = _care_payments(ctx, insurer)
    if reinsurance == "net":
        claims = claims - _reinsurance(ctx, insurer)[0]
    return claims


# -- the contract --------------------------------------------------------------------------------


def _check_mlr_terms(obj, owner: str) -> None:
    """Validate (and normalise in place) the MLR terms MLRRebate and JointVenture share."""
    set_ = object.__setattr__
    set_(
        obj,
        "taxes_and_fees_ratio",
        check_probability("taxes_and_fees_ratio", obj.taxes_and_fees_ratio, owner=owner, open_high=True),
    )
    set_(
        obj,
        "quality_improvement_pmpm",
        _pmpm_nonnegative("quality_improvement_pmpm", obj.quality_improvement_pmpm, owner=owner),
    )
    set_(obj, "credibility", _check_bool("credibility", obj.credibility, owner=owner))
    if obj.life_years is not None:
        set_(obj, "life_years", _check_life_years(obj.life_years, owner=owner))
    set_(
        obj,
        "deductible_factor",
        _check_bounded("deductible_factor", obj.deductible_factor, check_positive, MAX_RATIO, owner=owner),
    )
    if not isinstance(obj.reinsurance, str) or obj.reinsurance not in REINSURANCE_BASES:
        raise ValueError(
            f"{owner}: reinsurance must be one of {', '.join(map(repr, REINSURANCE_BASES))}, "
            f"got {obj.reinsurance!r}"
        )


@dataclass(frozen=True)
class MLRRebate(Contract):
    """The insurer's MLR rebate to members when its MLR (45 CFR part 158) is below the minimum.

    Parameters
    ----------
    minimum_ratio : float
        the minimum medical loss ratio, in (0, 1]: 0.85 for the large group
        market (default), 0.80 for the small group and individual markets
        (see :meth:`for_market`).
    insurer : str
        the party that collects the premium, pays the claims and pays the
        rebate (default the payer).
    taxes_and_fees_ratio : float
        Federal and State taxes and licensing and regulatory fees as a share
        of premium, in [0, 1), deducted from premium in the denominator (45 CFR
        158.161, 158.162).  Default 0, the ratio on premium alone, as before.
    quality_improvement_pmpm : float
        expenses for activities that improve health care quality (45 CFR
        158.150, 158.151), per member per month, added to the numerator.  They
        are not a new cash flow: they are the part of the insurer's
        administrative or care-management costs (already charged by the
        arrangement) that qualifies.  Default 0.
    credibility : bool
        apply the credibility rules of 45 CFR 158.230-158.232 (default True):
        no rebate for non-credible experience, the credibility adjustment for
        partially credible experience.
    life_years : float, optional
        the life-years that set the credibility (45 CFR 158.230(b)); by
        default the book's members (``ctx.n_members()``), the life-years of a
        one-year run.  Give the block's size when the book is part of a larger
        block of the issuer's business in the State and market.
    deductible_factor : float
        the deductible factor of 45 CFR 158.232(c), > 0 (default 1; see the
        module docstring).
    reinsurance : {"direct", "net"}
        the basis on which the insurer's stop-loss enters (default "direct",
        the regulation's: not at all; see the module docstring).
    aggregation_years : int
        in runs over several years, the MLR of a year aggregates the
        numerator, the adjusted premium and the life-years of this many years
        ending with it (default 3, 45 CFR 158.220(b): the reporting year and
        the two before); the rebate is the shortfall times the year's own
        adjusted premium (158.240).  The first years of a run aggregate the
        years the run has.  A single-year run has one year to aggregate.

    Notes
    -----
    Per scenario, with P the premium (``ctx.premium``), T the taxes and fees
    ``taxes_and_fees_ratio × P``, R the stop-loss premium the insurer pays
    (``reinsurance="net"`` only, else 0), I the incurred claims
    (:func:`incurred_claims`), Q the quality-improvement expenses
    ``quality_improvement_pmpm × 12 × members`` and c the credibility
    adjustment (:func:`credibility_adjustment` of the life-years):

    - adjusted premium ``P' = P − T − R``;
    - ``MLR = (I + Q) / P'`` (45 CFR 158.221);
    - ``rebate = max(minimum_ratio − (MLR + c), 0) × P'
      = max((minimum_ratio − c) × P' − I − Q, 0)`` (45 CFR 158.240), and 0 when
      ``credibility`` is on and the experience is non-credible (45 CFR
      158.230(d)).

    Settlement: ``amount = rebate``, flows ``{insurer: −rebate}``,
    ``external = rebate``.  The contract reads the settlements of the
    contracts before it: place it last in the arrangement.  Over several years
    the three-year aggregation of 45 CFR 158.220(b) applies (``aggregation_years``);
    see the module docstring for the other simplifications.

    Examples
    --------
    >>> large = MLRRebate()
    >>> small = MLRRebate.for_market("small_group")
    >>> small.minimum_ratio
    0.8
    >>> MLRRebate(taxes_and_fees_ratio=0.03, quality_improvement_pmpm=1.5).credibility
    True
    """

    mlr_role = "other"  # the rebate is not claims (class attribute, not a field)

    minimum_ratio: float = MLR_LARGE_GROUP
    insurer: str = "payer"
    taxes_and_fees_ratio: float = 0.0
    quality_improvement_pmpm: float = 0.0
    credibility: bool = True
    life_years: float | None = None
    deductible_factor: float = 1.0
    reinsurance: str = "direct"
    aggregation_years: int = field(default=MLR_AGGREGATION_YEARS, metadata={"omit_default": True})

    def __post_init__(self):
        owner = "MLRRebate"
        object.__setattr__(
            self,
            "aggregation_years",
            check_positive_int("aggregation_years", self.aggregation_years, owner=owner, strict=True),
        )
        object.__setattr__(
            self,
            "minimum_ratio",
            check_probability("minimum_ratio", self.minimum_ratio, owner=owner, open_low=True),
        )
        check_party("insurer", self.insurer, owner=owner)
        _check_mlr_terms(self, owner)

    @classmethod
    def for_market(cls, market: str, insurer: str = "payer", **terms) -> MLRRebate:
        """The federal minimum for ``market``: "large_group" (85%), "small_group" or "individual" (80%).

        ``terms`` are the other parameters of :class:`MLRRebate`.
        """
        if market not in MLR_MINIMUMS:
            raise ValueError(
                f"MLRRebate.for_market: market must be one of {', '.join(map(repr, MLR_MINIMUMS))}, got {market!r}"
            )
        return cls(MLR_MINIMUMS[market], insurer, **terms)

    @property
    def name(self) -> str:
        return "mlr_rebate"

    # -- the parts of the ratio ------------------------------------------------------------------

    def experience_life_years(self, ctx: SettlementContext) -> float:
        """The life-years that set the credibility: ``life_years``, else the book's members."""
        return float(self.life_years) if self.life_years is not None else float(ctx.n_members())

    def incurred_claims(self, ctx: SettlementContext) -> np.ndarray:
        """The insurer's incurred claims per scenario (:func:`incurred_claims`)."""
        return incurred_claims(ctx, self.insurer, reinsurance=self.reinsurance)

    def quality_improvement(self, ctx: SettlementContext) -> float:
        """Quality-improvement expenses: ``quality_improvement_pmpm × 12 × members``."""
        return self.quality_improvement_pmpm * 12.0 * ctx.n_members()

    def adjusted_premium(self, ctx: SettlementContext) -> np.ndarray:
        """The denominator per scenario: premium less taxes and fees (less stop-loss premium on a net basis)."""
        premium = _as_scenarios("ctx.premium", ctx.premium, ctx.n_scenarios, owner=type(self).__name__)
        adjusted = premium * (1.0 - self.taxes_and_fees_ratio)
        if self.reinsurance == "net":
            adjusted = adjusted - _reinsurance(ctx, self.insurer)[1]
        return adjusted

    def credibility_adjustment(self, ctx: SettlementContext) -> float:
        """The credibility adjustment added to the MLR (0 when ``credibility`` is off)."""
        if not self.credibility:
            return 0.0
        return credibility_adjustment(self.experience_life_years(ctx), self.deductible_factor)

    def credible(self, ctx: SettlementContext) -> bool:
        """False when ``credibility`` is on and the experience is non-credible (no rebate owed)."""
        return not self.credibility or self.experience_life_years(ctx) >= PARTIALLY_CREDIBLE_LIFE_YEARS

    def ratio(self, ctx: SettlementContext) -> np.ndarray:
        """The MLR per scenario before the credibility adjustment: (I + Q) / P' (45 CFR 158.221)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.incurred_claims(ctx) + self.quality_improvement(ctx)) / self.adjusted_premium(ctx)

    def rebate(self, ctx: SettlementContext) -> np.ndarray:
        """The rebate per scenario: ``max((minimum_ratio − c) × P' − I − Q, 0)`` (0 if non-credible).

        Over several years, the MLR aggregates ``aggregation_years`` years (:meth:`aggregated_rebate`).
        """
        adjusted = self.adjusted_premium(ctx)
        numerator = self.incurred_claims(ctx) + self.quality_improvement(ctx)
        if ctx.year is not None and self.aggregation_years > 1:
            return self.aggregated_rebate(ctx, numerator, adjusted)
        if not self.credible(ctx):
            return np.zeros(ctx.n_scenarios)
        standard = self.minimum_ratio - self.credibility_adjustment(ctx)
        return np.maximum(standard * adjusted - numerator, 0.0)

    def aggregated_rebate(self, ctx: SettlementContext, numerator, adjusted) -> np.ndarray:
        """45 CFR 158.220(b): each year's MLR over the years ending with it, the rebate on its own premium.

        With k the years aggregated (``aggregation_years``, fewer in the run's first years),
        ``MLR_t = Σ (I + Q) / Σ P'`` over years t − k + 1..t, the credibility of the k years'
        life-years, and ``rebate_t = max(minimum_ratio − c − MLR_t, 0) × P'_t`` (158.240).
        """
        # each year's amounts at its own level (the run settles in year-1 currency)
        index = ctx.by_year(ctx.nominal())
        num = ctx.by_year(numerator) * index
        den = ctx.by_year(adjusted) * index
        k = self.aggregation_years
        csum_n = np.cumsum(num, axis=1)
        csum_d = np.cumsum(den, axis=1)
        years = num.shape[1]
        out = np.zeros_like(num)
        per_year = self.experience_life_years(ctx)
        for t in range(years):
            lo = t - k
            agg_n = csum_n[:, t] - (csum_n[:, lo] if lo >= 0 else 0.0)
            agg_d = csum_d[:, t] - (csum_d[:, lo] if lo >= 0 else 0.0)
            life_years = per_year * min(k, t + 1)
            if self.credibility and life_years < PARTIALLY_CREDIBLE_LIFE_YEARS:
                continue
            c = credibility_adjustment(life_years, self.deductible_factor) if self.credibility else 0.0
            with np.errstate(divide="ignore", invalid="ignore"):
                shortfall = self.minimum_ratio - c - agg_n / agg_d
            out[:, t] = np.maximum(shortfall, 0.0) * den[:, t]
        return (out / index).reshape(-1)

    def settle(self, ctx: SettlementContext) -> Settlement:
        """The insurer pays the rebate to members (outside the parties)."""
        rebate = self.rebate(ctx)
        return Settlement(amount=rebate, flows={self.insurer: -rebate}, external=rebate.copy())
