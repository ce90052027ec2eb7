"""Implicit equations of the closure (lcn.geometry.implicit), against independent oracles.

* members: exact ``mu`` of random rational layers (roots at 0 and infinity included by zero
  end taps, complex roots by irreducible real quadratic factors), and real forms that are in
  the closure only through complex hyperroots (a real quadratic ``q(x^S, y^S)`` with complex
  roots, one orbit counted by a sparse layer and the conjugate orbit by a denser one);
* non-members: random integer filters (dense, sparse, members with one coordinate changed)
  that ``membership`` / ``in_closure`` (gcds, MATH.md 4) puts outside the closure;
* theorems: the Jacobian rank at a member is the codimension ``d + 1 - dim M``; the degree of
  the prime ideal from its Hilbert series is the multinomial of MATH.md 4; known equations
  (MATH.md 9) and Segre cases (2x2 minors and unreachable coordinates); SymPy's Groebner
  bases for ideal membership;
* exports parse back (SymPy for JSON, a small parser here for M2/Singular/msolve, Singular
  itself in a slow test when installed).
"""

from __future__ import annotations

import doctest
import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import flint
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lcn import Architecture, forms, mu
from lcn.cli import app
from lcn.errors import FilterError, LCNError, OptionError
from lcn.geometry import closure_degree, equations, hypersurface_degree, in_closure, membership
from tests.strategies import architectures

#: (k, s): 2-4 layers, reduced and not, size-1 layers, Segre cases.
ARCHS = [
    ((2, 2), (2, 1)),
    ((3, 2), (2, 1)),
    ((2, 2), (3, 1)),  # Segre: p2 and one 2x2 minor
    ((3, 3), (2, 1)),
    ((4, 3), (2, 1)),
    ((2, 3), (3, 1)),  # Segre with two unreachable coordinates
    ((2, 2, 2), (2, 2, 1)),
    ((3, 2, 2), (2, 2, 1)),
    ((2, 2, 3), (1, 2, 1)),  # not reduced: the first two layers merge
    ((3, 1, 2), (2, 2, 1)),  # a size-1 layer in the middle
    ((1, 3), (2, 1)),  # a leading size-1 layer with a stride: forms in x^2, y^2
    ((3, 3, 3), (3, 3, 1)),  # Segre, three layers
    ((2, 2, 2, 2), (2, 2, 2, 1)),  # four layers
    ((3, 2, 2, 2), (1, 2, 2, 1)),  # four layers, not reduced
]
N_POINTS = 200


def _rat(rng: random.Random) -> flint.fmpq:
    return flint.fmpq(rng.randint(-9, 9), rng.randint(1, 4))


def _layer(k: int, rng: random.Random) -> list[flint.fmpq]:
    """A random rational filter of size ``k``; sometimes with an irreducible real quadratic
    factor (complex roots), sometimes with a root at 0 or infinity (zero end tap)."""
    if k >= 3 and rng.random() < 0.4:
        quad = [flint.fmpq(1), flint.fmpq(rng.randint(-2, 2)), flint.fmpq(rng.randint(3, 7))]
        w = forms.multiply(quad, [_rat(rng) or flint.fmpq(1) for _ in range(k - 2)])
    else:
        w = [_rat(rng) for _ in range(k)]
    if rng.random() < 0.15:
        w[0] = flint.fmpq(0)
    if rng.random() < 0.15:
        w[-1] = flint.fmpq(0)
    if all(v == 0 for v in w):
        w[0] = flint.fmpq(1)
    return list(w)


def _complex_member(arch: Architecture, rng: random.Random) -> list[flint.fmpq] | None:
    """A real form in the closure through complex hyperroots: ``q(x^S, y^S)`` with ``q`` a
    real quadratic with complex roots, ``S`` the stride of a sparse block ``l`` (one orbit)
    whose conjugate orbit is carried by a denser block ``l'`` (``S_l / S_l'`` of its degree),
    times random real filler for the remaining degrees. None when no such pair exists."""
    red = arch.reduced()
    blocks = [(d, S) for d, S in zip(red.d, red.S, strict=True) if d > 0]
    pairs = [(i, j) for i in range(len(blocks)) for j in range(i)
             if blocks[j][0] * blocks[j][1] >= blocks[i][1]]
    if not pairs:
        return None
    i, j = rng.choice(pairs)
    left = [d for d, _ in blocks]
    left[i] -= 1
    left[j] -= blocks[i][1] // blocks[j][1]
    q = [flint.fmpq(1), flint.fmpq(rng.randint(-2, 2)), flint.fmpq(rng.randint(3, 7))]
    parts = [forms.upsample(q, blocks[i][1])]
    for (_, S), dl in zip(blocks, left, strict=True):
        parts.append(forms.upsample([_rat(rng) or flint.fmpq(1) for _ in range(dl + 1)], S))
    return list(forms.product(parts))


