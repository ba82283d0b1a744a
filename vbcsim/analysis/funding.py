"""``vbcsim.funding``: how a provider funds the risk it takes, in one year.

A provider that takes risk must be able to pay for a bad year.  :func:`funding` takes a
comparison cube (:func:`vbcsim.compare`), one model and one party, and evaluates on the
same simulated years how each way of funding that party's losses performs: what it costs,
how often the provider needs it, and how often the provider is left insolvent all the same.

The year's result and its loss.  With ``basis="change"`` (the default when the cube has
``status_quo_net``) the result is x = net − status_quo_net, what the model changes against
the provider's own fee-for-service year: the loss that taking risk *adds*.  A provider's
budget already spends its fee-for-service margin (salaries, distributions, debt service), so
that change is what its reserves must absorb; its absolute net result is dominated by that
margin and is almost never negative (``docs/results.md``).  ``basis="net"`` uses the net
result itself.  In each of the n scenarios: the loss L = max(−x, 0), the gain G = max(x, 0),
and the shortfall beyond the reserves R, S = max(L − R, 0).  The provider *needs* funding
when L > R.

The structures (per scenario; each documents its terms):

- :class:`Reserves`: own reserves only.  Funded F = 0, insolvent when S > 0; no cost.
- :class:`LineOfCredit`: drawn D = min(S, limit), insolvent when S > limit; cost =
  ``rate`` × D + ``commitment_fee`` × (limit − D): one year's interest on what is drawn (drawn
  at the year's end and carried for a year) and the fee on the undrawn limit.  The drawn
  amount is a debt (``expected_outstanding``); the lender's result is its interest and fees
  (its own cost of funds is not modelled).
- :class:`EquityPartner`: a private-equity fund or a hospital funds F = min(S, limit)
  (``limit`` None: without limit) for good, in exchange for ``share`` of the year's gain.
  Cost = ``share`` × G (the gain given up); the partner's result = ``share`` × G − F.
  :func:`break_even_share` gives the share at which the partner expects to break even.
- :class:`PayerAdvance`: the payer pays ``amount`` A at the start of the year; it funds
  F = min(S, A), insolvent when S > A.  At the year's end the payer claws back P =
  min(A, ``clawback`` × G) from the year's positive result: a repayment of principal, like
  repaying a drawn line, so not a cost; cost = ``rate`` × A (default 0: interest-free).
  The unrecovered part A − P is ``"carried"`` (the default: owed from later gains, as the
  MSSP's advance investment payments and prepaid shared savings are repaid from later
  shared savings, any balance due at the end of the agreement: the payer's result in the
  year is its interest, the balance ``expected_outstanding``) or ``"forgiven"`` (the
  provider keeps it: the payer's result is its interest plus P − A).

``expected_cost`` is the price the provider pays for the funding (interest and fees, the
share of gains, the advance's interest), never the repayment of what it borrowed;
``funder_expected_result`` is the funder's net result, so that what the structure is worth
to the provider in the year is −``funder_expected_result`` (the equity partner's funding
and a forgiven advance are kept for good).

Estimators and their Monte Carlo errors (n scenarios): every probability p is a share of
scenarios, SE = √(p (1 − p) / n); every expected value is a mean over scenarios, SE =
sd / √n (sd with n − 1).  The bad year is the ``bad_year`` quantile of the loss −x (the lower
quantile of :func:`vbcsim.results.metrics.value_at_risk`, 0.95: the 1-in-20 year); a
structure's funded and unfunded amounts are non-decreasing functions g of the loss, so
their values at the bad year are g(VaR) and their errors follow the VaR's
distribution-free order-statistic interval: SE = (g(L₍k+m₎) − g(L₍k−m₎)) / 2, k = ⌈n p⌉,
m = ⌈√(n p (1 − p))⌉ (as :func:`vbcsim.summarize` does for VaR); NaN with fewer than 10
scenarios beyond the level.

Typical terms (``docs/funding.md`` gives the sources): :data:`PRIME_RATE`,
:data:`SBA_MAX_SPREAD`, :data:`LINE_RATE`, :data:`COMMITMENT_FEE`, :data:`AIP_AMOUNT`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from vbcsim._validation import check_nonnegative, check_probability
from vbcsim.results.metrics import MIN_TAIL_SCENARIOS, value_at_risk

__all__ = [
    "funding",
    "break_even_share",
    "Reserves",
    "LineOfCredit",
    "EquityPartner",
    "PayerAdvance",
    "PRIME_RATE",
    "SBA_MAX_SPREAD",
    "LINE_RATE",
    "COMMITMENT_FEE",
    "AIP_AMOUNT",
]

#: The bank prime loan rate, 7.50% (Board of Governors of the Federal Reserve System, H.15
#: Selected Interest Rates, series DPRIME on FRED: the latest value, 5 August 2025).
PRIME_RATE = 0.075
#: 3.00% over the base rate: the highest of the maximum spreads for variable-rate SBA 7(a)
#: loans over $50,000 in the summaries of SBA SOP 50 10 we could find (2.25%-3.00% by
#: maturity; dealroom.so's summaries of SOP 50 10); the SOP's table depends on the loan's size
#: and maturity: check the current SOP before relying on it.
SBA_MAX_SPREAD = 0.03
#: A small borrower's line of credit at prime plus the SBA 7(a) maximum spread: 10.50%.
LINE_RATE = PRIME_RATE + SBA_MAX_SPREAD
#: 0.50% a year on the undrawn limit: the middle of the range two references give for
#: commitment fees on revolving lines (0.25%-1.0%, Wall Street Prep, "Commitment fee";
#: 0.15%-0.75%, FinPrincipal, "What is an undrawn capital fee"), whose overlap is 0.25%-0.75%.
COMMITMENT_FEE = 0.005
#: $250,000: the one-time upfront advance investment payment of the Medicare Shared Savings
#: Program (performance years from 2024; DataGen, "CMS offers Advance Investment Payments",
#: 2023), repaid from the shared savings the ACO earns.
AIP_AMOUNT = 250_000.0

_UNRECOVERED = ("carried", "forgiven")
_BASES = ("change", "net")


def _check_label(label):
    if label is not None and (not isinstance(label, str) or not label):
        raise TypeError(f"label must be a non-empty string or None, got {label!r}")


@dataclass(frozen=True)
class Reserves:
    """Own reserves only: nothing funds a loss beyond them.

    Parameters
    ----------
    label : str, optional
        the ``structure`` coordinate (default ``"reserves"``).
    """

    label: str | None = None

    def __post_init__(self):
        _check_label(self.label)

    @property
    def name(self) -> str:
        return self.label or "reserves"

    @property
    def terms(self) -> str:
        return "own reserves only"

    def _cap(self) -> float:
        return 0.0

    def _flows(self, loss, gain, shortfall):
        zero = np.zeros_like(loss)
        return {"funded": zero, "cost": zero, "funder": zero, "outstanding": zero}


@dataclass(frozen=True)
class LineOfCredit:
    """A committed line of credit that funds the shortfall up to its limit.

    Parameters
    ----------
    limit : float
        the committed limit (currency, ≥ 0).
    rate : float
        the annual interest rate on the drawn amount, in [0, 1] (e.g. :data:`LINE_RATE`).
    commitment_fee : float
        the annual fee on the undrawn limit, in [0, 1] (default :data:`COMMITMENT_FEE`).
    label : str, optional
        the ``structure`` coordinate (default ``"line_of_credit"``).
    """

    limit: float
    rate: float
    commitment_fee: float = COMMITMENT_FEE
    label: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "limit", check_nonnegative("limit", self.limit, owner="LineOfCredit"))
        object.__setattr__(self, "rate", check_probability("rate", self.rate, owner="LineOfCredit"))
        fee = check_probability("commitment_fee", self.commitment_fee, owner="LineOfCredit")
        object.__setattr__(self, "commitment_fee", fee)
        _check_label(self.label)

    @property
    def name(self) -> str:
        return self.label or "line_of_credit"

    @property
    def terms(self) -> str:
        return f"limit {self.limit:,.0f}, rate {self.rate:.2%}, commitment fee {self.commitment_fee:.2%}"

    def _cap(self) -> float:
        return self.limit

    def _flows(self, loss, gain, shortfall):
        drawn = np.minimum(shortfall, self.limit)
        cost = self.rate * drawn + self.commitment_fee * (self.limit - drawn)
        return {"funded": drawn, "cost": cost, "funder": cost, "outstanding": drawn}


@dataclass(frozen=True)
class EquityPartner:
    """An equity partner that funds losses beyond the reserves for a share of the gains.

    Parameters
    ----------
    share : float
        the share of the year's gain the partner receives, in [0, 1]
        (:func:`break_even_share` gives the share at which it expects to break even).
    limit : float, optional
        the most the partner funds in a year (default None: without limit).
    label : str, optional
        the ``structure`` coordinate (default ``"equity_partner"``).
    """

    share: float
    limit: float | None = None
    label: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "share", check_probability("share", self.share, owner="EquityPartner"))
        if self.limit is not None:
            limit = check_nonnegative("limit", self.limit, owner="EquityPartner")
            object.__setattr__(self, "limit", limit)
        _check_label(self.label)

    @property
    def name(self) -> str:
        return self.label or "equity_partner"

    @property
    def terms(self) -> str:
        cap = "without limit" if self.limit is None else f"up to {self.limit:,.0f}"
        return f"funds losses beyond reserves {cap} for {self.share:.1%} of gains"

    def _cap(self) -> float:
        return math.inf if self.limit is None else self.limit

    def _flows(self, loss, gain, shortfall):
        funded = np.minimum(shortfall, self._cap())
        cost = self.share * gain
        return {"funded": funded, "cost": cost, "funder": cost - funded, "outstanding": np.zeros_like(loss)}


@dataclass(frozen=True)
class PayerAdvance:
    """An upfront payment from the payer, clawed back from the year's positive result.

    Parameters
    ----------
    amount : float
        the advance paid at the start of the year (currency, ≥ 0; e.g. :data:`AIP_AMOUNT`).
    clawback : float
        the share of the year's gain applied to repaying it, in [0, 1] (default 1: all of it
        until the advance is repaid).
    rate : float
        the annual interest on the advance, in [0, 1] (default 0: interest-free).
    unrecovered : {"carried", "forgiven"}
        what happens to the part not repaid by the year's gain: ``"carried"`` (default) it
        is owed, interest-free, from later gains; ``"forgiven"`` the provider keeps it.
    label : str, optional
        the ``structure`` coordinate (default ``"payer_advance"``).
    """

    amount: float
    clawback: float = 1.0
    rate: float = 0.0
    unrecovered: str = "carried"
    label: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "amount", check_nonnegative("amount", self.amount, owner="PayerAdvance"))
        clawback = check_probability("clawback", self.clawback, owner="PayerAdvance")
        object.__setattr__(self, "clawback", clawback)
        object.__setattr__(self, "rate", check_probability("rate", self.rate, owner="PayerAdvance"))
        if self.unrecovered not in _UNRECOVERED:
            raise ValueError(
                f"PayerAdvance: unrecovered must be one of {', '.join(_UNRECOVERED)}, got {self.unrecovered!r}"
            )
        _check_label(self.label)

    @property
    def name(self) -> str:
        return self.label or "payer_advance"

    @property
    def terms(self) -> str:
        return (
            f"advance {self.amount:,.0f} at {self.rate:.2%}, {self.clawback:.0%} of gains clawed back, "
            f"the rest {self.unrecovered}"
        )

    def _cap(self) -> float:
        return self.amount

    def _flows(self, loss, gain, shortfall):
        funded = np.minimum(shortfall, self.amount)
        repaid = np.minimum(self.amount, self.clawback * gain)
        left = self.amount - repaid
        cost = np.full_like(loss, self.rate * self.amount)
        if self.unrecovered == "carried":
            return {"funded": funded, "cost": cost, "funder": cost, "outstanding": left}
        return {"funded": funded, "cost": cost, "funder": cost - left, "outstanding": np.zeros_like(loss)}


_STRUCTURES = (Reserves, LineOfCredit, EquityPartner, PayerAdvance)


def _model_index(ds: xr.Dataset, model) -> int:
    if not isinstance(model, str):
        raise TypeError(f"model must be a model's name or identifier (str), got {type(model).__name__}")
    names = [str(m) for m in ds["model"].values]
    keys = [str(k) for k in ds.coords["model_key"].values] if "model_key" in ds.coords else []
    for candidates in (names, keys):
        if model in candidates:
            return candidates.index(model)
    known = ", ".join(map(repr, names + keys))
    raise ValueError(f"model {model!r} is not in ds; expected one of {known}")


def _result(ds: xr.Dataset, model, party, basis) -> tuple[np.ndarray, str, str]:
    """The party's annual results x under ``model`` (S,), the basis used and the model's name."""
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if "net" not in ds or tuple(ds["net"].dims) != ("scenario", "model", "party"):
        raise ValueError("ds needs 'net' (scenario, model, party): run vbcsim.compare")
    i = _model_index(ds, model)
    if not isinstance(party, str):
        raise TypeError(f"party must be a str, got {type(party).__name__}")
    parties = [str(p) for p in ds["party"].values]
    if party not in parties:
        raise ValueError(f"party {party!r} is not in ds; expected one of {', '.join(parties)}")
    j = parties.index(party)
    has_sq = "status_quo_net" in ds
    if basis is None:
        basis = "change" if has_sq else "net"
    if basis not in _BASES:
        raise ValueError(f"basis must be None, 'change' or 'net', got {basis!r}")
    x = np.asarray(ds["net"].values[:, i, j], dtype=float)
    if basis == "change":
        if not has_sq:
            raise ValueError(
                "basis='change' needs the cube's status_quo_net: run vbcsim.compare with baseline=True"
            )
        sq = ds["status_quo_net"]
        if tuple(sq.dims) != ("scenario", "model", "party"):
            raise ValueError(f"ds['status_quo_net'] must have dims (scenario, model, party), got {sq.dims}")
        x = x - np.asarray(sq.values[:, i, j], dtype=float)
    if x.size < 2:
        raise ValueError(f"ds needs at least 2 scenarios, got {x.size}")
    if not np.isfinite(x).all():
        raise ValueError("the party's results have NaN or infinite values")
    return x, basis, str(ds["model"].values[i])


def _check_structures(structures) -> list:
    if isinstance(structures, _STRUCTURES):
        structures = [structures]
    try:
        out = list(structures)
    except TypeError:
        raise TypeError(
            f"structures must be a sequence of Reserves, LineOfCredit, EquityPartner or PayerAdvance, "
            f"got {type(structures).__name__}"
        ) from None
    if not out:
        raise ValueError("structures must not be empty")
    for s in out:
        if not isinstance(s, _STRUCTURES):
            raise TypeError(
                "structures must hold Reserves, LineOfCredit, EquityPartner or PayerAdvance, "
                f"got {type(s).__name__}"
            )
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise ValueError(f"structures must have distinct names (give each a label), got {names}")
    return out


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    values = np.broadcast_to(values, values.shape)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


def _prob_se(event: np.ndarray) -> tuple[float, float]:
    p = float(event.mean())
    return p, math.sqrt(p * (1.0 - p) / event.size)


def _at_level(sorted_loss: np.ndarray, level: float, g) -> tuple[float, float]:
    """g at the ``level`` quantile of the loss and its order-statistic standard error."""
    n = sorted_loss.size
    k = max(1, math.ceil(round(n * level, 9)))
    m = max(1, math.ceil(math.sqrt(n * level * (1.0 - level))))
    lo, hi = max(1, k - m), min(n, k + m)
    value = float(g(sorted_loss[k - 1]))
    if n * (1.0 - level) < MIN_TAIL_SCENARIOS:
        return value, math.nan
    return value, float(g(sorted_loss[hi - 1]) - g(sorted_loss[lo - 1])) / 2.0


def break_even_share(x, reserves: float, limit: float | None = None) -> float:
    """The share of gains at which an equity partner expects to break even.

    Parameters
    ----------
    x : array_like
        the provider's annual results, one per scenario (on the basis :func:`funding` uses).
    reserves : float
        the provider's reserves (≥ 0).
    limit : float, optional
        the most the partner funds in a year (default None: without limit).

    Returns
    -------
    float
        E[min(S, limit)] / E[G], S = max(−x − reserves, 0), G = max(x, 0): a partner with a
        larger share expects a profit.  Above 1 no share of gains pays for the losses; NaN
        when the results have no gain.
    """
    x = np.asarray(x, dtype=float)
    reserves = check_nonnegative("reserves", reserves)
    cap = math.inf if limit is None else check_nonnegative("limit", limit)
    funded = np.minimum(np.maximum(-x - reserves, 0.0), cap).mean()
    gain = np.maximum(x, 0.0).mean()
    return float(funded / gain) if gain > 0 else math.nan


def _default_structures(x, reserves, bad_year) -> list:
    """Each structure sized to fund the bad year's shortfall (the principle of the defaults)."""
    need = max(float(value_at_risk(-x, bad_year)) - reserves, 0.0)
    share = break_even_share(x, reserves, need)
    share = 1.0 if not math.isfinite(share) or share > 1.0 else share
    return [
        Reserves(),
        LineOfCredit(need, LINE_RATE, COMMITMENT_FEE),
        EquityPartner(share, limit=need),
        PayerAdvance(need),
    ]


