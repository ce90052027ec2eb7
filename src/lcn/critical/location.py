"""Where ``v = mu(w)`` lies in ``M`` (MATH.md 5-6): zero, smooth interior, a singular
component, or the relative boundary, read two independent ways.

* :func:`locate` asks :func:`lcn.geometry.numerical.classify` about ``v`` alone (its roots);
* :func:`locate_from_factorization` uses ``w``'s own factorization: :func:`nearest` on each
  singular component, and root multiplicities of the block polynomials.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lcn import _projective as P
from lcn import parametrization
from lcn.architecture import Architecture, as_architecture
from lcn.critical.options import GEOMETRY_TOL
from lcn.critical.tangent import block_polys
from lcn.geometry.numerical import classify, nearest

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Location:
    """A location of ``v``: ``location`` (``zero | interior | singular | boundary_stride1 |
    boundary_reduced``), the singular ``component`` (or ``None``), ``undecided`` (the
    location method could not decide and a fallback was used), ``source`` (the method) and a
    ``factorization`` ``(component architecture, filters)`` of ``v`` on its singular
    component, for the stratum tangent."""

    location: str
    component: tuple[int, ...] | None = None
    undecided: bool = False
    source: str = "factorization"
    factorization: Any = None


def _block_odd(arch: Architecture) -> list[int]:
    """``e_b``: number of odd-degree layers in each block (MATH.md 3)."""
    return [sum(1 for i in block if arch.d[i] % 2 == 1) for block in arch.blocks()]


def _is_real(z: complex, tol: float) -> bool:
    return math.isinf(z.real) or abs(z.imag) <= tol * max(1.0, abs(z))


def locate_from_factorization(
    arch: Architecture, filters: Sequence[FloatArray], tol: float = GEOMETRY_TOL
) -> tuple[str, tuple[int, ...] | None, Any]:
    """Location of ``v = mu(w)`` decided with the help of ``w``'s own factorization.

    ``zero`` when ``||v|| <= tol * prod ||w_i||``; ``singular`` (with the smallest component
    ``d'`` of ``arch.singular_components``) when :func:`lcn.geometry.numerical.nearest` puts
    ``v`` within ``tol * ||v||`` of ``M_{d',S}``; ``boundary_stride1`` when a stride-one block
    with ``e_b >= 2`` odd-degree layers has a block polynomial with at most ``e_b - 2`` distinct
    real roots of odd multiplicity (MATH.md 6, roots clustered at ``tol``); otherwise
    ``interior``. Reduced-boundary points that are not singular are not detected here
    (MATH.md 6 describes them through the hyperroots of ``I_S(v)``, which ``classify``
    handles). Returns (location, component, factorization of v on the component or None).
    """
    v = np.asarray(parametrization.mu(arch, list(filters), exact=False), dtype=np.float64)
    norms = [float(np.linalg.norm(f)) for f in filters]
    if np.linalg.norm(v) <= tol * max(math.prod(norms), 1e-300) or min(norms) == 0.0:
        return "zero", None, None
    red = arch.reduced()
    for comp in arch.singular_components:
        comp_arch = Architecture(tuple(c + 1 for c in comp), red.s)
        res = nearest(comp_arch, v, starts=4)
        if res.distance <= tol * float(np.linalg.norm(v)) and np.isrealobj(
            np.asarray(res.filters[0])
        ):
            return "singular", comp, (comp_arch, res.filters)
    for Pb, e in zip(block_polys(arch, filters), _block_odd(arch), strict=True):
        if e < 2:
            continue
        clusters = P.cluster_by_multiplicity(P.roots(Pb), tol)
        odd_real = sum(1 for t, m in clusters if m % 2 == 1 and _is_real(t, math.sqrt(tol)))
        if odd_real <= e - 2:
            return "boundary_stride1", None, None
    return "interior", None, None


def locate(arch: Architecture, v: FloatArray, filters: Sequence[FloatArray], tol: float
           ) -> Location:
    """The location of ``v`` by ``numerical.classify``; where that is ``undecided`` or
    ``outside`` (a critical value always lies in ``M``), the factorization decides and the
    location is marked undecided. A singular location carries a factorization on the
    component (for the stratum tangent), dropped (and the location marked undecided) when the
    two methods name different components."""
    cls = classify(arch, v, tol)
    if cls.category in ("undecided", "outside"):
        loc, comp, fact = locate_from_factorization(arch, filters, tol)
        return Location(loc, comp, True, "factorization", fact)
    comp = None if cls.component is None else tuple(int(c) for c in cls.component)
    if cls.category != "singular":
        return Location(cls.category, comp, False, "classify")
    _, comp1, fact = locate_from_factorization(arch, filters, tol)
    if comp is None:
        comp = comp1
    elif comp1 != comp:  # the tangent would belong to another component than the one reported
        return Location("singular", comp, True, "classify")
    return Location("singular", comp, False, "classify", fact)


def singular_components(arch: Any) -> list[tuple[int, ...]]:
    """The singular components ``D`` of MATH.md 5 as degree vectors ``d'`` of the reduced
    architecture: :attr:`lcn.Architecture.singular_components` (kept here for callers of
    ``lcn.critical.singular_components``)."""
    return list(as_architecture(arch).singular_components)
