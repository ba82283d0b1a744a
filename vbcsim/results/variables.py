"""Registry of the result cube's variables: dims, units and meaning.

Every Dataset that :func:`vbcsim.simulate` returns is validated against this
list in the tests (the pattern of sgkit's ``variables.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import xarray as xr

__all__ = ["Variable", "VARIABLES", "MULTI_YEAR", "expected_dims", "validate"]


@dataclass(frozen=True)
class Variable:
    name: str
    dims: tuple[str, ...]
    units: str
    description: str


VARIABLES = {
    v.name: v
    for v in (
        Variable(
            "cost",
            ("scenario", "segment"),
            "currency per year",
            "medical cost of the segment at allowed rates, including systematic risk, "
            "before any model's efficiency effect",
        ),
        Variable(
            "excess",
            ("scenario", "segment", "attachment"),
            "currency per year",
            "sum over the segment's members of (X - attachment)+, X a member's annual cost",
        ),
        Variable(
            "scenario_factor",
            ("scenario",),
            "1",
            "systematic cost multiplier shared by every member in the scenario (1 without scenario risk)",
        ),
        Variable("members", ("segment",), "members", "members per segment"),
        Variable(
            "medical_cost",
            ("scenario", "model"),
            "currency per year",
            "medical cost under each model at allowed rates, after the model's efficiency effect",
        ),
        Variable(
            "net",
            ("scenario", "model", "party"),
            "currency per year",
            "each party's annual net result; per scenario and model the parties sum to premium - the "
            "provider's own delivery cost - admin - care management - outside care - rebates (+ balance_billing "
            "where present)",
        ),
        Variable(
            "status_quo_net",
            ("scenario", "model", "party"),
            "currency per year",
            "each party's annual net result under the model's fee-for-service status quo on the same "
            "draws (Arrangement.status_quo: same members, premium and provider, plain fee for service, "
            "no care management); net - status_quo_net is what the model changes",
        ),
        Variable(
            "entity_net",
            ("scenario", "model", "entity"),
            "currency per year",
            "each owned entity's (a joint-venture plan, an MSO, a medical group, a platform) whole annual "
            "result before it passes to its owners by equity; NaN where the model has no such entity",
        ),
        Variable(
            "own_net",
            ("scenario", "model", "party"),
            "currency per year",
            "each party's annual result from its own flows, before its equity shares of the entities it "
            "owns: net = own_net + sum over entities of equity x entity_net",
        ),
        Variable(
            "equity",
            ("model", "entity", "party"),
            "1",
            "each party's equity share of each entity the model owns (0 where it owns none)",
        ),
        Variable(
            "contributed_capital",
            ("model", "party"),
            "currency",
            "capital each party contributed to the model's entities (Entity.capital)",
        ),
        Variable(
            "settlement",
            ("scenario", "model", "contract"),
            "currency per year",
            "what each contract moved, signed from its source to its target party (payer -> provider for "
            "most contracts, reinsurer -> insured for stop-loss, insurer -> members for MLR rebates); NaN "
            "where the model has no such contract",
        ),
        Variable("premium", ("model",), "currency per year", "premium of each model's arrangement"),
        Variable(
            "rebate",
            ("scenario", "model"),
            "currency per year",
            "MLR rebates paid to members: money that leaves the parties",
        ),
        Variable(
            "outside_care",
            ("scenario", "model"),
            "currency per year",
            "care bought at allowed rates from providers outside the contracting organisation "
            "((1 - delivered_share) x medical cost), paid by whoever bears those claims: money that "
            "leaves the parties",
        ),
        Variable(
            "efficiency",
            ("scenario", "model"),
            "1",
            "proportional cost reduction from each model's care management in the scenario",
        ),
        Variable(
            "quality", ("scenario",), "1", "quality score of the scenario, used by quality-linked contracts"
        ),
        # unit price versus utilisation (docs/prices.md): present only where a model uses them
        Variable(
            "price_index",
            ("model",),
            "1",
            "each model's unit-price index relative to the allowed-cost baseline (Arrangement.price_index: "
            "price_level x the steered/leakage price mix); medical_cost includes it.  Present when some "
            "model has a non-default price lever",
        ),
        Variable(
            "price_effect",
            ("scenario", "model"),
            "currency per year",
            "change in medical cost due to unit prices: medical_cost - medical_cost / price_index "
            "(negative when prices fall); the utilisation effect is efficiency.  Present with price_index",
        ),
        Variable(
            "balance_billing",
            ("scenario", "model"),
            "currency per year",
            "allowed cost above a reference-based price cap, balance-billed to members: money that enters "
            "the parties from outside (Settlement.from_members).  Present when some model has a contract "
            "that bills members (ReferenceBasedPricing)",
        ),
        # multi-year runs (docs/multi_year.md): every variable above with a scenario dimension then
        # has a year dimension after it (premium becomes (year, model)), and these are added
        Variable(
            "cumulative_net",
            ("scenario", "model", "party"),
            "currency",
            "each party's net result summed over the years up to and including the year",
        ),
        Variable(
            "baseline_cost",
            ("scenario", "baseline_year", "segment"),
            "currency per year",
            "medical cost of the segment in the status-quo years before the agreement (baseline_year 0, "
            "-1, ...), from which agreements set their first benchmark; present when a contract has one",
        ),
        Variable(
            "benchmark",
            ("scenario", "model"),
            "currency per year",
            "the benchmark each model's first benchmark contract (SharedSavings) settled against in the "
            "year, after any update; NaN for models without one",
        ),
        # risk scores and selection (docs/risk_adjustment.md): present with a RiskScore or a Selection
        Variable(
            "risk_score",
            ("scenario", "segment"),
            "1",
            "the mean risk score of the segment's panel (the provider's members): normalised so the "
            "reference population's mean is 1, with the provider's coding intensity",
        ),
        Variable(
            "panel_members",
            ("scenario", "segment"),
            "members",
            "the segment's panel: the sum of its members' selection weights (members without selection)",
        ),
        Variable(
            "reference_cost",
            ("scenario", "segment"),
            "currency per year",
            "medical cost of the whole segment (the reference population), before selection and before "
            "any model's efficiency; cost is the panel's",
        ),
        Variable(
            "decomposition",
            ("scenario", "model", "component"),
            "currency per year",
            "each model's benchmark-contract payment (payer -> provider) split into efficiency, "
            "selection, coding and random (chance): Shapley values over counterfactual settlements "
            "on the same draws, summing to the settlement in every scenario; NaN without such a contract",
        ),
    )
}

#: variables whose registered dims stand in every cube (no ``year`` added in a multi-year cube)
MULTI_YEAR = ("baseline_cost",)


def expected_dims(name: str, multi_year: bool) -> tuple[str, ...]:
    """A variable's dims: the registry's, with ``year`` after ``scenario`` in a multi-year cube
    (``cumulative_net`` exists only there)."""
    dims = VARIABLES[name].dims
    if not multi_year or name in MULTI_YEAR:
        return dims
    if dims and dims[0] == "scenario":
        return ("scenario", "year", *dims[1:])
    if name == "premium":
        return ("year", "model")
    return dims


def validate(ds: xr.Dataset) -> xr.Dataset:
    """Check that every registered variable present has its registered dims; return ``ds``.

    A cube with a ``year`` dimension (a multi-year run) has it after ``scenario`` in every
    per-scenario variable (:func:`expected_dims`).
    """
    multi_year = "year" in ds.dims
    for name, var in ds.data_vars.items():
        spec = VARIABLES.get(name)
        if spec is None:
            raise ValueError(f"variable {name!r} is not in the registry (vbcsim.variables.VARIABLES)")
        dims = expected_dims(name, multi_year)
        if tuple(var.dims) != dims:
            raise ValueError(f"variable {name!r} has dims {tuple(var.dims)}, registry says {dims}")
    return ds
