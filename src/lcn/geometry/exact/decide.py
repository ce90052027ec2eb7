"""The exact verbs: :func:`membership` and :func:`in_closure` (MATH.md 3-6)."""

from __future__ import annotations

from typing import Any

import flint
import numpy as np

from lcn import forms
from lcn._effective import Effective
from lcn._validate import check_int
from lcn.architecture import Architecture, as_architecture
from lcn.errors import ConfigError, ExactnessError, FilterError
from lcn.geometry import _orbits
from lcn.geometry.exact.balls import numeric_factorization
from lcn.geometry.exact.boundary import singular_boundary_kind
from lcn.geometry.exact.decision import Analysis
from lcn.geometry.exact.levels import levels_of
from lcn.geometry.exact.rational import rational_factorization
from lcn.geometry.exact.result import Membership

__all__ = ["MAX_DIGITS", "in_closure", "membership"]


#: Most decimal digits a ball factorization may ask for.
MAX_DIGITS = 10_000

def _coerce_filter(arch: Architecture, filter: Any) -> list[flint.fmpq]:
    if isinstance(filter, float | np.floating) or (
        isinstance(filter, np.ndarray) and not np.issubdtype(filter.dtype, np.integer)
    ):
        raise ExactnessError(
            "filter",
            "is floating point; the exact path takes ints, Fractions or strings like '1/3' - "
            "for float filters use the numerical API (lcn.geometry.nearest / classify)",
        )
    F = forms.as_exact(filter, "filter")
    if len(F) != arch.filter_size:
        raise FilterError(
            "filter",
            f"has {len(F)} entries but {arch} has end-to-end filters of d+1 = "
            f"{arch.filter_size} taps; give coefficients of x^d, x^(d-1)y, ..., y^d",
        )
    return F


def _check_digits(digits: Any) -> int | None:
    if digits is None:
        return None
    return check_int(digits, "digits", min=1, max=MAX_DIGITS, error=ConfigError)


def _zero_factorization(arch: Architecture) -> tuple[tuple[flint.fmpq, ...], ...]:
    zero, one = flint.fmpq(0), flint.fmpq(1)
    return tuple(
        tuple(zero for _ in range(k)) if i == 0 else tuple([one] + [zero] * (k - 1))
        for i, k in enumerate(arch.k)
    )


