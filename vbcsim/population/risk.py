"""Risk scores and selection: what a benchmark or a capitation is adjusted by, and who is in the panel.

Both build on the member state of multi-year runs (:mod:`vbcsim.engine._years`): each member has a
severity latent ``b`` (standard normal, AR(1) across years with correlation ρ) whose quantile is its
cost when it has any.

**Risk scores** (:class:`RiskScore`).  A risk model sees a noisy signal of a member's latent risk,
``z = λ b_ref + √(1 − λ²) η``, where ``b_ref`` is last year's latent for a prospective model and
this year's for a concurrent one and η is the member's own standard normal noise, drawn when it
joins and kept while it stays (a condition coded or missed stays so), and scores the member by
the expected cost given the signal relative to the population mean:

    s = E[X | z] / E[X] = h_c(z),   c = λ ρ (prospective) or λ (concurrent),

with ``b | z ~ N(c z, 1 − c²)``.  The score is calibrated by construction: its mean over the
reference population is exactly 1 (the normalisation CMS applies with its normalisation factor),
and its R² on annual cost, ``Var(E[X | z]) / Var(X)``, is the statistic an actuary knows — about
0.12 for the prospective CMS-HCC model (RTI International, Pope et al., "Evaluation of the
CMS-HCC Risk Adjustment Model", Final Report, March 2011: the model leaves about 88–90% of the
variation of annual cost unexplained) and about 0.5 for concurrent models (Chen, Ellis, Toro &
Ash, "Medicare Risk Adjustment Models: DxCG vs. CMS-HCC").  :meth:`RiskScore.coefficient` finds
the c that gives the R².  A lognormal severity scores ``exp(σ c z − σ² c² / 2)`` exactly; other
families by a table of h_c on the engine's grid of z (Gauss–Hermite integration).  The score
reads the severity latent only: whether a member has any cost in a year (the hurdle) is not
predicted, which caps the R² a score can reach (:meth:`RiskScore.max_r_squared`).  A new member
without history (joined by churn) has a prospective score of 1, the demographic score of a new
enrollee.

**Selection** (:class:`Selection`).  The provider's panel is the population reweighted by the
probability that a member joins, stays or is attributed, which depends on what can be known
of its risk before the year, its latent of the year before ``b₋``:
``w = exp(−κ b₋ − κ²/2)`` (a tilt: κ > 0 favourable, κ < 0 adverse) or, for active
cherry-picking, ``w = 1[b₋ ≤ q] / Φ(q)`` (members in the top ``exclude_top`` share of last
year's latent risk are avoided).  E[w] = 1, so the panel keeps the population's size on
average, and its expected cost relative to the population's, through this year's latent
``b = ρ b₋ + √(1 − ρ²) ε``, is the strength statistic ``relative_cost``: a provider cannot
select on this year's surprises, and without persistence (ρ = 0) it cannot select at all.
Every year the engine accumulates both the panel's (weighted) and the population's
(unweighted) sums from the same draws, which is what makes the decomposition of a provider's
savings into efficiency, selection, coding and chance exact (:mod:`vbcsim.contracts.decompose`).
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from vbcsim.population.distributions import Compound, Hurdle, Lognormal
from vbcsim.population.persistence import default_latent_correlation

__all__ = [
    "RiskScore",
    "Selection",
    "score_table",
    "reference_scores",
    "selection_weights",
    "PROSPECTIVE_R_SQUARED",
    "CONCURRENT_R_SQUARED",
]

#: R² of a prospective risk model on annual cost: the CMS-HCC model explains about 12% of the
#: variation (RTI International, Pope et al., "Evaluation of the CMS-HCC Risk Adjustment Model",
#: Final Report for CMS, March 2011)
PROSPECTIVE_R_SQUARED = 0.12
#: R² of a concurrent risk model (diagnoses of the same year): about 0.5 (Chen, Ellis, Toro & Ash,
#: "Medicare Risk Adjustment Models: DxCG vs. CMS-HCC", Verisk Health / Boston University)
CONCURRENT_R_SQUARED = 0.5

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(96)  # ∫ f(x) φ(x) dx ≈ Σ w f(x) / √(2π)
_GH_WEIGHTS = _GH_WEIGHTS / math.sqrt(2.0 * math.pi)


def _real(name, value, owner) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{owner}: {name} must be a finite number, got {value!r}")
    return float(value)


def _split(cost):
    """(p_nonzero, severity) of a member cost distribution."""
    if isinstance(cost, Hurdle):
        return cost.p_nonzero, cost.severity
    return 1.0, cost


def _severity_quantile(sev, b):
    """The severity's cost at latent b (a compound's expected cost given its count's latent)."""
    u = np.clip(special.ndtr(b), 1e-300, np.nextafter(1.0, 0.0))
    if isinstance(sev, Lognormal):
        return np.exp(sev.mu + sev.sigma * np.asarray(b))
    if isinstance(sev, Compound):
        return np.asarray(sev.frequency.ppf(u), dtype=float) * sev.severity.mean()
    return np.asarray(sev.ppf(u), dtype=float)


