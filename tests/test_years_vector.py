"""The multi-year kernel on the lanes (``vbcsim.engine._years_vector``) against exact values.

``segment_block_years_vector`` draws from other streams than ``segment_block_years``, so it
is checked in distribution, not bit for bit:

* every year's per-scenario totals: the mean of Σ X and of Σ (X − a)+ against members ×
  ``dist.mean()`` and members × ``dist.stop_loss(a)`` (views with factors, several
  attachments, each severity map, churn);
* the member model on the test hook ``member_paths_vector``: each cost the numpy reference
  map of its states, the normals exactly N(0, 1) (year-0 latents and innovations; the base
  strip's tail, drawn only by the fix-ups), the occurrence chain, the persistence statistic
  and churn;
* risk scores and selection: every output's mean equals the scalar kernel's (both exact);
* determinism for a seed whatever the order and thread of the blocks; the hook is the
  block's first scenario.

Tolerances as in test_multi_year.py: means within 4 standard errors (SE from the sample),
goodness-of-fit p-values above 1e-4.  Seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import special, stats

import vbcsim
from vbcsim.engine import _years as KY
from vbcsim.engine import _years_vector as YV
from vbcsim.engine import driver
from vbcsim.engine.rng import ZIGGURAT_R, block_state, root_key
from vbcsim.population.persistence import Persistence, member_costs, persistence_statistics
from vbcsim.population.risk import RiskScore, Selection

Z_TOL = 4.0
P_MIN = 1e-4

LOGNORMAL = vbcsim.Hurdle(0.8, vbcsim.Lognormal(7.0, 1.6))
STANDARD = vbcsim.Hurdle(0.8, vbcsim.Lognormal.from_mean_cv(6_000.0, 3.0))
SPLICED = vbcsim.Hurdle(
    0.85, vbcsim.Spliced(vbcsim.Lognormal(7.5, 1.5), vbcsim.Pareto(2.5, 100_000.0), 100_000.0, 0.005)
)
GAMMA = vbcsim.Gamma(1.5, 2000.0)
COMPOUND = vbcsim.Compound(vbcsim.Poisson(2.0), vbcsim.Lognormal(6.0, 1.0))


def paths(dist, n, years, rho, churn, seed=1, block=(0, 0), risk=None, table=None):
    """The hook's slots: (occurrence, latent, cost, joined, weight, score, latent before)."""
    yp = driver.encode_years(dist, rho, churn, years, risk, table)
    key0, key1 = root_key(seed)
    return YV.member_paths_vector(
        yp.prm, yp.mode, yp.table, yp.z0, yp.dz, yp.p, yp.p11, yp.p01, yp.rho, yp.churn,
        n, years, key0, key1, *block, yp.risk, yp.score_table,
    )  # fmt: skip


def run(yp, members, scenarios, factors_row, attachments, *, seed=3, segment=0, threads=1, order=None,
        kernel=YV.segment_block_years_vector):  # fmt: skip
    """``kernel`` over a run's blocks (the driver's layout): every output, rows scenario × years + year."""
    years = yp.years
    rows = scenarios * years
    factors = np.tile(np.asarray(factors_row, dtype=float), (rows, 1))
    att = np.asarray(attachments, dtype=float)
    n_views, n_att = att.shape
    key0, key1 = root_key(seed)
    out = {
        "cost": np.zeros((rows, n_views)),
        "excess": np.zeros((rows, n_views, n_att)),
        "joiners": np.zeros(rows),
        "ref_cost": np.zeros((rows, n_views)),
        "ref_excess": np.zeros((rows, n_views, n_att)),
        "scores": np.zeros((rows, 3)),
    }
    blocks = [b for b in driver.block_layout([members], scenarios, years)]
    blocks = [driver.Block(segment, b.index, b.start, b.stop) for b in blocks]

    def one(b):
        r = driver.block_rows(b, years)
        kernel(
            yp.prm, yp.mode, yp.table, yp.z0, yp.dz, yp.p, yp.p11, yp.p01, yp.rho, yp.churn, members, years,
            factors[r], att, key0, key1, b.segment, b.index, out["cost"][r], out["excess"][r],
            out["joiners"][r], yp.risk, yp.score_table, out["ref_cost"][r], out["ref_excess"][r],
            out["scores"][r],
        )  # fmt: skip

    blocks = blocks if order is None else [blocks[i] for i in order(len(blocks))]
    if threads == 1:
        for b in blocks:
            one(b)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, blocks))
    return out


