"""The ``vbcsim`` command line.

``vbcsim`` (or ``python -m vbcsim``) with no command runs ``vbcsim compare``
(:data:`DEFAULT_COMMAND`) on the built-in defaults.

``vbcsim simulate`` runs the built-in commercial population through the Monte
Carlo engine and prints a summary table that sets every simulated figure
beside its exact counterpart.

``vbcsim compare [CONFIG.toml]`` runs the five partnership models on the same
member draws (configured by a TOML file, see :mod:`vbcsim.config` and
``examples/compare.toml``), prints each party's reward and risk under each
model, and writes the result cube (netCDF or zarr) and plots atomically.
``--years N`` runs N performance years per scenario and prints the cumulative
result first (:mod:`vbcsim.frontends.cli_years`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from vbcsim._progress import as_callback
from vbcsim._version import __version__
from vbcsim.frontends import cli_years

__all__ = ["main"]

DEFAULT_ATTACHMENTS = (100_000.0, 250_000.0)  # common specific stop-loss attachment points

#: The command that ``vbcsim`` runs when none is named (``"simulate"`` or ``"compare"``).
DEFAULT_COMMAND = "compare"

COMPARE_SCENARIOS = 10_000  # scenarios of ``vbcsim compare`` when neither the flag nor the config sets them
CURVE_SCENARIOS = 2_000  # at most this many scenarios per panel size for the settlement-probability plot
PLOTS = ("net_distributions", "risk_return", "risk_shares", "settlement_probability")


def _int_at_least(low: int, what: str):
    """An argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a {what} integer, got {text!r}")
        return value

    return parse


_positive_int = _int_at_least(1, "positive")
_nonnegative_int = _int_at_least(0, "non-negative")


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2), like the run's errors."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} -h)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vbcsim",
        description="Actuarial Monte Carlo simulation of value-based care payment models.",
    )
    parser.add_argument("--version", action="version", version=f"vbcsim {__version__}")
    sub = parser.add_subparsers(dest="command")
    sim = sub.add_parser(
        "simulate",
        help="simulate the built-in commercial population and print a summary"
        + (" (the default command)" if DEFAULT_COMMAND == "simulate" else ""),
    )
    _add_simulate_args(sim)
    cmp = sub.add_parser(
        "compare",
        help="compare the five partnership models: who bears the risk, what each side earns"
        + (" (the default command)" if DEFAULT_COMMAND == "compare" else ""),
        description=_COMPARE_DESCRIPTION,
        epilog=_COMPARE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_compare_args(cmp)
    rep = sub.add_parser(
        "report",
        help="write a one-page HTML report of the comparison, to send",
        description=_REPORT_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_report_args(rep)
    return parser


def _add_simulate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenarios", type=_positive_int, default=2_000, help="simulated years (default 2000)")
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="root seed (default 0)")
    p.add_argument("--threads", type=_positive_int, default=None, help="worker threads (default: all cores)")
    p.add_argument(
        "--scale", type=_float, default=1.0, help="population size multiplier (default 1: 100,000 members)"
    )
    p.add_argument(
        "--trend-cv", type=_float, default=0.0, help="systematic trend uncertainty, CV of a mean-1 multiplier"
    )
    p.add_argument("--shock-probability", type=_float, default=0.0, help="probability of a shock year")
    p.add_argument("--shock-size", type=_float, default=0.0, help="proportional cost change in a shock year")
    p.add_argument("--out", default=None, help="write the result cube to this netCDF file (.nc), atomically")


_COMPARE_DESCRIPTION = """\
Run the five partnership models (custom risk-based contract, payer-branded value
program, third party-mediated relationship, risk-bearing network collaboration,
joint venture insurance product) on the same simulated member costs, and print
first what each model changes for each party against its own fee-for-service
status quo on the same draws (--no-baseline leaves it out), then each party's
annual net result: mean, standard deviation, value at risk and tail value at
risk of the loss at 99%, probability of a loss (of a year worse than fee for
service), risk share (the part of each extra dollar of medical cost the party
bears) and risk capital (TVaR 99% of the loss minus the expected loss), each with
its Monte Carlo standard error beneath it.  Without CONFIG the models run on the
built-in defaults (a 20,000-member commercial provider panel)."""

_COMPARE_EPILOG = """\
configuration (TOML; every section optional, see examples/compare.toml):
  [simulation]         n_scenarios, seed, threads, years (the flags above override them)
  [population]         scale = 0.2 (built-in population, 100,000 x scale members)
    or [[population.segments]] tables: name, members, cost = {type = ..., parameters}
                       types: lognormal (mu, sigma | mean, cv), gamma (shape, scale |
                       mean, cv), pareto (alpha, scale), spliced (body, tail, threshold
                       [, tail_weight]), hurdle (p_nonzero, severity), compound
                       (frequency = poisson (lam) | negative_binomial (mean, dispersion),
                       severity); over several years also annual_churn and
                       persistence = {top_decile_stay = ... | rank_correlation = ...}
  [scenario_risk]      trend_cv, shock_probability, shock_size, market_share_of_variance,
                       annual_trend, trend_persistence (override the default)
  [agreement]          length, baseline_years, baseline_weights, regional_blend,
                       prior_savings_adjustment, adjustment_cap, prior_savings_share:
                       benchmarks from the panel's own history, rebased each period
  [compare]            models = [...]: the models to compare, by id, in order
  [models.<id>]        parameter overrides of one model (the fields of
                       vbcsim.partnerships.CustomContract, ValueProgram, ThirdParty,
                       RiskNetwork, JointVenture; "none" switches an optional one off);
                       ids: custom_contract, value_program, third_party, risk_network,
                       joint_venture
  [settlement_curve]   sizes = [...], n_scenarios: the panel sizes of --plots' curve

outputs are written atomically: a failed run leaves an earlier file in place.
an invalid configuration or argument exits with status 2 and a one-line message
naming the field; a failure to write an output exits with status 1.

examples:
  vbcsim compare
  vbcsim compare examples/compare.toml --scenarios 20000 --seed 7 --out results.nc
  vbcsim compare my.toml --out results.zarr --plots figures/
  vbcsim compare --years 5 --agreement-length 3 --discount-rate 0.03 --csv summary.csv"""


def _add_run_args(p: argparse.ArgumentParser) -> None:
    """--scenarios, --seed, --threads and --all-models of ``compare`` and ``report``: over the
    config's, over the defaults."""
    p.add_argument(
        "--all-models",
        action="store_true",
        help="compare all eight models: the five partnership models and the three payer-led care "
        'models (MSO enablement, platform convener, direct ownership); as [compare] models = "all"',
    )
    p.add_argument(
        "--scenarios",
        type=_positive_int,
        default=None,
        metavar="N",
        help=f"simulated years (default: the config's n_scenarios, else {COMPARE_SCENARIOS})",
    )
    p.add_argument(
        "--seed",
        type=_nonnegative_int,
        default=None,
        metavar="S",
        help="root seed (default: the config's, else 0)",
    )
    p.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        metavar="T",
        help="worker threads (default: the config's, else all cores)",
    )


