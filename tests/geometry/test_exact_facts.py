"""Architecture facts of issue 3 (closure degree, singular components, filling, closed,
boundary kinds) and regular points of mu, against independent computations: SymPy Groebner
elimination, Hilbert functions of sampled points mod p, brute-force D, tangent spaces of all
complex preimages, numerical Jacobian ranks, brute-force membership witnesses."""

from __future__ import annotations

import itertools
import math
import random

import flint
import mpmath
import numpy as np
import pytest
import sympy

from lcn import Architecture
from lcn.errors import ExactnessError
from lcn.geometry import (
    boundary_kinds,
    closure_degree,
    is_closed,
    is_filling,
    is_regular,
    membership,
    singular_components,
)
from lcn.parametrization import jacobian
from tests.geometry.test_exact import ARCHS
from tests.geometry.test_exact_oracle import (
    arch_layers,
    assignments,
    brute_D,
    factorable,
    mu_exact,
    reduced_layers,
    strides,
)


# ---------------------------------------------------------------------------------------------
# closure degree
# ---------------------------------------------------------------------------------------------
def _implicit(k, s):
    """Eliminate the filter entries from p_j = coefficient_j(mu(w)) (lex Groebner basis)."""
    t = sympy.Symbol("t")
    ws = [[sympy.Symbol(f"w{i}_{j}") for j in range(ki)] for i, ki in enumerate(k)]
    P = 1
    for w, Si in zip(ws, strides(s), strict=True):
        P *= sum(w[j] * t ** (Si * (len(w) - 1 - j)) for j in range(len(w)))
    P = sympy.Poly(sympy.expand(P), t)
    d = P.degree()
    ps = [sympy.Symbol(f"p{j}") for j in range(d + 1)]
    eqs = [ps[j] - P.coeff_monomial(t ** (d - j)) for j in range(d + 1)]
    allw = [v for w in ws for v in w]
    G = sympy.groebner(eqs, *allw, *ps, order="lex")
    return [g for g in G.exprs if not (g.free_symbols & set(allw))], ps


@pytest.mark.parametrize("k, s", [((2, 2), (2, 1)), ((3, 2), (2, 1)), ((4, 2), (2, 1)),
                                  ((2, 2, 2), (1, 2, 1))])
def test_closure_degree_hypersurfaces_by_elimination(k, s):
    eqs, ps = _implicit(k, s)
    assert len(eqs) == 1
    assert sympy.Poly(eqs[0], *ps).total_degree() == closure_degree(Architecture(k, s))
    if (k, s) == ((2, 2), (2, 1)):
        assert sympy.expand(eqs[0] - (ps[0] * ps[3] - ps[1] * ps[2])) == 0 or \
            sympy.expand(eqs[0] + (ps[0] * ps[3] - ps[1] * ps[2])) == 0


_P = 2**31 - 1


def _mu_mod(k, s, ws):
    out = [1]
    for w, Si in zip(ws, strides(s), strict=True):
        up = [0] * (Si * (len(w) - 1) + 1)
        for j, v in enumerate(w):
            up[Si * j] = v
        new = [0] * (len(out) + len(up) - 1)
        for i, a in enumerate(out):
            for j, b in enumerate(up):
                new[i + j] = (new[i + j] + a * b) % _P
        out = new
    return out


def _hilbert(k, s, t, rng):
    """Hilbert function of the closure in degree t: the rank (mod p) of all degree-t
    monomials evaluated at random points of the image of mu."""
    n = sum((ki - 1) * Si for ki, Si in zip(k, strides(s), strict=True)) + 1
    monos = list(itertools.combinations_with_replacement(range(n), t))
    npts = min(len(monos), 60 + 4 * t**3 * math.factorial(3)) + 10
    rows = []
    for _ in range(npts):
        p = _mu_mod(k, s, [[rng.randrange(_P) for _ in range(ki)] for ki in k])
        rows.append([math.prod(p[i] for i in m) % _P for m in monos])
    return flint.nmod_mat(rows, _P).rank()


@pytest.mark.parametrize("k, s", [((3, 2), (2, 1)), ((2, 2, 2), (2, 2, 1)), ((2, 3), (3, 1)),
                                  ((2, 2, 2), (2, 1, 1))])
