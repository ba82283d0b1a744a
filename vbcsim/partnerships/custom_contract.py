"""Model 1, the custom risk-based contract.

A bilateral contract negotiated between one payer and one provider: fee for service plus
two-sided shared savings and losses against a negotiated benchmark (Advisory Board, "Deep
dive: 5 partnership models in commercial risk").  :class:`CustomContract` documents each
default term and where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vbcsim.contracts import FeeForService
from vbcsim.partnerships.base import DELIVERED_SHARE_SYSTEM, PartnershipModel


@dataclass(frozen=True)
class CustomContract(PartnershipModel):
    """Model 1, custom risk-based contract: fee for service plus two-sided shared savings and losses.

    A payer and a provider negotiate their own terms.  Defaults:

    - ``benchmark_ratio`` 1.0: the benchmark is the panel's expected cost
      (with trend; truncated at ``outlier_attachment`` per member like the
      actual cost it is compared with), so savings come only from
      efficiency and chance;
    - ``sharing_rate`` and ``loss_sharing_rate`` 50%: a symmetric split, the
      MSSP BASIC track's maximum sharing rate (42 CFR 425.605(d));
    - ``minimum_savings_rate``/``minimum_loss_rate`` 2%: the highest symmetric
      corridor an MSSP two-sided ACO may elect (42 CFR 425.605(b)), wide
      enough that a panel of tens of thousands rarely settles by chance;
    - ``savings_cap`` 10% (the BASIC performance payment limit) and
      ``loss_cap`` 5% of the benchmark: bilateral contracts cap the
      provider's downside at a few percent of spend;
    - ``quality_gate`` 0.6: nothing is shared in a year whose quality score
      falls below 60% (about 7% of years under the default Beta(8, 2));
    - ``outlier_attachment`` $200,000: each member's annual cost counts only
      up to $200k, a common catastrophic-claim truncation in commercial
      contracts (MSSP truncates at the 99th percentile of expenditure);
    - efficiency 4% ± 2% at $6 PMPM of care management paid by the provider.
    - a prospective benchmark: the negotiated PMPM target is fixed in advance (the
      panel's expected cost with trend) and not updated by the year's market trend, as
      in commercial contracts, unlike the MSSP's retrospective update; the linear
      quality rule, no sequestration (a Medicare rule).
    - ``delivered_share`` 0.67: a health system negotiating its own risk contract delivers about
      two thirds of its members' care (one third leaks to other providers, Benson et al. 2023).
    """

    key = "custom_contract"
    title = "custom risk-based contract"

    efficiency: float = 0.04
    efficiency_sd: float = 0.02
    care_management_pmpm: float = 6.0
    delivered_share: float = field(default=DELIVERED_SHARE_SYSTEM, kw_only=True)
    benchmark_ratio: float = 1.0
    sharing_rate: float = 0.5
    loss_sharing_rate: float = 0.5
    minimum_savings_rate: float = 0.02
    minimum_loss_rate: float = 0.02
    savings_cap: float | None = 0.10
    loss_cap: float | None = 0.05
    quality_gate: float | None = 0.6
    outlier_attachment: float | None = 200_000.0

    def contracts(self, population, scenario_risk):
        return [
            FeeForService(),
            self._shared_savings(population, scenario_risk, benchmark_update="prospective"),
        ]