def _add_compare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "config", nargs="?", default=None, help="TOML configuration file (default: built-in defaults)"
    )
    _add_run_args(p)
    cli_years.add_year_args(p)
    p.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="write the result cube to a netCDF file (.nc) or a zarr store (.zarr, needs the zarr package)",
    )
    p.add_argument(
        "--backend",
        choices=("threads", "dask"),
        default=None,
        help="run the engine's blocks on this process's threads (default) or as Dask tasks (needs "
        'pip install "vbcsim[distributed]"); the results are bitwise identical',
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a dask.distributed scheduler to run on (e.g. tcp://10.0.0.5:8786; implies --backend dask)",
    )
    p.add_argument(
        "--plots",
        default=None,
        metavar="DIR",
        help="write the figures as PNG files to DIR (created if missing): "
        + ", ".join(PLOTS)
        + "; with --years > 1: "
        + ", ".join((*cli_years.YEAR_PLOTS, "settlement_probability")),
    )
    p.add_argument(
        "--csv",
        default=None,
        metavar="FILE",
        help="write the summary as a tidy CSV table (one row per view, model, party, metric and level, "
        "with its standard error)",
    )
    p.add_argument(
        "--json",
        default=None,
        metavar="FILE",
        help="write the summary (both views, every metric with its standard error) as JSON",
    )
    p.add_argument(
        "--target-error",
        type=_float,
        default=None,
        metavar="R",
        help="add scenarios until the relative standard error of each model's expected result for the "
        "provider (of its change against fee for service, unless --no-baseline) is at most R, e.g. 0.02; "
        "--scenarios is the first run's size",
    )
    p.add_argument(
        "--scenario-sampling",
        choices=("random", "sobol"),
        default="random",
        help="draw the scenario-level variables (trend, shock, quality, efficiency) at random (default) or "
        "as a scrambled Sobol' sequence (quasi-Monte Carlo: less variance for the same scenarios)",
    )
    p.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="leave out each model's fee-for-service status quo and the table of changes against it",
    )


