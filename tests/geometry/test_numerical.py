"""Tests of lcn.geometry.numerical against independent oracles.

Oracles: brute-force global search (many random starts of SciPy least_squares), first-order
geometry (the normal component of a small perturbation, from the Jacobian's SVD), exact
real-root counts (flint) with the stride-one theorems of MATH.md 3 and 6, the exact
stride-one rank formula of MATH.md 8, an implicit equation of a closure (MATH.md 9), the exact
geometry of lcn.geometry.exact on rational families, and scale invariance.
"""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import flint
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import least_squares
from typer.testing import CliRunner

from lcn import Architecture, forms
from lcn.cli import app
from lcn.errors import ArchitectureError, FilterError, LCNError
from lcn.geometry import exact as ex
from lcn.geometry import numerical as nm
from lcn.geometry.numerical import classify, jacobian_rank, nearest
from lcn.geometry.numerical.levels import levels_of
from lcn.parametrization import jacobian, mu

SMALL_ARCHS = [
    ((3, 2), (2, 1)),
    ((2, 2, 2), (1, 1, 1)),
    ((3, 3, 2), (2, 2, 1)),
    ((3, 2, 2), (1, 2, 1)),
    ((2, 3), (2, 1)),
    ((4, 2), (1, 1)),
    ((2, 2, 2), (2, 1, 1)),
    ((3, 2), (3, 1)),
    ((2, 2, 3), (2, 1, 1)),
    ((3, 3), (2, 1)),
    ((2, 2, 2), (2, 2, 1)),
    ((4, 3), (2, 1)),
]


def _brute_force(arch: Architecture, f: np.ndarray, n_starts: int, seed: int,
                 C: np.ndarray | None = None) -> float:
    """Global search written independently of the code under test: random Gaussian starts of
    SciPy's trust-region least squares on ||C (mu(w) - f)|| with mu and its Jacobian from
    lcn.parametrization."""
    rng = np.random.default_rng(seed)
    Cm = np.eye(arch.filter_size) if C is None else C
    cuts = np.cumsum(arch.k)[:-1]

    def fun(t: np.ndarray) -> np.ndarray:
        return Cm @ (mu(arch, np.split(t, cuts)) - f)

    def jac(t: np.ndarray) -> np.ndarray:
        return Cm @ jacobian(arch, np.split(t, cuts))

    best = np.inf
    for _ in range(n_starts):
        r = least_squares(fun, rng.standard_normal(arch.parameters), jac=jac, method="trf",
                          xtol=1e-15, ftol=1e-15, gtol=1e-15)
        best = min(best, float(np.linalg.norm(r.fun)))
    return best


def _random_member(arch: Architecture, rng: np.random.Generator) -> tuple[list, np.ndarray]:
    ws = [rng.standard_normal(k) for k in arch.k]
    return ws, mu(arch, ws)


def _distinct_real_roots(F: np.ndarray, tol: float) -> list[tuple[float, int]]:
    """Real roots of a float form merged within ``tol`` (value, multiplicity)."""
    r = forms.roots(np.asarray(F, dtype=float), tol=tol)
    reals = sorted(x.value.real for x in r if x.is_real)
    out: list[tuple[float, int]] = []
    for x in reals:
        if out and abs(x - out[-1][0]) <= tol * max(1.0, abs(x)):
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((x, 1))
    return out


# ============================================================================================
# nearest
# ============================================================================================
@pytest.mark.parametrize("k,s", [((3, 2), (2, 1)), ((3, 3, 2), (2, 2, 1)), ((2, 3, 2), (1, 2, 1)),
                                 ((4, 3), (2, 1)), ((3, 2, 2), (1, 2, 2))])
@pytest.mark.parametrize("eps", [1e-12, 1e-9, 1e-6, 1e-3])
def test_nearest_of_perturbed_member_matches_normal_component(k, s, eps) -> None:
    """Oracle: to first order the distance from f + n to M is the norm of the component of
    n normal to the tangent space at the (smooth) member f, from the Jacobian's SVD."""
    arch = Architecture(k, s)
    rng = np.random.default_rng(hash((k, s)) % 2**32)
    ws, f = _random_member(arch, rng)
    f_norm = np.linalg.norm(f)
    n = rng.standard_normal(f.shape)
    n *= eps * f_norm / np.linalg.norm(n)
    J = jacobian(arch, ws)
    U, sv, _ = np.linalg.svd(J)
    T = U[:, : arch.dimension]
    normal = float(np.linalg.norm(n - T @ (T.T @ n)))
    res = nearest(arch, f + n)
    assert abs(res.distance - normal) <= 1e-3 * eps * f_norm + 50 * eps**2 * f_norm + 1e-15
    assert res.distance <= eps * f_norm * (1 + 1e-9)
    assert np.linalg.norm(res.point - f) <= 3 * eps * f_norm + 1e-14
    # the factorization reproduces the point (mu computed by lcn.parametrization)
    back = mu(arch, res.filters)
    assert np.max(np.abs(back - res.point)) <= 1e-10 * np.max(np.abs(res.point))
    assert res.residual <= 1e-10


def _brute_force_check(n_targets: int, n_brute: int, seed: int) -> None:
    worse = []
    for i in range(n_targets):
        k, s = SMALL_ARCHS[i % len(SMALL_ARCHS)]
        arch = Architecture(k, s)
        rng = np.random.default_rng(seed + i)
        f = rng.standard_normal(arch.filter_size)
        f /= np.linalg.norm(f)
        ours = nearest(arch, f)
        best = _brute_force(arch, f, n_brute, seed + i)
        assert abs(np.linalg.norm(ours.point - f) - ours.distance) <= 1e-12
        if ours.distance > best + 1e-9:
            worse.append((arch, ours.distance, best))
    assert not worse, worse


