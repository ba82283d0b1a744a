"""Stop-loss protection bought from the reinsurer: per member (specific) and on the total (aggregate).

Whoever bears the claims cost — the payer under fee for service, the provider
under global capitation — can cede the tail of that cost to the
``reinsurer``:

- :class:`SpecificStopLoss` pays, for every member whose annual allowed cost X
  exceeds the attachment point a, ``(1 − coinsurance) × (X − a)``;
- :class:`AggregateStopLoss` pays ``(1 − coinsurance)`` of the population's
  total cost above ``attachment_ratio × expected cost``, up to
  ``limit_ratio × expected cost``.

Both charge a premium: a fixed ``premium_pmpm`` when given, else the exact
expected recovery times ``1 + loading``.  The expected recovery is that of the
population before any efficiency effect (as a reinsurer prices from the
book's experience, not from a programme's promised savings) under the run's
systematic risk: the mixture over the scenario factor of trend and shocks
(:mod:`vbcsim.contracts.pricing`), so excess layers carry leveraged trend.
Each settles as one net transfer ``recovery − premium`` from the reinsurer to
the insured.

When the insured also buys specific stop-loss, the aggregate layer applies to
claims net of specific recoveries, ``C − Σ (X − a)+`` (the retained claims
Σ min(X, a)), as aggregate stop-loss contracts are written: claims above the
specific attachment are the specific layer's and do not count towards the
aggregate attachment, so no dollar is recovered twice.  Its attachment and
default premium use the same net claims.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from vbcsim._validation import check_nonnegative, check_positive, check_probability
from vbcsim.contracts.base import Contract, Needs, Settlement, SettlementContext, check_party, transfer
from vbcsim.contracts.capitation import (
    MAX_LOADING,
    MAX_RATIO,
    _check_bounded,
    _check_optional_real,
    _check_segments,
    _pmpm_nonnegative,
)
from vbcsim.contracts.pricing import expected_factor, mixed_aggregate_stop_loss, net_aggregate_stop_loss

__all__ = ["SpecificStopLoss", "AggregateStopLoss"]


def _check_insured(value, *, owner: str):
    if value is None:
        return None
    check_party("insured", value, owner=owner)
    if value == "reinsurer":
        raise ValueError(
            f"{owner}: insured must not be the reinsurer (it sells the protection), got {value!r}"
        )
    return value


class _StopLoss(Contract):
    """What specific and aggregate stop-loss share: the terms of the cover and how it settles.

    Subclasses define ``recovery(ctx)`` and ``premium(ctx)``.
    """

    def _check_cover_terms(self, owner: str) -> None:
        object.__setattr__(
            self,
            "coinsurance",
            check_probability("coinsurance", self.coinsurance, owner=owner, open_high=True),
        )
        object.__setattr__(
            self,
            "premium_pmpm",
            _check_optional_real("premium_pmpm", self.premium_pmpm, _pmpm_nonnegative, owner=owner),
        )
        object.__setattr__(
            self,
            "loading",
            _check_bounded("loading", self.loading, check_nonnegative, MAX_LOADING, owner=owner),
        )
        object.__setattr__(self, "insured", _check_insured(self.insured, owner=owner))

    def insured_party(self, ctx: SettlementContext) -> str:
        """The party protected: ``insured``, else ``ctx.claims_party``."""
        owner = type(self).__name__
        party = self.insured if self.insured is not None else ctx.claims_party
        check_party("insured (ctx.claims_party)", party, owner=owner)
        if party == "reinsurer":
            raise ValueError(f"{owner}: the insured party resolved to the reinsurer; pass insured explicitly")
        return party

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Reinsurer -> insured: recovery minus premium."""
        return transfer(self.recovery(ctx) - self.premium(ctx), "reinsurer", self.insured_party(ctx))


