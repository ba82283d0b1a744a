"""The five partnership models: :func:`vbcsim.compare` on the built-in provider panel, small.

``five``: the five models as :func:`vbcsim.compare` runs them, where model 3
(third party-mediated) also simulates a pool of 4 other practices of the
panel's size; ``five_no_pool``: the five with ``third_party={"other_practices":
0}`` (the panel only); ``one``: model 1 (custom risk-based contract) alone.
The models are built in ``setup``, so only the simulation and settlement are
timed.
"""

from __future__ import annotations

import vbcsim
from vbcsim import defaults


class FiveModels:
    """``vbcsim.compare`` of the provider panel (20,000 members × 1,000 scenarios, 2 threads)."""

    params = (["five", "five_no_pool", "one"], [20_000], [1_000])
    param_names = ["models", "members", "scenarios"]
    quick_params = (["five", "five_no_pool", "one"], [1_000], [20])
    timeout = 300

    def setup(self, models, members, scenarios):
        self.panel = defaults.provider_panel(members)
        if models == "five":
            self.models = vbcsim.partnership_models(self.panel)
        else:
            self.models = vbcsim.partnership_models(self.panel, third_party={"other_practices": 0})
            if models == "one":
                first = next(iter(self.models))
                self.models = {first: self.models[first]}
        vbcsim.compare(self.panel, self.models, n_scenarios=4, seed=1, threads=1)  # warm up

    def time_compare(self, models, members, scenarios):
        vbcsim.compare(self.panel, self.models, n_scenarios=scenarios, seed=1, threads=2)


class BuildModels:
    """``vbcsim.partnership_models`` for the provider panel (prices benchmarks and premiums exactly)."""

    def setup(self):
        self.panel = defaults.provider_panel()

    def time_partnership_models(self):
        vbcsim.partnership_models(self.panel)
