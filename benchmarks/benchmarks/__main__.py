"""Run the benchmark suite as plain Python: ``python -m benchmarks [--full] [module ...]`` from ``benchmarks/``."""

from __future__ import annotations

import argparse
import importlib

from . import benchmark_modules, run_benchmarks


def main(argv=None) -> None:
    """Call each benchmark once (small ``quick_params`` unless ``--full``) and print its time."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("modules", nargs="*", help="bench_* modules to run (default: all)")
    parser.add_argument("--full", action="store_true", help="asv's params instead of the small quick_params")
    args = parser.parse_args(argv)
    package = __package__ or "benchmarks"
    modules = [importlib.import_module(f"{package}.{m}") for m in args.modules] or benchmark_modules()
    run_benchmarks(modules, quick=not args.full)


if __name__ == "__main__":
    main()
