"""vbcsim.funding: each figure against a plain numpy computation on the same results."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import vbcsim
from vbcsim.analysis.funding import (
    COMMITMENT_FEE,
    LINE_RATE,
    EquityPartner,
    LineOfCredit,
    PayerAdvance,
    Reserves,
    break_even_share,
    funding,
)

PARTIES = ["payer", "provider"]


def _cube(net, status_quo=None) -> xr.Dataset:
    """A cube by hand: the provider's results ``net`` under model "a"; model "b" and the payer 0."""
    net = np.asarray(net, dtype=float)
    full = np.zeros((net.size, 2, 2))
    full[:, 0, 1] = net
    data = {"net": (("scenario", "model", "party"), full)}
    if status_quo is not None:
        sq = np.zeros_like(full)
        sq[:, 0, 1] = status_quo
        data["status_quo_net"] = (("scenario", "model", "party"), sq)
    return xr.Dataset(
        data,
        coords={
            "scenario": np.arange(net.size),
            "model": ["a", "b"],
            "party": PARTIES,
            "model_key": ("model", ["ka", "kb"]),
        },
    )


def _results(seed=0, n=2_000):
    rng = np.random.default_rng(seed)
    return rng.normal(50.0, 400.0, n)


def _quantile(values, p):
    return float(np.quantile(values, p, method="inverted_cdf"))


STRUCTURES = [
    Reserves(),
    LineOfCredit(300.0, 0.1, 0.005),
    EquityPartner(0.3),
    EquityPartner(0.4, limit=200.0, label="capped_partner"),
    PayerAdvance(250.0),
    PayerAdvance(250.0, clawback=0.5, rate=0.02, unrecovered="forgiven", label="forgiven_advance"),
]


def test_every_figure_by_hand():
    x = _results()
    n = x.size
    r = 100.0
    f = funding(_cube(x), "a", reserves=r, structures=STRUCTURES, bad_year=0.95)
    assert f.attrs["basis"] == "net" and f.attrs["n_scenarios"] == n
    loss, gain = np.maximum(-x, 0), np.maximum(x, 0)
    short = np.maximum(loss - r, 0)
    bad = _quantile(-x, 0.95)
    caps = {
        "reserves": 0.0,
        "line_of_credit": 300.0,
        "equity_partner": math.inf,
        "capped_partner": 200.0,
        "payer_advance": 250.0,
        "forgiven_advance": 250.0,
    }
    line_drawn = np.minimum(short, 300.0)
    repaid_full = np.minimum(250.0, gain)
    repaid_half = np.minimum(250.0, 0.5 * gain)
    costs = {
        "reserves": np.zeros(n),
        "line_of_credit": 0.1 * line_drawn + 0.005 * (300.0 - line_drawn),
        "equity_partner": 0.3 * gain,
        "capped_partner": 0.4 * gain,
        "payer_advance": np.zeros(n),
        "forgiven_advance": np.full(n, 0.02 * 250.0),
    }
    funder = {
        "reserves": np.zeros(n),
        "line_of_credit": costs["line_of_credit"],
        "equity_partner": 0.3 * gain - short,
        "capped_partner": 0.4 * gain - np.minimum(short, 200.0),
        "payer_advance": np.zeros(n),
        "forgiven_advance": 5.0 - (250.0 - repaid_half),
    }
    outstanding = {
        "line_of_credit": line_drawn,
        "payer_advance": 250.0 - repaid_full,
    }
    for name, cap in caps.items():
        s = f.sel(structure=name)
        funded = np.minimum(short, cap)
        unfunded = short - funded
        p_need, p_ins = (short > 0).mean(), (unfunded > 0).mean()
        assert float(s.prob_need) == pytest.approx(p_need)
        assert float(s.prob_need_standard_error) == pytest.approx(math.sqrt(p_need * (1 - p_need) / n))
        assert float(s.prob_insolvent) == pytest.approx(p_ins)
        assert float(s.prob_insolvent_standard_error) == pytest.approx(math.sqrt(p_ins * (1 - p_ins) / n))
        for var, values in (
            ("expected_cost", costs[name]),
            ("expected_funded", funded),
            ("expected_unfunded", unfunded),
            ("funder_expected_result", funder[name]),
            ("expected_outstanding", outstanding.get(name, np.zeros(n))),
        ):
            assert float(s[var]) == pytest.approx(values.mean(), abs=1e-9), (name, var)
            se = values.std(ddof=1) / math.sqrt(n)
            assert float(s[f"{var}_standard_error"]) == pytest.approx(se, abs=1e-9), (name, var)
        assert float(s.funded_at_bad_year) == pytest.approx(min(max(bad - r, 0), cap))
        assert float(s.unfunded_at_bad_year) == pytest.approx(max(bad - r - cap, 0))
    assert float(f.loss_at_bad_year) == pytest.approx(bad)
    assert float(f.shortfall_at_bad_year) == pytest.approx(max(bad - r, 0))


