"""Shared savings (and losses) against a benchmark, following the Medicare Shared Savings Program.

The payer sets a benchmark B for the covered members' annual cost; at the end
of the year the provider (an accountable care organisation, ACO) shares the
savings S = B − A if its actual cost A beat the benchmark by at least a
minimum savings rate (MSR), and — in a two-sided arrangement — repays a share
of the losses if A exceeded B by at least a minimum loss rate (MLR).  The
rules follow the Medicare Shared Savings Program (MSSP), 42 CFR part 425
subpart G:

- savings are shared only when ``S / B ≥ MSR``, and then *from the first
  dollar*: the ACO receives the sharing rate times all the savings under the
  benchmark, not only those beyond the MSR (42 CFR 425.604 for the original
  one-sided model, 425.605 BASIC track, 425.610 ENHANCED track);
- the payment is limited to 10% (BASIC) or 20% (ENHANCED) of the benchmark;
- losses are shared when ``−S / B ≥ MLR``, also from the first dollar, at the
  shared loss rate, up to a loss limit;
- the final sharing rate depends on quality performance (``quality_rule``);
- savings payments, not loss repayments, lose 2% to sequestration;
- the benchmark is updated by the year's actual national-regional growth;
- catastrophic claims are truncated: MSSP caps each assigned beneficiary's
  annual expenditure at the 99th percentile of national Medicare FFS
  expenditure (42 CFR 425.604(a), 425.605(a), 425.610(a)), which here is
  ``A = Σ min(X, a) = C − Σ (X − a)+`` for an ``outlier_attachment`` a.

:func:`mssp_minimum_savings_rate` implements the MSR table of 42 CFR
425.604(b), and :meth:`SharedSavings.mssp_basic` /
:meth:`SharedSavings.mssp_enhanced` the BASIC and ENHANCED track parameters.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from vbcsim._validation import check_nonnegative, check_positive, check_probability
from vbcsim.contracts.agreement import (
    Agreement,
    agreement_benchmark,
    check_benchmark_terms,
    fixed_benchmark,
    fixed_risk_factor,
)
from vbcsim.contracts.base import Contract, Needs, Settlement, SettlementContext, transfer
from vbcsim.contracts.capitation import (
    MAX_RATIO,
    _check_bounded,
    _check_optional_real,
    _check_segments,
    _pmpm_positive,
)
from vbcsim.contracts.fee_for_service import (
    _check_bool,
    _check_parties,
    _members_benchmark,
    _scenario_quality,
)
from vbcsim.contracts.mssp_rules import (  # noqa: F401  (re-exported: the MSSP's parameters)
    _MSR_FLOOR,
    BENCHMARK_UPDATES,
    MSSP_ALTERNATIVE_QUALITY_STANDARD,
    MSSP_BASIC_LEVELS,
    MSSP_ENHANCED,
    MSSP_MINIMUM_BENEFICIARIES,
    MSSP_MSR_TABLE,
    MSSP_QUALITY_STANDARD,
    MSSP_RISK_SCORE_CAP,
    MSSP_SEQUESTRATION,
    MSSP_SYMMETRIC_MSR_ELECTIONS,
    QUALITY_RULES,
    _mssp_msr,
    mssp_minimum_savings_rate,
)

__all__ = [
    "SharedSavings",
    "mssp_minimum_savings_rate",
    "MSSP_MINIMUM_BENEFICIARIES",
    "MSSP_MSR_TABLE",
    "MSSP_SYMMETRIC_MSR_ELECTIONS",
    "MSSP_BASIC_LEVELS",
    "MSSP_ENHANCED",
    "MSSP_QUALITY_STANDARD",
    "MSSP_ALTERNATIVE_QUALITY_STANDARD",
    "MSSP_SEQUESTRATION",
    "QUALITY_RULES",
    "BENCHMARK_UPDATES",
]

# -- the contract ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedSavings(Contract):
    """Shared savings against a benchmark, one- or two-sided, MSSP-style.

    Parameters
    ----------
    benchmark_pmpm : float
        the benchmark per member per month, in (0, 1e7]; the annual benchmark is
        ``B = benchmark_pmpm × 12 × members`` of the covered segments.
    sharing_rate : float
        the provider's share of savings, in [0, 1] (the maximum sharing rate
        when quality adjusts it).
    minimum_savings_rate : float
        the MSR, in [0, 1): savings are shared only when ``S / B ≥ MSR``.
        See :func:`mssp_minimum_savings_rate` for the MSSP table.  From the
        first dollar, ``sharing_rate × minimum_savings_rate`` must stay below
        ``savings_cap`` (else every payment would be the cap: a ValueError).
    minimum_loss_rate : float, optional
        the MLR, in [0, 1).  Given, the arrangement is two-sided: the provider
        repays a share of losses when ``−S / B ≥ MLR``.  None (default):
        one-sided, the provider never pays.  From the first dollar,
        ``loss_sharing_rate × minimum_loss_rate`` at or above ``loss_cap``
        makes every repayment the loss cap: accepted (the MSSP's BASIC level C
        does that for small ACOs) with a UserWarning.
    loss_sharing_rate : float, optional
        the provider's share of losses, in [0, 1]; required exactly when
        ``minimum_loss_rate`` is given.  With ``quality_scales_losses`` it is
        the maximum shared loss rate.
    savings_cap : float or None
        the largest shared-savings payment as a fraction of the benchmark,
        ≥ 0, or None for no limit.  Default 0.10: the MSSP BASIC track's
        performance payment limit, 10% of the updated benchmark (42 CFR
        425.605(d)), also the original one-sided model's (425.604).
    loss_cap : float or None
        the largest repayment as a fraction of the benchmark, ≥ 0, or None for
        no limit; ignored by one-sided arrangements.  Default 0.04: the BASIC
        track's level E loss limit, 4% of the updated benchmark (42 CFR
        425.605(d)(1)(v)), the highest-risk level of the track most MSSP ACOs
        are in (the ENHANCED track's is 15%).
    quality_gate : float, optional
        ``quality_rule="linear"`` only: a quality threshold g in [0, 1].  None
        (default): no quality adjustment.  Given: nothing is shared in a
        scenario whose quality score q is below g, and at or above g the
        sharing rate is multiplied by q (the final sharing rate
        ``sharing_rate × q``).  Needs the scenario quality score.
    outlier_attachment : float, optional
        a per-member annual cost a > 0 at which each member's cost is
        truncated before comparison with the benchmark:
        ``A = C − Σ (X − a)+``.  Needs the per-member excess at a.
    first_dollar : bool
        True (default): once the MSR (MLR) is met, share all savings (losses)
        from the first dollar, as in the MSSP.  False: share only the savings
        beyond ``MSR × B`` (and the losses beyond ``MLR × B``), as in many
        commercial contracts with a corridor.
    segments : sequence of str, optional
        the segments covered (all by default): their members set the
        benchmark and their cost the actual spend.
    quality_scales_losses : bool
        False (default): the shared loss rate is ``loss_sharing_rate``
        whatever the quality.  True (two-sided only): the MSSP ENHANCED
        track's rule, shared loss rate ``= 1 − final sharing rate``, bounded
        below by ``loss_sharing_floor`` and above by ``loss_sharing_rate``
        (42 CFR 425.610: 1 − final sharing rate, at least 40%, at most 75%),
        so better quality lowers the losses repaid; failing the quality gate
        means the maximum rate.
    loss_sharing_floor : float, optional
        the lowest shared loss rate under ``quality_scales_losses``, in
        [0, ``loss_sharing_rate``] (default 0).
    source, target : str
        the payer of shared savings and the party that earns them (default
        payer -> provider; an enabler that takes the ACO's savings would be
        ``target="enabler"``).
    quality_rule : {"linear", "mssp"}
        "linear" (default): the pre-2021 rule of ``quality_gate``.  "mssp":
        the rule since 2021 (42 CFR 425.512(a), 425.605(d), 425.610(d)):
        q ≥ ``quality_standard`` earns the full ``sharing_rate``,
        ``alternative_standard`` ≤ q < ``quality_standard`` earns
        ``sharing_rate × q``, below nothing (and under
        ``quality_scales_losses`` the maximum shared loss rate).
    quality_standard, alternative_standard : float, optional
        "mssp" only: thresholds on q in [0, 1], alternative ≤ standard; None:
        :data:`MSSP_QUALITY_STANDARD` (0.40), :data:`MSSP_ALTERNATIVE_QUALITY_STANDARD`
        (0.10), a mapping of q to MIPS percentiles.  Equal thresholds: no
        alternative standard (as in 2021-2022).
    participant_revenue, revenue_loss_cap : float, optional
        two-sided, both or neither: the ACO participants' total Medicare Parts
        A and B FFS revenue as a ratio to the (updated) benchmark, in
        (0, 1000] (low for a physician-led ACO, high for one with
        hospitals), and the revenue-based loss limit as a fraction of it, in
        [0, 1]: repayments are at most the lesser of ``loss_cap × B`` and
        ``revenue_loss_cap × participant_revenue × B`` (42 CFR 425.605(d)).
    sequestration : float
        the share withheld from savings payments (after the cap; not from
        loss repayments), in [0, 1); 2% in the MSSP presets.
    benchmark_update : {"prospective", "retrospective"}
        "prospective" (default): fixed in advance, as a commercial PMPM
        target.  "retrospective": ``B × ctx.market_factor``, the benchmark
        updated by the market-wide part of the year's systematic multiplier,
        as MSSP updates it by actual national-regional growth (42 CFR 425.601,
        425.652; the prospective trend CMS blends in from 2024 is not
        modelled): a market-wide shock is neither savings nor loss.
        ``benchmark_pmpm`` is then the benchmark before the update (price it
        without systematic risk: the multiplier's mean is in the update); the
        MSR, MLR and caps apply to the updated benchmark.
    agreement : Agreement, optional
        agreement periods (:class:`vbcsim.Agreement`): the benchmark of each
        period is set from the covered members' own cost in the baseline years
        before it and rebased every period (docs/multi_year.md);
        ``benchmark_pmpm`` must then be None, and ``benchmark_update`` says
        how it moves from the last baseline year to each performance year.
    benchmark_trend : float, optional
        in runs over several years, the agreed annual trend of a fixed
        ``benchmark_pmpm`` target (a commercial PMPM target with an agreed
        trend), in (−0.5, 1]: year t's benchmark is ``benchmark_pmpm × (1 +
        benchmark_trend)^(t − 1)``.  None (default): the run's expected trend
        (:class:`vbcsim.ScenarioRisk` ``annual_trend``), as every currency
        term of a multi-year run is indexed.
    risk_adjusted : bool
        multiply the benchmark by the covered members' mean risk score (a run
        with ``risk_score=``, :class:`vbcsim.RiskScore`): a fixed
        ``benchmark_pmpm`` is for a member of average risk, so × the score;
        under an agreement × the score's growth from the last benchmark year.
        Default False.
    risk_cap, risk_floor : float, optional
        the most the score may grow (``risk_cap``, default 3%: the MSSP cap over an
        agreement period, 42 CFR 425.605, 425.610) or fall (``risk_floor``, default
        None: uncapped; ACO REACH: 3%) from its reference (the last benchmark year, or
        year 1 of a fixed benchmark); None: uncapped.

    Notes
    -----
    Per scenario, with C the covered segments' medical cost at allowed rates,
    B the (updated) benchmark, ``A = C`` (or ``C − Σ (X − a)+``), ``S = B − A``,
    q the quality score and ``r = sharing_rate × f(q)`` the final sharing rate
    (linear rule: ``f = 1`` without a gate, else ``f(q) = q·1[q ≥ g]``; MSSP
    rule: 1, q or 0 by standard, alternative standard or neither):

    - savings, ``S > 0`` and ``S ≥ MSR × B``:
      ``amount = (1 − sequestration) × min(r × S', savings_cap × B)`` with
      ``S' = S`` (first dollar) or ``S − MSR × B``;
    - losses (two-sided), ``S < 0`` and ``−S ≥ MLR × B``:
      ``amount = −min(ℓ × L', λ × B)`` with ``L' = −S`` (first dollar)
      or ``−S − MLR × B``, ``λ = min(loss_cap, revenue_loss_cap ×
      participant_revenue)`` and ``ℓ = loss_sharing_rate``, or under
      ``quality_scales_losses`` ``ℓ = clip(1 − r, loss_sharing_floor,
      loss_sharing_rate)``;
    - otherwise 0.

    The amount moves from ``source`` to ``target``.  A one-sided arrangement
    never charges the target (amount ≥ 0).  The amount never decreases when
    ``sharing_rate`` rises.

    Simplifications against the MSSP: the benchmark is given (no risk
    adjustment or regional blend; its update, if any, is the market factor);
    the quality score is one number mapped to the standards.

    Examples
    --------
    >>> one_sided = SharedSavings(450.0, sharing_rate=0.5, minimum_savings_rate=0.02)
    >>> one_sided.two_sided
    False
    >>> two_sided = SharedSavings(450.0, 0.5, 0.02, minimum_loss_rate=0.02, loss_sharing_rate=0.3)
    >>> basic_e = SharedSavings.mssp_basic(900.0, beneficiaries=12_000, level="E")
    >>> round(basic_e.minimum_savings_rate, 4)
    0.0288
    >>> enhanced = SharedSavings.mssp_enhanced(900.0, minimum_savings_rate=0.0)
    >>> enhanced.quality_rule, enhanced.sequestration, enhanced.benchmark_update
    ('mssp', 0.02, 'retrospective')
    """

    benchmark_pmpm: float
    sharing_rate: float
    minimum_savings_rate: float
    minimum_loss_rate: float | None = None
    loss_sharing_rate: float | None = None
    savings_cap: float | None = 0.10
    loss_cap: float | None = 0.04
    quality_gate: float | None = None
    outlier_attachment: float | None = None
    first_dollar: bool = True
    segments: tuple[str, ...] | None = None
    quality_scales_losses: bool = False
    loss_sharing_floor: float | None = None
    source: str = "payer"
    target: str = "provider"
    quality_rule: str = "linear"
    quality_standard: float | None = None
    alternative_standard: float | None = None
    participant_revenue: float | None = None
    revenue_loss_cap: float | None = None
    sequestration: float = 0.0
    benchmark_update: str = "prospective"
    agreement: Agreement | None = field(default=None, metadata={"omit_default": True})
    benchmark_trend: float | None = field(default=None, metadata={"omit_default": True})
    risk_adjusted: bool = field(default=False, metadata={"omit_default": True})
    risk_cap: float | None = field(default=MSSP_RISK_SCORE_CAP, metadata={"omit_default": True})
    risk_floor: float | None = field(default=None, metadata={"omit_default": True})

    def __post_init__(self):
        owner = "SharedSavings"

        def put(name, check, *args, **kw):  # check the field ``name`` and store the checked value
            object.__setattr__(self, name, check(name, getattr(self, name), *args, owner=owner, **kw))

        check_benchmark_terms(self, owner)
        put("risk_adjusted", _check_bool)
        for name in ("risk_cap", "risk_floor"):
            put(name, _check_optional_real, check_nonnegative)
        if self.agreement is None:
            put("benchmark_pmpm", _pmpm_positive)
        put("sharing_rate", check_probability)
        put("minimum_savings_rate", check_probability, open_high=True)
        if (self.minimum_loss_rate is None) != (self.loss_sharing_rate is None):
            given, missing = ("loss_sharing_rate", "minimum_loss_rate")
            if self.loss_sharing_rate is None:
                given, missing = missing, given
            raise ValueError(
                f"{owner}: {given}={getattr(self, given)!r} needs {missing} "
                "(a two-sided arrangement gives both; a one-sided one neither)"
            )
        if self.minimum_loss_rate is not None:
            put("minimum_loss_rate", check_probability, open_high=True)
            put("loss_sharing_rate", check_probability)
        put("savings_cap", _check_optional_real, check_nonnegative)
        put("loss_cap", _check_optional_real, check_nonnegative)
        put("quality_gate", _check_optional_real, check_probability)
        put("outlier_attachment", _check_optional_real, check_positive)
        put("first_dollar", _check_bool)
        object.__setattr__(self, "segments", _check_segments(self.segments, owner=owner))
        put("quality_scales_losses", _check_bool)
        scales = self.quality_scales_losses
        if scales and self.minimum_loss_rate is None:
            raise ValueError(
                f"{owner}: quality_scales_losses=True needs a two-sided arrangement "
                "(minimum_loss_rate and loss_sharing_rate)"
            )
        if self.loss_sharing_floor is not None:
            if not scales:
                raise ValueError(
                    f"{owner}: loss_sharing_floor={self.loss_sharing_floor!r} applies only with "
                    "quality_scales_losses=True"
                )
            put("loss_sharing_floor", check_probability)
            if self.loss_sharing_floor > self.loss_sharing_rate:
                raise ValueError(
                    f"{owner}: loss_sharing_floor must not exceed loss_sharing_rate={self.loss_sharing_rate!r}, "
                    f"got {self.loss_sharing_floor!r}"
                )
        _check_parties(self.source, self.target, owner=owner)
        # the MSSP rules of today: quality standards, revenue-based loss limit, sequestration, update
        if _choice("quality_rule", self.quality_rule, QUALITY_RULES, owner) == "linear":
            for name in ("quality_standard", "alternative_standard"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"{owner}: {name}={getattr(self, name)!r} applies only with quality_rule='mssp'"
                    )
        else:
            if self.quality_gate is not None:
                raise ValueError(
                    f"{owner}: quality_gate={self.quality_gate!r} belongs to quality_rule='linear'; the 'mssp' "
                    "rule uses quality_standard and alternative_standard"
                )
            for name, default in (
                ("quality_standard", MSSP_QUALITY_STANDARD),
                ("alternative_standard", MSSP_ALTERNATIVE_QUALITY_STANDARD),
            ):
                if getattr(self, name) is None:
                    object.__setattr__(self, name, default)
                put(name, check_probability)
            if self.alternative_standard > self.quality_standard:
                raise ValueError(
                    f"{owner}: alternative_standard={self.alternative_standard!r} must not exceed "
                    f"quality_standard={self.quality_standard!r}"
                )
        if (self.participant_revenue is None) != (self.revenue_loss_cap is None):
            given, missing = ("participant_revenue", "revenue_loss_cap")
            if self.participant_revenue is None:
                given, missing = missing, given
            raise ValueError(f"{owner}: {given} needs {missing} (the revenue-based loss limit takes both)")
        if self.participant_revenue is not None:
            if not self.two_sided:
                raise ValueError(
                    f"{owner}: participant_revenue and revenue_loss_cap limit shared losses, which a one-sided "
                    "arrangement does not share"
                )
            put("participant_revenue", _check_bounded, check_positive, MAX_RATIO)
            put("revenue_loss_cap", check_probability)
        put("sequestration", check_probability, open_high=True)
        _choice("benchmark_update", self.benchmark_update, BENCHMARK_UPDATES, owner)
        self._check_thresholds_against_caps(owner)

    @property
    def loss_limit(self) -> float | None:
        """The loss sharing limit as a fraction of the benchmark: the lesser of the two limits (None: none)."""
        limits = [self.loss_cap] if self.loss_cap is not None else []
        if self.revenue_loss_cap is not None:
            limits.append(self.revenue_loss_cap * self.participant_revenue)
        return min(limits) if limits else None

    def _check_thresholds_against_caps(self, owner: str) -> None:
        """Warn (naming both terms) of an MSR or MLR that leaves only the cap to pay, from the first dollar.

        Such terms settle coherently, all or nothing, and arise unchosen: an MSR derived from a
        tiny panel's own cost, or MSSP BASIC level C with the 3.9% size-based MLR.
        """
        r, msr, cap = self.sharing_rate, self.minimum_savings_rate, self.savings_cap
        if self.first_dollar and cap is not None and cap > 0.0 and r > 0.0 and r * msr >= cap:
            warnings.warn(
                f"{owner}: minimum_savings_rate={msr!r} reaches savings_cap={cap!r}: from the first "
                f"dollar, savings that meet the MSR earn at least sharing_rate × minimum_savings_rate = "
                f"{r * msr:.4g} of the benchmark, at or above the cap, so every payment is the cap and "
                f"sharing_rate={r!r} does not matter; lower minimum_savings_rate below "
                f"savings_cap / sharing_rate = {cap / r:.4g}, raise savings_cap, or set first_dollar=False "
                "if that is not intended",
                UserWarning,
                stacklevel=4,
            )
        if not self.two_sided:
            return
        rate, mlr, loss_cap = self.loss_sharing_rate, self.minimum_loss_rate, self.loss_limit
        if (
            self.first_dollar
            and loss_cap is not None
            and loss_cap > 0.0
            and rate > 0.0
            and rate * mlr >= loss_cap
        ):
            warnings.warn(
                f"{owner}: minimum_loss_rate={mlr!r} with loss_sharing_rate={rate!r} reaches "
                f"loss_cap={loss_cap!r}: from the first dollar, losses that meet the MLR owe at least "
                f"{rate * mlr:.4g} of the benchmark, so every repayment is the loss cap (as at MSSP BASIC "
                "level C with a size-based MLR); lower minimum_loss_rate or raise loss_cap if that is "
                "not intended",
                UserWarning,
                stacklevel=4,
            )

    # -- presets -------------------------------------------------------------------------------

    @classmethod
    def mssp_basic(
        cls,
        benchmark_pmpm: float,
        beneficiaries: int | None = None,
        level: str = "E",
        *,
        minimum_savings_rate: float | None = None,
        quality_gate: float | None = None,
        outlier_attachment: float | None = None,
        segments=None,
        target: str = "provider",
        quality_rule: str | None = None,
        quality_standard: float | None = None,
        alternative_standard: float | None = None,
        participant_revenue: float | None = None,
        sequestration: float = MSSP_SEQUESTRATION,
        benchmark_update: str = "retrospective",
    ) -> SharedSavings:
        """The MSSP BASIC track at glide-path level A-E (42 CFR 425.605, :data:`MSSP_BASIC_LEVELS`).

        Levels A and B are one-sided: up to 40% of savings, MSR from the
        number of assigned beneficiaries (425.605(b), the table of 425.604(b)).
        Levels C, D and E are two-sided: up to 50% of savings, 30% of losses,
        loss limit 1%, 2% and 4% of the benchmark (given ``participant_revenue``,
        the lesser of that and 2%, 4% and 8% of revenue), and a symmetric MSR/MLR
        elected from :data:`MSSP_SYMMETRIC_MSR_ELECTIONS` or size-based from
        ``beneficiaries`` (425.605(b)).  Savings are capped at 10% of the
        benchmark and shared from the first dollar.  By default today's rules:
        the MSSP quality rule, 2% sequestration, a retrospective benchmark update.

        Parameters
        ----------
        benchmark_pmpm : float
            the benchmark per member per month (before the retrospective
            update: see :class:`SharedSavings` ``benchmark_update``).
        beneficiaries : int, optional
            the number of assigned beneficiaries (≥ 5,000) for the size-based
            MSR; required at levels A and B.
        level : {"A", "B", "C", "D", "E"}
            the glide-path level (default E, the highest risk).
        minimum_savings_rate : float, optional
            the elected symmetric MSR/MLR at levels C-E.
        quality_rule : {"mssp", "linear"}, optional
            None (default): "mssp", or "linear" when ``quality_gate`` is given
            (the pre-2021 rule: rate × quality score behind the gate).
        participant_revenue : float, optional
            levels C-E: participants' Parts A and B FFS revenue as a ratio to
            the benchmark, for the revenue-based loss limit; None: the
            benchmark-based limit alone.
        sequestration, benchmark_update
            default 2% (:data:`MSSP_SEQUESTRATION`) and "retrospective".
        quality_gate, quality_standard, alternative_standard, outlier_attachment, segments, target
            as for :class:`SharedSavings` (the MSSP truncates beneficiaries'
            expenditure at the 99th percentile of national Medicare FFS
            expenditure: pass that amount as ``outlier_attachment``).
        """
        owner = "SharedSavings.mssp_basic"
        if isinstance(level, str):
            level = level.upper()
        if not isinstance(level, str) or level not in MSSP_BASIC_LEVELS:
            raise ValueError(
                f"{owner}: level must be one of {', '.join(map(repr, MSSP_BASIC_LEVELS))}, got {level!r}"
            )
        p = MSSP_BASIC_LEVELS[level]
        two_sided = p["loss_sharing_rate"] is not None
        msr = _mssp_msr(beneficiaries, minimum_savings_rate, two_sided=two_sided, owner=owner)
        if participant_revenue is not None and not two_sided:
            raise ValueError(
                f"{owner}: participant_revenue limits losses, which level {level} does not share"
            )
        return cls._mssp(
            benchmark_pmpm,
            p,
            msr,
            two_sided,
            quality_gate=quality_gate,
            outlier_attachment=outlier_attachment,
            segments=segments,
            target=target,
            quality_rule=quality_rule,
            quality_standard=quality_standard,
            alternative_standard=alternative_standard,
            participant_revenue=participant_revenue,
            revenue_loss_cap=None if participant_revenue is None else p["revenue_loss_cap"],
            sequestration=sequestration,
            benchmark_update=benchmark_update,
        )

    @classmethod
    def mssp_enhanced(
        cls,
        benchmark_pmpm: float,
        beneficiaries: int | None = None,
        *,
        minimum_savings_rate: float | None = None,
        quality_gate: float | None = None,
        outlier_attachment: float | None = None,
        segments=None,
        target: str = "provider",
        quality_rule: str | None = None,
        quality_standard: float | None = None,
        alternative_standard: float | None = None,
        sequestration: float = MSSP_SEQUESTRATION,
        benchmark_update: str = "retrospective",
    ) -> SharedSavings:
        """The MSSP ENHANCED track (42 CFR 425.610, :data:`MSSP_ENHANCED`).

        Up to 75% of savings, capped at 20% of the benchmark; shared loss rate
        1 − the final sharing rate, at least 40% and at most 75%, losses capped
        at 15% of the benchmark.  Under the MSSP quality rule (default): 75% of
        savings and 40% of losses when the quality standard is met, 75% × q and
        1 − 75% × q (at most 75%) under the alternative standard, no savings
        and 75% of losses when both fail.  Under the linear rule (given a
        ``quality_gate``): 75% × q behind the gate, 75% of losses below it.
        Symmetric MSR/MLR elected as at BASIC levels C-E (425.610(b)):
        ``minimum_savings_rate`` from :data:`MSSP_SYMMETRIC_MSR_ELECTIONS`, or
        size-based from ``beneficiaries``.  Other parameters as for
        :meth:`mssp_basic`.
        """
        owner = "SharedSavings.mssp_enhanced"
        msr = _mssp_msr(beneficiaries, minimum_savings_rate, two_sided=True, owner=owner)
        return cls._mssp(
            benchmark_pmpm,
            MSSP_ENHANCED,
            msr,
            True,
            quality_gate=quality_gate,
            outlier_attachment=outlier_attachment,
            segments=segments,
            target=target,
            quality_rule=quality_rule,
            quality_standard=quality_standard,
            alternative_standard=alternative_standard,
            sequestration=sequestration,
            benchmark_update=benchmark_update,
            quality_scales_losses=True,
            loss_sharing_floor=MSSP_ENHANCED["loss_sharing_floor"],
        )

    @classmethod
    def _mssp(
        cls, benchmark_pmpm, p, msr, two_sided, *, quality_gate, quality_rule, **terms
    ) -> SharedSavings:
        # an MSSP track's parameter table p as a contract: first-dollar sharing, symmetric MSR/MLR;
        # a repayment always at the loss cap is the regulation's own outcome here, not a warning
        if quality_rule is None:
            quality_rule = "mssp" if quality_gate is None else "linear"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*reaches loss_cap", category=UserWarning)
            return cls(
                benchmark_pmpm,
                sharing_rate=p["sharing_rate"],
                minimum_savings_rate=msr,
                minimum_loss_rate=msr if two_sided else None,
                loss_sharing_rate=p["loss_sharing_rate"],
                savings_cap=p["savings_cap"],
                loss_cap=p["loss_cap"],
                quality_gate=quality_gate,
                first_dollar=True,
                quality_rule=quality_rule,
                **terms,
            )

    # -- the settlement --------------------------------------------------------------------------

    @property
    def two_sided(self) -> bool:
        """Whether the provider shares losses."""
        return self.minimum_loss_rate is not None

    def needs(self) -> Needs:
        atts = () if self.outlier_attachment is None else (self.outlier_attachment,)
        return Needs(attachments=atts, quality=self.quality_gate is not None or self.quality_rule == "mssp")

    def benchmark(self, ctx: SettlementContext):
        """The annual benchmark B = benchmark_pmpm × 12 × members covered (before any update).

        In a multi-year run, B of each row (scenario-year): under an agreement the rebased
        benchmark, already updated to the performance year; else trended by
        ``benchmark_trend`` (:func:`vbcsim.contracts.agreement.fixed_benchmark`).
        """
        risk = (self.risk_cap, self.risk_floor) if self.risk_adjusted else None
        if self.agreement is not None:
            return agreement_benchmark(
                self.agreement, ctx, self.segments, update=self.benchmark_update, risk=risk,
                truncation=self.outlier_attachment,
            )  # fmt: skip
        b = _members_benchmark(self.benchmark_pmpm, ctx, self.segments, owner="SharedSavings")
        b = fixed_benchmark(b, self.benchmark_trend, ctx)
        if risk is not None:
            b = b * fixed_risk_factor(ctx, self.segments, *risk)
        return b

    def updated_benchmark(self, ctx: SettlementContext):
        """The benchmark settled against: B, or B × ctx.market_factor (S,) when updated retrospectively.

        A retrospective update without a market factor in the context (no scenario risk) is B.
        """
        b = self.benchmark(ctx)
        if self.agreement is not None:
            return b  # updated to each performance year by the agreement
        if self.benchmark_update == "prospective" or ctx.market_factor is None:
            return b
        m = np.asarray(ctx.market_factor, dtype=float)
        if m.shape != (ctx.n_scenarios,) or not (np.isfinite(m).all() and (m > 0.0).all()):
            raise ValueError(
                f"SharedSavings: ctx.market_factor must hold {ctx.n_scenarios} finite positive factors, "
                f"got shape {m.shape}"
            )
        return b * m

    def actual(self, ctx: SettlementContext) -> np.ndarray:
        """The actual spend A per scenario: C, or C − Σ (X − a)+ with outlier truncation."""
        cost = np.asarray(ctx.cost(self.segments), dtype=float)
        if self.outlier_attachment is None:
            return cost
        if self.outlier_attachment not in ctx.excess_by_attachment:
            raise ValueError(
                f"SharedSavings: the context has no excess at outlier_attachment {self.outlier_attachment!r} "
                f"(it has {sorted(ctx.excess_by_attachment)}); the engine computes those in needs()"
            )
        return cost - ctx.excess(self.outlier_attachment, self.segments)

    def savings(self, ctx: SettlementContext) -> np.ndarray:
        """Gross savings S = B − A per scenario against the (updated) benchmark (negative: losses)."""
        return self.updated_benchmark(ctx) - self.actual(ctx)

    def final_sharing_rate(self, ctx: SettlementContext) -> np.ndarray:
        """The quality-adjusted sharing rate per scenario (see ``quality_rule``)."""
        if self.quality_rule == "mssp":
            q = _scenario_quality(ctx, owner="SharedSavings")
            scale = np.where(
                q >= self.quality_standard, 1.0, np.where(q >= self.alternative_standard, q, 0.0)
            )
            return self.sharing_rate * scale
        if self.quality_gate is None:
            return np.full(ctx.n_scenarios, self.sharing_rate)
        q = _scenario_quality(ctx, owner="SharedSavings")
        return self.sharing_rate * np.where(q >= self.quality_gate, q, 0.0)

    def shared_loss_rate(self, ctx: SettlementContext) -> np.ndarray:
        """The provider's share of losses per scenario (zeros when one-sided)."""
        if not self.two_sided:
            return np.zeros(ctx.n_scenarios)
        if not self.quality_scales_losses:
            return np.full(ctx.n_scenarios, self.loss_sharing_rate)
        floor = 0.0 if self.loss_sharing_floor is None else self.loss_sharing_floor
        return np.clip(1.0 - self.final_sharing_rate(ctx), floor, self.loss_sharing_rate)

    def _parts(self, ctx: SettlementContext):
        b = self.updated_benchmark(ctx)  # B itself (a float) unless updated retrospectively
        s = b - self.actual(ctx)
        rate = s / b  # compared as a ratio so that savings of exactly MSR × B qualify
        msr = self.minimum_savings_rate
        earned = (s > 0.0) & (rate >= msr)
        base = s if self.first_dollar else s - msr * b
        cap = math.inf if self.savings_cap is None else self.savings_cap * b
        paid = np.where(earned, np.minimum(self.final_sharing_rate(ctx) * np.maximum(base, 0.0), cap), 0.0)
        if self.sequestration > 0.0:
            paid = paid * (1.0 - self.sequestration)  # savings payments only, after the cap
        if not self.two_sided:
            return paid, np.zeros_like(paid)
        mlr = self.minimum_loss_rate
        owed = (s < 0.0) & (-rate >= mlr)
        loss_base = -s if self.first_dollar else -s - mlr * b
        limit = self.loss_limit
        loss_cap = math.inf if limit is None else limit * b
        repaid = np.where(
            owed, np.minimum(self.shared_loss_rate(ctx) * np.maximum(loss_base, 0.0), loss_cap), 0.0
        )
        return paid, repaid

    def shared_savings(self, ctx: SettlementContext) -> np.ndarray:
        """The shared-savings payment per scenario (≥ 0)."""
        return self._parts(ctx)[0]

    def shared_losses(self, ctx: SettlementContext) -> np.ndarray:
        """The provider's repayment of shared losses per scenario (≥ 0; zeros when one-sided)."""
        return self._parts(ctx)[1]

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Source -> target: shared savings minus shared losses."""
        paid, repaid = self._parts(ctx)
        return transfer(paid - repaid, self.source, self.target)


def _choice(name: str, value, allowed: tuple, owner: str) -> str:
    """``value`` if it is one of the strings ``allowed``: else a TypeError or ValueError naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{owner}: {name} must be one of {allowed}, got {type(value).__name__} {value!r}")
    if value not in allowed:
        raise ValueError(f"{owner}: {name} must be one of {allowed}, got {value!r}")
    return value
