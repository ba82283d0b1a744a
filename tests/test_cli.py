"""The command line: main job, compare, netCDF/zarr output written atomically, clear errors."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import vbcsim
from vbcsim import cli, io
from vbcsim.partnerships import MODEL_KEYS, MODEL_NAMES, partnership_models
from vbcsim.population.defaults import commercial_population


def test_main_job_prints_summary(tmp_path, capsys):
    out = tmp_path / "r.nc"
    assert (
        cli.main(["simulate", "--scenarios", "40", "--scale", "0.02", "--seed", "3", "--out", str(out)]) == 0
    )
    text = capsys.readouterr().out
    assert "member-years/s" in text
    assert "children" in text and "exact VaR" in text
    ds = xr.open_dataset(out)
    assert ds.sizes["scenario"] == 40
    assert int(ds.members.sum()) == 2_000
    assert ds.attrs["seed"] == 3
    ds.close()


def test_explicit_subcommand_and_scenario_risk(capsys):
    assert cli.main(["simulate", "--scenarios", "20", "--scale", "0.01", "--trend-cv", "0.05"]) == 0
    assert "trend CV 0.05" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["--scenarios", "0"], ["--scenarios", "x"], ["--seed", "-1"], ["--threads", "0"], ["--scale", "nan"]],
)
def test_bad_arguments_exit_nonzero(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_bad_values_one_line_error(tmp_path, capsys):
    assert cli.main(["simulate", "--scenarios", "5", "--scale", "0.01", "--trend-cv", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vbcsim: error:") and "trend_cv" in err
    assert (
        cli.main(["simulate", "--scenarios", "5", "--scale", "0.01", "--out", str(tmp_path / "r.txt")]) == 2
    )
    assert "out" in capsys.readouterr().err
    assert not (tmp_path / "r.txt").exists()


def test_failed_write_keeps_earlier_result(tmp_path, monkeypatch):
    out = tmp_path / "r.nc"
    assert cli.main(["simulate", "--scenarios", "10", "--scale", "0.01", "--out", str(out)]) == 0
    before = out.read_bytes()

    def boom(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(OSError):
        cli.main(["simulate", "--scenarios", "12", "--scale", "0.01", "--out", str(out)])
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]  # no temporary left behind


def test_write_netcdf_validates_path(tmp_path):
    ds = xr.Dataset({"a": ("x", [1.0, 2.0])})
    with pytest.raises(ValueError, match="out"):
        io.write_netcdf(ds, tmp_path / "missing" / "r.nc")
    path = io.write_netcdf(ds, tmp_path / "r.nc")
    assert xr.open_dataset(path).a.values.tolist() == [1.0, 2.0]


def test_python_dash_m_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "vbcsim", "simulate", "--scenarios", "10", "--scale", "0.01"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "PMPM" in proc.stdout


# --------------------------------------------------------------------------------------------- compare

SMALL = """
[simulation]
n_scenarios = 200
seed = 5

[population]
scale = 0.03

