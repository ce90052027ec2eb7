"""Forms as integer polynomials and their ``I_S`` divisors (MATH.md 4)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import flint

from lcn import forms
from lcn._validate import check_int
from lcn.errors import FilterError

__all__ = ["form_gcd", "form_of", "i_r_core", "i_s", "split_form"]


def split_form(F: Sequence[flint.fmpq]) -> tuple[flint.fmpz_poly, int, int]:
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


def i_r_core(core: flint.fmpz_poly, r: int) -> flint.fmpz_poly:
    """``I_r`` of a core (``core(0) != 0``) in the variable ``U = u^r``: the gcd of the parts
    ``h_a(U)`` of ``core(u) = sum_a u^a h_a(u^r)`` (MATH.md 4)."""
    if r == 1:
        return core
    c = core.coeffs()
    g = flint.fmpz_poly(0)
    for a in range(min(r, len(c))):  # parts beyond the degree are empty
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
    S = check_int(S, "S", min=1, error=FilterError)
    if all(c == 0 for c in Fe):
        raise FilterError("F", "is the zero form; every form divides it, so I_S is undefined")
    core, m0, minf = split_form(Fe)
    g = i_r_core(core, S)
    a0, ainf = m0 // S, minf // S
    deg_u = g.degree() + a0 + ainf
    out = [flint.fmpq(0)] * (deg_u * S + 1)
    gc = g.coeffs()  # low -> high in U; the form in (U, V) has U^{a0} V^{ainf} factors
    # coefficient of U^{a0 + i} V^{deg_u - a0 - i} sits at position S*(deg_u - a0 - i)
    for i, v in enumerate(gc):
        out[S * (deg_u - a0 - i)] = flint.fmpq(v)
    return out


def form_gcd(A: list[flint.fmpq], B: list[flint.fmpq]) -> tuple[flint.fmpz_poly, int, int]:
    """``gcd(A, B)`` of two nonzero forms as ``(core, m0, minf)`` (see :func:`split_form`)."""
    ca, a0, ai = split_form(A)
    cb, b0, bi = split_form(B)
    return ca.gcd(cb), min(a0, b0), min(ai, bi)


def form_of(p: flint.fmpz_poly) -> list[flint.fmpq]:
    """The form ``v^deg p(u/v)`` of a polynomial."""
    return [flint.fmpq(v) for v in reversed(p.coeffs())]