def members(arch: Architecture, n: int, seed: int) -> list[list[flint.fmpq]]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        F = _complex_member(arch, rng) if len(out) % 4 == 3 else None
        if F is None:
            F = list(mu(arch, [_layer(k, rng) for k in arch.k]))
        out.append(F)
    return out


def outsiders(arch: Architecture, n: int, seed: int) -> list[list[flint.fmpq]]:
    """Random integer filters that ``in_closure`` (the gcd test of MATH.md 4) rejects."""
    rng = random.Random(seed)
    size = arch.degree + 1
    out: list[list[flint.fmpq]] = []
    near = members(arch, n, seed + 1)
    tries = 0
    while len(out) < n and tries < 50 * n:
        tries += 1
        kind = tries % 3
        if kind == 0:
            F = [flint.fmpq(rng.randint(-5, 5)) for _ in range(size)]
        elif kind == 1:  # sparse: parts vanish, roots at 0 and infinity
            F = [flint.fmpq(rng.randint(-3, 3)) if rng.random() < 0.4 else flint.fmpq(0)
                 for _ in range(size)]
        else:  # a member with one coordinate changed
            F = list(near[tries % len(near)])
            F[rng.randrange(size)] += rng.randint(1, 3)
        den = 1
        for c in F:
            den = den * int(c.q) // flint.fmpz(int(c.q)).gcd(den)
        F = [c * den for c in F]  # integer filters
        if any(c != 0 for c in F) and not in_closure(arch, F):
            out.append(F)
    return out


@pytest.fixture(scope="module")
def eqs():
    return {(k, s): equations(Architecture(k, s)) for k, s in ARCHS}


# ------------------------------------------------------------------------------------------
# The zero set is the closure
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k,s", ARCHS, ids=[f"{k}-{s}" for k, s in ARCHS])
def test_equations_vanish_on_members(eqs, k, s):
    arch = Architecture(k, s)
    eq = eqs[(k, s)]
    pts = members(arch, N_POINTS, seed=hash((k, s)) % 1000)
    assert all(in_closure(arch, F) for F in pts)  # the generator's own sanity
    bad = [F for F in pts if not eq.vanishes_at(F)]
    assert not bad, f"{len(bad)} members where an equation does not vanish, e.g. {bad[0]}"


@pytest.mark.parametrize("k,s", ARCHS, ids=[f"{k}-{s}" for k, s in ARCHS])
def test_some_equation_is_nonzero_outside(eqs, k, s):
    arch = Architecture(k, s)
    eq = eqs[(k, s)]
    pts = outsiders(arch, N_POINTS, seed=7)
    if arch.filling:
        assert not pts
        return
    assert len(pts) == N_POINTS
    assert all(not membership(arch, F, factorize=False).in_closure for F in pts[:20])
    bad = [F for F in pts if eq.vanishes_at(F)]
    assert not bad, f"{len(bad)} outside points where every equation vanishes, e.g. {bad[0]}"


@pytest.mark.parametrize("k,s", ARCHS, ids=[f"{k}-{s}" for k, s in ARCHS])
def test_jacobian_rank_is_the_codimension(eqs, k, s):
    arch = Architecture(k, s)
    eq = eqs[(k, s)]
    assert eq.codimension == arch.degree + 1 - arch.dimension
    for F in members(arch, 3, seed=11)[:2]:
        assert eq.jacobian_rank(F) == eq.codimension


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architectures(max_layers=3, max_k=4, max_s=3, max_degree=12), st.integers(0, 10**6))
def test_random_architectures_agree_with_in_closure(arch, seed):
    eq = equations(arch)
    rng = random.Random(seed)
    pts = members(arch, 4, seed)
    pts += [[flint.fmpq(rng.randint(-2, 2)) if rng.random() < 0.5 else flint.fmpq(0)
             for _ in range(arch.degree + 1)] for _ in range(8)]
    for F in pts:
        assert eq.vanishes_at(F) == in_closure(arch, F), (arch, F)


# ------------------------------------------------------------------------------------------
# Known cases (MATH.md 5, 9)
# ------------------------------------------------------------------------------------------
def _sym(eq):
    p = sympy.symbols(eq.variables)
    return [sympy.Poly(sympy.sympify(t, locals=dict(zip(eq.variables, p, strict=True))), *p)
            for t in eq.strings()], p


