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


#: Chordal tolerance (in root space) of the coincidences a snapped configuration holds to
#: roundoff: equal points, conjugate pairs, points related by a root of unity. Every test below
#: uses this one number in this one metric, so orbits, their reality and their covers agree.
_REL_TOL = 1e-12


@dataclass(frozen=True)
class Verdict:
    """The category of one configuration, with the data behind it (MATH.md 4-5)."""

    category: str
    component: tuple[int, ...] | None
    in_closure: bool
    in_function_space: bool
    i_s_degrees: tuple[int, ...]
    real_roots: int


@dataclass(frozen=True)
class Orbit:
    """A finite nonzero hyperroot of order ``S``: the orbit of ``rep`` under the ``S``-th roots
    of unity, present with multiplicity ``mult`` (the least on the orbit); ``real`` when the
    orbit is closed under conjugation, i.e. ``h = rep^S`` is real, of sign ``sign``."""

    rep: complex
    mult: int
    real: bool
    sign: int


def _conj_map(pts: ComplexArray) -> NDArray[np.int64]:
    """Index of the point nearest to the conjugate of each point (an involution when the
    configuration is closed under conjugation, as snapped configurations are)."""
    if pts.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.argmin(P.chordal(np.conj(pts)[:, None], pts[None, :]), axis=1)  # type: ignore[no-any-return]


def _merge(units: list[list[int]], pts: ComplexArray, conj: NDArray[np.int64], S: int
           ) -> list[list[int]]:
    """Merge units (lists of point indices) whose first points are related by an ``S``-th
    root of unity (chordally within :data:`_REL_TOL`). The distance is symmetrized under
    conjugation, so merging is conjugation-equivariant: the conjugate of a group is a group."""
    if not units:
        return []
    unit_of = np.empty(pts.size, dtype=np.int64)
    for u, mem in enumerate(units):
        unit_of[mem] = u
    first = [u[0] for u in units]
    reps = pts[first]
    D = P.orbit_distance(reps, reps, S)
    cu = unit_of[conj[first]]
    D = np.maximum(D, D[np.ix_(cu, cu)])
    return [[m for g in grp for m in units[g]] for grp in P.cluster(D, _REL_TOL)]


def _merge_coincident(values: ComplexArray, mults: Sequence[int]
                      ) -> tuple[ComplexArray, list[int]]:
    """Points within :data:`_REL_TOL` of each other (conjugation-equivariantly) become one,
    multiplicities added: no two distinct points of the configuration are equal to roundoff."""
    vals = np.asarray(values, dtype=np.complex128)
    groups = _merge([[i] for i in range(vals.size)], vals, _conj_map(vals), 1)
    return (np.array([vals[g[0]] for g in groups], dtype=np.complex128),
            [int(sum(mults[i] for i in g)) for g in groups])


#: Per level: orbits, the index of each orbit's cover one level up, orbits at 0 and at inf.
_LevelData = tuple[list[Orbit], list[int], int, int]


