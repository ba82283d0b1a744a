"""``vbcsim.solve``: the value of one contract term that meets a target for a party's result.

Negotiating a value-based contract usually starts from a constraint rather
than from the terms: *what sharing rate keeps the provider's 1-in-100 loss
under $2M?*, *what percent of premium gives payer and provider the same
expected result?*, *where must the stop-loss attach for the network's capital
to stay under $5M?*  :func:`solve` answers such questions by root finding on
the simulated metric.

Common random numbers make this well posed.  Every trial value is run through
:func:`vbcsim.simulate` with the same ``seed``, the same population and the
same model name; the engine's random streams depend only on those (not on the
contract terms, nor on the attachment points the contracts ask for), so each
trial sees exactly the same members' costs, systematic shocks, quality scores
and efficiency draws.  The objective is then a deterministic function of the
parameter — piecewise smooth for means, standard deviations, TVaR, risk
shares and capital — and Brent's method (:func:`scipy.optimize.brentq`)
converges on it as on any other function, without the noise that independent
runs would add.  The answer is exact *for the simulated sample*: it differs
from the answer for the true distribution by Monte Carlo error of the order
of the metric's standard error, which more scenarios reduce.

Cost: one settlement per evaluation of the objective, typically 10-20 per
solve (two for the ends of the bounds, the rest for Brent's iterations and a
final continuity check).  The engine's per-scenario statistics depend only on
the population, the seed, the model's efficiency draws and the attachment
points its contracts need; when a trial value leaves all of these as they
were (a sharing rate, a corridor, a cap, a percent of premium, a pass-through
or an equity share), the statistics of the first run are settled again
without rerunning the engine, which makes each further evaluation cost
milliseconds.  A term that moves an attachment point (a stop-loss attachment,
an outlier truncation), the efficiency or a pool reruns the engine for each
trial, on the same draws (about 0.2-1 s per run for the default
20,000-member panel and 4,000 scenarios on two cores).
:attr:`SolveResult.engine_runs` says how many runs a solve needed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.optimize import brentq

from vbcsim._progress import as_callback
from vbcsim._validation import check_positive_int, check_real
from vbcsim.contracts.arrangement import Arrangement, as_arrangement
from vbcsim.contracts.base import PARTIES
from vbcsim.contracts.settle import aggregate_stop_loss_oracle
from vbcsim.partnerships import (
    DEFAULT_SCENARIO_RISK,
    MODEL_KEYS,
    PartnershipModel,
    _check_population,
    _model_class,
)
from vbcsim.population.scenario import check_scenario_risk
from vbcsim.results import cube as _cube
from vbcsim.results import plan as _plan
from vbcsim.results.metrics import METRICS as _SUMMARY_METRICS
from vbcsim.results.metrics import summarize

__all__ = ["solve", "Target", "SolveResult", "METRICS", "DEFAULT_BOUNDS"]

#: The metrics a :class:`Target` can name, computed as :func:`vbcsim.summarize` does.
METRICS = tuple(m for m in _SUMMARY_METRICS if m != "return_on_capital")
_LEVEL_METRICS = ("value_at_risk", "tail_value_at_risk", "capital")
_KINDS = ("==", "<=", ">=")

#: Bounds searched when ``bounds`` is not given, by parameter name.  Rates and shares
#: span [0, 1]; minimum savings/loss rates [0, 10%] (the MSSP's run from 0% to 3.9%,
#: 42 CFR 425.604(b), 425.605(b)); caps [0, 25%] of the benchmark (MSSP limits run
#: from 1% to 20%); per-member attachment points $10k-$1M (specific stop-loss for
#: provider groups and catastrophic-claim truncations sit well inside); percent of
#: premium and the MLR floor [50%, 100%]; stop-loss coinsurance [0, 50%].  Other
#: terms (benchmark ratios, fees, PMPMs, efficiency) need explicit ``bounds``.
DEFAULT_BOUNDS = {
    "sharing_rate": (0.0, 1.0),
    "loss_sharing_rate": (0.0, 1.0),
    "pass_through": (0.0, 1.0),
    "partner_equity": (0.0, 1.0),
    "quality_gate": (0.0, 1.0),
    "minimum_savings_rate": (0.0, 0.1),
    "minimum_loss_rate": (0.0, 0.1),
    "savings_cap": (0.0, 0.25),
    "loss_cap": (0.0, 0.25),
    "stop_loss_attachment": (10_000.0, 1_000_000.0),
    "outlier_attachment": (10_000.0, 1_000_000.0),
    "percent_of_premium": (0.5, 1.0),
    "minimum_loss_ratio": (0.5, 1.0),
    "coinsurance": (0.0, 0.5),
}

_DEFAULT = object()
# simulate() arguments that solve passes through to every trial
_OPTIONS = ("quality", "attachments", "threads", "backend")


def _fmt(x: float) -> str:
    if isinstance(x, float) and math.isfinite(x) and abs(x) >= 1_000:
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"
    return f"{x:.6g}"


@dataclass(frozen=True)
class Target:
    """What :func:`solve` aims at: a party's metric compared with a value.

    Parameters
    ----------
    party : str
        whose net result is measured: ``payer``, ``provider``, ``enabler`` or
        ``reinsurer``.
    metric : str
        one of :data:`METRICS`, defined as in :func:`vbcsim.summarize`:
        ``mean`` and ``std`` of the net result; ``value_at_risk`` and
        ``tail_value_at_risk`` of the loss (−net) at ``level``;
        ``prob_loss`` P(net < 0); ``risk_share`` −Cov(net, C)/Var(C);
        ``capital`` TVaR of the loss at ``level`` minus the expected loss.
    value : float
        the target value of the metric (currency per year, or a ratio for
        ``prob_loss`` and ``risk_share``).
    level : float, optional
        the confidence level of ``value_at_risk``, ``tail_value_at_risk`` and
        ``capital`` (default 0.99); not allowed for the other metrics.
    kind : {"==", "<=", ">="}
        ``"=="`` (default): the parameter value at which the metric equals
        ``value`` (a root).  ``"<="``/``">="``: the boundary of the values
        that satisfy ``metric <= value`` (``>=``): the end of the final
        bracket on the satisfying side, so the constraint holds at the
        returned value.  For a metric monotone in the parameter this is the
        root, the most (or least) favourable term that still satisfies the
        constraint.
    other : str, optional
        a second party: the target is then on the difference
        ``metric(party) − metric(other)`` (see :meth:`equal_means`).

    Examples
    --------
    >>> Target("provider", "tail_value_at_risk", 2_000_000, level=0.99, kind="<=")
    Target(party='provider', metric='tail_value_at_risk', value=2000000.0, level=0.99, kind='<=', other=None)
    >>> Target.equal_means("payer", "provider").describe()
    'mean(payer) - mean(provider) == 0'
    """

    party: str
    metric: str = "mean"
    value: float = 0.0
    level: float | None = None
    kind: str = "=="
    other: str | None = None

    def __post_init__(self):
        for name in ("party", "other"):
            p = getattr(self, name)
            if p is None and name == "other":
                continue
            if p not in PARTIES:
                raise ValueError(f"Target: unknown {name} {p!r}; parties are {', '.join(PARTIES)}")
        if self.other is not None and self.other == self.party:
            raise ValueError(f"Target: other must differ from party, both are {self.party!r}")
        if self.metric not in METRICS:
            raise ValueError(f"Target: unknown metric {self.metric!r}; metrics are {', '.join(METRICS)}")
        object.__setattr__(self, "value", check_real("value", self.value, owner="Target"))
        if self.metric in _LEVEL_METRICS:
            level = 0.99 if self.level is None else check_real("level", self.level, owner="Target")
            if not 0.0 < level < 1.0:
                raise ValueError(f"Target: level must be strictly between 0 and 1, got {level!r}")
            object.__setattr__(self, "level", level)
        elif self.level is not None:
            raise ValueError(
                f"Target: level applies only to {', '.join(_LEVEL_METRICS)}, not to {self.metric!r}"
            )
        if self.kind not in _KINDS:
            raise ValueError(f"Target: unknown kind {self.kind!r}; kinds are {', '.join(map(repr, _KINDS))}")

    @classmethod
    def equal_means(cls, first: str, second: str) -> Target:
        """Equal expected net results for two parties: mean(first) − mean(second) == 0."""
        return cls(party=first, metric="mean", value=0.0, other=second)

    @classmethod
    def equal(cls, first: str, second: str, metric: str = "mean", level: float | None = None) -> Target:
        """The same ``metric`` for two parties: metric(first) − metric(second) == 0."""
        return cls(party=first, metric=metric, value=0.0, level=level, other=second)

    def _label(self) -> str:
        level = f"[{self.level:g}]" if self.level is not None else ""
        return f"{self.metric}{level}({self.party})"

    def describe(self) -> str:
        """The target in words, e.g. ``'tail_value_at_risk[0.99](provider) <= 2,000,000'``."""
        left = self._label()
        if self.other is not None:
            right = dataclasses.replace(self, party=self.other, other=None)._label()
            left = f"{left} - {right}"
        return f"{left} {self.kind} {_fmt(self.value)}"

    def measure(self, ds: xr.Dataset, model: str) -> float:
        """The target's quantity (metric, or difference of metrics) for ``model`` in the result cube ``ds``."""
        level = self.level if self.level is not None else 0.99
        summary = summarize(ds.sel(model=[model]), levels=(level,), capital_level=level)
        return self._measure_summary(summary, model)

    def _measure_summary(self, summary: xr.Dataset, model: str) -> float:
        def one(party):
            v = summary[self.metric].sel(model=model, party=party)
            if "level" in v.dims:
                v = v.isel(level=0)
            return float(v)

        out = one(self.party)
        if self.other is not None:
            out -= one(self.other)
        return out


