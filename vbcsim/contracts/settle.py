"""Settling each model's contracts on the engine's per-scenario statistics.

For every model the engine has accumulated, inside the member loop, the
model's medical cost by segment and the sums of (X − a)+ at the attachment
points its contracts asked for.  Here each contract turns those into flows
between parties, vectorised over scenarios, and the flows are added to the
arrangement's own (premium, delivery, admin and care-management costs).
"""

from __future__ import annotations

import numpy as np

from vbcsim.contracts.base import ENTITIES, PARTIES, Settlement, SettlementContext
from vbcsim.contracts.decompose import COMPONENTS, decompose
from vbcsim.contracts.pricing import mixed_excess

__all__ = ["settle_models", "premium_per_year", "aggregate_stop_loss_oracle"]


def premium_per_year(arrangement, population, scenario_risk) -> float:
    """The arrangement's annual premium for the population.

    ``premium_pmpm`` × 12 × members when given, else the exact expected medical
    cost (including the mean of the systematic multiplier) divided by the
    target loss ratio.
    """
    if arrangement.premium_pmpm is not None:
        return arrangement.premium_pmpm * 12.0 * population.members
    trend = scenario_risk.mean() if scenario_risk is not None else 1.0
    return population.expected_cost() * trend / arrangement.target_loss_ratio


def aggregate_stop_loss_oracle(population):
    """A function d -> exact E[(C − d)+] of the population's baseline annual cost, by FFT."""
    cache = {}

    def stop_loss(d: float) -> float:
        if "agg" not in cache:
            from vbcsim.population import exact

            cache["agg"] = exact.aggregate_population(population)
        return float(cache["agg"].stop_loss(d))

    return stop_loss


def _timeline(timeline, population, scenario_risk) -> dict:
    """The SettlementContext fields of a multi-year run ({} for a single year)."""
    if not timeline:
        return {}
    level = scenario_risk.mean() if scenario_risk is not None else 1.0
    fields = {
        k: v
        for k, v in timeline.items()
        if k not in ("variants", "baseline_excess", "baseline_reference_excess")
    }
    return dict(fields, reference_per_capita=population.expected_cost() / population.members * level)


def _add(net: dict, flows: dict, contract: str, model: str, n: int) -> None:
    for party, flow in flows.items():
        if party not in net:
            raise ValueError(
                f"model {model!r}, contract {contract!r}: unknown party {party!r}; parties are "
                f"{', '.join(net)} (an entity must be declared in the arrangement's entities)"
            )
        flow = np.asarray(flow, dtype=float)
        if flow.shape != (n,):
            raise ValueError(
                f"model {model!r}, contract {contract!r}: flow for {party!r} has shape {flow.shape}, expected ({n},)"
            )
        net[party] = net[party] + flow


def _entering(st: Settlement, n: int) -> np.ndarray:
    """Money the settlement takes in from members (``from_members``, e.g. balance billing), per scenario."""
    entering = getattr(st, "from_members", None)
    if entering is None:
        return np.zeros(n)
    return np.broadcast_to(np.asarray(entering, dtype=float), (n,))


def _check_settlement(st: Settlement, contract: str, model: str, n: int) -> None:
    """A contract moves money between parties (only ``external`` may leave): a clear error otherwise."""
    where = f"model {model!r}, contract {contract!r}"
    amount = np.asarray(st.amount, dtype=float)
    if amount.shape not in ((), (n,)):
        raise ValueError(f"{where}: amount has shape {amount.shape}, expected a number or ({n},)")
    total = np.zeros(n)
    scale = np.ones(n)
    for flow in st.flows.values():
        flow = np.broadcast_to(np.asarray(flow, dtype=float), (n,)) if np.ndim(flow) == 0 else flow
        total = total + flow
        scale = np.maximum(scale, np.abs(flow))
    for leaving in (st.external, st.outside_care):
        if leaving is not None:
            total = total + np.asarray(leaving, dtype=float)
    total = total - _entering(st, n)
    if not np.all(np.abs(total) <= 1e-9 * scale):
        worst = float(np.max(np.abs(total)))
        raise ValueError(
            f"{where}: its flows do not balance (sum of flows + external = {worst:.6g} in some scenario); "
            "a contract may only move money between parties, or pay it out as `external` or `outside_care`"
        )


