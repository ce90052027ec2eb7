"""Function-space pictures: every colour checked against an independent oracle.

Oracles: SymPy real roots (stride one: ``F in M`` iff at least ``e`` real roots with
multiplicity, boundary iff moreover at most ``e - 2`` distinct real roots of odd multiplicity,
MATH.md 3, 6); the implicit equations of MATH.md 9 (``p0 p3 = p1 p2``; ``A D^2 + B^2 E = B C D``
with ``C^2 >= 4AE`` on the singular plane ``B = D = 0``); the discriminant (SymPy).
"""

from __future__ import annotations

import struct
from fractions import Fraction

import flint
import pytest
import sympy

from lcn import Architecture
from lcn.errors import ArchitectureError, FilterError, LCNError
from lcn.plot import save, space, space_data

X = sympy.Symbol("x")


def _real_root_data(F) -> tuple[int, int]:
    """(real roots with multiplicity, distinct real roots of odd multiplicity) on P^1."""
    d = len(F) - 1
    lead_zeros = next(i for i, c in enumerate(F) if c != 0)
    total, odd = lead_zeros, int(lead_zeros % 2 == 1)
    t = sympy.Symbol("t")
    p = sympy.Poly(sum(sympy.Rational(int(c.p), int(c.q)) * t ** (d - j)
                       for j, c in enumerate(F)), t)
    if p.degree() > 0:
        for r, mult in sympy.Poly(p).sqf_list()[1]:
            n = len(sympy.real_roots(r))
            total += n * mult
            odd += n if mult % 2 else 0
    return total, odd


def _stride_one_oracle(arch: Architecture, F) -> str:
    if all(c == 0 for c in F):
        return "zero"
    e = sum(1 for di in arch.d if di % 2)
    total, odd = _real_root_data(F)
    if total < e:
        return "outside"
    if e >= 2 and odd <= e - 2:
        return "boundary_stride1"
    return "interior"


def _png_size(path) -> tuple[int, int]:
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_plane_pixels_match_real_root_oracle() -> None:
    arch = Architecture((3, 2, 2))
    # (x^2 - y^2)^2: 4 real roots, none of odd multiplicity -> boundary (e = 2)
    data = space_data(arch, through="1,0,-2,0,1", resolution=9, window=0.5)
    grid = data.grid()
    assert data.shape == (9, 9)
    assert grid[4, 4] == "boundary_stride1"
    assert data.category_of([1, 0, -2, 0, 1]) == "boundary_stride1"
    for F, cat, rr in zip(data.points, data.categories, data.real_roots, strict=True):
        assert cat == _stride_one_oracle(arch, F), F
        assert rr == _real_root_data(F)[0]
    assert {"outside", "interior"} <= set(data.categories)


def test_plane_filling_space_is_all_interior() -> None:
    data = space_data("k=3,3", resolution=7)
    assert set(data.categories) == {"interior"}


def test_plane_grid_is_rational_and_contains_chosen_points() -> None:
    data = space_data("k=3,2,2", through=[1, 0, -1, 0, 0], plane="0,0,0,1,0;0,0,0,0,1",
                      resolution=5, window=((Fraction(-1, 2), Fraction(1, 2)),
                                            (Fraction(0), Fraction(1, 2))))
    # x^4 - x^2y^2 + y^4/4 = (x^2 - y^2/2)^2: the cusp of the boundary
    assert data.category_of([1, 0, -1, 0, Fraction(1, 4)]) == "boundary_stride1"
    assert all(isinstance(v, flint.fmpq) for p in data.points for v in p)


def test_hypersurface_cubic_samples_lie_on_the_closure() -> None:
    arch = Architecture((3, 2), (2, 1))
    data = space_data(arch, resolution=10)
    assert data.kind == "hypersurface"
    seen = set()
    for F, cat, group in zip(data.points, data.categories, data.groups, strict=True):
        A, B, C, D, E = F
        assert A * D**2 + B**2 * E == B * C * D  # MATH.md 9: the cubic
        if cat == "outside" and group == "surface":
            continue  # off the window (not drawn)
        if B == 0 and D == 0:
            disc = C * C - 4 * A * E
            want = "singular" if disc > 0 else "boundary_reduced" if disc == 0 else "closure_only"
        else:
            want = "interior"
        assert cat == want, (F, group)
        seen.add(cat)
    assert seen == {"interior", "singular", "boundary_reduced", "closure_only"}
    assert data.category_of([1, 0, 0, 0, 1]) == "closure_only"      # x^4 + y^4
    assert data.category_of([1, 0, -2, 0, 1]) == "boundary_reduced"  # (x^2 - y^2)^2
    assert data.category_of([1, 0, 2, 0, 1]) == "boundary_reduced"   # (x^2 + y^2)^2
    assert data.category_of([1, 0, 3, 0, 1]) == "singular"


