"""``equations(arch)``: polynomial equations of the Zariski closure of an LCN function space
(the neurovariety; MATH.md 4, 9; Shahverdi, arXiv 2401.16613)."""

from __future__ import annotations

from typing import Any

import flint

from lcn._validate import check_choice, check_int, check_real, check_size
from lcn.architecture import Architecture, as_architecture
from lcn.errors import ArchitectureError, OptionError
from lcn.geometry.exact import closure_degree
from lcn.geometry.implicit.elimination import elimination_variables, prime_ideal
from lcn.geometry.implicit.levels import levels
from lcn.geometry.implicit.minimize import CELL_LIMIT, minimal_generators
from lcn.geometry.implicit.minors import minors
from lcn.geometry.implicit.recursion import closure_conditions
from lcn.geometry.implicit.result import Equations

__all__ = ["KINDS", "equations", "hypersurface_degree"]

#: ``kind`` values of :func:`equations`.
KINDS: tuple[str, ...] = ("set", "ideal")

#: Default caps: equations of higher degree, or more terms in all, are refused up front.
DEFAULT_MAX_DEGREE = 12
DEFAULT_MAX_TERMS = 2_000_000
#: Elimination problems with more variables are refused before any Groebner basis is tried.
IDEAL_MAX_VARIABLES = 40
#: Most coordinates ``p_0..p_d`` a coordinate ring is built for.
MAX_COORDINATES = 10_000


def equations(arch: Any, kind: str = "set", *, max_degree: int = DEFAULT_MAX_DEGREE,
              max_terms: int = DEFAULT_MAX_TERMS, timeout: float = 60.0,
              minimize: bool = True) -> Equations:
    """Polynomials in the coordinates ``p_0..p_d`` (``p_j`` the coefficient of
    ``x^(d-j) y^j``) with integer coefficients that cut out the Zariski closure of the
    function space of ``arch`` (MATH.md 4; the reduced architecture has the same closure,
    MATH.md 3).

    ``kind="set"`` (any size within the limits): Shahverdi's recursion
    (:mod:`.recursion`): for each step ``l`` the parts of ``F`` modulo ``S_l`` must share a
    common factor of degree ``T_l / S_l``; that is the vanishing of the minors of order
    ``N - e + 2`` of the generalized Sylvester matrix ``Phi_N`` of the parts
    (:mod:`.sylvester`, docs/equations.md), plus the coordinates that no product reaches. Their
    common complex zero set is exactly the closure (a theorem, not a numerical verdict); the
    ideal they generate may be smaller than the prime ideal (same radical). The list is
    minimized: duplicates, scalar multiples and members of the ideal of the others are dropped
    (each drop certified exactly; :attr:`Equations.minimal`); ``minimize=False`` drops only
    duplicates and scalar multiples (the linear algebra of the minimization is most of the
    time for large architectures).

    ``kind="ideal"`` (small cases): minimal generators of the prime ideal of the closure by
    elimination (:mod:`.elimination`), with its degree and codimension from the Hilbert
    series. Cases whose lexicographic Groebner basis does not finish in ``timeout`` seconds,
    or with more than :data:`IDEAL_MAX_VARIABLES` variables, raise
    :class:`~lcn.errors.OptionError`.

    ``max_degree`` / ``max_terms``: refuse (``OptionError``) output with an equation of
    higher degree, or with more terms in all (counted before minimization).

    >>> equations(Architecture("2,2", "2,1")).strings()
    ['p1*p2 - p0*p3']
    """
    arch = as_architecture(arch)
    kind = check_choice(kind, "kind", KINDS, error=OptionError)
    max_degree = check_int(max_degree, "max_degree", min=1, error=OptionError)
    max_terms = check_int(max_terms, "max_terms", min=1, error=OptionError)
    timeout = check_real(timeout, "timeout", min=0, min_open=True, error=OptionError)
    if not isinstance(minimize, bool):
        raise OptionError("minimize", f"is {minimize!r}; give True or False")
    check_size(arch.degree + 1, "arch", limit=MAX_COORDINATES, what="coordinates p_0..p_d",
               error=ArchitectureError)
    ctx = flint.fmpz_mpoly_ctx.get(("p", arch.degree + 1), "degrevlex")
    if kind == "ideal":
        return _ideal(arch, ctx, max_degree, max_terms, timeout)
    return _set(arch, ctx, max_degree, max_terms, minimize)


def _set(arch: Architecture, ctx: flint.fmpz_mpoly_ctx, max_degree: int, max_terms: int,
         minimize: bool) -> Equations:
    zero, mats = closure_conditions(levels(arch))
    for m in mats:
        if m.order > max_degree:
            raise OptionError(
                "max_degree", f"is {max_degree}, but the closure of {arch} needs minors of order "
                f"{m.order} (the parts modulo {m.modulus} must share a factor of degree "
                f"{m.factor_degree}); raise max_degree to {m.order}")
    count = sum(m.minor_count for m in mats)
    if count > max_terms:
        raise OptionError(
            "max_terms", f"is {max_terms:,}, but the closure of {arch} needs {count:,} minors; "
            "raise max_terms or use a smaller architecture")
    gens = ctx.gens()
    polys = [gens[j] for j in zero]
    terms = 0
    for m in mats:
        for f in minors(m.rows(), m.order, ctx, frozenset(zero)):
            terms += len(f)
            if terms > max_terms:
                raise OptionError(
                    "max_terms", f"is {max_terms:,}, but the minors of the closure of {arch} "
                    "have more terms than that; raise max_terms or use a smaller architecture")
            polys.append(f)
    kept, minimal = minimal_generators(polys, ctx, cell_limit=CELL_LIMIT if minimize else 0)
    return Equations(arch, "set", tuple(ctx.names()), tuple(kept),
                     arch.degree + 1 - arch.dimension, closure_degree(arch), "formula",
                     minimal, mats)


def _ideal(arch: Architecture, ctx: flint.fmpz_mpoly_ctx, max_degree: int, max_terms: int,
           timeout: float) -> Equations:
    lv = levels(arch)
    nvars = elimination_variables(lv)
    if nvars > IDEAL_MAX_VARIABLES:
        raise OptionError(
            "kind", f"is 'ideal', but eliminating for {arch} needs a Groebner basis in {nvars} "
            f"variables (limit {IDEAL_MAX_VARIABLES}); use kind='set' (equations whose zero set "
            "is the closure)")
    pi = prime_ideal(lv, ctx, timeout)
    top = max((f.total_degree() for f in pi.generators), default=0)
    if top > max_degree:
        raise OptionError("max_degree", f"is {max_degree}, but the prime ideal of {arch} has a "
                          f"generator of degree {top}; raise max_degree to {top}")
    terms = sum(len(f) for f in pi.generators)
    if terms > max_terms:
        raise OptionError("max_terms", f"is {max_terms:,}, but the generators of the prime "
                          f"ideal of {arch} have {terms:,} terms; raise max_terms")
    return Equations(arch, "ideal", tuple(ctx.names()), pi.generators, pi.codimension,
                     pi.degree, "hilbert series", True, (), pi.groebner_size)


def hypersurface_degree(arch: Any) -> int | None:
    """The degree of the single equation of the closure when it is a hypersurface
    (codimension ``d + 1 - dim M == 1``): the closure degree of MATH.md 4 (the degree of an
    irreducible hypersurface is the degree of its equation); ``None`` otherwise."""
    arch = as_architecture(arch)
    if arch.degree + 1 - arch.dimension != 1:
        return None
    return closure_degree(arch)