def test_bad_year_standard_error_is_the_order_statistic_interval():
    x = _results(1, 1_000)
    r = 150.0
    f = funding(_cube(x), "a", reserves=r, structures=[LineOfCredit(200.0, 0.1)], bad_year=0.9)
    s = np.sort(-x)
    n, p = x.size, 0.9
    k, m = math.ceil(n * p), math.ceil(math.sqrt(n * p * (1 - p)))
    lo, hi = s[k - m - 1], s[k + m - 1]
    assert float(f.loss_at_bad_year) == s[k - 1]
    assert float(f.loss_at_bad_year_standard_error) == pytest.approx((hi - lo) / 2)
    g = lambda v: min(max(v - r, 0.0), 200.0)  # noqa: E731
    assert float(f.funded_at_bad_year_standard_error.item()) == pytest.approx((g(hi) - g(lo)) / 2)
    # fewer than 10 scenarios beyond the level: no usable error
    few = funding(_cube(x[:50]), "a", reserves=r, bad_year=0.9)
    assert math.isnan(float(few.loss_at_bad_year_standard_error))


def test_change_basis_and_model_key():
    x = _results(2, 500)
    sq = np.full(x.size, 1_000.0)
    ds = _cube(x + sq, sq)
    f = funding(ds, "ka", reserves=50.0, structures=[Reserves()])
    g = funding(_cube(x), "a", reserves=50.0, structures=[Reserves()])
    assert f.attrs["basis"] == "change" and f.attrs["model"] == "a"
    assert float(f.prob_insolvent.item()) == float(g.prob_insolvent.item())
    # on the net basis the fee-for-service margin covers the losses
    h = funding(ds, "a", reserves=50.0, structures=[Reserves()], basis="net")
    assert float(h.prob_need.item()) == (x + 1_000 < -50).mean()


def test_defaults_fund_the_bad_year():
    x = _results(3, 2_000)
    r = 100.0
    f = funding(_cube(x), "a", reserves=r)
    assert list(f.structure.values) == ["reserves", "line_of_credit", "equity_partner", "payer_advance"]
    need = _quantile(-x, 0.95) - r
    for name in ("line_of_credit", "equity_partner", "payer_advance"):
        assert float(f.unfunded_at_bad_year.sel(structure=name)) == 0.0
        assert float(f.funded_at_bad_year.sel(structure=name)) == pytest.approx(need)
    assert float(f.funder_expected_result.sel(structure="equity_partner")) == pytest.approx(0.0, abs=1e-6)
    cost = float(f.expected_cost.sel(structure="line_of_credit"))
    drawn = np.minimum(np.maximum(-x - r, 0), need)
    assert cost == pytest.approx((LINE_RATE * drawn + COMMITMENT_FEE * (need - drawn)).mean())


def test_break_even_share_by_hand():
    x = np.array([-300.0, -50.0, 100.0, 300.0])
    assert break_even_share(x, 100.0) == pytest.approx((200.0 / 4) / (400.0 / 4))
    assert break_even_share(x, 100.0, limit=80.0) == pytest.approx(80.0 / 400.0)
    assert math.isnan(break_even_share(-np.abs(x), 0.0))


_x = _results(4, 400)