def _fmt(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def _summary(ds, population, scenario_risk, elapsed: float) -> str:
    n_scen = ds.sizes["scenario"]
    trend = scenario_risk.mean() if scenario_risk is not None else 1.0
    lines = []
    total_members = int(ds.members.sum())
    lines.append(
        f"vbcsim {__version__}: {total_members:,} members x {n_scen:,} scenarios, seed {ds.attrs['seed']}, "
        f"{elapsed:.2f} s ({total_members * n_scen / elapsed / 1e6:,.0f} M member-years/s)"
    )
    if scenario_risk is not None:
        lines.append(
            f"systematic risk: trend CV {scenario_risk.trend_cv:g}, shock probability "
            f"{scenario_risk.shock_probability:g}, shock size {scenario_risk.shock_size:g}"
        )
    lines.append("")
    lines.append("Annual cost per member per month (PMPM): simulated vs exact")
    header = f"{'segment':<14}{'members':>9}{'exact':>10}{'simulated':>11}{'+/- 2 SE':>10}{'sd of total':>14}{'exact sd':>14}"
    lines.append(header)
    lines.append("-" * len(header))
    totals = ds.cost.sum("segment").values
    for seg in population:
        name, n = seg.name, seg.members
        c = ds.cost.sel(segment=name).values
        pm = c / n / 12
        exact_pmpm = seg.cost.mean() * trend / 12
        exact_sd = math.sqrt(n * seg.cost.var()) if scenario_risk is None else float("nan")
        lines.append(
            f"{name:<14}{n:>9,}{exact_pmpm:>10.2f}{pm.mean():>11.2f}{2 * pm.std(ddof=1) / math.sqrt(n_scen):>10.2f}"
            f"{_fmt(c.std(ddof=1)):>14}{_fmt(exact_sd) if math.isfinite(exact_sd) else 'n/a':>14}"
        )
    exact_total = population.expected_cost() * trend / total_members / 12
    pm = totals / total_members / 12
    lines.append(
        f"{'all':<14}{total_members:>9,}{exact_total:>10.2f}{pm.mean():>11.2f}"
        f"{2 * pm.std(ddof=1) / math.sqrt(n_scen):>10.2f}{_fmt(totals.std(ddof=1)):>14}"
    )
    lines.append("")
    if "excess" in ds:
        lines.append("Specific stop-loss: expected cost above the attachment per member per year")
        header = f"{'segment':<14}{'attachment':>12}{'exact':>10}{'simulated':>11}{'+/- 2 SE':>10}"
        lines.append(header)
        lines.append("-" * len(header))
        for seg in population:
            for a in ds.attachment.values:
                e = ds.excess.sel(segment=seg.name, attachment=a).values / seg.members
                ex = f"{float(seg.cost.stop_loss(a)):.2f}" if scenario_risk is None else "n/a"
                lines.append(
                    f"{seg.name:<14}{_fmt(a):>12}{ex:>10}{e.mean():>11.2f}"
                    f"{2 * e.std(ddof=1) / math.sqrt(n_scen):>10.2f}"
                )
        lines.append("")
    if scenario_risk is None:
        from vbcsim.population import exact

        lines.append("Segment total cost, value at risk (exact by FFT vs simulated quantile)")
        header = f"{'segment':<14}{'level':>7}{'exact VaR':>16}{'simulated':>16}"
        lines.append(header)
        lines.append("-" * len(header))
        for seg in population:
            agg = exact.aggregate(seg.cost, members=seg.members)
            c = ds.cost.sel(segment=seg.name).values
            for q in (0.95, 0.99):
                lines.append(f"{seg.name:<14}{q:>7.2f}{_fmt(agg.ppf(q)):>16}{_fmt(np.quantile(c, q)):>16}")
    return "\n".join(lines)


def _simulate(args) -> int:
    import vbcsim
    from vbcsim._validation import check_positive_int
    from vbcsim.engine.driver import check_seed, check_threads
    from vbcsim.population.defaults import commercial_population
    from vbcsim.results import io

    # the output path is checked before the (long) run
    if args.out is not None:
        out = io.check_output_path(args.out, name="--out")
        if out.suffix not in io.NETCDF_SUFFIXES:
            raise ValueError(f"--out: vbcsim simulate writes a netCDF file ending in .nc, got {args.out!r}")
    _flag("--threads", check_threads, args.threads)
    _flag("--seed", check_seed, args.seed)
    _flag("--scenarios", lambda n: check_positive_int("n_scenarios", n, strict=True), args.scenarios)
    population = _flag("--scale", commercial_population, args.scale)
    risk = None
    if args.trend_cv or args.shock_probability or args.shock_size:
        # each flag checked on its own, so the error names it
        _flag("--trend-cv", lambda v: vbcsim.ScenarioRisk(trend_cv=v), args.trend_cv)
        _flag(
            "--shock-probability", lambda v: vbcsim.ScenarioRisk(shock_probability=v), args.shock_probability
        )
        _flag("--shock-size", lambda v: vbcsim.ScenarioRisk(shock_size=v), args.shock_size)
        risk = vbcsim.ScenarioRisk(args.trend_cv, args.shock_probability, args.shock_size)
    start = time.perf_counter()
    ds = vbcsim.simulate(
        population,
        n_scenarios=args.scenarios,
        seed=args.seed,
        attachments=DEFAULT_ATTACHMENTS,
        scenario_risk=risk,
        threads=args.threads,
        progress=as_callback(None, "vbcsim"),
    )
    elapsed = time.perf_counter() - start
    print(_summary(ds, population, risk, elapsed))
    if args.out:
        path = io.write_netcdf(ds, args.out)
        print(f"\nwrote {path}")
    return 0


def _flag(flag: str, check, value):
    """``check(value)``, its ValueError/TypeError/OverflowError as a ValueError naming ``flag``."""
    try:
        return check(value)
    except (TypeError, ValueError, OverflowError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"{flag}: {message}") from None


class _WriteError(Exception):
    """An output could not be written (exit status 1)."""


def _check_plots_dir(path) -> Path:
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"plots: {str(path)!r} exists and is not a directory")
    if not path.exists() and not path.parent.is_dir():
        raise ValueError(f"plots: directory {str(path.parent)!r} does not exist")
    if importlib.util.find_spec("vbcsim.frontends.plot") is None:
        raise ValueError("plots: this vbcsim has no plotting module (vbcsim.plot)")
    return path


