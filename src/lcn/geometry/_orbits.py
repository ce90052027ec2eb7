"""Orbit combinatorics shared by :mod:`lcn.geometry.exact` and :mod:`lcn.geometry.numerical`.

Both modules reduce membership, singularity and boundary questions to the same data about a
form (MATH.md 4-6): for the levels ``j = 0..m-1`` of the effective architecture, the level
degrees ``D``, strides ``S`` (``S[0] == 1``), stride-one parities ``e`` (odd-degree layers per
block), the slack of every level (orbits of ``I_{S_j}`` beyond the tail ``T_j / S_j``) and the
real hyperroots of the pieces, as counts by kind or as a forest of :class:`Group`. The exact
module reads these off certified integer polynomials, the numerical one off a snapped float
configuration; the decisions below are pure functions of that data, kept in one place so the
two modules cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lcn._effective import boundary_kinds, tail

__all__ = [
    "BOUNDARY_WORK",
    "Group",
    "TooComplex",
    "boundary_kinds",
    "greedy",
    "piece_specials",
    "real_children",
    "singular_boundary",
    "slacks",
    "special_groups",
    "stride1_boundary",
    "tail",
]

Plan = list[tuple[int, int, int]]
Counts = Sequence[tuple[int, int, int]]

BOUNDARY_WORK = 20_000  # degeneration choices examined before giving up on the boundary label


class TooComplex(Exception):
    """The boundary search of a singular point exceeded :data:`BOUNDARY_WORK`."""


# ============================================================================================
# Degree bookkeeping (MATH.md 4)
# ============================================================================================
def slacks(D: Sequence[int], S: Sequence[int], units: Sequence[int]) -> list[int] | None:
    """The slack ``deg g_j - T_j / S_j`` of every level, from ``units[j] = deg I_{S_j}(F)``
    counted in level-``j`` orbits; ``None`` when some level falls short, i.e. the form is not
    in the Zariski closure (MATH.md 4: closure iff ``deg I_{S_j}(F) >= T_j`` for all ``j``)."""
    need = [tail(D, S, j) // S[j] for j in range(len(D))]
    if any(u < n for u, n in zip(units, need, strict=True)):
        return None
    return [u - n for u, n in zip(units, need, strict=True)]


def piece_specials(S: Sequence[int], m0: Sequence[int], minf: Sequence[int]
                   ) -> list[tuple[int, int]]:
    """``(z0, zinf)`` per level: the orbits at 0 and at infinity of ``g_j`` not covered by
    ``g_{j+1}(u^r)``, ``r = S_{j+1}/S_j`` (the piece ``g_j / g_{j+1}(u^r)``, MATH.md 4-5);
    ``m0[j]``, ``minf[j]`` are the multiplicities of 0 and infinity in ``g_j``."""
    out = []
    for j in range(len(S)):
        if j + 1 < len(S):
            r = S[j + 1] // S[j]
            out.append((m0[j] - r * m0[j + 1], minf[j] - r * minf[j + 1]))
        else:
            out.append((m0[j], minf[j]))
    return out


# ============================================================================================
# Membership: the orbit-kind greedy (MATH.md 4)
# ============================================================================================
def real_children(kind: str, r: int) -> int:
    """Real hyperroots one level down (``r = S_j/S_{j-1}``-th roots) in the orbit of a real
    hyperroot of ``kind``: 0 and inf stay put r times, a positive one has 1 or 2 real roots,
    a negative one 1 when ``r`` is odd."""
    if kind in ("zero", "inf"):
        return r
    if kind == "pos":
        return 1 + (r % 2 == 0)
    return r % 2


def greedy(D: Sequence[int], S: Sequence[int], slack: Sequence[int], counts: Counts,
           e: Sequence[int], *, strict: bool = True) -> tuple[bool, Plan]:
    """Real membership from the real orbit counts of the pieces (MATH.md 4).

    ``counts[j] = (positive, negative, zero-or-infinity)`` real hyperroots of level ``j`` that
    no level-``j+1`` orbit covers. From the top level down, the pool of real level-``j``
    orbits is ``counts[j]`` plus the real children of the orbits split at level ``j+1``. The
    layer needs ``e[j]`` real hyperroots; otherwise the pool may be split freely up to the
    slack, keeping the parity ``x = slack (mod 2)`` (conjugate pairs are split in pairs). A
    split orbit of kind zero gives ``s`` zero children, a positive one a positive child (and a
    negative one when ``s`` is even), a negative one a negative child when ``s`` is odd. More
    real orbits never hurt and zero > positive > negative in what they can give, so splitting
    the most, richest kinds first, is optimal. Returns ``(feasible, plan)`` with
    ``plan[j] = (positive, negative, zero)`` orbits split at level ``j``.

    ``strict``: exact orbit data obey the degree count, so a split count below
    ``max(0, E - D_j)`` is a bug and raises. Orbit data read off a snapped float configuration
    (the numerical module) carry no such guarantee; there the split count is clamped at 0
    instead, which is how that module has always treated them.
    """
    m = len(D)
    plan: Plan = [(0, 0, 0)] * m
    spawn = (0, 0, 0)
    for j in range(m - 1, -1, -1):
        pool = tuple(a + b for a, b in zip(counts[j], spawn, strict=True))
        E = sum(pool)
        if E < e[j]:
            return False, plan
        if j == 0:
            break
        x = min(slack[j], E - e[j])
        if (x - slack[j]) % 2:
            x -= 1
        if x < max(0, E - D[j]):
            if strict:  # pragma: no cover - excluded by the degree count
                raise AssertionError("orbit count inconsistent with the I_S degrees")
            x = max(x, 0)
        xz = min(x, pool[2])
        xp = min(x - xz, pool[0])
        xn = x - xz - xp
        plan[j] = (xp, xn, xz)
        r = S[j] // S[j - 1]
        spawn = (xp, xp if r % 2 == 0 else xn, r * xz)
    return True, plan


# ============================================================================================
# Boundary (MATH.md 6)
# ============================================================================================
def stride1_boundary(e: Sequence[int], specials: Sequence[tuple[int, int]],
                     odd_bounds: Callable[[int], tuple[int, int]],
                     refine: Callable[[int], None] | None = None) -> bool:
    """Stride-one boundary test of a non-singular point (slack zero everywhere, MATH.md 6).

    The factorization into blocks is unique (the pieces), and a nearby point of the closure
    only moves hyperroots. Splitting every repeated real hyperroot into conjugate pairs leaves
    the distinct real hyperroots of odd multiplicity; the point is on the stride-one boundary
    iff some block then has fewer than ``e`` of them. ``specials[j] = (z0, zinf)`` of the
    piece; ``odd_bounds(j)`` bounds the distinct real hyperroots of odd multiplicity in the
    piece's finite nonzero part. The exact module counts them with certified bounds that
    ``refine(j)`` tightens until they decide; the numerical module knows them (``lo == hi``)
    and passes no ``refine``.
    """
    for j, ej in enumerate(e):
        if ej < 2:
            continue  # parity keeps one real hyperroot in an odd block
        z0, zinf = specials[j]
        extra = z0 % 2 + zinf % 2
        while True:
            lo, hi = odd_bounds(j)
            if lo + extra >= ej:
                break
            if hi + extra < ej:
                return True
            if refine is None:  # pragma: no cover - callers without refine give lo == hi
                raise AssertionError("undecided odd real-root bounds without a refinement")
            refine(j)
    return False


@dataclass
class Group:
    """A real hyperroot value of level ``j`` with its orbit counts: ``mult_g`` orbits in
    ``g_j``, ``mult_piece`` of them not covered by an orbit of level ``j+1``, and the index of
    the covering group one level up (``parent``). ``value``: the hyperroot, where known."""

    kind: str  # "pos", "neg", "zero", "inf"
    mult_g: int
    mult_piece: int
    parent: int | None
    value: Any = None


def special_groups(up: Sequence[Group], m0: int, z0: int, minf: int, zinf: int) -> list[Group]:
    """The groups of the hyperroots 0 and infinity of a level (multiplicities ``m0``/``minf``
    in ``g_j``, ``z0``/``zinf`` in the piece), linked to the same kind in ``up``, the groups
    of the level above (``0^s = 0``, ``inf^s = inf``)."""
    out = []
    for kind, mg, mp in (("zero", m0, z0), ("inf", minf, zinf)):
        if mg > 0:
            par = next((i for i, g in enumerate(up) if g.kind == kind), None)
            out.append(Group(kind, mg, mp, par))
    return out


def singular_boundary(D: Sequence[int], S: Sequence[int], e: Sequence[int],
                      slack: Sequence[int], forest: Sequence[Sequence[Group]],
                      piece_core: Sequence[int]) -> str | None:
    """``"reduced"``, ``"stride1"`` or ``None`` for a singular point of ``M`` (MATH.md 6).

    ``forest[j]``: the real hyperroot groups of level ``j``; ``piece_core[j]``: the degree of
    the piece's finite nonzero part (real and non-real hyperroots, with multiplicity).

    Every real point ``G`` of the closure near ``F`` comes from ``F`` by (a) breaking spare
    orbits (a level-``j`` orbit no longer a full orbit: its ``s`` children become independent),
    at most ``slack_j`` of them per level, and (b) moving hyperroots: two equal free real
    hyperroots may become a conjugate pair, a free hyperroot at 0 or infinity may become
    negative. Fewer real orbits, less slack and weaker kinds never help, so for each choice of
    broken real orbits the worst ``G`` breaks as many conjugate orbits as allowed, splits every
    repeated real hyperroot and turns a lone zero/infinity into a negative one. ``F`` is on
    the reduced boundary when such a ``G`` is outside ``M_red``, on the stride-one boundary
    when one is outside ``M`` (and inside ``M_red``).

    The choices are searched level by level; real hyperroot values with the same kind, free
    multiplicity and subtree are interchangeable, so a state keeps only how many of each there
    are (the search is then polynomial in the slack for each class). Raises
    :class:`TooComplex` after :data:`BOUNDARY_WORK` choices."""
    if not any(boundary_kinds(D, S, e)):
        return None  # M is closed: no boundary at all
    m = len(D)
    e_red = [Dj % 2 for Dj in D]
    sig, sig_info = _signatures(S, forest)

    def roots_at(j: int) -> list[tuple[int, int]]:
        return [(sig[j][i], g.mult_piece) for i, g in enumerate(forest[j])
                if g.parent is None]

    def nonreal_piece(j: int) -> int:
        real = sum(g.mult_piece for g in forest[j] if g.kind in ("pos", "neg"))
        return piece_core[j] - real

    stride1 = False
    states: set[Any] = {(_counter(roots_at(m - 1)), nonreal_piece(m - 1), ())}
    work = 0
    for j in range(m - 1, -1, -1):
        nxt: set[Any] = set()
        r = S[j] // S[j - 1] if j > 0 else 1
        for classes, nonreal_free, gdata in states:
            for choice in _class_choices(list(classes), slack[j] if j > 0 else 0):
                work += 1
                if work > BOUNDARY_WORK:
                    raise TooComplex
                level, children, nonreal_next = _apply_choice(
                    classes, choice, sig_info, r, nonreal_free, slack[j] if j > 0 else None)
                g2 = (level, *gdata)
                if j == 0:
                    counts = [(p, n, 0) for p, n, _ in g2]
                    sl = [x for _, _, x in g2]
                    if not greedy(D, S, sl, counts, e_red)[0]:
                        return "reduced"
                    if not stride1 and not greedy(D, S, sl, counts, e)[0]:
                        stride1 = True
                    continue
                nxt.add((_counter(roots_at(j - 1) + children),
                         nonreal_piece(j - 1) + nonreal_next, g2))
        states = nxt
    return "stride1" if stride1 else None


_SigInfo = dict[int, tuple[str, int, tuple[tuple[int, int], ...]]]


def _signatures(S: Sequence[int], forest: Sequence[Sequence[Group]]
                ) -> tuple[list[list[int]], _SigInfo]:
    """Class signatures of the real hyperroot groups, bottom-up: groups with the same kind,
    free multiplicity and children classes are interchangeable (one interned id each)."""
    sig: list[list[int]] = []
    sig_info: _SigInfo = {}
    intern: dict[Any, int] = {}
    for j in range(len(forest)):
        row = []
        r = S[j] // S[j - 1] if j > 0 else 1
        for i, g in enumerate(forest[j]):
            kids: tuple[tuple[int, int], ...] = ()
            if j > 0:
                per = r if g.kind in ("zero", "inf") else 1
                kids = tuple(sorted((sig[j - 1][c], per) for c, h in enumerate(forest[j - 1])
                                    if h.parent == i))
            key = (j, g.kind, g.mult_piece, kids)
            if key not in intern:
                intern[key] = len(intern)
                sig_info[intern[key]] = (g.kind, g.mult_piece, kids)
            row.append(intern[key])
        sig.append(row)
    return sig, sig_info


def _apply_choice(classes: Sequence[Any], choice: Sequence[Any], sig_info: _SigInfo, r: int,
                  nonreal_free: int, slack: int | None
                  ) -> tuple[tuple[int, int, int], list[tuple[int, int]], int]:
    """One choice of broken real orbits at a level (``slack`` is ``None`` at the bottom):
    the level's ``(positive, negative, slack left)`` for the greedy, the children classes
    handed down, and the non-real orbits handed down."""
    nb = sum(b * c for (_, _), dist in zip(classes, choice, strict=True)
             for b, c in enumerate(dist))
    bn = min(nonreal_free, slack - nb) if slack is not None else 0
    bn -= bn % 2
    pos = neg = 0
    children: list[tuple[int, int]] = []
    nonreal_next = r * bn
    for ((sid, free), _), dist in zip(classes, choice, strict=True):
        kind, _, kids = sig_info[sid]
        for b, c in enumerate(dist):
            if c == 0:
                continue
            if (free - b) % 2:
                if kind == "pos":
                    pos += c
                else:
                    neg += c
            if slack is not None:
                for ksid, per in kids:
                    children += [(ksid, sig_info[ksid][1] + per * b)] * c
                nonreal_next += c * b * (r - real_children(kind, r))
    level = (pos, neg, slack - nb - bn if slack is not None else 0)
    return level, children, nonreal_next


def _counter(items: list[tuple[int, int]]) -> tuple[tuple[tuple[int, int], int], ...]:
    out: dict[tuple[int, int], int] = {}
    for it in items:
        out[it] = out.get(it, 0) + 1
    return tuple(sorted(out.items()))


def _class_choices(classes: list[tuple[tuple[int, int], int]], total: int) -> Iterator[Any]:
    """For each class ``((sig, free), n)``: how many of its ``n`` members break ``b`` of their
    ``free`` orbits, for ``b = 0..free`` (a tuple of counts), with ``sum b <= total``."""
    if not classes:
        yield ()
        return
    ((_, free), n) = classes[0]
    for dist in _distributions(n, free, total):
        used = sum(b * c for b, c in enumerate(dist))
        for rest in _class_choices(classes[1:], total - used):
            yield (dist, *rest)


def _distributions(n: int, free: int, total: int) -> Iterator[Any]:
    """Tuples ``(c_0..c_free)`` with ``sum c = n`` and ``sum b c_b <= total``."""
    if free == 0:
        yield (n,)
        return

    def rec(b: int, left: int, budget: int) -> Iterator[Any]:
        if b == 0:
            yield (left,)
            return
        for c in range(min(left, budget // b) + 1):
            for rest in rec(b - 1, left - c, budget - b * c):
                yield (*rest, c)

    yield from rec(free, n, total)
