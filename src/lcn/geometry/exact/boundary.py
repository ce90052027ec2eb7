"""The boundary label of a singular point of ``M``: the certified real forest of its levels
and the search over local degenerations (MATH.md 6)."""

from __future__ import annotations

from typing import Any

import flint

from lcn._effective import Effective
from lcn.geometry import _orbits
from lcn.geometry.exact.decision import Analysis
from lcn.geometry.exact.levels import Level

__all__ = ["singular_boundary_kind"]


class _Ambiguous(Exception):
    """A ball computation did not separate two values; retried at higher precision."""


def _real_roots(p: flint.fmpz_poly) -> list[Any]:
    found: Any = p.complex_roots()  # (ball, multiplicity) pairs, at the working precision
    roots = [z.real for z, _ in found if z.imag == 0]
    if not all(x > 0 or x < 0 for x in roots):
        raise _Ambiguous
    return roots


def _key(p: flint.fmpz_poly) -> tuple[int, ...]:
    return tuple(int(v) for v in p.coeffs())


def _normalize(p: flint.fmpz_poly) -> flint.fmpz_poly:
    return -p if p.leading_coefficient() < 0 else p


def _real_forest(eff: Effective, levels: list[Level]) -> list[list[_orbits.Group]]:
    prec = 64
    while True:
        try:
            # the root balls and their powers c^s must share one precision to separate
            with flint.ctx.workprec(prec):
                return _real_forest_at(eff, levels)
        except _Ambiguous:  # pragma: no cover - needs nearly coincident real hyperroots
            prec *= 2


def _real_forest_at(eff: Effective, levels: list[Level]) -> list[list[_orbits.Group]]:
    """The real hyperroots of every level with multiplicities and parents (``c`` at level
    ``j`` has parent ``c^s`` at level ``j+1`` when an orbit of ``g_{j+1}`` covers it). Parent
    links are decided exactly: ``p | q(u^s)`` for the irreducible factors, and the balls of
    ``c^s`` and of the roots of ``q`` pick the root."""
    facs = [[(_normalize(p), int(mu)) for p, mu in lv.core.factor()[1]] for lv in levels]
    roots = [[_real_roots(p) for p, _ in fl] for fl in facs]
    index: list[dict[tuple[int, int], int]] = []
    out: list[list[_orbits.Group]] = []
    for j in range(eff.m - 1, -1, -1):
        lv = levels[j]
        piece = {}
        if lv.piece.degree() > 0:
            piece = {_key(_normalize(p)): int(nu) for p, nu in lv.piece.factor()[1]}
        idx: dict[tuple[int, int], int] = {}
        up = out[0] if out else []
        up_index = index[0] if index else {}
        groups = _orbits.special_groups(up, lv.m0, lv.z0, lv.minf, lv.zinf)
        for a, (p, mu) in enumerate(facs[j]):
            nu = piece.get(_key(p), 0)
            for b, c in enumerate(roots[j][a]):
                par = None
                if mu > nu:
                    r = eff.r(j)
                    cands = []
                    cr = c ** r
                    for a2, (q, _) in enumerate(facs[j + 1]):
                        if flint.fmpq_poly(q.inflate(r)) % flint.fmpq_poly(p) != 0:
                            continue
                        for b2, h in enumerate(roots[j + 1][a2]):
                            if cr.overlaps(h):
                                cands.append(up_index[(a2, b2)])
                    if len(cands) != 1:
                        raise _Ambiguous
                    par = cands[0]
                    if up[par].mult_g != mu - nu:  # pragma: no cover - consistency
                        raise AssertionError("orbit multiplicities do not match")
                idx[(a, b)] = len(groups)
                groups.append(_orbits.Group("pos" if c > 0 else "neg", mu, nu, par, c))
        out.insert(0, groups)
        index.insert(0, idx)
    return out


def singular_boundary_kind(eff: Effective, an: Analysis) -> str | None:
    """``"reduced"``, ``"stride1"`` or ``None`` for a singular point of ``M``: the search over
    local degenerations of :func:`lcn.geometry._orbits.singular_boundary` (MATH.md 6) on the
    certified real forest of the levels."""
    assert an.levels is not None
    if not any(_orbits.boundary_kinds(eff.D, eff.S, eff.e)):
        return None  # M is closed: spare the factorizations of the real forest
    levels = an.levels
    return _orbits.singular_boundary(
        eff.D, eff.S, eff.e, [lv.slack for lv in levels], _real_forest(eff, levels),
        [lv.piece.degree() for lv in levels])
