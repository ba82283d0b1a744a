"""The five commercial payer-provider partnership models, as overridable presets.

Payer-provider partnerships in commercial risk come in five broad forms
(Advisory Board, "Deep dive: 5 partnership models in commercial risk", one of
the project's seed articles):

1. **custom risk-based contract** — a bilateral contract negotiated between
   one payer and one provider: fee for service plus two-sided shared savings
   and losses against a negotiated benchmark;
2. **payer-branded value program** — the payer's standard programme, open to
   many practices on the same terms: fee for service, a pay-for-performance
   quality bonus and upside-only shared savings;
3. **third party-mediated relationship** — an enabler takes two-sided risk
   from the payer on a pool of practices, charges a fee, passes part of the
   savings on to the practices and absorbs their part of any loss;
4. **risk-bearing network collaboration** — a provider network takes a
   percent-of-premium global capitation, pays all claims and buys specific
   stop-loss;
5. **joint venture insurance product** — payer and provider co-own an
   insurer; its underwriting result is split by equity, under the MLR rebate
   floor.

Each model here is a parameter dataclass (:class:`CustomContract`,
:class:`ValueProgram`, :class:`ThirdParty`, :class:`RiskNetwork`,
:class:`JointVenture`) whose :meth:`~PartnershipModel.arrangement` builds the
:class:`vbcsim.Arrangement` for a population.  The defaults are starting points
chosen to be plausible for a commercial (employer-sponsored) panel, each
documented with its reasoning; they are not facts about any market, and every
one can be overridden::

    models = vbcsim.partnership_models(custom_contract={"sharing_rate": 0.6},
                                       risk_network={"percent_of_premium": 0.84})

Economic conventions shared by all five (see ``ARCHITECTURE.md``):

- premium: the exact expected medical cost of the panel (with the mean of the
  systematic multiplier) over a target loss ratio of 85%, the large-group MLR
  minimum (45 CFR 158.210(a)) at which commercial plans typically price;
- administrative cost: 10% of premium, borne by the payer (commercial
  insurers' administrative expense typically runs at 10-12% of premium; the
  85% MLR floor leaves at most 15% for administration and margin);
- the provider's cost of delivering care: 85% of allowed cost, so fee for
  service leaves it a 15% margin on volume (``delivery_ratio``);
- each model carries an *efficiency effect*: the proportional reduction in
  medical cost its care model achieves, uncertain from year to year (drawn
  from a Beta distribution with the given mean and sd), and the cost of the
  care management that produces it.  Stronger incentives and more
  infrastructure are assumed to buy more efficiency, at a higher cost; the
  figures (2-6% of cost, $2-8 PMPM) are in the range that commercial ACO and
  capitation evaluations report, and are the first thing to replace with
  local evidence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import xarray as xr

from vbcsim._validation import (
    check_nonnegative,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_probability,
    check_real,
)
from vbcsim.contracts import (
    Capitation,
    FeeForService,
    ManagementFee,
    PayForPerformance,
    PooledSavings,
    SavingsPassThrough,
    SharedSavings,
    SpecificStopLoss,
    mssp_minimum_savings_rate,
)
from vbcsim.contracts import JointVenture as JointVentureContract
from vbcsim.contracts.arrangement import Arrangement, Efficiency
from vbcsim.population.scenario import ScenarioRisk, check_scenario_risk
from vbcsim.population.segments import Population, Segment

__all__ = [
    "MODEL_KEYS",
    "MODEL_NAMES",
    "DEFAULT_SCENARIO_RISK",
    "PartnershipModel",
    "CustomContract",
    "ValueProgram",
    "ThirdParty",
    "RiskNetwork",
    "JointVenture",
    "partnership_models",
    "compare",
    "settlement_curve",
    "resize",
]

#: Systematic risk of the comparison: trend uncertainty with a 2% coefficient of variation
#: (the usual gap between priced and emerging commercial trend is a few percent) and a shock
#: year (a pandemic-like surge or a new high-cost therapy class) with probability 5% that
#: raises all costs by 8%.  Illustrative: systematic risk does not diversify with panel size,
#: so it is what a large risk-bearing party mostly carries.
DEFAULT_SCENARIO_RISK = ScenarioRisk(trend_cv=0.02, shock_probability=0.05, shock_size=0.08)

_DEFAULT = object()


@dataclass(frozen=True)
class PartnershipModel:
    """What every partnership model has: premium, cost and efficiency assumptions.

    Parameters
    ----------
    efficiency : float
        expected proportional reduction in medical cost from the model's care
        management (drawn per year from a Beta distribution).
    efficiency_sd : float
        its year-to-year standard deviation (0 for a fixed effect).
    care_management_pmpm : float
        the cost of the care management that produces the efficiency, per
        member per month.
    admin_ratio : float
        the payer's (or the insurer's) administrative cost as a share of
        premium.
    target_loss_ratio : float
        expected claims over premium used to price the premium.
    delivery_ratio : float
        the provider's cost of delivering care per dollar of allowed cost.
    premium_pmpm : float, optional
        an explicit premium per member per month instead of the priced one.
    """

    key = ""
    title = ""
    care_management_party = "provider"

    efficiency: float = 0.0
    efficiency_sd: float = 0.0
    care_management_pmpm: float = 0.0
    admin_ratio: float = 0.10
    target_loss_ratio: float = 0.85
    delivery_ratio: float = 0.85
    premium_pmpm: float | None = None

    def __post_init__(self):
        owner = type(self).__name__
        for f in dataclasses.fields(self):
            name, value = f.name, getattr(self, f.name)
            if value is None and "None" in str(f.type):  # an optional term, None: not applied
                continue
            if isinstance(f.default, bool):
                if not isinstance(value, bool):
                    raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
            elif isinstance(f.default, int):
                value = check_nonnegative_int(name, value, owner=owner, strict=True)
            elif name == "efficiency":
                value = check_real(name, value, owner=owner)
            elif name in _PROBABILITIES:
                value = check_probability(name, value, owner=owner)
            elif name == "premium_pmpm" or name in _POSITIVE:
                value = check_positive(name, value, owner=owner)
            else:
                value = check_nonnegative(name, value, owner=owner)
            object.__setattr__(self, name, value)
        try:
            Efficiency(self.efficiency, self.efficiency_sd)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{owner}: efficiency={self.efficiency!r}, efficiency_sd={self.efficiency_sd!r}: {exc}"
            ) from None
        if self.target_loss_ratio == 0:
            raise ValueError(f"{owner}: target_loss_ratio must be positive")
        self._check_terms()

    def _check_terms(self) -> None:
        """Model-specific checks of the contract terms (a subclass hook)."""

    # -- building the arrangement ----------------------------------------------------------------

    def premium(self, population: Population, scenario_risk: ScenarioRisk | None) -> float:
        """Premium per member per month: ``premium_pmpm``, else expected cost / target loss ratio."""
        if self.premium_pmpm is not None:
            return self.premium_pmpm
        return expected_pmpm(population, scenario_risk) / self.target_loss_ratio

    def contracts(self, population: Population, scenario_risk: ScenarioRisk | None) -> list:
        raise NotImplementedError  # pragma: no cover - interface

    def pool(self, population: Population) -> tuple[Segment, ...]:
        return ()

    def arrangement(self, population: Population, scenario_risk: ScenarioRisk | None = None) -> Arrangement:
        """The model's :class:`vbcsim.Arrangement` for ``population`` (the provider's panel)."""
        premium = self.premium(population, scenario_risk)
        return Arrangement(
            contracts=self.contracts(population, scenario_risk),
            premium_pmpm=premium,
            target_loss_ratio=self.target_loss_ratio,
            admin_pmpm=self.admin_ratio * premium,
            care_management_pmpm=self.care_management_pmpm,
            efficiency=Efficiency(self.efficiency, self.efficiency_sd),
            delivery_ratio=self.delivery_ratio,
            care_management_party=self.care_management_party,
            pool=self.pool(population),
        )


#: terms that must be strictly positive (a zero would make a contract meaningless)
_POSITIVE = {"outlier_attachment", "benchmark_ratio", "stop_loss_attachment", "practice_size"}
_PROBABILITIES = {
    "admin_ratio",
    "target_loss_ratio",
    "sharing_rate",
    "loss_sharing_rate",
    "minimum_savings_rate",
    "minimum_loss_rate",
    "quality_gate",
    "coinsurance",
    "pass_through",
    "partner_equity",
    "minimum_loss_ratio",
    "percent_of_premium",
    "quality_low",
    "quality_high",
}


def expected_pmpm(
    population: Population, scenario_risk: ScenarioRisk | None = None, truncation: float | None = None
) -> float:
    """The exact expected medical cost per member per month, with the mean systematic multiplier.

    With ``truncation`` a, each member's cost counts up to a: E[min(X, a)] (times the mean
    multiplier, which ignores the small interaction between systematic risk and the cap).
    """
    trend = scenario_risk.mean() if scenario_risk is not None else 1.0
    if truncation is None:
        total = population.expected_cost()
    else:
        total = sum(s.members * s.cost.limited_mean(truncation) for s in population)
    return total * trend / population.members / 12.0


@dataclass(frozen=True)
class CustomContract(PartnershipModel):
    """Model 1, custom risk-based contract: fee for service plus two-sided shared savings and losses.

    A payer and a provider negotiate their own terms.  Defaults:

    - ``benchmark_ratio`` 1.0: the benchmark is the panel's expected cost
      (with trend; truncated at ``outlier_attachment`` per member like the
      actual cost it is compared with), so savings come only from
      efficiency and chance;
    - ``sharing_rate`` and ``loss_sharing_rate`` 50%: a symmetric split, the
      MSSP BASIC track's maximum sharing rate (42 CFR 425.605(d));
    - ``minimum_savings_rate``/``minimum_loss_rate`` 2%: the highest symmetric
      corridor an MSSP two-sided ACO may elect (42 CFR 425.605(b)), wide
      enough that a panel of tens of thousands rarely settles by chance;
    - ``savings_cap`` 10% (the BASIC performance payment limit) and
      ``loss_cap`` 5% of the benchmark: bilateral contracts cap the
      provider's downside at a few percent of spend;
    - ``quality_gate`` 0.6: nothing is shared in a year whose quality score
      falls below 60% (about 7% of years under the default Beta(8, 2));
    - ``outlier_attachment`` $200,000: each member's annual cost counts only
      up to $200k, a common catastrophic-claim truncation in commercial
      contracts (MSSP truncates at the 99th percentile of expenditure);
    - efficiency 4% ± 2% at $6 PMPM of care management paid by the provider.
    """

    key = "custom_contract"
    title = "custom risk-based contract"

    efficiency: float = 0.04
    efficiency_sd: float = 0.02
    care_management_pmpm: float = 6.0
    benchmark_ratio: float = 1.0
    sharing_rate: float = 0.5
    loss_sharing_rate: float = 0.5
    minimum_savings_rate: float = 0.02
    minimum_loss_rate: float = 0.02
    savings_cap: float | None = 0.10
    loss_cap: float | None = 0.05
    quality_gate: float | None = 0.6
    outlier_attachment: float | None = 200_000.0

    def contracts(self, population, scenario_risk):
        benchmark = self.benchmark_ratio * expected_pmpm(population, scenario_risk, self.outlier_attachment)
        return [
            FeeForService(),
            SharedSavings(
                benchmark,
                sharing_rate=self.sharing_rate,
                minimum_savings_rate=self.minimum_savings_rate,
                minimum_loss_rate=self.minimum_loss_rate,
                loss_sharing_rate=self.loss_sharing_rate,
                savings_cap=self.savings_cap,
                loss_cap=self.loss_cap,
                quality_gate=self.quality_gate,
                outlier_attachment=self.outlier_attachment,
            ),
        ]


@dataclass(frozen=True)
class ValueProgram(PartnershipModel):
    """Model 2, payer-branded value program: fee for service, a quality bonus, upside-only savings.

    The payer runs one programme on standard terms for many practices, so
    the terms protect the provider from downside and reward quality.
    Defaults:

    - ``bonus_pmpm`` $4: the full pay-for-performance bonus per member per
      month, paid pro rata between quality scores ``quality_low`` 0.5 and
      ``quality_high`` 0.9 (the usual shape of a tiered quality bonus);
    - ``sharing_rate`` 40% upside only: the MSSP BASIC track's one-sided
      level A/B rate (42 CFR 425.605(d)(1)(i)-(ii));
    - ``minimum_savings_rate`` None: the MSSP one-sided table by panel size
      (42 CFR 425.604(b): 3.9% at 5,000 members falling to 2% at 60,000; a
      panel below 5,000 gets 3.9%), since a standard programme cannot
      negotiate a corridor per practice;
    - ``savings_cap`` 10% of the benchmark (the one-sided MSSP limit);
    - efficiency 2% ± 1.5% at $2 PMPM: weaker incentives, lighter care
      management (largely the payer's own programmes).
    """

    key = "value_program"
    title = "payer-branded value program"

    efficiency: float = 0.02
    efficiency_sd: float = 0.015
    care_management_pmpm: float = 2.0
    benchmark_ratio: float = 1.0
    bonus_pmpm: float = 4.0
    quality_low: float = 0.5
    quality_high: float = 0.9
    sharing_rate: float = 0.4
    minimum_savings_rate: float | None = None
    savings_cap: float | None = 0.10

    def _check_terms(self):
        if self.minimum_savings_rate is not None:
            check_probability("minimum_savings_rate", self.minimum_savings_rate, owner="ValueProgram")
        if self.quality_high < self.quality_low:
            raise ValueError("ValueProgram: quality_high must be at least quality_low")

    def msr(self, population: Population) -> float:
        if self.minimum_savings_rate is not None:
            return self.minimum_savings_rate
        return mssp_minimum_savings_rate(max(population.members, 5_000))

    def contracts(self, population, scenario_risk):
        benchmark = self.benchmark_ratio * expected_pmpm(population, scenario_risk)
        return [
            FeeForService(),
            PayForPerformance(
                bonus_pmpm=self.bonus_pmpm, quality_low=self.quality_low, quality_high=self.quality_high
            ),
            SharedSavings(
                benchmark,
                sharing_rate=self.sharing_rate,
                minimum_savings_rate=self.msr(population),
                savings_cap=self.savings_cap,
            ),
        ]


@dataclass(frozen=True)
class ThirdParty(PartnershipModel):
    """Model 3, third party-mediated relationship: an enabler pools practices and takes their risk.

    An enabler signs one two-sided contract with the payer for a pool of
    practices (the provider's panel plus ``other_practices`` others, each
    ``practice_size`` times the panel's size, with the same case mix), runs
    the care model, charges the payer a fee, passes ``pass_through`` of the
    provider's member-weighted part of the pool's savings on to the provider
    and absorbs its part of any loss.  Defaults:

    - ``other_practices`` 4 of the same size: the pool is five times the
      panel, so the random variation of its cost per member is about
      1/√5 ≈ 45% of the panel's;
    - ``sharing_rate``/``loss_sharing_rate`` 60% with a 1% corridor and caps
      of 10% (savings) and 5% (losses): enablers take more risk than a
      practice would alone because the pool diversifies it;
    - ``fee_pmpm`` $3 from the payer to the enabler, and care management of
      $5 PMPM paid by the enabler;
    - ``pass_through`` 60% of the provider's part of savings goes to the
      provider; the enabler keeps the rest for its risk and investment;
    - efficiency 5% ± 2.5%: the enabler's analytics and care teams.
    """

    key = "third_party"
    title = "third party-mediated relationship"
    care_management_party = "enabler"

    efficiency: float = 0.05
    efficiency_sd: float = 0.025
    care_management_pmpm: float = 5.0
    benchmark_ratio: float = 1.0
    other_practices: int = 4
    practice_size: float = 1.0
    fee_pmpm: float = 3.0
    sharing_rate: float = 0.6
    loss_sharing_rate: float = 0.6
    minimum_savings_rate: float = 0.01
    minimum_loss_rate: float = 0.01
    savings_cap: float | None = 0.10
    loss_cap: float | None = 0.05
    pass_through: float = 0.6
    absorbs_losses: bool = True

    def _check_terms(self):
        check_positive("practice_size", self.practice_size, owner="ThirdParty")

    def pool(self, population):
        out = []
        for p in range(2, self.other_practices + 2):
            for s in population:
                members = max(1, round(s.members * self.practice_size))
                out.append(Segment(f"practice_{p}/{s.name}", members, s.cost))
        return tuple(out)

    def contracts(self, population, scenario_risk):
        benchmark = self.benchmark_ratio * expected_pmpm(population, scenario_risk)
        segments = tuple(population.names) + tuple(s.name for s in self.pool(population))
        pooled = PooledSavings(
            SharedSavings(
                benchmark,
                sharing_rate=self.sharing_rate,
                minimum_savings_rate=self.minimum_savings_rate,
                minimum_loss_rate=self.minimum_loss_rate,
                loss_sharing_rate=self.loss_sharing_rate,
                savings_cap=self.savings_cap,
                loss_cap=self.loss_cap,
                segments=segments,
                target="enabler",
            )
        )
        return [
            FeeForService(),
            ManagementFee(self.fee_pmpm, source="payer", target="enabler"),
            pooled,
            SavingsPassThrough(pooled, share=self.pass_through, absorbs_losses=self.absorbs_losses),
        ]


@dataclass(frozen=True)
class RiskNetwork(PartnershipModel):
    """Model 4, risk-bearing network collaboration: percent-of-premium global capitation plus stop-loss.

    The network receives a fixed share of premium, pays every claim (its own
    cost of care at ``delivery_ratio``) and buys specific stop-loss from a
    reinsurer.  Defaults:

    - ``percent_of_premium`` 85%: the payer keeps 15% for its administration
      (10%) and margin, the same expected margin it earns under fee for
      service at an 85% loss ratio;
    - ``stop_loss_attachment`` $200,000 per member with 10% coinsurance,
      priced at the exact expected recovery plus a 25% loading (the
      contract's default): provider-excess cover commonly attaches between
      $100k and $250k for a network of this size;
    - efficiency 6% ± 3% at $8 PMPM: full risk gives the strongest incentive
      and funds the most care management.
    """

    key = "risk_network"
    title = "risk-bearing network collaboration"

    efficiency: float = 0.06
    efficiency_sd: float = 0.03
    care_management_pmpm: float = 8.0
    percent_of_premium: float = 0.85
    stop_loss_attachment: float = 200_000.0
    coinsurance: float = 0.10
    stop_loss_loading: float = 0.25

    def _check_terms(self):
        check_positive("stop_loss_attachment", self.stop_loss_attachment, owner="RiskNetwork")
        if self.percent_of_premium == 0:
            raise ValueError("RiskNetwork: percent_of_premium must be positive")
        if self.coinsurance >= 1:
            raise ValueError("RiskNetwork: coinsurance must be below 1")

    def contracts(self, population, scenario_risk):
        return [
            Capitation(percent_of_premium=self.percent_of_premium, scope="global"),
            SpecificStopLoss(
                self.stop_loss_attachment,
                coinsurance=self.coinsurance,
                loading=self.stop_loss_loading,
                insured="provider",
            ),
        ]


@dataclass(frozen=True)
class JointVenture(PartnershipModel):
    """Model 5, joint venture insurance product: a co-owned insurer, result split by equity.

    Payer and provider launch a plan together: premium in, claims (fee for
    service to the provider) and admin out, the MLR rebate floor applied, and
    the underwriting result split by equity.  Defaults:

    - ``partner_equity`` 50%: 50/50 equity partnerships are common among
      partners that pursue ambitious clinical transformation (Oliver Wyman
      Health, summarised in the project's seed article "What Makes
      Payor-Provider Relationships Successful?");
    - ``minimum_loss_ratio`` 85%: the large-group MLR floor (45 CFR
      158.210(a)); the venture's product is its own book, so the floor binds
      on it directly (in models 1-4 the contract is a small part of the
      payer's book and the floor applies across that book);
    - ``admin_ratio`` 12%: a new plan runs at higher administrative cost than
      an established payer's 10% until it reaches scale;
    - ``price_efficiency`` True: the venture prices its premium on its
      expected cost after the efficiency it expects, to win members on price;
    - efficiency 5% ± 3% at $6 PMPM of care management paid by the venture
      (the payer party carries the plan's books).
    """

    key = "joint_venture"
    title = "joint venture insurance product"
    care_management_party = "payer"

    efficiency: float = 0.05
    efficiency_sd: float = 0.03
    care_management_pmpm: float = 6.0
    admin_ratio: float = 0.12
    partner_equity: float = 0.5
    minimum_loss_ratio: float | None = 0.85
    price_efficiency: bool = True

    def _check_terms(self):
        if self.minimum_loss_ratio is not None and self.minimum_loss_ratio == 0:
            raise ValueError("JointVenture: minimum_loss_ratio must be positive")

    def premium(self, population, scenario_risk):
        if self.premium_pmpm is not None:
            return self.premium_pmpm
        factor = 1.0 - self.efficiency if self.price_efficiency else 1.0
        return expected_pmpm(population, scenario_risk) * factor / self.target_loss_ratio

    def contracts(self, population, scenario_risk):
        return [
            FeeForService(),
            JointVentureContract(
                partner_equity=self.partner_equity, minimum_loss_ratio=self.minimum_loss_ratio
            ),
        ]


_CLASSES = (CustomContract, ValueProgram, ThirdParty, RiskNetwork, JointVenture)

#: Identifiers of the five models, in order 1-5 (the keys of ``partnership_models``' overrides).
MODEL_KEYS = tuple(c.key for c in _CLASSES)
#: Readable names of the five models (the ``model`` coordinate), by identifier.
MODEL_NAMES = {c.key: c.title for c in _CLASSES}


def _model_class(key):
    for number, cls in enumerate(_CLASSES, start=1):
        if key in (cls.key, cls.title, str(number)):
            return cls
    raise ValueError(
        f"unknown partnership model {key!r}; expected one of {', '.join(MODEL_KEYS)} "
        f"(or the readable names {', '.join(repr(c.title) for c in _CLASSES)})"
    )


def _build(cls, params) -> PartnershipModel:
    if isinstance(params, PartnershipModel):
        if not isinstance(params, cls):
            raise TypeError(f"{cls.key}: expected a {cls.__name__}, got {type(params).__name__}")
        return params
    if not isinstance(params, Mapping):
        raise TypeError(
            f"{cls.key}: overrides must be a dict of parameters or an Arrangement, got {type(params).__name__}"
        )
    known = [f.name for f in dataclasses.fields(cls)]
    for name in params:
        if name not in known:
            raise ValueError(f"{cls.key}: unknown parameter {name!r}; {cls.__name__} has {', '.join(known)}")
    return cls(**params)


def _check_population(population) -> Population:
    """The provider's panel: ``population``, or the built-in one for None."""
    from vbcsim.population.defaults import provider_panel
    from vbcsim.population.segments import check_population

    return check_population(population, default=provider_panel)


def partnership_models(population=None, scenario_risk=_DEFAULT, **overrides) -> dict[str, Arrangement]:
    """The five partnership models for a provider's panel, in order 1-5.

    Parameters
    ----------
    population : Population, optional
        the provider's panel (default :func:`vbcsim.defaults.provider_panel`,
        20,000 commercial members).  Benchmarks and premiums are priced on its
        exact expected cost.
    scenario_risk : ScenarioRisk or None
        systematic risk whose mean enters the priced benchmark and premium
        (default :data:`DEFAULT_SCENARIO_RISK`).
    **overrides
        keyed by model identifier (``custom_contract``, ``value_program``,
        ``third_party``, ``risk_network``, ``joint_venture``; the readable
        names and "1"-"5" are accepted too): a dict of that model's
        parameters (the fields of :class:`CustomContract`,
        :class:`ValueProgram`, :class:`ThirdParty`, :class:`RiskNetwork`,
        :class:`JointVenture`), an instance of that class, or an
        :class:`vbcsim.Arrangement` that replaces the model.

    Returns
    -------
    dict
        readable model name -> :class:`vbcsim.Arrangement`, in order 1-5.

    Examples
    --------
    >>> models = partnership_models(custom_contract={"sharing_rate": 0.6})
    >>> list(models)[0]
    'custom risk-based contract'
    """
    population = _check_population(population)
    if scenario_risk is _DEFAULT:
        scenario_risk = DEFAULT_SCENARIO_RISK
    check_scenario_risk(scenario_risk)
    chosen = {}
    for key, params in overrides.items():
        cls = _model_class(key)
        if cls.key in chosen:
            raise ValueError(f"model {cls.key!r} is overridden twice (as {key!r})")
        chosen[cls.key] = params
    out = {}
    for cls in _CLASSES:
        params = chosen.get(cls.key, {})
        if isinstance(params, Arrangement):
            out[cls.title] = params
            continue
        try:
            model = _build(cls, params)
            out[cls.title] = model.arrangement(population, scenario_risk)
        except (TypeError, ValueError) as exc:
            msg = str(exc)
            prefix = f"{cls.key}: "
            raise type(exc)(msg if msg.startswith(prefix) else prefix + msg) from None
    return out


def compare(
    population=None, models=None, *, n_scenarios: int = 10_000, seed: int = 0, **options
) -> xr.Dataset:
    """Run the five partnership models (or ``models``) on the same member draws.

    Parameters
    ----------
    population : Population, optional
        the provider's panel (default :func:`vbcsim.defaults.provider_panel`).
    models : dict, optional
        model name -> Arrangement (or contracts); default
        :func:`partnership_models` for ``population``.
    n_scenarios, seed :
        as for :func:`vbcsim.simulate`.
    **options
        passed to :func:`vbcsim.simulate`: ``scenario_risk`` (default
        :data:`DEFAULT_SCENARIO_RISK`; None for none), ``quality``,
        ``attachments``, ``threads``, ``progress``, ``backend`` ("dask" to run
        on a Dask cluster), ``out`` (a zarr store to stream to and resume
        from) and ``overwrite``.

    Returns
    -------
    xarray.Dataset
        the result cube: ``net`` (scenario, model, party) and the other
        model variables of :func:`vbcsim.simulate`; with the default models
        the ``model`` coordinate lists the five in order 1-5 by readable name
        and a ``model_key`` coordinate holds their identifiers.
    """
    from vbcsim.results.simulation import simulate

    population = _check_population(population)
    scenario_risk = options.pop("scenario_risk", DEFAULT_SCENARIO_RISK)
    default_models = models is None
    if default_models:
        models = partnership_models(population, scenario_risk)
    ds = simulate(
        population, models, n_scenarios=n_scenarios, seed=seed, scenario_risk=scenario_risk, **options
    )
    if default_models:
        ds = ds.assign_coords(model_key=("model", list(MODEL_KEYS)))
    return ds


def resize(population: Population, members: int) -> Population:
    """``population`` with its segments' members scaled to about ``members`` in total (each ≥ 1)."""
    population = _check_population(population)
    members = check_positive_int("members", members, strict=True)
    scale = members / population.members
    return Population([Segment(s.name, max(1, round(s.members * scale)), s.cost) for s in population])


def settlement_curve(
    population=None,
    models=None,
    *,
    sizes=(1_000, 2_000, 5_000, 10_000, 20_000, 50_000),
    n_scenarios: int = 2_000,
    seed: int = 0,
    overrides: Mapping | None = None,
    **options,
) -> xr.Dataset:
    """How often each contract settles, as a function of the panel's size.

    The population's members are rescaled to each size (same case mix) and
    the comparison rerun; with ``models`` None the five partnership models are
    rebuilt for each size (benchmarks, MSRs and pools follow the panel), with
    ``overrides`` passed to :func:`partnership_models`.

    Returns
    -------
    xarray.Dataset
        over (``panel_size``, ``model``, ``contract``): ``prob_payment``
        (P(settlement > 0), money to the contract's target) and
        ``prob_recoupment`` (P(settlement < 0)), NaN where a model lacks the
        contract.  Settlement probabilities of shared-savings contracts fall
        with panel size towards the probability that true savings (the
        efficiency effect) clear the minimum savings rate.
    """
    population = _check_population(population)
    try:
        sizes = [check_positive_int("sizes", s, strict=True) for s in sizes]
    except TypeError:
        raise TypeError(f"sizes must be a sequence of positive integers, got {sizes!r}") from None
    if not sizes:
        raise ValueError("sizes must not be empty")
    scenario_risk = options.pop("scenario_risk", DEFAULT_SCENARIO_RISK)
    if options.get("out") is not None:
        raise ValueError("settlement_curve keeps its runs in memory: out= is for compare and simulate")
    results = []
    for size in sizes:
        pop = resize(population, size)
        ms = models if models is not None else partnership_models(pop, scenario_risk, **dict(overrides or {}))
        ds = compare(pop, ms, n_scenarios=n_scenarios, seed=seed, scenario_risk=scenario_risk, **options)
        s = ds.settlement
        valid = s.notnull().all("scenario")
        results.append(
            xr.Dataset(
                {
                    "prob_payment": (s > 0).mean("scenario").where(valid),
                    "prob_recoupment": (s < 0).mean("scenario").where(valid),
                }
            )
        )
    out = xr.concat(results, dim="panel_size", join="outer")
    out = out.assign_coords(panel_size=sizes)
    out.prob_payment.attrs.update(units="1", description="P(settlement > 0)")
    out.prob_recoupment.attrs.update(units="1", description="P(settlement < 0)")
    out.attrs.update(n_scenarios=n_scenarios, seed=seed)
    return out
