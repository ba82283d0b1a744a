"""Throughput of the Dask backend with 1 and 2 worker processes (a LocalCluster), beside the threads.

    python benchmarks/dask_workers.py [--members N] [--scenarios S]

Prints member-years per second for the threaded engine (1 and 2 threads) and for
``backend="dask"`` on a LocalCluster of 1 and 2 single-threaded worker processes,
and checks the results are bitwise identical.  Machines are noisy: compare the
ratios within one run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import vbcsim


def _time(fn, repeat=2):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--scenarios", type=int, default=2_000)
    args = parser.parse_args(argv)
    from distributed import Client, LocalCluster

    cost = vbcsim.Hurdle(0.8, vbcsim.Lognormal.from_mean_cv(6_000.0, 3.0))
    pop = vbcsim.Population([vbcsim.Segment("members", args.members, cost)])
    work = args.members * args.scenarios

    def sim(**kw):
        return vbcsim.simulate(pop, n_scenarios=args.scenarios, seed=1, attachments=[50_000.0], **kw)

    sim(threads=1)  # compile / load the cache
    rows = []
    ref = None
    for threads in (1, 2):
        t, ds = _time(lambda threads=threads: sim(threads=threads))
        ref = ds if ref is None else ref
        rows.append((f"threads, {threads}", t))
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as c,
            Client(c),
        ):
            sim(backend="dask")  # workers load the kernels
            t, ds = _time(lambda: sim(backend="dask"))
            assert ds.cost.equals(ref.cost) and ds.excess.equals(ref.excess), "dask result differs"
            rows.append((f"dask LocalCluster, {workers} worker process(es)", t))
    print(f"{args.members:,} members x {args.scenarios:,} scenarios (results bitwise identical)")
    print(f"{'':44s}{'time':>10s}{'member-yrs/s':>16s}")
    for name, t in rows:
        print(f"{name:44s}{t:9.2f}s{work / t / 1e6:14.1f} M")
    one = dict(rows)["dask LocalCluster, 1 worker process(es)"]
    two = dict(rows)["dask LocalCluster, 2 worker process(es)"]
    print(f"dask scaling 1 -> 2 workers: {one / two:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