def test_nearest_never_worse_than_brute_force() -> None:
    """~100 random targets on small architectures against 16 random SciPy starts each."""
    _brute_force_check(96, 16, seed=10_000)


@pytest.mark.slow
def test_nearest_never_worse_than_brute_force_500() -> None:
    _brute_force_check(504, 40, seed=20_000)


def test_nearest_with_metric_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    for k, s in [((3, 2), (2, 1)), ((2, 2, 2), (1, 1, 1)), ((3, 3, 2), (2, 2, 1))]:
        arch = Architecture(k, s)
        n = arch.filter_size
        for _ in range(4):
            A = rng.standard_normal((n, n))
            M = A @ A.T + 0.1 * np.eye(n)
            C = np.linalg.cholesky(M).T
            f = rng.standard_normal(n)
            res = nearest(arch, f, metric=M)
            diff = res.point - f
            assert abs(np.sqrt(diff @ M @ diff) - res.distance) <= 1e-10 * (1 + res.distance)
            assert res.distance <= _brute_force(arch, f, 16, 3, C) + 1e-9
    # the identity metric is the Euclidean norm
    arch = Architecture((3, 2), (2, 1))
    f = rng.standard_normal(5)
    assert nearest(arch, f, metric=np.eye(5)).distance == pytest.approx(
        nearest(arch, f).distance, rel=1e-12)


@pytest.mark.parametrize("k", [(2, 2), (2, 2, 2), (2, 3, 2), (4, 2), (2, 2, 2, 2)])
def test_nearest_stride_one_too_few_real_roots_lands_on_boundary(k) -> None:
    """MATH.md 3 and 6: with stride one, M = {at least e real roots}; a filter with fewer real
    roots (counted exactly by flint) is outside, and its nearest point is a boundary point:
    at least e real roots, at most e - 2 of them distinct with odd multiplicity, i.e. a double
    real root made of roots of two different odd layers."""
    arch = Architecture(k)
    e = sum(di % 2 for di in arch.d)
    rng = np.random.default_rng(sum(k))
    done = 0
    while done < 6:
        f_int = [int(v) for v in rng.integers(-9, 10, arch.filter_size)]
        if f_int[0] == 0 or forms.real_root_count(f_int) >= e:
            continue
        f = np.array(f_int, dtype=float)
        res = nearest(arch, f)
        assert res.distance > 1e-6
        # the point's roots are those of its (verified) real factorization, where multiple
        # roots are not smeared by root finding
        assert np.max(np.abs(mu(arch, res.filters) - res.point)) <= 1e-10 * np.max(
            np.abs(res.point))
        layer_roots = [(i, complex(r)) for i, w in enumerate(res.filters) for r in np.roots(w)]
        reals = sorted((r.real, i) for i, r in layer_roots if abs(r.imag) <= 1e-9)
        groups: list[list[tuple[float, int]]] = []
        for x, i in reals:
            if groups and abs(x - groups[-1][-1][0]) <= 1e-5 * max(1.0, abs(x)):
                groups[-1].append((x, i))
            else:
                groups.append([(x, i)])
        assert sum(len(g) for g in groups) >= e
        assert sum(1 for g in groups if len(g) % 2) <= e - 2
        # the multiple root is made of real roots of different odd layers
        assert any(len({i for _, i in g}) >= 2 for g in groups)
        assert classify(arch, res.point, tol=1e-7).category in ("boundary_stride1", "undecided")
        done += 1


@pytest.mark.parametrize("k,s", [((3, 3), (1, 1)), ((2, 3), (1, 1)), ((4, 3, 1), (1, 1, 2)),
                                 ((5,), (1,)), ((2, 1, 3), (1, 1, 1))])
def test_nearest_filling_is_exact_with_factorization(k, s) -> None:
    arch = Architecture(k, s)
    # MATH.md 3: stride one (up to scalar layers) with at most one odd degree fills R[x,y]_d
    assert arch.full_dimensional and sum(di % 2 for di in arch.d) <= 1
    rng = np.random.default_rng(3)
    for _ in range(5):
        f = rng.standard_normal(arch.filter_size)
        res = nearest(arch, f)
        assert res.distance == 0.0
        assert np.array_equal(res.point, f)
        assert all(np.isrealobj(w) for w in res.filters)
        assert np.max(np.abs(mu(arch, res.filters) - f)) <= 1e-10 * np.max(np.abs(f))


def test_nearest_closure_contains_function_space_and_needs_complex_filters() -> None:
    arch = Architecture((3, 2), (2, 1))
    f = np.array([1.0, 0, 0, 0, 4])  # x^4 + 4y^4: in the closure, not in M (MATH.md 4)
    res = nearest(arch, f, target="closure")
    assert res.distance <= 1e-12
    assert any(np.iscomplexobj(w) for w in res.filters)
    # complex product computed independently (upsample and convolve)
    prod = np.convolve(res.filters[0], forms.upsample(np.asarray(res.filters[1]), 2))
    assert np.max(np.abs(prod - f)) <= 1e-10
    assert nearest(arch, f).distance == pytest.approx(
        _brute_force(arch, f, 16, 0), abs=1e-9)
    rng = np.random.default_rng(11)
    for kk, ss in [((3, 2), (2, 1)), ((2, 2, 3), (1, 2, 1)), ((3, 3, 2), (2, 2, 1))]:
        a = Architecture(kk, ss)
        for _ in range(4):
            g = rng.standard_normal(a.filter_size)
            c = nearest(a, g, target="closure")
            assert c.distance <= nearest(a, g).distance + 1e-10
            # the (possibly complex) layer filters multiply out to the returned point
            prod = np.ones(1, dtype=complex)
            for w, S in zip(c.filters, a.S, strict=True):
                up = np.zeros(S * (len(w) - 1) + 1, dtype=complex)
                up[::S] = w
                prod = np.convolve(prod, up)
            assert np.max(np.abs(prod - c.point)) <= 1e-9 * max(1.0, np.max(np.abs(c.point)))
            assert c.residual <= 1e-9