@functools.lru_cache(maxsize=256)
def _h_moments(sev, c: float) -> tuple[float, float]:
    """(E[sev], E[h_c(z)²]) by Gauss–Hermite over z and b | z."""
    mean = float(np.sum(_GH_WEIGHTS * _severity_quantile(sev, _GH_NODES)))
    h = _h(sev, c, _GH_NODES, mean)
    return mean, float(np.sum(_GH_WEIGHTS * h * h))


def _h(sev, c: float, z, mean: float | None = None) -> np.ndarray:
    """h_c(z) = E[sev(b) | z] / E[sev], b | z ~ N(c z, 1 − c²)."""
    z = np.asarray(z, dtype=float)
    if isinstance(sev, Lognormal):
        s = sev.sigma
        return np.exp(s * c * z - 0.5 * s * s * c * c)
    if mean is None:
        mean = float(np.sum(_GH_WEIGHTS * _severity_quantile(sev, _GH_NODES)))
    sd = math.sqrt(max(1.0 - c * c, 0.0))
    b = c * z[..., None] + sd * _GH_NODES
    return np.sum(_GH_WEIGHTS * _severity_quantile(sev, b), axis=-1) / mean


def score_table(cost, c: float, z0: float, dz: float, points: int) -> np.ndarray:
    """h_c on the grid z0 + dz·k (the engine's table for non-lognormal severities)."""
    _, sev = _split(cost)
    return _h(sev, float(c), z0 + dz * np.arange(points))


