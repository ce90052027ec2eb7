"""Exact membership, factorization and classification (issue 3), against independent oracles:
brute-force orbit assignments (test_exact_oracle), SymPy real roots, exact products."""

from __future__ import annotations

import json
import random
from fractions import Fraction

import flint
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcn import Architecture
from lcn.errors import (
    ArchitectureError,
    ConfigError,
    ExactnessError,
    FilterError,
    LCNError,
    ParseError,
)
from lcn.geometry import (
    CATEGORIES,
    CATEGORY_PRECEDENCE,
    Membership,
    boundary_kinds,
    closure_degree,
    ed_degree,
    i_s,
    in_closure,
    is_closed,
    is_filling,
    is_regular,
    membership,
    singular_components,
)
from tests.geometry.test_exact_oracle import (
    arch_layers,
    brute_D,
    factorable,
    mu_exact,
    reduced_layers,
    strides,
)

A32 = Architecture((3, 2), (2, 1))

# small architectures (degree <= 8): stride one, strided reduced, non-reduced with odd
# stride-one blocks, size-1 layers (also a leading one with a stride)
ARCHS = [
    ((2, 2), (1, 1)), ((2, 2, 2), (1, 1, 1)), ((3, 2, 2), (1, 1, 1)), ((2, 2, 2, 2), (1, 1, 1, 1)),
    ((3, 2), (2, 1)), ((2, 2), (2, 1)), ((4, 2), (2, 1)), ((2, 3), (2, 1)), ((3, 3), (2, 1)),
    ((2, 2, 2), (2, 2, 1)), ((3, 2), (3, 1)), ((2, 2), (4, 1)), ((3, 2), (4, 1)), ((4, 3), (2, 1)),
    ((5, 2), (2, 1)), ((2, 2, 2), (1, 2, 1)), ((2, 2, 2), (2, 1, 1)), ((2, 2, 3), (2, 1, 1)),
    ((3, 2, 2), (1, 2, 1)), ((2, 2, 2), (3, 1, 1)), ((2, 2, 2), (1, 1, 2)), ((2, 2, 2), (2, 1, 2)),
    ((2, 2, 2, 2), (2, 1, 1, 1)), ((3, 2, 2), (2, 1, 1)), ((1, 3), (2, 1)), ((3, 1, 2), (2, 2, 1)),
    ((1, 2, 2), (3, 1, 1)), ((1, 3, 2), (2, 2, 1)), ((2, 1), (2, 1)), ((3,), (1,)),
]


def _ints(F):
    return [int(v) for v in F]


def _rand_layer(rng, k):
    r = rng.random()
    if r < 0.2 and k >= 3:  # no real roots
        w = [rng.randint(1, 2)] + [rng.randint(-1, 1) for _ in range(k - 2)] + [rng.randint(1, 3)]
        if k == 3:
            w = [1, 0, rng.randint(1, 3)]
    elif r < 0.35 and k >= 3:  # a double root
        a, b = rng.randint(-2, 2), rng.randint(1, 2)
        w = [b * b, -2 * a * b, a * a] + [0] * (k - 3)
        if rng.random() < 0.5:
            w = w[::-1]
    else:
        w = [rng.randint(-3, 3) for _ in range(k)]
        if rng.random() < 0.2:
            w[0] = 0
        if rng.random() < 0.2:
            w[-1] = 0
    if all(v == 0 for v in w):
        w[0] = 1
    return w


