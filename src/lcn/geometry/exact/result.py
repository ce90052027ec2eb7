"""The result of an exact membership decision and its categories (MATH.md 5-6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flint

from lcn import forms

__all__ = ["CATEGORIES", "CATEGORY_PRECEDENCE", "Membership"]


#: Classification of a form relative to the function space ``M`` of an architecture
#: (MATH.md 5-6; see docs/geometry.md):
#:
#: * ``zero``: the zero form (always in ``M``; singular when the reduced architecture has
#:   more than one layer of positive degree);
#: * ``boundary_reduced``: a point of ``M`` that is a limit of real points of the Zariski
#:   closure outside the reduced function space ``M_red`` (MATH.md 6);
#: * ``boundary_stride1``: a point of ``M`` that is a limit of points of ``M_red \\ M`` (the
#:   stride-one real-root boundary, MATH.md 6);
#: * ``singular``: a nonzero point of ``M`` on a singular component ``M_{d',S}``, ``d' in D``
#:   (MATH.md 5);
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
#: ``zero > boundary_reduced > boundary_stride1 > singular > interior``. Boundary labels win
#: over ``singular`` because every reduced-boundary point is singular (it lies where
#: ``deg I_S(F)`` exceeds its generic value), so the opposite order would never report
#: ``boundary_reduced``. Singularity is never lost: :attr:`Membership.singular_component` is
#: set for every point of ``M`` on a singular component, whatever its label.
CATEGORY_PRECEDENCE: tuple[str, ...] = (
    "zero",
    "boundary_reduced",
    "boundary_stride1",
    "singular",
    "interior",
)


@dataclass(frozen=True)
class Membership:
    """Result of :func:`membership` (MATH.md 4-6).

    * ``in_closure``: a complex sparse factorization exists (the ``I_S`` criterion);
    * ``in_function_space``: a real one exists for the (possibly non-reduced) architecture;
    * ``classification``: one of :data:`CATEGORIES`;
    * ``singular_component``: for a point of ``M`` on a singular component (every
      ``singular`` point, possibly also a boundary point), the degree vector ``d'`` (indexed by
      the reduced architecture's layers) of the smallest-dimensional component containing it;
      ``None`` otherwise;
    * ``factorization``: one filter per layer of the ORIGINAL architecture: real when
      ``in_function_space`` (tuples of ``fmpq`` when ``factorization_kind == "rational"``,
      of ``float`` for ``"float"``), complex (``complex`` entries, ``"complex"``) when only
      ``in_closure``; ``None`` outside the closure. With ``digits=N`` (or when ``F`` is beyond
      float range) the entries are ``flint.arb``/``acb`` balls: certified enclosures of an
      exact factorization, each radius at most ``10^-N`` of its filter's largest entry;
    * ``residual``: ``max |mu(factorization) - F|`` (exactly ``0`` for rational
      factorizations; for balls a certified upper bound; an exact ``arb`` when beyond float
      range; ``None`` when there is no factorization).
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
        ``singular_component``, ``factorization``, ``factorization_kind``, ``residual``.

        Exact numbers are ints or ``"p/q"`` strings (:func:`lcn.forms.exact_to_json`), floats
        stay floats, complex numbers become ``[re, im]``, high-precision (``arb``) numbers become
        decimal strings with the digits they carry."""
        fac = None
        if self.factorization is not None:
            fac = [[_json_number(v) for v in w] for w in self.factorization]
        return {
            "in_closure": self.in_closure,
            "in_function_space": self.in_function_space,
            "classification": self.classification,
            "singular_component": (
                None if self.singular_component is None else list(self.singular_component)
            ),
            "factorization": fac,
            "factorization_kind": self.factorization_kind,
            "residual": None if self.residual is None else _json_number(self.residual),
        }


def _json_number(v: Any) -> Any:
    if isinstance(v, flint.fmpq):
        return forms.exact_to_json(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, int | flint.fmpz):
        return int(v)
    if isinstance(v, complex):
        return [float(v.real), float(v.imag)]
    if isinstance(v, flint.arb):
        bits = v.rel_accuracy_bits()
        digits = max(1, min(int(bits * 0.30103), int(flint.ctx.prec * 0.30103) + 1
                            if bits > 10**6 else 3000))
        return v.str(digits, radius=False)
    if isinstance(v, flint.acb):
        return [_json_number(v.real), _json_number(v.imag)]
    return float(v)