@dataclass(frozen=True)
class RiskScore:
    """A risk-adjustment model: each member's yearly score, a calibrated noisy signal of its risk.

    Parameters
    ----------
    r_squared : float, optional
        the R² of the score on annual cost, in (0, 1) (default 0.12, the prospective
        CMS-HCC model; about 0.5 for a concurrent model: :meth:`concurrent`).  Refused when
        the segment's cost cannot reach it (:meth:`max_r_squared`).
    signal : float, optional
        instead of ``r_squared``: the signal's accuracy λ in [0, 1] directly (1: the
        score is the member's expected cost given its latent risk, a perfect risk model).
    prospective : bool
        score from last year's latent risk (default True, as CMS-HCC, MSSP and REACH
        standard ACOs) or this year's (False: a concurrent model).
    coding_intensity : float
        the yearly drift by which the provider's coding raises its panel's scores, in
        [0, 1) (default 0): performance year t's scores are × (1 + coding_intensity)^t.
    reference_coding : float
        the yearly coding drift of the reference population that the normalisation
        divides out, in [0, 1) (default 0): the normalised score is × ((1 + coding) /
        (1 + reference_coding))^t, so a provider coding like the market gains nothing.
        ACO REACH's normalisation factor grew about 0.9% a year from 2020 to 2023 (Milliman,
        "Interactions between the CIF and the +/- 3% risk score floor and ceiling in ACO
        REACH").

    See the module docstring for the model.

    Examples
    --------
    >>> import vbcsim
    >>> rs = vbcsim.RiskScore()
    >>> rs.r_squared, rs.prospective
    (0.12, True)
    >>> vbcsim.RiskScore(signal=1.0, prospective=False).coefficient(vbcsim.Lognormal(7, 1), 0.7)
    1.0
    """

    r_squared: float | None = None
    prospective: bool = True
    coding_intensity: float = 0.0
    reference_coding: float = 0.0
    signal: float | None = None

    def __post_init__(self):
        owner = "RiskScore"
        if self.r_squared is not None and self.signal is not None:
            raise ValueError(f"{owner}: give r_squared or signal, not both")
        if self.signal is not None:
            lam = _real("signal", self.signal, owner)
            if not 0.0 <= lam <= 1.0:
                raise ValueError(f"{owner}: signal must be in [0, 1], got {lam!r}")
            object.__setattr__(self, "signal", lam)
        else:
            r2 = _real(
                "r_squared", PROSPECTIVE_R_SQUARED if self.r_squared is None else self.r_squared, owner
            )
            if not 0.0 < r2 < 1.0:
                raise ValueError(f"{owner}: r_squared must be in (0, 1), got {r2!r}")
            object.__setattr__(self, "r_squared", r2)
        if not isinstance(self.prospective, bool):
            raise TypeError(f"{owner}: prospective must be True or False, got {self.prospective!r}")
        for name in ("coding_intensity", "reference_coding"):
            v = _real(name, getattr(self, name), owner)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{owner}: {name} must be in [0, 1) (a drift per year), got {v!r}")
            object.__setattr__(self, name, v)

    @classmethod
    def concurrent(cls, r_squared: float = CONCURRENT_R_SQUARED, **terms) -> RiskScore:
        """A concurrent model (scores from the same year's diagnoses), R² 0.5 by default."""
        return cls(r_squared, prospective=False, **terms)

    def coding_factor(self, year) -> np.ndarray:
        """The normalised coding factor of performance year ``year`` (1 in year 0)."""
        ratio = (1.0 + self.coding_intensity) / (1.0 + self.reference_coding)
        return ratio ** np.asarray(year, dtype=float)

    @staticmethod
    def _r_squared(cost, c: float) -> float:
        p, sev = _split(cost)
        mean, h2 = _h_moments(sev, float(c))
        var_x = float(cost.var())
        return p * p * mean * mean * (h2 - 1.0) / var_x if var_x > 0 else 0.0

    def max_r_squared(self, cost, rho: float) -> float:
        """The largest R² a score of this kind reaches for ``cost`` (signal λ = 1)."""
        return self._r_squared(cost, rho if self.prospective else 1.0)

    def coefficient(self, cost, rho: float) -> float:
        """c = λ ρ (prospective) or λ (concurrent) with which the score's R² is ``r_squared``."""
        top = rho if self.prospective else 1.0
        if self.signal is not None:
            return self.signal * top
        best = self._r_squared(cost, top)
        if self.r_squared > best * (1.0 + 1e-9):
            kind = "prospective" if self.prospective else "concurrent"
            raise ValueError(
                f"RiskScore: r_squared={self.r_squared!r} is out of reach of a {kind} score on {cost!r}: at most "
                f"{best:.4f} (a perfect signal; a score predicts only the size of a member's cost, not whether "
                "it has any" + (", and only through last year's risk" if self.prospective else "") + ")"
            )
        if self.r_squared >= best:
            return top
        return float(
            optimize.brentq(lambda c: self._r_squared(cost, c) - self.r_squared, 0.0, top, xtol=1e-12)
        )


def reference_scores(cost, c: float, z) -> np.ndarray:
    """The numpy reference of the engine's score of a member with signal ``z``: h_c(z)."""
    _, sev = _split(cost)
    return _h(sev, float(c), z)