def _check_target(target) -> Target:
    if isinstance(target, Target):
        return target
    if isinstance(target, Mapping):
        known = [f.name for f in dataclasses.fields(Target)]
        for k in target:
            if k not in known:
                raise ValueError(f"target: unknown key {k!r}; a target has {', '.join(known)}")
        if "party" not in target:
            raise ValueError("target: a dict target needs a 'party'")
        return Target(**target)
    raise TypeError(f"target must be a vbcsim.solve.Target or a dict, got {type(target).__name__}")


@dataclass(frozen=True)
class SolveResult:
    """What :func:`solve` found.

    Attributes
    ----------
    parameter : str
        the term solved for.
    value : float
        its solution: the root for ``kind="=="``, the satisfying end of the
        final bracket for ``"<="``/``">="``.
    achieved : float
        the target's quantity (the metric, or the difference of two parties'
        metrics) at ``value``, on the simulated scenarios.
    target : Target
        the target.
    bracket : tuple of float
        the final bracket (low, high): two evaluated values on either side of
        the target (equal when a value met it exactly).
    iterations : int
        Brent iterations (0 when an end of the bounds met the target).
    evaluations : int
        evaluations of the objective (settlements of the model), a final
        rerun included.
    engine_runs : int
        how many of them ran the engine; the others settled its statistics
        from an earlier run again (the term left the draws, attachment
        points and pools as they were).
    history : tuple of (float, float)
        every evaluated (parameter value, achieved quantity), in order.
    step : bool
        True when the quantity jumps across the target inside the final
        bracket: a piecewise-constant metric (``prob_loss``, or a
        ``value_at_risk`` that one scenario's loss sets) on a finite sample
        may meet no value exactly; ``value`` then locates the jump to within
        the tolerance and ``achieved`` differs from the target by up to the
        jump.
    arrangement : vbcsim.Arrangement
        the model at the solution.
    dataset : xarray.Dataset
        the result cube of the final run (the single model at ``value``), as
        returned by :func:`vbcsim.simulate`.
    """

    parameter: str
    value: float
    achieved: float
    target: Target
    bracket: tuple[float, float]
    iterations: int
    evaluations: int
    engine_runs: int
    history: tuple
    step: bool
    arrangement: Arrangement
    dataset: xr.Dataset = dataclasses.field(repr=False)

    @property
    def model(self) -> str:
        """The model's name in :attr:`dataset`."""
        return str(self.dataset["model"].values[0])

    def summary(self, levels=(0.95, 0.99), capital_level: float = 0.99) -> xr.Dataset:
        """:func:`vbcsim.summarize` of the final run."""
        return summarize(self.dataset, levels=levels, capital_level=capital_level)


