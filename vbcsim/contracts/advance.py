"""Advance payments recouped from later shared savings (MSSP Advance Investment Payments).

A payer advances money to a provider that is building the capacity to manage care, and takes it
back out of the shared savings the provider earns later.  The Medicare Shared Savings Program's
Advance Investment Payments (42 CFR 425.630, from 2024) pay a new, low-revenue ACO a one-time
$250,000 and quarterly per-beneficiary payments in the first two years of its agreement
period, and recoup them from the shared savings it earns; an ACO that earns none repays
nothing unless it leaves the program early.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from vbcsim._validation import check_nonnegative, check_nonnegative_int
from vbcsim.contracts.base import Contract, Settlement, SettlementContext, check_party

__all__ = [
    "AdvancePayment",
    "MSSP_AIP_ONE_TIME",
    "MSSP_AIP_QUARTERLY_PER_BENEFICIARY",
    "MSSP_AIP_BENEFICIARY_CAP",
    "MSSP_AIP_YEARS",
]

#: the one-time Advance Investment Payment (42 CFR 425.630; CMS, CY 2023 PFS final rule)
MSSP_AIP_ONE_TIME = 250_000.0
#: the largest quarterly payment per assigned beneficiary, for an ACO whose beneficiaries score
#: highest on the CMS risk factors (dual eligibility, Area Deprivation Index), capped at 10,000
#: beneficiaries: $250,000 + 10,000 × $45 × 8 quarters gives the $3.85 million an ACO can receive
#: at most (42 CFR 425.630; the total as reported by consultancies on the CY 2023 PFS final rule)
MSSP_AIP_QUARTERLY_PER_BENEFICIARY = 45.0
MSSP_AIP_BENEFICIARY_CAP = 10_000
#: the quarterly payments run for the first two performance years of the agreement period
MSSP_AIP_YEARS = 2


@dataclass(frozen=True)
class AdvancePayment(Contract):
    """Money advanced to the provider, recouped from the shared savings it earns later.

    Parameters
    ----------
    upfront : float
        a one-time payment at the start of year 1 (currency, ≥ 0).
    pmpm : float
        a payment per member per month (≥ 0) in each of the first ``years_paid`` years.
    years_paid : int
        the years the ``pmpm`` payments run (default 2, the MSSP's).
    recoup_from : str
        the name of the contract whose payments recoup the advance, settled before this
        one in the same arrangement (default ``"shared_savings"``).
    repay_at_end : bool
        whether what is still outstanding at the end of the run is repaid in its last
        year (an ACO that leaves the program repays; default False: MSSP ACOs that earn no
        savings repay nothing).
    source, target : str
        who advances and who is paid (default payer -> provider).

    Notes
    -----
    Per scenario, year by year: the advance paid ``a_t`` (``upfront`` in year 1, plus
    ``pmpm × 12 × members`` while ``t ≤ years_paid``) raises the outstanding balance; the
    shared savings paid that year (the ``recoup_from`` contract's positive amount,
    source -> target) recoup up to the balance, ``r_t = min(max(s_t, 0), balance)``; the
    contract moves ``a_t − r_t`` from ``source`` to ``target``.  Amounts are nominal
    (fixed currency, not indexed by the trend).  In a single-year run the year is year 1.

    Examples
    --------
    >>> aip = AdvancePayment.mssp(beneficiaries=8_000)
    >>> aip.upfront, aip.pmpm
    (250000.0, 15.0)
    """

    mlr_role = "care"  # an advance on incentive payments to providers (45 CFR 158.140); not a field

    upfront: float = 0.0
    pmpm: float = 0.0
    years_paid: int = MSSP_AIP_YEARS
    recoup_from: str = "shared_savings"
    repay_at_end: bool = False
    source: str = "payer"
    target: str = "provider"

    def __post_init__(self):
        owner = "AdvancePayment"
        for name in ("upfront", "pmpm"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise TypeError(f"{owner}: {name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, check_nonnegative(name, value, owner=owner))
        object.__setattr__(
            self, "years_paid", check_nonnegative_int("years_paid", self.years_paid, owner=owner)
        )
        if not isinstance(self.recoup_from, str) or not self.recoup_from:
            raise TypeError(f"{owner}: recoup_from must be a contract's name, got {self.recoup_from!r}")
        if not isinstance(self.repay_at_end, bool):
            raise TypeError(f"{owner}: repay_at_end must be True or False, got {self.repay_at_end!r}")
        check_party("source", self.source, owner=owner)
        check_party("target", self.target, owner=owner)
        if self.source == self.target:
            raise ValueError(f"{owner}: source and target must differ, got {self.source!r} for both")

    @classmethod
    def mssp(cls, beneficiaries: int, per_beneficiary_quarterly: float = MSSP_AIP_QUARTERLY_PER_BENEFICIARY,
             **terms) -> AdvancePayment:  # fmt: skip
        """The MSSP Advance Investment Payments of an ACO with ``beneficiaries`` assigned beneficiaries.

        $250,000 at once and ``per_beneficiary_quarterly`` (at most $45, by the ACO's risk
        factors) per beneficiary per quarter, for at most 10,000 beneficiaries, in the first
        two years (42 CFR 425.630); ``pmpm`` is the quarterly amount spread over the panel's
        members per month.
        """
        n = check_nonnegative_int("beneficiaries", beneficiaries, owner="AdvancePayment.mssp")
        rate = check_nonnegative(
            "per_beneficiary_quarterly", per_beneficiary_quarterly, owner="AdvancePayment.mssp"
        )
        if rate > MSSP_AIP_QUARTERLY_PER_BENEFICIARY:
            raise ValueError(
                f"AdvancePayment.mssp: per_beneficiary_quarterly must be at most ${MSSP_AIP_QUARTERLY_PER_BENEFICIARY:g} "
                f"(42 CFR 425.630), got {rate!r}"
            )
        paid = min(n, MSSP_AIP_BENEFICIARY_CAP)
        pmpm = 0.0 if n == 0 else rate * 4.0 * paid / (12.0 * n)
        return cls(upfront=MSSP_AIP_ONE_TIME, pmpm=pmpm, years_paid=MSSP_AIP_YEARS, **terms)

    def _savings(self, ctx: SettlementContext) -> np.ndarray:
        for name, _, st in ctx.settled:
            if name == self.recoup_from:
                return np.broadcast_to(np.asarray(st.amount, dtype=float), (ctx.n_scenarios,))
        raise ValueError(
            f"AdvancePayment: recoup_from={self.recoup_from!r} names no contract settled before it "
            f"(settled: {[n for n, _, _ in ctx.settled]}); place the advance after that contract"
        )

    def flows_by_year(self, ctx: SettlementContext) -> tuple[np.ndarray, np.ndarray]:
        """(advanced, recouped) per row, in the rows' currency (year-1 currency in a multi-year run)."""
        index = ctx.by_year(ctx.nominal())
        savings = np.maximum(ctx.by_year(self._savings(ctx)) * index, 0.0)  # nominal
        n_paths, years = savings.shape
        year = np.arange(1, years + 1) if ctx.year is not None else np.array([1])
        advance = np.where(year <= self.years_paid, self.pmpm * 12.0 * ctx.n_members(), 0.0)
        advance = advance + np.where(year == 1, self.upfront, 0.0)
        advanced = np.broadcast_to(advance, (n_paths, years)).copy()
        recouped = np.zeros((n_paths, years))
        balance = np.zeros(n_paths)
        for t in range(years):
            balance = balance + advanced[:, t]
            recouped[:, t] = np.minimum(savings[:, t], balance)
            balance = balance - recouped[:, t]
        if self.repay_at_end:
            recouped[:, -1] += balance
        return (advanced / index).reshape(-1), (recouped / index).reshape(-1)

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Source -> target: the advance paid less what the year's shared savings recoup."""
        advanced, recouped = self.flows_by_year(ctx)
        amount = advanced - recouped
        return Settlement(amount=amount, flows={self.source: -amount, self.target: amount})
