"""Agreement periods: a benchmark set from the panel's own cost in the years before, and rebased.

A benchmark-based contract (:class:`~vbcsim.contracts.SharedSavings`) with an
:class:`Agreement` no longer takes its benchmark as a given PMPM.  Each agreement
period of ``length`` performance years gets a historical benchmark from the
covered members' own per-capita cost in the ``baseline_years`` years before it,
weighted ``baseline_weights`` (oldest first; the Medicare Shared Savings Program
weights its three benchmark years 10%, 30% and 60% in a first agreement period,
42 CFR 425.601), each
benchmark year trended to the last one by the market's actual growth (the MSSP
uses a blend of national and regional growth, 425.601), optionally adjusted toward the
region (``regional_blend``) and for savings of the prior period
(``prior_savings_adjustment``), and updated to each performance year
prospectively or by the market's actual growth (the contract's
``benchmark_update``).

The first period's benchmark years precede the agreement: the run simulates them
under the status quo (no efficiency effect; the cube's ``baseline_cost``).  A
later period's benchmark years are the last years of the period before it, with
the provider's efficiency in them: savings lower the next benchmark (the
ratchet), which docs/multi_year.md measures on the built-in panel.

Amounts are in year-1 currency: a multi-year run settles each year's cost
divided by the expected trend index (see :class:`vbcsim.ScenarioRisk`
``annual_trend``) and the cube reports them at each year's level, so "trended
at the expected trend" is a factor 1 here and only the market's deviation from
it (the run's market factor) moves a retrospective benchmark.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from vbcsim._validation import check_positive_int, check_probability

__all__ = [
    "Agreement",
    "MSSP_BASELINE_WEIGHTS",
    "MSSP_AGREEMENT_YEARS",
    "agreement_benchmark",
    "fixed_benchmark",
    "check_benchmark_terms",
    "with_agreement",
]

#: the MSSP weights of the three benchmark years of a first agreement period, oldest first: 10, 30
#: and 60 percent (42 CFR 425.601; Milliman, "Pathways to Success" white papers, 2018-2019)
MSSP_BASELINE_WEIGHTS = (0.1, 0.3, 0.6)

#: the length of an MSSP agreement period for agreement periods from July 1, 2019: not less
#: than 5 years (42 CFR 425.200)
MSSP_AGREEMENT_YEARS = 5

#: the cap on the MSSP regional adjustment and on the prior savings adjustment: 5 percent of
#: national per capita fee-for-service expenditure (42 CFR 425.656 and 425.658)
MSSP_ADJUSTMENT_CAP = 0.05

#: the share of the prior period's average per capita savings that the MSSP adds back
#: (42 CFR 425.658: 50 percent of the average per capita savings of the benchmark years)
MSSP_PRIOR_SAVINGS_SHARE = 0.5


@dataclass(frozen=True)
class Agreement:
    """Agreement periods with a benchmark from the panel's own history, rebased each period.

    Parameters
    ----------
    length : int
        performance years per agreement period (default 5, the MSSP's,
        42 CFR 425.200).  A run of ``years`` performance years holds
        ⌈years / length⌉ periods; each new period rebases.
    baseline_years : int
        benchmark years before each period (default 3, the MSSP's).
    baseline_weights : tuple of float
        the weight of each benchmark year, oldest first, summing to 1
        (default 10/30/60, a first MSSP agreement period, 42 CFR 425.601).
    regional_blend : float
        in [0, 1]: the share of the difference between the region's per capita
        cost (the reference population: the book's expected cost at the
        market's level of the last benchmark year) and the historical
        benchmark that is added to it, capped at ``adjustment_cap`` of the
        region's per capita cost either way (the MSSP regional adjustment,
        42 CFR 425.656: 15% to 50% of the difference by the ACO's agreement
        period and its costs against the region, capped at 5% of national per
        capita expenditure).  Default 0: the historical benchmark alone.
    prior_savings_adjustment : bool
        from the second period on, add ``prior_savings_share`` (50%) of the
        average per capita savings against the benchmark in the benchmark years
        that were performance years of the prior period, capped at
        ``adjustment_cap`` of the region's per capita cost; the ACO receives the
        higher of it and the regional adjustment, not both (42 CFR 425.658).
        Default False.
    adjustment_cap : float
        the cap of both adjustments as a share of the region's per capita cost
        (default 5%, 42 CFR 425.656 and 425.658).
    prior_savings_share : float
        default 50% (42 CFR 425.658).

    Examples
    --------
    >>> import vbcsim
    >>> three_year = vbcsim.Agreement(length=3)
    >>> three_year.periods(5)
    [(1, 3), (4, 5)]
    """

    length: int = MSSP_AGREEMENT_YEARS
    baseline_years: int = 3
    baseline_weights: tuple[float, ...] = MSSP_BASELINE_WEIGHTS
    regional_blend: float = 0.0
    prior_savings_adjustment: bool = False
    adjustment_cap: float = MSSP_ADJUSTMENT_CAP
    prior_savings_share: float = MSSP_PRIOR_SAVINGS_SHARE

    def __post_init__(self):
        owner = "Agreement"
        object.__setattr__(
            self, "length", check_positive_int("length", self.length, owner=owner, strict=True)
        )
        nb = check_positive_int("baseline_years", self.baseline_years, owner=owner, strict=True)
        object.__setattr__(self, "baseline_years", nb)
        w = self.baseline_weights
        if isinstance(w, (str, bytes)) or not hasattr(w, "__iter__"):
            raise TypeError(
                f"{owner}: baseline_weights must be a sequence of numbers, got {type(w).__name__}"
            )
        w = tuple(w)
        for x in w:
            if isinstance(x, bool) or not isinstance(x, numbers.Real):
                raise TypeError(f"{owner}: baseline_weights must be numbers, got {x!r}")
        w = tuple(float(x) for x in w)
        if len(w) != nb:
            raise ValueError(
                f"{owner}: baseline_weights must hold one weight per baseline year ({nb}), got {len(w)}"
            )
        if not all(math.isfinite(x) and x >= 0.0 for x in w) or not math.isclose(sum(w), 1.0, abs_tol=1e-9):
            raise ValueError(f"{owner}: baseline_weights must be non-negative and sum to 1, got {w}")
        object.__setattr__(self, "baseline_weights", w)
        for name in ("regional_blend", "adjustment_cap", "prior_savings_share"):
            object.__setattr__(self, name, check_probability(name, getattr(self, name), owner=owner))
        if not isinstance(self.prior_savings_adjustment, bool):
            raise TypeError(
                f"{owner}: prior_savings_adjustment must be True or False, got {self.prior_savings_adjustment!r}"
            )

    def periods(self, years: int) -> list[tuple[int, int]]:
        """The (first, last) performance year of each agreement period within ``years`` years."""
        return [(a, min(a + self.length - 1, years)) for a in range(1, years + 1, self.length)]


def _capped(ratio, cap, floor):
    """A risk-score ratio within [1 − floor, 1 + cap] (None: that side uncapped)."""
    hi = np.inf if cap is None else 1.0 + cap
    lo = 0.0 if floor is None else 1.0 - floor
    return np.clip(ratio, lo, hi)


def fixed_risk_factor(ctx, segments, cap, floor) -> np.ndarray:
    """The risk adjustment of a fixed benchmark per row: the covered members' mean score.

    A benchmark PMPM is for a member of average risk (score 1); over several years the
    score's growth from year 1 is capped (``cap``, ``floor``), as the MSSP caps it over an
    agreement period (42 CFR 425.605, 425.610: positive growth at 3%).
    """
    score = ctx.risk_score(segments)
    if ctx.year is None:
        return score
    by_year = ctx.by_year(score)
    first = by_year[:, :1]
    return (first * _capped(by_year / first, cap, floor)).reshape(-1)


def agreement_benchmark(agreement: Agreement, ctx, segments, *, update: str, trend_ratio: float = 1.0,
                        risk=None, truncation=None):  # fmt: skip
    """The benchmark of every row (scenario-year) of ``ctx`` under ``agreement``: float[n].

    ``update`` is "prospective" (the benchmark stays at the last benchmark year's level,
    times ``trend_ratio`` per year: the agreed trend against the expected one) or
    "retrospective" (it follows the market factor from the last benchmark year to the
    performance year).  Per capita amounts times the covered members.  ``risk`` (cap,
    floor) risk-adjusts it: × the covered members' mean risk score in the performance year
    over the last benchmark year's, within [1 − floor, 1 + cap] (the MSSP caps the growth at
    3% over the agreement period, 42 CFR 425.605, 425.610; ACO REACH at ±3%).  With
    ``truncation`` (an outlier attachment) each member's cost counts up to it in the benchmark
    years as in the performance years (the MSSP truncates both at the 99th percentile).
    """
    years, nb = ctx.years, agreement.baseline_years
    if ctx.baseline_years < nb:
        raise ValueError(
            f"SharedSavings: the agreement needs {nb} baseline years, the run simulated {ctx.baseline_years}"
        )
    members = ctx.n_members(segments)
    if members <= 0:
        raise ValueError("SharedSavings: the covered segments have no members, so the benchmark is zero")
    cols = ctx._columns(segments)
    n_paths = ctx.n_scenarios // years
    lead = ctx.baseline_years
    base_cost, base_excess = ctx.baseline()
    base = np.asarray(base_cost)[:, :, cols].sum(axis=-1) / members  # (S, B)
    perf = np.asarray(ctx.segment_cost)[:, cols].sum(axis=-1).reshape(n_paths, years) / members
    if truncation is not None:
        excess = (base_excess or {}).get(float(truncation))
        if excess is None:
            raise ValueError(
                f"SharedSavings: the run has no baseline-year excess at outlier_attachment {truncation!r}"
            )
        base = base - np.asarray(excess)[:, :, cols].sum(axis=-1) / members
        perf = perf - ctx.excess(truncation, segments).reshape(n_paths, years) / members
    pc = np.concatenate([base, perf], axis=1)  # per capita by year index j: year j − lead + 1
    market = ctx.market_path if ctx.market_path is not None else np.ones_like(pc)
    region = ctx.reference_per_capita * market  # the region's per capita cost by year
    w = np.asarray(agreement.baseline_weights)
    if risk is not None:  # each year's mean risk score, baseline years first
        scores = np.concatenate(
            [ctx.baseline_risk_score(segments), ctx.by_year(ctx.risk_score(segments))], axis=1
        )
    out = np.empty((n_paths, years))  # the benchmark per capita of each performance year
    for first, last in agreement.periods(years):
        j0 = first - 1 + lead
        by = np.arange(j0 - nb, j0)
        j3 = by[-1]
        hist = (pc[:, by] * (market[:, [j3]] / market[:, by])) @ w
        cap = agreement.adjustment_cap * region[:, j3]
        adjust = np.clip(agreement.regional_blend * (region[:, j3] - hist), -cap, cap)
        if agreement.prior_savings_adjustment and first > 1:
            done = by[by >= lead]  # benchmark years that were performance years
            savings = out[:, done - lead] - pc[:, done]
            psa = np.minimum(agreement.prior_savings_share * np.maximum(savings.mean(axis=1), 0.0), cap)
            # 42 CFR 425.658: the higher of the prior savings adjustment and the regional
            # adjustment, not both
            adjust = np.maximum(adjust, psa)
        rebased = hist + adjust
        for t in range(first, last + 1):
            j = t - 1 + lead
            if update == "retrospective":
                out[:, t - 1] = rebased * market[:, j] / market[:, j3]
            else:
                out[:, t - 1] = rebased * trend_ratio ** (j - j3)
            if risk is not None:
                out[:, t - 1] *= _capped(scores[:, j] / scores[:, j3], *risk)
    return out.reshape(-1) * members


def check_benchmark_terms(contract, owner: str) -> None:
    """A benchmark contract's ``agreement`` and ``benchmark_trend``: checked, with clear errors."""
    if contract.agreement is not None:
        if not isinstance(contract.agreement, Agreement):
            raise TypeError(
                f"{owner}: agreement must be a vbcsim.Agreement or None, got {type(contract.agreement).__name__}"
            )
        if contract.benchmark_pmpm is not None:
            raise ValueError(
                f"{owner}: benchmark_pmpm must be None with an agreement (the agreement sets the benchmark "
                f"from the baseline years), got {contract.benchmark_pmpm!r}"
            )
        if contract.benchmark_trend is not None:
            raise ValueError(
                f"{owner}: benchmark_trend applies to a fixed benchmark_pmpm, not with an agreement "
                "(its benchmark follows benchmark_update)"
            )
    trend = contract.benchmark_trend
    if trend is not None:
        if isinstance(trend, bool) or not isinstance(trend, numbers.Real):
            raise TypeError(f"{owner}: benchmark_trend must be a number or None, got {trend!r}")
        if not (math.isfinite(trend) and -0.5 < trend <= 1.0):
            raise ValueError(
                f"{owner}: benchmark_trend must be in (-0.5, 1] (a growth rate per year), got {trend!r}"
            )
        object.__setattr__(contract, "benchmark_trend", float(trend))