# -- the model as a function of the parameter ---------------------------------------------------


def _solvable_fields(cls) -> list[str]:
    """Continuous terms of a partnership model: float fields (or optional ones), not ints or flags."""
    out = []
    for f in dataclasses.fields(cls):
        d = f.default
        if d is None or (isinstance(d, float) and not isinstance(d, bool)):
            out.append(f.name)
    return out


def _resolve_model(model, parameter, population, scenario_risk):
    """(build: value -> Arrangement, model name, default bounds or None)."""
    if isinstance(model, (str, PartnershipModel)):
        if isinstance(model, str):
            cls = _model_class(model)  # ValueError listing the five models when unknown
            base = cls()
        else:
            cls, base = type(model), model
        if not isinstance(parameter, str):
            raise TypeError(f"parameter must be a string, got {type(parameter).__name__}")
        solvable = _solvable_fields(cls)
        if parameter not in solvable:
            every = [f.name for f in dataclasses.fields(cls)]
            why = "is not a continuous term (an integer or a flag)" if parameter in every else "is unknown"
            raise ValueError(
                f"parameter {parameter!r} of {cls.key} {why}; the terms {cls.__name__} can solve for are "
                f"{', '.join(solvable)}"
            )

        def build(value):
            try:
                m = dataclasses.replace(base, **{parameter: value})
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{cls.key}: {parameter}={_fmt(value)} is not a valid term: {exc}") from None
            return m.arrangement(population, scenario_risk)

        return build, cls.title, DEFAULT_BOUNDS.get(parameter)
    if callable(model):
        if not isinstance(parameter, str):
            raise TypeError(
                f"parameter must be a string (a label for the term), got {type(parameter).__name__}"
            )

        def build(value):
            return as_arrangement("model", model(value))

        return build, "model", None
    raise TypeError(
        "model must be a partnership model key (one of "
        f"{', '.join(MODEL_KEYS)}), a readable model name, a PartnershipModel instance, or a callable "
        f"value -> Arrangement; got {type(model).__name__}"
    )


