"""Exact geometry of LCN function spaces (MATH.md 3-7).

Exact inputs (ints, ``Fraction``, ``fmpq``, strings) get exact answers: every decision below is
made with integer polynomial arithmetic in python-flint (gcds, exact division, squarefree
decomposition, certified real-root counts), never with floating-point root clustering.
docs/geometry.md explains the algorithms; the short version:

* **Closure** (MATH.md 4): with ``g_l`` the ``I_{S_l}`` divisor written in the hyperroot
  variable ``u_l = (x/y)^{S_l}``, ``F`` is in the Zariski closure iff
  ``deg g_l >= T_l / S_l`` with ``T_l = sum_{i>=l} d_i S_i`` for every level ``l``. The excess
  ``slack_l = deg g_l - T_l/S_l`` is the number of spare level-``l`` orbits.
* **Real membership**: the hyperroot orbits form a forest (a level-``l+1`` orbit splits into
  ``s`` level-``l`` orbits). Deciding membership is choosing, level by level from the top, which
  real orbits stay as hyperroots of that layer and which are split for lower layers. We prove
  (docs/geometry.md) that only the counts of real orbits by kind matter (positive, negative,
  zero/infinity), that the only real constraint is "at least ``e_l`` real hyperroots at level
  ``l``", and that splitting as many orbits as the slack allows, the richest kinds first, is
  optimal. So membership costs a few gcds plus real-root counts of the pieces
  ``g_l / g_{l+1}(u^s)``; those counts are bounded cheaply (parity, Descartes, exact sign
  changes) and computed exactly only when the bounds do not decide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import flint
import numpy as np

from lcn import forms
from lcn.architecture import Architecture
from lcn.errors import ArchitectureError, ConfigError, ExactnessError, FilterError
from lcn.geometry import _orbits

__all__ = [
    "CATEGORIES",
    "CATEGORY_PRECEDENCE",
    "Membership",
    "membership",
    "is_regular",
    "singular_components",
    "closure_degree",
    "is_filling",
    "is_closed",
    "boundary_kinds",
    "i_s",
    "in_closure",
]

#: Classification of a form relative to the function space ``M`` of an architecture
#: (MATH.md 5-6; see docs/geometry.md):
#:
#: * ``zero``: the zero form (always in ``M``; singular when the reduced architecture has
#:   more than one layer of positive degree);
#: * ``boundary_reduced``: a point of ``M`` that is a limit of real points of the Zariski
#:   closure outside the reduced function space ``M_red`` (MATH.md 6);
#: * ``boundary_stride1``: a point of ``M`` that is a limit of points of ``M_red \\ M`` (the
#:   stride-one real-root boundary, MATH.md 6);
#: * ``singular``: a nonzero point of ``M`` on a singular component ``M_{d',S}``, ``d' in D``
#:   (MATH.md 5);
#: * ``interior``: any other point of ``M`` (a smooth relative interior point);
#: * ``outside``: not in ``M`` (it may still be in the Zariski closure, see ``in_closure``).
CATEGORIES: tuple[str, ...] = (
    "zero",
    "interior",
    "singular",
    "boundary_stride1",
    "boundary_reduced",
    "outside",
)

#: When several categories apply to a point of ``M``, the first in this tuple wins:
#: ``zero > boundary_reduced > boundary_stride1 > singular > interior``. Boundary labels win
#: over ``singular`` because every reduced-boundary point is singular (it lies where
#: ``deg I_S(F)`` exceeds its generic value), so the opposite order would never report
#: ``boundary_reduced``. Singularity is never lost: :attr:`Membership.singular_component` is
#: set for every point of ``M`` on a singular component, whatever its label.
CATEGORY_PRECEDENCE: tuple[str, ...] = (
    "zero",
    "boundary_reduced",
    "boundary_stride1",
    "singular",
    "interior",
)


@dataclass(frozen=True)
class Membership:
    """Result of :func:`membership` (MATH.md 4-6).

    * ``in_closure``: a complex sparse factorization exists (the ``I_S`` criterion);
    * ``in_function_space``: a real one exists for the (possibly non-reduced) architecture;
    * ``classification``: one of :data:`CATEGORIES`;
    * ``singular_component``: for a point of ``M`` on a singular component (every
      ``singular`` point, possibly also a boundary point), the degree vector ``d'`` (indexed by
      the reduced architecture's layers) of the smallest-dimensional component containing it;
      ``None`` otherwise;
    * ``factorization``: one filter per layer of the ORIGINAL architecture: real when
      ``in_function_space`` (tuples of ``fmpq`` when ``factorization_kind == "rational"``,
      of ``float`` for ``"float"``), complex (``complex`` entries, ``"complex"``) when only
      ``in_closure``; ``None`` outside the closure;
    * ``residual``: ``max |mu(factorization) - F|`` (exactly ``0`` for rational
      factorizations; ``None`` when there is no factorization).
    """

    in_closure: bool
    in_function_space: bool
    classification: str
    singular_component: tuple[int, ...] | None
    factorization: tuple[tuple[Any, ...], ...] | None
    factorization_kind: str | None
    residual: Any


    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict with keys ``in_closure``, ``in_function_space``, ``classification``,
        ``singular_component``, ``factorization``, ``factorization_kind``, ``residual``.

        Exact numbers are ints or ``"p/q"`` strings (:func:`lcn.forms.exact_to_json`), floats
        stay floats, complex numbers become ``[re, im]``, high-precision (``arb``) numbers become
        decimal strings with the digits they carry."""
        fac = None
        if self.factorization is not None:
            fac = [[_json_number(v) for v in w] for w in self.factorization]
        return {
            "in_closure": self.in_closure,
            "in_function_space": self.in_function_space,
            "classification": self.classification,
            "singular_component": (
                None if self.singular_component is None else list(self.singular_component)
            ),
            "factorization": fac,
            "factorization_kind": self.factorization_kind,
            "residual": None if self.residual is None else _json_number(self.residual),
        }


def _json_number(v: Any) -> Any:
    if isinstance(v, flint.fmpq):
        return forms.exact_to_json(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, int | flint.fmpz):
        return int(v)
    if isinstance(v, complex):
        return [float(v.real), float(v.imag)]
    if isinstance(v, flint.arb):
        bits = v.rel_accuracy_bits()
        digits = max(1, min(int(bits * 0.30103), int(flint.ctx.prec * 0.30103) + 1
                            if bits > 10**6 else 3000))
        return v.str(digits, radius=False)
    if isinstance(v, flint.acb):
        return [_json_number(v.real), _json_number(v.imag)]
    return float(v)


