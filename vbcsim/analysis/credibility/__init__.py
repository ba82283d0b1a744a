"""Credibility: how often a shared-savings contract settles by chance alone, by panel size.

A shared-savings contract pays when the panel's annual cost beats the
benchmark by at least the minimum savings rate (MSR).  Part of that happens
by chance: even with no true savings a small panel's cost wanders a few
percent around its expectation every year.  This module answers, for a
population and an arrangement:

- :func:`chance_settlement` — the probability that each contract pays (or
  recoups) in a year with *no true savings*, as a function of panel size;
- :func:`minimum_panel_size` — the smallest panel for which that probability
  is at most a target (5% by default);
- :func:`msr_for_confidence` — the MSR that makes a chance payment have
  probability 1 − confidence, beside the Medicare Shared Savings Program's
  size-based table (42 CFR 425.604(b), :data:`vbcsim.contracts.shared_savings.MSSP_MSR_TABLE`);
- :func:`plot` and :func:`plot_msr` — the figures.

"No true savings" means the arrangement's efficiency effect is forced to 0
(``dataclasses.replace(arrangement, efficiency=Efficiency(0.0))``): member
costs are drawn from the population exactly as priced, so whatever settles,
settles by chance.  Without ``scenario_risk`` (the default) the only
variation is between members, which diversifies: the probability of a chance
payment falls towards 0 as the panel grows, roughly as the normal tail
P(Z > MSR √n / CV) with CV the coefficient of variation of one member's
annual cost.  With systematic risk (a :class:`vbcsim.ScenarioRisk`, e.g.
:data:`vbcsim.partnerships.DEFAULT_SCENARIO_RISK`) it falls only to the
probability that the year's common cost multiplier alone clears the MSR.

Two methods
-----------
``method="simulate"`` runs :func:`vbcsim.simulate` for each panel size (the
same seed at every size: common scenario-level draws) and counts scenarios;
it handles any arrangement.  Its estimates carry binomial noise, standard
error sqrt(p (1 − p) / n_scenarios).

``method="exact"`` reads the probabilities off the exact distribution of the
panel's annual cost (:func:`vbcsim.exact.aggregate_population`, by FFT): a
:class:`~vbcsim.contracts.SharedSavings` contract with benchmark B, MSR m and
MLR l pays when the actual cost A ≤ B (1 − m) and recoups when
A ≥ B (1 + l).  It covers the arrangement's ``SharedSavings`` and
``PooledSavings`` contracts (other contracts are left out of its result and
listed in the ``left_out`` attribute) with

- a quality gate: the score is independent of cost, so the payment
  probability is multiplied by P(quality ≥ gate) under the Beta quality
  distribution — exact;
- systematic risk: A = M × C with M the scenario multiplier, so
  P(A ≤ x) = E[P(C ≤ x / M)], integrated over the lognormal trend (a fine
  normal-density grid, 20 standard deviations wide, fine enough to resolve
  the panel's own spread) and the shock — exact to quadrature error
  (below 1e-6 here);
- no outlier truncation: a contract with ``outlier_attachment`` settles on
  Σ min(X, a), whose distribution the FFT oracle does not compute, so it is
  rejected with a ``ValueError`` (use ``method="simulate"``).

The exact method is deterministic and, apart from the rounding of segment
sizes by :func:`vbcsim.partnerships.resize`, monotone in panel size; it takes
0.1 to 1.5 s a size.  :func:`minimum_panel_size` and :func:`msr_for_confidence`
use it by default (``method="auto"``) wherever it applies.

The arrangement
---------------
``arrangement`` says what contract is tested, and how its benchmark follows
the panel's size:

- ``None`` (default): a plain one-sided :class:`~vbcsim.contracts.SharedSavings`
  contract (50% sharing rate — the rate does not change *whether* it pays)
  whose benchmark is the panel's exact expected cost per member per month
  (with the mean of any systematic multiplier; truncated at
  ``outlier_attachment`` when given), and whose MSR is
  ``minimum_savings_rate`` or, when that is None, the MSSP table
  (:func:`~vbcsim.contracts.mssp_minimum_savings_rate`) at each panel size,
  which starts at 5,000 members;
- an :class:`vbcsim.Arrangement` (or a contract or a list of contracts): the
  same contracts at every size.  Benchmarks are per member per month, so they
  scale with the panel automatically; the MSR stays fixed; an arrangement's
  ``pool`` segments (other practices) keep their size;
- a partnership model: a key of :func:`vbcsim.partnership_models`
  (``"custom_contract"``, ``"value_program"``, ``"third_party"``,
  ``"risk_network"``, ``"joint_venture"``; the readable names and ``"1"``-``"5"``
  too) or a :class:`~vbcsim.partnerships.PartnershipModel` instance: the model
  is rebuilt for each resized panel — benchmark, size-based MSR and pool
  follow the panel — with ``model_overrides`` (a dict of the model's
  parameters) applied and its efficiency set to 0, so terms priced on the
  expected efficiency (the joint venture's premium) are priced on none;
- a callable ``size -> Arrangement``: full control.

Whatever is given, the efficiency effect is then forced to 0.

Examples
--------
>>> import vbcsim
>>> from vbcsim import credibility
>>> curve = credibility.chance_settlement(minimum_savings_rate=0.02, sizes=[5_000, 20_000], method="exact")
>>> curve.prob_payment.sel(contract="shared_savings").values.round(2).tolist()
[0.33, 0.18]
"""

# METHODS and EVENTS are not in __all__ but were names of the module before it became a package
from vbcsim.analysis.credibility._panel import DEFAULT_SIZES, EVENTS, METHODS  # noqa: F401
from vbcsim.analysis.credibility.chance import chance_settlement
from vbcsim.analysis.credibility.figures import plot, plot_msr
from vbcsim.analysis.credibility.msr import msr_for_confidence
from vbcsim.analysis.credibility.panel_size import minimum_panel_size

__all__ = [
    "DEFAULT_SIZES",
    "chance_settlement",
    "minimum_panel_size",
    "msr_for_confidence",
    "plot",
    "plot_msr",
]
