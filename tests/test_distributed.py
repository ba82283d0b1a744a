"""Scale-out: Dask tasks and zarr streaming give the local engine's result, bitwise; runs resume."""

import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import vbcsim
from vbcsim.engine import driver
from vbcsim.results import store

pytest.importorskip("dask")
pytest.importorskip("zarr")

POP = vbcsim.defaults.provider_panel(3_000)  # 349 scenarios per block of the largest segment
N = 1_000
SEED = 21


@pytest.fixture(scope="module")
def models():
    return vbcsim.partnership_models(POP)


@pytest.fixture(scope="module")
def local(models):
    return vbcsim.simulate(POP, models, n_scenarios=N, seed=SEED, attachments=[50_000.0])


def run(models, **kw):
    return vbcsim.simulate(POP, models, n_scenarios=N, seed=SEED, attachments=[50_000.0], **kw)


def assert_identical(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    for name in a.coords:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_dask_default_scheduler_is_bitwise_local(models, local):
    assert_identical(local, run(models, backend="dask"))


def test_local_cluster_two_worker_processes(models, local, tmp_path):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as c,
        distributed.Client(c),
    ):
        assert_identical(local, run(models, backend="dask"))
        # streamed to zarr from the workers' blocks
        ds = run(models, backend="dask", out=tmp_path / "r.zarr")
        assert_identical(local, ds.load())
        # and the comparison entry point takes the backend too
        a = vbcsim.compare(POP, n_scenarios=300, seed=4, backend="dask")
    b = vbcsim.compare(POP, n_scenarios=300, seed=4)
    assert_identical(b, a)


def test_zarr_stream_is_bitwise_local_and_lazy(models, local, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "SETTLE_SCENARIOS", 300)  # four settlement chunks
    out = tmp_path / "r.zarr"
    ds = run(models, out=out)
    assert ds["net"].chunks is not None  # opened lazily from the store
    assert ds.attrs["vbcsim_complete"] == 1
    assert_identical(local, ds.load())
    assert not (tmp_path / "r.zarr.partial").exists()
    assert not (out / "engine").exists()
    # and xarray reads it back like any zarr store
    with xr.open_zarr(out) as again:
        assert again.sizes["scenario"] == N


class Stop(Exception):
    pass


def test_resume_after_a_failure_in_the_engine(models, local, tmp_path):
    out = tmp_path / "r.zarr"
    total = len(driver.block_layout(local.members.values, N))

    def fail_after(k):
        def progress(done, _total):
            if done == k:
                raise Stop

        return progress

    with pytest.raises(Stop):
        run(models, out=out, threads=1, progress=fail_after(4))
    partial = tmp_path / "r.zarr.partial"
    assert partial.exists() and not out.exists()
    # the finished blocks are flagged and hold exactly the local engine's statistics
    zarr = pytest.importorskip("zarr")
    flagged = []
    for g in range(len(POP)):
        flags = np.asarray(zarr.open_array(str(partial / "engine" / f"done_{g}"), mode="r")[:])
        cost = zarr.open_array(str(partial / "engine" / f"cost_{g}"), mode="r")
        for b in driver.block_layout(local.members.values, N):
            if b.segment == g and flags[b.index]:
                flagged.append(b)
                np.testing.assert_array_equal(
                    cost[b.start : b.stop, 0], local.cost.values[b.start : b.stop, g]
                )
    assert len(flagged) == 4
    # resuming runs only the other blocks
    seen = []
    ds = run(models, out=out, threads=1, progress=lambda done, t: seen.append(t))
    assert seen and seen[-1] == total - 4 and len(seen) == total - 4
    assert_identical(local, ds.load())


def test_resume_after_a_failure_in_settlement(models, local, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "SETTLE_SCENARIOS", 300)
    out = tmp_path / "r.zarr"
    real = store.assemble
    calls = []
    failed = []

    def flaky(plan, cost, excess, start, stop, aggregate_oracle=None):
        calls.append(start)
        if start == 600 and not failed:
            failed.append(start)
            raise Stop
        return real(plan, cost, excess, start, stop, aggregate_oracle)

    monkeypatch.setattr(store, "assemble", flaky)
    with pytest.raises(Stop):
        run(models, out=out)
    # resumed: no engine block again, and only the chunks not yet written are settled
    blocks = []
    calls.clear()
    ds = run(models, out=out, progress=lambda d, t: blocks.append(d))
    assert blocks == []
    assert calls == [600, 900]
    assert_identical(local, ds.load())


def test_finished_store_is_returned_and_other_runs_are_protected(models, local, tmp_path):
    out = tmp_path / "r.zarr"
    run(models, out=out)
    blocks = []
    again = run(models, out=out, progress=lambda d, t: blocks.append(d))
    assert blocks == []  # nothing recomputed
    assert_identical(local, again.load())
    # a different run may not silently replace it ...
    with pytest.raises(ValueError, match="already holds other results"):
        vbcsim.simulate(POP, models, n_scenarios=N, seed=SEED + 1, out=out)
    # ... and with overwrite=True, a failure leaves the earlier result in place
    with pytest.raises(Stop):
        vbcsim.simulate(
            POP, models, n_scenarios=N, seed=SEED + 1, out=out, overwrite=True, progress=_raise_at(2)
        )
    assert_identical(local, xr.open_zarr(out).load())
    other = vbcsim.simulate(POP, models, n_scenarios=N, seed=SEED + 1, out=out, overwrite=True)
    assert int(other.attrs["seed"]) == SEED + 1
    assert not np.array_equal(other.net.values, local.net.values)


