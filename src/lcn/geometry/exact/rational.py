"""Rational factorizations: the ``I_S`` divisors' irreducible factors over ``Q`` packed into
blocks and layers, each candidate checked by the exact decision (MATH.md 4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flint

from lcn import forms
from lcn._effective import Effective
from lcn.architecture import Architecture
from lcn.geometry.exact.assembly import assemble, mu_exact, scale_first
from lcn.geometry.exact.counts import PieceCounts
from lcn.geometry.exact.decision import Analysis
from lcn.geometry.exact.divisors import form_of, i_r_core, split_form

__all__ = ["rational_factorization"]


def _qpoly(F: Sequence[flint.fmpq]) -> flint.fmpq_poly:
    return forms.to_fmpq_poly(F)


def _divide_inflated(F: list[flint.fmpq], P: list[flint.fmpq], S: int) -> list[flint.fmpq]:
    """``F / P(x^S, y^S)`` for forms (exact; ``P(x^S, y^S)`` divides ``F``)."""
    fp = _qpoly(P)
    c = fp.coeffs()
    inflated = [flint.fmpq(0)] * (S * (len(c) - 1) + 1) if c else [flint.fmpq(0)]
    for i, v in enumerate(c):
        inflated[S * i] = v
    q, rem = divmod(_qpoly(F), flint.fmpq_poly(inflated))
    if rem != 0:  # pragma: no cover - callers only divide by divisors
        raise AssertionError("not a divisor")
    return forms.from_fmpq_poly(q, len(F) - 1 - S * (len(P) - 1))


_U = [flint.fmpq(1), flint.fmpq(0)]  # the form u (hyperroot 0)
_V = [flint.fmpq(0), flint.fmpq(1)]  # the form v (hyperroot infinity)


def _rational_items(F: list[flint.fmpq], levels_r: Sequence[int]) -> tuple[list[Any], int]:
    """Irreducible factors over ``Q`` of ``I_S(F)`` in the hyperroot variable, where ``S`` is
    the product of ``levels_r``: ``[(form, degree, multiplicity), ...]``."""
    core, m0, minf = split_form(F)
    for r in levels_r:
        core, m0, minf = i_r_core(core, r), m0 // r, minf // r
    items: list[Any] = []
    if m0:
        items.append((_U, 1, m0))
    if minf:
        items.append((_V, 1, minf))
    if core.degree() > 0:
        for p, mu in core.factor()[1]:
            items.append((form_of(p), p.degree(), int(mu)))
    return items, core.degree() + m0 + minf


def _has_real_roots(form: list[flint.fmpq], e: int) -> bool:
    """Whether a nonzero form has at least ``e`` real roots (with multiplicity, 0 and
    infinity included), from certified bounds refined only until they decide."""
    if e <= 0:
        return True
    core, m0, minf = split_form(form)
    return PieceCounts(core).at_least(e - m0 - minf)


def _rational_blocks(eff: Effective, Fu: list[flint.fmpq], budget: list[int]) -> list[Any] | None:
    """Rational block polynomials ``P_0..P_{m-1}`` (forms in ``u_j``) with
    ``Fu = prod_j P_j(u^{S_j})`` and ``P_j`` having ``>= e_j`` real roots, searched top-down
    over divisors of ``I_{S_top}`` made of irreducible factors over ``Q``, each candidate
    checked with the exact decision for the layers below. ``None`` when none is found within
    ``budget`` candidates (then a float factorization is used)."""
    top = eff.m - 1
    if top == 0:
        return [Fu] if _has_real_roots(Fu, eff.e[0]) else None
    rs = [eff.r(j) for j in range(top)]
    items, _ = _rational_items(Fu, rs)
    target = eff.D[top]
    sub = eff.below(top)
    chosen = [0] * len(items)

    def rec(i: int, left: int) -> list[Any] | None:
        if left == 0:
            P = forms.product([items[k][0] for k in range(len(items)) for _ in range(chosen[k])])
            if not _has_real_roots(P, eff.e[top]):
                return None
            budget[0] -= 1
            R = _divide_inflated(Fu, P, eff.S[top])
            an = Analysis(sub, R)
            if not an.in_closure or not an.decide(sub.e):
                return None
            below = _rational_blocks(sub, R, budget)
            return None if below is None else [*below, P]
        if i == len(items) or budget[0] <= 0:
            return None
        _, deg, mu = items[i]
        for nu in range(min(mu, left // deg), -1, -1):
            chosen[i] = nu
            res = rec(i + 1, left - nu * deg)
            if res is not None:
                return res
        chosen[i] = 0
        return None

    return rec(0, target)


def _rational_split(P: list[flint.fmpq], degrees: Sequence[int]) -> list[list[flint.fmpq]] | None:
    """Split a rational block polynomial into rational layers of the given degrees (odd
    degree layers then have a real root automatically), by packing its irreducible factors."""
    items, _ = _rational_items(P, [])
    units: list[tuple[list[flint.fmpq], int]] = []
    for form, deg, mu in items:
        units += [(form, deg)] * mu
    units.sort(key=lambda t: -t[1])
    caps = list(degrees)
    assign: list[int] = [0] * len(units)
    steps = [0]

    def rec(i: int) -> bool:
        if i == len(units):
            return all(c == 0 for c in caps)
        steps[0] += 1
        if steps[0] > 20000:
            return False
        tried = set()
        for b, cap in enumerate(caps):
            if cap >= units[i][1] and cap not in tried:
                tried.add(cap)
                caps[b] -= units[i][1]
                assign[i] = b
                if rec(i + 1):
                    return True
                caps[b] += units[i][1]
        return False

    if not rec(0):
        return None
    out = []
    for b, deg in enumerate(degrees):
        fs = [units[i][0] for i in range(len(units)) if assign[i] == b]
        out.append(forms.product(fs) if fs else [flint.fmpq(1)])
        assert len(out[-1]) == deg + 1
    return out


def rational_factorization(arch: Architecture, eff: Effective, F: list[flint.fmpq],
                           Fu: list[flint.fmpq]) -> list[list[flint.fmpq]] | None:
    """Rational layer filters ``w`` with ``mu(w) = F`` exactly (``Fu``: ``F`` in ``u = x^G``),
    or ``None`` when the search over irreducible factors finds none within its budget."""
    blocks = _rational_blocks(eff, Fu, [64])
    if blocks is None:
        return None
    layer_forms: dict[int, list[Any]] = {}
    for j, P in enumerate(blocks):
        degs = [arch.d[i] for i in eff.layers[j]]
        parts = [P] if len(degs) == 1 else _rational_split(P, degs)
        if parts is None:
            return None
        for i, f in zip(eff.layers[j], parts, strict=True):
            layer_forms[i] = f
    filters = assemble(arch, layer_forms, flint.fmpq(1))
    got = mu_exact(arch, filters)
    k = next(i for i, v in enumerate(F) if v != 0)
    scale_first(filters, arch, F[k] / got[k])
    if mu_exact(arch, filters) != F:  # pragma: no cover - defensive
        return None
    return filters