def _compare(args) -> int:
    with contextlib.ExitStack() as stack:
        return _compare_in(args, stack)


def _compare_settings(args):
    """The configuration and the run's scenarios, seed and threads of ``compare`` or ``report``:
    the flags over the config's ``[simulation]`` over the defaults, checked before the run."""
    from vbcsim.engine.driver import check_seed, check_threads
    from vbcsim.frontends.config import load_config, parse_config

    config = load_config(args.config) if args.config is not None else parse_config({})
    if getattr(args, "all_models", False):
        raw = dict(config.source)
        raw["compare"] = {**dict(raw.get("compare", {})), "models": "all"}
        config = parse_config(raw)
    config = cli_years.resolve(args, config)
    n_scenarios = next(v for v in (args.scenarios, config.n_scenarios, COMPARE_SCENARIOS) if v is not None)
    if n_scenarios < 2:
        where = "--scenarios" if args.scenarios is not None else "simulation.n_scenarios"
        raise ValueError(f"{where}: at least 2 scenarios are needed to measure risk, got {n_scenarios}")
    seed = next(v for v in (args.seed, config.seed, 0) if v is not None)
    threads = args.threads if args.threads is not None else config.threads
    if args.seed is not None:
        _flag("--seed", check_seed, args.seed)
    if args.threads is not None:
        _flag("--threads", check_threads, args.threads)
    return config, n_scenarios, seed, threads


def _target(args) -> dict:
    """``compare``'s target_error options from ``--target-error`` (none without it)."""
    target = getattr(args, "target_error", None)
    if target is None:
        return {}
    if not target > 0:
        raise ValueError(f"--target-error: expected a positive relative error such as 0.02, got {target!r}")
    return {"target_error": target}


