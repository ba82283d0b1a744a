"""The engine's blocks as Dask tasks: the same blocks, the same draws, on a cluster.

The engine cuts a run into fixed logical blocks (a segment × a run of
scenarios), each with its own generator keyed by (seed, segment, block); see
:mod:`vbcsim.engine.driver`.  Here the blocks are grouped into Dask tasks and
run on the active ``dask.distributed`` client (``distributed.get_client()``),
or on dask's default scheduler when there is none.  A task returns its blocks'
statistics, which are written into the result in this process; because every
block draws exactly what it draws locally, the result is bitwise identical to
the threaded engine's, whatever the number of workers or the grouping.

Pointing the same code at a real cluster (dask-jobqueue, Kubernetes, a
scheduler started by hand) only changes the client::

    from distributed import Client
    client = Client("tcp://scheduler:8786")      # or Client(LocalCluster(n_workers=2))
    ds = vbcsim.simulate(pop, models, n_scenarios=100_000, seed=1, backend="dask")
"""

from __future__ import annotations

from itertools import islice

import numpy as np

from vbcsim.engine.driver import (
    BLOCK_DRAWS,
    Block,
    _years_of,
    block_layout,
    block_rows,
    output_views,
    run_block,
)
from vbcsim.engine.rng import root_key

__all__ = ["run_blocks_dask", "require_dask", "TASK_DRAWS"]

#: member draws per Dask task (several blocks): about 0.1-0.3 s of work, large next to the
#: scheduler's per-task overhead (about a millisecond)
TASK_DRAWS = 64 * BLOCK_DRAWS


def require_dask():
    """Import dask, or explain how to install it."""
    try:
        import dask
    except ImportError:
        raise ImportError(
            'backend="dask" needs dask: pip install "vbcsim[distributed]" (dask, distributed and zarr)'
        ) from None
    return dask


def _client():
    """The active dask.distributed client, or None."""
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:  # no client
        return None


def _task(params, members, factors, attachments, key0, key1, blocks):
    """Run a group of blocks (on a worker): [(block, cost, excess), ...]."""
    out = []
    for b in blocks:
        f = factors[block_rows(b, _years_of(params))]
        out.append((b, *run_block(params[b.segment], members[b.segment], f, attachments, key0, key1, b)))
    return out


def _groups(blocks, members, years=1):
    groups, current, draws = [], [], 0
    for b in blocks:
        current.append(b)
        draws += (b.stop - b.start) * int(members[b.segment]) * years
        if draws >= TASK_DRAWS:
            groups.append(current)
            current, draws = [], 0
    if current:
        groups.append(current)
    return groups


def run_blocks_dask(params, members, factors, attachments, seed, progress=None, blocks=None, sink=None):
    """:func:`vbcsim.engine.driver.run_blocks` with the blocks as Dask tasks."""
    dask = require_dask()
    n_rows, n_views = factors.shape
    n_att = attachments.shape[1]
    years = _years_of(params)
    key0, key1 = root_key(seed)
    factors = np.ascontiguousarray(factors, dtype=np.float64)
    attachments = np.ascontiguousarray(attachments, dtype=np.float64)
    if blocks is None:
        blocks = block_layout(members, n_rows // years, years)
    result = None
    if sink is None:
        width, ex_width = output_views(params, n_views)
        cost = np.zeros((len(params), n_rows, width))
        excess = np.zeros((len(params), n_rows, ex_width, n_att))

        def sink(b: Block, c, e):
            cost[b.segment, block_rows(b, years)] = c
            excess[b.segment, block_rows(b, years)] = e

        result = (cost, excess)
    groups = _groups(blocks, members, years)
    params, members = list(params), [int(m) for m in members]
    done = 0

    def take(finished):
        nonlocal done
        for b, c, e in finished:
            sink(b, c, e)
            done += 1
            if progress is not None:
                progress(done, len(blocks))

    client = _client()
    if client is not None:
        from distributed import as_completed

        # unique keys per run (hash=False): a later run never shares data that this one releases
        shared = client.scatter([params, members, factors, attachments], broadcast=True, hash=False)
        # a bounded number of tasks in flight: results wait on the workers only until taken here
        limit = max(4, 4 * len(client.scheduler_info().get("workers", {})))
        pending = iter(groups)
        futures = [client.submit(_task, *shared, key0, key1, g, pure=False) for g in islice(pending, limit)]
        queue = as_completed(futures)
        try:
            for future in queue:
                take(future.result())
                nxt = next(pending, None)
                if nxt is not None:
                    queue.add(client.submit(_task, *shared, key0, key1, nxt, pure=False))
        except BaseException:
            client.cancel(list(queue.futures) if hasattr(queue, "futures") else futures)
            raise
    else:
        # dask's default scheduler: a few tasks at a time, so results are written as they come
        task = dask.delayed(_task, pure=True)
        step = 8
        for i in range(0, len(groups), step):
            for finished in dask.compute(
                *[task(params, members, factors, attachments, key0, key1, g) for g in groups[i : i + step]]
            ):
                take(finished)
    return result
