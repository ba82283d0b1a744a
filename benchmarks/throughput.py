"""Engine throughput on the standard workload, in member-years per second.

Standard workload: one segment of 100,000 members with a hurdle-lognormal cost
(80% of members with cost, mean $6,000 and CV 3 given cost), one per-member
attachment at $50,000, 2,000 scenarios.

    python benchmarks/throughput.py [--members N] [--scenarios S] [--repeat R]

Prints the first-call time (compilation, or loading numba's on-disk cache) and
the best of ``repeat`` runs for 1 thread and for 2 threads.  Speed targets are
tracked here, never in timed test assertions: machines are noisy.
"""

from __future__ import annotations

import argparse
import time

import vbcsim


def workload(members: int) -> vbcsim.Population:
    cost = vbcsim.Hurdle(0.8, vbcsim.Lognormal.from_mean_cv(6_000.0, 3.0))
    return vbcsim.Population([vbcsim.Segment("standard", members, cost)])


def best_time(population, scenarios: int, threads: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        vbcsim.simulate(population, n_scenarios=scenarios, seed=1, attachments=[50_000.0], threads=threads)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--scenarios", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    population = workload(args.members)
    start = time.perf_counter()
    vbcsim.simulate(population, n_scenarios=2, seed=1, attachments=[50_000.0], threads=1)
    print(f"first call (compile or cache load): {time.perf_counter() - start:.2f} s")
    member_years = args.members * args.scenarios
    rates = {}
    for threads in (1, 2):
        t = best_time(population, args.scenarios, threads, args.repeat)
        rates[threads] = member_years / t
        print(f"{threads} thread(s): {t:.3f} s, {rates[threads] / 1e6:,.0f} M member-years/s")
    print(f"scaling 1 -> 2 threads: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
