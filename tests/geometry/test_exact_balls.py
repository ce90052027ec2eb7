"""Ball factorizations (``membership(..., digits=N)``, lcn.geometry.exact.balls): the radii are
certified, checked against roots known in closed form at high precision (issue 15 item 4: the
radius used to be ``|value| 10^-N`` whatever the real accuracy)."""

from __future__ import annotations

import itertools

import flint
import mpmath
import pytest

from lcn import Architecture
from lcn.geometry import membership

C = 10**9


def _clustered() -> list[int]:
    """``((x - 10^9 y)^2 - 2 y^2)((x - 10^9 y)^2 - 3 y^2)``: two tight pairs of real roots
    far from the origin (the reproducer of issue 15)."""
    p = flint.fmpz_poly([C * C - 2, -2 * C, 1]) * flint.fmpz_poly([C * C - 3, -2 * C, 1])
    return [int(v) for v in reversed(p.coeffs())]


def _true_roots(dps: int) -> list[mpmath.mpf]:
    with mpmath.workdps(dps):
        return [mpmath.mpf(C) + sg * mpmath.sqrt(q) for q in (2, 3) for sg in (1, -1)]


def _mp(x: flint.arb, dps: int) -> tuple[mpmath.mpf, mpmath.mpf]:
    """Midpoint and radius of a ball as mpmath numbers (exact decimal conversion)."""
    with mpmath.workdps(dps):
        return mpmath.mpf(x.mid().str(dps, radius=False)), mpmath.mpf(x.rad().str(5, radius=False))


@pytest.mark.parametrize("digits", [20, 40, 80])
def test_linear_layers_enclose_the_true_roots(digits: int) -> None:
    arch = Architecture((2, 2, 2, 2))
    m = membership(arch, _clustered(), digits=digits)
    assert m.in_function_space and m.factorization_kind == "float"
    dps = 3 * digits + 40
    roots = _true_roots(dps)
    used = []
    with mpmath.workdps(dps):
        for a, b in m.factorization:
            assert isinstance(b, flint.arb)
            amid, arad = _mp(a, dps)
            bmid, brad = _mp(b, dps)
            # the claimed accuracy: each radius at most 10^-digits of the filter's largest entry
            scale = max(abs(amid), abs(bmid))
            assert arad <= scale * mpmath.mpf(10) ** (-digits)
            assert brad <= scale * mpmath.mpf(10) ** (-digits)
            # honesty: the ball holds the exact layer [a, -a r] of a true root r
            r = next(r for r in roots if abs(bmid + amid * r) <= brad + abs(r) * arad)
            used.append(r)
    assert len({mpmath.nstr(r, 30) for r in used}) == 4  # every root used once


def _from_roots(lead: mpmath.mpf, roots: tuple[mpmath.mpf, ...]) -> list[mpmath.mpf]:
    c = [lead]
    for r in roots:
        c = [*c, mpmath.mpf(0)]
        c = [c[0]] + [c[i] - r * c[i - 1] for i in range(1, len(c))]
    return c


def test_cubic_layer_encloses_a_true_triple() -> None:
    arch = Architecture((4, 2), (1, 1))  # one stride-one block; no rational split exists
    digits = 30
    m = membership(arch, _clustered(), digits=digits)
    assert m.factorization_kind == "float"
    dps = 150
    roots = _true_roots(dps)
    with mpmath.workdps(dps):
        for f in m.factorization:
            mids = [_mp(v, dps) for v in f]
            scale = max(abs(mid) for mid, _ in mids)
            assert all(rad <= scale * mpmath.mpf(10) ** (-digits) for _, rad in mids)
            assert any(
                all(abs(mid - ex) <= rad + scale * mpmath.mpf(10) ** (-dps + 20)
                    for (mid, rad), ex in zip(mids, _from_roots(mids[0][0], rs), strict=True))
                for rs in itertools.combinations(roots, len(f) - 1))
    assert m.residual < 1e-6 * float(max(abs(v) for v in _clustered()))


def test_float_factorization_of_clustered_roots_is_accurate() -> None:
    """``digits=None``: float filters; the residual is computed in ball arithmetic."""
    m = membership(Architecture((2, 2, 2, 2)), _clustered())
    roots = sorted(float(r) for r in _true_roots(30))
    got = sorted(-b / a for a, b in m.factorization)
    assert all(abs(g - r) <= 1e-6 * r for g, r in zip(got, roots, strict=True))
    assert m.residual >= 0


def test_huge_coefficients_fall_back_to_balls() -> None:
    """Float factorizations of forms beyond float64 range would overflow: balls instead."""
    big = 10**400
    F = [1, 0, -2 * big * big]  # x^2 - 2 10^800 y^2: irrational real roots
    m = membership(Architecture((2, 2)), F)
    assert m.in_function_space and m.factorization_kind == "float"
    assert all(isinstance(v, flint.arb) for f in m.factorization for v in f)
    assert isinstance(m.residual, flint.arb)  # beyond float range: an exact upper bound
    assert m.residual < flint.arb(2 * big * big) * flint.arb(10) ** -15
    assert m.to_json()["factorization"][0][0] is not None