def test_nearest_closure_against_implicit_equation() -> None:
    """k=(3,2), s=(2,1): the closure is the cubic p0 p3^2 + p4 p1^2 - p1 p2 p3 = 0 (derived
    by elimination, MATH.md 9); the nearest closure point lies on it and is no farther than a
    constrained SLSQP search on the cubic from many starts."""
    from scipy.optimize import minimize

    arch = Architecture((3, 2), (2, 1))

    def cubic(p: np.ndarray) -> float:
        return p[0] * p[3] ** 2 + p[4] * p[1] ** 2 - p[1] * p[2] * p[3]

    rng = np.random.default_rng(5)
    for _ in range(6):
        f = rng.standard_normal(5)
        res = nearest(arch, f, target="closure")
        assert abs(cubic(res.point)) <= 1e-10 * np.linalg.norm(res.point) ** 3
        best = np.inf
        for _ in range(20):
            r = minimize(lambda p, f=f: np.sum((p - f) ** 2), f + 0.5 * rng.standard_normal(5),
                         constraints=[{"type": "eq", "fun": cubic}], method="SLSQP",
                         options={"ftol": 1e-14, "maxiter": 500})
            if r.success and abs(cubic(r.x)) < 1e-9:
                best = min(best, float(np.linalg.norm(r.x - f)))
        assert res.distance <= best + 1e-7


def test_nearest_zero_and_certificate_fields() -> None:
    arch = Architecture((3, 2), (2, 1))
    z = nearest(arch, [0, 0, 0, 0, 0])
    assert z.distance == 0 and not np.any(z.point)
    res = nearest(arch, [1.0, 2, 3, 4, 5], starts=5, seed=1)
    # not a near-member: 2 orbit starts, then 40 random filters screened and the best
    # 5 // 2 of them polished
    assert res.starts == 2 + 2 and res.screened == 2
    assert res.grad_norm <= 1e-8
    assert res.tol == nm.NEAREST_TOL
    assert res.agreed
    # deterministic for a fixed seed
    assert nearest(arch, [1.0, 2, 3, 4, 5], starts=5, seed=1).distance == res.distance


@pytest.mark.parametrize("bad,exc", [
    (dict(filter=[1, 2, 3]), FilterError),
    (dict(filter=[1, 2, np.nan, 4, 5]), FilterError),
    (dict(filter=[1, 2, 3, 4, 5], target="mu"), FilterError),
    (dict(filter=[1, 2, 3, 4, 5], starts=0), FilterError),
    (dict(filter=[1, 2, 3, 4, 5], metric=-np.eye(5)), FilterError),
    (dict(filter=[1, 2, 3, 4, 5], metric=np.eye(4)), FilterError),
    (dict(filter=[[1, 2, 3, 4, 5]]), FilterError),
])
def test_nearest_bad_input(bad, exc) -> None:
    with pytest.raises(exc) as info:
        nearest(Architecture((3, 2), (2, 1)), **bad)
    assert isinstance(info.value, LCNError) and info.value.argument


def test_architecture_coercion_is_the_shared_one() -> None:
    """Every numerical verb takes what ``as_architecture`` takes, and refuses the rest alike."""
    F = [1.0, 2.0, 3.0, 4.0, 5.0]
    for spec in (Architecture((3, 2), (2, 1)), ((3, 2), (2, 1)), "k=3,2 s=2,1"):
        assert classify(spec, F).category == classify(Architecture((3, 2), (2, 1)), F).category
        assert nearest(spec, F).distance >= 0
        assert jacobian_rank(spec, [[1, 2, 3], [1, 1]]).dimension == 4
    for bad in ((3, 2), 42, "k=3,2 s=", None):
        for call in (lambda a: nearest(a, F), lambda a: classify(a, F),
                     lambda a: jacobian_rank(a, [[1, 2, 3], [1, 1]])):
            with pytest.raises(ArchitectureError):
                call(bad)


# ============================================================================================
# jacobian_rank
# ============================================================================================
def _lcm_degree(polys: list[list[int]]) -> int:
    acc = flint.fmpz_poly([1])
    for p in polys:
        q = flint.fmpz_poly(list(reversed(p)))
        acc = acc * q // acc.gcd(q)
    return acc.degree()


@pytest.mark.parametrize("k", [(2, 2), (3, 2), (2, 2, 2), (3, 3), (3, 2, 2)])
def test_jacobian_rank_stride_one_formula(k) -> None:
    """MATH.md 8: with stride one, rank d mu = deg lcm(P_1..P_L) + 1 (exact via flint)."""
    arch = Architecture(k)
    rng = np.random.default_rng(len(k) * 10 + sum(k))
    roots_pool = [-2, -1, 1, 3]
    for _ in range(15):
        polys = []
        for ki in k:
            rs = rng.choice(roots_pool, ki - 1)
            p = [1]
            for r in rs:
                p = list(np.convolve(p, [1, -int(r)]))
            polys.append([int(c) * int(rng.choice([-2, 1, 3])) for c in p])
        expected = _lcm_degree(polys) + 1
        got = jacobian_rank(arch, [np.array(p, dtype=float) for p in polys])
        assert got.rank == expected
        assert got.regular == (expected == arch.dimension)
        assert got.dimension == arch.dimension


