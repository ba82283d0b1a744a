"""The command line on every example and on many bad configurations: exit 0, or exit 2 and one line."""

from __future__ import annotations

import copy
import math
import subprocess
import sys
from pathlib import Path

import pytest

import vbcsim
from vbcsim.frontends import cli
from vbcsim.frontends.config import tomllib

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
BASE = tomllib.loads((ROOT / "examples" / "compare.toml").read_text())


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + "}"


def dumps(d: dict) -> str:
    """A TOML document of ``d``: one line per section, every table inline."""
    return "".join(f"{k} = {_value(v)}\n" for k, v in d.items())


def _leaves(d, path=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(d, list) and d and isinstance(d[0], dict):
        for i, v in enumerate(d):
            yield from _leaves(v, (*path, i))
    else:
        yield path, d


def _set(d, path, value):
    d = copy.deepcopy(d)
    node = d
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return d


#: case id -> the key its one-line message must name (the mutated leaf's)
NAMED: dict[str, str] = {}


def bad_configs() -> list[tuple[str, str]]:
    """(id, TOML text) of configurations that must all be refused, generated deterministically."""
    cases = []
    mutations = ("x", float("nan"), float("inf"), [], {"a": 1})
    for i, (path, value) in enumerate(_leaves(BASE)):
        if path[-1] == "name" or path[-1] == "type":
            continue  # any non-empty name is valid; types are mutated below
        m = mutations[i % len(mutations)]
        if isinstance(value, str) and m == "x":
            m = 1.5
        cases.append(("/".join(map(str, path)) + f"={m!r}", dumps(_set(BASE, path, m))))
        NAMED[cases[-1][0]] = str(path[-1])
    extra = {
        "unknown section": dumps({**BASE, "simulaton": {"seed": 1}}),
        "unknown key": dumps(_set(BASE, ("simulation", "seeds"), 1)),
        "unknown model key": dumps(_set(BASE, ("models", "custom_contract", "sharing"), 0.5)),
        "unknown model": dumps(_set(BASE, ("models", "nope"), {})),
        "unknown distribution": dumps(_set(BASE, ("population", "segments", 0, "cost", "type"), "weibull")),
        "seed negative": "[simulation]\nseed = -1\n",
        "seed float": "[simulation]\nseed = 1.5\n",
        "seed bool": "[simulation]\nseed = true\n",
        "threads 1000": "[simulation]\nthreads = 1000\n",
        "threads 0": "[simulation]\nthreads = 0\n",
        "n_scenarios 0": "[simulation]\nn_scenarios = 0\n",
        "scale inf": "[population]\nscale = inf\n",
        "scale -inf": "[population]\nscale = -inf\n",
        "scale nan": "[population]\nscale = nan\n",
        "scale 0": "[population]\nscale = 0\n",
        "scale 1e-9": "[population]\nscale = 1e-9\n",
        "scale 1e300": "[population]\nscale = 1e300\n",
        "scale string": '[population]\nscale = "big"\n',
        "members int64 max": dumps(_set(BASE, ("population", "segments", 0, "members"), 9223372036854775807)),
        "members 2**70": dumps(_set(BASE, ("population", "segments", 0, "members"), 2**70)),
        "members 0": dumps(_set(BASE, ("population", "segments", 0, "members"), 0)),
        "trend_cv 50": "[scenario_risk]\ntrend_cv = 50\n",
        "trend_cv -1": "[scenario_risk]\ntrend_cv = -1\n",
        "shock_probability 2": "[scenario_risk]\nshock_probability = 2\n",
        "compare empty": "[compare]\nmodels = []\n",
        "compare twice": '[compare]\nmodels = ["joint_venture", "joint_venture"]\n',
        "sizes empty": "[settlement_curve]\nsizes = []\n",
        "sizes negative": "[settlement_curve]\nsizes = [-5]\n",
        "section not a table": "simulation = 3\n",
        "malformed: unclosed table": "[simulation\nseed = 1\n",
        "malformed: no value": "[simulation]\nseed =\n",
        "malformed: duplicate key": "[simulation]\nseed = 1\nseed = 2\n",
        "malformed: bad string": '[simulation]\nseed = "1\n',
        "malformed: int overflow literal": "[simulation]\nseed = 0x\n",
    }
    cases += list(extra.items())
    return cases


BAD = bad_configs()


@pytest.fixture
def no_run(monkeypatch):
    """A configuration that gets as far as the run was accepted: fail the test there, fast."""

    def refused(*args, **kwargs):
        raise AssertionError("the run started: the configuration was accepted")

    monkeypatch.setattr(vbcsim, "compare", refused)


def test_enough_bad_configs():
    assert len(BAD) >= 50


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_run(example, capsys):
    assert cli.main(["compare", str(example), "--scenarios", "50"]) == 0
    out, err = capsys.readouterr()
    assert "Annual net result" in out and "Traceback" not in err


@pytest.mark.parametrize(("case", "text"), BAD, ids=[c for c, _ in BAD])
def test_bad_config_one_line(case, text, tmp_path, capsys, no_run):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert cli.main(["compare", str(path), "--scenarios", "20"]) == 2, case
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vbcsim compare: error: "), err
    assert "Traceback" not in err
    if case in NAMED:
        assert NAMED[case] in lines[0], (case, lines[0])


@pytest.mark.parametrize(
    "args",
    [
        ["--out", "/nonexistent-vbcsim-dir/r.nc"],
        ["--out", "/nonexistent-vbcsim-dir/r.zarr"],
        ["--out", "results.csv"],
        ["--plots", "/nonexistent-vbcsim-dir/figs"],
        ["--seed", "3", "--threads", "100000"],
    ],
    ids=["nc parent", "zarr parent", "suffix", "plots parent", "threads flag"],
)
def test_bad_paths_one_line(args, capsys, no_run):
    assert cli.main(["compare", "--scenarios", "20", *args]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0], lines


def test_missing_and_binary_config_files(tmp_path, capsys, no_run):
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00seed")
    for path in (tmp_path / "missing.toml", binary, tmp_path):
        assert cli.main(["compare", str(path)]) == 2
        assert len(capsys.readouterr().err.splitlines()) == 1


@pytest.mark.parametrize(
    "text",
    ["[population]\nscale = inf\n", "[simulation]\nseed = 18446744073709551616\nthreads = 1000\n"],
    ids=["scale inf", "threads 1000"],
)
def test_bad_config_subprocess(text, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "vbcsim", "compare", str(path), "--scenarios", "20"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