def _same_up_to_sign(a, b):
    return sympy.expand(a - b) == 0 or sympy.expand(a + b) == 0


def test_quadric_of_k22_s21():
    eq = equations(Architecture("2,2", "2,1"))
    p0, p1, p2, p3 = sympy.symbols("p0:4")
    (f,), _ = _sym(eq)
    assert _same_up_to_sign(f.as_expr(), p0 * p3 - p1 * p2)
    assert eq.hypersurface and eq.degree == 2 and eq.minimal


def test_cubic_of_k32_s21():
    eq = equations(Architecture("3,2", "2,1"))
    (f,), _ = _sym(eq)
    A, B, C, D, E = sympy.symbols("p0:5")  # MATH.md 9: A D^2 + B^2 E = B C D
    assert _same_up_to_sign(f.as_expr(), A * D**2 + B**2 * E - B * C * D)
    # x^4 + 4y^4 is in the closure (not in M), x^4 + 4y^4 + x^2 y^2... is not
    assert eq.vanishes_at([1, 0, 0, 0, 4]) and not eq.vanishes_at([1, 0, 1, 1, 4])
    assert hypersurface_degree(Architecture("3,2", "2,1")) == 3
    assert hypersurface_degree(Architecture("3,3", "2,1")) is None


def test_segre_cases():
    eq = equations(Architecture("2,2", "3,1"))
    p = sympy.symbols("p0:5")
    polys, _ = _sym(eq)
    assert polys[0].as_expr() == p[2]
    assert _same_up_to_sign(polys[1].as_expr(), p[0] * p[4] - p[1] * p[3]) and len(polys) == 2
    # k=(2,3) s=(3,1): coefficients a_i b_j at x^(7 - i - 3j): p2, p5 unreachable, and the
    # 2x2 minors of [[p0, p3, p6], [p1, p4, p7]]
    eq = equations(Architecture("2,3", "3,1"))
    q = sympy.symbols("p0:8")
    got, _ = _sym(eq)
    want = [q[2], q[5], q[0] * q[4] - q[1] * q[3], q[0] * q[7] - q[1] * q[6],
            q[3] * q[7] - q[4] * q[6]]
    assert len(got) == len(want)
    assert all(any(_same_up_to_sign(g.as_expr(), w) for g in got) for w in want)
    ideal = equations(Architecture("2,3", "3,1"), kind="ideal")
    assert sorted(ideal.degrees) == [1, 1, 2, 2, 2] and ideal.degree == closure_degree(
        Architecture("2,3", "3,1")) == 3
    # three layers, no overlap: only 2x2 minors
    eq = equations(Architecture("3,3,3", "3,3,1"))
    assert set(eq.degrees) == {2} and eq.codimension == 27 - 7


def test_filling_and_trivial_architectures():
    for k, s in [("3,3", "1,1"), ("3,1", "2,1"), ("1,1", "2,1"), ("4", "3")]:
        eq = equations(Architecture(k, s))
        assert eq.polynomials == () and eq.codimension == 0 and eq.degree == 1
        assert "0" in eq.to_format("m2") and eq.to_json()["equations"] == []
    eq = equations(Architecture("1,3", "2,1"))  # forms in x^2: odd coordinates vanish
    assert eq.strings() == ["p1", "p3"]


def test_minimization_drops_a_dependent_minor():
    """k=(2,2,2) s=(2,2,1): the two steps give 6 + 4 distinct nonzero quadrics (of 12
    minors), spanning only 9 dimensions; the prime ideal (elimination) has exactly 9 quadrics
    and the minimized set generates it (SymPy Groebner basis of the set)."""
    arch = Architecture("2,2,2", "2,2,1")
    eq = equations(arch)
    assert sum(m.minor_count for m in eq.steps) == 12
    assert eq.generators == 9 and eq.minimal and set(eq.degrees) == {2}
    ideal = equations(arch, kind="ideal")
    assert ideal.degrees == (2,) * 9
    setp, p = _sym(eq)
    G = sympy.groebner([f.as_expr() for f in setp], *p, order="grevlex")
    assert all(G.contains(f.as_expr()) for f in _sym(ideal)[0])


def test_unminimized_output_has_the_same_zero_set():
    arch = Architecture("3,3,2", "2,2,1")
    full, raw = equations(arch), equations(arch, minimize=False)
    assert raw.generators > full.generators and full.minimal and not raw.minimal
    assert {str(f) for f in full.polynomials} <= {str(f) for f in raw.polynomials}
    pts = members(arch, 30, seed=2) + outsiders(arch, 30, seed=2)
    assert [raw.vanishes_at(F) for F in pts] == [full.vanishes_at(F) for F in pts]
    with pytest.raises(OptionError, match="minimize"):
        equations(arch, minimize="no")