def _run_compare(args, config, *, n_scenarios: int, seed: int, threads, backend: str = "threads"):
    """Run the configured comparison (on a dask.distributed scheduler if ``args.scheduler``); return
    the cube, with its ``model_key`` and the configuration as given in its attributes, and the
    seconds it took."""
    import vbcsim

    scheduler = getattr(args, "scheduler", None)
    progress = as_callback(None, "vbcsim")
    start = time.perf_counter()
    client = None
    if scheduler is not None:
        from distributed import Client

        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise ValueError(f"--scheduler: cannot connect to {scheduler!r}: {exc}") from None
    try:
        ds = vbcsim.compare(
            config.population,
            config.models,
            n_scenarios=n_scenarios,
            seed=seed,
            scenario_risk=config.scenario_risk,
            threads=threads,
            progress=progress,
            backend=backend,
            baseline=getattr(args, "baseline", True),
            scenario_sampling=getattr(args, "scenario_sampling", "random"),
            **cli_years.run_options(config),
            **_target(args),
        )
    finally:
        if client is not None:
            client.close()
    elapsed = time.perf_counter() - start
    ds = ds.assign_coords(model_key=("model", list(config.model_keys)))
    ds.attrs["compare_config"] = json.dumps(config.source, default=str)
    if args.config is not None:
        ds.attrs["compare_config_file"] = str(args.config)
    return ds, elapsed


def _compare_in(args, stack: contextlib.ExitStack) -> int:
    import vbcsim
    from vbcsim.frontends import tables
    from vbcsim.results import io

    # everything that can be wrong with the input is checked before the (long) run
    config, n_scenarios, seed, threads = _compare_settings(args)
    out = io.check_output_path(args.out, name="--out") if args.out is not None else None
    if out is not None and out.suffix in io.ZARR_SUFFIXES:
        # held for the whole run: a second run writing the same store fails now, not after its run
        stack.enter_context(io.output_lock(out))
    plots = _check_plots_dir(args.plots) if args.plots is not None else None
    csv = io.check_text_path(args.csv, (".csv",), name="--csv") if args.csv is not None else None
    json_out = io.check_text_path(args.json, (".json",), name="--json") if args.json is not None else None
    backend = "dask" if args.scheduler is not None else (args.backend or "threads")
    if backend == "dask" and importlib.util.find_spec("dask") is None:
        raise ValueError('--backend dask needs dask: pip install "vbcsim[distributed]"')
    if args.scheduler is not None and importlib.util.find_spec("distributed") is None:
        raise ValueError('--scheduler needs dask.distributed: pip install "vbcsim[distributed]"')

    ds, elapsed = _run_compare(
        args, config, n_scenarios=n_scenarios, seed=seed, threads=threads, backend=backend
    )
    shown = cli_years.single_year(ds)  # what is printed and drawn: one year without a year dimension
    if "year" in shown.dims:  # --years N > 1: the cumulative result, then year by year
        summary, change = cli_years.print_years(shown, config, elapsed, args.discount_rate)
    else:
        summary = vbcsim.summarize(shown)
        change = vbcsim.summarize(shown, baseline="fee_for_service") if "status_quo_net" in shown else None
        table = tables.compare_table(
            shown, summary, elapsed, config.scenario_risk, change=change, agreement=config.agreement
        )
        print(table)
    for path, text in ((csv, tables.tidy_csv), (json_out, tables.summary_json)):
        if path is None:
            continue
        content = text(summary, change) if text is tables.tidy_csv else text(shown, summary, change)
        try:
            io.write_text(content, path)
        except OSError as exc:
            raise _WriteError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
        print(f"wrote {path}")

    if out is not None:
        try:
            path = io.write_results(ds, out)
        except OSError as exc:
            raise _WriteError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
        print(f"\nwrote {path}")
    if plots is not None:
        _write_plots(
            shown,
            summary,
            config,
            plots,
            n_scenarios=n_scenarios,
            seed=seed,
            threads=threads,
            discount_rate=args.discount_rate,
        )
    return 0


