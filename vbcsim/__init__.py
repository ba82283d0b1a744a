"""vbcsim: actuarial Monte Carlo simulation of value-based care payment models.

Who carries how much of the medical-cost risk under each way of partnering,
and what does each side expect to earn or lose?
"""

__version__ = "0.1.0"

from vbcsim import calibrate, contracts, credibility, defaults, exact  # noqa: E402
from vbcsim.arrangement import Arrangement, Efficiency, Quality  # noqa: E402
from vbcsim.distributions import (  # noqa: E402
    Compound,
    Gamma,
    Hurdle,
    Lognormal,
    NegativeBinomial,
    Pareto,
    Poisson,
    Spliced,
)
from vbcsim.metrics import summarize  # noqa: E402
from vbcsim.partnerships import compare, partnership_models, settlement_curve  # noqa: E402
from vbcsim.population import Population, Segment  # noqa: E402
from vbcsim.scenario import ScenarioRisk  # noqa: E402
from vbcsim.simulation import simulate  # noqa: E402
from vbcsim.solve import SolveResult, Target, solve  # noqa: E402

__all__ = [
    "Compound",
    "Gamma",
    "Hurdle",
    "Lognormal",
    "NegativeBinomial",
    "Pareto",
    "Poisson",
    "Spliced",
    "Arrangement",
    "Efficiency",
    "Quality",
    "contracts",
    "Population",
    "Segment",
    "ScenarioRisk",
    "simulate",
    "compare",
    "partnership_models",
    "settlement_curve",
    "summarize",
    "solve",
    "Target",
    "SolveResult",
    "exact",
    "defaults",
    "calibrate",
    "credibility",
    "plot",
    "__version__",
]


def __getattr__(name):
    # vbcsim.plot imports matplotlib: load it on first use, not with the package
    if name == "plot":
        import importlib

        return importlib.import_module("vbcsim.plot")
    raise AttributeError(f"module 'vbcsim' has no attribute {name!r}")