def _check_bounds(bounds, default, parameter) -> tuple[float, float]:
    if bounds is None:
        if default is None:
            known = ", ".join(DEFAULT_BOUNDS)
            raise ValueError(
                f"no default bounds for parameter {parameter!r}: pass bounds=(low, high) "
                f"(defaults exist for {known})"
            )
        return default
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise TypeError(f"bounds must be a pair (low, high), got {bounds!r}") from None
    lo = check_real("bounds", lo)
    hi = check_real("bounds", hi)
    if not lo < hi:
        raise ValueError(f"bounds must satisfy low < high, got ({lo!r}, {hi!r})")
    return lo, hi


# -- the trials: one model on fixed draws ---------------------------------------------------------


class _Trials:
    """Simulate one model, named ``name``, on the same draws, reusing the engine's statistics when it can.

    Each call is :func:`vbcsim.simulate` of ``{name: arrangement}`` with the
    fixed seed, and returns the same Dataset bit for bit; the engine itself
    reruns only when its inputs (the simulated segments, the per-scenario
    factors, which carry the efficiency draws, and the attachment table)
    differ from the previous run's.
    """

    def __init__(
        self,
        population,
        name,
        n_scenarios,
        seed,
        scenario_risk,
        *,
        quality=None,
        attachments=(),
        threads=None,
        backend="threads",
    ):
        from vbcsim.contracts.arrangement import Quality
        from vbcsim.engine import driver

        self.population = population
        self.name = name
        self.n_scenarios = n_scenarios
        self.seed = driver.check_seed(seed)
        self.scenario_risk = scenario_risk
        if quality is not None and not isinstance(quality, Quality):
            raise TypeError(f"quality must be a vbcsim.Quality or None, got {type(quality).__name__}")
        self.quality = quality
        self.attachments = _plan._check_attachments(attachments)
        self.threads = driver.check_threads(threads)
        self.backend = _plan._check_backend(backend)
        self.oracle = aggregate_stop_loss_oracle(population)  # one FFT for all trials, if a contract needs it
        self.engine_runs = 0
        self._last = None  # (plan, cost, excess) of the last engine run

    def _reusable(self, plan) -> bool:
        if self._last is None:
            return False
        old = self._last[0]
        return (
            plan.simulated == old.simulated
            and np.array_equal(plan.factors, old.factors)
            and np.array_equal(plan.attachment_table, old.attachment_table)
        )

    def __call__(self, arrangement: Arrangement) -> xr.Dataset:
        plan = _plan.make_plan(
            self.population,
            {self.name: arrangement},
            self.n_scenarios,
            self.seed,
            self.attachments,
            self.scenario_risk,
            self.quality,
        )
        if not self._reusable(plan):
            cost, excess = _plan.run_engine(plan, self.backend, self.threads)
            self._last = (plan, cost, excess)
            self.engine_runs += 1
        _, cost, excess = self._last
        return _cube.assemble(plan, cost.copy(), excess.copy(), 0, self.n_scenarios, self.oracle)


