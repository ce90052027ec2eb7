"""Classification of critical points of the loss (MATH.md 5-8), for LCNs and dense networks.

For a critical point ``w`` of ``L = l o mu`` (from :func:`lcn.training.train` or
:func:`lcn.training.critical_points`) this module decides, with stated tolerances:

* ``zero``: ``mu(w) = 0``;
* ``regular`` / ``rank``: ``rank d mu(w)`` against ``dim M`` (MATH.md 7);
* the location of ``v = mu(w)`` in the function space ``M``: smooth interior point, on a
  singular component ``M_{d',S}`` (MATH.md 5), or on the relative boundary (stride-one or
  reduced kind, MATH.md 6). Dense networks: rank ``r' < r`` is singular, no boundary;
* ``pure`` or spurious: is ``v`` a critical point of ``l`` restricted to the *stratum* of ``M``
  containing it, i.e. is ``grad l(v) = 2 G (v - u)`` orthogonal to that stratum's tangent space?
  The strata (each with its own parametrization, so the tangent space may be larger than
  ``im d mu(w)`` at a non-regular ``w``):

  - smooth interior: the tangent space of ``M`` at ``v`` (``im d mu`` at a regular preimage: ``w``
    itself when regular, else the block products of the reduced architecture; all of
    ``R^{d+1}`` for full-dimensional architectures);
  - singular component ``M_{d',S}`` (the smallest one holding ``v``): ``im d mu_{d'}`` at a
    factorization of ``v`` in that architecture;
  - boundary: the forms whose block polynomials (in the hyperroot variables ``x^{S_b}, y^{S_b}``)
    keep the root-multiplicity pattern of ``w``'s; tangent ``sum_b (v / P_b) (P_b / rad P_b)
    R[X,Y]_{deg rad P_b}`` (MATH.md 6 describes the boundary by these multiplicities);
  - dense, rank ``r'``: the manifold of rank-``r'`` matrices, tangent
    ``{A : U_perp^T A V_perp = 0}``.

  Facts worth knowing (proved in the docstrings below and observed in the tests): a critical
  point of a *dense* network is always pure in this sense (``col W`` and ``row W`` lie in those
  of the partial products), and so is a *stride-one* critical point on the boundary (the
  pattern tangent lies in ``im d mu(w) = (v / lcm) R_{deg lcm}``). Spurious points appear where
  ``w`` is not regular but ``v`` is a smooth interior point, e.g. filters sharing a root in a
  stride-one block whose ``v`` keeps enough odd real roots (``k=(3,2,2)``, filling ``k=(3,3)``).
  The talk's weaker notion "``v`` is not in ``Crit(l|Reg M°)``", which makes every singular and
  boundary point spurious, is reported as ``spurious_in_M``;
* ``morse_index`` (number of negative eigenvalues of the Hessian of ``L``; it is a Morse index
  in the strict sense when ``nullity``, the Hessian's kernel dimension beyond the symmetry
  orbit, is ``0``) and the gradient-flow ``invariants`` ``||w_i||^2 - ||w_{i+1}||^2``.

``category`` is one of :data:`CATEGORIES`, by precedence ``zero`` > ``spurious`` (not pure on
its stratum) > ``singular`` > ``boundary`` > ``pure_smooth_interior``; only a row of non-finite
parameters (a diverged run) gets ``"undecided"`` instead. A verdict that is not
clear at the stated tolerances sets ``undecided = True`` (the category is then the best
numerical reading, and ``pure`` is ``None`` when that one is in doubt).

Location uses :func:`lcn.geometry.numerical.classify` on ``v``; where that is not available the
module decides from ``w``'s own factorization (``nearest`` on each singular component, root
multiplicities of the block polynomials), see :func:`locate_from_factorization`.

Files, bottom-up: ``options`` (tolerances), ``categories``, ``info`` (the result record),
``tangent`` (stratum tangent spaces), ``location``, ``models`` (the one LCN / dense interface),
``purity``, ``second_order``, ``classify``.
"""

from lcn.critical.categories import CATEGORIES, UNDECIDED, category_counts
from lcn.critical.classify import classify_critical_points
from lcn.critical.info import CriticalPointInfo
from lcn.critical.location import locate_from_factorization, singular_components
from lcn.critical.models import stratum_tangent
from lcn.critical.options import (
    CRITICAL_RANK_RTOL,
    GEOMETRY_TOL,
    PURE_MARGIN,
    PURE_TOL,
    ClassifyOptions,
)

__all__ = [
    "CATEGORIES",
    "CriticalPointInfo",
    "classify_critical_points",
    "singular_components",
    "locate_from_factorization",
    "stratum_tangent",
    "category_counts",
    "UNDECIDED",
    "ClassifyOptions",
    "CRITICAL_RANK_RTOL",
    "GEOMETRY_TOL",
    "PURE_TOL",
    "PURE_MARGIN",
]
