"""Reference implementations the numba engine is tested against.

Three independent references, each chosen to be obviously correct rather than fast
(small sizes only):

* :func:`simulate_naive` -- the whole engine in plain numpy: every member's annual cost
  is drawn with the distribution's own numpy ``sample(size, rng)`` into a
  (scenario, member) array, then summed.  O(members x scenarios) memory, on purpose.
* :func:`raw_moments` / :func:`total_moments` -- exact raw moments E[X^k], k <= 4,
  of a member cost and of a segment total (closed forms and cumulants; quadrature
  only for the Lomax body of a spliced severity), for standard errors of the
  sample mean *and* of the sample variance.
* :class:`XoroshiroRef` and :func:`sample_members_ref` -- a pure-Python (arbitrary
  precision integers masked to 64 bits) transcription of the published generators and
  samplers: SplitMix64 and xoroshiro128++ (Blackman & Vigna), the 64-bit 256-layer
  ziggurat in the form of numpy's ``random_standard_normal``, Marsaglia & Tsang's
  gamma, the multiplication method and Hoermann's PTRS for Poisson, Lomax inversion
  and the spliced/hurdle/compound mixtures, consuming random numbers in the order
  the engine documents.  The numba kernel must reproduce it bit for bit; this
  checks the compiled integer arithmetic (uint64 wrap-around, shifts, the hurdle's
  integer comparison) and the order in which draws are consumed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special

from vbcsim import Compound, Gamma, Hurdle, Lognormal, NegativeBinomial, Pareto, Poisson, Spliced
from vbcsim.engine import _kernels as K
from vbcsim.engine.rng import ZIG_F, ZIG_K, ZIG_W, ZIGGURAT_R

__all__ = [
    "simulate_naive",
    "raw_moments",
    "cumulants_from_raw",
    "raw_from_cumulants",
    "central_moments",
    "total_moments",
    "scenario_risk_raw_moments",
    "splitmix64",
    "XoroshiroRef",
    "block_state_ref",
    "sample_members_ref",
    "segment_block_ref",
]

# ---------------------------------------------------------------------------
# the engine in plain numpy
# ---------------------------------------------------------------------------


def simulate_naive(population, n_scenarios, rng, attachments=(), scenario_factor=None):
    """cost[scenario, segment] and excess[scenario, segment, attachment], member by member.

    Member costs are ``segment.cost.sample((n_scenarios, members), rng)``, multiplied by
    the scenario's ``scenario_factor`` (ones when None); ``cost`` is their sum and
    ``excess`` the sum of (factor x X - a)+ over members, as ``vbcsim.simulate`` defines.
    """
    att = np.asarray(attachments, dtype=float).reshape(-1)
    f = np.ones(n_scenarios) if scenario_factor is None else np.asarray(scenario_factor, dtype=float)
    assert f.shape == (n_scenarios,)
    segments = list(population)
    cost = np.zeros((n_scenarios, len(segments)))
    excess = np.zeros((n_scenarios, len(segments), att.size))
    for g, seg in enumerate(segments):
        x = np.asarray(seg.cost.sample((n_scenarios, seg.members), rng), dtype=float)
        assert x.shape == (n_scenarios, seg.members)
        x = x * f[:, None]
        cost[:, g] = x.sum(axis=1)
        for k, a in enumerate(att):
            excess[:, g, k] = np.maximum(x - a, 0.0).sum(axis=1)
    return cost, excess


# ---------------------------------------------------------------------------
# exact moments
# ---------------------------------------------------------------------------


def _basic_raw(dist, k: int) -> float:
    if isinstance(dist, Lognormal):
        return math.exp(k * dist.mu + 0.5 * k * k * dist.sigma**2)
    if isinstance(dist, Gamma):
        return math.exp(
            k * math.log(dist.scale) + special.gammaln(dist.shape + k) - special.gammaln(dist.shape)
        )
    if isinstance(dist, Pareto):
        # Lomax: E[X^k] = scale^k k! / prod_{i=1..k} (alpha - i), finite for alpha > k
        if dist.alpha <= k:
            return math.inf
        return dist.scale**k * math.factorial(k) / math.prod(dist.alpha - i for i in range(1, k + 1))
    raise TypeError(type(dist).__name__)


def _basic_partial(dist, k: int, t: float) -> float:
    """E[X^k; X <= t]."""
    if isinstance(dist, Lognormal):
        z = (math.log(t) - dist.mu - k * dist.sigma**2) / dist.sigma
        return _basic_raw(dist, k) * special.ndtr(z)
    if isinstance(dist, Gamma):
        return _basic_raw(dist, k) * special.gammainc(dist.shape + k, t / dist.scale)
    if isinstance(dist, Pareto):
        a, s = dist.alpha, dist.scale
        val, _ = integrate.quad(
            lambda x: x**k * a / s * (s / (x + s)) ** (a + 1), 0.0, t, epsabs=0, epsrel=1e-12
        )
        return val
    raise TypeError(type(dist).__name__)


def _severity_raw(dist, k: int) -> float:
    if isinstance(dist, Spliced):
        w, t = dist.tail_weight, dist.threshold
        fb = float(_basic_partial(dist.body, 0, t))
        body = _basic_partial(dist.body, k, t) / fb
        # tail: E[(t + T)^k] = sum_j C(k, j) t^(k-j) E[T^j]
        tail = sum(
            math.comb(k, j) * t ** (k - j) * (_basic_raw(dist.tail, j) if j else 1.0) for j in range(k + 1)
        )
        return (1.0 - w) * body + (w * tail if w > 0 else 0.0)
    return _basic_raw(dist, k)


def raw_from_cumulants(c):
    """Raw moments m1..m4 from cumulants k1..k4."""
    k1, k2, k3, k4 = c
    return (
        k1,
        k2 + k1**2,
        k3 + 3 * k2 * k1 + k1**3,
        k4 + 4 * k3 * k1 + 3 * k2**2 + 6 * k2 * k1**2 + k1**4,
    )


def cumulants_from_raw(m):
    """Cumulants k1..k4 from raw moments m1..m4."""
    m1, m2, m3, m4 = m
    k2 = m2 - m1**2
    k3 = m3 - 3 * m2 * m1 + 2 * m1**3
    k4 = m4 - 4 * m3 * m1 - 3 * m2**2 + 12 * m2 * m1**2 - 6 * m1**4
    return (m1, k2, k3, k4)


def _compound_cumulants(dist: Compound):
    """Cumulants of a mixed-Poisson compound S: K_S(s) = K_L(M_Y(s) - 1), L the Poisson mean.

    Poisson: L = lam (cumulants lam, 0, 0, 0); negative binomial: L ~ Gamma(r, mean / r)
    (cumulants r theta^n (n - 1)!).  With g^(n)(0) = E[Y^n], Faa di Bruno gives the four
    derivatives of the composition at 0.
    """
    f = dist.frequency
    if isinstance(f, Poisson):
        kl = (f.lam, 0.0, 0.0, 0.0)
    elif isinstance(f, NegativeBinomial):
        r = f.dispersion
        th = f.mean() / r
        kl = tuple(r * th**n * math.factorial(n - 1) for n in range(1, 5))
    else:
        raise TypeError(type(f).__name__)
    g1, g2, g3, g4 = (_severity_raw(dist.severity, k) for k in range(1, 5))
    L1, L2, L3, L4 = kl
    return (
        L1 * g1,
        L2 * g1**2 + L1 * g2,
        L3 * g1**3 + 3 * L2 * g1 * g2 + L1 * g3,
        L4 * g1**4 + 6 * L3 * g1**2 * g2 + L2 * (3 * g2**2 + 4 * g1 * g3) + L1 * g4,
    )


def raw_moments(dist):
    """Exact (E[X], E[X^2], E[X^3], E[X^4]) of one member's annual cost (inf where infinite)."""
    if isinstance(dist, Hurdle):
        p = dist.p_nonzero
        return tuple(p * m if p > 0 else 0.0 for m in raw_moments(dist.severity))
    if isinstance(dist, Compound):
        c = _compound_cumulants(dist)
        if not all(math.isfinite(v) for v in c):
            # (an infinite severity moment makes this and every higher moment infinite)
            out, bad = [], False
            for k in range(1, 5):
                bad = bad or not math.isfinite(_severity_raw(dist.severity, k))
                out.append(math.inf if bad else raw_from_cumulants(c)[k - 1])
            return tuple(out)
        return raw_from_cumulants(c)
    out = []
    for k in range(1, 5):
        out.append(_severity_raw(dist, k))
    return tuple(out)


