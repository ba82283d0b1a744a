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
built below from the published constants.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["root_key", "block_state", "next_uint64", "uniform", "standard_normal"]

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