def settle_models(
    population,
    arrangements: dict,
    cost,
    excess,
    model_attachments,
    quality,
    scenario_risk,
    segments=None,
    aggregate_oracle=None,
    market_factor=None,
    timeline: dict | None = None,
) -> dict:
    """Settle every model.

    ``cost`` is float[G, S, M] (each model's medical cost by segment) and
    ``excess`` float[G, S, M, K] at ``model_attachments[m]`` (padded).  The G
    segments are ``segments``: the population's (the parties' book of
    business) followed by any segments simulated for models' pools.
    ``market_factor`` (S,) is the market-wide part of each scenario's
    systematic multiplier (None: no split, 1).  In a multi-year run the S rows
    are scenario-years and ``timeline`` holds the context's multi-year fields
    (``years``, ``year``, ``baseline_years``, ``baseline_segment_cost``,
    ``market_path``, ``annual_trend``; see :class:`SettlementContext`).

    Every arrangement's own flows: the payer collects the premium and pays its
    administrative cost; the provider pays ``delivery_ratio × delivered_share ×
    C`` for the care it delivers itself; the care-management party pays the
    programme.  The contracts then move money between parties; base payments
    also buy outside care, ``(1 − delivered_share) × C``, which leaves the
    parties (the ``outside_care`` variable).
    """
    n_seg, n_scen, n_models = cost.shape
    book = tuple(population.names)
    segments = book if segments is None else tuple(segments)
    pool_members = {s.name: s.members for arr in arrangements.values() for s in arr.pool}
    members = np.array(
        [s.members for s in population] + [pool_members[n] for n in segments[len(book) :]], dtype=np.int64
    )
    total_members = population.members
    contract_names = []
    for arr in arrangements.values():
        for c in arr.contract_names:
            if c not in contract_names:
                contract_names.append(c)
    net = np.zeros((n_scen, n_models, len(PARTIES)))
    # entities some arrangement owns (contracts.entities): their results, and each party's own
    entity_names = [e for e in ENTITIES if any(e in arr.entity_names for arr in arrangements.values())]
    entity_net = np.full((n_scen, n_models, len(entity_names)), np.nan)
    own_net = np.zeros((n_scen, n_models, len(PARTIES)))
    medical_cost = np.zeros((n_scen, n_models))
    settlement = np.full((n_scen, n_models, len(contract_names)), np.nan)
    premium = np.zeros(n_models)
    rebate = np.zeros((n_scen, n_models))
    outside_care = np.zeros((n_scen, n_models))
    balance_billing = np.zeros((n_scen, n_models))  # money from members (docs/prices.md)
    benchmark = np.full((n_scen, n_models), np.nan)  # the first benchmark contract's (multi-year runs)
    variants = (timeline or {}).get("variants")
    decomposition = np.full((n_scen, n_models, len(COMPONENTS)), np.nan) if variants else None
    agg_oracle = aggregate_oracle or aggregate_stop_loss_oracle(population)

    for m, (name, arr) in enumerate(arrangements.items()):
        atts = model_attachments[m]
        segment_cost = np.ascontiguousarray(cost[:, :, m].T)
        c_total = segment_cost[:, : len(book)].sum(axis=1)
        prem = premium_per_year(arr, population, scenario_risk)
        ctx = SettlementContext(
            model=name,
            segments=segments,
            book=book,
            members=members,
            segment_cost=segment_cost,
            excess_by_attachment={a: np.ascontiguousarray(excess[:, :, m, k].T) for k, a in enumerate(atts)},
            premium=np.full(n_scen, prem),
            quality=quality if arr.needs_quality() else None,
            expected_cost=population.expected_cost(),
            # exact E[Σ (f X − a)+] under the systematic factor f, as a reinsurer prices a layer
            expected_excess={a: mixed_excess(population, a, scenario_risk) for a in atts},
            claims_party=arr.claims_party,
            delivery_ratio=arr.delivery_ratio,
            aggregate_stop_loss=agg_oracle,
            admin=arr.admin_pmpm * 12.0 * total_members,
            care_management=arr.care_management_pmpm * 12.0 * total_members,
            care_management_party=arr.care_management_party,
            delivered_share=arr.delivered_share,
            contracts=tuple(arr.contracts),
            population=population,
            scenario_risk=scenario_risk,
            market_factor=None if market_factor is None else np.asarray(market_factor, dtype=float),
            **_timeline(timeline, population, scenario_risk),
        )
        for key, field in (
            ("baseline_excess", "baseline_excess_by_attachment"),
            ("baseline_reference_excess", "baseline_reference_excess_by_attachment"),
        ):
            if timeline and timeline.get(key) is not None:
                ex = timeline[key]  # (G, S, lead, M, K)
                by_att = {
                    a: np.ascontiguousarray(ex[:, :, :, m, k].transpose(1, 2, 0)) for k, a in enumerate(atts)
                }
                setattr(ctx, field, by_att)
        flows = {p: np.zeros(n_scen) for p in PARTIES + arr.entity_names}
        flows[arr.insurer] += prem - arr.admin_pmpm * 12.0 * total_members
        # the cost of delivering care follows the resources used (utilisation), not the unit prices
        # paid for it: a price change is a transfer between payer and provider (c_total is at the
        # arrangement's prices; its price index is 1 without price levers, which leaves this exact)
        flows[arr.delivering_party] -= arr.delivery_ratio * arr.delivered_share * c_total / arr.price_index()
        flows[arr.care_management_party] -= arr.care_management_pmpm * 12.0 * total_members
        for cname, contract in zip(arr.contract_names, arr.contracts, strict=True):
            st = contract.settle(ctx)
            if not isinstance(st, Settlement):
                raise TypeError(f"model {name!r}, contract {cname!r}: settle() must return a Settlement")
            _check_settlement(st, cname, name, n_scen)
            _add(flows, st.flows, cname, name, n_scen)
            amount = np.broadcast_to(np.asarray(st.amount, dtype=float), (n_scen,))
            settlement[:, m, contract_names.index(cname)] = amount
            if st.external is not None:
                rebate[:, m] += np.broadcast_to(np.asarray(st.external, dtype=float), (n_scen,))
            if st.outside_care is not None:
                outside_care[:, m] += np.broadcast_to(np.asarray(st.outside_care, dtype=float), (n_scen,))
            ctx.settled.append((cname, contract, st))
            if timeline and np.isnan(benchmark[0, m]) and hasattr(contract, "updated_benchmark"):
                benchmark[:, m] = np.broadcast_to(contract.updated_benchmark(ctx), (n_scen,))
                if variants:
                    decomposition[:, m, :] = decompose(contract, ctx, _model_variants(variants, m, atts))
        own_net[:, m, :] = np.stack([flows[p] for p in PARTIES], axis=1)
        for e, entity in arr.entities:  # consolidation: each entity's whole result to its owners
            entity_net[:, m, entity_names.index(e)] = flows[e]
            for owner, share in entity.owners:
                flows[owner] = flows[owner] + share * flows[e]
        net[:, m, :] = np.stack([flows[p] for p in PARTIES], axis=1)
        medical_cost[:, m] = c_total
        premium[m] = prem
        balance_billing[:, m] = sum((_entering(st, n_scen) for _, _, st in ctx.settled), np.zeros(n_scen))
    return {
        "contracts": contract_names,
        "net": net,
        "medical_cost": medical_cost,
        "settlement": settlement,
        "premium": premium,
        "rebate": rebate,
        "outside_care": outside_care,
        "balance_billing": balance_billing,
        "entities": entity_names,
        "entity_net": entity_net,
        "own_net": own_net,
        "benchmark": benchmark,
        "decomposition": decomposition,
    }


def _model_variants(variants: dict, m: int, atts) -> dict:
    """Model ``m``'s counterfactual (segment_cost, excess_by_attachment) per (efficiency, selection)."""
    out = {}
    for key, (cost, excess) in variants.items():
        by_att = {a: np.ascontiguousarray(excess[:, :, m, k].T) for k, a in enumerate(atts)}
        out[key] = (np.ascontiguousarray(cost[:, :, m].T), by_att)
    return out
