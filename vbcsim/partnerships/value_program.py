"""Model 2, the payer-branded value program.

The payer's standard programme, open to many practices on the same terms: fee for service,
a pay-for-performance quality bonus and upside-only shared savings (Advisory Board, "Deep
dive: 5 partnership models in commercial risk").  :class:`ValueProgram` documents each
default term and where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

from vbcsim.contracts import FeeForService, PayForPerformance, mssp_minimum_savings_rate
from vbcsim.partnerships.base import PartnershipModel
from vbcsim.population.segments import Population


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
      (42 CFR 425.604(b): 3.9% at 5,000 members falling to 2% at 60,000; a
      panel below 5,000 gets 3.9%), since a standard programme cannot
      negotiate a corridor per practice;
    - ``savings_cap`` 10% of the benchmark (the one-sided MSSP limit);
    - efficiency 2% ± 1.5% at $2 PMPM: weaker incentives, lighter care
      management (largely the payer's own programmes).
    """

    key = "value_program"
    title = "payer-branded value program"

    efficiency: float = 0.02
    efficiency_sd: float = 0.015
    care_management_pmpm: float = 2.0
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
        if self.minimum_savings_rate is not None:
            return self.minimum_savings_rate
        return mssp_minimum_savings_rate(max(population.members, 5_000))

    def contracts(self, population, scenario_risk):
        return [
            FeeForService(),
            PayForPerformance(
                bonus_pmpm=self.bonus_pmpm, quality_low=self.quality_low, quality_high=self.quality_high
            ),
            self._shared_savings(population, scenario_risk, minimum_savings_rate=self.msr(population)),
        ]
