"""Pay for performance: a quality bonus on top of the base payment.

The payer pays the provider a bonus — a fixed amount per member per month, or
a percentage of the fee-for-service allowed cost — scaled by the scenario's
quality score q between two thresholds:

    scale = clip((q − quality_low) / (quality_high − quality_low), 0, 1),

nothing below ``quality_low``, the full bonus at or above ``quality_high``
and a linear ramp in between (a common design in commercial P4P programmes,
which pay a graduated share of the incentive pool between a minimum and a
target performance level).  With ``quality_low == quality_high`` the bonus is
all or nothing at the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbcsim._validation import check_probability
from vbcsim.contracts.base import Contract, Needs, Settlement, SettlementContext, transfer
from vbcsim.contracts.capitation import _check_optional_real, _check_segments, _pmpm_nonnegative
from vbcsim.contracts.fee_for_service import _check_parties, _scenario_quality

__all__ = ["PayForPerformance"]


@dataclass(frozen=True)
class PayForPerformance(Contract):
    """A quality bonus, PMPM or a percentage of allowed cost, scaled by the quality score.

    Parameters
    ----------
    bonus_pmpm : float, optional
        the full bonus per member per month (× 12 × members covered), in
        [0, 1e7].
    bonus_percent : float, optional
        the full bonus as a fraction of the covered segments' fee-for-service
        allowed cost C, in [0, 1] (0.02 for 2%).  Give exactly one of
        ``bonus_pmpm`` and ``bonus_percent``.
    quality_low : float
        the quality score in [0, 1] below which no bonus is paid (default 0.5).
    quality_high : float
        the quality score in [0, 1], ≥ ``quality_low``, at and above which the
        full bonus is paid (default 0.9).  Equal thresholds make the bonus all
        or nothing.
    segments : sequence of str, optional
        the segments whose members (or allowed cost) the bonus is based on
        (all by default).
    source, target : str
        who pays and who earns the bonus (default payer -> provider).

    Notes
    -----
    Settlement, ``source`` -> ``target``, per scenario:
    ``amount = scale(q) × bonus`` with ``bonus = bonus_pmpm × 12 × members``
    or ``bonus_percent × C`` and
    ``scale(q) = clip((q − quality_low) / (quality_high − quality_low), 0, 1)``
    (``1[q ≥ quality_high]`` when the thresholds are equal).  The amount is
    never negative.  The contract needs the scenario quality score.

    Examples
    --------
    >>> p4p = PayForPerformance(bonus_pmpm=5.0)
    >>> p4p.needs().quality
    True
    >>> pct = PayForPerformance(bonus_percent=0.02, quality_low=0.6, quality_high=0.8)
    """

    bonus_pmpm: float | None = None
    bonus_percent: float | None = None
    quality_low: float = 0.5
    quality_high: float = 0.9
    segments: tuple[str, ...] | None = None
    source: str = "payer"
    target: str = "provider"

    def __post_init__(self):
        owner = "PayForPerformance"
        if (self.bonus_pmpm is None) == (self.bonus_percent is None):
            raise ValueError(
                f"{owner}: give exactly one of bonus_pmpm and bonus_percent, got "
                f"bonus_pmpm={self.bonus_pmpm!r}, bonus_percent={self.bonus_percent!r}"
            )
        object.__setattr__(
            self,
            "bonus_pmpm",
            _check_optional_real("bonus_pmpm", self.bonus_pmpm, _pmpm_nonnegative, owner=owner),
        )
        if self.bonus_percent is not None:
            object.__setattr__(
                self,
                "bonus_percent",
                check_probability(
                    "bonus_percent (a fraction of allowed cost, 0.02 for 2%)", self.bonus_percent, owner=owner
                ),
            )
        low = check_probability("quality_low", self.quality_low, owner=owner)
        high = check_probability("quality_high", self.quality_high, owner=owner)
        if high < low:
            raise ValueError(f"{owner}: quality_high must be at least quality_low={low!r}, got {high!r}")
        object.__setattr__(self, "quality_low", low)
        object.__setattr__(self, "quality_high", high)
        object.__setattr__(self, "segments", _check_segments(self.segments, owner=owner))
        _check_parties(self.source, self.target, owner=owner)

    def needs(self) -> Needs:
        return Needs(quality=True)

    def full_bonus(self, ctx: SettlementContext) -> np.ndarray:
        """The bonus at full quality per scenario, (S,)."""
        if self.bonus_pmpm is not None:
            return np.full(ctx.n_scenarios, self.bonus_pmpm * 12.0 * ctx.n_members(self.segments))
        return self.bonus_percent * np.asarray(ctx.cost(self.segments), dtype=float)

    def scale(self, quality) -> np.ndarray:
        """The share of the full bonus earned at quality score(s) ``quality``."""
        q = np.asarray(quality, dtype=float)
        if self.quality_high == self.quality_low:
            return (q >= self.quality_high).astype(float)
        width = self.quality_high - self.quality_low
        # clip before dividing: no overflow however narrow the ramp
        return np.clip(q - self.quality_low, 0.0, width) / width

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Source -> target: the full bonus times the quality scale."""
        q = _scenario_quality(ctx, owner="PayForPerformance")
        return transfer(self.scale(q) * self.full_bonus(ctx), self.source, self.target)
