"""Streaming a run to a zarr store, block by block, with resumption.

``vbcsim.simulate(..., out="results.zarr")`` (and ``vbcsim.compare``) writes the
result without holding it in memory:

1. the store is first built beside the target, at ``results.zarr.partial``:
   the Dataset's layout (every variable, chunked along ``scenario``) and, in
   its ``engine/`` folder, one array per segment for the engine's statistics,
   chunked exactly by the engine's blocks, plus a done-flag per block (one
   chunk each);
2. each finished block (from threads or Dask workers) is written into its own
   chunks, then its flag is set: an interrupted run leaves every finished
   block intact and flagged, and an unfinished block's chunks are simply
   written again;
3. the models are settled scenario chunk by scenario chunk (each chunk of the
   Dataset written whole, then flagged);
4. the engine's folder is removed, the run marked complete, and the store
   renamed over the target, so an earlier result at the target survives any
   failure until then.

The whole run holds the store's lock (``results.zarr.lock``, see
:func:`vbcsim.results.io.output_lock`): a second run writing the same store at
once fails at the start with :class:`~vbcsim.results.io.OutputBusyError`
("another run (pid N) is writing results.zarr") and leaves the first run's
``.partial`` alone.  The target's directory must exist (``ValueError`` naming
``out`` otherwise, before any work); it is never created.

Calling again with the same inputs and ``out`` resumes an interrupted run
(only unflagged blocks and chunks are computed) or returns a finished one.
The inputs are identified by a hash of the run's full configuration (seed,
scenario count, population, models, package version).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
from pathlib import Path

import numpy as np
import xarray as xr

from vbcsim._version import __version__
from vbcsim.contracts.settle import aggregate_stop_loss_oracle
from vbcsim.engine.driver import block_layout, block_scenarios, output_views
from vbcsim.results.cube import assemble
from vbcsim.results.io import _replace_tree, output_lock
from vbcsim.results.plan import run_engine

__all__ = ["simulate_to_zarr", "SETTLE_SCENARIOS"]

#: scenarios per chunk of the Dataset's variables (and per settlement step)
SETTLE_SCENARIOS = 4096


def _require():
    missing = []
    for name in ("zarr", "dask"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(
            f'out=...zarr needs {" and ".join(missing)}: pip install "vbcsim[distributed]" '
            "(dask, distributed and zarr)"
        )
    import zarr

    return zarr


def run_id(plan) -> str:
    """A hash of everything that determines the run's numbers."""
    spec = {
        "config": plan.config(),
        "seed": plan.seed,
        "n_scenarios": plan.n_scenarios,
        "vbcsim_version": __version__,
        "settle_scenarios": SETTLE_SCENARIOS,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _zarr_kwargs(func) -> dict:
    return {"zarr_format": 2} if "zarr_format" in inspect.signature(func).parameters else {}


def _attrs(zarr, path: Path) -> dict:
    try:
        return dict(zarr.open_group(str(path), mode="r").attrs)
    except Exception:  # not a zarr group, or unreadable: not ours
        return {}


def _array(zarr, path: Path, shape, chunks, dtype, fill):
    return zarr.open_array(
        str(path),
        mode="w",
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        fill_value=fill,
        **_zarr_kwargs(zarr.open_array),
    )


def _create(zarr, plan, work: Path, rid: str) -> None:
    """Lay out the store: the Dataset's variables (dask zeros, written lazily) and the engine's arrays."""
    import dask.array as da

    n_seg = len(plan.params)
    n_views, ex_views = output_views(plan.params, plan.factors.shape[1])
    n_att = plan.attachment_table.shape[1]
    S = plan.n_scenarios
    T = plan.simulated_years  # engine rows per scenario (1 in a single-year run)
    # the Dataset's structure, from one scenario of ones (a benchmark from zero cost is refused)
    probe = assemble(plan, np.ones((n_seg, T, n_views)), np.ones((n_seg, T, ex_views, n_att)), 0, 1)
    data = {}
    for name, var in probe.data_vars.items():
        if "scenario" in var.dims:
            shape = tuple(S if d == "scenario" else probe.sizes[d] for d in var.dims)
            chunks = tuple(min(SETTLE_SCENARIOS, S) if d == "scenario" else probe.sizes[d] for d in var.dims)
            data[name] = xr.Variable(var.dims, da.zeros(shape, chunks=chunks, dtype=var.dtype), var.attrs)
        else:
            data[name] = var.variable
    coords = {k: v.variable for k, v in probe.coords.items() if k != "scenario"}
    coords["scenario"] = np.arange(S)
    template = xr.Dataset(data, coords=coords, attrs=probe.attrs)
    # the run id is written last (below): a layout interrupted before then is never resumed
    template.attrs.update(vbcsim_run="", vbcsim_complete=0, vbcsim_settled=0)
    template.to_zarr(str(work), mode="w", compute=False, consolidated=False, **_zarr_kwargs(template.to_zarr))
    engine = work / "engine"
    zarr.open_group(str(engine), mode="w", **_zarr_kwargs(zarr.open_group))
    for g, members in enumerate(plan.members):
        bs = block_scenarios(int(members), T)
        n_blocks = -(-S // bs)
        _array(zarr, engine / f"cost_{g}", (S * T, n_views), (bs * T, n_views), "f8", 0.0)
        _array(zarr, engine / f"excess_{g}", (S * T, ex_views, n_att), (bs * T, ex_views, n_att), "f8", 0.0)
        _array(zarr, engine / f"done_{g}", (n_blocks,), (1,), "bool", False)
    _array(zarr, engine / "settled", (-(-S // SETTLE_SCENARIOS),), (1,), "bool", False)
    zarr.open_group(str(work), mode="r+").attrs["vbcsim_run"] = rid


def simulate_to_zarr(plan, out, *, backend: str, threads: int, progress=None, overwrite: bool = False):
    """Run ``plan`` into the zarr store ``out`` (resuming an interrupted run); return it opened lazily."""
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a path (str or os.PathLike) ending in .zarr, got {type(out).__name__}")
    target = Path(out)
    if target.suffix != ".zarr":
        raise ValueError(f"out must be a path ending in .zarr, got {str(out)!r}")
    if not target.parent.is_dir():
        raise ValueError(f"out: directory {str(target.parent)!r} does not exist (it is not created)")
    if target.exists() and not target.is_dir():
        raise ValueError(f"out: {str(target)!r} is a file, not a zarr store")
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be True or False, got {overwrite!r}")
    zarr = _require()
    with output_lock(target):
        return _run_locked(zarr, plan, target, backend, threads, progress, overwrite)


def _run_locked(zarr, plan, target: Path, backend, threads, progress, overwrite: bool):
    rid = run_id(plan)
    if target.exists():
        attrs = _attrs(zarr, target)
        if attrs.get("vbcsim_run") == rid and attrs.get("vbcsim_complete"):
            return xr.open_zarr(str(target))
        if not overwrite:
            raise ValueError(
                f"out: {target} already holds other results (a different run, or not a vbcsim store); "
                "pass overwrite=True to replace it once this run has finished"
            )
    work = target.with_name(target.name + ".partial")
    if work.exists() and _attrs(zarr, work).get("vbcsim_run") != rid:
        shutil.rmtree(work)  # an unfinished run of other inputs: never resumed, so discarded
    if not work.exists():
        _create(zarr, plan, work, rid)
    if not _attrs(zarr, work).get("vbcsim_settled"):
        _compute(zarr, plan, work, backend, threads, progress)
    return _finish(zarr, work, target)


def _compute(zarr, plan, work: Path, backend, threads, progress) -> None:
    """The engine's missing blocks, then the missing settlement chunks; finally flag the store settled."""
    # 1. the engine, block by block; each block's chunks first, then its flag
    engine = work / "engine"
    S = plan.n_scenarios
    cost_arrays = [zarr.open_array(str(engine / f"cost_{g}"), mode="r+") for g in range(len(plan.params))]
    excess_arrays = [zarr.open_array(str(engine / f"excess_{g}"), mode="r+") for g in range(len(plan.params))]
    done_arrays = [zarr.open_array(str(engine / f"done_{g}"), mode="r+") for g in range(len(plan.params))]
    done_flags = [np.asarray(d[:], dtype=bool) for d in done_arrays]
    T = plan.simulated_years
    todo = [b for b in block_layout(plan.members, S, T) if not done_flags[b.segment][b.index]]

    def sink(b, c, e):
        cost_arrays[b.segment][b.start * T : b.stop * T] = c
        excess_arrays[b.segment][b.start * T : b.stop * T] = e
        done_arrays[b.segment][b.index] = True

    if todo:
        run_engine(plan, backend, threads, progress, blocks=todo, sink=sink)

    # 2. settlement, scenario chunk by scenario chunk
    settled = zarr.open_array(str(engine / "settled"), mode="r+")
    flags = np.asarray(settled[:], dtype=bool)
    oracle = aggregate_stop_loss_oracle(plan.population)
    for i, start in enumerate(range(0, S, SETTLE_SCENARIOS)):
        if flags[i]:
            continue
        stop = min(start + SETTLE_SCENARIOS, S)
        cost = np.stack([a[start * T : stop * T] for a in cost_arrays])
        excess = np.stack([a[start * T : stop * T] for a in excess_arrays])
        part = assemble(plan, cost, excess, start, stop, aggregate_oracle=oracle)
        region = part[[n for n, v in part.data_vars.items() if "scenario" in v.dims]]
        region = region.drop_vars([c for c in region.coords if "scenario" not in region[c].dims])
        region.attrs = {}
        region.to_zarr(str(work), region={"scenario": slice(start, stop)}, consolidated=False)
        settled[i] = True

    # every number is in the Dataset's own arrays now: flag it before the engine's arrays go, so an
    # interruption from here on only repeats the finishing steps
    zarr.open_group(str(work), mode="r+").attrs["vbcsim_settled"] = 1


def _finish(zarr, work: Path, target: Path):
    """Drop the engine's arrays, mark complete, consolidate, move over the target; open it."""
    shutil.rmtree(work / "engine", ignore_errors=True)
    group = zarr.open_group(str(work), mode="r+")
    group.attrs["vbcsim_complete"] = 1
    zarr.consolidate_metadata(str(work))
    _replace_tree(work, target)
    # an earlier result moved aside by a replacement that was interrupted: the new one is in place
    for old in target.parent.glob(f".{target.name}.*.old"):
        shutil.rmtree(old, ignore_errors=True)
    return xr.open_zarr(str(target))
