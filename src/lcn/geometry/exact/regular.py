"""Regular points of ``mu``, decided exactly (MATH.md 7)."""

from __future__ import annotations

from typing import Any

from lcn import forms
from lcn.architecture import as_architecture
from lcn.errors import ExactnessError
from lcn.geometry.exact.divisors import form_gcd, i_r_core
from lcn.parametrization import coerce_filters

__all__ = ["is_regular"]


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
    arch = as_architecture(arch)
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
            g, g0, ginf = form_gcd(ups[j], acc)
            S = arch.S[j]
            if i_r_core(g, S).degree() + g0 // S + ginf // S > 0:
                return False
        acc = forms.multiply(acc, ups[j])
    return True
