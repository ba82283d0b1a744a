"""The Medicare Shared Savings Program's parameters: minimum savings rates, track levels, quality.

Each figure cites its regulation; :class:`vbcsim.contracts.SharedSavings` and its
MSSP presets read them from here.
"""

from __future__ import annotations

import numpy as np

from vbcsim._validation import check_positive_int, check_probability

__all__ = [
    "MSSP_RISK_SCORE_CAP",
    "mssp_minimum_savings_rate",
    "MSSP_MINIMUM_BENEFICIARIES",
    "MSSP_MSR_TABLE",
    "MSSP_SYMMETRIC_MSR_ELECTIONS",
    "MSSP_BASIC_LEVELS",
    "MSSP_ENHANCED",
    "MSSP_QUALITY_STANDARD",
    "MSSP_ALTERNATIVE_QUALITY_STANDARD",
    "MSSP_SEQUESTRATION",
    "QUALITY_RULES",
    "BENCHMARK_UPDATES",
]

# -- MSSP parameters ---------------------------------------------------------------------------

#: An MSSP ACO must have at least 5,000 assigned beneficiaries (42 CFR 425.110(a)(1)).
MSSP_MINIMUM_BENEFICIARIES = 5_000

#: The one-sided model's minimum savings rate by number of assigned beneficiaries,
#: 42 CFR 425.604(b): rows (low end, high end, MSR at the low end, MSR at the high end);
#: 60,000 or more: 2.0%; linear interpolation within a range (CMS-1345-P, 76 FR 19528,
#: before its Table 6: 7,500 beneficiaries get 3.3%, midway between 3.4% and 3.2%).  The
#: rates are confidence bounds (90% at 5,000) that an ACO of average per-capita expenditure
#: would not beat the MSR by chance alone, so they fall with size.
MSSP_MSR_TABLE = (
    (5_000, 5_999, 0.039, 0.036),
    (6_000, 6_999, 0.036, 0.034),
    (7_000, 7_999, 0.034, 0.032),
    (8_000, 8_999, 0.032, 0.031),
    (9_000, 9_999, 0.031, 0.030),
    (10_000, 14_999, 0.030, 0.027),
    (15_000, 19_999, 0.027, 0.025),
    (20_000, 49_999, 0.025, 0.022),
    (50_000, 59_999, 0.022, 0.020),
)
_MSR_FLOOR = 0.020  # 60,000 or more assigned beneficiaries (42 CFR 425.604(b))

#: Symmetric MSR/MLR an ACO in a two-sided model (BASIC levels C-E, ENHANCED) may
#: elect instead of the variable, size-based MSR/MLR: 0%, or 0.5% to 2.0% in 0.5%
#: steps (42 CFR 425.605(b), 425.610(b)).
MSSP_SYMMETRIC_MSR_ELECTIONS = (0.0, 0.005, 0.010, 0.015, 0.020)

#: BASIC track levels (42 CFR 425.605(d)(1)(i)-(v); glide path 425.600(a)(4)): maximum
#: sharing rate, performance payment limit (fraction of the updated benchmark), shared loss
#: rate (whatever the quality), and the loss limit: the lesser of a share of the ACO
#: participants' total Medicare Parts A and B FFS revenue (``revenue_loss_cap``) and of the
#: updated benchmark (``loss_cap``).  C: 2% of revenue, at most 1% of the benchmark; D: 4%,
#: at most 2%; E: the QPP revenue-based nominal amount standard, 8% (42 CFR 414.1415(c)(3)),
#: at most 1 point above its expenditure-based standard (3% + 1 = 4%).  A, B: one-sided.
MSSP_BASIC_LEVELS = {
    "A": {"sharing_rate": 0.40, "savings_cap": 0.10, "loss_sharing_rate": None, "loss_cap": None},
    "B": {"sharing_rate": 0.40, "savings_cap": 0.10, "loss_sharing_rate": None, "loss_cap": None},
    "C": {"sharing_rate": 0.50, "savings_cap": 0.10, "loss_sharing_rate": 0.30, "loss_cap": 0.01},
    "D": {"sharing_rate": 0.50, "savings_cap": 0.10, "loss_sharing_rate": 0.30, "loss_cap": 0.02},
    "E": {"sharing_rate": 0.50, "savings_cap": 0.10, "loss_sharing_rate": 0.30, "loss_cap": 0.04},
}
for _level, _rate in zip("ABCDE", (None, None, 0.02, 0.04, 0.08), strict=True):
    MSSP_BASIC_LEVELS[_level]["revenue_loss_cap"] = _rate  # 425.605(d)(1)(iii)-(v); None: one-sided
del _level, _rate

#: ENHANCED track (42 CFR 425.610): sharing rate up to 75% based on quality
#: performance; shared savings limited to 20% of the updated benchmark; shared loss
#: rate 1 − the final sharing rate, not less than 40% and not more than 75%; shared
#: losses limited to 15% of the updated benchmark.
MSSP_ENHANCED = {
    "sharing_rate": 0.75,
    "savings_cap": 0.20,
    "loss_sharing_rate": 0.75,
    "loss_sharing_floor": 0.40,
    "loss_cap": 0.15,
}

