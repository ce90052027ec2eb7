"""Certified real-root counts of integer polynomials, cheap bounds first (MATH.md 3-4)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import flint
import numpy as np

__all__ = ["PieceCounts", "exact_counts"]


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


def exact_counts(q: flint.fmpz_poly) -> tuple[int, int]:
    """Exact numbers of positive and negative real roots of a squarefree ``q`` with
    ``q(0) != 0`` (cached by coefficients)."""
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
            with flint.ctx.workprec(prec):
                roots: Any = p.complex_roots()  # (ball, multiplicity) pairs
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
    :func:`exact_counts`."""

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
            self.lo = self.hi = list(exact_counts(self.q))
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


class PieceCounts:
    """Real-root bounds of a piece (an integer polynomial, possibly with repeated roots):
    positive and negative roots counted with multiplicity, and the number of distinct real
    roots of odd multiplicity (for the boundary test)."""

    def __init__(self, piece: flint.fmpz_poly) -> None:
        self.parts: list[tuple[_SqfCounter, int]] = []
        if piece.degree() > 0:
            for q, mult in piece.factor_squarefree()[1]:
                self.parts.append((_SqfCounter(q), int(mult)))

    def bounds(self, which: str) -> tuple[int, int]:
        """``(positive, negative)`` lower (``which == "lo"``) or upper bounds."""
        pos = neg = 0
        for cnt, mult in self.parts:
            b = cnt.lo if which == "lo" else cnt.hi
            pos += mult * b[0]
            neg += mult * b[1]
        return pos, neg

    def odd_bounds(self) -> tuple[int, int]:
        """Bounds on the distinct real roots of odd multiplicity."""
        lo = sum(sum(c.lo) for c, m in self.parts if m % 2 == 1)
        hi = sum(sum(c.hi) for c, m in self.parts if m % 2 == 1)
        return lo, hi

    @property
    def exact(self) -> bool:
        """Whether the bounds are the counts."""
        return all(c.exact for c, _ in self.parts)

    def refine(self, odd_only: bool = False) -> None:
        """Tighten the bounds of every squarefree part (of odd multiplicity only)."""
        for c, m in self.parts:
            if not odd_only or m % 2 == 1:
                c.refine()

    def at_least(self, e: int) -> bool:
        """Whether the piece has at least ``e`` real roots (with multiplicity), refining the
        bounds only until they decide: an odd-degree piece has one by parity alone, so the
        exact count (factorization and certified roots) is rarely needed."""
        while True:
            if sum(self.bounds("lo")) >= e:
                return True
            if sum(self.bounds("hi")) < e:
                return False
            self.refine()
