"""fast_exp: the engine's branch-free exp, against math.exp."""

import math

import numpy as np
import pytest
from numba import njit

import vbcsim
from vbcsim.engine import _kernels as K
from vbcsim.engine._fastexp import FAST_EXP_LIMIT, MINIMAX_Q, fast_exp
from vbcsim.engine.driver import encode


@njit(cache=True)
def _map(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = fast_exp(x[i])
    return out


def _ulps(got, want):
    return np.abs(got - want) / np.spacing(np.abs(want))


@pytest.mark.kernel
def test_within_one_ulp_of_libm():
    rng = np.random.default_rng(5)
    x = np.concatenate(
        [
            rng.uniform(-FAST_EXP_LIMIT, FAST_EXP_LIMIT, 20_000),
            rng.uniform(-40.0, 40.0, 20_000),  # where the engine's lognormal logs live
            np.array([0.0, 1.0, -1.0, math.log(2.0), 0.5 * math.log(2.0), 699.0, -699.0, 1e-300]),
        ]
    )
    got = _map(x)
    want = np.exp(x)
    assert _ulps(got, want).max() <= 1.0
    assert got[-8] == 1.0 and got[-1] == 1.0


@pytest.mark.kernel
def test_scalar_call_matches_loop():
    for v in (-3.2, 0.0, 7.5, 21.0):
        assert fast_exp(v) == _map(np.array([v]))[0]


def test_fast_path_choice():
    lognormal = encode(vbcsim.Lognormal(7.0, 1.5))
    spliced = encode(vbcsim.Spliced(vbcsim.Lognormal(7.0, 1.5), vbcsim.Pareto(2.5, 1e5), 1e5))
    assert K.lognormal_path(lognormal) == 1
    assert K.lognormal_path(encode(vbcsim.Hurdle(0.8, vbcsim.Lognormal(7.0, 1.5)))) == 1
    assert K.lognormal_path(spliced) == 2
    # gamma bodies, compound members and logs that could leave fast_exp's range take the general path
    assert K.lognormal_path(encode(vbcsim.Gamma(2.0, 100.0))) == 0
    assert K.lognormal_path(encode(vbcsim.Compound(vbcsim.Poisson(1.0), vbcsim.Lognormal(7.0, 1.0)))) == 0
    assert K.lognormal_path(encode(vbcsim.Lognormal(650.0, 3.6))) == 0


def test_minimax_polynomial_error():
    # the polynomial alone, in extended precision on a fine grid of |r| <= ln 2 / 2: fitted to a
    # relative error of 3.7e-18, it errs by at most 1.1e-17 with its coefficients rounded to
    # doubles, a tenth of a double's own rounding (1.1e-16), so fast_exp's error is its arithmetic's
    ld = np.longdouble
    h = ld(0.5) * np.log(ld(2.0))
    r = np.linspace(-h, h, 200_001, dtype=ld)
    q = np.zeros_like(r)
    for c in reversed(MINIMAX_Q):
        q = q * r + ld(c)
    rel = (1 + r + r * r * q) / np.exp(r) - 1
    assert np.abs(rel).max() < 1.1e-17