def central_moments(raw):
    """(mean, variance, third and fourth central moments) from raw moments m1..m4."""
    m1, m2, m3, m4 = raw
    if not math.isfinite(m4):
        var = m2 - m1**2 if math.isfinite(m2) else math.inf
        mu3 = m3 - 3 * m2 * m1 + 2 * m1**3 if math.isfinite(m3) else math.inf
        return m1, var, mu3, math.inf
    return (
        m1,
        m2 - m1**2,
        m3 - 3 * m2 * m1 + 2 * m1**3,
        m4 - 4 * m3 * m1 + 6 * m2 * m1**2 - 3 * m1**4,
    )


def scenario_risk_raw_moments(risk):
    """E[M^k], k = 1..4, for ScenarioRisk's multiplier M = L (1 + c B).

    L lognormal with E[L] = 1 and CV ``trend_cv``: E[L^k] = (1 + cv^2)^(k (k - 1) / 2);
    B Bernoulli(p): E[(1 + c B)^k] = (1 - p) + p (1 + c)^k; L and B independent.
    """
    if risk is None:
        return (1.0, 1.0, 1.0, 1.0)
    cv2, p, c = risk.trend_cv**2, risk.shock_probability, risk.shock_size
    return tuple((1 + cv2) ** (k * (k - 1) / 2) * ((1 - p) + p * (1 + c) ** k) for k in range(1, 5))


