"""Running the settings of a sensitivity analysis: the checks of the shared arguments, one compare
run per setting on the same seed, each party's per-scenario result, and a progress bar.

Every run goes through :func:`vbcsim.compare` with the same ``seed`` and ``n_scenarios``: the
engine's random streams depend on the seed, the population's segments and the model names, not
on the contract terms, so the runs see the same scenario-level draws (systematic multiplier,
quality, each model's efficiency stream) and, at the same panel size, the same members' costs.
A model's results do not depend on which other models run beside it, so a run settles only the
models its setting changes.
"""

from __future__ import annotations

import numpy as np

from vbcsim._progress import as_callback, check_progress
from vbcsim._validation import check_positive_int
from vbcsim.contracts.base import PARTIES
from vbcsim.engine.driver import check_seed, check_threads
from vbcsim.partnerships import MODEL_KEYS, compare
from vbcsim.partnerships.registry import MODEL_CLASSES

__all__ = ["BASELINES", "MODEL_TITLES", "check_common", "run_metric", "progress_bar"]

#: the accepted ``baseline`` arguments
BASELINES = ("fee_for_service", None)
#: readable model names, in order 1-5 (the ``model`` coordinate)
MODEL_TITLES = tuple(cls.title for cls in MODEL_CLASSES.values())

UNITS = "currency per year"


def check_common(n_scenarios, seed, baseline, threads, progress, *, owner: str) -> tuple:
    """The checked (n_scenarios, seed, baseline, threads, progress) shared by both analyses."""
    n_scenarios = check_positive_int("n_scenarios", n_scenarios, owner=owner, strict=True)
    if n_scenarios < 2:
        raise ValueError(
            f"{owner}: n_scenarios must be at least 2 (a standard error needs two), got {n_scenarios}"
        )
    seed = check_seed(seed)
    if not (baseline is None or (isinstance(baseline, str) and baseline in BASELINES)):
        raise ValueError(f"{owner}: baseline must be 'fee_for_service' or None, got {baseline!r}")
    if threads is not None:
        threads = check_threads(threads)
    check_progress(progress, name=f"{owner}: progress")
    return n_scenarios, seed, baseline, threads, progress


def run_metric(run, n_scenarios: int, seed: int, threads, baseline) -> tuple[np.ndarray, list, bool]:
    """Each party's per-scenario result of ``run``: (array (scenario, model, party), model keys, baseline used).

    The result is ``net - status_quo_net`` (the change against each model's fee-for-service
    status quo on the same draws) when ``baseline`` is ``"fee_for_service"`` and the cube has
    ``status_quo_net``; else ``net``.  Models are in the order of ``run.models``, parties in
    the order of :data:`vbcsim.contracts.base.PARTIES`.
    """
    ds = compare(
        run.population,
        run.models,
        n_scenarios=n_scenarios,
        seed=seed,
        scenario_risk=run.scenario_risk,
        threads=threads,
        baseline=baseline == "fee_for_service",
        progress=False,  # the analysis draws one bar over its runs
    )
    order = {"model": list(run.models), "party": list(PARTIES)}
    net = ds["net"].transpose("scenario", "model", "party").sel(order)
    used = baseline == "fee_for_service" and "status_quo_net" in ds.data_vars
    if used:
        net = net - ds["status_quo_net"].transpose("scenario", "model", "party").sel(order)
    keys = [MODEL_KEYS[MODEL_TITLES.index(title)] for title in run.models]
    return np.asarray(net.values, dtype=float), keys, used


class _Steps:
    """A bar over a known number of runs on the shared convention (:mod:`vbcsim._progress`)."""

    def __init__(self, callback, total: int):
        self.callback, self.total, self.done = callback, total, 0

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.callback is not None and self.done < self.total:
            self.callback(self.total, self.total)


def progress_bar(progress, total: int, desc: str) -> _Steps:
    """A bar over ``total`` runs: ``tqdm.auto`` for True (or None when someone is watching), the
    user's ``progress(done, total)`` for a callable, nothing for False."""
    return _Steps(as_callback(progress, desc, unit="run"), total)


def paired_standard_error(diff: np.ndarray) -> np.ndarray:
    """Standard error of the mean of per-scenario differences (axis 0): sd(diff, ddof=1) / sqrt(n).

    Exactly 0 where the differences are all 0 (a setting that leaves a model as it was).
    """
    diff = np.asarray(diff, dtype=float)
    n = diff.shape[0]
    se = diff.std(axis=0, ddof=1) / np.sqrt(n)
    return np.where(np.all(diff == 0, axis=0), 0.0, se)