def _raise_at(k):
    def progress(done, total):
        if done == k:
            raise Stop

    return progress


def test_bad_arguments(models, tmp_path):
    with pytest.raises(ValueError, match="backend must be one of"):
        run(models, backend="spark")
    with pytest.raises(ValueError, match="must be a path ending in .zarr"):
        run(models, out=tmp_path / "r.nc")
    with pytest.raises(TypeError, match="overwrite"):
        run(models, out=tmp_path / "r.zarr", overwrite="yes")


def test_clear_error_without_dask(models, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r'pip install "vbcsim\[distributed\]"'):
        run(models, backend="dask")
    with pytest.raises(ImportError, match=r'pip install "vbcsim\[distributed\]"'):
        run(models, out=tmp_path / "r.zarr")


_MEMORY_SCRIPT = """
import shutil, sys, vbcsim
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
pop = vbcsim.defaults.provider_panel(200)
vbcsim.compare(pop, n_scenarios=100, seed=1)
open("/proc/self/clear_refs", "w").write("5")
base = peak()
ds = vbcsim.compare(pop, n_scenarios=300_000, seed=1, out=sys.argv[1])
print(peak() - base, ds.nbytes / 2**20)
"""


@pytest.mark.slow
def test_streaming_memory_is_well_below_the_cube(tmp_path):
    # the cube of 300,000 scenarios (about 235 MB) never sits in memory: the streamed run holds
    # the scenario-level draws (about 30 MB), a few blocks and one settlement chunk
    import subprocess

    if not __import__("os").path.exists("/proc/self/clear_refs"):
        pytest.skip("needs Linux /proc to reset the peak-memory record")
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(tmp_path / "m.zarr")],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    growth, cube = (float(v) for v in out.stdout.split()[-2:])
    assert cube > 200
    assert growth < 0.5 * cube


def test_interrupted_finish_and_layout_resume(models, local, tmp_path, monkeypatch):
    import vbcsim.store as st

    out = tmp_path / "r.zarr"
    # 1. interrupted while renaming the finished store over the target: the next call only finishes
    real_replace = st._replace_tree
    monkeypatch.setattr(st, "_replace_tree", lambda src, dst: (_ for _ in ()).throw(Stop()))
    with pytest.raises(Stop):
        run(models, out=out)
    monkeypatch.setattr(st, "_replace_tree", real_replace)
    blocks = []
    assert_identical(local, run(models, out=out, progress=lambda d, t: blocks.append(d)).load())
    assert blocks == []

    # 2. interrupted while the engine's arrays are being deleted (some chunks gone, flags kept)
    out2 = tmp_path / "r2.zarr"
    real_rmtree = st.shutil.rmtree

    def partial_rmtree(path, ignore_errors=False):
        for f in sorted(p for p in Path(path).rglob("*") if p.is_file() and not p.name.startswith(".z"))[:5]:
            f.unlink()
        raise Stop

    monkeypatch.setattr(st.shutil, "rmtree", partial_rmtree)
    with pytest.raises(Stop):
        run(models, out=out2)
    monkeypatch.setattr(st.shutil, "rmtree", real_rmtree)
    assert_identical(local, run(models, out=out2).load())

    # 3. interrupted while the store is being laid out: never resumed, laid out again
    out3 = tmp_path / "r3.zarr"
    real_array = st._array
    calls = []

    def failing_array(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise Stop
        return real_array(*a, **k)

    monkeypatch.setattr(st, "_array", failing_array)
    with pytest.raises(Stop):
        run(models, out=out3)
    monkeypatch.setattr(st, "_array", real_array)
    assert_identical(local, run(models, out=out3).load())


def test_an_edited_user_kernel_is_a_different_run(tmp_path):
    from numba import njit

    from vbcsim.contracts import FeeForService, UserContract

    @njit
    def one(medical_cost, excess, quality, premium, members, params):
        return np.ones_like(medical_cost)

    @njit
    def thousand(medical_cost, excess, quality, premium, members, params):
        return np.full_like(medical_cost, 1000.0)

    pop = vbcsim.defaults.provider_panel(300)
    out = tmp_path / "u.zarr"
    for kernel, value in ((one, 1.0), (thousand, 1000.0)):
        thousand.__name__ = one.__name__  # same name, different code
        models = {"m": [FeeForService(), UserContract("rule", kernel)]}
        ds = vbcsim.simulate(pop, models, n_scenarios=20, seed=1, out=out, overwrite=True)
        assert float(ds.settlement.sel(contract="rule").max()) == value


def test_out_must_be_a_path(models):
    with pytest.raises(TypeError, match="out must be a path"):
        run(models, out=5)
