"""Independent brute-force oracles for the exact geometry tests (no lcn.geometry code), and
sanity tests of the oracles themselves.

* roots: SymPy factorization over Q, then mpmath roots of each irreducible factor at 60
  digits (irreducible factors have simple roots), multiplicities from the factor exponents;
  forms with mpmath coefficients (points near a given one) go to mpmath directly;
* membership: depth-first search over ALL assignments of root orbits (cosets
  ``{t : t^S = h}``, or ``S`` roots at 0 / infinity) to the layers of the ORIGINAL
  architecture, largest stride first. A real factorization is one where every layer's
  hyperroots are closed under conjugation (each layer polynomial is then real, and an
  odd-degree layer automatically has a real root);
* singular components: the set ``D`` of MATH.md 5 by brute force over degree vectors.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import mpmath
import sympy

mpmath.mp.dps = 60
TOL = mpmath.mpf(10) ** -25
_T = sympy.Symbol("t")


def roots_multiset(F):
    """Roots on the projective line of the form with coefficients ``F`` (``x^d .. y^d``), as
    ``[value, multiplicity]`` (``value`` an mpc or ``"inf"``)."""
    d = len(F) - 1
    ninf = 0
    while F[ninf] == 0:
        ninf += 1
    out = [["inf", ninf]] if ninf else []
    if any(isinstance(c, mpmath.mpf | mpmath.mpc | float) for c in F):
        cs = [mpmath.mpf(c) for c in F[ninf:]]
        nz = 0
        while cs and cs[-1] == 0:
            cs.pop()
            nz += 1
        if nz:
            out.append([mpmath.mpc(0), nz])
        if len(cs) > 1:
            for z in mpmath.polyroots(cs, maxsteps=800, extraprec=400):
                out.append([mpmath.mpc(z), 1])
        return out
    poly = sum(sympy.Rational(str(Fraction(F[j]))) * _T ** (d - j) for j in range(ninf, d + 1))
    _, facs = sympy.factor_list(sympy.expand(poly), _T)
    for f, e in facs:
        p = sympy.Poly(f, _T)
        if p.degree() <= 0:
            continue
        cs = [mpmath.mpf(sympy.Rational(c).p) / sympy.Rational(c).q for c in p.all_coeffs()]
        rts = [-cs[1] / cs[0]] if p.degree() == 1 else mpmath.polyroots(
            cs, maxsteps=500, extraprec=300)
        for z in rts:
            out.append([mpmath.mpc(z), int(e)])
    return out


def _is_real(z):
    return abs(mpmath.im(z)) < TOL


def _at(item, h):
    if h == "inf":
        return item[0] == "inf"
    return item[0] != "inf" and abs(item[0]) < TOL


def _close(a, b):
    return abs(a - b) < TOL * max(1, abs(a))


def _take(roots, h, S):
    """Remove the orbit of the hyperroot ``h`` (order ``S``) from ``roots``; False if absent."""
    if h == "inf" or h == 0:
        for item in roots:
            if _at(item, h):
                if item[1] >= S:
                    item[1] -= S
                    return True
                return False
        return False
    base = mpmath.root(h, S)
    taken = []
    for k in range(S):
        w = base * mpmath.exp(2j * mpmath.pi * k / S)
        for item in roots:
            if item[0] != "inf" and item[1] > 0 and _close(item[0], w):
                item[1] -= 1
                taken.append(item)
                break
        else:
            for item in taken:
                item[1] += 1
            return False
    return True


def _give(roots, h, S):
    if h == "inf" or h == 0:
        next(item for item in roots if _at(item, h))[1] += S
        return
    base = mpmath.root(h, S)
    for k in range(S):
        w = base * mpmath.exp(2j * mpmath.pi * k / S)
        next(item for item in roots if item[0] != "inf" and _close(item[0], w))[1] += 1


def _same(a, b):
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if a == 0 or b == 0:
        return a == b
    return _close(a, b)


def _candidates(roots, S):
    out = []
    for v, m in roots:
        if m <= 0:
            continue
        h = "inf" if v == "inf" else (0 if abs(v) < TOL else v**S)
        if h not in ("inf", 0) and _is_real(h):
            h = mpmath.mpc(mpmath.re(h), 0)
        if not any(_same(h, g) for g in out):
            out.append(h)
    return out


def assignments(F, layers, real, first_only=True):
    """Factorizations ``F = prod_i P_i(x^{S_i}, y^{S_i})``, ``deg P_i = d_i``
    (``layers = [(d_i, S_i), ...]``), every ``P_i`` real when ``real``: a list of hyperroot
    lists (one per layer of positive degree, largest stride first)."""
    roots = roots_multiset(F)
    order = sorted([ly for ly in layers if ly[0] > 0], key=lambda t: -t[1])
    found = []
    _search(roots, order, 0, real, [], found, first_only)
    return found


def factorable(F, layers, real):
    """Whether some factorization of ``F`` for ``layers`` exists (see :func:`assignments`)."""
    return bool(assignments(F, layers, real))


def _search(roots, order, li, real, acc, found, first_only):
    if li == len(order):
        if all(m == 0 for _, m in roots):
            found.append([list(a) for a in acc])
            return first_only
        return False
    d, S = order[li]
    cands = _candidates(roots, S)
    groups = []
    for h in cands:
        if h in ("inf", 0) or _is_real(h) or not real:
            groups.append(([h], 1))
        elif mpmath.im(h) > 0 and any(_same(mpmath.conj(h), g) for g in cands):
            groups.append(([h, mpmath.conj(h)], 2))
    return _choose(roots, order, li, real, groups, 0, d, acc + [[]], found, first_only)


def _choose(roots, order, li, real, groups, start, left, acc, found, first_only):
    if left == 0:
        return _search(roots, order, li + 1, real, acc, found, first_only)
    S = order[li][1]
    for gi in range(start, len(groups)):
        hs, size = groups[gi]
        if size > left:
            continue
        done = []
        for h in hs:
            if not _take(roots, h, S):
                break
            done.append(h)
        stop = False
        if len(done) == len(hs):
            acc[-1].extend(hs)
            stop = _choose(roots, order, li, real, groups, gi, left - size, acc, found,
                           first_only)
            del acc[-1][-len(hs):]
        for h in done:
            _give(roots, h, S)
        if stop:
            return True
    return False


def strides(s):
    S, acc = [], 1
    for si in s:
        S.append(acc)
        acc *= si
    return S


def arch_layers(k, s):
    return [(ki - 1, Si) for ki, Si in zip(k, strides(s), strict=True)]


def reduced_layers(k, s):
    """(degree, S) of the reduced architecture's layers, size-1 blocks included."""
    out = []
    for d, S in arch_layers(k, s):
        if out and out[-1][1] == S:
            out[-1] = (out[-1][0] + d, S)
        else:
            out.append((d, S))
    return out


