"""The engine's member loop on a CUDA GPU (``device="gpu"``), with numba.cuda.

:func:`run_blocks_gpu` has the contract of :func:`vbcsim.engine.driver.run_blocks`
(and of :func:`vbcsim.engine.dask_backend.run_blocks_dask`): the same blocks, the
same outputs, ``cost[G, S, V]`` and ``excess[G, S, V, K]`` or each block handed to
``sink(block, cost, excess)`` in block order.  It covers the standard workload:
single-year runs whose members have one claim a year with a lognormal severity,
behind any hurdle.  Anything else (spliced, gamma or Pareto severities, compound
claim counts, multi-year :class:`~vbcsim.engine.driver.YearParams`) raises a
``ValueError``: use the CPU.  The CPU stays the default; nothing here needs a GPU
until :func:`run_blocks_gpu` runs, and :func:`gpu_available` says whether it can.

How it draws
------------
A block (a segment × a run of scenarios, :func:`~vbcsim.engine.driver.block_layout`)
is cut into CUDA threads, one per (scenario, slice of :data:`SLICE` members).
Each thread has its own xoroshiro128++ state, derived on the GPU with SplitMix64
from (seed, segment, block, thread) like :func:`vbcsim.engine.rng.block_state`;
per member it draws the hurdle (one 53-bit uniform, compared in integers as the
CPU does), a standard normal by Box–Muller (both normals of a pair are used) and
``exp(mu + sigma z)``, and sums the cost and the excess over every view's
attachment (``(f X − a)+ = f (X − a / f)+``) into its own row of partials.  A
second kernel adds each scenario's partials in slice order.  Many blocks go into
one launch, and the next launch runs while the previous one's blocks reach the sink.

Results
-------
Exact in distribution, not bitwise equal to the CPU's: the CPU draws the number
of members with cost as a binomial and normals by the ziggurat from one stream
per block, the GPU a Bernoulli per member and Box–Muller normals from one stream
per thread.  (Box–Muller with 53-bit uniforms reaches |z| ≤ 8.57; beyond that
lies probability 1e-17.)  For a seed, the GPU's results are deterministic and do
not depend on the GPU, its scheduling, or how blocks are grouped into launches:
no float atomics, every sum in a fixed order.  (A different GPU model or CUDA
version may still round ``exp`` differently in the last bit.)
"""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np

from vbcsim.engine import _kernels as K
from vbcsim.engine.driver import YearParams, block_layout, block_rows
from vbcsim.engine.rng import root_key

__all__ = ["gpu_available", "run_blocks_gpu", "check_gpu_params", "SLICE"]

#: members per CUDA thread (a scenario's members are cut into slices of this many)
SLICE = 128
#: member draws per kernel launch (several blocks): large enough to fill a GPU
LAUNCH_DRAWS = 2**27
#: partial sums (threads × columns) per launch: bounds the GPU memory of a launch (256 MiB)
LAUNCH_CELLS = 2**25
#: CUDA threads per CUDA block
THREADS_PER_BLOCK = 256
#: the logical stream of the GPU's member draws (the CPU's is ``_kernels.STREAM_MEMBERS``)
STREAM_GPU_MEMBERS = 2

NO_GPU = "device='gpu' needs a CUDA GPU; none was found"
_SUPPORTED = (
    "device='gpu' supports single-year runs whose members have one claim a year with a lognormal "
    "severity (behind any hurdle)"
)

_U = np.uint64
_TWO53 = 9007199254740992  # 2^53


#: numba.cuda once :func:`_cuda` has imported it (a module global: the kernels, and the CUDA
#: simulator's stand-in for it, find it here)
cuda = None


def _cuda():
    """numba.cuda, or None where numba cannot load it (imported on first use, not with this module)."""
    global cuda
    if cuda is None:
        try:
            from numba import cuda as module
        except Exception:  # numba without its CUDA target, or a broken CUDA install
            return None
        cuda = module
    return cuda


def gpu_available() -> bool:
    """Whether a CUDA GPU can run :func:`run_blocks_gpu` (numba.cuda finds a driver and a device)."""
    cuda = _cuda()
    if cuda is None:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:
        return False


def _describe(prm) -> str:
    if prm[K.FREQ_KIND] != K.FREQ_ONE:
        return "a compound (claim count × severity) cost"
    if prm[K.SEV_KIND] != 0.0:
        return "a spliced severity"
    kind = prm[K.BODY_KIND]
    return {K.GAMMA: "a gamma severity", K.PARETO: "a Pareto severity"}.get(kind, "an unknown severity")