def test_jacobian_rank_random_is_regular_and_zero_layer_is_not() -> None:
    rng = np.random.default_rng(2)
    for k, s in SMALL_ARCHS:
        arch = Architecture(k, s)
        ws = [rng.standard_normal(ki) for ki in arch.k]
        r = jacobian_rank(arch, ws)
        assert r.regular and r.rank == arch.dimension and r.smallest_singular_value > 1e-6
        ws[0] = np.zeros(arch.k[0])
        r0 = jacobian_rank(arch, ws)
        assert not r0.regular and r0.rank < arch.dimension
        assert r0.smallest_singular_value <= 1e-12


def test_jacobian_rank_shared_hyperroot_is_singular() -> None:
    """MATH.md 7: a factor of P_2 in C[x^2, y^2] dividing P_1 makes w non-regular."""
    arch = Architecture((3, 2), (2, 1))
    w1 = np.array([1.0, 0.0, -3.0])  # x^2 - 3 y^2 = pi_2(x - 3y)
    w2 = np.array([2.0, -6.0])  # pi_2 of 2(x - 3y)
    r = jacobian_rank(arch, [w1, w2])
    assert not r.regular and r.rank == arch.dimension - 1
    r = jacobian_rank(arch, [np.array([1.0, 0.5, -3.0]), w2])
    assert r.regular


def test_jacobian_rank_bad_input() -> None:
    arch = Architecture((3, 2), (2, 1))
    with pytest.raises(FilterError):
        jacobian_rank(arch, [np.ones(3)])
    with pytest.raises(FilterError):
        jacobian_rank(arch, [np.ones(3), np.ones(2)], rtol=2.0)


# ============================================================================================
# classify
# ============================================================================================
def _expected_stride_one(F: list[int], arch: Architecture) -> str:
    """MATH.md 3 and 6 with exact real roots (flint): outside below e real roots; boundary
    when at most e - 2 distinct real roots have odd multiplicity; interior otherwise."""
    e = sum(di % 2 for di in arch.d)
    if not any(F):
        return "zero"
    rts = forms.roots([flint.fmpq(v) for v in F])
    total = sum(r.multiplicity for r in rts if r.is_real)
    odd = sum(1 for r in rts if r.is_real and r.multiplicity % 2)
    if total < e:
        return "outside"
    return "boundary_stride1" if odd <= e - 2 else "interior"


def _int_poly_from_roots(real_roots: list[int], quad: list[tuple[int, int]], lead: int
                         ) -> list[int]:
    p = [lead]
    for r in real_roots:
        p = list(np.convolve(p, [1, -r]))
    for b, c in quad:  # x^2 + b x y + c y^2 with b^2 < 4c
        p = list(np.convolve(p, [1, b, c]))
    return [int(v) for v in p]


