"""Risk corridors: savings and losses against a target shared in bands of their size.

The payer sets a target (benchmark) B for the covered members' annual cost;
the gap S = B − C is split into bands of |S| / B around the target, and the
provider keeps ``provider_share`` of the part of the gap that falls in each
band — of savings when S > 0 and of losses when S < 0 (symmetric corridors).
Typical designs give the provider most of a small gap and progressively less
of a large one, limiting both sides' exposure to extreme years.

:meth:`RiskCorridor.reach_global` and :meth:`RiskCorridor.reach_professional`
are the risk corridors of the CMS Innovation Center's ACO REACH model
(performance years 2023-2025).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from vbcsim._validation import check_probability
from vbcsim.contracts.base import Contract, Settlement, SettlementContext, transfer
from vbcsim.contracts.capitation import _check_segments, _pmpm_positive
from vbcsim.contracts.fee_for_service import _check_parties, _members_benchmark

__all__ = ["RiskCorridor", "ACO_REACH_GLOBAL_BANDS", "ACO_REACH_PROFESSIONAL_BANDS"]

#: ACO REACH Global risk-sharing option (100% savings/losses with corridors), as a
#: share of the ACO's savings/losses by band of savings/losses as a percentage of the
#: benchmark: 100% below 25%, 50% from 25% to 35%, 25% from 35% to 50%, 10% above 50%
#: (CMS Innovation Center, ACO REACH Model; corridors as tabulated by Pearl Health,
#: "ACO REACH: Exploring the 'Performance Year Discount' in Global and Professional
#: Tracks", Exhibit A).  For performance year 2026 CMS narrowed the first Global
#: corridor from 25% to 10% of the benchmark (CMS, "ACO REACH Model Performance Year
#: 2026 Model Update - Quick Reference", 2025); build that schedule with explicit
#: ``bands``.
ACO_REACH_GLOBAL_BANDS = (
    (0.00, 0.25, 1.00),
    (0.25, 0.35, 0.50),
    (0.35, 0.50, 0.25),
    (0.50, math.inf, 0.10),
)

#: ACO REACH Professional risk-sharing option (50% savings/losses with corridors): 50%
#: below 5% of the benchmark, 35% from 5% to 10%, 15% from 10% to 15%, 5% above 15%
#: (same sources).
ACO_REACH_PROFESSIONAL_BANDS = (
    (0.00, 0.05, 0.50),
    (0.05, 0.10, 0.35),
    (0.10, 0.15, 0.15),
    (0.15, math.inf, 0.05),
)


def _check_bands(bands, *, owner: str) -> tuple[tuple[float, float, float], ...]:
    """Bands (lower, upper, provider_share) covering [0, inf) contiguously, as floats."""
    if isinstance(bands, (str, bytes)) or not hasattr(bands, "__iter__"):
        raise TypeError(
            f"{owner}: bands must be a sequence of (lower, upper, provider_share) triples, got {type(bands).__name__}"
        )
    out = []
    for i, band in enumerate(bands):
        name = f"bands[{i}]"
        try:
            lower, upper, share = band
        except (TypeError, ValueError):
            raise TypeError(
                f"{owner}: {name} must be a (lower, upper, provider_share) triple, got {band!r}"
            ) from None
        for what, x in (("lower", lower), ("upper", upper), ("provider_share", share)):
            if isinstance(x, bool) or not isinstance(x, numbers.Real):
                raise TypeError(f"{owner}: {name} {what} must be a real number, got {type(x).__name__} {x!r}")
        lower, upper = float(lower), float(upper)
        if not (math.isfinite(lower) and lower >= 0.0):
            raise ValueError(f"{owner}: {name} lower must be finite and non-negative, got {lower!r}")
        if math.isnan(upper) or not upper > lower:
            raise ValueError(f"{owner}: {name} upper must exceed its lower bound {lower!r}, got {upper!r}")
        share = check_probability(f"{name} provider_share", share, owner=owner)
        out.append((lower, upper, share))
    if not out:
        raise ValueError(f"{owner}: bands must not be empty")
    if out[0][0] != 0.0:
        raise ValueError(f"{owner}: bands must start at 0 (bands[0] lower), got {out[0][0]!r}")
    for i in range(len(out) - 1):
        if out[i][1] != out[i + 1][0]:
            raise ValueError(
                f"{owner}: bands must be contiguous: bands[{i}] upper {out[i][1]!r} must equal "
                f"bands[{i + 1}] lower {out[i + 1][0]!r}"
            )
    if out[-1][1] != math.inf:
        raise ValueError(
            f"{owner}: the last band must be unbounded (bands[{len(out) - 1}] upper = inf), got {out[-1][1]!r}"
        )
    return tuple(out)


@dataclass(frozen=True)
class RiskCorridor(Contract):
    """Symmetric risk corridors: the provider keeps a share of each band of savings or losses.

    Parameters
    ----------
    benchmark_pmpm : float
        the target per member per month, in (0, 1e7]; the annual target is
        ``B = benchmark_pmpm × 12 × members`` of the covered segments.
    bands : sequence of (lower, upper, provider_share)
        bands of ``|S| / B`` as fractions of the benchmark, contiguous from 0 to
        ``math.inf`` (the first lower bound 0, each upper bound the next lower
        bound, the last upper bound inf), each with the provider's share in
        [0, 1] of the savings or losses falling in it.
    segments : sequence of str, optional
        the segments covered (all by default).
    source, target : str
        the party that pays shared savings (and receives shared losses) and
        the party that earns them (default payer -> provider).

    Notes
    -----
    Per scenario, with ``S = B − C`` and C the covered segments' medical cost
    at allowed rates:

    ``amount = sign(S) × Σ_b share_b × clip(|S| − lower_b × B, 0, (upper_b − lower_b) × B)``,

    positive (payer -> provider) for savings, negative (the provider repays)
    for losses.  The amount is continuous, odd in S and non-increasing in C.

    Examples
    --------
    >>> rc = RiskCorridor(450.0, [(0.0, 0.02, 0.0), (0.02, 0.10, 0.5), (0.10, float("inf"), 0.2)])
    >>> reach = RiskCorridor.reach_global(900.0)
    >>> reach.bands[0]
    (0.0, 0.25, 1.0)
    """

    benchmark_pmpm: float
    bands: tuple[tuple[float, float, float], ...]
    segments: tuple[str, ...] | None = None
    source: str = "payer"
    target: str = "provider"

    def __post_init__(self):
        owner = "RiskCorridor"
        object.__setattr__(
            self, "benchmark_pmpm", _pmpm_positive("benchmark_pmpm", self.benchmark_pmpm, owner=owner)
        )
        object.__setattr__(self, "bands", _check_bands(self.bands, owner=owner))
        object.__setattr__(self, "segments", _check_segments(self.segments, owner=owner))
        _check_parties(self.source, self.target, owner=owner)

    @classmethod
    def reach_global(cls, benchmark_pmpm: float, segments=None, target: str = "provider") -> RiskCorridor:
        """ACO REACH Global option corridors (:data:`ACO_REACH_GLOBAL_BANDS`, PY2023-2025).

        ``benchmark_pmpm`` should be the REACH performance-year benchmark after
        the Global option's discount (and any quality withhold) the user
        wants to model.
        """
        return cls(benchmark_pmpm, ACO_REACH_GLOBAL_BANDS, segments=segments, target=target)

    @classmethod
    def reach_professional(
        cls, benchmark_pmpm: float, segments=None, target: str = "provider"
    ) -> RiskCorridor:
        """ACO REACH Professional option corridors (:data:`ACO_REACH_PROFESSIONAL_BANDS`)."""
        return cls(benchmark_pmpm, ACO_REACH_PROFESSIONAL_BANDS, segments=segments, target=target)

    def benchmark(self, ctx: SettlementContext) -> float:
        """The annual target B = benchmark_pmpm × 12 × members covered."""
        return _members_benchmark(self.benchmark_pmpm, ctx, self.segments, owner="RiskCorridor")

    def savings(self, ctx: SettlementContext) -> np.ndarray:
        """S = B − C per scenario (negative: losses)."""
        return self.benchmark(ctx) - np.asarray(ctx.cost(self.segments), dtype=float)

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Source -> target: the provider's banded share of savings (negative for losses)."""
        b = self.benchmark(ctx)
        s = self.savings(ctx)
        gap = np.abs(s)
        kept = np.zeros_like(gap)
        for lower, upper, share in self.bands:
            width = (upper - lower) * b  # inf for the last band
            kept += share * np.clip(gap - lower * b, 0.0, width)
        return transfer(np.sign(s) * kept, self.source, self.target)
