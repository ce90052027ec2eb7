"""Level data of a form: the chain of ``I_S`` divisors, their slack and pieces (MATH.md 4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import flint

from lcn._effective import Effective
from lcn.geometry import _orbits
from lcn.geometry.exact.divisors import i_r_core, split_form

__all__ = ["Level", "levels_of"]


@dataclass
class Level:
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


def levels_of(eff: Effective, Fu: Sequence[flint.fmpq]) -> list[Level] | None:
    """Level data of a nonzero form ``Fu`` in ``u = x^G`` (degree ``eff.degree``), or ``None``
    when ``Fu`` is not in the Zariski closure (some ``deg I_{S_l} < T_l``)."""
    core, m0, minf = split_form(Fu)
    raw = [(core, m0, minf)]
    for j in range(eff.m - 1):
        r = eff.r(j)
        c, a, b = raw[-1]
        raw.append((i_r_core(c, r), a // r, b // r))
    slack = _orbits.slacks(eff.D, eff.S, [c.degree() + a + b for c, a, b in raw])
    if slack is None:
        return None
    specials = _orbits.piece_specials(eff.S, [a for _, a, _ in raw], [b for _, _, b in raw])
    out: list[Level] = []
    for j, (c, a, b) in enumerate(raw):
        if j + 1 < eff.m:
            piece, rem = divmod(c, raw[j + 1][0].inflate(eff.r(j)))
            if rem != 0:  # pragma: no cover - I_r divides by construction
                raise AssertionError("I_S divisor does not divide")
        else:
            piece = c
        out.append(Level(c, a, b, piece, *specials[j], slack[j]))
    return out