def check_gpu_params(params) -> list:
    """The segments' encoded distributions (tuples of :func:`~vbcsim.engine.driver.encode`) if the
    GPU path supports them all, else a ``ValueError`` that says to use the CPU."""
    params = list(params)
    if any(isinstance(p, YearParams) for p in params):
        raise ValueError(f"{_SUPPORTED}, not multi-year runs; use the CPU (device='cpu')")
    out = []
    for g, prm in enumerate(params):
        # a wrapper of a single-year encoding (one that says how the CPU samples it) counts as its ``prm``
        prm = tuple(float(v) for v in getattr(prm, "prm", prm))
        if len(prm) != K.N_PARAMS:
            raise ValueError(
                f"segment {g}: expected an encoded distribution of {K.N_PARAMS} numbers (driver.encode)"
            )
        if prm[K.FREQ_KIND] != K.FREQ_ONE or prm[K.SEV_KIND] != 0.0 or prm[K.BODY_KIND] != K.LOGNORMAL:
            raise ValueError(f"{_SUPPORTED}; segment {g} has {_describe(prm)}: use the CPU (device='cpu')")
        out.append(prm)
    return out


def _require_gpu():
    if not gpu_available():
        raise RuntimeError(NO_GPU)
    return _cuda()


@functools.cache
def _build():
    """The kernels and their device functions (compiled on first launch), as attributes."""
    cu = _cuda()  # the kernels below name the module global ``cuda`` (the simulator swaps it)

    golden = _U(0x9E3779B97F4A7C15)
    mix1 = _U(0xBF58476D1CE4E5B9)
    mix2 = _U(0x94D049BB133111EB)
    salt_b = _U(0xD1B54A32D192ED03)
    salt_t = _U(0x8CB92BA72F3D8DD7)
    stream = _U(STREAM_GPU_MEMBERS)
    u0, u1 = _U(0), _U(1)
    s11, s15, s17, s21, s27, s28 = _U(11), _U(15), _U(17), _U(21), _U(27), _U(28)
    s30, s31, s36, s47, s49 = _U(30), _U(31), _U(36), _U(47), _U(49)
    two_m53 = 1.0 / 9007199254740992.0
    two_pi = 2.0 * math.pi
    slice_ = SLICE
    two53 = _TWO53

    @cu.jit(device=True)
    def splitmix64(x):
        z = x + golden
        z = (z ^ (z >> s30)) * mix1
        z = (z ^ (z >> s27)) * mix2
        return z ^ (z >> s31)

    @cu.jit(device=True)
    def thread_state(key0, key1, segment, block, thread):
        """xoroshiro128++ state of (segment, block, thread): rng.block_state with one more level."""
        h = splitmix64(key0 ^ splitmix64(stream))
        h = splitmix64(h ^ splitmix64(segment + key1))
        h = splitmix64(h ^ splitmix64(block ^ salt_b))
        h = splitmix64(h ^ splitmix64(thread ^ salt_t))
        s0 = splitmix64(h)
        s1 = splitmix64(h ^ key1)
        if s0 == u0 and s1 == u0:
            s1 = u1
        return s0, s1

    @cu.jit(device=True)
    def next_u64(s0, s1):
        """xoroshiro128++: (bits, s0, s1), as rng.next_uint64."""
        t = s0 + s1
        result = ((t << s17) | (t >> s47)) + s0
        s1 ^= s0
        n0 = ((s0 << s49) | (s0 >> s15)) ^ s1 ^ (s1 << s21)
        n1 = (s1 << s28) | (s1 >> s36)
        return result, n0, n1

    @cu.jit(device=True)
    def box_muller(s0, s1):
        """Two independent standard normals: (z0, z1, s0, s1)."""
        r, s0, s1 = next_u64(s0, s1)
        u = (float(np.int64(r >> s11)) + 1.0) * two_m53  # (0, 1]
        r, s0, s1 = next_u64(s0, s1)
        a = float(np.int64(r >> s11)) * (two_pi * two_m53)
        rad = math.sqrt(-2.0 * math.log(u))
        return rad * math.cos(a), rad * math.sin(a), s0, s1

    @cu.jit(device=True)
    def find(offsets, lo, hi, x):
        """The largest b in [lo, hi) with offsets[b] <= x (offsets ascending, offsets[lo] <= x)."""
        hi -= 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if offsets[mid] <= x:
                lo = mid
            else:
                hi = mid - 1
        return lo

    @cu.jit
    def members_kernel(key0, key1, blk_seg, blk_idx, blk_row0, blk_nslice, blk_toff, b_lo, b_hi,
                       thread_base, n_threads, seg_members, seg_mu, seg_sigma, seg_pthr,
                       factors, attachments, part):  # fmt: skip
        tl = cuda.grid(1)
        if tl >= n_threads:
            return
        tid = thread_base + tl
        b = find(blk_toff, b_lo, b_hi, tid)
        t = tid - blk_toff[b]
        ns = blk_nslice[b]
        scen = t // ns
        first = (t - scen * ns) * slice_
        row = blk_row0[b] + scen
        g = blk_seg[b]
        count = seg_members[g] - first  # (no min() here: numba's CUDA target mistypes min of two ints)
        if count > slice_:
            count = slice_
        mu = seg_mu[g]
        sigma = seg_sigma[g]
        pthr = seg_pthr[g]
        n_views = attachments.shape[0]
        n_att = attachments.shape[1]
        lowest = math.inf
        for v in range(n_views):
            f = factors[row, v]
            for k in range(n_att):
                part[1 + v * n_att + k, tl] = 0.0
                t_vk = attachments[v, k] / f
                if t_vk < lowest:
                    lowest = t_vk
        s0, s1 = thread_state(key0, key1, _U(g), _U(blk_idx[b]), _U(t))
        total = 0.0
        spare = 0.0
        have = False
        for _ in range(count):
            if pthr < two53:
                r, s0, s1 = next_u64(s0, s1)
                if np.int64(r >> s11) >= pthr:
                    continue
            if have:
                z = spare
                have = False
            else:
                z, spare, s0, s1 = box_muller(s0, s1)
                have = True
            x = math.exp(mu + sigma * z)
            total += x
            if x > lowest:
                for v in range(n_views):
                    f = factors[row, v]
                    for k in range(n_att):
                        e = x - attachments[v, k] / f
                        if e > 0.0:
                            part[1 + v * n_att + k, tl] += e
        part[0, tl] = total

    @cu.jit
    def reduce_kernel(blk_nslice, blk_toff, blk_roff, b_lo, b_hi, thread_base, n_rows, part, out):
        i = cuda.grid(1)
        n_cols = part.shape[0]
        if i >= n_rows * n_cols:
            return
        r = i // n_cols
        c = i - r * n_cols
        rg = blk_roff[b_lo] + r  # the row among all blocks' rows
        b = find(blk_roff, b_lo, b_hi, rg)
        ns = blk_nslice[b]
        j0 = blk_toff[b] + (rg - blk_roff[b]) * ns - thread_base
        acc = 0.0
        for j in range(ns):
            acc += part[c, j0 + j]
        out[i] = acc

    return SimpleNamespace(
        members=members_kernel, reduce=reduce_kernel, splitmix64=splitmix64, thread_state=thread_state,
        next_u64=next_u64, box_muller=box_muller,
    )  # fmt: skip


