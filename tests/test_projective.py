"""Tests of lcn._projective, the float toolkit of the projective line.

Oracles: the chordal distance as half the Euclidean distance of stereographic images on the
unit sphere; exact products of linear factors (flint) for forms from roots; evaluation of the
form at its computed roots; closed forms (roots of unity, ``x^n - y^n``); and the absence of
floating-point warnings on the whole line (0, inf, huge and tiny values).
"""

from __future__ import annotations

import math
import warnings

import flint
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lcn import _projective as P
from lcn.errors import FilterError

finite = st.complex_numbers(max_magnitude=1e6, allow_nan=False, allow_infinity=False)
point = st.one_of(finite, st.just(P.INF), st.just(0j),
                  st.complex_numbers(min_magnitude=1e150, max_magnitude=1e300,
                                     allow_nan=False, allow_infinity=False))


def _sphere(z: complex) -> np.ndarray:
    """Stereographic image on the unit sphere (north pole for inf)."""
    if math.isinf(z.real) or math.isinf(z.imag):
        return np.array([0.0, 0.0, 1.0])
    if abs(z) > 1e100:  # computed from 1/z, where the formula is well conditioned
        w = 1 / z
        r2 = abs(w) ** 2
        return np.array([2 * w.real, -2 * w.imag, 1 - r2]) / (1 + r2)
    r2 = abs(z) ** 2
    return np.array([2 * z.real, 2 * z.imag, r2 - 1]) / (1 + r2)


@settings(max_examples=300, deadline=None)
@given(point, point)
def test_chordal_is_half_the_sphere_distance(a: complex, b: complex) -> None:
    want = float(np.linalg.norm(_sphere(a) - _sphere(b))) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = float(P.chordal(a, b))
        got1 = P.chordal1(complex(a), complex(b))
    assert got == pytest.approx(want, abs=1e-12)
    assert got1 == pytest.approx(want, abs=1e-12)


def test_orbit_distance_sees_roots_of_unity() -> None:
    a = np.array([0.3 + 0.7j, 5.0, P.INF, 0j])
    zeta = np.exp(2j * np.pi / 6)
    D = P.orbit_distance(a, a * zeta**2, 6)
    assert np.all(np.abs(np.diag(D)) < 1e-15)
    # half-way between two rotations: |a| |1 - e^{i pi/6}| / (1 + |a|^2)
    r = abs(a[0])
    want = r * abs(1 - np.exp(1j * np.pi / 6)) / (1 + r * r)
    assert P.orbit_distance(a[:1], a[:1] * np.exp(1j * np.pi / 6), 6)[0, 0] == pytest.approx(want)


def _exact_product(int_roots: list[int], n_inf: int) -> list[int]:
    """Coefficients x^n..y^n of prod (x - r y) * y^n_inf, exactly."""
    p = flint.fmpz_poly([1])
    for r in int_roots:
        p *= flint.fmpz_poly([-r, 1])
    c = [int(v) for v in reversed(p.coeffs())]
    return [0] * n_inf + c


@pytest.mark.parametrize("int_roots,n_inf", [([1, 2, -3], 0), ([0, 0, 4], 2), ([], 3),
                                             ([5, -5, 1, 1, 1], 1)])
def test_form_from_roots_against_exact_products(int_roots: list[int], n_inf: int) -> None:
    want = np.array(_exact_product(int_roots, n_inf), dtype=float)
    got = P.form_from_roots([complex(r) for r in int_roots] + [P.INF] * n_inf)
    assert got.shape == want.shape
    k = int(np.argmax(np.abs(want)))
    assert np.max(np.abs(got / got[k] - want / want[k])) < 1e-13


@pytest.mark.parametrize("n", [16, 200, 1000])
def test_form_from_roots_of_unity_is_stable(n: int) -> None:
    """``x^n - y^n`` from its roots, given in a scrambled order: a factor-by-factor product
    loses all digits here, the FFT product keeps them."""
    rng = np.random.default_rng(n)
    roots = np.exp(2j * np.pi * rng.permutation(n) / n)
    got = P.form_from_roots(roots)
    want = np.zeros(n + 1)
    want[0], want[-1] = 1.0, -1.0
    assert np.max(np.abs(got / got[0] - want)) < 1e-12


def test_form_from_roots_multiplicities_match_repetition() -> None:
    pts = [0.5 + 1j, 0.5 - 1j, 3.0, P.INF]
    a = P.form_from_roots(pts, [2, 2, 1, 3])
    b = P.form_from_roots([p for p, m in zip(pts, [2, 2, 1, 3], strict=True) for _ in range(m)])
    assert np.allclose(a, b, atol=1e-14)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=8), st.integers(0, 3),
       st.integers(0, 3))
def test_roots_with_infinity_and_zero(int_roots: list[int], n_inf: int, n_zero: int) -> None:
    F = np.array(_exact_product(int_roots + [0] * n_zero, n_inf), dtype=float)
    r = P.roots(F)
    assert r.size == F.size - 1
    assert int(np.sum(P.is_inf(r))) == n_inf
    want = int_roots + [0] * n_zero
    for g in r[~P.is_inf(r)]:
        # a root of multiplicity m is only known to about (cond * eps)^(1/m)
        w = min(want, key=lambda x: abs(g - x))
        m = want.count(w)
        assert abs(g - w) <= 10 * (1e-13 * 6.0**len(want)) ** (1 / m) * max(1, abs(w))


def test_roots_refuse_what_floats_cannot_hold() -> None:
    for bad in ([1e-200, 1e200, 1e-200], [0.0, 0.0], [1.0, math.inf]):
        with pytest.raises(FilterError, match="filter"):
            P.roots(np.array(bad))


def test_cluster_by_multiplicity_finds_perturbed_multiple_roots() -> None:
    # (x - 1)^3 (x + 2) (x - 10) perturbed by 1e-12
    F = np.array(_exact_product([1, 1, 1, -2, 10], 0), dtype=float)
    F = F + 1e-12 * np.linalg.norm(F) * np.random.default_rng(0).standard_normal(F.size)
    got = sorted(P.cluster_by_multiplicity(P.roots(F), 1e-8), key=lambda tm: tm[0].real)
    assert [m for _, m in got] == [1, 3, 1]
    assert abs(got[1][0] - 1) < 1e-6 and abs(got[0][0] + 2) < 1e-9


def test_mean_point_and_power_near_infinity_are_warning_free() -> None:
    pts = np.array([1e300, -1e300, 1e300j, P.INF, 0j, 1e-300])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert P.chordal1(P.mean_point(pts[:4]), P.INF) < 1e-299
        assert P.mean_point([1e-300, -1e-300]) == 0
        out = P.power(pts, 7)
        assert P.is_inf(out[0]) and out[4] == 0
        assert P.power1(1e300 + 0j, 3) == P.INF
        P.chordal(pts[:, None], pts[None, :])
        P.roots(np.array([1e-300, 1.0, 1e300]))
