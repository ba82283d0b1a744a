"""Who is simulated: segments of members sharing a cost distribution."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vbcsim._validation import check_at_most, check_instances, check_positive_int
from vbcsim.population.distributions import Distribution, check_distribution

__all__ = ["Segment", "Population", "check_population", "MAX_MEMBERS"]

#: largest accepted ``Segment.members``: 2**53, the largest count a double holds exactly (expected
#: costs and PMPMs are computed in floating point) and far inside the engine's int64 counters
#: even summed over many segments.  How many members a run can actually simulate is bounded by
#: the work limit of :func:`vbcsim.simulate` (``vbcsim.results.plan.MAX_MEMBER_DRAWS``).
MAX_MEMBERS = 2**53


@dataclass(frozen=True)
class Segment:
    """``members`` members whose annual costs are independent draws from ``cost``.

    A segment is a rating cell (for example adults, children, members with a
    chronic condition) or, for bundled payments, a set of episodes.
    ``members`` is a positive integer (a whole float such as ``1e4`` passes)
    of at most ``MAX_MEMBERS`` (2**53).
    """

    name: str
    members: int
    cost: Distribution

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise TypeError(f"Segment: name must be a non-empty string, got {self.name!r}")
        owner = f"Segment {self.name!r}"
        members = check_positive_int("members", self.members, owner=owner)
        check_at_most("members", members, MAX_MEMBERS, owner=owner, why="2**53, see segments.MAX_MEMBERS")
        object.__setattr__(self, "members", members)
        check_distribution(f"Segment {self.name!r}: cost", self.cost)

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