# ============================================================================================
# The effective architecture
# ============================================================================================
@dataclass(frozen=True)
class _Eff:
    """The reduced architecture with its size-1 blocks (degree 0: scalars) dropped and the
    strides divided by ``G``, the stride of the first block of positive degree.

    Levels ``0..m-1`` (level ``j`` is a block of the reduced architecture): degree ``D[j]``,
    stride ``S[j]`` (``S[0] == 1``), ``e[j]`` = number of odd-degree original layers in the
    block (the stride-one real-root requirement, MATH.md 3). A filter of the architecture is a
    form in ``x^G, y^G``; everything below works in ``u = x^G`` (MATH.md 2).
    """

    G: int
    D: tuple[int, ...]
    S: tuple[int, ...]
    e: tuple[int, ...]
    layers: tuple[tuple[int, ...], ...]  # original layer indices with d_i > 0, per level
    red_index: tuple[int, ...]  # index of each level among the reduced architecture's blocks
    n_reduced: int

    @property
    def m(self) -> int:
        return len(self.D)

    @property
    def degree(self) -> int:
        return sum(Dj * Sj for Dj, Sj in zip(self.D, self.S, strict=True))

    def r(self, j: int) -> int:
        """``S[j+1] / S[j]``: how many level-``j`` orbits one level-``j+1`` orbit splits into."""
        return self.S[j + 1] // self.S[j]

    def tail(self, j: int) -> int:
        """``T_j = sum_{i>=j} D_i S_i``: degree carried by the layers of level ``>= j``."""
        return _orbits.tail(self.D, self.S, j)

    @property
    def e_red(self) -> tuple[int, ...]:
        """The real-root requirement of the reduced architecture: one real hyperroot for an
        odd-degree block."""
        return tuple(Dj % 2 for Dj in self.D)


def _as_arch(arch: Any) -> Architecture:
    if isinstance(arch, Architecture):
        return arch
    if isinstance(arch, tuple) and len(arch) == 2:
        return Architecture(*arch)
    raise ArchitectureError(
        "arch", f"must be an lcn.Architecture (e.g. Architecture('3,2', '2,1')), got {arch!r}"
    )