@dataclass(frozen=True)
class SpecificStopLoss(_StopLoss):
    """Per-member (specific) stop-loss: the reinsurer pays each member's cost above the attachment.

    Parameters
    ----------
    attachment : float
        the per-member annual attachment point (specific deductible) at
        allowed cost, > 0.
    coinsurance : float
        the insured's share of the cost above the attachment, in [0, 1).
    premium_pmpm : float, optional
        premium per member per month (× 12 × members covered), in [0, 1e7].  By default
        the exact expected recovery of the population under the run's
        systematic risk, ``(1 − coinsurance) × ctx.expected_excess[attachment]``
        (E[Σ (f X − a)+], see :mod:`vbcsim.contracts.pricing`), times
        ``1 + loading``.
    loading : float
        the reinsurer's loading on the expected recovery, in [0, 100]
        (default 25%).  Ignored when ``premium_pmpm`` is given.
    insured : str, optional
        who buys the protection: by default ``ctx.claims_party``, the party
        that bears claims cost (the payer under fee for service, the provider
        under global capitation).
    segments : sequence of str, optional
        the segments covered (all by default).  The exact premium needs the
        expected excess of the whole population, so covering only some
        segments needs ``premium_pmpm``.

    Notes
    -----
    Settlement, reinsurer -> insured: ``amount = recovery − premium`` with
    ``recovery = (1 − coinsurance) × Σ_members (X − attachment)+``.
    Flows: insured ``+amount``, reinsurer ``−amount``.

    Examples
    --------
    >>> ssl = SpecificStopLoss(250_000.0)                       # priced at expected + 25%
    >>> ssl_provider = SpecificStopLoss(100_000.0, coinsurance=0.1, insured="provider")
    """

    attachment: float
    coinsurance: float = 0.0
    premium_pmpm: float | None = None
    loading: float = 0.25
    insured: str | None = None
    segments: tuple[str, ...] | None = None

    def __post_init__(self):
        owner = "SpecificStopLoss"
        object.__setattr__(self, "attachment", check_positive("attachment", self.attachment, owner=owner))
        self._check_cover_terms(owner)
        object.__setattr__(self, "segments", _check_segments(self.segments, owner=owner))
        if self.segments is not None and self.premium_pmpm is None:
            raise ValueError(
                f"{owner}: segments={list(self.segments)} needs premium_pmpm (the exact premium is "
                "priced on the whole population's expected excess)"
            )

    def needs(self) -> Needs:
        return Needs(attachments=(self.attachment,))

    def recovery(self, ctx: SettlementContext) -> np.ndarray:
        """What the reinsurer pays per scenario: (1 − coinsurance) × Σ (X − attachment)+."""
        if self.attachment not in ctx.excess_by_attachment:
            raise ValueError(
                f"SpecificStopLoss: the context has no excess at attachment {self.attachment!r} "
                f"(it has {sorted(ctx.excess_by_attachment)}); the engine computes those in needs()"
            )
        return (1.0 - self.coinsurance) * ctx.excess(self.attachment, self.segments)

    def premium(self, ctx: SettlementContext) -> float:
        """The annual stop-loss premium."""
        if self.premium_pmpm is not None:
            return self.premium_pmpm * 12.0 * ctx.n_members(self.segments)
        if self.attachment not in ctx.expected_excess:
            raise ValueError(
                f"SpecificStopLoss: ctx.expected_excess has no entry for attachment {self.attachment!r} "
                "to price the premium; give premium_pmpm"
            )
        return (1.0 - self.coinsurance) * float(ctx.expected_excess[self.attachment]) * (1.0 + self.loading)


