"""Independent exact counts: Groebner bases of the critical ideal (SymPy, over a prime field).

The critical ideal is written here from scratch (layers as SymPy polynomials, the loss as an
expanded polynomial, its partial derivatives), in a chart independent of the solver's: the
first layer's leading coefficient fixed to 1 (every orbit with ``w_1[0] != 0`` meets it once,
and the rescaling invariance makes the restricted gradient vanish iff the full one does), with
``mu(w) != 0`` imposed by a Rabinowitsch variable on a random combination of the last layer.
The number of solutions is the number of standard monomials of a grevlex Groebner basis. Over
``F_p`` (``p = 32003``, random data mod ``p``) the count equals the generic complex count with
high probability; SymPy over ``QQ`` is too slow here (``k=(3,2)`` takes minutes).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import sympy as sp

from lcn import Architecture
from lcn.homotopy import critical_set
from lcn.training import gaussian_dataset

P = 32003


def _standard_monomials(gb: list[sp.Expr], gens: list[sp.Symbol]) -> int | None:
    lead = [sp.Poly(g, *gens, modulus=P).monoms(order="grevlex")[0] for g in gb]
    n = len(gens)
    seen = {(0,) * n}
    todo = [(0,) * n]
    count = 0
    while todo:
        mono = todo.pop()
        if any(all(mono[i] >= ld[i] for i in range(n)) for ld in lead):
            continue
        count += 1
        if count > 5000:
            return None  # not zero-dimensional
        for i in range(n):
            nxt = mono[:i] + (mono[i] + 1,) + mono[i + 1:]
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return count


def _layers(k: tuple[int, ...], first_fixed: bool) -> tuple[list[list[sp.Expr]],
                                                               list[sp.Symbol]]:
    gens: list[sp.Symbol] = []
    layers = []
    for i, ki in enumerate(k):
        cs: list[sp.Expr] = [sp.Symbol(f"w{i}_{j}") for j in range(ki)]
        if i == 0 and first_fixed:
            cs[0] = sp.Integer(1)
        gens += [c for c in cs if isinstance(c, sp.Symbol)]
        layers.append(cs)
    return layers, gens


def _product(layers: list[list[sp.Expr]], S: tuple[int, ...]) -> list[sp.Expr]:
    x = sp.Symbol("x")
    poly = sp.Integer(1)
    for cs, Si in zip(layers, S, strict=True):
        poly *= sum(c * x ** (j * Si) for j, c in enumerate(cs))
    p = sp.Poly(sp.expand(poly), x)
    return [p.coeff_monomial(x**t) for t in range(p.degree() + 1)]


def critical_count(k: tuple[int, ...], s: tuple[int, ...], seed: int = 1) -> int | None:
    """Number of complex critical orbits with ``mu != 0`` for random data mod ``P``."""
    arch = Architecture(k, s)
    rnd = random.Random(seed)
    layers, gens = _layers(k, True)
    v = _product(layers, arch.S)
    m = len(v)
    A = sp.Matrix(m, m, lambda i, j: rnd.randint(-1000, 1000))
    G = A.T * A + sp.eye(m)
    u = sp.Matrix([rnd.randint(-1000, 1000) for _ in range(m)])
    r = sp.Matrix(v) - u
    L = sp.expand((r.T * G * r)[0])
    t = sp.Symbol("t")
    eqs = [sp.diff(L, g) for g in gens]
    eqs.append(sp.expand(t * sum(rnd.randint(1, 1000) * c for c in layers[-1]) - 1))
    gb = sp.groebner(eqs, *gens, t, order="grevlex", modulus=P)
    return _standard_monomials(list(gb.exprs), [*gens, t])


def zero_count(k: tuple[int, ...], s: tuple[int, ...], seed: int = 2) -> int:
    """Isolated critical points with exactly one zero layer: for each layer ``j`` the classes
    of the other layers (each with leading coefficient 1, generic) solving ``J_j^T b = 0``,
    i.e. ``d/dw_j (mu . b) = 0`` at ``w_j = 0`` (``b = G u``, random)."""
    arch = Architecture(k, s)
    rnd = random.Random(seed)
    total = 0
    for j in range(len(k)):
        n_other = sum(ki - 1 for i, ki in enumerate(k) if i != j)
        if n_other != k[j]:
            assert n_other < k[j]  # else positive-dimensional (not used here)
            continue
        layers, _ = _layers(k, False)
        gens = []
        for i, cs in enumerate(layers):
            if i != j:
                cs[0] = sp.Integer(1)
                gens += cs[1:]
        v = _product(layers, arch.S)
        b = [rnd.randint(-1000, 1000) for _ in v]
        f = sp.expand(sum(bi * vi for bi, vi in zip(b, v, strict=True)))
        eqs = [sp.diff(f, c).subs({c2: 0 for c2 in layers[j]}) for c in layers[j]]
        gb = sp.groebner(eqs, *gens, order="grevlex", modulus=P)
        cnt = _standard_monomials(list(gb.exprs), gens)
        assert cnt is not None
        total += cnt
    return total


@pytest.mark.parametrize(("k", "s", "expected"), [((2, 2), (1, 1), 6), ((3, 2), (2, 1), 10),
                                                  ((2, 2), (2, 1), 6)])
def test_groebner_count_equals_solver(k: tuple[int, ...], s: tuple[int, ...], expected: int,
                                      cache: Path) -> None:
    arch = Architecture(k, s)
    exact = critical_count(k, s)
    assert exact == expected == arch.ed_degree
    res = critical_set(arch, gaussian_dataset(arch, N=20, seed=4), cache_dir=cache)
    assert res.complex_count == exact and res.certified_complete


@pytest.mark.parametrize(("k", "s"), [((2, 3), (1, 1)), ((2, 2, 2), (2, 2, 1)),
                                      ((2, 2, 2), (1, 1, 1)), ((3, 2), (2, 1))])
def test_zero_filter_count(k: tuple[int, ...], s: tuple[int, ...], cache: Path) -> None:
    """``k=(2,3)``: 1; ``k=(2,2,2)``: 6, two per zero layer (the issue's "two" counts one
    zero layer only)."""
    arch = Architecture(k, s)
    exact = zero_count(k, s)
    res = critical_set(arch, gaussian_dataset(arch, N=20, seed=8), cache_dir=cache,
                       classify=False)
    assert res.zero_count == exact


def test_zero_filter_positive_dimensional(cache: Path) -> None:
    """``k=(3,1)``: with the size-1 layer zero, ``mu . b = 0`` is one equation on ``P^2``, a
    curve of critical points: the count is ``None``."""
    arch = Architecture((3, 1), (1, 1))
    res = critical_set(arch, gaussian_dataset(arch, N=20, seed=3), cache_dir=cache,
                       classify=False)
    assert res.zero_count is None
    assert res.complex_count == arch.ed_degree