def brute_D(k, s):
    """The singular components D (MATH.md 5) of the reduced architecture without size-1
    blocks, by brute force over all degree vectors, as lists of (degree, S)."""
    red = [(d, S) for d, S in reduced_layers(k, s) if d > 0]
    n = sum(d * S for d, S in red)
    degs = [d for d, _ in red]
    Ss = [S for _, S in red]
    tails = [sum(a * b for a, b in zip(degs[i:], Ss[i:], strict=True)) for i in range(len(red))]
    out = []
    for dv in itertools.product(*[range(n // S + 1) for S in Ss]):
        if sum(a * b for a, b in zip(dv, Ss, strict=True)) != n or list(dv) == degs:
            continue
        if all(sum(a * b for a, b in zip(dv[i:], Ss[i:], strict=True)) >= tails[i]
               for i in range(len(red))):
            out.append(list(zip(dv, Ss, strict=True)))
    return out


def mu_exact(k, s, filters):
    """End-to-end filter by upsample-and-convolve with Fractions."""
    out = [Fraction(1)]
    for w, Si in zip(filters, strides(s), strict=True):
        up = [Fraction(0)] * (Si * (len(w) - 1) + 1)
        for j, v in enumerate(w):
            up[Si * j] = Fraction(v)
        new = [Fraction(0)] * (len(out) + len(up) - 1)
        for i, a in enumerate(out):
            if a:
                for j, b in enumerate(up):
                    new[i + j] += a * b
        out = new
    return out


# -- the oracles on known cases ----------------------------------------------------------------
def test_oracle_worked_examples():
    layers = arch_layers((3, 2), (2, 1))
    assert factorable([1, 0, 0, 0, 4], layers, real=False)
    assert not factorable([1, 0, 0, 0, 4], layers, real=True)
    assert factorable([1, 0, 0, 0, -4], layers, real=True)
    assert not factorable([1, 2, 3, 4, 5], layers, real=False)


def test_oracle_stride_one_counts():
    # (t-1)(t-2)(t^2+1): two real roots; k=(2,2,2,2) needs four, k=(3,2,2) needs two
    F = [1, -3, 3, -3, 2]
    assert not factorable(F, arch_layers((2, 2, 2, 2), (1, 1, 1, 1)), real=True)
    assert factorable(F, arch_layers((3, 2, 2), (1, 1, 1)), real=True)
    assert len(assignments(F, arch_layers((3, 2, 2), (1, 1, 1)), True, first_only=False)) == 2


def test_oracle_D_example():
    assert brute_D((3, 2), (2, 1)) == [[(0, 1), (2, 2)]]