def membership(arch: Any, filter: Any, digits: int | None = None, *,
               factorize: bool = True) -> Membership:
    """Decide where the exact form ``filter`` (coefficients of ``x^d, x^{d-1}y, ..., y^d``)
    sits relative to the function space ``M`` of ``arch`` (MATH.md 3-6).

    * ``in_closure``: ``F`` has a complex sparse factorization, i.e.
      ``deg I_{S_l}(F) >= sum_{i>=l} d_i S_i`` for every block ``l`` of the reduced
      architecture (MATH.md 4; size-1 layers are scalars and a leading size-1 layer with
      stride ``s_1`` makes ``F`` a form in ``x^{s_1}``, roots at 0 and infinity count with
      multiplicity rounded down to multiples of ``S``);
    * ``in_function_space``: ``F`` has a real factorization for ``arch`` itself, every merged
      stride-one block having at least as many real hyperroots as it has odd-degree layers.
      Decided exactly and completely by the orbit-kind greedy of :func:`_orbits.greedy`
      (optimal, see docs/geometry.md) on certified real-root counts of the pieces
      ``I_{S_l}/I_{S_{l+1}}``;
    * ``classification`` (:data:`CATEGORIES`, precedence :data:`CATEGORY_PRECEDENCE`):
      ``singular`` iff ``deg I_{S_l}(F)`` exceeds its generic value ``sum_{i>=l} d_i S_i`` at
      some level (``F`` is then on the Zariski closure of the component ``d'`` given by the
      piece degrees, MATH.md 5); boundary points come from the local degenerations of the
      factorization (MATH.md 6);
    * ``factorization`` (when ``factorize``): rational layer filters when the factors are
      rational (searched over the irreducible factors of the ``I_S`` divisors), otherwise
      floats from certified roots, or ``flint.arb`` balls with ``digits`` decimal digits when
      ``digits`` is given; complex filters when ``F`` is only in the closure. ``residual`` is
      ``max |mu(factorization) - F|`` (exactly ``0`` when rational).

    Float filters raise :class:`~lcn.errors.ExactnessError` (use ``lcn.geometry.nearest`` /
    ``classify`` for those). ``factorize=False`` skips the factorization (the decision alone).
    """
    arch = as_architecture(arch)
    F = _coerce_filter(arch, filter)
    digits = _check_digits(digits)
    if not isinstance(factorize, bool):
        raise ConfigError("factorize", f"is {factorize!r}; give True or False")
    eff = arch.effective
    if all(v == 0 for v in F) or eff.m == 0:
        return _trivial(arch, F, factorize)
    outside = Membership(False, False, "outside", None, None, None, None)
    if any(v != 0 for i, v in enumerate(F) if i % eff.G):
        return outside  # not a form in x^G, y^G (leading size-1 layers with strides)
    Fu = F[:: eff.G]
    an = Analysis(eff, Fu)
    if not an.in_closure:
        return outside
    if not an.decide(eff.e):
        fac, res = None, None
        if factorize:
            fac, res = numeric_factorization(arch, eff, an, F, False, digits)
        return Membership(True, False, "outside", None,
                          None if fac is None else tuple(tuple(f) for f in fac),
                          "complex" if factorize else None, res)
    cls, comp = _classify(eff, an)
    if not factorize:
        return Membership(True, True, cls, comp, None, None, None)
    rat = rational_factorization(arch, eff, F, Fu)
    if rat is not None:
        return Membership(True, True, cls, comp, tuple(tuple(f) for f in rat), "rational",
                          flint.fmpq(0))
    fl, res = numeric_factorization(arch, eff, an, F, True, digits)
    return Membership(True, True, cls, comp, tuple(tuple(f) for f in fl), "float", res)


def _trivial(arch: Architecture, F: list[flint.fmpq], factorize: bool) -> Membership:
    """The zero form (always in ``M``), and any form when every layer has size 1 (``M`` is
    the line of constants, all of ``R[x,y]_0``)."""
    fac: Any = None
    if all(v == 0 for v in F):
        cls = "zero"
        if factorize:
            fac = _zero_factorization(arch)
    else:
        cls = "interior"
        if factorize:
            fac = tuple((F[0],) if i == 0 else (flint.fmpq(1),) for i in range(arch.layers))
    return Membership(True, True, cls, None, fac, "rational" if factorize else None,
                      flint.fmpq(0) if factorize else None)


def _classify(eff: Effective, an: Analysis) -> tuple[str, tuple[int, ...] | None]:
    """Category and singular component of a point of ``M`` (:data:`CATEGORY_PRECEDENCE`)."""
    singular = an.singular
    comp = an.component() if singular else None
    if singular:
        try:
            kind = singular_boundary_kind(eff, an)
        except _orbits.TooComplex:  # documented limit: the point stays labelled "singular"
            kind = None
    else:
        kind = "stride1" if an.stride1_boundary_nonsingular() else None
    cls = {"reduced": "boundary_reduced", "stride1": "boundary_stride1"}.get(
        kind or "", "singular" if singular else "interior"
    )
    return cls, comp


def in_closure(arch: Any, filter: Any) -> bool:
    """Whether the exact form ``filter`` is in the Zariski closure of ``M`` (MATH.md 4): a
    few gcds, no root finding."""
    arch = as_architecture(arch)
    F = _coerce_filter(arch, filter)
    eff = arch.effective
    if all(v == 0 for v in F) or eff.m == 0:
        return True
    if any(v != 0 for i, v in enumerate(F) if i % eff.G):
        return False
    return levels_of(eff, F[:: eff.G]) is not None