# -- the solver ---------------------------------------------------------------------------------


def solve(
    population,
    model,
    parameter: str,
    target,
    *,
    bounds=None,
    n_scenarios: int = 4_000,
    seed: int = 0,
    scenario_risk=_DEFAULT,
    tol: float | None = None,
    maxiter: int = 100,
    scan: int = 0,
    progress=None,
    **options,
) -> SolveResult:
    """Find the value of one contract term that meets a target for a party's metric.

    Parameters
    ----------
    population : Population, Segment or None
        the provider's panel (None: :func:`vbcsim.defaults.provider_panel`).
    model : str, PartnershipModel or callable
        a partnership model: its identifier (``custom_contract``,
        ``value_program``, ``third_party``, ``risk_network``,
        ``joint_venture``), readable name or number "1"-"5" (its default
        terms), or an instance such as ``vbcsim.partnerships.RiskNetwork(
        coinsurance=0)`` whose other terms are kept.  Or a callable
        ``value -> Arrangement`` (or a contract, or a list of contracts) for
        any other term; it must give the same model for the same value.
    parameter : str
        for a partnership model, the field of its dataclass to solve for (a
        continuous term: ``sharing_rate``, ``loss_sharing_rate``,
        ``minimum_savings_rate``, ``stop_loss_attachment``,
        ``percent_of_premium``, ``pass_through``, ``partner_equity``, ...);
        for a callable, a label used in messages.
    target : Target or dict
        what to meet, e.g. ``Target("provider", "tail_value_at_risk",
        2_000_000, kind="<=")`` or ``Target.equal_means("payer",
        "provider")``; a dict is passed to :class:`Target`.
    bounds : (float, float), optional
        the interval searched.  Default :data:`DEFAULT_BOUNDS` for the
        parameter (required for a callable and for terms without a default).
    n_scenarios, seed :
        as for :func:`vbcsim.simulate`; every trial uses the same seed, so all
        trials share their member draws (common random numbers).
    scenario_risk : ScenarioRisk or None
        systematic risk, priced into benchmarks and premiums and simulated
        (default :data:`vbcsim.partnerships.DEFAULT_SCENARIO_RISK`, as for
        :func:`vbcsim.compare`).
    tol : float, optional
        absolute tolerance on the parameter (default 1e-6 × the width of
        ``bounds``).
    maxiter : int
        the most Brent iterations (default 100).
    scan : int
        when the ends of ``bounds`` do not bracket the target, evaluate this
        many equally spaced interior values and use the first sign change
        (default 0: only the ends).  Useful for a metric that is not
        monotone in the parameter.
    progress : None, bool or callable
        a progress bar over the trials (``tqdm.auto``; see
        :func:`vbcsim.simulate`): None shows one when someone is watching,
        True always, False never; a callable gets ``progress(done, total)``
        with ``total`` an estimate (the ends, the scan and Brent's usual
        iterations) that grows if the search runs longer.
    **options
        passed to :func:`vbcsim.simulate`: ``quality``, ``attachments``,
        ``threads``, ``backend``.

    Returns
    -------
    SolveResult
        the value, the achieved metric, the final bracket, the number of
        iterations and simulations, the arrangement and the final run's
        Dataset.

    Raises
    ------
    ValueError
        when the target is not bracketed within ``bounds`` (unreachable, or
        for ``"<="``/``">="`` satisfied everywhere so no boundary lies
        inside): the message names the parameter, the bounds, the metric at
        both ends and the target.  Also for an unknown model, parameter,
        party or metric (listing the valid ones) and for bad bounds.

    Notes
    -----
    The objective is g(x) = quantity(x) − target value, evaluated by
    simulating the model at x with the fixed seed.  The ends of ``bounds`` are
    evaluated first; then :func:`scipy.optimize.brentq` finds a root of g in
    the bracket.  Because of common random numbers, g is deterministic and,
    for the smooth metrics (mean, std, TVaR, risk share, capital), piecewise
    smooth in contract rates; ``prob_loss`` and ``value_at_risk`` are
    piecewise constant on a finite sample, for which the bracket still
    converges on the jump and :attr:`SolveResult.step` says so.  The answer
    is exact for the simulated sample; its Monte Carlo error is that of the
    metric, divided by the metric's slope in the parameter.

    Examples
    --------
    >>> import vbcsim
    >>> from vbcsim import Target, solve
    >>> pop = vbcsim.defaults.provider_panel(2_000)
    >>> r = solve(pop, "risk_network", "percent_of_premium", Target.equal_means("payer", "provider"),
    ...           n_scenarios=500)
    >>> abs(r.achieved) < 1.0
    True
    """
    population = _check_population(population)
    if scenario_risk is _DEFAULT:
        scenario_risk = DEFAULT_SCENARIO_RISK
    check_scenario_risk(scenario_risk)
    target = _check_target(target)
    n_scenarios = check_positive_int("n_scenarios", n_scenarios, strict=True)
    if n_scenarios < 2:
        raise ValueError(f"n_scenarios must be at least 2 to measure risk, got {n_scenarios}")
    maxiter = check_positive_int("maxiter", maxiter, strict=True)
    scan = check_positive_int("scan", scan, strict=True) if scan else 0
    for name in options:
        if name not in _OPTIONS:
            raise TypeError(
                f"solve: unknown option {name!r}; the options passed to simulate are {', '.join(_OPTIONS)} "
                "(n_scenarios, seed and scenario_risk are solve's own arguments)"
            )

    build, name, default_bounds = _resolve_model(model, parameter, population, scenario_risk)
    lo, hi = _check_bounds(bounds, default_bounds, parameter)
    if tol is None:
        tol = 1e-6 * (hi - lo)
    else:
        tol = check_real("tol", tol)
        if tol <= 0:
            raise ValueError(f"tol must be positive, got {tol!r}")

    simulate = _Trials(population, name, n_scenarios, seed, scenario_risk, **options)
    bar = as_callback(progress, "solve", unit="trial")
    try:
        return _solve(simulate, build, name, parameter, target, lo, hi, tol, maxiter, scan, bar)
    finally:
        if bar is not None:
            bar(1, 1)


