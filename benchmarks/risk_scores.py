"""The cost of risk scores and selection: `simulate` with them against the same run without.

    python benchmarks/risk_scores.py [--quick] [--sampler vector|scalar|both] [--case NAME ...]
                                     [--repeat R] [--json PATH]

Standard workload (as ``benchmarks/compare.py``): one segment of 100,000 members
with a hurdle-lognormal cost (80% of members with cost, mean $6,000 and CV 3
given cost), one per-member attachment at $50,000, 2,000 member-years per
member: 400 scenarios × 5 years or 2,000 × 1 year.  Cases: 5 years, 5 years
with 21.5% annual churn, 1 year.  Each case runs without scores, with
``RiskScore()`` (prospective, R² 0.12) and with ``RiskScore()`` and
``Selection(relative_cost=0.9)``, on 1 thread, timed in CPU seconds
(``time.process_time``: a shared machine's other load counts less), best of
``repeat`` interleaved rounds after a warm-up call of each.

The printed ratio is a run's time against the same case without scores; the
target of risk adjustment's issue is 1.5× for ``RiskScore()``.  It is printed,
never asserted: machines are noisy.  ``--quick`` (10,000 members, 1 round) only
checks that the script runs.  ``--json PATH`` also writes every figure (written
atomically).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import vbcsim
from vbcsim.results.io import check_text_path, write_text

#: the target of the risk-adjustment issue: a run with RiskScore() within 1.5× the time of one without
TARGET = 1.5
CHURN = 0.215  # the built-in panel's annual churn
CASES = (("5 years", 5, 0.0), ("5 years, 21.5% churn", 5, CHURN), ("1 year", 1, 0.0))
CASE_NAMES = {"5y": CASES[0], "5y-churn": CASES[1], "1y": CASES[2]}  # --case
RUNS = ("without", "RiskScore()", "RiskScore() and Selection(relative_cost=0.9)")


def population(members: int, churn: float, selection) -> vbcsim.Population:
    cost = vbcsim.Hurdle(0.8, vbcsim.Lognormal.from_mean_cv(6_000.0, 3.0))
    segment = vbcsim.Segment("members", members, cost, selection=selection, annual_churn=churn)
    return vbcsim.Population([segment])


def run_kwargs(run: str, members: int, churn: float) -> dict:
    """The population and the risk-score argument of one of ``RUNS``."""
    selection = vbcsim.Selection(relative_cost=0.9) if run == RUNS[2] else None
    score = None if run == RUNS[0] else vbcsim.RiskScore()
    return {"population": population(members, churn, selection), "risk_score": score}


def cpu_seconds(kwargs: dict, scenarios: int, years: int, sampler: str) -> float:
    start = time.process_time()
    vbcsim.simulate(
        kwargs["population"], n_scenarios=scenarios, seed=1, attachments=[50_000.0], years=years,
        threads=1, sampler=sampler, risk_score=kwargs["risk_score"],
    )  # fmt: skip
    return time.process_time() - start


def measure(members: int, member_years_per_member: int, repeat: int, samplers, cases=CASES) -> list[dict]:
    """One row per (case, sampler): member-years per second of each run and the ratios to the run without."""
    rows = []
    for label, years, churn in cases:
        scenarios = max(1, member_years_per_member // years)
        for sampler in samplers:
            runs = {run: run_kwargs(run, members, churn) for run in RUNS}
            for kwargs in runs.values():  # compile, or load numba's cache
                cpu_seconds(kwargs, 2, years, sampler)
            best = dict.fromkeys(RUNS, float("inf"))
            for _ in range(repeat):
                for run, kwargs in runs.items():
                    best[run] = min(best[run], cpu_seconds(kwargs, scenarios, years, sampler))
            member_years = scenarios * years * members
            rows.append(
                {
                    "case": label, "years": years, "churn": churn, "sampler": sampler, "scenarios": scenarios,
                    "members": members, "repeat": repeat,
                    "member_years_per_s": {run: member_years / best[run] for run in RUNS},
                    "time_ratio": {run: best[run] / best[RUNS[0]] for run in RUNS},
                }
            )  # fmt: skip
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        f"| case | sampler | {RUNS[0]} | {RUNS[1]} | {RUNS[2]} |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        rate, ratio = row["member_years_per_s"], row["time_ratio"]
        cells = [f"{rate[RUNS[0]] / 1e6:,.0f} M"] + [
            f"{rate[r] / 1e6:,.0f} M ({ratio[r]:.2f}×)" for r in RUNS[1:]
        ]
        lines.append(f"| {row['case']} | {row['sampler']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 members, 1 round: checks that it runs")
    parser.add_argument("--sampler", choices=("vector", "scalar", "both"), default="vector")
    parser.add_argument(
        "--case", nargs="+", choices=sorted(CASE_NAMES), help="only these cases (default: all three)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (best of)")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if args.members < 1:
        parser.error(f"--members must be at least 1, got {args.members}")
    if args.json:
        try:
            check_text_path(args.json, (".json",), name="--json")
        except (TypeError, ValueError) as exc:
            parser.error(str(exc))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    members, per_member, repeat = args.members, 2_000, args.repeat
    if args.quick:
        members, per_member, repeat = 10_000, 20, 1
    samplers = ("vector", "scalar") if args.sampler == "both" else (args.sampler,)
    cases = tuple(CASE_NAMES[name] for name in args.case) if args.case else CASES
    rows = measure(members, per_member, repeat, samplers, cases)
    print(
        f"{members:,} members, {per_member:,} member-years per member, 1 thread, CPU time, "
        f"best of {repeat} interleaved rounds; member-years per second and time against the run without"
    )
    print(table(rows))
    five = [r for r in rows if r["case"] == "5 years"]
    for row in five:
        ratio = row["time_ratio"][RUNS[1]]
        verdict = "within" if ratio <= TARGET else "above"
        print(
            f"5 years, {row['sampler']}: RiskScore() {ratio:.2f}× the run without, {verdict} the {TARGET}× target"
        )
    if args.json:
        write_text(json.dumps({"target": TARGET, "rows": rows}, indent=2), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
