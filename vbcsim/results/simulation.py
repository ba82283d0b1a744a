"""``vbcsim.simulate``: a population's annual costs over many scenarios, as an xarray cube."""

from __future__ import annotations

import dataclasses

import xarray as xr

from vbcsim._progress import as_callback, check_progress
from vbcsim._validation import check_positive_int
from vbcsim.contracts.arrangement import Quality
from vbcsim.engine import driver
from vbcsim.population.scenario import ScenarioRisk, check_scenario_risk
from vbcsim.population.segments import check_population
from vbcsim.results.cube import assemble
from vbcsim.results.plan import (
    _check_attachments,
    _check_backend,
    _check_models,
    check_scenario_sampling,
    describe,
    make_plan,
    run_engine,
)
from vbcsim.results.store import simulate_to_zarr

__all__ = ["simulate", "describe", "check_population", "make_plan", "run_engine", "assemble"]


#: most performance years a run may simulate (an agreement is 3 to 5 years; a venture's horizon 10)
MAX_YEARS = 50


def check_years(years) -> int:
    years = check_positive_int("years", years, strict=True)
    if years > MAX_YEARS:
        raise ValueError(f"years must be at most {MAX_YEARS} (simulation.MAX_YEARS), got {years!r}")
    return years


def _check_device(device, backend) -> str:
    """ "cpu" or "gpu"; "gpu" only on a machine with a CUDA GPU, with the threads backend."""
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")
    if device == "gpu":
        if backend != "threads":
            raise ValueError("device='gpu' runs the engine on the GPU; it takes no backend='dask'")
        from vbcsim.engine._gpu import gpu_available

        if not gpu_available():
            raise RuntimeError("device='gpu' needs a CUDA GPU; none was found (the CPU is the default)")
    return device


def _check_sampler(value) -> str:
    if value not in driver.SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(map(repr, driver.SAMPLERS))}, got {value!r}")
    return value


def _check_risk_score(value):
    from vbcsim.population.risk import RiskScore

    if value is not None and not isinstance(value, RiskScore):
        raise TypeError(f"risk_score must be a vbcsim.RiskScore or None, got {type(value).__name__}")
    return value


