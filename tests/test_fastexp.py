"""fast_exp and fast_log: the engine's branch-free exp and log, against libm."""

import math

import numpy as np
import pytest
from numba import njit

import vbcsim
from vbcsim.engine import _kernels as K
from vbcsim.engine._fastexp import _LG, FAST_EXP_LIMIT, MINIMAX_Q, fast_exp, fast_log
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


@njit(cache=True, error_model="numpy")
def _map_log(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = fast_log(x[i])
    return out


@pytest.mark.kernel
def test_log_within_one_ulp_of_libm():
    rng = np.random.default_rng(6)
    x = np.concatenate(
        [
            rng.random(20_000),  # Box–Muller's uniforms
            (np.arange(1, 2_001) * 2.0**-53),  # the smallest of them
            np.exp(rng.uniform(-700.0, 700.0, 20_000)),
            1.0 + rng.uniform(-1e-3, 1e-3, 20_000),  # near 1, where ln x is small
            np.array([1.0, 0.5, 2.0, math.sqrt(2.0), math.sqrt(0.5), np.nextafter(1.0, 0.0), 2.0**-1022]),
        ]
    )
    got = _map_log(x)
    want = np.log(x)
    nonzero = want != 0.0
    assert _ulps(got[nonzero], want[nonzero]).max() <= 1.0
    assert got[-7] == 0.0


def test_log_polynomial_error():
    # fdlibm's Lg1..Lg7 approximate R(z) = 2 atanh(s)/s − 2 (z = s²) within 2^-58.45 on |s| ≤ 0.1716
    ld = np.longdouble
    s = np.linspace(ld(1e-6), ld(0.1716), 100_001, dtype=ld)
    z = s * s
    r = np.zeros_like(z)
    for c in reversed(_LG):
        r = r * z + ld(c)
    exact = np.log1p(s) - np.log1p(-s)
    assert np.abs(r * z - (exact / s - 2)).max() < ld(2.0) ** -58
