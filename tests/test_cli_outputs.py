"""``vbcsim compare``'s table against fee for service with errors, and its --csv / --json files."""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import vbcsim
from vbcsim.frontends import cli
from vbcsim.partnerships.registry import MODEL_NAMES

SMALL = """
[simulation]
n_scenarios = 200
seed = 5
threads = 1

[population]
scale = 0.03

[models.third_party]
other_practices = 1
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def _number(text: str) -> float:
    return float(text.replace("$", "").replace(",", "").replace("(±", "").replace(")", ""))


def test_table_leads_with_the_change_against_fee_for_service(config, capsys, tmp_path):
    out = tmp_path / "r.nc"
    assert cli.main(["compare", str(config), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    change_at = text.index("What each model changes against its fee-for-service status quo")
    absolute_at = text.index("Annual net result by model and party")
    assert change_at < absolute_at
    assert "P(worse)" in text[change_at:absolute_at] and "P(loss)" in text[absolute_at:]
    assert "status quo: payer $" in text
    # every row of figures has a row of standard errors beneath it, matching summarize's
    with xr.open_dataset(out) as ds:
        ds = ds.load()
    change = vbcsim.summarize(ds, baseline="fee_for_service")
    lines = text[change_at:absolute_at].splitlines()
    first = MODEL_NAMES["custom_contract"]
    start = next(i for i, line in enumerate(lines) if line.startswith(f"1. {first}"))
    payer, errors = lines[start + 1].split(), lines[start + 2].split()
    assert payer[0] == "payer" and len(errors) == 7
    assert _number(payer[1]) == pytest.approx(float(change["mean"].sel(model=first, party="payer")), abs=0.5)
    assert _number(errors[0]) == pytest.approx(
        float(change.mean_standard_error.sel(model=first, party="payer")), abs=0.5
    )


def test_no_baseline_prints_the_absolute_view_only(config, capsys, tmp_path):
    out = tmp_path / "r.nc"
    assert cli.main(["compare", str(config), "--no-baseline", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "fee-for-service status quo" not in text and "Annual net result" in text
    with xr.open_dataset(out) as ds:
        assert "status_quo_net" not in ds


def test_csv_is_a_tidy_table_of_both_views(config, tmp_path, capsys):
    path = tmp_path / "summary.csv"
    assert cli.main(["compare", str(config), "--csv", str(path)]) == 0
    assert f"wrote {path}" in capsys.readouterr().out
    frame = pd.read_csv(path)
    assert list(frame.columns) == [
        "view",
        "model",
        "model_key",
        "party",
        "metric",
        "level",
        "value",
        "standard_error",
    ]
    assert set(frame.view) == {"change_vs_fee_for_service", "absolute"}
    assert frame.groupby(["view", "model", "party", "metric", "level"], dropna=False).size().max() == 1
    var = frame[(frame.metric == "value_at_risk")]
    assert set(var.level) == {0.95, 0.99}


def test_json_has_every_metric_with_its_error(config, tmp_path):
    path = tmp_path / "summary.json"
    assert cli.main(["compare", str(config), "--json", str(path)]) == 0
    doc = json.loads(path.read_text())
    assert doc["n_scenarios"] == 200 and doc["members"] == 3_000
    model = MODEL_NAMES["risk_network"]
    provider = doc["views"]["change_vs_fee_for_service"][model]["provider"]
    assert set(provider) >= {"mean", "std", "prob_loss", "risk_share", "capital", "value_at_risk"}
    assert provider["mean"]["standard_error"] > 0
    assert set(provider["value_at_risk"]) == {"0.95", "0.99"}
    assert math.isfinite(provider["tail_value_at_risk"]["0.99"]["value"])


@pytest.mark.parametrize(
    ("flag", "name", "message"),
    [
        ("--csv", "out.txt", "--csv must be a file ending in .csv"),
        ("--json", "out.csv", "--json must be a file ending in .json"),
        ("--csv", "missing/out.csv", "--csv: directory"),
    ],
)
def test_bad_output_files_fail_before_the_run(config, tmp_path, capsys, flag, name, message):
    assert cli.main(["compare", str(config), flag, str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("out.*"))


PANEL = vbcsim.defaults.provider_panel(1_000)


def _compare(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the small panel's derived MSR
        return vbcsim.compare(PANEL, seed=3, threads=1, baseline=False, **kw)


def test_target_error_stops_when_met_and_is_reproducible():
    # the provider's expected result under every model to 2%: a few thousand scenarios
    kw = {"n_scenarios": 20, "target_error": 0.02, "target_party": "provider"}
    ds = _compare(**kw)
    n = ds.sizes["scenario"]
    assert ds.attrs["achieved_error"] <= 0.02
    assert n > 20 and ds.attrs["target_runs"] >= 2
    # the same call gives the same size and cube; one plain run of that size gives the same cube
    xr.testing.assert_identical(ds, _compare(**kw))
    np.testing.assert_array_equal(ds.net.values, _compare(n_scenarios=n).net.values)
    # it stopped at the first run that met the target: the run before it (at most half) did not
    before = vbcsim.summarize(_compare(n_scenarios=n // 2))
    relative = (before.mean_standard_error / abs(before["mean"])).sel(party="provider")
    assert float(relative.max()) > 0.02 * 0.9  # the last run was needed (the error is noisy by ~10%)


def test_target_error_gives_up_at_max_scenarios_with_a_warning():
    with pytest.warns(UserWarning, match="target_error=1e-06 not reached within max_scenarios=200"):
        ds = vbcsim.compare(PANEL, n_scenarios=50, seed=3, target_error=1e-6, max_scenarios=200, threads=1)
    assert ds.sizes["scenario"] == 200


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"target_error": -1.0}, ValueError, "target_error"),
        ({"target_error": 0.1, "target_metric": "median"}, ValueError, "target_metric must be one of"),
        ({"target_error": 0.1, "target_party": "broker"}, ValueError, "target_party must be one of"),
        ({"target_error": 0.1, "max_scenarios": 10}, ValueError, "above max_scenarios"),
    ],
)
def test_target_error_bad_input(kw, error, match):
    with pytest.raises(error, match=match):
        vbcsim.compare(PANEL, n_scenarios=50, seed=1, **kw)


def test_status_quo_rows_are_reference_rows_in_the_table(config, capsys):
    assert cli.main(["compare", str(config)]) == 0
    text = capsys.readouterr().out
    quo = re.findall(r"status quo: payer (\$[\d,]+), provider (\$[\d,]+)", text)
    assert len(quo) == len(MODEL_NAMES)


def test_scenario_sampling_and_target_error_flags(config, tmp_path, capsys):
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    assert cli.main(["compare", str(config), "--scenario-sampling", "sobol", "--out", str(a)]) == 0
    assert cli.main(["compare", str(config), "--out", str(b)]) == 0
    with xr.open_dataset(a) as sobol, xr.open_dataset(b) as plain:
        assert (
            "scenario_sampling" in sobol.attrs["config"] and "scenario_sampling" not in plain.attrs["config"]
        )
        assert not np.array_equal(sobol.quality.values, plain.quality.values)
    capsys.readouterr()
    assert cli.main(["compare", str(config), "--target-error", "-0.1"]) == 2
    assert "--target-error: expected a positive relative error" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["compare", str(config), "--scenario-sampling", "halton"])
    assert exit_.value.code == 2 and "invalid choice: 'halton'" in capsys.readouterr().err


def test_target_error_is_not_fooled_by_tail_errors_or_idle_parties():
    # a tail measure's error is NaN until 10 scenarios lie beyond its level: not met before that
    ds = _compare(n_scenarios=50, target_error=0.5, target_metric="tail_value_at_risk", max_scenarios=3_200)
    assert ds.sizes["scenario"] * (1 - 0.99) >= 10
    # the reinsurer takes part in model 4 only: the other models' constant zero does not block it
    ds = _compare(
        n_scenarios=100,
        target_error=0.9,
        target_metric="return_on_capital",
        target_party="reinsurer",
        max_scenarios=3_200,
    )
    assert ds.attrs["achieved_error"] <= 0.9
    # an unreachable target stops at max_scenarios without overflowing
    with pytest.warns(UserWarning, match="not reached"):
        vbcsim.compare(PANEL, n_scenarios=10, seed=3, threads=1, target_error=1e-160, max_scenarios=100)


def test_target_error_refuses_out():
    with pytest.raises(ValueError, match="out: target_error reruns the comparison"):
        _compare(n_scenarios=10, target_error=0.1, out="results.zarr")