# ------------------------------------------------------------------------------------------
# The prime ideal
# ------------------------------------------------------------------------------------------
IDEAL_ARCHS = [((2, 2), (2, 1)), ((3, 2), (2, 1)), ((2, 2), (3, 1)), ((3, 3), (2, 1)),
               ((2, 2, 2), (2, 2, 1)), ((3, 1, 2), (2, 2, 1)), ((2, 2, 3), (1, 2, 1)),
               ((1, 3), (2, 1)), ((4, 3), (2, 1)), ((3, 2, 2), (2, 2, 1))]


@pytest.mark.parametrize("k,s", IDEAL_ARCHS, ids=[f"{k}-{s}" for k, s in IDEAL_ARCHS])
def test_prime_ideal(k, s):
    arch = Architecture(k, s)
    ideal = equations(arch, kind="ideal")
    assert ideal.codimension == arch.degree + 1 - arch.dimension
    assert ideal.degree == closure_degree(arch)  # MATH.md 4 [derived]: the multinomial
    pts = members(arch, 40, seed=3)
    assert all(ideal.vanishes_at(F) for F in pts)
    assert all(not ideal.vanishes_at(F) for F in outsiders(arch, 20, seed=5))
    # every equation of the set lies in the prime ideal (SymPy's Groebner basis)
    polys, p = _sym(ideal)
    setp, _ = _sym(equations(arch))
    if polys:
        G = sympy.groebner([f.as_expr() for f in polys], *p, order="grevlex")
        assert all(G.contains(f.as_expr()) for f in setp)
    if ideal.hypersurface:
        assert len(polys) == len(setp) == 1 and _same_up_to_sign(polys[0].as_expr(),
                                                                  setp[0].as_expr())


def test_ideal_limits():
    with pytest.raises(OptionError, match="kind"):
        equations(Architecture("3,3,3,3,3", "2,2,2,2,1"), kind="ideal")
    with pytest.raises(OptionError, match="timeout"):
        equations(Architecture("5,4", "2,1"), kind="ideal", timeout=0.5)


# ------------------------------------------------------------------------------------------
# Limits and bad input
# ------------------------------------------------------------------------------------------
def test_limits_and_bad_input():
    big = Architecture("3,3,3", "2,2,1")
    with pytest.raises(OptionError, match="max_degree.*order 4"):
        equations(big, max_degree=3)
    with pytest.raises(OptionError, match="max_terms"):
        equations(big, max_terms=100)
    with pytest.raises(OptionError, match="kind"):
        equations(big, kind="prime")
    with pytest.raises(OptionError, match="max_degree"):
        equations(big, max_degree=0)
    with pytest.raises(LCNError, match="k"):
        equations("k=3,x")
    with pytest.raises(LCNError, match="arch.*coordinates"):
        equations(Architecture("20000,2", "2,1"))
    eq = equations(("2,2", "2,1"))
    with pytest.raises(FilterError, match="taps"):
        eq.vanishes_at([1, 2, 3])
    with pytest.raises(OptionError, match="format"):
        eq.to_format("maple")
    assert equations("k=2,2 s=2,1").strings() == eq.strings()


# ------------------------------------------------------------------------------------------
# Exports
# ------------------------------------------------------------------------------------------
def _parse_list(body: str, names: list[str]) -> list[sympy.Expr]:
    syms = {n: sympy.Symbol(n) for n in names}
    return [sympy.sympify(t.strip().replace("^", "**"), locals=syms)
            for t in body.split(",") if t.strip()]


def _parse_m2(text: str):
    names = re.search(r"QQ\[(.*?)\]", text).group(1).replace(" ", "").split(",")
    return names, _parse_list(re.search(r"ideal\((.*)\);", text, re.S).group(1), names)


def _parse_singular(text: str):
    names = re.search(r"ring R = 0, \((.*?)\), dp;", text).group(1).replace(" ", "").split(",")
    return names, _parse_list(re.search(r"ideal I =(.*);", text, re.S).group(1), names)


def _parse_msolve(text: str):
    lines = text.strip().split("\n")
    names = lines[0].split(",")
    assert lines[1] == "0"
    return names, _parse_list("\n".join(lines[2:]), names)


