"""The effective architecture and the facts that depend only on ``(k, s)`` (MATH.md 3-6, 9).

This module sits below :mod:`lcn.architecture` (it imports nothing of ``lcn`` but the errors),
so :class:`lcn.Architecture` can answer ``closure_degree``, ``singular_components``,
``boundary``, ``ed_degree`` ... without importing the geometry: the exact and numerical
geometry build on the same :class:`Effective` data.

Every function takes plain integer tuples (filter sizes ``k``, strides ``s``, or the level data
``D, S, e`` of an :class:`Effective`); the caller validates them (``Architecture.__init__``).
Numbers that could be astronomically large (multinomials, ED degrees) are estimated first and
refused with an :class:`~lcn.errors.ArchitectureError` above :data:`MAX_FACT_DIGITS` digits, so
no call computes a factorial of ten million.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import flint

from lcn.errors import ArchitectureError

__all__ = [
    "MAX_ED_ORDER",
    "MAX_COMPONENTS",
    "MAX_FACT_DIGITS",
    "Effective",
    "boundary_kinds",
    "closure_degree",
    "degree_vectors",
    "ed_degree",
    "effective",
    "tail",
]

#: Largest number of decimal digits of an exact fact (closure degree, ED degree): below
#: Python's int-string limit, so every fact prints and serialises.
MAX_FACT_DIGITS = 4000

#: Most enumeration steps spent listing the singular components of an architecture.
MAX_COMPONENTS = 20_000

#: Largest ``m = sum n_j`` of the ED-degree sum: its polynomials have degree ``m`` and
#: coefficients of about ``m log m`` bits (the terms cancel down to a far smaller value), so the
#: work grows like ``m^2 log m``; ``m = 1000`` takes about 0.5 s on one core.
MAX_ED_ORDER = 1000


def tail(D: Sequence[int], S: Sequence[int], j: int) -> int:
    """``T_j = sum_{i>=j} D_i S_i``: the degree carried by the layers of level ``>= j``
    (MATH.md 4)."""
    return sum(Di * Si for Di, Si in zip(D[j:], S[j:], strict=True))


def blocks_of(S: Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """Indices of the layers merged by the reduction (equal cumulative strides ``S_i``,
    MATH.md 3), one tuple per reduced layer."""
    groups: list[list[int]] = []
    for i in range(len(S)):
        if groups and S[groups[-1][-1]] == S[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    return tuple(tuple(g) for g in groups)


@dataclass(frozen=True)
class Effective:
    """The reduced architecture with its size-1 blocks (degree 0: scalars) dropped and the
    strides divided by ``G``, the stride of the first block of positive degree.

    Levels ``0..m-1`` (level ``j`` is a block of the reduced architecture): degree ``D[j]``,
    stride ``S[j]`` (``S[0] == 1``), ``e[j]`` = number of odd-degree original layers in the
    block (the stride-one real-root requirement, MATH.md 3). A filter of the architecture is a
    form in ``x^G, y^G``; the geometry works in ``u = x^G`` (MATH.md 2).
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
        """Number of levels."""
        return len(self.D)

    @property
    def degree(self) -> int:
        """Degree ``sum_j D_j S_j`` in ``u = x^G``."""
        return tail(self.D, self.S, 0)

    def r(self, j: int) -> int:
        """``S[j+1] / S[j]``: how many level-``j`` orbits one level-``j+1`` orbit splits into."""
        return self.S[j + 1] // self.S[j]

    def tail(self, j: int) -> int:
        """``T_j = sum_{i>=j} D_i S_i``: degree carried by the layers of level ``>= j``."""
        return tail(self.D, self.S, j)

    @property
    def e_red(self) -> tuple[int, ...]:
        """The real-root requirement of the reduced architecture: one real hyperroot for an
        odd-degree block."""
        return tuple(Dj % 2 for Dj in self.D)

    def below(self, top: int) -> Effective:
        """The levels ``0..top-1`` (what is left below a chosen top layer)."""
        return Effective(self.G, self.D[:top], self.S[:top], self.e[:top], self.layers[:top],
                         self.red_index[:top], self.n_reduced)

    def to_reduced(self, dv: Sequence[int]) -> tuple[int, ...]:
        """A degree vector over the levels, as one over the reduced architecture's layers
        (zeros at the dropped size-1 blocks)."""
        out = [0] * self.n_reduced
        for j, v in zip(self.red_index, dv, strict=True):
            out[j] = v
        return tuple(out)


