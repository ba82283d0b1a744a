#!/usr/bin/env python
"""Time the GPU member loop against the CPU engine on the standard workload, and check that the two agree.

Standard workload: one segment of 100,000 members, Hurdle(0.8, Lognormal.from_mean_cv(6_000, 3)),
attachment 50,000, 2,000 scenarios (2e8 member-years), factors 1.

    python gpu_check.py [--repo PATH] [--members N] [--scenarios S] [--repeat R] [--threads T]

Prints the device, the time of ``_gpu.run_blocks_gpu`` and of ``driver.run_blocks`` (both after a
warm-up that compiles them, each the best of R runs), member-years per second for each, and
the distribution check: per-scenario cost and excess per member against the exact mean and
stop-loss, GPU against CPU (two-sample z, KS, variance ratio), and that a second GPU run
gives the same bits.  Exits 1 if a check fails, 2 if there is no GPU.  With $OUT set, also
writes $OUT/gpu_check.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--repo", default=None, help="the vbcsim checkout (default: the current folder or /work/main)"
    )
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--scenarios", type=int, default=2_000)
    ap.add_argument("--attachment", type=float, default=50_000.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: every core)")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()

    repo = Path(args.repo) if args.repo else next(
        (p for p in (Path.cwd(), Path("/work/main")) if (p / "vbcsim" / "engine").is_dir()), Path.cwd()
    )  # fmt: skip
    sys.path.insert(0, str(repo.resolve()))

    import numba
    import numpy as np
    from scipy import stats

    from vbcsim.engine import _gpu, driver
    from vbcsim.population.distributions import Hurdle, Lognormal

    print(f"vbcsim from {repo.resolve()}; numba {numba.__version__}, numpy {np.__version__}")
    if not _gpu.gpu_available():
        print("no CUDA GPU found (numba.cuda.is_available() is False): nothing to time")
        return 2
    from numba import cuda

    try:
        dev = cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
        cc = dev.compute_capability
    except AttributeError:  # numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1): a dry run of this script
        name, cc = "CUDA simulator", None
    print(f"GPU: {name}, compute capability {cc}; CPU cores: {os.cpu_count()}")

    dist = Hurdle(0.8, Lognormal.from_mean_cv(6_000.0, 3.0))
    params = [driver.encode(dist)]
    m, n_scen, a = args.members, args.scenarios, args.attachment
    factors = np.ones((n_scen, 1))
    att = np.array([[a]])
    threads = driver.check_threads(args.threads)
    member_years = m * n_scen
    print(f"workload: {m:,} members x {n_scen:,} scenarios = {member_years:.3g} member-years, "
          f"{dist!r}, attachment {a:,.0f}")  # fmt: skip

    # warm-up: compiles the CUDA kernels and the CPU kernels (numba caches the latter on disk)
    t = time.perf_counter()
    _gpu.run_blocks_gpu(params, [1_000], np.ones((20, 1)), att, 1)
    print(f"GPU warm-up (kernel compile): {time.perf_counter() - t:.2f} s")
    driver.run_blocks(params, [1_000], np.ones((20, 1)), att, 1, threads)

    def timed(fn, repeat):
        best, out = float("inf"), None
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t0)
        return best, out

    t_gpu, (g_cost, g_ex) = timed(
        lambda: _gpu.run_blocks_gpu(params, [m], factors, att, args.seed), args.repeat
    )
    t_cpu, (c_cost, c_ex) = timed(
        lambda: driver.run_blocks(params, [m], factors, att, args.seed, threads), max(1, min(args.repeat, 2))
    )
    again = _gpu.run_blocks_gpu(params, [m], factors, att, args.seed)
    gpu_rate, cpu_rate = member_years / t_gpu, member_years / t_cpu
    print()
    print(f"GPU run_blocks_gpu : {t_gpu:8.3f} s  {gpu_rate:10.3e} member-years/s")
    print(f"CPU run_blocks ({threads:>3} threads): {t_cpu:8.3f} s  {cpu_rate:10.3e} member-years/s")
    print(f"speed-up: {gpu_rate / cpu_rate:.1f}x")

    checks = []

    def check(label, ok, detail):
        checks.append({"check": label, "ok": bool(ok), "detail": detail})
        print(f"  [{'PASS' if ok else 'FAIL'}] {label}: {detail}")

    print("\ndistribution (per scenario, per member; z within 4 standard errors, p above 1e-4):")
    exact = {"cost": dist.mean(), "excess": float(dist.stop_loss(a))}
    for what, g, c in (("cost", g_cost[0, :, 0] / m, c_cost[0, :, 0] / m), ("excess", g_ex[0, :, 0, 0] / m,
                                                                             c_ex[0, :, 0, 0] / m)):  # fmt: skip
        for side, x in (("GPU", g), ("CPU", c)):
            se = x.std(ddof=1) / np.sqrt(x.size)
            z = (x.mean() - exact[what]) / se
            check(f"{side} {what} mean = exact", abs(z) < 4,
                  f"{x.mean():.2f} vs {exact[what]:.2f} (se {se:.2f}, z {z:+.2f})")  # fmt: skip
        se = np.hypot(g.std(ddof=1), c.std(ddof=1)) / np.sqrt(n_scen)
        z = (g.mean() - c.mean()) / se
        check(
            f"GPU {what} mean = CPU",
            abs(z) < 4,
            f"difference {g.mean() - c.mean():+.2f} (se {se:.2f}, z {z:+.2f})",
        )
        p = stats.ks_2samp(g, c).pvalue
        check(f"GPU {what} law = CPU (KS)", p > 1e-4, f"p = {p:.3g}")
        ratio = g.var(ddof=1) / c.var(ddof=1)
        lo, hi = stats.f.ppf([1e-4, 1 - 1e-4], n_scen - 1, n_scen - 1)
        check(f"GPU {what} variance = CPU", lo < ratio < hi, f"ratio {ratio:.3f} (bounds {lo:.3f}-{hi:.3f})")
    same = np.array_equal(g_cost, again[0]) and np.array_equal(g_ex, again[1])
    check("GPU deterministic (a second run, same bits)", same, "identical" if same else "differs")

    ok = all(c["ok"] for c in checks)
    summary = {
        "device": name, "members": m, "scenarios": n_scen, "member_years": member_years,
        "gpu_seconds": t_gpu, "cpu_seconds": t_cpu, "cpu_threads": threads,
        "gpu_member_years_per_s": gpu_rate, "cpu_member_years_per_s": cpu_rate,
        "speedup": gpu_rate / cpu_rate, "checks": checks, "all_passed": ok,
    }  # fmt: skip
    if os.environ.get("OUT"):
        Path(os.environ["OUT"]).mkdir(parents=True, exist_ok=True)
        Path(os.environ["OUT"], "gpu_check.json").write_text(json.dumps(summary, indent=2))
    print("\nALL CHECKS PASSED" if ok else "\nSOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