def fixed_benchmark(benchmark: float, trend, ctx):
    """A fixed annual benchmark in each row of ``ctx``: itself in a single-year run.

    A multi-year run settles in year-1 currency (costs divided by the expected trend
    index), so a benchmark indexed at the expected trend stays ``benchmark``; an agreed
    ``trend`` gives ``benchmark × ((1 + trend) / (1 + annual_trend))^(t − 1)`` in year t.
    """
    if ctx.year is None or trend is None:
        return benchmark
    ratio = (1.0 + trend) / (1.0 + ctx.annual_trend)
    return benchmark * ratio ** (np.asarray(ctx.year, dtype=float) - 1.0)


def with_agreement(obj, agreement: Agreement):
    """``obj`` (an Arrangement, a contract, or a tuple of them) with every SharedSavings under ``agreement``.

    Each :class:`~vbcsim.contracts.SharedSavings` inside, however deep (a pooled savings
    contract's, a glide path's stages), loses its fixed ``benchmark_pmpm`` and
    ``benchmark_trend`` and takes its benchmark from the agreement instead.
    """
    import dataclasses

    if not isinstance(agreement, Agreement):
        raise TypeError(f"agreement must be a vbcsim.Agreement, got {type(agreement).__name__}")
    if _takes_agreement(obj):
        return dataclasses.replace(obj, benchmark_pmpm=None, benchmark_trend=None, agreement=agreement)
    if isinstance(obj, (tuple, list)):
        return type(obj)(with_agreement(o, agreement) for o in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            if not f.init:
                continue
            value = getattr(obj, f.name)
            new = with_agreement(value, agreement) if _holds_contracts(value) else value
            if new is not value:
                changes[f.name] = new
        return dataclasses.replace(obj, **changes) if changes else obj
    return obj


def _takes_agreement(obj) -> bool:
    """A benchmark contract with agreement terms (SharedSavings: its fields, not its class, which
    imports this module)."""
    names = getattr(obj, "__dataclass_fields__", {})
    return "agreement" in names and "benchmark_pmpm" in names and "benchmark_trend" in names


def _holds_contracts(value) -> bool:
    from vbcsim.contracts.base import Contract

    if isinstance(value, Contract):
        return True
    return isinstance(value, (tuple, list)) and any(isinstance(v, Contract) for v in value)
