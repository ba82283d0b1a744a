"""The ``vbcsim compare`` TOML configuration: every section, every error names its field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from vbcsim import distributions as d
from vbcsim.frontends.config import ConfigError, load_config, parse_config
from vbcsim.partnerships import DEFAULT_SCENARIO_RISK, MODEL_KEYS, MODEL_NAMES, partnership_models
from vbcsim.population.defaults import commercial_population, provider_panel
from vbcsim.population.scenario import ScenarioRisk
from vbcsim.population.segments import Population, Segment

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _segment(cost: dict, members=100, name="a") -> dict:
    return {"population": {"segments": [{"name": name, "members": members, "cost": cost}]}}


def _cost(cost: dict):
    (segment,) = parse_config(_segment(cost)).population
    return segment.cost


SPLICED = {
    "type": "spliced",
    "threshold": 100_000,
    "body": {"type": "lognormal", "mu": 7.5, "sigma": 1.7},
    "tail": {"type": "pareto", "alpha": 2.5, "scale": 100_000},
}


# --------------------------------------------------------------------------------------------- sections


def test_empty_config_is_the_compare_default():
    config = parse_config({})
    assert config.population is None
    assert config.scenario_risk == DEFAULT_SCENARIO_RISK
    assert config.models == partnership_models()
    assert config.model_keys == MODEL_KEYS
    assert (config.n_scenarios, config.seed, config.threads) == (None, None, None)
    assert (config.curve_sizes, config.curve_scenarios, config.overrides) == (None, None, {})


def test_commented_example_is_the_default_comparison():
    config = load_config(EXAMPLES / "compare.toml")
    assert config.population == provider_panel()
    assert config.scenario_risk == DEFAULT_SCENARIO_RISK
    assert config.models == partnership_models()  # the example shows the defaults: keep it in step
    assert list(config.models) == [MODEL_NAMES[k] for k in MODEL_KEYS]
    assert (config.n_scenarios, config.seed) == (10_000, 0)
    assert config.curve_sizes == (1_000, 2_000, 5_000, 10_000, 20_000, 50_000)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_parses(path):
    config = load_config(path)
    assert config.models and config.source


def test_simulation_section():
    config = parse_config({"simulation": {"n_scenarios": 500, "seed": 7, "threads": 2}})
    assert (config.n_scenarios, config.seed, config.threads) == (500, 7, 2)


def test_population_scale_is_the_builtin_population():
    config = parse_config({"population": {"scale": 0.05}})
    assert config.population == commercial_population(0.05)
    assert config.population.members == 5_000


def test_population_segments_in_order():
    raw = {
        "population": {
            "segments": [
                {"name": "kids", "members": 300, "cost": {"type": "gamma", "shape": 0.5, "scale": 4_000}},
                {"name": "adults", "members": 700, "cost": {"type": "lognormal", "mu": 7.5, "sigma": 1.2}},
            ]
        }
    }
    assert parse_config(raw).population == Population(
        [Segment("kids", 300, d.Gamma(0.5, 4_000)), Segment("adults", 700, d.Lognormal(7.5, 1.2))]
    )


@pytest.mark.parametrize(
    "cost, expected",
    [
        ({"type": "lognormal", "mu": 7.0, "sigma": 1.5}, d.Lognormal(7.0, 1.5)),
        ({"type": "lognormal", "mean": 6_000, "cv": 3}, d.Lognormal.from_mean_cv(6_000, 3)),
        ({"type": "gamma", "shape": 2, "scale": 500}, d.Gamma(2, 500)),
        ({"type": "gamma", "mean": 1_000, "cv": 0.5}, d.Gamma.from_mean_cv(1_000, 0.5)),
        ({"type": "pareto", "alpha": 2.5, "scale": 10_000}, d.Pareto(2.5, 10_000)),
        (SPLICED, d.Spliced(d.Lognormal(7.5, 1.7), d.Pareto(2.5, 100_000), 100_000)),
        (
            {**SPLICED, "tail_weight": 0.01},
            d.Spliced(d.Lognormal(7.5, 1.7), d.Pareto(2.5, 100_000), 100_000, tail_weight=0.01),
        ),
        (
            {"type": "hurdle", "p_nonzero": 0.85, "severity": SPLICED},
            d.Hurdle(0.85, d.Spliced(d.Lognormal(7.5, 1.7), d.Pareto(2.5, 100_000), 100_000)),
        ),
        (
            {
                "type": "compound",
                "frequency": {"type": "poisson", "lam": 4},
                "severity": {"type": "gamma", "mean": 700, "cv": 2},
            },
            d.Compound(d.Poisson(4), d.Gamma.from_mean_cv(700, 2)),
        ),
        (
            {
                "type": "hurdle",
                "p_nonzero": 0.9,
                "severity": {
                    "type": "compound",
                    "frequency": {"type": "negative_binomial", "mean": 6, "dispersion": 1.5},
                    "severity": {"type": "lognormal", "mu": 6, "sigma": 1},
                },
            },
            d.Hurdle(0.9, d.Compound(d.NegativeBinomial(6, 1.5), d.Lognormal(6, 1))),
        ),
    ],
    ids=lambda x: x["type"] + "/" + "_".join(k for k in x if k != "type") if isinstance(x, dict) else "",
)
def test_every_distribution(cost, expected):
    assert _cost(cost) == expected


def test_scenario_risk_keys_override_the_default():
    config = parse_config({"scenario_risk": {"trend_cv": 0.05}})
    assert config.scenario_risk == dataclasses.replace(DEFAULT_SCENARIO_RISK, trend_cv=0.05)
    config = parse_config({"scenario_risk": {"trend_cv": 0, "shock_probability": 0, "shock_size": 0}})
    # the multi-year keys keep the default's
    assert config.scenario_risk == ScenarioRisk(
        annual_trend=DEFAULT_SCENARIO_RISK.annual_trend,
        trend_persistence=DEFAULT_SCENARIO_RISK.trend_persistence,
    )
    zero = {"trend_cv": 0, "shock_probability": 0, "shock_size": 0, "annual_trend": 0, "trend_persistence": 0}
    assert parse_config({"scenario_risk": zero}).scenario_risk == ScenarioRisk()


def test_model_overrides_and_subset():
    raw = {
        "population": {"scale": 0.05},
        "compare": {"models": ["risk_network", "custom_contract"]},
        "models": {
            "custom_contract": {"sharing_rate": 0.6, "quality_gate": "none"},
            "risk_network": {"stop_loss_attachment": 150_000},
        },
    }
    config = parse_config(raw)
    assert config.model_keys == ("risk_network", "custom_contract")
    assert list(config.models) == [MODEL_NAMES["risk_network"], MODEL_NAMES["custom_contract"]]
    assert config.overrides == {
        "custom_contract": {"sharing_rate": 0.6, "quality_gate": None},
        "risk_network": {"stop_loss_attachment": 150_000},
    }
    expected = partnership_models(commercial_population(0.05), DEFAULT_SCENARIO_RISK, **config.overrides)
    assert config.models == {name: expected[name] for name in config.models}
    assert (
        config.models[MODEL_NAMES["custom_contract"]]
        != partnership_models(commercial_population(0.05))[MODEL_NAMES["custom_contract"]]
    )


def test_settlement_curve_section():
    config = parse_config({"settlement_curve": {"sizes": [500, 1_000], "n_scenarios": 100}})
    assert (config.curve_sizes, config.curve_scenarios) == ((500, 1_000), 100)


def test_source_is_kept_for_the_record():
    raw = {"simulation": {"seed": 3}, "population": {"scale": 0.02}}
    assert parse_config(raw).source == raw


# --------------------------------------------------------------------------------------------- errors

BAD = [
    ({"populaton": {}}, "populaton: unknown section; did you mean 'population'?"),
    ({"simulation": {"n_scenario": 10}}, "simulation.n_scenario: unknown key; did you mean 'n_scenarios'?"),
    ({"simulation": {"n_scenarios": 0}}, "simulation.n_scenarios: must be a positive integer, got 0"),
    ({"simulation": {"n_scenarios": 100.0}}, "simulation.n_scenarios: must be an integer"),
    ({"simulation": {"seed": -1}}, "simulation.seed: must be a non-negative integer, got -1"),
    ({"simulation": {"threads": "4"}}, "simulation.threads: must be an integer"),
    ({"simulation": {"seed": True}}, "simulation.seed: must be an integer, got bool"),
    ({"simulation": 5}, "simulation: expected a table"),
    ({"population": {}}, "population: give either scale"),
    ({"population": {"scale": 0.1, "segments": []}}, "population: give either scale"),
    ({"population": {"scale": -1}}, "population.scale: must be a positive number, got -1"),
    ({"population": {"members": 5}}, "population.members: unknown key"),
    ({"population": {"segments": []}}, "population.segments: must not be empty"),
    ({"population": {"segments": {"name": "a"}}}, "population.segments: expected an array"),
    (
        _segment({"type": "lognormal", "mu": 7, "sigma": 1}, members=-5),
        "population.segments[0].members: must be a positive integer, got -5",
    ),
    (
        _segment({"type": "lognormal", "mu": 7, "sigma": 1}, members=10.5),
        "population.segments[0].members: must be",
    ),
    (_segment({"type": "lognormal", "mu": 7, "sigma": 1}, name=""), "population.segments[0].name: must be"),
    ({"population": {"segments": [{"name": "a", "members": 5}]}}, "population.segments[0].cost: missing"),
    (
        {"population": {"segments": [{"name": "a", "members": 5, "cost": {}, "age": 3}]}},
        "population.segments[0].age: unknown key",
    ),
    (
        {"population": {"segments": [{"name": "a", "members": 5, "cost": 3}]}},
        "population.segments[0].cost: expected a table",
    ),
    (_segment({"mu": 7, "sigma": 1}), "population.segments[0].cost.type: missing"),
    (
        _segment({"type": "lognorml", "mu": 7, "sigma": 1}),
        "population.segments[0].cost.type: unknown distribution 'lognorml'; did you mean 'lognormal'?",
    ),
    (
        _segment({"type": "poisson", "lam": 1}),
        "population.segments[0].cost.type: unknown distribution 'poisson'",
    ),
    (
        _segment({"type": "lognormal", "mu": 7, "sigma": -1}),
        "population.segments[0].cost.sigma: must be positive",
    ),
    (
        _segment({"type": "lognormal", "mu": "x", "sigma": 1}),
        "population.segments[0].cost.mu: must be a real number",
    ),
    (_segment({"type": "lognormal", "mu": 7}), "population.segments[0].cost.sigma: missing"),
    (_segment({"type": "lognormal"}), "population.segments[0].cost: lognormal has no parameters"),
    (_segment({"type": "lognormal", "mu": 7, "cv": 1}), "population.segments[0].cost: lognormal mixes"),
    (
        _segment({"type": "lognormal", "mu": 7, "sigma": 1, "shape": 2}),
        "population.segments[0].cost.shape: unknown",
    ),
    (
        _segment({"type": "lognormal", "mean": -1, "cv": 1}),
        "population.segments[0].cost.mean: must be positive",
    ),
    (_segment({"type": "gamma", "mean": 100, "cv": 0}), "population.segments[0].cost.cv: must be positive"),
    (
        _segment({"type": "pareto", "alpha": 0, "scale": 1}),
        "population.segments[0].cost.alpha: must be positive",
    ),
    (
        _segment({"type": "hurdle", "p_nonzero": 1.5, "severity": SPLICED}),
        "population.segments[0].cost.p_nonzero: must be a probability in [0, 1], got 1.5",
    ),
    (
        _segment({"type": "hurdle", "p_nonzero": 0.5, "severity": {"type": "hurdle"}}),
        "population.segments[0].cost.severity.type: unknown distribution 'hurdle'",
    ),
    (
        _segment({**SPLICED, "body": {"type": "spliced"}}),
        "population.segments[0].cost.body.type: unknown distribution 'spliced'",
    ),
    (
        _segment({**SPLICED, "tail": {"type": "pareto", "alpha": -2, "scale": 1}}),
        "population.segments[0].cost.tail.alpha: must be positive",
    ),
    (_segment({**SPLICED, "threshold": -1}), "population.segments[0].cost.threshold: must be positive"),
    (
        _segment({**SPLICED, "body": {"type": "lognormal", "mu": 15, "sigma": 0.1}}),
        "population.segments[0].cost.threshold: threshold 100000.0 leaves only",
    ),
    (
        _segment({**SPLICED, "tail_weight": 2}),
        "population.segments[0].cost.tail_weight: must be a probability",
    ),
    (
        _segment(
            {"type": "compound", "frequency": {"type": "gamma", "shape": 1, "scale": 1}, "severity": SPLICED}
        ),
        "population.segments[0].cost.frequency.type: unknown distribution 'gamma'",
    ),
    (
        _segment({"type": "compound", "frequency": {"type": "poisson", "lam": -1}, "severity": SPLICED}),
        "population.segments[0].cost.frequency.lam: must be non-negative",
    ),
    (
        _segment(
            {
                "type": "compound",
                "frequency": {"type": "negative_binomial", "mean": 1, "dispersion": 0},
                "severity": SPLICED,
            }
        ),
        "population.segments[0].cost.frequency.dispersion: must be positive",
    ),
    (
        {
            "population": {
                "segments": [
                    {"name": "a", "members": 5, "cost": {"type": "gamma", "shape": 1, "scale": 1}},
                    {"name": "a", "members": 5, "cost": {"type": "gamma", "shape": 1, "scale": 1}},
                ]
            }
        },
        "population.segments: segment names must be unique, repeated: ['a']",
    ),
    (
        {
            "population": {
                "segments": [
                    {"name": "a", "members": 5, "cost": {"type": "gamma", "shape": 1, "scale": 1}},
                    {"name": "b", "members": -5, "cost": {"type": "gamma", "shape": 1, "scale": 1}},
                ]
            }
        },
        "population.segments[1].members: must be a positive integer, got -5",
    ),
    ({"scenario_risk": {"trend_cv": -0.1}}, "scenario_risk.trend_cv: must be non-negative"),
    ({"scenario_risk": {"shock_probability": 2}}, "scenario_risk.shock_probability: must be a probability"),
    ({"scenario_risk": {"shock_size": -1}}, "scenario_risk.shock_size: must be greater than -1"),
    ({"scenario_risk": {"trend": 0.1}}, "scenario_risk.trend: unknown key; did you mean 'trend_cv'?"),
    ({"compare": {"model": []}}, "compare.model: unknown key; did you mean 'models'?"),
    ({"compare": {"models": "custom_contract"}}, "compare.models: expected an array"),
    ({"compare": {"models": []}}, "compare.models: must name at least one model"),
    ({"compare": {"models": ["custom_contract", "jv"]}}, "compare.models[1]: unknown model 'jv'"),
    (
        {"compare": {"models": ["risk_network", "risk_network"]}},
        "compare.models[1]: 'risk_network' is listed twice",
    ),
    (
        {"models": {"custom_contrct": {}}},
        "models.custom_contrct: unknown model; did you mean 'custom_contract'?",
    ),
    ({"models": {"custom_contract": 0.5}}, "models.custom_contract: expected a table"),
    (
        {"models": {"custom_contract": {"sharing_rat": 0.5}}},
        "models.custom_contract.sharing_rat: unknown parameter; did you mean 'sharing_rate'? expected one of",
    ),
    (
        {"models": {"custom_contract": {"sharing_rate": 1.5}}},
        "models.custom_contract.sharing_rate: must be a probability in [0, 1], got 1.5",
    ),
    (
        {"models": {"risk_network": {"coinsurance": -1}}},
        "models.risk_network.coinsurance: must be a probability",
    ),
    (
        {"models": {"third_party": {"other_practices": 2.5}}},
        "models.third_party.other_practices: must be an integer",
    ),
    (
        {"models": {"joint_venture": {"price_efficiency": 1}}},
        "models.joint_venture.price_efficiency: must be True or False",
    ),
    (
        {"models": {"value_program": {"bonus_pmpm": "none"}}},
        "models.value_program.bonus_pmpm: must be a real number",
    ),
    (
        {"models": {"risk_network": {"care_management_pmpm": -3}}},
        "models.risk_network.care_management_pmpm: must be",
    ),
    ({"settlement_curve": {"sizes": []}}, "settlement_curve.sizes: must not be empty"),
    ({"settlement_curve": {"sizes": [1_000, -1]}}, "settlement_curve.sizes[1]: must be a positive integer"),
    ({"settlement_curve": {"n_scenarios": 0}}, "settlement_curve.n_scenarios: must be a positive integer"),
]


@pytest.mark.parametrize("raw, message", BAD, ids=[m.split(":")[0] + f"-{i}" for i, (_, m) in enumerate(BAD)])
def test_invalid_config_names_the_field(raw, message):
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    text = str(exc.value)
    assert text.startswith(message), text
    assert "\n" not in text
    assert isinstance(exc.value, ValueError)


def test_toml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[simulation]\nseed = 1\nn_scenarios = = 5\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: invalid TOML: .*line 3") as exc:
        load_config(path)
    assert "\n" not in str(exc.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.toml: cannot read the configuration"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="cannot read the configuration"):
        load_config(tmp_path)  # a directory
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"seed = \xff\xfe\n")
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        load_config(binary)


def test_load_config_reads_toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[simulation]\nseed = 4\n\n[population]\nscale = 0.02\n\n[compare]\nmodels = ["value_program"]\n'
    )
    config = load_config(path)
    assert config.seed == 4 and config.population.members == 2_000
    assert list(config.models) == [MODEL_NAMES["value_program"]]
