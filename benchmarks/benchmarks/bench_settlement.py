"""Contract settlement: each contract type's ``settle`` on a prebuilt SettlementContext, and the five models'.

The context holds what the engine would hand a model: per-scenario cost of
the provider panel's three segments (20,000 members, the book of business) and
of four other practices' copies of them (a pool, as model 3 uses), Σ (X − a)+
at every attachment the contracts need, the quality score and the premium.
The statistics are synthetic (normal around their exact expectations): a
contract's settlement costs the same whatever the numbers.  The context's
exact aggregate stop-loss function is a normal approximation, so that
``AggregateStopLoss`` times its own arithmetic, not the FFT oracle (timed in
``bench_exact``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

import vbcsim
from vbcsim import contracts, defaults, settle

PANEL_MEMBERS = 20_000
OTHER_PRACTICES = 4
CONTRACTS = (
    "fee_for_service",
    "pay_for_performance",
    "shared_savings",
    "shared_savings_two_sided",
    "capitation",
    "specific_stop_loss",
    "aggregate_stop_loss",
    "risk_corridor",
    "bundled_payment",
    "mlr_rebate",
    "management_fee",
    "pooled_savings",
    "savings_pass_through",
    "joint_venture",
    "user_contract",
)


@njit(cache=False)
def _savings_bonus(medical_cost, excess, quality, premium, members, params):
    """A user kernel: quality × params[1] of the savings below params[0] PMPM, less the excess above 50,000."""
    target = params[0] * 12.0 * members
    out = np.empty_like(medical_cost)
    for s in range(medical_cost.shape[0]):
        out[s] = quality[s] * params[1] * max(target - medical_cost[s] + excess[s, 0], 0.0)
    return out


def make_contract(name: str, pmpm: float, book: tuple, segments: tuple):
    """The contract called ``name``, with terms typical of its kind, priced at ``pmpm`` expected cost."""
    pool = contracts.PooledSavings(
        contracts.SharedSavings(
            pmpm,
            0.6,
            0.01,
            minimum_loss_rate=0.01,
            loss_sharing_rate=0.6,
            loss_cap=0.05,
            segments=segments,
            target="enabler",
        )
    )
    make = {
        "fee_for_service": lambda: contracts.FeeForService(),
        "pay_for_performance": lambda: contracts.PayForPerformance(bonus_pmpm=10.0),
        "shared_savings": lambda: contracts.SharedSavings(pmpm, 0.5, 0.02, outlier_attachment=100_000.0),
        "shared_savings_two_sided": lambda: contracts.SharedSavings(
            pmpm, 0.5, 0.02, minimum_loss_rate=0.02, loss_sharing_rate=0.5, quality_gate=0.6
        ),
        "capitation": lambda: contracts.Capitation(percent_of_premium=0.85),
        "specific_stop_loss": lambda: contracts.SpecificStopLoss(50_000.0),
        "aggregate_stop_loss": lambda: contracts.AggregateStopLoss(1.25, limit_ratio=1.5),
        "risk_corridor": lambda: contracts.RiskCorridor(pmpm, contracts.ACO_REACH_GLOBAL_BANDS),
        "bundled_payment": lambda: contracts.BundledPayment(10_000.0, 0.03, 0.2, 0.2, book[0]),
        "mlr_rebate": lambda: contracts.MLRRebate(),
        "management_fee": lambda: contracts.ManagementFee(3.0),
        "pooled_savings": lambda: pool,
        "savings_pass_through": lambda: contracts.SavingsPassThrough(pool, share=0.6),
        "joint_venture": lambda: contracts.JointVenture(),
        "user_contract": lambda: contracts.UserContract(
            "savings_bonus", _savings_bonus, attachments=(50_000.0,), needs_quality=True, params=(550.0, 0.5)
        ),
    }
    return make[name]()


def _normal_stop_loss(mean: float, sd: float):
    def stop_loss(d: float) -> float:
        z = (d - mean) / sd
        return sd * math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) - (d - mean) * 0.5 * math.erfc(
            z / math.sqrt(2)
        )

    return stop_loss


def segments_and_members(panel: vbcsim.Population):
    """(book segment names, all segment names, members per segment, costs per segment) with the pool."""
    book = tuple(panel.names)
    names, members, costs = list(book), [s.members for s in panel], [s.cost for s in panel]
    for p in range(2, OTHER_PRACTICES + 2):
        for s in panel:
            names.append(f"practice_{p}/{s.name}")
            members.append(s.members)
            costs.append(s.cost)
    return book, tuple(names), np.asarray(members, dtype=np.int64), costs


def synthetic_statistics(members, costs, attachments, scenarios: int, rng) -> tuple:
    """Per-scenario cost (S, G) and excess {a: (S, G)}: normal around the exact means, floored at 0."""
    mean = np.array([n * c.mean() for n, c in zip(members, costs, strict=True)])
    sd = np.array([math.sqrt(n * c.var()) for n, c in zip(members, costs, strict=True)])
    cost = np.maximum(mean + sd * rng.standard_normal((scenarios, len(mean))), 0.0)
    excess = {}
    for a in attachments:
        m = np.array([n * c.stop_loss(a) for n, c in zip(members, costs, strict=True)])
        excess[float(a)] = np.maximum(m * (1.0 + 0.3 * rng.standard_normal((scenarios, len(m)))), 0.0)
    return cost, excess


def make_context(scenarios: int, attachments=(50_000.0, 100_000.0), seed: int = 1):
    """A SettlementContext for the provider panel plus its pool, over ``scenarios`` scenarios."""
    rng = np.random.default_rng(seed)
    panel = defaults.provider_panel(PANEL_MEMBERS)
    book, names, members, costs = segments_and_members(panel)
    cost, excess = synthetic_statistics(members, costs, attachments, scenarios, rng)
    expected = panel.expected_cost()
    sd = math.sqrt(sum(s.members * s.cost.var() for s in panel))
    ctx = contracts.SettlementContext(
        model="bench",
        segments=names,
        book=book,
        members=members,
        segment_cost=cost,
        excess_by_attachment=excess,
        premium=np.full(scenarios, expected / 0.85),
        quality=rng.beta(8.0, 2.0, scenarios),
        expected_cost=expected,
        expected_excess={
            float(a): float(sum(s.members * s.cost.stop_loss(a) for s in panel)) for a in attachments
        },
        aggregate_stop_loss=_normal_stop_loss(expected, sd),
        admin=0.1 * expected / 0.85,
        care_management=5.0 * 12 * panel.members,
    )
    pmpm = expected / panel.members / 12.0
    return ctx, pmpm


class ContractSettlement:
    """``contract.settle(ctx)`` for each contract type, 10,000 scenarios."""

    params = (list(CONTRACTS), [10_000])
    param_names = ["contract", "scenarios"]
    quick_params = (list(CONTRACTS), [50])

    def setup(self, contract, scenarios):
        self.ctx, pmpm = make_context(scenarios)
        self.contract = make_contract(contract, pmpm, self.ctx.book, self.ctx.segments)
        self.contract.settle(self.ctx)  # compiles a user kernel outside the timed region

    def time_settle(self, contract, scenarios):
        self.contract.settle(self.ctx)


class FiveModelSettlement:
    """``vbcsim.settle.settle_models`` for the five partnership models on synthetic engine statistics."""

    params = ([10_000],)
    param_names = ["scenarios"]
    quick_params = ([50],)

    def setup(self, scenarios):
        rng = np.random.default_rng(2)
        panel = defaults.provider_panel(PANEL_MEMBERS)
        self.panel = panel
        self.models = vbcsim.partnership_models(panel)
        book, names, members, costs = segments_and_members(panel)
        pool_names = [s.name for arr in self.models.values() for s in arr.pool]
        if sorted(pool_names) != sorted(names[len(book) :]):
            raise NotImplementedError("the default pool differs from this benchmark's")  # skip, as asv does
        self.segments = names
        self.model_attachments = [arr.attachments() for arr in self.models.values()]
        width = max([len(a) for a in self.model_attachments] + [1])
        n_models = len(self.models)
        self.cost = np.empty((len(names), scenarios, n_models))
        self.excess = np.zeros((len(names), scenarios, n_models, width))
        for m, atts in enumerate(self.model_attachments):
            cost, excess = synthetic_statistics(members, costs, atts, scenarios, rng)
            self.cost[:, :, m] = cost.T
            for k, a in enumerate(atts):
                self.excess[:, :, m, k] = excess[float(a)].T
        self.quality = rng.beta(8.0, 2.0, scenarios)
        self.risk = vbcsim.ScenarioRisk(trend_cv=0.02, shock_probability=0.05, shock_size=0.08)

    def time_settle_models(self, scenarios):
        settle.settle_models(
            self.panel,
            self.models,
            self.cost,
            self.excess,
            self.model_attachments,
            self.quality,
            self.risk,
            segments=self.segments,
        )
