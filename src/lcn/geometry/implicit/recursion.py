"""Shahverdi's recursion (arXiv 2401.16613; MATH.md 4, 9): the closure as common-factor
conditions on the parts of ``F``.

Let the blocks be ``D_0, ..., D_{m-1}`` with strides ``S_0 = 1 < S_1 < ...``
(:mod:`lcn.geometry.implicit.levels`) and ``T_l = sum_{i>=l} D_i S_i``. ``F`` is in the
closure of ``(D, S)`` iff ``F = P(u, v) H(u^{S_1}, v^{S_1})`` with ``deg P = D_0`` and ``H`` in
the closure of the architecture with one block fewer, ``(D_1, ..., D_{m-1})`` with strides
``S_l / S_1``, in the variables ``U = u^{S_1}, V = v^{S_1}``. The first condition is that the
parts of ``F`` modulo ``S_1`` share a common factor of degree ``T_1 / S_1``
(:mod:`.sylvester`); the common factors of that degree are the divisors of ``I_{S_1}(F)``
(MATH.md 4). Recursing, ``H`` must satisfy the same kind of condition with modulus
``S_2 / S_1`` in ``U``; since ``I_{S_2/S_1}(I_{S_1}(F)) = I_{S_2}(F)`` (a divisor of ``F`` in
``C[u^{S_2}]`` divides ``I_{S_1}(F)``), that is a condition on the parts of ``F`` itself modulo
``S_2``, with factor degree ``T_2 / S_2``; and so on. Step ``l`` of the recursion therefore
asks: the parts of ``F`` modulo ``S_l`` share a common factor of degree ``T_l / S_l``, for
``l = 1, ..., m-1``. Together the steps say ``deg I_{S_l}(F) >= T_l`` for all ``l``, which is
the closure test of MATH.md 4 (a choice of top-layer factor can always be completed downwards),
so the union of their equations cuts out the closure exactly: each step's equations are
polynomial in the coordinates of ``F``, and no gcd is ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass

from lcn.geometry.implicit.levels import Levels
from lcn.geometry.implicit.sylvester import SylvesterMatrix, s_decomposition, sylvester_matrix

__all__ = ["Step", "recursion_steps", "closure_conditions"]


@dataclass(frozen=True)
class Step:
    """One step of the recursion: the parts of ``F`` modulo ``modulus`` (in ``u = x^G``) must
    share a common factor of degree ``factor_degree`` (in ``u^modulus``)."""

    modulus: int
    factor_degree: int


def recursion_steps(D: tuple[int, ...], S: tuple[int, ...]) -> tuple[Step, ...]:
    """The steps for blocks ``D`` with absolute strides ``S`` (``S[0]`` the current variable's
    stride): split by ``S[1]``, ask for the degree the higher blocks carry, recurse on the
    architecture without its first block."""
    if len(D) < 2:
        return ()
    above = sum(Dj * Sj for Dj, Sj in zip(D[1:], S[1:], strict=True))
    return (Step(S[1], above // S[1]), *recursion_steps(D[1:], S[1:]))


def closure_conditions(lv: Levels) -> tuple[tuple[int, ...], tuple[SylvesterMatrix, ...]]:
    """``(zero, matrices)``: the coordinates that vanish on the closure (not a multiple of
    ``G``, or in a part too small for its common factor) and one :class:`SylvesterMatrix` per
    recursion step whose minors must vanish."""
    zero = {j for j in range(lv.degree + 1) if j % lv.G}
    mats = []
    for step in recursion_steps(lv.D, lv.S):
        parts = s_decomposition(lv.n, step.modulus, lv.G)
        mat = sylvester_matrix(parts, step.factor_degree, step.modulus)
        zero.update(mat.zero)
        mats.append(mat)
    return tuple(sorted(zero)), tuple(mats)
