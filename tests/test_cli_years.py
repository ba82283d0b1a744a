"""Runs over several years from the configuration file and the command line: ``[simulation] years``,
segments' ``annual_churn`` and ``persistence``, ``[agreement]``, and ``vbcsim compare --years N``
(the cumulative table, the year-by-year table, the break-even line, ``--csv`` / ``--json`` with a
year), while ``--years 1`` prints and writes exactly what a run without it does."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

import vbcsim
from vbcsim.frontends import cli, cli_years, tables
from vbcsim.frontends.config import ConfigError, load_config, parse_config
from vbcsim.partnerships import DEFAULT_SCENARIO_RISK
from vbcsim.population import distributions as d
from vbcsim.population.segments import Population, Segment

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

SMALL = """
[simulation]
n_scenarios = 40
seed = 5
threads = 1

[population]
scale = 0.02

[models.third_party]
other_practices = 1

[settlement_curve]
sizes = [500, 1_000]
n_scenarios = 20
"""

JV = "joint venture insurance product"


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the small panel's derived MSR
        yield


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def _segment(**extra) -> dict:
    return {"name": "adults", "members": 500, "cost": {"type": "gamma", "mean": 5_000, "cv": 2.0}, **extra}


def _number(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def _run(capsys, *argv) -> str:
    assert cli.main(["compare", *map(str, argv)]) == 0
    return capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------
# the configuration


def test_years_and_agreement_default_to_none():
    config = parse_config({})
    assert config.years is None and config.agreement is None


def test_example_documents_the_multi_year_defaults():
    config = load_config(EXAMPLES / "compare.toml")
    assert config.years == 1 and config.agreement is None
    assert {s.annual_churn for s in config.population} == {0.215}
    assert {s.persistence for s in config.population} == {None}
    assert config.scenario_risk.annual_trend == DEFAULT_SCENARIO_RISK.annual_trend == 0.061
    assert config.scenario_risk.trend_persistence == DEFAULT_SCENARIO_RISK.trend_persistence


def test_simulation_years():
    assert parse_config({"simulation": {"years": 5}}).years == 5


def test_segment_churn_and_persistence():
    raw = {
        "population": {
            "segments": [
                _segment(annual_churn=0.2, persistence={"top_decile_stay": 0.434}),
                {**_segment(persistence={"rank_correlation": 0.5}), "name": "kids"},
            ]
        }
    }
    cost = d.Gamma.from_mean_cv(5_000, 2.0)
    assert parse_config(raw).population == Population(
        [
            Segment(
                "adults", 500, cost, annual_churn=0.2, persistence=vbcsim.Persistence(top_decile_stay=0.434)
            ),
            Segment("kids", 500, cost, persistence=vbcsim.Persistence(rank_correlation=0.5)),
        ]
    )


def test_scenario_risk_multi_year_keys():
    raw = {"scenario_risk": {"annual_trend": 0.08, "trend_persistence": 0.3, "market_share_of_variance": 0.5}}
    expected = dataclasses.replace(
        DEFAULT_SCENARIO_RISK, annual_trend=0.08, trend_persistence=0.3, market_share_of_variance=0.5
    )
    assert parse_config(raw).scenario_risk == expected


def test_agreement_section():
    raw = {
        "agreement": {
            "length": 3,
            "baseline_years": 2,
            "baseline_weights": [0.4, 0.6],
            "regional_blend": 0.25,
            "prior_savings_adjustment": True,
            "adjustment_cap": 0.04,
            "prior_savings_share": 0.5,
        }
    }
    assert parse_config(raw).agreement == vbcsim.Agreement(
        length=3,
        baseline_years=2,
        baseline_weights=(0.4, 0.6),
        regional_blend=0.25,
        prior_savings_adjustment=True,
        adjustment_cap=0.04,
    )
    assert parse_config({"agreement": {}}).agreement == vbcsim.Agreement()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"simulation": {"years": 0}}, "simulation.years: must be a positive integer"),
        ({"simulation": {"years": 51}}, "simulation.years: must be at most 50"),
        ({"simulation": {"years": 2.5}}, "simulation.years: must be an integer"),
        ({"simulation": {"yeras": 2}}, "simulation.yeras: unknown key; did you mean 'years'?"),
        (
            {"population": {"segments": [_segment(annual_churn=1.0)]}},
            "population.segments[0].annual_churn: must be below 1",
        ),
        (
            {"population": {"segments": [_segment(annual_churn=-0.1)]}},
            "population.segments[0].annual_churn: must be a probability",
        ),
        (
            {"population": {"segments": [_segment(persistence=0.4)]}},
            "population.segments[0].persistence: expected a table",
        ),
        (
            {"population": {"segments": [_segment(persistence={"top_decile_stay": 0.05})]}},
            "population.segments[0].persistence.top_decile_stay: must be in [0.1, 1)",
        ),
        (
            {"population": {"segments": [_segment(persistence={"rank_correlation": 1.0})]}},
            "population.segments[0].persistence.rank_correlation: must be in [0, 1)",
        ),
        (
            {
                "population": {
                    "segments": [_segment(persistence={"top_decile_stay": 0.4, "rank_correlation": 0.3})]
                }
            },
            "population.segments[0].persistence: give one of top_decile_stay or rank_correlation",
        ),
        (
            {"population": {"segments": [_segment(persistence={"stay": 0.4})]}},
            "population.segments[0].persistence.stay: unknown key",
        ),
        ({"scenario_risk": {"annual_trend": 2.0}}, "scenario_risk.annual_trend: must be in (-0.5, 1]"),
        ({"scenario_risk": {"trend_persistence": 1.0}}, "scenario_risk.trend_persistence: must be below 1"),
        ({"agreement": 3}, "agreement: expected a table"),
        ({"agreement": {"lenght": 3}}, "agreement.lenght: unknown key; did you mean 'length'?"),
        ({"agreement": {"length": 0}}, "agreement.length: must be a positive integer"),
        ({"agreement": {"length": 2.0}}, "agreement.length: must be an integer"),
        ({"agreement": {"baseline_weights": 0.5}}, "agreement.baseline_weights: expected an array"),
        ({"agreement": {"baseline_weights": [0.5, 0.5]}}, "agreement.baseline_weights: must hold one weight"),
        (
            {"agreement": {"baseline_weights": [0.2, 0.2, 0.2]}},
            "agreement.baseline_weights: must be non-negative",
        ),
        (
            {"agreement": {"baseline_years": 2}},
            "agreement.baseline_weights: must hold one weight per baseline year (2), got 3 (the default; "
            "give baseline_weights, one per baseline year)",
        ),
        ({"agreement": {"regional_blend": 1.5}}, "agreement.regional_blend: must be a probability"),
        (
            {"agreement": {"prior_savings_adjustment": 1}},
            "agreement.prior_savings_adjustment: must be True or False",
        ),
        ({"agreement": {"adjustment_cap": -0.1}}, "agreement.adjustment_cap: must be a probability"),
    ],
)
def test_bad_multi_year_keys_name_the_field(raw, message):
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    assert str(exc.value).startswith(message.split(":")[0]) and message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_agreement_length_flag_keeps_the_configs_other_terms():
    config = parse_config({"agreement": {"baseline_years": 2, "baseline_weights": [0.5, 0.5]}})

    class Args:
        years = 3
        agreement_length = 2

    resolved = cli_years.resolve(Args, config)
    assert resolved.years == 3
    assert resolved.agreement == vbcsim.Agreement(length=2, baseline_years=2, baseline_weights=(0.5, 0.5))
    assert cli_years.run_options(resolved) == {"years": 3, "agreement": resolved.agreement}
    assert cli_years.run_options(parse_config({"simulation": {"years": 1}})) == {}


# ---------------------------------------------------------------------------------------------------------
# the command line


def test_years_prints_the_cumulative_table_then_by_year(config, tmp_path, capsys):
    out = tmp_path / "r.nc"
    text = _run(capsys, config, "--years", "2", "--scenarios", "40", "--out", out)
    assert re.match(r"vbcsim \S+ compare: 2,000 members .* x 40 scenarios x 2 years, seed 5", text)
    assert "annual trend 6.1%, trend persistence 0.5" in text
    change = text.index("Cumulative change over years 1-2 against each model's fee-for-service status quo")
    absolute = text.index("Cumulative net result over years 1-2 by model and party")
    by_year = text.index("Mean change against fee for service by year")
    break_even = text.index("Break-even of the owned entity")
    assert change < absolute < by_year < break_even
    assert "present value at 0%" in text
    assert re.search(
        r"5\. joint venture insurance product, venture: median break-even (year \d|not within 2 years); "
        r"P\(broken even by year 2\) \d+\.\d% \(±\d+\.\d%\)",
        text,
    )
    table = text[by_year:break_even]
    assert re.search(r"party\s+year 1\s+year 2\n", table)
    assert "enabler" not in table and "reinsurer" not in table  # the payer's and the provider's only

    # the printed cumulative figures are the library's cumulative_* metrics of the written cube
    ds = xr.load_dataset(out)
    assert ds.sizes["year"] == 2
    expected = vbcsim.summarize(ds, baseline="fee_for_service")
    block = text[change:absolute]
    for i, model in enumerate(ds.model.values.tolist(), start=1):
        rows = block[block.index(f"{i}. {model}") :].splitlines()
        provider = next(line for line in rows if line.startswith("  provider"))
        mean = float(expected.cumulative_mean.sel(model=model, party="provider"))
        assert _number(provider.split()[1]) == pytest.approx(mean, abs=1)
        error = rows[rows.index(provider) + 1].split()[0]
        se = float(expected.cumulative_mean_standard_error.sel(model=model, party="provider"))
        assert _number(error.strip("(±)")) == pytest.approx(se, abs=1)
    # the year-by-year means are each year's change
    rows = table[table.index(f"5. {JV}") :].splitlines()
    provider = next(line for line in rows if line.startswith("  provider"))
    means = [float(expected["mean"].sel(model=JV, party="provider", year=y)) for y in (1, 2)]
    assert [_number(v) for v in provider.split()[1:]] == pytest.approx(means, abs=1)


def test_discount_rate_gives_present_values(config, tmp_path, capsys):
    out = tmp_path / "r.nc"
    text = _run(capsys, config, "--years", "2", "--discount-rate", "0.05", "--no-baseline", "--out", out)
    assert "present value at 5% a year" in text and "Cumulative change" not in text
    assert "Mean net result by year" in text
    ds = xr.load_dataset(out)
    expected = vbcsim.summarize(ds, discount_rate=0.05)
    block = text[text.index("Cumulative net result") :]
    rows = block[block.index(f"5. {JV}") :].splitlines()
    provider = next(line for line in rows if line.startswith("  provider"))
    mean = float(expected.cumulative_mean.sel(model=JV, party="provider"))
    assert _number(provider.split()[1]) == pytest.approx(mean, abs=1)


def test_years_csv_and_json_have_a_year(config, tmp_path, capsys):
    csv, js, out = tmp_path / "s.csv", tmp_path / "s.json", tmp_path / "r.nc"
    _run(capsys, config, "--years", "2", "--csv", csv, "--json", js, "--out", out)
    frame = pd.read_csv(csv, dtype={"year": str})
    assert list(frame.columns[:3]) == ["view", "year", "model"]
    assert set(frame.year) == {"cumulative", "1", "2"}
    assert set(frame.view) == {"change_vs_fee_for_service", "absolute"}
    keys = ["view", "year", "model", "party", "metric", "level"]
    assert frame.groupby(keys, dropna=False).size().max() == 1
    ds = xr.load_dataset(out)
    change = vbcsim.summarize(ds, baseline="fee_for_service")
    at = (frame.view == "change_vs_fee_for_service") & (frame.metric == "mean") & (frame.party == "provider")
    row = frame[at & (frame.year == "cumulative") & (frame.model == JV)].iloc[0]
    assert row.value == pytest.approx(float(change.cumulative_mean.sel(model=JV, party="provider")))
    row = frame[at & (frame.year == "2") & (frame.model == JV)].iloc[0]
    assert row.value == pytest.approx(float(change["mean"].sel(model=JV, party="provider", year=2)))

    doc = json.loads(js.read_text())
    assert doc["years"] == 2 and doc["discount_rate"] == 0.0 and doc["n_scenarios"] == 40
    view = doc["views"]["change_vs_fee_for_service"]
    assert set(view) == {"cumulative", "years"} and set(view["years"]) == {"1", "2"}
    provider = view["cumulative"][JV]["provider"]
    assert provider["mean"]["value"] == pytest.approx(
        float(change.cumulative_mean.sel(model=JV, party="provider"))
    )
    assert set(provider["value_at_risk"]) == {"0.95", "0.99"}
    assert view["years"]["1"][JV]["provider"]["mean"]["standard_error"] > 0
    venture = doc["break_even"][JV]["venture"]
    assert set(venture["break_even_probability"]) == {"1", "2"}
    assert 0 <= venture["break_even_probability"]["2"]["value"] <= 1


def _without_timing(text: str) -> str:
    return re.sub(r", [0-9.]+ s\n", ", s\n", text, count=1)


def test_years_1_is_the_single_year_output(config, tmp_path, capsys):
    plain = [tmp_path / "a.csv", tmp_path / "a.json"]
    one = [tmp_path / "b.csv", tmp_path / "b.json"]
    before = _run(capsys, config, "--csv", plain[0], "--json", plain[1])
    after = _run(capsys, config, "--years", "1", "--csv", one[0], "--json", one[1])
    assert _without_timing(after).replace("b.csv", "a.csv").replace("b.json", "a.json") == _without_timing(
        before
    )
    assert "Cumulative" not in after and "year 1" not in after
    for a, b in zip(plain, one, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_config_years_and_the_flag_over_it(config, tmp_path, capsys):
    path = tmp_path / "years.toml"
    path.write_text(SMALL.replace("threads = 1", "threads = 1\nyears = 2"))
    assert "x 40 scenarios x 2 years" in _run(capsys, path)
    text = _run(capsys, path, "--years", "1")
    assert "Cumulative" not in text and "x 40 scenarios, seed 5" in text


def test_agreement_length(config, tmp_path, capsys):
    out = tmp_path / "r.nc"
    text = _run(capsys, config, "--years", "2", "--agreement-length", "1", "--out", out)
    assert (
        "agreement: periods of 1 year, each benchmark from the panel's cost in the 3 years before, " in text
    )
    ds = xr.load_dataset(out)
    assert ds.sizes["baseline_year"] == 3  # the status-quo years before the first period
    # an agreement alone runs one year: printed as a single-year run, with the agreement's line
    text = _run(capsys, config, "--agreement-length", "3")
    assert "agreement: periods of 3 years" in text and "Cumulative" not in text
    assert "What each model changes against its fee-for-service status quo" in text


def test_agreement_section_from_the_config(tmp_path, capsys):
    path = tmp_path / "agreement.toml"
    path.write_text(SMALL + "\n[agreement]\nlength = 2\nregional_blend = 0.25\n")
    text = _run(capsys, path, "--years", "2")
    assert "agreement: periods of 2 years" in text and "regional blend 25% (capped at 5%)" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--years", "0"], "--years: expected a number of years from 1 to 50, got '0'"),
        (["--years", "51"], "--years: expected a number of years from 1 to 50"),
        (["--years", "two"], "--years: expected a number of years"),
        (["--agreement-length", "0"], "--agreement-length: expected a positive integer"),
        (["--discount-rate", "1.5"], "--discount-rate: expected an annual rate in [0, 1]"),
        (["--discount-rate", "nan"], "--discount-rate: expected an annual rate in [0, 1]"),
    ],
)
def test_bad_year_flags_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["compare", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_years_in_the_config_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[simulation]\nyears = 0\n")
    assert cli.main(["compare", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vbcsim compare: error: simulation.years: must be a positive integer")


def test_years_plots(config, tmp_path, capsys):
    plots = tmp_path / "figs"
    _run(capsys, config, "--years", "2", "--agreement-length", "1", "--plots", plots)
    names = sorted(p.name for p in plots.iterdir())
    assert "fan_chart.png" in names and "settlement_probability.png" in names
    assert "benchmark_path_custom_contract.png" in names
    for name in names:
        assert (plots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_over_several_years(config, tmp_path, capsys):
    out = tmp_path / "report.html"
    argv = [
        "report",
        str(config),
        "-o",
        str(out),
        "--years",
        "2",
        "--agreement-length",
        "1",
        "--no-sensitivity",
    ]
    assert cli.main(argv) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_help_documents_the_year_flags(capsys):
    with pytest.raises(SystemExit):
        cli.main(["compare", "--help"])
    text = capsys.readouterr().out
    for word in (
        "--years",
        "--agreement-length",
        "--discount-rate",
        "[agreement]",
        "annual_churn",
        "annual_trend",
    ):
        assert word in text


def test_cumulative_view_of_a_summary():
    ds = vbcsim.compare(vbcsim.defaults.provider_panel(500), n_scenarios=20, seed=1, years=2, threads=1)
    summary = vbcsim.summarize(ds)
    total = tables.cumulative(summary)
    assert "year" not in total.dims and set(total.data_vars) >= {"mean", "mean_standard_error", "capital"}
    xr.testing.assert_equal(total["mean"], summary["cumulative_mean"])
