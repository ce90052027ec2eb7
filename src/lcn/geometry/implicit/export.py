"""Writing equations for other tools: plain text, SymPy-parsable strings, Macaulay2, Singular
and msolve input files.

All of them write a polynomial the same way (:func:`poly_str`): terms in the monomial order
of the coordinate ring (degree reverse lexicographic, ``p0 > p1 > ...``), integer
coefficients, ``*`` for products and ``^`` (or ``**`` for SymPy/Python) for powers. An empty
list of equations (a filling architecture: the closure is the whole space) is written as the
zero ideal.
"""

from __future__ import annotations

from collections.abc import Sequence

import flint

__all__ = ["FORMATS", "poly_str", "to_m2", "to_singular", "to_msolve"]

#: Output formats of :meth:`Equations.to_format` and ``lcn equations --format``.
FORMATS: tuple[str, ...] = ("text", "json", "m2", "singular", "msolve")


def poly_str(f: flint.fmpz_mpoly, names: Sequence[str], power: str = "^") -> str:
    """``f`` as ``"p0*p3^2 - p1*p2*p3"`` (``power="**"`` for Python and SymPy)."""
    out = []
    for m, c in zip(f.monoms(), f.coeffs(), strict=True):
        factors = [n if e == 1 else f"{n}{power}{e}" for n, e in zip(names, m, strict=True) if e]
        a = abs(int(c))
        body = "*".join(factors) if factors else str(a)
        if factors and a != 1:
            body = f"{a}*{body}"
        sign = "-" if c < 0 else "+"
        out.append((sign, body))
    if not out:
        return "0"
    first = ("-" if out[0][0] == "-" else "") + out[0][1]
    return " ".join([first] + [f"{s} {b}" for s, b in out[1:]])


def _bodies(polys: Sequence[flint.fmpz_mpoly], names: Sequence[str]) -> list[str]:
    return [poly_str(f, names) for f in polys] or ["0"]


def to_m2(polys: Sequence[flint.fmpz_mpoly], names: Sequence[str], header: str) -> str:
    """A Macaulay2 script defining ``R = QQ[p0..pd]`` and ``I = ideal(...)``."""
    eqs = ",\n  ".join(_bodies(polys, names))
    return f"-- {header}\nR = QQ[{', '.join(names)}];\nI = ideal(\n  {eqs}\n);\n"


def to_singular(polys: Sequence[flint.fmpz_mpoly], names: Sequence[str], header: str) -> str:
    """A Singular script defining ``ring R = 0, (p0..pd), dp;`` and ``ideal I = ...;``."""
    eqs = ",\n  ".join(_bodies(polys, names))
    return f"// {header}\nring R = 0, ({', '.join(names)}), dp;\nideal I =\n  {eqs};\n"


def to_msolve(polys: Sequence[flint.fmpz_mpoly], names: Sequence[str]) -> str:
    """An msolve input file: the variables, the characteristic 0, one polynomial per line
    (msolve takes no comments)."""
    eqs = ",\n".join(_bodies(polys, names))
    return f"{','.join(names)}\n0\n{eqs}\n"