def total_moments(dist, members: int, scenario_risk=None):
    """(mean, var, mu3, mu4) of a segment total M x (X_1 + ... + X_members), M independent."""
    raw = raw_moments(dist)
    if not math.isfinite(raw[3]):
        m, v, _, _ = central_moments(raw)
        em = scenario_risk_raw_moments(scenario_risk)
        mean = members * m * em[0]
        var = em[1] * members * v + (em[1] - em[0] ** 2) * (members * m) ** 2
        return mean, var, math.nan, math.inf
    c = cumulants_from_raw(raw)
    s_raw = raw_from_cumulants(tuple(members * v for v in c))  # cumulants add over members
    em = scenario_risk_raw_moments(scenario_risk)
    return central_moments(tuple(a * b for a, b in zip(em, s_raw, strict=True)))


# ---------------------------------------------------------------------------
# bit-exact pure-Python transcription of the generator and the samplers
# ---------------------------------------------------------------------------

_M64 = (1 << 64) - 1
_TWO_M53 = 2.0**-53


def splitmix64(x: int) -> int:
    """The SplitMix64 output function (Steele, Lea & Flood 2014) applied to x + golden gamma."""
    z = (x + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def block_state_ref(key0: int, key1: int, stream: int, a: int, b: int):
    """The block seeding of vbcsim.rng.block_state, in Python integers."""
    h = splitmix64(key0 ^ splitmix64(stream))
    h = splitmix64(h ^ splitmix64((a + key1) & _M64))
    h = splitmix64(h ^ splitmix64(b ^ 0xD1B54A32D192ED03))
    s0 = splitmix64(h)
    s1 = splitmix64(h ^ key1)
    if s0 == 0 and s1 == 0:
        s1 = 1
    return s0, s1


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & _M64


class XoroshiroRef:
    """xoroshiro128++ (Blackman & Vigna 2021, reference C code ``xoroshiro128plusplus.c``)."""

    def __init__(self, s0: int, s1: int):
        self.s0, self.s1 = int(s0), int(s1)

    def next_uint64(self) -> int:
        s0, s1 = self.s0, self.s1
        result = (_rotl((s0 + s1) & _M64, 17) + s0) & _M64
        s1 ^= s0
        self.s0 = _rotl(s0, 49) ^ s1 ^ ((s1 << 21) & _M64)
        self.s1 = _rotl(s1, 28)
        return result

    def uniform(self) -> float:
        # the top 53 bits as a double in [0, 1)
        return (self.next_uint64() >> 11) * _TWO_M53

    def standard_normal(self) -> float:
        # numpy/random/src/distributions/distributions.c: random_standard_normal
        while True:
            r = self.next_uint64()
            idx = r & 0xFF
            r >>= 8
            sign = r & 1
            rabs = (r >> 1) & 0x000FFFFFFFFFFFFF
            x = rabs * float(ZIG_W[idx])
            if sign:
                x = -x
            if rabs < int(ZIG_K[idx]):
                return x
            if idx == 0:
                while True:
                    xx = -math.log1p(-self.uniform()) / ZIGGURAT_R
                    yy = -math.log1p(-self.uniform())
                    if yy + yy > xx * xx:
                        return -(ZIGGURAT_R + xx) if (rabs >> 8) & 1 else ZIGGURAT_R + xx
            elif (float(ZIG_F[idx - 1]) - float(ZIG_F[idx])) * self.uniform() + float(ZIG_F[idx]) < math.exp(
                -0.5 * x * x
            ):
                return x

    def gamma(self, shape: float) -> float:
        """Gamma(shape, 1): Marsaglia & Tsang 2000, with G(a) = G(a + 1) U^(1/a) for a < 1."""
        boost = 1.0
        if shape < 1.0:
            boost = (1.0 - self.uniform()) ** (1.0 / shape)
            shape += 1.0
        d = shape - 1.0 / 3.0
        c = 1.0 / math.sqrt(9.0 * d)
        while True:
            z = self.standard_normal()
            v = 1.0 + c * z
            if v <= 0.0:
                continue
            v = v**3
            u = self.uniform()
            if u < 1.0 - 0.0331 * z**4 or math.log(u) < 0.5 * z * z + d * (1.0 - v + math.log(v)):
                return d * v * boost

    def binomial(self, n: int, p: float) -> int:
        """Knuth's order-statistic recursion (TAOCP vol. 2, 3.4.1 F), as in the engine."""
        k = 0
        while n > 16:
            a = 1 + n // 2
            b = n + 1 - a
            ga = self.gamma(float(a))
            x = ga / (ga + self.gamma(float(b)))
            if x >= p:
                n, p = a - 1, p / x
            else:
                k, n, p = k + a, b - 1, (p - x) / (1.0 - x)
        return k + sum(self.uniform() < p for _ in range(n))

    def poisson(self, lam: float) -> int:
        """Knuth's multiplication method below 10; PTRS (Hoermann 1993, as in numpy) from 10 on."""
        if lam <= 0.0:
            return 0
        if lam < 10.0:
            limit = math.exp(-lam)
            k, prod = 0, self.uniform()
            while prod > limit:
                k += 1
                prod *= self.uniform()
            return k
        slam, loglam = math.sqrt(lam), math.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2.0)
        while True:
            u = self.uniform() - 0.5
            v = self.uniform()
            us = 0.5 - abs(u)
            if us == 0.0:  # k = -inf: rejected below
                continue
            k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
            if us >= 0.07 and v <= vr:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            logv = math.log(v) if v > 0 else -math.inf
            if logv + math.log(invalpha) - math.log(a / (us * us) + b) <= -lam + k * loglam - math.lgamma(
                k + 1.0
            ):
                return k

    def basic(self, dist) -> float:
        if isinstance(dist, Lognormal):
            return math.exp(dist.mu + dist.sigma * self.standard_normal())
        if isinstance(dist, Gamma):
            return dist.scale * self.gamma(dist.shape)
        # Lomax by inversion
        return dist.scale * math.expm1(-math.log1p(-self.uniform()) / dist.alpha)

    def severity(self, dist) -> float:
        if not isinstance(dist, Spliced):
            return self.basic(dist)
        t = dist.threshold
        if self.uniform() < dist.tail_weight:
            return t + self.basic(dist.tail)
        body = dist.body
        if isinstance(body, Pareto):
            # inversion of the Lomax conditioned on X <= t
            u = self.uniform() * float(body.cdf(t))
            return min(body.scale * math.expm1(-math.log1p(-u) / body.alpha), t)
        while True:  # rejection
            x = self.basic(body)
            if x <= t:
                return x

    def member(self, dist) -> float:
        if isinstance(dist, Hurdle):
            # nonzero when the 53-bit uniform is below p (compared exactly in integers)
            p = dist.p_nonzero
            if p < 1.0 and (self.next_uint64() >> 11) >= math.ceil(p * 2.0**53):
                return 0.0
            dist = dist.severity
        return self.nonzero(dist)

    def nonzero(self, dist) -> float:
        """A member who has cost: the hurdle's severity (or the distribution itself)."""
        if isinstance(dist, Hurdle):
            dist = dist.severity
        if not isinstance(dist, Compound):
            return self.severity(dist)
        f = dist.frequency
        if isinstance(f, Poisson):
            lam = f.lam
        else:
            r = f.dispersion
            lam = self.gamma(r) * (f.mean() / r)
        total = 0.0
        for _ in range(self.poisson(lam)):
            total += self.severity(dist.severity)
        return total