@pytest.mark.parametrize("k", [(2, 2), (2, 2, 2), (2, 3, 2), (2, 2, 2, 2), (4, 2, 2), (3, 3)])
def test_classify_stride_one_matches_real_root_theorems(k) -> None:
    arch = Architecture(k)
    d = arch.degree
    rng = np.random.default_rng(sum(k) * 7)
    seen = set()
    for _ in range(40):
        n_quad = int(rng.integers(0, d // 2 + 1))
        n_real = d - 2 * n_quad
        pool = [-3, -2, -1, 0, 1, 2, 4]
        reals = [int(v) for v in rng.choice(pool, n_real)]  # repeats make multiple roots
        quads = [(int(b), int(b) ** 2 // 4 + int(rng.integers(1, 4))) for b in
                 rng.integers(-2, 3, n_quad)]
        F = _int_poly_from_roots(reals, quads, int(rng.choice([-2, 1, 3])))
        want = _expected_stride_one(F, arch)
        got = classify(arch, np.array(F, dtype=float))
        assert got.category == want, (F, got)
        assert got.candidates == (want,)
        seen.add(want)
    assert "interior" in seen


def test_classify_worked_examples() -> None:
    """MATH.md 4-5: x^4 - 4y^4 is in M for k=(3,2), s=(2,1) and lies on Sing = R[x^2,y^2]_2;
    x^4 + 4y^4 is in the closure only; a generic product is interior."""
    arch = Architecture((3, 2), (2, 1))
    c = classify(arch, [1, 0, 0, 0, -4])
    assert (c.category, c.component) == ("singular", (0, 2))
    c = classify(arch, [1, 0, 0, 0, 4])
    assert c.category == "outside" and c.in_closure and c.distance > 0.1
    c = classify(arch, mu(arch, [np.array([1.0, 2, -3]), np.array([1.0, -2])]))
    assert c.category == "interior" and c.distance < 1e-12
    assert classify(arch, [0, 0, 0, 0, 0]).category == "zero"
    c = classify(arch, [1, 2, 3, 4, 5])
    assert c.category == "outside" and not c.in_closure


def test_classify_undecided_near_the_tolerance() -> None:
    """A member pushed off M by about tol: the verdict changes within the margin."""
    arch = Architecture((3, 3, 2), (2, 2, 1))
    rng = np.random.default_rng(4)
    ws, f = _random_member(arch, rng)
    f /= np.linalg.norm(f)
    J = jacobian(arch, ws)
    U, _, _ = np.linalg.svd(J)
    normal = U[:, arch.dimension]  # a unit normal direction at the smooth point f
    tol = 1e-8
    assert classify(arch, f + 1e-13 * normal, tol).category == "interior"
    assert classify(arch, f + 1e-4 * normal, tol).category == "outside"
    c = classify(arch, f + 3 * tol * normal, tol)
    assert c.category == "undecided"
    assert set(c.candidates) == {"interior", "outside"}


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
def test_classify_is_scale_invariant(scale) -> None:
    arch = Architecture((3, 2, 2), (1, 2, 1))
    rng = np.random.default_rng(8)
    cats = []
    for _ in range(6):
        _, f = _random_member(arch, rng)
        cats.append(classify(arch, f).category == classify(arch, scale * f).category)
    assert all(cats)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_products_are_members(data) -> None:
    """Products of random layer filters are in M: never outside, never undecided."""
    L = data.draw(st.integers(1, 3))
    k = data.draw(st.lists(st.integers(1, 4), min_size=L, max_size=L))
    s = data.draw(st.lists(st.integers(1, 3), min_size=L, max_size=L))
    arch = Architecture(k, s)
    if arch.degree > 16 or arch.degree == 0:
        return
    ws = [np.array(data.draw(st.lists(st.integers(-4, 4), min_size=ki, max_size=ki)),
                   dtype=float) for ki in k]
    if any(not np.any(w) for w in ws):
        return
    f = mu(arch, ws)
    c = classify(arch, f)
    assert c.category in ("interior", "singular", "boundary_stride1", "boundary_reduced")
    assert nearest(arch, f, starts=2).distance <= 1e-9 * np.linalg.norm(f)


def test_classify_bad_input() -> None:
    arch = Architecture((3, 2), (2, 1))
    with pytest.raises(FilterError):
        classify(arch, [1, 2, 3])
    with pytest.raises(FilterError):
        classify(arch, [1, 2, 3, 4, 5], tol=0)
    with pytest.raises(FilterError):
        classify(arch, [1, 2, 3, 4, np.inf])


def test_exact_input_is_converted() -> None:
    arch = Architecture((3, 2), (2, 1))
    a = classify(arch, ["1", "0", "0", "0", "-4"])
    b = classify(arch, [Fraction(1), 0, 0, 0, Fraction(-4)])
    assert a.category == b.category == "singular"


# ============================================================================================
# CLI
# ============================================================================================
def test_cli_nearest_json_and_errors() -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["nearest", "--k", "3,2", "--s", "2,1", "--filter", "1,2,3,4,5",
                              "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    arch = Architecture((3, 2), (2, 1))
    back = mu(arch, [np.array(w) for w in data["filters"]])
    assert np.allclose(back, data["point"], atol=1e-10)
    assert data["distance"] == pytest.approx(
        float(np.linalg.norm(np.array(data["point"]) - [1, 2, 3, 4, 5])), abs=1e-12)
    assert all(isinstance(v, float) for w in data["filters"] for v in w)
    out = runner.invoke(app, ["nearest", "--k", "3,2", "--s", "2,1", "--filter", "1,0,0,0,4",
                              "--target", "closure", "--json"])
    data = json.loads(out.output)
    assert data["distance"] < 1e-12
    assert any(isinstance(v, list) for w in data["filters"] for v in w)  # complex: [re, im]
    # the complex layer filters multiply out to the point: P1(x, y) P2(x^2, y^2)
    w1, w2 = ([complex(*v) if isinstance(v, list) else v for v in w] for w in data["filters"])
    up2 = np.zeros(2 * len(w2) - 1, dtype=complex)
    up2[::2] = w2
    assert np.allclose(np.convolve(w1, up2), data["point"], atol=1e-10)
    out = runner.invoke(app, ["nearest", "--k", "3,2", "--s", "2,1", "--filter", "1,2,3"])
    assert out.exit_code == 2 and "--filter" in out.output
    out = runner.invoke(app, ["nearest", "--k", "3,2", "--s", "2,1", "--filter", "1,2,3,4,5"])
    assert out.exit_code == 0 and "distance" in out.output


# ============================================================================================
# Independent oracle: brute force over assignments of root orbits to levels
# ============================================================================================
# Written for these tests only. From the certified roots of an exact form (flint), every way
# of spreading the roots over the levels of the reduced architecture is enumerated: a
# hyperroot of level j uses a full orbit of S_j-th roots of unity with the multiplicity
# available on all of it, conjugation-closed (real factorizations). Components with one
# top-level hyperroot are independent; a dynamic program combines their per-level summaries
# (hyperroots taken, real ones, distinct real ones taken an odd number of times).
def _exact_configuration(F: list[int]) -> tuple[np.ndarray, list[int]]:
    rts = forms.roots([flint.fmpq(v) for v in F])
    vals = np.array([complex(r.value) if not r.is_real else complex(r.value.real, 0.0)
                     for r in rts])
    return vals, [r.multiplicity for r in rts]


def _orbit_components(values: np.ndarray, mults: list[int], S_top: int) -> list[tuple]:
    """(kind, multiplicities of rho*zeta^a, conjugation index map) per top-level hyperroot;
    kind is 'special' (0 or inf), 'real' (closed under conjugation) or 'pair' (a nonreal
    hyperroot standing for itself and its conjugate)."""
    out: list[tuple] = []
    m0 = sum(m for v, m in zip(values, mults, strict=True) if v == 0)
    minf = sum(m for v, m in zip(values, mults, strict=True) if np.isinf(v.real))
    for m in (m0, minf):
        if m:
            out.append(("special", (m,), (0,)))
    pts = [(complex(v), m) for v, m in zip(values, mults, strict=True)
           if v != 0 and not np.isinf(v.real)]
    groups: list[list[tuple[complex, int]]] = []
    for v, m in pts:
        H = v**S_top
        for g in groups:
            if abs(g[0][0] ** S_top - H) <= 1e-9 * max(1.0, abs(H)):
                g.append((v, m))
                break
        else:
            groups.append([(v, m)])
    done = [False] * len(groups)
    for gi, g in enumerate(groups):
        if done[gi]:
            continue
        rho = g[0][0]
        mult = [0] * S_top
        for v, m in g:
            mult[int(round(np.angle(v / rho) * S_top / (2 * np.pi))) % S_top] += m
        H = rho**S_top
        done[gi] = True
        if abs(H.imag) <= 1e-9 * max(1.0, abs(H)):
            t = int(round(np.angle(np.conj(rho) / rho) * S_top / (2 * np.pi)))
            out.append(("real", tuple(mult), tuple((t - a) % S_top for a in range(S_top))))
        else:
            for gj, h in enumerate(groups):
                if not done[gj] and abs(h[0][0] ** S_top - np.conj(H)) <= 1e-9 * abs(H):
                    done[gj] = True
                    break
            out.append(("pair", tuple(mult), tuple(range(S_top))))
    return out


def _component_ways(comp: tuple, Ss: tuple[int, ...]) -> set[tuple]:
    kind, mult, conj = comp
    R, S_top = len(Ss), Ss[-1]
    memo: dict = {}

    def choices(j: int, m: tuple[int, ...]) -> list[tuple]:
        S = Ss[j]
        if kind == "special":
            return [((m[0] - x * S,), x, x, x % 2)
                    for x in ([m[0]] if j == 0 else range(m[0] // S + 1))]
        q = S_top // S
        avail = [min(m[c + q * i] for i in range(S)) for c in range(q)]
        groups, seen = [], set()
        for c in range(q):
            if c in seen:
                continue
            cc = conj[c] % q if kind == "real" else c
            grp = (c,) if cc == c else (c, cc)
            seen.update(grp)
            groups.append(grp)
        ranges = [[min(avail[c] for c in g)] if j == 0 else range(min(avail[c] for c in g) + 1)
                  for g in groups]
        out = []
        for xs in itertools.product(*ranges):
            new, count, real, odd = list(m), 0, 0, 0
            for grp, x in zip(groups, xs, strict=True):
                for c in grp:
                    for i in range(S):
                        new[c + q * i] -= x
                count += x * len(grp)
                if kind == "real" and len(grp) == 1:
                    real, odd = real + x, odd + x % 2
            out.append((tuple(new), count, real, odd))
        return out

    def rec(j: int, m: tuple[int, ...]) -> set[tuple]:
        if (j, m) in memo:
            return memo[(j, m)]
        res: set[tuple] = set()
        for new, count, real, odd in choices(j, m):
            if kind == "pair":
                count, real, odd = 2 * count, 0, 0
            if j == 0:
                if not any(new):
                    res.add(((count, real, odd),))
            else:
                res |= {(*low, (count, real, odd)) for low in rec(j - 1, new)}
        memo[(j, m)] = res
        return res

    return rec(R - 1, tuple(mult))


def _brute_force_assignments(arch: Architecture, F: list[int]) -> set[tuple]:
    """All reachable per-level summaries ((count, real, odd), ...) of real assignments."""
    levels = levels_of(arch)
    Ss = tuple(lv.S for lv in levels)
    vals, mults = _exact_configuration(F)
    states = {tuple((0, 0, 0) for _ in Ss)}
    for comp in _orbit_components(vals, mults, Ss[-1]):
        ways = _component_ways(comp, Ss)
        states = {tuple((a[0] + b[0], a[1] + b[1], a[2] + b[2]) for a, b in zip(st, w, strict=True))
                  for st in states for w in ways}
    return states


def _brute_force_singular_components(arch: Architecture) -> list[tuple[int, ...]]:
    """D of MATH.md 5 by enumeration over the reduced levels of positive degree."""
    levels = levels_of(arch)
    live = [j for j, lv in enumerate(levels) if lv.n > 0]
    S = [levels[j].S for j in live]
    d = [levels[j].n for j in live]
    total = sum(a * b for a, b in zip(d, S, strict=True))
    out = []
    for cand in itertools.product(*(range(total // s + 1) for s in S)):
        if list(cand) == d or sum(c * s for c, s in zip(cand, S, strict=True)) != total:
            continue
        if all(sum(cand[i] * S[i] for i in range(j, len(S)))
               >= sum(d[i] * S[i] for i in range(j, len(S))) for j in range(len(S))):
            full = [0] * len(levels)
            for jj, v in zip(live, cand, strict=True):
                full[jj] = v
            out.append(tuple(full))
    return sorted(out)


# ============================================================================================
# Exact versus numerical on rational families
# ============================================================================================
FAMILY_ARCHS = [
    ((3, 2), (2, 1)), ((2, 2, 2), (1, 1, 1)), ((3, 3, 2), (2, 2, 1)), ((3, 2, 2), (1, 2, 1)),
    ((2, 3), (2, 1)), ((2, 2, 2), (2, 1, 1)), ((3, 2), (3, 1)), ((2, 2, 3), (2, 1, 1)),
    ((3, 3), (2, 1)), ((2, 2, 2), (2, 2, 1)), ((4, 3), (2, 1)), ((2, 2, 2, 2), (1, 1, 2, 1)),
    ((3, 1, 2), (2, 1, 1)), ((1, 3, 2), (2, 2, 1)), ((2, 2, 2, 2), (1, 1, 1, 1)),
    ((3, 2, 2), (2, 1, 1)), ((2, 2, 2, 2), (1, 2, 1, 1)), ((3, 1), (2, 1)),
]


def _reduced_arch(arch: Architecture, dp: tuple[int, ...]) -> Architecture:
    Ss = [arch.S[b[0]] for b in arch.blocks()]
    strides = [*(b // a for a, b in zip(Ss, Ss[1:], strict=False)), 1]
    return Architecture([x + 1 for x in dp], strides)


def _int_filter(rng: np.random.Generator, k: int) -> list[int]:
    while True:
        w = [int(v) for v in rng.integers(-3, 4, k)]
        if any(w):
            return w


def _family(kind: str, arch: Architecture, rng: np.random.Generator) -> list[int]:
    """Rational filters built to be members, on singular components, on the boundary (two
    layers of one block sharing a linear factor, or a squared factor), outside (random), or
    in the closure only (a singular component's layers with complex hyperroots)."""
    if kind == "member":
        return [int(v) for v in mu(arch, [_int_filter(rng, k) for k in arch.k])]
    if kind == "outside":
        return [int(v) for v in rng.integers(-5, 6, arch.filter_size)]
    D = ex.singular_components(arch)
    if kind in ("singular", "closure", "reduced") and D:
        dp = D[int(rng.integers(len(D)))]
        red = _reduced_arch(arch, dp)
        ws = []
        for k in red.k:
            if kind == "closure" and k >= 3:
                q = [1, int(rng.integers(-1, 2)), int(rng.integers(2, 5))]  # no real root
                ws.append([int(v) for v in np.convolve(q, _int_filter(rng, k - 2))])
            elif kind == "reduced" and k >= 3:  # a double real or a conjugate pair hyperroot
                c = int(rng.integers(-3, 4))
                q = [1, -2 * c, c * c] if rng.random() < 0.5 else [1, 0, int(rng.integers(1, 4))]
                ws.append([int(v) for v in np.convolve(q, _int_filter(rng, k - 2))])
            else:
                ws.append(_int_filter(rng, k))
        return [int(v) for v in mu(red, ws)]
    ws = [_int_filter(rng, k) for k in arch.k]
    i, j = (int(v) for v in rng.integers(arch.layers, size=2))
    c = int(rng.integers(-3, 4))
    if i != j and arch.k[i] >= 2 and arch.k[j] >= 2 and arch.S[i] == arch.S[j]:
        ws[i] = [int(v) for v in np.convolve([1, -c], _int_filter(rng, arch.k[i] - 1))]
        ws[j] = [int(v) for v in np.convolve([1, -c], _int_filter(rng, arch.k[j] - 1))]
    elif arch.k[i] >= 3:
        ws[i] = [int(v) for v in np.convolve([1, -2 * c, c * c], _int_filter(rng, arch.k[i] - 2))]
    return [int(v) for v in mu(arch, ws)]


REDUCED_BOUNDARY_ARCHS = [
    ((3, 2), (2, 1)), ((3, 3, 2), (2, 2, 1)), ((2, 2, 2), (2, 1, 1)), ((3, 2), (3, 1)),
    ((2, 2, 3), (2, 1, 1)), ((2, 2, 2), (2, 2, 1)), ((4, 3), (2, 1)), ((5, 2), (2, 1)),
    ((3, 2, 2), (2, 2, 1)), ((5, 3), (2, 1)),
]


@pytest.mark.parametrize("kind", ["member", "singular", "boundary", "outside", "closure",
                                  "reduced"])
def test_classify_agrees_with_exact_on_rational_families(kind) -> None:
    rng = np.random.default_rng(["member", "singular", "boundary", "outside", "closure",
                                 "reduced"].index(kind))
    archs = REDUCED_BOUNDARY_ARCHS if kind == "reduced" else FAMILY_ARCHS
    seen = set()
    for t in range(72):
        k, s = archs[t % len(archs)]
        arch = Architecture(k, s)
        F = _family(kind, arch, rng)
        want = ex.membership(arch, F, factorize=False)
        got = classify(arch, np.array(F, dtype=float))
        assert (got.category, got.component) == (want.classification,
                                                   want.singular_component), (arch, F)
        assert got.candidates == (want.classification,)
        if want.classification != "zero":
            assert got.in_closure == want.in_closure, (arch, F)
        seen.add(want.classification)
    expected = {"member": {"interior"}, "singular": {"singular"}, "outside": {"outside"},
                "boundary": {"boundary_stride1"}, "closure": {"outside"},
                "reduced": {"boundary_reduced"}}[kind]
    assert expected <= seen


def test_classify_worked_boundary_examples_agree_with_exact() -> None:
    cases = [
        ((3, 2), (2, 1), [1, 0, -2, 0, 1]),  # (x^2 - y^2)^2: double real hyperroot
        ((3, 2), (2, 1), [1, 0, 2, 0, 1]),  # (x^2 + y^2)^2
        ((2, 2), (1, 1), [1, -2, 1]),  # (x - y)^2
        ((2, 2, 2), (1, 1, 1), [1, -3, 3, -1]),  # (x - y)^3
        ((2, 2, 2, 2), (1, 1, 1, 1), [1, 0, -2, 0, 1]),  # (x-y)^2 (x+y)^2
        ((3, 3, 2), (2, 2, 1), [1, 0, 0, 0, -2, 0, 0, 0, 1, 0, 0]),
    ]
    for k, s, F in cases:
        arch = Architecture(k, s)
        want = ex.membership(arch, F, factorize=False)
        got = classify(arch, np.array(F, dtype=float))
        assert (got.category, got.component) == (want.classification,
                                                   want.singular_component), (k, s, F)


def test_brute_force_assignments_agree_with_exact_membership() -> None:
    """The assignment oracle decides membership and singularity on its own; exact must agree
    (and so must the tolerant classification, checked above)."""
    rng = np.random.default_rng(99)
    for t in range(90):
        k, s = FAMILY_ARCHS[t % len(FAMILY_ARCHS)]
        arch = Architecture(k, s)
        F = _family(["member", "singular", "boundary", "outside", "closure"][t % 5], arch, rng)
        if not any(F) or len(F) - 1 < 1:
            continue
        want = ex.membership(arch, F, factorize=False)
        levels = levels_of(arch)
        n = tuple(lv.n for lv in levels)
        states = _brute_force_assignments(arch, F)
        in_m = any(tuple(c for c, _, _ in st) == n
                   and all(st[j][1] >= levels[j].e for j in range(len(levels)))
                   for st in states)
        assert in_m == want.in_function_space, (arch, F)
        if in_m:
            counts = {tuple(c for c, _, _ in st) for st in states}
            sing = [dp for dp in ex.singular_components(arch) if dp in counts]
            assert bool(sing) == (want.singular_component is not None), (arch, F)
            if sing:
                assert min(sing, key=lambda v: (sum(v), v)) == want.singular_component
            else:  # a unique factorization: the stride-one boundary of MATH.md 6
                boundary = any(tuple(c for c, _, _ in st) == n and any(
                    st[j][2] < levels[j].e for j in range(len(levels))) for st in states)
                assert boundary == (want.classification == "boundary_stride1"), (arch, F)


def test_singular_components_against_enumeration() -> None:
    for k, s in FAMILY_ARCHS + [((5, 3, 2), (2, 3, 1)), ((1, 4, 3), (2, 2, 1))]:
        arch = Architecture(k, s)
        assert sorted(ex.singular_components(arch)) == _brute_force_singular_components(arch)


def test_jacobian_rank_agrees_with_exact_is_regular() -> None:
    rng = np.random.default_rng(5)
    for t in range(120):
        k, s = FAMILY_ARCHS[t % len(FAMILY_ARCHS)]
        arch = Architecture(k, s)
        ws = [_int_filter(rng, ki) for ki in arch.k]
        if t % 3 == 0:  # make a later layer share a factor with an earlier one
            j = int(rng.integers(1, arch.layers)) if arch.layers > 1 else 0
            i = int(rng.integers(0, j + 1))
            if arch.S[i] == arch.S[j] and i != j and arch.k[i] >= 2 and arch.k[j] >= 2:
                c = int(rng.integers(-2, 3))
                ws[i] = [int(v) for v in np.convolve([1, -c], _int_filter(rng, arch.k[i] - 1))]
                ws[j] = [int(v) for v in np.convolve([1, -c], _int_filter(rng, arch.k[j] - 1))]
        want = ex.is_regular(arch, ws)
        got = jacobian_rank(arch, [np.array(w, dtype=float) for w in ws])
        assert got.regular == want, (arch, ws, got)


@pytest.mark.parametrize("k,s", [((1,), (1,)), ((1, 1), (2, 1)), ((1, 3), (2, 1)),
                                 ((3, 1, 2), (2, 2, 1)), ((2, 1, 2), (1, 3, 1)), ((4,), (3,)),
                                 ((1, 2), (3, 1))])
def test_size_one_layers_and_degree_zero(k, s) -> None:
    """Size-1 layers are scalars; a leading one with a stride makes M a space of forms in
    x^{s_1} (MATH.md 2-3): members are never outside, a filter with other monomials is."""
    arch = Architecture(k, s)
    rng = np.random.default_rng(sum(k) + 10 * sum(s))
    ws = [rng.integers(1, 4, kk).astype(float) for kk in arch.k]
    f = mu(arch, ws)
    assert classify(arch, f).category in ("interior", "singular", "boundary_stride1")
    assert nearest(arch, f).distance <= 1e-12 * np.linalg.norm(f)
    g = rng.standard_normal(arch.filter_size)
    res, clo = nearest(arch, g), nearest(arch, g, target="closure")
    assert clo.distance <= res.distance + 1e-12
    assert res.residual <= 1e-10 and clo.residual <= 1e-10
    F = [int(v) for v in rng.integers(-3, 4, arch.filter_size)]
    if any(F):
        assert classify(arch, np.array(F, float)).category == ex.membership(
            arch, F, factorize=False).classification
    if arch.degree == 0:
        assert res.distance == 0.0


def test_cli_member_float_branch() -> None:
    runner = CliRunner()
    base = ["member", "--k", "3,2", "--s", "2,1"]
    out = runner.invoke(app, [*base, "--filter", "1,0,0,0,-4", "--float", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["classification"] == "singular" and data["singular_component"] == [0, 2]
    assert data["tol"] == 1e-8 and data["candidates"] == ["singular"]
    arch = Architecture((3, 2), (2, 1))
    assert np.allclose(mu(arch, [np.array(w) for w in data["nearest"]["filters"]]),
                       [1, 0, 0, 0, -4], atol=1e-10)
    # --tol alone selects the float branch; a perturbation far above it is outside
    out = runner.invoke(app, [*base, "--filter", "1,1e-4,0,0,-4", "--tol", "1e-9", "--json"])
    data = json.loads(out.output)
    assert data["classification"] == "outside" and data["tol"] == 1e-9
    out = runner.invoke(app, [*base, "--filter", "1,0,0,-4", "--float"])
    assert out.exit_code == 2 and "--filter" in out.output
    out = runner.invoke(app, [*base, "--filter", "1,0,0,0,-4", "--tol", "2"])
    assert out.exit_code == 2 and "--tol" in out.output


@pytest.mark.parametrize(
    ("k", "s", "F"),
    [
        ("1,3,2", "2,2,1", [1, -5, 4, -2, 4, 16, 0, 0, 0]),
        ("2,3,2", "3,2,1", [1, -3, 2, 1, 1, -10, 8, 4, -12, 8, 0, 0, 0, 0]),
        ("1,3,2", "2,2,1", [1, 0, -2, 4, 0, -8, 0, 0, 0]),
    ],
)
def test_forms_that_once_broke_the_svd_agree_with_exact(k: str, s: str, F: list[int]) -> None:
    # regression: a diverged start made the certificate's SVD fail (LinAlgError)
    from lcn.geometry.exact import membership

    a = Architecture(k, s)
    exact = membership(a, F).classification
    f = np.array(F, dtype=float)
    assert classify(a, f).category == exact
    res = nearest(a, f)
    assert np.all(np.isfinite(res.point)) and math.isfinite(res.distance)