def level_orbits(values: ComplexArray, mults: Sequence[int], Ss: Sequence[int]
                 ) -> list[_LevelData]:
    """``I_{S_j}(F)`` of a configuration without coincident points (see
    :func:`_merge_coincident`) for increasing strides ``Ss``, each dividing the next, as
    hyperroots (MATH.md 4). Built bottom-up so that the levels agree by construction: the
    groups of a level are unions of groups of the level below related by roots of unity.
    Per level: the complete orbits (groups of exactly ``S`` points) as :class:`Orbit`; for
    each orbit the index of the complete orbit of the next level holding it (``-1``: none);
    and the multiplicities of 0 and inf rounded down to multiples of ``S``, in orbits."""
    vs = values.tolist()
    is_inf = [math.isinf(v.real) or math.isinf(v.imag) for v in vs]
    fin = [i for i, v in enumerate(vs) if not is_inf[i] and v != 0]
    m0 = sum(int(mults[i]) for i, v in enumerate(vs) if not is_inf[i] and v == 0)
    minf = sum(int(mults[i]) for i in range(len(vs)) if is_inf[i])
    pts = values[fin]
    mult = np.array([int(mults[i]) for i in fin], dtype=np.int64)
    conj = _conj_map(pts)
    units: list[list[int]] = [[t] for t in range(pts.size)]
    levels: list[tuple[list[Orbit], list[list[int]], int, int]] = []
    for S in Ss:
        units = _merge(units, pts, conj, S)
        group_of = np.empty(pts.size, dtype=np.int64)
        for u, mem in enumerate(units):
            group_of[mem] = u
        orbs, members = [], []
        for mem in units:
            if len(mem) != S:
                continue
            rep = complex(pts[mem[0]])
            real = bool(group_of[conj[mem[0]]] == group_of[mem[0]])
            h = P.power1(rep, S)
            orbs.append(Orbit(rep, int(mult[mem].min()), real,
                              (1 if h.real > 0 else -1) if real else 0))
            members.append(mem)
        levels.append((orbs, members, m0 // S, minf // S))
    out = []
    for j, (orbs, members, a, b) in enumerate(levels):
        cover = [-1] * len(orbs)
        if j + 1 < len(levels):
            where = {m: t for t, mem in enumerate(levels[j + 1][1]) for m in mem}
            cover = [where.get(mem[0], -1) for mem in members]
        out.append((orbs, cover, a, b))
    return out


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
    values, mults = _merge_coincident(values, mults)
    real_roots = sum(int(m) for v, m in zip(values.tolist(), mults, strict=True)
                     if P.chordal1(complex(v), complex(v).conjugate()) <= _REL_TOL)
    isd = tuple(lv.S * (sum(o.mult for o in h) + a + b) for lv, (h, _, a, b)
                in zip(levels, level_orbits(values, mults, [lv.S for lv in levels]),
                       strict=True))
    keep = [lv for lv in levels if lv.n > 0]
    if not keep:
        return Verdict("interior", None, True, True, isd, real_roots)
    D, S, e = [lv.n for lv in keep], [lv.S for lv in keep], [lv.e for lv in keep]
    data = level_orbits(values, mults, S)
    slack = _orbits.slacks(D, S, [sum(o.mult for o in h) + a + b for h, _, a, b in data])
    if slack is None:
        return Verdict("outside", None, False, False, isd, real_roots)
    lv_data = _Pieces.of(data, S)
    if not _orbits.greedy(D, S, slack, lv_data.counts(), e)[0]:
        return Verdict("outside", None, True, False, isd, real_roots)
    singular = any(sl > 0 for sl in slack[1:])
    if singular:
        comp_keep = [sum(nu for _, nu in pc) + z0 + zi
                     for pc, (z0, zi) in zip(lv_data.pieces, lv_data.specials, strict=True)]
        it = iter(comp_keep)
        comp: tuple[int, ...] | None = tuple(next(it) if lv.n > 0 else 0 for lv in levels)
        try:
            kind = _orbits.singular_boundary(D, S, e, slack, lv_data.forest(data),
                                             lv_data.piece_core())
        except _orbits.TooComplex:  # the point keeps the label "singular", as in exact
            kind = None
    else:
        comp = None
        odd = [sum(1 for o, nu in pc if o.real and nu % 2) for pc in lv_data.pieces]
        kind = ("stride1" if _orbits.stride1_boundary(e, lv_data.specials,
                                                      lambda j: (odd[j], odd[j])) else None)
    category = {"reduced": "boundary_reduced", "stride1": "boundary_stride1"}.get(
        kind or "", "singular" if singular else "interior")
    return Verdict(category, comp, True, True, isd, real_roots)


@dataclass(frozen=True)
class _Pieces:
    """The pieces ``g_j / g_{j+1}(u^r)`` of the levels (MATH.md 4-5): per level, each orbit of
    ``g_j`` with its multiplicity not covered by the level above, the index of its cover
    (``-1``: none), and the orbits at 0 and inf of the piece (``specials``)."""

    pieces: list[list[tuple[Orbit, int]]]
    covers: list[list[int]]
    specials: list[tuple[int, int]]

    @staticmethod
    def of(data: Sequence[_LevelData], S: Sequence[int]) -> _Pieces:
        pieces = []
        for j, (h, cover, _, _) in enumerate(data):
            above = data[j + 1][0] if j + 1 < len(data) else []
            pieces.append([(o, o.mult - (above[i].mult if i >= 0 else 0))
                           for o, i in zip(h, cover, strict=True)])
        specials = _orbits.piece_specials(S, [a for _, _, a, _ in data],
                                          [b for _, _, _, b in data])
        return _Pieces(pieces, [d[1] for d in data], specials)

    def counts(self) -> list[tuple[int, int, int]]:
        """``(positive, negative, zero-or-inf)`` real orbits of each piece (for the greedy)."""
        return [(sum(nu for o, nu in pc if o.sign > 0), sum(nu for o, nu in pc if o.sign < 0),
                 z0 + zi) for pc, (z0, zi) in zip(self.pieces, self.specials, strict=True)]

    def piece_core(self) -> list[int]:
        """Degree of each piece's finite nonzero part, in orbits."""
        return [sum(nu for _, nu in pc) for pc in self.pieces]

    def forest(self, data: Sequence[_LevelData]) -> list[list[_orbits.Group]]:
        """The real hyperroot groups of every level, linked to their covers one level up
        (the input of :func:`lcn.geometry._orbits.singular_boundary`)."""
        forest: list[list[_orbits.Group]] = []
        group_of: list[dict[int, int]] = []  # orbit index -> group index, per level
        for j in range(len(data) - 1, -1, -1):
            _, _, a, b = data[j]
            up = forest[0] if forest else []
            up_map = group_of[0] if group_of else {}
            gmap: dict[int, int] = {}
            z0, zinf = self.specials[j]
            groups = _orbits.special_groups(up, a, z0, b, zinf)
            for t, (o, nu) in enumerate(self.pieces[j]):
                if not o.real:
                    continue
                par = up_map.get(self.covers[j][t]) if o.mult > nu else None
                gmap[t] = len(groups)
                groups.append(_orbits.Group("pos" if o.sign > 0 else "neg", o.mult, nu, par))
            forest.insert(0, groups)
            group_of.insert(0, gmap)
        return forest
