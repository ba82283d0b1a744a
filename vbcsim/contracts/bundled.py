"""Retrospective bundled (episode) payment: fee-for-service spend reconciled against a target price.

Each member of the episode segment is one episode (a hip replacement and its
90 days of follow-up care, say), and the segment's medical cost is the
fee-for-service spend on those episodes at allowed rates.  Care is paid fee
for service during the year (use a fee-for-service contract as the base
payment); after the year the payer compares the actual spend with the target

    target = target_price × (1 − discount) × episodes

and pays the provider the savings, or recovers the overspend, within a
stop-gain and a stop-loss limit, both fractions of the target:

    reconciliation = clip(target − actual, −stop_loss × target, stop_gain × target).

The presets follow Medicare's episode models: :meth:`BundledPayment.bpci_advanced`
(Bundled Payments for Care Improvement Advanced) and :meth:`BundledPayment.cjr`
(Comprehensive Care for Joint Replacement).  Not modelled: the quality
adjustment of the reconciliation amount, high-cost outlier capping of
individual episodes, risk adjustment of the target, and post-episode
spending checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbcsim._validation import check_nonnegative, check_positive, check_probability
from vbcsim.contracts.base import Contract, Settlement, SettlementContext, transfer
from vbcsim.contracts.capitation import MAX_EPISODE_PRICE, _check_bounded, _check_optional_real

__all__ = [
    "BundledPayment",
    "BPCI_ADVANCED_DISCOUNT",
    "BPCI_ADVANCED_DISCOUNTS",
    "BPCI_ADVANCED_EPISODE_TYPES",
    "BPCI_ADVANCED_STOP_LOSS",
    "BPCI_ADVANCED_STOP_GAIN",
    "CJR_DISCOUNT",
    "CJR_STOP_GAIN",
    "CJR_STOP_LOSS",
    "CJR_STOP_LOSS_RURAL",
]

# BPCI Advanced (CMS Innovation Center, announced January 2018; Model Years from
# October 2018): the target price is the benchmark price less a 3% CMS discount,
# and the positive or negative total reconciliation amount is capped at 20% of the
# sum of the final target prices (the stop-gain and stop-loss limits).  Sources: CMS,
# "BPCI Advanced Model fact sheet" (2018); Frier Levitt, "CMS announces Bundled
# Payments for Care Improvement Advanced" (2018).  Not modelled: the composite
# quality score's adjustment of up to 10% of the reconciliation amount.
BPCI_ADVANCED_DISCOUNT = 0.03
BPCI_ADVANCED_STOP_LOSS = 0.20
BPCI_ADVANCED_STOP_GAIN = 0.20
# The CMS discount by model year and clinical episode type.  Model Years 1-5 (October
# 2018 to 2022): 3% for every clinical episode (the 2018 fact sheet above; still 3% in
# Model Year 3, Archway Health, "BPCI Advanced Model Year 3: key takeaways", April 2019).
# From Model Year 6 (2023) CMS reduced the discount for medical clinical episodes "from 3%
# to 2%"; surgical episodes keep 3% (CMS announcement of the model's two-year extension
# and Model Year 6 pricing changes, 13 October 2022, reported by the California Hospital
# Association and Becker's Hospital Review, 14 October 2022).
# The extension's Model Years 7 (2024) and 8 (2025, the model ends 31 December 2025) keep
# the Model Year 6 pricing here: no later change to the discount was found (carried
# forward, not verified against the Model Year 7 target price specifications).
BPCI_ADVANCED_EPISODE_TYPES = ("medical", "surgical")
BPCI_ADVANCED_DISCOUNTS = {
    year: {"medical": 0.03 if year <= 5 else 0.02, "surgical": 0.03} for year in range(1, 9)
}

# CJR (42 CFR Part 510; final rule CMS-5516-F, 80 FR 73273, 24 November 2015; amended
# by the episode-payment-model rule of January 2017, by 82 FR 57066, 1 December 2017,
# and by the three-year extension to performance year 8, CMS-5529-F of May 2021,
# proposed at 85 FR 10516, 24 February 2020).  Limits on the net payment reconciliation amount, as fractions of the
# target price × episodes, by performance year (42 CFR 510.305(e)): no repayment in
# PY1 (2016); stop-gain 5% in PY1-2, 10% in PY3, 20% from PY4; stop-loss 5% in PY2,
# 10% in PY3, 20% from PY4; rural, sole-community, Medicare-dependent and
# rural-referral hospitals have stop-loss limits of 3% in PY2 and 5% from PY3.
CJR_STOP_GAIN = {1: 0.05, 2: 0.05, 3: 0.10, 4: 0.20, 5: 0.20, 6: 0.20, 7: 0.20, 8: 0.20}
CJR_STOP_LOSS = {1: 0.0, 2: 0.05, 3: 0.10, 4: 0.20, 5: 0.20, 6: 0.20, 7: 0.20, 8: 0.20}
CJR_STOP_LOSS_RURAL = {1: 0.0, 2: 0.03, 3: 0.05, 4: 0.05, 5: 0.05, 6: 0.05, 7: 0.05, 8: 0.05}
# CJR effective discount by composite-quality-score category (42 CFR 510.315(f)): the
# 3% discount is reduced to 2% for "good" and 1.5% for "excellent" quality; "below
# acceptable" hospitals keep the 3% discount and are not eligible for reconciliation
# payments (stop-gain 0).  Simplification: in PY2-3 CJR applied a smaller discount
# to repayments than to reconciliation payments; the preset uses one discount.
CJR_DISCOUNT = {"below_acceptable": 0.03, "acceptable": 0.03, "good": 0.02, "excellent": 0.015}


@dataclass(frozen=True)
class BundledPayment(Contract):
    """Retrospective reconciliation of an episode segment's spend against a target price.

    Parameters
    ----------
    target_price : float
        the benchmark price per episode at allowed rates, before the discount,
        in (0, 1e9].
    discount : float
        the payer's discount off the benchmark, in [0, 1) (3% in BPCI Advanced,
        2% for its medical episodes from Model Year 6).
    stop_loss : float or None
        the provider's largest repayment as a fraction of the target, ≥ 0;
        None for no limit.
    stop_gain : float or None
        the provider's largest reconciliation payment as a fraction of the
        target, ≥ 0; None for no limit.
    segment : str
        the population segment whose members are the episodes.

    Notes
    -----
    Settlement, payer -> provider:
    ``clip(target − actual, −stop_loss × target, stop_gain × target)`` with
    ``target = target_price × (1 − discount) × episodes`` and ``actual`` the
    segment's medical cost.  The episodes' care itself is paid fee for
    service by the arrangement's base-payment contract; this contract only
    moves the reconciliation amount.

    Examples
    --------
    >>> tka = BundledPayment(30_000.0, 0.03, 0.20, 0.20, "knee")
    >>> same = BundledPayment.bpci_advanced(30_000.0, "knee", episode_type="surgical", model_year=6)
    >>> BundledPayment.bpci_advanced(9_000.0, "sepsis", episode_type="medical", model_year=6).discount
    0.02
    >>> cjr_py3 = BundledPayment.cjr(25_000.0, "hip", performance_year=3, quality="good")
    """

    target_price: float
    discount: float
    stop_loss: float | None
    stop_gain: float | None
    segment: str

    def __post_init__(self):
        owner = "BundledPayment"
        object.__setattr__(
            self,
            "target_price",
            _check_bounded("target_price", self.target_price, check_positive, MAX_EPISODE_PRICE, owner=owner),
        )
        object.__setattr__(
            self, "discount", check_probability("discount", self.discount, owner=owner, open_high=True)
        )
        object.__setattr__(
            self,
            "stop_loss",
            _check_optional_real("stop_loss", self.stop_loss, check_nonnegative, owner=owner),
        )
        object.__setattr__(
            self,
            "stop_gain",
            _check_optional_real("stop_gain", self.stop_gain, check_nonnegative, owner=owner),
        )
        if not isinstance(self.segment, str) or not self.segment.strip():
            raise TypeError(f"{owner}: segment must be a non-empty segment name, got {self.segment!r}")

    @classmethod
    def bpci_advanced(
        cls,
        target_price: float,
        segment: str,
        *,
        episode_type: str | None = None,
        model_year: int | None = None,
    ) -> BundledPayment:
        """BPCI Advanced: the CMS discount of the model year and episode type, stop-loss and stop-gain at 20%.

        Parameters
        ----------
        target_price, segment
            as for :class:`BundledPayment`.
        episode_type : {"medical", "surgical"}, optional
            the clinical episode's type: from Model Year 6 the discount is 2% for
            medical and 3% for surgical episodes (:data:`BPCI_ADVANCED_DISCOUNTS`).
        model_year : int, optional
            1 (October-December 2018) to 8 (2025); 3% for every episode in
            Model Years 1-5.

        Give both: without them the discount is 3%, as before (right for
        surgical episodes and for Model Years 1-5), and a medical episode
        without a model year, or a model year from 6 without an episode type,
        is a ValueError (the discount depends on the other).
        """
        owner = "BundledPayment.bpci_advanced"
        if episode_type is not None:
            if not isinstance(episode_type, str):
                raise TypeError(
                    f"{owner}: episode_type must be 'medical' or 'surgical', got {episode_type!r}"
                )
            if episode_type not in BPCI_ADVANCED_EPISODE_TYPES:
                raise ValueError(
                    f"{owner}: episode_type must be 'medical' or 'surgical', got {episode_type!r}"
                )
        if model_year is not None:
            if isinstance(model_year, bool) or not isinstance(model_year, (int, np.integer)):
                raise TypeError(f"{owner}: model_year must be an integer 1 to 8, got {model_year!r}")
            if model_year not in BPCI_ADVANCED_DISCOUNTS:
                raise ValueError(f"{owner}: model_year must be 1 to 8 (2018-2025), got {model_year!r}")
        if episode_type is None and model_year is not None and model_year >= 6:
            raise ValueError(
                f"{owner}: model_year={model_year} needs episode_type: from Model Year 6 the CMS discount "
                "is 2% for medical and 3% for surgical clinical episodes"
            )
        if episode_type == "medical" and model_year is None:
            raise ValueError(
                f"{owner}: episode_type='medical' needs model_year: the CMS discount for medical clinical "
                "episodes is 3% in Model Years 1-5 and 2% from Model Year 6"
            )
        discount = BPCI_ADVANCED_DISCOUNT
        if episode_type is not None and model_year is not None:
            discount = BPCI_ADVANCED_DISCOUNTS[int(model_year)][episode_type]
        return cls(target_price, discount, BPCI_ADVANCED_STOP_LOSS, BPCI_ADVANCED_STOP_GAIN, segment)

    @classmethod
    def cjr(
        cls,
        target_price: float,
        segment: str,
        performance_year: int = 5,
        quality: str = "acceptable",
        rural: bool = False,
    ) -> BundledPayment:
        """Comprehensive Care for Joint Replacement limits for a performance year (1-8).

        Parameters
        ----------
        target_price, segment
            as for :class:`BundledPayment`.
        performance_year : int
            1 (2016) to 8 (2024); stop-gain 5/5/10/20% and stop-loss 0/5/10/20%
            in years 1/2/3/4+ (:data:`CJR_STOP_GAIN`, :data:`CJR_STOP_LOSS`).
        quality : {"below_acceptable", "acceptable", "good", "excellent"}
            composite quality category: discount 3/3/2/1.5%; below acceptable
            earns no reconciliation payment.
        rural : bool
            rural and other protected hospitals' lower stop-loss (3% in PY2,
            5% from PY3).
        """
        if isinstance(performance_year, bool) or performance_year not in CJR_STOP_GAIN:
            raise ValueError(f"BundledPayment.cjr: performance_year must be 1 to 8, got {performance_year!r}")
        if quality not in CJR_DISCOUNT:
            raise ValueError(
                f"BundledPayment.cjr: quality must be one of {', '.join(map(repr, CJR_DISCOUNT))}, got {quality!r}"
            )
        if not isinstance(rural, bool):
            raise TypeError(f"BundledPayment.cjr: rural must be True or False, got {rural!r}")
        stop_loss = (CJR_STOP_LOSS_RURAL if rural else CJR_STOP_LOSS)[performance_year]
        stop_gain = 0.0 if quality == "below_acceptable" else CJR_STOP_GAIN[performance_year]
        return cls(target_price, CJR_DISCOUNT[quality], stop_loss, stop_gain, segment)

    def target(self, ctx: SettlementContext) -> float:
        """The discounted target for the segment's episodes: target_price × (1 − discount) × episodes."""
        return self.target_price * (1.0 - self.discount) * ctx.n_members([self.segment])

    def settle(self, ctx: SettlementContext) -> Settlement:
        """Payer -> provider: the capped reconciliation amount (negative: a repayment)."""
        target = self.target(ctx)
        actual = ctx.cost([self.segment])
        low = -np.inf if self.stop_loss is None else -self.stop_loss * target
        high = np.inf if self.stop_gain is None else self.stop_gain * target
        return transfer(np.clip(target - actual, low, high), "payer", "provider")
