"""Exact geometry of LCN function spaces (MATH.md 3-7).

Public result types and category constants come first: the numerical geometry module and the
training code align with them. Implementation in progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CATEGORIES",
    "CATEGORY_PRECEDENCE",
    "Membership",
    "membership",
    "is_regular",
    "singular_components",
    "closure_degree",
    "is_filling",
    "is_closed",
    "boundary_kinds",
    "i_s",
]

#: Classification of a form relative to the function space ``M`` of an architecture:
#:
#: * ``zero``: the zero form (always in ``M``; singular when the reduced architecture has
#:   more than one layer);
#: * ``singular``: a nonzero point of ``M`` on a singular component ``M_{d',S}``, ``d' in D``
#:   (MATH.md 5);
#: * ``boundary_reduced``: a point of ``M`` that is a limit of points of
#:   ``closure \\ M_{reduced}`` (MATH.md 6);
#: * ``boundary_stride1``: a point of ``M`` that is a limit of points of ``M_{reduced} \\ M``
#:   (the stride-one real-root boundary, MATH.md 6);
#: * ``interior``: any other point of ``M`` (a smooth relative interior point);
#: * ``outside``: not in ``M`` (it may still be in the Zariski closure, see ``in_closure``).
CATEGORIES: tuple[str, ...] = (
    "zero",
    "interior",
    "singular",
    "boundary_stride1",
    "boundary_reduced",
    "outside",
)

#: When several categories apply to a point of ``M``, the first in this tuple wins:
#: ``zero > singular > boundary_reduced > boundary_stride1 > interior``.
CATEGORY_PRECEDENCE: tuple[str, ...] = (
    "zero",
    "singular",
    "boundary_reduced",
    "boundary_stride1",
    "interior",
)


@dataclass(frozen=True)
class Membership:
    """Result of :func:`membership` (MATH.md 4-6).

    * ``in_closure``: a complex sparse factorization exists (the ``I_S`` criterion);
    * ``in_function_space``: a real one exists for the (possibly non-reduced) architecture;
    * ``classification``: one of :data:`CATEGORIES`;
    * ``singular_component``: for ``singular``, the degree vector ``d'`` (of the reduced
      architecture) of the smallest-dimensional component of ``D`` containing the point;
    * ``factorization``: one filter per layer of the ORIGINAL architecture: real when
      ``in_function_space`` (tuples of ``fmpq`` when ``factorization_kind == "rational"``,
      of ``float`` for ``"float"``), complex (``complex`` entries, ``"complex"``) when only
      ``in_closure``; ``None`` outside the closure;
    * ``residual``: ``max |mu(factorization) - F|`` (exactly ``0`` for rational
      factorizations; ``None`` when there is no factorization).
    """

    in_closure: bool
    in_function_space: bool
    classification: str
    singular_component: tuple[int, ...] | None
    factorization: tuple[tuple[Any, ...], ...] | None
    factorization_kind: str | None
    residual: Any

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict with keys ``in_closure``, ``in_function_space``, ``classification``,
        ``singular_component``, ``factorization``, ``factorization_kind``, ``residual``."""
        raise NotImplementedError  # filled in below shortly


def membership(arch: Any, filter: Any, digits: int | None = None) -> Membership:
    """Decide closure and real membership of an exact filter (MATH.md 4-6)."""
    raise NotImplementedError


def is_regular(arch: Any, filters: Any) -> bool:
    """Whether ``rank d mu(w) = dim M`` for exact filters (MATH.md 7)."""
    raise NotImplementedError


def singular_components(arch: Any) -> list[tuple[int, ...]]:
    """The set ``D`` of MATH.md 5 for the reduced architecture."""
    raise NotImplementedError


def closure_degree(arch: Any) -> int:
    """Degree of the Zariski closure (MATH.md 4)."""
    raise NotImplementedError


def is_filling(arch: Any) -> bool:
    """Whether ``M`` is all of ``R[x,y]_d``."""
    raise NotImplementedError


def is_closed(arch: Any) -> bool:
    """Whether ``M`` equals its Zariski closure."""
    raise NotImplementedError


def boundary_kinds(arch: Any) -> dict[str, bool]:
    """``{"stride1": bool, "reduced": bool}``: which boundary kinds exist (MATH.md 6)."""
    raise NotImplementedError


def i_s(F: Any, S: int) -> Any:
    """``I_S(F)``: the largest divisor of ``F`` in ``C[x^S, y^S]`` (MATH.md 4)."""
    raise NotImplementedError
