"""Random numbers for the numba engine: seeding by logical block.

The engine never shares a generator between threads.  Work is cut into fixed
logical blocks (a segment × a run of scenarios) whose layout depends only on
the population, never on the number of threads or workers; each block starts
its own generator from a key derived from the root seed and the block's
indices.  A given seed therefore gives bitwise-identical results whatever the
thread count, and the first ``n`` scenarios of a longer run equal a run of
``n`` scenarios.

Generator: xoroshiro128++ (Blackman & Vigna, "Scrambled linear pseudorandom
number generators", ACM TOMS 47(4), 2021): 128 bits of state, period 2^128 − 1,
passes BigCrush, and is a handful of integer instructions per draw, so it
inlines into the member loop.  Block states are derived with SplitMix64, the
seeding procedure its authors recommend, from a 128-bit root key that
``numpy.random.SeedSequence`` makes from the user's seed.

Normal variates use the 256-layer ziggurat of Marsaglia & Tsang ("The
Ziggurat Method for Generating Random Variables", J. Stat. Softw. 5(8), 2000)
in the 64-bit form numpy's ``Generator.standard_normal`` uses; its tables are
built below from the published constants.  Where many normals are drawn at once in
vectorised loops and a table's gathers would dominate (a joining member's risk-score draws in
:mod:`vbcsim.engine._years_vector`), :func:`normal_pair` makes two by the Box–Muller transform
(Box & Muller, "A Note on the Generation of Random Normal Deviates", Ann. Math. Statist. 29(2),
1958) from two words, branch-free.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vbcsim.engine._fastexp import fast_log, horner

__all__ = ["root_key", "block_state", "next_uint64", "uniform", "standard_normal", "normal_pair"]

_U = np.uint64
_MASK52 = _U(0x000FFFFFFFFFFFFF)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2^-53

# Ziggurat constants for 256 layers: right-most layer edge r and common area v
# (Marsaglia & Tsang 2000; the same values numpy uses).
ZIGGURAT_R = 3.6541528853610088
ZIGGURAT_V = 0.00492867323399


def _ziggurat_tables(n: int = 256, r: float = ZIGGURAT_R, v: float = ZIGGURAT_V, bits: int = 52):
    """Layer tables (k_i as integers, w_i and f_i as floats), Marsaglia & Tsang's zigset."""
    m = float(2**bits)
    ki = np.zeros(n, dtype=np.uint64)
    wi = np.zeros(n)
    fi = np.zeros(n)
    dn = tn = r
    q = v / math.exp(-0.5 * dn * dn)
    ki[0] = np.uint64(int((dn / q) * m))
    ki[1] = np.uint64(0)
    wi[0] = q / m
    wi[n - 1] = dn / m
    fi[0] = 1.0
    fi[n - 1] = math.exp(-0.5 * dn * dn)
    for i in range(n - 2, 0, -1):
        dn = math.sqrt(-2.0 * math.log(v / dn + math.exp(-0.5 * dn * dn)))
        ki[i + 1] = np.uint64(int((dn / tn) * m))
        tn = dn
        fi[i] = math.exp(-0.5 * dn * dn)
        wi[i] = dn / m
    return ki, wi, fi


_k, ZIG_W, ZIG_F = _ziggurat_tables()
ZIG_K = _k.astype(np.int64)  # every k_i < 2^52
_ZIG_INV_R = 1.0 / ZIGGURAT_R