@settings(deadline=None, max_examples=40)
@given(
    r1=st.floats(0, 1_500),
    r2=st.floats(0, 1_500),
    l1=st.floats(0, 2_000),
    l2=st.floats(0, 2_000),
    s1=st.floats(0, 1),
    s2=st.floats(0, 1),
)
def test_monotone_in_reserves_limit_and_share(r1, r2, l1, l2, s1, s2):
    (r1, r2), (l1, l2), (s1, s2) = sorted((r1, r2)), sorted((l1, l2)), sorted((s1, s2))
    ds = _cube(_x)

    def run(r, limit, share):
        structures = [
            Reserves(),
            LineOfCredit(limit, 0.1, 0.005),
            EquityPartner(share, limit=limit),
            PayerAdvance(limit),
        ]
        return funding(ds, "a", reserves=r, structures=structures)

    a, b = run(r1, l1, s1), run(r2, l1, s1)  # more reserves
    assert (b.prob_need <= a.prob_need).all()
    assert (b.prob_insolvent <= a.prob_insolvent).all()
    assert (
        float(b.expected_cost.sel(structure="line_of_credit"))
        <= float(a.expected_cost.sel(structure="line_of_credit")) + 1e-9
    )
    c = run(r1, l2, s1)  # a larger limit, line and advance
    assert (c.prob_insolvent <= a.prob_insolvent).all()
    assert (c.expected_unfunded <= a.expected_unfunded + 1e-9).all()
    assert (
        float(c.expected_cost.sel(structure="line_of_credit"))
        >= float(a.expected_cost.sel(structure="line_of_credit")) - 1e-9
    )
    d = run(r1, l1, s2)  # a larger share of gains
    for var in ("expected_cost", "funder_expected_result"):
        assert (
            float(d[var].sel(structure="equity_partner"))
            >= float(a[var].sel(structure="equity_partner")) - 1e-9
        )


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda ds: funding(ds, "nope", reserves=1.0), ValueError, "model"),
        (lambda ds: funding(ds, 3, reserves=1.0), TypeError, "model"),
        (lambda ds: funding(ds, "a", party="member", reserves=1.0), ValueError, "party"),
        (lambda ds: funding(ds, "a", reserves=-1.0), ValueError, "reserves"),
        (lambda ds: funding(ds, "a", reserves="1"), TypeError, "reserves"),
        (lambda ds: funding(ds, "a", reserves=1.0, bad_year=1.0), ValueError, "bad_year"),
        (lambda ds: funding(ds, "a", reserves=1.0, basis="gross"), ValueError, "basis"),
        (lambda ds: funding(ds, "a", reserves=1.0, basis="change"), ValueError, "change"),
        (lambda ds: funding(ds, "a", reserves=1.0, structures=[]), ValueError, "structures"),
        (lambda ds: funding(ds, "a", reserves=1.0, structures=[1.0]), TypeError, "structures"),
        (
            lambda ds: funding(ds, "a", reserves=1.0, structures=[Reserves(), Reserves()]),
            ValueError,
            "structures",
        ),
        (lambda ds: funding(ds.to_array(), "a", reserves=1.0), TypeError, "ds"),
        (lambda ds: LineOfCredit(100.0, 1.5), ValueError, "rate"),
        (lambda ds: LineOfCredit(100.0, 0.1, commitment_fee=-0.1), ValueError, "commitment_fee"),
        (lambda ds: LineOfCredit(-100.0, 0.1), ValueError, "limit"),
        (lambda ds: EquityPartner(1.2), ValueError, "share"),
        (lambda ds: EquityPartner(0.2, limit=-5.0), ValueError, "limit"),
        (lambda ds: PayerAdvance(-1.0), ValueError, "amount"),
        (lambda ds: PayerAdvance(1.0, clawback=2.0), ValueError, "clawback"),
        (lambda ds: PayerAdvance(1.0, rate=-0.5), ValueError, "rate"),
        (lambda ds: PayerAdvance(1.0, unrecovered="lost"), ValueError, "unrecovered"),
        (lambda ds: Reserves(label=""), TypeError, "label"),
    ],
)
def test_bad_input_names_the_argument(call, error, name):
    with pytest.raises(error, match=name):
        call(_cube(_results(5, 100)))


@pytest.mark.filterwarnings("ignore::UserWarning")  # a panel below the MSSP minimum: its MSR is derived
def test_on_a_small_comparison():
    pop = vbcsim.partnerships.registry.resize(vbcsim.defaults.provider_panel(), 1_000)
    ds = vbcsim.compare(pop, n_scenarios=200, seed=3)
    f = vbcsim.funding(ds, "risk-bearing network collaboration", reserves=50_000.0)
    x = (ds.net - ds.status_quo_net).sel(model="risk-bearing network collaboration", party="provider").values
    assert float(f.prob_need.isel(structure=0)) == pytest.approx((x < -50_000).mean())
    assert f.attrs["basis"] == "change"
