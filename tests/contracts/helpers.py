"""Shared helpers of the contract tests: hand-made settlement contexts and a conservation check."""

import numpy as np

from vbcsim.contracts.base import PARTIES, SettlementContext


def make_ctx(
    segment_cost,
    members,
    *,
    segments=None,
    excess=None,
    premium=0.0,
    quality=None,
    expected_cost=1.0,
    expected_excess=None,
    claims_party="payer",
    delivery_ratio=0.85,
    aggregate_stop_loss=None,
):
    """A SettlementContext from small hand-made arrays (segments named a, b, c, ... by default)."""
    segment_cost = np.asarray(segment_cost, dtype=float)
    n_scen, n_seg = segment_cost.shape
    return SettlementContext(
        model="m",
        segments=tuple(segments or "abcdefgh"[:n_seg]),
        members=np.asarray(members, dtype=np.int64),
        segment_cost=segment_cost,
        excess_by_attachment={float(a): np.asarray(x, dtype=float) for a, x in (excess or {}).items()},
        premium=np.broadcast_to(np.asarray(premium, dtype=float), (n_scen,)).copy(),
        quality=None if quality is None else np.asarray(quality, dtype=float),
        expected_cost=expected_cost,
        expected_excess={float(a): float(x) for a, x in (expected_excess or {}).items()},
        claims_party=claims_party,
        delivery_ratio=delivery_ratio,
        aggregate_stop_loss=aggregate_stop_loss,
    )


def assert_conserved(st_):
    """A transfer's flows name known parties and sum to zero in every scenario."""
    assert set(st_.flows) <= set(PARTIES)
    total = sum(np.asarray(f, dtype=float) for f in st_.flows.values())
    np.testing.assert_array_equal(total, 0.0)


def check_transfer(st_, source, target, expected):
    """A transfer of ``expected`` from ``source`` to ``target``, and nothing else."""
    np.testing.assert_allclose(st_.amount, expected, rtol=1e-12, atol=1e-9)
    assert set(st_.flows) == {source, target}
    np.testing.assert_allclose(st_.flows[target], expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(st_.flows[source], -np.asarray(expected), rtol=1e-12, atol=1e-9)
    assert st_.external is None


#: Table 1 to 45 CFR 158.232 (base credibility factors by life-years), typed in again here as an
#: independent reference for the MLR tests
CREDIBILITY_TABLE = [
    (1_000, 0.083),
    (2_500, 0.052),
    (5_000, 0.037),
    (10_000, 0.026),
    (25_000, 0.016),
    (50_000, 0.012),
    (75_000, 0.0),
]


def reference_credibility(life_years):
    """The credibility adjustment by hand: None when non-credible, 0 when fully credible, else interpolated."""
    if life_years < 1_000:
        return None
    if life_years >= 75_000:
        return 0.0
    for (x0, y0), (x1, y1) in zip(CREDIBILITY_TABLE, CREDIBILITY_TABLE[1:], strict=False):
        if x0 <= life_years <= x1:
            return y0 + (y1 - y0) * (life_years - x0) / (x1 - x0)
    raise AssertionError(life_years)
