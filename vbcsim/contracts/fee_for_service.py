"""Fee for service: the payer pays the provider the allowed cost of the care delivered.

Fee for service is the *base payment* most value-based arrangements build on:
shared savings, pay for performance and risk corridors are overlays that
move money on top of it.  With every contract valuing medical cost C at
allowed rates, the settlement is simply ``C`` from the payer to the
provider, whose own cost of delivering the care (``delivery_ratio × C``) the
arrangement charges separately.

An arrangement pays for a member's care either fee for service or by
:class:`~vbcsim.contracts.capitation.Capitation`, never both, or the cost in
scope would be paid twice; a fee-for-service contract restricted to some
``segments`` pairs with a capitation of the others.

This module also holds the small argument helpers that the fee-for-service,
pay-for-performance, shared-savings and risk-corridor contracts share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbcsim.contracts.base import Contract, Settlement, SettlementContext, check_party
from vbcsim.contracts.capitation import _check_segments

__all__ = ["FeeForService"]


# -- helpers shared by fee_for_service, pay_for_performance, shared_savings, risk_corridor -----


def _check_parties(source, target, *, owner: str) -> None:
    """``source`` and ``target`` are known, distinct parties (ValueError naming the argument)."""
    check_party("source", source, owner=owner)
    check_party("target", target, owner=owner)
    if source == target:
        raise ValueError(f"{owner}: source and target must differ, both are {source!r}")


def _check_bool(name: str, value, *, owner: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _scenario_quality(ctx: SettlementContext, *, owner: str) -> np.ndarray:
    """The scenario quality scores as a float array (S,) in [0, 1], or a ValueError."""
    if ctx.quality is None:
        raise ValueError(
            f"{owner}: needs the scenario quality score but the context has none "
            "(ctx.quality is None; the engine supplies it when needs().quality is True)"
        )
    q = np.asarray(ctx.quality, dtype=float)
    if q.ndim == 0:
        q = np.full(ctx.n_scenarios, float(q))
    if q.shape != (ctx.n_scenarios,):
        raise ValueError(f"{owner}: ctx.quality must have shape ({ctx.n_scenarios},), got {q.shape}")
    if not (np.isfinite(q).all() and (q >= 0.0).all() and (q <= 1.0).all()):
        raise ValueError(f"{owner}: ctx.quality must hold finite scores in [0, 1]")
    return q


def _members_benchmark(benchmark_pmpm: float, ctx: SettlementContext, segments, *, owner: str) -> float:
    """benchmark_pmpm × 12 × members covered, or a ValueError when no member is covered."""
    members = ctx.n_members(segments)
    if members <= 0:
        where = "the population" if segments is None else f"segments {list(segments)}"
        raise ValueError(f"{owner}: {where} has no members, so the benchmark is zero")
    return float(benchmark_pmpm) * 12.0 * members


# -- the contract ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeForService(Contract):
    """The payer pays the provider the allowed cost of care, claim by claim.

    Parameters
    ----------
    segments : sequence of str, optional
        the segments paid fee for service (all by default).
    source, target : str
        who pays and who is paid (default payer -> provider); one of
        ``payer``, ``provider``, ``enabler``, ``reinsurer``.

    Notes
    -----
    Settlement, ``source`` -> ``target``, per scenario: ``amount = s × C``,
    the allowed cost of the care the contracting provider delivers itself,
    where C is the medical cost of the covered segments at allowed rates
    (``ctx.cost(segments)``) and s the arrangement's ``delivered_share``.  The
    source also pays the rest, ``(1 − s) × C``, to providers outside the
    organisation at allowed rates (the settlement's ``outside_care``, which
    leaves the parties).  The provider's own cost of delivering its care
    (``delivery_ratio × s × C``) is charged by the arrangement, so the
    provider's result from care and this contract is
    ``(1 − delivery_ratio) × s × C``: its risk share, −Cov(result, C) /
    Var(C), is ``(delivery_ratio − 1) × s ≤ 0`` — under fee for service the
    provider gains when volume rises.

    Examples
    --------
    >>> ffs = FeeForService()
    >>> ffs.name
    'fee_for_service'
    >>> carve_out = FeeForService(segments=["maternity"])
    """

    segments: tuple[str, ...] | None = None
    source: str = "payer"
    target: str = "provider"

    def __post_init__(self):
        owner = "FeeForService"
        object.__setattr__(self, "segments", _check_segments(self.segments, owner=owner))
        _check_parties(self.source, self.target, owner=owner)

    @property
    def claims_party(self) -> str:
        """Who bears the claims cost: the paying party (the engine reads this attribute).

        ``source`` when the whole population is paid fee for service, else the
        payer (a carve-out leaves the claims of the other segments with the payer).
        """
        return self.source if self.segments is None else "payer"

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Source -> target: the allowed cost of the care the target delivers; the rest to outside providers."""
        cost = np.array(ctx.cost(self.segments), dtype=float)
        delivered = ctx.delivered_share * cost
        outside = cost - delivered
        return Settlement(
            amount=delivered, flows={self.source: -cost, self.target: delivered}, outside_care=outside
        )
