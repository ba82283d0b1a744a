"""What is simulated: cost distributions, the population of segments, systematic risk, and
the exact (FFT) distribution of the population's aggregate cost.

The first stage of the flow; it imports nothing else of the package but :mod:`vbcsim._validation`.

- :mod:`~vbcsim.population.distributions`: claim-cost, frequency and compound distributions;
- :mod:`~vbcsim.population.segments`: :class:`Segment` and :class:`Population`;
- :mod:`~vbcsim.population.scenario`: :class:`ScenarioRisk`, the systematic multiplier a scenario shares;
- :mod:`~vbcsim.population.defaults`: the built-in commercial population and provider panel;
- :mod:`~vbcsim.population.exact`: the FFT oracle of the aggregate cost.
"""

from vbcsim.population.segments import Population, Segment, check_segments

__all__ = ["Population", "Segment", "check_segments"]