@lru_cache(maxsize=256)
def effective(k: tuple[int, ...], s: tuple[int, ...]) -> Effective:
    """The :class:`Effective` levels of the architecture ``(k, s)`` (MATH.md 3)."""
    d = tuple(ki - 1 for ki in k)
    S = tuple(math.prod(s[:i]) for i in range(len(s)))
    blocks = blocks_of(S)
    keep = [(bi, b) for bi, b in enumerate(blocks) if sum(d[i] for i in b) > 0]
    if not keep:
        return Effective(1, (), (), (), (), (), len(blocks))
    G = S[keep[0][1][0]]
    return Effective(
        G=G,
        D=tuple(sum(d[i] for i in b) for _, b in keep),
        S=tuple(S[b[0]] // G for _, b in keep),
        e=tuple(sum(1 for i in b if d[i] % 2 == 1) for _, b in keep),
        layers=tuple(tuple(i for i in b if d[i] > 0) for _, b in keep),
        red_index=tuple(bi for bi, _ in keep),
        n_reduced=len(blocks),
    )


def degree_vectors(eff: Effective) -> list[tuple[int, ...]]:
    """All ``d' != D`` with ``sum d'_i S_i = d`` and every tail ``sum_{i>=l} d'_i S_i`` at
    least the tail of ``D`` (the set ``D`` of MATH.md 5), enumerated from the top level down.
    Refused beyond :data:`MAX_COMPONENTS` enumeration steps (large architectures have
    millions of components)."""
    d, out = eff.degree, []
    T = [eff.tail(j) for j in range(eff.m)]
    steps = [0]

    def rec(j: int, above: int, acc: tuple[int, ...]) -> None:
        steps[0] += 1
        if steps[0] > MAX_COMPONENTS:
            raise ArchitectureError(
                "k", f"has more than {MAX_COMPONENTS:,} singular components (MATH.md 5); "
                "lcn does not list them; use smaller filters or strides")
        if j == 0:
            out.append((d - above, *acc))
            return
        lo = max(0, -((above - T[j]) // eff.S[j]))  # the least dj with a tail >= T[j]
        for dj in range(lo, (d - above) // eff.S[j] + 1):
            rec(j - 1, above + dj * eff.S[j], (dj, *acc))

    if eff.m:
        rec(eff.m - 1, 0, ())
    return [dv for dv in out if dv != eff.D]


def boundary_kinds(D: Sequence[int], S: Sequence[int], e: Sequence[int]) -> tuple[bool, bool]:
    """``(stride1, reduced)``: whether ``M`` has stride-one boundary points (a block with
    ``e >= 2``) and reduced-boundary points (a block ``l >= 1`` of odd degree with
    ``sum_{i<l} D_i S_i >= S_l``), MATH.md 6. ``M`` is closed iff neither holds."""
    degree = tail(D, S, 0)
    stride1 = any(ej >= 2 for ej in e)
    reduced = any(D[j] % 2 == 1 and degree - tail(D, S, j) >= S[j] for j in range(1, len(D)))
    return stride1, reduced


def _log10_multinomial(parts: Sequence[int]) -> float:
    return (math.lgamma(sum(parts) + 1) - sum(math.lgamma(p + 1) for p in parts)) / math.log(10)


def _too_large(what: str, digits: float) -> ArchitectureError:
    return ArchitectureError(
        "k", f"gives a {what} of about {digits:,.0f} decimal digits, more than the "
        f"{MAX_FACT_DIGITS} lcn computes exactly; use smaller filters"
    )


def closure_degree(D: Sequence[int]) -> int:
    """Degree of the Zariski closure from the level degrees ``D``: the multinomial
    ``(sum_j D_j)! / prod_j D_j!`` (MATH.md 4; ``1``, a linear space, for one level).

    Computed as a product of binomials, never through the factorials (``k = (10^7,)`` is
    instant); refused above :data:`MAX_FACT_DIGITS` digits."""
    digits = _log10_multinomial(D)
    if digits > MAX_FACT_DIGITS:
        raise _too_large("closure degree", digits)
    out, acc = 1, 0
    for Dj in D:
        acc += Dj
        out *= math.comb(acc, Dj)
    return out


def ed_degree(n: Sequence[int]) -> int:
    """Generic Euclidean distance degree of the Segre ``P^{n_1} x ... x P^{n_L}`` (MATH.md 9,
    DHOST): with ``m = sum n_j``,

    ``gED = sum_{0 <= a_j <= n_j} (-1)^{|a|} (2^{m+1-|a|} - 1) (m-|a|)!
    prod_j C(n_j+1, a_j) / (n_j - a_j)!``.

    The inner sum over ``a`` with ``|a| = t`` is the coefficient ``c_t`` of ``z^t`` in
    ``prod_j sum_a C(n_j+1, a) z^a / (n_j-a)!`` (one exact ``fmpq_poly`` product), so the work
    is ``L`` polynomial products instead of ``prod (n_j+1)`` terms. Factors with ``n_j = 0``
    (size-1 layers) are points and drop; one factor (a linear space) gives 1. Refused when
    ``m`` exceeds :data:`MAX_ED_ORDER` or the value :data:`MAX_FACT_DIGITS` digits.
    """
    n = [nj for nj in n if nj > 0]
    if len(n) <= 1:
        return 1
    m = sum(n)
    # each |term| <= 2^(m+1) * m!/prod n_j! * prod 2^(n_j+1): a cheap bound on the digits
    bound = _log10_multinomial(n) + (2 * m + 1 + len(n)) * math.log10(2)
    if m > MAX_ED_ORDER:
        raise ArchitectureError(
            "k", f"has sum(k_i - 1) = {m} over its layers of size > 1; the Euclidean distance "
            f"degree sum is computed up to {MAX_ED_ORDER}; use smaller filters")
    if bound > 2 * MAX_FACT_DIGITS:
        raise _too_large("Euclidean distance degree", bound)
    # scaled by prod n_j! the factor polynomials have integer coefficients
    # C(n_j+1, a) n_j!/(n_j-a)!, so the whole sum runs in fmpz
    prod = flint.fmpz_poly([1])
    for nj in n:
        prod *= flint.fmpz_poly([math.comb(nj + 1, a) * math.perm(nj, a) for a in range(nj + 1)])
    c = [int(v) for v in prod.coeffs()]
    total, fact = 0, 1  # fact = (m - t)!, built up from t = m down
    for t in range(m, -1, -1):
        if t < len(c):
            total += (-1) ** t * ((1 << (m + 1 - t)) - 1) * fact * c[t]
        fact *= m - t + 1
    value, rem = divmod(total, math.prod(math.factorial(nj) for nj in n))
    if rem:  # pragma: no cover - the sum is an integer (a count)
        raise AssertionError("ED degree sum is not an integer")
    digits = value.bit_length() * math.log10(2)
    if digits > MAX_FACT_DIGITS:
        raise _too_large("Euclidean distance degree", digits)
    return value
