"""Who is simulated: segments of members sharing a cost distribution."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vbcsim._validation import check_at_most, check_instances, check_positive_int, check_probability
from vbcsim.population.distributions import Distribution, check_distribution
from vbcsim.population.persistence import FALLBACK_LATENT_CORRELATION, Persistence, default_latent_correlation  # noqa: F401
from vbcsim.population.risk import Selection

__all__ = ["Segment", "Population", "check_population", "MAX_MEMBERS"]

#: largest accepted ``Segment.members``: 2**53, the largest count a double holds exactly (expected
#: costs and PMPMs are computed in floating point) and far inside the engine's int64 counters
#: even summed over many segments.  How many members a run can actually simulate is bounded by
#: the work limit of :func:`vbcsim.simulate` (``vbcsim.results.plan.MAX_MEMBER_DRAWS``).
MAX_MEMBERS = 2**53

_LATER = {"omit_default": True}  # fields added with multi-year runs: left out of descriptions at default


@dataclass(frozen=True)
class Segment:
    """``members`` members whose annual costs are independent draws from ``cost``.

    A segment is a rating cell (for example adults, children, members with a
    chronic condition) or, for bundled payments, a set of episodes.
    ``members`` is a positive integer (a whole float such as ``1e4`` passes)
    of at most ``MAX_MEMBERS`` (2**53).

    In runs over several years (``years=`` of :func:`vbcsim.simulate`) the
    members persist from year to year (docs/multi_year.md):

    - ``annual_churn``, in [0, 1): the share of members who leave at the end
      of each year, replaced by as many new members with fresh risk (the
      segment keeps its size; who leaves does not depend on risk).  Default
      0.  Commercial group plans lose about 21.5% of members a year (Fang et
      al., JAMA Netw Open 2022); over a third of Medicare ACO beneficiaries
      were not attributed to the same ACO two years running (McWilliams et
      al., JAMA Intern Med 2014;174:938).
    - ``persistence``: how strongly a member's cost persists
      (:class:`vbcsim.Persistence`); None (default): ``Persistence()``, the
      literature's share of the top decile that stays in it.
    - ``selection``: who of the segment is in the provider's panel
      (:class:`vbcsim.Selection`: favourable or adverse selection, cherry-picking);
      None (default): all of it.  The models settle on the panel; the cube
      keeps the whole segment's cost as ``reference_cost`` (docs/risk_adjustment.md).

    A single-year run uses neither churn nor persistence.
    """

    name: str
    members: int
    cost: Distribution
    annual_churn: float = field(default=0.0, metadata=_LATER)
    persistence: Persistence | None = field(default=None, metadata=_LATER)
    selection: Selection | None = field(default=None, metadata=_LATER)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise TypeError(f"Segment: name must be a non-empty string, got {self.name!r}")
        owner = f"Segment {self.name!r}"
        members = check_positive_int("members", self.members, owner=owner)
        check_at_most("members", members, MAX_MEMBERS, owner=owner, why="2**53, see segments.MAX_MEMBERS")
        object.__setattr__(self, "members", members)
        check_distribution(f"Segment {self.name!r}: cost", self.cost)
        churn = check_probability("annual_churn", self.annual_churn, owner=owner)
        if churn >= 1.0:
            raise ValueError(
                f"{owner}: annual_churn must be below 1 (a share of members leaving a year), got {churn!r}"
            )
        object.__setattr__(self, "annual_churn", churn)
        if self.selection is not None and not isinstance(self.selection, Selection):
            raise TypeError(
                f"{owner}: selection must be a vbcsim.Selection or None, got {type(self.selection).__name__}"
            )
        if self.persistence is not None and not isinstance(self.persistence, Persistence):
            raise TypeError(
                f"{owner}: persistence must be a vbcsim.Persistence or None, got {type(self.persistence).__name__}"
            )

    def latent_correlation(self) -> float:
        """The year-to-year correlation ρ of the members' latent risk (multi-year runs).

        A compound cost draws its claims' sizes afresh each year, so only its claim count
        persists and the default top-decile stay may be out of its reach: the default then
        takes ``FALLBACK_LATENT_CORRELATION`` (0.95), strong persistence of the claim count;
        an explicit ``persistence`` out of reach is a ValueError.
        """
        if self.persistence is not None:
            return self.persistence.latent_correlation(self.cost)
        return default_latent_correlation(self.cost)

    def expected_cost(self) -> float:
        """Exact expected annual cost of the segment (before systematic risk)."""
        return self.members * self.cost.mean()


def check_segments(segments, *, owner: str, name: str) -> tuple[Segment, ...]:
    """A tuple of Segment objects with unique names (TypeError/ValueError naming ``name``)."""
    segments = check_instances(
        name, segments, Segment, owner=owner, what="Segment", item="vbcsim.Segment objects"
    )
    names = [s.name for s in segments]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(
            f"{owner}: {'segment' if name == 'segments' else name + ' segment'} names must be unique, repeated: {dupes}"
        )
    return segments


@dataclass(frozen=True)
class Population:
    """An ordered collection of segments with unique names."""

    segments: tuple[Segment, ...]

    def __init__(self, segments: Iterable[Segment]):
        segments = check_segments(segments, owner="Population", name="segments")
        if not segments:
            raise ValueError("Population: segments must not be empty")
        object.__setattr__(self, "segments", segments)

    def __iter__(self):
        return iter(self.segments)

    def __len__(self):
        return len(self.segments)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.segments]

    @property
    def members(self) -> int:
        """Total members."""
        return sum(s.members for s in self.segments)

    def expected_cost(self) -> float:
        """Exact expected annual cost of the population (before systematic risk)."""
        return sum(s.expected_cost() for s in self.segments)


def check_population(population, default=None) -> Population:
    """A Population (a Segment becomes one); None gives ``default()`` when a default is offered."""
    if population is None and default is not None:
        return default()
    if isinstance(population, Segment):
        return Population([population])
    if not isinstance(population, Population):
        allowed = (
            "a vbcsim.Population, a Segment or None"
            if default is not None
            else "a vbcsim.Population or Segment"
        )
        raise TypeError(f"population must be {allowed}, got {type(population).__name__}")
    return population
