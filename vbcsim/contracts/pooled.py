"""Pooled risk: a shared-savings contract settled on a pool of practices, and its pass-through.

A third-party enabler (a company that supplies the population-health
infrastructure, analytics and care teams independent practices lack) signs
one two-sided contract with the payer for a *pool* of practices' panels.  The
pool's actual cost is compared with its benchmark; pooling several panels
lowers the random variation of the total, so a settlement is triggered less
often by chance and more often by true savings.  The enabler then pays each
practice its member-weighted part of the pool's savings share and absorbs the
practices' part of any loss.

In vbcsim the model's book of business is one practice's panel (the
population), and the other practices are segments simulated for the model's
:attr:`~vbcsim.Arrangement.pool` only.  :class:`PooledSavings` settles the
pool-level contract and attributes to the book its member-weighted part
``w = members of the book / members of the pool``: between the payer and the
enabler, for the book's members, ``w × settlement of the pool``.
:class:`SavingsPassThrough` passes a share of that part on to the provider.
Attribution by member weight keeps money conserved within the book: the rest
of the pool's settlement belongs to the other practices' members, whose
premium and claims are not among the parties' flows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbcsim._validation import check_probability
from vbcsim.contracts.base import Contract, Needs, Settlement, SettlementContext, check_party, transfer
from vbcsim.contracts.fee_for_service import _check_bool
from vbcsim.contracts.shared_savings import SharedSavings

__all__ = ["PooledSavings", "SavingsPassThrough"]


@dataclass(frozen=True)
class PooledSavings(Contract):
    """A shared-savings contract settled on a pool, attributed to the book by member weight.

    Parameters
    ----------
    savings : SharedSavings
        the pool-level contract; its ``segments`` name the whole pool (the
        book's segments and the pooled practices' segments), its ``source``
        and ``target`` the parties (typically payer -> enabler).

    Notes
    -----
    Settlement, ``savings.source`` -> ``savings.target``, per scenario:
    ``amount = w × a_pool`` with ``a_pool`` the pool-level contract's amount
    (benchmark, rates, MSR/MLR and caps all applied to the pool's totals) and
    ``w = members of the book / members of the pool``.

    Examples
    --------
    >>> pool = SharedSavings(560.0, 0.6, 0.01, minimum_loss_rate=0.01, loss_sharing_rate=0.6,
    ...                      segments=["adults", "practice_2/adults"], target="enabler")
    >>> PooledSavings(pool).name
    'pooled_shared_savings'
    """

    savings: SharedSavings

    def __post_init__(self):
        if not isinstance(self.savings, SharedSavings):
            raise TypeError(
                f"PooledSavings: savings must be a SharedSavings contract, got {type(self.savings).__name__}"
            )
        if self.savings.segments is None:
            raise ValueError(
                "PooledSavings: savings.segments must name the pool's segments (the book's and the "
                "pooled practices'); without them the contract would settle on the book alone"
            )

    @property
    def name(self) -> str:
        return "pooled_shared_savings"

    @property
    def source(self) -> str:
        return self.savings.source

    @property
    def target(self) -> str:
        return self.savings.target

    def needs(self) -> Needs:
        return self.savings.needs()

    def weight(self, ctx: SettlementContext) -> float:
        """The book's share of the pool's members."""
        book = ctx.book if ctx.book is not None else ctx.segments
        missing = [s for s in book if s not in self.savings.segments]
        if missing:
            raise ValueError(
                f"PooledSavings: savings.segments (the pool) must include the book's segments; missing {missing}"
            )
        return ctx.n_members() / ctx.n_members(self.savings.segments)

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Source -> target: the book's member-weighted part of the pool-level settlement."""
        amount = self.weight(ctx) * np.asarray(self.savings.settle(ctx).amount, dtype=float)
        return transfer(amount, self.source, self.target)


@dataclass(frozen=True)
class SavingsPassThrough(Contract):
    """The enabler passes a share of the book's part of pooled savings on to the provider.

    Parameters
    ----------
    pooled : PooledSavings
        the pooled contract whose attributed amount is passed through.
    share : float
        the provider's share of the book's part of the pool's savings, in
        [0, 1].
    absorbs_losses : bool
        True (default): the enabler keeps the book's part of any shared loss
        and the provider never pays.  False: the provider also repays
        ``share`` of the book's part of losses.
    target : str
        who receives the pass-through (default the provider); it comes from
        ``pooled.target`` (the enabler).

    Notes
    -----
    Settlement, ``pooled.target`` -> ``target``, per scenario:
    ``amount = share × max(a, 0)`` (or ``share × a`` when the enabler does not
    absorb losses), with ``a`` the :class:`PooledSavings` amount.

    Examples
    --------
    >>> pool = SharedSavings(560.0, 0.6, 0.01, minimum_loss_rate=0.01, loss_sharing_rate=0.6,
    ...                      segments=["adults", "practice_2/adults"], target="enabler")
    >>> SavingsPassThrough(PooledSavings(pool), share=0.6).name
    'savings_pass_through'
    """

    pooled: PooledSavings
    share: float = 0.6
    absorbs_losses: bool = True
    target: str = "provider"

    def __post_init__(self):
        owner = "SavingsPassThrough"
        if not isinstance(self.pooled, PooledSavings):
            raise TypeError(
                f"{owner}: pooled must be a PooledSavings contract, got {type(self.pooled).__name__}"
            )
        object.__setattr__(self, "share", check_probability("share", self.share, owner=owner))
        object.__setattr__(
            self, "absorbs_losses", _check_bool("absorbs_losses", self.absorbs_losses, owner=owner)
        )
        check_party("target", self.target, owner=owner)
        if self.target == self.pooled.target:
            raise ValueError(
                f"{owner}: target must differ from the party that receives the pooled savings "
                f"(pooled.target = {self.pooled.target!r}), which pays the pass-through"
            )

    @property
    def name(self) -> str:
        return "savings_pass_through"

    @property
    def source(self) -> str:
        return self.pooled.target

    def needs(self) -> Needs:
        return self.pooled.needs()

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Enabler -> provider: ``share`` of the book's part of savings (and of losses unless absorbed)."""
        try:
            a = np.asarray(self.pooled.settle(ctx).amount, dtype=float)
        except (TypeError, ValueError) as exc:  # name the argument that holds the failing contract
            raise type(exc)(f"SavingsPassThrough: pooled: {exc}") from exc
        if self.absorbs_losses:
            a = np.maximum(a, 0.0)
        return transfer(self.share * a, self.source, self.target)
