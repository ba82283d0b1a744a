"""Entities and ownership: organisations the parties own, consolidated into their owners' results.

A joint-venture health plan, a payer-owned management-services organisation (MSO), a medical
group a payer has bought, a payer-run platform: each is an *entity* with its own books.
Contracts pay and charge it like a party (``FeeForService(source="venture")``,
``ManagementFee(target="mso")``); after every contract of the arrangement has settled, the
entity's whole result — every flow of its books, stop-loss premiums and recoveries and bonuses
included — passes to its owners in proportion to their equity (consolidation).

The result cube keeps both views: ``entity_net`` (scenario, model, entity) is each entity's
result, ``own_net`` (scenario, model, party) each party's result from its own flows, and ``net``
the owners' consolidated results, ``net = own_net + Σ_entities equity × entity_net``, so money
is conserved across the two views.  ``contributed_capital`` (model, party) is the capital each
owner put into the model's entities, and :func:`vbcsim.summarize` reports the return on it.
The project's seed article on joint-venture lessons stresses exactly these: the equity split,
the shared economics and the capital each partner commits.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

from vbcsim.contracts.base import ENTITIES, PARTIES

__all__ = ["Entity", "check_entities", "ENTITIES"]

#: equity shares must add up to 1 within this tolerance
EQUITY_TOLERANCE = 1e-9


def _pairs(name: str, value, *, owner: str, what: str) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{owner}: {name} must be a mapping of party -> {what}, got {type(value).__name__}")
    out = []
    for party, x in value.items():
        if party not in PARTIES:
            raise ValueError(f"{owner}: {name}: owners are parties ({', '.join(PARTIES)}), got {party!r}")
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(float(x)):
            raise TypeError(f"{owner}: {name}[{party!r}] must be a finite number, got {x!r}")
        if float(x) < 0:
            raise ValueError(f"{owner}: {name}[{party!r}] must not be negative, got {x!r}")
        out.append((party, float(x)))
    return tuple(out)


@dataclass(frozen=True)
class Entity:
    """An organisation owned by parties: whose books a model's contracts can pay and charge.

    Parameters
    ----------
    owners : mapping of str to float
        equity share of each owning party (``payer``, ``provider``, ``enabler``,
        ``reinsurer``), each in [0, 1], adding up to 1: ``{"payer": 0.5,
        "provider": 0.5}`` for a 50/50 joint venture, ``{"payer": 1.0}`` for a
        payer-owned MSO.
    capital : mapping of str to float, optional
        the capital each owner contributed, in currency (an owner not named
        contributed none): the base of the return on contributed capital that
        :func:`vbcsim.summarize` reports.

    Examples
    --------
    >>> Entity({"payer": 0.5, "provider": 0.5}, capital={"payer": 5e6, "provider": 5e6}).equity()
    {'payer': 0.5, 'provider': 0.5}
    """

    owners: tuple[tuple[str, float], ...]
    capital: tuple[tuple[str, float], ...] = ()

    def __post_init__(self):
        owners = _pairs(
            "owners",
            dict(self.owners) if isinstance(self.owners, tuple) else self.owners,
            owner="Entity",
            what="equity share",
        )
        if not owners:
            raise ValueError("Entity: owners must name at least one owning party")
        for party, share in owners:
            if share > 1.0:
                raise ValueError(
                    f"Entity: owners[{party!r}] must be an equity share in [0, 1], got {share!r}"
                )
        total = math.fsum(share for _, share in owners)
        if abs(total - 1.0) > EQUITY_TOLERANCE:
            raise ValueError(f"Entity: the owners' equity shares must add up to 1, got {total!r}")
        capital = _pairs(
            "capital",
            dict(self.capital) if isinstance(self.capital, tuple) else self.capital,
            owner="Entity",
            what="contributed capital",
        )
        named = {p for p, _ in owners}
        for party, _ in capital:
            if party not in named:
                raise ValueError(
                    f"Entity: capital[{party!r}]: {party!r} is not an owner ({', '.join(named)})"
                )
        object.__setattr__(self, "owners", owners)
        object.__setattr__(self, "capital", capital)

    def equity(self) -> dict[str, float]:
        """Owner -> equity share."""
        return dict(self.owners)

    def contributed(self) -> dict[str, float]:
        """Owner -> contributed capital (0 for an owner not named in ``capital``)."""
        out = {party: 0.0 for party, _ in self.owners}
        out.update(self.capital)
        return out


def check_entities(value, *, owner: str = "Arrangement") -> tuple[tuple[str, Entity], ...]:
    """``entities`` as ((name, Entity), ...) in :data:`ENTITIES` order, or an error naming it.

    Accepts a mapping of entity name to an :class:`Entity` or to a mapping of owners' equity.
    """
    if value is None or (isinstance(value, (tuple, list)) and not value):
        return ()
    items = value.items() if isinstance(value, Mapping) else value
    out = {}
    try:
        pairs = list(items)
    except TypeError:
        raise TypeError(f"{owner}: entities must be a mapping of entity name -> Entity") from None
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"{owner}: entities must be a mapping of entity name -> Entity")
        name, entity = pair
        if name not in ENTITIES:
            raise ValueError(
                f"{owner}: entities: unknown entity {name!r}; entities are {', '.join(ENTITIES)}"
            )
        if name in out:
            raise ValueError(f"{owner}: entities: {name!r} is declared twice")
        if isinstance(entity, Mapping):
            entity = Entity(entity)
        if not isinstance(entity, Entity):
            raise TypeError(
                f"{owner}: entities[{name!r}] must be a vbcsim.contracts.Entity or a mapping of owners' "
                f"equity, got {type(entity).__name__}"
            )
        out[name] = entity
    return tuple((name, out[name]) for name in ENTITIES if name in out)