@dataclass(frozen=True)
class AggregateStopLoss(_StopLoss):
    """Aggregate stop-loss: the reinsurer pays the total cost above a multiple of its expectation.

    Parameters
    ----------
    attachment_ratio : float
        the aggregate attachment as a multiple of the exact expected claims
        subject to the layer, in (0, 1000]: the population's expected cost
        under the run's systematic risk (E[f] × ``ctx.expected_cost``), or,
        with a specific cover of the same insured, its expected claims net of
        specific recoveries.  Self-funded employer aggregate stop-loss
        typically attaches at 125% of expected claims (the default).
    limit_ratio : float, optional
        the upper limit of the layer as a multiple of expected cost, above
        ``attachment_ratio`` and at most 1000; None (default) for an
        unlimited layer.
    coinsurance : float
        the insured's share of the layer, in [0, 1).
    premium_pmpm : float, optional
        premium per member per month (× 12 × all members), in [0, 1e7]; by default the
        exact expected layer recovery from ``ctx.aggregate_stop_loss``
        (E[(C − att)+] − E[(C − limit)+]) × (1 − coinsurance) × (1 + loading).
    loading : float
        the reinsurer's loading, in [0, 100] (default 25%).
    insured : str, optional
        who buys the protection (default ``ctx.claims_party``).

    Notes
    -----
    With claims N = C (or C − Σ (X − a)+ when the insured has a specific
    cover at a, see :meth:`specific_attachment`), att = attachment_ratio × E[N]
    and limit = limit_ratio × E[N]:
    ``recovery = (1 − coinsurance) × min(max(N − att, 0), limit − att)``
    and the settlement, reinsurer -> insured, is ``recovery − premium``.
    N is the model's claims (after efficiency); E[N] and the exact premium are
    the population's before efficiency, under the systematic risk.

    Examples
    --------
    >>> asl = AggregateStopLoss(1.25)
    >>> layer = AggregateStopLoss(1.10, limit_ratio=1.50, premium_pmpm=4.0)
    """

    attachment_ratio: float = 1.25
    limit_ratio: float | None = None
    coinsurance: float = 0.0
    premium_pmpm: float | None = None
    loading: float = 0.25
    insured: str | None = None

    def __post_init__(self):
        owner = "AggregateStopLoss"
        object.__setattr__(
            self,
            "attachment_ratio",
            _check_bounded("attachment_ratio", self.attachment_ratio, check_positive, MAX_RATIO, owner=owner),
        )
        if self.limit_ratio is not None:
            limit = _check_bounded("limit_ratio", self.limit_ratio, check_positive, MAX_RATIO, owner=owner)
            if not limit > self.attachment_ratio:
                raise ValueError(
                    f"{owner}: limit_ratio must exceed attachment_ratio={self.attachment_ratio!r}, got {limit!r}"
                )
            object.__setattr__(self, "limit_ratio", limit)
        self._check_cover_terms(owner)

    def _specific(self, ctx: SettlementContext):
        """(attachment, covered book segments or None for all) of the insured's specific cover, or None.

        Among the arrangement's :class:`SpecificStopLoss` contracts that protect the same party,
        the lowest attachment (the one that retains least); a cover naming every segment of the
        book is the whole book's.
        """
        insured = self.insured_party(ctx)
        book = tuple(ctx.book if ctx.book is not None else ctx.segments)
        found = []
        for c in ctx.contracts:
            if isinstance(c, SpecificStopLoss) and c.insured_party(ctx) == insured:
                segments = c.segments
                if segments is not None and set(segments) >= set(book):
                    segments = None
                found.append((c.attachment, segments))
        return min(found, key=lambda f: f[0]) if found else None

    def specific_attachment(self, ctx: SettlementContext) -> float | None:
        """The attachment of the insured's specific cover (see :meth:`claims`), or None."""
        found = self._specific(ctx)
        return None if found is None else found[0]

    def claims(self, ctx: SettlementContext) -> np.ndarray:
        """Claims subject to the layer per scenario: C, net of specific recoveries Σ (X − a)+ if any.

        With a specific cover of some segments only, the recoveries of those segments; claims
        above the specific attachment count towards neither the aggregate attachment nor its
        recoveries, also the insured's coinsurance share of them (claims count up to the
        specific deductible, as aggregate contracts are written).
        """
        found = self._specific(ctx)
        if found is None:
            return ctx.medical_cost
        a, segments = found
        return ctx.medical_cost - ctx.excess(a, segments)

    def _pricing(self, ctx: SettlementContext):
        """(d -> exact E[(N − d)+], E[N]) of the population's claims under the systematic risk."""
        found = self._specific(ctx)
        if found is not None:
            if ctx.population is None:
                raise ValueError(
                    "AggregateStopLoss: pricing the layer net of specific recoveries needs the population "
                    "(ctx.population is None); give premium_pmpm"
                )
            a, segments = found
            key = (ctx.population, float(a), ctx.scenario_risk, segments)
            try:
                return _net_pricing(*key)
            except TypeError:  # a user's unhashable distribution: price without the cache
                return net_aggregate_stop_loss(*key)
        oracle = ctx.aggregate_stop_loss
        if oracle is not None:
            oracle = mixed_aggregate_stop_loss(oracle, ctx.scenario_risk)
        return oracle, expected_factor(ctx.scenario_risk) * float(ctx.expected_cost)

    def expected_claims(self, ctx: SettlementContext) -> float:
        """E[N]: the expected claims subject to the layer (before efficiency, under systematic risk)."""
        return self._pricing(ctx)[1]

    def attachment(self, ctx: SettlementContext) -> float:
        """The aggregate attachment point in money: attachment_ratio × expected claims."""
        return self.attachment_ratio * self.expected_claims(ctx)

    def limit(self, ctx: SettlementContext) -> float:
        """The upper limit of the layer in money (inf when unlimited)."""
        return np.inf if self.limit_ratio is None else self.limit_ratio * self.expected_claims(ctx)

    def recovery(self, ctx: SettlementContext) -> np.ndarray:
        """(1 − coinsurance) × min(max(N − att, 0), limit − att) per scenario."""
        att, lim = self.attachment(ctx), self.limit(ctx)
        layer = np.minimum(np.maximum(self.claims(ctx) - att, 0.0), lim - att)
        return (1.0 - self.coinsurance) * layer

    def expected_recovery(self, ctx: SettlementContext) -> float:
        """The exact expected recovery (before efficiency, under systematic risk)."""
        oracle, _ = self._pricing(ctx)
        if oracle is None:
            raise ValueError(
                "AggregateStopLoss: no exact aggregate stop-loss function in the context "
                "(ctx.aggregate_stop_loss is None) to price the premium; give premium_pmpm"
            )
        expected = float(oracle(self.attachment(ctx)))
        if self.limit_ratio is not None:
            expected -= float(oracle(self.limit(ctx)))
        return (1.0 - self.coinsurance) * max(expected, 0.0)

    def premium(self, ctx: SettlementContext) -> float:
        """The annual aggregate stop-loss premium: premium_pmpm, else (1 + loading) × expected recovery."""
        if self.premium_pmpm is not None:
            return self.premium_pmpm * 12.0 * ctx.n_members()
        return self.expected_recovery(ctx) * (1.0 + self.loading)


@functools.lru_cache(maxsize=16)
def _net_pricing(population, attachment: float, scenario_risk, segments):
    # one set of FFTs per (population, specific attachment, systematic risk, covered segments),
    # shared by every model and every chunk of a streamed run
    return net_aggregate_stop_loss(population, attachment, scenario_risk, segments)