def root_key(seed) -> np.ndarray:
    """The 128-bit root key (two uint64) for a user seed (a non-negative int or a SeedSequence)."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return ss.generate_state(2, np.uint64)


@njit(nogil=True, cache=True)
def _splitmix64(x):
    # Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014
    z = x + _U(0x9E3779B97F4A7C15)
    z = (z ^ (z >> _U(30))) * _U(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U(27))) * _U(0x94D049BB133111EB)
    return z ^ (z >> _U(31))


@njit(nogil=True, cache=True)
def block_state(key0, key1, stream, a, b):
    """A fresh xoroshiro128++ state (s0, s1) for logical block (stream, a, b) of the root key."""
    h = _splitmix64(_U(key0) ^ _splitmix64(_U(stream)))
    h = _splitmix64(h ^ _splitmix64(_U(a) + _U(key1)))
    h = _splitmix64(h ^ _splitmix64(_U(b) ^ _U(0xD1B54A32D192ED03)))
    s0 = _splitmix64(h)
    s1 = _splitmix64(h ^ _U(key1))
    if s0 == _U(0) and s1 == _U(0):  # the one forbidden state
        s1 = _U(1)
    return s0, s1


# The generator state is threaded through as two uint64 scalars, (value, s0, s1)
# = f(s0, s1): passing a state array between compiled functions costs a
# reference-count update per call, which measured 3-7x slower per draw.


@njit(nogil=True, cache=True, inline="always")
def _rotl(x, k):
    return (x << _U(k)) | (x >> _U(64 - k))


@njit(nogil=True, cache=True)
def next_uint64(s0, s1):
    """64 random bits from xoroshiro128++ state (s0, s1); returns (bits, s0, s1)."""
    result = _rotl(s0 + s1, 17) + s0
    s1 ^= s0
    return result, _rotl(s0, 49) ^ s1 ^ (s1 << _U(21)), _rotl(s1, 28)


@njit(nogil=True, cache=True)
def uniform(s0, s1):
    """A double uniform on [0, 1) with 53 random bits; returns (u, s0, s1)."""
    r, s0, s1 = next_uint64(s0, s1)
    return float(r >> _U(11)) * _TWO_M53, s0, s1


@njit(nogil=True, cache=True)
def standard_normal(s0, s1):
    """A standard normal variate by the 256-layer ziggurat; returns (z, s0, s1)."""
    while True:
        r, s0, s1 = next_uint64(s0, s1)
        idx = np.intp(r & _U(0xFF))
        r >>= _U(8)
        # 52 bits: exact in a double and in a signed integer (cheaper to convert)
        rabs = np.int64((r >> _U(1)) & _MASK52)
        x = float(rabs) * ZIG_W[idx]
        if r & _U(1):
            x = -x
        if rabs < ZIG_K[idx]:
            return x, s0, s1  # about 99% of draws end here
        if idx == 0:
            # the base strip's tail beyond r (Marsaglia 1964)
            while True:
                u1, s0, s1 = uniform(s0, s1)
                u2, s0, s1 = uniform(s0, s1)
                xx = -_ZIG_INV_R * math.log1p(-u1)
                yy = -math.log1p(-u2)
                if yy + yy > xx * xx:
                    if (rabs >> 8) & 1:
                        return -(ZIGGURAT_R + xx), s0, s1
                    return ZIGGURAT_R + xx, s0, s1
        else:
            u, s0, s1 = uniform(s0, s1)
            if (ZIG_F[idx - 1] - ZIG_F[idx]) * u + ZIG_F[idx] < math.exp(-0.5 * x * x):
                return x, s0, s1


#: S1 .. S6 of fdlibm's ``k_sin.c`` and C1 .. C6 of its ``k_cos.c`` (Sun Microsystems, 1993; freely
#: distributable): sin φ ≈ φ + φ³ (S1 + S2 φ² + ... + S6 φ¹⁰) and cos φ ≈ 1 − φ²/2 + φ⁴ (C1 + ... +
#: C6 φ¹⁰) on |φ| ≤ π/4, of least maximum error (Remez), within 2^-58 and 2^-58 of the results
_SIN = (
    -1.66666666666666324348e-01,
    8.33333333332248946124e-03,
    -1.98412698298579493134e-04,
    2.75573137070700676789e-06,
    -2.50507602534068634195e-08,
    1.58969099521155010221e-10,
)
_COS = (
    4.16666666666666019037e-02,
    -1.38888888888741095749e-03,
    2.48015872894767294178e-05,
    -2.75573143513906633035e-07,
    2.08757232129817482790e-09,
    -1.13596475577881948265e-11,
)
_QUARTER_TURN = 0.5 * math.pi
_TWO_M51 = 2.0**-51


@njit(nogil=True, cache=True, inline="always")
def normal_pair(w1, w2):
    """Two independent standard normals from two 64-bit words by Box–Muller, branch-free: (z1, z2).

    (z1, z2) = √(−2 ln u) (cos θ, sin θ) with u = (k + 1) 2^-53 in (0, 1] from ``w1``'s top 53 bits
    and θ uniform on a circle from ``w2``: its top 2 bits the quadrant q, its next 51 bits a
    fraction t in [0, 1), θ = q π/2 + (t − ½) π/2.  ln is :func:`vbcsim.engine._fastexp.fast_log`
    (within 1 ulp), sin and cos of φ = (t − ½) π/2 fdlibm's kernel polynomials on |φ| ≤ π/4
    (``_SIN``, ``_COS``), rotated by the quadrant.  Exact in distribution up to the resolution of
    the uniforms: |z| ≤ √(2 · 53 ln 2) = 8.57 (P(|Z| > 8.57) = 1e-17).  Its division (in ``fast_log``)
    vectorises only in a caller compiled with ``error_model="numpy"`` (no zero-division check; the
    divisor is at least 1.4).
    """
    u = float(np.int64(w1 >> _U(11)) + 1) * _TWO_M53
    r = math.sqrt(-2.0 * fast_log(u))
    q = np.int64(w2 >> _U(62))
    phi = (float(np.int64((w2 >> _U(11)) & _U(0x7FFFFFFFFFFFF))) * _TWO_M51 - 0.5) * _QUARTER_TURN
    z = phi * phi
    sn = phi + (phi * z) * horner(_SIN, z)
    hz = 0.5 * z
    w = 1.0 - hz
    cs = w + (((1.0 - w) - hz) + (z * z) * horner(_COS, z))
    # rotate by q quarter turns: (c, s), (−s, c), (−c, −s), (s, −c)
    odd = (q & 1) == 1
    x = sn if odd else cs
    y = cs if odd else sn
    x = -x if (q == 1) | (q == 2) else x
    y = -y if q >= 2 else y
    return r * x, r * y