def z_score(x, exact):
    return (x.mean() - exact) / (x.std(ddof=1) / np.sqrt(x.size))


# -- the block kernel against exact values --------------------------------------------------------


@pytest.mark.parametrize(
    ("dist", "churn", "factors_row", "attachments"),
    [
        pytest.param(STANDARD, 0.0, [1.0], [[50_000.0]], id="standard"),
        pytest.param(LOGNORMAL, 0.215, [1.0, 1.2], [[20_000.0, 60_000.0], [10_000.0, np.inf]], id="ln-churn"),
        pytest.param(SPLICED, 0.215, [1.0], [[50_000.0]], id="spliced-table-churn"),
        pytest.param(GAMMA, 0.1, [1.0, 0.9], [[5_000.0], [8_000.0]], id="gamma-table"),
        pytest.param(COMPOUND, 0.2, [1.0], [[5_000.0]], id="compound"),
    ],
)
def test_each_year_mean_and_stop_loss(dist, churn, factors_row, attachments):
    members, years, scenarios = 2_000, 3, 300
    yp = driver.encode_years(dist, 0.7, churn, years)
    out = run(yp, members, scenarios, factors_row, attachments)
    for y in range(years):
        rows = np.arange(scenarios) * years + y
        for v, f in enumerate(factors_row):
            assert abs(z_score(out["cost"][rows, v], members * f * dist.mean())) < Z_TOL
            for k, a in enumerate(attachments[v]):
                x = out["excess"][rows, v, k]
                if np.isinf(a):
                    assert np.all(x == 0.0)
                else:  # (f X - a)+ = f (X - a / f)+
                    assert abs(z_score(x, members * f * float(dist.stop_loss(a / f)))) < Z_TOL
        expected_joiners = members if y == 0 else None
        if expected_joiners is not None:
            assert np.all(out["joiners"][rows] == members)
        elif churn > 0:
            share = out["joiners"][rows].sum() / (members * scenarios)
            assert abs(share - churn) <= Z_TOL * np.sqrt(churn * (1 - churn) / (members * scenarios))
        else:
            assert np.all(out["joiners"][rows] == 0)
    assert np.all(out["scores"] == members)  # no risk scores: Σ w = Σ w s = Σ s = members