@dataclass(frozen=True)
class Selection:
    """Who is in the provider's panel: the population reweighted by its latent risk.

    Give exactly one:

    relative_cost : float
        the panel's expected cost relative to the population's, in (0, 10], ≠ 1: below 1
        favourable selection (healthier members join and stay), above 1 adverse; the
        members' weights are ``exp(−κ b − κ²/2)`` with κ solved for it.
    exclude_top : float
        active cherry-picking, in (0, 1): the members in the top ``exclude_top`` share of
        latent risk are kept out of the panel (weight 0), the others weighted
        1 / (1 − exclude_top).

    Examples
    --------
    >>> import vbcsim
    >>> vbcsim.Selection(relative_cost=0.9).kind
    'tilt'
    """

    relative_cost: float | None = None
    exclude_top: float | None = None

    def __post_init__(self):
        owner = "Selection"
        given = [n for n in ("relative_cost", "exclude_top") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                f"{owner}: give exactly one of relative_cost and exclude_top, got {given or 'neither'}"
            )
        if self.relative_cost is not None:
            r = _real("relative_cost", self.relative_cost, owner)
            if not 0.0 < r <= 10.0 or r == 1.0:
                raise ValueError(f"{owner}: relative_cost must be in (0, 10] and not 1, got {r!r}")
            object.__setattr__(self, "relative_cost", r)
        else:
            x = _real("exclude_top", self.exclude_top, owner)
            if not 0.0 < x < 1.0:
                raise ValueError(f"{owner}: exclude_top must be in (0, 1), got {x!r}")
            object.__setattr__(self, "exclude_top", x)

    @property
    def kind(self) -> str:
        return "tilt" if self.relative_cost is not None else "exclude_top"

    def parameter(self, cost, rho: float | None = None) -> float:
        """κ of the tilt, or the latent threshold q of cherry-picking, for ``cost`` and persistence ρ
        (None: the default persistence's, :func:`~vbcsim.population.persistence.default_latent_correlation`)."""
        if self.kind == "exclude_top":
            return float(special.ndtri(1.0 - self.exclude_top))
        rho = default_latent_correlation(cost) if rho is None else rho
        return _tilt(cost, self.relative_cost, float(rho))

    def expected_relative_cost(self, cost, rho: float | None = None) -> float:
        """E[w X] / E[X] of the panel for ``cost`` (the ``relative_cost`` of a tilt, by construction);
        ρ as for :meth:`parameter`."""
        if self.kind == "tilt":
            return self.relative_cost
        rho = default_latent_correlation(cost) if rho is None else rho
        _, sev = _split(cost)
        q = self.parameter(cost, rho)
        if isinstance(sev, Lognormal):  # E[exp(σ b); b₋ ≤ q] = exp(σ²/2) Φ(q − σ ρ)
            return float(special.ndtr(q - sev.sigma * rho) / special.ndtr(q))
        from scipy import integrate

        mean = float(np.sum(_GH_WEIGHTS * _severity_quantile(sev, _GH_NODES)))

        def below(b):  # E[sev(b) | b₋] φ(b₋) / E[sev]
            return float(_h(sev, float(rho), np.array([b]), mean)[0]) * math.exp(-0.5 * b * b)

        part = integrate.quad(below, -np.inf, q, limit=200)[0] / math.sqrt(2.0 * math.pi)
        return float(part / special.ndtr(q))


@functools.lru_cache(maxsize=256)
def _tilt(cost, target: float, rho: float) -> float:
    if rho <= 0.0:
        raise ValueError(
            "Selection: a segment without persistence (latent correlation 0) cannot be selected on its "
            "members' history; give the segment a Persistence"
        )
    _, sev = _split(cost)
    if isinstance(sev, Lognormal):
        return -math.log(target) / (sev.sigma * rho)  # E[w exp(σ b)] / E[exp(σ b)] = exp(−κ σ ρ)
    g = _h(sev, rho, _GH_NODES)  # E[sev(b) | b₋] / E[sev] at the nodes b₋

    def ratio(k):
        w = np.exp(-k * _GH_NODES - 0.5 * k * k)
        return float(np.sum(_GH_WEIGHTS * w * g)) - target

    lo, hi = (0.0, 12.0) if target < 1.0 else (-12.0, 0.0)
    try:
        return float(optimize.brentq(ratio, lo, hi, xtol=1e-12))
    except ValueError:
        raise ValueError(
            f"Selection: relative_cost={target!r} is out of reach for {cost!r} at persistence {rho:.3f}"
        ) from None


def selection_weights(selection: Selection, cost, b, rho: float | None = None) -> np.ndarray:
    """The numpy reference of the engine's panel weight of members whose latent of the year before is ``b``."""
    b = np.asarray(b, dtype=float)
    k = selection.parameter(cost, rho)
    if selection.kind == "tilt":
        return np.exp(-k * b - 0.5 * k * k)
    return np.where(b <= k, 1.0 / special.ndtr(k), 0.0)
