"""Model 2, the payer-branded value program.

The payer's standard programme, open to many practices on the same terms: fee for service,
a pay-for-performance quality bonus and upside-only shared savings (Advisory Board, "Deep
dive: 5 partnership models in commercial risk").  :class:`ValueProgram` documents each
default term and where it comes from.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field

from vbcsim._validation import check_probability
from vbcsim.contracts import FeeForService, PayForPerformance, mssp_minimum_savings_rate
from vbcsim.contracts.shared_savings import MSSP_MINIMUM_BENEFICIARIES
from vbcsim.partnerships.base import DELIVERED_SHARE_PRIMARY_CARE, PartnershipModel
from vbcsim.population.exact import aggregate_population
from vbcsim.population.segments import Population

#: One-sided confidence of the MSSP's minimum savings rate at its smallest size, 5,000
#: beneficiaries: the table's MSRs are confidence bounds that an ACO of average per-capita
#: expenditure would not earn a payment by chance alone, 90% at 5,000 (CMS-1345-P,
#: 76 FR 19528; :func:`vbcsim.analysis.credibility.msr_for_confidence` reproduces the table).
MSR_CONFIDENCE = 0.90


def panel_minimum_savings_rate(population: Population, confidence: float = MSR_CONFIDENCE) -> float:
    """The size-based MSR of a panel: the MSSP table from 5,000 members, the table's principle below.

    From 5,000 members up, :func:`vbcsim.contracts.mssp_minimum_savings_rate` (42 CFR
    425.604(b)).  Below, the MSSP has no table (an ACO needs at least 5,000 assigned
    beneficiaries, 42 CFR 425.110(a)(1)): a UserWarning says so, and the MSR is *derived*
    from the table's own principle, not taken from a CMS rule (none was found for that
    size): the savings rate that the panel's annual cost C, with no true savings, beats
    with probability 1 − ``confidence`` (90%, the table's confidence at 5,000),
    ``1 − F_C⁻¹(1 − confidence) / E[C]``, on the panel's own exact cost distribution (the
    FFT oracle :mod:`vbcsim.population.exact`; member variation only, as in the table; the
    same number as ``msr_for_confidence(population, method="exact")`` of
    :mod:`vbcsim.analysis.credibility`).  A commercial panel varies more per member than
    Medicare's average, so just below 5,000 its MSR can exceed the table's 3.9% at 5,000.
    """
    if not isinstance(population, Population):
        raise TypeError(
            f"panel_minimum_savings_rate: population must be a vbcsim.Population, got {type(population).__name__}"
        )
    confidence = check_probability(
        "confidence", confidence, owner="panel_minimum_savings_rate", open_low=True
    )
    if confidence == 1.0:
        raise ValueError("panel_minimum_savings_rate: confidence must be below 1, got 1.0")
    n = population.members
    if n >= MSSP_MINIMUM_BENEFICIARIES:
        return mssp_minimum_savings_rate(n)
    msr = max(0.0, 1.0 - _quantile(tuple(population), 1.0 - confidence) / population.expected_cost())
    warnings.warn(
        f"a panel of {n:,} members is below the MSSP minimum of {MSSP_MINIMUM_BENEFICIARIES:,} assigned "
        f"beneficiaries (42 CFR 425.110(a)(1)), where the MSR table of 42 CFR 425.604(b) starts; its MSR is "
        f"derived from the table's principle on the panel's own cost: {msr:.4f} at {confidence:.0%} one-sided "
        "confidence (give minimum_savings_rate to set it)",
        UserWarning,
        stacklevel=2,
    )
    return msr


@functools.lru_cache(maxsize=64)
def _quantile(segments: tuple, q: float) -> float:
    """The q quantile of the segments' exact annual cost (cached: models are rebuilt per run)."""
    return float(aggregate_population(segments).ppf(q))


@dataclass(frozen=True)
class ValueProgram(PartnershipModel):
    """Model 2, payer-branded value program: fee for service, a quality bonus, upside-only savings.

    The payer runs one programme on standard terms for many practices, so
    the terms protect the provider from downside and reward quality.
    Defaults:

    - ``bonus_pmpm`` $4: the full pay-for-performance bonus per member per
      month, paid pro rata between quality scores ``quality_low`` 0.5 and
      ``quality_high`` 0.9 (the usual shape of a tiered quality bonus);
    - ``sharing_rate`` 40% upside only: the MSSP BASIC track's one-sided
      level A/B rate (42 CFR 425.605(d)(1)(i)-(ii));
    - ``minimum_savings_rate`` None: the MSSP one-sided table by panel size
      (42 CFR 425.604(b): 3.9% at 5,000 members falling to 2% at 60,000),
      since a standard programme cannot negotiate a corridor per practice; a
      panel below 5,000 gets the table's principle on its own cost, with a
      UserWarning (:func:`panel_minimum_savings_rate`);
    - ``savings_cap`` 10% of the benchmark (the one-sided MSSP limit);
    - a prospective benchmark: the payer sets the programme's PMPM target in
      advance (the panel's expected cost with trend), not updated by the
      year's market trend as the MSSP's is; the linear quality rule and no
      sequestration (Medicare's, not a commercial payer's);
    - efficiency 2% ± 1.5% at $2 PMPM: weaker incentives, lighter care
      management (largely the payer's own programmes).
    - ``delivered_share`` 0.06: the program's independent primary care practices deliver about
      6% of their members' allowed cost themselves (primary care's share of commercial
      spending).
    """

    key = "value_program"
    title = "payer-branded value program"

    efficiency: float = 0.02
    efficiency_sd: float = 0.015
    care_management_pmpm: float = 2.0
    delivered_share: float = field(default=DELIVERED_SHARE_PRIMARY_CARE, kw_only=True)
    benchmark_ratio: float = 1.0
    bonus_pmpm: float = 4.0
    quality_low: float = 0.5
    quality_high: float = 0.9
    sharing_rate: float = 0.4
    minimum_savings_rate: float | None = None
    savings_cap: float | None = 0.10

    def _check_terms(self):
        if self.quality_high < self.quality_low:
            raise ValueError("ValueProgram: quality_high must be at least quality_low")

    def msr(self, population: Population) -> float:
        """``minimum_savings_rate``, else :func:`panel_minimum_savings_rate` of the panel."""
        if self.minimum_savings_rate is not None:
            return self.minimum_savings_rate
        return panel_minimum_savings_rate(population)

    def contracts(self, population, scenario_risk):
        return [
            FeeForService(),
            PayForPerformance(
                bonus_pmpm=self.bonus_pmpm, quality_low=self.quality_low, quality_high=self.quality_high
            ),
            self._shared_savings(
                population,
                scenario_risk,
                minimum_savings_rate=self.msr(population),
                benchmark_update="prospective",
            ),
        ]