def test_zero_members_and_partial_batches():
    yp = driver.encode_years(LOGNORMAL, 0.7, 0.2, 2)
    key0, key1 = root_key(3)
    cost, excess, joiners = np.ones((6, 1)), np.ones((6, 1, 1)), np.ones(6)
    YV.segment_block_years_vector(
        yp.prm, yp.mode, yp.table, yp.z0, yp.dz, yp.p, yp.p11, yp.p01, yp.rho, yp.churn, 0, 2,
        np.ones((6, 1)), np.full((1, 1), 10.0), key0, key1, 0, 0, cost, excess, joiners, yp.risk,
        yp.score_table, np.zeros((6, 1)), np.zeros((6, 1, 1)), np.zeros((6, 3)),
    )  # fmt: skip
    assert np.all(cost == 0.0) and np.all(excess == 0.0) and np.all(joiners == 0.0)
    # sizes around the lanes' rows (64) and the batches (256): the block's first scenario is the hook's
    for members in (1, 63, 65, 257, 700):
        out = run(yp, members, 1, [1.0], [[5_000.0]], segment=2)
        _, _, x, joined, _, _, _ = paths(LOGNORMAL, members, 2, 0.7, 0.2, seed=3, block=(2, 0))
        np.testing.assert_allclose(out["cost"][:, 0], x.sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(
            out["excess"][:, 0, 0], np.maximum(x - 5_000.0, 0.0).sum(axis=0), rtol=1e-12
        )
        np.testing.assert_array_equal(out["joiners"], joined.sum(axis=0))


# -- the member model on the hook -----------------------------------------------------------------


@pytest.mark.parametrize("dist", [LOGNORMAL, SPLICED, GAMMA], ids=["lognormal", "spliced", "gamma"])
def test_costs_are_the_reference_map_of_the_states(dist):
    """Each member-year's cost is the numpy reference's map of its states (4,000 slots: a partial batch)."""
    occ, lat, cost, _, _, _, _ = paths(dist, 4_000, 3, 0.7, 0.2)
    ref = member_costs(dist, np.where(occ > 0, np.inf, -np.inf), lat)
    # lognormal: fast_exp within 1 ulp; other families: the quantile table, within 1e-5 relative
    np.testing.assert_allclose(cost, ref, rtol=1e-12 if dist is LOGNORMAL else 1e-5, atol=0)


def test_normals_are_exactly_standard():
    """Year-0 latents and the innovations of the next year are N(0, 1): KS and a 100-bin chi-square, and
    the frequency of |z| beyond the ziggurat's base strip (only the fix-ups draw there)."""
    rho = 0.6
    n = 200_000
    _, lat, _, _, _, _, _ = paths(LOGNORMAL, n, 2, rho, 0.0, seed=5)
    z = np.concatenate([lat[:, 0], (lat[:, 1] - rho * lat[:, 0]) / np.sqrt(1.0 - rho * rho)])
    assert stats.kstest(z, special.ndtr).pvalue > P_MIN
    counts = np.histogram(z, special.ndtri(np.linspace(0.0, 1.0, 101)))[0]
    assert stats.chisquare(counts).pvalue > P_MIN
    p_tail = 2.0 * special.ndtr(-ZIGGURAT_R)
    k = np.count_nonzero(np.abs(z) > ZIGGURAT_R)
    assert abs((k - z.size * p_tail) / np.sqrt(z.size * p_tail * (1 - p_tail))) < 4.5
    assert abs(np.corrcoef(lat[:, 0], lat[:, 1])[0, 1] - rho) < Z_TOL * (1 - rho * rho) / np.sqrt(n)


def test_each_year_has_the_segment_distribution():
    n, years = 40_000, 4
    _, _, cost, _, _, _, _ = paths(SPLICED, n, years, 0.8, 0.1, seed=3)
    for y in range(years):
        x = cost[:, y]
        assert abs(z_score(x, SPLICED.mean())) < Z_TOL
        assert abs((x > 0).mean() - 0.85) <= Z_TOL * np.sqrt(0.85 * 0.15 / n)
        assert stats.kstest(x[x > 0], SPLICED.severity.cdf).pvalue > P_MIN


@pytest.mark.parametrize(
    "persistence", [Persistence(), Persistence(top_decile_stay=0.6), Persistence(rank_correlation=0.5)]
)
def test_persistence_statistic_recovered(persistence):
    """The statistic of two consecutive years matches the target the latent correlation was set for."""
    rho = persistence.latent_correlation(LOGNORMAL)
    _, _, cost, _, _, _, _ = paths(LOGNORMAL, 60_000, 2, rho, 0.0, seed=5)
    got = persistence_statistics(cost[:, 0], cost[:, 1])
    name, value = persistence.statistic
    assert abs(got[name] - value) <= Z_TOL * got[f"{name}_se"]


def test_occurrence_chain_keeps_the_hurdle_each_year():
    n = 80_000
    occ, _, _, _, _, _, _ = paths(LOGNORMAL, n, 5, 0.8, 0.0, seed=13)
    p11, _ = driver.occurrence_transitions(0.8, 0.8)
    assert np.all(np.abs(occ.mean(axis=0) - 0.8) <= Z_TOL * np.sqrt(0.16 / n))
    had = occ[:, 0] > 0
    assert abs((occ[had, 1] > 0).mean() - p11) <= Z_TOL * np.sqrt(p11 * (1 - p11) / had.sum())


def test_churn_share_and_fresh_states():
    churn, n, years = 0.215, 50_000, 5
    occ, lat, _, joined, _, _, _ = paths(LOGNORMAL, n, years, 0.9, churn, seed=9)
    assert joined[:, 0].all()
    share = joined[:, 1:].mean(axis=0)
    assert np.all(np.abs(share - churn) <= Z_TOL * np.sqrt(churn * (1 - churn) / n))
    new = joined[:, 1]
    # a new member's states are fresh: independent of the slot's previous member's
    assert abs(np.corrcoef(lat[new, 0], lat[new, 1])[0, 1]) < Z_TOL / np.sqrt(new.sum())
    assert abs((occ[new, 1] > 0).mean() - 0.8) <= Z_TOL * np.sqrt(0.16 / new.sum())
    kept = ~new
    assert np.corrcoef(lat[kept, 0], lat[kept, 1])[0, 1] == pytest.approx(0.9, abs=0.01)


# -- risk scores and selection --------------------------------------------------------------------


TWO_VIEWS = ([1.0, 1.1], [[30_000.0], [60_000.0]])
ONE_VIEW = ([1.0], [[30_000.0]])


@pytest.mark.parametrize(
    ("dist", "risk_score", "selection", "views", "churn"),
    [
        pytest.param(
            LOGNORMAL, RiskScore(), Selection(relative_cost=0.9), TWO_VIEWS, 0.2, id="prospective-tilt"
        ),
        pytest.param(
            SPLICED, RiskScore(), Selection(relative_cost=1.1), ONE_VIEW, 0.2, id="table-tilt-one-view"
        ),
        pytest.param(SPLICED, RiskScore.concurrent(), None, TWO_VIEWS, 0.2, id="concurrent-table"),
        pytest.param(LOGNORMAL, None, Selection(exclude_top=0.05), ONE_VIEW, 0.2, id="exclude-one-view"),
        # prospective scores without selection: stayers scored before the year's update
        pytest.param(LOGNORMAL, RiskScore(), None, ONE_VIEW, 0.0, id="prospective-no-churn"),
        pytest.param(LOGNORMAL, RiskScore(), None, TWO_VIEWS, 0.2, id="prospective-churn"),
        pytest.param(SPLICED, RiskScore(), None, ONE_VIEW, 0.0, id="prospective-table-no-churn"),
        # selection without joiners after year 0: every weight and score computed before the update
        pytest.param(LOGNORMAL, RiskScore(), Selection(relative_cost=0.9), TWO_VIEWS, 0.0, id="tilt-0"),
        pytest.param(
            SPLICED, RiskScore.concurrent(), Selection(exclude_top=0.05), ONE_VIEW, 0.0, id="conc-excl-0"
        ),
    ],
)
def test_risk_outputs_match_the_scalar_kernel(dist, risk_score, selection, views, churn):
    """Every output (panel and population sums, score sums, joiners) has the scalar kernel's mean:
    two-sample z within 4.5 (both kernels are exact; many outputs are compared)."""
    rho, years, members, scenarios = 0.7, 3, 1_500, 200
    risk, table = driver.encode_risk(dist, rho, risk_score, selection)
    yp = driver.encode_years(dist, rho, churn, years, risk, table, True)
    vec = run(yp, members, scenarios, *views, seed=4)
    ref = run(yp, members, scenarios, *views, seed=4, kernel=KY.segment_block_years)
    names = ["cost", "excess", "joiners", "scores"] + (["ref_cost", "ref_excess"] if selection else [])
    for name in names:
        a = vec[name].reshape(scenarios, years, -1)
        b = ref[name].reshape(scenarios, years, -1)
        se = np.sqrt((a.var(axis=0, ddof=1) + b.var(axis=0, ddof=1)) / scenarios)
        diff = a.mean(axis=0) - b.mean(axis=0)
        fixed = se == 0.0  # e.g. joiners in year 0, Σ w without selection: equal exactly
        assert np.all(diff[fixed] == 0.0), name
        assert np.all(np.abs(diff[~fixed]) < 4.5 * se[~fixed]), name


@pytest.mark.parametrize("churn", [0.3, 0.7], ids=["joiners-gathered", "every-slot"])
@pytest.mark.parametrize(
    "selection", [Selection(relative_cost=0.85), Selection(exclude_top=0.05)], ids=["tilt", "exclude"]
)
def test_risk_draws_of_joiners_and_stayers(selection, churn):
    """The latent of the year before that selection and a prospective score read: a stayer's own, a
    joiner's drawn from its law given this year's, ρ b + √(1 − ρ²) e with e ~ N(0, 1); the weights are
    the selection's map of it; a lognormal score's noise η is drawn when the member joins and kept
    while it stays; a prospective score of a member new after year 0 is 1."""
    rho, n, years = 0.7, 60_000, 3
    rs = RiskScore()
    risk, table = driver.encode_risk(LOGNORMAL, rho, rs, selection)
    occ, lat, _, joined, w, s, h = paths(LOGNORMAL, n, years, rho, churn, seed=17, risk=risk, table=table)
    root = np.sqrt(1.0 - rho * rho)
    e = (h - rho * lat) / root
    assert stats.kstest(e[joined], special.ndtr).pvalue > P_MIN
    np.testing.assert_array_equal(h[:, 1:][~joined[:, 1:]], lat[:, :-1][~joined[:, 1:]])
    if risk[KY.R_SELECT] == 1.0:
        k = risk[KY.R_SELECT_A]
        np.testing.assert_allclose(w, np.exp(-k * h - 0.5 * k * k), rtol=1e-12)
    else:
        np.testing.assert_array_equal(w, np.where(h <= risk[KY.R_SELECT_A], risk[KY.R_SELECT_B], 0.0))
    # s = exp(a h + b η + shift) for members scored on their history: η from the scores
    sig, c, lam = risk[KY.R_SIGMA], risk[KY.R_C], risk[KY.R_LAMBDA]
    a, b = sig * c * lam, sig * c * np.sqrt(1.0 - lam * lam)
    eta = (np.log(s) - a * h + 0.5 * sig * sig * c * c) / b
    scored = np.ones_like(joined)
    scored[:, 1:] = ~joined[:, 1:]
    assert np.all(s[~scored] == 1.0)
    assert stats.kstest(eta[:, 0], special.ndtr).pvalue > P_MIN  # year 0: every member's fresh noise
    stay = ~joined[:, 1] & ~joined[:, 2]
    np.testing.assert_allclose(eta[stay, 2], eta[stay, 0], atol=1e-9)
    assert abs(s[scored].mean() - 1.0) < Z_TOL * s[scored].std(ddof=1) / np.sqrt(scored.sum())


def test_prospective_scores_of_stayers_without_churn():
    """Without churn or selection every batch-year after year 0 is scored before the update: a member's
    score is exp(a b₋ + b η + shift) on its own latent of the year before and the noise η it drew in
    year 0, every year."""
    rho, n, years = 0.7, 20_000, 3
    risk, table = driver.encode_risk(LOGNORMAL, rho, RiskScore(), None)
    _, lat, _, joined, w, s, h = paths(LOGNORMAL, n, years, rho, 0.0, seed=29, risk=risk, table=table)
    assert joined[:, 0].all() and not joined[:, 1:].any()
    assert np.all(w == 1.0)
    np.testing.assert_array_equal(h[:, 1:], lat[:, :-1])
    sig, c, lam = risk[KY.R_SIGMA], risk[KY.R_C], risk[KY.R_LAMBDA]
    a, b, shift = sig * c * lam, sig * c * np.sqrt(1.0 - lam * lam), -0.5 * sig * sig * c * c
    eta = (np.log(s[:, 0]) - a * h[:, 0] - shift) / b
    assert stats.kstest(eta, special.ndtr).pvalue > P_MIN
    np.testing.assert_allclose(s[:, 1:], np.exp(a * h[:, 1:] + b * eta[:, None] + shift), rtol=1e-9)


@pytest.mark.parametrize("churn", [0.3, 0.7], ids=["joiners-gathered", "every-slot"])
def test_score_noise_of_later_joiners(churn):
    """Prospective scores without selection: a stayer is scored before the year's update from its own
    latent of the year before; a member joining after year 0 scores 1 that year and draws its noise η
    then (gathered joiners share Box–Muller pairs when at most half the slots join), N(0, 1) and
    independent of its latent, which its score reveals the year after."""
    rho, n, years = 0.7, 60_000, 3
    risk, table = driver.encode_risk(LOGNORMAL, rho, RiskScore(), None)
    _, lat, _, joined, w, s, h = paths(LOGNORMAL, n, years, rho, churn, seed=23, risk=risk, table=table)
    assert np.all(w == 1.0)
    assert np.all(s[:, 1:][joined[:, 1:]] == 1.0)
    np.testing.assert_array_equal(h[:, 1:][~joined[:, 1:]], lat[:, :-1][~joined[:, 1:]])
    # nothing reads a later joiner's latent of the year before
    assert np.all(np.isnan(h[:, 1:][joined[:, 1:]]))
    sig, c, lam = risk[KY.R_SIGMA], risk[KY.R_C], risk[KY.R_LAMBDA]
    a, b = sig * c * lam, sig * c * np.sqrt(1.0 - lam * lam)
    later = joined[:, 1] & ~joined[:, 2]  # joined in year 1, stayed in year 2: scored on its history
    eta = (np.log(s[later, 2]) - a * lat[later, 1] + 0.5 * sig * sig * c * c) / b
    assert later.sum() > 5_000
    assert np.unique(eta).size == eta.size  # a normal of its own: no pair's half given twice
    assert stats.kstest(eta, special.ndtr).pvalue > P_MIN
    assert abs(np.corrcoef(eta, lat[later, 1])[0, 1]) < Z_TOL / np.sqrt(later.sum())


# -- determinism and streams ----------------------------------------------------------------------


def test_deterministic_whatever_the_order_and_threads():
    yp = driver.encode_years(SPLICED, 0.7, 0.215, 3)
    args = (yp, 30_000, 40, [1.0, 1.1], [[50_000.0], [80_000.0]])
    first = run(*args)
    again = run(*args)
    reordered = run(*args, order=lambda n: list(range(n))[::-1], threads=2)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
        np.testing.assert_array_equal(first[name], reordered[name])
    other = run(*args, seed=4)
    assert not np.array_equal(first["cost"], other["cost"])
    # another block of the same seed draws other members
    blocks = driver.block_layout([30_000], 40, 3)
    assert len(blocks) > 1
    per_block = [first["cost"][driver.block_rows(b, 3)] for b in blocks[:2]]
    assert not np.array_equal(per_block[0][:3], per_block[1][:3])


def test_streams_are_new():
    assert YV.STREAM_YEAR_LANES not in (1, 2, 3, 4) and YV.STREAM_YEAR_SCALAR not in (1, 2, 3, 4)
    assert YV.STREAM_YEAR_LANES != YV.STREAM_YEAR_SCALAR
    key0, key1 = root_key(7)
    states = set()
    for segment in range(2):
        for chunk in range(2):
            lanes = YV.year_lane_states(key0, key1, segment, chunk)
            states.update(zip(lanes[0].tolist(), lanes[1].tolist(), strict=True))
            for stream in (1, 2, 3, 4, YV.STREAM_YEAR_SCALAR):
                states.add(tuple(int(v) for v in block_state(key0, key1, stream, segment, chunk)))
    assert len(states) == 2 * 2 * (YV.LANES + 5)


# -- a tiny run, also as plain Python ---------------------------------------------------------------


@pytest.mark.kernel
@pytest.mark.parametrize("dist", [LOGNORMAL, SPLICED, COMPOUND], ids=["lognormal", "spliced", "compound"])
def test_small_kernel_run(dist):
    """A few members through the kernel (run again in CI with the kernels as plain Python): the costs
    are the reference map of the states, churn leaves fresh states, the block sums its first scenario."""
    occ, lat, cost, joined, _, _, _ = paths(dist, 70, 3, 0.6, 0.3, seed=21, block=(1, 0))
    if dist is not COMPOUND:
        ref = member_costs(dist, np.where(occ > 0, np.inf, -np.inf), lat)
        np.testing.assert_allclose(cost, ref, rtol=1e-5 if dist is SPLICED else 1e-12)
    assert joined[:, 0].all() and 0 < joined[:, 1:].sum() < joined[:, 1:].size
    assert np.all(cost[occ == 0] == 0.0)
    if dist is not COMPOUND:  # a compound cost with no claim is 0
        assert np.all(cost[occ > 0] > 0.0)
    yp = driver.encode_years(dist, 0.6, 0.3, 3)
    out = run(yp, 70, 2, [1.0], [[3_000.0]], seed=21, segment=1)
    np.testing.assert_allclose(out["cost"][:3, 0], cost.sum(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(out["joiners"][:3], joined.sum(axis=0))
    assert np.all(out["excess"][:, 0, 0] <= out["cost"][:, 0])
