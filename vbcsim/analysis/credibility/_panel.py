"""The arguments the credibility analyses share, checked, and the panel and its no-savings arrangement at
each panel size."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping

from vbcsim._validation import check_nonnegative_int, check_positive, check_positive_int, check_probability
from vbcsim.contracts import PooledSavings, SharedSavings
from vbcsim.contracts.arrangement import Arrangement, Efficiency, Quality, as_arrangement
from vbcsim.contracts.shared_savings import MSSP_MINIMUM_BENEFICIARIES, mssp_minimum_savings_rate
from vbcsim.partnerships import _check_population
from vbcsim.population.scenario import check_scenario_risk
from vbcsim.population.segments import Population

#: Panel sizes of the default curve: from the MSSP's 5,000-beneficiary minimum
#: (42 CFR 425.110(a)(1)) to 100,000 members.
DEFAULT_SIZES = (5_000, 10_000, 20_000, 50_000, 100_000)

METHODS = ("simulate", "exact", "auto")
EVENTS = ("payment", "recoupment", "settlement")
_SHARING_RATE = 0.5  # of the default contract: irrelevant to whether it pays


# ----------------------------------------------------------------------------- input checks


def _sizes(sizes) -> list[int]:
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = [sizes]
    try:
        values = list(sizes)
    except TypeError:
        raise TypeError(
            f"sizes must be a sequence of positive integers, got {type(sizes).__name__}"
        ) from None
    if not values:
        raise ValueError("sizes must not be empty")
    out = []
    for s in values:
        if (
            isinstance(s, numbers.Real)
            and not isinstance(s, (bool, numbers.Integral))
            and float(s).is_integer()
        ):
            s = int(s)
        out.append(check_positive_int("sizes", s, strict=True))
    if len(set(out)) != len(out):
        raise ValueError(f"sizes must be distinct, got {values!r}")
    return sorted(out)


def _method(method, allowed=METHODS) -> str:
    if method not in allowed:
        raise ValueError(f"method must be one of {', '.join(map(repr, allowed))}, got {method!r}")
    return method


def _setup(population, arrangement, n_scenarios, seed, quality, **builder_options):
    """Checked run settings and the arrangement builder shared by the curve and the size search."""
    n_scenarios = check_positive_int("n_scenarios", n_scenarios, strict=True)
    seed = check_nonnegative_int("seed", seed, strict=True)
    _quality(quality)
    return n_scenarios, seed, _Builder(population, arrangement, **builder_options)


def _quality(quality) -> Quality:
    if quality is None:
        return Quality()
    if not isinstance(quality, Quality):
        raise TypeError(f"quality must be a vbcsim.Quality or None, got {type(quality).__name__}")
    return quality


def _open_probability(name: str, value) -> float:
    return check_probability(name, value, open_low=True, open_high=True)


# ----------------------------------------------------------------------------- the arrangement per size


class _Builder:
    """The panel and the no-savings arrangement at each panel size."""

    def __init__(
        self,
        population,
        arrangement,
        *,
        minimum_savings_rate,
        outlier_attachment,
        model_overrides,
        scenario_risk,
    ):
        from vbcsim.partnerships import PartnershipModel, _model_class

        self.population = _check_population(population)
        self.scenario_risk = check_scenario_risk(scenario_risk)
        self.default = arrangement is None
        self.kind = None
        if not self.default and (minimum_savings_rate is not None or outlier_attachment is not None):
            which = "minimum_savings_rate" if minimum_savings_rate is not None else "outlier_attachment"
            raise ValueError(
                f"{which} applies to the default contract only (arrangement=None); set it in the arrangement"
            )
        if model_overrides is not None and not (isinstance(arrangement, (str, PartnershipModel))):
            raise ValueError("model_overrides applies only when arrangement is a partnership model (a key)")
        self.msr = None
        if minimum_savings_rate is not None:
            self.msr = check_probability("minimum_savings_rate", minimum_savings_rate, open_high=True)
        self.outlier = None
        if outlier_attachment is not None:
            self.outlier = check_positive("outlier_attachment", outlier_attachment)
        if self.default:
            self.kind = "default"
        elif isinstance(arrangement, str):
            try:
                cls = _model_class(arrangement)
            except ValueError as exc:
                raise ValueError(f"arrangement: {exc}") from None
            params = dict(_overrides(model_overrides))
            params.update(efficiency=0.0, efficiency_sd=0.0)
            try:
                self.model = cls(**params)
            except TypeError as exc:
                raise ValueError(f"model_overrides: {exc}") from None
            self.kind = "model"
        elif isinstance(arrangement, PartnershipModel):
            model = arrangement
            if model_overrides:
                try:
                    model = dataclasses.replace(model, **_overrides(model_overrides))
                except TypeError as exc:
                    raise ValueError(f"model_overrides: {exc}") from None
            self.model = dataclasses.replace(model, efficiency=0.0, efficiency_sd=0.0)
            self.kind = "model"
        elif isinstance(arrangement, Arrangement):
            self.fixed = arrangement
            self.kind = "fixed"
        elif callable(arrangement):
            self.factory = arrangement
            self.kind = "callable"
        else:
            try:
                self.fixed = as_arrangement("arrangement", arrangement)
            except TypeError:
                raise TypeError(
                    "arrangement must be None, a vbcsim.Arrangement (or contracts), a partnership model key or "
                    f"PartnershipModel, or a callable size -> Arrangement; got {type(arrangement).__name__}"
                ) from None
            self.kind = "fixed"

    def check_size(self, size: int) -> None:
        if self.kind == "default" and self.msr is None and size < MSSP_MINIMUM_BENEFICIARIES:
            raise ValueError(
                f"sizes: the MSSP minimum savings rate table (42 CFR 425.604(b)) starts at "
                f"{MSSP_MINIMUM_BENEFICIARIES:,} members, got a panel of {size:,}; give minimum_savings_rate "
                "for smaller panels"
            )

    def panel(self, size: int) -> Population:
        from vbcsim.partnerships import resize

        return resize(self.population, size)

    def arrangement(self, size: int, panel: Population) -> Arrangement:
        from vbcsim.partnerships import expected_pmpm

        self.check_size(size)
        if self.kind == "default":
            msr = self.msr if self.msr is not None else mssp_minimum_savings_rate(size)
            benchmark = expected_pmpm(panel, self.scenario_risk, self.outlier)
            arr = Arrangement(
                [
                    SharedSavings(
                        benchmark,
                        sharing_rate=_SHARING_RATE,
                        minimum_savings_rate=msr,
                        outlier_attachment=self.outlier,
                    )
                ]
            )
        elif self.kind == "model":
            arr = self.model.arrangement(panel, self.scenario_risk)
        elif self.kind == "fixed":
            arr = self.fixed
        else:
            arr = self.factory(size)
            if not isinstance(arr, Arrangement):
                try:
                    arr = as_arrangement("arrangement", arr)
                except TypeError:
                    raise TypeError(
                        f"arrangement: the callable must return a vbcsim.Arrangement, got {type(arr).__name__} "
                        f"for size {size}"
                    ) from None
        return dataclasses.replace(arr, efficiency=Efficiency(0.0))


def _overrides(model_overrides) -> Mapping:
    if model_overrides is None:
        return {}
    if not isinstance(model_overrides, Mapping):
        raise TypeError(
            f"model_overrides must be a dict of model parameters, got {type(model_overrides).__name__}"
        )
    for key in ("efficiency", "efficiency_sd"):
        if key in model_overrides:
            raise ValueError(f"model_overrides: {key} is set to 0 here (no true savings); leave it out")
    return model_overrides


def _savings_contract(contract):
    """The SharedSavings inside a contract (itself, or a PooledSavings' pool contract), or None."""
    if isinstance(contract, SharedSavings):
        return contract
    if isinstance(contract, PooledSavings):
        return contract.savings
    return None
