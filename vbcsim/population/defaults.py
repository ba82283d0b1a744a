"""Built-in defaults: an illustrative commercial (employer-sponsored) population.

The population is a starting point for exploration, not a fact about any
book of business: replace it with your own segments for real work.

Calibration targets (all members together, 100,000 members):

- mean annual cost about $6,600 per member (about $550 PMPM) at allowed rates,
  in line with employer-sponsored insurance spending per person in recent years
  (Health Care Cost Institute, *Health Care Cost and Utilization Report*);
- about 15% of members with no cost in a year (AHRQ MEPS Statistical Brief
  #521, 2016: "about 15 percent ... had no health care expenditures");
- the top 1% of members account for about 22% of spending, the top 5% for about
  50% and the bottom 50% for under 3% (MEPS Statistical Brief #521, 2016:
  21.9% and 50.0%; Brief #556, 2021: 24% and under 3%).

Each segment is a hurdle (zero cost with probability 1 − p_nonzero) on a
lognormal body (σ = 1.7) spliced at $100,000 to a Pareto tail with α = 2.5,
the splice weight making the density continuous.  With these values the
mixture gives 15.6% zero-cost members, a top-1% share of 21.5%, a top-5% share
of 50.4% and a bottom-50% share of 2.7% (checked in ``tests/test_defaults.py``).
Age bands and their relative cost levels (children about half, ages 45-64 about
1.6 times the all-ages mean) follow the usual commercial age/cost curve.
"""

from __future__ import annotations

import math

from vbcsim.population.distributions import Hurdle, Lognormal, Pareto, Spliced
from vbcsim.population.segments import Population, Segment

__all__ = [
    "commercial_population",
    "provider_panel",
    "PROVIDER_PANEL_MEMBERS",
    "TAIL_THRESHOLD",
    "TAIL_ALPHA",
    "BODY_SIGMA",
]

TAIL_THRESHOLD = 100_000.0  # where the Pareto tail starts (annual cost per member)
TAIL_ALPHA = 2.5  # Pareto tail index of large claimants (finite variance)
BODY_SIGMA = 1.7  # lognormal shape of the body: sets the top-1% and top-5% shares

# name, members, p_nonzero, body mu (mean cost of the segment: $3,000, $5,500, $10,500)
_SEGMENTS = (
    ("children", 22_000, 0.85, 6.777),
    ("adults_18_44", 45_000, 0.80, 7.530),
    ("adults_45_64", 33_000, 0.90, 8.194),
)


#: the share of members who leave a year in runs over several years: 21.5% annual disenrollment
#: from employer group plans (Fang et al., "Trends in disenrollment and reenrollment within US
#: commercial health insurance plans, 2006-2018", JAMA Netw Open 2022;5(2):e220320); single-year
#: runs do not use it
ANNUAL_CHURN = 0.215


def _cost(p_nonzero: float, mu: float) -> Hurdle:
    return Hurdle(
        p_nonzero,
        Spliced(Lognormal(mu, BODY_SIGMA), Pareto(TAIL_ALPHA, TAIL_THRESHOLD), TAIL_THRESHOLD),
    )


def commercial_population(scale: float = 1.0) -> Population:
    """The built-in commercial population (100,000 members × ``scale``).

    ``scale`` is a positive finite number that leaves every segment at least one
    member (each segment's members are rounded): above about 2.3e-05 (half a
    member over the smallest segment's 22,000 members).
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if not math.isfinite(scale):
        raise ValueError(f"scale must be a finite positive number, got {scale!r}")
    name, smallest = min(((n, m) for n, m, _, _ in _SEGMENTS), key=lambda nm: nm[1])
    if round(smallest * scale) < 1:
        raise ValueError(
            f"scale {scale!r} leaves segment {name!r} ({smallest:,} members) with no member; "
            f"use a scale above {0.5 / smallest:.3g}"
        )
    return _scaled(scale)


def _scaled(scale: float) -> Population:
    """The built-in segments times ``scale``, each rounded to at least one member."""
    return Population(
        [
            Segment(name, max(1, round(members * scale)), _cost(p, mu), annual_churn=ANNUAL_CHURN)
            for name, members, p, mu in _SEGMENTS
        ]
    )


#: Members of the built-in provider panel.  A provider organisation entering commercial risk
#: typically brings a panel of thousands to tens of thousands of attributed members; 20,000 is
#: large enough to clear the Medicare Shared Savings Program's 5,000-beneficiary minimum
#: (42 CFR 425.110(a)(1)) several times over, and small enough that random variation in its
#: annual cost (a few percent of spend) is of the order of shared-savings corridors, which is
#: what makes the choice between the partnership models matter.
PROVIDER_PANEL_MEMBERS = 20_000


def provider_panel(members: int = PROVIDER_PANEL_MEMBERS) -> Population:
    """The built-in commercial population scaled to a provider's panel (20,000 members by default).

    Same segments, case mix and cost distributions as
    :func:`commercial_population`; the default population of
    :func:`vbcsim.compare`.
    """
    if isinstance(members, bool) or not isinstance(members, int) or members < 3:
        raise ValueError(f"members must be an integer of at least 3 (one per segment), got {members!r}")
    return _scaled(members / sum(m for _, m, _, _ in _SEGMENTS))