def test_hypersurface_quadric() -> None:
    data = space_data("k=2,2 s=2,1", resolution=8)
    assert data.notes == ()
    inside = [(F, c) for F, c, ok in zip(data.points, data.categories,
                                          ~(data.coords != data.coords).any(axis=1), strict=True)
              if ok]
    assert len(inside) > 20
    for F, cat in inside:
        assert F[0] * F[3] == F[1] * F[2]
        assert cat == "interior"


def test_non_reduced_architecture_shows_its_stride_one_regions() -> None:
    # k=(2,2,2), s=(1,2,1): the closure is the cubic of k=(3,2), s=(2,1). Off B = D = 0 the
    # factorization F = P(x, y) Q(x^2, y^2) is unique with Q = B x^2 + D y^2 (MATH.md 9's
    # elimination), and M needs the stride-one block P (two layers of odd degree) to have two
    # real roots: disc(P) > 0 interior, = 0 stride-one boundary, < 0 closure only.
    data = space_data("k=2,2,2 s=1,2,1", resolution=10)
    y = sympy.Symbol("y")
    seen = set()
    for F, cat, ok in zip(data.points, data.categories,
                          ~(data.coords != data.coords).any(axis=1), strict=True):
        A, B, C, D, E = (_q(v) for v in F)
        assert A * D**2 + B**2 * E == B * C * D
        if not ok or (B == 0 and D == 0):
            continue
        Fp = A * X**4 + B * X**3 * y + C * X**2 * y**2 + D * X * y**3 + E * y**4
        P, rem = sympy.div(Fp, B * X**2 + D * y**2, X, y)
        assert rem == 0
        disc = sympy.discriminant(sympy.Poly(P.subs(y, 1), X)) if sympy.Poly(
            P.subs(y, 1), X).degree() == 2 else 1
        want = "interior" if disc > 0 else "boundary_stride1" if disc == 0 else "closure_only"
        assert cat == want, F
        seen.add(cat)
    assert {"interior", "closure_only"} <= seen


def test_swallowtail_samples_against_discriminant_and_roots() -> None:
    arch = Architecture((3, 2, 2))
    data = space_data(arch, dims=3, resolution=7)
    a, b, c = sympy.symbols("a b c")
    disc = sympy.discriminant(X**4 + a * X**2 + b * X + c, X)
    for F, cat, group in zip(data.points, data.categories, data.groups, strict=True):
        if group == "surface":
            assert disc.subs({a: _q(F[2]), b: _q(F[3]), c: _q(F[4])}) == 0
        assert cat == _stride_one_oracle(arch, F)
    assert {"boundary_stride1", "interior", "outside"} <= set(data.categories)


def _q(v):
    return sympy.Rational(int(v.p), int(v.q))


@pytest.mark.parametrize(
    ("arch", "kwargs", "error", "argument"),
    [
        ("k=3,3 s=2,1", {}, ArchitectureError, "k"),          # codimension 2
        ("k=3,2 s=2,1", {"dims": 2}, ArchitectureError, "dims"),
        ("k=3,3,3", {"dims": 3}, ArchitectureError, "dims"),   # full-dimensional, degree 6
        ("k=3,2,2", {"plane": "0,0,0,1,0"}, FilterError, "plane"),
        ("k=3,2,2", {"through": "1,0,1"}, FilterError, "through"),
        ("k=3,2,2", {"resolution": 2}, LCNError, "resolution"),
        ("k=2,2,2,2", {"through": "1,0,0,0,1", "window": 0.1, "resolution": 5}, FilterError,
         "through"),
        ("k=3,2 s=2,1", {"plane": "0,1,0,0,0;0,1,0,0,0;0,0,1,0,0"}, FilterError, "plane"),
        ("k=3,2,2", {"dims": 3, "through": "1,0,0,0,0"}, FilterError, "through"),
    ],
)
def test_bad_input(arch, kwargs, error, argument) -> None:
    with pytest.raises(error) as exc:
        space_data(arch, **kwargs)
    assert exc.value.argument == argument


def test_too_much_work_is_refused_before_it_starts() -> None:
    with pytest.raises(LCNError) as exc:
        space_data("k=3,2,2", resolution=2000, max_seconds=1.0)
    assert exc.value.argument == "resolution" and "max_seconds" in exc.value.message


def test_space_figure_writes_png_of_the_stated_size(tmp_path) -> None:
    fig = space("k=3,2 s=2,1", resolution=6, size=(640, 480))
    path = save(fig, tmp_path / "cubic.png")
    assert path.stat().st_size > 10_000
    assert _png_size(path) == (640, 480)
    fig = space("k=3,2,2", resolution=5, size=(700, 400))
    assert _png_size(save(fig, tmp_path / "plane.png")) == (700, 400)
