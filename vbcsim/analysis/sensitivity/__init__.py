"""Sensitivity analysis: which assumption moves each party's expected result most.

Two questions, two functions, both on common random numbers (every run on the same seed):

- :func:`sensitivity` — *one at a time*: each assumption is moved to a low and a high
  setting, the others held at their base, and the five partnership models compared again;
  the swing (high − low) of each party's expected result ranks the assumptions, and
  :func:`vbcsim.plot.tornado` draws it.  Standard errors are paired (from the per-scenario
  differences between two runs on the same draws);
- :func:`sensitivity_indices` — *global*: the uncertain assumptions drawn together, each
  uniform over its range, and the variance of each party's expected result apportioned among
  them by Sobol indices (SALib): first order (a factor alone) and total order (with its
  interactions).

The metric is each party's expected annual result: the change against the model's
fee-for-service status quo (``net - status_quo_net``) by default, where the result cube has
it.  The factors, their default ranges and their sources are in
:mod:`~vbcsim.analysis.sensitivity.factors`; ``docs/sensitivity.md`` shows how to read the
results and measured figures.
"""

from vbcsim.analysis.sensitivity.factors import (
    DEFAULT_FACTORS,
    DEFAULT_INDEX_FACTORS,
    DEFAULT_RANGES,
    PANEL_SIZE_RANGE,
)
from vbcsim.analysis.sensitivity.indices import sensitivity_indices
from vbcsim.analysis.sensitivity.one_at_a_time import sensitivity

__all__ = [
    "sensitivity",
    "sensitivity_indices",
    "DEFAULT_FACTORS",
    "DEFAULT_INDEX_FACTORS",
    "DEFAULT_RANGES",
    "PANEL_SIZE_RANGE",
]
