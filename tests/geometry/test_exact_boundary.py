"""Boundary classification (MATH.md 6) against sampling: real points of the closure near a
point F of M are drawn (stride one: all forms; a hypersurface closure: random nearby points
pushed onto its implicit equation, computed by elimination, plus points of the singular locus
R[x^2, y^2]), and tested with the brute-force membership oracle. F is on the boundary iff some
such point is outside M; on the reduced boundary iff some is outside M_red."""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import pytest
import sympy

from lcn import Architecture
from lcn.geometry import membership
from tests.geometry.test_exact_facts import _implicit
from tests.geometry.test_exact_oracle import arch_layers, factorable, reduced_layers


def _verdicts(samples, k, s):
    layers, red = arch_layers(k, s), reduced_layers(k, s)
    out_red = out_M = False
    for G in samples:
        if not factorable(G, red, real=True):
            out_red = True
        elif not factorable(G, layers, real=True):
            out_M = True
    return out_red, out_M


def _expected(out_red, out_M):
    return "boundary_reduced" if out_red else "boundary_stride1" if out_M else None


def _check(F, k, s, samples):
    m = membership(Architecture(k, s), [int(v) for v in F], factorize=False)
    assert m.in_function_space == factorable(F, arch_layers(k, s), real=True)
    if not m.in_function_space:
        return "outside"
    got = m.classification if m.classification.startswith("boundary") else None
    assert got == _expected(*_verdicts(samples, k, s)), (k, s, F, m.classification)
    return m.classification


STRIDE_ONE = [
    ((2, 2), [[1, -2, 1], [1, -3, 2], [1, 0, 0], [0, 1, 0], [1, 0, -1]]),
    ((2, 2, 2), [[1, -3, 3, -1], [1, -1, 0, 0], [1, 0, -1, 0], [1, -4, 5, -2], [0, 1, -1, 0]]),
    ((3, 2, 2), [[1, -2, 1, 0, 0], [1, 0, -2, 0, 1], [1, -1, -1, 1, 0], [1, 0, 0, 0, -1],
                 [1, -2, 2, -2, 1]]),
]


@pytest.mark.parametrize("k, filters", STRIDE_ONE)
def test_stride_one_boundary_by_sampling(k, filters):
    rng = random.Random(len(k))
    s = (1,) * len(k)
    for F in filters:
        samples = [[Fraction(v) + Fraction(rng.randint(-100, 100), 10**8) for v in F]
                   for _ in range(25)]
        _check(F, k, s, samples)


def _project(f, ps, P0):
    """Newton steps along the gradient onto {f = 0} from P0 (60 digits)."""
    grad = [sympy.lambdify(ps, sympy.diff(f, p), "mpmath") for p in ps]
    fn = sympy.lambdify(ps, f, "mpmath")
    P = [mpmath.mpf(v) for v in P0]
    for _ in range(60):
        val = fn(*P)
        if abs(val) < mpmath.mpf(10) ** -52:
            return P
        g = [gi(*P) for gi in grad]
        n2 = sum(x * x for x in g)
        if n2 == 0:
            return None
        P = [p - val * x / n2 for p, x in zip(P, g, strict=True)]
    return None


HYPER = [
    ((3, 2), (2, 1)),
    ((2, 2, 2), (1, 2, 1)),
]
POINTS = [
    [1, 0, -2, 0, 1],  # (u-1)^2: a double real hyperroot where one is needed
    [1, 0, 2, 0, 1],  # (u+1)^2
    [1, 0, 0, 0, 0],  # u^2
    [1, 0, -3, 0, 2],  # (u-1)(u-2): singular, both hyperroots real
    [1, 0, -1, 0, -2],  # (u+1)(u-2)
    [1, -2, -1, 4, -2],  # (t-1)^2 (u-2): a double root in the stride-one block
    [1, -3, -1, 9, -6],  # (t-1)(t-2)(u-3)
    [2, -1, -5, 2, 2],  # a product of random layers
]


@pytest.mark.parametrize("k, s", HYPER)
def test_hypersurface_boundary_by_sampling(k, s):
    mpmath.mp.dps = 60
    eqs, ps = _implicit(k, s)
    f = eqs[0]
    rng = random.Random(3)
    seen = set()
    for F in POINTS:
        samples = []
        for _ in range(12):  # generic nearby points of the closure
            P0 = [v + mpmath.mpf(rng.gauss(0, 1)) * mpmath.mpf(10) ** -9 for v in F]
            P = _project(f, ps, P0)
            if P is not None:
                samples.append(P)
        if all(v == 0 for j, v in enumerate(F) if j % 2):  # nearby points of Sing = R[x^2,y^2]
            for _ in range(12):
                samples.append([Fraction(v) + (Fraction(rng.randint(-99, 99), 10**9)
                                               if j % 2 == 0 else 0) for j, v in enumerate(F)])
        assert len(samples) >= 8
        seen.add(_check(F, k, s, samples))
    assert {"boundary_reduced", "singular"} <= seen