def _planted(rng, k, s):
    """A filter of the architecture: a product (member), a point of a singular component or
    of another degree vector (often only in the closure), or a sparse random form."""
    a = Architecture(k, s)
    mode = rng.random()
    if mode < 0.45:
        return mu_exact(k, s, [_rand_layer(rng, ki) for ki in k])
    if mode < 0.8:
        Ds = brute_D(k, s)
        red = [(d, S) for d, S in reduced_layers(k, s) if d > 0]
        dv = rng.choice(Ds) if Ds else red
        ks = [dd + 1 for dd, _ in dv]
        Ss = [S for _, S in dv]
        ss = [Ss[i + 1] // Ss[i] for i in range(len(Ss) - 1)] + [1]
        F = mu_exact(ks, ss, [_rand_layer(rng, ki) for ki in ks])
        out = [Fraction(0)] * (a.degree + 1)
        for i, v in enumerate(F):
            out[i * Ss[0]] = v
        return out
    F = [rng.randint(-4, 4) if (rng.random() < 0.6 or i % 2 == 0) else 0
         for i in range(a.degree + 1)]
    if rng.random() < 0.5:
        F = [v if i % 2 == 0 else 0 for i, v in enumerate(F)]
    return [Fraction(v) for v in F]


# ---------------------------------------------------------------------------------------------
# MATH.md worked examples
# ---------------------------------------------------------------------------------------------
def test_worked_example_x4_plus_4y4_is_closure_only():
    m = membership(A32, "1,0,0,0,4")
    assert m.in_closure and not m.in_function_space and m.classification == "outside"
    assert m.factorization_kind == "complex"
    w1, w2 = (np.array(w, dtype=complex) for w in m.factorization)
    # layer 2 acts on x^2 (S_2 = 2): upsample layer 2
    prod = np.convolve(w1, np.array([w2[0], 0, w2[1]]))
    assert np.allclose(prod, [1, 0, 0, 0, 4])
    assert m.residual < 1e-12
    assert any(abs(v.imag) > 0.1 for w in m.factorization for v in w)


def test_worked_example_x4_minus_4y4_is_member():
    m = membership(A32, [1, 0, 0, 0, -4])
    assert m.in_closure and m.in_function_space
    assert m.factorization_kind == "rational" and m.residual == 0
    assert mu_exact((3, 2), (2, 1), [[Fraction(str(v)) for v in w] for w in m.factorization]) \
        == [1, 0, 0, 0, -4]
    # it lies in R[x^2, y^2]_2 = Sing (MATH.md 5): singular, on the component (0, 2)
    assert m.classification == "singular" and m.singular_component == (0, 2)


def test_worked_example_singular_locus_is_even_forms():
    rng = random.Random(1)
    for _ in range(40):
        a, b, c = (rng.randint(-5, 5) for _ in range(3))
        if a == 0:
            continue
        m = membership(A32, [a, 0, b, 0, c], factorize=False)
        if m.in_function_space:  # in M and in R[x^2,y^2]: singular (or a boundary point)
            assert m.singular_component == (0, 2)
            assert m.classification in ("singular", "boundary_reduced")
        # the real membership of an even form: the top layer needs a real root of a u^2+b u+c
        assert m.in_function_space == (b * b - 4 * a * c >= 0)
    for _ in range(40):  # generic products are smooth interior points
        w1 = [rng.randint(-9, 9) or 1 for _ in range(3)]
        w2 = [rng.randint(-9, 9) or 1 for _ in range(2)]
        m = membership(A32, _ints(mu_exact((3, 2), (2, 1), [w1, w2])))
        assert m.in_function_space and m.singular_component is None
        assert m.classification == "interior"


def test_double_real_hyperroot_is_reduced_boundary():
    # (x^2 - y^2)^2: the needed real hyperroot is where a conjugate pair meets the real line
    m = membership(A32, [1, 0, -2, 0, 1])
    assert m.classification == "boundary_reduced" and m.singular_component == (0, 2)
    nearby = membership(A32, [1, 0, -2, 0, Fraction(1000001, 1000000)])
    assert nearby.in_closure and not nearby.in_function_space


# ---------------------------------------------------------------------------------------------
# Oracle 1: products of random rational sparse filters are members
# ---------------------------------------------------------------------------------------------
_archs = st.sampled_from([
    ((3, 2), (2, 1)), ((4, 3, 2), (2, 2, 1)), ((3, 3, 2), (1, 2, 1)), ((2, 2, 2), (1, 1, 1)),
    ((1, 3, 2), (2, 2, 1)), ((3, 1, 2), (2, 3, 1)), ((5, 2), (3, 1)), ((2, 4, 2), (2, 1, 1)),
])
_frac = st.fractions(min_value=-5, max_value=5, max_denominator=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=_archs, data=st.data())
def test_random_products_are_members(arch, data):
    k, s = arch
    filters = [data.draw(st.lists(_frac, min_size=ki, max_size=ki)) for ki in k]
    F = mu_exact(k, s, filters)
    text = [str(v) for v in F]
    m = membership(Architecture(k, s), text)
    assert m.in_closure and m.in_function_space
    # every architecture whose function space contains M (MATH.md 3): the reduced one, one
    # with an extra size-1 layer, and, for stride one, neighbours merged into one layer
    red = Architecture(k, s).reduced()
    assert membership(red, text, factorize=False).in_function_space
    assert membership(Architecture((*k, 1), (*s, 1)), text, factorize=False).in_function_space
    if all(v == 0 for v in F):
        assert m.classification == "zero"
        return
    if m.factorization_kind == "rational":
        got = mu_exact(k, s, [[Fraction(int(v.p), int(v.q)) for v in w] for w in m.factorization])
        assert got == F and m.residual == 0
    else:
        assert m.factorization_kind == "float"
        scale = max(abs(float(v)) for v in F)
        assert m.residual <= 1e-9 * scale
        got = mu_exact(k, s, [[Fraction(v) for v in w] for w in m.factorization])
        assert max(abs(float(g - f)) for g, f in zip(got, F, strict=True)) <= 1e-8 * scale


# ---------------------------------------------------------------------------------------------
# Oracle 2: brute force over all orbit-to-layer assignments (degree <= 8)
# ---------------------------------------------------------------------------------------------
def _check_against_bruteforce(rng, n):
    seen = {}
    for _ in range(n):
        k, s = rng.choice(ARCHS)
        F = _planted(rng, k, s)
        if all(v == 0 for v in F):
            continue
        m = membership(Architecture(k, s), [str(v) for v in F], factorize=False)
        layers = arch_layers(k, s)
        oc = factorable(F, layers, real=False)
        orr = factorable(F, layers, real=True)
        assert (m.in_closure, m.in_function_space) == (oc, orr), (k, s, F)
        seen[(oc, orr)] = seen.get((oc, orr), 0) + 1
        if orr:
            # singular <=> on the closure of some component d' in D (brute force), and the
            # component reported is the smallest-dimensional such d'
            comps = [dv for dv in brute_D(k, s) if factorable(F, dv, real=False)]
            if comps:
                best = min(comps, key=lambda dv: sum(d for d, _ in dv))
                red = [S for d, S in reduced_layers(k, s)]
                expect = tuple(next((d for d, S2 in best if S2 == S), 0) for S in red)
                assert m.singular_component == expect, (k, s, F, m)
                assert m.classification in ("singular", "boundary_reduced", "boundary_stride1")
            else:
                assert m.singular_component is None, (k, s, F, m)
                assert m.classification in ("interior", "boundary_stride1")
        else:
            assert m.classification == "outside"
    return seen


def test_membership_agrees_with_bruteforce():
    seen = _check_against_bruteforce(random.Random(20240601), 2500)
    # the planted families reach every verdict often
    assert seen.get((True, True), 0) > 800
    assert seen.get((True, False), 0) > 200
    assert seen.get((False, False), 0) > 200


@pytest.mark.slow
def test_membership_agrees_with_bruteforce_many():
    _check_against_bruteforce(random.Random(7), 8000)


def test_singular_points_of_M_lie_on_real_components():
    """MATH.md 5 (Sing = U M_{d',S}, real sets): every point of M where deg I_S exceeds its
    generic value is in some real M_{d',S} (brute-force real factorization for d')."""
    rng = random.Random(3)
    archs = [((3, 2), (2, 1)), ((4, 2), (2, 1)), ((3, 2, 2), (2, 2, 1)), ((2, 2, 2), (1, 2, 1)),
             ((5, 2), (2, 1)), ((3, 3), (3, 1)), ((2, 2, 2), (2, 1, 2))]
    hits = 0
    for _ in range(300):
        k, s = rng.choice(archs)
        ws = []
        for ki in k:
            w = [rng.randint(-3, 3) for _ in range(ki)]
            if ki >= 3 and rng.random() < 0.6:
                w = [v if j % 2 == 0 else 0 for j, v in enumerate(w)]
            ws.append(w if any(w) else [1] + w[1:])
        F = mu_exact(k, s, ws)
        if not any(F):
            continue
        m = membership(Architecture(k, s), _ints(F), factorize=False)
        assert m.in_function_space
        if m.singular_component is not None:
            hits += 1
            assert any(factorable(F, dv, real=True) for dv in brute_D(k, s)), (k, s, F)
    assert hits > 40


# ---------------------------------------------------------------------------------------------
# Oracle 3: stride one, the real-root count (MATH.md 3) and its boundary (MATH.md 6)
# ---------------------------------------------------------------------------------------------
def _real_roots(F):
    t = sympy.Symbol("t")
    d = len(F) - 1
    ninf = next(i for i, v in enumerate(F) if v != 0)
    p = sympy.Poly(sum(sympy.Rational(str(F[j])) * t ** (d - j) for j in range(d + 1)), t)
    roots = sympy.real_roots(p) if p.degree() > 0 else []
    distinct_odd = {r for r in roots if roots.count(r) % 2 == 1}
    return len(roots) + ninf, len(distinct_odd) + ninf % 2


@pytest.mark.parametrize("k", [(2, 2), (2, 2, 2), (3, 2, 2), (2, 2, 2, 2), (4, 2), (2, 3, 2)])
def test_stride_one_real_root_criterion(k):
    rng = random.Random(sum(k) * 31 + len(k))
    a = Architecture(k)
    e = sum(1 for ki in k if (ki - 1) % 2 == 1)
    for _ in range(60):
        if rng.random() < 0.5:
            F = [rng.randint(-4, 4) for _ in range(a.degree + 1)]
        else:  # many repeated and real roots
            roots = [rng.randint(-2, 2) for _ in range(rng.randint(0, a.degree // 2))]
            F = [1]
            for r in roots:
                F = np.convolve(F, [1, -r]).tolist()
            while len(F) < a.degree + 1:
                F = np.convolve(F, rng.choice([[1, 0, 1], [1, -1], [1, 0, -2], [1, 2, 1]]))
                F = F.tolist()
            F = F[: a.degree + 1] if len(F) > a.degree + 1 else F
            if len(F) != a.degree + 1:
                continue
        if not any(F):
            continue
        m = membership(a, _ints(F))
        count, odd = _real_roots(_ints(F))
        assert m.in_closure
        assert m.in_function_space == (count >= e)
        if m.in_function_space:
            # the stride-one boundary: >= e real roots, <= e-2 distinct of odd multiplicity
            assert (m.classification == "boundary_stride1") == (odd <= e - 2)


# ---------------------------------------------------------------------------------------------
# I_S (MATH.md 4)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("S", [2, 3, 4])
def test_i_s_is_the_largest_sparse_divisor(S):
    rng = random.Random(S)
    for _ in range(25):
        d = rng.randint(S, 8)
        F = _ints(mu_exact((d - S + 1, 2), (S, 1), [_rand_layer(rng, d - S + 1),
                                                     _rand_layer(rng, 2)]))
        if rng.random() < 0.3:
            F = [rng.randint(-3, 3) for _ in range(len(F))]
        if not any(F):
            continue
        I = i_s(F, S)
        n = (len(I) - 1) // S
        assert all(v == 0 for j, v in enumerate(I) if j % S)  # a form in x^S, y^S
        # it divides F
        q, r = divmod(flint.fmpq_poly(list(reversed(F))),
                      flint.fmpq_poly([flint.fmpq(v) for v in reversed(I)]))
        assert r == 0 or len(I) == 1
        # maximal: F has n disjoint S-orbits but not n+1 (brute force)
        dd = len(F) - 1
        assert factorable(F, [(n, S), (dd - n * S, 1)], real=False)
        if (n + 1) * S <= dd:
            assert not factorable(F, [(n + 1, S), (dd - (n + 1) * S, 1)], real=False)


def test_i_s_roots_at_zero_and_infinity_round_down():
    # x^3 y^2 (t^2 - 1): I_2 = x^2 y^2 (x^2 - y^2)
    F = [0, 0, 1, 0, -1, 0, 0, 0]
    assert i_s(F, 2) == [0, 0, 1, 0, -1, 0, 0]
    with pytest.raises(FilterError):
        i_s([0, 0], 2)


# ---------------------------------------------------------------------------------------------
# Edge cases: zero, constants, size-1 layers, leading size-1 layer with a stride
# ---------------------------------------------------------------------------------------------
def test_zero_filter():
    m = membership(A32, [0, 0, 0, 0, 0])
    assert (m.in_closure, m.in_function_space, m.classification) == (True, True, "zero")
    assert mu_exact((3, 2), (2, 1), [[Fraction(str(v)) for v in w] for w in m.factorization]) \
        == [0] * 5


def test_all_size_one_layers():
    a = Architecture((1, 1), (2, 1))
    m = membership(a, ["3/2"])
    assert m.in_function_space and m.classification == "interior"
    assert [[str(v) for v in w] for w in m.factorization] == [["3/2"], ["1"]]


def test_leading_size_one_layer_with_stride_means_forms_in_x_s1():
    a = Architecture((1, 3, 2), (2, 2, 1))  # d = 0 + 2*2 + 4*1: everything is in x^2
    assert not membership(a, [1, 1, 0, 0, 0, 0, 0, 0, 1]).in_closure
    m = membership(a, _ints(mu_exact((1, 3, 2), (2, 2, 1), [[2], [1, 0, -1], [1, 3]])))
    assert m.in_function_space and m.factorization_kind == "rational"
    assert len(m.factorization[0]) == 1
    assert mu_exact((1, 3, 2), (2, 2, 1), [[Fraction(str(v)) for v in w]
                                           for w in m.factorization]) == [
        Fraction(v) for v in mu_exact((1, 3, 2), (2, 2, 1), [[2], [1, 0, -1], [1, 3]])]


# ---------------------------------------------------------------------------------------------
# Factorizations and the result type
# ---------------------------------------------------------------------------------------------
def test_float_and_digits_factorizations():
    a = Architecture((2, 2, 2))
    m = membership(a, "1,0,-2,0")  # t (t^2 - 2): irrational factors
    assert m.factorization_kind == "float" and m.residual < 1e-12
    assert all(isinstance(v, float) for w in m.factorization for v in w)
    m30 = membership(a, "1,0,-2,0", digits=30)
    assert m30.factorization_kind == "float" and m30.residual < 1e-28
    js = m30.to_json()
    root2 = [v for w in js["factorization"] for v in w if isinstance(v, str) and "1.41421" in v]
    assert root2 and root2[0].lstrip("-").startswith("1.41421356237309504880168872")


def test_complex_factorization_reproduces_the_filter():
    rng = random.Random(11)
    count = 0
    for _ in range(200):
        k, s = rng.choice(ARCHS)
        F = _planted(rng, k, s)
        if not any(F):
            continue
        m = membership(Architecture(k, s), [str(v) for v in F])
        if m.in_closure and not m.in_function_space:
            count += 1
            assert m.factorization_kind == "complex"
            acc = np.array([1.0 + 0j])
            for w, S in zip(m.factorization, strides(s), strict=True):
                up = np.zeros(S * (len(w) - 1) + 1, dtype=complex)
                up[::S] = w
                acc = np.convolve(acc, up)
            assert np.allclose(acc, [float(v) for v in F], atol=1e-9)
    assert count > 10


def test_membership_result_is_immutable_and_json():
    m = membership(A32, "1,0,0,0,-4")
    assert isinstance(m, Membership)
    with pytest.raises(AttributeError):
        m.in_closure = False  # type: ignore[misc]
    js = m.to_json()
    assert set(js) >= {"in_closure", "in_function_space", "classification",
                       "singular_component", "factorization", "residual"}
    assert js["factorization"] == [[1, 0, 2], [1, -2]] and js["residual"] == 0
    json.dumps(js)
    assert m.classification in CATEGORIES
    assert set(CATEGORY_PRECEDENCE) | {"outside"} == set(CATEGORIES)
    frac = membership(A32, ["1/2", 0, 0, 0, -2]).to_json()
    assert all(isinstance(v, int | str) for w in frac["factorization"] for v in w)


def test_in_closure_matches_membership():
    rng = random.Random(5)
    for _ in range(100):
        k, s = rng.choice(ARCHS)
        F = [str(v) for v in _planted(rng, k, s)]
        a = Architecture(k, s)
        assert in_closure(a, F) == membership(a, F, factorize=False).in_closure


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------
def test_bad_inputs():
    with pytest.raises(FilterError, match="d\\+1 = 5"):
        membership(A32, [1, 2, 3])
    with pytest.raises(LCNError):
        membership(A32, "1,2,x,4,5")
    with pytest.raises(LCNError):
        membership(A32, "")
    with pytest.raises(FilterError):
        membership(A32, [])
    with pytest.raises(ExactnessError, match="nearest"):
        membership(A32, [1.0, 0, 0, 0, 4])
    with pytest.raises(ExactnessError, match="classify"):
        membership(A32, np.array([1.0, 0, 0, 0, 4]))
    for bad in ("k=3,x s=2,1", 3, ((3, 2),), "3;2", ((3, 0), (2, 1))):
        with pytest.raises((ArchitectureError, ParseError)):
            membership(bad, [1, 0, 0, 0, 4])
    with pytest.raises(ConfigError):
        membership(A32, [1, 0, 0, 0, 4], digits=0)
    with pytest.raises(FilterError):
        membership(A32, [1, None, 0, 0, 4])
    # integer numpy arrays are exact
    assert membership(A32, np.array([1, 0, 0, 0, -4])).in_function_space


# every exact verb takes the same architecture arguments (lcn.architecture.as_architecture)
_SAME_ARCH = [A32, ((3, 2), (2, 1)), "k=3,2 s=2,1", ("3,2", "2,1"), [[3, 2], [2, 1]]]
_EXACT_VERBS = [
    lambda a: membership(a, [1, 0, 0, 0, -4]).classification,
    lambda a: in_closure(a, [1, 0, 0, 0, 4]),
    lambda a: is_regular(a, [[1, 0, -1], [1, -1]]),
    lambda a: (closure_degree(a), ed_degree(a), singular_components(a), is_filling(a),
               is_closed(a), boundary_kinds(a)),
]


@pytest.mark.parametrize("verb", range(len(_EXACT_VERBS)))
def test_exact_verbs_take_every_architecture_form(verb):
    fn = _EXACT_VERBS[verb]
    answers = [fn(a) for a in _SAME_ARCH]
    assert all(x == answers[0] for x in answers)
    for bad in (3, "k=3,x s=2,1", ((3, 2),), ((3, 2), (2, 1), (1, 1)), None):
        with pytest.raises((ArchitectureError, ParseError)):
            fn(bad)