def _batches(threads, draws, cells_per_thread):
    """Consecutive runs [lo, hi) of blocks, each within LAUNCH_DRAWS draws and LAUNCH_CELLS cells."""
    max_threads = max(1, LAUNCH_CELLS // cells_per_thread)
    out, lo, n_t, n_d = [], 0, 0, 0
    for i in range(len(threads)):
        if i > lo and (n_t + threads[i] > max_threads or n_d + draws[i] > LAUNCH_DRAWS):
            out.append((lo, i))
            lo, n_t, n_d = i, 0, 0
        n_t += threads[i]
        n_d += draws[i]
    if lo < len(threads):
        out.append((lo, len(threads)))
    return out


def run_blocks_gpu(params, members, factors, attachments, seed, progress=None, blocks=None, sink=None):
    """:func:`vbcsim.engine.driver.run_blocks` on a CUDA GPU (see the module's docstring).

    Returns cost[segment, scenario, view] and excess[segment, scenario, view, k], or
    with ``sink`` hands each block to ``sink(block, cost, excess)`` in block order and
    returns None.  ``ValueError`` for distributions the GPU path does not cover;
    ``RuntimeError`` where no CUDA GPU is found.
    """
    params = check_gpu_params(params)
    cuda = _require_gpu()
    factors = np.ascontiguousarray(factors, dtype=np.float64)
    attachments = np.ascontiguousarray(attachments, dtype=np.float64)
    n_rows, n_views = factors.shape
    n_att = attachments.shape[1]
    cols = 1 + n_views * n_att
    members = np.asarray([int(m) for m in members], dtype=np.int64)
    key0, key1 = (_U(k) for k in root_key(seed))
    if blocks is None:
        blocks = block_layout(members, n_rows)
    blocks = list(blocks)
    result = None
    if sink is None:
        cost = np.zeros((len(params), n_rows, n_views))
        excess = np.zeros((len(params), n_rows, n_views, n_att))

        def sink(b, c, e):
            cost[b.segment, block_rows(b, 1)] = c
            excess[b.segment, block_rows(b, 1)] = e

        result = (cost, excess)
    if not blocks:
        return result

    seg = np.array([b.segment for b in blocks], dtype=np.int64)
    n_scen = np.array([b.stop - b.start for b in blocks], dtype=np.int64)
    n_slice = np.maximum(1, -(-members[seg] // SLICE))
    threads = n_scen * n_slice
    toff = np.concatenate([[0], np.cumsum(threads)]).astype(np.int64)
    roff = np.concatenate([[0], np.cumsum(n_scen)]).astype(np.int64)
    batches = _batches(threads, n_scen * members[seg], cols)
    max_threads = max(int(toff[hi] - toff[lo]) for lo, hi in batches)
    max_rows = max(int(roff[hi] - roff[lo]) for lo, hi in batches)

    mu = np.array([p[K.BODY_A] for p in params])
    sigma = np.array([p[K.BODY_B] for p in params])
    # the hurdle as the CPU's: no cost when (r >> 11) >= ceil(p 2^53)
    pthr = np.array([min(_TWO53, math.ceil(p[K.P_NONZERO] * _TWO53)) for p in params], dtype=np.int64)

    kernels = _build()
    members_kernel, reduce_kernel = kernels.members, kernels.reduce
    to = cuda.to_device
    d = {
        "seg": to(seg), "idx": to(np.array([b.index for b in blocks], dtype=np.int64)),
        "row0": to(np.array([b.start for b in blocks], dtype=np.int64)), "nslice": to(n_slice),
        "toff": to(toff), "roff": to(roff), "members": to(members), "mu": to(mu), "sigma": to(sigma),
        "pthr": to(pthr), "factors": to(factors), "attachments": to(attachments),
    }  # fmt: skip
    # two sets of buffers and streams: launch k runs while launch k - 1's blocks go to the sink
    streams = [cuda.stream(), cuda.stream()]
    parts = [cuda.device_array((cols, max_threads)) for _ in range(2)]
    outs = [cuda.device_array(max_rows * cols) for _ in range(2)]
    pinned = getattr(cuda, "pinned_array", None)
    hosts = [pinned(max_rows * cols) if pinned else np.empty(max_rows * cols) for _ in range(2)]
    done = 0

    def finish(k, lo, hi):
        nonlocal done
        streams[k % 2].synchronize()
        rows = int(roff[hi] - roff[lo])
        sums = np.array(hosts[k % 2][: rows * cols]).reshape(rows, cols)
        for i in range(lo, hi):
            b = blocks[i]
            r0 = int(roff[i] - roff[lo])
            s = sums[r0 : r0 + (b.stop - b.start)]
            f = factors[block_rows(b, 1)]
            sink(b, f * s[:, :1], f[:, :, None] * s[:, 1:].reshape(-1, n_views, n_att))
            done += 1
            if progress is not None:
                progress(done, len(blocks))

    pending = None
    tpb = THREADS_PER_BLOCK
    for k, (lo, hi) in enumerate(batches):
        st = streams[k % 2]
        n_t = int(toff[hi] - toff[lo])
        rows = int(roff[hi] - roff[lo])
        members_kernel[-(-n_t // tpb), tpb, st](
            key0, key1, d["seg"], d["idx"], d["row0"], d["nslice"], d["toff"], np.int64(lo), np.int64(hi),
            np.int64(toff[lo]), np.int64(n_t), d["members"], d["mu"], d["sigma"], d["pthr"],
            d["factors"], d["attachments"], parts[k % 2],
        )  # fmt: skip
        reduce_kernel[-(-(rows * cols) // tpb), tpb, st](
            d["nslice"], d["toff"], d["roff"], np.int64(lo), np.int64(hi), np.int64(toff[lo]),
            np.int64(rows), parts[k % 2], outs[k % 2],
        )  # fmt: skip
        outs[k % 2][: rows * cols].copy_to_host(hosts[k % 2][: rows * cols], stream=st)
        if pending is not None:
            finish(*pending)
        pending = (k, lo, hi)
    finish(*pending)
    return result