def test_closure_degree_by_hilbert_function(k, s):
    """For a projective variety of dimension n the n-th difference of its Hilbert function is
    eventually its degree (all these closures have projective dimension 3)."""
    rng = random.Random(1)
    n = sum(ki - 1 for ki in k)
    assert n == 3
    hf = [_hilbert(k, s, t, rng) for t in range(2, 7)]
    diffs = hf
    for _ in range(n):
        diffs = [b - a for a, b in itertools.pairwise(diffs)]
    assert diffs[-1] == closure_degree(Architecture(k, s))
    assert len(set(diffs)) == 1


def test_closure_degree_examples():
    assert closure_degree(Architecture((3, 3), (1, 1))) == 1  # a linear space
    assert closure_degree(Architecture((3, 3, 2), (2, 2, 1))) == 30
    assert closure_degree(Architecture((3, 1), (2, 1))) == 1


# ---------------------------------------------------------------------------------------------
# singular components
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k, s", ARCHS + [((3, 3, 2), (2, 2, 1)), ((5, 3, 2), (2, 2, 1)),
                                         ((3, 1), (2, 1)), ((3, 1, 2), (2, 2, 1))])
def test_singular_components_match_bruteforce_D(k, s):
    red = reduced_layers(k, s)
    got = singular_components(Architecture(k, s))
    expect = sorted(
        tuple(next((a for a, S2 in dv if S2 == S), 0) for _, S in red) for dv in brute_D(k, s)
    )
    assert sorted(got) == expect


def test_D_empty_iff_small_degrees_derived_claim():
    """MATH.md 5 [derived]: D is empty iff d_i < s_i for all i < L (reduced architecture).
    True when every layer has size >= 2; false with size-1 layers, which the reduced
    architecture keeps (k=(3,1), s=(2,1): d_1 = s_1 but D is empty)."""
    for k in itertools.product(range(2, 5), repeat=2):
        for s1 in range(2, 5):
            a = Architecture(k, (s1, 1))
            assert (singular_components(a) == []) == (k[0] - 1 < s1)
    for k in itertools.product(range(2, 4), repeat=3):
        for s in itertools.product(range(2, 4), repeat=2):
            a = Architecture(k, (*s, 1))
            small = all(k[i] - 1 < s[i] for i in range(2))
            assert (singular_components(a) == []) == small
    a = Architecture((3, 1), (2, 1))
    assert a.is_reduced and singular_components(a) == [] and a.filling


def _layer_vec(hyper, d):
    """Coefficients (u^d .. v^d) of prod (u - h v) over the hyperroots (inf -> v, 0 -> u)."""
    vec = np.array([1.0 + 0j])
    for h in hyper:
        f = [0.0, 1.0] if h == "inf" else [1.0, -complex(h)]
        vec = np.convolve(vec, np.array(f, dtype=complex))
    assert len(vec) == d + 1
    return vec


def _jac(ws, Ss):
    cols = []
    ups = []
    for w, S in zip(ws, Ss, strict=True):
        u = np.zeros(S * (len(w) - 1) + 1, dtype=complex)
        u[::S] = w
        ups.append(u)
    for i, (w, S) in enumerate(zip(ws, Ss, strict=True)):
        rest = np.array([1.0 + 0j])
        for j, u in enumerate(ups):
            if j != i:
                rest = np.convolve(rest, u)
        for tap in range(len(w)):
            e = np.zeros(S * (len(w) - 1) + 1, dtype=complex)
            e[S * tap] = 1
            cols.append(np.convolve(rest, e))
    return np.array(cols).T


def _rank(M, tol=1e-7):
    sv = np.linalg.svd(M, compute_uv=False)
    return int(np.sum(sv > tol * sv[0]))


def _tangent_singular(F, red):
    """Singular point of the closure seen from its parametrization: some complex preimage has
    a rank drop of d mu, or two preimages have different tangent spaces."""
    red = [(d, S) for d, S in red if d > 0]
    dim = sum(d for d, _ in red) + 1
    found = assignments(F, red, real=False, first_only=False)
    assert found
    order = sorted(red, key=lambda t: -t[1])
    Js = []
    for hyper in found:
        by_S = {S: h for (d, S), h in zip(order, hyper, strict=True)}
        ws = [_layer_vec(by_S[S], d) for d, S in red]
        Js.append(_jac(ws, [S for _, S in red]))
    ranks = [_rank(J) for J in Js]
    return min(ranks) < dim or _rank(np.hstack(Js)) > dim


