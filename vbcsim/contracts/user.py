"""User-defined payment rules: plug a (numba-compiled) kernel into the settlement.

A new payment rule need not be a new class.  :class:`UserContract` wraps a
function — ideally compiled with :func:`numba.njit`, but a plain Python
function works too — that computes, for every scenario at once, the amount
moved from ``source`` to ``target``.  The kernel is called as

    kernel(medical_cost, excess, quality, premium, members, params) -> amount

with

==============  ==========  ==================================================
medical_cost    float[S]    the model's medical cost at allowed rates
                            (of ``segments`` when given)
excess          float[S,K]  Σ over members of (X − a)+ for each declared
                            attachment a in ``attachments`` (K may be 0)
quality         float[S]    the scenario's quality score (zeros unless
                            ``needs_quality``)
premium         float[S]    the arrangement's annual premium
members         int         members covered (of ``segments`` when given)
params          float[P]    the contract's ``params`` as a float64 array
==============  ==========  ==================================================

and must return a float array of shape (S,) with finite values: the amount
moved from ``source`` to ``target`` in each scenario (negative moves money
the other way).  All arrays are C-contiguous float64, so a numba kernel
compiles once for every call.

Example: the provider keeps 10% of savings below a target of $450 per member
per month (no corridor, no downside):

>>> import numpy as np
>>> from numba import njit
>>> @njit(cache=False)
... def keep_savings(medical_cost, excess, quality, premium, members, params):
...     target = params[0] * 12.0 * members
...     out = np.empty_like(medical_cost)
...     for s in range(medical_cost.shape[0]):
...         out[s] = params[1] * max(target - medical_cost[s], 0.0)
...     return out
>>> bonus = UserContract("savings_bonus", keep_savings, params=(450.0, 0.10))
>>> bonus.name
'savings_bonus'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vbcsim._validation import check_positive, check_real
from vbcsim.contracts.base import Contract, Needs, Settlement, SettlementContext, check_party, transfer
from vbcsim.contracts.capitation import _check_segments

__all__ = ["UserContract"]


class _OwnName:
    """A ``name`` field stored on the instance, shadowing :attr:`Contract.name`.

    Accessed on the class it raises AttributeError, so the dataclass machinery
    sees a field without a default (the documented protocol for
    descriptor-typed fields); set once by the frozen dataclass's ``__init__``.
    """

    def __set_name__(self, owner, attr):
        self._attr = attr

    def __get__(self, obj, objtype=None):
        if obj is None:
            raise AttributeError(self._attr)
        return obj.__dict__[self._attr]

    def __set__(self, obj, value):
        obj.__dict__[self._attr] = value


@dataclass(frozen=True)
class UserContract(Contract):
    """A payment rule given by a kernel function (see the module docstring for the protocol).

    Parameters
    ----------
    name : str
        the contract's name in the result cube's ``contract`` coordinate.
    kernel : callable
        ``kernel(medical_cost, excess, quality, premium, members, params)``
        returning the amount (S,) moved from ``source`` to ``target``; a
        numba-compiled function or a plain Python function.
    attachments : sequence of float
        per-member attachment points whose Σ (X − a)+ the kernel reads
        (column k of ``excess`` is ``attachments[k]``), each > 0.
    needs_quality : bool
        whether the kernel reads the scenario's quality score.
    source, target : str
        the parties the amount moves from and to (default payer -> provider).
    params : sequence of float
        the kernel's parameters, passed as a float64 array.
    segments : sequence of str, optional
        restrict ``medical_cost``, ``excess`` and ``members`` to these segments.

    Raises
    ------
    TypeError, ValueError
        at construction for a bad argument (naming it); at settlement when the
        kernel's output is not a finite float array of shape (S,) (naming
        ``kernel``).
    """

    name: str = _OwnName()
    kernel: Callable
    attachments: tuple[float, ...] = ()
    needs_quality: bool = False
    source: str = "payer"
    target: str = "provider"
    params: tuple[float, ...] = ()
    segments: tuple[str, ...] | None = None

    def __post_init__(self):
        owner = "UserContract"
        if not isinstance(self.name, str) or not self.name.strip():
            raise TypeError(f"{owner}: name must be a non-empty string, got {self.name!r}")
        owner = f"UserContract {self.name!r}"
        if not callable(self.kernel):
            raise TypeError(
                f"{owner}: kernel must be a callable (a numba-compiled or Python function), got {self.kernel!r}"
            )
        atts = self.attachments
        if isinstance(atts, (int, float)) and not isinstance(atts, bool):
            atts = (atts,)
        try:
            atts = tuple(atts)
        except TypeError:
            raise TypeError(
                f"{owner}: attachments must be a sequence of numbers, got {self.attachments!r}"
            ) from None
        atts = tuple(check_positive(f"attachments[{k}]", a, owner=owner) for k, a in enumerate(atts))
        object.__setattr__(self, "attachments", atts)
        if not isinstance(self.needs_quality, (bool, np.bool_)):
            raise TypeError(f"{owner}: needs_quality must be True or False, got {self.needs_quality!r}")
        object.__setattr__(self, "needs_quality", bool(self.needs_quality))
        check_party("source", self.source, owner=owner)
        check_party("target", self.target, owner=owner)
        if self.source == self.target:
            raise ValueError(f"{owner}: source and target must differ, both are {self.source!r}")
        params = self.params
        if isinstance(params, np.ndarray):
            params = params.ravel().tolist()
        try:
            params = tuple(params)
        except TypeError:
            raise TypeError(f"{owner}: params must be a sequence of numbers, got {self.params!r}") from None
        params = tuple(check_real(f"params[{k}]", p, owner=owner) for k, p in enumerate(params))
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "segments", _check_segments(self.segments, owner=owner))

    def needs(self) -> Needs:
        return Needs(attachments=self.attachments, quality=self.needs_quality)

    def inputs(self, ctx: SettlementContext) -> tuple:
        """The kernel's arguments for ``ctx``: (medical_cost, excess, quality, premium, members, params)."""
        n = ctx.n_scenarios
        medical_cost = np.ascontiguousarray(ctx.cost(self.segments), dtype=np.float64)
        excess = np.empty((n, len(self.attachments)), dtype=np.float64)
        for k, a in enumerate(self.attachments):
            if a not in ctx.excess_by_attachment:
                raise ValueError(
                    f"UserContract {self.name!r}: the context has no excess at attachment {a!r} "
                    f"(it has {sorted(ctx.excess_by_attachment)})"
                )
            excess[:, k] = ctx.excess(a, self.segments)
        if self.needs_quality:
            if ctx.quality is None:
                raise ValueError(
                    f"UserContract {self.name!r}: needs_quality is set but the context has no quality"
                )
            quality = np.ascontiguousarray(np.broadcast_to(np.asarray(ctx.quality, dtype=np.float64), (n,)))
        else:
            quality = np.zeros(n)
        premium = np.ascontiguousarray(np.broadcast_to(np.asarray(ctx.premium, dtype=np.float64), (n,)))
        members = int(ctx.n_members(self.segments))
        params = np.array(self.params, dtype=np.float64)
        return medical_cost, excess, quality, premium, members, params

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Call the kernel and move its output from ``source`` to ``target``."""
        owner = f"UserContract {self.name!r}"
        n = ctx.n_scenarios
        args = self.inputs(ctx)
        try:
            out = self.kernel(*args)
        except Exception as exc:
            raise RuntimeError(f"{owner}: kernel raised {type(exc).__name__}: {exc}") from exc
        try:
            amount = np.array(out, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{owner}: kernel must return a float array of shape ({n},), got {type(out).__name__}"
            ) from None
        if amount.shape != (n,):
            raise ValueError(
                f"{owner}: kernel must return an array of shape ({n},), got shape {amount.shape}"
            )
        bad = ~np.isfinite(amount)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{owner}: kernel returned {int(bad.sum())} non-finite amount(s), first in scenario {first}: "
                f"{amount[first]!r}"
            )
        return transfer(amount, self.source, self.target)
