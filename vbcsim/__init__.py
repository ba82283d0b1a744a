"""vbcsim: actuarial Monte Carlo simulation of value-based care payment models.

Who carries how much of the medical-cost risk under each way of partnering,
and what does each side expect to earn or lose?
"""

from vbcsim import _aliases, contracts
from vbcsim._version import __version__
from vbcsim.analysis import calibrate, credibility
from vbcsim.analysis.funding import funding
from vbcsim.analysis.sensitivity import sensitivity, sensitivity_indices
from vbcsim.analysis.solve import SolveResult, Target, solve
from vbcsim.contracts.agreement import Agreement
from vbcsim.contracts.arrangement import Arrangement, Efficiency, Quality
from vbcsim.partnerships import compare, partnership_models, settlement_curve
from vbcsim.population import defaults, exact
from vbcsim.population.distributions import (
    Compound,
    Gamma,
    Hurdle,
    Lognormal,
    NegativeBinomial,
    Pareto,
    Poisson,
    Spliced,
)
from vbcsim.population.persistence import Persistence
from vbcsim.population.risk import RiskScore, Selection
from vbcsim.population.scenario import ScenarioRisk
from vbcsim.population.segments import Population, Segment
from vbcsim.results.horizon import capital_path, present_value
from vbcsim.results.metrics import summarize
from vbcsim.results.simulation import simulate

_aliases.install()

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
    "Persistence",
    "RiskScore",
    "Selection",
    "Agreement",
    "simulate",
    "compare",
    "partnership_models",
    "settlement_curve",
    "summarize",
    "capital_path",
    "present_value",
    "solve",
    "Target",
    "SolveResult",
    "sensitivity",
    "sensitivity_indices",
    "funding",
    "exact",
    "defaults",
    "calibrate",
    "credibility",
    "plot",
    "report",
    "__version__",
]


def __getattr__(name):
    # vbcsim.plot imports matplotlib: load it on first use, not with the package
    if name == "plot":
        import importlib

        return importlib.import_module("vbcsim.frontends.plot")
    if name == "report":  # the HTML report imports Jinja2 and matplotlib: likewise on first use
        import importlib

        return importlib.import_module("vbcsim.frontends.report").report
    raise AttributeError(f"module 'vbcsim' has no attribute {name!r}")
