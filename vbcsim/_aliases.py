"""The module paths of earlier releases, kept importable (and as attributes of ``vbcsim``) after the package was grouped by stage.

Users' notebooks import ``vbcsim.defaults``, ``vbcsim.metrics``, ``vbcsim.plot`` and the like.
Each such path now names a module inside a stage package (``vbcsim.population.defaults``, ...).
:data:`MOVED` maps the old name to the new; :func:`install` adds a finder to ``sys.meta_path``
that answers an import of an old path with the module at the new one, the same object, so
``vbcsim.defaults is vbcsim.population.defaults``.  Nothing is imported before it is asked
for: ``import vbcsim.plot`` loads matplotlib only then.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["MOVED", "install"]

#: old module path (below ``vbcsim.``) -> the module's path now
MOVED = {
    "distributions": "vbcsim.population.distributions",
    "scenario": "vbcsim.population.scenario",
    "defaults": "vbcsim.population.defaults",
    "exact": "vbcsim.population.exact",
    "rng": "vbcsim.engine.rng",
    "arrangement": "vbcsim.contracts.arrangement",
    "settle": "vbcsim.contracts.settle",
    "variables": "vbcsim.results.variables",
    "io": "vbcsim.results.io",
    "store": "vbcsim.results.store",
    "metrics": "vbcsim.results.metrics",
    "simulation": "vbcsim.results.simulation",
    "calibrate": "vbcsim.analysis.calibrate",
    "credibility": "vbcsim.analysis.credibility",
    "solve": "vbcsim.analysis.solve",
    "plot": "vbcsim.frontends.plot",
    "cli": "vbcsim.frontends.cli",
    "config": "vbcsim.frontends.config",
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``vbcsim.<old>`` and loads it as the module now at ``MOVED[old]``."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package != "vbcsim" or name not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def __init__(self):
        self._specs = {}

    def create_module(self, spec):
        module = importlib.import_module(MOVED[spec.name.rpartition(".")[2]])
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        # the import system has set the alias's spec on the shared module object: give its own back
        for name, spec in list(self._specs.items()):
            if spec.name == module.__name__:
                module.__spec__ = self._specs.pop(name)


_FINDER = _MovedFinder()


def install() -> None:
    """Register the old paths of modules already imported, and put the finder on ``sys.meta_path``.

    Registering the loaded ones directly keeps the import system from setting them as
    attributes of ``vbcsim``, where ``vbcsim.solve`` (the function) would become the module.
    """
    package = sys.modules["vbcsim"]
    for old, new in MOVED.items():
        if new in sys.modules:
            sys.modules.setdefault(f"vbcsim.{old}", sys.modules[new])
            if old not in vars(package):
                setattr(package, old, sys.modules[new])
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_FINDER)
