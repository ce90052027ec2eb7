"""The s-decomposition of a form and the generalized Sylvester matrix of its parts.

**Parts** (MATH.md 4). For a modulus ``s``, a form ``F(u, v)`` of degree ``n`` splits as
``F = sum_a u^a v^{b_a} F_a(u^s, v^s)``, where ``F_a`` collects the monomials whose exponent of
``u`` is ``a`` modulo ``s`` and ``b_a = (n - a) mod s``. ``F_a`` is a binary form in
``U = u^s, V = v^s`` of *formal* degree ``n_a`` (the number of its monomials minus one); its
coefficients are coordinates ``p_j`` of ``F`` itself, so the parts are linear in ``F``.

A form ``H(U, V)`` of degree ``e`` divides ``F`` iff it divides every part (a divisor in
``C[U, V]`` is invariant under ``u -> zeta u``, ``zeta^s = 1``, so it divides every ``F_a`` by
discrete Fourier inversion; conversely ``F = H * sum_a u^a v^{b_a} (F_a / H)``). Working with
binary forms of formal degree handles the roots at ``0`` and ``infinity`` of MATH.md 4 with no
special case: a part whose leading coefficients vanish has roots at infinity, and ``x y`` is
not divisible by any ``H(x^2, y^2)`` because its only part is the constant ``1``.

**The common-factor criterion.** Let the parts of formal degree ``>= e`` be ``F_a`` (a part of
smaller degree must be the zero form: its coordinates give linear equations), ``n_1 >= n_2``
the two largest of their degrees and ``N = n_1 + n_2 - e``. The generalized Sylvester matrix
``Phi_N`` has one row per part ``a`` and monomial ``U^(N - n_a - b) V^b``, ``0 <= b <= N - n_a``:
the coefficient vector, in degree ``N``, of ``U^(N - n_a - b) V^b F_a``; its rows span the
degree-``N`` part of the ideal ``(F_a)``. Then

    the parts have a common factor of degree >= e  iff  rank Phi_N <= N - e + 1,

i.e. iff every minor of order ``N - e + 2`` vanishes. With two parts ``Phi_N`` has exactly
``N - e + 2`` rows and these are its maximal minors: the classical ``e``-th subresultant matrix
(for ``e = 1`` its determinant is the resultant). Proof (docs/equations.md): a common factor
``g`` of degree ``delta`` puts the row space inside ``g C[U,V]_{N-delta}``; conversely for the
two parts of largest degree the kernel of ``(h_1, h_2) -> h_1 F_1 + h_2 F_2`` is
``{(l F_2/g_12, -l F_1/g_12)}``, so their rows alone reach rank ``N - e + 2`` when
``deg gcd(F_1, F_2) < e`` and fill ``g_12 C[U,V]_{N - deg g_12}`` otherwise; adding a part
``F_c`` of degree ``<= n_2`` then keeps the codimension in ``gcd C[U,V]_{N-deg gcd}`` at most
``e - 1 - deg gcd``. Zero parts are covered by monotonicity: ``rank Phi_{N+1} >= rank Phi_N +
1``, so the ``N`` of the two largest *nonzero* parts, which is at most this ``N``, suffices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Part", "SylvesterMatrix", "s_decomposition", "sylvester_matrix"]


@dataclass(frozen=True)
class Part:
    """One part ``F_a`` of the s-decomposition: ``coords[i]`` is the index ``j`` of the
    coordinate ``p_j`` that is the coefficient of ``U^(deg - i) V^i`` in ``F_a``."""

    residue: int
    coords: tuple[int, ...]

    @property
    def degree(self) -> int:
        """Formal degree ``n_a`` of the part in ``U = u^s, V = v^s``."""
        return len(self.coords) - 1


def s_decomposition(n: int, s: int, G: int = 1) -> tuple[Part, ...]:
    """The parts ``F_a`` (``0 <= a < s``, empty ones left out) of a form of degree ``n`` in
    ``u = x^G, v = y^G`` split by the exponent of ``u`` modulo ``s``. The coefficient of
    ``u^e v^(n-e)`` is the coordinate ``p_{G (n - e)}`` (``p_j`` multiplies ``x^(d-j) y^j``)."""
    out = []
    for a in range(min(s, n + 1)):
        top = a + s * ((n - a) // s)  # the largest exponent of u in this class
        out.append(Part(a, tuple(G * (n - ex) for ex in range(top, a - 1, -s))))
    return tuple(out)


@dataclass(frozen=True)
class SylvesterMatrix:
    """The common-factor condition of one recursion step (see the module docstring).

    * ``modulus``: the ``s`` of the s-decomposition; ``factor_degree``: the ``e`` required;
    * ``parts``: the parts of formal degree ``>= e`` (the sources of the rows);
    * ``zero``: the coordinates of the parts of degree ``< e`` (they must vanish);
    * ``N``: the degree of the row space (``None`` when fewer than two parts have degree
      ``>= e``: one part is always divisible by a form of degree ``e``, so no minor is needed).
    """

    modulus: int
    factor_degree: int
    parts: tuple[Part, ...]
    zero: tuple[int, ...]
    N: int | None

    @property
    def order(self) -> int:
        """Order ``N - e + 2`` of the minors that must vanish (0 when there are none)."""
        return 0 if self.N is None else self.N - self.factor_degree + 2

    def rows(self) -> list[list[int | None]]:
        """``Phi_N`` as a matrix of coordinate indices (``None``: a structural zero); row
        ``(a, b)`` holds ``F_a`` shifted by ``b``, columns are the powers ``V^0 .. V^N``."""
        if self.N is None:
            return []
        out = []
        for part in self.parts:
            for b in range(self.N - part.degree + 1):
                row: list[int | None] = [None] * (self.N + 1)
                row[b: b + part.degree + 1] = list(part.coords)
                out.append(row)
        return out

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of ``Phi_N``."""
        if self.N is None:
            return (0, 0)
        return (sum(self.N - p.degree + 1 for p in self.parts), self.N + 1)

    @property
    def minor_count(self) -> int:
        """How many minors of order :attr:`order` ``Phi_N`` has."""
        rows, cols = self.shape
        t = self.order
        return 0 if t == 0 else math.comb(rows, t) * math.comb(cols, t)


def sylvester_matrix(parts: tuple[Part, ...], factor_degree: int, modulus: int
                     ) -> SylvesterMatrix:
    """The condition "the parts share a common factor of degree ``factor_degree``" as a
    :class:`SylvesterMatrix` (linear equations for the parts too small to hold the factor,
    minors of ``Phi_N`` for the others)."""
    e = factor_degree
    big = tuple(p for p in parts if p.degree >= e)
    zero = tuple(sorted(j for p in parts if p.degree < e for j in p.coords))
    if len(big) < 2:
        return SylvesterMatrix(modulus, e, big, zero, None)
    n1, n2 = sorted((p.degree for p in big), reverse=True)[:2]
    return SylvesterMatrix(modulus, e, big, zero, n1 + n2 - e)
