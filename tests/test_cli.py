"""The command line: main job, netCDF output written atomically, clear errors."""

import subprocess
import sys

import pytest
import xarray as xr

from vbcsim import cli, io


def test_main_job_prints_summary(tmp_path, capsys):
    out = tmp_path / "r.nc"
    assert cli.main(["--scenarios", "40", "--scale", "0.02", "--seed", "3", "--out", str(out)]) == 0
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
    assert cli.main(["--scenarios", "5", "--scale", "0.01", "--trend-cv", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vbcsim: error:") and "trend_cv" in err
    assert cli.main(["--scenarios", "5", "--scale", "0.01", "--out", str(tmp_path / "r.txt")]) == 2
    assert "out" in capsys.readouterr().err
    assert not (tmp_path / "r.txt").exists()


def test_failed_write_keeps_earlier_result(tmp_path, monkeypatch):
    out = tmp_path / "r.nc"
    assert cli.main(["--scenarios", "10", "--scale", "0.01", "--out", str(out)]) == 0
    before = out.read_bytes()

    def boom(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(OSError):
        cli.main(["--scenarios", "12", "--scale", "0.01", "--out", str(out)])
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
        [sys.executable, "-m", "vbcsim", "--scenarios", "10", "--scale", "0.01"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "PMPM" in proc.stdout