def _write_plots(
    ds, summary, config, directory: Path, *, n_scenarios: int, seed: int, threads, discount_rate: float = 0.0
) -> None:
    import vbcsim
    from vbcsim.frontends import plot
    from vbcsim.partnerships.registry import PAYER_LED_CLASSES
    from vbcsim.results import io

    sizes = {} if config.curve_sizes is None else {"sizes": config.curve_sizes}
    payer_led = set(config.model_keys) | set(config.overrides)
    curve = vbcsim.settlement_curve(
        config.population,
        overrides=config.overrides,
        which="all" if payer_led & set(PAYER_LED_CLASSES) else "five",
        n_scenarios=config.curve_scenarios or min(n_scenarios, CURVE_SCENARIOS),
        seed=seed,
        scenario_risk=config.scenario_risk,
        threads=threads,
        progress=as_callback(None, "vbcsim"),
        **sizes,
    )
    curve = curve.sel(model=list(config.models))
    if "year" in ds.dims:  # the multi-year figures, then the (single-year) settlement curve
        figures = cli_years.year_figures(ds, discount_rate)
    else:
        figures = {
            "net_distributions": lambda: plot.net_distributions(ds),
            "risk_return": lambda: plot.risk_return(ds, summary=summary),
            "risk_shares": lambda: plot.risk_shares(ds, summary=summary),
        }
    figures["settlement_probability"] = lambda: plot.settlement_probability(curve)
    try:
        directory.mkdir(exist_ok=True)
        for name in figures:
            path = io.write_figure(figures[name](), directory / f"{name}.png")
            print(f"wrote {path}")
    except OSError as exc:
        raise _WriteError(f"cannot write the plots to {str(directory)!r}: {exc.strerror or exc}") from None


SENSITIVITY_SCENARIOS = 500  # at most this many scenarios per run of the report's sensitivity analysis

_REPORT_DESCRIPTION = """\
Run the comparison as `vbcsim compare` does (the same configuration file; --scenarios,
--seed and --threads as there), then a small sensitivity analysis (vbcsim.sensitivity on the
same population, models and seed; --no-sensitivity skips it), and write one self-contained
HTML page: the question, the assumptions, the comparison table with Monte Carlo errors (the
change against fee for service first), and the figures.  The page needs no network and
prints on A4 (see docs/report.md).

examples:
  vbcsim report -o report.html
  vbcsim report examples/compare.toml -o report.html --scenarios 20000 --seed 7"""


def _add_report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "config", nargs="?", default=None, help="TOML configuration file (default: built-in defaults)"
    )
    p.add_argument(
        "-o",
        "--output",
        default="report.html",
        metavar="FILE",
        help="the HTML file to write, atomically (default: report.html)",
    )
    _add_run_args(p)
    cli_years.add_year_args(p, discount=False)
    p.add_argument(
        "--no-sensitivity",
        action="store_true",
        help=f"leave out the sensitivity analysis (at most {SENSITIVITY_SCENARIOS:,} scenarios a run)",
    )


def _sensitivity_function():
    """``vbcsim.sensitivity``, or None in a vbcsim without it."""
    import vbcsim

    found = getattr(vbcsim, "sensitivity", None)
    if found is None and importlib.util.find_spec("vbcsim.analysis.sensitivity") is not None:
        from vbcsim.analysis.sensitivity import sensitivity as found
    return found


def _report(args) -> int:
    from vbcsim.frontends.report import check_report_path, report
    from vbcsim.partnerships.registry import PAYER_LED_CLASSES

    # everything that can be wrong with the input is checked before the (long) run
    config, n_scenarios, seed, threads = _compare_settings(args)
    out = check_report_path(args.output, name="--output")
    ds, _ = _run_compare(args, config, n_scenarios=n_scenarios, seed=seed, threads=threads)
    ds = cli_years.single_year(ds)
    sensitivity = None
    run_sensitivity = None if args.no_sensitivity else _sensitivity_function()
    if run_sensitivity is not None:
        sensitivity = run_sensitivity(
            config.population,
            n_scenarios=min(n_scenarios, SENSITIVITY_SCENARIOS),
            seed=seed,
            scenario_risk=config.scenario_risk,
            # the sensitivity analyses cover the five partnership models
            overrides={k: v for k, v in config.overrides.items() if k not in PAYER_LED_CLASSES},
            threads=threads,
        )
    try:
        path = report(ds, out, sensitivity=sensitivity, config=config.source)
    except OSError as exc:
        raise _WriteError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = [DEFAULT_COMMAND, *argv]
    args = parser.parse_args(argv)
    prog = "vbcsim" if args.command == "simulate" else f"vbcsim {args.command}"
    from vbcsim.results.io import OutputBusyError

    try:
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "report":
            return _report(args)
    except (ValueError, TypeError, OverflowError, OutputBusyError) as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except _WriteError as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into a reader that closed early (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    parser.print_help()
    return 2


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
