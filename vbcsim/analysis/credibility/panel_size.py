"""The smallest panel whose probability of a chance settlement is at most a target: :func:`minimum_panel_size`
and its bracketing search on the panel size."""

from __future__ import annotations

import math
from collections.abc import Mapping

from scipy import stats

from vbcsim._progress import as_callback
from vbcsim._validation import check_positive_int, check_probability
from vbcsim.analysis.credibility._panel import EVENTS, _method, _open_probability, _savings_contract, _setup
from vbcsim.analysis.credibility._probabilities import _curve, _exact_applies
from vbcsim.contracts.arrangement import Arrangement, Quality
from vbcsim.contracts.shared_savings import MSSP_MINIMUM_BENEFICIARIES
from vbcsim.population.scenario import ScenarioRisk

_P_CLAMP = 1e-12  # probabilities are clamped to [_P_CLAMP, 1 - _P_CLAMP] on the probit scale of the search


def _choose_contract(arr: Arrangement, contract, method: str) -> str:
    names = arr.contract_names
    if contract is not None:
        if contract not in names:
            raise ValueError(f"contract must be one of the arrangement's contracts {names}, got {contract!r}")
        if method == "exact" and _savings_contract(arr.contracts[names.index(contract)]) is None:
            raise ValueError(
                f"contract {contract!r} is not a shared-savings contract, which method='exact' needs; "
                "use method='simulate'"
            )
        return contract
    found = [n for n, c in zip(names, arr.contracts, strict=True) if _savings_contract(c) is not None]
    if len(found) != 1:
        raise ValueError(
            f"contract: the arrangement has {len(found)} shared-savings contracts ({', '.join(names)}); "
            "name the one to test"
        )
    return found[0]


def minimum_panel_size(
    population=None,
    target: float = 0.05,
    arrangement=None,
    *,
    lo: int | None = None,
    hi: int = 1_000_000,
    event: str = "payment",
    contract: str | None = None,
    minimum_savings_rate: float | None = None,
    outlier_attachment: float | None = None,
    model_overrides: Mapping | None = None,
    scenario_risk: ScenarioRisk | None = None,
    quality: Quality | None = None,
    method: str = "auto",
    n_scenarios: int = 4_000,
    seed: int = 0,
    rtol: float = 0.001,
    threads: int | None = None,
    progress=None,
) -> int:
    """The smallest panel size whose probability of a chance payment is at most ``target``.

    A bracketing search on the panel size between ``lo`` and ``hi``
    (false position on the probit of the probability against √n, where the
    normal approximation makes it a straight line, safeguarded by geometric
    bisection; about 6 to 16 evaluations), assuming the probability falls with
    size.  That holds for the exact method with a fixed MSR (up to the rounding
    of segment sizes by :func:`vbcsim.partnerships.resize`).  Under the MSSP
    table it holds except between 50,000 and 60,000 members, where the MSR
    falls from 2.2% to 2.0% slightly faster than 1/√n (MSR √n from 4.92 to
    4.90), so the chance probability rises a little (for the built-in panel
    from 5.24% to 5.36%); there the search returns *a* crossing of the target,
    the smallest one only if it is the only one.  With simulation every size
    uses the same seed (common scenario-level draws), but the estimates still
    carry binomial noise (standard error about 0.0034 at p = 0.05 with 4,000
    scenarios), which moves the answer by several percent; prefer the exact
    method, the default wherever it applies.

    Parameters
    ----------
    population, arrangement, minimum_savings_rate, outlier_attachment, model_overrides, scenario_risk, quality
        as for :func:`chance_settlement`.
    target : float
        the largest acceptable probability, in (0, 1).
    lo, hi : int
        the search range (members); ``lo`` defaults to 500, or 5,000 for the
        default contract with the MSSP table.
    event : {"payment", "recoupment", "settlement"}
        which chance settlement ``target`` bounds.
    contract : str, optional
        the contract tested; default the arrangement's only shared-savings
        contract.
    method : {"auto", "exact", "simulate"}
        "auto": exact where it applies (see :func:`chance_settlement`).
    n_scenarios, seed, threads
        simulation only.
    progress : None, bool or callable
        a progress bar over the search's panel sizes (``tqdm.auto``; see
        :func:`vbcsim.simulate`): None shows one when someone is watching,
        True always, False never; a callable gets ``progress(done, total)``
        with ``total`` an estimate that grows if the search runs longer.
    rtol : float
        the search stops when the bracket is narrower than ``rtol`` × its
        lower end (or 1 member); 0 for the exact integer.

    Returns
    -------
    int
        the smallest size n (to within ``rtol``) in [lo, hi] with
        P(chance ``event``) ≤ ``target``; ``lo`` if it already qualifies.

    Raises
    ------
    ValueError
        naming ``target`` when it is not in (0, 1) or the probability still
        exceeds it at ``hi`` (systematic risk, or an MSR of 0, keep it from
        falling that far); naming ``lo``/``hi`` for a bad range.
    """
    target = _open_probability("target", target)
    method = _method(method)
    if event not in EVENTS:
        raise ValueError(f"event must be one of {', '.join(map(repr, EVENTS))}, got {event!r}")
    rtol = float(check_probability("rtol", rtol, open_high=True))
    n_scenarios, seed, builder = _setup(
        population,
        arrangement,
        n_scenarios,
        seed,
        quality,
        minimum_savings_rate=minimum_savings_rate,
        outlier_attachment=outlier_attachment,
        model_overrides=model_overrides,
        scenario_risk=scenario_risk,
    )
    if lo is None:
        lo = MSSP_MINIMUM_BENEFICIARIES if (builder.kind == "default" and builder.msr is None) else 500
    lo = check_positive_int("lo", lo, strict=True)
    hi = check_positive_int("hi", hi, strict=True)
    if lo >= hi:
        raise ValueError(f"lo must be below hi, got lo={lo}, hi={hi}")
    try:
        builder.check_size(lo)
    except ValueError:
        raise ValueError(
            f"lo: the MSSP minimum savings rate table starts at {MSSP_MINIMUM_BENEFICIARIES:,} members, got "
            f"lo={lo}; raise lo or give minimum_savings_rate"
        ) from None
    if method == "auto":
        method = "exact" if _exact_applies(builder, lo, contract) else "simulate"
    first = builder.arrangement(lo, builder.panel(lo))
    name = _choose_contract(first, contract, method)
    var = f"prob_{event}"

    bar = as_callback(progress, "minimum_panel_size", unit="size")
    tried = []

    def prob(size: int) -> float:
        tried.append(size)
        if bar is not None:
            # a bisection on a log scale: about log2(hi / lo / rtol) steps, shown as an estimate
            bar(
                len(tried) - 1,
                max(len(tried), 2 + math.ceil(math.log2(max(2.0, hi / max(lo, 1) / max(rtol, 1e-9))))),
            )
        curve, _ = _curve(
            builder,
            [size],
            method=method,
            n_scenarios=n_scenarios,
            seed=seed,
            quality=quality,
            threads=threads,
        )
        if name not in curve.contract.values:
            raise ValueError(f"contract: the arrangement at size {size} has no contract {name!r}")
        return float(curve[var].sel(contract=name).values[0])

    try:
        return _minimum_size(prob, target, lo, hi, rtol, event)
    finally:
        if bar is not None:
            bar(len(tried), len(tried))