def _check_flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def simulate(
    population,
    models=None,
    *,
    n_scenarios: int,
    seed: int,
    attachments=(),
    scenario_risk: ScenarioRisk | None = None,
    quality: Quality | None = None,
    threads: int | None = None,
    progress=None,
    backend: str = "threads",
    out=None,
    overwrite: bool = False,
    baseline: bool = False,
    scenario_sampling: str = "random",
    years: int = 1,
    risk_score=None,
    sampler: str = "vector",
    device: str = "cpu",
) -> xr.Dataset:
    """Simulate the annual medical cost of every member, ``n_scenarios`` times.

    Parameters
    ----------
    population : Population or Segment
        who is simulated.
    models : dict, optional
        payment models to settle on the same member draws: a mapping from a
        model name to a :class:`vbcsim.Arrangement`, a contract or a list of
        contracts.  All models see the same member draws (common random
        numbers); each model's efficiency effect scales its members' costs
        before its per-member attachments apply.
    n_scenarios : int
        number of simulated years.

        The run is sized before any work: more than
        ``vbcsim.results.plan.MAX_MEMBER_DRAWS`` (1e12) member draws (members ×
        scenarios × expected claims per member for a Compound, summed over the
        segments and the models' pool segments), or arrays larger than
        ``vbcsim.results.plan.MAX_MEMORY_BYTES`` (the machine's memory), are
        refused with a ``ValueError`` giving the estimate; raise those module
        constants to allow more.  Every cost distribution must have a finite
        mean (see :func:`vbcsim.population.limits.check_simulable`).
    seed : int
        root seed; the same seed gives a bitwise-identical Dataset whatever
        ``threads`` is.
    attachments : sequence of float
        per-member attachment points a (currency per year): the cube gets
        ``excess`` = Σ over members of (X − a)+, what a specific stop-loss at a
        would recover.
    scenario_risk : ScenarioRisk, optional
        systematic risk shared by all members of a scenario; without it members
        are independent.
    quality : Quality, optional
        distribution of the scenario's quality score (default ``Quality()``,
        Beta(8, 2)), drawn when models are given.
    threads : int, optional
        worker threads (default: ``numba.config.NUMBA_NUM_THREADS``, which the
        ``NUMBA_NUM_THREADS`` environment variable sets).
    progress : None, bool or callable
        a progress bar (``tqdm.auto``: a widget in Jupyter): None (default)
        shows one when stderr is a terminal or a notebook can draw it and
        the run lasts over two seconds; True always, False never; a callable
        is called as ``progress(done, total)`` after each block.
    backend : {"threads", "dask"}
        where the engine's blocks run: this process's threads (default), or
        Dask tasks on the active ``dask.distributed`` client (dask's default
        scheduler when there is none); needs ``pip install vbcsim[distributed]``.
        The result is bitwise identical either way, whatever the number of
        workers.
    out : str or path, optional
        a zarr store (``results.zarr``) to stream the result to, block by
        block, so a run larger than memory completes; the Dataset returned is
        then opened lazily from it.  An interrupted run resumes where it
        stopped when called again with the same inputs and ``out``: finished
        blocks are not recomputed and stay intact.  A store holding a finished
        run of the same inputs is returned as it is.
    overwrite : bool
        with ``out``: replace a store that holds a different run (by default
        that is an error).
    baseline : bool
        with models: also settle each model's fee-for-service status quo
        (:meth:`vbcsim.Arrangement.status_quo`) on the same draws, as the
        cube's ``status_quo_net`` (scenario, model, party), so that
        ``vbcsim.summarize(ds, baseline="fee_for_service")`` reports what each
        model changes.  No extra engine work: the status quo has no efficiency
        effect.  Default False here; :func:`vbcsim.compare` sets it.
    scenario_sampling : {"random", "sobol"}
        how the scenario-level variables are drawn: the systematic trend, the
        shock year, the market-wide part of the trend, the quality score and
        each model's efficiency.  "random" (default): independent
        pseudo-random streams.  "sobol": quasi-Monte Carlo, one scrambled
        Sobol' sequence (``scipy.stats.qmc.Sobol``, seeded from ``seed``)
        whose columns feed the same inverse transforms, so each variable keeps
        its distribution while the scenarios fill its range more evenly; best
        with a power-of-2 ``n_scenarios``.  The members' draws are the same
        either way.  The reduction in the variance of an estimate is measured
        in ``docs/results.md``; :func:`vbcsim.summarize`'s standard errors
        assume independent scenarios, so under "sobol" they are the plain
        Monte Carlo errors, an upper bound in practice.

    years : int
        performance years per scenario (default 1), at most ``MAX_YEARS``
        (50).  Over several years members persist and churn
        (:class:`vbcsim.Segment` ``annual_churn``, ``persistence``), the
        systematic risk follows a trend (:class:`vbcsim.ScenarioRisk`
        ``annual_trend``, ``trend_persistence``), and contracts settle year
        by year, benchmarks across agreement periods
        (:class:`vbcsim.Agreement`).  Every per-scenario variable then has a
        ``year`` dimension after ``scenario`` (coordinate 1..years, with
        ``trend_index``), ``premium`` is (year, model), and the cube adds
        ``cumulative_net``, ``benchmark`` and, when an agreement needs the
        years before the first, ``baseline_cost`` (scenario, baseline_year,
        segment).  ``years=1`` without agreements is the single-year run,
        bit for bit (docs/multi_year.md).
    risk_score : RiskScore, optional
        give every member a yearly risk score (:class:`vbcsim.RiskScore`), which
        risk-adjusted contracts (``SharedSavings(risk_adjusted=True)``,
        ``Capitation(risk_adjusted=True)``) follow; with it, or a segment's
        :class:`vbcsim.Selection`, the cube adds ``risk_score`` and
        ``panel_members`` (scenario, segment), ``reference_cost`` and the
        ``decomposition`` of each benchmark contract's payment into efficiency,
        selection, coding and chance (docs/risk_adjustment.md).

    sampler : {"vector", "scalar"}
        how the engine draws members.  "vector" (default): many generator
        lanes advanced together, which the compiler turns into SIMD code —
        about 2.4 times the member draws a second of "scalar" on the standard
        workload (hurdle-lognormal members; other distributions, and runs over
        several years, use the scalar path).  "scalar": one generator per
        block, member after member, the engine's draws before the vectorised
        path, so a seed gives the numbers it gave then.  Both are exact in
        distribution and bitwise reproducible for a seed whatever the thread
        count; they give different bits (docs/performance.md).
    device : {"cpu", "gpu"}
        where the engine's member loop runs: the CPU (default), or a CUDA GPU
        (numba's CUDA target; only when one is present, else a RuntimeError),
        for single-year runs of hurdle-lognormal members; exact in
        distribution, not bitwise equal to the CPU (docs/performance.md).

    Returns
    -------
    xarray.Dataset
        ``cost`` (scenario, segment), ``excess`` (scenario, segment, attachment)
        when attachments are given, ``scenario_factor`` (scenario) and
        ``members`` (segment); with models also ``net`` (scenario, model,
        party), ``medical_cost`` (scenario, model), ``settlement`` (scenario,
        model, contract; NaN where a model has no such contract), ``premium``
        (model), ``efficiency`` (scenario, model), ``rebate`` (scenario, model)
        and ``quality`` (scenario); ``price_index`` (model) and ``price_effect``
        (scenario, model) where a model has a unit-price lever, and
        ``balance_billing`` (scenario, model) where a contract bills members
        (docs/prices.md).  attrs ``seed``, ``n_scenarios``,
        ``vbcsim_version`` and ``config`` (JSON of the inputs).

    Examples
    --------
    >>> import vbcsim
    >>> pop = vbcsim.Population([vbcsim.Segment("adults", 1000, vbcsim.Hurdle(0.8, vbcsim.Lognormal(8, 1.5)))])
    >>> ds = vbcsim.simulate(pop, n_scenarios=100, seed=1, attachments=[50_000])
    >>> ds.cost.dims
    ('scenario', 'segment')
    """
    population = check_population(population)
    n_scenarios = check_positive_int("n_scenarios", n_scenarios, strict=True)
    seed = driver.check_seed(seed)
    att = _check_attachments(attachments)
    scenario_risk = check_scenario_risk(scenario_risk)
    threads = driver.check_threads(threads)
    check_progress(progress)

    arrangements = _check_models(models)
    if quality is not None and not isinstance(quality, Quality):
        raise TypeError(f"quality must be a vbcsim.Quality or None, got {type(quality).__name__}")

    backend = _check_backend(backend)
    plan = make_plan(
        population,
        arrangements,
        n_scenarios,
        seed,
        att,
        scenario_risk,
        quality,
        threads=threads,
        streamed=out is not None,
        status_quo=_check_flag("baseline", baseline),
        scenario_sampling=check_scenario_sampling(scenario_sampling),
        years=check_years(years),
        risk_score=_check_risk_score(risk_score),
        sampler=_check_sampler(sampler),
    )
    if _check_device(device, backend) == "gpu":
        plan = dataclasses.replace(plan, device="gpu")
    progress = as_callback(progress, "simulate")
    if out is not None:
        return simulate_to_zarr(
            plan, out, backend=backend, threads=threads, progress=progress, overwrite=overwrite
        )
    cost, excess = run_engine(plan, backend, threads, progress)
    return assemble(plan, cost, excess, 0, n_scenarios)