_VARIABLES = {
    "prob_need": ("1", "P(the year's loss exceeds the reserves): the provider draws on the funding"),
    "prob_insolvent": ("1", "P(the loss exceeds the reserves and the funding)"),
    "expected_cost": (
        "currency per year",
        "E[the price the provider pays for the funding: interest and fees, the share of gains "
        "given up, the advance's interest]",
    ),
    "expected_funded": ("currency per year", "E[the amount the structure funds]"),
    "expected_unfunded": ("currency per year", "E[the loss beyond the reserves and the funding]"),
    "funder_expected_result": (
        "currency per year",
        "E[the funder's result: the lender's interest and fees, the partner's share of gains less "
        "what it funds, the payer's interest less a forgiven advance]",
    ),
    "expected_outstanding": (
        "currency per year",
        "E[what the provider owes the funder at the year's end: the drawn line, a carried advance]",
    ),
    "funded_at_bad_year": ("currency per year", "the amount funded at the bad_year quantile of the loss"),
    "unfunded_at_bad_year": (
        "currency per year",
        "the loss beyond reserves and funding at the bad_year quantile of the loss (0: solvent)",
    ),
}


def funding(
    ds: xr.Dataset,
    model: str,
    *,
    party: str = "provider",
    reserves: float,
    structures=None,
    bad_year: float = 0.95,
    basis: str | None = None,
) -> xr.Dataset:
    """What each way of funding a party's annual losses costs, and how often it is needed.

    Parameters
    ----------
    ds : xarray.Dataset
        a comparison cube with ``net`` (scenario, model, party), and ``status_quo_net`` for
        ``basis="change"`` (:func:`vbcsim.compare`).
    model : str
        the model's name or identifier (``model_key``), e.g. ``"custom_contract"``.
    party : str
        whose results are funded (default ``"provider"``).
    reserves : float
        the party's own reserves (currency, ≥ 0): the loss it absorbs before any funding.
    structures : sequence, optional
        :class:`Reserves`, :class:`LineOfCredit`, :class:`EquityPartner` and
        :class:`PayerAdvance` instances (each with a distinct name).  Default: the four,
        each sized to fund the shortfall of the bad year (the ``bad_year`` loss less the
        reserves): a line of that limit at :data:`LINE_RATE` and :data:`COMMITMENT_FEE`, an
        equity partner funding up to it at its :func:`break_even_share` (at most 1), an
        advance of that amount, carried.
    bad_year : float
        the quantile of the loss that defines the bad year, in (0, 1) (default 0.95: 1 in 20).
    basis : {None, "change", "net"}
        the annual result funded: ``"change"`` net − status_quo_net, the loss taking risk adds
        to the fee-for-service year (the default when the cube has ``status_quo_net``);
        ``"net"`` the net result (the default otherwise).

    Returns
    -------
    xarray.Dataset
        over ``structure`` (the structures' names; coordinate ``terms`` describes each):
        ``prob_need``, ``prob_insolvent``, ``expected_cost``, ``expected_funded``,
        ``expected_unfunded``, ``funder_expected_result``, ``expected_outstanding``,
        ``funded_at_bad_year`` and ``unfunded_at_bad_year`` (0 where the structure keeps the
        party solvent in the bad year), each with ``<name>_standard_error``; scalars
        ``loss_at_bad_year`` (the ``bad_year`` quantile of the loss −x) and
        ``shortfall_at_bad_year`` (that loss less the reserves, ≥ 0) with their standard
        errors.  attrs ``model``, ``party``, ``basis``, ``reserves``, ``bad_year``,
        ``n_scenarios``.  The module docstring defines every figure and its error.

    Examples
    --------
    >>> import vbcsim
    >>> from vbcsim.partnerships.registry import resize
    >>> ds = vbcsim.compare(resize(vbcsim.defaults.provider_panel(), 3_000), n_scenarios=400, seed=1)
    >>> f = vbcsim.funding(ds, "custom_contract", reserves=150_000)
    >>> f.structure.values.tolist()
    ['reserves', 'line_of_credit', 'equity_partner', 'payer_advance']
    """
    x, basis, model_name = _result(ds, model, party, basis)
    reserves = check_nonnegative("reserves", reserves)
    bad_year = check_probability("bad_year", bad_year, open_low=True, open_high=True)
    structures = _default_structures(x, reserves, bad_year) if structures is None else structures
    structures = _check_structures(structures)

    n = x.size
    loss = np.maximum(-x, 0.0)
    gain = np.maximum(x, 0.0)
    shortfall = np.maximum(loss - reserves, 0.0)
    sorted_loss = np.sort(-x)  # the loss −x, gains as negative losses: its quantile is the VaR
    need = _prob_se(shortfall > 0)
    loss_bad = _at_level(sorted_loss, bad_year, lambda v: v)
    shortfall_bad = _at_level(sorted_loss, bad_year, lambda v: max(v - reserves, 0.0))

    rows = {name: [] for name in _VARIABLES}
    for s in structures:
        flows = s._flows(loss, gain, shortfall)
        cap = s._cap()
        unfunded = shortfall - flows["funded"]
        rows["prob_need"].append(need)
        rows["prob_insolvent"].append(_prob_se(unfunded > 0))
        rows["expected_cost"].append(_mean_se(flows["cost"]))
        rows["expected_funded"].append(_mean_se(flows["funded"]))
        rows["expected_unfunded"].append(_mean_se(unfunded))
        rows["funder_expected_result"].append(_mean_se(flows["funder"]))
        rows["expected_outstanding"].append(_mean_se(np.broadcast_to(flows["outstanding"], x.shape)))
        rows["funded_at_bad_year"].append(
            _at_level(sorted_loss, bad_year, lambda v, c=cap: min(max(v - reserves, 0.0), c))
        )
        rows["unfunded_at_bad_year"].append(
            _at_level(sorted_loss, bad_year, lambda v, c=cap: max(v - reserves - c, 0.0))
        )

    names = [s.name for s in structures]
    data = {}
    for name, values in rows.items():
        data[name] = ("structure", [v for v, _ in values])
        data[f"{name}_standard_error"] = ("structure", [e for _, e in values])
    data["loss_at_bad_year"] = ((), loss_bad[0])
    data["loss_at_bad_year_standard_error"] = ((), loss_bad[1])
    data["shortfall_at_bad_year"] = ((), shortfall_bad[0])
    data["shortfall_at_bad_year_standard_error"] = ((), shortfall_bad[1])
    out = xr.Dataset(data, coords={"structure": names, "terms": ("structure", [s.terms for s in structures])})
    for name, (units, description) in _VARIABLES.items():
        out[name].attrs.update(units=units, description=description)
        out[f"{name}_standard_error"].attrs.update(
            units=units, description=f"Monte Carlo standard error of {name} (see vbcsim.analysis.funding)"
        )
    out["loss_at_bad_year"].attrs.update(
        units="currency per year", description="the bad_year quantile of the loss (-result)"
    )
    out["shortfall_at_bad_year"].attrs.update(
        units="currency per year", description="the bad year's loss beyond the reserves"
    )
    out.attrs.update(
        model=model_name,
        party=party,
        basis=basis,
        basis_description=(
            "net - status_quo_net: the change against fee for service" if basis == "change" else "net result"
        ),
        reserves=reserves,
        bad_year=bad_year,
        n_scenarios=n,
    )
    return out