@lru_cache(maxsize=256)
def _effective(arch: Architecture) -> _Eff:
    blocks = arch.blocks()
    d, S = arch.d, arch.S
    keep = [(bi, b) for bi, b in enumerate(blocks) if sum(d[i] for i in b) > 0]
    if not keep:
        return _Eff(1, (), (), (), (), (), len(blocks))
    G = S[keep[0][1][0]]
    return _Eff(
        G=G,
        D=tuple(sum(d[i] for i in b) for _, b in keep),
        S=tuple(S[b[0]] // G for _, b in keep),
        e=tuple(sum(1 for i in b if d[i] % 2 == 1) for _, b in keep),
        layers=tuple(tuple(i for i in b if d[i] > 0) for _, b in keep),
        red_index=tuple(bi for bi, _ in keep),
        n_reduced=len(blocks),
    )


def _sub_eff(eff: _Eff, top: int) -> _Eff:
    """The levels ``0..top-1`` of ``eff`` (what is left below a chosen top layer)."""
    return _Eff(eff.G, eff.D[:top], eff.S[:top], eff.e[:top], eff.layers[:top],
                eff.red_index[:top], eff.n_reduced)


# ============================================================================================
# Architecture facts (MATH.md 3-6)
# ============================================================================================
def _degree_vectors(eff: _Eff) -> list[tuple[int, ...]]:
    """All ``d' != D`` with ``sum d'_i S_i = d`` and every tail ``sum_{i>=l} d'_i S_i`` at
    least the tail of ``D`` (MATH.md 5), enumerated from the top level down."""
    d, out = eff.degree, []
    T = [eff.tail(j) for j in range(eff.m)]

    def rec(j: int, above: int, acc: tuple[int, ...]) -> None:
        if j == 0:
            out.append((d - above, *acc))
            return
        for dj in range((d - above) // eff.S[j] + 1):
            t = above + dj * eff.S[j]
            if t >= T[j]:
                rec(j - 1, t, (dj, *acc))

    if eff.m:
        rec(eff.m - 1, 0, ())
    return [dv for dv in out if dv != eff.D]


def _to_reduced(eff: _Eff, dv: Sequence[int]) -> tuple[int, ...]:
    out = [0] * eff.n_reduced
    for j, v in zip(eff.red_index, dv, strict=True):
        out[j] = v
    return tuple(out)


def singular_components(arch: Any) -> list[tuple[int, ...]]:
    """The singular components ``D`` of MATH.md 5, as degree vectors ``d'`` indexed by the
    layers of the reduced architecture:

    ``D = { d' != d : sum_i d'_i S_i = sum_i d_i S_i, sum_{i>=l} d'_i S_i >= sum_{i>=l} d_i S_i
    for all l }`` (degree moved towards sparser layers). ``Sing = {0} u U_{d' in D} M_{d',S}``;
    the zero form is singular whenever two or more reduced layers have positive degree.

    Size-1 layers (``d_i = 0``) are scalars: ``D`` is computed for the reduced architecture
    without them (a size-1 block can never carry degree), so e.g. ``k=(3,1), s=(2,1)`` (whose
    function space is all of ``R[x,y]_2``) has no singular component.
    """
    eff = _effective(_as_arch(arch))
    return sorted((_to_reduced(eff, dv) for dv in _degree_vectors(eff)),
                  key=lambda v: (sum(v), v))


def closure_degree(arch: Any) -> int:
    """Degree of the Zariski closure of the function space: the multinomial coefficient
    ``(sum_i D_i)! / prod_i D_i!`` over the blocks of the reduced architecture (MATH.md 4; a
    linear space, degree 1, when there is a single block of positive degree)."""
    eff = _effective(_as_arch(arch))
    n = math.factorial(sum(eff.D))
    for Dj in eff.D:
        n //= math.factorial(Dj)
    return n


def is_filling(arch: Any) -> bool:
    """Whether ``M`` is all of ``R[x,y]_d``: every layer of positive degree has ``S_i = 1``
    (full-dimensional) and at most one of them has odd degree (MATH.md 3)."""
    eff = _effective(_as_arch(arch))
    return eff.m == 0 or (eff.m == 1 and eff.G == 1 and eff.e[0] <= 1)


def boundary_kinds(arch: Any) -> dict[str, bool]:
    """Which kinds of relative boundary points ``M`` has (MATH.md 6):

    * ``stride1``: a block of the reduced architecture merges two or more odd-degree layers
      (``e >= 2``), so ``M_red \\ M`` is non-empty;
    * ``reduced``: some block ``l >= 2`` has odd degree and the sparser layers below it carry at
      least one of its orbits, ``sum_{i<l} D_i S_i >= S_l``. Then a real form can need a
      hyperroot of block ``l`` whose orbit is one of a conjugate pair (``x^4 + 4y^4`` for
      ``k=(3,2), s=(2,1)``), so the closure is larger than ``M_red``.

    ``M`` equals its Zariski closure iff neither kind exists (see :func:`is_closed`).
    """
    eff = _effective(_as_arch(arch))
    stride1, reduced = _orbits.boundary_kinds(eff.D, eff.S, eff.e)
    return {"stride1": stride1, "reduced": reduced}


def is_closed(arch: Any) -> bool:
    """Whether ``M`` equals (the real points of) its Zariski closure: no boundary of either
    kind (:func:`boundary_kinds`; MATH.md 6)."""
    b = boundary_kinds(arch)
    return not (b["stride1"] or b["reduced"])


# ============================================================================================
# Forms <-> integer polynomials, I_S
# ============================================================================================
def _split(F: Sequence[flint.fmpq]) -> tuple[flint.fmpz_poly, int, int]:
    """A nonzero form as ``(core, m0, minf)``: ``F = c * x^m0 * y^minf * core(x/y) y^deg``
    with ``core`` a primitive integer polynomial with ``core(0) != 0`` (roots at ``t = 0`` and
    ``t = inf`` taken out)."""
    n = len(F) - 1
    minf = 0
    while F[minf] == 0:
        minf += 1
    m0 = 0
    while F[n - m0] == 0:
        m0 += 1
    part = F[minf: n - m0 + 1]
    den = 1
    for c in part:
        den = den * int(c.q) // math.gcd(den, int(c.q))
    ints = [int(c.p) * (den // int(c.q)) for c in part]
    g = 0
    for v in ints:
        g = math.gcd(g, v)
    core = flint.fmpz_poly([v // g for v in reversed(ints)])
    return core, m0, minf


def _i_r_core(core: flint.fmpz_poly, r: int) -> flint.fmpz_poly:
    """``I_r`` of a core (``core(0) != 0``) in the variable ``U = u^r``: the gcd of the parts
    ``h_a(U)`` of ``core(u) = sum_a u^a h_a(u^r)`` (MATH.md 4)."""
    if r == 1:
        return core
    c = core.coeffs()
    g = flint.fmpz_poly(0)
    for a in range(r):
        part = c[a::r]
        if any(v != 0 for v in part):
            g = flint.fmpz_poly(part) if g == 0 else g.gcd(flint.fmpz_poly(part))
            if g.degree() == 0:
                return flint.fmpz_poly(1)
    if g.leading_coefficient() < 0:
        g = -g
    return g


def i_s(F: Any, S: int) -> list[flint.fmpq]:
    """``I_S(F)``: the largest divisor of the form ``F`` lying in ``C[x^S, y^S]`` (MATH.md 4),
    as an exact form in ``x, y`` (primitive integer coefficients, first nonzero coefficient
    positive; the constant form ``1`` when there is no such divisor).

    Computed exactly: write ``F = sum_{a<S} x^a F_a(x^S, y)``; ``I_S(F) = gcd_a F_a`` once the
    roots at ``x = 0`` and ``y = 0`` are taken out, and those get multiplicity rounded down to
    a multiple of ``S``. A divisor in ``C[x^S, y^S]`` is invariant under ``x -> zeta x``
    (``zeta^S = 1``), so it divides every ``x^a F_a`` (discrete Fourier inversion).
    """
    Fe = forms.as_exact(F, "F")
    if isinstance(S, bool) or not isinstance(S, int) or S < 1:
        raise FilterError("S", f"is {S!r}; give a positive integer stride product")
    if all(c == 0 for c in Fe):
        raise FilterError("F", "is the zero form; every form divides it, so I_S is undefined")
    core, m0, minf = _split(Fe)
    g = _i_r_core(core, S)
    a0, ainf = m0 // S, minf // S
    deg_u = g.degree() + a0 + ainf
    out = [flint.fmpq(0)] * (deg_u * S + 1)
    gc = g.coeffs()  # low -> high in U; the form in (U, V) has U^{a0} V^{ainf} factors
    # coefficient of U^{a0 + i} V^{deg_u - a0 - i} sits at position S*(deg_u - a0 - i)
    for i, v in enumerate(gc):
        out[S * (deg_u - a0 - i)] = flint.fmpq(v)
    return out


# ============================================================================================
# Level data: I_S divisors, slack, pieces
# ============================================================================================
@dataclass
class _Level:
    core: flint.fmpz_poly  # g_l without roots at 0, inf (variable u_l)
    m0: int
    minf: int
    piece: flint.fmpz_poly  # core of g_l / g_{l+1}(u^r)
    z0: int  # hyperroot 0 orbits in the piece
    zinf: int
    slack: int  # deg g_l - T_l / S_l (orbits to spare at this level)

    @property
    def units(self) -> int:
        return self.core.degree() + self.m0 + self.minf

    @property
    def piece_units(self) -> int:
        return self.piece.degree() + self.z0 + self.zinf


def _levels(eff: _Eff, Fu: Sequence[flint.fmpq]) -> list[_Level] | None:
    """Level data of a nonzero form ``Fu`` in ``u = x^G`` (degree ``eff.degree``), or ``None``
    when ``Fu`` is not in the Zariski closure (some ``deg I_{S_l} < T_l``)."""
    core, m0, minf = _split(Fu)
    raw = [(core, m0, minf)]
    for j in range(eff.m - 1):
        r = eff.r(j)
        c, a, b = raw[-1]
        raw.append((_i_r_core(c, r), a // r, b // r))
    slack = _orbits.slacks(eff.D, eff.S, [c.degree() + a + b for c, a, b in raw])
    if slack is None:
        return None
    specials = _orbits.piece_specials(eff.S, [a for _, a, _ in raw], [b for _, _, b in raw])
    out: list[_Level] = []
    for j, (c, a, b) in enumerate(raw):
        if j + 1 < eff.m:
            piece, rem = divmod(c, raw[j + 1][0].inflate(eff.r(j)))
            if rem != 0:  # pragma: no cover - I_r divides by construction
                raise AssertionError("I_S divisor does not divide")
        else:
            piece = c
        out.append(_Level(c, a, b, piece, *specials[j], slack[j]))
    return out


# ============================================================================================
# Certified real-root counts, with cheap bounds first
# ============================================================================================
def _sign(v: Any) -> int:
    return (v > 0) - (v < 0)


def _variations(c: Sequence[int]) -> int:
    n, last = 0, 0
    for v in c:
        s = _sign(v)
        if s and last and s != last:
            n += 1
        if s:
            last = s
    return n


def _exact_counts(q: flint.fmpz_poly) -> tuple[int, int]:
    return _exact_counts_cached(tuple(int(v) for v in q.coeffs()))


@lru_cache(maxsize=4096)
def _exact_counts_cached(coeffs: tuple[int, ...]) -> tuple[int, int]:
    """Exact numbers of positive and negative real roots of a squarefree ``q`` with
    ``q(0) != 0``: factor over ``Q``, then flint's certified complex roots of each factor (real
    roots come back with an exactly zero imaginary part; precision is raised until the sign of
    each real root is certain)."""
    pos = neg = 0
    for p, _ in flint.fmpz_poly(list(coeffs)).factor()[1]:
        c = [int(v) for v in p.coeffs()]
        if len(c) == 2:
            if _sign(c[0]) != _sign(c[1]):
                pos += 1
            else:
                neg += 1
            continue
        prec = 64
        while True:
            old = flint.ctx.prec
            flint.ctx.prec = prec
            try:
                roots: Any = p.complex_roots()  # (ball, multiplicity) pairs
            finally:
                flint.ctx.prec = old
            real = [z.real for z, _ in roots if z.imag == 0]
            if all(x > 0 or x < 0 for x in real):
                pos += sum(1 for x in real if x > 0)
                neg += sum(1 for x in real if x < 0)
                break
            prec *= 2  # pragma: no cover - only for tiny roots at low precision
    return pos, neg


class _SqfCounter:
    """Bounds ``lo <= count <= hi`` on the numbers of positive and negative real roots of a
    squarefree integer polynomial ``q`` with ``q(0) != 0``. Both bounds have the exact parity
    of the count (fixed by the signs of ``q(0)`` and of the leading coefficient), so they
    differ by an even number. :meth:`refine` tightens them in three stages: exact signs at a
    few rationals, then exact signs at the sign changes of a double-precision scan, then
    :func:`_exact_counts`."""

    def __init__(self, q: flint.fmpz_poly) -> None:
        self.q = q
        c = [int(v) for v in q.coeffs()]
        self.c = c
        n = len(c) - 1
        self.stage = 3
        if n <= 0:
            self.lo, self.hi = [0, 0], [0, 0]
            return
        s0, sl = _sign(c[0]), _sign(c[-1])
        par = [int(s0 != sl), int(s0 != sl * (-1) ** n)]
        if n == 1:
            self.lo = self.hi = par
            return
        if n == 2:
            if c[1] * c[1] - 4 * c[0] * c[2] < 0:
                self.lo = self.hi = [0, 0]
            elif _sign(c[0]) != _sign(c[2]):
                self.lo = self.hi = [1, 1]
            elif _sign(c[1]) != _sign(c[2]):
                self.lo = self.hi = [2, 0]
            else:
                self.lo = self.hi = [0, 2]
            return
        self.stage = 0
        self.lo = par
        self.hi = [_variations(c), _variations([v if i % 2 == 0 else -v for i, v in enumerate(c)])]
        # known exact signs: side 0 = (0, inf), side 1 = (-inf, 0) mirrored to (0, inf)
        self.signs: list[dict[flint.fmpq, int]] = [{}, {}]
        self.ends = [(s0, sl), (s0, sl * (-1) ** n)]

    @property
    def exact(self) -> bool:
        return self.lo == self.hi

    def _eval(self, side: int, x: flint.fmpq) -> None:
        v = self.q(-x if side else x)
        if v != 0:  # an exact rational root is left to the sign changes around it
            self.signs[side][x] = _sign(v)

    def _update(self) -> None:
        for side in (0, 1):
            seq = [self.ends[side][0]]
            seq += [self.signs[side][x] for x in sorted(self.signs[side])]
            seq.append(self.ends[side][1])
            changes = sum(1 for a, b in zip(seq, seq[1:], strict=False) if a != b)
            self.lo[side] = max(self.lo[side], changes)

    def refine(self) -> None:
        if self.exact:
            return
        if self.stage == 0:
            for side in (0, 1):
                for a, b in ((1, 4), (1, 2), (1, 1), (2, 1), (4, 1)):
                    self._eval(side, flint.fmpq(a, b))
        elif self.stage == 1:
            self._scan()
        else:
            self.lo = self.hi = list(_exact_counts(self.q))
            self.stage = 3
            return
        self.stage += 1
        self._update()

    def _scan(self, points: int = 2048) -> None:
        """Locate sign changes with a double-precision scan of ``(0, 1]`` (and of ``(0, 1]``
        in ``1/x`` for ``|x| >= 1``), densest near ``|x| = 1`` where the real roots of
        polynomials with random coefficients sit, then confirm each sign exactly."""
        c = self.c
        n = len(c) - 1
        bits = max(abs(v).bit_length() for v in c)
        shift = max(0, bits - 900)
        f = np.array([float(v >> shift) if shift else float(v) for v in c])
        k = np.arange(1, points + 1)
        grid = np.unique(np.concatenate([np.sin(0.5 * np.pi * k / points), k / points]))
        for side in (0, 1):
            g = f * (np.where(np.arange(n + 1) % 2 == 1, -1.0, 1.0) if side else 1.0)
            for inverse in (False, True):
                coef = g[::-1] if inverse else g  # x -> 1/x reverses the coefficients
                val = np.zeros_like(grid)
                mag = np.zeros_like(grid)
                for a in coef[::-1]:
                    val = val * grid + a
                    mag = mag * grid + abs(a)
                ok = np.abs(val) > 4 * (n + 2) * np.finfo(float).eps * mag
                sgn = np.sign(val)
                idx = np.nonzero(ok[:-1] & ok[1:] & (sgn[:-1] != sgn[1:]))[0]
                for i in idx[:64]:
                    for y in (grid[i], grid[i + 1]):
                        num, den = float(y).as_integer_ratio()
                        x = flint.fmpq(den, num) if inverse else flint.fmpq(num, den)
                        self._eval(side, x)


class _PieceCounts:
    """Real-root bounds of a piece (an integer polynomial, possibly with repeated roots):
    positive and negative roots counted with multiplicity, and the number of distinct real
    roots of odd multiplicity (for the boundary test)."""

    def __init__(self, piece: flint.fmpz_poly) -> None:
        self.parts: list[tuple[_SqfCounter, int]] = []
        if piece.degree() > 0:
            for q, mult in piece.factor_squarefree()[1]:
                self.parts.append((_SqfCounter(q), int(mult)))

    def bounds(self, which: str) -> tuple[int, int]:
        pos = neg = 0
        for cnt, mult in self.parts:
            b = cnt.lo if which == "lo" else cnt.hi
            pos += mult * b[0]
            neg += mult * b[1]
        return pos, neg

    def odd_bounds(self) -> tuple[int, int]:
        lo = sum(sum(c.lo) for c, m in self.parts if m % 2 == 1)
        hi = sum(sum(c.hi) for c, m in self.parts if m % 2 == 1)
        return lo, hi

    @property
    def exact(self) -> bool:
        return all(c.exact for c, _ in self.parts)

    def refine(self, odd_only: bool = False) -> None:
        for c, m in self.parts:
            if not odd_only or m % 2 == 1:
                c.refine()


# ============================================================================================
# The real decision: a greedy over orbit kinds, proven optimal (docs/geometry.md)
# ============================================================================================
class _Analysis:
    """Everything :func:`membership` needs about one nonzero form in ``u = x^G``."""

    def __init__(self, eff: _Eff, Fu: Sequence[flint.fmpq]) -> None:
        self.eff = eff
        self.Fu = list(Fu)
        self.levels = _levels(eff, Fu)
        self.counts = [_PieceCounts(lv.piece) for lv in self.levels] if self.levels else []

    @property
    def in_closure(self) -> bool:
        return self.levels is not None

    def _zero(self, j: int) -> int:
        assert self.levels is not None
        return self.levels[j].z0 + self.levels[j].zinf

    def decide(self, e: Sequence[int]) -> bool:
        """Real membership for the requirement ``e`` (exact: bounds first, refined until the
        greedy's verdict is the same for the lower and the upper counts; the verdict is
        monotone in the counts, see docs/geometry.md)."""
        assert self.levels is not None
        slack = [lv.slack for lv in self.levels]
        while True:
            lo = [(*pc.bounds("lo"), self._zero(j)) for j, pc in enumerate(self.counts)]
            if _orbits.greedy(self.eff.D, self.eff.S, slack, lo, e)[0]:
                return True
            hi = [(*pc.bounds("hi"), self._zero(j)) for j, pc in enumerate(self.counts)]
            if not _orbits.greedy(self.eff.D, self.eff.S, slack, hi, e)[0]:
                return False
            for pc in self.counts:
                pc.refine()

    @property
    def singular(self) -> bool:
        assert self.levels is not None
        return any(lv.slack > 0 for lv in self.levels[1:])

    def component(self) -> tuple[int, ...]:
        """The smallest-dimensional singular component through the point: the degrees of the
        pieces, ``d'_l = deg g_l - s_l deg g_{l+1}`` (the tails of ``d'`` are the ``I_S``
        degrees themselves, the largest any component through the point can have)."""
        assert self.levels is not None
        return _to_reduced(self.eff, [lv.piece_units for lv in self.levels])

    def stride1_boundary_nonsingular(self) -> bool:
        """Slack zero everywhere: the factorization into blocks is unique (the pieces), and a
        nearby point of the closure only moves hyperroots. Splitting every repeated real
        hyperroot into conjugate pairs leaves the distinct real hyperroots of odd
        multiplicity; the point is on the stride-one boundary iff some block then has fewer
        than ``e`` of them (MATH.md 6, :func:`lcn.geometry._orbits.stride1_boundary`)."""
        levels, counts = self.levels, self.counts
        assert levels is not None
        return _orbits.stride1_boundary(
            self.eff.e, [(lv.z0, lv.zinf) for lv in levels],
            lambda j: counts[j].odd_bounds(), lambda j: counts[j].refine(odd_only=True))


# ============================================================================================
# Boundary of a singular point: search over the local degenerations (docs/geometry.md)
# ============================================================================================
class _Ambiguous(Exception):
    """A ball computation did not separate two values; retried at higher precision."""


def _real_roots(p: flint.fmpz_poly, prec: int) -> list[Any]:
    old = flint.ctx.prec
    flint.ctx.prec = prec
    try:
        found: Any = p.complex_roots()  # (ball, multiplicity) pairs
        roots = [z.real for z, _ in found if z.imag == 0]
    finally:
        flint.ctx.prec = old
    if not all(x > 0 or x < 0 for x in roots):
        raise _Ambiguous
    return roots


def _key(p: flint.fmpz_poly) -> tuple[int, ...]:
    return tuple(int(v) for v in p.coeffs())


def _normalize(p: flint.fmpz_poly) -> flint.fmpz_poly:
    return -p if p.leading_coefficient() < 0 else p


def _real_forest(eff: _Eff, levels: list[_Level]) -> list[list[_orbits.Group]]:
    prec = 64
    while True:
        try:
            return _real_forest_at(eff, levels, prec)
        except _Ambiguous:  # pragma: no cover - needs nearly coincident real hyperroots
            prec *= 2


def _real_forest_at(eff: _Eff, levels: list[_Level], prec: int) -> list[list[_orbits.Group]]:
    """The real hyperroots of every level with multiplicities and parents (``c`` at level
    ``j`` has parent ``c^s`` at level ``j+1`` when an orbit of ``g_{j+1}`` covers it). Parent
    links are decided exactly: ``p | q(u^s)`` for the irreducible factors, and the balls of
    ``c^s`` and of the roots of ``q`` pick the root."""
    facs = [[(_normalize(p), int(mu)) for p, mu in lv.core.factor()[1]] for lv in levels]
    roots = [[_real_roots(p, prec) for p, _ in fl] for fl in facs]
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


def _singular_boundary(eff: _Eff, an: _Analysis) -> str | None:
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


# ============================================================================================
# Factorizations
# ============================================================================================
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


def _form_of(p: flint.fmpz_poly) -> list[flint.fmpq]:
    """The form ``v^deg p(u/v)`` of a polynomial."""
    return [flint.fmpq(v) for v in reversed(p.coeffs())]


_U = [flint.fmpq(1), flint.fmpq(0)]  # the form u (hyperroot 0)
_V = [flint.fmpq(0), flint.fmpq(1)]  # the form v (hyperroot infinity)


def _rational_items(F: list[flint.fmpq], levels_r: Sequence[int]) -> tuple[list[Any], int]:
    """Irreducible factors over ``Q`` of ``I_S(F)`` in the hyperroot variable, where ``S`` is
    the product of ``levels_r``: ``[(form, degree, multiplicity, real roots), ...]``."""
    core, m0, minf = _split(F)
    for r in levels_r:
        core, m0, minf = _i_r_core(core, r), m0 // r, minf // r
    items: list[Any] = []
    if m0:
        items.append((_U, 1, m0, 1))
    if minf:
        items.append((_V, 1, minf, 1))
    if core.degree() > 0:
        for p, mu in core.factor()[1]:
            items.append((_form_of(p), p.degree(), int(mu), None if p.degree() > 0 else 0))
    return items, core.degree() + m0 + minf


def _real_count(form: list[flint.fmpq]) -> int:
    """Real roots (with multiplicity, 0 and infinity included) of a nonzero form."""
    core, m0, minf = _split(form)
    pc = _PieceCounts(core)
    while not pc.exact:
        pc.refine()
    return sum(pc.bounds("lo")) + m0 + minf


def _rational_blocks(eff: _Eff, Fu: list[flint.fmpq], budget: list[int]) -> list[Any] | None:
    """Rational block polynomials ``P_0..P_{m-1}`` (forms in ``u_j``) with
    ``Fu = prod_j P_j(u^{S_j})`` and ``P_j`` having ``>= e_j`` real roots, searched top-down
    over divisors of ``I_{S_top}`` made of irreducible factors over ``Q``, each candidate
    checked with the exact decision for the layers below. ``None`` when none is found within
    ``budget`` candidates (then a float factorization is used)."""
    top = eff.m - 1
    if top == 0:
        return [Fu] if _real_count(Fu) >= eff.e[0] else None
    rs = [eff.r(j) for j in range(top)]
    items, _ = _rational_items(Fu, rs)
    target = eff.D[top]
    sub = _sub_eff(eff, top)
    chosen = [0] * len(items)

    def real_of(i: int) -> int:
        form, deg, mu, rc = items[i]
        if rc is None:
            rc = _real_count(form)
            items[i] = (form, deg, mu, rc)
        return int(rc)

    def rec(i: int, left: int) -> list[Any] | None:
        if left == 0:
            if sum(chosen[k] * real_of(k) for k in range(len(items)) if chosen[k]) < eff.e[top]:
                return None
            budget[0] -= 1
            P = forms.product([items[k][0] for k in range(len(items)) for _ in range(chosen[k])])
            R = _divide_inflated(Fu, P, eff.S[top])
            an = _Analysis(sub, R)
            if not an.in_closure or not an.decide(sub.e):
                return None
            below = _rational_blocks(sub, R, budget)
            return None if below is None else [*below, P]
        if i == len(items) or budget[0] <= 0:
            return None
        form, deg, mu, _ = items[i]
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
    for form, deg, mu, _ in items:
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


def _assemble(arch: Architecture, eff: _Eff, layer_forms: dict[int, list[Any]],
              one: Any) -> list[list[Any]]:
    """Filters of the original architecture: size-1 layers get ``[1]``."""
    return [layer_forms.get(i, [one] * arch.k[i]) if arch.d[i] > 0 else [one]
            for i in range(arch.layers)]


def _scale_first(filters: list[list[Any]], arch: Architecture, c: Any) -> None:
    i = next((i for i in range(arch.layers) if arch.d[i] > 0), 0)
    filters[i] = [v * c for v in filters[i]]


def _rational_factorization(arch: Architecture, eff: _Eff, F: list[flint.fmpq],
                            Fu: list[flint.fmpq]) -> list[list[flint.fmpq]] | None:
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
    filters = _assemble(arch, eff, layer_forms, flint.fmpq(1))
    got = _mu_exact(arch, filters)
    k = next(i for i, v in enumerate(F) if v != 0)
    _scale_first(filters, arch, F[k] / got[k])
    if _mu_exact(arch, filters) != F:  # pragma: no cover - defensive
        return None
    return filters


def _mu_exact(arch: Architecture, filters: list[list[flint.fmpq]]) -> list[flint.fmpq]:
    return forms.product([forms.upsample(f, S) for f, S in zip(filters, arch.S, strict=True)])


# -- floating point / ball factorizations ----------------------------------------------------
def _piece_units(piece: flint.fmpz_poly, prec: int) -> tuple[list[Any], list[Any]]:
    """Real roots and conjugate-pair representatives (``Im > 0``) of a piece, with
    multiplicity, as certified balls."""
    reals: list[Any] = []
    pairs: list[Any] = []
    if piece.degree() <= 0:
        return reals, pairs
    while True:
        old = flint.ctx.prec
        flint.ctx.prec = prec
        try:
            rr, pp, ok = [], [], True
            for q, mult in piece.factor_squarefree()[1]:
                found: Any = q.complex_roots()  # (ball, multiplicity) pairs
                for z, _ in found:
                    if z.imag == 0:
                        if not (z.real > 0 or z.real < 0):
                            ok = False
                        rr += [_newton(q, flint.acb(z.real), prec)] * int(mult)
                    elif z.imag > 0:
                        pp += [_newton(q, z, prec)] * int(mult)
                    elif not z.imag < 0:
                        ok = False
        finally:
            flint.ctx.prec = old
        if ok:
            return rr, pp
        prec *= 2  # pragma: no cover


def _newton(q: flint.fmpz_poly, z: Any, prec: int) -> Any:
    """Polish a certified root ball to ``prec`` bits by Newton steps on its midpoint (the
    factorization reports its residual; the decision never relies on these values)."""
    if prec <= 64:
        return z
    real = z.imag == 0
    p = flint.acb_poly([flint.acb(int(v)) for v in q.coeffs()])
    dp = p.derivative()
    w = flint.acb(z.real.mid(), 0 if real else z.imag.mid())
    for _ in range(int(math.log2(prec / 32)) + 3):
        w = w - p(w) / dp(w)
        w = flint.acb(w.real.mid(), 0 if real else w.imag.mid())
    return w


def _children(value: Any, kind: str, r: int) -> tuple[list[Any], list[Any]]:
    """The ``r`` orbits of level ``j-1`` inside a level-``j`` orbit: ``(reals, pairs)``, the
    pairs given by one representative each. ``value`` is a real ball for ``pos``/``neg``,
    the ``Im > 0`` representative for ``pair``."""
    if kind in ("zero", "inf"):
        return [kind] * r, []
    zeta = [flint.acb(flint.fmpq(2 * k, r)).exp_pi_i() for k in range(r)]
    if kind == "pair":
        base = value.root(r)
        return [], [base * z for z in zeta]
    h = value.real
    if kind == "pos":
        base = flint.acb(h.root(r))
        reals = [base] + ([-base] if r % 2 == 0 else [])
        ks = [k for k in range(1, (r + 1) // 2)]
        return reals, [base * zeta[k] for k in ks]
    mag = flint.acb((-h).root(r))
    if r % 2 == 1:  # a negative real root, the others in pairs
        return [-mag], [-mag * zeta[k] for k in range(1, (r + 1) // 2)]
    w = flint.acb(flint.fmpq(1, r)).exp_pi_i()  # (-1)^(1/r)
    return [], [mag * w * zeta[k] for k in range(r // 2)]


def _numeric_blocks(eff: _Eff, an: _Analysis, real: bool, prec: int) -> list[list[Any]]:
    """Hyperroots of every block (level), real-closed when ``real``: each entry is
    ``("lin", value)``, ``("pair", value)``, ``("zero",)`` or ``("inf",)``.

    Follows the greedy of :func:`_orbits.greedy` orbit by orbit: the kind counts decide
    which real orbits are split; conjugate pairs are kept or split in any order (the ``I_S`` degree
    count guarantees that every order works, MATH.md 4)."""
    assert an.levels is not None
    units = [_piece_units(lv.piece, prec) for lv in an.levels]
    counts = []
    for j, lv in enumerate(an.levels):
        reals = units[j][0]
        counts.append((sum(1 for v in reals if v.real > 0), sum(1 for v in reals if v.real < 0),
                       lv.z0 + lv.zinf))
    slack = [lv.slack for lv in an.levels]
    plan = _orbits.greedy(eff.D, eff.S, slack, counts, eff.e)[1] if real else [(0, 0, 0)] * eff.m
    blocks: list[list[Any]] = [[] for _ in range(eff.m)]
    sp_real: list[Any] = []  # ("pos"/"neg", ball) or "zero"/"inf"
    sp_pairs: list[Any] = []
    for j in range(eff.m - 1, -1, -1):
        lv = an.levels[j]
        reals = [("pos" if v.real > 0 else "neg", v) for v in units[j][0]]
        reals += [("zero", None)] * lv.z0 + [("inf", None)] * lv.zinf
        reals += sp_real
        pairs = list(units[j][1]) + sp_pairs
        if real:
            xp, xn, xz = plan[j]
            order = {"zero": 0, "inf": 0, "pos": 1, "neg": 2}
            reals.sort(key=lambda t: order[t[0]])
            removed = reals[: xz + xp + xn]
            kept = reals[xz + xp + xn:]
            need = (eff.D[j] - len(kept)) // 2
            if j == 0:
                need = len(pairs)
            if need < 0 or need > len(pairs) or len(kept) + 2 * need != eff.D[j]:
                raise AssertionError("inconsistent orbit counts")  # pragma: no cover
            kept_pairs, removed_pairs = pairs[:need], pairs[need:]
        else:
            pool = [("r", t) for t in reals] + [("p", z) for z in pairs]
            # a conjugate pair counts two orbits; keep whole pairs first, then single orbits
            kept, kept_pairs, removed, removed_pairs = [], [], [], []
            left = eff.D[j] if j > 0 else 10**9
            for tag, t in pool:
                if tag == "p" and left >= 2:
                    kept_pairs.append(t)
                    left -= 2
                elif tag == "p" and left == 1:
                    kept.append(("cplx", t))
                    removed.append(("cplx", t.conjugate()))
                    left -= 1
                elif tag == "p":
                    removed_pairs.append(t)
                elif left >= 1:
                    kept.append(t)
                    left -= 1
                else:
                    removed.append(t)
        for kind, v in kept:
            blocks[j].append((kind,) if kind in ("zero", "inf") else ("lin", v))
        blocks[j] += [("pair", z) for z in kept_pairs]
        sp_real, sp_pairs = [], []
        if j > 0:
            r = eff.r(j - 1)
            for kind, v in removed:
                if kind == "cplx":
                    sp_real += [("cplx", w) for w in _all_roots(v, r)]
                    continue
                rr, pp = _children(v, kind, r)
                sp_real += [(k, None) if isinstance(k, str) else
                            ("pos" if k.real > 0 else "neg", k) for k in rr]
                sp_pairs += pp
            for z in removed_pairs:
                sp_pairs += _children(z, "pair", r)[1]
    return blocks


def _all_roots(v: Any, r: int) -> list[Any]:
    base = v.root(r)
    return [base * flint.acb(flint.fmpq(2 * k, r)).exp_pi_i() for k in range(r)]


def _layer_poly(hyper: list[Any], real: bool) -> list[Any]:
    """Coefficients (``u^d .. v^d``) of the product of the given hyperroot factors."""
    roots: list[Any] = []
    n_inf = 0
    for h in hyper:
        if h[0] == "inf":
            n_inf += 1
        elif h[0] == "zero":
            roots.append(flint.acb(0))
        elif h[0] == "lin":
            roots.append(h[1])
        else:
            roots += [h[1], h[1].conjugate()]
    c = flint.acb_poly.from_roots(roots).coeffs() if roots else [flint.acb(1)]
    vec = [flint.acb(0)] * n_inf + list(reversed(c))
    return [v.real for v in vec] if real else vec


def _split_block(hyper: list[Any], degrees: Sequence[int], real: bool) -> list[list[Any]]:
    """Distribute a block's hyperroots over its layers: each odd layer gets one real
    hyperroot, then whole conjugate pairs (or two real hyperroots) fill the rest."""
    if len(degrees) == 1:
        return [hyper]
    singles = [h for h in hyper if h[0] != "pair"]
    pairs = [h for h in hyper if h[0] == "pair"]
    out: list[list[Any]] = [[] for _ in degrees]
    left = list(degrees)
    if real:
        for b, dg in enumerate(degrees):
            if dg % 2 == 1:
                out[b].append(singles.pop())
                left[b] -= 1
        chunks = [[h] for h in pairs] + [singles[i:i + 2] for i in range(0, len(singles), 2)]
        for ch in chunks:
            b = next(b for b in range(len(left)) if left[b] >= 2)
            out[b] += ch
            left[b] -= 2
    else:
        flat = singles + pairs
        for h in flat:
            need = 2 if h[0] == "pair" else 1
            slot = next((b for b in range(len(left)) if left[b] >= need), None)
            if slot is None:  # break a pair across two layers
                for z in (h[1], h[1].conjugate()):
                    b = next(b for b in range(len(left)) if left[b] >= 1)
                    out[b].append(("lin", z))
                    left[b] -= 1
                continue
            out[slot].append(h)
            left[slot] -= need
    return out


def _numeric_factorization(arch: Architecture, eff: _Eff, an: _Analysis, F: list[flint.fmpq],
                           real: bool, digits: int | None) -> tuple[list[list[Any]], Any]:
    prec = 64 if digits is None else max(64, int(digits * 3.33) + 32)
    old = flint.ctx.prec
    try:
        flint.ctx.prec = prec
        blocks = _numeric_blocks(eff, an, real, prec)
        layer_forms: dict[int, list[Any]] = {}
        for j, hyper in enumerate(blocks):
            degs = [arch.d[i] for i in eff.layers[j]]
            for i, part in zip(eff.layers[j], _split_block(hyper, degs, real), strict=True):
                layer_forms[i] = _layer_poly(part, real)
        one = flint.arb(1) if real else flint.acb(1)
        filters = _assemble(arch, eff, layer_forms, one)
        k = next(i for i, v in enumerate(an.Fu) if v != 0)
        _scale_first(filters, arch, flint.arb(an.Fu[k]) if real else flint.acb(an.Fu[k]))
        residual = _ball_residual(arch, filters, F)
        if digits is None:
            conv = (lambda v: float(v.mid())) if real else (
                lambda v: complex(float(v.real.mid()), float(v.imag.mid())))
            out = [[conv(v) for v in f] for f in filters]
            residual = _float_residual(arch, out, F)
            return out, residual
        # record the requested accuracy as the radius, so the balls print with ``digits`` digits
        def rnd(x: Any) -> Any:
            return flint.arb(x.mid(), abs(x.mid()) * flint.arb(10) ** (-digits))

        tag = [[rnd(v) if real else flint.acb(rnd(v.real), rnd(v.imag)) for v in f]
               for f in filters]
        return tag, residual
    finally:
        flint.ctx.prec = old


def _float_residual(arch: Architecture, filters: list[list[Any]], F: list[flint.fmpq]) -> float:
    acc = np.array([1.0 + 0j])
    for f, S in zip(filters, arch.S, strict=True):
        up = np.zeros(S * (len(f) - 1) + 1, dtype=complex)
        up[::S] = f
        acc = np.convolve(acc, up)
    target = np.array([float(v) for v in F])
    return float(np.max(np.abs(acc - target)))


def _ball_residual(arch: Architecture, filters: list[list[Any]], F: list[flint.fmpq]) -> float:
    acc = flint.acb_poly([1])
    for f, S in zip(filters, arch.S, strict=True):
        up = [flint.acb(0)] * (S * (len(f) - 1) + 1)
        for i, v in enumerate(f):
            up[S * i] = flint.acb(v)
        acc = acc * flint.acb_poly(up)
    c = acc.coeffs()
    c += [flint.acb(0)] * (len(F) - len(c))
    return max(float(abs(a - flint.acb(b)).upper()) for a, b in zip(c, F, strict=True))


# ============================================================================================
# Public decisions
# ============================================================================================
def _coerce_filter(arch: Architecture, filter: Any) -> list[flint.fmpq]:
    if isinstance(filter, float | np.floating) or (
        isinstance(filter, np.ndarray) and not np.issubdtype(filter.dtype, np.integer)
    ):
        raise ExactnessError(
            "filter",
            "is floating point; the exact path takes ints, Fractions or strings like '1/3' - "
            "for float filters use the numerical API (lcn.geometry.nearest / classify)",
        )
    F = forms.as_exact(filter, "filter")
    if len(F) != arch.filter_size:
        raise FilterError(
            "filter",
            f"has {len(F)} entries but {arch} has end-to-end filters of d+1 = "
            f"{arch.filter_size} taps; give coefficients of x^d, x^(d-1)y, ..., y^d",
        )
    return F


def _check_digits(digits: Any) -> int | None:
    if digits is None:
        return None
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 10000:
        raise ConfigError("digits", f"is {digits!r}; give a positive integer (decimal digits)")
    return digits


def _zero_factorization(arch: Architecture) -> tuple[tuple[flint.fmpq, ...], ...]:
    zero, one = flint.fmpq(0), flint.fmpq(1)
    return tuple(
        tuple(zero for _ in range(k)) if i == 0 else tuple([one] + [zero] * (k - 1))
        for i, k in enumerate(arch.k)
    )


def membership(arch: Any, filter: Any, digits: int | None = None, *,
               factorize: bool = True) -> Membership:
    """Decide where the exact form ``filter`` (coefficients of ``x^d, x^{d-1}y, ..., y^d``)
    sits relative to the function space ``M`` of ``arch`` (MATH.md 3-6).

    * ``in_closure``: ``F`` has a complex sparse factorization, i.e.
      ``deg I_{S_l}(F) >= sum_{i>=l} d_i S_i`` for every block ``l`` of the reduced
      architecture (MATH.md 4; size-1 layers are scalars and a leading size-1 layer with
      stride ``s_1`` makes ``F`` a form in ``x^{s_1}``, roots at 0 and infinity count with
      multiplicity rounded down to multiples of ``S``);
    * ``in_function_space``: ``F`` has a real factorization for ``arch`` itself, every merged
      stride-one block having at least as many real hyperroots as it has odd-degree layers.
      Decided exactly and completely by the orbit-kind greedy of :func:`_orbits.greedy`
      (optimal, see docs/geometry.md) on certified real-root counts of the pieces
      ``I_{S_l}/I_{S_{l+1}}``;
    * ``classification`` (:data:`CATEGORIES`, precedence :data:`CATEGORY_PRECEDENCE`):
      ``singular`` iff ``deg I_{S_l}(F)`` exceeds its generic value ``sum_{i>=l} d_i S_i`` at
      some level (``F`` is then on the Zariski closure of the component ``d'`` given by the
      piece degrees, MATH.md 5); boundary points come from the local degenerations of the
      factorization (MATH.md 6);
    * ``factorization`` (when ``factorize``): rational layer filters when the factors are
      rational (searched over the irreducible factors of the ``I_S`` divisors), otherwise
      floats from certified roots, or ``flint.arb`` balls with ``digits`` decimal digits when
      ``digits`` is given; complex filters when ``F`` is only in the closure. ``residual`` is
      ``max |mu(factorization) - F|`` (exactly ``0`` when rational).

    Float filters raise :class:`~lcn.errors.ExactnessError` (use ``lcn.geometry.nearest`` /
    ``classify`` for those). ``factorize=False`` skips the factorization (the decision alone).
    """
    arch = _as_arch(arch)
    F = _coerce_filter(arch, filter)
    digits = _check_digits(digits)
    if not isinstance(factorize, bool):
        raise ConfigError("factorize", f"is {factorize!r}; give True or False")
    eff = _effective(arch)
    if all(v == 0 for v in F):
        return Membership(True, True, "zero", None,
                          _zero_factorization(arch) if factorize else None,
                          "rational" if factorize else None, flint.fmpq(0) if factorize else None)
    outside = Membership(False, False, "outside", None, None, None, None)
    if eff.m == 0:  # every layer has size 1: M is the line of constants, all of R[x,y]_0
        fac = None
        if factorize:
            fac = [[flint.fmpq(1)] for _ in range(arch.layers)]
            fac[0] = [F[0]]
        return Membership(True, True, "interior", None,
                          None if fac is None else tuple(tuple(f) for f in fac),
                          "rational" if factorize else None,
                          flint.fmpq(0) if factorize else None)
    if any(v != 0 for i, v in enumerate(F) if i % eff.G):
        return outside  # not a form in x^G, y^G (leading size-1 layers with strides)
    Fu = F[:: eff.G]
    an = _Analysis(eff, Fu)
    if not an.in_closure:
        return outside
    if not an.decide(eff.e):
        fac, res = None, None
        if factorize:
            fac, res = _numeric_factorization(arch, eff, an, F, False, digits)
        return Membership(True, False, "outside", None,
                          None if fac is None else tuple(tuple(f) for f in fac),
                          "complex" if factorize else None, res)
    singular = an.singular
    comp = an.component() if singular else None
    if singular:
        try:
            kind = _singular_boundary(eff, an)
        except _orbits.TooComplex:  # documented limit: the point stays labelled "singular"
            kind = None
    else:
        kind = "stride1" if an.stride1_boundary_nonsingular() else None
    cls = {"reduced": "boundary_reduced", "stride1": "boundary_stride1"}.get(
        kind or "", "singular" if singular else "interior"
    )
    if not factorize:
        return Membership(True, True, cls, comp, None, None, None)
    rat = _rational_factorization(arch, eff, F, Fu)
    if rat is not None:
        return Membership(True, True, cls, comp, tuple(tuple(f) for f in rat), "rational",
                          flint.fmpq(0))
    fl, res = _numeric_factorization(arch, eff, an, F, True, digits)
    return Membership(True, True, cls, comp, tuple(tuple(f) for f in fl), "float", res)


def in_closure(arch: Any, filter: Any) -> bool:
    """Whether the exact form ``filter`` is in the Zariski closure of ``M`` (MATH.md 4): a
    few gcds, no root finding."""
    arch = _as_arch(arch)
    F = _coerce_filter(arch, filter)
    eff = _effective(arch)
    if all(v == 0 for v in F) or eff.m == 0:
        return True
    if any(v != 0 for i, v in enumerate(F) if i % eff.G):
        return False
    return _levels(eff, F[:: eff.G]) is not None


def _form_gcd(A: list[flint.fmpq], B: list[flint.fmpq]) -> tuple[flint.fmpz_poly, int, int]:
    ca, a0, ai = _split(A)
    cb, b0, bi = _split(B)
    return ca.gcd(cb), min(a0, b0), min(ai, bi)


def is_regular(arch: Any, filters: Any) -> bool:
    """Whether ``w`` is a regular point of ``mu``: ``rank d mu(w) = dim M`` (MATH.md 7),
    decided exactly for exact filters.

    With all ``w_i != 0``: ``w`` is not regular iff for some layer ``j >= 2`` an irreducible
    factor of ``P_j = pi_{S_j}(w_j)`` in ``C[x^{S_j}, y^{S_j}]`` (an orbit ``x^{S_j} - h
    y^{S_j}``, or ``x^{S_j}``, ``y^{S_j}``) divides ``P_1 ... P_{j-1}``; i.e. iff
    ``I_{S_j}(gcd(P_j, P_1...P_{j-1}))`` is not constant (in a stride-one block: two layers
    share a root). With one zero filter ``w_i`` the rank is ``k_i`` (only that layer's
    partial derivative survives); with two or more it is 0.
    """
    from lcn.parametrization import coerce_filters

    arch = _as_arch(arch)
    try:
        fs = coerce_filters(arch, filters, exact=True)
    except ExactnessError:
        raise ExactnessError(
            "filters",
            "contain floats; the exact test takes ints, Fractions or strings like '1/3' - for "
            "float filters compute numpy.linalg.matrix_rank(lcn.jacobian(arch, filters))",
        ) from None
    zero = [i for i, f in enumerate(fs) if all(v == 0 for v in f)]
    if len(zero) >= 2:
        return False
    if len(zero) == 1:
        return arch.k[zero[0]] == arch.dimension
    ups = [forms.upsample(f, S) for f, S in zip(fs, arch.S, strict=True)]
    acc = ups[0]
    for j in range(1, arch.layers):
        if arch.d[j] > 0:
            g, g0, ginf = _form_gcd(ups[j], acc)
            S = arch.S[j]
            if _i_r_core(g, S).degree() + g0 // S + ginf // S > 0:
                return False
        acc = forms.multiply(acc, ups[j])
    return True
