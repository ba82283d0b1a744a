"""The ``vbcsim`` command line.

``vbcsim`` (or ``python -m vbcsim``) with no command runs ``vbcsim simulate``:
the built-in commercial population through the Monte Carlo engine, printed as a
summary table that sets every simulated figure beside its exact counterpart.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from vbcsim import __version__

__all__ = ["main"]

DEFAULT_ATTACHMENTS = (100_000.0, 250_000.0)  # common specific stop-loss attachment points


class _Progress:
    """A one-line progress bar on stderr for runs longer than a couple of seconds."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        if elapsed < 2.0 and done < total:
            return
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} blocks {elapsed:5.1f}s")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vbcsim",
        description="Actuarial Monte Carlo simulation of value-based care payment models.",
    )
    parser.add_argument("--version", action="version", version=f"vbcsim {__version__}")
    sub = parser.add_subparsers(dest="command")
    sim = sub.add_parser(
        "simulate",
        help="simulate the built-in commercial population and print a summary (the default command)",
    )
    _add_simulate_args(sim)
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
        from vbcsim import exact

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
    from vbcsim.defaults import commercial_population
    from vbcsim.io import write_netcdf

    population = commercial_population(args.scale)
    risk = None
    if args.trend_cv or args.shock_probability or args.shock_size:
        risk = vbcsim.ScenarioRisk(args.trend_cv, args.shock_probability, args.shock_size)
    start = time.perf_counter()
    ds = vbcsim.simulate(
        population,
        n_scenarios=args.scenarios,
        seed=args.seed,
        attachments=DEFAULT_ATTACHMENTS,
        scenario_risk=risk,
        threads=args.threads,
        progress=_Progress(sys.stderr.isatty()),
    )
    elapsed = time.perf_counter() - start
    print(_summary(ds, population, risk, elapsed))
    if args.out:
        path = write_netcdf(ds, args.out)
        print(f"\nwrote {path}")
    return 0


def main(argv=None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["simulate", *argv]
    args = parser.parse_args(argv)
    try:
        if args.command == "simulate":
            return _simulate(args)
    except (ValueError, TypeError) as exc:
        print(f"vbcsim: error: {exc}", file=sys.stderr)
        return 2
    parser.print_help()
    return 2
