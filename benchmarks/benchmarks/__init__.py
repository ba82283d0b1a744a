"""asv benchmark suite of vbcsim, so that speed can be tracked over commits.

Modules: ``bench_sampling`` (:func:`vbcsim.simulate` by size, threads, cost
distribution and attachments; peak memory; a fresh process's first call),
``bench_settlement`` (each contract type's ``settle`` on a prebuilt
:class:`~vbcsim.contracts.SettlementContext`, and the five partnership models'
settlement), ``bench_compare`` (the five-model :func:`vbcsim.compare`, small)
and ``bench_exact`` (the FFT oracle :func:`vbcsim.exact.aggregate` and its
queries).

With asv, from the ``benchmarks/`` folder (where ``asv.conf.json`` lives)::

    asv machine --yes
    asv run --python=same --quick          # this environment, each benchmark once
    asv run main^!                         # the tip of main in a fresh virtualenv
    asv continuous main HEAD               # compare two commits

Without asv, as plain Python (each benchmark called once, at the small
``quick_params`` of its class unless ``--full``)::

    cd benchmarks && python -m benchmarks [--full] [bench_sampling ...]

Each benchmark class may define ``quick_params``, used by this plain runner
instead of asv's ``params`` (asv ignores the attribute).
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import subprocess
import sys
import time

__all__ = ["BENCHMARK_PREFIXES", "benchmark_modules", "run_benchmarks"]

#: Method-name prefixes asv runs as benchmarks.
BENCHMARK_PREFIXES = ("time_", "timeraw_", "peakmem_", "mem_", "track_")


def benchmark_modules() -> list:
    """The suite's modules (``bench_*``), imported."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("bench_"))
    return [importlib.import_module(f"{__name__}.{n}") for n in names]


def _param_sets(cls, quick: bool) -> list[tuple]:
    params = getattr(cls, "quick_params", None) if quick else None
    if params is None:
        params = getattr(cls, "params", None)
    if params is None or (isinstance(params, (list, tuple)) and len(params) == 0):
        return [()]
    # as asv reads ``params``: a list of lists is one list per parameter, anything else one parameter
    if isinstance(params, (list, tuple)) and all(isinstance(p, (list, tuple)) for p in params):
        return list(itertools.product(*params))
    return [(p,) for p in params]


def _run_timeraw(code) -> float:
    setup = ""
    if isinstance(code, tuple):
        code, setup = code
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"{setup}\n{code}"], check=True)
    return time.perf_counter() - start


def run_benchmarks(modules=None, *, quick: bool = True, echo=print) -> list[dict]:
    """Call every benchmark of ``modules`` (default: the whole suite) once per parameter set.

    ``setup``/``teardown`` run around each call as asv runs them; a
    ``NotImplementedError`` from ``setup`` skips that parameter set (asv's
    convention).  Any other error propagates.  Returns one dict per call:
    ``name``, ``params``, ``seconds`` and, for ``track_`` benchmarks, ``value``.
    """
    modules = benchmark_modules() if modules is None else modules
    rows = []
    for module in modules:
        classes = [
            c for c in vars(module).values() if isinstance(c, type) and c.__module__ == module.__name__
        ]
        for cls in classes:
            methods = sorted(n for n in dir(cls) if n.startswith(BENCHMARK_PREFIXES))
            for params in _param_sets(cls, quick):
                for name in methods:
                    bench = cls()
                    try:
                        if hasattr(bench, "setup"):
                            bench.setup(*params)
                    except NotImplementedError:
                        continue
                    try:
                        start = time.perf_counter()
                        value = getattr(bench, name)(*params)
                        seconds = time.perf_counter() - start
                        if name.startswith("timeraw_"):
                            seconds = _run_timeraw(value)
                            value = None
                    finally:
                        if hasattr(bench, "teardown"):
                            bench.teardown(*params)
                    row = {
                        "name": f"{module.__name__.rsplit('.', 1)[-1]}.{cls.__name__}.{name}",
                        "params": params,
                        "seconds": seconds,
                    }
                    if name.startswith("track_"):
                        row["value"] = value
                    rows.append(row)
                    if echo is not None:
                        shown = f" = {value:,.4g}" if row.get("value") is not None else ""
                        args = ", ".join(map(repr, params))
                        echo(f"{row['name']}({args}): {seconds * 1e3:,.1f} ms{shown}")
    return rows
