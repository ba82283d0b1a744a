"""Smoke tests of the benchmark tools at tiny sizes: benchmarks/compare.py and the asv suite in benchmarks/benchmarks.

Nothing here asserts anything about speed: only that the tools run, that the
numpy baseline computes the same statistics as the engine, and that the memory
method measures what it claims.
"""

import importlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import vbcsim

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def compare():
    spec = importlib.util.spec_from_file_location("_vbcsim_bench_compare", BENCHMARKS / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def suite():
    saved_path = list(sys.path)
    saved = {k: v for k, v in sys.modules.items() if k == "benchmarks" or k.startswith("benchmarks.")}
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("benchmarks")
    finally:
        sys.path[:] = saved_path
        for k in [k for k in sys.modules if k == "benchmarks" or k.startswith("benchmarks.")]:
            del sys.modules[k]
        sys.modules.update(saved)


@pytest.mark.parametrize(
    ("members", "scenarios", "chunk"), [(50, 30, 7), (3, 40, 2), (1_000, 5, 1 << 16), (200, 3, 64)]
)
def test_numpy_baseline_equals_the_straightforward_form(compare, members, scenarios, chunk):
    # the chunked stream draws exactly the variates of the per-scenario form (same generator, same
    # order), whatever the chunk: chunks straddling scenarios, scenarios longer than a chunk, and
    # scenarios with no member with cost (3 members at p = 0.8)
    fast = compare.numpy_run(members, scenarios, seed=5, chunk=chunk, attachment=2_000.0)
    plain = compare.numpy_run_per_scenario(members, scenarios, seed=5, attachment=2_000.0)
    np.testing.assert_allclose(fast[0], plain[0], rtol=1e-12)
    np.testing.assert_allclose(fast[1], plain[1], rtol=1e-9, atol=1e-6)
    assert np.all(fast[1] >= 0.0) and np.all(fast[1] <= fast[0])


def test_numpy_baseline_reads_the_cost_distribution(compare):
    cost = vbcsim.Hurdle(0.5, vbcsim.Lognormal(5.0, 0.5))
    c, x = compare.numpy_run(4_000, 200, cost=cost, attachment=400.0)
    assert abs(c.mean() - 4_000 * cost.mean()) < 5 * c.std() / np.sqrt(200)
    assert abs(x.mean() - 4_000 * cost.stop_loss(400.0)) < 5 * x.std() / np.sqrt(200)


@pytest.mark.parametrize("sampler", [None, "vector", "scalar"])
def test_engine_and_baseline_agree(compare, sampler):
    engine = compare.engine_run(2_000, 200, threads=1, sampler=sampler)
    baseline = compare.numpy_run(2_000, 200)
    assert engine[0].shape == baseline[0].shape == (200,)
    result = compare.agreement(engine, baseline, 2_000)
    assert result["ok"], result
    # a baseline with the wrong statistics is caught
    wrong = compare.agreement(engine, (baseline[0] * 1.2, baseline[1]), 2_000)
    assert not wrong["ok"]


def test_throughput_and_five_model_figures(compare):
    tp = compare.throughput(1_000, 20, threads=2, repeat=1)
    # both samplers side by side: the scalar one (the previous engine) and the vector one (the default)
    assert set(tp["seconds"]) == {"numpy", "scalar_1", "scalar_2", "vector_1", "vector_2"}
    assert tp["default_sampler"] == "vector"
    assert tp["scaling"]["vector"] > 0 and tp["scaling"]["scalar"] > 0
    assert tp["vs_numpy"]["vector_2"] > 0 and tp["vector_vs_scalar"]["2_thread"] > 0
    assert tp["agreement"]["vector"]["ok"] and tp["agreement"]["scalar"]["ok"] and tp["agreement"]["ok"]
    assert tp["bitwise_different"]  # the sampler option took effect
    five = compare.five_model(300, 10, threads=2, repeat=1)
    assert set(five["seconds"]) == {"five", "eight", "five_no_pool", "one", "none"}
    assert five["models_in_eight"] > 5 and five["eight_over_five"] > 0
    assert five["simulated_members"]["five"] == 5 * five["simulated_members"]["five_no_pool"]
    assert five["one_model"] == "custom risk-based contract"


def test_quick_main_writes_json(compare, tmp_path, capsys):
    out = tmp_path / "figures.json"
    sizes = ["--members", "1000", "--scenarios", "20", "--repeat", "1", "--five-members", "300"]
    sizes += ["--five-scenarios", "10", "--large-members", "100000", "--flat-scenarios", "2"]
    assert compare.main(["--quick", "--json", str(out), *sizes]) == 0
    text = capsys.readouterr().out
    for heading in ("Standard workload", "Peak memory", "Five-model comparison", "Targets"):
        assert heading in text
    report = json.loads(out.read_text())
    assert report["mode"] == "quick" and report["throughput"]["agreement"]["ok"]
    assert "cold_first_call" not in report and report["warm_first_call"]["first_simulate_s"] > 0
    assert {t["figure"] for t in report["targets"]} >= {
        "five models / one model (no pool)",
        "vector / scalar sampler, 2 threads",
        "vector (2 threads) / numpy baseline",
        "vector scaling 1 -> 2 threads",
    }
    assert not list(tmp_path.glob(".compare-*"))  # the temporary file was renamed away
    rows = {(r["label"], r["kind"]): r for r in report["memory"]["rows"]}
    assert rows[("flat_large", "engine")]["members"] == 100_000
    if report["memory"]["method"] == "vmhwm-reset":
        # the calibration allocates and fills 64 MiB: the method must see it
        assert 60 <= rows[("calibration", "calibration")]["growth_mb"] <= 70


def test_risk_scores_script(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("_vbcsim_bench_risk", BENCHMARKS / "risk_scores.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "risk.json"
    assert module.main(["--quick", "--sampler", "both", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "RiskScore()" in text and "the 1.5× target" in text
    report = json.loads(out.read_text())
    assert report["target"] == 1.5
    assert {(r["case"], r["sampler"]) for r in report["rows"]} == {
        (case, sampler) for case, _, _ in module.CASES for sampler in ("vector", "scalar")
    }
    for row in report["rows"]:
        assert row["time_ratio"]["without"] == 1.0
        assert all(v > 0 for v in row["member_years_per_s"].values())
    assert not [
        p for p in tmp_path.iterdir() if p.name != "risk.json"
    ]  # written atomically: no temporaries left
    with pytest.raises(SystemExit):
        module.main(["--quick", "--json", str(tmp_path / "risk.csv")])
    with pytest.raises(SystemExit):
        module.main(["--repeat", "0"])
    with pytest.raises(SystemExit):
        module.main(["--case", "2y"])
    assert module.main(["--quick", "--case", "1y"]) == 0
    assert "| 1 year | vector |" in capsys.readouterr().out


def test_memory_fallback_method(compare, monkeypatch):
    # one child per measurement, ru_maxrss minus that of a child that only imports and warms up
    monkeypatch.setenv("VBCSIM_BENCH_MEMORY", "ru_maxrss")
    spec = {"label": "calibration", "kind": "calibration", "members": 64, "scenarios": 0, "threads": 1}
    result = compare.memory([spec], threads=1)
    assert result["method"] == "ru_maxrss-difference"
    row = result["rows"][0]
    # a lower bound: a transient peak of the baseline child's first calls hides up to its size
    assert 0 <= row["growth_mb"] <= 80 and row["ru_maxrss_mb"] >= result["interpreter_rss_mb"] + 60
    assert result["warm_first_call"]["import_s"] > 0


def test_asv_suite_runs_once_at_quick_params(suite):
    modules = suite.benchmark_modules()
    assert {m.__name__.rsplit(".", 1)[-1] for m in modules} == {
        "bench_sampling",
        "bench_settlement",
        "bench_compare",
        "bench_exact",
    }
    rows = suite.run_benchmarks(modules, quick=True, echo=None)
    names = {r["name"] for r in rows}
    assert "bench_exact.Aggregate.time_aggregate" in names
    assert "bench_sampling.FirstCall.timeraw_import_and_first_call" in names
    assert "bench_settlement.FiveModelSettlement.time_settle_models" in names
    settled = {r["params"][0] for r in rows if r["name"] == "bench_settlement.ContractSettlement.time_settle"}
    assert settled == set(importlib.import_module("benchmarks.bench_settlement").CONTRACTS)
    assert all(r["value"] > 0 for r in rows if r["name"].split(".")[-1].startswith("track_"))


def test_asv_conf(suite):
    conf = json.loads((BENCHMARKS / "asv.conf.json").read_text())
    assert conf["benchmark_dir"] == "benchmarks" and conf["repo"] == ".."
    assert conf["environment_type"] == "virtualenv"
    assert (BENCHMARKS / conf["benchmark_dir"] / "__init__.py").is_file()
