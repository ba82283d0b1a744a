"""Runs over several years on the ``vbcsim`` command line: ``--years``, ``--agreement-length`` and
``--discount-rate`` of ``vbcsim compare`` (the first two of ``vbcsim report`` too), and what
``compare`` prints, writes and draws for a cube with a ``year`` dimension.

``--years N`` (or ``[simulation] years``) runs N performance years per scenario
(:func:`vbcsim.compare` ``years=``); ``--agreement-length L`` sets every shared-savings benchmark
from the panel's own history in agreement periods of L years (:class:`vbcsim.Agreement`, over the
configuration's ``[agreement]``).  With a year dimension ``compare`` prints the cumulative change
against fee for service and the cumulative net result (present values at ``--discount-rate``,
with their Monte Carlo errors), the payer's and provider's mean by year, and the break-even of
each owned entity (:func:`vbcsim.capital_path`).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import math

__all__ = [
    "add_year_args",
    "resolve",
    "run_options",
    "single_year",
    "print_years",
    "year_figures",
    "YEAR_PLOTS",
]

#: the figures ``--plots`` draws of a multi-year cube (one ``benchmark_path_<model>`` per model with a
#: benchmark), the settlement-probability curve (single years at other panel sizes) after them
YEAR_PLOTS = ("fan_chart", "benchmark_path_<model>")


def _years(text: str) -> int:
    from vbcsim.results.simulation import MAX_YEARS

    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_YEARS:
        raise argparse.ArgumentTypeError(f"expected a number of years from 1 to {MAX_YEARS}, got {text!r}")
    return value


def _length(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (years per period), got {text!r}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN too
        raise argparse.ArgumentTypeError(f"expected an annual rate in [0, 1] such as 0.03, got {text!r}")
    return value


def add_year_args(p: argparse.ArgumentParser, *, discount: bool = True) -> None:
    """``--years`` and ``--agreement-length`` (and ``--discount-rate`` when ``discount``)."""
    p.add_argument(
        "--years",
        type=_years,
        default=None,
        metavar="N",
        help="performance years per scenario (default: the config's [simulation] years, else 1); over "
        "several years members persist and churn and costs trend, and the output leads with the "
        "cumulative result",
    )
    p.add_argument(
        "--agreement-length",
        type=_length,
        default=None,
        metavar="L",
        help="set every shared-savings benchmark from the panel's own cost in the years before each "
        "agreement period of L years, rebased each period (vbcsim.Agreement(length=L), over the "
        "config's [agreement]; default: the config's, else the presets' fixed benchmarks)",
    )
    if discount:
        p.add_argument(
            "--discount-rate",
            type=_rate,
            default=0.0,
            metavar="R",
            help="with --years > 1: the annual rate at which the cumulative results are discounted to the "
            "start, each year's at its end (default 0: plain sums)",
        )


def resolve(args, config):
    """``config`` with its ``years`` and ``agreement`` resolved: the flags over the config's."""
    years = getattr(args, "years", None)
    length = getattr(args, "agreement_length", None)
    changes = {}
    if years is not None:
        changes["years"] = years
    if length is not None:
        from vbcsim.contracts.agreement import Agreement

        base = config.agreement if config.agreement is not None else Agreement()
        try:
            changes["agreement"] = dataclasses.replace(base, length=length)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"--agreement-length: {' '.join(str(exc).split())}") from None
    return dataclasses.replace(config, **changes) if changes else config


def run_options(config) -> dict:
    """The ``years`` and ``agreement`` options of :func:`vbcsim.compare` (none where not set)."""
    options = {}
    if config.years is not None and config.years != 1:
        options["years"] = config.years
    if config.agreement is not None:
        options["agreement"] = config.agreement
    return options


def single_year(ds):
    """``ds`` without its ``year`` dimension when it holds one year (an agreement run without
    ``--years``): printed, written and drawn as a single-year run.  Any other cube unchanged."""
    if "year" in ds.dims and ds.sizes["year"] == 1:
        return ds.isel(year=0, drop=True)
    return ds


def print_years(ds, config, elapsed: float, discount_rate: float):
    """Print the multi-year tables; return the summary and the change against fee for service."""
    import vbcsim
    from vbcsim.frontends import tables

    summary = vbcsim.summarize(ds, discount_rate=discount_rate)
    change = None
    if "status_quo_net" in ds:
        change = vbcsim.summarize(ds, baseline="fee_for_service", discount_rate=discount_rate)
    capital = (
        vbcsim.capital_path(ds, discount_rate=discount_rate, entity=True) if "entity_net" in ds else None
    )
    print(
        tables.years_table(
            ds,
            summary,
            elapsed,
            config.scenario_risk,
            change=change,
            capital=capital,
            agreement=config.agreement,
        )
    )
    return summary, change


def year_figures(ds, discount_rate: float) -> dict:
    """name -> a function drawing it: the fan chart of the provider's and payer's cumulative result,
    and the benchmark path of every model with a benchmark (if this vbcsim has those figures)."""
    if importlib.util.find_spec("vbcsim.frontends.plot_years") is None:
        return {}
    from vbcsim.frontends import plot_years

    figures = {}
    if hasattr(plot_years, "fan_chart"):
        parties = [p for p in ("provider", "payer") if p in ds["party"].values.tolist()]
        figures["fan_chart"] = lambda: plot_years.fan_chart(ds, parties=parties, discount_rate=discount_rate)
    if hasattr(plot_years, "benchmark_path") and "benchmark" in ds:
        keys = ds["model_key"].values.tolist() if "model_key" in ds.coords else None
        for i, model in enumerate(ds["model"].values.tolist()):
            if not bool(ds["benchmark"].sel(model=model).notnull().any()):
                continue  # no benchmark contract
            name = keys[i] if keys is not None else str(i + 1)
            figures[f"benchmark_path_{name}"] = lambda model=model: plot_years.benchmark_path(ds, model)
    return figures
