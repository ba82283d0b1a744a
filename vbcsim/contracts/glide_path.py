"""Contract terms that change year by year: the MSSP BASIC track's glide path.

An ACO entering the BASIC track at level A moves up one level each performance year, from
one-sided levels A and B (40% of savings) to the two-sided levels C, D and E (50% of
savings, 30% of losses, loss limits of 1%, 2% and 4% of the benchmark) (42 CFR 425.600(a)(4),
425.605(d)).  :class:`GlidePath` settles year t with its t-th stage (the last stage in
every later year).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbcsim.contracts.base import Contract, Needs, Settlement, SettlementContext
from vbcsim.contracts.shared_savings import MSSP_BASIC_LEVELS, SharedSavings

__all__ = ["GlidePath"]


@dataclass(frozen=True)
class GlidePath(Contract):
    """One contract per year: year t settles with ``stages[t − 1]`` (the last stage thereafter).

    Parameters
    ----------
    stages : sequence of Contract
        the terms of years 1, 2, ...; all of one class, with the same ``source`` and
        ``target``.  A single-year run settles year 1's.

    Each stage settles on the whole run; the glide path keeps each year's rows of its
    stage.  It takes the name of its stages (``shared_savings`` for SharedSavings), so
    contracts that read it (an :class:`~vbcsim.contracts.AdvancePayment` recouping from
    it) find it as they would one contract.

    Examples
    --------
    >>> from vbcsim import Agreement
    >>> path = GlidePath.mssp_basic(agreement=Agreement(), beneficiaries=10_000)
    >>> [s.sharing_rate for s in path.stages]
    [0.4, 0.4, 0.5, 0.5, 0.5]
    """

    stages: tuple

    def __post_init__(self):
        stages = self.stages
        if isinstance(stages, Contract) or not hasattr(stages, "__iter__"):
            raise TypeError(f"GlidePath: stages must be a sequence of contracts, got {type(stages).__name__}")
        stages = tuple(stages)
        if not stages:
            raise ValueError("GlidePath: stages must not be empty")
        for s in stages:
            if not isinstance(s, Contract) or isinstance(s, GlidePath):
                raise TypeError(f"GlidePath: every stage must be a contract (not a GlidePath), got {s!r}")
        if len({type(s) for s in stages}) > 1:
            raise ValueError("GlidePath: the stages must be contracts of one class")
        ends = {(getattr(s, "source", None), getattr(s, "target", None)) for s in stages}
        if len(ends) > 1:
            raise ValueError(
                f"GlidePath: the stages must move money between the same parties, got {sorted(ends)}"
            )
        object.__setattr__(self, "stages", stages)

    @classmethod
    def mssp_basic(cls, *, agreement=None, benchmark_pmpm=None, start: str = "A", beneficiaries=None,
                   **terms) -> GlidePath:  # fmt: skip
        """The BASIC track's glide path from level ``start`` to E, one level a year (42 CFR 425.600(a)(4)).

        ``agreement`` (a :class:`vbcsim.Agreement`) or ``benchmark_pmpm`` sets the
        benchmark; ``beneficiaries`` the size-based MSR/MLR; ``terms`` go to
        :meth:`SharedSavings.mssp_basic` (``minimum_savings_rate`` is then an election for
        the two-sided levels only).
        """
        levels = list(MSSP_BASIC_LEVELS)
        if start not in levels:
            raise ValueError(f"GlidePath.mssp_basic: start must be one of {levels}, got {start!r}")
        elected = terms.pop("minimum_savings_rate", None)
        stages = []
        for level in levels[levels.index(start) :]:
            two_sided = MSSP_BASIC_LEVELS[level]["loss_sharing_rate"] is not None
            stage = SharedSavings.mssp_basic(
                benchmark_pmpm if agreement is None else 1.0,
                beneficiaries,
                level,
                minimum_savings_rate=elected if two_sided else None,
                **terms,
            )
            if agreement is not None:
                from dataclasses import replace

                stage = replace(stage, benchmark_pmpm=None, agreement=agreement)
            stages.append(stage)
        return cls(tuple(stages))

    @property
    def name(self) -> str:
        return self.stages[0].name

    def needs(self) -> Needs:
        needs = [s.needs() for s in self.stages]
        attachments = tuple(sorted({a for n in needs for a in n.attachments}))
        return Needs(attachments=attachments, quality=any(n.quality for n in needs))

    def stage_index(self, ctx: SettlementContext) -> np.ndarray:
        """The stage of each row: year − 1, at most the last stage (0 in a single-year run)."""
        if ctx.year is None:
            return np.zeros(ctx.n_scenarios, dtype=int)
        return np.minimum(np.asarray(ctx.year, dtype=int) - 1, len(self.stages) - 1)

    def _pick(self, ctx: SettlementContext, values) -> np.ndarray:
        index = self.stage_index(ctx)
        rows = [np.broadcast_to(np.asarray(v, dtype=float), (ctx.n_scenarios,)) for v in values]
        return np.choose(index, rows)

    def updated_benchmark(self, ctx: SettlementContext) -> np.ndarray:
        """The benchmark of each row's stage (for a glide path of benchmark contracts)."""
        return self._pick(ctx, [s.updated_benchmark(ctx) for s in self.stages])

    def settle(self, ctx: SettlementContext) -> Settlement:
        settled = [s.settle(ctx) for s in self.stages]
        parties = sorted({p for st in settled for p in st.flows})
        flows = {p: self._pick(ctx, [st.flows.get(p, 0.0) for st in settled]) for p in parties}
        out = Settlement(amount=self._pick(ctx, [st.amount for st in settled]), flows=flows)
        for extra in ("external", "outside_care", "from_members"):
            values = [getattr(st, extra) for st in settled]
            if any(v is not None for v in values):
                setattr(out, extra, self._pick(ctx, [0.0 if v is None else v for v in values]))
        return out