@pytest.mark.parametrize("k, s", [((3, 2), (2, 1)), ((4, 2), (2, 1)), ((3, 3), (2, 1)),
                                  ((3, 2, 2), (2, 2, 1)), ((5, 2), (2, 1)), ((4, 2), (3, 1))])
def test_singular_components_by_tangent_spaces(k, s):
    rng = random.Random(sum(k) + 7 * sum(s))
    red = reduced_layers(k, s)
    a = Architecture(k, s)
    Ds = brute_D(k, s)
    assert Ds
    mpmath.mp.dps = 60
    for dv in Ds:  # random points of each component are singular
        ks = [d + 1 for d, _ in dv]
        Ss = [S for _, S in dv]
        ss = [Ss[i + 1] // Ss[i] for i in range(len(Ss) - 1)] + [1]
        for _ in range(2):
            F = mu_exact(ks, ss, [[rng.randint(-9, 9) or 1 for _ in range(ki)] for ki in ks])
            F = [int(v) for v in F]
            assert _tangent_singular(F, red), (k, s, dv, F)
            m = membership(a, F, factorize=False)
            if m.in_function_space:
                assert m.singular_component is not None
    for _ in range(3):  # random points of M are smooth
        F = [int(v) for v in mu_exact(k, s, [[rng.randint(-9, 9) or 1 for _ in range(ki)]
                                              for ki in k])]
        assert not _tangent_singular(F, red)
        assert membership(a, F, factorize=False).singular_component is None


# ---------------------------------------------------------------------------------------------
# filling, closed, boundary kinds: brute-force witnesses
# ---------------------------------------------------------------------------------------------
def _witness_samples(k, s, rng, n=150):
    """Forms of degree d likely to expose M != R[x,y]_d, M_red \\ M, closure \\ M_red: random
    ones, products of real-rootless quadratics, points of the singular components."""
    a = Architecture(k, s)
    d = a.degree
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.3:
            out.append([rng.randint(-3, 3) for _ in range(d + 1)])
        elif r < 0.6:  # few real roots
            F = [1]
            while len(F) < d + 1:
                f = rng.choice([[1, 0, 1], [1, 1, 1], [1, 0, 2], [1, -1]] if len(F) < d
                               else [[1, -1], [0, 1]])
                F = list(np.convolve(F, f))
            out.append([int(v) for v in F[: d + 1]])
        else:
            Ds = brute_D(k, s) or [[(dd, S) for dd, S in reduced_layers(k, s) if dd > 0]]
            dv = rng.choice(Ds)
            ks = [dd + 1 for dd, _ in dv]
            Ss = [S for _, S in dv]
            ss = [Ss[i + 1] // Ss[i] for i in range(len(Ss) - 1)] + [1]
            ws = []
            for ki in ks:
                w = [rng.randint(-2, 2) for _ in range(ki)]
                if ki == 2 and rng.random() < 0.5:
                    w = [1, rng.randint(-2, 2)]
                if ki == 3 and rng.random() < 0.5:
                    w = [1, 0, rng.randint(1, 3)]
                ws.append(w if any(w) else [1] + w[1:])
            F = mu_exact(ks, ss, ws)
            G = [0] * (d + 1)
            for i, v in enumerate(F):
                G[i * Ss[0]] = int(v)
            out.append(G)
    return [F for F in out if any(F)]


@pytest.mark.parametrize("k, s", [((2, 2), (1, 1)), ((2, 2, 2), (1, 1, 1)), ((3, 3), (1, 1)),
                                  ((3, 2), (2, 1)), ((2, 2), (2, 1)), ((2, 2, 2), (1, 2, 1)),
                                  ((2, 2, 2), (2, 1, 1)), ((3, 1), (2, 1)), ((1, 3), (2, 1)),
                                  ((4, 2), (2, 1)), ((2, 3), (2, 1)), ((2, 2), (3, 1)),
                                  ((3, 2, 2), (2, 1, 1)), ((2, 2, 2), (2, 2, 1))])
def test_filling_closed_boundary_kinds_by_witnesses(k, s):
    a = Architecture(k, s)
    if a.degree > 8:
        pytest.skip("brute force limited to degree 8")
    rng = random.Random(sum(k) * 13 + sum(s))
    layers = arch_layers(k, s)
    red = reduced_layers(k, s)
    not_in_M = red_minus_M = closure_minus_red = False
    for F in _witness_samples(k, s, rng):
        inM = factorable(F, layers, True)
        not_in_M |= not inM
        if not inM and factorable(F, red, True):
            red_minus_M = True
        if factorable(F, layers, False) and not factorable(F, red, True):
            closure_minus_red = True
    assert is_filling(a) == (not not_in_M)
    b = boundary_kinds(a)
    assert b["stride1"] == red_minus_M
    assert b["reduced"] == closure_minus_red
    assert is_closed(a) == (not red_minus_M and not closure_minus_red)
    assert a.filling == is_filling(a) and a.closed == is_closed(a) and a.boundary == b


def test_architecture_to_dict_has_geometry_keys():
    a = Architecture((3, 2), (2, 1))
    dct = a.to_dict()
    assert dct["filling"] is False and dct["closed"] is False and dct["closure_degree"] == 3
    assert dct["singular_components"] == [[0, 2]]
    assert dct["boundary"] == {"stride1": False, "reduced": True}
    b = Architecture((2, 2, 2), (1, 1, 1)).to_dict()
    assert b["boundary"] == {"stride1": True, "reduced": False} and b["closure_degree"] == 1


# ---------------------------------------------------------------------------------------------
# regular points of mu (MATH.md 7) against the numerical Jacobian rank
# ---------------------------------------------------------------------------------------------
def _planted_filters(rng, k, s):
    Ss = strides(s)
    ws = [[rng.randint(-3, 3) for _ in range(ki)] for ki in k]
    r = rng.random()
    if r < 0.15:
        i = rng.randrange(len(k))
        ws[i] = [0] * k[i]
    elif r < 0.6:
        # plant an orbit of layer j inside an earlier layer i
        js = [j for j in range(1, len(k)) if k[j] >= 2]
        if js:
            j = rng.choice(js)
            h = rng.choice([-2, -1, 1, 2, 0])
            ws[j] = list(np.convolve([1, -h], [rng.randint(1, 3) for _ in range(k[j] - 1)]))
            cands = [i for i in range(j) if (k[i] - 1) * Ss[i] >= Ss[j]]
            if cands:
                i = rng.choice(cands)
                q = Ss[j] // Ss[i]
                orbit = [1] + [0] * (q - 1) + [-h]  # u_i^q - h
                rest = [rng.randint(-2, 2) or 1 for _ in range(k[i] - q)]
                ws[i] = list(np.convolve(orbit, rest))
    return [[int(v) for v in w] for w in ws]


def test_is_regular_agrees_with_numerical_jacobian_rank():
    rng = random.Random(4)
    checked = {True: 0, False: 0}
    for _ in range(700):
        k, s = rng.choice(ARCHS)
        a = Architecture(k, s)
        ws = _planted_filters(rng, k, s)
        J = jacobian(a, [np.array(w, dtype=float) for w in ws])
        sv = np.linalg.svd(J, compute_uv=False)
        if sv[0] == 0:
            rank = 0
        else:
            rel = sv / sv[0]
            if np.any((rel > 1e-11) & (rel < 1e-6)):
                continue  # not well conditioned: no numerical verdict
            rank = int(np.sum(rel >= 1e-6))
        reg = is_regular(a, ws)
        assert reg == (rank == a.dimension), (k, s, ws, rank)
        checked[reg] += 1
    assert checked[True] > 150 and checked[False] > 150


def test_is_regular_bad_input():
    a = Architecture((3, 2), (2, 1))
    with pytest.raises(ExactnessError, match="matrix_rank"):
        is_regular(a, [[1.0, 0, 1], [1, 2]])
    assert is_regular(a, "1,0,1;1,2")
    assert not is_regular(a, [[1, 0, -1], [1, -1]])  # x^2 - y^2 is layer 2's orbit