def _minimum_size(prob, target, lo, hi, rtol, event) -> int:
    p_hi = prob(hi)
    if not p_hi <= target:
        raise ValueError(
            f"target: P(chance {event}) is {p_hi:.4g} at hi={hi:,} members, above target={target:g}; the target "
            "is not reachable in [lo, hi] (raise hi, or the MSR: systematic risk or an MSR of 0 keep the "
            "probability from falling below a floor)"
        )
    p_lo = prob(lo)
    if p_lo <= target:
        return lo
    return _search(prob, target, lo, hi, p_lo, p_hi, rtol)


def _probit(p: float) -> float:
    return float(stats.norm.ppf(min(max(p, _P_CLAMP), 1.0 - _P_CLAMP)))


def _search(prob, target, lo, hi, p_lo, p_hi, rtol) -> int:
    """The smallest n in (lo, hi] with prob(n) <= target (to the tolerance), given prob(lo) > target >= prob(hi).

    A bracketing root search on f(n) = probit(prob(n)) - probit(target) against sqrt(n), which the normal
    approximation P = Phi(-MSR sqrt(n) / CV) makes nearly a straight line.  Each step interpolates f linearly
    between the ends of the bracket (false position).  When that estimate lies within the tolerance of an
    end, the step goes to exactly the tolerance beyond that end, so that a right estimate closes the bracket
    at once; otherwise the Illinois modification (the value at an end retained twice in a row is halved,
    Dowell & Jarratt 1971) keeps the far end from stalling, and a geometric bisection step is taken when
    the interpolation gives no usable point or has not halved the bracket (in log size) in two steps, so
    the search never needs more steps than about twice plain bisection's, even on noisy estimates.  It needs about 6 evaluations where plain bisection on
    [500, 1,000,000] at 0.1% needs about 13.
    """
    f_lo, f_hi = _probit(p_lo) - _probit(target), _probit(p_hi) - _probit(target)
    g_lo, g_hi = f_lo, f_hi  # Illinois-modified values
    side = 0
    widths = [math.log(hi / lo)]

    def interpolate(a, b):
        if not (math.isfinite(a) and math.isfinite(b)) or a == b:
            return None
        x_lo, x_hi = math.sqrt(lo), math.sqrt(hi)
        x = x_lo + (x_hi - x_lo) * a / (a - b)
        return int(round(x * x))

    while hi - lo > (tol := max(1, math.floor(rtol * lo))):
        mid = interpolate(f_lo, f_hi)
        if mid is not None and mid <= lo + tol:
            mid = lo + tol
        elif mid is not None and mid >= hi - tol:
            mid = hi - tol
        else:
            mid = interpolate(g_lo, g_hi)
            # bisect when the interpolation is unusable, or has not halved the bracket in two steps
            stalled = len(widths) >= 3 and widths[-1] > 0.5 * widths[-3]
            if mid is None or not lo < mid < hi or stalled:
                mid = int(round(math.sqrt(lo * hi)))
        mid = min(max(mid, lo + 1), hi - 1)
        f_mid = _probit(prob(mid)) - _probit(target)
        if f_mid <= 0.0:
            hi, f_hi, g_hi = mid, f_mid, f_mid
            if side == -1:
                g_lo /= 2.0
            side = -1
        else:
            lo, f_lo, g_lo = mid, f_mid, f_mid
            if side == 1:
                g_hi /= 2.0
            side = 1
        widths.append(math.log(hi / lo))
    return hi
