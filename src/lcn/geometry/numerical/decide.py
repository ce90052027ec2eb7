"""Exact combinatorial category of a snapped root configuration (MATH.md 3-6).

A configuration is a list of distinct points of the projective line with multiplicities in
which every intended coincidence (multiple roots, real roots, orbits of roots of unity) holds
to roundoff after snapping (:mod:`lcn.geometry.numerical.snap`). The decision is then the
procedure of the exact geometry on orbit data, through the shared :mod:`lcn.geometry._orbits`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lcn import _projective as P
from lcn.geometry import _orbits
from lcn.geometry.numerical.levels import Level

ComplexArray = NDArray[np.complex128]


_REL_TOL = 1e-12


@dataclass(frozen=True)
class Verdict:
    category: str
    component: tuple[int, ...] | None
    in_closure: bool
    in_function_space: bool
    i_s_degrees: tuple[int, ...]
    real_roots: int


def is_real_value(h: complex) -> bool:
    return bool(P.is_inf(h)) or abs(h.imag) <= _REL_TOL * (1.0 + abs(h))


def _hyperroots(values: ComplexArray, mults: Sequence[int], S: int
                ) -> tuple[list[tuple[complex, int]], int, int]:
    """``I_S(F)`` of a configuration as level hyperroots: the finite nonzero ``h = p^S`` whose
    whole orbit of ``S`` points is present, with the least multiplicity on the orbit; and the
    multiplicities of 0 and inf rounded down to multiples of ``S`` (MATH.md 4), in orbits."""
    m0 = minf = 0
    fin: list[tuple[complex, int]] = []
    for v, m in zip(values.tolist(), mults, strict=True):
        if math.isinf(v.real) or math.isinf(v.imag):
            minf += int(m)
        elif v == 0:
            m0 += int(m)
        else:
            fin.append((complex(v), int(m)))
    groups: list[tuple[complex, list[int]]] = []
    for v, m in fin:
        h = P.power1(v, S)
        for g in groups:
            if P.chordal1(g[0], h) <= S * _REL_TOL:
                g[1].append(m)
                break
        else:
            groups.append((h, [m]))
    out = [(P.real_point(h) if is_real_value(h) else h, min(ms))
           for h, ms in groups if len(ms) == S]
    return out, m0 // S, minf // S


def _lookup(hs: Sequence[tuple[complex, int]], h: complex) -> int:
    for i, (v, _) in enumerate(hs):
        if P.chordal1(v, h) <= 10 * _REL_TOL:
            return i
    return -1


def decide(values: ComplexArray, mults: Sequence[int], levels: Sequence[Level]) -> Verdict:
    """Exact combinatorial category of a snapped configuration (MATH.md 3-6): the decision
    procedure of :func:`lcn.geometry.exact.membership`, on orbit data read off the snapped
    roots (points related by roots of unity agree to roundoff after snapping):

    * level ``j`` (reduced layers of positive degree ``D_j``, stride ``S_j``): ``g_j = I_{S_j}``
      as hyperroots with multiplicities; closure iff ``deg g_j >= T_j`` (MATH.md 4); the slack
      is the excess, the piece the part of ``g_j`` not covered by ``g_{j+1}``;
    * membership: the orbit-kind greedy on the real counts of the pieces;
    * singular iff a level above the first has slack; the component is the vector of piece
      degrees (the smallest-dimensional component through the point, MATH.md 5);
    * boundary: a non-singular point is on the stride-one boundary iff a block with ``e >= 2``
      has fewer than ``e`` distinct real hyperroots of odd multiplicity in its piece (MATH.md
      6); a singular point by the local degenerations of :func:`_orbits.singular_boundary`.
    """
    real_roots = sum(int(m) for v, m in zip(values.tolist(), mults, strict=True)
                     if is_real_value(complex(v)))
    isd_all = []
    for lv in levels:
        h0, a0, b0 = _hyperroots(values, mults, lv.S)
        isd_all.append(lv.S * (sum(mu for _, mu in h0) + a0 + b0))
    isd = tuple(isd_all)
    keep = [j for j, lv in enumerate(levels) if lv.n > 0]
    if not keep:
        return Verdict("interior", None, True, True, isd, real_roots)
    D = [levels[j].n for j in keep]
    S = [levels[j].S for j in keep]
    e = [levels[j].e for j in keep]
    m = len(keep)
    data = [_hyperroots(values, mults, Sj) for Sj in S]
    slack = _orbits.slacks(D, S, [sum(mu for _, mu in h) + a + b for h, a, b in data])
    if slack is None:
        return Verdict("outside", None, False, False, isd, real_roots)
    specials = _orbits.piece_specials(S, [a for _, a, _ in data], [b for _, _, b in data])
    z0s, zinfs = [z0 for z0, _ in specials], [zinf for _, zinf in specials]
    pieces: list[list[tuple[complex, int]]] = []
    cover: list[list[int]] = []  # index of the covering hyperroot one level up, or -1
    for j, (h, _, _) in enumerate(data):
        if j + 1 < m:
            hn = data[j + 1][0]
            idx = [_lookup(hn, P.power1(c, S[j + 1] // S[j])) for c, _ in h]
            pieces.append([(c, mu - (hn[i][1] if i >= 0 else 0))
                           for (c, mu), i in zip(h, idx, strict=True)])
            cover.append(idx)
        else:
            pieces.append(list(h))
            cover.append([-1] * len(h))
    counts = []
    for j in range(m):
        pos = sum(nu for c, nu in pieces[j] if is_real_value(c) and c.real > 0)
        neg = sum(nu for c, nu in pieces[j] if is_real_value(c) and c.real < 0)
        counts.append((pos, neg, z0s[j] + zinfs[j]))
    # float-snapped orbit data: clamp rather than assert (see _orbits.greedy)
    if not _orbits.greedy(D, S, slack, counts, e, strict=False)[0]:
        return Verdict("outside", None, True, False, isd, real_roots)
    singular = any(sl > 0 for sl in slack[1:])
    comp = None
    kind: str | None = None
    if singular:
        full = [0] * len(levels)
        for jj, j in enumerate(keep):
            full[j] = sum(nu for _, nu in pieces[jj]) + z0s[jj] + zinfs[jj]
        comp = tuple(full)
        forest: list[list[_orbits.Group]] = []
        group_of: list[dict[int, int]] = []  # hyperroot index -> group index, per level
        for j in range(m - 1, -1, -1):
            h, a, b = data[j]
            up = forest[0] if forest else []
            up_map = group_of[0] if group_of else {}
            gmap: dict[int, int] = {}
            groups = _orbits.special_groups(up, a, z0s[j], b, zinfs[j])
            for t, ((c, mu), (_, nu)) in enumerate(zip(h, pieces[j], strict=True)):
                if not is_real_value(c):
                    continue
                par = up_map.get(cover[j][t]) if mu > nu else None
                gmap[t] = len(groups)
                groups.append(_orbits.Group("pos" if c.real > 0 else "neg", mu, nu, par))
            forest.insert(0, groups)
            group_of.insert(0, gmap)
        piece_core = [sum(nu for _, nu in pc) for pc in pieces]
        try:
            kind = _orbits.singular_boundary(D, S, e, slack, forest, piece_core)
        except _orbits.TooComplex:  # the point keeps the label "singular", as in exact
            kind = None
    else:
        odd = [sum(1 for c, nu in pc if is_real_value(c) and nu % 2) for pc in pieces]
        if _orbits.stride1_boundary(e, specials, lambda j: (odd[j], odd[j])):
            kind = "stride1"
    category = {"reduced": "boundary_reduced", "stride1": "boundary_stride1"}.get(
        kind or "", "singular" if singular else "interior")
    return Verdict(category, comp, True, True, isd, real_roots)

