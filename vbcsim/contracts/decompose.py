"""Is a provider's "savings" real?  A benchmark payment split into efficiency, selection, coding and chance.

The payment a provider earns from a benchmark contract (shared savings, a glide path) moves
with four things at once: its true efficiency (care it did not need to deliver), favourable
selection (a panel healthier than the population its benchmark came from), coding intensity
(risk scores raised faster than the reference population's), and random variation.  On the
same member draws the engine also has every counterfactual: the panel's cost without the
model's efficiency (a twin view), the whole population's cost instead of the panel's (the
unweighted sums), and the risk scores without the provider's coding.  :func:`decompose`
settles the contract on all eight combinations and attributes the payment by Shapley values
(each effect's marginal contribution averaged over the orders in which the effects are
switched on, L. S. Shapley, "A value for n-person games", 1953), so that

    payment = efficiency + selection + coding + random

holds exactly in every scenario, whatever the contract's nonlinearity (minimum savings rate,
caps, sharing rates); "random" is the payment with none of the three effects: what the
provider earns from chance alone (with a one-sided contract, a positive option value).
"""

from __future__ import annotations

import dataclasses
import math
from itertools import product

import numpy as np

__all__ = ["COMPONENTS", "benchmark_contract", "decompose"]

#: the parts of a benchmark payment, in the cube's ``component`` coordinate
COMPONENTS = ("efficiency", "selection", "coding", "random")


def benchmark_contract(contracts):
    """The index of the first contract settled against a benchmark (it has ``updated_benchmark``), or None."""
    for i, c in enumerate(contracts):
        if hasattr(c, "updated_benchmark"):
            return i
    return None


def decompose(contract, ctx, variants: dict) -> np.ndarray:
    """The Shapley decomposition of ``contract``'s payment per row: float[n, 4] in :data:`COMPONENTS` order.

    ``variants`` maps (efficiency, selection) flags to the context's (segment_cost,
    excess_by_attachment) for that counterfactual; coding is switched by the context's
    ``coded`` flag (the risk scores with or without the provider's coding intensity).
    """
    value = {}
    for e, s, c in product((0, 1), repeat=3):
        cost, excess = variants[(e, s)]
        alt = dataclasses.replace(ctx, segment_cost=cost, excess_by_attachment=excess, panel=bool(s),
                                  coded=bool(c), settled=[])  # fmt: skip
        value[(e, s, c)] = np.broadcast_to(
            np.asarray(contract.settle(alt).amount, dtype=float), (ctx.n_scenarios,)
        )
    n = 3
    out = np.zeros((ctx.n_scenarios, 4))
    for player in range(n):
        for others in product((0, 1), repeat=n - 1):
            coalition = list(others)
            coalition.insert(player, 0)
            size = sum(coalition)
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            with_player = list(coalition)
            with_player[player] = 1
            out[:, player] += weight * (value[tuple(with_player)] - value[tuple(coalition)])
    out[:, 3] = value[(0, 0, 0)]
    return out
