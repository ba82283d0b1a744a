"""Output safety: big seeds in every format, paths checked before the run, no litter, one writer per store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

import vbcsim
from vbcsim.frontends import cli
from vbcsim.population.defaults import commercial_population
from vbcsim.results import io

pytest.importorskip("zarr")
ROOT = Path(__file__).resolve().parents[1]
SEEDS = [0, 2**31 - 1, 2**31, 3_000_000_000, 2**63 - 1, 2**63, 2**64, 2**70]


def _small(seed, **kwargs):
    return vbcsim.simulate(commercial_population(0.01), n_scenarios=8, seed=seed, **kwargs)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_any_seed_round_trips(seed, suffix, tmp_path):
    ds = _small(seed)
    assert ds.attrs["seed_text"] == str(seed) and io.seed_of(ds) == seed
    path = io.write_results(ds, tmp_path / f"r{suffix}")
    back = xr.open_zarr(path) if suffix == ".zarr" else xr.open_dataset(path)
    assert io.seed_of(back) == seed and back.attrs["seed_text"] == str(seed)
    if seed < 2**31:
        assert back.attrs["seed"] == seed  # small seeds stay plain ints
    assert int(back.attrs["seed"]) == seed
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"r{suffix}"]


@pytest.mark.parametrize("seed", [2**31, 2**64])
def test_streamed_store_keeps_big_seed(seed, tmp_path):
    ds = _small(seed, out=tmp_path / "s.zarr")
    assert io.seed_of(ds) == seed and io.seed_of(xr.open_zarr(tmp_path / "s.zarr")) == seed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]  # no lock, no .partial


@pytest.mark.parametrize("seed", [3_000_000_000, 2**64])
def test_cli_netcdf_with_big_seed(seed, tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(f"[simulation]\nseed = {seed}\n[population]\nscale = 0.01\n")
    out = tmp_path / "r.nc"
    assert cli.main(["compare", str(config), "--scenarios", "20", "--out", str(out)]) == 0
    assert io.seed_of(xr.open_dataset(out)) == seed
    assert capsys.readouterr().err == ""


def test_missing_parent_refused_by_api_before_work(tmp_path, monkeypatch):
    import vbcsim.results.store as store

    monkeypatch.setattr(store, "_create", lambda *a: pytest.fail("work started"))
    target = tmp_path / "missing" / "deeper" / "x.zarr"
    with pytest.raises(ValueError, match=r"^out: directory .* does not exist"):
        _small(1, out=target)
    assert not (tmp_path / "missing").exists()
    with pytest.raises(ValueError, match="out"):
        _small(1, out="/nonexistent-vbcsim-dir/x.zarr")
    assert not Path("/nonexistent-vbcsim-dir").exists()


def test_formats_checked_before_the_run(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in ("scipy", "zarr") else real(name, *a)
    )
    monkeypatch.setattr(vbcsim, "compare", lambda *a, **k: pytest.fail("the run started"))
    for name, needs in (("r.nc", "scipy"), ("r.zarr", "zarr")):
        with pytest.raises(ValueError, match=needs):
            io.check_output_path(tmp_path / name)
        assert cli.main(["compare", "--scenarios", "10", "--out", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and needs in err


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_killed_netcdf_write_litter_is_removed(tmp_path):
    target = tmp_path / "r.nc"
    # a writer killed mid-write: it made its temporary (the writer's own name) and died
    code = (
        "import os, signal, sys, tempfile; from pathlib import Path; from vbcsim.results import io;"
        f"p = Path({str(target)!r}); tempfile.mkstemp(prefix=io._temp_prefix(p), suffix='.tmp', dir=p.parent);"
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT)
    assert proc.returncode == -signal.SIGKILL
    (killed,) = list(tmp_path.iterdir())
    assert killed.name.startswith(".r.nc.") and killed.stat().st_size == 0
    legacy = tmp_path / ".r.nc.abcd1234.tmp"  # an earlier release's name, from before this process
    legacy.touch()
    os.utime(legacy, (time.time() - 3600,) * 2)
    live = tmp_path / f".r.nc.{os.getpid()}.abcd1234.tmp"  # this (live) process's: kept
    live.touch()
    dead_other = tmp_path / f".other.nc.{_dead_pid()}.abcd1234.tmp"  # another target's: kept
    dead_other.touch()
    fresh_legacy = tmp_path / ".r.nc.zzzz9999.tmp"  # made after this process started: kept
    fresh_legacy.touch()
    io.write_netcdf(_small(2), target)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["r.nc", live.name, dead_other.name, fresh_legacy.name])


_HOLD = (
    "import sys, time; from vbcsim.results import io;"
    "cm = io.output_lock(sys.argv[1]); cm.__enter__(); print('locked', flush=True); time.sleep(120)"
)


def _holder(target):
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(target)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_of_a_store_is_refused(tmp_path, capsys):
    target = tmp_path / "results.zarr"
    holder = _holder(target)
    try:
        with pytest.raises(
            io.OutputBusyError, match=rf"another run \(pid {holder.pid}\) is writing results.zarr"
        ):
            _small(3, out=target)
        with pytest.raises(io.OutputBusyError, match=str(holder.pid)):
            io.write_zarr(_small(3), target)
        assert cli.main(["compare", "--scenarios", "10", "--out", str(target)]) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and f"another run (pid {holder.pid})" in err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["results.zarr.lock"]  # no .partial
    finally:
        holder.kill()
        holder.wait()
    # the killed holder left its lock file: it is not mistaken for a live run
    assert (tmp_path / "results.zarr.lock").exists()
    ds = _small(3, out=target)
    assert io.seed_of(ds) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.zarr"]


def test_two_processes_write_one_store(tmp_path):
    """Two real runs at once: one writes, the other is refused with the clear error (or runs after)."""
    target = tmp_path / "r.zarr"
    code = (
        "import sys, vbcsim; from vbcsim.population.defaults import commercial_population;"
        "from vbcsim.results import io\n"
        "try:\n"
        "    vbcsim.simulate(commercial_population(0.05), n_scenarios=3000, seed=5, out=sys.argv[1])\n"
        "except io.OutputBusyError as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(target)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), p.stdout.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes in ([0, 0], [0, 3]), results
    for rc, text in results:
        if rc == 3:
            assert "another run (pid" in text and "is writing r.zarr" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.zarr"]
    assert io.seed_of(xr.open_zarr(target)) == 5


def test_lock_is_reentrant_and_removed(tmp_path):
    target = tmp_path / "x.zarr"
    with io.output_lock(target):
        with io.output_lock(target):
            assert (tmp_path / "x.zarr.lock").read_text() == str(os.getpid())
        assert (tmp_path / "x.zarr.lock").exists()
    assert not (tmp_path / "x.zarr.lock").exists()