#: The quality performance standard and the alternative one as thresholds on the scenario
#: quality score q in [0, 1]: a *mapping* of q to the ACO's percentile among MIPS Quality
#: performance category scores, not the regulation's measure.  42 CFR 425.512(a): failing
#: the standard, no savings; the standard is the 40th percentile from performance year 2024
#: (30th in 2021-2023).  The alternative standard (from 2023; CY 2023 PFS final rule,
#: 87 FR 69777), the 10th percentile on one of the four outcome measures (and the 40th on
#: one other), maps to q ≥ 0.10; it earns the sharing rate × the quality score (q here).
MSSP_QUALITY_STANDARD = 0.40
MSSP_ALTERNATIVE_QUALITY_STANDARD = 0.10

#: Mandatory Medicare sequestration, 2% (Budget Control Act of 2011, Pub. L. 112-25;
#: section 251A of the Balanced Budget and Emergency Deficit Control Act of 1985,
#: 2 U.S.C. 901a), applied by CMS to MSSP shared savings payments, not to shared loss
#: repayments (CMS, MSSP "Shared Savings and Losses and Assignment Methodology
#: Specifications"); Congress suspended it for part of the COVID-19 emergency.
MSSP_SEQUESTRATION = 0.02

#: the largest growth of an ACO's prospective risk scores over an agreement period that the MSSP
#: benchmark follows: 3 percent (42 CFR 425.605(a), 425.610(a); for agreement periods from 2024 the
#: cap also applies to the regional risk-score growth, 425.652)
MSSP_RISK_SCORE_CAP = 0.03

#: the choices of ``SharedSavings.quality_rule`` and ``SharedSavings.benchmark_update``
QUALITY_RULES = ("linear", "mssp")
BENCHMARK_UPDATES = ("prospective", "retrospective")


def mssp_minimum_savings_rate(beneficiaries) -> float:
    """The MSSP one-sided minimum savings rate for an ACO's number of assigned beneficiaries.

    Implements the table of 42 CFR 425.604(b) (:data:`MSSP_MSR_TABLE`): within
    a range the MSR is interpolated linearly between its value at the low end
    and at the high end of the range (3.4% at 7,000 and 3.2% at 7,999, so
    about 3.3% at 7,500); it falls from 3.9% at 5,000 beneficiaries to 2.0% at
    60,000 and stays at 2.0% above.  The value is not rounded (CMS's example
    quotes the 7,500-beneficiary MSR as 3.3%; the interpolation gives 3.2999%).

    ``beneficiaries`` is the number of assigned beneficiaries, an integer of at least
    5,000 (else a TypeError or ValueError): an MSSP ACO needs 5,000 (42 CFR
    425.110(a)(1)) and the table starts there.  For a smaller panel give an explicit
    ``minimum_savings_rate``, or derive one from the table's principle on the panel's
    own cost (:func:`vbcsim.partnerships.value_program.panel_minimum_savings_rate`).

    Examples
    --------
    >>> mssp_minimum_savings_rate(5_000)
    0.039
    >>> round(mssp_minimum_savings_rate(7_500), 4)
    0.033
    >>> mssp_minimum_savings_rate(100_000)
    0.02
    """
    if isinstance(beneficiaries, (bool, np.bool_)):
        raise TypeError(
            f"mssp_minimum_savings_rate: beneficiaries must be an integer count, got {beneficiaries!r}"
        )
    n = check_positive_int("beneficiaries", beneficiaries, owner="mssp_minimum_savings_rate")
    if n < MSSP_MINIMUM_BENEFICIARIES:
        raise ValueError(
            f"mssp_minimum_savings_rate: beneficiaries must be at least {MSSP_MINIMUM_BENEFICIARIES:,} "
            f"(the MSSP minimum, 42 CFR 425.110(a)(1); the MSR table of 425.604(b) starts there), got {n:,}"
        )
    for low, high, msr_low, msr_high in MSSP_MSR_TABLE:
        if low <= n <= high:
            return msr_low + (msr_high - msr_low) * (n - low) / (high - low)
    return _MSR_FLOOR


def _mssp_msr(beneficiaries, elected, *, two_sided: bool, owner: str) -> float:
    """The MSR of an MSSP preset: the elected symmetric rate, or the size-based table."""
    if elected is not None:
        if not two_sided:
            raise ValueError(
                f"{owner}: the one-sided levels use the size-based MSR of 42 CFR 425.604(b); give "
                f"beneficiaries, not minimum_savings_rate (got {elected!r})"
            )
        rate = check_probability("minimum_savings_rate", elected, owner=owner, open_high=True)
        for allowed in MSSP_SYMMETRIC_MSR_ELECTIONS:
            if abs(rate - allowed) < 1e-12:
                return allowed
        raise ValueError(
            f"{owner}: minimum_savings_rate must be an MSSP election, one of "
            f"{', '.join(f'{a:.3f}' for a in MSSP_SYMMETRIC_MSR_ELECTIONS)} (or None for the size-based "
            f"MSR from beneficiaries), got {rate!r}"
        )
    if beneficiaries is None:
        what = "beneficiaries (size-based MSR/MLR) or minimum_savings_rate (an elected symmetric MSR/MLR)"
        raise ValueError(f"{owner}: give {what if two_sided else 'beneficiaries (size-based MSR)'}")
    return mssp_minimum_savings_rate(beneficiaries)
