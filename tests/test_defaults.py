"""The built-in commercial population reproduces its documented calibration targets."""

import numpy as np
import pytest
from scipy import optimize

from vbcsim.population.defaults import commercial_population


def _mixture(pop):
    w = np.array([s.members for s in pop], dtype=float)
    w /= w.sum()
    dists = [s.cost for s in pop]
    mean = sum(wi * d.mean() for wi, d in zip(w, dists, strict=True))

    def cdf(x):
        return sum(wi * d.cdf(x) for wi, d in zip(w, dists, strict=True))

    def share_above(q):
        # share of spending by members costing more than the q-quantile of the mixture
        x = optimize.brentq(lambda t: cdf(t) - q, 1e-9, 1e8, xtol=1e-9)
        above = sum(
            wi * d.p_nonzero * (d.severity.mean() - d.severity.partial_moment(1, x))
            for wi, d in zip(w, dists, strict=True)
        )
        return above / mean

    return mean, cdf, share_above


def test_calibration_targets():
    pop = commercial_population()
    assert pop.members == 100_000
    mean, cdf, share_above = _mixture(pop)
    # documented in vbcsim/defaults.py (exact figures, computed in closed form)
    assert mean / 12 == pytest.approx(550.0, rel=2e-3)
    assert 1 - cdf(0.0) == pytest.approx(0.844, abs=1e-3)  # 15.6% with no cost (MEPS: about 15%)
    assert share_above(0.99) == pytest.approx(0.215, abs=2e-3)  # MEPS 2016: 21.9%
    assert share_above(0.95) == pytest.approx(0.504, abs=2e-3)  # MEPS 2016: 50.0%
    assert 1 - share_above(0.50) == pytest.approx(0.027, abs=1e-3)  # MEPS: under 3%


def test_segment_means():
    means = {s.name: s.cost.mean() for s in commercial_population()}
    assert means["children"] == pytest.approx(3_000, rel=1e-3)
    assert means["adults_18_44"] == pytest.approx(5_500, rel=1e-3)
    assert means["adults_45_64"] == pytest.approx(10_500, rel=1e-3)


def test_scale():
    assert commercial_population(0.1).members == 10_000
    for bad in (0, -1, float("nan"), "a", None):
        with pytest.raises(ValueError, match="scale"):
            commercial_population(bad)