def segment_block_ref(dist, members, factors, attachments, key0, key1, segment, chunk):
    """What ``_kernels.segment_block`` must write: per scenario, Binomial(members, p) members with
    cost (all members without a hurdle), then their costs; sums of factor × X and of
    (factor × X − attachment)+ per view and attachment.

    The engine's lognormal fast path draws the same numbers in the same order: its body
    rejection tests the normal (z ≤ (log t − mu) / sigma) where this tests the value
    (exp(mu + sigma z) ≤ t), which can differ only where rounding puts a draw exactly on
    the threshold, and its exp is within 1 ulp of libm's."""
    g = XoroshiroRef(*block_state_ref(int(key0), int(key1), K.STREAM_MEMBERS, segment, chunk))
    factors = np.asarray(factors, dtype=float)
    attachments = np.asarray(attachments, dtype=float)
    n_scen, n_views = factors.shape
    cost = np.zeros((n_scen, n_views))
    excess = np.zeros((n_scen, n_views, attachments.shape[1]))
    p = dist.p_nonzero if isinstance(dist, Hurdle) else 1.0
    for s in range(n_scen):
        n_cost = g.binomial(members, p) if p < 1.0 else members
        x = np.array([g.nonzero(dist) for _ in range(n_cost)])
        for v in range(n_views):
            cost[s, v] = factors[s, v] * x.sum()
            for k, a in enumerate(attachments[v]):
                excess[s, v, k] = factors[s, v] * np.maximum(x - a / factors[s, v], 0.0).sum()
    return cost, excess


def sample_members_ref(dist, n: int, key0: int, key1: int, stream: int, a: int, b: int) -> np.ndarray:
    """What ``_kernels.sample_members(encode(dist), n, key0, key1, stream, a, b)`` must return."""
    g = XoroshiroRef(*block_state_ref(int(key0), int(key1), stream, a, b))
    return np.array([g.member(dist) for _ in range(n)])


# the kernel's stream number for member draws, re-exported for the tests
STREAM_MEMBERS = K.STREAM_MEMBERS