def _solve(simulate, build, name, parameter, target, lo, hi, tol, maxiter, scan, bar) -> SolveResult:
    """The search of :func:`solve`, on validated arguments."""

    history: list[tuple[float, float]] = []
    cache: dict[float, float] = {}
    recent: dict[float, tuple] = {}  # the last few runs (arrangement, dataset), to spare a final rerun

    def run(x: float):
        arr = build(x)
        ds = simulate(arr)
        q = target.measure(ds, name)
        if not math.isfinite(q):
            raise ValueError(
                f"{target.describe()}: the metric is not finite at {parameter}={_fmt(x)} "
                "(e.g. a risk share when medical cost does not vary)"
            )
        return q, arr, ds

    def g(x: float) -> float:
        x = float(x)
        if x not in cache:
            if bar is not None:  # Brent usually needs 10-20 trials on top of the ends and the scan
                bar(len(history), max(len(history) + 1, 2 + scan + 15))
            q, arr, ds = run(x)
            cache[x] = q
            history.append((x, q))
            recent[x] = (arr, ds)
            while len(recent) > 3:
                del recent[next(iter(recent))]
        return cache[x] - target.value

    def feasible(gx: float) -> bool:
        return gx == 0 or (gx < 0 if target.kind == "<=" else gx > 0 if target.kind == ">=" else False)

    g_lo, g_hi = g(lo), g(hi)
    a, b, ga, gb = lo, hi, g_lo, g_hi
    if ga * gb > 0 and scan:
        grid = np.linspace(lo, hi, scan + 2)
        prev_x, prev_g = lo, g_lo
        for x in grid[1:-1]:
            gx = g(float(x))
            if prev_g * gx <= 0:
                a, b, ga, gb = prev_x, float(x), prev_g, gx
                break
            prev_x, prev_g = float(x), gx
    if ga * gb > 0:
        seen = ""
        if scan:
            qs = [q for _, q in history]
            seen = f"; over {len(history)} values scanned it ranged from {_fmt(min(qs))} to {_fmt(max(qs))}"
        ends = (
            f"{parameter} in [{_fmt(lo)}, {_fmt(hi)}]: {target.describe()} gives "
            f"{_fmt(cache[lo])} at {parameter}={_fmt(lo)} and {_fmt(cache[hi])} at {parameter}={_fmt(hi)}"
            f"{seen}"
        )
        if target.kind != "==" and feasible(ga) and feasible(gb):
            raise ValueError(
                f"target not binding within bounds: {ends}, which both satisfy it, so no boundary lies "
                "inside the bounds; widen bounds to find where it stops holding"
            )
        raise ValueError(
            f"target unreachable within bounds: {ends}; the target {_fmt(target.value)} is not between "
            "them. Widen bounds, change the target, or pass scan=n for a metric that is not monotone"
        )

    iterations = 0
    if ga == 0 or gb == 0:
        root = a if ga == 0 else b
    else:
        root, info = brentq(g, a, b, xtol=tol, maxiter=maxiter, full_output=True, disp=False)
        iterations = int(info.iterations)
        if not info.converged:
            raise RuntimeError(
                f"solve: Brent's method did not converge in {maxiter} iterations for {parameter} "
                f"({info.flag}); raise maxiter or tol"
            )
        root = float(root)
        g(root)

    # the final bracket: the adjacent evaluated values around the root whose signs differ
    tv = target.value
    if cache[root] == tv:
        bracket = (root, root)
    else:
        xs = sorted(cache)
        bracket = (a, b)  # brentq keeps a sign-changing bracket with the root at one end: narrowed below
        for x0, x1 in zip(xs, xs[1:], strict=False):
            if (
                x0 <= root <= x1
                and (cache[x0] - tv) * (cache[x1] - tv) <= 0
                and x1 - x0 < bracket[1] - bracket[0]
            ):
                bracket = (x0, x1)

    # continuity check, one more run at the bracket's midpoint: a continuous quantity is nearly linear
    # across a bracket this narrow, so its midpoint value lies near the average of the ends; a jump
    # leaves it at one end's value
    step = False
    x0, x1 = bracket
    mid = 0.5 * (x0 + x1)
    if x0 < mid < x1:
        g0, g1, gm = cache[x0] - tv, cache[x1] - tv, g(mid)
        if gm == 0:
            bracket = (mid, mid)
        else:
            step = abs(gm - 0.5 * (g0 + g1)) > 0.4 * abs(g1 - g0)
            bracket = (x0, mid) if gm * g0 < 0 else (mid, x1)

    x0, x1 = bracket
    if target.kind == "==":
        value = x0 if abs(cache[x0] - tv) <= abs(cache[x1] - tv) else x1
    else:
        value = x0 if feasible(cache[x0] - tv) else x1

    rerun = value not in recent
    if rerun:  # not among the last runs kept: simulate it again (same draws, same result)
        _, arr, ds = run(value)
    else:
        arr, ds = recent[value]
    return SolveResult(
        parameter=parameter,
        value=value,
        achieved=cache[value],
        target=target,
        bracket=bracket,
        iterations=iterations,
        evaluations=len(history) + int(rerun),
        engine_runs=simulate.engine_runs,
        history=tuple(history),
        step=step,
        arrangement=arr,
        dataset=ds,
    )


# ``vbcsim.solve`` is exported as the function, which hides this module's name on the package: keep the
# target and result types reachable from it as well (``vbcsim.solve.Target``)
solve.Target = Target
solve.SolveResult = SolveResult