[models.third_party]
other_practices = 1
"""


@pytest.fixture
def small_config(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def test_compare_prints_table_and_writes_netcdf(tmp_path, small_config, capsys):
    out = tmp_path / "r.nc"
    assert cli.main(["compare", str(small_config), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3,000 members (+3,000 pooled from other practices) x 200 scenarios, seed 5" in text
    for i, name in enumerate(MODEL_NAMES.values(), start=1):
        assert f"{i}. {name}" in text
    for column in ("mean", "std", "VaR 99%", "TVaR 99%", "P(loss)", "risk share", "capital"):
        assert column in text
    assert "  enabler " in text and "  reinsurer " in text
    assert re.search(r"\$\d{1,3},\d{3},\d{3}", text)  # dollars with thousands separators
    ds = xr.open_dataset(out)
    assert ds.net.dims == ("scenario", "model", "party")
    assert ds.sizes["scenario"] == 200 and ds.attrs["seed"] == 5
    assert ds.model.values.tolist() == list(MODEL_NAMES.values())
    assert ds.model_key.values.tolist() == list(MODEL_KEYS)
    assert json.loads(ds.attrs["compare_config"])["models"] == {"third_party": {"other_practices": 1}}
    ds.close()


def test_compare_flags_override_config(tmp_path, small_config, capsys):
    out = tmp_path / "r.nc"
    argv = [
        "compare",
        str(small_config),
        "--scenarios",
        "60",
        "--seed",
        "9",
        "--threads",
        "1",
        "--out",
        str(out),
    ]
    assert cli.main(argv) == 0
    with xr.open_dataset(out) as ds:
        assert ds.sizes["scenario"] == 60 and ds.attrs["seed"] == 9


def test_compare_matches_the_library(tmp_path, small_config):
    out = tmp_path / "r.nc"
    assert cli.main(["compare", str(small_config), "--out", str(out)]) == 0
    expected = vbcsim.compare(
        commercial_population(0.03),
        partnership_models(commercial_population(0.03), third_party={"other_practices": 1}),
        n_scenarios=200,
        seed=5,
    )
    with xr.open_dataset(out) as ds:
        np.testing.assert_array_equal(ds.net.values, expected.net.values)


def test_compare_model_subset(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[population]\nscale = 0.02\n[compare]\nmodels = ["joint_venture", "value_program"]\n')
    out = tmp_path / "r.nc"
    assert cli.main(["compare", str(config), "--scenarios", "50", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1. joint venture insurance product" in text and "2. payer-branded value program" in text
    assert "risk-bearing network" not in text
    with xr.open_dataset(out) as ds:
        assert ds.model_key.values.tolist() == ["joint_venture", "value_program"]


def test_compare_zarr_round_trip_and_replace(tmp_path, small_config):
    nc, store = tmp_path / "r.nc", tmp_path / "r.zarr"
    assert cli.main(["compare", str(small_config), "--out", str(nc)]) == 0
    assert cli.main(["compare", str(small_config), "--scenarios", "30", "--out", str(store)]) == 0
    with xr.open_zarr(store) as z:
        assert z.sizes["scenario"] == 30
    assert cli.main(["compare", str(small_config), "--out", str(store)]) == 0  # replaces the earlier store
    with xr.open_zarr(store) as z, xr.open_dataset(nc) as n:
        xr.testing.assert_identical(z.load(), n.load())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc", "r.zarr", "small.toml"]


def test_failed_zarr_write_keeps_earlier_store(tmp_path, small_config, monkeypatch, capsys):
    store = tmp_path / "r.zarr"
    assert cli.main(["compare", str(small_config), "--scenarios", "20", "--out", str(store)]) == 0

    def boom(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xr.Dataset, "to_zarr", boom)
    capsys.readouterr()
    assert cli.main(["compare", str(small_config), "--out", str(store)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vbcsim compare: error: cannot write") and "No space left" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    with xr.open_zarr(store) as z:
        assert z.sizes["scenario"] == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.zarr", "small.toml"]  # no temporary left


def test_zarr_missing_is_a_clear_error(tmp_path, small_config, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "zarr" else real(name, *a)
    )
    assert cli.main(["compare", str(small_config), "--out", str(tmp_path / "r.zarr")]) == 2
    assert "pip install zarr" in capsys.readouterr().err
    assert not (tmp_path / "r.zarr").exists()


BAD_CONFIGS = {
    "syntax": ("[simulation]\nseed = = 1\n", "line 2"),
    "unknown key": ("[population]\nscale = 0.02\nsize = 3\n", "population.size: unknown key"),
    "negative members": (
        '[[population.segments]]\nname = "a"\nmembers = -5\ncost = {type = "gamma", shape = 1, scale = 1}\n',
        "population.segments[0].members: must be a positive integer, got -5",
    ),
    "model parameter": (
        "[models.custom_contract]\nsharing_rat = 0.5\n",
        "models.custom_contract.sharing_rat",
    ),
    "bad value": ("[scenario_risk]\ntrend_cv = -1\n", "scenario_risk.trend_cv: must be non-negative"),
}


@pytest.mark.parametrize("name", list(BAD_CONFIGS))
def test_bad_config_exits_2_with_one_line_and_no_output(name, tmp_path, capsys):
    text, message = BAD_CONFIGS[name]
    config = tmp_path / "bad.toml"
    config.write_text(text)
    out, plots = tmp_path / "r.nc", tmp_path / "figs"
    assert cli.main(["compare", str(config), "--out", str(out), "--plots", str(plots)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("vbcsim compare: error: ") and message in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--out", "r.txt"], "out must be a netCDF file ending in .nc or a zarr store ending in .zarr"),
        (["--out", "missing/r.nc"], "does not exist"),
        (["--plots", "missing/figs"], "does not exist"),
        (["--plots", "small.toml"], "is not a directory"),
    ],
)
def test_bad_output_arguments_exit_2(extra, message, tmp_path, small_config, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["compare", str(small_config), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vbcsim compare: error: ") and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.toml"]


def test_missing_config_file_exits_2(tmp_path, capsys):
    assert cli.main(["compare", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert "nope.toml: cannot read the configuration" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["--scenarios", "0"], ["--seed", "-1"], ["--threads", "x"]])
def test_compare_bad_flags_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["compare", *argv])
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_failed_run_keeps_earlier_result(tmp_path, small_config):
    out = tmp_path / "r.nc"
    assert cli.main(["compare", str(small_config), "--scenarios", "20", "--out", str(out)]) == 0
    before = out.read_bytes()
    bad = tmp_path / "bad.toml"
    bad.write_text("[simulation]\nn_scenarios = 0\n")
    assert cli.main(["compare", str(bad), "--out", str(out)]) == 2
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "r.nc", "small.toml"]


def test_compare_plots(tmp_path, capsys):
    pytest.importorskip("vbcsim.plot")
    config = tmp_path / "c.toml"
    config.write_text(
        '[population]\nscale = 0.02\n[compare]\nmodels = ["custom_contract", "risk_network"]\n'
        "[settlement_curve]\nsizes = [500, 1_000]\nn_scenarios = 50\n"
    )
    plots = tmp_path / "figs"
    assert cli.main(["compare", str(config), "--scenarios", "50", "--plots", str(plots)]) == 0
    names = sorted(p.name for p in plots.iterdir())
    assert names == sorted(f"{name}.png" for name in cli.PLOTS)
    for name in names:
        assert (plots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_help_documents_the_config(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["compare", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for word in (
        "--scenarios",
        "--seed",
        "--threads",
        "--out",
        "--plots",
        ".zarr",
        "[simulation]",
        "[population]",
    ):
        assert word in text
    for word in (
        "[[population.segments]]",
        "[scenario_risk]",
        "[models.<id>]",
        "examples/compare.toml",
        *MODEL_KEYS,
    ):
        assert word in text


def test_default_command_is_compare(capsys):
    # the main job: ``vbcsim`` with no command compares the five models on the built-in defaults
    assert cli.DEFAULT_COMMAND == "compare"
    assert cli.main(["--scenarios", "20", "--seed", "1"]) == 0
    assert "1. custom risk-based contract" in capsys.readouterr().out


def test_python_dash_m_compare_example(tmp_path):
    out = tmp_path / "x.nc"
    example = Path(__file__).resolve().parent.parent / "examples" / "compare.toml"
    proc = subprocess.run(
        [sys.executable, "-m", "vbcsim", "compare", str(example), "--scenarios", "200", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "joint venture insurance product" in proc.stdout and f"wrote {out}" in proc.stdout
    with xr.open_dataset(out) as ds:
        assert ds.sizes["scenario"] == 200 and ds.sizes["model"] == 5


def test_compare_progress_bar_on_a_terminal(small_config, monkeypatch, capsys):
    from vbcsim import _progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(_progress, "DELAY", 0.0)  # a short run shows its bar too
    assert cli.main(["compare", str(small_config), "--scenarios", "50"]) == 0
    err = capsys.readouterr().err
    # tqdm's bar: "vbcsim: 100%|...| n/n [time...]"
    assert re.search(r"100%\|.*\| (\d+)/\1 ", err), err


def test_compare_on_dask_gives_the_same_cube(tmp_path):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    args = ["compare", "--scenarios", "60", "--seed", "2"]
    assert cli.main([*args, "--out", str(tmp_path / "a.nc")]) == 0
    assert cli.main([*args, "--backend", "dask", "--out", str(tmp_path / "b.nc")]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert cli.main([*args, "--scheduler", address, "--out", str(tmp_path / "c.nc")]) == 0
    with xr.open_dataset(tmp_path / "a.nc") as a:
        for other in ("b.nc", "c.nc"):
            with xr.open_dataset(tmp_path / other) as b:
                xr.testing.assert_identical(a.net, b.net)
                xr.testing.assert_identical(a.settlement, b.settlement)


def test_compare_backend_without_dask_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "dask" else real(name, *a)
    )
    assert (
        cli.main(["compare", "--scenarios", "5", "--backend", "dask", "--out", str(tmp_path / "x.nc")]) == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "vbcsim[distributed]"' in err
    assert not (tmp_path / "x.nc").exists()
