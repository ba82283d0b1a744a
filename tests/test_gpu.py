"""The GPU path of the member loop (``vbcsim.engine._gpu``, device="gpu").

Without a GPU, the kernels run once in numba's CUDA simulator, in a subprocess (the
simulator is chosen by ``NUMBA_ENABLE_CUDASIM=1`` before numba.cuda is imported, so it
cannot be switched on in this process), at sizes the simulator handles in seconds:

* the device xoroshiro128++ and SplitMix64 bit for bit against :mod:`vbcsim.engine.rng`;
* the device Box–Muller normals against the standard normal (moments and KS);
* :func:`run_blocks_gpu`: per-scenario cost and excess per member against
  ``members × dist.mean()`` and ``members × f × dist.stop_loss(a / f)`` within 4 standard
  errors (scenarios pooled), determinism (same seed, any grouping into launches, a
  subset of blocks through a sink) and the sink's block order.

Unsupported distributions and a missing GPU raise clear errors.  On a machine with a real
GPU, one more test runs the standard workload and compares it with the CPU path in
distribution (skipped elsewhere).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from vbcsim.engine import _gpu, driver, rng
from vbcsim.engine._gpu import NO_GPU, gpu_available, run_blocks_gpu
from vbcsim.engine.driver import Block
from vbcsim.population.distributions import Compound, Gamma, Hurdle, Lognormal, Pareto, Poisson, Spliced

ROOT = Path(__file__).resolve().parents[1]

#: the simulator run's segments: the standard member model and a light-tailed one with no hurdle
DISTS = [Hurdle(0.8, Lognormal.from_mean_cv(6_000.0, 3.0)), Lognormal.from_mean_cv(3_000.0, 1.0)]
MEMBERS = [300, 200]  # 3 and 2 slices of SLICE = 128
N_SCEN = 80
ATTACH = [[50_000.0, 10_000.0], [20_000.0, np.inf]]  # views × attachments (inf pads)
# the simulator run's blocks: segment 0 cut in two, segment 1 whole
BLOCKS = [Block(0, 0, 0, 40), Block(0, 1, 40, N_SCEN), Block(1, 0, 0, N_SCEN)]

SIM_SCRIPT = textwrap.dedent(
    r"""
    import json, sys
    import numpy as np
    from numba import cuda
    from vbcsim.engine import _gpu, driver
    from vbcsim.engine.driver import Block

    out_dir = sys.argv[1]
    spec = json.loads(sys.argv[2])
    res = {}
    k = _gpu._build()
    sm, nx, ts, bm = k.splitmix64, k.next_u64, k.thread_state, k.box_muller

    @cuda.jit
    def rng_kernel(xs, s0s, s1s, out_sm, out_seq, key0, key1, out_ts):
        i = cuda.grid(1)
        if i < xs.size:
            out_sm[i] = sm(xs[i])
            a, b = s0s[i], s1s[i]
            for j in range(out_seq.shape[1]):
                r, a, b = nx(a, b)
                out_seq[i, j] = r
            a, b = ts(key0, key1, np.uint64(1), np.uint64(2), np.uint64(i))
            out_ts[i, 0] = a
            out_ts[i, 1] = b

    @cuda.jit
    def normal_kernel(key0, key1, out):
        i = cuda.grid(1)
        if i < out.shape[0]:
            a, b = ts(key0, key1, np.uint64(0), np.uint64(0), np.uint64(i))
            for j in range(out.shape[1] // 2):
                z0, z1, a, b = bm(a, b)
                out[i, 2 * j] = z0
                out[i, 2 * j + 1] = z1

    xs = np.array(spec["xs"], dtype=np.uint64)
    s0s = np.array(spec["s0"], dtype=np.uint64)
    s1s = np.array(spec["s1"], dtype=np.uint64)
    key0, key1 = (np.uint64(v) for v in spec["key"])
    out_sm = np.zeros(xs.size, dtype=np.uint64)
    out_seq = np.zeros((xs.size, 8), dtype=np.uint64)
    out_ts = np.zeros((xs.size, 2), dtype=np.uint64)
    rng_kernel[1, 32](xs, s0s, s1s, out_sm, out_seq, key0, key1, out_ts)
    normals = np.zeros((64, 64))
    normal_kernel[2, 32](key0, key1, normals)

    params = [tuple(p) for p in spec["params"]]
    members = spec["members"]
    factors = np.array(spec["factors"])
    att = np.array(spec["attachments"])
    blocks = [Block(*b) for b in spec["blocks"]]
    cost, excess = _gpu.run_blocks_gpu(params, members, factors, att, 7, blocks=blocks)
    again = _gpu.run_blocks_gpu(params, members, factors, att, 7, blocks=blocks)
    other_seed = _gpu.run_blocks_gpu(params, members, factors, att, 8, blocks=blocks)
    # many small launches (one block each, more than two: the double buffers are reused)
    _gpu.LAUNCH_DRAWS = 1
    small = _gpu.run_blocks_gpu(params, members, factors, att, 7, blocks=blocks)
    _gpu.LAUNCH_DRAWS = 2**27
    # a subset of the blocks through a sink, with progress
    seen, prog = [], []
    sub = np.zeros_like(cost), np.zeros_like(excess)

    def sink(b, c, e):
        seen.append([b.segment, b.index, b.start, b.stop])
        sub[0][b.segment, b.start:b.stop] = c
        sub[1][b.segment, b.start:b.stop] = e

    r = _gpu.run_blocks_gpu(params, members, factors, att, 7, blocks=blocks[::-1][:2], sink=sink,
                            progress=lambda d, n: prog.append([d, n]))
    res.update(sink_returned=r is None, seen=seen, progress=prog,
               same_seed=bool(np.array_equal(cost, again[0]) and np.array_equal(excess, again[1])),
               other_seed_differs=bool(not np.array_equal(cost, other_seed[0])),
               launches_agree=bool(np.array_equal(cost, small[0]) and np.array_equal(excess, small[1])))
    np.savez(out_dir + "/sim.npz", out_sm=out_sm, out_seq=out_seq, out_ts=out_ts, normals=normals,
             cost=cost, excess=excess, sub_cost=sub[0], sub_excess=sub[1])
    json.dump(res, open(out_dir + "/sim.json", "w"))
    """
)


def _factors(n_scen, seed=3):
    """Per-scenario factors of two views: in [0.7, 0.9] and in [1.4, 1.8] (a view's attachment
    then sits well away from a raw draw's: a / f is not a)."""
    u = np.random.default_rng(seed).uniform(size=(n_scen, 2))
    return np.column_stack([0.7 + 0.2 * u[:, 0], 1.4 + 0.4 * u[:, 1]])


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """One run of the simulator script: (arrays, flags, the spec it ran)."""
    out = tmp_path_factory.mktemp("gpu_sim")
    g = np.random.default_rng(11)
    spec = {
        "xs": [int(v) for v in g.integers(0, 2**63, size=16, dtype=np.uint64)] + [0, 2**64 - 1],
        "s0": [int(v) for v in g.integers(1, 2**63, size=18, dtype=np.uint64)],
        "s1": [int(v) for v in g.integers(0, 2**63, size=18, dtype=np.uint64)],
        "key": [int(v) for v in rng.root_key(5)],
        "params": [list(driver.encode(d)) for d in DISTS],
        "members": MEMBERS,
        "factors": _factors(N_SCEN).tolist(),
        "attachments": [[float(a) if np.isfinite(a) else float("inf") for a in row] for row in ATTACH],
        "blocks": [[b.segment, b.index, b.start, b.stop] for b in BLOCKS],
    }
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", SIM_SCRIPT, str(out), json.dumps(spec)],
        env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return dict(np.load(out / "sim.npz")), json.loads((out / "sim.json").read_text()), spec


# --- the device generator --------------------------------------------------------------------


def test_device_splitmix_and_xoroshiro_match_the_cpu(sim):
    arrays, _, spec = sim
    U = np.uint64  # (the compiled functions return Python ints: wrap them again before each call)
    for x, got in zip(spec["xs"], arrays["out_sm"], strict=True):
        assert int(got) == int(rng._splitmix64(U(x)))
    for s0, s1, got in zip(spec["s0"], spec["s1"], arrays["out_seq"], strict=True):
        a, b = s0, s1
        for v in got:
            r, a, b = rng.next_uint64(U(a), U(b))
            assert int(v) == int(r)


def test_thread_states_follow_the_block_keying(sim):
    """thread_state = rng.block_state's SplitMix64 chain with the thread as a fourth level."""
    arrays, _, spec = sim
    U = np.uint64

    def sm(x):
        return U(rng._splitmix64(U(x)))

    key0, key1 = (U(v) for v in spec["key"])
    for t, (s0, s1) in enumerate(arrays["out_ts"]):
        h = sm(key0 ^ sm(U(_gpu.STREAM_GPU_MEMBERS)))
        h = sm(h ^ sm(U(1) + key1))
        h = sm(h ^ sm(U(2) ^ U(0xD1B54A32D192ED03)))
        h = sm(h ^ sm(U(t) ^ U(0x8CB92BA72F3D8DD7)))
        assert (int(s0), int(s1)) == (int(sm(h)), int(sm(h ^ key1)))
    assert len({(int(a), int(b)) for a, b in arrays["out_ts"]}) == len(arrays["out_ts"])


def test_box_muller_normals(sim):
    z = sim[0]["normals"].ravel()  # 4,096 normals from 64 thread streams
    n = z.size
    assert abs(z.mean()) < 4.0 / np.sqrt(n)
    assert abs(z.var() - 1.0) < 4.0 * np.sqrt(2.0 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-4
    # the two normals of a pair are uncorrelated, and so are neighbouring threads' streams
    assert abs(np.corrcoef(z[0::2], z[1::2])[0, 1]) < 4.0 / np.sqrt(n / 2)
    rows = sim[0]["normals"]
    assert abs(np.corrcoef(rows[:-1].ravel(), rows[1:].ravel())[0, 1]) < 4.0 / np.sqrt(rows[1:].size)


# --- the blocks: distribution, determinism, the sink -----------------------------------------


def _within(values, expected, tol=4.0):
    """The mean of ``values`` is within ``tol`` standard errors of ``expected``."""
    values = np.asarray(values, dtype=float)
    se = values.std(ddof=1) / np.sqrt(values.size)
    assert abs(values.mean() - expected) < tol * se, (values.mean(), expected, se)


@pytest.mark.parametrize("g", [0, 1])
def test_cost_per_member_has_the_segment_mean(sim, g):
    cost = sim[0]["cost"]
    f = _factors(N_SCEN)
    for v in range(2):
        per_member = cost[g, :, v] / (f[:, v] * MEMBERS[g])
        _within(per_member, DISTS[g].mean())


@pytest.mark.parametrize("g", [0, 1])
def test_excess_per_member_is_the_stop_loss(sim, g):
    """Σ (f X − a)+ / members has mean f · E[(X − a / f)+] = f · stop_loss(a / f)."""
    excess = sim[0]["excess"]
    f = _factors(N_SCEN)
    att = np.array(ATTACH)
    for v in range(2):
        for k in range(2):
            a = att[v, k]
            if not np.isfinite(a):
                assert np.all(excess[g, :, v, k] == 0.0)
                continue
            expected = f[:, v] * np.array([DISTS[g].stop_loss(a / fv) for fv in f[:, v]])
            _within(excess[g, :, v, k] / MEMBERS[g] - expected, 0.0)


def test_deterministic_whatever_the_launches(sim):
    _, flags, _ = sim
    assert flags["same_seed"]
    assert flags["launches_agree"]  # one block per launch gives the same bits as one launch
    assert flags["other_seed_differs"]


def test_subset_of_blocks_through_a_sink(sim):
    arrays, flags, _ = sim
    assert flags["sink_returned"]
    chosen = BLOCKS[::-1][:2]
    assert flags["seen"] == [[b.segment, b.index, b.start, b.stop] for b in chosen]  # in the order given
    assert flags["progress"] == [[1, 2], [2, 2]]
    for b in chosen:
        rows = slice(b.start, b.stop)
        np.testing.assert_array_equal(arrays["sub_cost"][b.segment, rows], arrays["cost"][b.segment, rows])
        np.testing.assert_array_equal(
            arrays["sub_excess"][b.segment, rows], arrays["excess"][b.segment, rows]
        )
    # segment 0's first block was not asked for
    assert np.all(arrays["sub_cost"][0, :40] == 0.0)


# --- what the GPU path refuses ---------------------------------------------------------------

LN = Lognormal.from_mean_cv(5_000.0, 2.0)


@pytest.mark.parametrize(
    ("dist", "what"),
    [
        (Gamma.from_mean_cv(5_000.0, 1.5), "gamma"),
        (Pareto(3.0, 10_000.0), "Pareto"),
        (Hurdle(0.5, Spliced(LN, Pareto(2.5, 50_000.0), 50_000.0)), "spliced"),
        (Compound(Poisson(2.0), LN), "compound"),
    ],
)
def test_unsupported_distributions_raise(dist, what):
    params = [driver.encode(Hurdle(0.8, LN)), driver.encode(dist)]
    with pytest.raises(ValueError, match=rf"device='gpu' supports .*segment 1 has .*{what}.*use the CPU"):
        run_blocks_gpu(params, [10, 10], np.ones((4, 1)), np.array([[1e4]]), 1)


def test_multi_year_runs_raise():
    params = [driver.encode_years(Hurdle(0.8, LN), 0.5, 0.1, 3)]
    with pytest.raises(ValueError, match=r"device='gpu' supports .*not multi-year runs; use the CPU"):
        run_blocks_gpu(params, [10], np.ones((12, 1)), np.array([[1e4]]), 1)


def test_supported_params_pass_and_a_sampler_wrapper_is_unwrapped():
    prm = driver.encode(Hurdle(0.8, LN))
    wrapped = SimpleNamespace(prm=prm)  # as the CPU's per-segment sampler choice wraps an encoding
    assert _gpu.check_gpu_params([prm, wrapped, driver.encode(LN)]) == [prm, prm, driver.encode(LN)]


def test_without_a_gpu_it_raises(monkeypatch):
    monkeypatch.setattr(_gpu, "gpu_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"^device='gpu' needs a CUDA GPU; none was found$"):
        run_blocks_gpu([driver.encode(Hurdle(0.8, LN))], [10], np.ones((4, 1)), np.array([[1e4]]), 1)


def test_no_cuda_driver_means_no_gpu():
    """With no CUDA driver to load, gpu_available() is False and run_blocks_gpu says why."""
    script = textwrap.dedent(
        """
        import numpy as np
        from vbcsim.engine import _gpu, driver
        from vbcsim.population.distributions import Lognormal
        assert _gpu.gpu_available() is False
        try:
            _gpu.run_blocks_gpu([driver.encode(Lognormal(8.0, 1.0))], [10], np.ones((4, 1)), np.ones((1, 1)), 1)
        except RuntimeError as e:
            print(e)
        """
    )
    env = {**os.environ, "NUMBA_CUDA_DRIVER": "/nonexistent/libcuda.so", "PYTHONPATH": str(ROOT)}
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == NO_GPU


# --- a real GPU ------------------------------------------------------------------------------


#: the real-GPU comparison's size: the standard member model, 4e7 member-years
REAL_MEMBERS, REAL_SCENARIOS = 100_000, 400


def _real_gpu() -> bool:
    from numba.core import config

    return not config.ENABLE_CUDASIM and gpu_available()


@pytest.mark.skipif(not _real_gpu(), reason="needs a CUDA GPU")
def test_standard_workload_matches_the_cpu_in_distribution():
    """The standard workload on the GPU and on the CPU: the same law, within standard errors."""
    dist = Hurdle(0.8, Lognormal.from_mean_cv(6_000.0, 3.0))
    members, n_scen = REAL_MEMBERS, REAL_SCENARIOS
    params = [driver.encode(dist)]
    factors = _factors(n_scen)
    att = np.array([[50_000.0], [10_000.0]])
    gpu_cost, gpu_excess = run_blocks_gpu(params, [members], factors, att, 2024)
    cpu_cost, cpu_excess = driver.run_blocks(
        params, [members], factors, att, 2024, driver.check_threads(None)
    )
    again = run_blocks_gpu(params, [members], factors, att, 2024)
    np.testing.assert_array_equal(gpu_cost, again[0])
    np.testing.assert_array_equal(gpu_excess, again[1])
    for v in range(2):
        f = factors[:, v]
        g_cost, c_cost = gpu_cost[0, :, v] / (f * members), cpu_cost[0, :, v] / (f * members)
        _within(g_cost, dist.mean())
        se = np.hypot(g_cost.std(ddof=1), c_cost.std(ddof=1)) / np.sqrt(n_scen)
        assert abs(g_cost.mean() - c_cost.mean()) < 4.0 * se
        assert stats.ks_2samp(g_cost, c_cost).pvalue > 1e-4
        expected = f * np.array([dist.stop_loss(att[v, 0] / fv) for fv in f])
        g_ex, c_ex = gpu_excess[0, :, v, 0] / members, cpu_excess[0, :, v, 0] / members
        _within(g_ex - expected, 0.0)
        se = np.hypot(g_ex.std(ddof=1), c_ex.std(ddof=1)) / np.sqrt(n_scen)
        assert abs(g_ex.mean() - c_ex.mean()) < 4.0 * se
        assert stats.ks_2samp(g_ex / f, c_ex / f).pvalue > 1e-4
    # the spread of the per-scenario totals agrees too (a variance ratio within its F bounds)
    ratio = gpu_cost[0, :, 0].var(ddof=1) / cpu_cost[0, :, 0].var(ddof=1)
    assert stats.f.ppf(1e-4, n_scen - 1, n_scen - 1) < ratio < stats.f.ppf(1 - 1e-4, n_scen - 1, n_scen - 1)