@pytest.mark.parametrize("k,s", [((3, 3), (2, 1)), ((2, 2), (3, 1)), ((3, 3), (1, 1))])
def test_exports_parse_back(k, s):
    eq = equations(Architecture(k, s))
    data = json.loads(eq.to_format("json"))
    assert data["variables"] == [f"p{j}" for j in range(eq.arch.degree + 1)]
    assert data["kind"] == "set" and data["codimension"] == eq.codimension
    assert data["degree"] == eq.degree and len(data["equations"]) == eq.generators
    ref = [sympy.sympify(t, locals={n: sympy.Symbol(n) for n in data["variables"]})
           for t in data["equations"]]
    # the JSON strings are the polynomials: compare with the flint coefficients directly
    for f, r in zip(eq.polynomials, ref, strict=True):
        want = sum(int(c) * sympy.Mul(*[sympy.Symbol(n) ** e for n, e in
                                        zip(eq.variables, m, strict=True)])
                   for m, c in zip(f.monoms(), f.coeffs(), strict=True))
        assert sympy.expand(r - want) == 0
    for parse, fmt in [(_parse_m2, "m2"), (_parse_singular, "singular"), (_parse_msolve, "msolve")]:
        names, got = parse(eq.to_format(fmt))
        assert names == data["variables"]
        if not ref:
            assert got == [0]
            continue
        assert [sympy.expand(a - b) for a, b in zip(got, ref, strict=True)] == [0] * len(ref)
    text = eq.to_format("text")
    assert text.startswith("# ") and str(eq) == text


@pytest.mark.slow
@pytest.mark.parametrize("k,s", [((3, 2), (2, 1)), ((3, 3), (2, 1)), ((2, 2, 2), (2, 2, 1)),
                                 ((4, 4), (3, 1)), ((3, 2, 2), (2, 2, 1))])
def test_singular_reads_the_export(tmp_path, k, s):
    """Singular computes the same dimension and, for the prime ideal, the same degree and
    number of minimal generators (``minbase``)."""
    exe = shutil.which("Singular")
    if exe is None:
        pytest.skip("Singular is not installed (apt-get install singular)")
    arch = Architecture(k, s)
    for kind in ("set", "ideal"):
        eq = equations(arch, kind=kind)
        script = tmp_path / f"{kind}.sing"
        script.write_text(eq.to_format("singular") + "ideal G = std(I);\n"
                          "print(dim(G)); print(mult(G)); print(size(minbase(I))); quit;\n")
        out = subprocess.run([exe, "-q", str(script)], capture_output=True, text=True,
                             timeout=120).stdout.split()
        assert int(out[0]) == arch.dimension  # Krull dimension of the affine cone
        if kind == "ideal":
            assert int(out[1]) == closure_degree(arch) and int(out[2]) == eq.generators


@pytest.mark.slow
def test_macaulay2_and_msolve_read_the_export(tmp_path):
    for exe in ("M2", "msolve"):
        if shutil.which(exe) is None:
            pytest.skip(f"{exe} is not installed")
    eq = equations(Architecture("3,3", "2,1"))
    (tmp_path / "i.m2").write_text(eq.to_format("m2") + "print codim I; exit 0\n")
    out = subprocess.run(["M2", "--script", str(tmp_path / "i.m2")], capture_output=True,
                         text=True, timeout=120).stdout
    assert out.split()[-1] == str(eq.codimension)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------
def test_cli_json_and_errors():
    runner = CliRunner()
    res = runner.invoke(app, ["equations", "--k", "3,2", "--s", "2,1", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert {"variables", "equations", "kind", "codimension", "degree"} <= set(out)
    assert out["variables"] == ["p0", "p1", "p2", "p3", "p4"] and out["degree"] == 3
    f = sympy.sympify(out["equations"][0])
    A, B, C, D, E = sympy.symbols("p0:5")
    assert _same_up_to_sign(f, A * D**2 + B**2 * E - B * C * D)
    res = runner.invoke(app, ["equations", "--k", "2,2", "--s", "2,1", "--kind", "ideal",
                              "--format", "m2"])
    assert res.exit_code == 0 and "ideal(" in res.stdout
    res = runner.invoke(app, ["equations", "--k", "3,3,3", "--s", "2,2,1", "--max-degree", "3"])
    assert res.exit_code == 2 and "--max-degree" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["equations", "--k", "3,2", "--s", "2,1", "--format", "maple"])
    assert res.exit_code == 2 and "--format" in res.output


def test_user_guide_and_docstring_examples_run():
    guide = Path(__file__).resolve().parents[2] / "docs" / "equations.md"
    test = doctest.DocTestParser().get_doctest(guide.read_text(), {}, "equations.md",
                                               str(guide), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0 and test.examples
    mod = sys.modules["lcn.geometry.implicit.neurovariety"]
    assert doctest.testmod(mod, extraglobs={"Architecture": Architecture}).failed == 0
